/** IP fragment reassembly: IPv4 and IPv6 fragments in any order, duplicates, overlaps, timeouts and limits. */

import { describe, expect, it } from 'vitest';
import { decodeIpTcp, type IpFragment, type TcpSegment } from '../../../../src/core/capture/packets/ip-tcp.ts';
import { IpFragmentReassembler, defaultIpFragmentLimits, type FragmentOutcome, type IpFragmentLimits } from '../../../../src/core/capture/packets/ip-fragments.ts';
import { CaptureDissector } from '../../../../src/core/capture/capture-dissector.ts';
import { recordingCollector, replayCaptured } from '../../../../src/core/capture/pcap/to-recording.ts';
import type { TraceEvent } from '../../../../src/core/trace.ts';
import { ipPacket, pcapFile, sampleExchanges, tcpConversation, type SegmentSpec } from '../../../support/capture-synth.ts';
import { evenPieces, fragmentPacket, fragmentPcap } from '../../../support/ip-fragmenter.ts';
import { prng } from '../../../support/prng.ts';

const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff);
const v4: SegmentSpec = { src: '10.1.2.3', dst: '192.168.0.9', srcPort: 51514, dstPort: 8080, seq: 1234, ack: 7, flags: { ack: true, psh: true }, payload };
const v6: SegmentSpec = { ...v4, src: '2001:db8::1', dst: '::1' };

function fragmentOf(bytes: Uint8Array): IpFragment {
  const d = decodeIpTcp(bytes[0]! >> 4 === 6 ? 6 : 4, bytes);
  if (d.kind !== 'fragment') throw new Error(`not a fragment: ${JSON.stringify(d)}`);
  return d.fragment;
}

function run(fragments: Uint8Array[], times: number[] = [], limits: IpFragmentLimits = defaultIpFragmentLimits): FragmentOutcome[] {
  const outcomes: FragmentOutcome[] = [];
  const r = new IpFragmentReassembler((o) => outcomes.push(o), limits);
  fragments.forEach((f, i) => r.add(fragmentOf(f), times[i] ?? 1000));
  r.finish(times.at(-1) ?? 1000);
  return outcomes;
}

function segmentOf(outcome: FragmentOutcome | undefined): TcpSegment {
  if (outcome?.type !== 'whole') throw new Error(`not whole: ${JSON.stringify(outcome)}`);
  const d = decodeIpTcp(outcome.version, outcome.packet);
  if (d.kind !== 'tcp') throw new Error(JSON.stringify(d));
  return d.segment;
}

