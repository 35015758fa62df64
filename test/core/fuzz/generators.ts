/**
 * fast-check generators and drivers shared by the property tests in this folder: frames of any
 * shape, valid frame streams for either direction, mutations of them, chunkings, and protocol
 * objects that have already completed a valid opening handshake.
 */

import fc from 'fast-check';
import { Opcode } from '../../../src/core/constants.ts';
import { encodeClosePayload, encodeFrame, type FrameSpec } from '../../../src/core/frame-codec.ts';
import { WebSocketProtocol, type ProtocolEvent, type ProtocolOptions } from '../../../src/core/protocol.ts';

/** numRuns scaled by FUZZ_SCALE (default 1: the whole folder stays within a few seconds; try FUZZ_SCALE=50 locally). */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * Number(process.env['FUZZ_SCALE'] ?? 1)));
}

export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

export const clientRequest = latin1(
  'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
);

export const serverResponse = latin1(
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
);

/** Deterministic pseudo-random bytes (xorshift32): large payloads without drawing each byte through fast-check. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Payloads from 0 to `max` bytes, biased towards the length-encoding boundaries of §5.2. */
export function payloadArb(max = 70_000): fc.Arbitrary<Uint8Array> {
  const boundaries = [0, 1, 124, 125, 126, 127, 65_535, 65_536, max].filter((n) => n <= max);
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: Math.min(130, max) }), weight: 5 },
    { arbitrary: fc.tuple(fc.constantFrom(...boundaries), fc.integer()).map(([n, seed]) => seededBytes(n, seed)), weight: 2 },
    { arbitrary: fc.tuple(fc.integer({ min: 0, max }), fc.integer()).map(([n, seed]) => seededBytes(n, seed)), weight: 2 },
  );
}

export const maskKeyArb: fc.Arbitrary<Uint8Array | null> = fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: null });

/** Any frame the encoder can represent: every fin/rsv/opcode, masked or not, any length encoding that fits. */
export const frameSpecArb: fc.Arbitrary<FrameSpec & { payload: Uint8Array; maskKey: Uint8Array | null }> = fc
  .record({
    fin: fc.boolean(), rsv1: fc.boolean(), rsv2: fc.boolean(), rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    maskKey: maskKeyArb,
    payload: payloadArb(),
    lengthEncoding: fc.constantFrom('minimal', 'minimal', 'minimal', '16-bit', '64-bit') as fc.Arbitrary<FrameSpec['lengthEncoding']>,
  })
  .map((spec) => (spec.lengthEncoding === '16-bit' && spec.payload.length > 0xffff ? { ...spec, lengthEncoding: 'minimal' as const } : spec));

// ------------------------------------------------------------------ chunkings

/** How to cut a byte stream into the pieces handed to receiveData / feed. */
export type ChunkPlan = { kind: 'whole' } | { kind: 'points'; points: number[] } | { kind: 'sizes'; sizes: number[] };

export const chunkPlanArb: fc.Arbitrary<ChunkPlan> = fc.oneof(
  fc.constant<ChunkPlan>({ kind: 'whole' }),
  fc.array(fc.nat(), { minLength: 1, maxLength: 12 }).map((points): ChunkPlan => ({ kind: 'points', points })),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }).map((sizes): ChunkPlan => ({ kind: 'sizes', sizes })),
);

/** Cuts bytes by the plan (split points are taken modulo the length; sizes repeat cyclically). */
export function chunk(bytes: Uint8Array, plan: ChunkPlan): Uint8Array[] {
  if (plan.kind === 'whole' || bytes.length === 0) return [bytes];
  const out: Uint8Array[] = [];
  if (plan.kind === 'points') {
    const cuts = [...new Set(plan.points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      out.push(bytes.subarray(at, cut));
      at = cut;
    }
    return out;
  }
  // Cyclic sizes, but never more than ~4096 pieces (a 70 kB payload fed 1 byte at a time is slow and proves nothing new).
  const scale = Math.max(1, Math.ceil(bytes.length / 4096 / (plan.sizes.reduce((a, b) => a + b, 0) / plan.sizes.length)));
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = plan.sizes[i % plan.sizes.length]! * scale;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

// ------------------------------------------------------------------ valid streams

/** One item of a valid stream: a (maybe fragmented) data message, or a ping/pong. */
const streamItemArb = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 60 }), cuts: fc.array(fc.nat(), { maxLength: 3 }), pingBetween: fc.boolean() }),
  fc.record({ kind: fc.constant('binary' as const), data: payloadArb(3000), cuts: fc.array(fc.nat(), { maxLength: 3 }), pingBetween: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('ping' as const, 'pong' as const), data: fc.uint8Array({ maxLength: 125 }) }),
);

const closeArb = fc.option(
  fc.record({ code: fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999), reason: fc.string({ maxLength: 30 }) }),
  { nil: null },
);

export interface ValidStream {
  bytes: Uint8Array;
  /** How many frames it holds. */
  frames: number;
}

/**
 * A valid stream of frames for the endpoint of `receiverRole` to read: masked for a server
 * (§5.1), unmasked for a client. Messages may be fragmented with a ping between fragments
 * (§5.4), and the stream may end with a Close.
 */
