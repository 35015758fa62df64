/**
 * A message and a Close in one TCP write (issue 10 §6): the application sees the message and may
 * answer it before our Close goes out (RFC 6455 §5.5.1: "An endpoint MAY delay sending a Close
 * frame until its current message is sent"). Before, the Close reply left first and the echo app,
 * finding the connection CLOSING, never answered. Real sockets, both roles, and the ws package.
 */

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { concatBytes } from '../../../src/core/bytes.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { encodeClosePayload, encodeFrame } from '../../../src/core/frame-codec.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { parseClosePayload } from '../../../src/core/protocol.ts';
import { expectedAccept, openWs, parseFrames, RawPeer, utf8, withTimeout, wsClosed, wsMessages } from './helpers.ts';

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

let server: WebSocketServer;
let port: number;

beforeAll(async () => {
  server = new WebSocketServer({ port: 0, component: echoComponent, traceBytes: false });
  port = (await server.listen()).port;
});

afterAll(() => server.close());

describe('a message and a Close in one TCP write', () => {
  it('the echo server answers the text, then the Close (raw client, one write)', async () => {
    const peer = await RawPeer.open(port);
    try {
      await peer.handshake();
      peer.write(concatBytes([
        encodeFrame({ opcode: Opcode.Text, payload: utf8('Hello ✓') }, KEY),
        encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1000, 'bye') }, KEY),
      ]));
      await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP');
      const frames = parseFrames(peer.received);
      expect(frames.map((f) => [f.opcode, f.masked])).toEqual([[Opcode.Text, false], [Opcode.Close, false]]);
      expect(frames[0]!.payload.toString('utf8')).toBe('Hello ✓');
      expect(parseClosePayload(frames[1]!.payload)).toEqual({ code: 1000, reason: 'bye' });
    } finally {
      peer.destroy();
    }
  });

  it('several messages before the Close are all answered, in order, before it', async () => {
    const peer = await RawPeer.open(port);
    try {
      await peer.handshake();
      peer.write(concatBytes([
        encodeFrame({ opcode: Opcode.Text, payload: utf8('one') }, KEY),
        encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array([2, 2]) }, KEY),
        encodeFrame({ opcode: Opcode.Text, payload: utf8('thr'), fin: false }, KEY),
        encodeFrame({ opcode: Opcode.Continuation, payload: utf8('ee') }, KEY),
        encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1001) }, KEY),
      ]));
      await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP');
      const frames = parseFrames(peer.received);
      expect(frames.map((f) => (f.opcode === Opcode.Close ? parseClosePayload(f.payload).code : f.payload.toString('latin1')))).toEqual(['one', '\x02\x02', 'three', 1001]);
    } finally {
      peer.destroy();
    }
  });

  it('ws: send() then close() in the same tick gets the echo, then a clean 1000', async () => {
    const ws = await openWs(`ws://127.0.0.1:${port}/`);
    try {
      const messages = wsMessages(ws);
      const closed = wsClosed(ws);
      ws.send('last words');
      ws.close(1000, 'done');
      const got = await messages.next(5000, 'the echo');
      expect(got.data.toString('utf8')).toBe('last words');
      expect(await withTimeout(closed, 5000, 'the close')).toEqual({ code: 1000, reason: 'done' });
    } finally {
      ws.terminate();
    }
  });

  it('our client, echoing, answers a server\'s text before its Close reply (one write from a raw server)', async () => {
    let serverSide!: Socket;
    const received: Buffer[] = [];
    const raw = createServer((socket) => {
      serverSide = socket;
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        if (head.includes('\r\n\r\n')) {
          received.push(chunk);
          return;
        }
        head += chunk.toString('latin1');
        const key = /Sec-WebSocket-Key: *([^\r]+)\r\n/i.exec(head)?.[1];
        if (!head.includes('\r\n\r\n') || !key) return;
        socket.write(concatBytes([
          utf8(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${expectedAccept(key)}\r\n\r\n`),
          encodeFrame({ opcode: Opcode.Text, payload: utf8('ping me') }, null),
          encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1000, 'over') }, null),
        ]));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const client = connectClient(`ws://127.0.0.1:${(raw.address() as AddressInfo).port}/`, {
        onMessage: (conn, message) => conn.sendText(message.text ?? ''),
      });
      const conn = await client.opened;
      // §7.1.1: the client waits for the server to close TCP; close it once the Close is here.
      const until = Date.now() + 5000;
      while (parseFrames(Buffer.concat(received)).every((f) => f.opcode !== Opcode.Close) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      serverSide.end();
      await withTimeout(conn.closed(), 5000, 'the client to close');
      const frames = parseFrames(Buffer.concat(received));
      expect(frames.map((f) => [f.opcode, f.masked])).toEqual([[Opcode.Text, true], [Opcode.Close, true]]);
      expect(frames[0]!.payload.toString('utf8')).toBe('ping me');
      expect(parseClosePayload(frames[1]!.payload)).toEqual({ code: 1000, reason: 'over' });
    } finally {
      serverSide?.destroy();
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});
