/**
 * The wire log of one conformance case: every chunk of bytes written and read, with its time,
 * as trace events (the same TraceEvent shapes the inspector renders), plus the HTTP heads, the
 * handshake checks, each frame decoded, and notes for the steps and the verdict.
 *
 * Bounded: bytes beyond maxBytes per case (e.g. the 16 MiB cases) are counted, not kept; such an
 * event carries omittedBytes (how many of its bytes are not in the log).
 */

import type { HandshakeCheck, AcceptComputation } from '../handshake-types.ts';
import type { HttpHead } from '../http.ts';
import type { Direction, TraceBody, TracedFrame, TraceEvent } from '../trace.ts';
import type { FrameHeader } from '../frame-codec.ts';

export type WireLogEvent = TraceEvent & { omittedBytes?: number };

/** Bytes of one frame's payload kept in a 'frame' event (the 'bytes' events hold the wire itself). */
const FRAME_PAYLOAD_CAP = 4096;
/** Payload bytes kept across all 'frame' events of a case (they repeat what the 'bytes' events hold). */
const FRAME_BUDGET = 64 * 1024;

export interface WireLogOptions {
  connectionId: string;
  /** Most payload bytes kept across the case's 'bytes' events (default 256 KiB). 0 keeps none. */
  maxBytes?: number;
  /** false: keep nothing at all (events stays empty). */
  enabled?: boolean;
}

export class WireLog {
  readonly events: WireLogEvent[] = [];
  private seq = 0;
  private budget: number;
  private frameBudget = FRAME_BUDGET;
  private frameId = 0;
  private readonly enabled: boolean;
  private readonly connectionId: string;

  constructor(options: WireLogOptions) {
    this.connectionId = options.connectionId;
    this.budget = options.maxBytes ?? 256 * 1024;
    this.enabled = options.enabled ?? true;
  }

  private push(body: TraceBody, omittedBytes = 0): void {
    if (!this.enabled) return;
    const event = { ...body, seq: ++this.seq, time: performance.timeOrigin + performance.now(), connectionId: this.connectionId } as WireLogEvent;
    if (omittedBytes > 0) event.omittedBytes = omittedBytes;
    this.events.push(event);
  }

  bytes(direction: Direction, bytes: Uint8Array): void {
    if (!this.enabled) return;
    const keep = Math.min(bytes.length, this.budget);
    this.budget -= keep;
    this.push({ type: 'bytes', direction, bytes: bytes.slice(0, keep) }, bytes.length - keep);
  }

  opened(role: 'server' | 'client', local: string, remote: string, url?: string): void {
    this.push({ type: 'connection-opened', role, local, remote, ...(url ? { url } : {}) });
  }

  head(direction: Direction, head: HttpHead): void {
    const startLine = head.kind === 'request' ? `${head.method} ${head.target} ${head.version}` : `${head.version} ${head.status} ${head.reason}`.trimEnd();
    this.push({ type: 'http-head', direction, head: { kind: head.kind, startLine, headers: head.headers, raw: head.raw } });
  }

  handshake(side: 'server' | 'client', ok: boolean, status: number, checks: HandshakeCheck[], accept: AcceptComputation | null, error?: { code: string; status: number; message: string; rfcSection: string }): void {
    this.push({ type: 'handshake', side, ok, status, checks, accept, subprotocol: null, ...(error ? { error } : {}) });
  }

  /** A frame, decoded: incoming as parsed, outgoing as encoded (payload unmasked, capped). */
  frame(direction: Direction, header: FrameHeader, payload: Uint8Array, raw: Uint8Array | null): void {
    if (!this.enabled) return;
    const keep = Math.min(payload.length, FRAME_PAYLOAD_CAP, this.frameBudget);
    this.frameBudget -= keep;
    const rawKeep = raw ? raw.subarray(0, Math.min(raw.length, header.headerLength + keep)) : new Uint8Array(0);
    const frame: TracedFrame = {
      frameId: ++this.frameId, fin: header.fin, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3, opcode: header.opcode,
      masked: header.masked, maskKey: header.maskKey, lengthField: header.lengthField, payloadLength: header.payloadLength,
      headerLength: header.headerLength, raw: rawKeep.slice(), payload: payload.slice(0, keep),
      ...(keep < payload.length || (raw !== null && raw.length > rawKeep.length) ? { partial: true } : {}),
    };
    this.push({ type: 'frame', direction, frame }, payload.length - keep);
  }

  note(text: string): void {
    this.push({ type: 'note', text });
  }

  error(message: string): void {
    this.push({ type: 'error', message });
  }

  closed(wasClean: boolean, code: number, reason: string, detail: string): void {
    this.push({ type: 'connection-closed', wasClean, code, reason, detail });
  }
}

/** The header of a frame we encoded ourselves (for the outgoing wire log; no re-parse of big payloads). */
export function headerOfEncoded(bytes: Uint8Array): FrameHeader {
  const b0 = bytes[0] ?? 0;
  const b1 = bytes[1] ?? 0;
  const lengthField = b1 & 0x7f;
  const masked = (b1 & 0x80) !== 0;
  const ext = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
  const headerLength = 2 + ext + (masked ? 4 : 0);
  let declared = lengthField;
  if (ext === 2) declared = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  else if (ext === 8) {
    let n = 0;
    for (let i = 2; i < 10; i++) n = n * 256 + (bytes[i] ?? 0);
    declared = n;
  }
  return {
    fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode: b0 & 0x0f,
    masked, lengthField, payloadLength: declared,
    maskKey: masked ? bytes.slice(2 + ext, 2 + ext + 4) : null, headerLength,
  };
}
