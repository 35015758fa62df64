/**
 * The binary batch (src/shared/trace-batch.ts, trace-batch-encode.ts): what the service encodes
 * the page decodes into the same events, for every event type of src/core/trace.ts; bytes that
 * follow from others are not sent twice; a cut or garbled batch is a BatchDecodeError, never a
 * crash of another kind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { TraceBody, TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import type { ServiceBatch } from '../../src/shared/inspector-api.ts';
import { BATCH_VERSION, BatchDecodeError, BatchRecordReader, decodeBatch, decodeBatchText, eventCount, eventsOf, MAX_RECORD_BYTES } from '../../src/shared/trace-batch.ts';
import { encodeBatch, encodeBatchRecord, encodeBatchText, TraceBatchBuilder } from '../../src/shared/trace-batch-encode.ts';
import { Tracer } from '../../src/core/trace.ts';
import { converse, normal } from '../support/scripted-conversation.ts';

/** Plain objects only (fast-check may make null-prototype ones; the page's JSON never does). */
const rec = ((model: never) => fc.record(model, { noNullPrototype: true })) as typeof fc.record;
const bytes = (max = 200) => fc.uint8Array({ maxLength: max });
const key = fc.uint8Array({ minLength: 4, maxLength: 4 });
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constant('héllo ✓ 🎉'), fc.constant('\uFEFF starts with a BOM'));

/** A frame as the protocol traces it: raw is the frame on the wire, payload its body unmasked (or cut, or garbled). */
const frame = rec({
  frameId: fc.nat(), fin: fc.boolean(), rsv1: fc.boolean(), rsv2: fc.boolean(), rsv3: fc.boolean(), opcode: fc.integer({ min: 0, max: 15 }),
  maskKey: fc.option(key, { nil: null }), payload: bytes(), shape: fc.constantFrom('whole', 'cut', 'other-payload', 'partial', 'relay', 'close', 'violation'),
  other: bytes(20),
}).map((g): TracedFrame => {
  const raw = new Uint8Array(encodeFrame({ opcode: g.opcode, fin: g.fin, rsv1: g.rsv1, rsv2: g.rsv2, rsv3: g.rsv3, payload: g.payload, maskKey: g.maskKey }));
  const headerLength = raw.length - g.payload.length;
  const f: TracedFrame = {
    frameId: g.frameId, fin: g.fin, rsv1: g.rsv1, rsv2: g.rsv2, rsv3: g.rsv3, opcode: g.opcode, masked: g.maskKey !== null,
    maskKey: g.maskKey ? new Uint8Array(g.maskKey) : null, lengthField: raw[1]! & 0x7f, payloadLength: g.payload.length, headerLength, raw, payload: new Uint8Array(g.payload),
  };
  if (g.shape === 'cut') {
    const cut = Math.floor(g.payload.length / 2);
    return { ...f, raw: raw.slice(0, headerLength + cut), payload: f.payload.slice(0, cut), truncated: { rawLength: raw.length, payloadLength: g.payload.length } };
  }
  if (g.shape === 'other-payload') return { ...f, payload: g.other };
  if (g.shape === 'partial') return { ...f, raw: raw.slice(0, Math.max(1, raw.length - 3)), partial: true };
  if (g.shape === 'relay') return { ...f, relay: { from: { connectionId: 'leg-b', frameId: 7 }, delayUs: 12.5 } };
  if (g.shape === 'close') return { ...f, close: { code: 1000, reason: 'bye ✓' } };
  if (g.shape === 'violation') return { ...f, violation: { code: 'reserved-opcode' as never, closeCode: 1002, message: 'm', rfcSection: '5.2', rule: 'r' } };
  return f;
});

const head = rec({ kind: fc.constantFrom('request' as const, 'response' as const), startLine: text, headers: fc.array(rec({ name: text, value: text }), { maxLength: 3 }), raw: bytes() });

