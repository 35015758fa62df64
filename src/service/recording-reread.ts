/**
 * Export of an opened recording reads its file again: the app keeps no connection's bytes after
 * replaying it (recording-source.ts streams), so the connections asked for are read anew from the
 * file, as it was when opened (its size and modification time are checked), keeping only those.
 * A capture is read until the last of them has ended; the others' packets are skipped unbuffered.
 */

import { statSync } from 'node:fs';
import { readSessionJson } from '../core/capture/export-json.ts';
import { readHarFile } from '../core/capture/import-har.ts';
import { dissectCaptureFile } from '../core/capture/pcap/read-file.ts';
import { CaptureRecordingBuilder } from '../core/capture/pcap/to-recording.ts';
import type { RecordedConnection } from '../core/capture/recording.ts';
import { SessionReader } from '../core/capture/session-file.ts';
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
    const read = file.kind === 'json' ? readSessionJson(file.path) : readHarFile(file.path);
    return read.recording.connections.filter((c) => ids.has(c.id));
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

async function sessionConnections(path: string, ids: ReadonlySet<string>): Promise<RecordedConnection[]> {
  const ended = new Map<string, RecordedConnection>();
  // Streaming: a connection not asked for is dropped at its end record.
  const reader = new SessionReader({}, (conn) => {
    if (ids.has(conn.id)) ended.set(conn.id, conn);
  });
  const file = await open(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0 || !reader.push(buffer.subarray(0, bytesRead))) break;
    }
  } finally {
    await file.close();
  }
  const { recording } = reader.end();
  return recording.connections.filter((c) => ids.has(c.id)).map((c) => ended.get(c.id) ?? c);
}
