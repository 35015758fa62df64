/**
 * Regenerates docs/screenshots/: the web host with its embedded echo server, real traffic from
 * the `ws` package (text, a fragmented message, a 200 KB message in 3 frames, ping/pong, a close),
 * and each main view at 1440x900 and 1024x700 in Debian's Chromium.
 *
 *   npx electron-vite build && node --import tsx scripts/screenshots.ts [OUT_DIR]
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { runCli } from '../test/support/cli.ts';
import { openWs, startInspector, type Inspector } from '../test/support/inspector-harness.ts';

const outDir = process.argv[2] ?? fileURLToPath(new URL('../docs/screenshots', import.meta.url));
const sizes = [{ width: 1440, height: 900 }, { width: 1024, height: 700 }] as const;

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const inspector = await startInspector();
  const { page } = inspector;
  try {
    const ws = await openWs(inspector.serverUrl);
    const id = await inspector.newConnectionId();
    ws.send(JSON.stringify({ type: 'hello', user: 'ada' }));
    ws.send('Hel', { fin: false });
    ws.send('lo, fragments', { fin: true });
    for (let i = 0; i < 12; i++) ws.send(JSON.stringify({ orderId: 1000 + i, pad: 'x'.repeat(40 * i) }));
    ws.ping('are you there?');
    ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const big = 'y'.repeat(200_000);
    ws.send(big.slice(0, 65_536), { fin: false });
    ws.send(big.slice(65_536, 131_072), { fin: false });
    ws.send(big.slice(131_072), { fin: true });
    await new Promise((r) => setTimeout(r, 500));
    await page.getByTestId(`connection-${id}`).click();
    for (const size of sizes) {
      await page.setViewportSize(size);
      const suffix = `${size.width}x${size.height}`;
      await view(page, 'Frames');
      await page.getByTestId('timeline-mode').selectOption('frames');
      // Select the fragment through the search (the list may be scrolled anywhere), then show all.
      await page.getByLabel('Search', { exact: true }).fill('fragments');
      await page.locator('[data-testid=frame-row]', { hasText: 'lo, fragments' }).first().click();
      await page.getByLabel('Search', { exact: true }).fill('');
      await page.screenshot({ path: `${outDir}/frames-${suffix}.png` });
      await page.getByTestId('display-filter').fill('opcode == text && len > 300');
      await page.screenshot({ path: `${outDir}/frames-filtered-${suffix}.png` });
      await page.getByTestId('display-filter').fill('opcode == p');
      await page.getByTestId('display-filter').focus();
      await page.screenshot({ path: `${outDir}/filter-completion-${suffix}.png` });
      await page.getByTestId('display-filter').fill('');
      await page.getByTestId('timeline-mode').selectOption('messages');
      await page.getByTestId('time-mode').selectOption('connection');
      await page.getByLabel('Search', { exact: true }).fill('yyyyyyyy');
      await page.locator('[data-testid=message-row]', { hasText: 'yyyy' }).first().click();
      await page.getByLabel('Search', { exact: true }).fill('');
      await page.getByTestId('timeline').evaluate((el) => el.scrollTo({ top: 0 }));
      await page.screenshot({ path: `${outDir}/messages-${suffix}.png` });
      await page.getByTestId('timeline-mode').selectOption('frames');
      await page.getByTestId('time-mode').selectOption('absolute');
      for (const tab of ['Handshake', 'Crafter', 'Faults']) {
        await view(page, tab);
        await page.screenshot({ path: `${outDir}/${tab.toLowerCase()}-${suffix}.png` });
      }
      // The debugger with a held frame: its title on one line beside the queue.
      inspector.host.service.setStepMode(id, true);
      ws.send('held in the debugger');
      await view(page, 'Debugger');
      await page.getByTestId('held-frame').first().click();
      await page.screenshot({ path: `${outDir}/debugger-${suffix}.png` });
      inspector.host.service.stepControl(id, 'resume');
      await page.getByTestId('conformance-tab').click();
      await page.screenshot({ path: `${outDir}/conformance-${suffix}.png` });
      await page.getByTestId(`connection-${id}`).click();
    }
    ws.close();
    await proxyShots(inspector);
    await learnShots(inspector);
    await pipelineShots(inspector);
    await peerShots(inspector);
  } finally {
    await inspector.close();
  }
  console.log(`screenshots in ${outDir}`);
}

/** Proxy mode (issue 12): a ws client through the proxy to the embedded echo server; the ladder and a paired frame. */
async function proxyShots(inspector: Inspector): Promise<void> {
  const { page } = inspector;
  const started = await inspector.host.service.startProxy({ listen: 'ws://127.0.0.1:0/', target: inspector.serverUrl, origin: 'http://localhost:3000' });
  if (!started.ok) throw new Error(started.error);
  const ws = await openWs(started.url);
  ws.send(JSON.stringify({ type: 'hello', user: 'ada' }));
  ws.ping('are you there?');
  ws.send('through the proxy and back');
  await new Promise((r) => setTimeout(r, 300));
  ws.close(1000, 'bye');
  await new Promise((r) => setTimeout(r, 500));
  const client = inspector.host.service.getStatus().connections.find((c) => c.proxyLeg?.side === 'client');
  if (!client) throw new Error('no proxied conversation');
  for (const size of sizes) {
    await page.setViewportSize(size);
    const suffix = `${size.width}x${size.height}`;
    await page.getByTestId(`connection-${client.id}`).click();
    await view(page, 'Ladder');
    await page.screenshot({ path: `${outDir}/proxy-ladder-${suffix}.png` });
    await view(page, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in', { hasText: 'through the proxy' }).first().click();
    await page.getByTestId('frame-pairing').waitFor();
    await page.screenshot({ path: `${outDir}/proxy-pairing-${suffix}.png` });
  }
  await inspector.host.service.stopProxy();
}

/** The Learn area mid-lesson (issue 15): masking, its first step done by a ws client, the second waiting. */
async function learnShots(inspector: Inspector): Promise<void> {
  const { page } = inspector;
  await page.getByTestId('learn-tab').click();
  await page.getByTestId('open-lesson-masking').click();
  await page.getByTestId('restart-lesson').click();
  const ws = await openWs(inspector.serverUrl);
  ws.send('Hello');
  await page.locator('[data-testid=step-masked][data-state=detected]').waitFor();
  for (const size of sizes) {
    await page.setViewportSize(size);
    await page.getByTestId('step-fresh-key').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${outDir}/learn-${size.width}x${size.height}.png` });
  }
  await page.evaluate('window.scrollTo(0, 0)'); // scrollIntoViewIfNeeded may have moved the document too
  ws.close();
}

/** The pipeline (issue 15, Pictures): a text message compressed, sent in 3 frames, masked, from message to wire. */
async function pipelineShots(inspector: Inspector): Promise<void> {
  const { page } = inspector;
  const port = inspector.host.service.getStatus().server.port;
  const restarted = await inspector.host.service.startServer({ port, app: 'echo', deflate: true });
  if (!restarted.ok) throw new Error(restarted.error);
  // Our CLI offers permessage-deflate and compresses every message (ws skips those under 1 KiB).
  const cli = runCli(['connect', inspector.serverUrl, '--send', 'from message to wire: deflate, fragments, headers, masking, masking', '--fragment', '20,20']);
  await cli.exit;
  const id = inspector.host.service.getStatus().connections.filter((c) => c.role === 'server').sort((a, b) => b.openedAt - a.openedAt)[0]!.id;
  await page.getByTestId(`connection-${id}`).click();
  for (const size of sizes) {
    await page.setViewportSize(size);
    await view(page, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in').first().click();
    await view(page, 'Pipeline');
    await page.screenshot({ path: `${outDir}/pipeline-${size.width}x${size.height}.png` });
  }
}

/**
 * Sessions and peers, composer (issue 14): Chromium offering a subprotocol the server does not
 * speak (the handshake's warning and the peer's facts), a conformance run's own group, and the
 * composer's JSON check and forbidden-close-code warning.
 */
async function peerShots(inspector: Inspector): Promise<void> {
  const { page } = inspector;
  const browserPeer = await inspector.browser.newPage();
  await browserPeer.goto(inspector.peerPageUrl);
  await browserPeer.evaluate(`new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(inspector.serverUrl)}, ['chat']); ws.onclose = resolve; })`);
  const warned = inspector.host.service.getStatus().connections.filter((c) => c.role === 'server').sort((a, b) => b.openedAt - a.openedAt)[0]!.id;
  const started = await inspector.host.service.runConformance({ mode: 'server', url: inspector.serverUrl, cases: ['1.1.1', '1.1.2', '1.1.3', '2.1'] });
  if (!started.ok) throw new Error(started.error);
  while (inspector.host.service.getStatus().connections.filter((c) => c.conformance && c.state === 'CLOSED').length < 4) await page.waitForTimeout(100);
  const ws = await openWs(`${inspector.serverUrl}orders?session=7`);
  let id = '';
  while (!id) {
    id = inspector.host.service.getStatus().connections.find((c) => c.role === 'server' && c.state === 'OPEN' && !c.conformance)?.id ?? '';
    if (!id) await page.waitForTimeout(50);
  }
  await page.getByTestId('battery-peers').locator('summary').click();
  for (const size of sizes) {
    await page.setViewportSize(size);
    const suffix = `${size.width}x${size.height}`;
    await page.getByTestId(`connection-${warned}`).click();
    await view(page, 'Handshake');
    await page.screenshot({ path: `${outDir}/peers-subprotocol-warning-${suffix}.png` });
    await page.getByTestId(`connection-${id}`).click();
    await view(page, 'Frames');
    await page.locator('.composer').getByRole('tab', { name: 'Text', exact: true }).click();
    await page.locator('.composer').getByLabel('Message text').fill('{"orderId": 7, "items": [1, 2]}');
    await page.locator('.composer').getByRole('button', { name: 'Pretty-print' }).click();
    await page.locator('.composer').getByTestId('send').click();
    await page.screenshot({ path: `${outDir}/peers-composer-json-${suffix}.png` });
    await page.locator('.composer').getByRole('tab', { name: 'Close', exact: true }).click();
    await page.locator('.composer').getByLabel('Close code').fill('1005');
    await page.screenshot({ path: `${outDir}/peers-composer-close-${suffix}.png` });
  }
  ws.close();
  await browserPeer.close();
}

async function view(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
  await page.waitForTimeout(150);
}

void main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
