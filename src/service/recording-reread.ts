/**
 * Export of an opened recording reads its file again: the app keeps no connection's bytes after
 * replaying it (recording-source.ts streams), so the connections asked for are read anew from the
 * file, as it was when opened (its size and modification time are checked), keeping only those.
 * A capture is read until the last of them has ended; the others' packets are skipped unbuffered.
 * A JSON export or HAR file is read as the open reads it (json-array-stream.ts: one record or entry
 * at a time, bounded), never parsed whole: the open accepts files of any size and hostile
 * documents, so their Export must too.
 */

import { statSync } from 'node:fs';
import { HarImporter } from '../core/capture/import-har.ts';
import { dissectCaptureFile } from '../core/capture/pcap/read-file.ts';
import { CaptureRecordingBuilder } from '../core/capture/pcap/to-recording.ts';
import type { RecordedConnection } from '../core/capture/recording.ts';
import { SessionReader } from '../core/capture/session-file.ts';
import { JsonArrayStream } from './json-array-stream.ts';
import type { RecordingKind } from './recording-source.ts';
import { open } from 'node:fs/promises';

export interface RereadFile {
  path: string;
  kind: RecordingKind;
  size: number;
  mtimeMs: number;
}

/** The connections of `file` whose ids (as in the file) are in `ids`, in the file's order; or why not. */
export async function rereadConnections(file: RereadFile, ids: ReadonlySet<string>): Promise<RecordedConnection[] | string> {
  try {
    const stat = statSync(file.path);
    if (stat.size !== file.size || stat.mtimeMs !== file.mtimeMs) return 'the file changed on disk since it was opened (open it again)';
    if (file.kind === 'capture') return await captureConnections(file.path, ids);
    if (file.kind === 'session') return await sessionConnections(file.path, ids);
    return await jsonConnections(file.path, file.kind, ids);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file is gone' : (error as Error).message;
  }
}

async function captureConnections(path: string, ids: ReadonlySet<string>): Promise<RecordedConnection[]> {
  const found: RecordedConnection[] = [];
  const stop = new AbortController();
  // Conversation numbers are given in the order they are found, the same each time the file is read.
  const builder = new CaptureRecordingBuilder((c) => {
    found.push(c.connection);
    if (found.length === ids.size) stop.abort();
  });
  const kept = new Set<number>();
  await dissectCaptureFile(path, (event) => {
    if (event.type === 'open') {
      if (!ids.has(`capture-${event.conversation.id}`)) return;
      kept.add(event.conversation.id);
    } else if (!kept.has(event.id)) {
      return;
    }
    builder.handle(event);
  }, { signal: stop.signal });
  return found;
}

/** The largest record (JSON export) and entry (HAR) read, as the open reads them (recording-source.ts). */
const MAX_ELEMENT_BYTES = { json: 8 * 1024 * 1024, har: 256 * 1024 * 1024 } as const;

async function jsonConnections(path: string, kind: 'json' | 'har', ids: ReadonlySet<string>): Promise<RecordedConnection[]> {
  const found = new Map<string, RecordedConnection>();
  const take = (conn: RecordedConnection) => {
    if (ids.has(conn.id)) found.set(conn.id, conn);
  };
  const records = kind === 'json' ? new SessionReader({}, take) : null;
  const entries = kind === 'har' ? new HarImporter({}, take) : null;
  const json = new JsonArrayStream({
    path: kind === 'json' ? ['records'] : ['log', 'entries'],
    // Stops once every connection asked for is found, or the reader refuses an element.
    onElement: (element, index) => (records ? records.take(element) : entries!.take(element, index)) && found.size < ids.size,
    maxElementBytes: MAX_ELEMENT_BYTES[kind],
  });
  await readChunks(path, (chunk) => json.write(chunk));
  if (records && found.size < ids.size) {
    // Connections without an end record are ended by the reader's end.
    for (const conn of records.end().recording.connections) if (!found.has(conn.id)) take(conn);
  }
  return [...found.values()];
}

/** Hands the file on in 1 MiB chunks until `take` says stop. */
async function readChunks(path: string, take: (chunk: Uint8Array) => boolean): Promise<void> {
  const file = await open(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0 || !take(buffer.subarray(0, bytesRead))) break;
    }
  } finally {
    await file.close();
  }
}

async function sessionConnections(path: string, ids: ReadonlySet<string>): Promise<RecordedConnection[]> {
  const ended = new Map<string, RecordedConnection>();
  // Streaming: a connection not asked for is dropped at its end record.
  const reader = new SessionReader({}, (conn) => {
    if (ids.has(conn.id)) ended.set(conn.id, conn);
  });
  await readChunks(path, (chunk) => reader.push(chunk));
  const { recording } = reader.end();
  return recording.connections.filter((c) => ids.has(c.id)).map((c) => ended.get(c.id) ?? c);
}
