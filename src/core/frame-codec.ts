/**
 * The frame codec (RFC 6455 §5.2): a streaming parser with named states, and an encoder with
 * an injectable masking key that can also write deliberately invalid frames.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * | |1|2|3|       |K|             |                               |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *
 * The parser only knows framing. Whether a frame is allowed (mask bit for the role, RSV,
 * opcodes, control-frame rules, sizes) is the connection's business (protocol.ts), which
 * checks each header as soon as it is complete, before the payload arrives.
 */

import { applyMask, applyMaskInPlace, concatBytes, readUint64BE } from './bytes.ts';
import { ProtocolViolation } from './errors.ts';

export type ParserState = 'header' | 'extended-length-16' | 'extended-length-64' | 'masking-key' | 'payload';

export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** The 7-bit length field as sent (0-125, or 126/127 for extended lengths). */
  lengthField: number;
  /** The payload length; from 2^53 on, Number.MAX_SAFE_INTEGER (payloadLengthExact has the value). */
  payloadLength: number;
  /**
   * Only for a 64-bit length of 2^53 or more, which a number cannot hold exactly: the value of
   * the 8 length bytes. Such a frame exceeds every size limit; this is for telling it as it was sent.
   */
  payloadLengthExact?: bigint;
  maskKey: Uint8Array | null;
  headerLength: number;
}

/** A frame's declared payload length in words, exact even from 2^53 on (where a number rounds). */
export function formatPayloadLength(h: Pick<FrameHeader, 'payloadLength' | 'payloadLengthExact'>): string {
  return h.payloadLengthExact !== undefined ? `${h.payloadLengthExact} (more than 2^53)` : `${h.payloadLength}`;
}

export interface Frame {
  header: FrameHeader;
  /** Unmasked application data. */
  payload: Uint8Array;
  /** The exact bytes that crossed the wire (null when the parser was told not to keep them). */
  raw: Uint8Array | null;
}

/** What the first two bytes tell: everything but the extended length and the masking key. */
export interface FramePrefix {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  lengthField: number;
}

export type ParserEvent =
  | { kind: 'prefix'; prefix: FramePrefix }
  | { kind: 'header'; header: FrameHeader }
  | { kind: 'payload'; header: FrameHeader; chunk: Uint8Array; offset: number }
  | { kind: 'frame'; frame: Frame }
  /**
   * Only with FrameParserOptions.wholeFrames: a frame that sat whole in one writable chunk, read
   * in one go and reported once instead of as prefix, header, payload and frame. Its receiver
   * runs the checks of those four events on it, in their order (the header is a prefix too).
   */
  | { kind: 'whole-frame'; frame: Frame };

type EventSink = { push: (event: ParserEvent) => void };

/**
 * Where frame bytes come from. A plain Uint8Array by default (the renderer uses this module
 * too); the node:net layer installs Buffer.allocUnsafe, whose pooled slabs make the many small
 * allocations of a busy connection much cheaper than fresh ArrayBuffers.
 */
let allocateBytes: (size: number) => Uint8Array = (size) => new Uint8Array(size);
export function setByteAllocator(allocate: (size: number) => Uint8Array): void {
  allocateBytes = allocate;
}

/**
 * Below this size a traced frame's masked payload is unmasked straight out of the chunk it arrived
 * in (unmaskFromChunk); from it on, applyMaskInPlace's word-wise loops are worth the view they need.
 */
const UNMASK_FROM_CHUNK_MAX = 256;

/**
 * §5.3: payload[i] = chunk[start + i] XOR key[i mod 4], the masking key being the 4 bytes just
 * before start (a frame's header ends with it). Reads the chunk where it lies: no view of the
 * payload or of the key per frame (a traced 64 B frame, issue 17).
 */
