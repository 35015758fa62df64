/**
 * A read-only "recording" source for the app: a session file (--record), our JSON export, a HAR
 * file or a pcap/pcapng capture, loaded into the same shapes the live service pushes, so that
 * every view that reads the trace (frame list, anatomy, byte stepper, ladder, search) works on it
 * unchanged.
 *
 * Design (for the UI work still to come; nothing here touches the renderer):
 * - Each connection of the recording gets the id `<prefix><its id>` (e.g. "rec1:server1:1"), so it
 *   can never be taken for a live connection, and its summary says "recording" in `detail`.
 * - Its TraceEvents are the replay of its bytes through our parser (src/core/capture/replay.ts),
 *   stamped with the recorded times and cut for display exactly as live events are (capForDisplay
 *   with the service's FullFrameStore, so "load all bytes" of a large frame works the same).
 * - Read-only by construction: the service finds no Connection for these ids, so send, drop, step
 *   and policy commands answer "no such connection"; the renderer should hide those controls for
 *   ids it got from here. The service would expose it as `openRecording(path)`, pushing `events`
 *   through its batch stream and adding `summaries` to the status.
 * - Bounded: the file readers bound what a file can make them allocate; events past `maxEvents`
 *   are not produced (a note says where the recording was cut), as the renderer's frame ring would
 *   drop them anyway.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { looksLikeSessionJson, readSessionJson } from '../core/capture/export-json.ts';
import { looksLikeHar, readHarFile } from '../core/capture/import-har.ts';
import { isPcapng } from '../core/capture/pcap/pcapng.ts';
import { pcapMagic } from '../core/capture/pcap/pcap.ts';
import { dissectCaptureFile, dissectCaptureFileSync, type CaptureProgress } from '../core/capture/pcap/read-file.ts';
import { recordingCollector, replayCaptured } from '../core/capture/pcap/to-recording.ts';
import { formatEndpoint, replayConnection, type RecordedConnection, type Recording } from '../core/capture/recording.ts';
import { readSessionFile, SESSION_MAGIC } from '../core/capture/session-file.ts';
import type { TraceEvent } from '../core/trace.ts';
import type { ConnectionSummary } from '../shared/inspector-api.ts';
import { capForDisplay, type FullFrameStore } from './display-cap.ts';

export interface RecordingSourceOptions {
  /** Put before every connection id (default "rec:"). */
  prefix?: string;
  /** Where the full bytes of frames cut for display go (the service's store). */
  fullFrames: FullFrameStore;
  /** At most this many events (default 2,000,000). */
  maxEvents?: number;
}

export type RecordingSourceResult =
  | {
      ok: true;
      kind: 'session' | 'json' | 'har' | 'capture';
      events: TraceEvent[];
      summaries: ConnectionSummary[];
      /** The recording itself (export works on it). */
      recording: Recording;
      /** Why the file was read only in part (everything before it is here), or null. */
      error: string | null;
    }
  | { ok: false; error: string };

function firstBytes(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0));
  } finally {
    closeSync(fd);
  }
}

type Replay = (conn: RecordedConnection) => Iterable<TraceEvent>;

type Loaded = { kind: 'session' | 'json' | 'har' | 'capture'; recording: Recording; error: string | null; replay: Replay };

/** A capture's conversations as a Recording, each replayed from its first frame boundary (mid-stream ones too). */
function fromCapture(collector: ReturnType<typeof recordingCollector>, error: string | null | undefined): Loaded {
  const byConnection = new Map(collector.captured.map((c) => [c.connection, c]));
  return { kind: 'capture', recording: collector.recording(), error: error ?? null, replay: (conn) => replayCaptured(byConnection.get(conn)!) };
}

/** Reads a recording of any kind we know, by its first bytes. */
function load(path: string): Loaded | string {
  const first = firstBytes(path);
  if (Buffer.from(first.subarray(0, SESSION_MAGIC.length)).toString('latin1') === SESSION_MAGIC) return { kind: 'session', ...readSessionFile(path), replay: replayConnection };
  if (looksLikeSessionJson(first)) return { kind: 'json', ...readSessionJson(path), replay: replayConnection };
  if (looksLikeHar(first)) return { kind: 'har', ...readHarFile(path), replay: replayConnection };
  if (isPcapng(first) || pcapMagic(first) !== null) {
    const collector = recordingCollector();
    return fromCapture(collector, dissectCaptureFileSync(path, collector.handle).error);
  }
  return 'not a wsinspect session, JSON export, HAR file or pcap/pcapng capture (by its first bytes)';
}

