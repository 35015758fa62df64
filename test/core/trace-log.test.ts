import { afterEach, describe, expect, it } from 'vitest';
import { echoComponent } from '../../src/core/apps/index.ts';
import { Opcode } from '../../src/core/constants.ts';
import { connectClient } from '../../src/core/net/client.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { frameFromWire, INLINE_MAX, SEGMENT, TraceLog } from '../../src/core/trace-log.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';
import { converse, normal } from '../support/scripted-conversation.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Real traffic between our client and our echo server, every event kept both as objects and in a TraceLog. */
async function traceTraffic(options: { deflate: boolean; traceBytes: boolean }, send: (conn: Awaited<ReturnType<typeof connectClient>['opened']>) => void, expectMessages: number) {
  const tracer = new Tracer();
  const objects: TraceEvent[] = [];
  const log = new TraceLog();
  tracer.subscribe((e) => {
    objects.push(e);
    log.push(e);
  });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, traceBytes: options.traceBytes, ...(options.deflate ? {} : { deflate: false as const }) });
  const { url } = await server.listen();
  closers.push(() => server.close());
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const client = connectClient(url, { onMessage: () => ++received === expectMessages && done() }, { tracer, traceBytes: options.traceBytes, ...(options.deflate ? {} : { deflate: false as const }) });
  const conn = await client.opened;
  send(conn);
  await all;
  conn.close(1000, 'bye');
  await conn.closed();
  await new Promise((r) => setTimeout(r, 50));
  return { objects, log };
}

