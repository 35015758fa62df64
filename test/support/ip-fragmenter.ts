/**
 * Splits IP packets into fragments, as a router on a path with a small MTU would (IPv4, RFC 791
 * §3.2) or as the sending host does for IPv6 (RFC 8200 §4.5: a Fragment header after the IPv6
 * header), for the fragment reassembly tests. Written from the RFCs, independently of the reader,
 * and able to shuffle, duplicate and overlap fragments. Also rewrites a whole capture file (pcap,
 * Ethernet or raw IP), fragmenting its TCP packets.
 */

export interface FragmentPiece {
  offset: number;
  length: number;
}

/** Pieces of `length` bytes at most (multiples of 8 except the last) covering `total` bytes. */
export function evenPieces(total: number, size: number): FragmentPiece[] {
  const step = Math.max(8, size - (size % 8));
  const out: FragmentPiece[] = [];
  for (let at = 0; at < total; at += step) out.push({ offset: at, length: Math.min(step, total - at) });
  return out;
}

/**
 * The fragments of one IPv4 packet (header without options beyond the first's copy), or of one
 * IPv6 packet whose next header is TCP (its Fragment header goes straight after the IPv6 header).
 * `pieces` say which byte ranges of the fragmentable part each fragment carries (any order, any
 * overlap); the last piece that reaches the end has more-fragments clear.
 */
export function fragmentPacket(packet: Uint8Array, pieces: FragmentPiece[], id: number): Uint8Array[] {
  const v6 = packet[0]! >> 4 === 6;
  if (v6) {
    const body = packet.subarray(40);
    return pieces.map((p) => {
      const out = new Uint8Array(48 + p.length);
      out.set(packet.subarray(0, 40));
      const v = new DataView(out.buffer);
      v.setUint16(4, 8 + p.length);
      out[6] = 44; // Fragment
      out[40] = packet[6]!; // the fragmentable part's first header
      out[41] = 0;
      v.setUint16(42, p.offset | (p.offset + p.length < body.length ? 1 : 0));
      v.setUint32(44, id >>> 0);
      out.set(body.subarray(p.offset, p.offset + p.length), 48);
      return out;
    });
  }
  const headerLength = (packet[0]! & 0x0f) * 4;
  const body = packet.subarray(headerLength, new DataView(packet.buffer, packet.byteOffset).getUint16(2));
  return pieces.map((p) => {
    const out = new Uint8Array(headerLength + p.length);
    out.set(packet.subarray(0, headerLength));
    const v = new DataView(out.buffer);
    v.setUint16(2, out.length);
    v.setUint16(4, id & 0xffff);
    v.setUint16(6, (p.offset + p.length < body.length ? 0x2000 : 0) | (p.offset / 8));
    v.setUint16(10, 0);
    out.set(body.subarray(p.offset, p.offset + p.length), headerLength);
    return out;
  });
}

interface PcapPacket {
  header: Uint8Array;
  data: Uint8Array;
}

function pcapPackets(file: Uint8Array): { global: Uint8Array; le: boolean; linkType: number; packets: PcapPacket[] } {
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  const le = view.getUint32(0, true) === 0xa1b2c3d4 || view.getUint32(0, true) === 0xa1b23c4d;
  const linkType = view.getUint32(20, le);
  const packets: PcapPacket[] = [];
  for (let at = 24; at + 16 <= file.length;) {
    const caplen = view.getUint32(at + 8, le);
    packets.push({ header: file.subarray(at, at + 16), data: file.subarray(at + 16, at + 16 + caplen) });
    at += 16 + caplen;
  }
  return { global: file.subarray(0, 24), le, linkType, packets };
}

/**
 * A pcap file (Ethernet or raw IP) with every TCP packet whose IP payload is longer than
 * `fragmentSize` cut into fragments (in the order `order` gives them: 'forward', 'reverse', or
 * 'shuffled' with the last fragment first and a duplicate of the first), each fragment a packet
 * with the original's timestamp. Returns the file and how many packets were fragmented.
 */
export function fragmentPcap(file: Uint8Array, fragmentSize: number, order: 'forward' | 'reverse' | 'shuffled' = 'forward'): { file: Uint8Array; fragmented: number; fragments: number } {
  const { global, le, linkType, packets } = pcapPackets(file);
  const linkHeader = linkType === 1 ? 14 : linkType === 101 ? 0 : -1;
  if (linkHeader < 0) throw new Error(`fragmentPcap: link type ${linkType} is not handled`);
  const out: Uint8Array[] = [global];
  let fragmented = 0;
  let fragments = 0;
  let id = 0x4000;
  for (const p of packets) {
    const ip = p.data.subarray(linkHeader);
    const v6 = ip[0]! >> 4 === 6;
    const tcp = v6 ? ip[6] === 6 : ip[9] === 6;
    const bodyLength = v6 ? ip.length - 40 : ip.length - (ip[0]! & 0x0f) * 4;
    if (!tcp || bodyLength <= fragmentSize) {
      out.push(p.header, p.data);
      continue;
    }
    fragmented++;
    let pieces = evenPieces(bodyLength, fragmentSize);
    if (order === 'reverse') pieces = pieces.reverse();
    if (order === 'shuffled') pieces = [pieces.at(-1)!, ...pieces.slice(1, -1).reverse(), pieces[0]!, pieces[0]!];
    for (const frag of fragmentPacket(ip, pieces, id++)) {
      fragments++;
      const record = new Uint8Array(16 + linkHeader + frag.length);
      record.set(p.header);
      const v = new DataView(record.buffer);
      v.setUint32(8, linkHeader + frag.length, le);
      v.setUint32(12, linkHeader + frag.length, le);
      record.set(p.data.subarray(0, linkHeader), 16);
      record.set(frag, 16 + linkHeader);
      out.push(record);
    }
  }
  const all = new Uint8Array(out.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of out) { all.set(part, at); at += part.length; }
  return { file: all, fragmented, fragments };
}
