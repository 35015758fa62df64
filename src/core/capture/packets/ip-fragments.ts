/**
 * IP fragment reassembly for captures: the fragments of one datagram in (any order, duplicated,
 * hostile), the whole IP packet out, as the receiver's IP layer rebuilt it, for ip-tcp.ts to read
 * as one TCP segment.
 *
 * - A datagram is known by its key (IPv4: source, destination, protocol and Identification,
 *   RFC 791 §3.2; IPv6: source, destination and Identification, RFC 8200 §4.5). It is whole once
 *   the fragment without "more fragments" has come and the data from offset 0 to its end is there
 *   without a hole.
 * - The rebuilt packet is the first fragment's header (IPv4: its header with the length fixed and
 *   the fragment fields cleared; IPv6: "all headers up to, but not including, the Fragment header
 *   of the first fragment packet", §4.5, with that header's Next Header taken from the Fragment
 *   header) followed by the data.
 * - Overlaps are resolved the one way RFC 8200 §4.5 (and RFC 5722) allow, and the same for IPv4
 *   (as Linux does since 4.19): an exact duplicate (same offset and length) is dropped, the first
 *   copy kept (a differing copy is reported); any other overlap, or fragments that disagree about
 *   where the datagram ends, abandons the whole datagram, and its later fragments are dropped
 *   until its timeout. The bytes never reach TCP, which then sees what the receiver saw (a hole,
 *   usually filled by a retransmission).
 * - Bounded: a datagram is at most 65,535 bytes (RFC 791 §3.1 total length; RFC 8200 §4.5 "exceeds
 *   65,535 octets ... discard") and at most maxFragments fragments; at most maxDatagrams datagrams
 *   and maxBytes bytes are held at once (past that the oldest is given up); a datagram not whole
 *   within the timeout of capture time (IPv4 30 s like Linux's ipfrag_time, IPv6 60 s, §4.5) is
 *   given up. A non-last fragment whose length is not a multiple of 8 is dropped (§4.5; RFC 791
 *   §3.2 fragments on 8-octet boundaries).
 *
 * Every outcome is reported through the callback: reassembled datagrams with their fragment
 * count, given-up ones with why (and, when the first fragment was there, its TCP ports, so the
 * note can go to its connection).
 */

import type { IpFragment } from './ip-tcp.ts';

export interface IpFragmentLimits {
  /** Fragments one datagram may have. */
  maxFragments: number;
  /** Datagrams being reassembled at once. */
  maxDatagrams: number;
  /** Fragment bytes held over all datagrams. */
  maxBytes: number;
  /** Capture time (ms) a datagram may take to be whole. */
  timeoutMs: { 4: number; 6: number };
}

export const defaultIpFragmentLimits: IpFragmentLimits = {
  maxFragments: 256,
  maxDatagrams: 1024,
  maxBytes: 16 * 1024 * 1024,
  timeoutMs: { 4: 30_000, 6: 60_000 },
};

const MAX_DATAGRAM = 65_535;

/** The TCP ports, when the first fragment carried them. */
export interface FragmentPorts {
  srcPort: number;
  dstPort: number;
}

export type FragmentOutcome =
  /** differing: a duplicate carried other bytes than the first copy (kept). */
  | { type: 'whole'; version: 4 | 6; packet: Uint8Array; fragments: number; duplicates: number; differing: boolean; time: number | null }
  | { type: 'given-up'; version: 4 | 6; srcAddress: string; dstAddress: string; ports: FragmentPorts | null; fragments: number; reason: string; time: number | null }
  | { type: 'dropped'; version: 4 | 6; reason: string };

interface Piece {
  offset: number;
  data: Uint8Array;
}

interface Datagram {
  key: string;
  version: 4 | 6;
  srcAddress: string;
  dstAddress: string;
  started: number | null;
  pieces: Piece[];
  bytes: number;
  fragments: number;
  duplicates: number;
  differing: boolean;
  /** The first fragment's head (offset 0), once it came. */
  first: IpFragment | null;
  /** Where the datagram ends, once the last fragment came. */
  end: number | null;
  /** Abandoned: later fragments are dropped until the timeout. */
  abandoned: boolean;
}

