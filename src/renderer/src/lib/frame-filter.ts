/**
 * The timeline's filter, kept up to date incrementally: frames only ever arrive at the end of
 * the store's array, so each batch costs what it adds, not what is retained. It starts over
 * only when the filter changes, frames are evicted from the front of the ring, or cleared.
 *
 * Two modes: one row per frame, or one row per message with its frames folded in (§5.4: a
 * message is a data frame and its continuation frames; a control frame is a message of its own).
 * Rows are in wire order (frame ids are given as a header starts), whatever order frames complete.
 */
import { matchesFilters, type DirectionFilter, type FrameRow, type TypeFilter } from '../store/store.ts';
import { tryCompileFilter, type CompiledFilter } from './display-filter.ts';
import { compileSearch, frameSubject, MessageItem, messageSubject, type SearchMatcher, type TimelineMode } from './timeline.ts';

export interface FilterSpec {
  connectionId: string | null;
  direction: DirectionFilter;
  type: TypeFilter;
  search: string;
  /** The display-filter language (display-filter.ts); empty: none. */
  display?: string;
  mode?: TimelineMode;
  /**
   * Frames cut for display (over 64 KiB) whose full payload the service found the search in
   * (api.searchCutFrames): they match the search though the bytes held here do not.
   */
  cutMatches?: { search: string; frameIds: ReadonlySet<number> };
}

/** A spec's search and display filter, compiled, with what is wrong with them in plain words. */
export interface CompiledSpec {
  search: SearchMatcher | null;
  searchError: string | null;
  display: CompiledFilter | null;
  displayError: string | null;
  /** The list spans every connection (the display filter names conn). */
  allConnections: boolean;
}

export function compileSpec(spec: FilterSpec): CompiledSpec {
  const search = compileSearch(spec.search);
  const display = tryCompileFilter(spec.display ?? '');
  return {
    search: search.match, searchError: search.error,
    display: display.filter && (spec.display ?? '').trim() ? display.filter : null,
    displayError: display.error?.message ?? null,
    allConnections: display.filter?.usesConnection === true,
  };
}

export type TimelineItem = FrameRow | MessageItem;

export class IncrementalFrameFilter {
  /** Matching rows in wire order (mutated in place; read with `version`). */
  readonly rows: TimelineItem[] = [];
  /** Rows of the connection still held, matching or not (frames, or messages). */
  total = 0;
  version = 0;
  compiled: CompiledSpec = compileSpec({ connectionId: null, direction: 'all', type: 'all', search: '' });
  private specKey = '';
  private processed = 0;
  private evicted = 0;
  private lastSeen: FrameRow | undefined;
  /** Message mode: the message each direction of each connection has open (awaiting FIN). */
  private readonly open = new Map<string, MessageItem>();

  /**
   * @param evictedFrames frames the ring has dropped from its front so far (all connections)
   * @param isHeld whether the store still holds a row (evicted ones are not)
   */
  update(frames: readonly FrameRow[], spec: FilterSpec, evictedFrames: number, isHeld: (row: FrameRow) => boolean = () => true): void {
    const mode = spec.mode ?? 'frames';
    const cut = spec.cutMatches?.search === spec.search ? spec.cutMatches.frameIds : undefined;
    const key = `${spec.connectionId}\u0000${spec.direction}\u0000${spec.type}\u0000${spec.search}\u0000${spec.display ?? ''}\u0000${mode}\u0000${cut ? [...cut].join(',') : ''}`;
    const before = this.rows.length;
    let changed = false;
    if (key === this.specKey && evictedFrames > this.evicted) {
      // The ring dropped a prefix of the frames: drop the same rows here, no restart.
      const dropped = evictedFrames - this.evicted;
      this.processed = Math.max(0, this.processed - dropped);
      this.evicted = evictedFrames;
      // Rows are in wire order, the ring drops in completion order: keep every row still held.
      let write = 0;
      for (const row of this.rows) if (isHeld(row instanceof MessageItem ? row.first : row)) this.rows[write++] = row;
      this.rows.length = write;
      this.total = this.countHeldTotal(frames, spec);
      changed = true;
    }
    const restart = key !== this.specKey || evictedFrames < this.evicted || frames.length < this.processed
      || (this.processed > 0 && frames[this.processed - 1] !== this.lastSeen);
    if (restart) {
      this.rows.length = 0;
      this.total = 0;
      this.processed = 0;
      this.open.clear();
      this.specKey = key;
      this.evicted = evictedFrames;
      this.compiled = compileSpec(spec);
    }
    const c = this.compiled;
    const connectionId = c.allConnections ? null : spec.connectionId;
    for (let i = this.processed; i < frames.length; i++) {
      const row = frames[i]!;
      if (connectionId !== null && row.connectionId !== connectionId) continue;
      if (mode === 'frames') {
        this.total++;
        const found = matchesFilters(row, spec, c.search) || (c.search !== null && row.truncated !== undefined && cut?.has(row.frameId) === true && matchesFilters(row, spec, null));
        if (found && (!c.display || c.display.test(frameSubject(row)))) insertInWireOrder(this.rows, row);
      } else {
        this.foldFrame(row, spec, cut);
      }
    }
    this.processed = frames.length;
    this.lastSeen = frames[frames.length - 1];
    if (restart || changed || this.rows.length !== before) this.version++;
  }

