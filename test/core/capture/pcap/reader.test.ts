/**
 * The pcap and pcapng readers against files built byte by byte from the formats' drafts
 * (test/support/capture-synth.ts): both byte orders, both pcap resolutions, if_tsresol, EPB, SPB,
 * several sections and interfaces, unknown blocks, chunking at every size, truncation, damage.
 */

import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../../../src/core/capture/pcap/reader.ts';
import type { CapturedPacket } from '../../../../src/core/capture/pcap/types.ts';
import { pcapFile, PcapngWriter, type PacketRecord } from '../../../support/capture-synth.ts';

function read(file: Uint8Array, chunk = file.length || 1, limits?: { maxRecordLength: number }) {
  const packets: CapturedPacket[] = [];
  const reader = new CaptureReader((p) => packets.push({ ...p, data: p.data.slice() }), limits);
  for (let i = 0; i < file.length; i += chunk) reader.push(file.subarray(i, i + chunk));
  return { packets, summary: reader.end() };
}

const t0 = 1_764_340_000_123.456; // ms with microseconds
const records: PacketRecord[] = [
  { time: t0, data: Uint8Array.from([1, 2, 3]) },
  { time: t0 + 1.001, data: new Uint8Array(0) },
  { time: t0 + 2000.5, data: Uint8Array.from({ length: 1500 }, (_v, i) => i & 0xff), originalLength: 9000 },
];

