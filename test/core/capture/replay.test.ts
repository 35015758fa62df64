import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayConnection } from '../../../src/core/capture/recording.ts';
import { readSessionFile } from '../../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { SessionRecorder } from '../../../src/core/capture/recorder.ts';
import { recordingToPcapng } from '../../../src/core/capture/export-pcapng.ts';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { localCertificate } from '../../../src/core/net/certificates.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer } from '../../../src/core/trace.ts';
import { AsyncQueue, eventually, RawPeer, withTimeout } from '../net/helpers.ts';
import type { IncomingMessage } from '../../../src/core/net/connection.ts';
import { recordEveryFrameType } from './session-fixture.ts';

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function frameFacts(events: TraceEvent[]) {
  return events.filter((e): e is Frame => e.type === 'frame').map(({ direction, frame: f }) => ({
    direction, frameId: f.frameId, fin: f.fin, rsv1: f.rsv1, opcode: f.opcode, masked: f.masked, maskKey: f.maskKey ? hex(f.maskKey) : null,
    lengthField: f.lengthField, payloadLength: f.payloadLength, raw: hex(f.raw), payload: hex(f.payload), close: f.close ?? null,
  }));
}

function messageFacts(events: TraceEvent[]) {
  return events.filter((e): e is Message => e.type === 'message').map((m) => ({
    direction: m.direction, opcode: m.opcode, size: m.size, text: m.text ?? null, data: m.data ? hex(m.data) : null, frameIds: m.frameIds, compressed: m.compression !== undefined,
  }));
}