function unmaskFromChunk(payload: Uint8Array, chunk: Uint8Array, start: number): void {
  const n = payload.length;
  const k0 = chunk[start - 4]!, k1 = chunk[start - 3]!, k2 = chunk[start - 2]!, k3 = chunk[start - 1]!;
  let i = 0;
  for (const end = n & ~3; i < end; i += 4) {
    payload[i] = chunk[start + i]! ^ k0;
    payload[i + 1] = chunk[start + i + 1]! ^ k1;
    payload[i + 2] = chunk[start + i + 2]! ^ k2;
    payload[i + 3] = chunk[start + i + 3]! ^ k3;
  }
  for (; i < n; i++) payload[i] = chunk[start + i]! ^ chunk[start - 4 + (i & 3)]!;
}

/** Masked payloads up to this size are unmasked into one buffer as they arrive (no per-chunk copies). */
const SINGLE_BUFFER_LIMIT = 1024 * 1024;

/** Joins parts that sit back to back in one ArrayBuffer without copying (a frame read in one chunk). */
function joinBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const first = parts[0];
  if (first && parts.length > 1) {
    let end = first.byteOffset + first.length;
    let contiguous = true;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length === 0) continue;
      if (p.buffer !== first.buffer || p.byteOffset !== end) {
        contiguous = false;
        break;
      }
      end += p.length;
    }
    if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, total);
  }
  return concatBytes(parts, total);
}

export interface FrameParserOptions {
  /** Keep each frame's wire bytes for display (default true). */
  keepRaw?: boolean;
  /**
   * Report a frame whose header and payload (at most 65535 bytes) sit whole in one chunk as one
   * 'whole-frame' event, with no per-field views and no partial-header state (default false).
   * Without keepRaw, only in chunks fed as writable: unmasked in place, and consumed before its
   * event is reported (a handler that throws on it leaves the parser at the next frame; its
   * receiver resets it then anyway). With keepRaw (a trace): raw is a view of the chunk, the
   * payload unmasked into a buffer of its own, and the frame stays queued while its event is
   * handled: the handler calls consumeWholeFrame() once its checks passed, or
   * stopWholeFrameAt(kind) when one failed, which leaves the parser exactly where reading the frame
   * event by event would have stopped on that event (so a failure shows the same bytes).
   */
  wholeFrames?: boolean;
}

