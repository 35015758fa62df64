/**
 * TCP reassembly for captures: segments in (as a capture saw them, possibly out of order,
 * retransmitted, partly missing), each direction's byte stream out, in order, with every hole
 * reported as a gap and never filled with invented bytes.
 *
 * Per conversation (its 4-tuple) and per direction the next expected sequence number is kept;
 * sequence numbers are compared modulo 2^32 (RFC 9293 §3.4, "sequence number arithmetic"), so a
 * stream that wraps past 2^32 reads on. Each direction's bytes are numbered by their stream
 * offset (a plain number, never wrapping).
 *
 * - SYN (§3.4: it occupies one sequence number) fixes the first byte's number; a capture that starts
 *   mid-connection takes the first data segment's number instead, and says so.
 * - A segment at the expected number is delivered, then any buffered out-of-order segments that
 *   now fit. A later segment is buffered (copied) until the bytes before it come.
 * - Bytes already delivered that come again (retransmissions, overlaps) are dropped: first wins.
 *   When the second copy differs from the first (compared over the recent bytes kept), a note says so.
 * - A hole becomes a gap (its length, no bytes) when the receiver acknowledged past it (the
 *   capture lost bytes the peer got), when the out-of-order buffer's cap is reached (per
 *   direction and over all conversations: a capture cannot exhaust memory), when the capture cut
 *   a segment short (snaplen), or when the conversation or the capture ends.
 * - FIN (one sequence number, after the segment's data) ends a direction once every byte before it
 *   is delivered; RST ends the conversation. A new SYN with another initial sequence number on the
 *   same 4-tuple starts a new conversation (port reuse).
 *
 * Bytes handed out in 'data' events are views into the capture's buffers: copy what you keep.
 */

import { TcpFlag, type TcpSegment } from './packets/ip-tcp.ts';

export interface TcpEndpoint {
  address: string;
  port: number;
}

/** 0: the side that sent the SYN (or, mid-stream, the first segment seen); 1: the other. */
export type TcpSide = 0 | 1;

export interface TcpConversation {
  /** 1-based, in order of first packet. */
  id: number;
  endpoints: [TcpEndpoint, TcpEndpoint];
  ipVersion: 4 | 6;
  /** The opening SYN was in the capture (side 0 sent it). */
  synSeen: boolean;
  firstTime: number | null;
}

export type TcpStreamEvent =
  | { type: 'conversation'; conversation: TcpConversation; time: number | null }
  | { type: 'data'; conversation: TcpConversation; side: TcpSide; time: number | null; bytes: Uint8Array; offset: number }
  | { type: 'gap'; conversation: TcpConversation; side: TcpSide; time: number | null; length: number; offset: number; reason: string }
  /** midstreamStart: the note that the capture starts mid-connection (said again by whoever reads the stream). */
  | { type: 'note'; conversation: TcpConversation; side: TcpSide | null; time: number | null; text: string; midstreamStart?: true }
  | { type: 'side-end'; conversation: TcpConversation; side: TcpSide; time: number | null; how: 'fin' | 'rst' }
  | { type: 'conversation-end'; conversation: TcpConversation; time: number | null; reason: string };

export interface TcpReassemblyLimits {
  /** Out-of-order bytes one direction may hold before its oldest hole is declared a gap. */
  maxBufferedPerSide: number;
  /** Out-of-order bytes all conversations together may hold. */
  maxBufferedTotal: number;
  /** Out-of-order segments (and holes) one direction may hold, whatever their size. */
  maxPendingSegments: number;
  /** Conversations tracked at once; past it the least recently active one is ended. */
  maxConversations: number;
  /** Recent bytes kept per direction to compare retransmissions with (and their total over all directions). */
  recentBytesPerSide: number;
  recentBytesTotal: number;
}

