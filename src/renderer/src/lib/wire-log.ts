/**
 * A conformance case's wire log, made ready for the frame inspector. The battery records every
 * frame both ways as trace events (connectionId `conformance:<case id>`), but keeps only what a
 * wire log needs: no parsed close body, no reassembled messages, and payloads capped per frame.
 * Here, in the renderer only, each frame gets what a live connection's frames carry:
 *
 * - close frames: the status code and reason, parsed from the payload (§5.5.1);
 * - frames whose payload the log cut: `truncated` with the real lengths (not `partial`, which
 *   means the frame never arrived whole);
 * - data frames: 'message' events that tie fragments together (§5.4), so the anatomy can link them.
 */
import { utf8DecodeLenient } from '../../../core/bytes.ts';
import type { Direction, TraceEvent, TracedFrame } from '../../../core/trace.ts';

export type WireNote = { time: number; text: string; error: boolean };

export interface PreparedWireLog {
  events: TraceEvent[];
  /** The case's narrative: its steps, what was expected, the verdict. */
  notes: WireNote[];
  opened?: Extract<TraceEvent, { type: 'connection-opened' }>;
}

/** The status code and reason of a close frame's payload, leniently (the log shows, it does not judge). */
export function parseClose(payload: Uint8Array): { code: number | null; reason: string } {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: (payload[0]! << 8) | payload[1]!, reason: utf8DecodeLenient(payload.subarray(2)) };
}

/** Close codes that mean "the connection is being failed" rather than a normal goodbye (§7.4.1). */
export function isFailureCloseCode(code: number | null | undefined): code is number {
  return code !== null && code !== undefined && code !== 1000 && code !== 1001;
}

function enrichFrame(frame: TracedFrame, omittedBytes: number): TracedFrame {
  let out = frame;
  if (frame.opcode === 8 && !frame.close && frame.payload.length === frame.payloadLength) {
    out = { ...out, close: parseClose(frame.payload) };
  }
  if (omittedBytes > 0 && !frame.truncated) {
    const { partial: _cut, ...rest } = out;
    out = { ...rest, truncated: { rawLength: frame.headerLength + frame.payloadLength, payloadLength: frame.payloadLength } };
  }
  return out;
}

interface Assembling {
  opcode: number;
  frameIds: number[];
  size: number;
  parts: Uint8Array[];
  truncated: boolean;
  seq: number;
  time: number;
}

/** Rebuilds the events for one pseudo-connection, ready for the store's applyBatch. */
export function prepareWireLog(events: readonly TraceEvent[], connectionId: string): PreparedWireLog {
  const out: TraceEvent[] = [];
  const notes: WireNote[] = [];
  let opened: PreparedWireLog['opened'];
  const hasMessages = events.some((e) => e.type === 'message');
  const assembling: Record<Direction, Assembling | null> = { in: null, out: null };

  const finish = (direction: Direction, a: Assembling) => {
    const data = new Uint8Array(a.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of a.parts) {
      data.set(p, at);
      at += p.length;
    }
    out.push({
      type: 'message', direction, opcode: a.opcode, size: a.size, frameIds: a.frameIds, seq: a.seq, time: a.time, connectionId,
      ...(a.opcode === 1 ? { text: utf8DecodeLenient(data) } : { data }),
      ...(a.truncated ? { truncated: true } : {}),
    });
  };

  for (const event of events) {
    if (event.type === 'bytes') continue; // the frames and heads carry the same bytes, decoded
    const omitted = (event as { omittedBytes?: number }).omittedBytes ?? 0;
    if (event.type === 'frame') {
      const frame = enrichFrame(event.frame, omitted);
      out.push({ ...event, connectionId, frame });
      if (hasMessages) continue;
      const f = frame;
      const current = assembling[event.direction];
      if (f.opcode === 1 || f.opcode === 2) {
        const a: Assembling = { opcode: f.opcode, frameIds: [f.frameId], size: f.payloadLength, parts: [f.payload], truncated: !!f.truncated, seq: event.seq, time: event.time };
        if (f.fin) finish(event.direction, a);
        assembling[event.direction] = f.fin ? null : a;
      } else if (f.opcode === 0 && current) {
        current.frameIds.push(f.frameId);
        current.size += f.payloadLength;
        current.parts.push(f.payload);
        current.truncated ||= !!f.truncated;
        current.seq = event.seq;
        current.time = event.time;
        if (f.fin) {
          finish(event.direction, current);
          assembling[event.direction] = null;
        }
      }
      continue;
    }
    if (event.type === 'note' || event.type === 'error') {
      notes.push({ time: event.time, text: event.type === 'note' ? event.text : event.message, error: event.type === 'error' });
    }
    if (event.type === 'connection-opened') opened = { ...event, connectionId };
    out.push({ ...event, connectionId });
  }
  return { events: out, notes, ...(opened ? { opened } : {}) };
}
