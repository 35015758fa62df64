/**
 * What a byte-stepping session reports after each step (apart from byte-stepper.ts, which
 * runs the protocol, so the renderer can use the type).
 */
import type { TracedFrame, TracedViolation } from './trace.ts';

export interface ByteStepSnapshot {
  /** Bytes fed so far, out of total. */
  fed: number;
  total: number;
  /** The parser's named state ("header", "extended-length-16", "masking-key", "payload"). */
  parserState: string;
  /** In words: "waiting for 2 more bytes of 16-bit extended length". */
  description: string;
  /** Offset in the input where the frame being read starts. */
  frameStart: number;
  /** The bytes of that frame received so far. */
  frameBytes: Uint8Array;
  /** Frames completed so far (as the protocol traced them). */
  frames: TracedFrame[];
  /** The violation that failed the connection, if any. */
  violation: TracedViolation | null;
  /** What the protocol would do next: the connection state and the bytes it wants to send. */
  state: string;
  responses: number;
  /** Things that happened, in words (messages, pings, closes). */
  log: string[];
}