describe('IP fragment reassembly', () => {
  for (const spec of [v4, v6]) {
    const version = spec === v4 ? 4 : 6;
    it(`IPv${version}: fragments in reverse order give the TCP segment back whole`, () => {
      const packet = ipPacket(spec);
      const pieces = evenPieces(packet.length - (version === 4 ? 20 : 40), 512).reverse();
      const outcomes = run(fragmentPacket(packet, pieces, 77));
      expect(outcomes.map((o) => o.type)).toEqual(['whole']);
      const s = segmentOf(outcomes[0]);
      expect([s.srcAddress, s.dstAddress, s.srcPort, s.dstPort, s.seq, s.ipVersion]).toEqual([spec.src, spec.dst, 51514, 8080, 1234, version]);
      expect(Buffer.from(s.payload).equals(Buffer.from(payload))).toBe(true);
      expect(s.payloadLength).toBe(payload.length);
      expect(outcomes[0]).toMatchObject({ fragments: pieces.length, duplicates: 0, differing: false });
    });
  }

  it('an IPv6 fragment header after a destination options header: the rebuilt packet keeps it, its Next Header set to TCP', () => {
    const packet = ipPacket({ ...v6, ipv6Extensions: [{ type: 60, length8: 0 }] });
    // Move the destination options into the unfragmentable part by hand: [IPv6 | DestOpt(next=44) | Frag | TCP...].
    const tcp = packet.subarray(48);
    const frags = evenPieces(tcp.length, 1024).map((p) => {
      const out = new Uint8Array(56 + p.length);
      out.set(packet.subarray(0, 48));
      const v = new DataView(out.buffer);
      v.setUint16(4, 16 + p.length);
      out[40] = 44;
      out[48] = 6;
      v.setUint16(50, p.offset | (p.offset + p.length < tcp.length ? 1 : 0));
      v.setUint32(52, 9);
      out.set(tcp.subarray(p.offset, p.offset + p.length), 56);
      return out;
    });
    const outcomes = run(frags);
    const s = segmentOf(outcomes[0]);
    expect(Buffer.from(s.payload).equals(Buffer.from(payload))).toBe(true);
    expect((outcomes[0] as { packet: Uint8Array }).packet[40]).toBe(6);
  });

  it('an exact duplicate is dropped (first copy kept, a differing copy said); two datagrams interleaved are kept apart by their Identification', () => {
    const packet = ipPacket(v4);
    const a = fragmentPacket(packet, evenPieces(packet.length - 20, 1024), 1);
    const other = ipPacket({ ...v4, seq: 99_999, payload: new Uint8Array(2000).fill(0x55) });
    const b = fragmentPacket(other, evenPieces(other.length - 20, 1024), 2);
    const changed = a[1]!.slice();
    changed[100] = changed[100]! ^ 0xff;
    const outcomes = run([a[0]!, b[0]!, a[1]!, changed, b[1]!, a[2]!, a[0]!]);
    expect(outcomes.map((o) => o.type)).toEqual(['whole', 'whole']);
    expect(segmentOf(outcomes[0]).seq).toBe(99_999);
    const first = segmentOf(outcomes[1]);
    expect(Buffer.from(first.payload).equals(Buffer.from(payload))).toBe(true);
    expect(outcomes[1]).toMatchObject({ fragments: 4, duplicates: 1, differing: true });
    // A late copy after the datagram was whole is a duplicate too; another fragment with the same Identification is a new datagram.
    expect(run([...a, a[0]!]).map((o) => o.type)).toEqual(['whole']);
    expect(run([...a, fragmentPacket(packet, [{ offset: 0, length: 512 }], 1)[0]!]).map((o) => o.type)).toEqual(['whole', 'given-up']);
  });

  it('overlapping fragments abandon the whole datagram (RFC 8200 §4.5, RFC 5722), with its ports, and its later fragments are dropped', () => {
    const packet = ipPacket(v4);
    const body = packet.length - 20;
    const frags = fragmentPacket(packet, [{ offset: 0, length: 1024 }, { offset: 1016, length: 1024 }, { offset: 2040, length: body - 2040 }], 5);
    const outcomes = run(frags);
    expect(outcomes[0]).toMatchObject({ type: 'given-up', ports: { srcPort: 51514, dstPort: 8080 }, reason: expect.stringContaining('overlap') });
    expect(outcomes[1]).toMatchObject({ type: 'dropped', reason: expect.stringContaining('already given up') });
    expect(outcomes.some((o) => o.type === 'whole')).toBe(false);
    // Two last fragments that disagree on the end.
    const padded = new Uint8Array(packet.length + 4096);
    padded.set(packet);
    const ends = fragmentPacket(packet, [{ offset: 0, length: 1024 }, { offset: 1024, length: body - 1024 }], 6);
    const further = lastOf(fragmentPacket(padded, [{ offset: 4096, length: 16 }], 6)[0]!);
    expect(run([ends[0]!, further, ends[1]!])[0]).toMatchObject({ type: 'given-up', reason: 'two fragments say it ends at different places' });
  });

  it('a datagram not whole within its timeout (capture time) is given up; fragments cut by snaplen, too long or misaligned are dropped', () => {
    const packet = ipPacket(v4);
    const [first, second] = fragmentPacket(packet, evenPieces(packet.length - 20, 2048), 3);
    const later = ipPacket({ ...v4, payload: new Uint8Array(100) });
    const [x] = fragmentPacket(later, [{ offset: 0, length: 64 }], 4);
    const outcomes = run([first!, x!, second!], [0, 31_000, 31_001]);
    expect(outcomes[0]).toMatchObject({ type: 'given-up', reason: 'not whole within 30 s of capture time' });
    const cut = fragmentOf(first!);
    const r: FragmentOutcome[] = [];
    const re = new IpFragmentReassembler((o) => r.push(o));
    re.add({ ...cut, cut: true }, 0);
    re.add({ ...cut, offset: 65_528 }, 0);
    re.add({ ...cut, data: cut.data.subarray(0, 13) }, 0);
    expect(r.map((o) => (o.type === 'dropped' ? o.reason : o.type))).toEqual([
      expect.stringContaining('snaplen'), expect.stringContaining('65,535'), expect.stringContaining('multiple of 8'),
    ]);
    expect(re.stats).toMatchObject({ fragments: 3, dropped: 3 });
  });

  it('bounded: fragments per datagram, datagrams at once and bytes held', () => {
    const packet = ipPacket(v4);
    const tiny = fragmentPacket(packet, evenPieces(packet.length - 20, 8), 8);
    const limits = { ...defaultIpFragmentLimits, maxFragments: 100 };
    expect(run(tiny, [], limits).map((o) => o.type)).toContain('given-up');
    expect(run(tiny, [], limits).find((o) => o.type === 'given-up')).toMatchObject({ reason: 'more than 100 fragments' });
    // Many datagrams that never complete: only maxDatagrams are held.
    const starts = Array.from({ length: 50 }, (_, i) => fragmentPacket(packet, [{ offset: 0, length: 1024 }], 100 + i)[0]!);
    const few = run(starts, [], { ...defaultIpFragmentLimits, maxDatagrams: 10 });
    expect(few.filter((o) => o.type === 'given-up' && o.reason.includes('more than 10 datagrams'))).toHaveLength(40);
    const bytes = run(starts, [], { ...defaultIpFragmentLimits, maxBytes: 4096 });
    expect(bytes.filter((o) => o.type === 'given-up' && o.reason.includes('4096-byte fragment buffer'))).toHaveLength(46);
  });
});

