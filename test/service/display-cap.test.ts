/**
 * Bounded memory between engine and UI: large frames reach the renderer cut to 64 KiB, their
 * full bytes stay in a byte-budgeted ring and come back on demand.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { capForDisplay, DISPLAY_CAP, FullFrameStore, searchFullFrames } from '../../src/service/display-cap.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

function frameEvent(payloadLength: number, frameId = 1): TraceEvent {
  const payload = new Uint8Array(payloadLength).fill(7);
  const raw = encodeFrame({ opcode: 2, payload });
  return {
    type: 'frame', direction: 'in', seq: 1, time: 0, connectionId: 'c',
    frame: { frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 127, payloadLength, headerLength: raw.length - payloadLength, raw, payload },
  };
}

describe('capForDisplay', () => {
  it('leaves small frames untouched (the same object)', () => {
    const e = frameEvent(DISPLAY_CAP);
    expect(capForDisplay(e, new FullFrameStore())).toBe(e);
  });

  it('cuts a large frame to the cap, keeps its header whole and stores the full bytes', () => {
    const store = new FullFrameStore();
    const e = frameEvent(1_000_000);
    const cut = capForDisplay(e, store);
    if (cut.type !== 'frame' || e.type !== 'frame') throw new Error('frame expected');
    expect(cut.frame.payload.length).toBe(DISPLAY_CAP);
    expect(cut.frame.raw.length).toBe(e.frame.headerLength + DISPLAY_CAP);
    expect(cut.frame.raw.subarray(0, 10)).toEqual(e.frame.raw.subarray(0, 10));
    expect(cut.frame.truncated).toEqual({ rawLength: e.frame.raw.length, payloadLength: 1_000_000 });
    expect(store.get('c:1')?.payload).toBe(e.frame.payload);
  });

  it('keeps the full-frame ring within its byte budget, oldest out first', () => {
    const store = new FullFrameStore({ budgetBytes: 3 * 2 * 100_000 + 100 });
    for (let id = 1; id <= 5; id++) capForDisplay(frameEvent(100_000, id), store);
    expect(store.storedBytes).toBeLessThanOrEqual(3 * 2 * 100_000 + 100);
    expect(store.get('c:1')).toBeUndefined();
    expect(store.get('c:5')).toBeDefined();
  });

  it('cuts long message text and data', () => {
    const text = capForDisplay({ type: 'message', direction: 'in', opcode: 1, size: 100_000, text: 'x'.repeat(100_000), frameIds: [1], seq: 1, time: 0, connectionId: 'c' }, new FullFrameStore());
    expect(text.type === 'message' && [text.text?.length, text.truncated]).toEqual([DISPLAY_CAP, true]);
  });
});

describe('the service sends cut frames and serves the full bytes', () => {
  let service: InspectorService;
  let url: string;
  beforeAll(async () => {
    service = new InspectorService({ batchIntervalMs: 5 });
    const started = await service.startServer({ port: 0 });
    if (!started.ok) throw new Error(started.error);
    url = started.url;
  });
  afterAll(() => service.dispose());

  it('a 1 MiB message from ws: the batch holds 64 KiB, frameBytes returns all of it', async () => {
    const events: TraceEvent[] = [];
    service.onBatch((b) => events.push(...eventsOf(b)));
    // Uncompressed, so the frame itself is 1 MiB (ws offers permessage-deflate, which our server accepts).
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    const payload = Buffer.alloc(1024 * 1024, 0x5a);
    const echoed = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    ws.send(payload);
    expect((await echoed).equals(payload)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    const frame = events.find((e) => e.type === 'frame' && e.direction === 'in' && e.frame.opcode === 2);
    if (!frame || frame.type !== 'frame') throw new Error('no frame');
    expect(frame.frame.payload.length).toBe(DISPLAY_CAP);
    expect(frame.frame.truncated?.payloadLength).toBe(payload.length);
    expect(events.some((e) => e.type === 'bytes')).toBe(false); // raw chunks are not sent to the UI
    const full = service.frameBytes(frame.connectionId, frame.frame.frameId);
    if (!full.ok) throw new Error(full.error);
    const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(hash(full.payload)).toBe(hash(payload));
    expect(full.raw.length).toBe(frame.frame.truncated!.rawLength);
    expect(service.frameBytes(frame.connectionId, 9999).ok).toBe(false);
    ws.close();
  });
});

describe('the full-bytes budget, as configured', () => {
  it('keeps only the newest large frames within fullFrameBudgetBytes and says plainly when bytes are gone', async () => {
    // Each 1 MiB frame costs about 2 MiB (wire bytes and unmasked payload): 5 MiB holds two.
    const service = new InspectorService({ batchIntervalMs: 5, fullFrameBudgetBytes: 5 * 1024 * 1024 });
    const started = await service.startServer({ port: 0 });
    if (!started.ok) throw new Error(started.error);
    const events: TraceEvent[] = [];
    service.onBatch((b) => events.push(...eventsOf(b)));
    const ws = new WebSocket(started.url, { perMessageDeflate: false }); // 1 MiB frames, not 1 KiB compressed ones
    try {
      await new Promise((r) => ws.once('open', r));
      for (const fill of [1, 2]) {
        const echoed = new Promise((r) => ws.once('message', r));
        ws.send(Buffer.alloc(1024 * 1024, fill));
        await echoed;
      }
      await new Promise((r) => setTimeout(r, 50));
      const large = events.flatMap((e) => (e.type === 'frame' && e.frame.truncated ? [e] : []));
      expect(large.map((e) => e.direction)).toEqual(['in', 'out', 'in', 'out']);
      const fetch = (i: number) => service.frameBytes(large[i]!.connectionId, large[i]!.frame.frameId);
      expect(fetch(0)).toEqual({ ok: false, error: 'Those bytes are no longer kept (only the most recent large frames are).' });
      expect(fetch(1).ok).toBe(false);
      for (const i of [2, 3]) {
        const full = fetch(i);
        if (!full.ok) throw new Error(full.error);
        expect(full.payload.length).toBe(1024 * 1024);
        expect(full.payload.every((b) => b === 2)).toBe(true);
      }
      expect(service.fullFrames.storedBytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    } finally {
      ws.close();
      service.dispose();
    }
  });
});


describe('capForDisplay: permessage-deflate fields', () => {
  it('cuts a small compressed frame\'s large plain side, keeping the real inflatedLength (the wire bytes are untouched)', () => {
    const e = frameEvent(100);
    if (e.type !== 'frame') throw new Error('frame expected');
    const inflated = new Uint8Array(1_000_000).fill(0x61);
    e.frame.deflate = { first: true, inflated, inflatedLength: inflated.length, tail: 'appended' };
    const cut = capForDisplay(e, new FullFrameStore());
    if (cut.type !== 'frame') throw new Error('frame expected');
    expect(cut.frame.deflate?.inflated.length).toBe(DISPLAY_CAP);
    expect(cut.frame.deflate?.inflatedLength).toBe(1_000_000);
    expect(cut.frame.payload).toBe(e.frame.payload);
    expect(e.frame.deflate.inflated.length).toBe(1_000_000); // the engine's event is not changed
  });

  it('cuts a compressed message\'s wire form and its plain text, keeping compressedSize', () => {
    const compressed = new Uint8Array(DISPLAY_CAP + 10).fill(1);
    const e: TraceEvent = {
      type: 'message', direction: 'in', seq: 2, time: 0, connectionId: 'c', opcode: 1, size: 3 * DISPLAY_CAP, text: 'x'.repeat(3 * DISPLAY_CAP), frameIds: [1],
      compression: { extension: 'permessage-deflate', compressed, compressedSize: compressed.length, ratio: 3, tail: 'appended', contextTakeover: false, windowMessages: 0, windowReason: '', windowBits: 15 },
    };
    const cut = capForDisplay(e, new FullFrameStore());
    if (cut.type !== 'message') throw new Error('message expected');
    expect(cut.compression?.compressed.length).toBe(DISPLAY_CAP);
    expect(cut.compression?.compressedSize).toBe(DISPLAY_CAP + 10);
    expect(cut.text?.length).toBe(DISPLAY_CAP);
    expect(cut.truncated).toBe(true);
  });
});

describe('searching the full bytes of frames cut for display', () => {
  it('finds text (any case), a /regex/ and hex: bytes past the first 64 KiB, per connection, and explains a bad search', () => {
    const store = new FullFrameStore();
    const text = new TextEncoder().encode(`${'p'.repeat(150_000)}"orderId":"X-99"${'q'.repeat(50_000)}`);
    store.put('server1:1:4', encodeFrame({ opcode: 1, payload: text }), text);
    const other = new Uint8Array(100_000).fill(0x41);
    other.set([0xca, 0xfe], 90_000);
    store.put('server1:1:9', encodeFrame({ opcode: 2, payload: other }), other);
    store.put('server1:2:4', encodeFrame({ opcode: 1, payload: text }), text);
    expect(searchFullFrames(store, 'server1:1', 'ORDERID":"x-99')).toEqual([4]);
    expect(searchFullFrames(store, 'server1:1', '/orderId":"X-\\d+"/')).toEqual([4]);
    expect(searchFullFrames(store, 'server1:1', '/(p+)+z/')).toEqual([]); // linear time: answers
    expect(searchFullFrames(store, 'server1:1', 'hex:ca fe')).toEqual([9]);
    expect(searchFullFrames(store, 'server1:1', 'hex:81 7f')).toEqual([4]); // the wire header of a 64-bit length text frame
    expect(searchFullFrames(store, 'server1:2', 'orderId')).toEqual([4]);
    expect(searchFullFrames(store, 'server1:1', '   ')).toEqual([]);
    expect(() => searchFullFrames(store, 'server1:1', 'hex:c')).toThrow(/whole hex bytes/);
    expect(() => searchFullFrames(store, 'server1:1', '/(a/')).toThrow(/Column 4: expected a "\)" to close the group/);
    const service = new InspectorService();
    expect(service.searchCutFrames('nobody', '/(a/')).toEqual({ ok: false, error: expect.stringMatching(/expected a "\)"/) });
    expect(service.searchCutFrames('nobody', 'x')).toEqual({ ok: true, frameIds: [] });
  });

  it('searches a payload that starts with a BOM as the page shows it: U+FEFF kept, so /^hi/ does not match it', () => {
    const store = new FullFrameStore();
    const payload = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(`hi${'x'.repeat(100_000)}`)]);
    store.put('s:1:2', encodeFrame({ opcode: 1, payload }), payload);
    expect(searchFullFrames(store, 's:1', '/^hi/')).toEqual([]);
    expect(searchFullFrames(store, 's:1', '/^\\uFEFFhi/')).toEqual([2]);
  });
});