describe('replaying a recorded session through our parser', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('gives the frames and messages the live server traced, byte for byte, with no violation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-replay-'));
    dirs.push(dir);
    const { file, serverEvents } = await recordEveryFrameType(dir);
    const { recording, error } = readSessionFile(file);
    expect(error).toBeNull();
    expect(recording.connections).toHaveLength(1);
    const conn = recording.connections[0]!;
    expect(conn.ourRole).toBe('server');
    expect(conn.client.address).toBe('127.0.0.1');
    const replayed = [...replayConnection(conn)];
    const live = serverEvents.filter((e) => e.connectionId === conn.id);
    expect(frameFacts(replayed)).toEqual(frameFacts(live));
    expect(messageFacts(replayed)).toEqual(messageFacts(live));
    expect(replayed.filter((e) => e.type === 'violation')).toEqual([]);
    // Every frame type is in it.
    const opcodes = new Set(frameFacts(replayed).map((f) => f.opcode));
    expect([...opcodes].sort((a, b) => a - b)).toEqual([0, 1, 2, 8, 9, 10]);
    expect(frameFacts(replayed).some((f) => f.lengthField === 127)).toBe(true);
    expect(frameFacts(replayed).some((f) => f.rsv1)).toBe(true);
    // Handshake judged from both sides, from the recorded heads.
    const handshakes = replayed.filter((e) => e.type === 'handshake');
    expect(handshakes.map((h) => [h.side, h.ok])).toEqual([['server', true], ['client', true]]);
    const closed = replayed.find((e) => e.type === 'connection-closed')!;
    expect(closed).toMatchObject({ wasClean: true, code: 1000, reason: 'bye ✓' });
    // Times are the recorded ones, in order.
    const times = replayed.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }, 30_000);

  // Uncompressed: after a cut compressed frame the inflater's window lacks the elided bytes (a note says so).
  it('a frame past the cap is traced cut, with its real length, and the rest of the session still reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-replay-'));
    dirs.push(dir);
    const { file, serverEvents } = await recordEveryFrameType(dir, { cap: 1000, deflate: false });
    const { recording, error } = readSessionFile(file);
    expect(error).toBeNull();
    const conn = recording.connections[0]!;
    expect(conn.chunks.some((c) => (c.elided ?? 0) > 0)).toBe(true);
    const replayed = [...replayConnection(conn)];
    const live = frameFacts(serverEvents);
    const mine = frameFacts(replayed);
    expect(mine.map((f) => [f.direction, f.opcode, f.payloadLength])).toEqual(live.map((f) => [f.direction, f.opcode, f.payloadLength]));
    const cut = replayed.filter((e): e is Frame => e.type === 'frame' && e.frame.truncated !== undefined);
    expect(cut.length).toBe(2); // the 70,000-byte message, both ways
    for (const { frame } of cut) {
      expect(frame.payload.length).toBe(1000);
      expect(frame.truncated!.payloadLength).toBeGreaterThan(65_535);
      const liveFrame = live.find((f) => f.frameId === frame.frameId)!;
      expect(hex(frame.raw)).toBe(liveFrame.raw.slice(0, hex(frame.raw).length));
    }
    // Frames after the cut one are whole and equal.
    const after = mine.filter((f) => f.frameId > cut.at(-1)!.frame.frameId);
    expect(after.length).toBeGreaterThan(0);
    expect(after).toEqual(live.filter((f) => f.frameId > cut.at(-1)!.frame.frameId));
    expect(replayed.some((e) => e.type === 'note' && /not recorded/.test(e.text))).toBe(true);
  }, 30_000);

  it('wss://: both ends\' TLS outcomes kept (and read back through every field check), the plaintext recorded and replayed, the pcapng says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-replay-'));
    dirs.push(dir);
    const local = await localCertificate(dir);
    const serverTracer = new Tracer();
    const clientTracer = new Tracer();
    const file = join(dir, 'wss.wsi');
    const recorder = new SessionRecorder(file, { createdBy: 'test' }).attach(serverTracer).attach(clientTracer);
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer: serverTracer, tls: local });
    const { url } = await server.listen();
    try {
      const received = new AsyncQueue<IncomingMessage>();
      const { opened } = connectClient(url.replace('127.0.0.1', 'localhost'), { onMessage: (_c, m) => received.push(m) }, { tracer: clientTracer, tls: { ca: [local.cert] } });
      const conn = await withTimeout(opened, 10_000, 'the wss client to open');
      conn.sendText('secret ✓');
      expect((await received.next(10_000, 'the echo')).text).toBe('secret ✓');
      conn.close(1000, 'bye');
      await conn.closed();
    } finally {
      await server.close();
      recorder.close();
    }
    const { recording, error } = readSessionFile(file);
    expect(error).toBeNull();
    expect(recording.connections.map((c) => c.ourRole).sort()).toEqual(['client', 'server']);
    for (const conn of recording.connections) expect(conn.tls).toMatchObject({ role: conn.ourRole, ok: true, alpn: 'http/1.1' });
    expect(recording.connections.find((c) => c.ourRole === 'client')!.tls).toMatchObject({ verified: true, sni: 'localhost' });
    for (const conn of recording.connections) {
      expect(Buffer.from(conn.chunks[0]!.bytes.subarray(0, 4)).toString()).toBe('GET ');
      const events = [...replayConnection(conn)];
      expect(events.some((e) => e.type === 'tls')).toBe(true);
      expect(events.filter((e) => e.type === 'message').map((e) => e.type === 'message' && e.text)).toEqual(['secret ✓', 'secret ✓']);
    }
    const pcapng = recordingToPcapng(recording);
    expect(pcapng.includes(Buffer.from('wss:// exported as its plaintext'))).toBe(true);
  }, 30_000);

  it('a peer that breaks rules: the replay finds the violations the live server found, on the same frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-replay-'));
    dirs.push(dir);
    for (const policy of ['observe', 'strict'] as const) {
      const tracer = new Tracer();
      const live: TraceEvent[] = [];
      tracer.subscribe((e) => live.push(e));
      const file = join(dir, `${policy}.wsi`);
      const recorder = new SessionRecorder(file, { createdBy: 'test' }).attach(tracer);
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, policy, deflate: false });
      const { port } = await server.listen();
      const peer = await RawPeer.open(port);
      try {
        await peer.handshake();
        peer.write(Uint8Array.from([0x81, 0x02, 0x68, 0x69])); // unmasked text from a client (§5.1)
        peer.write(Uint8Array.from([0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4, ...new Uint8Array(126)])); // a 126-byte ping (§5.5)
        await eventually(() => live.some((e) => e.type === 'connection-closed') || live.filter((e) => e.type === 'violation').length >= 2, 10_000, 'the violations');
      } finally {
        peer.destroy();
        await server.close();
        recorder.close();
      }
      const codes = (events: TraceEvent[]) => events.flatMap((e) => (e.type === 'violation' ? [[e.frameId, e.violation.code, e.violation.rfcSection]] : []));
      const replayed = [...replayConnection(readSessionFile(file).recording.connections[0]!)];
      expect(codes(live).length, policy).toBe(policy === 'observe' ? 2 : 1);
      // The replay reads every frame on (observe); strict live stopped at the first, so compare what live saw.
      expect(codes(replayed).slice(0, codes(live).length), policy).toEqual(codes(live));
    }
  }, 30_000);
});
