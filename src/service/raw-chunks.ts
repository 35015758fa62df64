/**
 * The raw socket writes and reads of each connection, kept for the page (issue 15, the Pipeline's
 * last stage): the protocol traces every chunk it hands to the socket and every chunk the socket
 * delivered as a 'bytes' event (core/protocol.ts, traceBytes); this store keeps them, bounded, with
 * each frame's position in its direction's byte stream, and answers "which writes/reads carried the
 * bytes of frames X..Y".
 *
 * Frame positions: an outgoing frame is traced just before the write(s) that carry it (a crafted
 * frame may go in several), so it starts where the stream has got to; an incoming frame starts
 * where the previous one ended (the parser reads the stream whole after the HTTP head). Each
 * answer checks the kept byte at that position against the frame's first byte (`aligned`).
 *
 * Bounds: a byte budget per connection and one in total (the slabs holding the kept bytes, plus a
 * fixed cost per write/read and per frame position), each chunk's bytes cut to keepPerChunk, at
 * most maxConnections connections; the oldest go first and are counted.
 *
 * The kept bytes are copied (socket buffers may be views of pooled memory) into slabs per
 * direction, 512 bytes growing to 16 KiB, not one allocation per chunk: chunks leave a direction
 * oldest first, so a slab is freed when its last chunk goes, and at most the newest slab and the
 * oldest one are part empty. (Measured, 1M 66-byte frames and their writes on 100 connections, load
 * 11-12, alternating runs: 3.4-4.7 µs per event with a copy of its own per chunk, 1.5-1.6 µs so;
 * heap 113 vs 43 MiB.) Emptied full-size slabs go to a small store-wide spare list for the next
 * slab rather than to the collector.
 *
 * No object per chunk or frame position (this runs for every socket read and write the inspector
 * traces): each direction keeps its chunks and its frame positions as rings of typed-array columns,
 * a chunk's ordinal is implied by its place (a direction's kept chunks have consecutive ordinals),
 * and the oldest-first order across connections is a ring of (connection, direction, ordinal)
 * whose entries for chunks already gone are skipped, and swept out when they pile up. (Measured
 * with npm run bench:raw-chunks, the 64 B echo's pattern, against the object-per-chunk store it
 * replaced, which test/support/raw-chunks-reference.ts keeps and the tests hold it to: see the
 * commit that brought it.)
 */
import type { Direction, TraceEvent, TracedFrame } from '../core/trace.ts';
import type { Result } from '../shared/inspector-api.ts';
import {
  RAW_CARRIERS_MAX_CHUNKS, RAW_CARRIERS_MAX_FRAMES, RAW_CARRIERS_MAX_SEGMENTS, RAW_CARRIERS_MAX_SPAN, RAW_SEGMENT_PREVIEW,
  type RawCarriers, type RawCarriersRequest, type RawChunkInfo, type RawChunkSegment, type RawFrameSpan,
} from '../shared/raw-chunks-api.ts';

export interface RawChunkStoreOptions {
  /** Bytes one connection may hold (default 1 MiB). */
  perConnectionBytes?: number;
  /** Bytes all connections together may hold (default 32 MiB). */
  totalBytes?: number;
  /** Bytes kept of one write/read; the rest is counted, not kept (default 16 KiB). */
  keepPerChunk?: number;
  /** Connections remembered (default 1000); the oldest is forgotten first. */
  maxConnections?: number;
}

/**
 * What a kept chunk and a frame position are charged beside their bytes. A chunk takes 48 bytes of
 * columns (offset, length, seq, time: 8 each; slab position and kept length: 4 each; its slab: a
 * reference) and a frame position 28 (id, offset, length: 8 each; first byte: 4), and the global
 * order 17 per chunk; a ring doubles when full and halves below a quarter full, so twice that after
 * growing and at worst four times just before halving. The charges stay what they were, so the
 * store keeps what it kept before (the objects these replaced cost about 150 and 64 bytes).
 */
export const CHUNK_OVERHEAD = 96;
export const FRAME_OVERHEAD = 32;
/** A direction's first slab, and the most a slab grows to (never more than an eighth of a connection's budget). */
export const FIRST_SLAB = 512;
export const MAX_SLAB = 16 * 1024;
/** Emptied full-size slabs kept for reuse, store-wide (so at most 4 × 16 KiB held beside the budgets). */
const SPARE_SLABS = 4;
/** Forgotten connections whose stale order entries may remain before the order is swept. */
const FORGOTTEN_SWEEP = 256;