const body = fc.oneof(
  rec({ type: fc.constant('connection-opened' as const), role: fc.constantFrom('server' as const, 'client' as const), local: text, remote: text, url: text }),
  rec({ type: fc.constant('bytes' as const), direction: fc.constantFrom('in' as const, 'out' as const), bytes: bytes() }),
  rec({ type: fc.constant('http-head' as const), direction: fc.constantFrom('in' as const, 'out' as const), head }),
  rec({ type: fc.constant('tls' as const), tls: fc.constant({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' } as never) }),
  rec({ type: fc.constant('handshake' as const), side: fc.constantFrom('server' as const, 'client' as const), ok: fc.boolean(), status: fc.nat(), checks: fc.constant([] as never[]), accept: fc.constant(null), subprotocol: fc.option(text, { nil: null }) }),
  rec({ type: fc.constant('frame' as const), direction: fc.constantFrom('in' as const, 'out' as const), frame }),
  rec({ type: fc.constant('frame' as const), direction: fc.constantFrom('in' as const, 'out' as const), frame }),
  rec({ type: fc.constant('message' as const), direction: fc.constantFrom('in' as const, 'out' as const), opcode: fc.constant(1), size: fc.nat(), text, frameIds: fc.array(fc.nat(), { maxLength: 4 }) }),
  rec({ type: fc.constant('message' as const), direction: fc.constantFrom('in' as const, 'out' as const), opcode: fc.constant(2), size: fc.nat(), data: bytes(), frameIds: fc.array(fc.nat(), { maxLength: 4 }), truncated: fc.constant(true) }),
  rec({
    type: fc.constant('message' as const), direction: fc.constant('in' as const), opcode: fc.constant(2), size: fc.nat(), data: bytes(), frameIds: fc.constant([1]),
    compression: rec({ extension: fc.constant('permessage-deflate' as const), compressed: bytes(), compressedSize: fc.nat(), ratio: fc.constant(null), tail: fc.constant('appended' as const), contextTakeover: fc.boolean(), windowMessages: fc.nat(), windowReason: text, windowBits: fc.constant(15) }),
  }),
  rec({ type: fc.constant('state' as const), from: fc.constant('OPEN' as const), to: fc.constant('CLOSING' as const), reason: text }),
  rec({ type: fc.constant('violation' as const), direction: fc.constant('in' as const), frameId: fc.nat(), violation: fc.constant({ code: 'bad-utf8' as never, closeCode: 1007, message: 'm', rfcSection: '8.1', rule: 'r' }), observed: fc.boolean() }),
  rec({ type: fc.constant('connection-closed' as const), wasClean: fc.boolean(), code: fc.nat(), reason: text, detail: text }),
  rec({ type: fc.constant('error' as const), message: text }),
  rec({ type: fc.constant('note' as const), text }),
) as unknown as fc.Arbitrary<TraceBody>;

const event: fc.Arbitrary<TraceEvent> = fc.tuple(body, fc.nat(), fc.double({ noNaN: true, min: 0, max: 2e12 }), fc.constantFrom('c1', 'c2', 'ü-conn')).map(([b, seq, time, connectionId]) => ({ ...b, seq, time, connectionId }) as TraceEvent);

/** A message traced right after its one frame, as the protocol does: its bytes are that frame's payload. */
const frameAndMessage = fc.tuple(frame, fc.boolean(), fc.nat()).map(([f, asText, seq]): TraceEvent[] => {
  const stamp = { seq, time: 1, connectionId: 'c1' };
  const payload = asText ? new TextEncoder().encode('∂ text ✓') : f.payload;
  const base = { ...f, payload, partial: undefined, truncated: undefined, violation: undefined, close: undefined, relay: undefined, edited: undefined };
  const clean = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as unknown as TracedFrame;
  clean.raw = new Uint8Array(encodeFrame({ opcode: f.opcode, payload, maskKey: f.maskKey }));
  clean.headerLength = clean.raw.length - payload.length;
  clean.lengthField = clean.raw[1]! & 0x7f;
  clean.payloadLength = payload.length;
  const message = asText
    ? { type: 'message' as const, direction: 'in' as const, opcode: 1, size: payload.length, frameIds: [f.frameId], text: '∂ text ✓', ...stamp }
    : { type: 'message' as const, direction: 'in' as const, opcode: 2, size: payload.length, frameIds: [f.frameId], data: payload, ...stamp };
  return [{ type: 'frame', direction: 'in', frame: clean, ...stamp }, message];
});

describe('binary batch', () => {
  it('round-trips every event type (random bytes, empty arrays, non-ASCII and lone-surrogate text) with the batch fields', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 30 }), fc.option(fc.nat(), { nil: undefined }), (events, dropped) => {
      const batch: ServiceBatch = { events, seq: 3, stream: 1, ...(dropped !== undefined ? { dropped } : {}) };
      const back = decodeBatchText(encodeBatchText(batch));
      expect(back).toStrictEqual(batch);
    }), { numRuns: 300 });
  });

  it('keeps a text message\'s leading U+FEFF (a BOM is the message\'s data, not a marker to drop)', () => {
    const message: TraceEvent = { type: 'message', direction: 'in', opcode: 1, size: 5, frameIds: [1], text: '\uFEFFhi', seq: 1, time: 1, connectionId: 'c1' };
    const back = decodeBatch(encodeBatch({ events: [message] })).events[0] as Extract<TraceEvent, { type: 'message' }>;
    expect([...back.text!].map((c) => c.codePointAt(0)!.toString(16))).toEqual(['feff', '68', '69']);
  });

  it('round-trips an empty batch with a status', () => {
    const batch = { events: [], status: { connections: [], server: { running: false } } } as unknown as ServiceBatch;
    expect(decodeBatchText(encodeBatchText(batch))).toStrictEqual(batch);
  });

  it('sends a frame\'s payload once when it follows from the wire bytes, and a one-frame message\'s bytes not again', () => {
    fc.assert(fc.property(frameAndMessage, (events) => {
      const batch: ServiceBatch = { events };
      const encoded = encodeBatch(batch);
      expect(decodeBatch(encoded)).toStrictEqual(batch);
      const f = (events[0] as Extract<TraceEvent, { type: 'frame' }>).frame;
      // The slab holds the wire bytes (or the header and payload), nothing more.
      expect(slabLength(encoded)).toBe(f.raw.length);
    }), { numRuns: 200 });
  });

  it('encodes a traced echo of many frames smaller than wire JSON would, and reads it back', async () => {
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.subscribe((e) => events.push(e));
    for (let i = 0; i < 100; i++) {
      const payload = new Uint8Array(64).fill(i);
      const maskKey = new Uint8Array([1, 2, 3, i]);
      const raw = new Uint8Array(encodeFrame({ opcode: 2, payload, maskKey }));
      tracer.emit('c', { type: 'frame', direction: 'in', frame: { frameId: i, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: true, maskKey, lengthField: 64, payloadLength: 64, headerLength: 6, raw, payload } });
      tracer.emit('c', { type: 'message', direction: 'in', opcode: 2, size: 64, frameIds: [i], data: payload });
    }
    const batch: ServiceBatch = { events };
    const encoded = encodeBatch(batch);
    expect(decodeBatch(encoded)).toStrictEqual(batch);
    // 100 × (6 header + 64 payload) bytes in the slab, plus rows; wire JSON repeats each 64 B three times in base64.
    expect(slabLength(encoded)).toBe(100 * 70);
  });

  it('refuses a cut batch at every length with a BatchDecodeError', () => {
    const events = fc.sample(event, { numRuns: 40, seed: 17 });
    const encoded = encodeBatch({ events, seq: 1 });
    for (let n = 0; n < encoded.length; n++) {
      expect(() => decodeBatch(encoded.subarray(0, n)), `cut at ${n}`).toThrow(BatchDecodeError);
    }
  });

  it('reads a garbled batch back or refuses it with a BatchDecodeError, never another error', () => {
    const encoded = encodeBatch({ events: fc.sample(event, { numRuns: 40, seed: 5 }) });
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(encoded.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
      const garbled = new Uint8Array(encoded);
      for (const [at, value] of flips) garbled[at] = value;
      try {
        const batch = decodeBatch(garbled);
        expect(Array.isArray(batch.events)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(BatchDecodeError);
        expect((error as Error).message).toMatch(/^Unreadable event batch: /);
      }
    }), { numRuns: 500 });
  });

  it('refuses another version, bad base64 and a rebuilt-bytes count past the slab', () => {
    const encoded = encodeBatch({ events: [] });
    const other = new Uint8Array(encoded);
    other[0] = BATCH_VERSION + 1;
    expect(() => decodeBatch(other)).toThrow(/version 2, this page reads 1/);
    expect(() => decodeBatchText('not base64!')).toThrow(BatchDecodeError);
    const huge = new Uint8Array(encoded);
    new DataView(huge.buffer).setUint32(huge.length - 4, 0xffffffff, true);
    expect(() => decodeBatch(huge)).toThrow(/rebuilt bytes declared/);
  });
});

