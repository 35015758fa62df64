/**
 * The pipeline picture in Chromium (issue 15, "Pictures"): our CLI client sends one text message
 * compressed (permessage-deflate agreed with the embedded server), split into 3 frames and masked;
 * the Pipeline view of one of its frames shows every stage with the bytes the trace holds: the
 * message, its DEFLATE data, the 3 fragments, their headers (RSV1 on the first only), the masking
 * keys and the wire bytes, which must be exactly the frames' raw bytes the service traced; its
 * last stage shows the socket reads they arrived in, as the service's raw chunk store kept them.
 * Then the server's side: a message it sends in 3 fragments leaves in 3 writes, one frame each, and
 * a frame crafted in writes of 1 + 1 + rest is shown split across those 3 writes.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import type { TracedFrame } from '../../src/core/trace.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { killRunning, runCli } from '../support/cli.ts';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
const text = 'pipeline pipeline pipeline pipeline pipeline pipeline';
const frames: TracedFrame[] = [];
const events: TraceEvent[] = [];

beforeAll(async () => {
  inspector = await startInspector({ serverDeflate: true });
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
  inspector.host.service.tracer.subscribe((e) => {
    if (e.type === 'frame' && e.direction === 'in' && e.frame.opcode !== 8) frames.push(e.frame);
    if (e.type === 'bytes' || e.type === 'frame') events.push(e);
  });
});
afterAll(async () => {
  expect(inspector?.pageErrors).toEqual([]);
  await inspector?.close();
});
afterEach(killRunning);

/** Scrolls the pipeline (not the window) so the stage is at the top, for the screenshot. */
async function showStage(stage: ReturnType<Page['getByTestId']>): Promise<void> {
  await stage.evaluate((el) => {
    el.scrollIntoView({ block: 'start' });
    (globalThis as unknown as { scrollTo: (x: number, y: number) => void }).scrollTo(0, 0);
  });
}

