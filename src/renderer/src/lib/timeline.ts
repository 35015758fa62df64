/**
 * One timeline per connection (issue 14): frames, or messages with their frames folded in, and
 * the connection's lifecycle (TCP connected, TLS, handshake request and response, open, close
 * sent and received, TCP closed, errors) in the same list; times absolute, relative to the
 * connection, or as the delta from the row before.
 */
import { concatBytes, toHex, utf8DecodeLenient } from '../../../core/bytes.ts';
import type { TraceEvent } from '../../../core/trace.ts';
import type { FrameRow } from '../store/frame-row.ts';
import { compilePayloadSearch, SearchError, type PayloadSearch } from '../../../shared/payload-search.ts';
import type { FilterSubject } from './display-filter.ts';

export type TimelineMode = 'frames' | 'messages';
export type TimeMode = 'absolute' | 'connection' | 'delta';

/** One lifecycle step of a connection, as a row of its timeline. */
export interface LifecycleRow {
  kind: 'lifecycle';
  seq: number;
  time: number;
  /** Short label: "TCP connected", "handshake request received", "open", "TCP closed"… */
  label: string;
  detail: string;
  error: boolean;
}

/** Lifecycle rows kept per connection (a long session's errors stay bounded). */
export const MAX_LIFECYCLE_ROWS = 200;

/** An opened recording's connection ids start with its prefix, "rec1:" (RecordingInfo.prefix). */
const OPENED_RECORDING_ID = /^rec\d+:/;

/**
 * The lifecycle row a trace event makes, if any (frames and messages are rows of their own). Notes
 * are rows only in an opened recording: there they say what the file's reader found (a capture's
 * gaps and where reading resumed, reassembled IP fragments, a mid-stream start), which the frames
 * alone do not show.
 */
export function lifecycleRow(event: TraceEvent, role: 'server' | 'client' | undefined): LifecycleRow | null {
  // Frames, messages and bytes are most of the trace: no allocation for them.
  if (event.type === 'frame' || event.type === 'message' || event.type === 'bytes') return null;
  if (event.type === 'note') return OPENED_RECORDING_ID.test(event.connectionId) ? { kind: 'lifecycle', seq: event.seq, time: event.time, error: false, label: 'note', detail: event.text } : null;
  const base = { kind: 'lifecycle' as const, seq: event.seq, time: event.time, error: false };
  const us = (direction: 'in' | 'out') => (direction === 'in' ? 'received' : 'sent');
  switch (event.type) {
    case 'connection-opened':
      return { ...base, label: 'TCP connected', detail: event.role === 'server' ? `from ${event.remote} (to ${event.local})` : `to ${event.remote}${event.url ? ` for ${event.url}` : ''}` };
    case 'tls':
      return { ...base, label: event.tls.ok ? 'TLS established' : 'TLS failed', detail: event.tls.ok ? `${event.tls.protocol ?? ''} ${event.tls.cipher?.standardName ?? ''}`.trim() : event.tls.failure?.summary ?? '', error: !event.tls.ok };
    case 'http-head':
      // The opening handshake's HTTP request and response (§4.1, §4.2.2).
      return { ...base, label: `HTTP ${event.head.kind} ${us(event.direction)}`, detail: `handshake: ${event.head.startLine}` };
    case 'handshake':
      return event.ok
        ? { ...base, label: 'handshake accepted', detail: `${event.status}${event.subprotocol ? `, subprotocol ${event.subprotocol}` : ''}${event.extensions?.agreed ? `, ${event.extensions.agreed.name}` : ''}` }
        : { ...base, label: 'handshake failed', detail: event.error ? `${event.error.message} (${event.error.rfcSection})` : String(event.status), error: true };
    case 'state':
      if (event.to === 'OPEN') return { ...base, label: 'open', detail: event.reason };
      if (event.to === 'CLOSING') return { ...base, label: /^peer sent Close/.test(event.reason) ? 'close received' : /^failed/.test(event.reason) ? 'failing' : 'close sent', detail: event.reason, error: /^failed/.test(event.reason) };
      return null; // CLOSED comes with connection-closed, more precisely
    case 'connection-closed':
      return { ...base, label: 'TCP closed', detail: `${event.code}${event.reason ? ` "${event.reason}"` : ''}, ${event.wasClean ? 'clean' : 'not clean'}: ${event.detail}`, error: !event.wasClean && event.code !== 1000 };
    case 'violation':
      return { ...base, label: event.observed ? 'violation (observed)' : 'violation', detail: `${event.violation.code} (${event.violation.rfcSection}): ${event.violation.message}`, error: true };
    case 'error':
      return { ...base, label: 'error', detail: event.message, error: true };
    default:
      void role;
      return null;
  }
}

const hexOf = (bytes: Uint8Array) => toHex(bytes, ' ');