describe('TraceBatchBuilder: events encoded as they are traced (the service\'s path)', () => {
  it('gives back every event added as an object, and encodes to what the same events encode to', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 30 }), (events) => {
      const builder = new TraceBatchBuilder();
      for (const e of events) builder.add(e);
      expect(builder.count).toBe(events.length);
      const trace = builder.take();
      expect(builder.count).toBe(0);
      expect(trace.frames).toBe(events.filter((e) => e.type === 'frame').length);
      expect(trace.messages).toBe(events.filter((e) => e.type === 'message').length);
      const batch: ServiceBatch = { events: [], trace, seq: 2 };
      expect(eventCount(batch)).toBe(events.length);
      expect(eventsOf(batch)).toStrictEqual(events);
      expect(decodeBatch(encodeBatch(batch))).toStrictEqual({ events, seq: 2 });
      expect(Buffer.from(encodeBatch(batch)).equals(Buffer.from(encodeBatch({ events, seq: 2 })))).toBe(true);
    }), { numRuns: 300 });
  });

  it('lends its buffers until reclaimed: events added meanwhile go elsewhere; after reclaim the batch cannot be read', () => {
    const builder = new TraceBatchBuilder();
    const raw = new Uint8Array([0x82, 0x02, 7, 8]);
    builder.frameRow(1, 10, 'c', 'in', 1, raw, raw.subarray(2));
    const first = builder.take();
    // An event traced while the batch's listeners run (lent): the batch keeps its own bytes.
    builder.frameRow(2, 11, 'd', 'out', 2, new Uint8Array([0x81, 0x01, 0x41]), new Uint8Array([0x41]));
    const firstEvents = eventsOf({ events: [], trace: first });
    expect(firstEvents).toHaveLength(1);
    expect(firstEvents[0]).toMatchObject({ type: 'frame', direction: 'in', seq: 1, connectionId: 'c', frame: { frameId: 1, opcode: 2, payloadLength: 2 } });
    expect(Array.from((firstEvents[0] as Extract<TraceEvent, { type: 'frame' }>).frame.payload)).toEqual([7, 8]);
    builder.reclaim(first);
    expect(() => eventsOf({ events: [], trace: first })).toThrow(/read after its listeners returned/);
    expect(() => encodeBatch({ events: [], trace: first })).toThrow(/read after its listeners returned/);
    // Reclaimed with nothing written meanwhile: the next batch is written over the same buffers.
    const second = builder.take();
    expect(eventsOf({ events: [], trace: second })[0]).toMatchObject({ seq: 2, connectionId: 'd', direction: 'out' });
    builder.reclaim(second);
    builder.frameRow(3, 12, 'e', 'in', 3, raw, raw.subarray(2));
    const third = builder.take();
    expect(third.slab.buffer).toBe(second.slab.buffer);
    expect(eventsOf({ events: [], trace: third })[0]).toMatchObject({ seq: 3, connectionId: 'e' });
  });

  it('gives a flood\'s grown buffers back once a batch uses a small part of them', () => {
    const builder = new TraceBatchBuilder();
    const big = new Uint8Array(64 * 1024).fill(1);
    const raw = new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0, ...big]);
    for (let i = 0; i < 400; i++) builder.frameRow(i + 1, i, 'c', 'in', i + 1, raw, raw.subarray(10));
    const flood = builder.take();
    expect(flood.slab.length).toBeGreaterThan(400 * 64 * 1024);
    builder.reclaim(flood);
    const small = new Uint8Array([0x82, 0x01, 9]);
    builder.frameRow(401, 1, 'c', 'in', 401, small, small.subarray(2));
    const quiet = builder.take();
    // Still written in the grown buffers (lent again), then given back.
    expect(quiet.slab.buffer.byteLength).toBeGreaterThan(16 * 1024 * 1024);
    builder.reclaim(quiet);
    builder.frameRow(402, 2, 'c', 'in', 402, small, small.subarray(2));
    const after = builder.take();
    expect(after.slab.buffer.byteLength).toBeLessThanOrEqual(1024 * 1024);
    expect(eventsOf({ events: [], trace: after })[0]).toMatchObject({ seq: 402, frame: { payloadLength: 1 } });
  });

  it('reads a conversation traced as rows back deep-equal to the same conversation traced as objects', () => {
    const objects: TraceEvent[] = [];
    converse((tracer) => tracer.subscribe((e) => objects.push(e)));
    const builder = new TraceBatchBuilder();
    let rows = 0;
    converse((tracer) => tracer.subscribeRows({
      push: (e) => builder.add(e),
      frameRow: (...args) => {
        rows++;
        builder.frameRow(...args);
      },
      // With the protocol's payloadsOfFrames: the builder then trusts it rather than comparing bytes.
      messageRow: (...args) => {
        rows++;
        builder.messageRow(...args);
      },
    }));
    const back = eventsOf({ events: [], trace: builder.take() });
    const timeless = (events: TraceEvent[]) => events.map(({ time: _t, ...rest }) => normal(rest));
    expect(rows).toBeGreaterThan(30);
    expect(back).toHaveLength(objects.length);
    expect(timeless(back)).toEqual(timeless(objects));
  });
});

describe('the web host\'s stream of batch records', () => {
  it('gives back every batch whole, however the bytes are split', () => {
    const batches: ServiceBatch[] = [0, 1, 2].map((k) => ({ events: fc.sample(event, { numRuns: 10, seed: k }), seq: k + 1 }));
    const stream = Buffer.concat(batches.map((b) => encodeBatchRecord(b)));
    for (const step of [1, 3, 7, 64, 1000, stream.length]) {
      const reader = new BatchRecordReader();
      const back: ServiceBatch[] = [];
      for (let at = 0; at < stream.length; at += step) for (const r of reader.push(stream.subarray(at, at + step))) back.push(decodeBatch(r));
      expect(back, `split every ${step} bytes`).toStrictEqual(batches);
    }
  });

  it('refuses a record that claims more than a batch may hold', () => {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, MAX_RECORD_BYTES + 1, true);
    expect(() => new BatchRecordReader().push(head)).toThrow(BatchDecodeError);
  });
});

/** The slab's byte count, read from the counts after the header. */
function slabLength(encoded: Uint8Array): number {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const headerLength = view.getUint32(1, true);
  return view.getUint32(1 + 4 + headerLength + 8, true);
}
