/**
 * The frame list's filter, kept up to date incrementally: frames only ever arrive at the end
 * of the store's array, so each batch costs what it adds, not what is retained. It starts over
 * only when the filter changes, frames are evicted from the front of the ring, or cleared.
 */
import { matchesFilters, type DirectionFilter, type FrameRow, type TypeFilter } from '../store/store.ts';

export interface FilterSpec {
  connectionId: string | null;
  direction: DirectionFilter;
  type: TypeFilter;
  search: string;
}

export class IncrementalFrameFilter {
  /** Matching rows, oldest first (mutated in place; read with `version`). */
  readonly rows: FrameRow[] = [];
  /** Frames of the connection still held, matching or not. */
  total = 0;
  version = 0;
  private specKey = '';
  private processed = 0;
  private evicted = 0;
  private lastSeen: FrameRow | undefined;

  /**
   * @param evictedFrames frames the ring has dropped from its front so far (all connections)
   * @param isHeld whether the store still holds a row (evicted ones are not)
   */
  update(frames: readonly FrameRow[], spec: FilterSpec, evictedFrames: number, isHeld: (row: FrameRow) => boolean = () => true): void {
    const key = `${spec.connectionId}\u0000${spec.direction}\u0000${spec.type}\u0000${spec.search}`;
    const before = this.rows.length;
    let changed = false;
    if (key === this.specKey && evictedFrames > this.evicted) {
      // The ring dropped a prefix of the frames: drop the same prefix here, no restart.
      const dropped = evictedFrames - this.evicted;
      this.processed = Math.max(0, this.processed - dropped);
      this.evicted = evictedFrames;
      let cut = 0;
      while (cut < this.rows.length && !isHeld(this.rows[cut]!)) cut++;
      if (cut > 0) this.rows.splice(0, cut);
      this.total = this.countHeldTotal(frames, spec);
      changed = true;
    }
    const restart = key !== this.specKey || evictedFrames < this.evicted || frames.length < this.processed
      || (this.processed > 0 && frames[this.processed - 1] !== this.lastSeen);
    if (restart) {
      this.rows.length = 0;
      this.total = 0;
      this.processed = 0;
      this.specKey = key;
      this.evicted = evictedFrames;
    }
    const needle = spec.search.trim().toLowerCase();
    for (let i = this.processed; i < frames.length; i++) {
      const row = frames[i]!;
      if (row.connectionId !== spec.connectionId) continue;
      this.total++;
      if (matchesFilters(row, spec, needle)) this.rows.push(row);
    }
    this.processed = frames.length;
    this.lastSeen = frames[frames.length - 1];
    if (restart || changed || this.rows.length !== before) this.version++;
  }

  /** After an eviction: the connection's frames up to `processed` (a cheap scan, no filtering). */
  private countHeldTotal(frames: readonly FrameRow[], spec: FilterSpec): number {
    let n = 0;
    for (let i = 0; i < this.processed; i++) if (frames[i]!.connectionId === spec.connectionId) n++;
    return n;
  }
}
