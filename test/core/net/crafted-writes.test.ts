/**
 * A crafted frame written in timed pieces (Connection.writeCrafted) stays whole on the wire: what
 * the connection sends meanwhile (here the echo app's answer to a message the peer sends between
 * two pieces, and a second crafted frame) waits and follows it, and the trace's raw chunks are in
 * wire order. Before, the echo's bytes landed inside the crafted frame and the peer (ws) failed
 * the connection. If the connection closes meanwhile, the rest of the frame goes at once.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { concatBytes, utf8Encode } from '../../../src/core/bytes.ts';
import { encodeClosePayload, encodeFrame } from '../../../src/core/frame-codec.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { eventually } from './helpers.ts';

let server: WebSocketServer;
let url: string;
const traced: TraceEvent[] = [];
beforeAll(async () => {
  const tracer = new Tracer();
  tracer.subscribe((e) => traced.push(e));
  server = new WebSocketServer({
    port: 0, host: '127.0.0.1', tracer,
    component: { name: 'echo', onMessage: (c, m) => (m.text !== undefined ? c.sendText(m.text) : c.sendBinary(m.data)) },
  });
  url = (await server.listen()).url;
});
afterAll(() => server.close());

const until = (what: () => boolean, label: string) => eventually(what, 5000, label);

async function newConnection(open: () => void): Promise<Connection> {
  const before = new Set(server.openConnections());
  open();
  let conn: Connection | undefined;
  await until(() => (conn = server.openConnections().find((c) => !before.has(c) && c.state === 'OPEN')) !== undefined, 'the connection');
  return conn!;
}

const text = (s: string) => encodeFrame({ opcode: 1, payload: utf8Encode(s) }, null);
const outChunks = (conn: Connection) => traced.flatMap((e) => (e.type === 'bytes' && e.direction === 'out' && e.connectionId === conn.id ? [e.bytes] : []));

describe('a crafted frame in timed pieces', () => {
  it('stays whole on the wire while the echo app answers a message that came between its pieces', async () => {
    let ws!: WebSocket;
    const conn = await newConnection(() => (ws = new WebSocket(url, { perMessageDeflate: false })));
    const messages: string[] = [];
    let closed: number | null = null;
    ws.on('message', (d) => messages.push(String(d)));
    ws.on('close', (code) => (closed = code));
    ws.on('error', () => {});
    await until(() => outChunks(conn).length > 0, 'the handshake response traced');
    const chunksBefore = outChunks(conn).length;
    const crafted = text('crafted, written in three pieces');
    const second = text('a second crafted frame');
    const writing = conn.writeCrafted(crafted, { chunks: [3, 10], delayMs: 80 });
    const queued = conn.writeCrafted(second, { chunks: [5], delayMs: 10 });
    // Between the pieces: the peer sends, and the echo is due at once.
    await new Promise((r) => setTimeout(r, 30));
    ws.send('echo me');
    await Promise.all([writing, queued]);
    await until(() => messages.length === 3 || closed !== null, 'three messages');
    // The echo waited behind the first crafted frame; the second crafted frame comes after it.
    expect({ messages, closed }).toEqual({ messages: ['crafted, written in three pieces', 'echo me', 'a second crafted frame'], closed: null });
    // The trace's raw chunks, in order, are the bytes on the wire.
    expect(concatBytes(outChunks(conn).slice(chunksBefore))).toEqual(concatBytes([crafted, text('echo me'), second]));
    ws.terminate();
  });

  it('sends the rest at once, then our Close, when the peer closes in the middle', async () => {
    // A raw TCP peer: it reads exactly what crossed the wire.
    let socket!: net.Socket;
    const received: Buffer[] = [];
    const conn = await newConnection(() => {
      const u = new URL(url);
      socket = net.connect(Number(u.port), u.hostname, () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      });
      socket.on('data', (d) => received.push(d));
    });
    await until(() => Buffer.concat(received).includes('\r\n\r\n'), 'the 101');
    const head = Buffer.concat(received).indexOf('\r\n\r\n') + 4;
    const crafted = text('cut short by a close');
    const writing = conn.writeCrafted(crafted, { chunks: [2, 2], delayMs: 60_000 });
    await until(() => Buffer.concat(received).length >= head + 2, 'the first piece');
    const ended = new Promise((r) => socket.once('end', r));
    socket.write(encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }, Uint8Array.of(1, 2, 3, 4)));
    await writing; // not a minute: the close finishes it
    await ended;
    expect(Buffer.concat(received).subarray(head)).toEqual(Buffer.from(concatBytes([crafted, encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }, null)])));
    socket.destroy();
  });
});