describe('Pipeline view', () => {
  it('shows a fragmented, compressed, masked message stage by stage, the wire bytes as traced', async () => {
    const cli = runCli(['connect', inspector.serverUrl, '--send', text, '--fragment', '5,5']);
    expect(await cli.exit).toBe(0);
    const id = await inspector.newConnectionId('server');
    await page.getByTestId(`connection-${id}`).click();
    await page.locator('[data-testid=frame-row].dir-in').first().click();
    // Reached from the selected frame's anatomy.
    await page.getByTestId('pipeline-frame').click();
    const pipeline = page.getByTestId('pipeline');
    await pipeline.getByTestId('stage-wire').waitFor();

    expect(frames.length).toBe(3);
    expect(await pipeline.getByTestId('stage-message').textContent()).toContain(`“${text}”`);
    const deflate = (await pipeline.getByTestId('stage-deflate').textContent())!;
    expect(deflate).toMatch(/permessage-deflate: \d+ bytes of DEFLATE data/);
    expect(deflate).toContain(toHex(Uint8Array.from([...frames[0]!.payload, ...frames[1]!.payload, ...frames[2]!.payload]).subarray(0, 48), ' '));
    expect(await pipeline.getByTestId('stage-fragments').textContent()).toContain('split into 3 frames');
    const headers = (await pipeline.getByTestId('stage-headers').textContent())!;
    expect(headers).toContain('frame 1: FIN=0 RSV1=1 opcode=0x1 (text) MASK=1');
    expect(headers).toContain('frame 2: FIN=0 RSV1=0 opcode=0x0 (continuation) MASK=1');
    expect(headers).toContain('frame 3: FIN=1 RSV1=0 opcode=0x0 (continuation) MASK=1');
    const masking = (await pipeline.getByTestId('stage-masking').textContent())!;
    for (const f of frames) expect(masking).toContain(`key ${toHex(f.maskKey!, ' ')}`);
    const wire = (await pipeline.getByTestId('stage-wire').textContent())!;
    for (const f of frames) expect(wire).toContain(toHex(f.raw.subarray(0, 48), ' '));

    // The last stage: the socket reads the 3 frames arrived in, as the service kept them.
    const tcp = pipeline.getByTestId('stage-tcp');
    await tcp.getByTestId('pipeline-writes-summary').waitFor();
    const kept = inspector.host.service.rawCarriers({ connectionId: id, firstFrameId: frames[0]!.frameId, lastFrameId: frames[2]!.frameId });
    if (!kept.ok) throw new Error(kept.error);
    expect(kept.kind).toBe('reads');
    const reads = events.filter((e): e is Extract<TraceEvent, { type: 'bytes' }> => e.type === 'bytes' && e.connectionId === id && e.direction === 'in');
    const stream = Buffer.concat(reads.map((e) => e.bytes));
    const chunks = tcp.getByTestId('pipeline-chunk');
    expect(await chunks.count()).toBe(kept.chunks.length);
    for (const [i, chunk] of kept.chunks.entries()) {
      const shown = (await chunks.nth(i).textContent())!;
      expect(shown).toContain(`read ${chunk.ordinal} · ${chunk.length} bytes`);
      // The read is the socket's chunk: the same bytes as the trace's 'bytes' event of that ordinal.
      expect(chunk.length).toBe(reads[chunk.ordinal - 1]!.bytes.length);
      for (const run of chunk.segments) expect(shown).toContain(toHex(stream.subarray(chunk.offset + run.at, chunk.offset + run.at + Math.min(16, run.length)), ' '));
    }
    for (const [i, f] of frames.entries()) {
      const span = kept.frames[i]!;
      expect(span.aligned).toBe(true);
      expect(Buffer.from(stream.subarray(span.offset, span.offset + span.length)).equals(Buffer.from(f.raw))).toBe(true);
    }
    const summary = (await tcp.getByTestId('pipeline-writes-summary').textContent())!;
    expect(summary).toContain(`Its 3 frames (${frames.reduce((n, f) => n + f.raw.length, 0)} bytes) arrived in ${kept.chunks.length} read`);
    await inspector.shot('pipeline-1440x900');
    await showStage(tcp);
    await inspector.shot('pipeline-reads-1440x900');
    await page.setViewportSize({ width: 1024, height: 700 });
    await inspector.shot('pipeline-1024x700');
    await showStage(tcp);
    await inspector.shot('pipeline-reads-1024x700');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('shows a sent message\'s 3 fragments in 3 writes, and a crafted frame split across 3 writes', async () => {
    const ws = await openWs(inspector.serverUrl);
    const id = await inspector.newConnectionId('server');
    await inspector.host.service.setServerApp('manual');
    const sent = await inspector.host.service.send({ connectionId: id, kind: 'text', text: 'Hello, fragments', fragments: [3, 2] });
    expect(sent.ok).toBe(true);
    const crafted = await inspector.host.service.craft({
      connectionId: id, writes: [1, 1],
      frame: { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, payloadHex: Buffer.from('split me').toString('hex') },
    });
    expect(crafted.ok).toBe(true);
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.getByTestId(`connection-${id}`).click();
    await page.locator('[data-testid=frame-row].dir-out').filter({ hasText: 'Hel' }).first().click();
    await page.getByTestId('pipeline-frame').click();
    const tcp = page.getByTestId('pipeline').getByTestId('stage-tcp');
    const summary = tcp.getByTestId('pipeline-writes-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(/^Its 3 frames \(\d+ bytes\) left in 3 writes\.$/);
    const chunks = tcp.getByTestId('pipeline-chunk');
    expect(await chunks.count()).toBe(3);
    for (let i = 0; i < 3; i++) expect(await chunks.nth(i).getByTestId('pipeline-run').getAttribute('title')).toMatch(new RegExp(`^all of frame ${i + 1}: \\d+ bytes$`));
    await showStage(tcp);
    await inspector.shot('pipeline-writes-1440x900');

    // The crafted frame: 2 header bytes cut 1 + 1, then the payload.
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.locator('[data-testid=frame-row].dir-out').filter({ hasText: 'split me' }).first().click();
    await page.getByTestId('pipeline-frame').click();
    await summary.waitFor();
    await expect.poll(() => summary.textContent()).toMatch(/^Its frame \(10 bytes\) left in 3 writes; frame 1 is split across writes \d+, \d+ and \d+\.$/);
    const runs = tcp.getByTestId('pipeline-run');
    expect(await runs.evaluateAll((els) => els.map((el) => el.getAttribute('title')))).toEqual([
      'frame 1 bytes 0–0 of 10: 1 byte', 'frame 1 bytes 1–1 of 10: 1 byte', 'frame 1 bytes 2–9 of 10: 8 bytes',
    ]);
    expect(await tcp.textContent()).toContain(toHex(Buffer.from('split me'), ' '));
    await showStage(tcp);
    await inspector.shot('pipeline-split-1440x900');
    await page.setViewportSize({ width: 1024, height: 700 });
    await showStage(tcp);
    await inspector.shot('pipeline-split-1024x700');
    await page.setViewportSize({ width: 1440, height: 900 });

    // Writes 1.5 s apart: the stage opened between them says what is not written yet and asks again.
    const slow = inspector.host.service.craft({
      connectionId: id, writes: [1, 1], delayMs: 1500,
      frame: { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, payloadHex: Buffer.from('slow writes').toString('hex') },
    });
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.locator('[data-testid=frame-row].dir-out').filter({ hasText: 'slow writes' }).first().click();
    await page.getByTestId('pipeline-frame').click();
    await expect.poll(() => summary.textContent(), { timeout: 15_000 }).toMatch(/^Its frame \(13 bytes\) left in 3 writes; frame 1 is split across writes/);
    expect((await slow).ok).toBe(true);

    ws.close();
  });

  it('shows the writes of a 70-frame message\'s first 64 frames, and says so', async () => {
    const ws = await openWs(inspector.serverUrl);
    const id = await inspector.newConnectionId('server');
    const long = await inspector.host.service.send({ connectionId: id, kind: 'text', text: `QQQQQ${'z'.repeat(70)}`, fragments: [5, ...Array<number>(68).fill(1)] });
    expect(long.ok).toBe(true);
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.getByTestId(`connection-${id}`).click();
    // 70 rows do not all fit in view (the list renders only those in view): search for the first.
    await page.getByLabel('Search', { exact: true }).fill('QQQQQ');
    await page.locator('[data-testid=frame-row].dir-out').filter({ hasText: 'QQQQQ' }).first().click();
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByTestId('pipeline-frame').click();
    const tcp = page.getByTestId('pipeline').getByTestId('stage-tcp');
    const summary = tcp.getByTestId('pipeline-writes-summary');
    await expect.poll(() => summary.textContent()).toMatch(/^The first 64 of its 70 frames \(\d+ bytes\) left in 64 writes\.$/);
    expect(await tcp.getByTestId('pipeline-chunk').count()).toBe(64);
    ws.close();
  });
});