export const defaultTcpReassemblyLimits: TcpReassemblyLimits = {
  maxBufferedPerSide: 8 * 1024 * 1024,
  maxBufferedTotal: 128 * 1024 * 1024,
  maxPendingSegments: 4096,
  maxConversations: 20_000,
  recentBytesPerSide: 16 * 1024,
  recentBytesTotal: 32 * 1024 * 1024,
};

interface Pending {
  offset: number;
  /** Bytes, or null for a hole the capture cannot fill (a segment cut by snaplen). */
  bytes: Uint8Array | null;
  length: number;
  time: number | null;
  reason?: string;
}

class SideState {
  started = false;
  /** The sequence number of the byte at stream offset `delivered`. */
  nextSeq = 0;
  isn: number | null = null;
  delivered = 0;
  finOffset: number | null = null;
  ended = false;
  pending: Pending[] = [];
  buffered = 0;
  /** A ring of the last delivered bytes (null until budget allows), to compare retransmissions. */
  recent: Uint8Array | null = null;
  differingNoted = false;
  retransmitted = 0;

  offsetOf(seq: number): number {
    return this.delivered + ((seq - this.nextSeq) | 0);
  }
}

interface EndedSide {
  isn: number | null;
  /** Sequence number of the side's first byte (null: it sent none). */
  first: number | null;
  /** One past its last sequence number (a FIN included). */
  end: number;
}

class ConversationState {
  readonly sides: [SideState, SideState] = [new SideState(), new SideState()];
  /** IP datagrams of this conversation that came in fragments, and their fragments. */
  fragmented = { datagrams: 0, fragments: 0 };
  constructor(readonly info: TcpConversation, readonly key: string) {}
}

function endpointKey(address: string, port: number): string {
  return `${address}|${port}`;
}

export class TcpReassembler {
  private readonly conversations = new Map<string, ConversationState>();
  /** Conversations that ended, by key: where their streams were (bounded like the open ones). */
  private readonly ended = new Map<string, { sender: string; sides: [EndedSide, EndedSide] }>();
  private nextId = 1;
  private bufferedTotal = 0;
  private recentTotal = 0;
  /** Counts for the summary. */
  readonly stats = { segments: 0, retransmittedBytes: 0, gapBytes: 0, conversations: 0 };

  constructor(private readonly emit: (event: TcpStreamEvent) => void, private readonly limits: TcpReassemblyLimits = defaultTcpReassemblyLimits) {}

  add(segment: TcpSegment, time: number | null): void {
    this.stats.segments++;
    const from = endpointKey(segment.srcAddress, segment.srcPort);
    const to = endpointKey(segment.dstAddress, segment.dstPort);
    const key = from < to ? `${from}>${to}` : `${to}>${from}`;
    const syn = (segment.flags & TcpFlag.SYN) !== 0;
    const ack = (segment.flags & TcpFlag.ACK) !== 0;
    let conv = this.conversations.get(key);
    if (conv) {
      const side: TcpSide = conv.info.endpoints[0].address === segment.srcAddress && conv.info.endpoints[0].port === segment.srcPort ? 0 : 1;
      const state = conv.sides[side];
      // Port reuse: a fresh SYN (no ACK) whose initial sequence number is not the one we know.
      if (syn && !ack && state.started && state.isn !== segment.seq) {
        this.end(conv, time, 'a new connection reused its addresses and ports');
        conv = undefined;
      } else {
        // Keep the map in order of activity, so that eviction takes the least recently active.
        this.conversations.delete(key);
        this.conversations.set(key, conv);
      }
    }
    if (!conv) {
      // A stray ACK, FIN or RST with nothing in it is no conversation worth opening.
      if (!syn && segment.payloadLength === 0) return;
      if (this.isLateCopy(key, segment, syn)) return;
      conv = this.open(key, segment, time, syn && !ack);
    }
    const side: TcpSide = conv.info.endpoints[0].address === segment.srcAddress && conv.info.endpoints[0].port === segment.srcPort ? 0 : 1;
    if (segment.ipFragments) this.fragmented(conv, side, segment, time);
    this.segment(conv, side, segment, time, syn);
  }

