/**
 * The trace: one typed, serialisable event for everything that crosses the wire.
 * The protocol emits event bodies; a Tracer stamps them with a sequence number, a time and
 * the connection id. The UI (over IPC, structured clone keeps Uint8Array) and the CLI
 * (JSON lines, bytes as hex) both consume the same events.
 */

import { toHex } from './bytes.ts';
import { stringifyWithBytes } from './json-bytes.ts';
import type { HandshakeCheck, AcceptComputation } from './handshake-types.ts';
import type { HttpHeader } from './http.ts';
import type { ViolationCode } from './errors.ts';
import type { TlsInfo } from './tls-types.ts';

export type Direction = 'in' | 'out';
export type Role = 'server' | 'client';
export type ConnectionState = 'CONNECTING' | 'OPEN' | 'CLOSING' | 'CLOSED';

export interface TracedHead {
  kind: 'request' | 'response';
  startLine: string;
  headers: HttpHeader[];
  raw: Uint8Array;
}

export interface TracedViolation {
  code: ViolationCode;
  closeCode: number;
  message: string;
  rfcSection: string;
  rule: string;
}

export interface TracedFrame {
  /** Per-connection frame number, both directions counted together. */
  frameId: number;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  maskKey: Uint8Array | null;
  lengthField: number;
  payloadLength: number;
  /** A 64-bit length of 2^53 or more (payloadLength then reads Number.MAX_SAFE_INTEGER): its exact decimal value. */
  payloadLengthExact?: string;
  headerLength: number;
  /** The wire bytes (for an incomplete frame: those received before the connection failed). */
  raw: Uint8Array;
  /** Unmasked payload. */
  payload: Uint8Array;
  /** The frame did not arrive whole (the connection failed part-way through it). */
  partial?: boolean;
  /** The violation this frame committed, if any. */
  violation?: TracedViolation;
  /** Edited in the debugger (step mode) before it was released: the bytes as they arrived or were produced. */
  edited?: { original: Uint8Array };
  /** For close frames: the parsed status code and reason. */
  close?: { code: number | null; reason: string };
  /**
   * Set when raw and payload were cut for display (large frames): the real lengths. The full
   * bytes stay with the service and can be fetched on demand.
   */
  truncated?: { rawLength: number; payloadLength: number };
  /**
   * permessage-deflate (RFC 7692): set on every frame of a compressed message. `payload` stays
   * what crossed the wire (unmasked compressed bytes); this holds the plain side.
   */
  deflate?: TracedFrameDeflate;
  /**
   * Proxy (src/core/proxy/relay.ts): this frame is the relay's copy of a frame received on the other
   * leg. The copy names its original (the original is traced before its copy exists); pair both ways
   * by indexing copies on `from`.
   */
  relay?: TracedRelay;
}

/** Where a relayed frame came from, and how long the proxy held it. */
export interface TracedRelay {
  /** The original frame on the other leg: its connection id and frame id. */
  from: { connectionId: string; frameId: number };
  /** Microseconds from the original's arrival (traced) to this copy being sent. */
  delayUs: number;
}

// ------------------------------------------------------------------ extensions (RFC 6455 §9)
//
// permessage-deflate (RFC 7692) in the trace. The handshake event says what was offered, how each
// offer was judged and what was agreed; each frame of a compressed message carries its plain bytes
// beside the compressed wire payload; each compressed message carries both forms, the ratio, the
// tail and whether the LZ77 window carried over from earlier messages. A message sent or received
// uncompressed on a connection with the extension (RSV1 clear) has none of these fields.

/** One parameter of an extension element as on the wire; value null: the parameter has none. */
export interface TracedExtensionParam {
  name: string;
  value: string | null;
}

/**
 * One element of the client's Sec-WebSocket-Extensions and what became of it. RFC 7692 §5: the
 * order is the client's preference, and the server accepts at most one offer of an extension.
 */
export interface TracedExtensionOffer {
  /** Position in the client's list, 0 = most preferred. */
  index: number;
  name: string;
  params: TracedExtensionParam[];
  /**
   * accepted: the server took this one; declined: the server could not take it (an invalid or
   * unsupported parameter, a value it cannot honour; reason says which); not-chosen: a valid offer
   * passed over (an earlier one was accepted, or, seen from the client, the server's answer fits
   * another); unsupported: this endpoint implements no extension of that name.
   */
  verdict: 'accepted' | 'declined' | 'not-chosen' | 'unsupported';
  /** Why, in plain words. */
  reason: string;
  /** Where the rule is, e.g. "RFC 7692 §7.1.2.1". */
  rfcSection: string;
}

