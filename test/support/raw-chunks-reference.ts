/**
 * The raw chunk store as it was before its columns rewrite (commit 3146a5d, src/service/raw-chunks.ts),
 * kept unchanged as the reference the property test (test/service/raw-chunks.test.ts) and the
 * micro-benchmark (scripts/bench-raw-chunks.ts) hold the current store against: same calls, same answers.
 * Only its imports and this comment differ; validateRawCarriers is not copied.
 */
import type { Direction, TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import type { Result } from '../../src/shared/inspector-api.ts';
import {
  RAW_CARRIERS_MAX_CHUNKS, RAW_CARRIERS_MAX_FRAMES, RAW_CARRIERS_MAX_SEGMENTS, RAW_SEGMENT_PREVIEW,
  type RawCarriers, type RawCarriersRequest, type RawChunkInfo, type RawChunkSegment, type RawFrameSpan,
} from '../../src/shared/raw-chunks-api.ts';

interface RawChunkStoreOptions {
  /** Bytes one connection may hold (default 1 MiB). */
  perConnectionBytes?: number;
  /** Bytes all connections together may hold (default 32 MiB). */
  totalBytes?: number;
  /** Bytes kept of one write/read; the rest is counted, not kept (default 16 KiB). */
  keepPerChunk?: number;
  /** Connections remembered (default 1000); the oldest is forgotten first. */
  maxConnections?: number;
}

/** What a kept chunk and a frame position cost beside their bytes (object, array slots). */
const CHUNK_OVERHEAD = 96;
const FRAME_OVERHEAD = 32;
/** A direction's first slab, and the most a slab grows to (never more than an eighth of a connection's budget). */
const FIRST_SLAB = 512;
const MAX_SLAB = 16 * 1024;

/** Kept bytes of successive chunks of one direction; freed once none of its chunks is kept. */
interface Slab {
  bytes: Uint8Array;
  live: number;
}

interface Chunk {
  owner: ConnectionChunks;
  direction: Direction;
  ordinal: number;
  seq: number;
  time: number;
  offset: number;
  length: number;
  /** The first keepPerChunk bytes, copied into slab.bytes at `at` (socket buffers may be pooled). */
  slab: Slab;
  at: number;
  kept: number;
  evicted: boolean;
}

/** A first-in first-out list that drops from the front without shifting the array every time. */
class Queue<T> {
  items: T[] = [];
  start = 0;
  get size(): number {
    return this.items.length - this.start;
  }
  at(i: number): T {
    return this.items[this.start + i]!;
  }
  first(): T | undefined {
    return this.items[this.start];
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.start >= this.items.length) return undefined;
    const item = this.items[this.start++]!;
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return item;
  }
  /** Index of the first item for which `before` is false (items sorted so that `before` holds for a prefix). */
  partition(before: (item: T) => boolean): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.at(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

interface FramePosition {
  frameId: number;
  offset: number;
  length: number;
  /** The frame's first byte on the wire, to check the mapping against the kept bytes. */
  first: number;
}

class DirectionStream {
  /** Bytes seen so far in this direction. */
  streamBytes = 0;
  /** Incoming: where the next frame starts. */
  frameCursor = 0;
  chunksSeen = 0;
  readonly chunks = new Queue<Chunk>();
  readonly frames = new Queue<FramePosition>();
  droppedChunks = 0;
  droppedBytes = 0;
  /** The slab new chunks are copied into, how much of it is used, and the size of the next one. */
  slab: Slab | null = null;
  slabUsed = 0;
  nextSlab = FIRST_SLAB;

  /** Where the oldest kept byte is (streamBytes when nothing is kept). */
  keptFrom(): number {
    return this.chunks.first()?.offset ?? this.streamBytes;
  }
}

class ConnectionChunks {
  used = 0;
  readonly streams: Record<Direction, DirectionStream> = { in: new DirectionStream(), out: new DirectionStream() };
  constructor(readonly id: string) {}
}

const frameLength = (frame: TracedFrame) => frame.truncated?.rawLength ?? frame.raw.length;

export class ReferenceRawChunkStore {
  private readonly perConnection: number;
  private readonly total: number;
  private readonly keepPerChunk: number;
  private readonly maxConnections: number;
  private readonly maxSlab: number;
  private readonly connections = new Map<string, ConnectionChunks>();
  /** Every kept chunk in arrival order (evicted ones are skipped, and swept out when they pile up). */
  private readonly order = new Queue<Chunk>();
  private liveChunks = 0;
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
    for (const stream of Object.values(conn.streams)) {
      while (stream.chunks.size > 0) this.evictChunk(stream.chunks.first()!, false);
    }
  }

  private connection(id: string): ConnectionChunks {
    let conn = this.connections.get(id);
    if (!conn) {
      while (this.connections.size >= this.maxConnections) {
        this.forget(this.connections.keys().next().value!);
        this.forgottenConnections++;
      }
      conn = new ConnectionChunks(id);
      this.connections.set(id, conn);
    }
    return conn;
  }

  /** A raw chunk read or written: what observe() takes of a 'bytes' event (the service's row path gives it so). */
  addChunk(connectionId: string, direction: Direction, bytes: Uint8Array, seq: number, time: number): void {
    if (bytes.length === 0) return;
    const conn = this.connection(connectionId);
    const stream = conn.streams[direction];
    const kept = Math.min(bytes.length, this.keepPerChunk);
    let cost = CHUNK_OVERHEAD;
    let slab = stream.slab;
    if (!slab || stream.slabUsed + kept > slab.bytes.length) {
      // A full slab stays until its last chunk goes (evictChunk frees it then).
      const size = Math.max(kept, stream.nextSlab);
      stream.nextSlab = Math.min(stream.nextSlab * 2, this.maxSlab);
      slab = { bytes: new Uint8Array(size), live: 0 };
      stream.slab = slab;
      stream.slabUsed = 0;
      cost += size;
    }
    slab.bytes.set(kept === bytes.length ? bytes : bytes.subarray(0, kept), stream.slabUsed);
    const chunk: Chunk = { owner: conn, direction, ordinal: ++stream.chunksSeen, seq, time, offset: stream.streamBytes, length: bytes.length, slab, at: stream.slabUsed, kept, evicted: false };
    stream.slabUsed += kept;
    slab.live++;
    stream.streamBytes += bytes.length;
    stream.chunks.push(chunk);
    this.order.push(chunk);
    this.liveChunks++;
    this.charge(conn, cost);
  }

  /** The HTTP head opens the stream: incoming frames start after it (RFC 6455 §4: frames follow the handshake). */
  private addHead(connectionId: string, direction: Direction, length: number): void {
    const stream = this.connection(connectionId).streams[direction];
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
    const stream = conn.streams[direction];
    // Outgoing: traced just before its bytes are written. Incoming: right after the previous frame.
    const offset = direction === 'out' ? stream.streamBytes : stream.frameCursor;
    if (direction === 'in') stream.frameCursor = offset + length;
    stream.frames.push({ frameId, offset, length, first });
    this.charge(conn, FRAME_OVERHEAD);
  }

  private charge(conn: ConnectionChunks, cost: number): void {
    conn.used += cost;
    this.used += cost;
    while (conn.used > this.perConnection && this.evictOldestOf(conn));
    while (this.used > this.total) {
      const oldest = this.order.shift();
      if (!oldest) break;
      if (!oldest.evicted) this.evictChunk(oldest, true);
    }
    // Evicted chunks linger in `order` until shifted: sweep them out when they outnumber the live ones.
    if (this.order.size > 2 * this.liveChunks + 1024) {
      const live = this.order.items.slice(this.order.start).filter((c) => !c.evicted);
      this.order.items = live;
      this.order.start = 0;
    }
  }

  /** Drops the connection's oldest chunk (or, with none left, its oldest frame position). */
  private evictOldestOf(conn: ConnectionChunks): boolean {
    const a = conn.streams.in.chunks.first();
    const b = conn.streams.out.chunks.first();
    const oldest = a && b ? (a.seq < b.seq ? a : b) : a ?? b;
    if (oldest) {
      this.evictChunk(oldest, true);
      return true;
    }
    for (const stream of [conn.streams.in, conn.streams.out]) {
      if (stream.frames.shift()) {
        this.uncharge(conn, FRAME_OVERHEAD);
        return true;
      }
    }
    return false;
  }

  private evictChunk(chunk: Chunk, count: boolean): void {
    if (chunk.evicted) return;
    const conn = chunk.owner;
    const stream = conn.streams[chunk.direction];
    // Chunks leave their stream oldest first, whichever budget drops them: the global order's
    // oldest live chunk is its stream's first, since every older one was evicted before it.
    stream.chunks.shift();
    chunk.evicted = true;
    this.liveChunks--;
    if (count) {
      stream.droppedChunks++;
      stream.droppedBytes += chunk.length;
    }
    let cost = CHUNK_OVERHEAD;
    if (--chunk.slab.live === 0) {
      cost += chunk.slab.bytes.length;
      if (stream.slab === chunk.slab) stream.slab = null; // the newest slab emptied: the next chunk starts a new one
    }
    this.uncharge(conn, cost);
    // Positions of frames whose bytes are all gone now are of no use.
    const keptFrom = stream.keptFrom();
    while (stream.frames.size > 0) {
      const f = stream.frames.first()!;
      if (f.offset + f.length > keptFrom) break;
      stream.frames.shift();
      this.uncharge(conn, FRAME_OVERHEAD);
    }
  }

  private uncharge(conn: ConnectionChunks, cost: number): void {
    conn.used -= cost;
    if (this.connections.get(conn.id) === conn) this.used -= cost;
  }

  /** Which writes/reads carried the bytes of frames firstFrameId..lastFrameId (of the first one's direction). */
  carriers(request: RawCarriersRequest): Result<RawCarriers> {
    const { connectionId, firstFrameId, lastFrameId } = request;
    const conn = this.connections.get(connectionId);
    if (!conn) return { ok: false, error: `No socket writes or reads are kept for connection ${connectionId.slice(0, 80)} (a recording, a closed connection forgotten, or one that never sent a byte).` };
    const direction: Direction | undefined = (['out', 'in'] as const).find((d) => findFrame(conn.streams[d], firstFrameId) !== undefined);
    if (!direction) return { ok: false, error: `Frame ${firstFrameId}'s place in the byte stream is no longer kept (only the most recent writes and reads are).` };
    const stream = conn.streams[direction];
    const from = stream.frames.partition((f) => f.frameId < firstFrameId);
    const to = stream.frames.partition((f) => f.frameId <= lastFrameId);
    const positions: FramePosition[] = [];
    for (let i = from; i < to && positions.length < RAW_CARRIERS_MAX_FRAMES; i++) positions.push(stream.frames.at(i));
    const spanStart = positions[0]!.offset;
    const spanEnd = Math.max(...positions.map((p) => p.offset + p.length));
    const askedIds = new Set(positions.map((p) => p.frameId));

    const firstChunk = stream.chunks.partition((c) => c.offset + c.length <= spanStart);
    const lastChunk = stream.chunks.partition((c) => c.offset < spanEnd);
    const chunks: RawChunkInfo[] = [];
    for (let i = firstChunk; i < lastChunk && chunks.length < RAW_CARRIERS_MAX_CHUNKS; i++) {
      chunks.push(this.describeChunk(stream, stream.chunks.at(i), askedIds));
    }
    const keptFrom = stream.keptFrom();
    let dropped = 0;
    let notYetSeen = 0;
    for (const p of positions) {
      dropped += Math.max(0, Math.min(p.offset + p.length, keptFrom) - p.offset);
      notYetSeen += Math.max(0, p.offset + p.length - Math.max(p.offset, stream.streamBytes));
    }
    return {
      ok: true, connectionId, direction, kind: direction === 'out' ? 'writes' : 'reads',
      frames: positions.map((p) => this.span(stream, p)), moreFrames: to - from - positions.length,
      chunks, moreChunks: lastChunk - firstChunk - chunks.length,
      missing: { dropped, notYetSeen },
      dropped: { chunks: stream.droppedChunks, bytes: stream.droppedBytes },
      streamBytes: stream.streamBytes,
    };
  }

  private span(stream: DirectionStream, p: FramePosition): RawFrameSpan {
    const byte = byteAt(stream, p.offset);
    return { frameId: p.frameId, offset: p.offset, length: p.length, aligned: byte === undefined ? null : byte === p.first };
  }

  /** A chunk cut into runs: the pieces of frames it holds, and bytes that are no frame's. */
  private describeChunk(stream: DirectionStream, chunk: Chunk, askedIds: Set<number>): RawChunkInfo {
    const segments: RawChunkSegment[] = [];
    let more = 0;
    const end = chunk.offset + chunk.length;
    const push = (start: number, stop: number, frame: FramePosition | null) => {
      if (stop <= start) return;
      if (segments.length >= RAW_CARRIERS_MAX_SEGMENTS) {
        more++;
        return;
      }
      const at = start - chunk.offset;
      segments.push({
        at, length: stop - start, frameId: frame?.frameId ?? null, asked: frame ? askedIds.has(frame.frameId) : false,
        frameAt: frame ? start - frame.offset : 0, frameLength: frame?.length ?? 0,
        preview: chunk.slab.bytes.slice(chunk.at + Math.min(at, chunk.kept), chunk.at + Math.min(at + RAW_SEGMENT_PREVIEW, stop - chunk.offset, chunk.kept)),
      });
    };
    let cursor = chunk.offset;
    const firstFrame = stream.frames.partition((f) => f.offset + f.length <= chunk.offset);
    const endFrame = stream.frames.partition((f) => f.offset < end);
    for (let i = firstFrame; i < endFrame; i++) {
      const f = stream.frames.at(i);
      if (segments.length >= RAW_CARRIERS_MAX_SEGMENTS) {
        more += endFrame - i; // the frames' runs not listed (and the gaps between them, if any, not counted)
        cursor = end;
        break;
      }
      push(cursor, Math.max(cursor, f.offset), null);
      const start = Math.max(f.offset, chunk.offset);
      const stop = Math.min(f.offset + f.length, end);
      push(start, stop, f);
      cursor = Math.max(cursor, stop);
    }
    push(cursor, end, null);
    return { ordinal: chunk.ordinal, seq: chunk.seq, time: chunk.time, offset: chunk.offset, length: chunk.length, segments, moreSegments: more };
  }
}

function findFrame(stream: DirectionStream, frameId: number): FramePosition | undefined {
  const i = stream.frames.partition((f) => f.frameId < frameId);
  const f = i < stream.frames.size ? stream.frames.at(i) : undefined;
  return f?.frameId === frameId ? f : undefined;
}

/** The kept byte at a stream offset, if any chunk still holds it. */
function byteAt(stream: DirectionStream, offset: number): number | undefined {
  const i = stream.chunks.partition((c) => c.offset + c.length <= offset);
  const chunk = i < stream.chunks.size ? stream.chunks.at(i) : undefined;
  if (!chunk || chunk.offset > offset) return undefined;
  const at = offset - chunk.offset;
  return at < chunk.kept ? chunk.slab.bytes[chunk.at + at] : undefined;
}
