/**
 * A compact keeper of trace events: what a listener that keeps the trace (the benchmarks, the
 * proxy's bench worker, any consumer that holds a long trace in one process) stores instead of the
 * event objects themselves.
 *
 * Why: a kept TraceEvent is five to seven heap objects (the event, its frame, three byte views, a
 * frameIds array, a boxed time), about 370 bytes of JavaScript heap per event at 64 B payloads.
 * Every one survives, so every young-generation collection copies them and every full one marks
 * them: keeping the trace cost more than producing it (profile: 34% of the traced echo's CPU in
 * the garbage collector). Here the common events are a row of numbers in typed-array columns and
 * their bytes in a byte arena, outside the JavaScript heap:
 *
 *   - a frame (RFC 6455 §5.2) is its frame id, direction and wire bytes. Every header field (FIN,
 *     RSV1-3, opcode, MASK, payload length, masking key, header length) is read back from the wire
 *     bytes, and the payload is the wire payload unmasked again with the frame's key (§5.3); a
 *     relayed copy (proxy) keeps its `relay` as three numbers.
 *   - a message is its direction, opcode, size, first frame id and frame count, and its bytes
 *     (text is kept as the string). A binary message whose frames were just kept with exactly its
 *     bytes as their payloads (what a relay or an echo traces for every message) points at their
 *     rows instead: its bytes are read back from them, not kept twice.
 *   - a bytes event (raw chunk) is its direction and bytes.
 *
 * Anything else, and any frame or message with a field the compact row cannot hold (a violation,
 * a close, deflate, an edit, a cut, a partial frame, non-consecutive frame ids…), is kept as the
 * object it was. Reading an event back (at, iteration) builds an object deep-equal to the one
 * pushed (same fields, same values, same byte contents), so every consumer reads the same
 * information. Bytes above INLINE_MAX are not copied: the row keeps the views, as the object did.
 *
 * A ring when maxEvents is given: the oldest events go first, a segment (SEGMENT events) at a time.
 */

import { messageFromRow, type Direction, type TraceEvent, type TraceRowListener, type TracedFrame, type TracedRelay } from './trace.ts';

/** Events per segment: the unit of growth and of eviction. */
export const SEGMENT = 2048;
/** Bytes up to this size are copied into the arena; larger ones are kept by reference. */
export const INLINE_MAX = 4096;

const enum Kind {
  Object = 0,
  Frame = 1,
  Message = 2,
  Bytes = 3,
}

const enum Flag {
  Out = 1,
  /** The bytes are in refs (not copied). */
  ByRef = 2,
  /** Frame: has relay (fromConn in c, fromFrameId in x2, delayUs in x). Message: text (in refs). */
  Extra = 4,
  /**
   * Message: its bytes are its frames' payloads, read back from their rows (b: the row of its first
   * frame, in the same segment), not a second copy in the arena.
   */
  FromFrames = 8,
  /**
   * Frame: the row also stands for the binary message of this one frame that was traced right after
   * it (seq + 1) with the same time (the Tracer stamps a message with its last frame's time when it
   * follows that frame): its opcode, size and bytes are the frame's. No second row for it.
   */
  MessageFollows = 16,
}

/** How far back a message's frame rows are looked for (raw chunks and the other leg's rows may sit between). */
const FRAME_LOOKBACK = 8;

/**
 * A segment's rows: columns of SEGMENT entries in one ArrayBuffer (one backing store per segment
 * instead of one per column), 38 bytes per row. The numbers a row holds in 32 bits (seq as the
 * difference from the segment's first, frame ids, sizes, opcodes, relay delays) must fit there
 * exactly; an event with one that does not is kept as its object (`fitsRow`), so what reads back
 * is still what was pushed. Only the time needs all of a double.
 */