/** A frame as the display filter and the search see it. */
export function frameSubject(row: FrameRow): FilterSubject {
  return {
    opcode: row.opcode,
    length: row.payloadLength,
    direction: row.direction,
    violation: row.violation !== undefined,
    compressed: row.compressed,
    fin: row.fin, masked: row.masked, rsv1: row.rsv1, rsv2: row.rsv2, rsv3: row.rsv3,
    connectionId: row.connectionId,
    id: row.frameId,
    frames: 1,
    edited: row.editedOriginal !== undefined,
    closeCode: row.close?.code ?? null,
    payloadText: () => (row.close ? row.preview : row.messageOpcode === 2 && row.opcode !== 9 && row.opcode !== 10 ? hexOf(row.plainPayload()) : utf8DecodeLenient(row.plainPayload())),
    payloadBytes: () => row.plainPayload(),
    wireBytes: () => row.wireBytes(),
  };
}

/** One message: a data frame and its continuations (§5.4), or one control frame. */
export class MessageItem {
  readonly kind = 'message' as const;
  readonly frames: FrameRow[] = [];
  constructor(first: FrameRow) {
    this.frames.push(first);
  }
  get first(): FrameRow { return this.frames[0]!; }
  get last(): FrameRow { return this.frames[this.frames.length - 1]!; }
  get connectionId(): string { return this.first.connectionId; }
  get frameId(): number { return this.first.frameId; }
  get direction(): 'in' | 'out' { return this.first.direction; }
  get opcode(): number { return this.first.opcode === 0 ? this.first.messageOpcode : this.first.opcode; }
  get complete(): boolean { return this.last.fin || this.opcode >= 8; }
  get length(): number { return this.frames.reduce((n, f) => n + f.payloadLength, 0); }
  get time(): number { return this.last.time; }
  /** Its first frame's place in the trace (lifecycle rows are placed by it). */
  get seq(): number { return this.first.seq; }
  get key(): string { return this.first.key; }
  /** The payload as held: every frame's, joined (each frame is held up to 64 KiB). */
  payload(): Uint8Array {
    return this.frames.length === 1 ? this.first.plainPayload() : concatBytes(this.frames.map((f) => f.plainPayload()));
  }
}

export function messageSubject(m: MessageItem): FilterSubject {
  const f = m.first;
  return {
    opcode: m.opcode,
    length: m.length,
    direction: m.direction,
    violation: m.frames.some((r) => r.violation !== undefined),
    compressed: m.frames.some((r) => r.compressed),
    fin: m.last.fin, masked: f.masked, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3,
    connectionId: m.connectionId,
    id: m.frameId,
    frames: m.frames.length,
    edited: m.frames.some((r) => r.editedOriginal !== undefined),
    closeCode: f.close?.code ?? null,
    payloadText: () => (f.close ? f.preview : m.opcode === 2 ? hexOf(m.payload()) : utf8DecodeLenient(m.payload())),
    payloadBytes: () => m.payload(),
    wireBytes: () => concatBytes(m.frames.map((r) => r.wireBytes())),
  };
}

/**
 * The search box: plain text (any case) anywhere in the payload as held, `/regex/flags` (run in
 * linear time), or `hex:81 05` (bytes in the payload or on the wire). Not only the preview: a
 * needle 300 characters into a JSON message is found.
 */
export type SearchMatcher = (s: FilterSubject) => boolean;

export function compileSearch(search: string): { match: SearchMatcher | null; error: string | null } {
  let compiled: PayloadSearch | null;
  try {
    compiled = compilePayloadSearch(search);
  } catch (e) {
    if (e instanceof SearchError) return { match: null, error: e.message };
    throw e;
  }
  if (!compiled) return { match: null, error: null };
  if (compiled.kind === 'bytes') return { match: (s) => compiled.matchBytes(s.payloadBytes()) || compiled.matchBytes(s.wireBytes()), error: null };
  return { match: (s) => compiled.matchText(s.payloadText()), error: null };
}

/** How a row's time reads in each mode (ms since the epoch in, words out). */
export function formatTime(time: number, mode: TimeMode, connectionStart: number, previous: number | null): string {
  if (mode === 'absolute') {
    const d = new Date(time);
    return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  }
  const delta = mode === 'connection' ? time - connectionStart : previous === null ? 0 : time - previous;
  const sign = delta < 0 ? '-' : '+';
  const ms = Math.abs(delta);
  return ms < 1000 ? `${sign}${ms.toFixed(ms < 10 ? 2 : 1)} ms` : `${sign}${(ms / 1000).toFixed(3)} s`;
}

/**
 * Where lifecycle rows go among the list's rows (both in wire order): the index in the merged
 * list of each lifecycle row, found by its trace sequence number. Few lifecycle rows, so a
 * binary search each keeps a batch's cost independent of the list's length.
 */
export function lifecyclePositions(rows: ReadonlyArray<{ seq: number }>, lifecycle: ReadonlyArray<{ seq: number }>): number[] {
  const positions: number[] = [];
  lifecycle.forEach((l, k) => {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid]!.seq < l.seq) lo = mid + 1;
      else hi = mid;
    }
    positions.push(lo + k);
  });
  return positions;
}
