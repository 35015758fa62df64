/**
 * The app's sessions (issue 13): recordings opened read-only, the live session recorder behind
 * the Record button, and export of either as pcapng, HAR or our JSON.
 *
 * - An opened recording's connections get ids `recN:<its id>` (recording-source.ts), so no command
 *   meant for a live connection can reach them; their events go out through the service's batches.
 * - Recording writes a session file (src/core/capture/recorder.ts) in a private temporary folder;
 *   Save hands its bytes to the page, which downloads them. Stopping keeps the file until the next
 *   Record, so it can still be saved.
 * - Export takes a Recording: an opened one as loaded, the live one as its session file reads now.
 */

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingToHar } from '../core/capture/export-har.ts';
import { recordingToJson } from '../core/capture/export-json.ts';
import { recordingToPcapng } from '../core/capture/export-pcapng.ts';
import { SessionRecorder } from '../core/capture/recorder.ts';
import { createRecording, replayConnection, traceDirection, type ProxyLeg, type RecordedChunk, type RecordedConnection, type Recording } from '../core/capture/recording.ts';
import { readSessionFile } from '../core/capture/session-file.ts';
import type { Tracer, TraceEvent } from '../core/trace.ts';
import type { ConnectionSummary, ExportFormat, ExportRequest, RecordingInfo, RecorderStatus, Result } from '../shared/inspector-api.ts';
import type { FullFrameStore } from './display-cap.ts';
import { openRecordingStream, recordingKindOf, type OpeningProgress, type RecordingKind } from './recording-source.ts';
import { rereadConnections } from './recording-reread.ts';

/** What the app loads of one recording at most (the renderer's frame ring keeps fewer anyway). */
export const APP_MAX_RECORDING_EVENTS = 500_000;
/** Open recordings at a time; opening one more closes the oldest. */
const MAX_OPEN_RECORDINGS = 8;
/** The biggest session file Save hands to the page in one answer. */
export const MAX_SAVE_BYTES = 512 * 1024 * 1024;
/**
 * What the app lets a file's connections still open hold while it is read (a capture's
 * conversations, a session file's connections before their end record): below the readers' own
 * limits, since the service runs beside the rest of the app. Past them a direction is read no
 * further, and a note says so.
 */
const APP_OPEN_CONNECTION_LIMITS = { maxConversationBytes: 256 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024 };

/** Where an open recording's connections are read again (Export): the file, as it was when opened. */
interface RecordingFile {
  path: string;
  kind: RecordingKind;
  size: number;
  mtimeMs: number;
  /** A private temporary folder holding the file (an upload): removed when the recording closes. */
  ownedDir?: string;
}

interface OpenRecording extends RecordingInfo {
  summaries: ConnectionSummary[];
  /** The loaded connections' ids as in the file (no prefix). */
  loadedIds: string[];
  file: RecordingFile;
  /** Set while the file is being read: aborting it stops the open. */
  opening?: AbortController;
}

export interface OpenFileOptions {
  onEvent: (event: TraceEvent) => void;
  onSummary?: () => void;
  onProgress?: (progress: OpeningProgress & { prefix: string }) => void;
  /** Resolves when the events' consumer can take more (backpressure). */
  pace?: () => Promise<void>;
  /** At most this many frames (the page's frame ring); the app's event cap holds anyway. */
  maxFrames?: number;
  /** The file is in this private folder, which is the recording's to remove (an upload). */
  ownedDir?: string;
}

export class SessionWork {
  private readonly open = new Map<string, OpenRecording>();
  private count = 0;
  private recorder: { recorder: SessionRecorder; dir: string; path: string; cap: number; startedAt: number; active: boolean } | null = null;

  constructor(private readonly fullFrames: FullFrameStore) {}