/** Kept bytes of successive chunks of one direction; freed once none of its chunks is kept. */
class Slab {
  live = 0;
  constructor(readonly bytes: Uint8Array) {}
}

const MIN_RING = 16;

/** A column's entries from `head` in ring order, moved to the start of a new column of `capacity`. */
function moved<T extends Float64Array | Int32Array | Uint8Array>(column: T, head: number, size: number, capacity: number, make: (n: number) => T): T {
  const next = make(capacity);
  const tail = Math.min(size, column.length - head);
  next.set(column.subarray(head, head + tail), 0);
  if (tail < size) next.set(column.subarray(0, size - tail), tail);
  return next;
}

function movedRefs<T>(column: (T | null)[], head: number, size: number, capacity: number): (T | null)[] {
  const next = new Array<T | null>(capacity).fill(null);
  for (let i = 0; i < size; i++) next[i] = column[(head + i) & (column.length - 1)]!;
  return next;
}

const f64 = (n: number) => new Float64Array(n);
const i32 = (n: number) => new Int32Array(n);
const u8 = (n: number) => new Uint8Array(n);

/**
 * A first-in first-out list of entries kept as typed-array columns indexed by slot (no object per
 * entry): it doubles when full and halves when under a quarter full.
 */
abstract class Ring {
  head = 0;
  size = 0;
  mask = MIN_RING - 1;
  /** The slot of the i-th entry, oldest first. */
  slot(i: number): number {
    return (this.head + i) & this.mask;
  }
  /** Room for one more entry at the end; its slot. */
  protected pushSlot(): number {
    if (this.size > this.mask) this.resize((this.mask + 1) * 2);
    const slot = (this.head + this.size) & this.mask;
    this.size++;
    return slot;
  }
  /** Drops the oldest entry; its slot (valid until the next push). */
  protected shiftSlot(): number {
    const slot = this.head;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    if (this.size * 4 < this.mask + 1 && this.mask + 1 > MIN_RING) this.resize((this.mask + 1) / 2);
    return slot;
  }
  protected resize(capacity: number): void {
    this.move(capacity);
    this.head = 0;
    this.mask = capacity - 1;
  }
  /** Reallocates every column at `capacity`, entries in order from slot 0. */
  protected abstract move(capacity: number): void;
  /** Index of the first entry for which `before` is false (entries ordered so that `before` holds for a prefix). */
  partition(before: (slot: number) => boolean): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.slot(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A direction's kept chunks: where each is in the stream and where its kept bytes are. */
class ChunkRing extends Ring {
  offset = f64(MIN_RING);
  length = f64(MIN_RING);
  seq = f64(MIN_RING);
  time = f64(MIN_RING);
  /** The first `kept` bytes, copied into slab.bytes at `at` (socket buffers may be pooled). */
  at = i32(MIN_RING);
  kept = i32(MIN_RING);
  slab: (Slab | null)[] = new Array<Slab | null>(MIN_RING).fill(null);

  push(offset: number, length: number, seq: number, time: number, at: number, kept: number, slab: Slab): void {
    const s = this.pushSlot();
    this.offset[s] = offset;
    this.length[s] = length;
    this.seq[s] = seq;
    this.time[s] = time;
    this.at[s] = at;
    this.kept[s] = kept;
    this.slab[s] = slab;
  }
  /** Drops the oldest chunk; its slab. */
  shift(): Slab {
    const s = this.head;
    const slab = this.slab[s]!;
    this.slab[s] = null;
    this.shiftSlot();
    return slab;
  }
  protected move(capacity: number): void {
    const { head, size } = this;
    this.offset = moved(this.offset, head, size, capacity, f64);
    this.length = moved(this.length, head, size, capacity, f64);
    this.seq = moved(this.seq, head, size, capacity, f64);
    this.time = moved(this.time, head, size, capacity, f64);
    this.at = moved(this.at, head, size, capacity, i32);
    this.kept = moved(this.kept, head, size, capacity, i32);
    this.slab = movedRefs(this.slab, head, size, capacity);
  }
}

/** A direction's frame positions, in the order they were traced. */
class FrameRing extends Ring {
  frameId = f64(MIN_RING);
  offset = f64(MIN_RING);
  length = f64(MIN_RING);
  /** The frame's first byte on the wire (-1: none), to check the mapping against the kept bytes. */
  first = i32(MIN_RING);

  push(frameId: number, offset: number, length: number, first: number): void {
    const s = this.pushSlot();
    this.frameId[s] = frameId;
    this.offset[s] = offset;
    this.length[s] = length;
    this.first[s] = first;
  }
  shift(): void {
    this.shiftSlot();
  }
  protected move(capacity: number): void {
    const { head, size } = this;
    this.frameId = moved(this.frameId, head, size, capacity, f64);
    this.offset = moved(this.offset, head, size, capacity, f64);
    this.length = moved(this.length, head, size, capacity, f64);
    this.first = moved(this.first, head, size, capacity, i32);
  }
}

/** Every chunk in arrival order across connections: its connection, direction and ordinal (a stale entry is skipped). */
class OrderRing extends Ring {
  owner: (ConnectionChunks | null)[] = new Array<ConnectionChunks | null>(MIN_RING).fill(null);
  out = u8(MIN_RING);
  ordinal = f64(MIN_RING);

  push(owner: ConnectionChunks, out: boolean, ordinal: number): void {
    const s = this.pushSlot();
    this.owner[s] = owner;
    this.out[s] = out ? 1 : 0;
    this.ordinal[s] = ordinal;
  }
  /** Drops the oldest entry; its connection if its chunk is still kept (`shiftedOut` then says which direction), else null. */
  shiftLive(): ConnectionChunks | null {
    const s = this.head;
    const owner = this.liveStream(s) ? this.owner[s]! : null;
    this.shiftedOut = this.out[s] === 1;
    this.owner[s] = null;
    this.shiftSlot();
    return owner;
  }
  shiftedOut = false;
  private liveStream(s: number): DirectionStream | null {
    const owner = this.owner[s]!;
    if (!owner.kept) return null;
    const stream = this.out[s] ? owner.out : owner.in;
    return this.ordinal[s]! >= stream.firstOrdinal() ? stream : null;
  }
  /** Drops the entries of chunks no longer kept (each stream's chunks leave oldest first, so those are the ones below its first ordinal), in place. */
  sweep(): void {
    const { owner, out, ordinal, mask, head, size } = this;
    let n = 0;
    for (let i = 0; i < size; i++) {
      const s = (head + i) & mask;
      const o = owner[s]!;
      if (!o.kept) continue;
      const stream = out[s] ? o.out : o.in;
      if (ordinal[s]! < stream.firstOrdinal()) continue;
      const to = (head + n++) & mask;
      owner[to] = o;
      out[to] = out[s]!;
      ordinal[to] = ordinal[s]!;
    }
    for (let i = n; i < this.size; i++) this.owner[this.slot(i)] = null;
    this.size = n;
    let capacity = this.mask + 1;
    while (capacity > MIN_RING && n * 4 < capacity) capacity /= 2;
    if (capacity < this.mask + 1) this.resize(capacity);
  }
  protected move(capacity: number): void {
    const { head, size } = this;
    this.owner = movedRefs(this.owner, head, size, capacity);
    this.out = moved(this.out, head, size, capacity, u8);
    this.ordinal = moved(this.ordinal, head, size, capacity, f64);
  }
}

class DirectionStream {
  /** Bytes seen so far in this direction. */
  streamBytes = 0;
  /** Incoming: where the next frame starts. */
  frameCursor = 0;
  chunksSeen = 0;
  readonly chunks = new ChunkRing();
  readonly frames = new FrameRing();
  droppedChunks = 0;
  droppedBytes = 0;
  /** The slab new chunks are copied into, how much of it is used, and the size of the next one. */
  slab: Slab | null = null;
  slabUsed = 0;
  nextSlab = FIRST_SLAB;

  /** Where the oldest kept byte is (streamBytes when nothing is kept). */
  keptFrom(): number {
    return this.chunks.size > 0 ? this.chunks.offset[this.chunks.head]! : this.streamBytes;
  }
  /** Ordinal of the oldest kept chunk (kept chunks have consecutive ordinals: they leave oldest first). */
  firstOrdinal(): number {
    return this.chunksSeen - this.chunks.size + 1;
  }
}

/** What a forgotten connection holds instead of its chunks (never written: it is no longer in the store's map). */
const FORGOTTEN = new DirectionStream();

class ConnectionChunks {
  used = 0;
  /** False once forgotten. */
  kept = true;
  /** Emptied (FORGOTTEN) when the store forgets the connection: stale order entries keep only this small object. */
  in = new DirectionStream();
  out = new DirectionStream();
  constructor(readonly id: string) {}
  stream(direction: Direction): DirectionStream {
    return direction === 'out' ? this.out : this.in;
  }
}

const frameLength = (frame: TracedFrame) => frame.truncated?.rawLength ?? frame.raw.length;

export class RawChunkStore {
  private readonly perConnection: number;
  private readonly total: number;
  private readonly keepPerChunk: number;
  private readonly maxConnections: number;
  private readonly maxSlab: number;
  private readonly connections = new Map<string, ConnectionChunks>();
  /** The connection last looked up (a conversation's chunks and frames come in runs). */
  private last: ConnectionChunks | null = null;
  /** Every kept chunk in arrival order (evicted ones are skipped, and swept out when they pile up). */
  private readonly order = new OrderRing();
  private readonly spareSlabs: Slab[] = [];
  private liveChunks = 0;
  /** Connections forgotten since the global order was last swept (their entries may still be in it). */
  private forgottenSinceSweep = 0;
  private used = 0;
  /** Connections forgotten to stay within maxConnections. */
  forgottenConnections = 0;

  constructor(options: RawChunkStoreOptions = {}) {
    this.perConnection = Math.max(1024, options.perConnectionBytes ?? 1024 * 1024);
    this.total = Math.max(this.perConnection, options.totalBytes ?? 32 * 1024 * 1024);
    this.keepPerChunk = Math.max(RAW_SEGMENT_PREVIEW, Math.min(options.keepPerChunk ?? 16 * 1024, this.perConnection / 2));
    this.maxConnections = Math.max(1, options.maxConnections ?? 1000);
    this.maxSlab = Math.max(FIRST_SLAB, Math.min(MAX_SLAB, this.perConnection / 8));
  }

  /** Bytes held in all, and per connection (for tests and the bounds' own checks). */
  usage(): { total: number; chunks: number; connections: number } {
    return { total: this.used, chunks: this.liveChunks, connections: this.connections.size };
  }

  connectionUsage(connectionId: string): number {
    return this.connections.get(connectionId)?.used ?? 0;
  }

  /** Takes every trace event; keeps what it needs of 'bytes', 'http-head' and 'frame'. */
  observe(event: TraceEvent): void {
    if (event.type === 'bytes') this.addChunk(event.connectionId, event.direction, event.bytes, event.seq, event.time);
    else if (event.type === 'http-head') this.addHead(event.connectionId, event.direction, event.head.raw.length);
    else if (event.type === 'frame') this.addFrame(event.connectionId, event.direction, event.frame);
  }

  forget(connectionId: string): void {
    const conn = this.connections.get(connectionId);
    if (!conn) return;
    this.used -= conn.used;
    this.connections.delete(connectionId);
    conn.kept = false; // its entries in the global order are stale from now on
    if (this.last === conn) this.last = null;
    this.liveChunks -= conn.in.chunks.size + conn.out.chunks.size;
    // Its bytes go now: stale entries of the global order still name it until they are swept, and a
    // peer that opens and closes connections must not keep their slabs alive past the budget.
    conn.in = FORGOTTEN;
    conn.out = FORGOTTEN;
    // And those entries are swept once FORGOTTEN_SWEEP connections were forgotten, however many live chunks there are.
    if (++this.forgottenSinceSweep >= FORGOTTEN_SWEEP) this.sweepOrder();
  }

  private sweepOrder(): void {
    this.order.sweep();
    this.forgottenSinceSweep = 0;
  }

  private connection(id: string): ConnectionChunks {
    const last = this.last;
    if (last !== null && last.id === id) return last;
    let conn = this.connections.get(id);
    if (!conn) {
      while (this.connections.size >= this.maxConnections) {
        this.forget(this.connections.keys().next().value!);
        this.forgottenConnections++;
      }
      conn = new ConnectionChunks(id);
      this.connections.set(id, conn);
    }
    this.last = conn;
    return conn;
  }

  /** A raw chunk read or written: what observe() takes of a 'bytes' event (the service's row path gives it so). */
  addChunk(connectionId: string, direction: Direction, bytes: Uint8Array, seq: number, time: number): void {
    const length = bytes.length;
    if (length === 0) return;
    const conn = this.connection(connectionId);
    const stream = conn.stream(direction);
    const kept = Math.min(length, this.keepPerChunk);
    let cost = CHUNK_OVERHEAD;
    let slab = stream.slab;
    if (slab === null || stream.slabUsed + kept > slab.bytes.length) {
      // A full slab stays until its last chunk goes (evictOldest frees it then).
      const size = Math.max(kept, stream.nextSlab);
      stream.nextSlab = Math.min(stream.nextSlab * 2, this.maxSlab);
      slab = this.newSlab(size);
      stream.slab = slab;
      stream.slabUsed = 0;
      cost += size;
    }
    const at = stream.slabUsed;
    const target = slab.bytes;
    target.set(kept === length ? bytes : bytes.subarray(0, kept), at);
    stream.chunks.push(stream.streamBytes, length, seq, time, at, kept, slab);
    stream.slabUsed = at + kept;
    slab.live++;
    stream.streamBytes += length;
    this.order.push(conn, stream === conn.out, ++stream.chunksSeen);
    this.liveChunks++;
    this.charge(conn, cost);
  }

  private newSlab(size: number): Slab {
    const spare = size === this.maxSlab ? this.spareSlabs.pop() : undefined;
    if (spare) return spare; // its old bytes are overwritten before any chunk reads them
    return new Slab(new Uint8Array(size));
  }

  /** The HTTP head opens the stream: incoming frames start after it (RFC 6455 §4: frames follow the handshake). */
  private addHead(connectionId: string, direction: Direction, length: number): void {
    const stream = this.connection(connectionId).stream(direction);
    if (direction === 'in') stream.frameCursor = Math.max(stream.frameCursor, length);
  }

  private addFrame(connectionId: string, direction: Direction, frame: TracedFrame): void {
    this.frameAt(connectionId, direction, frame.frameId, frameLength(frame), frame.raw[0] ?? -1);
  }

  /**
   * A frame traced as a row (the service's row path): its id, its whole length on the wire and
   * its first byte, as addFrame takes them from a frame event.
   */
  frameAt(connectionId: string, direction: Direction, frameId: number, length: number, first: number): void {
    const conn = this.connection(connectionId);
    const stream = conn.stream(direction);
    // Outgoing: traced just before its bytes are written. Incoming: right after the previous frame.
    const offset = direction === 'out' ? stream.streamBytes : stream.frameCursor;
    if (direction === 'in') stream.frameCursor = offset + length;
    stream.frames.push(frameId, offset, length, first);
    this.charge(conn, FRAME_OVERHEAD);
  }

  private charge(conn: ConnectionChunks, cost: number): void {
    conn.used += cost;
    this.used += cost;
    while (conn.used > this.perConnection && this.evictOldestOf(conn));
    while (this.used > this.total && this.order.size > 0) {
      const owner = this.order.shiftLive();
      // The global order's oldest kept chunk is its stream's first, since every older one was evicted before it.
      if (owner) this.evictOldest(owner, this.order.shiftedOut ? owner.out : owner.in, true);
    }
    // Entries of evicted chunks linger in `order` until shifted: sweep them out when they outnumber the live ones.
    if (this.order.size > 2 * this.liveChunks + 1024) this.sweepOrder();
  }

  /** Drops the connection's oldest chunk (or, with none left, its oldest frame position). */
  private evictOldestOf(conn: ConnectionChunks): boolean {
    const a = conn.in.chunks;
    const b = conn.out.chunks;
    if (a.size > 0 || b.size > 0) {
      const older = a.size > 0 && b.size > 0 ? (a.seq[a.head]! < b.seq[b.head]! ? conn.in : conn.out) : a.size > 0 ? conn.in : conn.out;
      this.evictOldest(conn, older, true);
      return true;
    }
    for (const stream of [conn.in, conn.out]) {
      if (stream.frames.size > 0) {
        stream.frames.shift();
        this.uncharge(conn, FRAME_OVERHEAD);
        return true;
      }
    }
    return false;
  }

  /** Drops a stream's oldest chunk (chunks leave their stream oldest first, whichever budget drops them). */
  private evictOldest(conn: ConnectionChunks, stream: DirectionStream, count: boolean): void {
    const length = stream.chunks.length[stream.chunks.head]!;
    const slab = stream.chunks.shift();
    this.liveChunks--;
    if (count) {
      stream.droppedChunks++;
      stream.droppedBytes += length;
    }
    let cost = CHUNK_OVERHEAD;
    if (--slab.live === 0) {
      cost += slab.bytes.length;
      if (stream.slab === slab) stream.slab = null; // the newest slab emptied: the next chunk starts a new one
      if (slab.bytes.length === this.maxSlab && this.spareSlabs.length < SPARE_SLABS) this.spareSlabs.push(slab);
    }
    this.uncharge(conn, cost);
    // Positions of frames whose bytes are all gone now are of no use.
    const keptFrom = stream.keptFrom();
    const frames = stream.frames;
    while (frames.size > 0) {
      const s = frames.head;
      if (frames.offset[s]! + frames.length[s]! > keptFrom) break;
      frames.shift();
      this.uncharge(conn, FRAME_OVERHEAD);
    }
  }

  private uncharge(conn: ConnectionChunks, cost: number): void {
    conn.used -= cost;
    if (conn.kept) this.used -= cost;
  }

  /** Which writes/reads carried the bytes of frames firstFrameId..lastFrameId (of the first one's direction). */
  carriers(request: RawCarriersRequest): Result<RawCarriers> {
    const { connectionId, firstFrameId, lastFrameId } = request;
    const conn = this.connections.get(connectionId);
    if (!conn) return { ok: false, error: `No socket writes or reads are kept for connection ${connectionId.slice(0, 80)} (a recording, a closed connection forgotten, or one that never sent a byte).` };
    const direction: Direction | undefined = (['out', 'in'] as const).find((d) => hasFrame(conn.stream(d), firstFrameId));
    if (!direction) return { ok: false, error: `Frame ${firstFrameId}'s place in the byte stream is no longer kept (only the most recent writes and reads are).` };
    const stream = conn.stream(direction);
    const { frames, chunks } = stream;
    const from = frames.partition((s) => frames.frameId[s]! < firstFrameId);
    const to = frames.partition((s) => frames.frameId[s]! <= lastFrameId);
    const positions: number[] = []; // slots
    for (let i = from; i < to && positions.length < RAW_CARRIERS_MAX_FRAMES; i++) positions.push(frames.slot(i));
    const spanStart = frames.offset[positions[0]!]!;
    const spanEnd = Math.max(...positions.map((s) => frames.offset[s]! + frames.length[s]!));
    const askedIds = new Set(positions.map((s) => frames.frameId[s]!));

    const firstChunk = chunks.partition((s) => chunks.offset[s]! + chunks.length[s]! <= spanStart);
    const lastChunk = chunks.partition((s) => chunks.offset[s]! < spanEnd);
    const listed: RawChunkInfo[] = [];
    for (let i = firstChunk; i < lastChunk && listed.length < RAW_CARRIERS_MAX_CHUNKS; i++) {
      listed.push(describeChunk(stream, i, askedIds));
    }
    const keptFrom = stream.keptFrom();
    let dropped = 0;
    let notYetSeen = 0;
    for (const s of positions) {
      const offset = frames.offset[s]!;
      const end = offset + frames.length[s]!;
      dropped += Math.max(0, Math.min(end, keptFrom) - offset);
      notYetSeen += Math.max(0, end - Math.max(offset, stream.streamBytes));
    }
    return {
      ok: true, connectionId, direction, kind: direction === 'out' ? 'writes' : 'reads',
      frames: positions.map((s) => span(stream, s)), moreFrames: to - from - positions.length,
      chunks: listed, moreChunks: lastChunk - firstChunk - listed.length,
      missing: { dropped, notYetSeen },
      dropped: { chunks: stream.droppedChunks, bytes: stream.droppedBytes },
      streamBytes: stream.streamBytes,
    };
  }
}

function span(stream: DirectionStream, s: number): RawFrameSpan {
  const { frames } = stream;
  const byte = byteAt(stream, frames.offset[s]!);
  return { frameId: frames.frameId[s]!, offset: frames.offset[s]!, length: frames.length[s]!, aligned: byte === undefined ? null : byte === frames.first[s]! };
}

/** The i-th kept chunk cut into runs: the pieces of frames it holds, and bytes that are no frame's. */
function describeChunk(stream: DirectionStream, i: number, askedIds: Set<number>): RawChunkInfo {
  const { chunks, frames } = stream;
  const c = chunks.slot(i);
  const offset = chunks.offset[c]!;
  const length = chunks.length[c]!;
  const kept = chunks.kept[c]!;
  const at0 = chunks.at[c]!;
  const bytes = chunks.slab[c]!.bytes;
  const segments: RawChunkSegment[] = [];
  let more = 0;
  const end = offset + length;
  const push = (start: number, stop: number, f: number | null) => {
    if (stop <= start) return;
    if (segments.length >= RAW_CARRIERS_MAX_SEGMENTS) {
      more++;
      return;
    }
    const at = start - offset;
    const frameId = f === null ? null : frames.frameId[f]!;
    segments.push({
      at, length: stop - start, frameId, asked: frameId !== null && askedIds.has(frameId),
      frameAt: f === null ? 0 : start - frames.offset[f]!, frameLength: f === null ? 0 : frames.length[f]!,
      preview: bytes.slice(at0 + Math.min(at, kept), at0 + Math.min(at + RAW_SEGMENT_PREVIEW, stop - offset, kept)),
    });
  };
  let cursor = offset;
  const firstFrame = frames.partition((s) => frames.offset[s]! + frames.length[s]! <= offset);
  const endFrame = frames.partition((s) => frames.offset[s]! < end);
  for (let j = firstFrame; j < endFrame; j++) {
    const f = frames.slot(j);
    if (segments.length >= RAW_CARRIERS_MAX_SEGMENTS) {
      more += endFrame - j; // the frames' runs not listed (and the gaps between them, if any, not counted)
      cursor = end;
      break;
    }
    const fOffset = frames.offset[f]!;
    push(cursor, Math.max(cursor, fOffset), null);
    const start = Math.max(fOffset, offset);
    const stop = Math.min(fOffset + frames.length[f]!, end);
    push(start, stop, f);
    cursor = Math.max(cursor, stop);
  }
  push(cursor, end, null);
  const ordinal = stream.firstOrdinal() + i;
  return { ordinal, seq: chunks.seq[c]!, time: chunks.time[c]!, offset, length, segments, moreSegments: more };
}

function hasFrame(stream: DirectionStream, frameId: number): boolean {
  const { frames } = stream;
  const i = frames.partition((s) => frames.frameId[s]! < frameId);
  return i < frames.size && frames.frameId[frames.slot(i)] === frameId;
}

/** The kept byte at a stream offset, if any chunk still holds it. */
function byteAt(stream: DirectionStream, offset: number): number | undefined {
  const { chunks } = stream;
  const i = chunks.partition((s) => chunks.offset[s]! + chunks.length[s]! <= offset);
  if (i >= chunks.size) return undefined;
  const c = chunks.slot(i);
  if (chunks.offset[c]! > offset) return undefined;
  const at = offset - chunks.offset[c]!;
  return at < chunks.kept[c]! ? chunks.slab[c]!.bytes[chunks.at[c]! + at] : undefined;
}

/** Checks what the page sent before the store sees it (hostile by default: ids, ranges, sizes). */
export function validateRawCarriers(arg: unknown): RawCarriersRequest {
  const usage = `rawCarriers expects { connectionId, firstFrameId, lastFrameId } with frame ids from 1 and at most ${RAW_CARRIERS_MAX_SPAN} apart`;
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) throw new Error(usage);
  const { connectionId, firstFrameId, lastFrameId } = arg as Record<string, unknown>;
  if (typeof connectionId !== 'string' || connectionId.length === 0 || connectionId.length > 200) throw new Error(usage);
  if (!Number.isSafeInteger(firstFrameId) || !Number.isSafeInteger(lastFrameId)) throw new Error(usage);
  const first = firstFrameId as number;
  const last = lastFrameId as number;
  if (first < 1 || last < first || last - first > RAW_CARRIERS_MAX_SPAN) throw new Error(usage);
  return { connectionId, firstFrameId: first, lastFrameId: last };
}
