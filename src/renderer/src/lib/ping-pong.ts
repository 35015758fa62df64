/**
 * Links a ping to the pong that answered it, and a pong to the ping it answers (RFC 6455
 * §5.5.3: "A Pong frame sent in response to a Ping frame must have identical 'Application
 * data' as found in the message body of the Ping frame being replied to"): the nearest control
 * frame of the other kind, from the other side, with the same payload bytes.
 */
import { bytesEqual } from '../../../core/bytes.ts';
import type { FrameIndex } from '../store/frame-index.ts';
import type { FrameRow } from '../store/frame-row.ts';

/** How far (in frame ids) to look for the partner. */
const SEARCH_SPAN = 2000;

export function findControlPartner(index: FrameIndex, row: FrameRow): FrameRow | undefined {
  if (row.opcode !== 9 && row.opcode !== 10) return undefined;
  const isPing = row.opcode === 9;
  const wanted = isPing ? 10 : 9;
  const payload = row.payloadHead(row.payloadLength);
  for (let id = row.frameId + (isPing ? 1 : -1); id > 0 && Math.abs(id - row.frameId) < SEARCH_SPAN; id += isPing ? 1 : -1) {
    const other = index.find(row.connectionId, id);
    if (!other) {
      // Nothing later than the newest frame held; earlier ones may have left the ring.
      if (isPing) break;
      continue;
    }
    if (other.opcode === wanted && other.direction !== row.direction && sameBytes(other, payload)) return other;
  }
  return undefined;
}

function sameBytes(other: FrameRow, payload: Uint8Array): boolean {
  if (other.payloadLength !== payload.length) return false;
  return bytesEqual(other.payloadHead(payload.length), payload);
}
