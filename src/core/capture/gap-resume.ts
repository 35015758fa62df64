/**
 * Reading a direction again after a gap (bytes the capture lost): the replay starts a fresh
 * receiver at the frame boundary the capture reader resynchronised at (frame-resync.ts), since the
 * frame and message in progress when the bytes went missing cannot be finished.
 *
 * What a gap does to permessage-deflate (RFC 7692): with context takeover, a message may refer back
 * to the plain bytes of earlier messages (the LZ77 sliding window, §7.2.2 "the compressed data of
 * ... messages ... is used as the base of the sliding window"), and some of those were in the
 * gap, so the direction's inflater can never be trusted again: its compressed messages are shown
 * as the compressed bytes that crossed the wire, and the rules that need the plain bytes (RSV1
 * without an inflater, UTF-8 of a text message) are not blamed on the peer. With
 * "<sender>_no_context_takeover" (§7.1.1.1, §7.1.1.2) every message starts from an empty window,
 * so a fresh inflater reads the messages after the gap exactly.
 */

import { concatBytes } from '../bytes.ts';
import type { TracedDeflateSettings, TraceBody } from '../trace.ts';
import type { StreamDirection } from './recording.ts';

/** True when this direction's sender empties its window before every message (its messages inflate on their own). */
export function deflateSurvivesGap(settings: TracedDeflateSettings, dir: StreamDirection): boolean {
  return dir === 'c2s' ? settings.clientNoContextTakeover : settings.serverNoContextTakeover;
}

/** What a compressed payload read without its inflater trips over: not the sender's fault. */
const CONTEXT_VIOLATIONS = new Set(['WS_ERR_RESERVED_BITS', 'WS_ERR_INVALID_UTF8']);

type Violation = Extract<TraceBody, { type: 'violation' }>;

/**
 * Wraps a receiver's trace callback for a direction read on after a gap without its inflater:
 * frames of compressed messages (RSV1 on the first, RFC 7692 §6) keep their wire payload, their
 * messages carry the compressed bytes (no text), and the violations that only the missing
 * context causes are dropped; every other event, and every other violation, is passed on.
 * `note` is called once, with the explanation, at the first compressed message.
 */
export function contextLostTrace(forward: (body: TraceBody) => void, sender: 'client' | 'server', note: (text: string) => void): (body: TraceBody) => void {
  const compressedFrames = new Set<number>();
  const payloads = new Map<number, Uint8Array>();
  const traced = new Set<number>();
  let pending: Violation[] = [];
  let inCompressed = false;
  let noted = false;
  return (body) => {
    if (body.type === 'frame' && body.direction === 'in') {
      const frame = body.frame;
      if (frame.opcode < 8) {
        if (frame.opcode !== 0) inCompressed = frame.rsv1;
        if (inCompressed) {
          compressedFrames.add(frame.frameId);
          payloads.set(frame.frameId, frame.payload);
        }
        if (frame.fin) inCompressed = false;
      }
      const blameless = compressedFrames.has(frame.frameId);
      traced.add(frame.frameId);
      forward(blameless && frame.violation && CONTEXT_VIOLATIONS.has(frame.violation.code) ? { ...body, frame: withoutViolation(frame) } : body);
      // Violations found while the frame was read, before it was traced: decided now.
      const mine = pending.filter((v) => v.frameId === frame.frameId);
      pending = pending.filter((v) => v.frameId !== frame.frameId);
      if (!blameless) for (const v of mine) forward(v);
      return;
    }
    if (body.type === 'message' && body.direction === 'in' && body.frameIds.some((id) => compressedFrames.has(id))) {
      const { text: _text, compression: _compression, ...rest } = body;
      const data = concatBytes(body.frameIds.map((id) => payloads.get(id) ?? new Uint8Array(0)));
      for (const id of body.frameIds) payloads.delete(id);
      if (!noted) {
        noted = true;
        note(`Compressed messages from the ${sender} after the gap are shown as the compressed bytes that crossed the wire, not inflated: permessage-deflate with context takeover inflates each message with the window of the messages before it (RFC 7692 §7.2.2), and part of that window was lost in the gap. This is the capture's doing, not the ${sender}'s.`);
      }
      forward({ ...rest, data, size: data.length });
      return;
    }
    if (body.type === 'violation' && body.frameId !== undefined && CONTEXT_VIOLATIONS.has(body.violation.code)) {
      if (!traced.has(body.frameId)) pending.push(body);
      else if (!compressedFrames.has(body.frameId)) forward(body);
      return;
    }
    forward(body);
  };
}

function withoutViolation<T extends { violation?: unknown }>(frame: T): T {
  const { violation: _violation, ...rest } = frame;
  return rest as T;
}
