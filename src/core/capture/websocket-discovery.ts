/**
 * Finds the WebSocket conversations among a capture's TCP conversations, on any port, and hands on
 * each one's byte streams from the point where they can be read:
 *
 * - With the handshake: the side that sends an HTTP request asking for "Upgrade: websocket"
 *   (RFC 6455 §4.1, parsed with our HTTP head parser) is the client; its conversation is handed on
 *   from the request's first byte, so the replay sees the handshake, the server's answer (101 or
 *   a refusal) and the permessage-deflate agreement, and inflates from there on.
 * - Without it (the capture started mid-connection): each direction is resynchronised at its first
 *   plausible frame boundary (frame-resync.ts says how), the bytes before it are skipped and the
 *   conversation says so; the masked direction is the client's (§5.1). Compressed frames (RSV1)
 *   found this way cannot be inflated, since the agreement and the sliding window are not in the
 *   capture, and the conversation says that too.
 * - After a gap in a direction (bytes the capture lost): when the gap fell inside one frame's payload,
 *   whose header said its length (a FrameTracker follows each direction's frames), the direction
 *   starts again exactly where that frame (and the message it left open) ends; otherwise it is
 *   resynchronised by the heuristic, as mid-stream.
 *
 * Other conversations (plain HTTP, TLS, anything else) are counted by kind and dropped early, so
 * that their bytes are not kept.
 */

import { HttpHeadParser, headerValue, splitList, type HttpHead } from './../http.ts';
import { findFrameBoundary, FrameTracker, stepToBoundary, type ExactResume } from './frame-resync.ts';
import type { TcpConversation, TcpEndpoint, TcpSide, TcpStreamEvent } from './tcp-reassembly.ts';

export type WireDirection = 'client-to-server' | 'server-to-client';

export interface WebSocketConversationInfo {
  /** 1-based, in order of discovery. */
  id: number;
  tcpId: number;
  client: TcpEndpoint;
  server: TcpEndpoint;
  ipVersion: 4 | 6;
  /** 'seen': the opening handshake is in the capture; 'missing': resynchronised mid-stream. */
  handshake: 'seen' | 'missing';
  /** The client's request head as parsed (handshake seen). */
  request: HttpHead | null;
  time: number | null;
}

export type WebSocketCaptureEvent =
  | { type: 'open'; conversation: WebSocketConversationInfo }
  | { type: 'bytes'; id: number; direction: WireDirection; time: number | null; bytes: Uint8Array }
  /** The direction's stream lost `length` bytes here; it goes on at a frame boundary (a 'resync' follows). */
  | { type: 'gap'; id: number; direction: WireDirection; time: number | null; length: number; reason: string }
  /** The next bytes of this direction start at a frame boundary found by the heuristic; `skipped` bytes before it could not be read. */
  | { type: 'resync'; id: number; direction: WireDirection; time: number | null; skipped: number; compressed: boolean; exact?: boolean }
  | { type: 'note'; id: number; time: number | null; text: string }
  | { type: 'end'; id: number; time: number | null; reason: string };

export interface DiscoveryLimits {
  /** Largest HTTP head looked at (bytes). */
  maxHeadSize: number;
  /** Bytes a direction may hold while looking for a frame boundary before the oldest are let go. */
  maxResyncBuffer: number;
  /** Frames longer than this are not taken as a boundary candidate. */
  maxFrameLength: number;
}

export const defaultDiscoveryLimits: DiscoveryLimits = { maxHeadSize: 64 * 1024, maxResyncBuffer: 1024 * 1024, maxFrameLength: 256 * 1024 * 1024 };

/** Why conversations were not WebSocket, counted for the summary. */
export interface DiscoveryStats {
  tcpConversations: number;
  websocket: number;
  ignored: Record<string, number>;
}

interface Chunk {
  side: TcpSide;
  time: number | null;
  bytes: Uint8Array;
}

interface SideResync {
  /** Bytes held while looking for a boundary. */
  buffer: Uint8Array;
  /** Where each chunk held in buffer starts, and its time (the bytes are handed on with their own times). */
  marks: Array<{ at: number; time: number | null }>;
  /** Offset in buffer to look from. */
  scanFrom: number;
  /** Bytes let go before the boundary (counted for the note). */
  skipped: number;
  /** After a gap inside a frame of known length: the boundary is stepped to, not guessed. */
  exact: ExactResume | null;
}

