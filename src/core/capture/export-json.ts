/**
 * A recording as one JSON document, for other tools and for reading back byte for byte:
 *
 *   { "format": "wsinspect-session-json", "version": 1,
 *     "records": [ …the session file's records, in order: header, conn, tls, data (bytes in base64), note, end… ],
 *     "messages": [ { "connection", "direction": "c2s" | "s2c", "time", "opcode", "text" | "base64", "frames" } … ] }
 *
 * "records" is the whole truth (wsinspect open and import read only it, with the session file's
 * checks); "messages" is a convenience, derived by the replay through our parser.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { TraceEvent } from '../trace.ts';
import { replayConnection } from './replay.ts';
import type { Recording } from './recording.ts';
import { sessionRecords, SessionReader, type SessionReadLimits, type SessionReadResult } from './session-file.ts';
import { tooManyContainers } from './json-bounds.ts';

export const SESSION_JSON_FORMAT = 'wsinspect-session-json';

export function recordingToJson(recording: Recording): string {
  const messages: object[] = [];
  for (const conn of recording.connections) {
    const we = conn.ourRole === 'server' ? 'server' : 'client';
    for (const e of replayConnection(conn) as Iterable<TraceEvent>) {
      if (e.type !== 'message') continue;
      const direction = (e.direction === 'out') === (we === 'client') ? 'c2s' : 's2c';
      messages.push({
        connection: conn.id, direction, time: e.time, opcode: e.opcode, frames: e.frameIds.length,
        ...(e.text !== undefined ? { text: e.text } : { base64: Buffer.from(e.data ?? new Uint8Array(0)).toString('base64') }),
        ...(e.truncated ? { truncated: true, size: e.size } : {}),
      });
    }
  }
  const records = sessionRecords(recording).map((r) => JSON.stringify(r));
  return `{"format":"${SESSION_JSON_FORMAT}","version":1,\n"records":[\n${records.join(',\n')}\n],\n"messages":${JSON.stringify(messages)}}\n`;
}

/** Does the file start like our JSON export? */
export function looksLikeSessionJson(firstBytes: Uint8Array): boolean {
  return Buffer.from(firstBytes.subarray(0, 200)).toString('utf8').startsWith(`{"format":"${SESSION_JSON_FORMAT}"`);
}

/**
 * Reads a JSON export back, bounded (default 256 MiB of file: one document is parsed at once, so
 * its size is what it costs; the session file, read a line at a time, is the format for more),
 * with the session file's checks.
 */
export function readSessionJson(path: string, limits: SessionReadLimits & { maxFileBytes?: number; maxContainers?: number } = {}): SessionReadResult {
  const max = limits.maxFileBytes ?? 256 * 1024 * 1024;
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const reader = new SessionReader(limits);
    if (size > max) {
      return { ...reader.end(), error: `the file is ${size} bytes; a JSON export is read whole, at most ${max} bytes (export as a session file instead: wsinspect open reads those a line at a time)` };
    }
    const buffer = Buffer.alloc(size);
    let length = 0;
    for (let n; length < size && (n = readSync(fd, buffer, length, size - length, null)) > 0;) length += n;
    text = buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
  const reader = new SessionReader(limits);
  // Parsed whole: refused first if it holds more objects and arrays than memory allows (json-bounds.ts).
  const tooMany = tooManyContainers(text, limits.maxContainers);
  if (tooMany) return { ...reader.end(), error: tooMany };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { ...reader.end(), error: `the file is not JSON (${(error as Error).message.slice(0, 120)})` };
  }
  const records = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['records'] : undefined;
  if (!Array.isArray(records)) return { ...reader.end(), error: 'the file has no "records" list' };
  for (const record of records) if (!reader.take(record)) break;
  return reader.end();
}
