/**
 * The binary batch: how the service's batches (ServiceBatch) travel to the page, in Electron's IPC
 * and in the web host's event stream (issue 17). Wire JSON with base64 bytes cost more per event
 * than a whole ws echo (every frame's raw, payload and masking key encoded, the message's bytes
 * again, then parsed on the page): here a frame or a message is a row of numbers and its bytes sit
 * once in one slab. Everything else (rare events, the status, folds…) rides as wire JSON in the
 * header. This file is the format and the page's decoder; the encoder is trace-batch-encode.ts.
 *
 * Layout (little-endian; every length and offset checked on decode):
 *
 *   u8  version (BATCH_VERSION)
 *   u32 header length H, then H bytes of UTF-8 wire JSON: { b: the batch without events,
 *       c: connection ids, o: the events kept as objects }
 *   u32 events, u32 row bytes R, u32 slab bytes S, u32 derived bytes D
 *   R bytes of rows, one per event in order, then S bytes of slab
 *
 *   object row:  u8 0, u32 index into o
 *   frame row:   u8 1, u8 flags, u8 mode, u8 opcode, u8 lengthField, u16 headerLength,
 *                f64 seq, f64 time, u32 connection, f64 frameId, f64 payloadLength,
 *                [4 bytes masking key if masked], u32 raw offset, u32 raw length,
 *                [u32 payload offset, u32 payload length: mode Explicit or RawFromPayload],
 *                [f64 rawLength, f64 payloadLength: truncated], [u32 connection, f64 frameId, f64 delayUs: relay]
 *   message row: u8 2, u8 flags, u8 opcode, f64 seq, f64 time, u32 connection, f64 size,
 *                u32 frame count, f64 per frame id, u32 bytes offset, u32 bytes length
 *
 * Payload bytes are not sent twice when they follow from the wire bytes (RFC 6455 §5.3: the
 * payload is the wire body unmasked): mode PayloadInRaw (an unmasked frame: the payload is the
 * raw bytes after the header) or RawFromPayload (a masked frame: only its header is in the slab,
 * the body is the payload masked again with the frame's key; D counts these rebuilt bytes). A
 * message's bytes may point at its frame's payload in the slab.
 */

import type { ServiceBatch } from './inspector-api.ts';
import type { Direction, TraceEvent, TracedFrame } from '../core/trace.ts';
import { decodeBase64Into, decodeWireJson } from './wire-json.ts';

export const BATCH_VERSION = 1;

export const RowKind = { Object: 0, Frame: 1, Message: 2 } as const;

export const FrameFlag = { Out: 1, Fin: 2, Rsv1: 4, Rsv2: 8, Rsv3: 16, Masked: 32, Partial: 64, Relay: 128 } as const;

/** Where a frame's payload comes from. Truncated frames set TruncatedBit on top. */
export const PayloadMode = { Explicit: 0, PayloadInRaw: 1, RawFromPayload: 2, TruncatedBit: 8 } as const;

export const MessageFlag = { Out: 1, Text: 2, Truncated: 4 } as const;

/** The fixed part of the batch after the header: events, row bytes, slab bytes, derived bytes. */
export const COUNTS_BYTES = 16;

/**
 * A batch's events already encoded as rows, as the service builds them while they are traced
 * (TraceBatchBuilder in trace-batch-encode.ts): the rows and slab of the layout above, the
 * connection ids the rows name, and the events kept as objects (RowKind.Object) as they were.
 * A ServiceBatch carrying these (`trace`) has them instead of `events`: eventsOf() reads them back.
 */
export interface EncodedEvents {
  /** Events in all, rows and objects. */
  readonly count: number;
  /** Of which frames (rows and objects): what frame folding counts. */
  readonly frames: number;
  /** And messages (rows and objects). */
  readonly messages: number;
  readonly rows: Uint8Array;
  readonly slab: Uint8Array;
  /** Bytes the decoder rebuilds (masked frames sent as header and payload). */
  readonly derived: number;
  readonly conns: readonly string[];
  readonly objects: readonly TraceEvent[];
  /**
   * The builder lent its own buffers for the batch's listeners (no copy) and has reclaimed them:
   * they hold other events now, and reading these throws (assertNotSpent).
   */
  readonly spent?: boolean;
}

