/**
 * The store of raw socket writes and reads (src/service/raw-chunks.ts): which writes/reads carried
 * which frames' bytes (a frame split across writes, several frames in one read, the HTTP head
 * sharing a read with a frame), its byte budgets per connection and in total (oldest dropped and
 * counted), hostile requests refused; then real traffic: the ws package sending a fragmented
 * message to our server, every frame found byte-exact in the reads the store kept.
 */
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
import { ReferenceRawChunkStore } from '../support/raw-chunks-reference.ts';

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

describe('the same answers as the store before its columns rewrite (test/support/raw-chunks-reference.ts)', () => {
  type Op =
    | { kind: 'chunk'; conn: number; out: boolean; length: number; fill: number; viaEvent: boolean }
    | { kind: 'frame'; conn: number; out: boolean; length: number; first: number; viaEvent: boolean }
    | { kind: 'head'; conn: number; out: boolean; length: number }
    | { kind: 'forget'; conn: number }
    | { kind: 'carriers'; conn: number; recent: boolean; back: number; span: number };
  const conn = fc.integer({ min: 0, max: 4 });
  // Chunk sizes mostly small (many per slab, several frames per chunk), sometimes past keepPerChunk or the budget.
  const size = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 80 }) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 700 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6000 }) });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 18, arbitrary: fc.record({ kind: fc.constant('chunk' as const), conn, out: fc.boolean(), length: size, fill: fc.integer({ min: 0, max: 2 }), viaEvent: fc.boolean() }) },
    { weight: 15, arbitrary: fc.record({ kind: fc.constant('frame' as const), conn, out: fc.boolean(), length: size, first: fc.constantFrom(-1, 0x81, 0x82, 0x00), viaEvent: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('head' as const), conn, out: fc.boolean(), length: fc.integer({ min: 0, max: 300 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), conn }) },
    { weight: 9, arbitrary: fc.record({ kind: fc.constant('carriers' as const), conn, recent: fc.boolean(), back: fc.integer({ min: 0, max: 40 }), span: fc.integer({ min: 0, max: 80 }) }) },
  );
  const options = fc.record({
    perConnectionBytes: fc.constantFrom(1024, 3000, 8192, 30_000),
    totalFactor: fc.constantFrom(1, 1.5, 2.5, 6),
    keepPerChunk: fc.constantFrom(16, 100, 700, 4096),
    maxConnections: fc.integer({ min: 1, max: 6 }),
  });

  type Stores = readonly [RawChunkStore, ReferenceRawChunkStore];
  interface Run {
    stores: Stores;
    frameId: number;
    seq: number;
    framesOf: Map<string, number[]>;
    lastId: string;
  }
  const start = (settings: ConstructorParameters<typeof RawChunkStore>[0]): Run =>
    ({ stores: [new RawChunkStore(settings), new ReferenceRawChunkStore(settings)], frameId: 0, seq: 0, framesOf: new Map(), lastId: 'c0' });

  /** Makes the same call on both stores; a carriers() request's answers must be alike. */
  function apply(run: Run, x: Op, step: number): void {
    const { stores } = run;
    // A request asks about the connection last written to half the time (it is more likely still kept).
    const id = x.kind === 'carriers' && x.recent ? run.lastId : `c${x.conn}`;
    run.lastId = id;
    const direction: Direction = 'out' in x && x.out ? 'out' : 'in';
    if (x.kind === 'chunk') {
      // Bytes from a small alphabet, so frames' first bytes line up with them now and then.
      const b = new Uint8Array(x.length).map((_, i) => [0x81, 0x82, 0x00][(i * (x.fill + 1) + step) % 3]!);
      const s = ++run.seq;
      for (const store of stores) {
        if (x.viaEvent) store.observe({ type: 'bytes', direction, bytes: b, seq: s, time: s * 10, connectionId: id } as TraceEvent);
        else store.addChunk(id, direction, b, s, s * 10);
      }
    } else if (x.kind === 'frame') {
      const f = ++run.frameId;
      const mine = run.framesOf.get(id) ?? [];
      mine.push(f);
      run.framesOf.set(id, mine);
      const raw = x.first < 0 ? new Uint8Array(0) : Uint8Array.of(x.first);
      // As an event, the frame's length is its truncated.rawLength and its first byte raw[0] (-1 when empty).
      const event = { type: 'frame', direction, frame: { frameId: f, raw, truncated: { rawLength: x.length } } as TracedFrame, seq: ++run.seq, time: 0, connectionId: id } as TraceEvent;
      for (const store of stores) {
        if (x.viaEvent) store.observe(event);
        else store.frameAt(id, direction, f, x.length, x.first);
      }
    } else if (x.kind === 'head') {
      for (const store of stores) store.observe(head(id, direction, x.length));
    } else if (x.kind === 'forget') {
      for (const store of stores) store.forget(id);
    } else {
      // Mostly a frame of this connection, some way back; else one it never had.
      const mine = run.framesOf.get(id) ?? [];
      const first = mine.length > 0 && x.back < 36 ? mine[Math.max(0, mine.length - 1 - x.back)]! : Math.max(1, run.frameId - x.back);
      const request = { connectionId: id, firstFrameId: first, lastFrameId: first + x.span };
      expect(stores[0].carriers(request)).toEqual(stores[1].carriers(request));
    }
  }

  function expectSameAccounts({ stores }: Run): void {
    expect(stores[0].usage()).toEqual(stores[1].usage());
    expect(stores[0].forgottenConnections).toBe(stores[1].forgottenConnections);
    for (let c = 0; c < 5; c++) expect(stores[0].connectionUsage(`c${c}`)).toBe(stores[1].connectionUsage(`c${c}`));
  }

  /** Each connection's last 40 frames, each asked alone. */
  function expectSameLastFrames({ stores, framesOf }: Run): void {
    for (let c = 0; c < 5; c++) {
      for (const f of (framesOf.get(`c${c}`) ?? []).slice(-40)) {
        const request = { connectionId: `c${c}`, firstFrameId: f, lastFrameId: f };
        expect(stores[0].carriers(request)).toEqual(stores[1].carriers(request));
      }
    }
  }

  it('every carriers() answer, usage() and connectionUsage() alike over random calls with small budgets (eviction, forgetting)', () => {
    fc.assert(
      fc.property(options, fc.array(op, { minLength: 20, maxLength: 400, size: 'max' }), (o, ops) => {
        const run = start({ perConnectionBytes: o.perConnectionBytes, totalBytes: o.perConnectionBytes * o.totalFactor, keepPerChunk: o.keepPerChunk, maxConnections: o.maxConnections });
        for (const [step, x] of ops.entries()) {
          apply(run, x, step);
          expectSameAccounts(run);
        }
        expectSameLastFrames(run);
      }),
      { numRuns: 100 },
    );
  });

  it('alike over 30,000 small calls, long enough for the global order to be swept again and again', () => {
    // Phases of 3000 calls: one connection alone (its own budget drops its chunks, their entries in
    // the global order go stale behind older chunks of the others, and get swept), then all four
    // (the total budget drops the oldest of any connection, through the swept order).
    const random = prng(17);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const run = start({ perConnectionBytes: 4096, totalBytes: 10_000, keepPerChunk: 100, maxConnections: 4 });
    for (let step = 0; step < 30_000; step++) {
      const conn = Math.floor(step / 3000) % 2 === 0 ? 0 : Math.floor(random() * 4);
      const out = random() < 0.5;
      const r = random();
      const x: Op = r < 0.45 ? { kind: 'chunk', conn, out, length: 1 + Math.floor(random() * 160), fill: step % 3, viaEvent: false }
        : r < 0.9 ? { kind: 'frame', conn, out, length: 1 + Math.floor(random() * 60), first: pick([-1, 0x81, 0x82, 0]), viaEvent: false }
        : r < 0.901 ? { kind: 'forget', conn }
        : r < 0.91 ? { kind: 'head', conn, out, length: Math.floor(random() * 200) }
        : { kind: 'carriers', conn, recent: random() < 0.5, back: Math.floor(random() * 40), span: Math.floor(random() * 20) };
      apply(run, x, step);
      if (step % 50 === 0) expectSameAccounts(run);
    }
    expectSameAccounts(run);
    expectSameLastFrames(run);
  });
});

