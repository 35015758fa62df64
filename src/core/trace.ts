/**
 * The trace: one typed, serialisable event for everything that crosses the wire.
 * The protocol emits event bodies; a Tracer stamps them with a sequence number, a time and
 * the connection id. The UI (over IPC, structured clone keeps Uint8Array) and the CLI
 * (JSON lines, bytes as hex) both consume the same events.
 */

import { toHex } from './bytes.ts';
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
  headerLength: number;
  /** The wire bytes (for an incomplete frame: those received before the connection failed). */
  raw: Uint8Array;
  /** Unmasked payload. */
  payload: Uint8Array;
  /** The frame did not arrive whole (the connection failed part-way through it). */
  partial?: boolean;
  /** The violation this frame committed, if any. */
  violation?: TracedViolation;
  /** For close frames: the parsed status code and reason. */
  close?: { code: number | null; reason: string };
  /**
   * Set when raw and payload were cut for display (large frames): the real lengths. The full
   * bytes stay with the service and can be fetched on demand.
   */
  truncated?: { rawLength: number; payloadLength: number };
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
      error?: { code: string; status: number; message: string; rfcSection: string };
    }
  | { type: 'frame'; direction: Direction; frame: TracedFrame }
  /** truncated: text/data hold only the first bytes of a large message (size is the real size). */
  | { type: 'message'; direction: Direction; opcode: number; size: number; text?: string; data?: Uint8Array; frameIds: number[]; truncated?: boolean }
  | { type: 'state'; from: ConnectionState; to: ConnectionState; reason: string }
  /** observed: the observe policy kept the connection open after it. */
  | { type: 'violation'; direction: Direction; frameId?: number; violation: TracedViolation; observed?: boolean }
  | { type: 'connection-closed'; wasClean: boolean; code: number; reason: string; detail: string }
  | { type: 'error'; message: string }
  | { type: 'note'; text: string };

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

/** Stamps trace bodies and hands them to listeners. One per server or client host. */
export class Tracer {
  private seq = 0;
  private listeners = new Set<TraceListener>();

  subscribe(listener: TraceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get active(): boolean {
    return this.listeners.size > 0;
  }

  emit(connectionId: string, body: TraceBody): void {
    if (this.listeners.size === 0) return;
    // Every emitter builds a fresh body: stamp it in place rather than copying it.
    const event = body as TraceEvent;
    event.seq = ++this.seq;
    event.time = performance.timeOrigin + performance.now();
    event.connectionId = connectionId;
    for (const listener of this.listeners) listener(event);
  }

  /** A sink bound to one connection, as the protocol takes it. */
  forConnection(connectionId: string): (body: TraceBody) => void {
    return (body) => this.emit(connectionId, body);
  }
}

/** JSON for one event: Uint8Array fields become {"hex": "..."}. */
export function traceEventToJson(event: TraceEvent): string {
  return JSON.stringify(event, function (this: Record<string, unknown>, key: string, value: unknown) {
    // Read the original: a node Buffer's toJSON has already run on `value`.
    const original = this[key];
    if (original instanceof Uint8Array) return { hex: toHex(original) };
    return value;
  });
}