/** A parameter of the agreed extension, with what it means for this connection. */
export interface TracedAgreedParam {
  name: string;
  value: string | null;
  /** Plain words, e.g. "the server resets its compressor before each message". */
  meaning: string;
  rfcSection: string;
}

/** The permessage-deflate configuration in force, resolved from the server's response (RFC 7692 §7.1). */
export interface TracedDeflateSettings {
  /** The server starts each message it sends with an empty window (§7.1.1.1). */
  serverNoContextTakeover: boolean;
  /** The client starts each message it sends with an empty window (§7.1.1.2). */
  clientNoContextTakeover: boolean;
  /** Base-2 log of the LZ77 window the server compresses with, 8..15 (15 when not limited, §7.1.2.1). */
  serverMaxWindowBits: number;
  /** Base-2 log of the LZ77 window the client compresses with, 8..15 (§7.1.2.2). */
  clientMaxWindowBits: number;
  /**
   * The windowBits this endpoint gives zlib: 8 is not supported by zlib's raw deflate and becomes
   * 9 (a 9-bit compressor never reaches further back than 250 bytes, within an 8-bit window; a
   * 9-bit decompressor reads anything an 8-bit peer sends), see src/core/extensions/permessage-deflate.ts.
   */
  zlibWindowBits: { compress: number; decompress: number };
}

/** The extension agreed for this connection. */
export interface TracedAgreedExtension {
  name: string;
  /** The response's parameters, each explained. */
  params: TracedAgreedParam[];
  /** Set for permessage-deflate. */
  deflate?: TracedDeflateSettings;
}

/** The extension negotiation of one opening handshake (RFC 6455 §9.1, RFC 7692 §5, §7). */
export interface TracedExtensionNegotiation {
  /** The request's Sec-WebSocket-Extensions as sent (several lines joined with ", "); null: none. */
  offered: string | null;
  /** Each element offered, in order, with its verdict. */
  offers: TracedExtensionOffer[];
  /** The response's Sec-WebSocket-Extensions; null: none, so no extension is in use. */
  response: string | null;
  /** What is in force once open; null: nothing (RSV bits stay 0, payloads as they are). */
  agreed: TracedAgreedExtension | null;
  /** The offered header could not be parsed (server side): what and where. */
  error?: string;
}

/** The plain side of one frame of a compressed message (RFC 7692 §6, §7.2). */
export interface TracedFrameDeflate {
  /** The message's first frame: its RSV1 is the "Per-Message Compressed" bit (§6). */
  first: boolean;
  /**
   * The plain bytes of this frame: received, what its compressed payload inflated to as it
   * arrived (a DEFLATE symbol may straddle two frames, so a frame can give fewer bytes than it
   * "holds"); sent, the piece of the message it was compressed from (each piece is flushed, so it
   * inflates on its own given the frames before it).
   */
  inflated: Uint8Array;
  /** The real length of `inflated` (it may be cut for display). */
  inflatedLength: number;
  /**
   * The message's last frame: the 4 octets 00 00 ff ff were stripped from the end of its payload
   * before sending (§7.2.1) or appended after it before inflating (§7.2.2). null on other frames.
   */
  tail: 'stripped' | 'appended' | null;
}

/** Both forms of one compressed message (RFC 7692 §7.2). The message's size/text/data are the plain form. */
export interface TracedMessageCompression {
  extension: 'permessage-deflate';
  /** The compressed payload as it crossed the wire: every frame's unmasked payload, joined, without the tail. */
  compressed: Uint8Array;
  /** Its real length (compressed may be cut for display). */
  compressedSize: number;
  /** Plain size / compressed size: 4 means four times smaller on the wire. null when compressedSize is 0. */
  ratio: number | null;
  /** "00 00 ff ff" stripped before sending, or appended before inflating (§7.2.1, §7.2.2). */
  tail: 'stripped' | 'appended';
  /**
   * The LZ77 sliding window carried over from earlier messages of this direction (context
   * takeover, §7.1.1): this message could refer back to their bytes. false for the first
   * compressed message, and for every message when no_context_takeover applies.
   */
  contextTakeover: boolean;
  /** How many earlier compressed messages of this direction the window has seen since it was last emptied. */
  windowMessages: number;
  /** Why the window did or did not carry over, in plain words. */
  windowReason: string;
  /** The agreed LZ77 window of this direction (base-2 log, 8..15). */
  windowBits: number;
  /** The sender ended the DEFLATE stream (a block with BFINAL set, §7.2.3.4) inside this message. */
  bfinal?: boolean;
}

