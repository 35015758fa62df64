/**
 * `wsinspect open FILE [--trace pretty|jsonl] [--full-payloads]`: a saved session, our JSON
 * export or a HAR file (message level, "reconstructed, not captured"), replayed through our
 * parser and printed by the same printers as a live run. The kind of file is told by its first
 * bytes, not its name.
 *
 * Hook for other file kinds: `fileOpeners` below is a table; the pcap/pcapng reader adds its entry
 * (matches on the magic number, opens and prints the file itself), and `recordingLoaders` is the
 * table `wsinspect export` reads recordings through.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { looksLikeSessionJson, readSessionJson } from '../core/capture/export-json.ts';
import { looksLikeHar, readHarFile } from '../core/capture/import-har.ts';
import { formatEndpoint, replayRecording, type Recording } from '../core/capture/recording.ts';
import { readSessionFile, SESSION_MAGIC } from '../core/capture/session-file.ts';
import { captureFileOpener, captureRecordingLoader } from './open-capture.ts';
import { traceWriter } from './trace-output.ts';

export interface OpenOptions {
  trace: 'pretty' | 'jsonl';
  fullPayloads: boolean;
}

/** A kind of file `wsinspect open` can print. */
export interface FileOpener {
  name: string;
  matches(firstBytes: Uint8Array): boolean;
  /** Prints the file; returns the exit code (0 whole, 1 damaged after some of it, 2 unreadable). */
  open(path: string, options: OpenOptions): Promise<number>;
}

/** What a loader gives: the recording, and why reading stopped early (null: it did not). */
export interface LoadedRecording {
  recording: Recording;
  error: string | null;
  kind: string;
}

/** A kind of file that loads into a Recording (export, open). */
export interface RecordingLoader {
  name: string;
  matches(firstBytes: Uint8Array): boolean;
  load(path: string): LoadedRecording;
}

export const recordingLoaders: RecordingLoader[] = [
  { name: 'wsinspect session', matches: (b) => Buffer.from(b.subarray(0, SESSION_MAGIC.length)).toString('latin1') === SESSION_MAGIC, load: (p) => ({ ...readSessionFile(p), kind: 'session' }) },
  { name: 'wsinspect JSON export', matches: looksLikeSessionJson, load: (p) => ({ ...readSessionJson(p), kind: 'json' }) },
  { name: 'HAR', matches: looksLikeHar, load: (p) => ({ ...readHarFile(p), kind: 'har' }) },
  captureRecordingLoader,
];

/** Openers tried in order; the pcap/pcapng reader adds itself here. Loaders come after them. */
export const fileOpeners: FileOpener[] = [captureFileOpener];

export class OpenError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** The first bytes of a file, or a plain sentence why it cannot be read. */
export function firstBytesOf(path: string, n = 4096): Uint8Array {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(n);
    const got = readSync(fd, buffer, 0, n, 0);
    return buffer.subarray(0, got);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' || code === 'EPERM' ? 'not allowed to read it' : (error as Error).message;
    throw new OpenError(`cannot read ${JSON.stringify(path.slice(0, 200))}: ${why}`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

const KNOWN = 'a wsinspect session (--record), a wsinspect JSON export, a HAR file, or a pcap/pcapng capture';

/** Loads a recording through the loaders table, or says why not. */
export function loadRecording(path: string): LoadedRecording {
  const first = firstBytesOf(path);
  const loader = recordingLoaders.find((l) => l.matches(first));
  if (!loader) throw new OpenError(`${JSON.stringify(path.slice(0, 200))} is not ${KNOWN} (by its first bytes)`);
  try {
    return loader.load(path);
  } catch (error) {
    throw new OpenError(`cannot read ${JSON.stringify(path.slice(0, 200))}: ${(error as Error).message}`);
  }
}

export async function open(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { trace: { type: 'string' }, 'full-payloads': { type: 'boolean' }, connection: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`wsinspect open FILE [--trace pretty|jsonl] [--full-payloads] [--connection ID]...\n  prints ${KNOWN}, replayed through wsinspect's parser (--connection: only these connections of a recording)\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new OpenError('open needs exactly one FILE, e.g. wsinspect open session.wsi');
  const trace = values.trace ?? 'pretty';
  if (trace !== 'pretty' && trace !== 'jsonl') throw new OpenError(`--trace must be pretty or jsonl (got "${trace.slice(0, 40)}")`);
  const path = positionals[0]!;
  const options: OpenOptions = { trace, fullPayloads: values['full-payloads'] === true };
  const first = firstBytesOf(path);
  const opener = fileOpeners.find((o) => o.matches(first));
  if (opener) return opener.open(path, options);
  const loaded = loadRecording(path);
  printRecording(selectConnections(loaded.recording, values.connection), options);
  if (loaded.error) {
    process.stderr.write(`wsinspect: ${path}: ${loaded.error}; ${loaded.recording.connections.length ? 'everything read before it is shown above' : 'nothing could be read'}\n`);
    return loaded.recording.connections.length ? 1 : 2;
  }
  if (loaded.recording.connections.length === 0) process.stderr.write(`wsinspect: ${path} holds no WebSocket connection\n`);
  return 0;
}

/** --connection ID...: only these connections (in the recording's order); an unknown id is an error naming the known ones. */
export function selectConnections(recording: Recording, ids: readonly string[] | undefined): Recording {
  if (!ids || ids.length === 0) return recording;
  const known = new Set(recording.connections.map((c) => c.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) {
    const list = [...known].slice(0, 20).join(', ');
    throw new OpenError(`--connection ${JSON.stringify(unknown[0]!.slice(0, 100))}: no such connection in the file (it has ${known.size ? `${list}${known.size > 20 ? ', …' : ''}` : 'none'})`);
  }
  return { ...recording, connections: recording.connections.filter((c) => ids.includes(c.id)) };
}

/** Prints every connection of a recording, as a live run would have. */
export function printRecording(recording: Recording, options: OpenOptions, write: (text: string) => void = (t) => process.stdout.write(t)): void {
  const print = traceWriter(options.trace, options.fullPayloads, write)!;
  let current = '';
  for (const event of replayRecording(recording)) {
    if (options.trace === 'pretty' && event.connectionId !== current) {
      current = event.connectionId;
      const conn = recording.connections.find((c) => c.id === current)!;
      const how = conn.reconstructed ? 'RECONSTRUCTED from a HAR file, not captured' : conn.ourRole === 'observed' ? 'observed' : `recorded as the ${conn.ourRole}`;
      write(`\n━━ connection ${conn.id}: client ${formatEndpoint(conn.client)} → server ${formatEndpoint(conn.server)}${conn.url ? ` (${conn.url})` : ''}, ${how}\n`);
    }
    print(event);
  }
}
