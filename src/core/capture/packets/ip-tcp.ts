/**
 * From an IP packet to the TCP segment inside it.
 *
 * IPv4 (RFC 791): the header length (IHL) covers options; the total length trims link-layer
 * padding. A fragment (MF set or a non-zero offset, RFC 791 §3.2) comes out as 'fragment', for
 * ip-fragments.ts to put together with the others of its datagram.
 * IPv6 (RFC 8200 §4): the extension header chain is walked (Hop-by-Hop 0, Routing 43, Destination
 * Options 60, Authentication 51, Fragment 44) up to TCP (6); a packet with a Fragment header that
 * is a real fragment (§4.5) comes out as 'fragment' too; an atomic fragment (offset 0, M clear) is
 * whole and read on.
 * TCP (RFC 9293 §3.1): ports, sequence and acknowledgment numbers, data offset, flags, payload.
 * When the capture cut the packet (snaplen), payloadLength says how long the payload really was.
 */

export interface TcpSegment {
  ipVersion: 4 | 6;
  srcAddress: string;
  dstAddress: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The payload bytes captured. */
  payload: Uint8Array;
  /** The payload's real length (from the IP lengths): more than payload.length when the capture cut it. */
  payloadLength: number;
  /** Set when the IP datagram came in fragments and was reassembled (ip-fragments.ts). */
  ipFragments?: { count: number; duplicates: number; differing: boolean };
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export type SegmentDecode = { kind: 'tcp'; segment: TcpSegment } | { kind: 'fragment'; fragment: IpFragment } | { kind: 'skip'; reason: string };

/** One fragment of an IP datagram, with what is needed to rebuild the whole packet (ip-fragments.ts). */
export interface IpFragment {
  version: 4 | 6;
  /** The datagram it belongs to: IPv4 source, destination, protocol and Identification (RFC 791 §3.2); IPv6 source, destination and Identification (RFC 8200 §4.5). */
  key: string;
  srcAddress: string;
  dstAddress: string;
  /** Where its data goes in the datagram's fragmentable part, in bytes (the offset field × 8). */
  offset: number;
  /** MF (IPv4) or M (IPv6): more fragments follow. */
  more: boolean;
  /** The fragment's data (after the IPv4 header, or after the IPv6 Fragment header). */
  data: Uint8Array;
  /** The capture cut the packet (snaplen): data is shorter than the IP lengths say. */
  cut: boolean;
  /** The packet's bytes before its data: the IPv4 header, or the IPv6 header and the extension headers before the Fragment header. */
  head: Uint8Array;
  /** IPv6: where in head the Next Header field that points at the Fragment header is; IPv4: 9 (the protocol field, unchanged). */
  nextHeaderAt: number;
  /** The protocol of the fragmentable part (IPv4 protocol; IPv6 the Fragment header's Next Header). */
  nextHeader: number;
}

function skip(reason: string): SegmentDecode {
  return { kind: 'skip', reason };
}

export function formatIpv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero groups as "::". */
export function formatIpv6(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + i * 2]! << 8) | bytes[at + i * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function decodeIpTcp(version: 4 | 6, packet: Uint8Array): SegmentDecode {
  return version === 4 ? decodeIpv4(packet) : decodeIpv6(packet);
}

function decodeIpv4(p: Uint8Array): SegmentDecode {
  if (p.length < 20) return skip('IPv4 header cut short');
  if (p[0]! >> 4 !== 4) return skip(`IPv4 packet with version ${p[0]! >> 4}`);
  const headerLength = (p[0]! & 0x0f) * 4;
  if (headerLength < 20) return skip(`IPv4 header length ${headerLength} (less than 20)`);
  const view = new DataView(p.buffer, p.byteOffset, p.length);
  const totalLength = view.getUint16(2);
  if (totalLength < headerLength) return skip(`IPv4 total length ${totalLength} shorter than its header`);
  const flagsFragment = view.getUint16(6);
  const moreFragments = (flagsFragment & 0x2000) !== 0;
  const fragmentOffset = flagsFragment & 0x1fff;
  if (p[9] !== 6) return skip(`IP protocol ${p[9]} (not TCP)`);
  if (p.length < headerLength) return skip('IPv4 header cut short');
  // Link layers pad short frames (Ethernet's 60-byte minimum): the total length says where IP ends.
  const end = Math.min(p.length, totalLength);
  if (moreFragments || fragmentOffset !== 0) {
    return {
      kind: 'fragment',
      fragment: {
        version: 4, key: `4|${formatIpv4(p, 12)}|${formatIpv4(p, 16)}|${p[9]}|${view.getUint16(4)}`, srcAddress: formatIpv4(p, 12), dstAddress: formatIpv4(p, 16),
        offset: fragmentOffset * 8, more: moreFragments, data: p.subarray(headerLength, end), cut: end < totalLength,
        head: p.subarray(0, headerLength), nextHeaderAt: 9, nextHeader: 6,
      },
    };
  }
  return decodeTcp(4, formatIpv4(p, 12), formatIpv4(p, 16), p.subarray(headerLength, end), totalLength - headerLength);
}

const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AUTH = 51;
const IPV6_NO_NEXT = 59;
const IPV6_DEST_OPTIONS = 60;
const IPV6_MOBILITY = 135;
const IPV6_EXTENSIONS = new Set([IPV6_HOP_BY_HOP, IPV6_ROUTING, IPV6_FRAGMENT, IPV6_AUTH, IPV6_DEST_OPTIONS, IPV6_MOBILITY]);

function decodeIpv6(p: Uint8Array): SegmentDecode {
  if (p.length < 40) return skip('IPv6 header cut short');
  if (p[0]! >> 4 !== 6) return skip(`IPv6 packet with version ${p[0]! >> 4}`);
  const view = new DataView(p.buffer, p.byteOffset, p.length);
  const payloadLength = view.getUint16(4);
  // A zero payload length means a jumbogram (RFC 2675): take what was captured.
  const claimedEnd = payloadLength === 0 ? p.length : 40 + payloadLength;
  const end = Math.min(p.length, claimedEnd);
  let next = p[6]!;
  let at = 40;
  /** Where the Next Header field of the header before `at` is. */
  let nextAt = 6;
  for (let hops = 0; next !== 6; hops++) {
    if (hops > 16) return skip('IPv6 extension header chain longer than 16 headers');
    if (next === IPV6_NO_NEXT) return skip('IPv6 packet with no next header');
    if (at + 8 > end) return skip('IPv6 extension header cut short');
    if (next === IPV6_FRAGMENT) {
      const offsetFlags = view.getUint16(at + 2);
      if ((offsetFlags & 0xfff8) !== 0 || (offsetFlags & 1) !== 0) {
        const inner = p[at]!;
        if (inner !== 6 && !IPV6_EXTENSIONS.has(inner)) return skip(`IP protocol ${inner} (not TCP)`);
        const src = formatIpv6(p, 8), dst = formatIpv6(p, 24);
        return {
          kind: 'fragment',
          fragment: {
            version: 6, key: `6|${src}|${dst}|${view.getUint32(at + 4)}`, srcAddress: src, dstAddress: dst,
            offset: offsetFlags & 0xfff8, more: (offsetFlags & 1) !== 0, data: p.subarray(at + 8, end), cut: end < claimedEnd,
            head: p.subarray(0, at), nextHeaderAt: nextAt, nextHeader: inner,
          },
        };
      }
      next = p[at]!;
      nextAt = at;
      at += 8; // an atomic fragment (offset 0, no more): the packet is whole (RFC 8200 §4.5)
    } else if (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_DEST_OPTIONS || next === IPV6_MOBILITY) {
      const length = (p[at + 1]! + 1) * 8;
      next = p[at]!;
      nextAt = at;
      at += length;
    } else if (next === IPV6_AUTH) {
      const length = (p[at + 1]! + 2) * 4;
      next = p[at]!;
      nextAt = at;
      at += length;
    } else {
      return skip(`IP protocol ${next} (not TCP)`);
    }
  }
  if (at > end) return skip('IPv6 extension header cut short');
  return decodeTcp(6, formatIpv6(p, 8), formatIpv6(p, 24), p.subarray(at, end), claimedEnd - at);
}

function decodeTcp(ipVersion: 4 | 6, srcAddress: string, dstAddress: string, t: Uint8Array, claimedLength: number): SegmentDecode {
  if (t.length < 20) return skip('TCP header cut short');
  const view = new DataView(t.buffer, t.byteOffset, t.length);
  const dataOffset = (t[12]! >> 4) * 4;
  if (dataOffset < 20) return skip(`TCP data offset ${dataOffset} (less than 20)`);
  if (t.length < dataOffset) return skip('TCP options cut short');
  return {
    kind: 'tcp',
    segment: {
      ipVersion, srcAddress, dstAddress,
      srcPort: view.getUint16(0),
      dstPort: view.getUint16(2),
      seq: view.getUint32(4),
      ack: view.getUint32(8),
      flags: t[13]!,
      payload: t.subarray(dataOffset),
      payloadLength: Math.max(t.length, claimedLength) - dataOffset,
    },
  };
}
