/**
 * TCP reassembly: in-order, out-of-order, retransmitted (same and different bytes), overlapping,
 * lost (acknowledged holes, caps, end of capture), cut by snaplen, wrapping past 2^32, mid-stream,
 * FIN, RST, port reuse, and the conversation cap.
 */

import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../../src/core/capture/packets/ip-tcp.ts';
import { defaultTcpReassemblyLimits, TcpReassembler, type TcpReassemblyLimits, type TcpStreamEvent } from '../../../src/core/capture/tcp-reassembly.ts';

const enc = (s: string) => new TextEncoder().encode(s);

class Harness {
  events: TcpStreamEvent[] = [];
  r: TcpReassembler;
  time = 0;
  constructor(limits: Partial<TcpReassemblyLimits> = {}) {
    this.r = new TcpReassembler((e) => this.events.push(e.type === 'data' ? { ...e, bytes: e.bytes.slice() } : e), { ...defaultTcpReassemblyLimits, ...limits });
  }
  seg(from: 'c' | 's', seq: number, data: string | Uint8Array = '', flags: Partial<Record<'syn' | 'ack' | 'fin' | 'rst', boolean>> = { ack: true }, ack = 0, extra: Partial<TcpSegment> = {}) {
    const payload = typeof data === 'string' ? enc(data) : data;
    const f = (flags.fin ? 1 : 0) | (flags.syn ? 2 : 0) | (flags.rst ? 4 : 0) | (flags.ack ? 16 : 0);
    const [src, dst] = from === 'c' ? [['10.0.0.1', 40000], ['10.0.0.2', 80]] as const : [['10.0.0.2', 80], ['10.0.0.1', 40000]] as const;
    this.r.add({ ipVersion: 4, srcAddress: src[0], srcPort: src[1], dstAddress: dst[0], dstPort: dst[1], seq: seq >>> 0, ack: ack >>> 0, flags: f, payload, payloadLength: payload.length, ...extra }, ++this.time);
  }
  text(side: 0 | 1, conversation = 1): string {
    return this.events.map((e) => e.type === 'data' && e.side === side && e.conversation.id === conversation ? new TextDecoder().decode(e.bytes) : e.type === 'gap' && e.side === side && e.conversation.id === conversation ? `[gap ${e.length}]` : '').join('');
  }
  notes(): string[] {
    return this.events.flatMap((e) => (e.type === 'note' ? [e.text] : []));
  }
  of<T extends TcpStreamEvent['type']>(type: T) {
    return this.events.filter((e): e is Extract<TcpStreamEvent, { type: T }> => e.type === type);
  }
}

function handshake(h: Harness, cIsn = 1000, sIsn = 5000) {
  h.seg('c', cIsn, '', { syn: true });
  h.seg('s', sIsn, '', { syn: true, ack: true }, cIsn + 1);
  h.seg('c', cIsn + 1, '', { ack: true }, sIsn + 1);
}

