/**
 * The pages that show the service's batches, whatever carries them (the web host's event
 * streams, Electron's IPC to the window): one numbered stream per page, each with its own
 * FrameFolder (frame-folding.ts), so both paths number, acknowledge, fold and pace alike.
 *
 * - Every batch a page gets carries its number (`seq`); the page acknowledges the last one it
 *   applied (ack). A page that falls behind the wire gets its frames folded (issue 17).
 * - A transport that can tell how much it has queued for a page (an HTTP response) and passes
 *   `limitBytes` stops sending to it: its batches are dropped and counted, and when it catches up
 *   it gets one batch saying how many events it missed, with the current status.
 * - A recording being opened waits while an acknowledging page is behind (untilCaughtUp, issue 13).
 */
import type { ConformanceProgress, InspectorStatus, ServiceBatch } from '../shared/inspector-api.ts';
import { defaultFoldPolicy, FrameFolder, type FoldPolicy } from './frame-folding.ts';
import { eventCount } from '../shared/trace-batch.ts';

/** One page's end of a stream: the transport (SSE text, IPC message) encodes the batch. */
export interface PageSink {
  write(batch: ServiceBatch): void;
  /** Bytes written and not yet taken by the page; 0 when the transport cannot tell. */
  queuedBytes(): number;
  /** The page is gone (or not there yet): nothing is sent, and it is not waited for. */
  closed(): boolean;
  /** Ends the transport's stream when the streams close. */
  end?(): void;
}

/** What the streams need of the service: its batches and its status. */
export interface BatchSource {
  onBatch(listener: (batch: ServiceBatch) => void): () => void;
  getStatus(): InspectorStatus;
}

export interface PageStreamOptions {
  /** Bytes queued for one page before its batches are dropped (default: never). */
  limitBytes?: number;
  /** Streams open at once (default 8). */
  maxStreams?: number;
  foldPolicy?: FoldPolicy;
  /**
   * Put the stream's id on every batch, not only the first: a transport whose page can reload
   * under the same stream (an Electron window) so that the new page acknowledges at once.
   */
  streamOnEveryBatch?: boolean;
}

/** Pacing of a recording being opened: wait while a page is more than lagMs behind, not for one stalledMs behind. */
export const RECORDING_PACE = { lagMs: defaultFoldPolicy.foldAfterMs / 3, stalledMs: 2000 } as const;

export type AckResult = { ok: true } | { ok: false; error: string };

interface Stream {
  id: number;
  sink: PageSink;
  folder: FrameFolder;
  droppedEvents: number;
  /** Dropped while behind: a status or conformance update to resend. */
  stale: boolean;
  conformance: ConformanceProgress | undefined;
  /** A pending flush that closes this page's folds once it caught up (settleFolds). */
  settle: ReturnType<typeof setTimeout> | null;
}

export class PageStreams {
  private readonly streams = new Map<number, Stream>();
  private readonly unsubscribe: () => void;
  private nextId = 1;
  private readonly limitBytes: number;
  private readonly maxStreams: number;

  constructor(private readonly service: BatchSource, private readonly options: PageStreamOptions = {}) {
    this.limitBytes = options.limitBytes ?? Infinity;
    this.maxStreams = options.maxStreams ?? 8;
    this.unsubscribe = service.onBatch((batch) => this.broadcast(batch));
  }

  /** Whether as many streams are open as allowed. */
  get full(): boolean {
    return this.streams.size >= this.maxStreams;
  }

  /** Starts a stream to this page (its first batch: the id and the status); null when too many are open. */
  add(sink: PageSink): number | null {
    if (this.full) return null;
    const stream: Stream = { id: this.nextId++, sink, folder: new FrameFolder(this.options.foldPolicy), droppedEvents: 0, stale: false, conformance: undefined, settle: null };
    this.streams.set(stream.id, stream);
    if (!sink.closed()) sink.write({ events: [], status: this.service.getStatus(), stream: stream.id });
    return stream.id;
  }

  remove(id: number): void {
    const stream = this.streams.get(id);
    if (stream?.settle) clearTimeout(stream.settle);
    this.streams.delete(id);
  }