describe('hostile fragments', () => {
  it('random offsets, lengths, flags and Identifications over two protocols: never a throw, memory within its bounds, every outcome reported', () => {
    const next = prng(1313);
    const limits = { ...defaultIpFragmentLimits, maxDatagrams: 64, maxBytes: 32 * 1024 };
    const outcomes: FragmentOutcome[] = [];
    const r = new IpFragmentReassembler((o) => outcomes.push(o), limits);
    const base4 = ipPacket({ ...v4, payload: new Uint8Array(4000) });
    const base6 = ipPacket({ ...v6, payload: new Uint8Array(4000) });
    let time = 0;
    let maxHeld = 0;
    let maxDatagrams = 0;
    for (let i = 0; i < 20_000; i++) {
      const six = next() < 0.5;
      const base = six ? base6 : base4;
      const body = base.length - (six ? 40 : 20);
      const offset = Math.floor(next() * (body / 8)) * 8;
      const length = 8 * (1 + Math.floor(next() * 64)) + (next() < 0.1 ? 3 : 0);
      const [frag] = fragmentPacket(base, [{ offset, length: Math.min(length, body - offset) || 8 }], Math.floor(next() * 400));
      const f = fragmentOf(frag!);
      if (next() < 0.2) f.more = !f.more;
      time += next() * 50;
      r.add(f, time); // a throw fails the test
      maxHeld = Math.max(maxHeld, (r as unknown as { held: number }).held);
      maxDatagrams = Math.max(maxDatagrams, (r as unknown as { datagrams: Map<string, unknown> }).datagrams.size);
    }
    expect(maxHeld).toBeLessThanOrEqual(limits.maxBytes);
    expect(maxHeld).toBeGreaterThan(limits.maxBytes / 2); // the bound was reached, not just respected by luck
    expect(maxDatagrams).toBe(limits.maxDatagrams);
    r.finish(time);
    expect((r as unknown as { held: number }).held).toBe(0);
    const { fragments, reassembled, givenUp, dropped, lateDuplicates } = r.stats;
    expect(fragments).toBe(20_000);
    expect(outcomes.filter((o) => o.type === 'whole')).toHaveLength(reassembled);
    expect(outcomes.filter((o) => o.type === 'given-up')).toHaveLength(givenUp);
    expect(reassembled + givenUp + dropped + lateDuplicates).toBeGreaterThan(0);
    // Whatever came out whole is a packet ip-tcp.ts reads (or says why not), never a throw.
    for (const o of outcomes) if (o.type === 'whole') expect(['tcp', 'skip']).toContain(decodeIpTcp(o.version, o.packet).kind);
  });

  it('a fragmented real-shaped capture with random bytes flipped opens without a throw', () => {
    const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 80 }, exchanges: sampleExchanges(), mss: 1400 });
    const { file } = fragmentPcap(pcapFile(101, packets), 96, 'shuffled');
    const next = prng(77);
    for (let round = 0; round < 50; round++) {
      const flipped = file.slice();
      for (let j = 0; j < 6; j++) flipped[24 + Math.floor(next() * (flipped.length - 24))] = Math.floor(next() * 256);
      expect(() => open(flipped)).not.toThrow();
    }
  });
});

