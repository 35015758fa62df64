/**
 * Encodes a ServiceBatch as the binary batch of trace-batch.ts (the format, and why). Runs where
 * the batches are made (Electron's main process, the web host, the benchmarks): it uses node's
 * Buffer for its native copies, comparisons, UTF-8 and base64, so the per-event work stays a row
 * of numbers and a memcpy. The page only decodes (trace-batch.ts).
 *
 * A frame or message whose fields the row cannot hold exactly (a violation, a close, an edit,
 * deflate, a 64-bit length past 2^53, text that is not well-formed UTF-16…) goes as an object in
 * the header's wire JSON: every event comes back deep-equal to the one encoded.
 */

import type { ServiceBatch } from './inspector-api.ts';
import { messageFromRow, type Direction, type TraceEvent, type TracedFrame, type TracedRelay } from '../core/trace.ts';
import { applyMaskInPlace } from '../core/bytes.ts';
import { encodeWireJson } from './wire-json.ts';
import { assertNotSpent, BATCH_VERSION, COUNTS_BYTES, eventsOf, FrameFlag, MessageFlag, PayloadMode, RowKind, type EncodedEvents } from './trace-batch.ts';

/** What the encoder needs of node's Buffer (looked up at run time: src/shared is typed for the page too). */
interface NodeBuffer extends Uint8Array {
  compare(target: Uint8Array, targetStart: number, targetEnd: number, sourceStart: number, sourceEnd: number): number;
  write(text: string, offset: number, length: number, encoding: 'utf8'): number;
  toString(encoding?: 'base64'): string;
}
interface NodeBufferClass {
  allocUnsafe(size: number): NodeBuffer;
  byteLength(text: string, encoding: 'utf8'): number;
}

function nodeBuffer(): NodeBufferClass {
  const found = (globalThis as { Buffer?: NodeBufferClass }).Buffer;
  if (!found) throw new Error('encodeBatch runs in node (the page only decodes batches)');
  return found;
}

type MessageEvent = Extract<TraceEvent, { type: 'message' }>;
type FrameEvent = Extract<TraceEvent, { type: 'frame' }>;

/** The row and slab buffers' first sizes, and the size past which a builder gives grown ones back. */
const ROWS_START = 64 * 1024;
const SLAB_START = 256 * 1024;
const KEEP_MAX = 16 * 1024 * 1024;

/** Events a builder lent (take), until reclaimed. */
interface LentEvents extends EncodedEvents {
  spent: boolean;
}

/** Row bytes of a frame at most (every optional part present). */
const FRAME_ROW_MAX = 1 + 6 + 8 + 8 + 4 + 8 + 8 + 4 + 8 + 8 + 16 + 20;

class BatchEncoder {
  private readonly B = nodeBuffer();
  private rows: NodeBuffer = this.B.allocUnsafe(ROWS_START);
  private rowView = new DataView(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength);
  private slab: NodeBuffer = this.B.allocUnsafe(SLAB_START);
  private r = 0;
  private s = 0;
  private derived = 0;
  private conns: string[] = [];
  private connIndex = new Map<string, number>();
  private lastConnId = '';
  private lastConn = -1;
  private objects: TraceEvent[] = [];
  /** The last frame row: a message of that one frame may point at its payload instead of a copy. */
  private lastFrame = { conn: -1, out: false, frameId: -1, payloadAt: 0, payloadLength: -1, payload: null as Uint8Array | null };

  private count = 0;
  private frames = 0;
  private messages = 0;
  /** The events take() handed over in this encoder's buffers, until reclaimed. */
  private lent: LentEvents | null = null;

  /** Starts an empty set of events. */
  reset(): void {
    this.r = 0;
    this.s = 0;
    this.derived = 0;
    this.conns = [];
    this.connIndex = new Map();
    this.lastConn = -1;
    this.objects = [];
    this.lastFrame.conn = -1;
    this.count = 0;
    this.frames = 0;
    this.messages = 0;
  }

  get events(): number {
    return this.count;
  }