describe('TCP reassembly', () => {
  it('delivers both directions in order; side 0 is the SYN sender; FIN from both ends the conversation', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'hello ');
    h.seg('c', 1007, 'world');
    h.seg('s', 5001, 'HI', { ack: true, fin: true });
    h.seg('c', 1012, '', { ack: true, fin: true });
    expect(h.text(0)).toBe('hello world');
    expect(h.text(1)).toBe('HI');
    const conv = h.of('conversation')[0]!.conversation;
    expect(conv.endpoints[0]).toEqual({ address: '10.0.0.1', port: 40000 });
    expect(conv.synSeen).toBe(true);
    expect(h.of('side-end').map((e) => [e.side, e.how])).toEqual([[1, 'fin'], [0, 'fin']]);
    expect(h.of('conversation-end')[0]!.reason).toBe('both sides closed (FIN)');
  });

  it('the SYN-ACK first (SYN not captured): the SYN-ACK receiver is side 0', () => {
    const h = new Harness();
    h.seg('s', 5000, '', { syn: true, ack: true }, 1001);
    h.seg('c', 1001, 'abc');
    expect(h.of('conversation')[0]!.conversation.endpoints[0].port).toBe(40000);
    expect(h.text(0)).toBe('abc');
  });

  it('out-of-order segments are held until the bytes before them come', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1011, 'C');
    h.seg('c', 1006, 'BBBBB');
    expect(h.text(0)).toBe('');
    h.seg('c', 1001, 'AAAAA');
    expect(h.text(0)).toBe('AAAAABBBBBC');
    expect(h.of('gap')).toHaveLength(0);
  });

  it('retransmissions and overlaps: first wins, a note when the second copy differs', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'abcdef');
    h.seg('c', 1001, 'abcdef'); // the same again
    expect(h.notes().filter((n) => n.includes('different'))).toHaveLength(0);
    h.seg('c', 1004, 'dXfghi'); // overlaps 3 bytes, one differs
    expect(h.text(0)).toBe('abcdefghi');
    expect(h.notes().some((n) => /retransmission carries different bytes .* stream offset 4: the first copy is kept \(first wins\)/.test(n))).toBe(true);
    expect(h.r.stats.retransmittedBytes).toBe(9);
  });

  it('an out-of-order segment retransmitted is kept once', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1004, 'def');
    h.seg('c', 1004, 'def');
    h.seg('c', 1001, 'abc');
    expect(h.text(0)).toBe('abcdef');
  });

  it('a hole the receiver acknowledged is a gap at once (the capture lost it), never invented bytes', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'aaaa');
    h.seg('c', 1009, 'cccc'); // 1005..1008 never captured
    expect(h.text(0)).toBe('aaaa');
    h.seg('s', 5001, '', { ack: true }, 1013);
    expect(h.text(0)).toBe('aaaa[gap 4]cccc');
    expect(h.of('gap')[0]!.reason).toMatch(/receiver acknowledged them/);
  });

  it('holes left at the end of the capture become gaps', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'a');
    h.seg('c', 1003, 'c');
    h.r.finish(99);
    expect(h.text(0)).toBe('a[gap 1]c');
    expect(h.of('conversation-end')[0]!.reason).toBe('the capture ended');
  });

  it('the out-of-order buffer is capped per direction and overall, with a note of why bytes are missing', () => {
    const h = new Harness({ maxBufferedPerSide: 10 });
    handshake(h);
    h.seg('c', 1011, '0123456789');
    expect(h.text(0)).toBe('');
    h.seg('c', 1021, 'x');
    expect(h.text(0)).toBe('[gap 10]0123456789x');
    expect(h.of('gap')[0]!.reason).toMatch(/this direction's 10-byte out-of-order buffer was full/);
    const all = new Harness({ maxBufferedTotal: 5 });
    handshake(all);
    all.seg('c', 1003, 'cdefgh');
    expect(all.text(0)).toBe('[gap 2]cdefgh');
    expect(all.of('gap')[0]!.reason).toMatch(/the 5-byte overall out-of-order buffer was full/);
  });

  it('the out-of-order buffer also caps how many segments it holds', () => {
    const h = new Harness({ maxPendingSegments: 3 });
    handshake(h);
    for (let i = 1; i <= 4; i++) h.seg('c', 1001 + i * 2, 'x'); // one byte each at offsets 2, 4, 6, 8: a hole before each
    expect(h.text(0)).toBe('[gap 2]x'); // the fourth made four: the oldest hole is given up
    h.r.finish(99);
    expect(h.text(0)).toBe('[gap 2]x[gap 1]x[gap 1]x[gap 1]x');
    expect(h.of('gap')[0]!.reason).toMatch(/this direction's 3-segment out-of-order buffer was full/);
  });

  it('sequence numbers wrap past 2^32', () => {
    const h = new Harness();
    handshake(h, 0xfffffffa);
    h.seg('c', 0xfffffffb, 'abc');
    h.seg('c', 0x00000001, 'ghi'); // out of order across the wrap
    h.seg('c', 0xfffffffe, 'def');
    expect(h.text(0)).toBe('abcdefghi');
  });

  it('a capture that starts mid-stream anchors on the first data segment and says so', () => {
    const h = new Harness();
    h.seg('s', 777, 'server first');
    h.seg('c', 123456, 'client');
    h.seg('s', 789, '!');
    expect(h.text(0)).toBe('server first!');
    expect(h.text(1)).toBe('client');
    expect(h.of('conversation')[0]!.conversation.synSeen).toBe(false);
    expect(h.notes()[0]).toMatch(/starts in the middle of this TCP connection/);
  });

  it('a segment cut by the snaplen delivers what was captured, then a gap for the rest', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'abc', { ack: true }, 0, { payloadLength: 10 });
    h.seg('c', 1011, 'next');
    expect(h.text(0)).toBe('abc[gap 7]next');
    expect(h.of('gap')[0]!.reason).toMatch(/snaplen/);
  });

  it('RST ends the conversation; a new SYN on the same ports starts another', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'one');
    h.seg('s', 5001, '', { rst: true });
    handshake(h, 9000, 3000);
    h.seg('c', 9001, 'two');
    expect(h.of('conversation').map((e) => e.conversation.id)).toEqual([1, 2]);
    expect(h.of('conversation-end')[0]!.reason).toMatch(/RST/);
    expect(h.text(0, 2)).toBe('two');
  });

  it('a SYN with a new ISN while the old conversation is open ends it (port reuse)', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'old', { ack: true, fin: true });
    handshake(h, 7000, 8000);
    h.seg('c', 7001, 'new');
    expect(h.of('conversation-end')[0]!.reason).toBe('a new connection reused its addresses and ports');
    expect(h.text(0, 2)).toBe('new');
  });

  it('copies of an ended conversation that come late (a second interface written in batches) open nothing; a new SYN does', () => {
    const h = new Harness();
    handshake(h);
    h.seg('c', 1001, 'abc', { ack: true, fin: true });
    h.seg('s', 5001, 'xyz', { ack: true, fin: true }, 1005);
    expect(h.of('conversation-end')).toHaveLength(1);
    handshake(h); // the same SYN, SYN-ACK and ACK again
    h.seg('c', 1001, 'abc', { ack: true, fin: true });
    h.seg('s', 5001, 'xyz', { ack: true, fin: true }, 1005);
    expect(h.of('conversation')).toHaveLength(1);
    expect(h.r.stats.retransmittedBytes).toBe(6);
    handshake(h, 77_000, 88_000); // a new connection on the same ports
    h.seg('c', 77_001, 'new');
    expect(h.of('conversation')).toHaveLength(2);
    expect(h.text(0, 2)).toBe('new');
  });

  it('stray ACKs of unknown connections open nothing; the conversation cap ends the least recently active', () => {
    const h = new Harness({ maxConversations: 2 });
    h.seg('c', 1, '', { ack: true });
    expect(h.of('conversation')).toHaveLength(0);
    for (let port = 1; port <= 3; port++) {
      h.r.add({ ipVersion: 4, srcAddress: '10.0.0.1', srcPort: port, dstAddress: '10.0.0.2', dstPort: 80, seq: 1, ack: 0, flags: 2, payload: new Uint8Array(0), payloadLength: 0 }, port);
    }
    expect(h.of('conversation')).toHaveLength(3);
    expect(h.of('conversation-end').map((e) => [e.conversation.id, e.reason])).toEqual([[1, 'too many conversations at once']]);
  });
});
