/**
 * Folding for one page that cannot keep up (issue 17, UI under flood).
 *
 * Every batch sent to the page gets a number; the page acknowledges the last one it applied.
 * While the oldest batch not yet acknowledged is more than `foldAfterMs` old, the page is
 * behind the wire: its frames then leave in folded rows instead (src/shared/frame-fold.ts),
 * one summary per connection with exact counts per direction and opcode, updated in each
 * batch, so the page's count keeps pace with the wire at the cost of a few numbers per batch.
 * Once it has caught up (after at least `minFoldMs`, the oldest unacknowledged batch younger
 * than `resumeBelowMs`), the folds close and frames flow again. Nothing is lost silently:
 * every frame not sent is counted in exactly one fold, and every other event (handshakes,
 * violations, closes, lifecycle) still goes out. A frame with a violation and a close frame are
 * never folded. A page that never acknowledges (an old page, a raw reader of the stream) is
 * never folded: folding starts only for a page that has acknowledged once.
 */
import type { TraceEvent } from '../core/trace.ts';
import type { FrameFold } from '../shared/frame-fold.ts';
import type { ServiceBatch } from '../shared/inspector-api.ts';
import { eventsOf } from '../shared/trace-batch.ts';

export interface FoldPolicy {
  /** Fold once the oldest unacknowledged batch is this old (ms). */
  foldAfterMs: number;
  /** Stop folding once it is younger than this (ms)… */
  resumeBelowMs: number;
  /** …and the folding has lasted at least this long (ms), so that it does not flicker. */
  minFoldMs: number;
  /**
   * Fold only while at least this many frames sent are unacknowledged: a page slow for a moment
   * (a garbage collection, a busy machine) with a few hundred frames in flight gets them all; a
   * flood (50,000 frames/s puts 6,000 in 120 ms) is what gets folded.
   */
  minFramesBehind: number;
}

/** Leaves room under the UI's 250 ms target: wire → batch (16 ms) → page (one frame) → paint. */
export const defaultFoldPolicy: FoldPolicy = { foldAfterMs: 120, resumeBelowMs: 40, minFoldMs: 300, minFramesBehind: 2000 };

/** Send times kept for unacknowledged batches; past this the oldest go (they are old: still "behind"). */
const MAX_UNACKED = 4096;
/**
 * Folds open at once (one per connection): past this the oldest is sent closed with its final
 * count, so peers that come and go while a page stays behind cannot grow this without bound.
 */
export const MAX_OPEN_FOLDS = 1024;

type FrameEvent = Extract<TraceEvent, { type: 'frame' }>;

/** Fold ids are unique in this process, so a page that reconnects never mixes two streams' folds. */
let nextFoldId = 1;

/**
 * Frames that always reach the page: a violation and a close are what a person looks for; and an
 * opened recording's frames (ids "recN:…"), which have no wire to keep up with: their open is
 * paced to the page instead (PageStreams.untilCaughtUp, page-streams.ts), so few are in flight at a time.
 */
function neverFolded(event: FrameEvent): boolean {
  return event.frame.violation !== undefined || event.frame.opcode === 8 || /^rec\d+:/.test(event.connectionId);
}

export class FrameFolder {
  private nextSeq = 1;
  private acked = 0;
  /** Whether this page takes part (it acknowledged once). */
  private acknowledging = false;
  /** [seq, send time] of batches sent and not yet acknowledged, oldest first. */
  private readonly unacked: Array<[number, number]> = [];
  /** Frames sent in each unacknowledged batch (by its number), and their sum. */
  private readonly unackedFrames = new Map<number, number>();
  private framesBehind = 0;
  private foldingSince: number | null = null;
  private readonly open = new Map<string, FrameFold>();
  /** Frames folded so far on this stream, and the folded rows they made (diagnostics, tests, bench:ui). */
  foldedFrames = 0;
  foldRows = 0;

  constructor(private readonly policy: FoldPolicy = defaultFoldPolicy, private readonly clock: () => number = () => performance.now()) {}

  get folding(): boolean {
    return this.foldingSince !== null;
  }

  /** Whether this page acknowledges its batches (only such a page is ever folded, or waited for). */
  get acknowledges(): boolean {
    return this.acknowledging;
  }

  /** What this folder holds for its page (its bounds' own checks, tests). */
  held(): { unackedBatches: number; unackedFrameBatches: number; framesBehind: number; openFolds: number } {
    return { unackedBatches: this.unacked.length, unackedFrameBatches: this.unackedFrames.size, framesBehind: this.framesBehind, openFolds: this.open.size };
  }

