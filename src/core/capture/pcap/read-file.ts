/**
 * Streams a capture file from disk through the dissector: fixed-size chunks (never the whole file
 * in memory), a progress callback after each (bytes read, total), and a pause between chunks so
 * that an app's event loop stays responsive while a large file opens.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CaptureDissector, defaultCaptureDissectorLimits, type CaptureDissectorLimits, type CaptureSummary } from '../capture-dissector.ts';
import { CaptureReader, type CaptureReadSummary } from './reader.ts';
import { defaultCaptureReaderLimits, type CapturedPacket } from './types.ts';
import type { WebSocketCaptureEvent } from '../websocket-discovery.ts';

export interface CaptureProgress {
  bytesRead: number;
  totalBytes: number;
}

export interface ReadCaptureOptions {
  /** Called after each chunk. */
  onProgress?: (progress: CaptureProgress) => void;
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
  /**
   * Bytes dissected between two calls of `onProgress` and `between` (default: the whole chunk).
   * Smaller pieces let a caller take a turn of the event loop inside a chunk: a 1 MiB chunk is
   * about 900 packets, a few ms of work on a quiet machine but tens of ms on a loaded one.
   */
  pieceSize?: number;
  /** Stops reading (the summary then says so). */
  signal?: AbortSignal;
  limits?: CaptureDissectorLimits;
  /**
   * Awaited after each piece (each chunk, unless `pieceSize` is smaller) in place of the plain
   * pause (a turn of the event loop): a caller does its own work there, such as replaying the
   * conversations that just ended, in slices, and decides by the clock when to pause.
   */
  between?: () => Promise<void>;
}

/** Reads the file and returns the summary; the conversations come through onEvent as they are found. */
export async function dissectCaptureFile(path: string, onEvent: (event: WebSocketCaptureEvent) => void, options: ReadCaptureOptions = {}): Promise<CaptureSummary> {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const pieceSize = Math.max(1, Math.min(chunkSize, options.pieceSize ?? chunkSize));
  const dissector = new CaptureDissector(onEvent, options.limits ?? defaultCaptureDissectorLimits);
  const file = await open(path, 'r');
  let aborted = false;
  try {
    const totalBytes = (await file.stat()).size;
    let bytesRead = 0;
    for (;;) {
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
      // A fresh buffer each time: packets and the bytes handed on are views into it.
      const buffer = new Uint8Array(chunkSize);
      const { bytesRead: n } = await file.read(buffer, 0, chunkSize, null);
      if (n === 0) break;
      for (let at = 0; at < n; at += pieceSize) {
        const piece = buffer.subarray(at, Math.min(n, at + pieceSize));
        bytesRead += piece.length;
        dissector.push(piece);
        options.onProgress?.({ bytesRead, totalBytes: Math.max(totalBytes, bytesRead) });
        if (dissector.failed) break;
        await (options.between ? options.between() : new Promise((resolve) => setImmediate(resolve)));
        if (options.signal?.aborted) break;
      }
      if (dissector.failed) break;
    }
  } finally {
    await file.close();
  }
  const summary = dissector.end();
  // Stopped on purpose: the bytes left in the reader are not a truncation.
  if (aborted) return { ...summary, error: 'stopped before the end of the file' };
  return summary;
}

/** The same, synchronously (for callers that load a whole file into a Recording, such as export). */
export function dissectCaptureFileSync(path: string, onEvent: (event: WebSocketCaptureEvent) => void, options: Pick<ReadCaptureOptions, 'chunkSize' | 'limits'> = {}): CaptureSummary {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const dissector = new CaptureDissector(onEvent, options.limits ?? defaultCaptureDissectorLimits);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const buffer = new Uint8Array(chunkSize);
      const n = readSync(fd, buffer, 0, chunkSize, null);
      if (n === 0) break;
      dissector.push(buffer.subarray(0, n));
      if (dissector.failed) break;
    }
  } finally {
    closeSync(fd);
  }
  return dissector.end();
}

/**
 * The file's packets, one at a time, read in chunks (for tools that want packets rather than
 * conversations). Returns the reader's summary (format, counts, why it stopped early) when done.
 */
export async function* capturePackets(path: string, options: Pick<ReadCaptureOptions, 'chunkSize' | 'onProgress'> = {}): AsyncGenerator<CapturedPacket, CaptureReadSummary> {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  let batch: CapturedPacket[] = [];
  const reader = new CaptureReader((packet) => batch.push(packet), defaultCaptureReaderLimits);
  const file = await open(path, 'r');
  try {
    const totalBytes = (await file.stat()).size;
    let bytesRead = 0;
    for (;;) {
      const buffer = new Uint8Array(chunkSize); // fresh: the packets handed out are views into it
      const { bytesRead: n } = await file.read(buffer, 0, chunkSize, null);
      if (n === 0) break;
      bytesRead += n;
      reader.push(buffer.subarray(0, n));
      options.onProgress?.({ bytesRead, totalBytes: Math.max(totalBytes, bytesRead) });
      const ready = batch;
      batch = [];
      yield* ready;
      if (reader.failed) break;
    }
  } finally {
    await file.close();
  }
  return reader.end();
}
