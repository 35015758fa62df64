/**
 * Our Close queued behind a crafted frame going out in timed pieces (Connection.writeCrafted):
 * the rest of the frame goes at once, then the Close. Before, the Close waited out the pieces
 * while the close timer, which waits for the peer's answer to it (§7.1.1), already ran: the
 * connection was dropped as 1006, blaming the peer for not answering a Close it never got.
 * Against ws, both roles: we close (server), and we answer the server's Close (client); and a
 * raw TCP peer whose Close comes right behind a message (our answer is held until the
 * application has seen it, §5.5.1).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { concatBytes, utf8Encode } from '../../../src/core/bytes.ts';
import { encodeClosePayload, encodeFrame } from '../../../src/core/frame-codec.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { AsyncQueue, eventually, withTimeout, wsClosed } from './helpers.ts';

const closeTimeoutMs = 150;
const delayMs = 60_000; // between the crafted frame's two pieces: far longer than the close timeout
const crafted = (mask: Uint8Array | null) => encodeFrame({ opcode: 1, payload: utf8Encode('crafted, in two pieces') }, mask);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('a Close behind a crafted frame in timed pieces', () => {
  it('server: our Close makes the rest of the frame go at once, then the Close', async () => {
    const opens = new AsyncQueue<Connection>();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, closeTimeoutMs, component: { name: 'opens', onOpen: (c) => opens.push(c) } });
    cleanups.push(() => server.close());
    const { url } = await server.listen();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    cleanups.push(() => ws.terminate());
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(String(d)));
    ws.on('error', () => {});
    const wsClose = wsClosed(ws);
    const conn = await opens.next(5000, 'the connection');
    const writing = conn.writeCrafted(crafted(null), { chunks: [3], delayMs });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first piece is out
    conn.close(1000, 'done');
    const info = await withTimeout(conn.closed(), 5000, 'the close');
    await withTimeout(writing, 5000, 'writeCrafted');
    expect(info).toMatchObject({ code: 1000, wasClean: true });
    expect((await withTimeout(wsClose, 5000, 'ws closed')).code).toBe(1000);
    expect(messages).toEqual(['crafted, in two pieces']);
  });

  it('client: our answer to the server\'s Close makes the rest of the frame go at once, then the answer', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const serverClose = new Promise<number>((resolve) => wss.on('connection', (s) => {
      s.on('error', () => {});
      s.on('close', (code) => resolve(code));
    }));
    const port = (wss.address() as { port: number }).port;
    const { connection: conn, opened } = connectClient(`ws://127.0.0.1:${port}/`, {}, { closeTimeoutMs });
    cleanups.push(() => conn.destroy());
    await withTimeout(opened, 5000, 'the handshake');
    const writing = conn.writeCrafted(crafted(new Uint8Array([1, 2, 3, 4])), { chunks: [3], delayMs });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first piece is out
    for (const s of wss.clients) s.close(1000, 'bye');
    const info = await withTimeout(conn.closed(), 5000, 'the close');
    await withTimeout(writing, 5000, 'writeCrafted');
    expect(info).toMatchObject({ code: 1000, wasClean: true });
    expect(await withTimeout(serverClose, 5000, 'ws closed')).toBe(1000);
  });

  it('server: the peer\'s Close right behind a message is answered at once, the rest of the frame first', async () => {
    // Our answer waits until the application has seen the message (§5.5.1); here the application
    // sends nothing back, and the answer must not wait out the crafted frame's minute.
    const opens = new AsyncQueue<Connection>();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: { name: 'silent', onOpen: (c) => opens.push(c) } });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const received: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    cleanups.push(() => socket.destroy());
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => {});
    const conn = await opens.next(5000, 'the connection');
    await eventually(() => Buffer.concat(received).includes('\r\n\r\n'), 5000, 'the 101');
    const head = Buffer.concat(received).indexOf('\r\n\r\n') + 4;
    const frame = crafted(null);
    const writing = conn.writeCrafted(frame, { chunks: [2, 2], delayMs: 60_000 });
    await eventually(() => Buffer.concat(received).length >= head + 2, 5000, 'the first piece');
    const mask = Uint8Array.of(1, 2, 3, 4);
    socket.write(concatBytes([
      encodeFrame({ opcode: 1, payload: utf8Encode('last words') }, mask),
      encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }, mask),
    ]));
    await withTimeout(writing, 3000, 'the crafted write (not its minute)');
    const info = await withTimeout(conn.closed(), 5000, 'the close');
    expect(info).toMatchObject({ code: 1000, wasClean: true });
    expect(Buffer.concat(received).subarray(head)).toEqual(Buffer.from(concatBytes([frame, encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }, null)])));
  });
});
