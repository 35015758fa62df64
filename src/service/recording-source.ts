/**
 * A read-only "recording" source for the app: a session file (--record), our JSON export, a HAR
 * file or a pcap/pcapng capture, turned into the same shapes the live service pushes, so that
 * every view that reads the trace (frame list, anatomy, byte stepper, ladder, search) works on it
 * unchanged.
 *
 * - Each connection of the recording gets the id `<prefix><its id>` (e.g. "rec1:server1:1"), so it
 *   can never be taken for a live connection, and its summary says "recording" in `detail`.
 * - Its TraceEvents are the replay of its bytes through our parser (src/core/capture/replay.ts),
 *   stamped with the recorded times and cut for display exactly as live events are (capForDisplay
 *   with the service's FullFrameStore, so "load all bytes" of a large frame works the same).
 * - Read-only by construction: the service finds no Connection for these ids, so send, drop, step
 *   and policy commands answer "no such connection".
 * - Streaming (openRecordingStream, the app): every kind is read in chunks, and each connection is
 *   replayed as soon as it ends in the file (a capture's TCP close, a session file's or JSON
 *   export's end record, a HAR entry), its events handed on at once and its bytes dropped; nothing
 *   here keeps events. So what is held is the file's connections still open (bounded by the
 *   readers' limits), never the file. A JSON document is parsed as it is read (json-array-stream.ts),
 *   so a cut one still gives everything before the cut.
 * - Bounded: events past `maxEvents` are not produced (a note says where the recording was cut) and
 *   the file is read no further.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { looksLikeSessionJson, readSessionJson } from '../core/capture/export-json.ts';
import { HarImporter, looksLikeHar, readHarFile } from '../core/capture/import-har.ts';
import { isPcapng } from '../core/capture/pcap/pcapng.ts';
import { pcapMagic } from '../core/capture/pcap/pcap.ts';
import { dissectCaptureFile, dissectCaptureFileSync } from '../core/capture/pcap/read-file.ts';
import { CaptureRecordingBuilder, recordingCollector, replayCaptured, type CapturedConnection, type RecordingBuilderLimits } from '../core/capture/pcap/to-recording.ts';
import { formatEndpoint, replayConnection, type RecordedConnection, type Recording } from '../core/capture/recording.ts';
import { readSessionFile, SESSION_MAGIC, SessionReader, type SessionReadLimits } from '../core/capture/session-file.ts';
import type { TraceEvent } from '../core/trace.ts';
import type { ConnectionSummary } from '../shared/inspector-api.ts';
import { capForDisplay, type FullFrameStore } from './display-cap.ts';
import { JsonArrayStream } from './json-array-stream.ts';

export type RecordingKind = 'session' | 'json' | 'har' | 'capture';

export interface RecordingSourceOptions {
  /** Put before every connection id (default "rec:"). */
  prefix?: string;
  /** Where the full bytes of frames cut for display go (the service's store). */
  fullFrames: FullFrameStore;
  /** At most this many events (default 2,000,000). */
  maxEvents?: number;
  /** At most this many frames (default: no limit but maxEvents): the app's frame list keeps no more. */
  maxFrames?: number;
}

export type RecordingSourceResult =
  | {
      ok: true;
      kind: RecordingKind;
      events: TraceEvent[];
      summaries: ConnectionSummary[];
      /** The recording itself (export works on it). */
      recording: Recording;
      /** Why the file was read only in part (everything before it is here), or null. */
      error: string | null;
    }
  | { ok: false; error: string };

/** How far an open has come (the app's progress bar). */
export interface OpeningProgress {
  /**
   * 'reading': `bytesRead` of `totalBytes`, each connection replayed as it ends in the file;
   * 'replaying': the file is read, `replayed` of `toReplay` connections left are replayed.
   */
  phase: 'reading' | 'replaying';
  bytesRead: number;
  totalBytes: number;
  replayed: number;
  toReplay: number;
  /** Frames loaded so far. */
  frames: number;
}

export interface RecordingStreamOptions extends RecordingSourceOptions {
  /** Every event, in order, as soon as it is made (the caller keeps none of them here). */
  onEvent: (event: TraceEvent) => void;
  /** A connection joined the list, or its summary changed (its state as replayed so far). */
  onSummary?: (summary: ConnectionSummary) => void;
  onProgress?: (progress: OpeningProgress) => void;
  /** Stops the open (what was loaded stays loaded; the result says it was stopped). */
  signal?: AbortSignal;
  /** Longest stretch of work between two turns of the event loop (default 8 ms). */
  sliceMs?: number;
  /** Awaited between slices: resolves when the consumer of the events can take more (backpressure). */
  pace?: () => Promise<void>;
  /** What a capture's conversations may hold while they are open (default: the readers' own). */
  captureLimits?: RecordingBuilderLimits;
  /** The same for a session file (default: the readers' own; bytes held are those of connections not yet ended). */
  sessionLimits?: SessionReadLimits;
}