  /**
   * A remark about this 4-tuple's conversation from below TCP (an IP datagram given up), if the
   * conversation is open; false when there is none to tell.
   */
  noteFor(src: TcpEndpoint, dst: TcpEndpoint, time: number | null, text: string): boolean {
    const from = endpointKey(src.address, src.port);
    const to = endpointKey(dst.address, dst.port);
    const conv = this.conversations.get(from < to ? `${from}>${to}` : `${to}>${from}`);
    if (!conv) return false;
    const side: TcpSide = conv.info.endpoints[0].address === src.address && conv.info.endpoints[0].port === src.port ? 0 : 1;
    this.emit({ type: 'note', conversation: conv.info, side, time, text });
    return true;
  }

  /** The segment's IP datagram came in fragments: said for the first, counted for the rest (summed up at the end). */
  private fragmented(conv: ConversationState, side: TcpSide, segment: TcpSegment, time: number | null): void {
    const f = segment.ipFragments!;
    const count = conv.fragmented;
    count.datagrams++;
    count.fragments += f.count - f.duplicates;
    const rfc = segment.ipVersion === 4 ? 'RFC 791 §3.2' : 'RFC 8200 §4.5';
    if (count.datagrams === 1 || f.differing) {
      this.emit({
        type: 'note', conversation: conv.info, side, time,
        text: `IP fragments reassembled: a ${segment.payloadLength}-byte TCP segment of this connection came in ${f.count - f.duplicates} IPv${segment.ipVersion} fragments${f.duplicates ? ` (and ${f.duplicates} duplicate cop${f.duplicates === 1 ? 'y' : 'ies'}, dropped${f.differing ? '; a duplicate carried different bytes, the first copy is kept' : ''})` : ''}; it is read whole, as the receiver's IP layer put it together (${rfc})`,
      });
    }
  }

  /** The capture ended: every hole left becomes a gap, every conversation ends. */
  finish(time: number | null): void {
    for (const conv of [...this.conversations.values()]) this.end(conv, time, 'the capture ended');
  }

  private open(key: string, segment: TcpSegment, time: number | null, synFromSender: boolean): ConversationState {
    if (this.conversations.size >= this.limits.maxConversations) {
      const oldest = this.conversations.values().next().value as ConversationState;
      this.emit({ type: 'note', conversation: oldest.info, side: null, time, text: `ended early: more than ${this.limits.maxConversations} TCP conversations at once, and this one was the least recently active` });
      this.end(oldest, time, 'too many conversations at once');
    }
    // Side 0 is the SYN's sender; without a SYN, a SYN-ACK's receiver, or else the first sender.
    const synAck = (segment.flags & TcpFlag.SYN) !== 0 && !synFromSender;
    const sender = { address: segment.srcAddress, port: segment.srcPort };
    const receiver = { address: segment.dstAddress, port: segment.dstPort };
    const info: TcpConversation = {
      id: this.nextId++, endpoints: synAck ? [receiver, sender] : [sender, receiver], ipVersion: segment.ipVersion, synSeen: synFromSender, firstTime: time,
    };
    const conv = new ConversationState(info, key);
    this.conversations.set(key, conv);
    this.stats.conversations++;
    this.emit({ type: 'conversation', conversation: info, time });
    if (!synFromSender) {
      this.emit({ type: 'note', conversation: info, side: null, time, text: 'the capture starts in the middle of this TCP connection (its SYN is not in the capture)', midstreamStart: true });
    }
    return conv;
  }