/** Throws when a batch's encoded events are read after the builder reclaimed their buffers. */
export function assertNotSpent(trace: EncodedEvents): void {
  if (trace.spent) throw new Error('A batch\'s encoded events were read after its listeners returned: read them (eventsOf, encodeBatch) in the listener.');
}

/** A batch's events, whichever way it carries them: as objects, or encoded (`trace`), read back here. */
export function eventsOf(batch: Pick<ServiceBatch, 'events' | 'trace'>): TraceEvent[] {
  const trace = batch.trace;
  if (!trace) return batch.events;
  assertNotSpent(trace);
  // Copies, in plain Uint8Arrays (the service's rows and slab are node Buffers, whose slice() is a view).
  const events = decodeEvents(trace.count, new Uint8Array(trace.rows), new Uint8Array(trace.slab), trace.derived, trace.conns, trace.objects);
  return batch.events.length === 0 ? events : [...events, ...batch.events];
}

/** How many events a batch carries (without reading encoded ones back). */
export function eventCount(batch: Pick<ServiceBatch, 'events' | 'trace'>): number {
  return batch.events.length + (batch.trace?.count ?? 0);
}

/** A batch the page could not read: truncated, garbled or of another version. One line, no stack needed. */
export class BatchDecodeError extends Error {
  constructor(message: string) {
    super(`Unreadable event batch: ${message}`);
    this.name = 'BatchDecodeError';
  }
}

/** The most one batch record may claim (a page never buffers more for one batch). */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/**
 * The web host's event stream (GET /api/events, application/octet-stream): batches one after the
 * other, each a u32 little-endian byte count and the binary batch. Bytes go in as they arrive (any
 * split); every complete batch comes out. A count past MAX_RECORD_BYTES is a BatchDecodeError.
 */
export class BatchRecordReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const head = this.take(4, false);
      const length = (head[0]! | (head[1]! << 8) | (head[2]! << 16)) + head[3]! * 0x1000000;
      if (length > MAX_RECORD_BYTES) throw new BatchDecodeError(`a batch of ${length} bytes (at most ${MAX_RECORD_BYTES})`);
      if (this.buffered < 4 + length) return out;
      this.take(4, true);
      out.push(this.take(length, true));
    }
  }

  /** The next n buffered bytes (one copy only when they span chunks); consumed when `consume`. */
  private take(n: number, consume: boolean): Uint8Array {
    const first = this.chunks[0]!;
    let bytes: Uint8Array;
    if (first.length >= n) bytes = first.subarray(0, n);
    else {
      bytes = new Uint8Array(n);
      let at = 0;
      for (const c of this.chunks) {
        const part = c.subarray(0, n - at);
        bytes.set(part, at);
        at += part.length;
        if (at === n) break;
      }
    }
    if (consume) {
      let left = n;
      while (left > 0) {
        const c = this.chunks[0]!;
        if (c.length <= left) {
          this.chunks.shift();
          left -= c.length;
        } else {
          this.chunks[0] = c.subarray(left);
          left = 0;
        }
      }
      this.buffered -= n;
    }
    return bytes;
  }
}

/** Batch text (base64 of the binary batch), for a carrier that takes only text. */
export function decodeBatchText(text: string): ServiceBatch {
  if (typeof text !== 'string') throw new BatchDecodeError('not text');
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  let bytes: Uint8Array;
  try {
    if (fromBase64) bytes = fromBase64(text);
    else {
      const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
      if (text.length % 4 !== 0) throw new Error('length is not a multiple of 4');
      bytes = new Uint8Array((text.length / 4) * 3 - padding);
      decodeBase64Into(text, bytes);
    }
  } catch (error) {
    throw new BatchDecodeError(`bad base64 (${(error as Error).message})`);
  }
  return decodeBatch(bytes);
}

