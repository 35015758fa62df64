/**
 * Interop with python-websockets (Debian's python3-websockets, run by /usr/bin/python3, not the
 * pyenv python on PATH), over real sockets on 127.0.0.1, in both directions. The python side is
 * in test/fixtures/python/: echo_server.py and client.py.
 */

import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { CloseInfo, Connection, IncomingMessage } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { AsyncQueue, eventually, expectedAccept, framesOf, MiB, sha256, utf8, withTimeout } from './helpers.ts';
import { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from './python-peer.ts';

const NON_ASCII = 'héllo wörld ✓ — 😀 中文 ÆØÅ \u0000 end';

function requestKey(conn: Connection): string {
  const key = conn.protocol.request?.headers.find((h) => h.name.toLowerCase() === 'sec-websocket-key')?.value;
  if (!key) throw new Error('no Sec-WebSocket-Key in the request');
  return key;
}

// ====================================================================================== python client → our server

describe('python-websockets client → our WebSocketServer', () => {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  const opens = new AsyncQueue<Connection>();
  const closes = new Map<string, CloseInfo>();
  const component: ServerComponent = {
    name: 'echo-scripted',
    onOpen: (conn) => opens.push(conn),
    onClose: (conn, info) => closes.set(conn.id, info),
    onMessage(conn, message, server) {
      if (message.text === '__ping_me__') {
        conn.ping(utf8('srv-ping ✓'));
        conn.sendText('__pinged__');
        return;
      }
      if (message.text === '__close_me__') {
        conn.close(4001, 'server bye ✓');
        return;
      }
      echoComponent.onMessage!(conn, message, server);
    },
  };
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, tracer, traceBytes: false });
  let url = '';
  let results: Record<string, any> = {};
  let conn!: Connection;
  let closeInfo: CloseInfo;

  beforeAll(async () => {
    requirePythonWebsockets();
    url = `${(await server.listen()).url}py?q=1`;
    const run = await runPython([`${FIXTURES}client.py`, url, 'matrix'], 45_000);
    results = parseLastJsonLine(run.stdout, run.stderr);
    if (run.code !== 0) throw new Error(`client.py exited with ${run.code}: ${run.stderr}`);
    conn = await opens.next(1000, 'the python connection');
    closeInfo = await withTimeout(conn.closed(), 5000, 'the python connection to close');
  }, 60_000);
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['text (non-ASCII)', 'text'],
    ['binary', 'binary'],
    ['empty text', 'empty_text'],
    ['empty binary', 'empty_binary'],
    ['fragmented text (iterable send)', 'fragments_text'],
    ['fragmented binary (iterable send)', 'fragments_binary'],
    ['ping from python: pongs carry the same payloads', 'ping'],
  ])('echo: %s', (_label, step) => {
    expect(results[step], JSON.stringify(results[step])).toMatchObject({ ok: true });
  });

  it('echoes 16 MiB binary byte-exact (sha256 on both sides)', () => {
    expect(results['big']).toMatchObject({ ok: true, len: 16 * MiB });
    expect(results['big'].got).toBe(results['big'].sent);
    const message = events.find((e) => e.type === 'message' && e.direction === 'in' && e.connectionId === conn.id && e.size === 16 * MiB);
    expect(message).toBeDefined();
    expect(message && message.type === 'message' && message.data ? sha256(message.data) : null).toBe(results['big'].sent);
  });

  it('python sent the fragmented messages as several frames, and we reassembled them', () => {
    const inMessages = events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.direction === 'in' && e.connectionId === conn.id);
    const text = inMessages.find((m) => m.text === 'Hello ✓');
    expect(text?.frameIds.length).toBeGreaterThanOrEqual(3);
    const frames = framesOf(events, conn.id, 'in').filter((e) => text!.frameIds.includes(e.frame.frameId));
    expect(frames[0]?.frame).toMatchObject({ opcode: Opcode.Text, fin: false });
    expect(frames.slice(1).every((e) => e.frame.opcode === Opcode.Continuation)).toBe(true);
    expect(frames.at(-1)?.frame.fin).toBe(true);
    const binary = inMessages.find((m) => m.opcode === Opcode.Binary && m.size === 6);
    expect(binary?.frameIds.length).toBeGreaterThanOrEqual(3);
  });

  it('our ping reaches python, whose pong carries the same payload', () => {
    expect(results['server_ping']).toMatchObject({ ok: true });
    const pong = framesOf(events, conn.id, 'in').find((e) => e.frame.opcode === Opcode.Pong);
    expect(pong).toBeDefined();
    expect(new TextDecoder().decode(pong!.frame.payload)).toBe('srv-ping ✓');
  });

  it('close started by python (4000 "bye ✓"): both sides see the code and reason, and it is clean', () => {
    expect(results['close']).toMatchObject({ code: 4000, reason: 'bye ✓' });
    expect(closeInfo).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
    expect(closes.get(conn.id)).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
  });

  it('traces the handshake (ok, accept matches) with every client frame masked', () => {
    const mine = events.filter((e) => e.connectionId === conn.id);
    const handshake = mine.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake');
    expect(handshake).toMatchObject({ side: 'server', ok: true, status: 101 });
    expect(handshake!.accept?.accept).toBe(expectedAccept(requestKey(conn)));
    expect(conn.protocol.request?.target).toBe('/py?q=1');
    const inFrames = framesOf(events, conn.id, 'in');
    expect(inFrames.length).toBeGreaterThan(10);
    for (const e of inFrames) expect(e.frame.masked).toBe(true);
    for (const e of framesOf(events, conn.id, 'out')) expect(e.frame.masked).toBe(false);
  });

  it('close started by our server (4001 "server bye ✓"): python sees it, our CloseInfo is clean', async () => {
    const run = await runPython([`${FIXTURES}client.py`, url, 'server-close'], 20_000);
    const result = parseLastJsonLine(run.stdout, run.stderr);
    // python echoes the code and reason back in its own Close frame (§5.5.1).
    expect(result).toEqual({ ok: true, code: 4001, reason: 'server bye ✓', sent_code: 4001, sent_reason: 'server bye ✓' });
    const second = await opens.next(1000, 'the second python connection');
    expect(await withTimeout(second.closed(), 5000, 'close')).toEqual({ code: 4001, reason: 'server bye ✓', wasClean: true });
  });
});