  private segment(conv: ConversationState, side: TcpSide, segment: TcpSegment, time: number | null, syn: boolean): void {
    const s = conv.sides[side];
    // The peer acknowledged bytes the capture never had: they are lost, a retransmission will not come.
    if (segment.flags & TcpFlag.ACK) this.acknowledged(conv, side === 0 ? 1 : 0, segment.ack, time);
    if (s.ended && !(segment.flags & TcpFlag.RST)) {
      this.stats.retransmittedBytes += segment.payload.length; // after its FIN: a retransmission
      return;
    }
    if (syn) {
      if (!s.started) {
        s.started = true;
        s.isn = segment.seq;
        s.nextSeq = (segment.seq + 1) >>> 0;
      }
    } else if (!s.started) {
      if (segment.payloadLength === 0 && !(segment.flags & TcpFlag.FIN)) return; // nothing to anchor on yet
      s.started = true;
      s.nextSeq = segment.seq;
      if (conv.info.synSeen) {
        this.emit({ type: 'note', conversation: conv.info, side, time, text: 'this direction starts mid-stream: its first bytes are those of the first segment captured' });
      }
    }
    const dataSeq = syn ? (segment.seq + 1) >>> 0 : segment.seq;
    const offset = s.offsetOf(dataSeq);
    if (segment.payload.length > 0) this.place(conv, side, s, offset, segment.payload, time);
    if (segment.payloadLength > segment.payload.length) {
      this.insertPending(conv, side, s, { offset: offset + segment.payload.length, bytes: null, length: segment.payloadLength - segment.payload.length, time, reason: 'the capture cut this segment short (snaplen)' });
    }
    if (segment.flags & TcpFlag.FIN && s.finOffset === null) s.finOffset = offset + segment.payloadLength;
    this.drain(conv, side, s);
    if (segment.flags & TcpFlag.RST) {
      this.emit({ type: 'side-end', conversation: conv.info, side, time, how: 'rst' });
      s.ended = true;
      this.end(conv, time, `reset by ${side === 0 ? 'the first' : 'the second'} side (RST)`);
      return;
    }
    this.checkFin(conv, side, s, time);
  }

  private place(conv: ConversationState, side: TcpSide, s: SideState, offset: number, bytes: Uint8Array, time: number | null): void {
    const end = offset + bytes.length;
    if (end <= s.delivered) {
      this.retransmission(conv, side, s, offset, bytes, time);
      return;
    }
    if (offset < s.delivered) {
      this.retransmission(conv, side, s, offset, bytes.subarray(0, s.delivered - offset), time);
      bytes = bytes.subarray(s.delivered - offset);
      offset = s.delivered;
    }
    if (offset === s.delivered && (s.pending.length === 0 || s.pending[0]!.offset >= end)) {
      this.deliver(conv, side, s, bytes, time);
      return;
    }
    this.insertPending(conv, side, s, { offset, bytes: bytes.slice(), length: bytes.length, time });
  }

  private insertPending(conv: ConversationState, side: TcpSide, s: SideState, p: Pending): void {
    let i = s.pending.length;
    while (i > 0 && s.pending[i - 1]!.offset > p.offset) i--;
    const same = s.pending[i - 1];
    if (same && same.offset === p.offset && same.length >= p.length) {
      this.compare(conv, side, s, same.bytes, p.bytes, p.time);
      this.stats.retransmittedBytes += p.length;
      return; // an out-of-order segment retransmitted: the first copy wins
    }
    s.pending.splice(i, 0, p);
    if (p.bytes) {
      s.buffered += p.length;
      this.bufferedTotal += p.length;
    }
    this.enforceCaps(conv, side, s, p.time);
  }

  private enforceCaps(conv: ConversationState, side: TcpSide, s: SideState, time: number | null): void {
    while (s.pending.length > 0 && (s.buffered > this.limits.maxBufferedPerSide || this.bufferedTotal > this.limits.maxBufferedTotal || s.pending.length > this.limits.maxPendingSegments)) {
      const which = s.buffered > this.limits.maxBufferedPerSide ? `this direction's ${this.limits.maxBufferedPerSide}-byte`
        : this.bufferedTotal > this.limits.maxBufferedTotal ? `the ${this.limits.maxBufferedTotal}-byte overall` : `this direction's ${this.limits.maxPendingSegments}-segment`;
      const first = s.pending[0]!;
      if (first.offset > s.delivered) {
        this.gap(conv, side, s, first.offset - s.delivered, time, `bytes never captured: ${which} out-of-order buffer was full, so the hole before the buffered bytes is reported as missing`);
      }
      this.drain(conv, side, s);
    }
  }