describe('TraceLog', () => {
  it('gives back every event of real traffic deep-equal to the objects traced: frames of every length encoding, masked and not, fragmented, text, control, close', async () => {
    const sizes = [0, 1, 125, 126, 127, 1000, 65535, 65536, INLINE_MAX - 8, INLINE_MAX + 1, 200_000];
    const { objects, log } = await traceTraffic({ deflate: false, traceBytes: true }, (conn) => {
      for (const n of sizes) conn.sendBinary(Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff));
      conn.sendText('héllo ✓');
      conn.sendFragmented(Opcode.Text, new TextEncoder().encode('Hello, fragments'), [3, 2, 5]);
      conn.ping(new Uint8Array([1, 2, 3]));
    }, sizes.length + 2);
    expect(objects.length).toBeGreaterThan(4 * (sizes.length + 2));
    expect(log.length).toBe(objects.length);
    expect(normal(log.toArray())).toEqual(normal(objects));
    // One by one too, and out of range is undefined.
    expect(normal(log.at(objects.length - 1))).toEqual(normal(objects.at(-1)));
    expect(log.at(objects.length)).toBeUndefined();
    // Frames, messages and raw chunks are compact; what is left as objects is the rare rest.
    const compactable = objects.filter((e) => (e.type === 'frame' && !e.frame.close) || e.type === 'message' || e.type === 'bytes').length;
    expect(compactable).toBeGreaterThan(objects.length / 2);
    expect(log.objectCount).toBe(objects.length - compactable);
  });

  it('keeps compressed frames and messages (permessage-deflate) as the objects they were, with nothing lost', async () => {
    const { objects, log } = await traceTraffic({ deflate: true, traceBytes: false }, (conn) => {
      conn.sendText('compress me '.repeat(50));
      conn.sendBinary(new Uint8Array(3000).fill(7));
    }, 2);
    expect(objects.some((e) => e.type === 'frame' && e.frame.deflate)).toBe(true);
    expect(normal(log.toArray())).toEqual(normal(objects));
  });

  it('keeps a relayed copy (proxy) compact with its relay, and a frame that does not follow from its bytes as an object', () => {
    const log = new TraceLog();
    const raw = new Uint8Array([0x82, 0x03, 9, 8, 7]);
    const relayed: TraceEvent = {
      type: 'frame', direction: 'out', seq: 7, time: 1234.5678, connectionId: 'up-1',
      frame: { frameId: 3, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 3, payloadLength: 3, headerLength: 2, raw, payload: raw.subarray(2), relay: { from: { connectionId: 'c-1', frameId: 5 }, delayUs: 42 } },
    };
    const partial: TraceEvent = {
      type: 'frame', direction: 'in', seq: 8, time: 1235, connectionId: 'c-1',
      frame: { frameId: 6, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 10, payloadLength: 10, headerLength: 2, raw: raw.subarray(0, 4), payload: new Uint8Array(0), partial: true },
    };
    log.push(relayed);
    log.push(partial);
    expect(log.objectCount).toBe(1);
    expect(normal(log.toArray())).toEqual(normal([relayed, partial]));
    // The bytes were copied: changing the caller's buffer afterwards changes nothing kept.
    raw[2] = 0;
    expect(Array.from((log.at(0) as Extract<TraceEvent, { type: 'frame' }>).frame.payload)).toEqual([9, 8, 7]);
  });

  it('keeps as objects the events whose numbers a 32-bit column cannot hold exactly, and reads every one back as pushed', () => {
    const log = new TraceLog();
    const wire = (id: number) => new Uint8Array([0x82, 0x02, id & 0xff, 1]);
    const frame = (seq: number, frameId: number, relay?: { from: { connectionId: string; frameId: number }; delayUs: number }): TraceEvent => {
      const raw = wire(frameId);
      return {
        type: 'frame', direction: 'out', seq, time: seq / 3, connectionId: 'c',
        frame: { frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 2, payloadLength: 2, headerLength: 2, raw, payload: raw.subarray(2), ...(relay ? { relay } : {}) },
      };
    };
    const message = (seq: number, firstFrameId: number, size: number, data: Uint8Array): TraceEvent => ({
      type: 'message', direction: 'in', seq, time: seq / 7, connectionId: 'c', opcode: 2, size, frameIds: [firstFrameId], data,
    });
    const events: TraceEvent[] = [
      frame(1, 1), // compact: the segment counts seq from 1
      frame(2 ** 31 + 1, 2), // seq 2^31 past the segment's first: an object
      frame(3, 2 ** 31), // frame id above Int32: an object
      frame(4, 5, { from: { connectionId: 'd', frameId: 2 ** 33 }, delayUs: 1 }), // relay's frame id: an object
      frame(5, 6, { from: { connectionId: 'd', frameId: 7 }, delayUs: 2 ** 32 }), // a hold of 71 minutes: an object
      frame(6, 8, { from: { connectionId: 'd', frameId: 7 }, delayUs: 42 }), // compact
      message(7, 3, 5, new Uint8Array([1, 2, 3])), // size other than its bytes' length: an object
      message(8, 4, 3, new Uint8Array([4, 5, 6])), // compact, bytes inline
      frame(9.5, 9), // a seq that is no integer: an object
    ];
    for (const e of events) log.push(e);
    expect(log.objectCount).toBe(7 - 1);
    expect(normal(log.toArray())).toEqual(normal(events));

    // The same through the row listener methods (what subscribeRows sends).
    const rows = new TraceLog();
    const f = (e: TraceEvent) => e as Extract<TraceEvent, { type: 'frame' }>;
    for (const e of events.filter((x) => x.type === 'frame')) rows.frameRow(e.seq, e.time, e.connectionId, e.direction, f(e).frame.frameId, f(e).frame.raw, f(e).frame.payload, f(e).frame.relay);
    rows.messageRow(10, 1.5, 'c', 'in', 2, 2 ** 40, 1, 3, undefined, new Uint8Array([7, 8, 9]));
    rows.messageRow(11, 2.5, 'c', 'in', 1, 12, 2, 9, 'héllo!!', new Uint8Array(0));
    const back = rows.toArray();
    expect(normal(back.slice(0, 7))).toEqual(normal(events.filter((x) => x.type === 'frame')));
    expect(normal(back[7])).toEqual(normal({ type: 'message', direction: 'in', opcode: 2, size: 3, frameIds: [2 ** 40], data: new Uint8Array([7, 8, 9]), seq: 10, time: 1.5, connectionId: 'c' }));
    expect(normal(back[8])).toEqual(normal({ type: 'message', direction: 'in', opcode: 1, size: 9, frameIds: [12, 13], text: 'héllo!!', seq: 11, time: 2.5, connectionId: 'c' }));
    expect(rows.objectCount).toBe(5 + 1);
  });

  it('reads a binary message back from its frames\' rows (masked or not, fragmented) without a second copy, and copies it when they differ', () => {
    const log = new TraceLog();
    let seq = 0;
    const frame = (connectionId: string, frameId: number, opcode: number, fin: boolean, payload: number[], maskKey: number[] | null): TraceEvent => {
      const header = [(fin ? 0x80 : 0) | opcode, (maskKey ? 0x80 : 0) | payload.length, ...(maskKey ?? [])];
      const raw = Uint8Array.from([...header, ...payload.map((b, i) => (maskKey ? b ^ maskKey[i & 3]! : b))]);
      return {
        type: 'frame', direction: maskKey ? 'in' : 'out', seq: ++seq, time: 1000 + seq, connectionId,
        frame: { frameId, fin, rsv1: false, rsv2: false, rsv3: false, opcode, masked: maskKey !== null, maskKey: maskKey ? Uint8Array.from(maskKey) : null, lengthField: payload.length, payloadLength: payload.length, headerLength: header.length, raw, payload: Uint8Array.from(payload) },
      };
    };
    const message = (connectionId: string, frameIds: number[], data: number[], direction: 'in' | 'out'): TraceEvent =>
      ({ type: 'message', direction, seq: ++seq, time: 1000 + seq, connectionId, opcode: 2, size: data.length, frameIds, data: Uint8Array.from(data) });
    const bytes = Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    const events: TraceEvent[] = [
      // Masked, one frame, and an other connection's row between the frame and its message.
      frame('c', 1, 2, true, bytes, [1, 2, 3, 4]), frame('u', 1, 2, true, [5], null), message('c', [1], bytes, 'in'),
      // Unmasked, in three frames (§5.4), with raw chunks between.
      frame('u', 2, 2, false, bytes.slice(0, 10), null), { type: 'bytes', direction: 'out', bytes: Uint8Array.of(7, 7), seq: ++seq, time: 1000 + seq, connectionId: 'u' },
      frame('u', 3, 0, false, bytes.slice(10, 40), null), frame('u', 4, 0, true, bytes.slice(40), null), message('u', [2, 3, 4], bytes, 'out'),
    ];
    for (const e of events) log.push(e);
    const framesOnly = 64 + 6 + 1 + 2 + 10 + 2 + 2 + 30 + 2 + 24 + 2; // and the raw chunk's 2
    expect(log.arenaBytes).toBe(framesOnly);
    expect(normal(log.toArray())).toEqual(normal(events));
    expect(log.objectCount).toBe(0);
    // A message whose bytes are not its frame's payload (or whose frame is not in the log) is copied as it came.
    const other = message('c', [6], bytes.map((b) => b ^ 1), 'out');
    const unseen = message('c', [9], [1, 2, 3], 'in');
    log.push(frame('c', 6, 2, true, bytes, null));
    log.push(other);
    log.push(unseen);
    expect(log.arenaBytes).toBe(framesOnly + 66 + 64 + 3);
    expect(normal(log.toArray())).toEqual(normal([...events, log.at(events.length)!, other, unseen]));
    expect(Array.from((log.at(events.length + 1) as Extract<TraceEvent, { type: 'message' }>).data!)).toEqual(bytes.map((b) => b ^ 1));
  });

  it('is a ring with maxEvents: the oldest segment goes, the newest events stay in order', () => {
    const log = new TraceLog({ maxEvents: SEGMENT * 2 });
    const total = SEGMENT * 5 + 10;
    for (let seq = 1; seq <= total; seq++) log.push({ type: 'note', text: `n${seq}`, seq, time: seq, connectionId: 'c' });
    expect(log.length).toBeGreaterThanOrEqual(SEGMENT * 2);
    expect(log.length).toBeLessThanOrEqual(SEGMENT * 3);
    expect(log.dropped + log.length).toBe(total);
    expect(log.pushed).toBe(total);
    const kept = log.toArray();
    expect(kept.at(-1)!.seq).toBe(total);
    expect(kept[0]!.seq).toBe(log.dropped + 1);
    expect(kept.every((e, i) => i === 0 || e.seq === kept[i - 1]!.seq + 1)).toBe(true);
    log.clear();
    expect(log.length).toBe(0);
    expect(log.dropped).toBe(total);
  });

  it('keeps frames intact across segments whose sizes change (each arena sized from the last one\'s bytes, grown when traffic grows)', () => {
    const log = new TraceLog();
    /** An unmasked binary frame (§5.2) with `n` payload bytes, each its row's number. */
    const frame = (n: number, id: number): Uint8Array => {
      const header = n < 126 ? [0x82, n] : [0x82, 126, n >> 8, n & 0xff];
      return Uint8Array.from([...header, ...new Array<number>(n).fill(id & 0xff)]);
    };
    // Tiny frames, then frames near INLINE_MAX (the arena sized from tiny ones must grow), then notes only
    // (a segment with no bytes), then tiny frames again.
    const sizes = [...Array<number>(SEGMENT).fill(1), ...Array<number>(SEGMENT).fill(INLINE_MAX - 4), ...Array<number>(SEGMENT).fill(-1), ...Array<number>(SEGMENT).fill(3)];
    let inline = 0;
    sizes.forEach((n, k) => {
      if (n < 0) return log.push({ type: 'note', text: `n${k}`, seq: k, time: k, connectionId: 'c' });
      const raw = frame(n, k);
      inline += raw.length;
      log.frameRow(k, k, 'c', 'in', k, raw, raw.subarray(raw.length - n));
    });
    expect(log.length).toBe(sizes.length);
    expect(log.arenaBytes).toBe(inline);
    for (const k of [0, SEGMENT - 1, SEGMENT, SEGMENT * 2 - 1, SEGMENT * 2 + 5, SEGMENT * 3, sizes.length - 1]) {
      const event = log.at(k)!;
      expect(event.seq).toBe(k);
      if (sizes[k]! < 0) expect(event).toMatchObject({ type: 'note', text: `n${k}` });
      else if (event.type !== 'frame') throw new Error(`row ${k} read back as ${event.type}`);
      else expect(normal(event.frame.raw)).toEqual(normal(frame(sizes[k]!, k)));
    }
  });
});

