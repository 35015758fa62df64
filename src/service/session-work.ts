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
import { loadRecordingSourceAsync } from './recording-source.ts';
import type { CaptureProgress } from '../core/capture/pcap/read-file.ts';

/** What the app loads of one recording at most (the renderer's frame ring keeps fewer anyway). */
export const APP_MAX_RECORDING_EVENTS = 500_000;
/** Open recordings at a time; opening one more closes the oldest. */
const MAX_OPEN_RECORDINGS = 8;
/** The biggest session file Save hands to the page in one answer. */
export const MAX_SAVE_BYTES = 512 * 1024 * 1024;

interface OpenRecording extends RecordingInfo {
  recording: Recording;
  summaries: ConnectionSummary[];
}

export class SessionWork {
  private readonly open = new Map<string, OpenRecording>();
  private count = 0;
  private recorder: { recorder: SessionRecorder; dir: string; path: string; cap: number; startedAt: number; active: boolean } | null = null;

  constructor(private readonly fullFrames: FullFrameStore) {}

  /** Reads a recording file; its events are for the batch stream. `name` is how the page names it. */
  async openFile(path: string, name: string, onProgress?: (progress: CaptureProgress) => void): Promise<{ result: Result<{ recording: RecordingInfo; warning: string | null }>; events: TraceEvent[] }> {
    const prefix = `rec${++this.count}:`;
    const loaded = await loadRecordingSourceAsync(path, { prefix, fullFrames: this.fullFrames, maxEvents: APP_MAX_RECORDING_EVENTS, ...(onProgress ? { onProgress } : {}) });
    const shownName = name.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 200) || 'recording';
    if (!loaded.ok) return { result: { ok: false, error: loaded.error.replaceAll(JSON.stringify(path.slice(0, 200)), JSON.stringify(shownName)) }, events: [] };
    if (loaded.summaries.length === 0) {
      const why = loaded.error ? `${loaded.error}; ` : '';
      return { result: { ok: false, error: `${shownName}: ${why}no WebSocket connection found in it.` }, events: [] };
    }
    const frames = loaded.events.filter((e) => e.type === 'frame').length;
    const info: RecordingInfo = { prefix, name: shownName, kind: loaded.kind, connections: loaded.summaries.length, frames, error: loaded.error };
    this.open.set(prefix, { ...info, recording: loaded.recording, summaries: loaded.summaries });
    while (this.open.size > MAX_OPEN_RECORDINGS) this.open.delete(this.open.keys().next().value!);
    return { result: { ok: true, recording: info, warning: loaded.error ? `${shownName} was read only in part: ${loaded.error}. Everything before that is shown.` : null }, events: loaded.events };
  }

  close(prefix: string): Result {
    if (!this.open.delete(prefix)) return { ok: false, error: `No open recording ${JSON.stringify(prefix.slice(0, 40))}.` };
    return { ok: true };
  }

  recordings(): RecordingInfo[] {
    return [...this.open.values()].map(({ recording: _r, summaries: _s, ...info }) => info);
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

  /** A recording of the asked connections: open recordings' as loaded, live ones from the session file. */
  private collect(connectionIds: string[] | undefined): Recording | string {
    const wanted = connectionIds ? new Set(connectionIds) : null;
    const out: Recording['connections'] = [];
    for (const r of this.open.values()) {
      for (const conn of r.recording.connections) {
        if (!wanted || wanted.has(`${r.prefix}${conn.id}`)) out.push({ ...conn, id: `${r.prefix}${conn.id}` });
      }
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

  export(request: ExportRequest): Result<{ bytes: Uint8Array; name: string; connections: number }> {
    let recording = this.collect(request.frames ? [request.frames.connectionId] : request.connectionIds);
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
    this.open.clear();
  }
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
