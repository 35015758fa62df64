/**
 * The retained frames by key ("connectionId:frameId"), in pages of PAGE_SIZE frame ids.
 *
 * One Map over the whole ring would do the same job, but a Map grows by doubling and rehashes
 * every entry when it does: past 524,288 frames that is a 45 ms pause, past 1,048,576 about
 * 90 ms, in the middle of a flood (issue 6, UI under flood). Pages keep every rehash to a few
 * thousand entries, and a page goes as a whole once the ring has dropped all its frames.
 */
import type { FrameRow } from './frame-row.ts';

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;

export class FrameIndex {
  /** connectionId → page number (frameId / PAGE_SIZE) → frameId → row. */
  private readonly connections = new Map<string, Map<number, Map<number, FrameRow>>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): FrameRow | undefined {
    const split = splitKey(key);
    return split ? this.find(split.connectionId, split.frameId) : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** The row of this connection's frame, if still held. */
  find(connectionId: string, frameId: number): FrameRow | undefined {
    return this.connections.get(connectionId)?.get(frameId >>> PAGE_BITS)?.get(frameId);
  }

  /** Adds a row, or replaces the row held for its frame. */
  set(row: FrameRow): void {
    let pages = this.connections.get(row.connectionId);
    if (!pages) this.connections.set(row.connectionId, (pages = new Map()));
    const number = row.frameId >>> PAGE_BITS;
    let page = pages.get(number);
    if (!page) pages.set(number, (page = new Map()));
    const before = page.size;
    page.set(row.frameId, row);
    this.count += page.size - before;
  }

  delete(row: FrameRow): void {
    const pages = this.connections.get(row.connectionId);
    const number = row.frameId >>> PAGE_BITS;
    const page = pages?.get(number);
    if (!page || !page.delete(row.frameId)) return;
    this.count--;
    if (page.size === 0) {
      pages!.delete(number);
      if (pages!.size === 0) this.connections.delete(row.connectionId);
    }
  }

  clear(): void {
    this.connections.clear();
    this.count = 0;
  }
}

/** "server1:7:42" → connection "server1:7", frame 42 (connection ids contain colons). */
function splitKey(key: string): { connectionId: string; frameId: number } | null {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return null;
  const frameId = Number(key.slice(colon + 1));
  return Number.isInteger(frameId) && frameId >= 0 ? { connectionId: key.slice(0, colon), frameId } : null;
}

export { PAGE_SIZE as FRAME_INDEX_PAGE_SIZE };
