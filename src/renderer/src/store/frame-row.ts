/**
 * One retained frame of the frame list, stored compactly (issue 6, UI under flood).
 *
 * The ring holds up to 150,000 frames. Kept as the trace delivers them (an event object, a
 * frame object, three Uint8Array views, a message object and its text), each frame cost about
 * ten heap objects, and every major garbage collection had to visit all of them: pauses of
 * over 100 ms once the ring was full. A row here is one object with numbers and one
 * reference to the bytes its batch arrived in. Everything else is rebuilt from the wire bytes
 * when a view asks for it: RFC 6455 §5.2 fixes where the masking key sits in the header, and
 * §5.3 makes the payload the wire payload XOR that key, so nothing is lost.
 *
 * Frames that cannot be rebuilt from their wire bytes alone (a violation, a close frame's
 * parsed code, a frame cut for display or cut short by a failure, a compressed frame's plain
 * bytes) keep the traced object whole; except for compressed traffic, they are rare.
 */
import { applyMask, utf8DecodeLenient } from '../../../core/bytes.ts';
import type { Direction, TracedFrame, TracedViolation } from '../../../core/trace.ts';

/** Frame header bits, packed: FIN, RSV1-3, MASK, then the opcode from bit 5. */
const FIN = 1;
const RSV1 = 2;
const RSV2 = 4;
const RSV3 = 8;
const MASKED = 16;
const OPCODE_SHIFT = 5;

/** What the frame list shows of a payload, and what its search looks in. */
const PREVIEW_TEXT_BYTES = 200;
const PREVIEW_BINARY_BYTES = 24;

export interface FrameTraceEvent {
  seq: number;
  time: number;
  connectionId: string;
  direction: Direction;
  frame: TracedFrame;
}

export class FrameRow {
  readonly seq: number;
  readonly time: number;
  readonly connectionId: string;
  readonly direction: Direction;
  readonly frameId: number;
  /**
   * The opcode of the message the frame belongs to: a continuation frame's is its message's first
   * frame's (text or binary, §5.4); 0 when that frame was never seen. Other frames: their own.
   */
  readonly messageOpcode: number;
  /** The payload length the header declares. */
  readonly payloadLength: number;
  private readonly bits: number;
  private readonly lengthField: number;
  private readonly headerLength: number;
  /** The wire bytes: a view's parameters into the buffer the frame's batch arrived in. */
  private readonly buffer: ArrayBufferLike;
  private readonly rawOffset: number;
  private readonly rawLength: number;
  /** The frame as traced, for frames that cannot be rebuilt; otherwise built on first use. */
  private whole: TracedFrame | null;
  private previewText: string | null;

  private constructor(event: FrameTraceEvent, keepWhole: boolean, messageOpcode: number) {
    const f = event.frame;
    this.messageOpcode = messageOpcode;
    this.seq = event.seq;
    this.time = event.time;
    this.connectionId = event.connectionId;
    this.direction = event.direction;
    this.frameId = f.frameId;
    this.payloadLength = f.payloadLength;
    this.bits = (f.fin ? FIN : 0) | (f.rsv1 ? RSV1 : 0) | (f.rsv2 ? RSV2 : 0) | (f.rsv3 ? RSV3 : 0) | (f.masked ? MASKED : 0) | (f.opcode << OPCODE_SHIFT);
    this.lengthField = f.lengthField;
    this.headerLength = f.headerLength;
    this.buffer = f.raw.buffer;
    this.rawOffset = f.raw.byteOffset;
    this.rawLength = f.raw.length;
    this.whole = keepWhole ? f : null;
    this.previewText = null;
  }

  /** A row for a traced frame: compact when its wire bytes say everything the trace does. */
  static fromTrace(event: FrameTraceEvent, messageOpcode = event.frame.opcode): FrameRow {
    return new FrameRow(event, !rebuildable(event.frame), messageOpcode);
  }

  /** The same row with other bytes for its frame (the full bytes of a frame shown cut). */
  withFrame(frame: TracedFrame): FrameRow {
    return new FrameRow({ seq: this.seq, time: this.time, connectionId: this.connectionId, direction: this.direction, frame }, true, this.messageOpcode);
  }

  /** connectionId:frameId, unique across connections (built when asked: one string fewer per row). */
  get key(): string {
    return `${this.connectionId}:${this.frameId}`;
  }

  get fin(): boolean { return (this.bits & FIN) !== 0; }
  get rsv1(): boolean { return (this.bits & RSV1) !== 0; }
  get rsv2(): boolean { return (this.bits & RSV2) !== 0; }
  get rsv3(): boolean { return (this.bits & RSV3) !== 0; }
  get masked(): boolean { return (this.bits & MASKED) !== 0; }
  get opcode(): number { return this.bits >>> OPCODE_SHIFT; }
  get violation(): TracedViolation | undefined { return this.whole?.violation; }
  get close(): TracedFrame['close'] { return this.whole?.close; }
  /** The declared length in words: exact even from 2^53 on (a 64-bit length with its top bit set, say). */
  get payloadLengthText(): string { return this.whole?.payloadLengthExact ?? String(this.payloadLength); }
  /** Edited in the debugger before release: the bytes before the edit (else undefined). */
  get editedOriginal(): Uint8Array | undefined { return this.whole?.edited?.original; }
  get partial(): boolean { return this.whole?.partial === true; }
  get truncated(): TracedFrame['truncated'] { return this.whole?.truncated; }
  /** The first frame of a compressed message: its RSV1 is permessage-deflate's bit, not a violation. */
  get compressedFirst(): boolean { return this.whole?.deflate?.first === true; }
  /** Proxy mode: this frame is the relay's copy of a frame from the other leg (kept whole to keep this). */
  get relay(): TracedFrame['relay'] { return this.whole?.relay; }
  /** Any frame of a compressed message (permessage-deflate): its payload is DEFLATE data. */
  get compressed(): boolean { return this.whole?.deflate !== undefined; }