function portsOf(d: Datagram): FragmentPorts | null {
  const first = d.pieces.find((p) => p.offset === 0);
  if (!first || !d.first || first.data.length < 4 || d.first.nextHeader !== 6) return null;
  return { srcPort: (first.data[0]! << 8) | first.data[1]!, dstPort: (first.data[2]! << 8) | first.data[3]! };
}

/** A datagram rebuilt lately: a copy of one of its fragments that comes after is a late duplicate, not a new datagram. */
interface Done {
  time: number | null;
  pieces: Set<string>;
}

const MAX_DONE = 1024;

export class IpFragmentReassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private readonly done = new Map<string, Done>();
  private held = 0;
  readonly stats = { fragments: 0, reassembled: 0, givenUp: 0, dropped: 0, lateDuplicates: 0 };

  constructor(private readonly report: (outcome: FragmentOutcome) => void, private readonly limits: IpFragmentLimits = defaultIpFragmentLimits) {}

  add(fragment: IpFragment, time: number | null): void {
    this.stats.fragments++;
    this.expire(time);
    const f = fragment;
    if (f.cut) return this.drop(f.version, 'an IP fragment cut short by the capture (snaplen): its datagram cannot be rebuilt');
    const end = f.offset + f.data.length;
    const headLength = f.version === 4 ? f.head.length : f.head.length - 40;
    if (headLength + end > MAX_DATAGRAM) return this.drop(f.version, 'an IP fragment that reaches past 65,535 bytes (RFC 791 §3.1, RFC 8200 §4.5)');
    if (f.more && f.data.length % 8 !== 0) return this.drop(f.version, 'an IP fragment, not the last, whose length is not a multiple of 8 (RFC 8200 §4.5, RFC 791 §3.2)');
    if (f.more && f.data.length === 0) return this.drop(f.version, 'an empty IP fragment');

    let d = this.datagrams.get(f.key);
    if (!d && this.done.get(f.key)?.pieces.has(`${f.offset}+${f.data.length}`)) {
      this.stats.lateDuplicates++; // a copy of a fragment of a datagram already rebuilt (two interfaces, a retransmitting link)
      return;
    }
    if (!d) {
      this.done.delete(f.key); // the Identification is used again: a new datagram
      while (this.datagrams.size >= this.limits.maxDatagrams) this.giveUp(this.oldest()!, `more than ${this.limits.maxDatagrams} datagrams were being reassembled at once, and this was the oldest`, time);
      d = { key: f.key, version: f.version, srcAddress: f.srcAddress, dstAddress: f.dstAddress, started: time, pieces: [], bytes: 0, fragments: 0, duplicates: 0, differing: false, first: null, end: null, abandoned: false };
      this.datagrams.set(f.key, d);
    }
    if (d.abandoned) return this.drop(f.version, 'a fragment of a datagram already given up');
    d.fragments++;
    if (d.fragments > this.limits.maxFragments) return this.giveUp(d, `more than ${this.limits.maxFragments} fragments`, time, true);

    // Where it goes: pieces are kept sorted by offset.
    let i = 0;
    while (i < d.pieces.length && d.pieces[i]!.offset < f.offset) i++;
    const same = d.pieces[i];
    if (same && same.offset === f.offset && same.data.length === f.data.length) {
      d.duplicates++;
      if (!equal(same.data, f.data)) d.differing = true; // the first copy is kept
      return;
    }
    const before = d.pieces[i - 1];
    if ((before && before.offset + before.data.length > f.offset) || (same && same.offset < end)) {
      return this.giveUp(d, 'its fragments overlap (RFC 8200 §4.5 and RFC 5722: the whole datagram is discarded)', time, true);
    }
    if (!f.more) {
      if (d.end !== null && d.end !== end) return this.giveUp(d, 'two fragments say it ends at different places', time, true);
      d.end = end;
    }
    if (d.end !== null && (end > d.end || (d.pieces.at(-1) && d.pieces.at(-1)!.offset + d.pieces.at(-1)!.data.length > d.end))) {
      return this.giveUp(d, 'a fragment lies past the end the last fragment gave', time, true);
    }
    d.pieces.splice(i, 0, { offset: f.offset, data: f.data.slice() });
    d.bytes += f.data.length;
    this.held += f.data.length;
    if (f.offset === 0) d.first = { ...f, head: f.head.slice(), data: new Uint8Array(0) };
    while (this.held > this.limits.maxBytes && this.datagrams.size > 0) {
      const oldest = this.oldest()!;
      this.giveUp(oldest, `the ${this.limits.maxBytes}-byte fragment buffer was full, and this was the oldest datagram`, time);
      if (oldest === d) return;
    }
    this.complete(d, time);
  }

  /** The capture ended: what is not whole never will be. */
  finish(time: number | null): void {
    for (const d of [...this.datagrams.values()]) {
      if (!d.abandoned) this.giveUp(d, 'the capture ended before all its fragments came', time);
      else this.forget(d);
    }
  }

  private complete(d: Datagram, time: number | null): void {
    if (d.end === null || !d.first) return;
    let at = 0;
    for (const p of d.pieces) {
      if (p.offset !== at) return; // a hole
      at += p.data.length;
    }
    if (at !== d.end) return;
    const first = d.first;
    const head = first.head;
    const packet = new Uint8Array(head.length + d.end);
    packet.set(head);
    for (const p of d.pieces) packet.set(p.data, head.length + p.offset);
    const view = new DataView(packet.buffer);
    if (d.version === 4) {
      view.setUint16(2, packet.length); // total length (RFC 791 §3.1)
      view.setUint16(6, 0); // flags and fragment offset: whole now
    } else {
      packet[first.nextHeaderAt] = first.nextHeader;
      view.setUint16(4, packet.length - 40); // payload length
    }
    this.forget(d);
    this.done.set(d.key, { time, pieces: new Set(d.pieces.map((p) => `${p.offset}+${p.data.length}`)) });
    if (this.done.size > MAX_DONE) this.done.delete(this.done.keys().next().value as string);
    this.stats.reassembled++;
    this.report({ type: 'whole', version: d.version, packet, fragments: d.fragments, duplicates: d.duplicates, differing: d.differing, time });
  }

  private giveUp(d: Datagram, reason: string, time: number | null, keepTombstone = false): void {
    this.stats.givenUp++;
    this.report({ type: 'given-up', version: d.version, srcAddress: d.srcAddress, dstAddress: d.dstAddress, ports: portsOf(d), fragments: d.fragments, reason, time });
    if (keepTombstone) {
      // Its later fragments are dropped until the timeout: a datagram is never rebuilt from a mix.
      this.held -= d.bytes;
      d.pieces = [];
      d.bytes = 0;
      d.abandoned = true;
    } else {
      this.forget(d);
    }
  }

  private forget(d: Datagram): void {
    this.held -= d.bytes;
    this.datagrams.delete(d.key);
  }

  private drop(version: 4 | 6, reason: string): void {
    this.stats.dropped++;
    this.report({ type: 'dropped', version, reason });
  }

  private oldest(): Datagram | undefined {
    return this.datagrams.values().next().value;
  }

  /** Datagrams older than their timeout (in capture time) are given up; the map is in order of creation. */
  private expire(time: number | null): void {
    if (time === null) return;
    for (const [key, done] of this.done) {
      if (done.time !== null && time - done.time <= this.limits.timeoutMs[6]) break;
      this.done.delete(key);
    }
    for (const d of this.datagrams.values()) {
      if (d.started === null || time - d.started <= this.limits.timeoutMs[d.version]) {
        if (d.started !== null) break;
        continue;
      }
      if (d.abandoned) this.forget(d);
      else this.giveUp(d, `not whole within ${this.limits.timeoutMs[d.version] / 1000} s of capture time`, time);
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