function lastOf(fragment: Uint8Array): Uint8Array {
  const out = fragment.slice();
  out[6]! &= ~0x20;
  return out;
}

type Shown = Array<[string, string, string]>;

function open(file: Uint8Array): { shown: Shown; notes: string[]; events: TraceEvent[]; summary: ReturnType<CaptureDissector['end']> } {
  const collector = recordingCollector();
  const dissector = new CaptureDissector(collector.handle);
  dissector.push(file);
  const summary = dissector.end();
  const events = collector.captured.flatMap((c) => [...replayCaptured(c)]);
  const shown = events.flatMap((e): Shown => (e.type === 'message' ? [[e.direction, String(e.opcode), e.text ?? Buffer.from(e.data ?? []).toString('hex')]] : []));
  return { shown, notes: events.flatMap((e) => (e.type === 'note' ? [e.text] : [])), events, summary };
}

describe('a fragmented capture opens as the whole one', () => {
  for (const ipv6 of [false, true]) {
    for (const order of ['forward', 'reverse', 'shuffled'] as const) {
      it(`IPv${ipv6 ? 6 : 4}, fragments ${order}`, () => {
        const packets = tcpConversation({ client: { address: ipv6 ? 'fd00::1' : '10.0.0.1', port: 40000 }, server: { address: ipv6 ? 'fd00::2' : '10.0.0.2', port: 80 }, exchanges: sampleExchanges(), mss: 1400 });
        const whole = pcapFile(101, packets);
        const { file, fragmented, fragments } = fragmentPcap(whole, 96, order);
        expect(fragmented).toBeGreaterThanOrEqual(4);
        const a = open(whole);
        const b = open(file);
        expect(a.shown.length).toBe(4);
        expect(b.shown).toEqual(a.shown);
        expect(b.events.filter((e) => e.type === 'frame').length).toBe(a.events.filter((e) => e.type === 'frame').length);
        expect(b.events.filter((e) => e.type === 'violation')).toEqual([]);
        expect(b.summary.ipFragments).toEqual({ fragments, reassembled: fragmented, givenUp: 0, dropped: 0, lateDuplicates: order === 'shuffled' ? fragmented : 0 });
        expect(b.summary.tcp.gapBytes).toBe(0);
        expect(b.notes.some((n) => n.startsWith('IP fragments reassembled: a ') && n.includes(`IPv${ipv6 ? 6 : 4} fragments`))).toBe(true);
        expect(b.notes).toContain(`IP fragments: ${fragmented} IP datagrams of this connection came in ${fragments - (order === 'shuffled' ? fragmented : 0)} fragments in all, each reassembled before TCP read it`);
        expect(a.notes.some((n) => n.includes('IP fragments'))).toBe(false);
      });
    }
  }

  it('a datagram whose fragments overlap is given up and said on its connection; TCP sees the hole', () => {
    const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 80 }, exchanges: sampleExchanges(), mss: 1400 });
    // The client's 3000-byte binary frame goes in 3 segments: overlap the second one's fragments.
    const index = packets.findIndex((p, i) => i > 4 && p.data.length > 1000);
    const ip = packets[index]!.data;
    const body = ip.length - 20;
    const frags = fragmentPacket(ip, [{ offset: 0, length: 800 }, { offset: 792, length: body - 792 }], 0x99);
    const edited = [...packets.slice(0, index), ...frags.map((data) => ({ time: packets[index]!.time, data })), ...packets.slice(index + 1)];
    const b = open(pcapFile(101, edited));
    expect(b.summary.ipFragments.givenUp).toBe(1);
    expect(b.notes.some((n) => /^an IPv4 datagram of this connection that came in 2 fragments was given up: its fragments overlap/.test(n))).toBe(true);
    expect(b.summary.tcp.gapBytes).toBe(body - 20);
  });
});