export type TraceBody =
  | { type: 'connection-opened'; role: Role; local: string; remote: string; url?: string }
  | { type: 'bytes'; direction: Direction; bytes: Uint8Array }
  | { type: 'http-head'; direction: Direction; head: TracedHead }
  /** wss:// (RFC 6455 §10.6): the TLS handshake's outcome, once per connection, before the opening handshake. */
  | { type: 'tls'; tls: TlsInfo }
  | {
      type: 'handshake';
      /** Which side ran the checks. */
      side: Role;
      ok: boolean;
      status: number;
      checks: HandshakeCheck[];
      accept: AcceptComputation | null;
      /** The Sec-WebSocket-Accept value on the wire (client side), for the comparison step. */
      acceptOnWire?: string;
      subprotocol: string | null;
      /** Sec-WebSocket-Extensions: the offers, their verdicts and what was agreed (absent: deflate off and nothing offered). */
      extensions?: TracedExtensionNegotiation;
      error?: { code: string; status: number; message: string; rfcSection: string };
    }
  | { type: 'frame'; direction: Direction; frame: TracedFrame }
  /** truncated: text/data hold only the first bytes of a large message (size is the real size). */
  | {
      type: 'message'; direction: Direction; opcode: number; size: number; text?: string; data?: Uint8Array; frameIds: number[]; truncated?: boolean;
      /** A compressed message (permessage-deflate): its wire form beside the plain one in text/data. */
      compression?: TracedMessageCompression;
    }
  | { type: 'state'; from: ConnectionState; to: ConnectionState; reason: string }
  /** observed: the observe policy kept the connection open after it. */
  | { type: 'violation'; direction: Direction; frameId?: number; violation: TracedViolation; observed?: boolean }
  | { type: 'connection-closed'; wasClean: boolean; code: number; reason: string; detail: string }
  | { type: 'error'; message: string }
  | { type: 'note'; text: string };

/**
 * A message event's body (hot path: one per message traced), built without spreads: `text` for a
 * text message, otherwise `data`; `compression` for a compressed one. The same fields, in the same
 * order, as `{ type, direction, opcode, size, frameIds, text | data, compression? }`.
 */
export function messageBody(direction: Direction, opcode: number, data: Uint8Array, frameIds: number[], text: string | undefined, compression: TracedMessageCompression | undefined): TraceBody {
  const size = data.length;
  if (compression) {
    return text !== undefined
      ? { type: 'message', direction, opcode, size, frameIds, text, compression }
      : { type: 'message', direction, opcode, size, frameIds, data, compression };
  }
  return text !== undefined ? { type: 'message', direction, opcode, size, frameIds, text } : { type: 'message', direction, opcode, size, frameIds, data };
}

/**
 * The message event a message row stands for (TraceRowListener.messageRow's values): frameCount
 * frame ids from firstFrameId, its text or its bytes. What a row listener builds when it keeps one
 * as an object.
 */
export function messageFromRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array): TraceEvent {
  const frameIds = Array.from({ length: frameCount }, (_, k) => firstFrameId + k);
  return text !== undefined
    ? { type: 'message', direction, opcode, size, frameIds, text, seq, time, connectionId }
    : { type: 'message', direction, opcode, size, frameIds, data, seq, time, connectionId };
}

/**
 * The connection id of trace events about the service itself rather than one connection, such
 * as the last resort's report of an error nobody caught (src/service/last-resort.ts).
 */
export const SERVICE_TRACE_ID = 'service';

export type TraceEvent = TraceBody & {
  seq: number;
  /** Milliseconds since the epoch, sub-millisecond precision. */
  time: number;
  connectionId: string;
};

export type TraceType = TraceBody['type'];
export type TraceListener = (event: TraceEvent) => void;

