/**
 * What a byte-stepping session reports after each step (apart from byte-stepper.ts, which
 * runs the protocol, so the renderer can use the type).
 */
import type { TracedFrame, TracedViolation } from './trace.ts';

/**
 * Bounds of a byte-stepping session (issue 10 §6: 8 MiB in one call blocked the event loop for
 * seconds and answered with tens of MiB). The input is capped, each feed does a bounded amount
 * of work (a larger count goes as far as this and says so in `fed`), and a snapshot carries the
 * newest frames and log lines only, each frame's bytes cut for display; totals say how many
 * there are in all. The renderer has the whole input, so it needs no more than that.
 */
export const ByteStepLimits = {
  /** Bytes one session can step through (1 MiB). */
  maxInput: 1024 * 1024,
  /** Bytes one feed call takes at most (64 KiB)... */
  maxFeedPerCall: 64 * 1024,
  /** ...and frames it decodes at most: tiny frames cost by the frame, not by the byte (3-9 µs each). */
  maxFramesPerCall: 1024,
  /** The newest frames a snapshot lists. */
  framesShown: 50,
  /** The newest log lines a snapshot carries. */
  logShown: 200,
  /** Payload bytes of each listed frame, and bytes of the frame in progress, a snapshot carries. */
  bytesShown: 4096,
} as const;

/** The longest hex text a session accepts: "0xff, " is 6 characters a byte; parsing more is wasted work. */
export const maxByteStepHexChars = 6 * ByteStepLimits.maxInput;

/** How a byte-stepping session's receiver is set up (every field optional: {} is the plain RFC 6455 receiver). */
export interface ByteStepOptions {
  /**
   * permessage-deflate (RFC 7692) agreed with its default parameters (no parameters: context
   * takeover both ways, 15-bit windows), so RSV1 on a message's first frame means compressed.
   * Off: nothing is negotiated, and RSV1 fails the connection (RFC 6455 §5.2).
   */
  deflate?: boolean;
}

export interface ByteStepSnapshot {
  /** permessage-deflate is agreed in this session (ByteStepOptions.deflate). */
  deflate: boolean;
  /**
   * The compressed message being received: its plain bytes inflated so far (the first
   * ByteStepLimits.bytesShown of them) and how many there are; null when none is in progress.
   */
  inflating: { bytes: Uint8Array; length: number } | null;
  /** Bytes fed so far, out of total. */
  fed: number;
  total: number;
  /** The parser's named state ("header", "extended-length-16", "masking-key", "payload"). */
  parserState: string;
  /** In words: "waiting for 2 more bytes of 16-bit extended length". */
  description: string;
  /** Offset in the input where the frame being read starts. */
  frameStart: number;
  /** The bytes of that frame received so far (the first ByteStepLimits.bytesShown of them). */
  frameBytes: Uint8Array;
  /** How many bytes of that frame were received (frameBytes may hold fewer). */
  frameBytesLength: number;
  /**
   * The newest frames completed (at most ByteStepLimits.framesShown, as the protocol traced
   * them; a frame with more bytes than shown has them cut and says so in `truncated`).
   */
  frames: TracedFrame[];
  /** Frames completed in all. */
  framesTotal: number;
  /** The violation that failed the connection, if any. */
  violation: TracedViolation | null;
  /** What the protocol would do next: the connection state and the bytes it wants to send. */
  state: string;
  responses: number;
  /** Things that happened, in words (messages, pings, closes): the newest ByteStepLimits.logShown. */
  log: string[];
  /** Log lines in all. */
  logTotal: number;
}
