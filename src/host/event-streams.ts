/**
 * The web host's event-stream subscribers: each page's stream is an HTTP response carrying
 * binary batches (src/shared/trace-batch.ts), each a length-prefixed record (BatchRecordReader). The numbering, acknowledgements, folding,
 * pacing and the bounded queue are src/service/page-streams.ts, shared with Electron's IPC
 * (src/main/window-stream.ts), so the two paths cannot drift; this file only speaks HTTP.
 *
 * A subscriber that stops reading (a stalled or throttled tab) would otherwise make the host
 * buffer every batch without limit: past `limitBytes` queued its batches are dropped and
 * counted, and when the response drains it is told how many events it missed.
 */
import type { ServerResponse } from 'node:http';
import type { InspectorService } from '../service/inspector-service.ts';
import { encodeBatchRecord } from '../shared/trace-batch-encode.ts';
import type { FoldPolicy } from '../service/frame-folding.ts';
import { PageStreams, type AckResult } from '../service/page-streams.ts';

export class EventStreams {
  private readonly streams: PageStreams;

  constructor(service: InspectorService, limitBytes: number, maxStreams = 8, foldPolicy?: FoldPolicy) {
    this.streams = new PageStreams(service, { limitBytes, maxStreams, ...(foldPolicy ? { foldPolicy } : {}) });
  }

  /** Starts a stream on this response; false when too many are open. */
  add(res: ServerResponse, headers: Record<string, string>): boolean {
    if (this.streams.full) return false;
    // Binary batches (src/shared/trace-batch.ts), each a length-prefixed record: no base64 either side.
    res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    const id = this.streams.add({
      write: (batch) => res.write(encodeBatchRecord(batch)),
      queuedBytes: () => res.writableLength,
      closed: () => res.destroyed || res.writableEnded,
      end: () => res.end(),
    });
    if (id === null) return false;
    res.on('drain', () => this.streams.catchUp(id));
    res.on('close', () => this.streams.remove(id));
    res.on('error', () => this.streams.remove(id));
    return true;
  }

  /** The page of stream `stream` applied every batch up to `seq` (checked in PageStreams.ack). */
  ack(arg: unknown): AckResult {
    return this.streams.ack(arg);
  }

  stats(): ReturnType<PageStreams['stats']> {
    return this.streams.stats();
  }

  /** See PageStreams.untilCaughtUp. */
  untilCaughtUp(lagMs?: number, stalledMs?: number): Promise<void> {
    return this.streams.untilCaughtUp(lagMs, stalledMs);
  }

  close(): void {
    this.streams.close();
  }
}