  /**
   * Reads a recording file, streaming: its connections join the list as they are replayed and
   * their events go to `onEvent` as they are made (nothing is kept here but the summaries and where
   * the file is, so Export can read it again). `name` is how the page names it.
   */
  async openFile(path: string, name: string, options: OpenFileOptions): Promise<Result<{ recording: RecordingInfo; warning: string | null }>> {
    const prefix = `rec${++this.count}:`;
    const shownName = name.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 200) || 'recording';
    let stat;
    try {
      stat = statSync(path);
    } catch {
      stat = null;
    }
    let kind: RecordingKind | null = null;
    try {
      kind = recordingKindOf(path);
    } catch {
      // openRecordingStream says why in one sentence.
    }
    const file: RecordingFile = { path, kind: kind ?? 'capture', size: stat?.size ?? 0, mtimeMs: stat?.mtimeMs ?? 0, ...(options.ownedDir ? { ownedDir: options.ownedDir } : {}) };
    const entry: OpenRecording = { prefix, name: shownName, kind: file.kind, connections: 0, frames: 0, error: null, summaries: [], loadedIds: [], file, opening: new AbortController() };
    // Listed (and counted against the open recordings) only once its first bytes say it is one.
    if (kind) {
      this.open.set(prefix, entry);
      while (this.open.size > MAX_OPEN_RECORDINGS) this.close(this.open.keys().next().value!);
    }
    const loaded = await openRecordingStream(path, {
      prefix, fullFrames: this.fullFrames, maxEvents: APP_MAX_RECORDING_EVENTS, signal: entry.opening!.signal,
      ...(options.maxFrames ? { maxFrames: options.maxFrames } : {}),
      captureLimits: APP_OPEN_CONNECTION_LIMITS, sessionLimits: { maxTotalBytes: APP_OPEN_CONNECTION_LIMITS.maxTotalBytes },
      onEvent: options.onEvent,
      ...(options.pace ? { pace: options.pace } : {}),
      onSummary: (summary) => {
        if (!entry.summaries.includes(summary)) entry.summaries.push(summary);
        entry.connections = entry.summaries.length;
        options.onSummary?.();
      },
      onProgress: (progress) => {
        entry.frames = progress.frames;
        options.onProgress?.({ ...progress, prefix });
      },
    });
    delete entry.opening;
    const closedMeanwhile = kind !== null && this.open.get(prefix) !== entry;
    const fail = (error: string): Result<never> => {
      if (this.open.get(prefix) === entry) this.close(prefix);
      else if (!closedMeanwhile && entry.file.ownedDir) rmSync(entry.file.ownedDir, { recursive: true, force: true });
      return { ok: false, error };
    };
    if (!loaded.ok) return fail(loaded.error.replaceAll(JSON.stringify(path.slice(0, 200)), JSON.stringify(shownName)));
    if (closedMeanwhile) return { ok: false, error: `${shownName} was closed before it was read to the end.` };
    if (loaded.summaries.length === 0) return fail(`${shownName}: ${loaded.error ? `${loaded.error}; ` : ''}no WebSocket connection found in it.`);
    Object.assign(entry, { kind: loaded.kind, connections: loaded.summaries.length, frames: loaded.frames, error: loaded.error, loadedIds: loaded.loadedIds });
    entry.file.kind = loaded.kind;
    const info = infoOf(entry);
    return { ok: true, recording: info, warning: loaded.error ? `${shownName} was read only in part: ${loaded.error}. Everything before that is shown.` : null };
  }

  /** Closes an open recording (one being read stops). */
  close(prefix: string): Result {
    const entry = this.open.get(prefix);
    if (!entry) return { ok: false, error: `No open recording ${JSON.stringify(prefix.slice(0, 40))}.` };
    this.open.delete(prefix);
    entry.opening?.abort();
    if (entry.file.ownedDir) rmSync(entry.file.ownedDir, { recursive: true, force: true });
    return { ok: true };
  }

  /** The recordings open (one being read included, with what it has loaded so far). */
  recordings(): RecordingInfo[] {
    return [...this.open.values()].map(infoOf);
  }

  summaries(): ConnectionSummary[] {
    return [...this.open.values()].flatMap((r) => r.summaries);
  }

  /** Which open recording a connection id belongs to. */
  recordingOf(connectionId: string): OpenRecording | undefined {
    const prefix = /^rec\d+:/.exec(connectionId)?.[0];
    return prefix ? this.open.get(prefix) : undefined;
  }

  // ------------------------------------------------------------ recording live connections

  /** `proxyLegOf`: which proxy leg a connection is, so both legs of the app's proxy are marked. */
  startRecording(tracer: Tracer, cap: number, proxyLegOf?: (connectionId: string) => ProxyLeg | undefined): Result<{ recorder: RecorderStatus }> {
    if (this.recorder?.active) return { ok: false, error: 'Already recording.' };
    this.discardRecording();
    const dir = mkdtempSync(join(tmpdir(), 'wsinspect-record-'));
    const path = join(dir, 'session.wsi');
    const recorder = new SessionRecorder(path, { cap, createdBy: 'WebSocket Inspector (app)', ...(proxyLegOf ? { proxyLegOf } : {}) }).attach(tracer);
    this.recorder = { recorder, dir, path, cap, startedAt: Date.now(), active: true };
    return { ok: true, recorder: this.recorderStatus() };
  }

  stopRecording(): Result<{ recorder: RecorderStatus }> {
    if (!this.recorder?.active) return { ok: false, error: 'Not recording.' };
    this.recorder.recorder.close();
    this.recorder.active = false;
    return { ok: true, recorder: this.recorderStatus() };
  }

  recorderStatus(): RecorderStatus {
    const r = this.recorder;
    if (!r) return { recording: false, cap: null, startedAt: null, bytes: 0 };
    let bytes = 0;
    try {
      bytes = statSync(r.path).size;
    } catch {
      // The temporary file went away; nothing to save.
    }
    return { recording: r.active, cap: r.cap, startedAt: r.startedAt, bytes };
  }

  /** The session file's bytes so far (Save). While recording, up to the last buffered write (0.2 s). */
  sessionFileBytes(): Result<{ bytes: Uint8Array; name: string }> {
    const r = this.recorder;
    if (!r) return { ok: false, error: 'Nothing recorded yet: press Record first.' };
    const size = this.recorderStatus().bytes;
    if (size > MAX_SAVE_BYTES) return { ok: false, error: `The session file is ${size} bytes, over the ${MAX_SAVE_BYTES} bytes the app saves; use wsinspect serve --record FILE for sessions that big.` };
    try {
      return { ok: true, bytes: readFileSync(r.path), name: `session-${new Date(r.startedAt).toISOString().replace(/[:.]/g, '-')}.wsi` };
    } catch (error) {
      return { ok: false, error: `The session file cannot be read: ${(error as Error).message}` };
    }
  }

  private discardRecording(): void {
    if (!this.recorder) return;
    if (this.recorder.active) this.recorder.recorder.close();
    rmSync(this.recorder.dir, { recursive: true, force: true });
    this.recorder = null;
  }

  // ------------------------------------------------------------ export

  /**
   * A recording of the asked connections: an open recording's are read again from its file (only
   * the connections loaded; nothing of them is kept in memory meanwhile), live ones from the
   * session file.
   */
  private async collect(connectionIds: string[] | undefined): Promise<Recording | string> {
    const wanted = connectionIds ? new Set(connectionIds) : null;
    const out: Recording['connections'] = [];
    for (const r of [...this.open.values()]) {
      if (r.opening) {
        if (wanted && [...wanted].some((id) => id.startsWith(r.prefix))) return `${r.name} is still being opened: export it once it is read.`;
        continue;
      }
      const ids = new Set(r.loadedIds.filter((id) => !wanted || wanted.has(`${r.prefix}${id}`)));
      if (ids.size === 0) continue;
      const again = await rereadConnections(r.file, ids);
      if (typeof again === 'string') return `${r.name} cannot be read again for export: ${again}`;
      for (const conn of again) out.push({ ...conn, id: `${r.prefix}${conn.id}` });
    }
    const liveWanted = !wanted || [...wanted].some((id) => !/^rec\d+:/.test(id));
    if (liveWanted && this.recorder) {
      try {
        const live = readSessionFile(this.recorder.path).recording;
        for (const conn of live.connections) if (!wanted || wanted.has(conn.id)) out.push(conn);
      } catch {
        // Nothing recorded to read.
      }
    }
    if (out.length === 0) {
      return wanted
        ? 'Those connections are not in an open recording or the current session recording (press Record before connecting to export live connections).'
        : 'Nothing to export: open a recording, or press Record and connect.';
    }
    return createRecording(out, 'WebSocket Inspector (app) export', this.recorder?.cap);
  }

  async export(request: ExportRequest): Promise<Result<{ bytes: Uint8Array; name: string; connections: number }>> {
    let recording = await this.collect(request.frames ? [request.frames.connectionId] : request.connectionIds);
    if (typeof recording === 'string') return { ok: false, error: recording };
    if (request.frames) {
      const only = onlyFrames(recording.connections[0]!, new Set(request.frames.frameIds));
      if (typeof only === 'string') return { ok: false, error: only };
      recording = { ...recording, connections: [only] };
    }
    const bytes = encodeExport(recording, request.format);
    const one = request.frames ? `${request.frames.connectionId}-frames` : request.connectionIds?.length === 1 ? request.connectionIds[0]! : null;
    const stem = one ? one.replace(/[^\w.-]+/g, '_') : 'session';
    return { ok: true, bytes, name: `${stem}.${request.format === 'json' ? 'json' : request.format}`, connections: recording.connections.length };
  }

  dispose(): void {
    this.discardRecording();
    for (const prefix of [...this.open.keys()]) this.close(prefix);
  }
}

