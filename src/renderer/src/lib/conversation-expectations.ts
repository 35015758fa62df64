/**
 * "What RFC 6455 expects" for a conversation in the store (issue 12): each leg's frames,
 * violations and end handed to core/rfc-expectations.ts, which judges what each side did.
 */
import { Opcode } from '../../../core/constants.ts';
import { toHex } from '../../../core/bytes.ts';
import { legExpectations, type Expectation, type ObservedFrame } from '../../../core/rfc-expectations.ts';
import type { ConnectionDetail } from '../store/store.ts';
import type { FrameRow } from '../store/frame-row.ts';
import type { ConversationShape } from './conversation.ts';

/** A control frame's payload is at most 125 bytes (§5.5). */
const CONTROL_PAYLOAD_MAX = 125;

function observed(row: FrameRow): ObservedFrame {
  const f: ObservedFrame = { frameId: row.frameId, direction: row.direction, opcode: row.opcode, time: row.time };
  if (row.opcode === Opcode.Ping || row.opcode === Opcode.Pong) f.payloadHex = toHex(row.payloadHead(CONTROL_PAYLOAD_MAX));
  if (row.opcode === Opcode.Close) f.closeCode = row.close?.code ?? null;
  return f;
}

/** Every leg's judgement, oldest first. `now`: ms since the epoch, the trace's clock. */
export function conversationExpectations(shape: ConversationShape, frames: readonly FrameRow[], details: Record<string, ConnectionDetail | undefined>, now: number, evicted = false): Expectation[] {
  const byLeg = new Map<string, ObservedFrame[]>(shape.legs.map((l) => [l.id, []]));
  for (const row of frames) byLeg.get(row.connectionId)?.push(observed(row));
  const all: Expectation[] = [];
  for (const leg of shape.legs) {
    const d = details[leg.id];
    const closed = d?.closed;
    all.push(...legExpectations({
      id: leg.id, role: leg.role === 'client' ? 'client' : 'server', proxied: shape.proxied, frames: byLeg.get(leg.id) ?? [],
      violations: d?.violations ?? [], ...(closed ? { closed: { time: closed.time, wasClean: closed.wasClean, code: closed.code } } : {}),
      // Folded for this window, or some of its frames gone from the bounded list.
      ...((d?.folds?.frames ?? 0) > 0 || evicted ? { gaps: true } : {}),
    }, now));
  }
  return all.sort((a, b) => a.time - b.time);
}
