/**
 * Interop with the `ws` npm package (v8), a widely used independent implementation, over real
 * sockets on 127.0.0.1: (a) our WebSocketServer ← ws client, (b) our connectClient → ws server.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage as HttpIncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { CloseInfo, Connection, IncomingMessage } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { AsyncQueue, expectedAccept, framesOf, MiB, openWs, sha256, utf8, withTimeout, wsClosed, wsMessages } from './helpers.ts';

const NON_ASCII = 'héllo wörld ✓ — 😀 中文 ÆØÅ \u0000 end';

function payloadOf(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function nextWsEvent(ws: WebSocket, event: 'ping' | 'pong', ms = 5000): Promise<Buffer> {
  return withTimeout(new Promise<Buffer>((resolve) => ws.once(event, (data: Buffer) => resolve(data))), ms, `ws ${event}`);
}

// ====================================================================================== (a)

describe('our WebSocketServer ← ws client', () => {
  const tracer = new Tracer();
  let events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  const opens = new AsyncQueue<Connection>();
  const componentCloses = new Map<string, CloseInfo>();
  const component: ServerComponent = {
    ...echoComponent,
    name: 'echo-recording',
    onOpen: (conn) => opens.push(conn),
    onClose: (conn, info) => componentCloses.set(conn.id, info),
  };
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, tracer });
  let url = '';
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    url = (await server.listen()).url;
  });
  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await server.close();
  });
  beforeEach(() => {
    events = [];
    opens.clear();
  });
  afterEach(() => {
    for (const ws of clients.splice(0)) ws.terminate();
  });

  async function pair(options: WebSocket.ClientOptions = {}) {
    const ws = await openWs(url, options);
    clients.push(ws);
    const conn = await opens.next(5000, 'the server onOpen');
    return { ws, conn, messages: wsMessages(ws) };
  }

  it('echoes text, including non-ASCII, as text', async () => {
    const { ws, messages } = await pair();
    for (const text of ['hello', NON_ASCII, 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_536)]) {
      ws.send(text);
      const got = await messages.next(5000, `echo of ${text.slice(0, 10)}`);
      expect(got.isBinary).toBe(false);
      expect(got.data.toString('utf8')).toBe(text);
    }
  });

  it('echoes binary byte for byte', async () => {
    const { ws, messages } = await pair();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    ws.send(all);
    const got = await messages.next();
    expect(got.isBinary).toBe(true);
    expect(got.data.equals(all)).toBe(true);
  });

  it('echoes an empty text and an empty binary message', async () => {
    const { ws, messages } = await pair();
    ws.send('');
    const text = await messages.next(5000, 'empty text');
    expect(text.isBinary).toBe(false);
    expect(text.data.length).toBe(0);
    ws.send(Buffer.alloc(0));
    const binary = await messages.next(5000, 'empty binary');
    expect(binary.isBinary).toBe(true);
    expect(binary.data.length).toBe(0);
  });

  it('echoes a 16 MiB binary message byte-exact', async () => {
    const { ws, messages } = await pair();
    const big = randomBytes(16 * MiB);
    ws.send(big);
    const got = await messages.next(20_000, 'the 16 MiB echo');
    expect(got.isBinary).toBe(true);
    expect(got.data.length).toBe(big.length);
    expect(sha256(got.data)).toBe(sha256(big));
  });

  it('echoes a large multi-byte text message (2 MiB of UTF-8)', async () => {
    const { ws, messages } = await pair();
    const text = 'ü✓😀a'.repeat(Math.ceil((2 * MiB) / 10));
    ws.send(text);
    const got = await messages.next(10_000, 'the large text echo');
    expect(got.isBinary).toBe(false);
    expect(got.data.toString('utf8')).toBe(text);
  });

  it('reassembles messages ws sends in fragments (text, binary, UTF-8 split across frames, ping in between)', async () => {
    const { ws, conn, messages } = await pair();
    ws.send('Hel', { fin: false });
    ws.send('lo ✓', { fin: true });
    const text = await messages.next(5000, 'fragmented text echo');
    expect(text.isBinary).toBe(false);
    expect(text.data.toString('utf8')).toBe('Hello ✓');
    const inFrames = framesOf(events, conn.id, 'in').filter((e) => e.frame.opcode !== Opcode.Ping);
    expect(inFrames.map((e) => [e.frame.opcode, e.frame.fin])).toEqual([[Opcode.Text, false], [Opcode.Continuation, true]]);

    ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
    ws.send(Buffer.from([3]), { binary: true, fin: false });
    ws.send(Buffer.from([4, 5, 6]), { binary: true, fin: true });
    const binary = await messages.next(5000, 'fragmented binary echo');
    expect(binary.isBinary).toBe(true);
    expect([...binary.data]).toEqual([1, 2, 3, 4, 5, 6]);

    // '✓' is E2 9C 93: split it across two text frames; only the whole message must be valid UTF-8.
    ws.send(Buffer.from([0x61, 0xe2]), { binary: false, fin: false });
    ws.send(Buffer.from([0x9c, 0x93]), { binary: false, fin: true });
    const split = await messages.next(5000, 'split-character echo');
    expect(split.isBinary).toBe(false);
    expect(split.data.toString('utf8')).toBe('a✓');

    // §5.4: control frames may be injected in the middle of a fragmented message.
    const pong = nextWsEvent(ws, 'pong');
    ws.send('frag', { fin: false });
    ws.ping(Buffer.from('mid-message'));
    ws.send('mented', { fin: true });
    expect((await pong).toString()).toBe('mid-message');
    const withPing = await messages.next(5000, 'echo of the message with a ping inside');
    expect(withPing.data.toString('utf8')).toBe('fragmented');
  });

  it('sends fragmented messages (conn.sendFragmented) that ws reassembles', async () => {
    const { ws, conn, messages } = await pair();
    const text = 'Hello, fragmented ✓ world';
    // Sizes 3,4,12 put a boundary inside '✓' (bytes 18..20).
    conn.sendFragmented(Opcode.Text, utf8(text), [3, 4, 12]);
    const got = await messages.next(5000, 'fragmented text from the server');
    expect(got.isBinary).toBe(false);
    expect(got.data.toString('utf8')).toBe(text);
    const out = framesOf(events, conn.id, 'out');
    expect(out.map((e) => [e.frame.opcode, e.frame.fin, e.frame.masked])).toEqual([
      [Opcode.Text, false, false], [Opcode.Continuation, false, false], [Opcode.Continuation, false, false], [Opcode.Continuation, true, false],
    ]);

    const bytes = randomBytes(1000);
    conn.sendFragmented(Opcode.Binary, bytes, [1, 499]);
    const gotBinary = await messages.next(5000, 'fragmented binary from the server');
    expect(gotBinary.isBinary).toBe(true);
    expect(gotBinary.data.equals(bytes)).toBe(true);
  });

  it('answers a ws ping with a pong carrying the same payload', async () => {
    const { ws, conn } = await pair();
    for (const payload of [Buffer.from('ping from ws ✓'), Buffer.alloc(0), randomBytes(125)]) {
      const pong = nextWsEvent(ws, 'pong');
      ws.ping(payload);
      expect((await pong).equals(payload)).toBe(true);
    }
    const pongsOut = framesOf(events, conn.id, 'out').filter((e) => e.frame.opcode === Opcode.Pong);
    expect(pongsOut).toHaveLength(3);
    expect(pongsOut.every((e) => !e.frame.masked)).toBe(true);
  });

  it('gets a pong from ws for its own ping (conn.ping)', async () => {
    const { ws, conn } = await pair();
    const payload = utf8('ping from our server ✓');
    const pingAtWs = nextWsEvent(ws, 'ping');
    conn.ping(payload);
    expect(Buffer.from(payload).equals(await pingAtWs)).toBe(true);
    await withTimeout((async () => {
      while (!framesOf(events, conn.id, 'in').some((e) => e.frame.opcode === Opcode.Pong)) await new Promise((r) => setTimeout(r, 5));
    })(), 5000, 'the pong frame from ws');
    const pong = framesOf(events, conn.id, 'in').find((e) => e.frame.opcode === Opcode.Pong)!;
    expect(Buffer.from(pong.frame.payload).equals(Buffer.from(payload))).toBe(true);
    expect(pong.frame.masked).toBe(true);
  });

  it('close started by ws: both sides see 4000 "bye ✓", and the close is clean', async () => {
    const { ws, conn } = await pair();
    const wsClose = wsClosed(ws);
    ws.close(4000, 'bye ✓');
    const info = await withTimeout(conn.closed(), 5000, 'the server connection to close');
    expect(info).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
    expect(await withTimeout(wsClose, 5000, 'ws close')).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(componentCloses.get(conn.id)).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
    const closeIn = framesOf(events, conn.id, 'in').find((e) => e.frame.opcode === Opcode.Close);
    expect(closeIn?.frame.close).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(server.connections.has(conn.id)).toBe(false);
  });

  it('close started by our server: ws sees 4001 "server bye ✓", and our CloseInfo is clean', async () => {
    const { ws, conn } = await pair();
    const wsClose = wsClosed(ws);
    conn.close(4001, 'server bye ✓');
    expect(await withTimeout(wsClose, 5000, 'ws close')).toEqual({ code: 4001, reason: 'server bye ✓' });
    expect(await withTimeout(conn.closed(), 5000, 'server close')).toEqual({ code: 4001, reason: 'server bye ✓', wasClean: true });
  });

  it('traces the handshake (ok, accept matches the key) and masked client→server frames', async () => {
    let upgradeAccept: string | undefined;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    clients.push(ws);
    ws.once('upgrade', (res: HttpIncomingMessage) => {
      upgradeAccept = res.headers['sec-websocket-accept'] as string | undefined;
    });
    await withTimeout(new Promise((r) => ws.once('open', r)), 5000, 'ws open');
    const conn = await opens.next();
    const messages = wsMessages(ws);
    ws.send('traced ✓');
    await messages.next();
    const mine = events.filter((e) => e.connectionId === conn.id);
    const requestHead = mine.find((e): e is Extract<TraceEvent, { type: 'http-head' }> => e.type === 'http-head' && e.direction === 'in');
    const key = requestHead?.head.headers.find((h) => h.name.toLowerCase() === 'sec-websocket-key')?.value;
    expect(key).toBeDefined();
    const handshake = mine.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake');
    expect(handshake).toBeDefined();
    expect(handshake!.ok).toBe(true);
    expect(handshake!.side).toBe('server');
    expect(handshake!.status).toBe(101);
    expect(handshake!.accept?.accept).toBe(expectedAccept(key!));
    expect(upgradeAccept).toBe(expectedAccept(key!));
    expect(mine.map((e) => e.type).slice(0, 2)).toEqual(['connection-opened', 'bytes']);
    const inFrames = framesOf(events, conn.id, 'in');
    const outFrames = framesOf(events, conn.id, 'out');
    expect(inFrames.length).toBeGreaterThan(0);
    expect(outFrames.length).toBeGreaterThan(0);
    for (const e of inFrames) {
      expect(e.frame.masked).toBe(true);
      expect(e.frame.maskKey).toHaveLength(4);
    }
    for (const e of outFrames) expect(e.frame.masked).toBe(false);
    const inText = inFrames.find((e) => e.frame.opcode === Opcode.Text)!;
    expect(new TextDecoder().decode(inText.frame.payload)).toBe('traced ✓');
    const message = mine.find((e) => e.type === 'message' && e.direction === 'in');
    expect(message && message.type === 'message' ? message.text : undefined).toBe('traced ✓');
  });
});

// ====================================================================================== (b)

interface WsPeer {
  sock: WebSocket;
  request: HttpIncomingMessage;
  received: AsyncQueue<{ data: Buffer; isBinary: boolean }>;
}

describe('our connectClient → ws WebSocketServer (echo)', () => {
  const tracer = new Tracer();
  let events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  const peers = new AsyncQueue<WsPeer>();
  let wss: WsServer;
  let url = '';
  const conns: Connection[] = [];

  beforeAll(async () => {
    wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * MiB });
    await withTimeout(new Promise((r) => wss.once('listening', r)), 5000, 'the ws server to listen');
    wss.on('connection', (sock, request) => {
      const received = new AsyncQueue<{ data: Buffer; isBinary: boolean }>();
      sock.on('message', (data, isBinary) => {
        const buffer = payloadOf(data);
        received.push({ data: buffer, isBinary });
        sock.send(buffer, { binary: isBinary });
      });
      peers.push({ sock, request, received });
    });
    const address = wss.address();
    if (typeof address !== 'object' || address === null) throw new Error('no ws server address');
    url = `ws://127.0.0.1:${address.port}/echo?x=1`;
  });
  afterAll(async () => {
    for (const conn of conns) conn.destroy();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  beforeEach(() => {
    events = [];
    peers.clear();
  });
  afterEach(() => {
    for (const conn of conns.splice(0)) conn.destroy();
  });

  async function pair() {
    const messages = new AsyncQueue<IncomingMessage>();
    const pings = new AsyncQueue<Uint8Array>();
    const pongs = new AsyncQueue<Uint8Array>();
    const closesReceived = new AsyncQueue<{ code: number | null; reason: string }>();
    const { connection, opened } = connectClient(url, {
      onMessage: (_c, m) => messages.push(m),
      onPing: (_c, p) => pings.push(p),
      onPong: (_c, p) => pongs.push(p),
      onCloseReceived: (_c, code, reason) => closesReceived.push({ code, reason }),
    }, { tracer, maxMessageSize: 64 * MiB });
    conns.push(connection);
    const conn = await withTimeout(opened, 5000, 'our client to open');
    const peer = await peers.next(5000, 'the ws server connection');
    return { conn, peer, messages, pings, pongs, closesReceived };
  }

  it('sends text, including non-ASCII, and gets it back as text', async () => {
    const { conn, peer, messages } = await pair();
    for (const text of ['hello', NON_ASCII, 'y'.repeat(126), 'z'.repeat(70_000)]) {
      conn.sendText(text);
      const atWs = await peer.received.next();
      expect(atWs.isBinary).toBe(false);
      expect(atWs.data.toString('utf8')).toBe(text);
      const back = await messages.next();
      expect(back.opcode).toBe(Opcode.Text);
      expect(back.text).toBe(text);
    }
  });

  it('sends binary and gets it back byte for byte', async () => {
    const { conn, peer, messages } = await pair();
    const all = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));
    conn.sendBinary(all);
    const atWs = await peer.received.next();
    expect(atWs.isBinary).toBe(true);
    expect(atWs.data.equals(all)).toBe(true);
    const back = await messages.next();
    expect(back.opcode).toBe(Opcode.Binary);
    expect(back.text).toBeUndefined();
    expect(Buffer.from(back.data).equals(all)).toBe(true);
  });

  it('sends and receives an empty text and an empty binary message', async () => {
    const { conn, peer, messages } = await pair();
    conn.sendText('');
    const atWsText = await peer.received.next();
    expect(atWsText).toMatchObject({ isBinary: false });
    expect(atWsText.data.length).toBe(0);
    const text = await messages.next();
    expect(text.opcode).toBe(Opcode.Text);
    expect(text.text).toBe('');
    conn.sendBinary(new Uint8Array(0));
    const atWsBinary = await peer.received.next();
    expect(atWsBinary).toMatchObject({ isBinary: true });
    expect(atWsBinary.data.length).toBe(0);
    const binary = await messages.next();
    expect(binary.opcode).toBe(Opcode.Binary);
    expect(binary.data.length).toBe(0);
  });

  it('sends a 16 MiB binary message and gets it back byte-exact', async () => {
    const { conn, peer, messages } = await pair();
    const big = randomBytes(16 * MiB);
    const hash = sha256(big);
    conn.sendBinary(big);
    const atWs = await peer.received.next(20_000, 'ws to receive 16 MiB');
    expect(atWs.data.length).toBe(big.length);
    expect(sha256(atWs.data)).toBe(hash);
    const back = await messages.next(20_000, 'the 16 MiB echo');
    expect(back.data.length).toBe(big.length);
    expect(sha256(back.data)).toBe(hash);
  });

  it('sends fragmented messages (conn.sendFragmented) that ws reassembles, masked', async () => {
    const { conn, peer, messages } = await pair();
    const text = 'Hello, fragmented ✓ world';
    conn.sendFragmented(Opcode.Text, utf8(text), [3, 4, 12]);
    const atWs = await peer.received.next();
    expect(atWs.isBinary).toBe(false);
    expect(atWs.data.toString('utf8')).toBe(text);
    expect((await messages.next()).text).toBe(text);
    const out = framesOf(events, conn.id, 'out').filter((e) => e.frame.opcode !== Opcode.Close);
    expect(out.map((e) => [e.frame.opcode, e.frame.fin, e.frame.masked])).toEqual([
      [Opcode.Text, false, true], [Opcode.Continuation, false, true], [Opcode.Continuation, false, true], [Opcode.Continuation, true, true],
    ]);

    const bytes = randomBytes(70_000);
    conn.sendFragmented(Opcode.Binary, bytes, [1, 65_535, 10]);
    const atWsBinary = await peer.received.next();
    expect(atWsBinary.isBinary).toBe(true);
    expect(atWsBinary.data.equals(bytes)).toBe(true);
  });

  it('reassembles messages ws sends in fragments (text, binary, UTF-8 split across frames)', async () => {
    const { conn, peer, messages } = await pair();
    peer.sock.send('Hel', { fin: false });
    peer.sock.send('lo ✓', { fin: true });
    const text = await messages.next();
    expect(text.opcode).toBe(Opcode.Text);
    expect(text.text).toBe('Hello ✓');
    const inFrames = framesOf(events, conn.id, 'in');
    expect(inFrames.map((e) => [e.frame.opcode, e.frame.fin, e.frame.masked])).toEqual([[Opcode.Text, false, false], [Opcode.Continuation, true, false]]);

    peer.sock.send(Buffer.from([9, 8]), { binary: true, fin: false });
    peer.sock.send(Buffer.from([7]), { binary: true, fin: false });
    peer.sock.send(Buffer.from([6]), { binary: true, fin: true });
    const binary = await messages.next();
    expect(binary.opcode).toBe(Opcode.Binary);
    expect([...binary.data]).toEqual([9, 8, 7, 6]);

    peer.sock.send(Buffer.from([0xe2, 0x9c]), { binary: false, fin: false });
    peer.sock.send(Buffer.from([0x93, 0x21]), { binary: false, fin: true });
    expect((await messages.next()).text).toBe('✓!');
  });

  it('conn.ping gets the ws pong with the same payload (onPong)', async () => {
    const { conn, pongs } = await pair();
    for (const payload of [utf8('ping from our client ✓'), new Uint8Array(0), new Uint8Array(randomBytes(125))]) {
      conn.ping(payload);
      const pong = await pongs.next(5000, 'onPong');
      expect(Buffer.from(pong).equals(Buffer.from(payload))).toBe(true);
    }
  });

  it('answers a ws ping with a pong carrying the same payload (and reports onPing)', async () => {
    const { peer, pings } = await pair();
    const payload = Buffer.from('ping from ws server ✓');
    const pong = nextWsEvent(peer.sock, 'pong');
    peer.sock.ping(payload);
    expect((await pong).equals(payload)).toBe(true);
    expect(Buffer.from(await pings.next()).equals(payload)).toBe(true);
  });

  it('close started by our client: ws sees 4000 "bye ✓", and our CloseInfo is clean', async () => {
    const { conn, peer, closesReceived } = await pair();
    const wsClose = wsClosed(peer.sock);
    conn.close(4000, 'bye ✓');
    expect(await withTimeout(wsClose, 5000, 'ws close')).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(await withTimeout(conn.closed(), 5000, 'our close')).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
    expect(await closesReceived.next()).toEqual({ code: 4000, reason: 'bye ✓' });
  });

  it('close started by the ws server: we see 4002 "ws bye ✓", echo it, and close cleanly', async () => {
    const { conn, peer, closesReceived } = await pair();
    const wsClose = wsClosed(peer.sock);
    peer.sock.close(4002, 'ws bye ✓');
    expect(await closesReceived.next()).toEqual({ code: 4002, reason: 'ws bye ✓' });
    expect(await withTimeout(conn.closed(), 5000, 'our close')).toEqual({ code: 4002, reason: 'ws bye ✓', wasClean: true });
    expect(await withTimeout(wsClose, 5000, 'ws close')).toEqual({ code: 4002, reason: 'ws bye ✓' });
  });

  it('traces the handshake (ok, accept matches) and masks every client→server frame', async () => {
    const { conn, peer, messages } = await pair();
    conn.sendText('traced ✓');
    await messages.next();
    conn.ping(utf8('p'));
    const closed = conn.closed();
    conn.close(1000, 'done');
    await withTimeout(closed, 5000, 'close');
    const key = peer.request.headers['sec-websocket-key'];
    expect(typeof key).toBe('string');
    expect(peer.request.url).toBe('/echo?x=1');
    const mine = events.filter((e) => e.connectionId === conn.id);
    const handshake = mine.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake');
    expect(handshake).toBeDefined();
    expect(handshake!.side).toBe('client');
    expect(handshake!.ok).toBe(true);
    expect(handshake!.status).toBe(101);
    expect(handshake!.accept?.accept).toBe(expectedAccept(key as string));
    expect(handshake!.acceptOnWire).toBe(expectedAccept(key as string));
    const out = framesOf(events, conn.id, 'out');
    expect(out.map((e) => e.frame.opcode)).toEqual([Opcode.Text, Opcode.Ping, Opcode.Close]);
    for (const e of out) {
      expect(e.frame.masked).toBe(true);
      expect(e.frame.maskKey).toHaveLength(4);
      // The wire bytes carry the mask bit and the masked payload.
      expect(e.frame.raw[1]! & 0x80).toBe(0x80);
    }
    for (const e of framesOf(events, conn.id, 'in')) expect(e.frame.masked).toBe(false);
    const closedEvent = mine.find((e) => e.type === 'connection-closed');
    expect(closedEvent).toMatchObject({ wasClean: true, code: 1000, reason: 'done' });
  });
});