type Phase = 'sniff' | 'websocket' | 'ignored';

class ConversationState {
  phase: Phase = 'sniff';
  /** Sniffing: both sides' bytes in arrival order. */
  held: Chunk[] = [];
  heldBytes = 0;
  /** Sniffing: TCP's remarks (a reassembled IP datagram, a differing retransmission), handed on if it is WebSocket. */
  heldNotes: Array<{ time: number | null; text: string }> = [];
  requestParser: HttpHeadParser | null = null;
  clientSide: TcpSide = 0;
  ws: WebSocketConversationInfo | null = null;
  /** Per side: null when in frame sync, else what resync holds. */
  resync: [SideResync | null, SideResync | null] = [null, null];
  /** Per side, while in frame sync: where its frames are (null: not followed). */
  trackers: [FrameTracker | null, FrameTracker | null] = [null, null];
  /** Mid-stream: the mask bit each side's frames carry, once known. */
  maskedSide: TcpSide | null = null;
  /** Mid-stream: handed on only once a frame boundary is found; until then its events wait here. */
  announced = false;
  queue: WebSocketCaptureEvent[] = [];
  constructor(readonly tcp: TcpConversation) {}
}

const latin1 = new TextDecoder('latin1');
const REQUEST_START = /^[A-Z]{3,10} [^ \r\n]+ HTTP\/\d\.\d\r?\n/;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class WebSocketDiscovery {
  private readonly conversations = new Map<number, ConversationState>();
  private nextId = 1;
  readonly stats: DiscoveryStats = { tcpConversations: 0, websocket: 0, ignored: {} };

  constructor(private readonly emit: (event: WebSocketCaptureEvent) => void, private readonly limits: DiscoveryLimits = defaultDiscoveryLimits) {}

  /** Feed every event of the TCP reassembly. */
  handle(event: TcpStreamEvent): void {
    if (event.type === 'conversation') {
      this.stats.tcpConversations++;
      this.conversations.set(event.conversation.id, new ConversationState(event.conversation));
      return;
    }
    const conv = this.conversations.get(event.conversation.id);
    if (!conv) return;
    switch (event.type) {
      case 'data':
        if (conv.phase === 'sniff') this.sniff(conv, { side: event.side, time: event.time, bytes: event.bytes.slice() });
        else if (conv.phase === 'websocket') this.stream(conv, event.side, event.time, event.bytes);
        return;
      case 'gap':
        if (conv.phase === 'sniff') {
          // Before anything was decided: no handshake can be read across the hole, so look for frames
          // (the conversation is handed on only if some are found).
          this.startMidstream(conv, event.time, `${event.length} bytes are missing from the ${event.side === 0 ? 'first' : 'second'} side's stream (${event.reason})`);
          // The bytes before the hole and after it are not one stream: that side looks again after it.
          this.gap(conv, event.side, event.time, event.length, event.reason);
          return;
        }
        if (conv.phase === 'websocket') this.gap(conv, event.side, event.time, event.length, event.reason);
        return;
      case 'note':
        if (conv.phase === 'websocket') this.send(conv, { type: 'note', id: conv.ws!.id, time: event.time, text: event.text });
        // Before it is known to be WebSocket, held (a few) until it is; the mid-stream start is said again on open.
        else if (conv.phase === 'sniff' && !event.midstreamStart && conv.heldNotes.length < 16) conv.heldNotes.push({ time: event.time, text: event.text });
        return;
      case 'side-end':
        if (conv.phase === 'websocket') {
          const who = event.side === conv.clientSide ? 'client' : 'server';
          this.send(conv, { type: 'note', id: conv.ws!.id, time: event.time, text: event.how === 'fin' ? `the ${who} closed its side of the TCP connection (FIN)` : `the ${who} reset the TCP connection (RST)` });
        }
        return;
      case 'conversation-end':
        this.finish(conv, event.time, event.reason);
        return;
    }
  }

  // ------------------------------------------------------------------ sniffing

  private sniff(conv: ConversationState, chunk: Chunk): void {
    conv.held.push(chunk);
    conv.heldBytes += chunk.bytes.length;
    // Both sides' bytes wait here while the first head is read: never more than two heads' worth.
    if (conv.heldBytes > 2 * this.limits.maxHeadSize && conv.tcp.synSeen) return this.ignore(conv, 'HTTP head never completed');
    // The side that speaks first is the one to look at: a WebSocket client speaks first (§4.1).
    const first = conv.held[0]!.side;
    const bytes = this.sideBytes(conv, first);
    const start = latin1.decode(bytes.subarray(0, 256));
    if (REQUEST_START.test(start)) return this.readRequest(conv, first, bytes);
    // A request line may still be on its way: an upper-case method, no line end yet.
    const lineOpen = !bytes.includes(10) && bytes.length < 256 && /^[A-Z]{1,10}( [^ \r\n]*( [HTP/.\d]*)?)?$/.test(start);
    if (lineOpen && conv.heldBytes <= this.limits.maxHeadSize) return;
    // An HTTP response before any request: the request was lost from the capture; the frames may still be read.
    if (conv.tcp.synSeen && first === 1 && start.startsWith('HTTP/1.')) return this.startMidstream(conv, chunk.time, 'the server answers a request the capture does not have');
    if (conv.tcp.synSeen) return this.ignore(conv, bytes[0] === 0x16 ? 'TLS (encrypted: wss:// and https:// cannot be read from a capture)' : 'not HTTP');
    // Mid-stream and not an HTTP request: look for frames.
    this.startMidstream(conv, chunk.time, null);
  }

  private sideBytes(conv: ConversationState, side: TcpSide): Uint8Array {
    const parts = conv.held.filter((c) => c.side === side);
    if (parts.length === 1) return parts[0]!.bytes;
    const out = new Uint8Array(parts.reduce((n, c) => n + c.bytes.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part.bytes, at);
      at += part.bytes.length;
    }
    return out;
  }

  private readRequest(conv: ConversationState, side: TcpSide, bytes: Uint8Array): void {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: this.limits.maxHeadSize });
    let head: HttpHead;
    try {
      const result = parser.feed(bytes);
      if (!result.done) return; // wait for the rest of the head
      head = result.head;
    } catch {
      // A malformed head that still asks for websocket is shown (the replay flags it); others are not ours.
      const text = latin1.decode(bytes.subarray(0, this.limits.maxHeadSize));
      if (/\r\nupgrade:[^\r\n]*websocket/i.test(text)) return this.open(conv, side, 'seen', null);
      return this.ignore(conv, 'malformed HTTP');
    }
    const upgrade = splitList(headerValue(head, 'upgrade')).some((t) => t.toLowerCase() === 'websocket');
    if (!upgrade) return this.ignore(conv, 'HTTP without a WebSocket upgrade');
    this.open(conv, side, 'seen', head);
  }

  private open(conv: ConversationState, clientSide: TcpSide, handshake: 'seen' | 'missing', request: HttpHead | null): void {
    conv.phase = 'websocket';
    conv.clientSide = clientSide;
    if (handshake === 'seen') conv.maskedSide = clientSide;
    const endpoints = conv.tcp.endpoints;
    conv.ws = {
      id: 0, tcpId: conv.tcp.id, client: endpoints[clientSide], server: endpoints[clientSide === 0 ? 1 : 0],
      ipVersion: conv.tcp.ipVersion, handshake, request, time: conv.held[0]?.time ?? conv.tcp.firstTime,
    };
    // With its handshake it is WebSocket now; without, only once a frame boundary is found.
    if (handshake === 'seen') {
      conv.trackers = [this.tracker(true), this.tracker(true)];
      this.announce(conv);
    }
    for (const note of conv.heldNotes) this.send(conv, { type: 'note', id: conv.ws.id, time: note.time, text: note.text });
    conv.heldNotes = [];
    const held = conv.held;
    conv.held = [];
    conv.heldBytes = 0;
    for (const chunk of held) this.stream(conv, chunk.side, chunk.time, chunk.bytes);
  }

  private announce(conv: ConversationState): void {
    const ws = conv.ws!;
    ws.id = this.nextId++;
    conv.announced = true;
    this.stats.websocket++;
    this.emit({ type: 'open', conversation: ws });
    const queued = conv.queue;
    conv.queue = [];
    for (const event of queued) this.emit({ ...event, id: ws.id } as WebSocketCaptureEvent);
  }

  /** An event of this conversation: handed on, or held until the conversation is known to be WebSocket. */
  private send(conv: ConversationState, event: WebSocketCaptureEvent): void {
    if (conv.announced) this.emit(event);
    else if (conv.queue.length < 64) conv.queue.push(event);
  }

  private ignore(conv: ConversationState, why: string): void {
    conv.phase = 'ignored';
    conv.heldNotes = [];
    conv.held = [];
    conv.heldBytes = 0;
    this.stats.ignored[why] = (this.stats.ignored[why] ?? 0) + 1;
  }

  // ------------------------------------------------------------------ mid-stream

  private startMidstream(conv: ConversationState, time: number | null, why: string | null): void {
    const held = conv.held;
    conv.held = [];
    conv.heldBytes = 0;
    // The client is not known until a side's frames show their mask bit; side 0 for now.
    this.open(conv, 0, 'missing', null);
    this.send(conv, { type: 'note', id: conv.ws!.id, time, text: `the opening handshake is not in the capture${why ? ` (${why})` : ''}: each direction is read from the first plausible frame boundary (well-formed header, mask bit that fits the direction, a following frame that parses too); client and server are told apart by the mask bit (RFC 6455 §5.1)` });
    conv.resync = [this.freshResync(), this.freshResync()];
    for (const chunk of held) this.stream(conv, chunk.side, chunk.time, chunk.bytes);
  }

  private freshResync(exact: ExactResume | null = null): SideResync {
    return { buffer: new Uint8Array(0), marks: [], scanFrom: 0, skipped: 0, exact };
  }

  private tracker(head: boolean): FrameTracker {
    return new FrameTracker({ head, maxHeadSize: this.limits.maxHeadSize, maxFrameLength: this.limits.maxFrameLength });
  }

  private gap(conv: ConversationState, side: TcpSide, time: number | null, length: number, reason: string): void {
    const ws = conv.ws!;
    const existing = conv.resync[side];
    if (existing) {
      // Still looking: the bytes before the hole cannot hold a boundary that the bytes after confirm.
      existing.skipped += existing.buffer.length + length;
      existing.buffer = new Uint8Array(0);
      existing.marks = [];
      existing.scanFrom = 0;
      existing.exact = null;
      return;
    }
    this.send(conv, { type: 'gap', id: ws.id, direction: this.direction(conv, side), time, length, reason });
    const exact = conv.trackers[side]?.afterGap(length) ?? null;
    conv.trackers[side] = null;
    conv.resync[side] = this.freshResync(exact);
  }

  private direction(conv: ConversationState, side: TcpSide): WireDirection {
    return side === conv.clientSide ? 'client-to-server' : 'server-to-client';
  }

  // ------------------------------------------------------------------ streaming

  private stream(conv: ConversationState, side: TcpSide, time: number | null, bytes: Uint8Array): void {
    const r = conv.resync[side];
    if (!r) {
      conv.trackers[side]?.feed(bytes);
      this.send(conv, { type: 'bytes', id: conv.ws!.id, direction: this.direction(conv, side), time, bytes });
      return;
    }
    r.marks.push({ at: r.buffer.length, time });
    r.buffer = r.buffer.length === 0 ? bytes.slice() : concat(r.buffer, bytes);
    this.tryResync(conv, side, time, false);
  }

  private tryResync(conv: ConversationState, side: TcpSide, time: number | null, final: boolean): void {
    const r = conv.resync[side]!;
    const expectMasked = conv.maskedSide === null ? null : conv.maskedSide === side;
    if (r.exact) {
      // The gap fell inside a frame of known length: step to where it (and its message) ends.
      const step = stepToBoundary(r.buffer, r.exact, { expectMasked, maxFrameLength: this.limits.maxFrameLength });
      this.dropResyncPrefix(r, step.drop);
      r.exact = step.kind === 'more' ? step.resume : null;
      if (step.kind === 'more') return;
      if (step.kind === 'found') return this.resynchronised(conv, side, time, { offset: 0, masked: step.masked, compressed: step.compressed, exact: true });
    }
    const found = findFrameBoundary(r.buffer, r.scanFrom, { expectMasked, final, maxFrameLength: this.limits.maxFrameLength, maxWait: this.limits.maxResyncBuffer });
    if (found.kind === 'more') {
      r.scanFrom = found.offset;
      if (r.buffer.length > this.limits.maxResyncBuffer * 2) this.dropResyncPrefix(r, found.offset);
      return;
    }
    if (found.kind === 'none') {
      r.skipped += r.buffer.length;
      r.buffer = new Uint8Array(0);
      r.marks = [];
      r.scanFrom = 0;
      return;
    }
    this.resynchronised(conv, side, time, found);
  }

  /** A frame boundary at `found.offset` of the bytes held: the direction is in frame sync from there. */
  private resynchronised(conv: ConversationState, side: TcpSide, time: number | null, found: { offset: number; masked: boolean; compressed: boolean; exact?: boolean }): void {
    const r = conv.resync[side]!;
    const other: TcpSide = side === 0 ? 1 : 0;
    const ws = conv.ws!;
    if (!conv.announced) this.announce(conv);
    if (conv.maskedSide === null) {
      // The first direction to resynchronise decides who is the client (§5.1: clients mask).
      conv.maskedSide = found.masked ? side : other;
      if (conv.clientSide !== conv.maskedSide && ws.handshake === 'missing') {
        conv.clientSide = conv.maskedSide;
        const endpoints = conv.tcp.endpoints;
        ws.client = endpoints[conv.clientSide];
        ws.server = endpoints[conv.clientSide === 0 ? 1 : 0];
        this.send(conv, { type: 'note', id: ws.id, time, text: `the client is ${ws.client.address} port ${ws.client.port}: its frames are masked (RFC 6455 §5.1)` });
      }
    }
    const skipped = r.skipped + found.offset;
    conv.resync[side] = null;
    const tracker = (conv.trackers[side] = this.tracker(false));
    const direction = this.direction(conv, side);
    // The held bytes from the boundary on, each piece with the time of the packet it came in.
    const pieces = r.marks.flatMap((m, i) => {
      const from = Math.max(m.at, found.offset);
      const to = r.marks[i + 1]?.at ?? r.buffer.length;
      return from < to ? [{ time: m.time, bytes: r.buffer.subarray(from, to) }] : [];
    });
    const at = pieces[0]?.time ?? time;
    this.send(conv, { type: 'resync', id: ws.id, direction, time: at, skipped, compressed: found.compressed, ...(found.exact ? { exact: true } : {}) });
    if (found.compressed && ws.handshake === 'missing') {
      this.send(conv, { type: 'note', id: ws.id, time: at, text: `the ${direction} frames are compressed (RSV1 set) but the permessage-deflate context is missing: the handshake that agreed it and the earlier messages that filled its sliding window (RFC 7692 §7.2.2) are not in the capture, so their payloads are shown as they crossed the wire` });
    }
    for (const piece of pieces) {
      tracker.feed(piece.bytes);
      this.send(conv, { type: 'bytes', id: ws.id, direction, time: piece.time, bytes: piece.bytes });
    }
  }

  /** Keeps the bytes from `offset` on (a long wait for a candidate), counting the others as skipped. */
  private dropResyncPrefix(r: SideResync, offset: number): void {
    r.skipped += offset;
    r.buffer = r.buffer.slice(offset);
    r.marks = r.marks.flatMap((m, i) => {
      const end = r.marks[i + 1]?.at ?? Infinity;
      return end <= offset ? [] : [{ at: Math.max(0, m.at - offset), time: m.time }];
    });
    r.scanFrom = 0;
  }

  private finish(conv: ConversationState, time: number | null, reason: string): void {
    this.conversations.delete(conv.tcp.id);
    if (conv.phase === 'sniff') {
      if (conv.held.length > 0 && !conv.tcp.synSeen) this.startMidstream(conv, time, null);
      else if (conv.held.length > 0) {
        const bytes = this.sideBytes(conv, conv.held[0]!.side);
        if (REQUEST_START.test(latin1.decode(bytes.subarray(0, 256)))) this.ignore(conv, 'HTTP head never completed');
        else this.ignore(conv, 'not HTTP');
        return;
      } else {
        this.ignore(conv, 'no data');
        return;
      }
    }
    if (conv.phase !== 'websocket') return;
    const ws = conv.ws!;
    for (const side of [0, 1] as const) {
      const r = conv.resync[side];
      if (!r) continue;
      if (r.buffer.length > 0) this.tryResync(conv, side, time, true);
    }
    if (!conv.announced) return this.ignore(conv, 'no WebSocket frames found in a connection whose start is not in the capture');
    for (const side of [0, 1] as const) {
      const still = conv.resync[side];
      if (still && still.skipped + still.buffer.length > 0) {
        this.send(conv, { type: 'note', id: ws.id, time, text: `no frame boundary was found in the ${this.direction(conv, side)} stream's ${still.skipped + still.buffer.length} bytes: none of them could be read as frames` });
      }
    }
    this.emit({ type: 'end', id: ws.id, time, reason });
  }
}