  /** The page of stream `stream` applied every batch up to `seq` (the argument as the page sent it, checked here). */
  ack(arg: unknown): AckResult {
    const { stream, seq } = (typeof arg === 'object' && arg !== null ? arg : {}) as { stream?: unknown; seq?: unknown };
    const found = typeof stream === 'number' ? this.streams.get(stream) : undefined;
    if (!found) return { ok: false, error: 'ackEvents: no such event stream (expected { stream, seq } from this page\'s stream).' };
    if (!found.folder.ack(seq)) return { ok: false, error: 'ackEvents: seq must be the number of a batch this stream sent.' };
    this.settleFolds(found);
    return { ok: true };
  }

  stats(): Array<{ queuedBytes: number; droppedEvents: number; foldedFrames: number; foldRows: number; folding: boolean }> {
    return [...this.streams.values()].map((s) => ({ queuedBytes: s.sink.queuedBytes(), droppedEvents: s.droppedEvents, foldedFrames: s.folder.foldedFrames, foldRows: s.folder.foldRows, folding: s.folder.folding }));
  }

  /**
   * Resolves once no page that acknowledges its batches is more than `lagMs` behind (issue 13: a
   * recording being opened waits on it between slices, so its frames reach the page paced rather
   * than folded; a recording has no wire to keep up with). A page more than `stalledMs` behind (a
   * stalled or hidden page) is not waited for, and no wait lasts longer than that: folding keeps
   * such a page with the stream.
   */
  async untilCaughtUp(lagMs: number = RECORDING_PACE.lagMs, stalledMs: number = RECORDING_PACE.stalledMs): Promise<void> {
    const behind = () => [...this.streams.values()].some((s) => {
      if (s.sink.closed() || this.overLimit(s) || !s.folder.acknowledges) return false;
      const lag = s.folder.lagMs();
      return lag > lagMs && lag < stalledMs;
    });
    const until = performance.now() + stalledMs;
    while (behind() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Tells a page that caught up (its transport drained) what it missed, with the current status. */
  catchUp(id: number): void {
    const stream = this.streams.get(id);
    if (stream) this.sendMissed(stream);
  }

  close(): void {
    this.unsubscribe();
    for (const stream of this.streams.values()) {
      if (stream.settle) clearTimeout(stream.settle);
      stream.sink.end?.();
    }
    this.streams.clear();
  }

  /**
   * A page acknowledging while folded: folds close only with a batch (FrameFolder.prepare), so when
   * the flood has ended and no batch follows, an empty one goes after the fold's minimum time, and
   * again while the page is still folded; otherwise its last fold would say "open" for good.
   */
  private settleFolds(stream: Stream): void {
    if (!stream.folder.folding || stream.settle) return;
    const minFoldMs = (this.options.foldPolicy ?? defaultFoldPolicy).minFoldMs;
    // +10 ms: a timer can fire a little before performance.now() says its time has passed.
    stream.settle = setTimeout(() => {
      stream.settle = null;
      if (!this.streams.has(stream.id) || stream.sink.closed() || this.overLimit(stream) || !stream.folder.folding) return;
      this.writePrepared(stream, { events: [] });
    }, minFoldMs + 10);
    stream.settle.unref?.();
  }

  private writePrepared(stream: Stream, batch: ServiceBatch): void {
    const prepared = stream.folder.prepare(batch);
    stream.sink.write(this.options.streamOnEveryBatch ? { ...prepared, stream: stream.id } : prepared);
  }

  private overLimit(stream: Stream): boolean {
    return stream.sink.queuedBytes() > this.limitBytes;
  }

  private broadcast(batch: ServiceBatch): void {
    for (const stream of this.streams.values()) {
      if (stream.sink.closed()) continue;
      if (this.overLimit(stream)) {
        stream.droppedEvents += eventCount(batch);
        stream.stale ||= batch.status !== undefined || batch.conformance !== undefined;
        if (batch.conformance) stream.conformance = batch.conformance;
        continue;
      }
      this.sendMissed(stream);
      // Numbered per stream (and folded while this page is behind).
      this.writePrepared(stream, batch);
    }
  }

  private sendMissed(stream: Stream): void {
    if ((stream.droppedEvents === 0 && !stream.stale) || this.overLimit(stream) || stream.sink.closed()) return;
    const notice: ServiceBatch = {
      events: [], status: this.service.getStatus(), dropped: stream.droppedEvents,
      ...(stream.conformance ? { conformance: stream.conformance } : {}),
    };
    stream.droppedEvents = 0;
    stream.stale = false;
    stream.conformance = undefined;
    stream.sink.write(notice);
  }
}