describe('TraceLog as a row listener (tracer.subscribeRows): plain frames and messages come as rows, no event objects', () => {
  const timeless = (events: TraceEvent[]) => (normal(events) as Array<Record<string, unknown>>).map(({ time: _t, ...rest }) => rest);

  it('reads back every event deep-equal to the objects the same conversation traces, and builds objects only for the rest', () => {
    const objects: TraceEvent[] = [];
    converse((tracer) => tracer.subscribe((e) => objects.push(e)));
    const log = new TraceLog();
    converse((tracer) => tracer.subscribeRows(log));
    expect(log.length).toBe(objects.length);
    expect(timeless(log.toArray())).toEqual(timeless(objects));
    // Rows: frames with nothing but their bytes to say, messages of consecutive frames. Objects:
    // the handshake, states, closes, the message split by a ping, the crafted frame.
    const plain = objects.filter((e) => (e.type === 'frame' && !e.frame.close && e.frame.raw.length === e.frame.headerLength + e.frame.payloadLength)
      || (e.type === 'message' && e.frameIds.every((id, k) => id === e.frameIds[0]! + k)));
    expect(plain.length).toBeGreaterThan(40);
    expect(log.objectCount).toBe(objects.length - plain.length);
  });

  it('takes raw chunks as rows when it has bytesRow, and as the same events when it has not', () => {
    const objects: TraceEvent[] = [];
    converse((tracer) => tracer.subscribe((e) => objects.push(e)), { traceBytes: true });
    const chunks = objects.filter((e) => e.type === 'bytes');
    expect(chunks.length).toBeGreaterThan(20);
    // A TraceLog has no bytesRow: the chunks reach push() as the events the object path traces.
    const log = new TraceLog();
    converse((tracer) => tracer.subscribeRows(log), { traceBytes: true });
    expect(timeless(log.toArray())).toEqual(timeless(objects));
    // A listener with bytesRow gets them as values, no event built: the same seq, direction and bytes.
    const rows: Array<{ seq: number; connectionId: string; direction: string; hex: string }> = [];
    const pushed: TraceEvent[] = [];
    converse((tracer) => tracer.subscribeRows({
      push: (e) => pushed.push(e), frameRow: () => {}, messageRow: () => {},
      bytesRow: (seq, _time, connectionId, direction, bytes) => rows.push({ seq, connectionId, direction, hex: Buffer.from(bytes).toString('hex') }),
    }), { traceBytes: true });
    expect(pushed.some((e) => e.type === 'bytes')).toBe(false);
    expect(rows).toEqual(chunks.map((e) => ({ seq: e.seq, connectionId: e.connectionId, direction: e.direction, hex: Buffer.from(e.bytes).toString('hex') })));
  });

  it('stamps a message traced right after its last frame with that frame\'s time, and any other with a clock read of its own', () => {
    for (const asRows of [false, true]) {
      const tracer = new Tracer();
      const log = new TraceLog();
      const objects: TraceEvent[] = [];
      if (asRows) tracer.subscribeRows(log);
      else tracer.subscribe((e) => objects.push(e));
      const sink = tracer.forConnection('c');
      const other = tracer.forConnection('d');
      const raw = (id: number) => Uint8Array.of(0x82, 0x02, id, 9);
      const frame = (s: typeof sink, id: number) => {
        if (asRows) s.rows!.frame('in', id, raw(id), raw(id).subarray(2));
        else s({ type: 'frame', direction: 'in', frame: { frameId: id, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 2, payloadLength: 2, headerLength: 2, raw: raw(id), payload: raw(id).subarray(2) } });
      };
      const message = (s: typeof sink, first: number, count: number) => {
        if (asRows) s.rows!.message('in', 2, first, count, undefined, raw(first + count - 1).subarray(2), true);
        else s({ type: 'message', direction: 'in', opcode: 2, size: 2, frameIds: Array.from({ length: count }, (_, k) => first + k), data: raw(first + count - 1).subarray(2) });
      };
      const spin = () => { const t = performance.now(); while (performance.now() - t < 0.05); }; // the clock moves on
      frame(sink, 1); spin(); message(sink, 1, 1); // right after its frame: its time
      frame(sink, 2); spin(); frame(other, 1); spin(); message(sink, 2, 1); // another connection's frame in between
      frame(sink, 3); spin(); message(sink, 2, 2); // frames 2-3: its last frame is the one just stamped
      frame(sink, 4); spin(); message(sink, 5, 1); // not the frame just stamped
      const events = asRows ? log.toArray() : objects;
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const t = events.map((e) => e.time);
      expect(t[1], 'message 1').toBe(t[0]);
      expect(t[4], 'message 2 after another connection\'s frame').toBeGreaterThan(t[3]!);
      expect(t[6], 'message 2-3').toBe(t[5]);
      expect(t[8], 'a message whose last frame is not the one just stamped').toBeGreaterThan(t[7]!);
    }
  });

  it('stamps a message body that comes without frame ids (an emitter outside the protocol) with a clock read, not a throw', () => {
    const tracer = new Tracer();
    const seen: TraceEvent[] = [];
    tracer.subscribe((e) => seen.push(e));
    const body = { type: 'message', direction: 'in', opcode: 2, size: 0, data: new Uint8Array(0) } as unknown as Parameters<Tracer['emit']>[1];
    expect(() => tracer.emit('c', body)).not.toThrow();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.time).toBeGreaterThan(0);
  });

  it('keeps a binary message of one frame, traced right after it, in that frame\'s row, and reads both back as traced', () => {
    const log = new TraceLog({ maxEvents: 3 * SEGMENT });
    const tracer = new Tracer();
    tracer.subscribeRows(log);
    const key = Uint8Array.of(1, 2, 3, 4);
    const plainOf = (id: number, n: number) => Uint8Array.from(Array.from({ length: n }, (_, k) => (id + k) & 0xff));
    const masked = (id: number, n: number) => Uint8Array.from([0x82, 0x80 | n, ...key, ...plainOf(id, n).map((b, k) => b ^ key[k & 3]!)]);
    // What each call traces, as the objects the rows stand for (seq counted here; times left out).
    const expected: TraceEvent[] = [];
    let seq = 0;
    const trace = (connectionId: string, direction: 'in' | 'out', frameId: number, raw: Uint8Array, payload: Uint8Array, text?: string) => {
      const rows = tracer.forConnection(connectionId).rows!;
      rows.frame(direction, frameId, raw, payload);
      rows.message(direction, raw[0]! & 0x0f, frameId, 1, text, payload, true);
      expected.push({ type: 'frame', direction, frame: frameFromWire(frameId, raw, payload), seq: ++seq, time: 0, connectionId });
      const body = text !== undefined ? { text } : { data: payload };
      expected.push({ type: 'message', direction, opcode: raw[0]! & 0x0f, size: payload.length, frameIds: [frameId], ...body, seq: ++seq, time: 0, connectionId });
    };
    for (let m = 1; m <= 4 * SEGMENT; m++) {
      if (m % 11 === 0) {
        // A text message: its string needs a row of its own.
        const raw = Uint8Array.of(0x81, 2, 0x68, 0x69);
        trace('c', 'out', m, raw, raw.subarray(2), 'hi');
      } else if (m % 7 === 0) {
        // Above INLINE_MAX, kept by reference: its message keeps a row of its own.
        const raw = Uint8Array.from([0x82, 126, 5000 >> 8, 5000 & 0xff, ...plainOf(m, 5000)]);
        trace('c', 'out', m, raw, raw.subarray(4));
      } else {
        trace('s', 'in', m, masked(m, m % 3), plainOf(m, m % 3));
      }
    }
    expect(log.rowCount).toBeLessThan(log.length);
    // The ring holds about 3 segments' worth of events: the oldest went a segment at a time.
    expect(log.length + log.dropped).toBe(8 * SEGMENT);
    expect(log.length).toBeGreaterThanOrEqual(3 * SEGMENT);
    const kept = expected.slice(expected.length - log.length);
    expect(timeless(log.toArray())).toEqual(timeless(kept));
    for (const k of [0, 1, 2, 3, 500, log.length - 2, log.length - 1]) expect(timeless([log.at(k)!]), `at(${k})`).toEqual(timeless([kept[k]!]));
    expect(log.at(log.length)).toBeUndefined();
    // Every message was traced right after its frame: it has the frame's time, read back from a row of its own or not.
    const back = log.toArray();
    for (let k = 1; k < back.length; k++) if (back[k]!.type === 'message') expect(back[k]!.time, `event ${k}`).toBe(back[k - 1]!.time);
    // Only the text and by-reference messages have rows of their own.
    const ownRows = kept.filter((e) => e.type === 'message' && (e.text !== undefined || e.size === 5000)).length;
    expect(log.rowCount).toBe(log.length - (kept.filter((e) => e.type === 'message').length - ownRows));
  });

  it('folds a message whose caller does not vouch for its bytes only when they are its frame\'s payload, compared', () => {
    const log = new TraceLog();
    const tracer = new Tracer();
    tracer.subscribeRows(log);
    const rows = tracer.forConnection('c').rows!;
    const key = Uint8Array.of(9, 8, 7, 6);
    const raw = Uint8Array.from([0x82, 0x83, ...key, 1 ^ 9, 2 ^ 8, 3 ^ 7]);
    rows.frame('in', 1, raw, Uint8Array.of(1, 2, 3));
    rows.message('in', 2, 1, 1, undefined, Uint8Array.of(1, 2, 3)); // the same bytes: folded
    rows.frame('in', 2, raw, Uint8Array.of(1, 2, 3));
    rows.message('in', 2, 2, 1, undefined, Uint8Array.of(1, 2, 4)); // other bytes (a fault changed the wire, say): a row of its own
    expect(log.length).toBe(4);
    expect(log.rowCount).toBe(3);
    const back = log.toArray() as Array<Extract<TraceEvent, { type: 'message' }>>;
    expect(Array.from(back[1]!.data!)).toEqual([1, 2, 3]);
    expect(Array.from(back[3]!.data!)).toEqual([1, 2, 4]);
  });

  it('goes back to objects while any listener takes objects, and to rows once it leaves', () => {
    const tracer = new Tracer();
    const log = new TraceLog();
    tracer.subscribeRows(log);
    expect(tracer.rowsOnly).toBe(true);
    const seen: TraceEvent[] = [];
    const leave = tracer.subscribe((e) => seen.push(e));
    expect(tracer.rowsOnly).toBe(false);
    const rows = tracer.forConnection('c').rows!;
    expect(rows.ready).toBe(false);
    leave();
    expect(rows.ready).toBe(true);
    const raw = Uint8Array.of(0x82, 0x02, 7, 9);
    rows.frame('out', 1, raw, raw.subarray(2));
    rows.message('out', Opcode.Binary, 1, 1, undefined, raw.subarray(2));
    expect(seen).toEqual([]);
    expect(normal(log.toArray().map(({ time: _t, ...e }) => e))).toEqual(normal([
      { type: 'frame', direction: 'out', frame: { frameId: 1, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, maskKey: null, lengthField: 2, payloadLength: 2, headerLength: 2, raw, payload: raw.subarray(2) }, seq: 1, connectionId: 'c' },
      { type: 'message', direction: 'out', opcode: 2, size: 2, frameIds: [1], data: raw.subarray(2), seq: 2, connectionId: 'c' },
    ]));
  });
});
