/**
 * Issue 17 end to end in Chromium: 2,000 concurrent connections to the embedded server. The
 * connection list is virtualised (a screenful of rows in the DOM, not 2,000), counts every
 * peer, scrolls to any of them, and a click there selects that connection and shows its frames.
 * (How fast, with 10,000 connections: npm run bench:ui:connections.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

const COUNT = 2000;
let inspector: Inspector;
const clients: WebSocket[] = [];

beforeAll(async () => {
  inspector = await startInspector();
});

afterAll(async () => {
  for (const ws of clients) ws.terminate();
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
});

it(`lists ${COUNT.toLocaleString('en')} connections virtualised, and any of them can be found and opened`, async () => {
  const { page, host } = inspector;
  for (let i = 0; i < COUNT; i += 200) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(200, COUNT - i) }, () => openWs(inspector.serverUrl)))));
  }
  const peers = () => host.service.getStatus().connections.filter((c) => c.role === 'server' && c.state === 'OPEN');
  await expect.poll(() => peers().length, { timeout: 20_000 }).toBe(COUNT);
  const heading = page.locator('h2', { hasText: 'Server peers' }).locator('.count');
  await expect.poll(() => heading.textContent(), { timeout: 20_000 }).toBe(String(COUNT));

  // Virtualised: only the rows in view (and a few beyond) are in the DOM.
  const scroller = page.getByTestId('connections-scroll').first();
  const rendered = () => scroller.locator('button.connection').count();
  expect(await rendered()).toBeGreaterThan(3);
  expect(await rendered()).toBeLessThan(60);
  await inspector.shot('connection-list-2000');

  // Newest first: the top row is the last peer to connect.
  const ids = peers().map((c) => c.id);
  const newest = ids.at(-1)!;
  await expect.poll(() => scroller.locator('button.connection').first().getAttribute('data-testid')).toBe(`connection-${newest}`);

  // Scroll to the middle (the list's own scroll box) and open the connection found there.
  await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  const middle = ids[Math.floor(ids.length / 2)]!;
  const target = page.getByTestId(`connection-${middle}`);
  for (let i = 0; i < 40 && (await target.count()) === 0; i++) {
    // Row heights are measured as they render: step toward the row until it is there.
    const shown = await scroller.locator('button.connection').evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')!.slice('connection-'.length)));
    const firstShown = ids.indexOf(shown[0]!);
    await scroller.evaluate((el, down) => (el.scrollTop += down ? 400 : -400), firstShown > ids.indexOf(middle));
  }
  await target.click();
  await expect.poll(() => target.getAttribute('class')).toContain('selected');
  // That connection's frames: a message from its client, echoed.
  const ws = clients[ids.indexOf(middle)]!;
  ws.send(`hello from ${middle}`);
  await page.getByRole('tab', { name: 'Frames', exact: true }).click();
  await expect.poll(() => page.getByTestId('frame-row').filter({ hasText: `hello from ${middle}` }).count()).toBe(2);

  // The list keeps up as peers leave: 500 close; the service lists the newest 100 closed ones.
  for (const c of clients.slice(0, 500)) c.close();
  await expect.poll(() => peers().length, { timeout: 20_000 }).toBe(COUNT - 500);
  await expect.poll(() => heading.textContent(), { timeout: 20_000 }).toBe(String(COUNT - 500 + 100));
  expect(await rendered()).toBeLessThan(60);
});