export function validStreamArb(receiverRole: 'server' | 'client'): fc.Arbitrary<ValidStream> {
  return fc.record({ items: fc.array(streamItemArb, { minLength: 1, maxLength: 6 }), close: closeArb, maskSeed: fc.integer() }).map(({ items, close, maskSeed }) => {
    let n = 0;
    const keys = seededBytes(4 * 64, maskSeed);
    const parts: Uint8Array[] = [];
    const emit = (spec: FrameSpec) => {
      const maskKey = receiverRole === 'server' ? keys.subarray((n % 64) * 4, (n % 64) * 4 + 4) : null;
      parts.push(encodeFrame({ ...spec, maskKey }));
      n++;
    };
    for (const item of items) {
      if (!('cuts' in item)) {
        emit({ opcode: item.kind === 'ping' ? Opcode.Ping : Opcode.Pong, payload: item.data });
        continue;
      }
      const data = item.kind === 'text' ? new TextEncoder().encode(item.text) : item.data;
      const cuts = [...new Set(item.cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      const pieces: Uint8Array[] = [];
      let at = 0;
      for (const cut of [...cuts, data.length]) {
        pieces.push(data.subarray(at, cut));
        at = cut;
      }
      pieces.forEach((piece, i) => {
        emit({ opcode: i === 0 ? (item.kind === 'text' ? Opcode.Text : Opcode.Binary) : Opcode.Continuation, payload: piece, fin: i === pieces.length - 1 });
        if (item.pingBetween && i < pieces.length - 1) emit({ opcode: Opcode.Ping, payload: new Uint8Array([i]) });
      });
    }
    if (close) emit({ opcode: Opcode.Close, payload: encodeClosePayload(close.code, close.reason.slice(0, 30)) });
    const total = parts.reduce((s, p) => s + p.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    return { bytes, frames: n };
  });
}

// ------------------------------------------------------------------ mutations

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number; to: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7e, 0x7f, 0x80, 0xff, 0xfe, 0x88, 0x0f) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }), to: fc.nat() }), weight: 2 },
);

/** Applies mutations in order; positions are taken modulo the current length. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = input.slice();
  for (const m of mutations) {
    const len = bytes.length;
    if (len === 0 && m.kind !== 'insert') continue;
    const at = m.at % Math.max(1, len);
    switch (m.kind) {
      case 'flip':
        bytes[at] = bytes[at]! ^ (1 << m.bit);
        break;
      case 'set':
        bytes[at] = m.value;
        break;
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'insert': {
        const pos = m.at % (len + 1);
        const out = new Uint8Array(len + m.bytes.length);
        out.set(bytes.subarray(0, pos));
        out.set(m.bytes, pos);
        out.set(bytes.subarray(pos), pos + m.bytes.length);
        bytes = out;
        break;
      }
      case 'delete': {
        const out = new Uint8Array(len - Math.min(m.length, len - at));
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at + m.length), at);
        bytes = out;
        break;
      }
      case 'duplicate': {
        const piece = bytes.slice(at, at + m.length);
        const to = m.to % (len + 1);
        const out = new Uint8Array(len + piece.length);
        out.set(bytes.subarray(0, to));
        out.set(piece, to);
        out.set(bytes.subarray(to), to + piece.length);
        bytes = out;
        break;
      }
    }
  }
  return bytes;
}

const rarely = fc.oneof({ arbitrary: fc.constant(false), weight: 12 }, { arbitrary: fc.constant(true), weight: 1 });

/** Mostly-valid frame fields (known opcodes, RSV clear), so the input gets past the first checks. */
const plausibleSpecArb = fc.record({
  fin: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  rsv1: rarely, rsv2: rarely, rsv3: rarely,
  opcode: fc.oneof({ arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 15 }), weight: 1 }),
  maskKey: maskKeyArb,
  payload: payloadArb(300),
});

/** Random bytes shaped like frames: plausible headers whose declared lengths may lie about the payload. */
export const frameLikeBytesArb: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.record({
      spec: plausibleSpecArb,
      declaredLength: fc.option(fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(65_535, 65_536, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER)), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((frames) => {
    const parts = frames.map(({ spec, declaredLength }) => encodeFrame({ ...spec, ...(declaredLength !== undefined ? { declaredLength, lengthEncoding: 'minimal' } : {}) }));
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });

// ------------------------------------------------------------------ protocols

/** A protocol that has completed a valid opening handshake (events and output drained). */
export function openProtocol(role: 'server' | 'client', options: Partial<ProtocolOptions> = {}): WebSocketProtocol {
  const p = new WebSocketProtocol({ ...options, role, ...(role === 'client' ? { key: RFC_KEY } : {}) });
  if (role === 'client') {
    p.connect();
    p.dataToSend();
    p.receiveData(serverResponse);
  } else {
    p.receiveData(clientRequest);
  }
  const events = p.events();
  p.dataToSend();
  if (p.state !== 'OPEN' || events[0]?.type !== 'open') throw new Error(`handshake did not open: ${p.state} ${JSON.stringify(events.map((e) => e.type))}`);
  return p;
}

/** Events of a type, narrowed. */
export function eventsOf<T extends ProtocolEvent['type']>(events: readonly ProtocolEvent[], type: T): Array<Extract<ProtocolEvent, { type: T }>> {
  return events.filter((e): e is Extract<ProtocolEvent, { type: T }> => e.type === type);
}