function cannotRead(path: string, error: unknown): RecordingSourceResult {
  const code = (error as NodeJS.ErrnoException).code;
  return { ok: false, error: `Cannot read ${JSON.stringify(path.slice(0, 200))}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message}.` };
}

/** Loads a recording file as read-only connections and their trace, ready for the app. */
export function loadRecordingSource(path: string, options: RecordingSourceOptions): RecordingSourceResult {
  let loaded;
  try {
    loaded = load(path);
  } catch (error) {
    return cannotRead(path, error);
  }
  return toSource(path, loaded, options);
}

/**
 * The same for the app: a pcap or pcapng is read in chunks with a pause between them (a large
 * capture does not stop the service), reporting bytes read of the file's size after each; then
 * the replay runs in slices with a pause between them too.
 */
export async function loadRecordingSourceAsync(path: string, options: RecordingSourceOptions & { onProgress?: (progress: CaptureProgress) => void; sliceMs?: number }): Promise<RecordingSourceResult> {
  let loaded;
  try {
    const first = firstBytes(path);
    if (isPcapng(first) || pcapMagic(first) !== null) {
      const collector = recordingCollector();
      const summary = await dissectCaptureFile(path, collector.handle, options.onProgress ? { onProgress: options.onProgress } : {});
      loaded = fromCapture(collector, summary.error);
    } else {
      loaded = load(path);
    }
  } catch (error) {
    return cannotRead(path, error);
  }
  // The replay through our parser takes seconds for a large capture: it runs in slices of at most
  // `sliceMs`, giving the event loop a turn (setImmediate) between them, so the service keeps
  // answering status and other requests while it works.
  const steps = toSourceSteps(path, loaded, options);
  const sliceMs = options.sliceMs ?? 8;
  for (;;) {
    const started = performance.now();
    let step = steps.next();
    while (!step.done && performance.now() - started < sliceMs) step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function toSource(path: string, loaded: Loaded | string, options: RecordingSourceOptions): RecordingSourceResult {
  const steps = toSourceSteps(path, loaded, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Events handled between two chances to pause (a time check costs more than an event). */
const EVENTS_PER_STEP = 256;

/** Builds the source, yielding every EVENTS_PER_STEP events so that a caller may pause there. */
function* toSourceSteps(path: string, loaded: Loaded | string, options: RecordingSourceOptions): Generator<void, RecordingSourceResult, void> {
  if (typeof loaded === 'string') return { ok: false, error: `${JSON.stringify(path.slice(0, 200))} is ${loaded}.` };
  const prefix = options.prefix ?? 'rec:';
  const maxEvents = options.maxEvents ?? 2_000_000;
  const events: TraceEvent[] = [];
  const summaries: ConnectionSummary[] = [];
  let seq = 1;
  let cut = false;
  for (const conn of loaded.recording.connections) {
    if (cut) break;
    const id = `${prefix}${conn.id}`;
    const we = conn.ourRole === 'server' ? 'server' : 'client';
    const summary: ConnectionSummary = {
      id, role: we, remote: formatEndpoint(we === 'server' ? conn.client : conn.server), state: 'CONNECTING', subprotocol: null,
      openedAt: conn.startTime, policy: 'observe', gate: null,
      detail: `recording (read-only): ${conn.reconstructed ? 'reconstructed from a HAR file, not captured' : conn.ourRole === 'observed' ? 'observed' : `recorded as the ${conn.ourRole}`}`,
      ...(conn.url ? { url: conn.url } : {}),
    };
    summaries.push(summary);
    for (const event of loaded.replay(conn)) {
      if (events.length >= maxEvents) {
        cut = true;
        events.push({ type: 'note', text: `The recording is cut here: at most ${maxEvents} events are loaded.`, seq: seq++, time: event.time, connectionId: id });
        break;
      }
      const renamed = { ...event, seq: seq++, connectionId: id } as TraceEvent;
      if (renamed.type === 'state') summary.state = renamed.to;
      if (renamed.type === 'handshake' && renamed.ok && renamed.side === 'client') summary.subprotocol = renamed.subprotocol;
      if (renamed.type === 'connection-closed') summary.detail = `${summary.detail}; ${renamed.code}${renamed.reason ? ` ${renamed.reason}` : ''}: ${renamed.detail}`;
      events.push(capForDisplay(renamed, options.fullFrames));
      if (events.length % EVENTS_PER_STEP === 0) yield;
    }
  }
  return { ok: true, kind: loaded.kind, events, summaries, recording: loaded.recording, error: loaded.error };
}
