/** Streaming a capture file from disk: chunked reads, progress (bytes read / total), stopping early. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capturePackets, dissectCaptureFile, type CaptureProgress } from '../../../../src/core/capture/pcap/read-file.ts';
import type { WebSocketCaptureEvent } from '../../../../src/core/capture/websocket-discovery.ts';
import { handshakeBytes, linkFrame, PcapngWriter, tcpConversation, wsFrame } from '../../../support/capture-synth.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-read-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hs = handshakeBytes();
const packets = tcpConversation({
  client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 80 },
  exchanges: [{ from: 'c', bytes: hs.request }, { from: 's', bytes: hs.response }, ...Array.from({ length: 200 }, (_v, i) => ({ from: (i % 2 ? 's' : 'c') as 'c' | 's', bytes: wsFrame(2, new Uint8Array(900).fill(i), { masked: i % 2 === 0 }) }))],
});
const w = new PcapngWriter().section().iface(1);
for (const p of packets) w.epb({ ...p, data: linkFrame(1, p.data) });
const file = join(dir, 'c.pcapng');
const bytes = w.bytes();
writeFileSync(file, bytes);

describe('dissectCaptureFile', () => {
  it('reads in chunks, reports progress up to the total, and hands on the conversation', async () => {
    const progress: CaptureProgress[] = [];
    const events: WebSocketCaptureEvent[] = [];
    const summary = await dissectCaptureFile(file, (e) => events.push(e), { chunkSize: 4096, onProgress: (p) => progress.push(p) });
    expect(summary.error).toBeNull();
    expect(summary.packets).toBe(packets.length);
    expect(progress.length).toBe(Math.ceil(bytes.length / 4096));
    expect(progress.every((p, i) => p.totalBytes === bytes.length && (i === 0 || p.bytesRead > progress[i - 1]!.bytesRead))).toBe(true);
    expect(progress.at(-1)!.bytesRead).toBe(bytes.length);
    expect(events.filter((e) => e.type === 'open')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'bytes').reduce((n, e) => n + (e.type === 'bytes' ? e.bytes.length : 0), 0)).toBe(hs.request.length + hs.response.length + 200 * 904 + 100 * 4);
  });

  it('awaits `between` after each chunk before reading the next (the app replays what ended there)', async () => {
    const log: string[] = [];
    await dissectCaptureFile(file, () => {}, {
      chunkSize: 4096,
      onProgress: (p) => log.push(`read ${p.bytesRead}`),
      between: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        log.push('between done');
      },
    });
    const chunks = Math.ceil(bytes.length / 4096);
    expect(log.filter((l) => l === 'between done')).toHaveLength(chunks);
    // Strictly alternating: no chunk is read while the previous one's `between` is still running.
    expect(log.every((l, i) => l.startsWith(i % 2 === 0 ? 'read' : 'between'))).toBe(true);
  });

  it('dissects a chunk in pieces of `pieceSize`, awaiting `between` after each, with the same events as whole chunks', async () => {
    const whole: WebSocketCaptureEvent[] = [];
    await dissectCaptureFile(file, (e) => whole.push(e), { chunkSize: 64 * 1024 });
    const pieces: WebSocketCaptureEvent[] = [];
    const log: string[] = [];
    const summary = await dissectCaptureFile(file, (e) => pieces.push(e), {
      chunkSize: 64 * 1024,
      pieceSize: 1000,
      onProgress: (p) => log.push(`read ${p.bytesRead}`),
      between: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push('between done');
      },
    });
    expect(summary.error).toBeNull();
    expect(summary.packets).toBe(packets.length);
    const reads = log.filter((l) => l.startsWith('read')).map((l) => Number(l.slice(5)));
    // Each 64 KiB chunk in pieces of 1000 bytes, the last piece of a chunk what is left of it.
    const expected: number[] = [];
    for (let chunk = 0; chunk < bytes.length; chunk += 64 * 1024) {
      const end = Math.min(bytes.length, chunk + 64 * 1024);
      for (let at = chunk; at < end; at += 1000) expected.push(Math.min(end, at + 1000));
    }
    expect(reads).toEqual(expected);
    expect(log.every((l, i) => l.startsWith(i % 2 === 0 ? 'read' : 'between'))).toBe(true);
    expect(pieces.length).toBe(whole.length);
    const bytesOf = (events: WebSocketCaptureEvent[]) => Buffer.concat(events.flatMap((e) => (e.type === 'bytes' ? [e.bytes] : [])));
    expect(bytesOf(pieces).equals(bytesOf(whole))).toBe(true);
    expect(pieces.map((e) => e.type)).toEqual(whole.map((e) => e.type));
  });

  it('stops when aborted, and says so', async () => {
    const controller = new AbortController();
    const summary = await dissectCaptureFile(file, () => {}, { chunkSize: 4096, onProgress: (p) => { if (p.bytesRead >= 8192) controller.abort(); }, signal: controller.signal });
    expect(summary.error).toBe('stopped before the end of the file');
    expect(summary.packets).toBeLessThan(packets.length);
  });

  it('capturePackets yields every packet in order, then the summary; a cut file yields those before the cut', async () => {
    const numbers: number[] = [];
    const iterator = capturePackets(file, { chunkSize: 1000 });
    let step = await iterator.next();
    while (!step.done) {
      numbers.push(step.value.number);
      step = await iterator.next();
    }
    expect(numbers).toEqual(packets.map((_p, i) => i + 1));
    expect(step.value).toMatchObject({ format: 'pcapng', packets: packets.length, error: null });
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, bytes.subarray(0, 5000));
    let seen = 0;
    const cutIterator = capturePackets(cut);
    let cutStep = await cutIterator.next();
    while (!cutStep.done) {
      seen++;
      cutStep = await cutIterator.next();
    }
    expect(seen).toBeGreaterThan(0);
    expect(cutStep.value.packets).toBe(seen);
    expect(cutStep.value.error).toMatch(/^truncated: /);
  });
});
