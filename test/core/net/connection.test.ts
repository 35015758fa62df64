/**
 * The connection's zero-copy paths over real sockets (issue 17): with nothing tracing, a socket
 * chunk is unmasked in place and a large echo goes out as header + payload (writev); with a
 * trace, or another reader of the socket, the bytes as received are never touched. A ws client
 * (an independent implementation) sends and checks every echo.
 */

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { FrameParser } from '../../../src/core/frame-codec.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { MiB, openWs, withTimeout } from './helpers.ts';

/** Sizes around every boundary the paths care about: 7/16/64-bit lengths, the 4 KiB writev mark, socket chunks, 1 MiB. */
const sizes = [0, 1, 63, 64, 125, 126, 4095, 4096, 16 * 1024, 65536, 70001, MiB + 5];

/** Sends every payload at once (so several frames share socket chunks and others span them); resolves with the echoes in order. */
async function echoAll(url: string, payloads: Buffer[]): Promise<Buffer[]> {
  const ws = await openWs(url, { perMessageDeflate: false, maxPayload: 64 * MiB });
  try {
    const echoes: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        echoes.push(Buffer.from(data));
        if (echoes.length === payloads.length) resolve();
      });
    });
    for (const p of payloads) ws.send(p, { binary: true });
    await withTimeout(done, 20_000, `${payloads.length} echoes`);
    return echoes;
  } finally {
    ws.terminate();
  }
}

function workload(): Buffer[] {
  const many64 = Array.from({ length: 300 }, () => randomBytes(64));
  return [...sizes.map((n) => randomBytes(n)), ...many64, ...sizes.map((n) => randomBytes(n)).reverse()];
}

describe('our echo server with tracing off and on: identical echoes', () => {
  const quiet = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, deflate: false, maxMessageSize: 64 * MiB });
  const tracer = new Tracer();
  const traced: TraceEvent[] = [];
  tracer.subscribe((e) => traced.push(e));
  const loud = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, deflate: false, tracer, maxMessageSize: 64 * MiB });
  let quietUrl = '';
  let loudUrl = '';

  beforeAll(async () => {
    quietUrl = (await quiet.listen()).url;
    loudUrl = (await loud.listen()).url;
  });
  afterAll(async () => {
    await quiet.close();
    await loud.close();
  });

  it('every message comes back byte for byte, tracing off (in place, writev) and on (copies)', async () => {
    const payloads = workload();
    const [off, on] = await Promise.all([echoAll(quietUrl, payloads), echoAll(loudUrl, payloads)]);
    expect(off.map((b, i) => b.equals(payloads[i]!))).toEqual(payloads.map(() => true));
    expect(on.map((b, i) => b.equals(payloads[i]!))).toEqual(payloads.map(() => true));
  });

  it('with tracing on, the traced bytes in are the masked wire bytes: reparsed, they give exactly the payloads sent', async () => {
    traced.length = 0;
    const payloads = workload();
    await echoAll(loudUrl, payloads);
    const parser = new FrameParser({ keepRaw: false });
    const got: Buffer[] = [];
    let headSkipped = false;
    for (const e of traced) {
      if (e.type !== 'bytes' || e.direction !== 'in') continue;
      let bytes = e.bytes;
      if (!headSkipped) {
        const end = Buffer.from(bytes).indexOf('\r\n\r\n');
        if (end < 0) continue;
        bytes = bytes.subarray(end + 4);
        headSkipped = true;
      }
      parser.feed(bytes, (ev) => {
        if (ev.kind === 'frame' && ev.frame.header.opcode === 2) got.push(Buffer.from(ev.frame.payload));
      });
    }
    expect(got.length).toBe(payloads.length);
    expect(got.map((b, i) => b.equals(payloads[i]!))).toEqual(payloads.map(() => true));
  });
});

