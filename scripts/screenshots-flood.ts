/**
 * Issue 17's screenshots: a folded row in the frame list (the page held busy during a flood, as
 * a slow machine would be, so the web host folded what it could not show in time), and the
 * connection list with 2,000 peers (virtualised), at 1440x900 and 1024x700:
 *
 *   npx electron-vite build && node --import tsx scripts/screenshots-flood.ts [OUT_DIR]
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { openWs, startInspector, type Inspector } from '../test/support/inspector-harness.ts';

const sizes = [{ width: 1440, height: 900 }, { width: 1024, height: 700 }] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function foldShots(inspector: Inspector, outDir: string): Promise<void> {
  const { page } = inspector;
  const ws = await openWs(inspector.serverUrl);
  const id = await inspector.newConnectionId('server');
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Frames', exact: true }).click();
  ws.send('{"op":"subscribe","topic":"prices"}');
  await page.getByTestId('frame-count').getByText('2 frames').waitFor();
  // A burst the page cannot show in time: its main thread is busy for 1.5 s meanwhile.
  const busy = page.evaluate(() => {
    const end = performance.now() + 1500;
    while (performance.now() < end) { /* a page too slow for the flood */ }
  });
  await sleep(100);
  for (let burst = 0; burst < 12; burst++) {
    for (let i = 0; i < 250; i++) {
      if (i % 25 === 0) ws.ping(Buffer.from('tick'));
      else if (i % 5 === 0) ws.send(Buffer.from([0x01, burst, i]));
      else ws.send(`{"price":${100 + ((burst * 250 + i) % 17)},"seq":${burst * 250 + i}}`);
    }
    await sleep(50);
  }
  await busy;
  await page.getByTestId('frames-folded').waitFor({ timeout: 10_000 });
  await sleep(1000);
  for (const text of ['{"op":"unsubscribe","topic":"prices"}', 'bye']) ws.send(text);
  await page.getByTestId('frame-row').filter({ hasText: 'bye' }).first().waitFor();
  await page.getByLabel('follow new frames').uncheck();
  for (const size of sizes) {
    await page.setViewportSize(size);
    await sleep(300);
    // Up from the newest frame until the folded row is rendered (the list is virtualised), then a few rows above it.
    const timeline = page.getByTestId('timeline');
    await timeline.evaluate((el) => (el.scrollTop = el.scrollHeight));
    for (let i = 0; i < 200 && (await page.getByTestId('fold-row').count()) === 0; i++) await timeline.evaluate((el) => (el.scrollTop -= 400));
    await page.getByTestId('fold-row').first().evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await sleep(300);
    await page.screenshot({ path: `${outDir}/fold-rows-${size.width}x${size.height}.png` });
  }
  ws.close();
}

async function connectionShots(inspector: Inspector, outDir: string): Promise<void> {
  // A fresh browser context: the default layout (the shots above resized and may have collapsed panes).
  const page = await inspector.browser.newPage({ viewport: sizes[0] });
  await page.goto(inspector.host.url);
  await page.getByTestId('server-status').getByText(inspector.serverUrl).waitFor();
  const clients: WebSocket[] = [];
  for (let i = 0; i < 2000; i += 200) clients.push(...(await Promise.all(Array.from({ length: 200 }, () => openWs(inspector.serverUrl)))));
  // A few leave: closed rows with their close code.
  for (const c of clients.slice(-3)) c.close(1000, 'done');
  await page.locator('h2', { hasText: 'Server peers' }).locator('.count').getByText(/^20\d\d$/).waitFor({ timeout: 30_000 });
  await sleep(1000);
  const box = page.getByTestId('connections-scroll').first();
  await box.evaluate((el) => (el.scrollTop = 0));
  await box.locator('button.connection').nth(5).click();
  for (const size of sizes) {
    await page.setViewportSize(size);
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await sleep(300);
    await page.screenshot({ path: `${outDir}/connections-2000-${size.width}x${size.height}.png` });
  }
  for (const c of clients) c.terminate();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../docs/screenshots', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const inspector = await startInspector();
  try {
    await foldShots(inspector, outDir);
    await connectionShots(inspector, outDir);
    console.log(`screenshots in ${outDir}`);
  } finally {
    await inspector.close();
  }
}