  /** The traced frame, as the anatomy view reads it (built once, then kept). */
  get frame(): TracedFrame {
    if (this.whole) return this.whole;
    const raw = this.rawBytes();
    const maskKey = this.masked ? raw.subarray(this.headerLength - 4, this.headerLength) : null;
    this.whole = {
      frameId: this.frameId, fin: this.fin, rsv1: this.rsv1, rsv2: this.rsv2, rsv3: this.rsv3, opcode: this.opcode,
      masked: this.masked, maskKey, lengthField: this.lengthField, payloadLength: this.payloadLength, headerLength: this.headerLength,
      raw, payload: this.payloadHead(this.payloadLength),
    };
    return this.whole;
  }

  /** The first `limit` bytes of the unmasked payload (not kept: a fresh array or view). */
  payloadHead(limit: number): Uint8Array {
    if (this.whole) return this.whole.payload.subarray(0, limit);
    const raw = this.rawBytes();
    const body = raw.subarray(this.headerLength, this.headerLength + Math.min(limit, this.payloadLength));
    if (!this.masked) return body;
    // §5.3: octet i of the payload is XORed with octet i MOD 4 of the masking key.
    return applyMask(body, raw.subarray(this.headerLength - 4, this.headerLength));
  }

  /**
   * The payload as plain bytes, as far as it is held (frames over 64 KiB are held cut): unmasked,
   * and inflated for a frame of a compressed message. What the search and the filters look in.
   */
  plainPayload(): Uint8Array {
    if (this.whole?.deflate) return this.whole.deflate.inflated;
    return this.payloadHead(this.payloadLength);
  }

  /** The frame's bytes on the wire, as held. */
  wireBytes(): Uint8Array {
    return this.whole ? this.whole.raw : this.rawBytes();
  }

  /** A short, readable preview of the payload (what the list shows). */
  get preview(): string {
    if (this.previewText !== null) return this.previewText;
    const close = this.close;
    let text: string;
    if (close) {
      text = close.code === null ? '(no status code)' : `${close.code}${close.reason ? ` "${close.reason}"` : ''}`;
    } else if (this.whole?.deflate) {
      // A compressed frame (permessage-deflate): the list shows what it inflates to, not DEFLATE bytes.
      const d = this.whole.deflate;
      text = this.messageOpcode === 2
        ? Array.from(d.inflated.subarray(0, PREVIEW_BINARY_BYTES), (b) => b.toString(16).padStart(2, '0')).join(' ') + (d.inflatedLength > PREVIEW_BINARY_BYTES ? ' …' : '')
        : utf8DecodeLenient(d.inflated.subarray(0, PREVIEW_TEXT_BYTES));
    } else if (this.messageOpcode === 2) {
      // Binary, continuation frames of a binary message included: hex, never decoded as text.
      const payload = this.whole?.payload;
      const length = payload ? payload.length : this.payloadLength;
      text = Array.from(this.payloadHead(PREVIEW_BINARY_BYTES), (b) => b.toString(16).padStart(2, '0')).join(' ') + (length > PREVIEW_BINARY_BYTES ? ' …' : '');
    } else {
      text = utf8DecodeLenient(this.payloadHead(PREVIEW_TEXT_BYTES));
    }
    this.previewText = text;
    return text;
  }

  private rawBytes(): Uint8Array {
    return new Uint8Array(this.buffer, this.rawOffset, this.rawLength);
  }
}

/**
 * Which message each continuation frame belongs to, per connection and direction (frames of one
 * direction arrive in order, and §5.4 lets no other data frame in between a message's fragments):
 * opcodeFor gives the opcode of a frame's message, text (1) or binary (2) for its continuations.
 */
export class MessageOpcodeTracker {
  private readonly open = new Map<string, number>();

  opcodeFor(event: Pick<FrameTraceEvent, 'connectionId' | 'direction' | 'frame'>): number {
    const op = event.frame.opcode;
    if (op !== 0 && op !== 1 && op !== 2) return op;
    const key = `${event.connectionId}:${event.direction}`;
    const messageOpcode = op === 0 ? this.open.get(key) ?? 0 : op;
    if (event.frame.fin) this.open.delete(key);
    else this.open.set(key, messageOpcode);
    return messageOpcode;
  }
}

/**
 * Whether the trace says nothing a row's compact form cannot rebuild: no violation, no parsed
 * close, not cut or partial, a §5.2 header whose masking key is where the header says, and a
 * payload that is the wire payload unmasked (checked byte by byte, so a row never lies).
 */
function rebuildable(f: TracedFrame): boolean {
  // A compressed frame's plain bytes (deflate) are not in its wire bytes: kept whole.
  if (f.violation || f.close || f.partial || f.truncated || f.deflate || f.edited || f.relay) return false;
  const h = f.headerLength;
  const raw = f.raw;
  if (raw.length !== h + f.payloadLength || f.payload.length !== f.payloadLength) return false;
  if (f.masked) {
    const key = f.maskKey;
    if (!key || key.length !== 4 || h < 6) return false;
    for (let i = 0; i < 4; i++) if (raw[h - 4 + i] !== key[i]) return false;
    for (let i = 0; i < f.payloadLength; i++) if ((raw[h + i]! ^ key[i & 3]!) !== f.payload[i]) return false;
  } else {
    if (f.maskKey) return false;
    for (let i = 0; i < f.payloadLength; i++) if (raw[h + i] !== f.payload[i]) return false;
  }
  return true;
}
