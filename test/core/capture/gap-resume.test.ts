/**
 * Reading on after a capture gap (src/core/capture/gap-resume.ts, with the discovery's resume and
 * the replay's fresh receiver): synthesized compressed conversations with and without context
 * takeover, and real captures (tcpdump on lo) of python-websockets peers, with and without
 * permessage-deflate, from which TCP segments are dropped as a lossy capture would: every frame
 * after the gap is read, and equals what the peers sent.
 */

import { constants, deflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureDissector } from '../../../src/core/capture/capture-dissector.ts';
import { decodeIpTcp, type TcpSegment } from '../../../src/core/capture/packets/ip-tcp.ts';
import { decodeLinkLayer } from '../../../src/core/capture/packets/link-layer.ts';
import { CaptureReader } from '../../../src/core/capture/pcap/reader.ts';
import { recordingCollector, replayCaptured } from '../../../src/core/capture/pcap/to-recording.ts';
import { createRecording, replayConnection } from '../../../src/core/capture/recording.ts';
import { readSessionFile, SessionFileWriter } from '../../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { handshakeBytes, pcapFile, tcpConversation, wsFrame, type PacketRecord } from '../../support/capture-synth.ts';
import { killRunning, runCli } from '../../support/cli.ts';
import { captureUnavailable, capturePythonConversation } from '../../support/live-capture.ts';
import { prng } from '../../support/prng.ts';

type Message = Extract<TraceEvent, { type: 'message' }>;
type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Described = { type: 'text'; text: string } | { type: 'binary'; hex: string };

const enc = (s: string) => new TextEncoder().encode(s);

function open(file: Uint8Array) {
  const collector = recordingCollector();
  const dissector = new CaptureDissector(collector.handle);
  dissector.push(file);
  const summary = dissector.end();
  const trace = collector.captured.flatMap((c) => [...replayCaptured(c)]);
  return {
    summary, trace, captured: collector.captured,
    messages: trace.filter((e): e is Message => e.type === 'message'),
    frames: trace.filter((e): e is Frame => e.type === 'frame'),
    notes: trace.filter((e): e is Extract<TraceEvent, { type: 'note' }> => e.type === 'note').map((e) => e.text),
    violations: trace.filter((e) => e.type === 'violation'),
  };
}

/** Base64 of seeded random bytes: DEFLATE shrinks it only to about 3/4, so a message spans several segments. */
function noisy(n: number, seed: number): string {
  const next = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))).toString('base64').slice(0, n);
}

