/**
 * The pipeline picture in Chromium (issue 15, "Pictures"): our CLI client sends one text message
 * compressed (permessage-deflate agreed with the embedded server), split into 3 frames and masked;
 * the Pipeline view of one of its frames shows every stage with the bytes the trace holds: the
 * message, its DEFLATE data, the 3 fragments, their headers (RSV1 on the first only), the masking
 * keys and the wire bytes, which must be exactly the frames' raw bytes the service traced.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.ts';
import type { TracedFrame } from '../../src/core/trace.ts';
import { killRunning, runCli } from '../support/cli.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
const text = 'pipeline pipeline pipeline pipeline pipeline pipeline';
const frames: TracedFrame[] = [];

beforeAll(async () => {
  inspector = await startInspector({ serverDeflate: true });
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
  inspector.host.service.tracer.subscribe((e) => {
    if (e.type === 'frame' && e.direction === 'in' && e.frame.opcode !== 8) frames.push(e.frame);
  });
});
afterAll(async () => {
  expect(inspector?.pageErrors).toEqual([]);
  await inspector?.close();
});
afterEach(killRunning);

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
    await inspector.shot('pipeline-1440x900');
    await page.setViewportSize({ width: 1024, height: 700 });
    await inspector.shot('pipeline-1024x700');
  });
});