  /** Appends an event: a row when its fields fit one exactly, else the object itself. */
  add(event: TraceEvent): void {
    if (this.lent) this.unlend();
    this.ensureRows(FRAME_ROW_MAX + 8 * (event.type === 'message' ? event.frameIds.length : 0));
    const start = this.r;
    const s = this.s;
    const derived = this.derived;
    const done = event.type === 'frame' ? this.frame(event) : event.type === 'message' ? this.message(event) : false;
    if (!done) {
      this.r = start;
      this.s = s;
      this.derived = derived;
      this.object(event);
    }
    this.count++;
    if (event.type === 'frame') this.frames++;
    else if (event.type === 'message') this.messages++;
  }

  /**
   * Appends a frame traced as a row (TraceRowListener.frameRow): `raw` its whole wire bytes, every
   * header field read from them (§5.2), `payload` its unmasked payload. The row is the one add()
   * makes of the event such a row stands for (frameFromWire in core/trace-log.ts). A row's payload
   * is its wire body unmasked (the row's contract, which TraceLog relies on too: it keeps the wire
   * bytes alone), so the body is not compared with it here as add() compares an event's.
   */
  frameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    if (this.lent) this.unlend();
    this.ensureRows(FRAME_ROW_MAX);
    const b0 = raw[0]!;
    const b1 = raw[1]!;
    const masked = (b1 & 0x80) !== 0;
    const lengthField = b1 & 0x7f;
    const h = 2 + (lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0) + (masked ? 4 : 0);
    const flags = (direction === 'out' ? FrameFlag.Out : 0) | (b0 & 0x80 ? FrameFlag.Fin : 0) | (b0 & 0x40 ? FrameFlag.Rsv1 : 0) | (b0 & 0x20 ? FrameFlag.Rsv2 : 0)
      | (b0 & 0x10 ? FrameFlag.Rsv3 : 0) | (masked ? FrameFlag.Masked : 0) | (relay ? FrameFlag.Relay : 0);
    this.writeFrame(flags, b0 & 0x0f, lengthField, h, seq, time, this.conn(connectionId), frameId, raw.length - h, raw, payload, masked ? raw : null, h - 4, undefined, relay, true);
    this.count++;
    this.frames++;
  }

  /**
   * Appends a message traced as a row (TraceRowListener.messageRow): frameCount frames numbered
   * from firstFrameId, its text (a text message) or its bytes. The row add() makes of that event.
   * payloadsOfFrames (TraceRowListener.messageRow): data is exactly those frames' payloads, so a
   * binary message of the frame just written points at its payload without comparing the bytes.
   */
  messageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    if (this.lent) this.unlend();
    this.ensureRows(FRAME_ROW_MAX + 8 * frameCount);
    if (!isByte(opcode) || (text !== undefined && !(text as string & { isWellFormed(): boolean }).isWellFormed())) {
      this.object(messageFromRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data));
    } else {
      const conn = this.conn(connectionId);
      const out = direction === 'out';
      this.u8(RowKind.Message);
      this.u8((out ? MessageFlag.Out : 0) | (text !== undefined ? MessageFlag.Text : 0));
      this.u8(opcode);
      this.f64(seq);
      this.f64(time);
      this.u32(conn);
      this.f64(size);
      this.u32(frameCount);
      for (let k = 0; k < frameCount; k++) this.f64(firstFrameId + k);
      this.messageBytes(conn, out, frameCount === 1, firstFrameId, text, data, payloadsOfFrames);
    }
    this.count++;
    this.messages++;
  }

  /**
   * The events so far, lent in the buffers they were written to (views, no copy) until
   * reclaim(): then the next events are written over them, as the one-shot encoder's are. An event
   * added while they are lent goes to fresh buffers, and the lent ones stay the batch's.
   */
  take(): EncodedEvents {
    const taken: LentEvents = {
      count: this.count, frames: this.frames, messages: this.messages, rows: this.rows.subarray(0, this.r), slab: this.slab.subarray(0, this.s),
      derived: this.derived, conns: this.conns, objects: this.objects, spent: false,
    };
    this.reset();
    this.lent = taken;
    return taken;
  }

  /** The batch `taken` was for is done with (its listeners returned): its buffers are written again, and reading it throws. */
  reclaim(taken: EncodedEvents): void {
    (taken as LentEvents).spent = true;
    if (this.lent !== taken) return;
    this.lent = null;
    // A flood's batch grew the buffers: back to their first size once a batch uses a small part of them.
    if (this.slab.length > KEEP_MAX && taken.slab.length * 4 < this.slab.length) this.slab = this.B.allocUnsafe(SLAB_START);
    if (this.rows.length > KEEP_MAX && taken.rows.length * 4 < this.rows.length) {
      this.rows = this.B.allocUnsafe(ROWS_START);
      this.rowView = new DataView(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength);
    }
  }

  /** Before writing while a batch holds the buffers: fresh ones of the first sizes (nothing written yet to carry over; they grow as needed). */
  private unlend(): void {
    this.lent = null;
    this.rows = this.B.allocUnsafe(ROWS_START);
    this.rowView = new DataView(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength);
    this.slab = this.B.allocUnsafe(SLAB_START);
  }

  /**
   * The encoded batch in a buffer of its own (not zero-filled first: every byte is written),
   * after `prefix` bytes left for the caller (the stream record's length). Events the batch
   * carries already encoded (`trace`) are taken as they are.
   */
  encode(batch: ServiceBatch, prefix = 0): NodeBuffer {
    let encoded: Omit<EncodedEvents, 'frames' | 'messages'>;
    if (batch.trace) assertNotSpent(batch.trace);
    if (batch.trace && batch.events.length === 0) encoded = batch.trace;
    else {
      this.reset();
      const events = batch.trace ? eventsOf(batch) : batch.events;
      for (let i = 0; i < events.length; i++) this.add(events[i]!);
      encoded = { count: this.count, rows: this.rows.subarray(0, this.r), slab: this.slab.subarray(0, this.s), derived: this.derived, conns: this.conns, objects: this.objects };
    }
    const { events: _events, trace: _trace, ...rest } = batch;
    const json = encodeWireJson({ b: rest, c: encoded.conns, o: encoded.objects });
    const headerLength = this.B.byteLength(json, 'utf8');
    const rows = encoded.rows;
    const slab = encoded.slab;
    const total = prefix + 1 + 4 + headerLength + COUNTS_BYTES + rows.length + slab.length;
    const out = this.B.allocUnsafe(total);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let at = prefix;
    out[at++] = BATCH_VERSION;
    view.setUint32(at, headerLength, true);
    at += 4;
    at += out.write(json, at, headerLength, 'utf8');
    view.setUint32(at, encoded.count, true);
    view.setUint32(at + 4, rows.length, true);
    view.setUint32(at + 8, slab.length, true);
    view.setUint32(at + 12, encoded.derived, true);
    at += COUNTS_BYTES;
    out.set(rows, at);
    out.set(slab, at + rows.length);
    return out;
  }

  private object(event: TraceEvent): void {
    this.u8(RowKind.Object);
    this.u32(this.objects.length);
    this.objects.push(event);
  }

  private frame(event: FrameEvent): boolean {
    const f: TracedFrame = event.frame;
    if (f.violation || f.edited || f.close || f.deflate || f.payloadLengthExact !== undefined) return false;
    if ((f.partial !== undefined && f.partial !== true)) return false;
    const masked = f.masked;
    const key = f.maskKey;
    if (masked ? !(key instanceof Uint8Array) || key.length !== 4 : key !== null) return false;
    const h = f.headerLength;
    const raw = f.raw;
    if (!isByte(f.opcode) || !isByte(f.lengthField) || !Number.isInteger(h) || h < 0 || h > 0xffff || h > raw.length) return false;
    if (typeof f.fin !== 'boolean' || typeof f.rsv1 !== 'boolean' || typeof f.rsv2 !== 'boolean' || typeof f.rsv3 !== 'boolean' || typeof masked !== 'boolean') return false;
    const flags = (event.direction === 'out' ? FrameFlag.Out : 0) | (f.fin ? FrameFlag.Fin : 0) | (f.rsv1 ? FrameFlag.Rsv1 : 0) | (f.rsv2 ? FrameFlag.Rsv2 : 0) | (f.rsv3 ? FrameFlag.Rsv3 : 0)
      | (masked ? FrameFlag.Masked : 0) | (f.partial ? FrameFlag.Partial : 0) | (f.relay ? FrameFlag.Relay : 0);
    this.writeFrame(flags, f.opcode, f.lengthField, h, event.seq, event.time, this.conn(event.connectionId), f.frameId, f.payloadLength, raw, f.payload, masked ? key : null, 0, f.truncated, f.relay);
    return true;
  }

  /** A frame's row; `key` holds its masking key at keyAt (null: not masked). */
  private writeFrame(
    flags: number, opcode: number, lengthField: number, h: number, seq: number, time: number, conn: number, frameId: number, payloadLength: number,
    raw: Uint8Array, payload: Uint8Array, key: Uint8Array | null, keyAt: number, truncated: TracedFrame['truncated'], relay: TracedRelay | undefined,
    bodyIsPayload = false,
  ): void {
    this.u8(RowKind.Frame);
    this.u8(flags);
    const modeAt = this.r;
    this.u8(0);
    this.u8(opcode);
    this.u8(lengthField);
    this.u16(h);
    this.f64(seq);
    this.f64(time);
    this.u32(conn);
    this.f64(frameId);
    this.f64(payloadLength);
    if (key) for (let k = 0; k < 4; k++) this.u8(key[keyAt + k]!);
    const body = raw.length - h;
    let mode: number;
    let payloadAt: number;
    if (!key && body === payload.length) {
      // An unmasked frame: the payload is the wire body, when it holds the same bytes.
      const rawAt = this.copy(raw);
      this.u32(rawAt);
      this.u32(raw.length);
      payloadAt = rawAt + h;
      if (bodyIsPayload || isViewAt(payload, raw, h) || this.sameBytes(payload, 0, payloadAt, payload.length)) mode = PayloadMode.PayloadInRaw;
      else {
        mode = PayloadMode.Explicit;
        payloadAt = this.copy(payload);
        this.u32(payloadAt);
        this.u32(payload.length);
      }
    } else if (key && body === payload.length) {
      // A masked frame: the header, and the payload; the body is the payload masked again (§5.3), when it is.
      payloadAt = this.copy(payload);
      if (!bodyIsPayload && body > SMALL) this.ensureSlab(body);
      if (bodyIsPayload || maskedEquals(raw, h, payload, key, keyAt, this.slab, this.s)) {
        mode = PayloadMode.RawFromPayload;
        const headerAt = this.copyHead(raw, h);
        this.u32(headerAt);
        this.u32(h);
        this.derived += raw.length;
      } else {
        mode = PayloadMode.Explicit;
        const rawAt = this.copy(raw);
        this.u32(rawAt);
        this.u32(raw.length);
      }
      this.u32(payloadAt);
      this.u32(payload.length);
    } else {
      mode = PayloadMode.Explicit;
      const rawAt = this.copy(raw);
      this.u32(rawAt);
      this.u32(raw.length);
      payloadAt = this.copy(payload);
      this.u32(payloadAt);
      this.u32(payload.length);
    }
    if (truncated) {
      mode |= PayloadMode.TruncatedBit;
      this.f64(truncated.rawLength);
      this.f64(truncated.payloadLength);
    }
    if (relay) {
      this.u32(this.conn(relay.from.connectionId));
      this.f64(relay.from.frameId);
      this.f64(relay.delayUs);
    }
    this.rows[modeAt] = mode;
    const last = this.lastFrame;
    last.conn = conn;
    last.out = (flags & FrameFlag.Out) !== 0;
    last.frameId = frameId;
    last.payloadAt = payloadAt;
    last.payloadLength = payload.length;
    last.payload = payload;
  }

  private message(event: MessageEvent): boolean {
    if (event.compression || (event.truncated !== undefined && event.truncated !== true) || !isByte(event.opcode)) return false;
    const text = event.text;
    const data = event.data;
    if ((text === undefined) === (data === undefined)) return false;
    if (text !== undefined && (typeof text !== 'string' || !(text as string & { isWellFormed(): boolean }).isWellFormed())) return false;
    if (data !== undefined && !(data instanceof Uint8Array)) return false;
    const out = event.direction === 'out';
    const conn = this.conn(event.connectionId);
    const ids = event.frameIds;
    this.u8(RowKind.Message);
    this.u8((out ? MessageFlag.Out : 0) | (text !== undefined ? MessageFlag.Text : 0) | (event.truncated ? MessageFlag.Truncated : 0));
    this.u8(event.opcode);
    this.f64(event.seq);
    this.f64(event.time);
    this.u32(conn);
    this.f64(event.size);
    this.u32(ids.length);
    for (let k = 0; k < ids.length; k++) this.f64(ids[k]!);
    this.messageBytes(conn, out, ids.length === 1, ids[0]!, text, data);
    return true;
  }

  /**
   * A message row's bytes: its text as UTF-8, or its data; pointing at its one frame's payload
   * (a message of one frame, frameId) when that frame's row came just before with the same bytes.
   */
  private messageBytes(conn: number, out: boolean, oneFrame: boolean, frameId: number, text: string | undefined, data: Uint8Array | undefined, payloadsOfFrames = false): void {
    const last = this.lastFrame;
    const ofLastFrame = oneFrame && last.conn === conn && last.out === out && last.frameId === frameId;
    let at: number;
    let length: number;
    if (text === undefined) {
      length = data!.length;
      if (ofLastFrame && length === last.payloadLength && (payloadsOfFrames || data === last.payload || sameView(data!, last.payload) || this.sameBytes(data!, 0, last.payloadAt, length))) at = last.payloadAt;
      else at = this.copy(data!);
    } else {
      this.ensureSlab(text.length * 3);
      at = this.s;
      length = this.slab.write(text, at, this.slab.length - at, 'utf8');
      if (ofLastFrame && length === last.payloadLength && this.sameBytes(this.slab, at, last.payloadAt, length)) at = last.payloadAt;
      else this.s += length;
    }
    this.u32(at);
    this.u32(length);
  }

  /** bytes[from, from+n) equals the slab at `at` (a loop for small runs: no native call per event). */
  private sameBytes(bytes: Uint8Array, from: number, at: number, n: number): boolean {
    const slab = this.slab;
    if (n > SMALL) return slab.compare(bytes, from, from + n, at, at + n) === 0;
    // Differences or-ed together: no branch per byte.
    let diff = 0;
    for (let k = 0; k < n; k++) diff |= bytes[from + k]! ^ slab[at + k]!;
    return diff === 0;
  }

  private conn(id: string): number {
    if (id === this.lastConnId && this.lastConn >= 0) return this.lastConn;
    let n = this.connIndex.get(id);
    if (n === undefined) {
      n = this.conns.length;
      this.conns.push(id);
      this.connIndex.set(id, n);
    }
    this.lastConnId = id;
    this.lastConn = n;
    return n;
  }

  private copy(bytes: Uint8Array): number {
    const n = bytes.length;
    this.ensureSlab(n);
    const at = this.s;
    const slab = this.slab;
    // Only a tiny one is copied faster byte by byte than through set()'s per-call checks.
    if (n <= COPY_LOOP_MAX) for (let k = 0; k < n; k++) slab[at + k] = bytes[k]!;
    else slab.set(bytes, at);
    this.s = at + n;
    return at;
  }

  /** raw's first h bytes (a header, at most 14), copied without a view of them. */
  private copyHead(raw: Uint8Array, h: number): number {
    this.ensureSlab(h);
    const at = this.s;
    const slab = this.slab;
    for (let k = 0; k < h; k++) slab[at + k] = raw[k]!;
    this.s = at + h;
    return at;
  }

  private ensureSlab(n: number): void {
    if (this.s + n <= this.slab.length) return;
    let size = this.slab.length * 2;
    while (size < this.s + n) size *= 2;
    const grown = this.B.allocUnsafe(size);
    grown.set(this.slab.subarray(0, this.s));
    this.slab = grown;
  }

  private ensureRows(n: number): void {
    if (this.r + n <= this.rows.length) return;
    let size = this.rows.length * 2;
    while (size < this.r + n) size *= 2;
    const grown = this.B.allocUnsafe(size);
    grown.set(this.rows.subarray(0, this.r));
    this.rows = grown;
    this.rowView = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  private u8(v: number): void {
    this.rows[this.r++] = v;
  }

  private u16(v: number): void {
    this.rowView.setUint16(this.r, v, true);
    this.r += 2;
  }

  private u32(v: number): void {
    this.rowView.setUint32(this.r, v, true);
    this.r += 4;
  }

  private f64(v: number): void {
    this.rowView.setFloat64(this.r, v, true);
    this.r += 8;
  }
}