describe('another reader of the socket keeps the masked bytes (no trace)', () => {
  const kept: Buffer[] = [];
  const component: ServerComponent = {
    ...echoComponent,
    name: 'echo-with-a-second-reader',
    onOpen: (conn) => conn.socket.on('data', (chunk: Buffer) => kept.push(chunk)),
  };
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, deflate: false, maxMessageSize: 64 * MiB });
  let url = '';

  beforeAll(async () => {
    url = (await server.listen()).url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('its chunks still hold the frames as sent: reparsed, they give the payloads, and the echoes are exact', async () => {
    const payloads = [randomBytes(64), randomBytes(16 * 1024), randomBytes(70001), randomBytes(5)];
    const echoes = await echoAll(url, payloads);
    expect(echoes.map((b, i) => b.equals(payloads[i]!))).toEqual(payloads.map(() => true));
    const got: Buffer[] = [];
    const parser = new FrameParser({ keepRaw: false });
    for (const chunk of kept) {
      parser.feed(chunk, (ev) => {
        if (ev.kind === 'frame' && ev.frame.header.opcode === 2) got.push(Buffer.from(ev.frame.payload));
      });
    }
    expect(got.map((b, i) => b.equals(payloads[i]!))).toEqual(payloads.map(() => true));
  });
});

// A ws client keeps its own reference to what it sent: nothing on our side may change it either.
describe('what the application sends is not changed by the writev path', () => {
  it('a buffer sent from the server is written as it is and stays as it was', async () => {
    const big = randomBytes(32 * 1024);
    const copy = Buffer.from(big);
    const component: ServerComponent = { name: 'send-once', onOpen: (conn) => conn.sendBinary(big) };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, deflate: false });
    const { url } = await server.listen();
    try {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const data = await withTimeout(new Promise<Buffer>((resolve, reject) => {
        ws.once('message', (d: Buffer) => resolve(Buffer.from(d)));
        ws.once('error', reject);
      }), 10_000, 'the server message');
      ws.terminate();
      expect(data.equals(copy)).toBe(true);
      expect(big.equals(copy)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

// A relay copying one read's messages asks for them to leave in one socket write (batchUntilNextTick).
describe('batchUntilNextTick: what one tick sends leaves in few writes, in order', () => {
  it('40 small messages, a 10 KiB one, a raw frame and a Close sent in one tick arrive whole and in order, the small ones in one write', async () => {
    const small = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64, i));
    const large = randomBytes(10 * 1024);
    const writes: number[] = [];
    const component: ServerComponent = {
      name: 'batch-once',
      onOpen: (conn) => {
        const write = conn.socket.write.bind(conn.socket) as (chunk: Uint8Array) => boolean;
        conn.socket.write = ((chunk: Uint8Array) => {
          writes.push(chunk.length);
          return write(chunk);
        }) as typeof conn.socket.write;
        conn.batchUntilNextTick();
        for (const m of small.slice(0, 20)) conn.sendBinary(m);
        conn.sendBinary(large);
        for (const m of small.slice(20)) conn.sendBinary(m);
        conn.sendRaw(new Uint8Array([0x81, 0x03, 0x72, 0x61, 0x77])); // a text frame "raw", written as it is
        conn.close(1000, 'done');
      },
    };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, deflate: false });
    const { url } = await server.listen();
    try {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const got: Array<Buffer | string> = [];
      const closed = withTimeout(new Promise<number>((resolve, reject) => {
        ws.on('message', (d: Buffer, isBinary: boolean) => got.push(isBinary ? Buffer.from(d) : d.toString()));
        ws.once('close', (code: number) => resolve(code));
        ws.once('error', reject);
      }), 10_000, 'the messages and the Close');
      expect(await closed).toBe(1000);
      expect(got).toEqual([...small.slice(0, 20), large, ...small.slice(20), 'raw']);
      // The first 20 small frames and the 10 KiB frame's header joined into one write, its payload as it
      // is (writev path), then the other 20 small ones, the raw frame and the Close joined into one
      // (without batching: one write per frame).
      expect(writes).toEqual([20 * 66 + 4, 10 * 1024, 20 * 66 + 5 + 8]);
    } finally {
      await server.close();
    }
  });
});