interface Segment {
  /** Rows used. */
  count: number;
  /** Events held: rows plus the messages folded into their frame's row (Flag.MessageFollows). */
  events: number;
  /** The seq the segment's rows count from (its first row's). */
  seqBase: number;
  time: Float64Array;
  /** seq - seqBase. */
  seq: Int32Array;
  conn: Int32Array;
  /** Arena offset or refs index. */
  b: Int32Array;
  /** Message: frame count; frame: relay source connection; bytes: length. */
  c: Int32Array;
  /** Frame id; message: first frame id. */
  a: Int32Array;
  /** Message: size (also the length of its bytes when they are inline); relay: delayUs. */
  x: Int32Array;
  /** Relay: the original's frame id; message: opcode. */
  x2: Int32Array;
  kind: Uint8Array;
  flags: Uint8Array;
  arena: Uint8Array;
  used: number;
  refs: unknown[];
}

/** Bytes per row over all columns. */
const ROW_BYTES = 8 + 7 * 4 + 2;

/** Whether a number is held exactly by an Int32Array entry (-0 is not: it would read back as 0). */
function fitsInt32(v: number): boolean {
  return (v | 0) === v && !Object.is(v, -0);
}

/**
 * A segment's arena starts as large as the last one's bytes (traffic keeps its sizes) plus an eighth:
 * no doubling and copying per segment, and not the last one's doubled capacity either (at 64 B echoes
 * a segment uses ~70 KiB; a 128 KiB arena left ~45% of the log's new external memory unused, and
 * that growth is what starts the full collections).
 */
const ARENA_START = 64 * 1024;
const ARENA_START_MAX = 1024 * 1024;

function newSegment(seqBase: number, arenaSize = ARENA_START): Segment {
  const rows = new ArrayBuffer(SEGMENT * ROW_BYTES);
  let at = 0;
  const int32 = (): Int32Array => {
    const column = new Int32Array(rows, at, SEGMENT);
    at += SEGMENT * 4;
    return column;
  };
  const time = new Float64Array(rows, 0, SEGMENT);
  at = SEGMENT * 8;
  const seq = int32(), conn = int32(), b = int32(), c = int32(), a = int32(), x = int32(), x2 = int32();
  const kind = new Uint8Array(rows, at, SEGMENT);
  const flags = new Uint8Array(rows, at + SEGMENT, SEGMENT);
  return {
    count: 0, events: 0, seqBase, time, seq, conn, b, c, a, x, x2, kind, flags,
    arena: new Uint8Array(Math.min(Math.max(arenaSize, ARENA_START), ARENA_START_MAX)),
    used: 0,
    refs: [],
  };
}

/** An evicted segment made empty for new rows (its columns are written before they are read). */
function reuseSegment(seg: Segment, seqBase: number, arenaSize: number): Segment {
  seg.count = 0;
  seg.events = 0;
  seg.seqBase = seqBase;
  seg.used = 0;
  seg.refs = [];
  const wanted = Math.min(Math.max(arenaSize, ARENA_START), ARENA_START_MAX);
  // Kept unless far too small or far too large for what traffic now needs.
  if (seg.arena.length < wanted || seg.arena.length > 4 * wanted) seg.arena = new Uint8Array(wanted);
  return seg;
}

export interface TraceLogOptions {
  /** Keep at most about this many events (the oldest segment goes first); default: no limit. */
  maxEvents?: number;
}

export class TraceLog implements TraceRowListener {
  private segments: Segment[] = [];
  private readonly connIds: string[] = [];
  private readonly connIndex = new Map<string, number>();
  private total = 0;
  private evicted = 0;
  private readonly maxEvents: number;

  constructor(options: TraceLogOptions = {}) {
    this.maxEvents = options.maxEvents ?? Infinity;
  }

  /** Events held now. */
  get length(): number {
    return this.total;
  }

  /** Events that left the ring (oldest first). */
  get dropped(): number {
    return this.evicted;
  }

  /** Events ever pushed. */
  get pushed(): number {
    return this.total + this.evicted;
  }