/** Up to this many bytes, comparisons are loops rather than native calls. */
const SMALL = 128;
/** Up to this many bytes, a copy is a loop rather than set() (66-70 byte frames: ~25-45 ns with set(), ~105-175 ns byte by byte, Node 20). */
const COPY_LOOP_MAX = 16;

/** Two views of the same bytes (a message's data and its one frame's payload, made apart). */
function sameView(a: Uint8Array, b: Uint8Array | null): boolean {
  return b !== null && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

/** `payload` is the view of raw's bytes after the header (an unmasked frame parsed in place). */
function isViewAt(payload: Uint8Array, raw: Uint8Array, h: number): boolean {
  return payload.buffer === raw.buffer && payload.byteOffset === raw.byteOffset + h && payload.length === raw.length - h;
}

/**
 * raw's body is `payload` masked with `key` (§5.3: octet i XOR key octet i mod 4). Large ones are
 * masked into the slab past `scratchAt` (its free space) and compared natively.
 */
function maskedEquals(raw: Uint8Array, h: number, payload: Uint8Array, key: Uint8Array, keyAt: number, slab: NodeBuffer, scratchAt: number): boolean {
  const n = payload.length;
  const k0 = key[keyAt]!, k1 = key[keyAt + 1]!, k2 = key[keyAt + 2]!, k3 = key[keyAt + 3]!;
  if (n <= SMALL || scratchAt + n > slab.length) {
    // A key byte per lane, differences or-ed together: no branch or key index per byte.
    const words = n & ~3;
    let diff = 0;
    let k = 0;
    for (; k < words; k += 4) {
      diff |= (raw[h + k]! ^ payload[k]! ^ k0) | (raw[h + k + 1]! ^ payload[k + 1]! ^ k1) | (raw[h + k + 2]! ^ payload[k + 2]! ^ k2) | (raw[h + k + 3]! ^ payload[k + 3]! ^ k3);
    }
    for (; k < n; k++) diff |= raw[h + k]! ^ payload[k]! ^ key[keyAt + (k & 3)]!;
    return diff === 0;
  }
  applyMaskInPlace(slab.subarray(scratchAt, scratchAt + n), payload, keyAt === 0 && key.length === 4 ? key : new Uint8Array([k0, k1, k2, k3]), 0);
  return slab.compare(raw, h, h + n, scratchAt, scratchAt + n) === 0;
}

function isByte(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255;
}

/**
 * A batch's events encoded as they are traced (the service's trace path): frames and messages
 * become rows at once, whether they come as objects (add) or as a tracer's rows (frameRow,
 * messageRow, with no object built); take() hands them over as a batch's `trace`. Nothing of an
 * event is held but its row and bytes.
 */
export class TraceBatchBuilder {
  private readonly encoder = new BatchEncoder();

  /** Events added since the last take(). */
  get count(): number {
    return this.encoder.events;
  }

  add(event: TraceEvent): void {
    this.encoder.add(event);
  }

  frameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    this.encoder.frameRow(seq, time, connectionId, direction, frameId, raw, payload, relay);
  }

  messageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    this.encoder.messageRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data, payloadsOfFrames);
  }

  /** The events so far (lent: see BatchEncoder.take), read while the batch's listeners run. */
  take(): EncodedEvents {
    return this.encoder.take();
  }

  /** The batch's listeners returned: its events' buffers are written again. */
  reclaim(taken: EncodedEvents): void {
    this.encoder.reclaim(taken);
  }
}

let shared: BatchEncoder | null = null;

/** The binary batch (trace-batch.ts) of this batch. */
export function encodeBatch(batch: ServiceBatch): Uint8Array {
  shared ??= new BatchEncoder();
  const bytes = shared.encode(batch);
  // A small one may sit in node's shared pool: IPC would clone the whole pool's buffer with it.
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : new Uint8Array(bytes);
}

/** One record of the web host's event stream (BatchRecordReader reads it): u32 little-endian byte count, then the batch. */
export function encodeBatchRecord(batch: ServiceBatch): Uint8Array {
  shared ??= new BatchEncoder();
  const record = shared.encode(batch, 4);
  new DataView(record.buffer, record.byteOffset, 4).setUint32(0, record.length - 4, true);
  return record;
}

/** The batch as text (base64 of the binary batch; decodeBatchText reads it), for a carrier that takes only text. */
export function encodeBatchText(batch: ServiceBatch): string {
  shared ??= new BatchEncoder();
  return shared.encode(batch).toString('base64');
}