// ====================================================================================== our client → python server

describe('our connectClient → python-websockets echo server', () => {
  const tracer = new Tracer();
  let events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  let python: PythonServer | null = null;
  let pyEvents: Array<Record<string, any>> = [];
  let url = '';
  const conns: Connection[] = [];

  beforeAll(async () => {
    requirePythonWebsockets();
    python = await startPythonServer([`${FIXTURES}echo_server.py`]);
    pyEvents = python.events;
    url = `ws://127.0.0.1:${python.port}/py/path?x=1`;
  }, 30_000);
  afterAll(async () => {
    for (const conn of conns) conn.destroy();
    await python?.stop();
  });
  beforeEach(() => {
    events = [];
  });
  afterEach(() => {
    for (const conn of conns.splice(0)) conn.destroy();
  });

  async function open() {
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
    const conn = await withTimeout(opened, 10_000, 'our client to open');
    const key = requestKey(conn);
    await eventually(() => pyEvents.some((e) => e['event'] === 'open' && e['key'] === key), 5000, 'python to report the connection');
    const pyClosed = async () => {
      await eventually(() => pyEvents.some((e) => e['event'] === 'closed' && e['key'] === key), 10_000, 'python to report the close');
      return pyEvents.find((e) => e['event'] === 'closed' && e['key'] === key)!;
    };
    const command = (cmd: Record<string, unknown>) => conn.sendText(`__cmd__ ${JSON.stringify(cmd)}`);
    return { conn, key, messages, pings, pongs, closesReceived, pyClosed, command };
  }

  it('sends text, including non-ASCII, and gets it back as text', async () => {
    const { conn, messages } = await open();
    for (const text of ['hello', NON_ASCII, 'z'.repeat(70_000)]) {
      conn.sendText(text);
      const back = await messages.next();
      expect(back.opcode).toBe(Opcode.Text);
      expect(back.text).toBe(text);
    }
  });

  it('sends binary and gets it back byte for byte', async () => {
    const { conn, messages } = await open();
    const all = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));
    conn.sendBinary(all);
    const back = await messages.next();
    expect(back.opcode).toBe(Opcode.Binary);
    expect(Buffer.from(back.data).equals(all)).toBe(true);
  });

  it('sends and receives an empty text and an empty binary message', async () => {
    const { conn, messages } = await open();
    conn.sendText('');
    const text = await messages.next();
    expect(text.opcode).toBe(Opcode.Text);
    expect(text.text).toBe('');
    conn.sendBinary(new Uint8Array(0));
    const binary = await messages.next();
    expect(binary.opcode).toBe(Opcode.Binary);
    expect(binary.data.length).toBe(0);
  });

  it('sends a 16 MiB binary message and gets it back byte-exact', async () => {
    const { conn, messages } = await open();
    const big = randomBytes(16 * MiB);
    conn.sendBinary(big);
    const back = await messages.next(25_000, 'the 16 MiB echo');
    expect(back.opcode).toBe(Opcode.Binary);
    expect(back.data.length).toBe(big.length);
    expect(sha256(back.data)).toBe(sha256(big));
  });

  it('sends fragmented messages (conn.sendFragmented) that python reassembles', async () => {
    const { conn, messages } = await open();
    const text = 'Hello, fragmented ✓ world';
    conn.sendFragmented(Opcode.Text, utf8(text), [3, 4, 12]);
    const back = await messages.next();
    expect(back.text).toBe(text);
    const out = framesOf(events, conn.id, 'out');
    expect(out.map((e) => [e.frame.opcode, e.frame.fin, e.frame.masked])).toEqual([
      [Opcode.Text, false, true], [Opcode.Continuation, false, true], [Opcode.Continuation, false, true], [Opcode.Continuation, true, true],
    ]);
    const bytes = randomBytes(70_000);
    conn.sendFragmented(Opcode.Binary, bytes, [1, 65_535, 10]);
    const backBinary = await messages.next();
    expect(backBinary.opcode).toBe(Opcode.Binary);
    expect(Buffer.from(backBinary.data).equals(bytes)).toBe(true);
  });

  it('reassembles fragmented messages python sends (iterable send)', async () => {
    const { conn, messages, command } = await open();
    command({ op: 'fragments', parts: ['Hel', 'lo ', '✓'] });
    const text = await messages.next();
    expect(text.opcode).toBe(Opcode.Text);
    expect(text.text).toBe('Hello ✓');
    const inMessage = events.find((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.direction === 'in' && e.connectionId === conn.id);
    expect(inMessage?.frameIds.length).toBeGreaterThanOrEqual(3);
    const frames = framesOf(events, conn.id, 'in');
    expect(frames[0]?.frame).toMatchObject({ opcode: Opcode.Text, fin: false, masked: false });
    expect(frames.slice(1).every((e) => e.frame.opcode === Opcode.Continuation && !e.frame.masked)).toBe(true);
    expect(frames.at(-1)?.frame.fin).toBe(true);

    command({ op: 'fragments', parts_hex: ['0102', '03', '040506'] });
    const binary = await messages.next();
    expect(binary.opcode).toBe(Opcode.Binary);
    expect([...binary.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('conn.ping gets the python pong with the same payload (onPong)', async () => {
    const { conn, pongs } = await open();
    for (const payload of [utf8('ping from our client ✓'), new Uint8Array(0), new Uint8Array(randomBytes(125))]) {
      conn.ping(payload);
      const pong = await pongs.next(5000, 'onPong');
      expect(Buffer.from(pong).equals(Buffer.from(payload))).toBe(true);
    }
  });

  it('answers a python ping with a pong carrying the same payload (and reports onPing)', async () => {
    const { messages, pings, command } = await open();
    const payload = Buffer.from('ping from python ✓');
    command({ op: 'ping', hex: payload.toString('hex') });
    const result = await messages.next(10_000, 'the ping result');
    expect(result.text?.startsWith('__result__ ')).toBe(true);
    expect(JSON.parse(result.text!.slice('__result__ '.length))).toMatchObject({ op: 'ping', ok: true });
    expect(Buffer.from(await pings.next()).equals(payload)).toBe(true);
  });

  it('close started by our client: python sees 4000 "bye ✓", our CloseInfo is clean', async () => {
    const { conn, closesReceived, pyClosed } = await open();
    conn.close(4000, 'bye ✓');
    expect(await withTimeout(conn.closed(), 10_000, 'our close')).toEqual({ code: 4000, reason: 'bye ✓', wasClean: true });
    expect(await closesReceived.next()).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(await pyClosed()).toMatchObject({ code: 4000, reason: 'bye ✓' });
  });

  it('close started by python: we see 4002 "py bye ✓", echo it, and close cleanly', async () => {
    const { conn, closesReceived, pyClosed, command } = await open();
    command({ op: 'close', code: 4002, reason: 'py bye ✓' });
    expect(await closesReceived.next()).toEqual({ code: 4002, reason: 'py bye ✓' });
    expect(await withTimeout(conn.closed(), 10_000, 'our close')).toEqual({ code: 4002, reason: 'py bye ✓', wasClean: true });
    expect(await pyClosed()).toMatchObject({ code: 4002, reason: 'py bye ✓' });
  });

  it('traces the handshake (ok, accept matches) and masks every client→server frame', async () => {
    const { conn, key, messages } = await open();
    conn.sendText('traced ✓');
    await messages.next();
    const closed = conn.closed();
    conn.close(1000, 'done');
    await withTimeout(closed, 10_000, 'close');
    const pyOpen = pyEvents.find((e) => e['event'] === 'open' && e['key'] === key);
    expect(pyOpen?.['path']).toBe('/py/path?x=1');
    const mine = events.filter((e) => e.connectionId === conn.id);
    const handshake = mine.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake');
    expect(handshake).toMatchObject({ side: 'client', ok: true, status: 101 });
    expect(handshake!.accept?.accept).toBe(expectedAccept(key));
    expect(handshake!.acceptOnWire).toBe(expectedAccept(key));
    const out = framesOf(events, conn.id, 'out');
    expect(out.map((e) => e.frame.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    for (const e of out) {
      expect(e.frame.masked).toBe(true);
      expect(e.frame.maskKey).toHaveLength(4);
    }
    for (const e of framesOf(events, conn.id, 'in')) expect(e.frame.masked).toBe(false);
    expect(mine.find((e) => e.type === 'connection-closed')).toMatchObject({ wasClean: true, code: 1000, reason: 'done' });
  });
});