  /** How many were kept as objects (not compact): for tests and the benchmarks. */
  get objectCount(): number {
    let n = 0;
    for (const s of this.segments) for (let i = 0; i < s.count; i++) if (s.kind[i] === Kind.Object) n++;
    return n;
  }

  /** Rows held (fewer than length when messages share their frame's row): for tests and the benchmarks. */
  get rowCount(): number {
    let n = 0;
    for (const s of this.segments) n += s.count;
    return n;
  }

  /** Bytes copied into the arenas (for tests and the benchmarks). */
  get arenaBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.used;
    return n;
  }

  clear(): void {
    this.evicted += this.total;
    this.segments = [];
    this.total = 0;
  }

  /** Keeps one event (a listener: `tracer.subscribe((e) => log.push(e))`). */
  push(event: TraceEvent): void {
    const seg = this.addRow(event.seq, event.time, event.connectionId);
    const i = seg.count - 1;
    seg.flags[i] = 0;
    if (this.seqFits) {
      if (event.type === 'frame') {
        if (this.pushFrame(seg, i, event.direction, event.frame)) return;
      } else if (event.type === 'message') {
        if (this.pushMessage(seg, i, event)) return;
      } else if (event.type === 'bytes') {
        seg.kind[i] = Kind.Bytes;
        seg.flags[i] = event.direction === 'out' ? Flag.Out : 0;
        seg.c[i] = event.bytes.length;
        this.keepBytes(seg, i, event.bytes);
        return;
      }
    }
    this.keepObject(seg, i, event);
  }

  private keepObject(seg: Segment, i: number, event: TraceEvent): void {
    seg.kind[i] = Kind.Object;
    seg.flags[i] = 0;
    seg.b[i] = seg.refs.length;
    seg.refs.push(event);
  }

  /**
   * A frame as a row (tracer.subscribeRows(log)): what push() keeps of a frame event whose every
   * field follows from its wire bytes, with no event object built. The protocol sends only such
   * frames (raw is the whole frame, payload its unmasked payload).
   */
  frameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    const seg = this.addRow(seq, time, connectionId);
    const i = seg.count - 1;
    if (!this.seqFits || !fitsInt32(frameId) || (relay && !(fitsInt32(relay.from.frameId) && fitsInt32(relay.delayUs)))) {
      this.keepObject(seg, i, { type: 'frame', direction, frame: frameFromWire(frameId, raw, payload, relay), seq, time, connectionId });
      return;
    }
    seg.kind[i] = Kind.Frame;
    seg.a[i] = frameId;
    let flags = direction === 'out' ? Flag.Out : 0;
    if (relay) {
      flags |= Flag.Extra;
      seg.c[i] = this.conn(relay.from.connectionId);
      seg.x2[i] = relay.from.frameId;
      seg.x[i] = relay.delayUs;
    }
    if (raw.length <= INLINE_MAX) {
      seg.b[i] = this.copyIn(seg, raw);
    } else {
      flags |= Flag.ByRef;
      seg.b[i] = seg.refs.length;
      seg.refs.push(raw, payload);
    }
    seg.flags[i] = flags;
  }

  /**
   * A message as a row (tracer.subscribeRows(log)): frameCount frames numbered from firstFrameId, no
   * compression. payloadsOfFrames: the caller knows data is exactly those frames' payloads (the
   * protocol, for a message it framed or read without an extension), so a binary message read back
   * from their rows is not compared byte for byte first.
   */
  messageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    if (frameCount === 1 && text === undefined && size === data.length && this.foldIntoFrame(seq, time, connectionId, direction, opcode, firstFrameId, data, payloadsOfFrames)) return;
    const seg = this.addRow(seq, time, connectionId);
    const i = seg.count - 1;
    if (!this.seqFits || !fitsInt32(firstFrameId) || !fitsInt32(size) || !fitsInt32(opcode) || (text === undefined && size !== data.length)) {
      this.keepObject(seg, i, messageFromRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data));
      return;
    }
    seg.kind[i] = Kind.Message;
    seg.a[i] = firstFrameId;
    seg.c[i] = frameCount;
    seg.x[i] = size;
    seg.x2[i] = opcode;
    if (text !== undefined) {
      seg.flags[i] = (direction === 'out' ? Flag.Out : 0) | Flag.Extra;
      seg.b[i] = seg.refs.length;
      seg.refs.push(text);
    } else {
      seg.flags[i] = direction === 'out' ? Flag.Out : 0;
      if (!this.fromFrames(seg, i, firstFrameId, frameCount, data, payloadsOfFrames)) this.keepBytes(seg, i, data);
    }
  }

  /**
   * A binary message of one frame, traced right after that frame's row with the next seq and the
   * same time, its bytes that frame's payload (the caller says so: payloadsOfFrames, or they are
   * compared): the frame's row stands for it too (Flag.MessageFollows), read back as the message it
   * was. Else false.
   */
  private foldIntoFrame(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, frameId: number, data: Uint8Array, payloadsOfFrames: boolean): boolean {
    const seg = this.segments[this.segments.length - 1];
    if (!seg || seg.count === 0) return false;
    const r = seg.count - 1;
    const flags = seg.flags[r]!;
    if (
      seg.kind[r] !== Kind.Frame || (flags & (Flag.MessageFollows | Flag.ByRef)) !== 0 || ((flags & Flag.Out) !== 0) !== (direction === 'out')
      || seg.a[r] !== frameId || seg.seqBase + seg.seq[r]! + 1 !== seq || seg.time[r] !== time || seg.conn[r] !== this.conn(connectionId)
    ) return false;
    // §5.2: a whole message in one frame: FIN set, the message's opcode (binary), its payload the message.
    const at = seg.b[r]!;
    const arena = seg.arena;
    const headerLength = headerLengthAt(arena, at);
    const end = at + frameLength(arena, at);
    if (opcode !== 2 || arena[at] !== 0x82 || end - at - headerLength !== data.length) return false;
    if (!payloadsOfFrames && !payloadEquals(arena, at, headerLength, end, data, 0)) return false;
    seg.flags[r] = flags | Flag.MessageFollows;
    seg.events++;
    this.total++;
    return true;
  }

  /** Whether the last addRow's seq fits its segment's column (else the row must be kept as an object). */
  private seqFits = true;

  /** A new row, stamped: its segment (the row is the segment's last, count - 1). */
  private addRow(seq: number, time: number, connectionId: string): Segment {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.count === SEGMENT) seg = this.addSegment(seq);
    const i = seg.count++;
    seg.events++;
    this.total++;
    const d = seq - seg.seqBase;
    this.seqFits = fitsInt32(d);
    seg.seq[i] = this.seqFits ? d : 0;
    seg.time[i] = time;
    seg.conn[i] = this.conn(connectionId);
    return seg;
  }

  /** The event at `index` (0 = the oldest held), as an object deep-equal to the one pushed. */
  at(index: number): TraceEvent | undefined {
    if (!(index >= 0 && index < this.total)) return undefined;
    let i = index;
    for (const seg of this.segments) {
      if (i < seg.events) {
        if (seg.events === seg.count) return this.read(seg, i);
        for (let r = 0; r < seg.count; r++) {
          if (i === 0) return this.read(seg, r);
          i--;
          if (seg.flags[r]! & Flag.MessageFollows) {
            if (i === 0) return this.foldedMessage(seg, r);
            i--;
          }
        }
        return undefined;
      }
      i -= seg.events;
    }
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<TraceEvent> {
    for (const seg of this.segments) {
      for (let i = 0; i < seg.count; i++) {
        yield this.read(seg, i);
        if (seg.kind[i] === Kind.Frame && seg.flags[i]! & Flag.MessageFollows) yield this.foldedMessage(seg, i);
      }
    }
  }

  toArray(): TraceEvent[] {
    return [...this];
  }

  // ------------------------------------------------------------ writing

  private addSegment(seqBase: number): Segment {
    const last = this.segments[this.segments.length - 1];
    const arenaSize = last ? last.used + (last.used >> 3) : ARENA_START;
    // A ring: the oldest segment goes once the others hold maxEvents without it.
    let gone: Segment | undefined;
    while (this.segments.length > 0 && this.total - this.segments[0]!.events >= this.maxEvents) {
      gone = this.segments.shift()!;
      this.total -= gone.events;
      this.evicted += gone.events;
    }
    // Its memory is the new segment's: a full ring allocates nothing more (no fresh pages, no growth
    // for the collector). Nothing read back points into it: events are made from copies (slice()).
    const seg = gone ? reuseSegment(gone, seqBase, arenaSize) : newSegment(seqBase, arenaSize);
    this.segments.push(seg);
    return seg;
  }

  private lastConnId = '';
  private lastConn = -1;

  private conn(id: string): number {
    // Events come in runs from one connection: the last one answers most look-ups.
    if (id === this.lastConnId && this.lastConn >= 0) return this.lastConn;
    let n = this.connIndex.get(id);
    if (n === undefined) {
      n = this.connIds.length;
      this.connIds.push(id);
      this.connIndex.set(id, n);
    }
    this.lastConnId = id;
    this.lastConn = n;
    return n;
  }

  private pushFrame(seg: Segment, i: number, direction: Direction, f: TracedFrame): boolean {
    // Only a frame whose every field follows from its wire bytes (plus id and relay).
    if (
      f.partial || f.violation || f.edited || f.close || f.truncated || f.deflate || f.payloadLengthExact !== undefined
      || f.raw.length !== f.headerLength + f.payloadLength || f.payload.length !== f.payloadLength
      || f.raw.length < 2 || f.headerLength !== headerLengthOf(f.raw)
    ) return false;
    if (!fitsInt32(f.frameId) || (f.relay && !(fitsInt32(f.relay.from.frameId) && fitsInt32(f.relay.delayUs)))) return false;
    seg.kind[i] = Kind.Frame;
    seg.flags[i] = (direction === 'out' ? Flag.Out : 0) | (f.relay ? Flag.Extra : 0);
    seg.a[i] = f.frameId;
    if (f.relay) {
      seg.c[i] = this.conn(f.relay.from.connectionId);
      seg.x2[i] = f.relay.from.frameId;
      seg.x[i] = f.relay.delayUs;
    }
    if (f.raw.length <= INLINE_MAX) {
      seg.b[i] = this.copyIn(seg, f.raw);
    } else {
      seg.flags[i] = seg.flags[i]! | Flag.ByRef;
      seg.b[i] = seg.refs.length;
      seg.refs.push(f.raw, f.payload);
    }
    return true;
  }

  private pushMessage(seg: Segment, i: number, m: Extract<TraceEvent, { type: 'message' }>): boolean {
    if (m.compression || m.truncated !== undefined) return false;
    const ids = m.frameIds;
    if (ids.length === 0) return false;
    for (let k = 1; k < ids.length; k++) if (ids[k] !== ids[0]! + k) return false;
    const text = m.text;
    const data = m.data;
    if ((text === undefined) === (data === undefined)) return false;
    // The size column is also the length of inline bytes.
    if (!fitsInt32(ids[0]!) || !fitsInt32(m.size) || !fitsInt32(m.opcode) || (data !== undefined && m.size !== data.length)) return false;
    seg.kind[i] = Kind.Message;
    seg.flags[i] = m.direction === 'out' ? Flag.Out : 0;
    seg.a[i] = ids[0]!;
    seg.c[i] = ids.length;
    seg.x[i] = m.size;
    seg.x2[i] = m.opcode;
    if (text !== undefined) {
      seg.flags[i] = seg.flags[i]! | Flag.Extra;
      seg.b[i] = seg.refs.length;
      seg.refs.push(text);
    } else if (!this.fromFrames(seg, i, ids[0]!, ids.length, data!)) {
      this.keepBytes(seg, i, data!);
    }
    return true;
  }

  /**
   * A binary message whose frames were just kept inline in this segment, with exactly its bytes as
   * their (unmasked) payloads: its row points at them instead of copying the bytes again. Checked
   * byte for byte, so what reads back is what was pushed.
   */
  private readonly rowScratch: number[] = [];

  private fromFrames(seg: Segment, i: number, first: number, count: number, data: Uint8Array, payloadsOfFrames = false): boolean {
    const conn = seg.conn[i]!;
    // The frames' rows, newest first (a scratch array kept across calls: no allocation per message).
    const rows = this.rowScratch;
    let found = 0;
    for (let r = i - 1, k = count - 1; k >= 0; r--) {
      if (r < 0 || i - r > FRAME_LOOKBACK + count) return false;
      if (seg.conn[r] !== conn || seg.kind[r] !== Kind.Frame) continue;
      // Any other frame of this connection in between with one of these ids: not read back unambiguously.
      if (seg.a[r] !== first + k) {
        if (seg.a[r]! >= first && seg.a[r]! < first + count) return false;
        continue;
      }
      if (seg.flags[r]! & Flag.ByRef) return false;
      rows[found++] = r;
      k--;
    }
    const arena = seg.arena;
    let off = 0;
    for (let k = count - 1; k >= 0; k--) {
      const at = seg.b[rows[k]!]!;
      const headerLength = headerLengthAt(arena, at);
      const end = at + frameLength(arena, at);
      if (off + (end - at - headerLength) > data.length) return false;
      // payloadsOfFrames: the caller says these are the bytes, only the lengths are checked.
      if (!payloadsOfFrames && !payloadEquals(arena, at, headerLength, end, data, off)) return false;
      off += end - at - headerLength;
    }
    if (off !== data.length || seg.x[i] !== data.length) return false;
    // Read back from the first frame's row on: this connection's frame rows with the ids in turn.
    seg.flags[i] = seg.flags[i]! | Flag.FromFrames;
    seg.b[i] = rows[count - 1]!;
    return true;
  }

  /** Keeps bytes inline or by reference; their length is stored by the caller (c for raw chunks, x for messages). */
  private keepBytes(seg: Segment, i: number, bytes: Uint8Array): void {
    if (bytes.length <= INLINE_MAX) {
      seg.b[i] = this.copyIn(seg, bytes);
    } else {
      seg.flags[i] = seg.flags[i]! | Flag.ByRef;
      seg.b[i] = seg.refs.length;
      seg.refs.push(bytes);
    }
  }

  /** Copies bytes into the segment's arena: their offset. The length is stored by the caller (or read from the frame). */
  private copyIn(seg: Segment, bytes: Uint8Array): number {
    const need = seg.used + bytes.length;
    if (need > seg.arena.length) {
      let size = seg.arena.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(seg.arena.subarray(0, seg.used));
      seg.arena = grown;
    }
    const at = seg.used;
    const arena = seg.arena;
    // Only a tiny one is copied faster byte by byte than through set() (66-70 byte frames from a
    // Buffer or a Uint8Array: ~25-45 ns with set(), ~105-175 ns byte by byte, Node 20).
    if (bytes.length <= 16) for (let k = 0; k < bytes.length; k++) arena[at + k] = bytes[k]!;
    else arena.set(bytes, at);
    seg.used = need;
    return at;
  }

  // ------------------------------------------------------------ reading

  private read(seg: Segment, i: number): TraceEvent {
    const kind = seg.kind[i] as Kind;
    if (kind === Kind.Object) return seg.refs[seg.b[i]!] as TraceEvent;
    const flags = seg.flags[i]!;
    const direction: Direction = flags & Flag.Out ? 'out' : 'in';
    const stamp = { seq: seg.seqBase + seg.seq[i]!, time: seg.time[i]!, connectionId: this.connIds[seg.conn[i]!]! };
    if (kind === Kind.Bytes) {
      return { type: 'bytes', direction, bytes: this.bytesOf(seg, i, seg.c[i]!), ...stamp };
    }
    if (kind === Kind.Message) {
      const count = seg.c[i]!;
      const first = seg.a[i]!;
      const frameIds: number[] = [];
      for (let k = 0; k < count; k++) frameIds.push(first + k);
      const body = flags & Flag.Extra ? { text: seg.refs[seg.b[i]!] as string } : { data: flags & Flag.FromFrames ? this.messageFromFrames(seg, i) : this.bytesOf(seg, i, seg.x[i]!) };
      return { type: 'message', direction, opcode: seg.x2[i]!, size: seg.x[i]!, frameIds, ...body, ...stamp };
    }
    // A frame: every header field read back from its wire bytes (§5.2).
    let raw: Uint8Array;
    let payload: Uint8Array;
    if (flags & Flag.ByRef) {
      raw = seg.refs[seg.b[i]!] as Uint8Array;
      payload = seg.refs[seg.b[i]! + 1] as Uint8Array;
    } else {
      const at = seg.b[i]!;
      const length = frameLength(seg.arena, at);
      raw = seg.arena.slice(at, at + length);
      payload = null!;
    }
    const relay: TracedRelay | undefined = flags & Flag.Extra ? { from: { connectionId: this.connIds[seg.c[i]!]!, frameId: seg.x2[i]! }, delayUs: seg.x[i]! } : undefined;
    return { type: 'frame', direction, frame: frameFromWire(seg.a[i]!, raw, payload, relay), ...stamp };
  }

  /** The message folded into frame row r (Flag.MessageFollows): its one frame's payload, a seq later, the same time. */
  private foldedMessage(seg: Segment, r: number): TraceEvent {
    const at = seg.b[r]!;
    const arena = seg.arena;
    const headerLength = headerLengthAt(arena, at);
    const end = at + frameLength(arena, at);
    const data = new Uint8Array(end - at - headerLength);
    copyPayloadOut(arena, at, headerLength, end, data, 0);
    return {
      type: 'message', direction: seg.flags[r]! & Flag.Out ? 'out' : 'in', opcode: arena[at]! & 0x0f, size: data.length, frameIds: [seg.a[r]!], data,
      seq: seg.seqBase + seg.seq[r]! + 1, time: seg.time[r]!, connectionId: this.connIds[seg.conn[r]!]!,
    };
  }

  /** A FromFrames message's bytes: its frames' payloads, unmasked (§5.3), in order. */
  private messageFromFrames(seg: Segment, i: number): Uint8Array {
    const data = new Uint8Array(seg.x[i]!);
    const conn = seg.conn[i]!;
    const arena = seg.arena;
    let id = seg.a[i]!;
    const last = id + seg.c[i]! - 1;
    let off = 0;
    for (let r = seg.b[i]!; r < i && id <= last; r++) {
      if (seg.conn[r] !== conn || seg.kind[r] !== Kind.Frame || seg.a[r] !== id) continue;
      id++;
      const at = seg.b[r]!;
      const headerLength = headerLengthAt(arena, at);
      const end = at + frameLength(arena, at);
      copyPayloadOut(arena, at, headerLength, end, data, off);
      off += end - at - headerLength;
    }
    return data;
  }

  private bytesOf(seg: Segment, i: number, length: number): Uint8Array {
    if (seg.flags[i]! & Flag.ByRef) return seg.refs[seg.b[i]!] as Uint8Array;
    const at = seg.b[i]!;
    return seg.arena.slice(at, at + length);
  }
}

