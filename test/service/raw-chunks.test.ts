/**
 * The store of raw socket writes and reads (src/service/raw-chunks.ts): which writes/reads carried
 * which frames' bytes (a frame split across writes, several frames in one read, the HTTP head
 * sharing a read with a frame), its byte budgets per connection and in total (oldest dropped and
 * counted), hostile requests refused; then real traffic: the ws package sending a fragmented
 * message to our server, every frame found byte-exact in the reads the store kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoComponent } from '../../src/core/apps/index.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { Tracer, type Direction, type TraceBody, type TracedFrame, type TraceEvent } from '../../src/core/trace.ts';
import { createHandlers } from '../../src/service/handlers.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { CHUNK_OVERHEAD, FIRST_SLAB, FRAME_OVERHEAD, RawChunkStore, validateRawCarriers } from '../../src/service/raw-chunks.ts';
import { RAW_CARRIERS_MAX_CHUNKS, RAW_CARRIERS_MAX_SPAN, type RawCarriers } from '../../src/shared/raw-chunks-api.ts';
import { withTimeout } from '../core/net/helpers.ts';
import { prng } from '../support/prng.ts';

let seq = 0;
const ev = (connectionId: string, body: TraceBody): TraceEvent => ({ ...body, seq: ++seq, time: Date.now(), connectionId } as TraceEvent);
const bytes = (id: string, direction: Direction, b: Uint8Array) => ev(id, { type: 'bytes', direction, bytes: b });
const head = (id: string, direction: Direction, length: number) =>
  ev(id, { type: 'http-head', direction, head: { kind: direction === 'in' ? 'request' : 'response', startLine: 'x', headers: [], raw: new Uint8Array(length) } });
const frame = (id: string, direction: Direction, frameId: number, raw: Uint8Array) =>
  ev(id, { type: 'frame', direction, frame: { frameId, raw } as TracedFrame });
const text = (s: string, fin = true, opcode = 1) => encodeFrame({ opcode, fin, payload: new TextEncoder().encode(s) }, null);

function ok(result: ReturnType<RawChunkStore['carriers']>): RawCarriers {
  if (!result.ok) throw new Error(result.error);
  return result;
}

describe('frames mapped to the writes and reads that carried them', () => {
  it('outgoing: one write per frame, and a crafted frame split into three writes', () => {
    const store = new RawChunkStore();
    const a = text('Hel', false);
    const b = text('lo', true, 0);
    const crafted = text('split me');
    store.observe(head('c', 'out', 129));
    store.observe(bytes('c', 'out', new Uint8Array(129)));
    for (const [id, f] of [[1, a], [2, b]] as const) {
      store.observe(frame('c', 'out', id, f));
      store.observe(bytes('c', 'out', f));
    }
    store.observe(frame('c', 'out', 3, crafted));
    for (const piece of [crafted.subarray(0, 1), crafted.subarray(1, 2), crafted.subarray(2)]) store.observe(bytes('c', 'out', piece));

    const msg = ok(store.carriers({ connectionId: 'c', firstFrameId: 1, lastFrameId: 2 }));
    expect(msg.kind).toBe('writes');
    expect(msg.frames).toEqual([{ frameId: 1, offset: 129, length: 5, aligned: true }, { frameId: 2, offset: 134, length: 4, aligned: true }]);
    expect(msg.chunks.map((c) => [c.ordinal, c.offset, c.length])).toEqual([[2, 129, 5], [3, 134, 4]]);
    expect(msg.chunks[0]!.segments).toEqual([{ at: 0, length: 5, frameId: 1, asked: true, frameAt: 0, frameLength: 5, preview: Uint8Array.from(a) }]);

    const split = ok(store.carriers({ connectionId: 'c', firstFrameId: 3, lastFrameId: 3 }));
    expect(split.chunks.map((c) => c.length)).toEqual([1, 1, crafted.length - 2]);
    expect(split.chunks.map((c) => c.segments.map((s) => [s.frameId, s.frameAt, s.length]))).toEqual([[[3, 0, 1]], [[3, 1, 1]], [[3, 2, crafted.length - 2]]]);
    expect(split.missing).toEqual({ dropped: 0, notYetSeen: 0 });
    expect(split.streamBytes).toBe(129 + 5 + 4 + crafted.length);
  });

  it('incoming: the head and two frames in one read, a third frame split across two reads', () => {
    const store = new RawChunkStore();
    const f1 = text('one');
    const f2 = text('two');
    const f3 = text('three, longer');
    const headBytes = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n');
    const read1 = Uint8Array.from([...headBytes, ...f1, ...f2, ...f3.subarray(0, 4)]);
    store.observe(bytes('s', 'in', read1));
    store.observe(head('s', 'in', headBytes.length));
    store.observe(frame('s', 'in', 1, f1));
    store.observe(frame('s', 'out', 2, text('one'))); // the echo: the other direction, its own stream
    store.observe(frame('s', 'in', 3, f2));
    store.observe(bytes('s', 'in', f3.subarray(4)));
    store.observe(frame('s', 'in', 4, f3));

    const r = ok(store.carriers({ connectionId: 's', firstFrameId: 1, lastFrameId: 4 }));
    expect(r.kind).toBe('reads');
    expect(r.frames.map((f) => f.frameId)).toEqual([1, 3, 4]); // frame 2 went out
    expect(r.frames.every((f) => f.aligned)).toBe(true);
    expect(r.chunks.length).toBe(2);
    const [first, second] = r.chunks;
    expect(first!.segments.map((s) => [s.frameId, s.at, s.length, s.frameAt])).toEqual([
      [null, 0, headBytes.length, 0], [1, headBytes.length, f1.length, 0], [3, headBytes.length + f1.length, f2.length, 0], [4, headBytes.length + f1.length + f2.length, 4, 0],
    ]);
    expect(second!.segments.map((s) => [s.frameId, s.at, s.length, s.frameAt, s.frameLength])).toEqual([[4, 0, f3.length - 4, 4, f3.length]]);
    expect(first!.segments[0]!.preview).toEqual(headBytes.subarray(0, 16));

    // Asking for frame 4 alone still names the other frames sharing its first read, as not asked.
    const only = ok(store.carriers({ connectionId: 's', firstFrameId: 4, lastFrameId: 4 }));
    expect(only.chunks[0]!.segments.map((s) => [s.frameId, s.asked])).toEqual([[null, false], [1, false], [3, false], [4, true]]);
  });

  it('says when the frame index and the stream disagree (aligned false) and when bytes are not written yet', () => {
    const store = new RawChunkStore();
    store.observe(head('s', 'in', 4));
    store.observe(bytes('s', 'in', Uint8Array.of(0x47, 0x45, 0x54, 0x20, 0x81, 0x00, 0x99)));
    store.observe(frame('s', 'in', 1, Uint8Array.of(0x81, 0x00)));
    store.observe(frame('s', 'in', 2, Uint8Array.of(0x82, 0x00))); // the stream holds 0x99 there
    const r = ok(store.carriers({ connectionId: 's', firstFrameId: 1, lastFrameId: 2 }));
    expect(r.frames.map((f) => f.aligned)).toEqual([true, false]);
    expect(r.missing.notYetSeen).toBe(1); // frame 2's second byte has not arrived

    store.observe(frame('s', 'out', 3, text('later')));
    const pending = ok(store.carriers({ connectionId: 's', firstFrameId: 3, lastFrameId: 3 }));
    expect(pending.chunks).toEqual([]);
    expect(pending.frames[0]!.aligned).toBeNull();
    expect(pending.missing.notYetSeen).toBe(7);
  });

  it('answers a frame it never saw, or a connection it does not know, in one sentence', () => {
    const store = new RawChunkStore();
    store.observe(bytes('c', 'out', Uint8Array.of(1)));
    const unknown = store.carriers({ connectionId: 'nope', firstFrameId: 1, lastFrameId: 1 });
    expect(unknown.ok).toBe(false);
    const missing = store.carriers({ connectionId: 'c', firstFrameId: 9, lastFrameId: 9 });
    expect(!missing.ok && missing.error).toMatch(/^Frame 9's place in the byte stream is no longer kept/);
  });
});

describe('bounds', () => {
  it('a connection stays within its budget: the oldest writes go first, counted, and their frames with them', () => {
    const store = new RawChunkStore({ perConnectionBytes: 64 * 1024, keepPerChunk: 4096 });
    const payload = 'x'.repeat(1000);
    for (let id = 1; id <= 500; id++) {
      const f = text(payload);
      store.observe(frame('c', 'out', id, f));
      store.observe(bytes('c', 'out', f));
      expect(store.connectionUsage('c')).toBeLessThanOrEqual(64 * 1024);
    }
    // The kept bytes sit in slabs of at most 8 KiB here (an eighth of the budget): at most two are part empty.
    const perFrame = 1004 + CHUNK_OVERHEAD + FRAME_OVERHEAD;
    const kept = store.usage().chunks;
    expect(kept).toBeLessThanOrEqual(Math.floor((64 * 1024) / perFrame));
    expect(kept).toBeGreaterThanOrEqual(Math.floor((64 * 1024 - 2 * 8192) / perFrame));
    const last = ok(store.carriers({ connectionId: 'c', firstFrameId: 500, lastFrameId: 500 }));
    expect(last.dropped).toEqual({ chunks: 500 - kept, bytes: (500 - kept) * 1004 });
    expect(last.chunks[0]!.ordinal).toBe(500);
    // The first frame's bytes are gone, and so is its place.
    expect(store.carriers({ connectionId: 'c', firstFrameId: 1, lastFrameId: 1 }).ok).toBe(false);
    const oldestKept = 500 - kept + 1;
    expect(ok(store.carriers({ connectionId: 'c', firstFrameId: oldestKept, lastFrameId: oldestKept })).chunks.length).toBe(1);
  });

  it('a frame whose first write was dropped says how many of its bytes are gone', () => {
    const store = new RawChunkStore({ perConnectionBytes: 4096, keepPerChunk: 2048 });
    const big = text('y'.repeat(3000));
    store.observe(frame('c', 'out', 1, big));
    store.observe(bytes('c', 'out', big.subarray(0, 1500)));
    store.observe(bytes('c', 'out', big.subarray(1500)));
    store.observe(bytes('c', 'out', new Uint8Array(1500))); // raw bytes that are no frame's
    const r = ok(store.carriers({ connectionId: 'c', firstFrameId: 1, lastFrameId: 1 }));
    expect(r.missing.dropped).toBe(1500);
    expect(r.chunks.map((c) => c.ordinal)).toEqual([2]);
    expect(r.frames[0]!.aligned).toBeNull();
  });

  it('keeps only keepPerChunk bytes of a large write but counts all of it', () => {
    const store = new RawChunkStore({ perConnectionBytes: 1024 * 1024, keepPerChunk: 1024 });
    store.observe(bytes('c', 'in', new Uint8Array(500_000)));
    expect(store.connectionUsage('c')).toBe(1024 + CHUNK_OVERHEAD); // its own slab, the size of what is kept
    store.observe(bytes('c', 'in', new Uint8Array(10)));
    store.observe(frame('c', 'in', 1, new Uint8Array(500_010)));
    const r = ok(store.carriers({ connectionId: 'c', firstFrameId: 1, lastFrameId: 1 }));
    expect(r.chunks.map((c) => [c.offset, c.length])).toEqual([[0, 500_000], [500_000, 10]]);
    expect(r.streamBytes).toBe(500_010);
  });

  it('all connections together stay within the total budget, the oldest write of any connection going first', () => {
    const store = new RawChunkStore({ perConnectionBytes: 64 * 1024, totalBytes: 256 * 1024, keepPerChunk: 8192 });
    for (let round = 0; round < 40; round++) {
      for (let c = 0; c < 10; c++) {
        store.observe(bytes(`c${c}`, 'out', new Uint8Array(4000)));
        expect(store.usage().total).toBeLessThanOrEqual(256 * 1024);
        expect(store.connectionUsage(`c${c}`)).toBeLessThanOrEqual(64 * 1024);
      }
    }
    // Every connection wrote alike, so each keeps about a tenth.
    const per = Array.from({ length: 10 }, (_, c) => store.connectionUsage(`c${c}`));
    expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(2 * 8192 + 4000 + CHUNK_OVERHEAD);
    expect(store.usage().total).toBe(per.reduce((a, b) => a + b, 0));
  });

  it('forgets the oldest connection past maxConnections, and its bytes with it', () => {
    const store = new RawChunkStore({ maxConnections: 3 });
    for (const id of ['a', 'b', 'c', 'd']) store.observe(bytes(id, 'in', new Uint8Array(100)));
    expect(store.usage().connections).toBe(3);
    expect(store.connectionUsage('a')).toBe(0);
    // 100 bytes each, in a direction's first slab.
    expect(store.usage().total).toBe(3 * (FIRST_SLAB + CHUNK_OVERHEAD));
    store.forget('b');
    expect(store.usage()).toEqual({ total: 2 * (FIRST_SLAB + CHUNK_OVERHEAD), chunks: 2, connections: 2 });
  });

  it('random traffic on 12 connections: the accounts add up, budgets hold, and every kept byte reads back as written', () => {
    const random = prng(15);
    const store = new RawChunkStore({ perConnectionBytes: 16 * 1024, totalBytes: 96 * 1024, keepPerChunk: 3000 });
    const written = new Map<string, number[]>(); // per connection: every byte of its 'out' stream (small values)
    let frameId = 0;
    for (let step = 0; step < 3000; step++) {
      const id = `c${Math.floor(random() * 12)}`;
      const size = 2 + Math.floor(random() ** 3 * 5000);
      const stream = written.get(id) ?? [];
      written.set(id, stream);
      const f = new Uint8Array(size).map((_, i) => (stream.length + i) % 251);
      store.observe(frame(id, 'out', ++frameId, f));
      // One write, or the frame cut in two.
      const cut = random() < 0.3 ? 1 + Math.floor(random() * (size - 1)) : size;
      store.observe(bytes(id, 'out', f.subarray(0, cut)));
      if (cut < size) store.observe(bytes(id, 'out', f.subarray(cut)));
      stream.push(...f);
      const usage = store.usage();
      expect(usage.total).toBeLessThanOrEqual(96 * 1024);
      const perConnection = Array.from({ length: 12 }, (_, c) => store.connectionUsage(`c${c}`));
      expect(usage.total).toBe(perConnection.reduce((a, b) => a + b, 0));
      for (const u of perConnection) expect(u).toBeLessThanOrEqual(16 * 1024);
      // The newest frame reads back from its writes' previews: the bytes at each run's start.
      const r = store.carriers({ connectionId: id, firstFrameId: frameId, lastFrameId: frameId });
      if (!r.ok) continue; // its writes were all dropped at once (a frame larger than the budget allows)
      for (const c of r.chunks) {
        for (const run of c.segments) {
          const from = c.offset + run.at;
          expect([...run.preview]).toEqual(stream.slice(from, from + run.preview.length));
        }
      }
    }
  });

  it('an answer lists at most RAW_CARRIERS_MAX_CHUNKS writes and counts the rest', () => {
    const store = new RawChunkStore();
    const f = text('z'.repeat(200));
    store.observe(frame('c', 'out', 1, f));
    for (let i = 0; i < f.length; i++) store.observe(bytes('c', 'out', f.subarray(i, i + 1)));
    const r = ok(store.carriers({ connectionId: 'c', firstFrameId: 1, lastFrameId: 1 }));
    expect(r.chunks.length).toBe(RAW_CARRIERS_MAX_CHUNKS);
    expect(r.moreChunks).toBe(f.length - RAW_CARRIERS_MAX_CHUNKS);
  });
});

describe('validateRawCarriers (what the page sends is hostile until checked)', () => {
  it.each([
    [null], [42], ['c'], [[]], [{}], [{ connectionId: 7, firstFrameId: 1, lastFrameId: 1 }], [{ connectionId: '', firstFrameId: 1, lastFrameId: 1 }],
    [{ connectionId: 'x'.repeat(201), firstFrameId: 1, lastFrameId: 1 }], [{ connectionId: 'c', firstFrameId: 0, lastFrameId: 1 }],
    [{ connectionId: 'c', firstFrameId: 2, lastFrameId: 1 }], [{ connectionId: 'c', firstFrameId: 1.5, lastFrameId: 2 }],
    [{ connectionId: 'c', firstFrameId: '1', lastFrameId: 2 }], [{ connectionId: 'c', firstFrameId: 1, lastFrameId: 1 + RAW_CARRIERS_MAX_SPAN + 1 }],
    [{ connectionId: 'c', firstFrameId: 1, lastFrameId: Number.MAX_VALUE }], [{ connectionId: 'c', firstFrameId: Number.NaN, lastFrameId: 1 }],
  ])('refuses %j', (arg) => {
    expect(() => validateRawCarriers(arg)).toThrow(/^rawCarriers expects/);
  });

  it('passes a good request on, and nothing else of it', () => {
    expect(validateRawCarriers({ connectionId: 'c1', firstFrameId: 3, lastFrameId: 5, extra: 'x' })).toEqual({ connectionId: 'c1', firstFrameId: 3, lastFrameId: 5 });
  });
});

describe('rawCarriers through the service\'s handlers (what Electron\'s IPC and the web host serve)', () => {
  it('refuses malformed requests before the service sees them, answers an unknown connection in one sentence, and a huge frame range is refused', async () => {
    const service = new InspectorService({ batchIntervalMs: 5 });
    try {
      const handlers = createHandlers(service);
      for (const bad of [undefined, 'c', { connectionId: 'c', firstFrameId: -1, lastFrameId: 2 }, { connectionId: 'c', firstFrameId: 1, lastFrameId: 1e9 }, { connectionId: { toString: () => 'c' }, firstFrameId: 1, lastFrameId: 1 }]) {
        expect(() => handlers.rawCarriers(bad)).toThrow(/^rawCarriers expects/);
      }
      const answer = handlers.rawCarriers({ connectionId: '__proto__', firstFrameId: 1, lastFrameId: 1 }) as { ok: boolean; error: string };
      expect(answer.ok).toBe(false);
      expect(answer.error).toMatch(/^No socket writes or reads are kept for connection __proto__ /);
    } finally {
      await service.dispose();
    }
  });
});

describe('real traffic: the ws package sends a fragmented message to our server', () => {
  const tracer = new Tracer();
  const store = new RawChunkStore();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => {
    store.observe(e);
    events.push(e);
  });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer });
  let url = '';
  beforeAll(async () => {
    url = (await server.listen()).url;
  });
  afterAll(() => server.close());

  it('every frame of it, and of our echo, is byte-exact in the reads and writes the store kept', async () => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await withTimeout(new Promise((r) => ws.once('open', r)), 5000, 'ws open');
    const echoed = withTimeout(new Promise<string>((r) => ws.once('message', (d) => r(String(d)))), 5000, 'the echo');
    ws.send('Hel', { fin: false });
    ws.send('lo, ', { fin: false });
    ws.send('fragments', { fin: true });
    expect(await echoed).toBe('Hello, fragments');
    ws.close();
    const frames = events.flatMap((e) => (e.type === 'frame' && e.frame.opcode !== 8 ? [e] : []));
    expect(frames.map((e) => e.direction)).toEqual(['in', 'in', 'in', 'out']);
    const id = frames[0]!.connectionId;
    const chunkBytes = (d: Direction) => Buffer.concat(events.flatMap((e) => (e.type === 'bytes' && e.direction === d && e.connectionId === id ? [e.bytes] : [])));

    for (const [first, last, dir] of [[frames[0]!, frames[2]!, 'in'], [frames[3]!, frames[3]!, 'out']] as const) {
      const r = ok(store.carriers({ connectionId: id, firstFrameId: first.frame.frameId, lastFrameId: last.frame.frameId }));
      expect(r.direction).toBe(dir);
      const stream = chunkBytes(dir);
      expect(r.streamBytes).toBe(stream.length);
      for (const span of r.frames) {
        const traced = frames.find((f) => f.frame.frameId === span.frameId)!.frame;
        expect(span.aligned).toBe(true);
        expect(Buffer.from(stream.subarray(span.offset, span.offset + span.length)).equals(Buffer.from(traced.raw))).toBe(true);
        // The runs of this frame across the listed chunks add up to the whole frame, in order.
        const runs = r.chunks.flatMap((c) => c.segments.filter((s) => s.frameId === span.frameId).map((s) => ({ ...s, offset: c.offset + s.at })));
        expect(runs.reduce((n, s) => n + s.length, 0)).toBe(traced.raw.length);
        expect(runs[0]!.offset).toBe(span.offset);
      }
    }
  });
});