/** One message compressed on its own (RFC 7692 §7.2.1: a sync flush, its 00 00 ff ff tail removed). */
function compressed(text: string): Uint8Array {
  const out = deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

describe('after a gap in a compressed direction', () => {
  const texts = [0, 1, 2, 3].map((i) => `message ${i}: ${noisy(1600, i + 1)}`);
  const build = (response: string) => {
    const hs = handshakeBytes('server.example.com', '/chat', { request: 'permessage-deflate', response });
    const exchanges = [
      { from: 'c' as const, bytes: hs.request }, { from: 's' as const, bytes: hs.response },
      ...texts.flatMap((t) => [
        { from: 'c' as const, bytes: wsFrame(1, compressed(`ask ${t.slice(0, 10)}`), { masked: true, rsv1: true }) },
        { from: 's' as const, bytes: wsFrame(1, compressed(t), { masked: false, rsv1: true }) },
      ]),
    ];
    const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 80 }, exchanges, mss: 500 });
    // The server's second message: drop the segment after its first (a hole inside its payload).
    // (From port 80, starting with a compressed text frame's header: 0xc1, then 126 for a 16-bit length.)
    const starts = packets.flatMap((p, i) => (p.data[21] === 80 && p.data[40] === 0xc1 && p.data[41] === 126 && p.data.length === 540 ? [i] : []));
    expect(starts).toHaveLength(texts.length);
    const first = starts[1]!;
    return open(pcapFile(101, packets.filter((_p, i) => i !== first + 1)));
  };

  it('with context takeover: the server\'s later messages are shown compressed, said, and not blamed on it; the client\'s still inflate', () => {
    const r = build('permessage-deflate');
    expect(r.summary.tcp.gapBytes).toBe(500);
    const fromServer = r.messages.filter((m) => m.direction === 'in');
    expect(fromServer[0]!.text).toBe(texts[0]);
    // Message 1 is lost in the gap; 2 and 3 come as the compressed bytes that crossed the wire.
    expect(fromServer).toHaveLength(3);
    expect(fromServer.slice(1).map((m) => [m.text, Buffer.from(m.data!).toString('hex')])).toEqual(texts.slice(2).map((t) => [undefined, Buffer.from(compressed(t)).toString('hex')]));
    expect(r.notes.some((n) => n.startsWith('Compressed messages from the server after the gap are shown as the compressed bytes'))).toBe(true);
    expect(r.notes.some((n) => n.includes("The server's permessage-deflate context is broken from here on"))).toBe(true);
    expect(r.violations).toEqual([]);
    expect(r.messages.filter((m) => m.direction === 'out').map((m) => m.text)).toEqual(texts.map((t) => `ask ${t.slice(0, 10)}`));
  });

  it('a gap survives a session file (saved whole, or written chunk by chunk as the recorder does), and reads back the same', () => {
    const r = build('permessage-deflate');
    const conn = r.captured[0]!.connection;
    // The second 500-byte segment of the server's second frame (4-byte header) was lost; the rest of that frame is stepped over.
    expect(conn.chunks.filter((c) => c.lost !== undefined).map((c) => c.lost)).toEqual([4 + compressed(texts[1]!).length - 500]);
    const dir = mkdtempSync(join(tmpdir(), 'wsinspect-gap-session-'));
    try {
      const shown = (events: TraceEvent[]) => events.flatMap((e) => (e.type === 'message' ? [[e.direction, e.text ?? Buffer.from(e.data!).toString('hex')]] : e.type === 'note' ? [[e.text]] : []));
      const original = shown([...replayConnection(conn)]);
      SessionFileWriter.write(join(dir, 'whole.wsi'), createRecording([conn], 'test'));
      const streamed = new SessionFileWriter(join(dir, 'streamed.wsi'), { createdBy: 'test' });
      const { chunks: _c, notes: _n, ...head } = conn;
      streamed.connection(head);
      for (const chunk of conn.chunks) streamed.data(conn.id, chunk);
      for (const note of conn.notes) streamed.note(conn.id, note.time, note.text);
      streamed.end(conn.id, conn.endTime!);
      streamed.close();
      for (const name of ['whole.wsi', 'streamed.wsi']) {
        const back = readSessionFile(join(dir, name));
        expect(back.error).toBeNull();
        expect(shown([...replayConnection(back.recording.connections[0]!)])).toEqual(original);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with server_no_context_takeover: a fresh inflater reads every message after the gap exactly', () => {
    const r = build('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    expect(r.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual([texts[0], texts[2], texts[3]]);
    expect(r.notes.some((n) => n.includes('permessage-deflate goes on: the server starts every message from an empty window (server_no_context_takeover, RFC 7692 §7.1.1.1)'))).toBe(true);
    expect(r.violations).toEqual([]);
  });
});

describe('after a gap in a capture that started mid-stream', () => {
  it('the mid-stream replay starts a fresh reader at the boundary after the gap', () => {
    const c = (text: string) => ({ from: 'c' as const, bytes: wsFrame(1, enc(text), { masked: true }) });
    const s = (bytes: Uint8Array) => ({ from: 's' as const, bytes: wsFrame(2, bytes, { masked: false }) });
    const big = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);
    const exchanges = [c('one'), s(Uint8Array.from([1])), c('two'), s(big), c('three'), s(Uint8Array.from([3])), c('four'), s(Uint8Array.from([4]))];
    const packets = tcpConversation({ client: { address: '10.0.0.1', port: 40000 }, server: { address: '10.0.0.2', port: 9000 }, exchanges, mss: 1000, syn: false });
    const bigStart = packets.findIndex((p) => p.data.length === 1040 && p.data[40] === 0x82);
    const r = open(pcapFile(101, packets.filter((_p, i) => i !== bigStart + 1)));
    expect(r.captured[0]!.info.handshake).toBe('missing');
    expect(r.notes.some((n) => n.startsWith('1000 bytes of the server → client stream are not in the capture') && n.includes('known exactly'))).toBe(true);
    expect(r.notes.some((n) => n.startsWith('Gap: 2004 bytes of the server → client stream are not read'))).toBe(true);
    const shown = r.messages.map((m) => [m.direction, m.text ?? Buffer.from(m.data!).toString('hex')]);
    expect(shown).toEqual([['out', 'one'], ['in', '01'], ['out', 'two'], ['out', 'three'], ['in', '03'], ['out', 'four'], ['in', '04']]);
    expect(r.violations).toEqual([]);
  });
});

// ------------------------------------------------------------------ real captures

interface Packet {
  record: PacketRecord;
  linkType: number;
  segment: TcpSegment | null;
}

function packetsOf(file: Uint8Array): Packet[] {
  const out: Packet[] = [];
  const reader = new CaptureReader((p) => {
    const net = decodeLinkLayer(p.linkType, p.data);
    const tcp = net.kind === 'ip' ? decodeIpTcp(net.version, net.bytes) : null;
    out.push({ record: { time: p.time!, data: p.data.slice() }, linkType: p.linkType, segment: tcp?.kind === 'tcp' ? tcp.segment : null });
  });
  reader.push(file);
  expect(reader.end().error).toBeNull();
  return out;
}

function describeMessage(m: Message): Described {
  return m.opcode === 1 ? { type: 'text', text: m.text ?? '' } : { type: 'binary', hex: Buffer.from(m.data ?? []).toString('hex') };
}

/** got is want with one run of messages left out (those the gap took); returns how many were left out. */
function leftOut(got: Described[], want: Described[]): number {
  let i = 0;
  while (i < got.length && JSON.stringify(got[i]) === JSON.stringify(want[i])) i++;
  const lost = want.length - got.length;
  expect(got.slice(i)).toEqual(want.slice(i + lost));
  return lost;
}

