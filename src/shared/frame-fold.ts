/**
 * A folded row (issue 17, UI under flood): frames the service did not send to one page because
 * that page could not show them in time. Instead of falling behind the wire (or dropping them
 * without a word), the service sends this summary with exact counts, and the frame list shows
 * "N frames folded" where those frames were. Written by src/service/frame-folding.ts.
 */
import type { Direction } from '../core/trace.ts';

/** Folded frames of one direction and opcode. */
export interface FrameFoldKind {
  direction: Direction;
  opcode: number;
  frames: number;
  /** Their payload lengths as the headers declare them, added up. */
  payloadBytes: number;
}

export interface FrameFold {
  /** Unique within one event stream; a later summary with the same id replaces the earlier one. */
  id: number;
  connectionId: string;
  /** The trace's sequence numbers and times of the first and last folded frame. */
  firstSeq: number;
  lastSeq: number;
  firstTime: number;
  lastTime: number;
  /** The connection's frame numbers of the first and last folded frame. */
  firstFrameId: number;
  lastFrameId: number;
  /** Frames folded (the sum of kinds[].frames). */
  frames: number;
  /** Their bytes on the wire, headers included. */
  wireBytes: number;
  /** Message events of this connection not sent while its frames were folded. */
  messages: number;
  /** Per direction and opcode, in the order first seen. */
  kinds: FrameFoldKind[];
  /** Still folding: more frames may join this row. */
  open: boolean;
}