  /** Message mode: adds a frame to its message, then (re)decides whether the message is listed. */
  private foldFrame(row: FrameRow, spec: FilterSpec, cut: ReadonlySet<number> | undefined): void {
    const openKey = `${row.connectionId}\u0000${row.direction}`;
    let message: MessageItem;
    const open = this.open.get(openKey);
    if (row.opcode === 0 && open) {
      open.frames.push(row);
      message = open;
    } else {
      message = new MessageItem(row);
      this.total++;
      if (row.opcode < 8) this.open.delete(openKey); // a new data frame ends any message left open
    }
    if (row.opcode < 8) {
      if (row.fin) this.open.delete(openKey);
      else this.open.set(openKey, message);
    }
    const listed = message.frames.length > 1 ? this.rows.lastIndexOf(message) : -1;
    const matches = this.messageMatches(message, spec, cut);
    if (matches && listed < 0) insertInWireOrder(this.rows, message);
    else if (!matches && listed >= 0) this.rows.splice(listed, 1);
  }

  private messageMatches(m: MessageItem, spec: FilterSpec, cut: ReadonlySet<number> | undefined): boolean {
    const c = this.compiled;
    if (spec.direction !== 'all' && m.direction !== spec.direction) return false;
    // The type filter: a message matches when any of its frames does (its continuations included).
    if (spec.type !== 'all' && !m.frames.some((f) => matchesFilters(f, { direction: 'all', type: spec.type }, null))) return false;
    const subject = c.search || c.display ? messageSubject(m) : null;
    if (c.search && !c.search(subject!) && !m.frames.some((f) => f.truncated && cut?.has(f.frameId))) return false;
    if (c.display && !c.display.test(subject!)) return false;
    return true;
  }

  /** After an eviction: the connection's frames up to `processed` (a cheap scan, no filtering). */
  private countHeldTotal(frames: readonly FrameRow[], spec: FilterSpec): number {
    if ((spec.mode ?? 'frames') === 'messages') return this.rows.length;
    const connectionId = this.compiled.allConnections ? null : spec.connectionId;
    let n = 0;
    for (let i = 0; i < this.processed; i++) if (connectionId === null || frames[i]!.connectionId === connectionId) n++;
    return n;
  }
}

/**
 * Appends a row where the wire put it. Frame ids are given when a frame's header starts, but a
 * frame reaches the trace when it completes: a large frame received while small ones were sent
 * arrives after them. Within a connection, ordering by frame id is wire order; rows arrive nearly
 * sorted, so the walk back is short (usually none).
 */
export function insertInWireOrder<T extends { connectionId: string; frameId: number }>(rows: T[], row: T): void {
  let at = rows.length;
  while (at > 0) {
    const before = rows[at - 1]!;
    if (before.connectionId !== row.connectionId || before.frameId < row.frameId) break;
    at--;
  }
  if (at === rows.length) rows.push(row);
  else rows.splice(at, 0, row);
}