// ignoreBOM: a text message that starts with U+FEFF keeps it (it is the message's data, §5.6).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads a binary batch back into the ServiceBatch the service made; BatchDecodeError when it cannot. */
export function decodeBatch(bytes: Uint8Array): ServiceBatch {
  // Views of a plain Uint8Array whatever came in (a node Buffer's subarrays would be Buffers).
  const r = new Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const version = r.u8();
  if (version !== BATCH_VERSION) throw new BatchDecodeError(`version ${version}, this page reads ${BATCH_VERSION}`);
  const headerLength = r.u32();
  const headerBytes = r.bytes(headerLength);
  let header: { b?: unknown; c?: unknown; o?: unknown };
  try {
    header = decodeWireJson(utf8.decode(headerBytes));
  } catch (error) {
    throw new BatchDecodeError(`bad header (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object') throw new BatchDecodeError('header is not an object');
  const { b, c: conns, o: objects } = header;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new BatchDecodeError('header has no batch');
  if (!Array.isArray(conns) || !conns.every((id) => typeof id === 'string')) throw new BatchDecodeError('bad connection ids');
  if (!Array.isArray(objects)) throw new BatchDecodeError('bad object events');
  const count = r.u32();
  const rowBytes = r.u32();
  const slabBytes = r.u32();
  const derivedBytes = r.u32();
  const rows = r.bytes(rowBytes);
  // The slab in a buffer of its own: the frames the page keeps hold views of it, and the batch's
  // rows and header (about 110 B per frame kept) must not stay alive with them.
  const slab = r.bytes(slabBytes).slice();
  if (r.remaining !== 0) throw new BatchDecodeError(`${r.remaining} bytes after the slab`);
  const events = decodeEvents(count, rows, slab, derivedBytes, conns as string[], objects as unknown[]);
  return { ...(b as Omit<ServiceBatch, 'events'>), events };
}

/**
 * The events of `count` rows (the layout above) whose bytes lie in `slab` (frames keep views of
 * it), `derivedBytes` of them rebuilt; objects as the header's `o` holds them. BatchDecodeError
 * when the rows do not add up.
 */
export function decodeEvents(count: number, rowBytes: Uint8Array, slab: Uint8Array, derivedBytes: number, conns: readonly string[], objects: readonly unknown[]): TraceEvent[] {
  const rows = new Reader(rowBytes);
  if (count > rowBytes.length) throw new BatchDecodeError('more events than row bytes');
  // Every rebuilt frame's header and payload lie in the slab, each copied once: never more than it holds.
  if (derivedBytes > slab.length) throw new BatchDecodeError(`${derivedBytes} rebuilt bytes declared for a ${slab.length}-byte slab`);
  const derived = new Uint8Array(derivedBytes);
  let derivedUsed = 0;
  const conn = (index: number): string => {
    if (index >= conns.length) throw new BatchDecodeError(`connection ${index} of ${conns.length}`);
    return conns[index] as string;
  };
  const range = (offset: number, length: number): Uint8Array => {
    if (offset + length > slab.length) throw new BatchDecodeError(`bytes ${offset}+${length} past the slab (${slab.length})`);
    return slab.subarray(offset, offset + length);
  };
  const events: TraceEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = rows.u8();
    if (kind === RowKind.Object) {
      const index = rows.u32();
      const event = objects[index] as unknown;
      if (index >= objects.length || event === null || typeof event !== 'object' || typeof (event as { type?: unknown }).type !== 'string') throw new BatchDecodeError(`event ${i}: bad object ${index}`);
      events[i] = event as TraceEvent;
    } else if (kind === RowKind.Frame) {
      const flags = rows.u8();
      const mode = rows.u8();
      const opcode = rows.u8();
      const lengthField = rows.u8();
      const headerLength = rows.u16();
      const seq = rows.f64();
      const time = rows.f64();
      const connectionId = conn(rows.u32());
      const frameId = rows.f64();
      const payloadLength = rows.f64();
      const masked = (flags & FrameFlag.Masked) !== 0;
      const maskKey = masked ? rows.bytes(4).slice() : null;
      const rawStored = range(rows.u32(), rows.u32());
      const source = mode & ~PayloadMode.TruncatedBit;
      let raw: Uint8Array;
      let payload: Uint8Array;
      if (source === PayloadMode.PayloadInRaw) {
        if (headerLength > rawStored.length) throw new BatchDecodeError(`event ${i}: header past the wire bytes`);
        raw = rawStored;
        payload = rawStored.subarray(headerLength);
      } else if (source === PayloadMode.Explicit || source === PayloadMode.RawFromPayload) {
        payload = range(rows.u32(), rows.u32());
        if (source === PayloadMode.Explicit) raw = rawStored;
        else {
          // §5.3: the wire body is the payload masked with the frame's key.
          if (!maskKey || rawStored.length !== headerLength) throw new BatchDecodeError(`event ${i}: rebuilt frame without its key or header`);
          const total = headerLength + payload.length;
          if (derivedUsed + total > derived.length) throw new BatchDecodeError(`event ${i}: rebuilt bytes past the declared ${derived.length}`);
          raw = derived.subarray(derivedUsed, derivedUsed + total);
          derivedUsed += total;
          raw.set(rawStored);
          for (let k = 0; k < payload.length; k++) raw[headerLength + k] = payload[k]! ^ maskKey[k & 3]!;
        }
      } else throw new BatchDecodeError(`event ${i}: payload mode ${mode}`);
      const frame: TracedFrame = {
        frameId, fin: (flags & FrameFlag.Fin) !== 0, rsv1: (flags & FrameFlag.Rsv1) !== 0, rsv2: (flags & FrameFlag.Rsv2) !== 0, rsv3: (flags & FrameFlag.Rsv3) !== 0,
        opcode, masked, maskKey, lengthField, payloadLength, headerLength, raw, payload,
      };
      if (flags & FrameFlag.Partial) frame.partial = true;
      if (mode & PayloadMode.TruncatedBit) frame.truncated = { rawLength: rows.f64(), payloadLength: rows.f64() };
      if (flags & FrameFlag.Relay) {
        const from = conn(rows.u32());
        frame.relay = { from: { connectionId: from, frameId: rows.f64() }, delayUs: rows.f64() };
      }
      const direction: Direction = flags & FrameFlag.Out ? 'out' : 'in';
      events[i] = { type: 'frame', direction, frame, seq, time, connectionId };
    } else if (kind === RowKind.Message) {
      const flags = rows.u8();
      const opcode = rows.u8();
      const seq = rows.f64();
      const time = rows.f64();
      const connectionId = conn(rows.u32());
      const size = rows.f64();
      const frames = rows.u32();
      if (frames * 8 > rows.remaining) throw new BatchDecodeError(`event ${i}: ${frames} frame ids past the rows`);
      const frameIds: number[] = new Array(frames);
      for (let k = 0; k < frames; k++) frameIds[k] = rows.f64();
      const body = range(rows.u32(), rows.u32());
      const direction: Direction = flags & MessageFlag.Out ? 'out' : 'in';
      const event: TraceEvent = flags & MessageFlag.Text
        ? { type: 'message', direction, opcode, size, frameIds, text: decodeText(body, i), seq, time, connectionId }
        : { type: 'message', direction, opcode, size, frameIds, data: body, seq, time, connectionId };
      if (flags & MessageFlag.Truncated) (event as { truncated?: boolean }).truncated = true;
      events[i] = event;
    } else throw new BatchDecodeError(`event ${i}: row kind ${kind}`);
  }
  if (rows.remaining !== 0) throw new BatchDecodeError(`${rows.remaining} row bytes left over`);
  if (derivedUsed !== derived.length) throw new BatchDecodeError(`${derived.length - derivedUsed} rebuilt bytes declared and not used`);
  return events;
}

function decodeText(bytes: Uint8Array, index: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BatchDecodeError(`event ${index}: message text is not UTF-8`);
  }
}

/** Bounds-checked little-endian reads. */
class Reader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  private need(n: number): number {
    const at = this.at;
    if (at + n > this.buf.length) throw new BatchDecodeError(`cut short (${n} bytes wanted at ${at} of ${this.buf.length})`);
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  f64(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
}
