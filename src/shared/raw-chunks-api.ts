/**
 * The raw socket writes and reads the service keeps per connection (src/service/raw-chunks.ts), as
 * the page asks for them: "which writes (or reads) carried the bytes of frames X..Y". Positions are
 * offsets into the connection's byte stream of one direction (the WebSocket bytes: for wss://, what
 * TLS carried, decrypted), counted from its first byte, the HTTP head included.
 */
import type { Direction } from '../core/trace.ts';

export interface RawCarriersRequest {
  connectionId: string;
  /** Frame ids as traced (per connection, both directions counted together). */
  firstFrameId: number;
  lastFrameId: number;
}

/** Most frame ids one request may span (lastFrameId - firstFrameId). */
export const RAW_CARRIERS_MAX_SPAN = 10_000;

/** One run of bytes inside a write or read: a piece of one frame, or bytes that are not a frame's. */
export interface RawChunkSegment {
  /** Offset inside the write/read where this run starts. */
  at: number;
  length: number;
  /** The frame these bytes belong to; null: not a frame's bytes (the HTTP head, or bytes written raw). */
  frameId: number | null;
  /** The frame is one of those asked for. */
  asked: boolean;
  /** Where the run starts inside that frame, and the frame's whole length on the wire. */
  frameAt: number;
  frameLength: number;
  /** The run's first bytes (at most RAW_SEGMENT_PREVIEW), fewer when the service kept fewer. */
  preview: Uint8Array;
}

export const RAW_SEGMENT_PREVIEW = 16;

/** One socket write (out) or read (in). */
export interface RawChunkInfo {
  /** 1 for the connection's first write (or read) in this direction. */
  ordinal: number;
  /** The trace sequence number of the 'bytes' event, and its time (ms since the epoch). */
  seq: number;
  time: number;
  /** Where it starts in the direction's byte stream. */
  offset: number;
  length: number;
  segments: RawChunkSegment[];
  /** Runs not listed (a read holding many small frames): counted, not sent. */
  moreSegments: number;
}

export interface RawFrameSpan {
  frameId: number;
  offset: number;
  length: number;
  /**
   * The kept bytes at that offset begin with the frame's first byte: true, false (the stream and
   * the frame index disagree: do not trust this mapping), null: those bytes are not kept.
   */
  aligned: boolean | null;
}

export interface RawCarriers {
  connectionId: string;
  direction: Direction;
  kind: 'writes' | 'reads';
  /** The asked frames of the first frame's direction, in order (at most RAW_CARRIERS_MAX_FRAMES). */
  frames: RawFrameSpan[];
  moreFrames: number;
  /** The writes/reads that carried any byte of those frames, in order (at most RAW_CARRIERS_MAX_CHUNKS). */
  chunks: RawChunkInfo[];
  moreChunks: number;
  /** Bytes of those frames in no kept write/read: dropped to stay in budget, or not written yet. */
  missing: { dropped: number; notYetSeen: number };
  /** Writes/reads of this direction dropped so far (oldest first) to stay in the byte budget. */
  dropped: { chunks: number; bytes: number };
  /** Bytes this direction has carried so far. */
  streamBytes: number;
}

export const RAW_CARRIERS_MAX_FRAMES = 64;
export const RAW_CARRIERS_MAX_CHUNKS = 64;
export const RAW_CARRIERS_MAX_SEGMENTS = 24;
