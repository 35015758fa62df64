/**
 * The web host's event-stream subscribers, each with a bounded queue. A subscriber that stops
 * reading (a stalled or throttled tab) would otherwise make the host buffer every batch
 * without limit. Past the limit its batches are dropped and counted; when it catches up it
 * gets one batch saying how many events it missed, with the current status, so its connection
 * list is right again. The service's own record is untouched: only this subscriber's copy of
 * the stream has the gap, and it is told so.
 *
 * Before that limit, a page that acknowledges the batches it applied (POST ackEvents) and falls
 * behind the wire gets its frames folded instead (src/service/frame-folding.ts): exact counts in
 * "N frames folded" rows, so the list stays with the wire and nothing goes unsaid.
 */
import type { ServerResponse } from 'node:http';
import type { InspectorService } from '../service/inspector-service.ts';
import type { ConformanceProgress, ServiceBatch } from '../shared/inspector-api.ts';
import { encodeWireJson } from '../shared/wire-json.ts';
import { FrameFolder, type FoldPolicy } from '../service/frame-folding.ts';

interface Subscriber {
  id: number;
  res: ServerResponse;
  folder: FrameFolder;
  droppedEvents: number;
  /** Dropped while behind: a status or conformance update to resend. */
  stale: boolean;
  conformance: ConformanceProgress | undefined;
}

export class EventStreams {
  private readonly subscribers = new Set<Subscriber>();
  private readonly unsubscribe: () => void;
  private nextId = 1;

  constructor(private readonly service: InspectorService, private readonly limitBytes: number, private readonly maxStreams = 8, private readonly foldPolicy?: FoldPolicy) {
    this.unsubscribe = service.onBatch((batch) => this.broadcast(batch));
  }

  /** Starts a stream on this response; false when too many are open. */
  add(res: ServerResponse, headers: Record<string, string>): boolean {
    if (this.subscribers.size >= this.maxStreams) return false;
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    const sub: Subscriber = { id: this.nextId++, res, folder: new FrameFolder(this.foldPolicy), droppedEvents: 0, stale: false, conformance: undefined };
    this.subscribers.add(sub);
    res.write(`data: ${encodeWireJson({ events: [], status: this.service.getStatus(), stream: sub.id })}\n\n`);
    res.on('drain', () => this.catchUp(sub));
    res.on('close', () => this.subscribers.delete(sub));
    res.on('error', () => this.subscribers.delete(sub));
    return true;
  }

  /** The page of stream `stream` applied every batch up to `seq` (the argument as the page sent it, checked here). */
  ack(arg: unknown): { ok: true } | { ok: false; error: string } {
    const { stream, seq } = (typeof arg === 'object' && arg !== null ? arg : {}) as { stream?: unknown; seq?: unknown };
    const sub = [...this.subscribers].find((s) => s.id === stream);
    if (!sub) return { ok: false, error: 'ackEvents: no such event stream (expected { stream, seq } from this page\'s stream).' };
    return sub.folder.ack(seq) ? { ok: true } : { ok: false, error: 'ackEvents: seq must be the number of a batch this stream sent.' };
  }

  stats(): Array<{ queuedBytes: number; droppedEvents: number; foldedFrames: number; foldRows: number; folding: boolean }> {
    return [...this.subscribers].map((s) => ({ queuedBytes: s.res.writableLength, droppedEvents: s.droppedEvents, foldedFrames: s.folder.foldedFrames, foldRows: s.folder.foldRows, folding: s.folder.folding }));
  }

  /**
   * Resolves once no page that acknowledges its batches is more than `lagMs` behind (issue 13: a
   * recording being opened waits on it between slices, so its frames reach the page paced rather
   * than folded; a recording has no wire to keep up with). A page more than `stalledMs` behind (a
   * stalled or hidden tab) is not waited for, and no wait lasts longer than that: folding keeps
   * such a page with the stream.
   */
  async untilCaughtUp(lagMs: number, stalledMs: number): Promise<void> {
    const behind = () => [...this.subscribers].some((s) => {
      if (s.res.destroyed || this.behind(s) || !s.folder.acknowledges) return false;
      const lag = s.folder.lagMs();
      return lag > lagMs && lag < stalledMs;
    });
    const until = performance.now() + stalledMs;
    while (behind() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  close(): void {
    this.unsubscribe();
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
  }

  private behind(sub: Subscriber): boolean {
    return sub.res.writableLength > this.limitBytes;
  }

  private broadcast(batch: ServiceBatch): void {
    for (const sub of this.subscribers) {
      if (sub.res.destroyed || sub.res.writableEnded) continue;
      if (this.behind(sub)) {
        sub.droppedEvents += batch.events.length;
        sub.stale ||= batch.status !== undefined || batch.conformance !== undefined;
        if (batch.conformance) sub.conformance = batch.conformance;
        continue;
      }
      this.catchUp(sub);
      // Numbered per stream (and folded while this page is behind): encoded for each page.
      sub.res.write(`data: ${encodeWireJson(sub.folder.prepare(batch))}\n\n`);
    }
  }

  /** Tells a subscriber that caught up what it missed, with the current status. */
  private catchUp(sub: Subscriber): void {
    if ((sub.droppedEvents === 0 && !sub.stale) || this.behind(sub) || sub.res.destroyed) return;
    const notice: ServiceBatch = {
      events: [], status: this.service.getStatus(), dropped: sub.droppedEvents,
      ...(sub.conformance ? { conformance: sub.conformance } : {}),
    };
    sub.droppedEvents = 0;
    sub.stale = false;
    sub.conformance = undefined;
    sub.res.write(`data: ${encodeWireJson(notice)}\n\n`);
  }
}