describe('real captures of python-websockets peers with segments dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-gap-'));
  afterAll(() => {
    killRunning();
    rmSync(dir, { recursive: true, force: true });
  });
  const why = captureUnavailable('tcpdump', 'lo');
  if (why) console.log(`[gap resume] not run: ${why}`);

  for (const deflate of [false, true]) {
    it.skipIf(why !== null)(`${deflate ? 'permessage-deflate (context takeover)' : 'no compression'}: each direction reads on after its gap`, async (ctx) => {
      let captured;
      try {
        captured = await capturePythonConversation({ deflate });
      } catch (error) {
        const reason = `cannot capture here: ${(error as Error).message}`;
        console.log(`[gap resume] not run: ${reason}`);
        ctx.skip(reason);
        return;
      }
      const { file, peer, port } = captured;
      const packets = packetsOf(file);
      const data = (fromClient: boolean) => packets.filter((p) => p.segment && p.segment.payload.length > 0 && (fromClient ? p.segment.dstPort : p.segment.srcPort) === port);
      // Client → server: the segment after the largest (uncompressed: the rest of the 70000-byte text,
      // whose header was read: the boundary after it is known exactly); server → client: the third
      // after the response (the echo of the JSON text, a whole frame: the heuristic finds the next).
      const fromClient = data(true);
      const largest = fromClient.slice(1).reduce((a, b) => (b.segment!.payload.length > a.segment!.payload.length ? b : a));
      const c2s = deflate ? largest : fromClient[fromClient.indexOf(largest) + 1]!;
      const s2c = data(false)[3]!;
      const dropped = new Set([c2s, s2c]);
      const lossy = pcapFile(packets[0]!.linkType, packets.filter((p) => !dropped.has(p)).map((p) => p.record));

      const whole = open(file);
      expect(whole.violations).toEqual([]);
      const r = open(lossy);
      expect(r.summary.tcp.gapBytes).toBe(c2s.segment!.payload.length + s2c.segment!.payload.length);
      expect(r.captured).toHaveLength(1);
      expect(r.notes.filter((n) => n.startsWith('Gap: '))).toHaveLength(2);
      expect(r.violations.map((v) => JSON.stringify(v).slice(0, 300))).toEqual([]);
      const out = r.messages.filter((m) => m.direction === 'out').map(describeMessage);
      const back = r.messages.filter((m) => m.direction === 'in').map(describeMessage);
      if (!deflate) {
        // Exactly the messages whose bytes were dropped are missing; every one after them equals what was sent.
        expect(leftOut(out, peer['sent'])).toBe(1);
        expect(leftOut(back, peer['received'])).toBe(1);
      } else {
        // After the gap the context is gone: as many messages as were sent after it, shown compressed (never as text).
        const lostAt = (got: Described[], want: Described[]) => got.findIndex((m, i) => JSON.stringify(m) !== JSON.stringify(want[i]));
        const at = lostAt(out, peer['sent']);
        expect(at).toBeGreaterThan(0);
        expect(out.length).toBeGreaterThan(at);
        expect(out.length).toBeLessThan(peer['sent'].length);
        expect(r.messages.filter((m) => m.direction === 'out').slice(at).every((m) => m.text === undefined && m.data !== undefined)).toBe(true);
        expect(r.notes.some((n) => n.startsWith('Compressed messages from the client after the gap'))).toBe(true);
        expect(r.notes.some((n) => n.startsWith('Compressed messages from the server after the gap'))).toBe(true);
      }
      // Control frames are never compressed: the ping, its pong and both Closes are read after the gaps.
      expect(r.frames.filter((f) => f.frame.opcode === 0x9).map((f) => Buffer.from(f.frame.payload).toString())).toEqual(['are you there']);
      expect(r.frames.filter((f) => f.frame.opcode === 0x8).map((f) => [f.direction, f.frame.close?.code, f.frame.close?.reason])).toEqual([['out', 4001, 'done ✓'], ['in', 4001, 'done ✓']]);
      expect((r.trace.find((e) => e.type === 'connection-closed') as Extract<TraceEvent, { type: 'connection-closed' }>).wasClean).toBe(true);

      if (deflate) return;
      // wsinspect open prints the gap where it happened.
      const path = join(dir, 'lossy.pcap');
      writeFileSync(path, lossy);
      const run = runCli(['open', path]);
      expect(await run.exit).toBe(0);
      const printed = run.stdout();
      expect(printed).toMatch(/\d+ bytes of the client → server stream are not in the capture \(bytes the capture missed[^\n]*\)\. The stream resumes at the next frame boundary, \d+ bytes after the gap \(known exactly/);
      expect(printed).toMatch(/\d+ bytes of the server → client stream are not in the capture [^\n]*\(found by the heuristic/);
      expect(printed).toMatch(/Gap: \d+ bytes of the client → server stream are not read \(lost by the capture, or skipped to the next frame boundary\)\. The frame being read when they went missing \(\d+ bytes of it captured\) is lost\./);
      expect(printed).toContain('done ✓');
    }, 60_000);
  }
});