  private acknowledged(conv: ConversationState, side: TcpSide, ack: number, time: number | null): void {
    const s = conv.sides[side];
    if (!s.started || s.pending.length === 0 || s.ended) return;
    const ackOffset = s.offsetOf(ack);
    const first = s.pending[0]!;
    if (ackOffset > s.delivered && first.offset > s.delivered) {
      this.gap(conv, side, s, Math.min(ackOffset, first.offset) - s.delivered, time, 'bytes the capture missed (the receiver acknowledged them, so they were sent and will not be sent again)');
      this.drain(conv, side, s);
      this.checkFin(conv, side, s, time);
    }
  }

  /** Delivers what the buffer holds from the current offset on. */
  private drain(conv: ConversationState, side: TcpSide, s: SideState): void {
    while (s.pending.length > 0 && s.pending[0]!.offset <= s.delivered) {
      const p = s.pending.shift()!;
      if (p.bytes) {
        s.buffered -= p.length;
        this.bufferedTotal -= p.length;
      }
      const end = p.offset + p.length;
      if (end <= s.delivered) {
        if (p.bytes) this.retransmission(conv, side, s, p.offset, p.bytes, p.time);
        continue;
      }
      const skip = s.delivered - p.offset;
      if (p.bytes) {
        if (skip > 0) this.retransmission(conv, side, s, p.offset, p.bytes.subarray(0, skip), p.time);
        this.deliver(conv, side, s, p.bytes.subarray(skip), p.time);
      } else {
        this.gap(conv, side, s, p.length - skip, p.time, p.reason ?? 'bytes never captured');
      }
    }
  }

  private deliver(conv: ConversationState, side: TcpSide, s: SideState, bytes: Uint8Array, time: number | null): void {
    if (bytes.length === 0) return;
    const offset = s.delivered;
    s.delivered += bytes.length;
    s.nextSeq = (s.nextSeq + bytes.length) >>> 0;
    this.remember(s, offset, bytes);
    this.emit({ type: 'data', conversation: conv.info, side, time, bytes, offset });
  }

  private gap(conv: ConversationState, side: TcpSide, s: SideState, length: number, time: number | null, reason: string): void {
    if (length <= 0) return;
    const offset = s.delivered;
    s.delivered += length;
    s.nextSeq = (s.nextSeq + length) >>> 0;
    this.stats.gapBytes += length;
    this.emit({ type: 'gap', conversation: conv.info, side, time, length, offset, reason });
  }

  private remember(s: SideState, offset: number, bytes: Uint8Array): void {
    const size = this.limits.recentBytesPerSide;
    if (size === 0) return;
    if (!s.recent) {
      if (this.recentTotal + size > this.limits.recentBytesTotal) return;
      s.recent = new Uint8Array(size);
      this.recentTotal += size;
    }
    // Only the last `size` bytes matter; copied in at most two pieces around the ring's end.
    const from = Math.max(0, bytes.length - size);
    const at = (offset + from) % size;
    const first = Math.min(bytes.length - from, size - at);
    s.recent.set(bytes.subarray(from, from + first), at);
    if (from + first < bytes.length) s.recent.set(bytes.subarray(from + first), 0);
  }

  private retransmission(conv: ConversationState, side: TcpSide, s: SideState, offset: number, bytes: Uint8Array, time: number | null): void {
    this.stats.retransmittedBytes += bytes.length;
    s.retransmitted += bytes.length;
    const ring = s.recent;
    if (!ring || s.differingNoted) return;
    const size = ring.length;
    // Only bytes still in the ring can be compared.
    const from = Math.max(offset, s.delivered - size);
    for (let o = from; o < offset + bytes.length && o < s.delivered; o++) {
      if (ring[o % size] !== bytes[o - offset]) {
        s.differingNoted = true;
        this.emit({ type: 'note', conversation: conv.info, side, time, text: `a retransmission carries different bytes from the first copy at stream offset ${o}: the first copy is kept (first wins)` });
        return;
      }
    }
  }