/**
 * A listener that also takes the commonest events as rows of values, with no event object built
 * (TraceLog): a frame whose every field follows from its wire bytes, a message with consecutive
 * frame ids and no compression. Reading such a row back must give the event the object path
 * would have given (same fields, same values, same bytes). Anything else still comes to push().
 */
export interface TraceRowListener {
  push(event: TraceEvent): void;
  /**
   * A frame: `raw` its whole wire bytes (header fields read back from them, §5.2), `payload` its
   * unmasked payload (payload.length is the header's payload length); `relay`: a proxy's copy
   * names its original (TracedFrame.relay).
   */
  frameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void;
  /**
   * A message of frameCount frames numbered firstFrameId, firstFrameId + 1, …: its text (a text
   * message) or its bytes. payloadsOfFrames: data is exactly those frames' payloads, joined.
   */
  messageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames: boolean): void;
  /**
   * A raw chunk the socket delivered or was handed (the 'bytes' event's fields). A listener
   * without it gets that event as an object (push).
   */
  bytesRow?(seq: number, time: number, connectionId: string, direction: Direction, bytes: Uint8Array): void;
}

/**
 * What forConnection() returns: the sink for event bodies, and, for the protocol's hot path, the
 * same connection's row emitters (used only while rowsOnly(): every listener takes rows).
 */
export interface TraceSink {
  (body: TraceBody): void;
  rows?: TraceRows;
}

/** One connection's row emitters, as the protocol uses them (ConnectionTraceRows; a proxy's frame pairing wraps them). */
export interface TraceRows {
  /** Rows may be emitted now (every listener takes them). */
  readonly ready: boolean;
  frame(direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void;
  /** payloadsOfFrames: data is exactly those frames' payloads, joined (TraceRowListener.messageRow). */
  message(direction: Direction, opcode: number, firstFrameId: number, frameCount: number, text: string | undefined, data: Uint8Array, payloadsOfFrames?: boolean): void;
  /** A raw chunk read or written (the 'bytes' event). */
  bytes(direction: Direction, bytes: Uint8Array): void;
}

/** One connection's row emitters (see TraceRowListener): stamped like emit() stamps bodies. */
export class ConnectionTraceRows implements TraceRows {
  constructor(private readonly tracer: Tracer, private readonly connectionId: string) {}

  /** Every listener takes rows (and there is one at least): emit rows, build no objects. */
  get ready(): boolean {
    return this.tracer.rowsOnly;
  }

  frame(direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    this.tracer.emitFrameRow(this.connectionId, direction, frameId, raw, payload, relay);
  }

  message(direction: Direction, opcode: number, firstFrameId: number, frameCount: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    this.tracer.emitMessageRow(this.connectionId, direction, opcode, firstFrameId, frameCount, text, data, payloadsOfFrames);
  }

  bytes(direction: Direction, bytes: Uint8Array): void {
    this.tracer.emitBytesRow(this.connectionId, direction, bytes);
  }
}

/**
 * The clock events are stamped with (one read per event). In Node the global `performance` is an
 * accessor: naming it calls a getter every time, so it is held here once (the same object, the same
 * clock as every other performance.now() in the process, a proxy's frame pairing included).
 */
const clock = globalThis.performance;
/** performance.timeOrigin is fixed for the process; its getter costs as much as a clock read. */
const timeOrigin = clock.timeOrigin;

/** Stamps trace bodies and hands them to listeners. One per server or client host. */
export class Tracer {
  private seq = 0;
  /** Replaced, never changed in place: an emit under way keeps calling the listeners it started with. */
  private listeners: readonly TraceListener[] = [];
  /** The row listeners among them (subscribeRows); rowsOnly while they are all of them. */
  private rowListeners: readonly TraceRowListener[] = [];
  /** Every listener takes rows (and there is at least one): the protocol emits rows, not objects. */
  rowsOnly = false;

  subscribe(listener: TraceListener): () => void {
    return this.add(listener, null);
  }

  /**
   * Subscribes a listener that keeps rows (TraceLog): while every listener is one, the protocol's
   * commonest events reach it as rows (frameRow, messageRow) with no event object built.
   */
  subscribeRows(listener: TraceRowListener): () => void {
    return this.add((event) => listener.push(event), listener);
  }