  /** The page applied every batch up to this number. Anything else (not a number, from the future) is ignored. */
  ack(seq: unknown): boolean {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq >= this.nextSeq) return false;
    this.acknowledging = true;
    if (seq <= this.acked) return true;
    this.acked = seq;
    let drop = 0;
    while (drop < this.unacked.length && this.unacked[drop]![0] <= seq) drop++;
    this.unacked.splice(0, drop);
    for (const [sent, frames] of this.unackedFrames) {
      if (sent > seq) continue;
      this.framesBehind -= frames;
      this.unackedFrames.delete(sent);
    }
    return true;
  }

  /** How long ago the oldest batch the page has not acknowledged was sent (0: none). */
  lagMs(now = this.clock()): number {
    const oldest = this.unacked[0];
    return oldest ? now - oldest[1] : 0;
  }

  /** The batch this page gets: numbered, its frames folded while the page is behind. */
  prepare(batch: ServiceBatch): ServiceBatch {
    const now = this.clock();
    this.decide(now);
    const seq = this.nextSeq++;
    this.unacked.push([seq, now]);
    if (this.unacked.length > MAX_UNACKED) {
      // The oldest batch's frames stay counted behind, carried by the next oldest (bounded by MAX_UNACKED).
      const [dropped] = this.unacked.shift()!;
      const frames = this.unackedFrames.get(dropped);
      if (frames !== undefined) {
        this.unackedFrames.delete(dropped);
        const next = this.unacked[0]![0];
        this.unackedFrames.set(next, (this.unackedFrames.get(next) ?? 0) + frames);
      }
    }
    if (this.foldingSince === null && this.open.size === 0) {
      this.countSent(seq, batch.events, batch.trace?.frames ?? 0);
      return { ...batch, seq };
    }
    const events: TraceEvent[] = [];
    const changed = new Set<FrameFold>();
    // Folding: the events one by one (those that came encoded, read back), sent as objects.
    const { trace: _encoded, ...plain } = batch;
    for (const event of eventsOf(batch)) {
      if (this.foldingSince !== null && event.type === 'frame' && !neverFolded(event)) {
        changed.add(this.fold(event, changed));
        continue;
      }
      if (event.type === 'message') {
        // The message of folded frames: counted with them (a message's frames come before it).
        const fold = this.open.get(event.connectionId);
        if (fold && event.frameIds.every((id) => id >= fold.firstFrameId && id <= fold.lastFrameId)) {
          fold.messages++;
          changed.add(fold);
          continue;
        }
      }
      events.push(event);
    }
    if (this.foldingSince === null) {
      // Caught up: the open folds are final, sent closed with this batch.
      for (const fold of this.open.values()) {
        fold.open = false;
        changed.add(fold);
      }
      this.open.clear();
    }
    const folds = [...changed].map((f) => ({ ...f, kinds: f.kinds.map((k) => ({ ...k })) }));
    this.countSent(seq, events, 0);
    return { ...plain, events, seq, ...(folds.length > 0 ? { folds } : {}) };
  }

  /** Frames the page has been sent and not yet acknowledged (only counted once it acknowledges): those of `events`, and `encodedFrames` more. */
  private countSent(seq: number, events: readonly TraceEvent[], encodedFrames: number): void {
    if (!this.acknowledging) return;
    let frames = encodedFrames;
    for (const e of events) if (e.type === 'frame') frames++;
    if (frames === 0) return;
    this.unackedFrames.set(seq, frames);
    this.framesBehind += frames;
  }

  private decide(now: number): void {
    if (!this.acknowledging) return;
    const lag = this.lagMs(now);
    if (this.foldingSince === null) {
      if (lag > this.policy.foldAfterMs && this.framesBehind >= this.policy.minFramesBehind) this.foldingSince = now;
    } else if (now - this.foldingSince >= this.policy.minFoldMs && lag < this.policy.resumeBelowMs) {
      this.foldingSince = null;
    }
  }

  private fold(event: FrameEvent, changed: Set<FrameFold>): FrameFold {
    const f = event.frame;
    let fold = this.open.get(event.connectionId);
    if (!fold) {
      if (this.open.size >= MAX_OPEN_FOLDS) {
        // The oldest open fold goes out closed with this batch (its count final), leaving room.
        const [oldestId, oldest] = this.open.entries().next().value!;
        this.open.delete(oldestId);
        oldest.open = false;
        changed.add(oldest);
      }
      fold = {
        id: nextFoldId++, connectionId: event.connectionId, firstSeq: event.seq, lastSeq: event.seq, firstTime: event.time, lastTime: event.time,
        firstFrameId: f.frameId, lastFrameId: f.frameId, frames: 0, wireBytes: 0, messages: 0, kinds: [], open: true,
      };
      this.open.set(event.connectionId, fold);
      this.foldRows++;
    }
    fold.lastSeq = event.seq;
    fold.lastTime = event.time;
    fold.lastFrameId = f.frameId;
    fold.frames++;
    fold.wireBytes += f.truncated?.rawLength ?? f.raw.length;
    let kind = fold.kinds.find((k) => k.direction === event.direction && k.opcode === f.opcode);
    if (!kind) fold.kinds.push((kind = { direction: event.direction, opcode: f.opcode, frames: 0, payloadBytes: 0 }));
    kind.frames++;
    kind.payloadBytes += f.payloadLength;
    this.foldedFrames++;
    return fold;
  }
}