export type RecordingStreamResult =
  | {
      ok: true;
      kind: RecordingKind;
      summaries: ConnectionSummary[];
      /** The ids (as in the file, without the prefix) of the connections loaded, in order. */
      loadedIds: string[];
      events: number;
      frames: number;
      /** Why the file was read only in part (everything before it is loaded), or null. */
      error: string | null;
      /** Loading stopped at `maxEvents` (a note in the trace says so). */
      cut: boolean;
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

/** Which kind of recording a file is, by its first bytes; null: none we read. */
export function recordingKindOf(path: string): RecordingKind | null {
  const first = firstBytes(path);
  if (Buffer.from(first.subarray(0, SESSION_MAGIC.length)).toString('latin1') === SESSION_MAGIC) return 'session';
  if (looksLikeSessionJson(first)) return 'json';
  if (looksLikeHar(first)) return 'har';
  if (isPcapng(first) || pcapMagic(first) !== null) return 'capture';
  return null;
}

const UNKNOWN_KIND = 'not a wsinspect session, JSON export, HAR file or pcap/pcapng capture (by its first bytes)';

function cannotRead(path: string, error: unknown): { ok: false; error: string } {
  const code = (error as NodeJS.ErrnoException).code;
  return { ok: false, error: `Cannot read ${JSON.stringify(path.slice(0, 200))}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message}.` };
}

/** Capture bytes dissected between two chances to pause. */
const CAPTURE_PIECE_BYTES = 64 * 1024;

/** Events handled between two chances to pause (a time check costs more than an event). */
const EVENTS_PER_STEP = 256;

/**
 * Turns recorded connections, one at a time, into the app's summaries and events: ids prefixed,
 * one sequence of numbers, cut for display, and no more than `maxEvents` (then a note).
 */
class SourceBuilder {
  readonly summaries: ConnectionSummary[] = [];
  readonly loadedIds: string[] = [];
  events = 0;
  frames = 0;
  cut = false;
  private seq = 1;
  private readonly prefix: string;
  private readonly maxEvents: number;
  private readonly maxFrames: number;

  constructor(options: RecordingSourceOptions, private readonly emit: (event: TraceEvent) => void, private readonly onSummary?: (summary: ConnectionSummary) => void) {
    this.prefix = options.prefix ?? 'rec:';
    this.maxEvents = options.maxEvents ?? 2_000_000;
    this.maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
    this.fullFrames = options.fullFrames;
  }

  private readonly fullFrames: FullFrameStore;

  /** Replays one connection, yielding every EVENTS_PER_STEP events so that a caller may pause there. */
  *add(conn: RecordedConnection, replay: Iterable<TraceEvent>): Generator<void, void, void> {
    if (this.cut) return;
    const id = `${this.prefix}${conn.id}`;
    const we = conn.ourRole === 'server' ? 'server' : 'client';
    const summary: ConnectionSummary = {
      id, role: we, remote: formatEndpoint(we === 'server' ? conn.client : conn.server), state: 'CONNECTING', subprotocol: null,
      openedAt: conn.startTime, policy: 'observe', gate: null,
      detail: `recording (read-only): ${conn.reconstructed ? 'reconstructed from a HAR file, not captured' : conn.ourRole === 'observed' ? 'observed' : `recorded as the ${conn.ourRole}`}`,
      ...(conn.url ? { url: conn.url } : {}),
    };
    this.summaries.push(summary);
    this.loadedIds.push(conn.id);
    this.onSummary?.(summary);
    for (const event of replay) {
      const framesFull = event.type === 'frame' && this.frames >= this.maxFrames;
      if (this.events >= this.maxEvents || framesFull) {
        this.cut = true;
        const why = framesFull ? `at most ${this.maxFrames} frames are loaded (the frame list keeps that many)` : `at most ${this.maxEvents} events are loaded`;
        this.emit({ type: 'note', text: `The recording is cut here: ${why}.`, seq: this.seq++, time: event.time, connectionId: id });
        break;
      }
      // The replay's events are fresh objects of this open's own: renamed in place, not copied
      // (a copy per event is garbage the collector pays for while the app waits).
      const renamed = event;
      renamed.seq = this.seq++;
      renamed.connectionId = id;
      let changed = false;
      if (renamed.type === 'state') {
        summary.state = renamed.to;
        changed = true;
      } else if (renamed.type === 'handshake' && renamed.ok && renamed.side === 'client') {
        summary.subprotocol = renamed.subprotocol;
      } else if (renamed.type === 'connection-closed') {
        summary.detail = `${summary.detail}; ${renamed.code}${renamed.reason ? ` ${renamed.reason}` : ''}: ${renamed.detail}`;
        changed = true;
      } else if (renamed.type === 'frame') {
        this.frames++;
      }
      this.events++;
      this.emit(capForDisplay(renamed, this.fullFrames));
      if (changed) this.onSummary?.(summary);
      if (this.events % EVENTS_PER_STEP === 0) yield;
    }
  }
}

// ------------------------------------------------------------------ all at once (CLI, tests)

type Replay = (conn: RecordedConnection) => Iterable<TraceEvent>;

type Loaded = { kind: RecordingKind; recording: Recording; error: string | null; replay: Replay };

/** Reads a recording of any kind we know, whole. */
function load(path: string): Loaded | string {
  const kind = recordingKindOf(path);
  if (kind === 'session') return { kind, ...readSessionFile(path), replay: replayConnection };
  if (kind === 'json') return { kind, ...readSessionJson(path), replay: replayConnection };
  if (kind === 'har') return { kind, ...readHarFile(path), replay: replayConnection };
  if (kind === 'capture') {
    const collector = recordingCollector();
    const error = dissectCaptureFileSync(path, collector.handle).error;
    const byConnection = new Map(collector.captured.map((c) => [c.connection, c]));
    return { kind, recording: collector.recording(), error: error ?? null, replay: (conn) => replayCaptured(byConnection.get(conn)!) };
  }
  return UNKNOWN_KIND;
}

/** Loads a recording file whole, as read-only connections and their trace (the CLI's and tests' way). */
export function loadRecordingSource(path: string, options: RecordingSourceOptions): RecordingSourceResult {
  let loaded;
  try {
    loaded = load(path);
  } catch (error) {
    return cannotRead(path, error);
  }
  if (typeof loaded === 'string') return { ok: false, error: `${JSON.stringify(path.slice(0, 200))} is ${loaded}.` };
  const events: TraceEvent[] = [];
  const builder = new SourceBuilder(options, (e) => events.push(e));
  for (const conn of loaded.recording.connections) for (const _ of builder.add(conn, loaded.replay(conn)));
  return { ok: true, kind: loaded.kind, events, summaries: builder.summaries, recording: loaded.recording, error: loaded.error };
}

// ------------------------------------------------------------------ streaming (the app)

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Opens a recording file for the app, streaming: read in chunks, each connection replayed when it
 * ends and its events handed to `onEvent` at once, in slices of at most `sliceMs` with a turn of
 * the event loop between them (so the service keeps answering), progress reported throughout.
 * Keeps no events and no connection's bytes once replayed.
 */
export async function openRecordingStream(path: string, options: RecordingStreamOptions): Promise<RecordingStreamResult> {
  let kind: RecordingKind | null;
  try {
    kind = recordingKindOf(path);
  } catch (error) {
    return cannotRead(path, error);
  }
  if (!kind) return { ok: false, error: `${JSON.stringify(path.slice(0, 200))} is ${UNKNOWN_KIND}.` };
  const builder = new SourceBuilder(options, options.onEvent, options.onSummary);
  const sliceMs = options.sliceMs ?? 8;
  const progress: OpeningProgress = { phase: 'reading', bytesRead: 0, totalBytes: 0, replayed: 0, toReplay: 0, frames: 0 };
  const report = () => {
    progress.frames = builder.frames;
    options.onProgress?.({ ...progress });
  };
  // Connections that ended in the file and wait for their replay (normally one or none at a time).
  const queue: Array<{ conn: RecordedConnection; replay: Iterable<TraceEvent> }> = [];
  let sliceStarted = performance.now();
  const pause = async () => {
    await turn();
    if (options.pace) await options.pace();
    sliceStarted = performance.now();
  };
  const stopped = () => builder.cut || options.signal?.aborted === true;
  /** Replays what is queued, pausing whenever a slice has run its time. */
  const drain = async () => {
    while (queue.length > 0 && !stopped()) {
      const next = queue.shift()!;
      for (const _ of builder.add(next.conn, next.replay)) {
        if (performance.now() - sliceStarted >= sliceMs) {
          report();
          await pause();
        }
        if (options.signal?.aborted) break;
      }
      if (progress.phase === 'replaying') progress.replayed++;
    }
    queue.length = 0;
  };
  /** After each chunk of the file: replay what ended in it, then a turn of the event loop. */
  const between = async () => {
    report();
    await drain();
    if (performance.now() - sliceStarted >= sliceMs) await pause();
  };
  /** The file is read: replay the connections still open at its end. */
  const replayRest = async (rest: Array<{ conn: RecordedConnection; replay: Iterable<TraceEvent> }>) => {
    queue.push(...rest);
    Object.assign(progress, { phase: 'replaying', replayed: 0, toReplay: queue.length });
    report();
    await drain();
    report();
  };
  const stopAt = new AbortController();
  const onAbort = () => stopAt.abort();
  options.signal?.addEventListener('abort', onAbort);
  let error: string | null = null;
  try {
    if (kind === 'capture') {
      const ended: CapturedConnection[] = [];
      const conversations = new CaptureRecordingBuilder((c) => ended.push(c), options.captureLimits);
      const summary = await dissectCaptureFile(path, (event) => {
        if (stopped()) return;
        conversations.handle(event);
        for (const c of ended.splice(0)) queue.push({ conn: c.connection, replay: replayCaptured(c) });
      }, {
        signal: stopAt.signal,
        onProgress: (p) => Object.assign(progress, p),
        // A 1 MiB chunk took up to 90 ms to dissect on a loaded machine: in 64 KiB pieces (about
        // 60 packets), with `between` after each, the clock decides when to pause, not the chunk.
        pieceSize: CAPTURE_PIECE_BYTES,
        between: async () => {
          await between();
          if (builder.cut) stopAt.abort();
        },
      });
      // The conversations still open when the file ended were ended by dissector.end() just now.
      await replayRest(queue.splice(0));
      error = builder.cut ? null : summary.error ?? null;
    } else if (kind === 'session') {
      const endedIds = new Set<string>();
      const reader = new SessionReader(options.sessionLimits ?? {}, (conn) => {
        endedIds.add(conn.id);
        if (!stopped()) queue.push({ conn, replay: replayConnection(conn) });
      });
      await readInChunks(path, progress, stopAt.signal, (chunk) => reader.push(chunk), async () => {
        await between();
        if (builder.cut) stopAt.abort();
      });
      const result = reader.end();
      const rest = stopped() ? [] : result.recording.connections.filter((c) => !endedIds.has(c.id));
      await replayRest(rest.map((conn) => ({ conn, replay: replayConnection(conn) })));
      error = builder.cut ? null : result.error;
    } else {
      // One JSON document, parsed as it is read: each record (JSON export) or entry (HAR) as it comes.
      const connectionAt = (conn: RecordedConnection) => {
        if (!stopped()) queue.push({ conn, replay: replayConnection(conn) });
      };
      const endedIds = new Set<string>();
      const records = kind === 'json' ? new SessionReader(options.sessionLimits ?? {}, (conn) => {
        endedIds.add(conn.id);
        connectionAt(conn);
      }) : null;
      const entries = kind === 'har' ? new HarImporter({}, connectionAt) : null;
      const json = new JsonArrayStream({
        path: kind === 'json' ? ['records'] : ['log', 'entries'],
        onElement: (element, index) => (records ? records.take(element) : entries!.take(element, index)),
        maxElementBytes: kind === 'json' ? MAX_JSON_RECORD_BYTES : MAX_HAR_ENTRY_BYTES,
      });
      await readInChunks(path, progress, stopAt.signal, (chunk) => json.write(chunk), async () => {
        await between();
        if (builder.cut) stopAt.abort();
      });
      const jsonError = stopAt.signal.aborted ? null : json.end();
      // The reader's own stop (a record it refused) says more than the JSON's.
      const readerResult = records ? records.end() : entries!.result();
      const rest = stopped() || !records ? [] : readerResult.recording.connections.filter((c) => !endedIds.has(c.id));
      await replayRest(rest.map((conn) => ({ conn, replay: replayConnection(conn) })));
      error = builder.cut ? null : readerResult.error && readerResult.error !== 'the file is empty: it holds no session header' ? readerResult.error : jsonError ?? readerResult.error;
    }
  } catch (problem) {
    return cannotRead(path, problem);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted) error = 'stopped before the end of the file';
  return { ok: true, kind, summaries: builder.summaries, loadedIds: builder.loadedIds, events: builder.events, frames: builder.frames, error, cut: builder.cut };
}

/** Reads a file in 1 MiB chunks, handing each on, with `between` awaited after each. */
async function readInChunks(path: string, progress: OpeningProgress, signal: AbortSignal, take: (chunk: Uint8Array) => boolean, between: () => Promise<void>): Promise<{ error: string | null }> {
  const file = await open(path, 'r');
  try {
    progress.totalBytes = (await file.stat()).size;
    for (;;) {
      if (signal.aborted) return { error: null };
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return { error: null };
      progress.bytesRead += bytesRead;
      progress.totalBytes = Math.max(progress.totalBytes, progress.bytesRead);
      const more = take(buffer.subarray(0, bytesRead));
      await between();
      if (!more) return { error: null };
    }
  } finally {
    await file.close();
  }
}

/** Largest record of a JSON export (a session file's line is at most 4 MiB) and HAR entry (a connection with its messages) read. */
const MAX_JSON_RECORD_BYTES = 8 * 1024 * 1024;
const MAX_HAR_ENTRY_BYTES = 256 * 1024 * 1024;
