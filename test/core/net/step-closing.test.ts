/**
 * Step mode while closing (Connection.receive, src/core/frame-gate.ts), against ws: an incoming frame
 * the gate holds stays ahead of what the peer sends after it, also once we have started closing.
 * Before, from CLOSING on every new byte went straight to the protocol, past the frames still held:
 * the application got the peer's later message first, and with permessage-deflate that message,
 * which refers back into the held one (context takeover, RFC 7692 §7.2.2), was failed as the
 * peer's violation (1007) though the peer was right.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../../../src/core/frame-codec.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { openRawClient } from '../../support/inspector-harness.ts';
import { eventually } from './helpers.ts';

const TEXT = 'the same sentence, long enough for LZ77 to find it again. ';
let server: WebSocketServer;
let url: string;
const received: string[] = [];
beforeAll(async () => {
  server = new WebSocketServer({
    port: 0, host: '127.0.0.1',
    component: { name: 'collect', onMessage: (_c, m) => void received.push(m.text ?? `binary ${m.data.length}`) },
  });
  url = (await server.listen()).url;
});
afterAll(() => server.close());

const until = (what: () => boolean, label: string) => eventually(what, 5000, label);

it('a frame held in step mode is read before what the peer sent after it, though we started closing meanwhile', async () => {
  const before = new Set(server.openConnections());
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  let conn: Connection | undefined;
  await until(() => (conn = server.openConnections().find((c) => !before.has(c))) !== undefined, 'the connection');
  conn!.setStepMode(true);
  ws.send(`${TEXT}one`);
  await until(() => (conn!.gateSnapshot()?.held.filter((h) => h.direction === 'in').length ?? 0) === 1, 'the first message held');
  conn!.close(1000, 'bye'); // step mode holds our Close too: the peer does not know yet
  ws.send(`${TEXT}two`); // refers back into "one"
  await new Promise((r) => setTimeout(r, 100));
  conn!.resume();
  await until(() => received.length >= 2 || conn!.state === 'CLOSED', 'both messages');
  expect(received).toEqual([`${TEXT}one`, `${TEXT}two`]);
  // And the closing handshake then completes as usual.
  await until(() => conn!.state === 'CLOSED', 'the close');
  expect(await conn!.closed()).toMatchObject({ code: 1000, wasClean: true });
  ws.terminate();
});

it('the peer closing TCP behind a held frame: the close is read after it, the held message still reaches the application', async () => {
  // Before, the peer's FIN went to the protocol at once: the connection closed (1006) with the
  // message still held, and stepping it delivered nothing.
  const before = new Set(server.openConnections());
  const { socket } = await openRawClient(url);
  let conn: Connection | undefined;
  await until(() => (conn = server.openConnections().find((c) => !before.has(c))) !== undefined, 'the connection');
  conn!.setStepMode(true);
  const count = received.length;
  const tcpClosed = new Promise((r) => socket.once('close', r));
  socket.end(encodeFrame({ opcode: 1, payload: new TextEncoder().encode('last words'), maskKey: Uint8Array.of(1, 2, 3, 4) }));
  await until(() => conn!.gateSnapshot()?.held.length === 1, 'the held frame');
  // TCP is closed both ways (node ends our side once the peer's FIN is read), and the connection
  // stays open behind the held frame: the protocol has not read the end of the stream yet.
  await tcpClosed;
  expect(conn!.state).toBe('OPEN');
  expect(received.length).toBe(count);
  conn!.step('in');
  await until(() => conn!.state === 'CLOSED', 'the close, read after the frame');
  expect(received.slice(count)).toEqual(['last words']);
});