/** A FIFO of received chunks that hands out exactly the bytes asked for. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Per chunk: may its bytes be overwritten (unmasked in place)? See FrameParser.feed. */
  private writable: boolean[] = [];
  private headOffset = 0;
  length = 0;

  push(chunk: Uint8Array, writable = false): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.writable.push(writable);
    this.length += chunk.length;
  }

  /** May the bytes takeUpTo hands out next be overwritten? */
  get firstWritable(): boolean {
    return this.writable[0] === true;
  }

  /** The first chunk (undefined when empty); its unread bytes start at headStart. */
  get head(): Uint8Array | undefined {
    return this.chunks[0];
  }

  get headStart(): number {
    return this.headOffset;
  }

  /** Consumes n bytes of the first chunk (caller checked they are there). */
  skip(n: number): void {
    this.advance(n);
  }

  /** Takes exactly n bytes (caller checked length >= n). */
  take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.headOffset >= n) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const part = this.takeUpTo(n - filled);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  /** Takes up to n bytes from the first chunk without copying. */
  takeUpTo(n: number): Uint8Array {
    const first = this.chunks[0]!;
    const count = Math.min(n, first.length - this.headOffset);
    const out = first.subarray(this.headOffset, this.headOffset + count);
    this.advance(count);
    return out;
  }

  /** Copies up to n bytes from the front without consuming them. */
  peek(n: number): Uint8Array {
    const count = Math.min(n, this.length);
    const out = new Uint8Array(count);
    let filled = 0;
    let offset = this.headOffset;
    for (const chunk of this.chunks) {
      if (filled >= count) break;
      const part = chunk.subarray(offset, offset + (count - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.writable = [];
    this.headOffset = 0;
    this.length = 0;
  }

  private advance(n: number): void {
    this.headOffset += n;
    this.length -= n;
    while (this.chunks.length > 0 && this.headOffset >= this.chunks[0]!.length) {
      this.headOffset -= this.chunks[0]!.length;
      this.chunks.shift();
      this.writable.shift();
    }
  }
}

const fieldSizes: Record<Exclude<ParserState, 'payload'>, number> = {
  header: 2,
  'extended-length-16': 2,
  'extended-length-64': 8,
  'masking-key': 4,
};

const stateNeeds: Record<ParserState, string> = {
  header: 'frame header (FIN, RSV, opcode, MASK, payload len)',
  'extended-length-16': '16-bit extended length',
  'extended-length-64': '64-bit extended length',
  'masking-key': 'masking key',
  payload: 'payload',
};

export class FrameParser {
  private queue = new ByteQueue();
  private _state: ParserState = 'header';
  private readonly keepRaw: boolean;
  private wholeFrames: boolean;
  // The frame being parsed.
  private header: Partial<FrameHeader> & { headerBytes: Uint8Array[] } = { headerBytes: [] };
  private current: FrameHeader | null = null;
  private payloadReceived = 0;
  private payloadChunks: Uint8Array[] = [];
  private rawPayloadChunks: Uint8Array[] = [];
  /** The unmasked payload of the frame being read, when it is filled in place. */
  private payloadBuffer: Uint8Array | null = null;

  constructor(options: FrameParserOptions = {}) {
    this.keepRaw = options.keepRaw ?? true;
    this.wholeFrames = options.wholeFrames ?? false;
  }

  get state(): ParserState {
    return this._state;
  }

  /** How many more bytes the current state needs before it can move on. */
  get bytesNeeded(): number {
    switch (this._state) {
      case 'header':
        return Math.max(0, 2 - this.queue.length);
      case 'extended-length-16':
        return Math.max(0, 2 - this.queue.length);
      case 'extended-length-64':
        return Math.max(0, 8 - this.queue.length);
      case 'masking-key':
        return Math.max(0, 4 - this.queue.length);
      case 'payload':
        return this.current!.payloadLength - this.payloadReceived - this.queue.length;
    }
  }

  /** "waiting for 2 more bytes of 16-bit extended length", for the UI. */
  describe(): string {
    const n = this.bytesNeeded;
    if (this._state === 'header' && n === 2 && this.header.headerBytes.length === 0) return 'waiting for a new frame';
    const exact = this._state === 'payload' ? this.current!.payloadLengthExact : undefined;
    if (exact !== undefined) return `waiting for ${exact - BigInt(this.payloadReceived + this.queue.length)} more bytes of payload (a length of more than 2^53)`;
    return `waiting for ${n} more byte${n === 1 ? '' : 's'} of ${stateNeeds[this._state]}`;
  }

  /** The wire bytes of the frame in progress (header and payload so far), for byte stepping. */
  partialBytes(): Uint8Array {
    const parts = [...this.header.headerBytes, ...this.rawPayloadChunks];
    // Bytes of the field being read that have arrived but cannot be decoded yet (at most that
    // field's size, so bytes of a later frame never show up here).
    if (this._state !== 'payload') parts.push(this.queue.peek(fieldSizes[this._state]));
    return concatBytes(parts);
  }

  /** Every byte held (the frame in progress and anything queued after it), then a reset. */
  takeAll(): Uint8Array {
    const parts = [...this.header.headerBytes, ...this.rawPayloadChunks, this.queue.peek(this.queue.length)];
    this.reset();
    return concatBytes(parts);
  }

  /** Discards everything, e.g. after the connection failed. */
  reset(): void {
    this.queue.clear();
    this._state = 'header';
    this.header = { headerBytes: [] };
    this.current = null;
    this.payloadReceived = 0;
    this.payloadChunks = [];
    this.rawPayloadChunks = [];
    this.payloadBuffer = null;
  }

  /** Feeds bytes and returns every event they produced (tests and simple callers). */
  feedAll(data: Uint8Array): ParserEvent[] {
    const events: ParserEvent[] = [];
    this.feed(data, (e) => events.push(e));
    return events;
  }

  /**
   * Feeds bytes, split anywhere. Reports what became known, as it becomes known: the first two
   * header bytes (prefix), each header as soon as it is complete, each payload chunk as it arrives (unmasked), and each complete
   * frame. If the handler throws, parsing stops right there and the parser still describes
   * the frame that was being read. Throws ProtocolViolation itself only for what framing
   * cannot represent (a 64-bit length with the most significant bit set).
   *
   * `writable`: the caller gives these bytes away: nobody else holds or will read them (a socket
   * chunk with no tracer, recorder or step gate looking). A parser that keeps no raw bytes may then
   * unmask a payload in place, in data itself, instead of into a buffer of its own: a frame whose
   * whole payload sits in this chunk costs no copy, its payload is a view of data. A payload
   * split across chunks is still unmasked into one buffer of its own (at most 1 MiB, else each
   * piece in place, then joined). Only payload bytes are ever overwritten, each once, and never
   * after they were handed out; the header bytes (and the masking key) stay as received.
   */
  feed(data: Uint8Array, onEvent: (event: ParserEvent) => void, writable = false): void {
    this.queue.push(data, writable && !this.keepRaw);
    const events = { push: onEvent };
    for (;;) {
      switch (this._state) {
        case 'header': {
          if (this.queue.length < 2) return;
          if (this.wholeFrames && (this.keepRaw ? this.readWholeFrameKeepingRaw(onEvent) : this.queue.firstWritable && this.readWholeFrame(onEvent))) break;
          const bytes = this.queue.take(2);
          this.header.headerBytes.push(bytes);
          const b0 = bytes[0]!, b1 = bytes[1]!;
          this.header.fin = (b0 & 0x80) !== 0;
          this.header.rsv1 = (b0 & 0x40) !== 0;
          this.header.rsv2 = (b0 & 0x20) !== 0;
          this.header.rsv3 = (b0 & 0x10) !== 0;
          this.header.opcode = b0 & 0x0f;
          this.header.masked = (b1 & 0x80) !== 0;
          this.header.lengthField = b1 & 0x7f;
          this.header.payloadLength = b1 & 0x7f;
          // Reported at once, so rules that two bytes can break fail before the rest arrives.
          events.push({
            kind: 'prefix',
            prefix: { fin: this.header.fin, rsv1: this.header.rsv1, rsv2: this.header.rsv2, rsv3: this.header.rsv3, opcode: this.header.opcode, masked: this.header.masked, lengthField: this.header.lengthField },
          });
          if (this.header.lengthField === 126) this._state = 'extended-length-16';
          else if (this.header.lengthField === 127) this._state = 'extended-length-64';
          else this.afterLength(events);
          break;
        }
        case 'extended-length-16': {
          if (this.queue.length < 2) return;
          const bytes = this.queue.take(2);
          this.header.headerBytes.push(bytes);
          this.header.payloadLength = (bytes[0]! << 8) | bytes[1]!;
          this.afterLength(events);
          break;
        }
        case 'extended-length-64': {
          if (this.queue.length < 8) return;
          const bytes = this.queue.take(8);
          this.header.headerBytes.push(bytes);
          const hi = ((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!;
          const lo = ((bytes[4]! << 24) >>> 0) + (bytes[5]! << 16) + (bytes[6]! << 8) + bytes[7]!;
          // §5.2: "the most significant bit MUST be 0"
          if (hi >= 0x80000000) {
            throw new ProtocolViolation('WS_ERR_LENGTH_MSB_SET', `The 64-bit payload length has its most significant bit set (it reads ${readUint64BE(bytes)}).`);
          }
          if (hi > 0x1fffff) {
            // From 2^53 on a number cannot hold the length exactly; such a frame exceeds every size
            // limit anyway, but it is reported as sent.
            this.header.payloadLength = Number.MAX_SAFE_INTEGER;
            this.header.payloadLengthExact = readUint64BE(bytes);
          } else {
            this.header.payloadLength = hi * 2 ** 32 + lo;
          }
          this.afterLength(events);
          break;
        }
        case 'masking-key': {
          if (this.queue.length < 4) return;
          const keyBytes = this.queue.take(4);
          this.header.headerBytes.push(keyBytes);
          this.header.maskKey = keyBytes.slice();
          this.startPayload(events);
          break;
        }
        case 'payload': {
          const header = this.current!;
          const remaining = header.payloadLength - this.payloadReceived;
          if (remaining > 0) {
            if (this.queue.length === 0) return;
            const inPlace = header.maskKey !== null && this.queue.firstWritable;
            const chunk = this.queue.takeUpTo(remaining);
            if (this.keepRaw) this.rawPayloadChunks.push(chunk);
            let unmasked: Uint8Array;
            if (inPlace && ((this.payloadReceived === 0 && chunk.length === remaining) || header.payloadLength > SINGLE_BUFFER_LIMIT)) {
              // The whole payload in this chunk (or a payload too big for one buffer): unmasked where it lies.
              applyMaskInPlace(chunk, chunk, header.maskKey!, this.payloadReceived);
              unmasked = chunk;
              this.payloadChunks.push(unmasked);
            } else if (header.maskKey && header.payloadLength <= SINGLE_BUFFER_LIMIT) {
              // One buffer for the whole payload, unmasked into place as chunks arrive.
              this.payloadBuffer ??= allocateBytes(header.payloadLength);
              unmasked = this.payloadBuffer.subarray(this.payloadReceived, this.payloadReceived + chunk.length);
              applyMaskInPlace(unmasked, chunk, header.maskKey, this.payloadReceived);
            } else {
              unmasked = header.maskKey ? applyMask(chunk, header.maskKey, this.payloadReceived) : chunk;
              this.payloadChunks.push(unmasked);
            }
            events.push({ kind: 'payload', header, chunk: unmasked, offset: this.payloadReceived });
            this.payloadReceived += chunk.length;
          }
          if (this.payloadReceived === header.payloadLength) this.finishFrame(events);
          break;
        }
      }
    }
  }

  /**
   * The fast path of wholeFrames: the frame at the front of the first chunk, if all of it is
   * there (header, masking key and a payload of 7- or 16-bit length), read without the state
   * machine: one header object, one view for the payload (unmasked in place, as the general path
   * does for a payload whole in a writable chunk), one event. Anything else (a frame cut by the
   * chunk's end, a 64-bit length) goes the general way and nothing is consumed here.
   */
  private readWholeFrame(onEvent: (event: ParserEvent) => void): boolean {
    const frameLength = this.measureWholeFrame();
    if (frameLength === 0) return false;
    const chunk = this.queue.head!;
    const at = this.queue.headStart;
    const b0 = chunk[at]!, b1 = chunk[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const lengthField = b1 & 0x7f;
    const headerLength = this.wholeHeaderLength;
    const payloadLength = this.wholePayloadLength;
    // Only payload bytes are overwritten; the masking key stays as received, so a view of it is its value.
    const maskKey = masked ? chunk.subarray(at + headerLength - 4, at + headerLength) : null;
    const payload = chunk.subarray(at + headerLength, at + frameLength);
    if (maskKey !== null && payloadLength > 0) applyMaskInPlace(payload, payload, maskKey, 0);
    // The same fields, in the same order, as startPayload's header (one object shape for both paths).
    const header: FrameHeader = {
      fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode: b0 & 0x0f, masked,
      lengthField, payloadLength, maskKey, headerLength,
    };
    this.queue.skip(frameLength);
    onEvent({ kind: 'whole-frame', frame: { header, payload, raw: null } });
    return true;
  }

  /** What measureWholeFrame found (fields, not an object per frame). */
  private wholeHeaderLength = 0;
  private wholePayloadLength = 0;

  /**
   * The frame at the front of the first chunk (at least 2 bytes there): its whole length if all of
   * it is in that chunk with a 7- or 16-bit length (header and payload lengths in wholeHeaderLength
   * and wholePayloadLength), else 0.
   */
  private measureWholeFrame(): number {
    const chunk = this.queue.head!;
    const at = this.queue.headStart;
    const available = chunk.length - at;
    const b1 = chunk[at + 1]!;
    const lengthField = b1 & 0x7f;
    if (lengthField === 127) return 0;
    let payloadLength = lengthField;
    let headerLength = 2;
    if (lengthField === 126) {
      if (available < 4) return 0;
      payloadLength = (chunk[at + 2]! << 8) | chunk[at + 3]!;
      headerLength = 4;
    }
    if (b1 & 0x80) headerLength += 4;
    const frameLength = headerLength + payloadLength;
    if (available < frameLength) return 0;
    this.wholeHeaderLength = headerLength;
    this.wholePayloadLength = payloadLength;
    return frameLength;
  }

  /** keepRaw and wholeFrames: the length of the whole frame reported and still queued (0: none). */
  private wholePending = 0;

  /**
   * readWholeFrame for a parser that keeps raw bytes (nothing is unmasked in place): raw is a view
   * of the chunk, as joining the pieces of a frame read in one chunk gives (joinBytes), or the chunk
   * itself when the frame is all of it, the payload
   * a buffer of its own (masked) or a view (unmasked), as finishFrame gives them. The frame stays
   * queued until the handler says how its checks went (consumeWholeFrame, stopWholeFrameAt).
   */
  private readWholeFrameKeepingRaw(onEvent: (event: ParserEvent) => void): boolean {
    const frameLength = this.measureWholeFrame();
    if (frameLength === 0) return false;
    const chunk = this.queue.head!;
    const at = this.queue.headStart;
    const b0 = chunk[at]!, b1 = chunk[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const lengthField = b1 & 0x7f;
    const headerLength = this.wholeHeaderLength;
    const payloadLength = this.wholePayloadLength;
    // Views made with the constructor, not subarray() (which looks up the species constructor, and
    // on a Buffer takes Buffer's own): a traced frame costs three of them at most. A frame that is
    // the whole chunk (one frame per socket read) needs none for its wire bytes: they are the chunk.
    const raw = at === 0 && frameLength === chunk.length ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset + at, frameLength);
    const maskKey = masked ? new Uint8Array(chunk.buffer, chunk.byteOffset + at + headerLength - 4, 4) : null;
    let payload: Uint8Array;
    if (payloadLength === 0) {
      payload = new Uint8Array(0);
    } else if (maskKey !== null) {
      payload = allocateBytes(payloadLength);
      if (payloadLength < UNMASK_FROM_CHUNK_MAX) unmaskFromChunk(payload, chunk, at + headerLength);
      else applyMaskInPlace(payload, raw.subarray(headerLength), maskKey, 0);
    } else {
      payload = new Uint8Array(chunk.buffer, chunk.byteOffset + at + headerLength, payloadLength);
    }
    // The same fields, in the same order, as startPayload's header (one object shape for both paths).
    const header: FrameHeader = {
      fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode: b0 & 0x0f, masked,
      lengthField, payloadLength, maskKey, headerLength,
    };
    this.wholePending = frameLength;
    try {
      onEvent({ kind: 'whole-frame', frame: { header, payload, raw } });
    } finally {
      // A handler that said nothing (or threw without saying): consumed, as without keepRaw.
      this.consumeWholeFrame();
    }
    return true;
  }

  /** The whole frame just reported passed its checks: it leaves the queue (the parser is at the next frame). */
  consumeWholeFrame(): void {
    if (this.wholePending === 0) return;
    this.queue.skip(this.wholePending);
    this.wholePending = 0;
  }

  /**
   * A check of the whole frame just reported failed on what its `kind` event would have carried:
   * the frame is read again event by event up to that event, so that the parser holds what it
   * would hold had it failed there (partialBytes, currentHeader, describe).
   */
  stopWholeFrameAt(kind: 'prefix' | 'header' | 'payload'): void {
    if (this.wholePending === 0) return;
    this.wholePending = 0;
    const wholeFrames = this.wholeFrames;
    try {
      this.wholeFrames = false;
      this.feed(EMPTY_PAYLOAD, (event) => {
        if (event.kind === kind) throw stopReplay;
      });
    } catch (error) {
      if (error !== stopReplay) throw error;
    } finally {
      this.wholeFrames = wholeFrames;
    }
  }

  /** The header of the frame being read, once complete. */
  currentHeader(): FrameHeader | null {
    return this.current;
  }

  private afterLength(events: EventSink): void {
    if (this.header.masked) {
      this._state = 'masking-key';
    } else {
      this.header.maskKey = null;
      this.startPayload(events);
    }
  }

  private startPayload(events: EventSink): void {
    const h = this.header;
    let headerLength = 0;
    for (const b of h.headerBytes) headerLength += b.length;
    this.current = {
      fin: h.fin!, rsv1: h.rsv1!, rsv2: h.rsv2!, rsv3: h.rsv3!, opcode: h.opcode!, masked: h.masked!,
      lengthField: h.lengthField!, payloadLength: h.payloadLength!, maskKey: h.maskKey ?? null, headerLength,
    };
    if (h.payloadLengthExact !== undefined) this.current.payloadLengthExact = h.payloadLengthExact;
    this.payloadReceived = 0;
    this._state = 'payload';
    events.push({ kind: 'header', header: this.current });
  }

  private finishFrame(events: EventSink): void {
    const header = this.current!;
    const payload = this.payloadBuffer ?? joinBytes(this.payloadChunks, header.payloadLength);
    this.payloadBuffer = null;
    const raw = this.keepRaw
      ? joinBytes([...this.header.headerBytes, ...this.rawPayloadChunks], header.headerLength + header.payloadLength)
      : null;
    // The next frame's state, reusing these arrays: what they held was copied or joined above (no
    // per-frame arrays on the hot path).
    this.header.headerBytes.length = 0;
    this.header.payloadLengthExact = undefined; // every other field is set again before it is read
    this.current = null;
    this.payloadChunks.length = 0;
    this.rawPayloadChunks.length = 0;
    this.payloadReceived = 0;
    this._state = 'header';
    // Reported after the reset: a handler that throws here leaves no partial frame behind.
    events.push({ kind: 'frame', frame: { header, payload, raw } });
  }
}

/** What to put on the wire. Defaults give a valid frame; the rest lets the crafter break rules on purpose. */
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** A 4-byte masking key, or null to send unmasked. */
  maskKey?: Uint8Array | null;
  /** Force a length encoding; 'minimal' (the default) follows §5.2. */
  lengthEncoding?: 'minimal' | '7-bit' | '16-bit' | '64-bit';
  /** Write this value into the length field instead of the real payload length. */
  declaredLength?: number;
  /** Set the mask bit without applying a key (or clear it while applying one). */
  maskBitOverride?: boolean;
}

/** Encodes one frame. With default options the result is minimal and valid (§5.2). */
export function encodeFrame(spec: FrameSpec, maskKeyOverride?: Uint8Array | null): Uint8Array {
  const payload = spec.payload ?? EMPTY_PAYLOAD;
  const maskKey = maskKeyOverride !== undefined ? maskKeyOverride : spec.maskKey ?? null;
  const headerLength = frameHeaderLength(spec, maskKey);
  const out = allocateBytes(headerLength + payload.length);
  writeFrameHeader(out, spec, maskKey);
  if (maskKey && payload.length < SMALL_MASK_MAX) {
    // §5.3, straight into the output behind the header, byte by byte: for a small payload a view of
    // the output for applyMaskInPlace costs more than the masking.
    const k0 = maskKey[0]!, k1 = maskKey[1]!, k2 = maskKey[2]!, k3 = maskKey[3]!;
    const n = payload.length;
    const fastEnd = n & ~3;
    let i = 0;
    for (; i < fastEnd; i += 4) {
      out[headerLength + i] = payload[i]! ^ k0;
      out[headerLength + i + 1] = payload[i + 1]! ^ k1;
      out[headerLength + i + 2] = payload[i + 2]! ^ k2;
      out[headerLength + i + 3] = payload[i + 3]! ^ k3;
    }
    for (; i < n; i++) out[headerLength + i] = payload[i]! ^ maskKey[i & 3]!;
  } else if (maskKey) {
    applyMaskInPlace(out.subarray(headerLength), payload, maskKey); // straight into the output: no copy
  } else {
    out.set(payload, headerLength);
  }
  return out;
}

/**
 * The header alone of an unmasked frame (a server's, §5.1: "A server MUST NOT mask any frames"),
 * whose payload then goes on the wire after it as it is: one writev of header and payload
 * instead of copying the payload behind the header. The header is exactly encodeFrame's.
 */
export function encodeFrameHeader(spec: FrameSpec): Uint8Array {
  const out = allocateBytes(frameHeaderLength(spec, null));
  writeFrameHeader(out, spec, null);
  return out;
}

const EMPTY_PAYLOAD = new Uint8Array(0);
/** Below this many payload bytes encodeFrame masks in its own loop, not through a view for applyMaskInPlace. */
const SMALL_MASK_MAX = 256;
/** Thrown to stop a replay (stopWholeFrameAt) on the event that failed. */
const stopReplay = new Error('stop replay');

type LengthEncoding = '7-bit' | '16-bit' | '64-bit';

function lengthEncodingOf(spec: FrameSpec, declared: number): LengthEncoding {
  const encoding = spec.lengthEncoding ?? 'minimal';
  if (encoding !== 'minimal') return encoding;
  return declared <= 125 ? '7-bit' : declared <= 0xffff ? '16-bit' : '64-bit';
}

function frameHeaderLength(spec: FrameSpec, maskKey: Uint8Array | null): number {
  const encoding = lengthEncodingOf(spec, spec.declaredLength ?? spec.payload?.length ?? 0);
  return 2 + (encoding === '16-bit' ? 2 : encoding === '64-bit' ? 8 : 0) + (maskKey ? 4 : 0);
}

/** §5.2: FIN, RSV1-3, opcode, MASK, payload length (7, 7+16 or 7+64 bits) and the masking key, at out[0]. */
function writeFrameHeader(out: Uint8Array, spec: FrameSpec, maskKey: Uint8Array | null): void {
  const declared = spec.declaredLength ?? spec.payload?.length ?? 0;
  const encoding = lengthEncodingOf(spec, declared);
  const extLength = encoding === '16-bit' ? 2 : encoding === '64-bit' ? 8 : 0;
  out[0] = (spec.fin === false ? 0 : 0x80) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) | (spec.rsv3 ? 0x10 : 0) | (spec.opcode & 0x0f);
  const maskBit = spec.maskBitOverride ?? maskKey !== null;
  const lengthField = encoding === '16-bit' ? 126 : encoding === '64-bit' ? 127 : declared & 0x7f;
  out[1] = (maskBit ? 0x80 : 0) | lengthField;
  if (encoding === '16-bit') {
    out[2] = (declared >> 8) & 0xff;
    out[3] = declared & 0xff;
  } else if (encoding === '64-bit') {
    const hi = Math.floor(declared / 2 ** 32);
    const lo = declared >>> 0;
    out[2] = (hi >>> 24) & 0xff;
    out[3] = (hi >>> 16) & 0xff;
    out[4] = (hi >>> 8) & 0xff;
    out[5] = hi & 0xff;
    out[6] = (lo >>> 24) & 0xff;
    out[7] = (lo >>> 16) & 0xff;
    out[8] = (lo >>> 8) & 0xff;
    out[9] = lo & 0xff;
  }
  if (maskKey) {
    // The 4 key bytes one by one: a subarray view and set() for 4 bytes cost more than the rest of the header.
    const at = 2 + extLength;
    out[at] = maskKey[0]!;
    out[at + 1] = maskKey[1]!;
    out[at + 2] = maskKey[2]!;
    out[at + 3] = maskKey[3]!;
  }
}

/** §5.5.1: a close body is a 2-byte big-endian status code followed by a UTF-8 reason. */
export function encodeClosePayload(code: number | null, reason = ''): Uint8Array {
  if (code === null) return new Uint8Array(0);
  const reasonBytes = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + reasonBytes.length);
  out[0] = (code >> 8) & 0xff;
  out[1] = code & 0xff;
  out.set(reasonBytes, 2);
  return out;
}
