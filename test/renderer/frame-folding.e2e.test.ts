/**
 * Issue 17 end to end in Chromium: a page that cannot keep up with a flood (its main thread
 * held busy for a while, as a slow machine would) gets folded rows instead of falling behind,
 * and every folded row's counts are exactly the frames that crossed the wire in its range; the
 * list's frames and the folded frames together are every frame of the connection.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/core/trace.ts';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;

beforeAll(async () => {
  inspector = await startInspector();
});

afterAll(async () => {
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('folds the frames of a page that fell behind, with exact counts, and shows the rest', async () => {
  const { page, host } = inspector;
  const wire: Array<Extract<TraceEvent, { type: 'frame' }>> = [];
  host.service.tracer.subscribe((e) => {
    if (e.type === 'frame') wire.push(e);
  });
  const ws = await openWs(inspector.serverUrl);
  const id = await inspector.newConnectionId('server');
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Frames', exact: true }).click();
  let echoed = 0;
  ws.on('message', () => echoed++);
  // A first message: the page has applied (and acknowledged) a batch before the flood.
  ws.send('before the flood');
  await page.getByTestId('frame-count').getByText('2 frames').waitFor();

  // The page's main thread is busy for 1.5 s (no batch applied, none acknowledged) while
  // messages keep coming: text, binary and pings from the client, echoed by the server.
  const busy = page.evaluate(() => {
    const end = performance.now() + 1500;
    while (performance.now() < end) { /* a page too slow for the flood */ }
  });
  let sent = 1;
  for (let burst = 0; burst < 30; burst++) {
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 0) ws.ping(Buffer.from(`p${burst}`));
      else if (i % 3 === 0) ws.send(Buffer.from([burst, i, 0xff]));
      else ws.send(`message ${burst}.${i}`);
      if (i % 10 !== 0) sent++;
    }
    await sleep(50);
  }
  await busy;
  for (let i = 0; i < 200 && echoed < sent; i++) await sleep(25);
  expect(echoed).toBe(sent);
  const wireFrames = wire.filter((e) => e.connectionId === id);

  // Everything accounted for: the list's count (frames held + folded) is every frame on the wire.
  const count = page.getByTestId('frame-count');
  await expect.poll(async () => Number(await count.getAttribute('data-total')), { timeout: 15_000 }).toBe(wireFrames.length);
  const folded = Number(await page.getByTestId('frames-folded').getAttribute('data-folded'));
  expect(folded).toBeGreaterThan(100);
  const held = Number((await count.textContent())!.match(/^(\d+)/)![1]);
  expect(held + folded).toBe(wireFrames.length);
  expect(host.streamStats()[0]!.foldedFrames).toBe(folded);

  // Folded rows show whatever the filters: with only close frames asked for, the rows are all there is.
  await page.getByLabel('Type filter').selectOption('close');
  const rows = page.getByTestId('fold-row');
  await expect.poll(() => rows.count()).toBeGreaterThan(0);
  // The page caught up: its folds close, with the last batch of the flood or, when none follows,
  // with the one the host sends after the fold's minimum time (PageStreams.settleFolds).
  await expect.poll(() => page.locator('[data-testid=fold-row][data-open="true"]').count(), { timeout: 5000 }).toBe(0);
  const foldRows: Array<{ frames: number; first: number; last: number; kinds: string; open: string | null; title: string | null }> = await rows.evaluateAll((els) => els.map((el) => ({
    frames: Number(el.getAttribute('data-frames')), first: Number(el.getAttribute('data-first-frame-id')), last: Number(el.getAttribute('data-last-frame-id')),
    kinds: el.getAttribute('data-kinds')!, open: el.getAttribute('data-open'), title: el.querySelector('[data-testid=fold-title]')!.textContent,
  })));
  expect(foldRows.reduce((n, r) => n + r.frames, 0)).toBe(folded);
  for (const row of foldRows) {
    expect(row.open).toBe('false');
    expect(row.title).toBe(`${row.frames.toLocaleString('en')} frames folded`);
    // The row's counts per direction and opcode are exactly the wire's in its range of frame numbers.
    const inRange = wireFrames.filter((e) => e.frame.frameId >= row.first && e.frame.frameId <= row.last);
    const expected = new Map<string, number>();
    for (const e of inRange) expected.set(`${e.direction}:${e.frame.opcode}`, (expected.get(`${e.direction}:${e.frame.opcode}`) ?? 0) + 1);
    const shown = new Map(row.kinds.split(',').map((k) => k.split('=') as [string, string]).map(([k, v]) => [k, Number(v)]));
    expect(shown).toEqual(expected);
    expect(row.frames).toBe(inRange.length);
  }
  // Pings from the client (in) and the server's pongs (out) were among them, and text and binary both ways.
  const kinds = new Set(foldRows.flatMap((r) => r.kinds.split(',').map((k) => k.split('=')[0])));
  for (const k of ['in:1', 'out:1', 'in:2', 'out:2']) expect([...kinds]).toContain(k);
  await page.getByLabel('Type filter').selectOption('all');
  await inspector.shot('frame-folding');

  // After the flood, frames are shown one by one again.
  ws.send('after the flood');
  await expect.poll(async () => Number(await count.getAttribute('data-total'))).toBe(wireFrames.length + 2);
  await expect.poll(() => page.getByTestId('frame-row').filter({ hasText: 'after the flood' }).count()).toBe(2);
  ws.close();
});
