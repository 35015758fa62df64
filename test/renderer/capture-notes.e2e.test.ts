/**
 * Issue 13 in the app: a capture whose IP packets came in fragments and that lost a TCP segment
 * opens with its reader's notes in the timeline (rows labelled "note", in an opened recording
 * only): the fragments reassembled, the gap (how many bytes, where the direction resumes), and the
 * messages after the gap shown. Screenshots at 1440x900 and 1024x700 (.test-output/screenshots).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handshakeBytes, pcapFile, sampleExchanges, tcpConversation, wsFrame } from '../support/capture-synth.ts';
import { fragmentPcap } from '../support/ip-fragmenter.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-capture-notes-'));
  inspector = await startInspector();
}, 60_000);

afterAll(async () => {
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a capture with IP fragments and a gap, in the app', () => {
  it('shows the reader\'s notes as timeline rows and the messages after the gap', async () => {
    const page = inspector.page;
    const enc = (s: string) => new TextEncoder().encode(s);
    const exchanges = [...sampleExchanges(handshakeBytes('chat.example', '/room')).slice(0, 5),
      { from: 'c' as const, bytes: wsFrame(1, enc('after the gap'), { masked: true }) },
      { from: 's' as const, bytes: wsFrame(1, enc('after the gap, echoed'), { masked: false }) },
      ...sampleExchanges().slice(6)];
    const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 8080 }, exchanges, mss: 1000, startTime: Date.now() - 60_000 });
    // Lose the second segment of the client's 3008-byte binary frame, then cut every packet over 400 bytes into fragments.
    const binary = packets.findIndex((p) => p.data.length === 1040 && p.data[40] === 0x82);
    const lossy = pcapFile(101, packets.filter((_p, i) => i !== binary + 1));
    const { file, fragmented } = fragmentPcap(lossy, 400, 'reverse');
    expect(fragmented).toBe(2);
    const path = join(dir, 'lossy-fragments.pcap');
    writeFileSync(path, file);

    await page.getByTestId('open-recording-input').setInputFiles(path);
    await expect.poll(() => page.locator('.notice span').first().textContent()).toMatch(/^Opened lossy-fragments\.pcap: 1 connection/);
    const prefix = inspector.host.service.getStatus().recordings!.at(-1)!.prefix;
    await page.getByTestId(`recording-${prefix}`).locator('[data-testid^="connection-rec"]').click();
    await page.getByTestId('timeline-mode').selectOption('frames');
    const notes = page.locator('[data-testid=lifecycle-row][data-label=note] .c-preview');
    await expect.poll(() => notes.allTextContents()).toEqual(expect.arrayContaining([
      expect.stringMatching(/^IP fragments reassembled: a \d+-byte TCP segment of this connection came in 3 IPv4 fragments/),
      expect.stringMatching(/^1000 bytes of the client → server stream are not in the capture \(.*\)\. The stream resumes at the next frame boundary, 1008 bytes after the gap \(known exactly/),
      expect.stringMatching(/^Gap: 2008 bytes of the client → server stream are not read/),
    ]));
    await expect.poll(() => page.locator('[data-testid=frame-row] .c-preview').allTextContents()).toEqual(expect.arrayContaining(['after the gap', 'after the gap, echoed']));

    for (const [width, height] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width, height });
      await page.locator('[data-testid=lifecycle-row][data-label=note]', { hasText: 'Gap: ' }).scrollIntoViewIfNeeded();
      await inspector.shot(`capture-gap-notes-${width}x${height}`); // .test-output/screenshots (docs/screenshots has the reviewed ones)
    }
  }, 90_000);
});