function infoOf(r: OpenRecording): RecordingInfo {
  return { prefix: r.prefix, name: r.name, kind: r.kind, connections: r.connections, frames: r.frames, error: r.error };
}

export function encodeExport(recording: Recording, format: ExportFormat): Uint8Array {
  if (format === 'pcapng') return recordingToPcapng(recording);
  if (format === 'har') return Buffer.from(JSON.stringify(recordingToHar(recording), null, 2) + '\n', 'utf8');
  return Buffer.from(recordingToJson(recording), 'utf8');
}

/**
 * One connection cut down to its opening handshake and the chosen frames (selected-frames export):
 * its bytes replayed through our parser, then the HTTP heads and those frames' wire bytes kept, in
 * order, with their times. A frame cut by the recording's cap keeps its cut (counted as elided).
 * The frames of a compressed message may need earlier messages to inflate (context takeover).
 */
export function onlyFrames(conn: RecordedConnection, frameIds: ReadonlySet<number>): RecordedConnection | string {
  const inIs = traceDirection(conn, 'c2s') === 'in' ? 'c2s' : 's2c';
  const direction = (d: 'in' | 'out') => (d === 'in' ? inIs : inIs === 'c2s' ? 's2c' : 'c2s');
  const chunks: RecordedChunk[] = [];
  let found = 0;
  for (const event of replayConnection(conn)) {
    if (event.type === 'http-head') chunks.push({ direction: direction(event.direction), time: event.time, bytes: event.head.raw });
    if (event.type === 'frame' && frameIds.has(event.frame.frameId)) {
      found++;
      const f = event.frame;
      const missing = Math.max(0, f.headerLength + f.payloadLength - f.raw.length);
      chunks.push({ direction: direction(event.direction), time: event.time, bytes: f.raw, ...(missing > 0 && !f.partial ? { elided: missing } : {}) });
    }
  }
  if (found === 0) return 'None of the selected frames is in that connection\'s recording (press Record before connecting to export live frames).';
  const { endTime: _end, ...rest } = conn;
  return { ...rest, chunks, notes: [{ time: conn.startTime, text: `Exported: the opening handshake and ${found} selected frame${found === 1 ? '' : 's'} only.` }] };
}