describe('forgetting connections frees their bytes (hostile churn)', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  it('a forgotten connection\'s kept bytes are collectable at once, though the global order still names it', async () => {
    // Many small live chunks keep the order's sweep far off (it sweeps when stale entries outnumber live ones).
    const store = new RawChunkStore({ totalBytes: 4 * 1024 * 1024 });
    for (let c = 0; c < 20; c++) for (let i = 0; i < 500; i++) store.addChunk(`small-${c}`, 'in', Uint8Array.of(i & 0xff), i, i);
    const refs: Array<WeakRef<ArrayBuffer>> = [];
    (function churn() {
      for (let c = 0; c < 5; c++) {
        const id = `big-${c}`;
        for (let i = 0; i < 8; i++) store.addChunk(id, 'out', new Uint8Array(16 * 1024).fill(c), i, i);
        // White-box: the slabs this connection's chunks were copied into.
        const chunks = (store as unknown as { connections: Map<string, { out: { chunks: { slab: Array<{ bytes: Uint8Array } | null> } } }> }).connections.get(id)!.out.chunks;
        for (const slab of chunks.slab) if (slab) refs.push(new WeakRef(slab.bytes.buffer as ArrayBuffer));
        store.forget(id);
      }
    })();
    expect(refs.length).toBeGreaterThanOrEqual(5);
    let alive = refs.length;
    for (let turn = 0; turn < 5 && alive > 0; turn++) {
      await new Promise((r) => setTimeout(r, turn * 20));
      gc();
      gc();
      alive = refs.filter((r) => r.deref() !== undefined).length;
    }
    expect(alive).toBe(0);
    expect(store.usage().connections).toBe(20);
  });

  it('sweeps the global order after a bounded number of forgotten connections, however many live chunks there are', () => {
    const store = new RawChunkStore({ totalBytes: 64 * 1024 * 1024 });
    for (let c = 0; c < 10; c++) for (let i = 0; i < 2000; i++) store.addChunk(`live-${c}`, 'in', Uint8Array.of(1), i, i);
    for (let c = 0; c < 5000; c++) {
      store.addChunk(`churn-${c}`, 'in', Uint8Array.of(2), c, c);
      store.forget(`churn-${c}`);
    }
    // White-box: the entries of forgotten connections left in the order, and the distinct connections they name.
    const order = (store as unknown as { order: { owner: Array<{ kept: boolean } | null> } }).order;
    const forgotten = new Set(order.owner.filter((o) => o !== null && !o.kept));
    expect(forgotten.size).toBeLessThanOrEqual(256);
    expect(store.usage()).toMatchObject({ chunks: 20_000, connections: 10 });
  });
});