  private compare(conv: ConversationState, side: TcpSide, s: SideState, first: Uint8Array | null, second: Uint8Array | null, time: number | null): void {
    if (!first || !second || s.differingNoted) return;
    for (let i = 0; i < second.length && i < first.length; i++) {
      if (first[i] !== second[i]) {
        s.differingNoted = true;
        this.emit({ type: 'note', conversation: conv.info, side, time, text: 'a retransmitted out-of-order segment carries different bytes from the first copy: the first copy is kept (first wins)' });
        return;
      }
    }
  }

  private checkFin(conv: ConversationState, side: TcpSide, s: SideState, time: number | null): void {
    if (s.ended || s.finOffset === null || s.delivered < s.finOffset) return;
    s.ended = true;
    this.emit({ type: 'side-end', conversation: conv.info, side, time, how: 'fin' });
    if (conv.sides[0].ended && conv.sides[1].ended) this.end(conv, time, 'both sides closed (FIN)');
  }

  /**
   * A segment of a conversation that has already ended: a copy that came late, as when a capture of
   * two interfaces (dumpcap -i lo -i any) writes each interface's packets in batches, or a
   * retransmission after the close. Its sequence number lies within the ended stream (or it is that
   * stream's SYN again), so it opens no new conversation.
   */
  private isLateCopy(key: string, segment: TcpSegment, syn: boolean): boolean {
    const ended = this.ended.get(key);
    if (!ended) return false;
    const side = ended.sender === `${segment.srcAddress}|${segment.srcPort}` ? ended.sides[0] : ended.sides[1];
    if (!side) return false;
    const inside = side.first !== null && ((segment.seq - side.first) | 0) >= -1 && ((segment.seq - side.end) | 0) <= 0;
    if (syn ? side.isn === segment.seq : inside) {
      this.stats.retransmittedBytes += segment.payload.length;
      return true;
    }
    this.ended.delete(key); // something new on these ports
    return false;
  }

  private end(conv: ConversationState, time: number | null, reason: string): void {
    if (this.conversations.get(conv.key) !== conv) return;
    this.conversations.delete(conv.key);
    // Remember where each side's stream was, to tell late copies from a new connection.
    const e0 = conv.info.endpoints[0];
    this.ended.set(conv.key, {
      sender: `${e0.address}|${e0.port}`,
      sides: conv.sides.map((s) => ({ isn: s.isn, first: s.started ? ((s.nextSeq - s.delivered) >>> 0) : null, end: (s.nextSeq + 1) >>> 0 })) as [EndedSide, EndedSide],
    });
    if (this.ended.size > this.limits.maxConversations) this.ended.delete(this.ended.keys().next().value as string);
    conv.sides.forEach((s, i) => {
      const side = i as TcpSide;
      while (s.pending.length > 0) {
        const first = s.pending[0]!;
        if (first.offset > s.delivered) this.gap(conv, side, s, first.offset - s.delivered, time, 'bytes never captured (the connection or the capture ended before they came)');
        this.drain(conv, side, s);
      }
      if (s.recent) this.recentTotal -= s.recent.length;
      s.recent = null;
    });
    if (conv.fragmented.datagrams > 1) {
      this.emit({ type: 'note', conversation: conv.info, side: null, time, text: `IP fragments: ${conv.fragmented.datagrams} IP datagrams of this connection came in ${conv.fragmented.fragments} fragments in all, each reassembled before TCP read it` });
    }
    this.emit({ type: 'conversation-end', conversation: conv.info, time, reason });
  }
}
