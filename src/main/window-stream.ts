/**
 * The window's stream of batches over IPC: the same per-page numbering, acknowledgements,
 * folding and recording pacing as the web host's event streams (src/service/page-streams.ts).
 * No electron import: ipc.ts passes the window's webContents in (a BatchTarget), and the tests
 * pass a fake one.
 *
 * The stream lives as long as the IPC registration, whatever page the window shows: each batch
 * carries the stream's id, so a reloaded page acknowledges from its first batch on. While there is
 * no window, nothing is sent and nothing is waited for.
 */
import { encodeBatch } from '../shared/trace-batch-encode.ts';
import type { FoldPolicy } from '../service/frame-folding.ts';
import { PageStreams, type AckResult, type BatchSource } from '../service/page-streams.ts';

/** What the stream needs of a webContents (a subset of Electron's WebContents). */
export interface BatchTarget {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, batch: Uint8Array): void;
}

export class WindowStream {
  private readonly streams: PageStreams;
  private readonly id: number;

  constructor(service: BatchSource, private readonly target: () => BatchTarget | null, channel: string, foldPolicy?: FoldPolicy) {
    this.streams = new PageStreams(service, { maxStreams: 1, streamOnEveryBatch: true, ...(foldPolicy ? { foldPolicy } : {}) });
    const window = () => {
      const contents = this.target();
      return contents && !contents.isDestroyed() ? contents : null;
    };
    this.id = this.streams.add({
      // As one binary batch (src/shared/trace-batch.ts), not a structured clone of the events: see PreloadApi.
      write: (batch) => window()?.send(channel, encodeBatch(batch)),
      // webContents.send queues without telling how much: folding is what keeps the window up.
      queuedBytes: () => 0,
      closed: () => window() === null,
    })!;
  }

  /**
   * An acknowledgement from webContents `senderId` (hostile by default: only the window's own
   * webContents, only this stream, only a batch it was sent; PageStreams.ack checks the number).
   */
  ack(senderId: number, arg: unknown): AckResult {
    const contents = this.target();
    if (!contents || contents.isDestroyed() || contents.id !== senderId) return { ok: false, error: 'ackEvents: only the window this stream goes to acknowledges it.' };
    const stream = typeof arg === 'object' && arg !== null ? (arg as { stream?: unknown }).stream : undefined;
    if (stream !== this.id) return { ok: false, error: 'ackEvents: no such event stream (expected { stream, seq } from this window\'s stream).' };
    return this.streams.ack(arg);
  }

  stats(): ReturnType<PageStreams['stats']>[number] {
    return this.streams.stats()[0]!;
  }

  /** Resolves once the window is caught up, or stalled (PageStreams.untilCaughtUp). */
  untilCaughtUp(lagMs?: number, stalledMs?: number): Promise<void> {
    return this.streams.untilCaughtUp(lagMs, stalledMs);
  }

  close(): void {
    this.streams.close();
  }
}