/**
 * A frame as the trace shows it, every header field read from its wire bytes (§5.2): what a frame
 * row reads back as. `payload`: its unmasked payload, or null to unmask it from `raw` here.
 */
export function frameFromWire(frameId: number, raw: Uint8Array, payload: Uint8Array | null, relay?: TracedRelay): TracedFrame {
  const b0 = raw[0]!, b1 = raw[1]!;
  const masked = (b1 & 0x80) !== 0;
  const lengthField = b1 & 0x7f;
  const extended = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
  const headerLength = 2 + extended + (masked ? 4 : 0);
  const payloadLength = raw.length - headerLength;
  const maskKey = masked ? raw.slice(2 + extended, headerLength) : null;
  if (!payload) {
    payload = raw.slice(headerLength);
    // §5.3: "the same algorithm applies regardless of the direction of the translation"
    if (maskKey) for (let k = 0; k < payload.length; k++) payload[k]! ^= maskKey[k & 3]!;
  }
  const frame: TracedFrame = {
    frameId, fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode: b0 & 0x0f, masked,
    maskKey, lengthField, payloadLength, headerLength, raw, payload,
  };
  if (relay) frame.relay = relay;
  return frame;
}

/**
 * Whether the payload of the frame stored inline at `at` (header of headerLength, ending at `end`),
 * as sent, equals data from `off` on. §5.3: the payload as sent is the wire payload unmasked with
 * the frame's key.
 */
