/** Every link type the reader knows, IPv4 with options and IPv6 with extension headers, down to the TCP segment. */

import { describe, expect, it } from 'vitest';
import { decodeIpTcp } from '../../../../src/core/capture/packets/ip-tcp.ts';
import { decodeLinkLayer } from '../../../../src/core/capture/packets/link-layer.ts';
import { ipPacket, linkFrame, type SegmentSpec } from '../../../support/capture-synth.ts';

const payload = new TextEncoder().encode('GET / HTTP/1.1\r\n');
const v4: SegmentSpec = { src: '10.1.2.3', dst: '192.168.0.9', srcPort: 51514, dstPort: 8080, seq: 0xfffffff0, ack: 7, flags: { ack: true, psh: true }, payload };
const v6: SegmentSpec = { ...v4, src: '2001:db8::1', dst: '::1' };

function segmentOf(linkType: number, frame: Uint8Array) {
  const net = decodeLinkLayer(linkType, frame);
  if (net.kind !== 'ip') throw new Error(net.reason);
  const tcp = decodeIpTcp(net.version, net.bytes);
  if (tcp.kind !== 'tcp') throw new Error(tcp.kind === 'skip' ? tcp.reason : 'a fragment');
  return tcp.segment;
}

describe('link types', () => {
  const cases: Array<[string, number, Parameters<typeof linkFrame>[2]]> = [
    ['Ethernet', 1, {}], ['Ethernet with an 802.1Q tag', 1, { vlan: 1 }], ['Ethernet with two VLAN tags (QinQ)', 1, { vlan: 2 }],
    ['Linux cooked SLL', 113, {}], ['Linux cooked SLL2', 276, {}], ['BSD null, little-endian family', 0, {}], ['BSD null, big-endian family', 0, { nullBigEndian: true }],
    ['OpenBSD LOOP', 108, {}], ['raw IP', 101, {}],
  ];
  for (const [name, linkType, options] of cases) {
    for (const spec of [v4, v6]) {
      it(`${name} over IPv${spec === v4 ? 4 : 6}`, () => {
        const s = segmentOf(linkType, linkFrame(linkType, ipPacket(spec), options));
        expect([s.srcAddress, s.dstAddress, s.srcPort, s.dstPort, s.seq, s.ack, s.flags]).toEqual([spec.src, spec.dst, 51514, 8080, 0xfffffff0, 7, 0x18]);
        expect(new TextDecoder().decode(s.payload)).toBe('GET / HTTP/1.1\r\n');
        expect(s.payloadLength).toBe(payload.length);
      });
    }
  }
  it('raw IPv4 (228) and raw IPv6 (229)', () => {
    expect(segmentOf(228, ipPacket(v4)).srcAddress).toBe('10.1.2.3');
    expect(segmentOf(229, ipPacket(v6)).srcAddress).toBe('2001:db8::1');
  });
  it('Ethernet padding after a short IP packet is not payload', () => {
    const frame = linkFrame(1, ipPacket({ ...v4, payload: Uint8Array.from([1]) }));
    expect(frame.length).toBe(60);
    expect([...segmentOf(1, frame).payload]).toEqual([1]);
  });
  it('ARP, an unknown link type and short frames are skipped with their reason', () => {
    const arp = linkFrame(1, ipPacket(v4));
    arp[12] = 0x08; arp[13] = 0x06;
    expect(decodeLinkLayer(1, arp)).toEqual({ kind: 'skip', reason: 'EtherType 0x0806 (not IP)' });
    expect(decodeLinkLayer(147, new Uint8Array(40))).toMatchObject({ kind: 'skip', reason: expect.stringContaining('link type 147 is not read') });
    expect(decodeLinkLayer(113, new Uint8Array(10))).toEqual({ kind: 'skip', reason: 'Linux cooked frame too short (10 bytes)' });
  });
});

describe('IP and TCP', () => {
  it('IPv4 header options and TCP options are stepped over', () => {
    const s = segmentOf(101, ipPacket({ ...v4, ipOptions: Uint8Array.from([1, 1, 1, 0]), tcpOptions: Uint8Array.from([2, 4, 5, 180, 1, 1, 4, 2]) }));
    expect(new TextDecoder().decode(s.payload)).toBe('GET / HTTP/1.1\r\n');
  });
  it('IPv6 extension headers (hop-by-hop, destination options, routing, an atomic fragment, AH) are walked', () => {
    const s = segmentOf(101, ipPacket({ ...v6, ipv6Extensions: [{ type: 0, length8: 0 }, { type: 60, length8: 1 }, { type: 43, length8: 0 }, { type: 44, length8: 0 }, { type: 51, length8: 1 }] }));
    expect(new TextDecoder().decode(s.payload)).toBe('GET / HTTP/1.1\r\n');
    expect(s.dstAddress).toBe('::1');
  });
  it('fragments come out as fragments, with their datagram key, offset and data (ip-fragments.ts reassembles them)', () => {
    const p4 = ipPacket(v4);
    p4[6] = 0x20; // more fragments
    p4[5] = 42; // Identification
    expect(decodeIpTcp(4, p4)).toMatchObject({ kind: 'fragment', fragment: { version: 4, key: '4|10.1.2.3|192.168.0.9|6|42', offset: 0, more: true, cut: false, nextHeaderAt: 9 } });
    const p6 = ipPacket({ ...v6, ipv6Extensions: [{ type: 0, length8: 0 }, { type: 44, length8: 0 }] });
    p6[48 + 3] = 1; // M flag
    p6[48 + 2] = 0x01; // offset 256 (32 × 8)
    const f6 = decodeIpTcp(6, p6);
    expect(f6).toMatchObject({ kind: 'fragment', fragment: { version: 6, key: '6|2001:db8::1|::1|0', offset: 256, more: true, nextHeaderAt: 40, nextHeader: 6 } });
    if (f6.kind === 'fragment') expect(f6.fragment.head.length).toBe(48);
  });
  it('a segment cut by the snaplen reports its real payload length', () => {
    const p = ipPacket(v4);
    const s = segmentOf(101, p.subarray(0, p.length - 6));
    expect(s.payload.length).toBe(payload.length - 6);
    expect(s.payloadLength).toBe(payload.length);
  });
  it('UDP and damaged headers are skipped with their reason', () => {
    const udp = ipPacket(v4);
    udp[9] = 17;
    expect(decodeIpTcp(4, udp)).toEqual({ kind: 'skip', reason: 'IP protocol 17 (not TCP)' });
    const badIhl = ipPacket(v4);
    badIhl[0] = 0x42;
    expect(decodeIpTcp(4, badIhl)).toEqual({ kind: 'skip', reason: 'IPv4 header length 8 (less than 20)' });
    const badOffset = ipPacket(v4);
    badOffset[20 + 12] = 0x30;
    expect(decodeIpTcp(4, badOffset)).toEqual({ kind: 'skip', reason: 'TCP data offset 12 (less than 20)' });
    expect(decodeIpTcp(6, ipPacket(v6).subarray(0, 30))).toEqual({ kind: 'skip', reason: 'IPv6 header cut short' });
  });
});