  private add(listener: TraceListener, rows: TraceRowListener | null): () => void {
    this.listeners = [...this.listeners, listener];
    if (rows) this.rowListeners = [...this.rowListeners, rows];
    this.rowsOnly = this.rowListeners.length === this.listeners.length;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners = [...this.listeners.slice(0, at), ...this.listeners.slice(at + 1)];
      if (rows) this.rowListeners = this.rowListeners.filter((r) => r !== rows);
      this.rowsOnly = this.listeners.length > 0 && this.rowListeners.length === this.listeners.length;
    };
  }

  get active(): boolean {
    return this.listeners.length > 0;
  }

  /**
   * The last frame stamped, if it is the last event stamped: a message traced right after its last
   * frame (the protocol traces a frame, then the message it completes or carries) takes that frame's
   * time. It is the instant the message arrived, or went out: its last frame did. One clock read
   * less per message, and a message that fits one frame can share its frame's row (TraceLog).
   */
  private lastFrameSeq = -1;
  private lastFrameId = 0;
  private lastFrameConn = '';
  private lastFrameTime = 0;

  private frameStamped(seq: number, connectionId: string, frameId: number, time: number): void {
    this.lastFrameSeq = seq;
    this.lastFrameConn = connectionId;
    this.lastFrameId = frameId;
    this.lastFrameTime = time;
  }

  /** The time for a message whose last frame is lastFrameId (before its seq is taken). */
  private messageTime(connectionId: string, lastFrameId: number | undefined): number {
    return this.lastFrameSeq === this.seq && lastFrameId === this.lastFrameId && connectionId === this.lastFrameConn ? this.lastFrameTime : timeOrigin + clock.now();
  }

  emit(connectionId: string, body: TraceBody): void {
    const listeners = this.listeners;
    if (listeners.length === 0) return;
    // Every emitter builds a fresh body: stamp it in place rather than copying it.
    const event = body as TraceEvent;
    // (frameIds read defensively: an emitter outside the protocol must not make the stamp throw.)
    const time = event.type === 'message' ? this.messageTime(connectionId, event.frameIds?.[event.frameIds.length - 1]) : timeOrigin + clock.now();
    event.seq = ++this.seq;
    event.time = time;
    event.connectionId = connectionId;
    if (event.type === 'frame') this.frameStamped(event.seq, connectionId, event.frame.frameId, time);
    for (let i = 0; i < listeners.length; i++) listeners[i]!(event);
  }

  /** A frame as a row (ConnectionTraceRows.frame): only while rowsOnly. */
  emitFrameRow(connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    const seq = ++this.seq;
    const time = timeOrigin + clock.now();
    this.frameStamped(seq, connectionId, frameId, time);
    const rows = this.rowListeners;
    for (let i = 0; i < rows.length; i++) rows[i]!.frameRow(seq, time, connectionId, direction, frameId, raw, payload, relay);
  }

  /** A message as a row (ConnectionTraceRows.message): only while rowsOnly. */
  emitMessageRow(connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, text: string | undefined, data: Uint8Array, payloadsOfFrames: boolean): void {
    const time = this.messageTime(connectionId, firstFrameId + frameCount - 1);
    const seq = ++this.seq;
    const rows = this.rowListeners;
    for (let i = 0; i < rows.length; i++) rows[i]!.messageRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, data.length, text, data, payloadsOfFrames);
  }

  /** A raw chunk as a row (ConnectionTraceRows.bytes): only while rowsOnly. A listener without bytesRow gets the event. */
  emitBytesRow(connectionId: string, direction: Direction, bytes: Uint8Array): void {
    const seq = ++this.seq;
    const time = timeOrigin + clock.now();
    const rows = this.rowListeners;
    for (let i = 0; i < rows.length; i++) {
      const listener = rows[i]!;
      if (listener.bytesRow) listener.bytesRow(seq, time, connectionId, direction, bytes);
      else listener.push({ type: 'bytes', direction, bytes, seq, time, connectionId });
    }
  }

  /** A sink bound to one connection, as the protocol takes it, with its row emitters. */
  forConnection(connectionId: string): TraceSink {
    const sink: TraceSink = (body) => this.emit(connectionId, body);
    sink.rows = new ConnectionTraceRows(this, connectionId);
    return sink;
  }
}

/** JSON for one event: Uint8Array fields become {"hex": "..."}. */
export function traceEventToJson(event: TraceEvent): string {
  return stringifyWithBytes(event, (bytes) => ({ hex: toHex(bytes) }));
}