function payloadEquals(arena: Uint8Array, at: number, headerLength: number, end: number, data: Uint8Array, off: number): boolean {
  if (arena[at + 1]! & 0x80) {
    const key = at + headerLength - 4;
    for (let p = at + headerLength, q = 0; p < end; p++, q++) if ((arena[p]! ^ arena[key + (q & 3)]!) !== data[off + q]) return false;
  } else {
    for (let p = at + headerLength, q = 0; p < end; p++, q++) if (arena[p] !== data[off + q]) return false;
  }
  return true;
}

/** The payload of the frame stored inline at `at`, as sent (unmasked, §5.3), copied into out at `off`. */
function copyPayloadOut(arena: Uint8Array, at: number, headerLength: number, end: number, out: Uint8Array, off: number): void {
  if (arena[at + 1]! & 0x80) {
    const key = at + headerLength - 4;
    for (let p = at + headerLength, q = 0; p < end; p++, q++) out[off + q] = arena[p]! ^ arena[key + (q & 3)]!;
  } else {
    out.set(arena.subarray(at + headerLength, end), off);
  }
}

/** The header length the first bytes of a frame declare (§5.2). */
function headerLengthOf(raw: Uint8Array): number {
  return headerLengthAt(raw, 0);
}

/** The header length of the frame whose bytes start at `at` (§5.2). */
function headerLengthAt(bytes: Uint8Array, at: number): number {
  const b1 = bytes[at + 1]!;
  const lengthField = b1 & 0x7f;
  return 2 + (lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

/** The whole length of a frame stored inline at `at` (at most INLINE_MAX: 7-bit or 16-bit lengths). */
function frameLength(arena: Uint8Array, at: number): number {
  const b1 = arena[at + 1]!;
  const lengthField = b1 & 0x7f;
  const mask = b1 & 0x80 ? 4 : 0;
  if (lengthField === 126) return 4 + mask + ((arena[at + 2]! << 8) | arena[at + 3]!);
  if (lengthField === 127) {
    // An inline frame is at most INLINE_MAX bytes: the high bytes of a 64-bit length are 0.
    return 10 + mask + ((arena[at + 6]! << 24) >>> 0) + (arena[at + 7]! << 16) + (arena[at + 8]! << 8) + arena[at + 9]!;
  }
  return 2 + mask + lengthField;
}
