/**
 * The whole import path on hostile files: random bytes behind each magic number, every truncation
 * of a realistic capture, random byte flips. Nothing throws, every run ends with a summary (and,
 * for damage, one line saying what), and a truncated file keeps every packet before the cut.
 */

import { describe, expect, it } from 'vitest';
import { CaptureDissector } from '../../../src/core/capture/capture-dissector.ts';
import { recordingCollector, replayCaptured } from '../../../src/core/capture/pcap/to-recording.ts';
import { handshakeBytes, linkFrame, PcapngWriter, pcapFile, tcpConversation, wsFrame } from '../../support/capture-synth.ts';
import { prng } from '../../support/prng.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function realistic(): { pcap: Uint8Array; pcapng: Uint8Array; packets: number } {
  const hs = handshakeBytes();
  const packets = tcpConversation({
    client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 8080 }, mss: 700,
    exchanges: [
      { from: 'c', bytes: hs.request }, { from: 's', bytes: hs.response },
      ...Array.from({ length: 12 }, (_v, i) => ({ from: (i % 2 ? 's' : 'c') as 'c' | 's', bytes: wsFrame(i % 3 ? 1 : 2, enc(`message ${i} `.repeat(i * 20 + 1)), { masked: i % 2 === 0 }) })),
      { from: 'c', bytes: wsFrame(8, Uint8Array.from([3, 232]), { masked: true }) }, { from: 's', bytes: wsFrame(8, Uint8Array.from([3, 232]), { masked: false }) },
    ],
  });
  const w = new PcapngWriter().section().iface(1);
  for (const p of packets) w.epb({ ...p, data: linkFrame(1, p.data) });
  return { pcap: pcapFile(1, packets.map((p) => ({ ...p, data: linkFrame(1, p.data) }))), pcapng: w.bytes(), packets: packets.length };
}

/** Opens the bytes in random chunk sizes and replays every conversation found; returns the summary. */
function openAll(bytes: Uint8Array, next: () => number) {
  const collector = recordingCollector();
  const dissector = new CaptureDissector(collector.handle);
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(next() * 3000);
    dissector.push(bytes.subarray(i, i + n));
    i += n;
  }
  const summary = dissector.end();
  let events = 0;
  for (const c of collector.captured) for (const _e of replayCaptured(c)) events++;
  return { summary, events, conversations: collector.captured.length };
}

describe('hostile capture files', () => {
  const file = realistic();

  it('the realistic capture opens whole (the baseline of the tests below)', () => {
    for (const bytes of [file.pcap, file.pcapng]) {
      const r = openAll(bytes, prng(1));
      expect(r.summary.error).toBeNull();
      expect(r.summary.packets).toBe(file.packets);
      expect(r.conversations).toBe(1);
    }
  });

  it('every truncation point: no throw, a "truncated" line, and every packet before the cut', () => {
    for (const bytes of [file.pcap, file.pcapng]) {
      const whole = openAll(bytes, prng(2)).summary.packets;
      let lastPackets = 0;
      for (let cut = 0; cut < bytes.length; cut += 37) {
        const r = openAll(bytes.subarray(0, cut), prng(cut));
        expect(r.summary.packets).toBeGreaterThanOrEqual(lastPackets);
        expect(r.summary.packets).toBeLessThan(whole);
        lastPackets = r.summary.packets;
        // A cut that lands exactly between two records leaves a well-formed, shorter file.
        if (r.summary.error !== null) expect(r.summary.error).toMatch(/^truncated: |too short|empty/);
        else expect(cut).toBeGreaterThan(0);
      }
    }
  });

  it('random bytes behind each magic number, and random byte flips of the realistic capture, never throw', () => {
    const next = prng(42);
    const magics = [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0x0a, 0x0d, 0x0d, 0x0a], []];
    for (let run = 0; run < 200; run++) {
      const magic = magics[run % magics.length]!;
      const body = Uint8Array.from({ length: Math.floor(next() * 4000) }, () => Math.floor(next() * 256));
      const r = openAll(Uint8Array.from([...magic, ...body]), next);
      expect(r.summary).toBeDefined();
    }
    for (let run = 0; run < 200; run++) {
      const bytes = (run % 2 ? file.pcap : file.pcapng).slice();
      const flips = 1 + Math.floor(next() * 8);
      for (let i = 0; i < flips; i++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const r = openAll(bytes, next);
      expect(r.summary.packets).toBeGreaterThanOrEqual(0);
      if (r.summary.error) expect(r.summary.error.split('\n')).toHaveLength(1);
    }
  });

  it('mid-stream conversations of random bytes mixed with frames: resynchronisation and replay never throw', () => {
    const next = prng(7);
    const junk = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
    let found = 0;
    for (let run = 0; run < 60; run++) {
      const exchanges = Array.from({ length: 12 }, (_v, i) => {
        const from = (next() < 0.5 ? 'c' : 's') as 'c' | 's';
        const roll = next();
        const bytes = roll < 0.4 ? junk(1 + Math.floor(next() * 300))
          : wsFrame([0, 1, 2, 8, 9, 10][Math.floor(next() * 6)]!, junk(Math.floor(next() * 200)), { masked: from === 'c', fin: next() < 0.8, rsv1: next() < 0.2 });
        return { from, bytes: i === 0 ? bytes.subarray(Math.floor(next() * bytes.length)) : bytes };
      });
      const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 + run }, server: { address: '10.0.0.2', port: 9000 }, exchanges, syn: false, mss: 1 + Math.floor(next() * 500) });
      const r = openAll(pcapFile(101, packets), next);
      expect(r.summary.error).toBeNull();
      expect(r.summary.discovery.tcpConversations).toBe(1);
      found += r.conversations;
    }
    expect(found).toBeGreaterThan(10); // the heuristic finds frames among the junk in many of them
  });
});