describe('pcap', () => {
  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian ${nano ? 'nanosecond' : 'microsecond'} files, in chunks of any size`, () => {
        const file = pcapFile(1, records, { bigEndian, nano });
        for (const chunk of [1, 3, 17, 4096, file.length]) {
          const { packets, summary } = read(file, chunk);
          expect(summary.error).toBeNull();
          expect(summary.format).toBe('pcap');
          expect(packets.map((p) => [...p.data])).toEqual(records.map((r) => [...r.data]));
          packets.forEach((p, i) => expect(p.time).toBeCloseTo(records[i]!.time, 3));
          expect(packets.map((p) => p.number)).toEqual([1, 2, 3]);
          expect(packets[2]!.originalLength).toBe(9000);
          expect(packets.every((p) => p.linkType === 1)).toBe(true);
        }
      });
    }
  }

  it('a file cut inside a packet gives the packets before it and says where it ends', () => {
    const file = pcapFile(1, records);
    const { packets, summary } = read(file.subarray(0, file.length - 100));
    expect(packets).toHaveLength(2);
    expect(summary.error).toMatch(/^truncated: the file ends inside packet 3 \(1416 bytes of it were there\)/);
  });

  it('a record claiming more than the limit stops the reading with a clear message', () => {
    const file = pcapFile(1, records);
    new DataView(file.buffer).setUint32(24 + 16 + 3 + 8, 0x7fffffff, true); // packet 2's captured length
    const { packets, summary } = read(file);
    expect(packets).toHaveLength(1);
    expect(summary.error).toMatch(/packet 2 claims 2147483647 captured bytes, more than the 16777216-byte limit: the file is damaged \(at byte 43\)/);
  });
});

describe('pcapng', () => {
  for (const le of [true, false]) {
    it(`reads ${le ? 'little' : 'big'}-endian sections with if_tsresol (micro, nano, 2^-n), EPB and SPB, in chunks of any size`, () => {
      const w = new PcapngWriter(le).section()
        .iface(1) // default: microseconds
        .iface(113, { tsresol: 9 }) // nanoseconds
        .iface(101, { tsresol: 0x80 | 20 }) // 2^-20 s
        .epb({ ...records[0]!, interfaceId: 0 }, 1e6)
        .raw(0x00000bad, new Uint8Array(8)) // a custom block: skipped quietly
        .raw(0x12345678, new Uint8Array(4)) // an unknown block: skipped with a note
        .epb({ ...records[2]!, interfaceId: 1 }, 1e9)
        .epb({ time: 1_000_000, data: Uint8Array.from([9]), interfaceId: 2 }, 2 ** 20)
        .spb(Uint8Array.from([7, 7, 7, 7, 7]));
      const file = w.bytes();
      for (const chunk of [1, 5, 64, file.length]) {
        const { packets, summary } = read(file, chunk);
        expect(summary.error).toBeNull();
        expect(summary.format).toBe('pcapng');
        expect(packets.map((p) => p.linkType)).toEqual([1, 113, 101, 1]);
        expect(packets.map((p) => p.interfaceId)).toEqual([0, 1, 2, 0]);
        expect(packets[0]!.time).toBeCloseTo(records[0]!.time, 3);
        expect(packets[1]!.time).toBeCloseTo(records[2]!.time, 3);
        expect(packets[1]!.originalLength).toBe(9000);
        expect(packets[2]!.time).toBeCloseTo(1_000_000, 3);
        expect(packets[3]!.time).toBeNull();
        expect([...packets[3]!.data]).toEqual([7, 7, 7, 7, 7]);
        expect(summary.notes.join('\n')).toContain('blocks of type 0x12345678 are not read and were skipped');
        expect(summary.notes.join('\n')).not.toContain('0x00000bad');
      }
    });
  }

  it('reads several sections, each with its own byte order and interfaces', () => {
    const a = new PcapngWriter(true).section().iface(1).epb({ time: 1000, data: Uint8Array.from([1]) }).bytes();
    const b = new PcapngWriter(false).section().iface(276).iface(0).epb({ time: 2000, data: Uint8Array.from([2]), interfaceId: 1 }).bytes();
    const file = new Uint8Array([...a, ...b]);
    const { packets, summary } = read(file, 7);
    expect(summary.error).toBeNull();
    expect(packets.map((p) => [p.linkType, p.data[0], p.time])).toEqual([[1, 1, 1000], [0, 2, 2000]]);
    expect(summary.notes).toContain('the file has several sections (each with its own interfaces)');
  });

  it('a packet of an interface no IDB describes is skipped with a note, the rest read', () => {
    const file = new PcapngWriter().section().iface(1).epb({ time: 1, data: Uint8Array.from([1]), interfaceId: 3 }).epb({ time: 2, data: Uint8Array.from([2]) }).bytes();
    const { packets, summary } = read(file);
    expect(packets.map((p) => p.data[0])).toEqual([2]);
    expect(summary.notes.join()).toContain('interface 3');
  });

  it('malformed blocks: a wrong trailer, a length not a multiple of 4, a length over the limit, no SHB first', () => {
    const good = new PcapngWriter().section().iface(1).epb({ time: 1, data: Uint8Array.from([1, 2, 3, 4]) }).epb({ time: 2, data: Uint8Array.from([5]) }).bytes();
    const shbLength = 28;
    const idbLength = 20;
    const secondEpb = shbLength + idbLength + 36;
    const trailer = good.slice();
    new DataView(trailer.buffer).setUint32(trailer.length - 4, 99, true);
    let r = read(trailer);
    expect(r.packets).toHaveLength(1);
    expect(r.summary.error).toBe(`block 4 (type 0x6) says 36 bytes at its start and 99 at its end (at byte ${secondEpb})`);
    const odd = good.slice();
    new DataView(odd.buffer).setUint32(secondEpb + 4, 37, true);
    r = read(odd);
    expect(r.packets).toHaveLength(1);
    expect(r.summary.error).toMatch(/block 4 \(type 0x6\) has length 37: a block length is a multiple of 4 and at least 12/);
    r = read(good, good.length, { maxRecordLength: 32 });
    expect(r.packets).toHaveLength(0);
    expect(r.summary.error).toMatch(/block 3 \(type 0x6\) claims 36 bytes, more than the 32-byte limit: the file is damaged \(at byte 48\)/);
    r = read(good.subarray(shbLength));
    expect(r.summary.error).toMatch(/^not a pcap or pcapng file: it starts with 01 00 00 00/);
  });

  it('a file cut inside a block: every packet before it, and where it ended', () => {
    const file = new PcapngWriter().section().iface(1).epb({ time: 1, data: Uint8Array.from([1]) }).epb({ time: 2, data: new Uint8Array(100) }).bytes();
    const { packets, summary } = read(file.subarray(0, file.length - 10));
    expect(packets).toHaveLength(1);
    expect(summary.error).toMatch(/^truncated: the file ends inside a block \(122 bytes of it were there, after packet 1\)/);
  });

  it('empty, too short, and not a capture at all', () => {
    expect(read(new Uint8Array(0)).summary.error).toBe('the file is empty');
    expect(read(Uint8Array.from([0xa1, 0xb2])).summary.error).toBe('the file is too short to be a capture (2 bytes)');
    expect(read(new TextEncoder().encode('{"json": true}')).summary.error).toMatch(/^not a pcap or pcapng file: it starts with 7b 22 6a 73/);
  });
});
