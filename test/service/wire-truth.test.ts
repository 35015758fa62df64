/**
 * Through the inspector service's own path (rows into its batch builder, the
 * display cap, the raw chunk store), every frame the page is given must be the bytes that crossed
 * the socket. A hand-written peer (node:net) sends masked frames of every length encoding around the
 * display cap, fragments with pings between them, empty frames, cut at odd points into TCP writes,
 * to the echo app; the page's frames are compared with what was written and what was read.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';
import { seededBytes } from '../core/fuzz/generators.ts';

let service: InspectorService;
let port = 0;
const events: TraceEvent[] = [];

beforeAll(async () => {
  service = new InspectorService({ batchIntervalMs: 5 });
  service.onBatch((b) => events.push(...eventsOf(b)));
  const started = await service.startServer({ port: 0, app: 'echo' });
  if (!started.ok) throw new Error(started.error);
  port = Number(new URL(started.url).port);
});
afterAll(() => service.dispose());

const until = async (ok: () => boolean, what: string, ms = 10_000) => {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the page sees the bytes on the wire (service path)', () => {
  it('incoming and echoed frames, around the display cap, split into odd writes', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await until(() => Buffer.concat(received).includes('\r\n\r\n'), 'the 101');
    const head = Buffer.concat(received);
    const headEnd = head.indexOf('\r\n\r\n') + 4;
    const sent: Uint8Array[] = [];
    let k = 1;
    const frame = (opcode: number, payload: Uint8Array, fin = true) => {
      const bytes = encodeFrame({ opcode, payload, fin }, Uint8Array.of(k++ & 0xff, 0x33, 0xc4, (k * 7) & 0xff));
      sent.push(bytes);
      return bytes;
    };
    const out: Uint8Array[] = [];
    let seed = 7;
    for (const n of [0, 1, 2, 3, 4, 5, 125, 126, 127, 128, 129, 255, 256, 511, 512, 513, 4095, 65535, 65536, 65537, 70000]) {
      out.push(frame(Opcode.Binary, seededBytes(n, seed++)));
    }
    out.push(frame(Opcode.Text, new TextEncoder().encode('\u20ac'.repeat(30000)))); // 90,000 bytes of text, under the cap in UTF-16 units
    out.push(frame(Opcode.Binary, seededBytes(300, 1), false), frame(Opcode.Ping, Uint8Array.of(1)), frame(Opcode.Continuation, new Uint8Array(0), false), frame(Opcode.Continuation, seededBytes(70, 2)));
    out.push(frame(Opcode.Binary, seededBytes(65536, 3), false), frame(Opcode.Continuation, seededBytes(10, 4)));
    const all = Buffer.concat(out);
    // Odd TCP writes: 1, 2, 3, 7, 13, 1000 bytes, repeating.
    const sizes = [1, 2, 3, 7, 13, 1000, 65000];
    for (let at = 0, i = 0; at < all.length; i++) {
      const n = sizes[i % sizes.length]!;
      socket.write(all.subarray(at, at + n));
      at += n;
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    const echoes = 21 + 1 + 1 + 1; // one per message, and a pong
    const connFrames = () => events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
    await until(() => connFrames().filter((e) => e.direction === 'out').length >= echoes, 'the echoes');
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();

    const inFrames = connFrames().filter((e) => e.direction === 'in');
    expect(inFrames).toHaveLength(sent.length);
    inFrames.forEach((e, i) => {
      const f = e.frame;
      const wire = sent[i]!;
      const rawLength = f.truncated?.rawLength ?? f.raw.length;
      expect(rawLength, `in frame ${i} length`).toBe(wire.length);
      expect(Buffer.from(f.raw).equals(Buffer.from(wire.subarray(0, f.raw.length))), `in frame ${i} raw`).toBe(true);
      const body = wire.subarray(f.headerLength, f.headerLength + f.payload.length);
      const unmasked = body.map((b, j) => b ^ f.maskKey![j & 3]!);
      expect(Buffer.from(f.payload).equals(Buffer.from(unmasked)), `in frame ${i} payload`).toBe(true);
    });
    const outWire = Buffer.concat(received).subarray(headEnd);
    let at = 0;
    for (const e of connFrames().filter((x) => x.direction === 'out')) {
      const f = e.frame;
      const length = f.truncated?.rawLength ?? f.raw.length;
      expect(Buffer.from(f.raw).equals(outWire.subarray(at, at + f.raw.length)), `out frame ${f.frameId} raw at ${at}`).toBe(true);
      expect(Buffer.from(f.payload).equals(Buffer.from(f.raw.subarray(f.headerLength))), `out frame ${f.frameId} payload`).toBe(true);
      at += length;
    }
    expect(at).toBe(outWire.length);
    // Messages: each binary echo's data is the payloads of the frames it names.
    const byId = new Map(connFrames().map((e) => [`${e.connectionId}/${e.direction}/${e.frame.frameId}`, e.frame]));
    for (const m of events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message')) {
      if (m.truncated || m.data === undefined) continue;
      const joined = Buffer.concat(m.frameIds.map((id) => byId.get(`${m.connectionId}/${m.direction}/${id}`)!.payload));
      expect(Buffer.from(m.data).equals(joined), `message ${m.seq}`).toBe(true);
    }
  });
});
