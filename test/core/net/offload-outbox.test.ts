/**
 * Large messages compressed off the event loop (offload-outbox.ts), against the ws package with
 * perMessageDeflate (context takeover both ways, so one byte out of order or a window out of step
 * fails ws's inflate): order kept with small, fragmented and binary messages, Pings not held,
 * a Close after them, the peer's Close answered after our echo, a dropped connection, backpressure.
 */

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { OFFLOAD_MIN_BYTES } from '../../../src/core/net/offload-outbox.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { eventually, withTimeout, wsClosed, wsMessages } from './helpers.ts';

/** JSON-like text of n bytes, different for each variant (so context takeover cannot make it a few bytes). */
function json(n: number, variant: number): string {
  let out = '[';
  for (let i = 0; out.length < n; i++) out += JSON.stringify({ id: variant * 1000 + i, name: `user ${(i * 7 + variant) % 311}`, ok: i % 3 === 0 }) + ',';
  return out.slice(0, n);
}

const big = OFFLOAD_MIN_BYTES * 4;
v8.setFlagsFromString('--expose-gc'); // a collection on demand: vm.runInNewContext('gc')
let wsServer: WsServer;
let wsUrl: string;
/** What the ws server received, per connection, in order (pings as "ping:…"). */
const received: string[][] = [];

beforeAll(async () => {
  wsServer = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  await new Promise<void>((resolve) => wsServer.once('listening', () => resolve()));
  wsUrl = `ws://127.0.0.1:${(wsServer.address() as AddressInfo).port}/`;
  wsServer.on('connection', (socket) => {
    const log: string[] = [];
    received.push(log);
    socket.on('ping', (data) => log.push(`ping:${data.toString()}`));
    socket.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      log.push(isBinary ? `binary:${bytes.toString('hex')}` : bytes.toString('utf8'));
      socket.send(bytes, { binary: isBinary });
    });
  });
});

afterAll(async () => {
  for (const c of wsServer.clients) c.terminate();
  await new Promise((resolve) => wsServer.close(resolve));
});

async function openOurClient(tracer?: Tracer) {
  const echoes: string[] = [];
  const client = connectClient(wsUrl, { onMessage: (_c, m) => echoes.push(m.text ?? `binary:${Buffer.from(m.data).toString('hex')}`) }, tracer ? { tracer } : {});
  const conn = await withTimeout(client.opened, 10_000, 'our client to open');
  expect(conn.protocol.agreedExtension?.name).toBe('permessage-deflate');
  return { conn, echoes, log: received[received.length - 1]! };
}

describe('large messages compressed off the event loop, to a ws peer (perMessageDeflate, context takeover)', () => {
  it('leave in the order sent, mixed with small, binary and fragmented ones; ws inflates each and echoes it back intact', async () => {
    const { conn, echoes, log } = await openOurClient();
    const binary = randomBytes(big);
    const sent = [json(big, 1), 'small', json(OFFLOAD_MIN_BYTES * 10, 2), `binary:${binary.toString('hex')}`, json(300, 3), json(big, 4), 'fragmented ✓'];
    conn.sendText(sent[0]!);
    // Queued (plain size counted) rather than compressed on the spot: compressed, it would be a fraction of that.
    expect(conn.bufferedAmount).toBeGreaterThanOrEqual(big);
    conn.sendText(sent[1]!);
    conn.sendText(sent[2]!);
    conn.sendBinary(binary);
    conn.sendText(sent[4]!);
    conn.sendText(sent[5]!);
    conn.sendFragmented(1, new TextEncoder().encode(sent[6]!), [4, 4]);
    await eventually(() => echoes.length === sent.length, 20_000, 'all echoes');
    expect(log).toEqual(sent);
    expect(echoes).toEqual(sent);
    conn.close(1000);
    await conn.closed();
  });

  it('a large text is encoded to UTF-8 once: the bytes compressed off the event loop are the ones the protocol sends (non-ASCII arrives intact)', async () => {
    const { conn, echoes, log } = await openOurClient();
    const text = `${json(big, 9)}héllo ✓ 🎉`;
    const extension = conn.protocol.extensionInForce!;
    const compressed: Uint8Array[] = [];
    const prepare = extension.prepareMessage!.bind(extension);
    extension.prepareMessage = (opcode, pieces) => (compressed.push(pieces[0]!), prepare(opcode, pieces));
    const handed: (Uint8Array | undefined)[] = [];
    const sendText = conn.protocol.sendText.bind(conn.protocol);
    conn.protocol.sendText = (t: string, utf8?: Uint8Array) => (handed.push(utf8), sendText(t, utf8));
    conn.sendText(text);
    await eventually(() => echoes.length === 1, 20_000, 'the echo');
    expect(compressed.length).toBe(1);
    expect(handed).toEqual([compressed[0]]);
    expect(handed[0]).toBe(compressed[0]);
    expect(log).toEqual([text]);
    expect(echoes).toEqual([text]);
    conn.close(1000);
    await conn.closed();
  });

  it('a Ping sent after a large message is not held behind it (control frames may go between messages, RFC 6455 §5.4)', async () => {
    const { conn, log } = await openOurClient();
    const text = json(OFFLOAD_MIN_BYTES * 64, 5); // 2 MiB: compressing takes far longer than a Ping's trip
    conn.sendText(text);
    conn.ping(new TextEncoder().encode('between'));
    await eventually(() => log.length === 2, 20_000, 'the ping and the message');
    expect(log[0]).toBe('ping:between');
    expect(log[1]).toBe(text);
    conn.close(1000);
    await conn.closed();
  });

  it('close() after large messages: the peer gets them, then the Close; a send after it is refused in plain words', async () => {
    const { conn, log } = await openOurClient();
    const texts = [json(big, 6), json(big, 7)];
    for (const t of texts) conn.sendText(t);
    conn.close(1000, 'done');
    expect(() => conn.sendText('late')).toThrow(/a Close is queued/);
    const info = await withTimeout(conn.closed(), 20_000, 'the close');
    expect(info).toMatchObject({ code: 1000, wasClean: true });
    expect(log).toEqual(texts);
  });

  it('the connection drops while a message is being compressed: nothing throws, and the trace says what was not sent', async () => {
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.subscribe((e) => events.push(e));
    const { conn } = await openOurClient(tracer);
    conn.sendText(json(OFFLOAD_MIN_BYTES * 64, 8));
    conn.sendText('behind it');
    conn.destroy();
    await withTimeout(conn.closed(), 10_000, 'the close');
    await eventually(() => events.some((e) => e.type === 'note' && /queued messages? (was|were) not sent/.test(e.text)), 10_000, 'the note');
    expect(conn.bufferedAmount).toBe(0);
  });

  it('messages waiting past the write mark pause reading; once sent, reading resumes and drained() resolves', async () => {
    const { conn, echoes } = await openOurClient();
    const texts = [0, 1, 2].map((v) => json(600 * 1024, 10 + v)); // 1.8 MB waiting > the 1 MiB mark
    for (const t of texts) conn.sendText(t);
    expect(conn.readingPaused).toBe(true);
    expect(conn.writableNeedsDrain).toBe(true);
    await withTimeout(conn.drained(), 20_000, 'drained()');
    await eventually(() => !conn.readingPaused, 20_000, 'reading to resume');
    await eventually(() => echoes.length === 3, 20_000, 'the echoes');
    expect(echoes).toEqual(texts);
    conn.close(1000);
    await conn.closed();
  });
});

describe('our echo server compressing large echoes off the event loop, to a ws client', () => {
  let server: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, traceBytes: false });
    url = (await server.listen()).url;
  });
  afterAll(() => server.close());

  it('a large message then the peer\'s Close at once: the echo goes out before our Close reply (RFC 6455 §5.5.1 "MAY delay")', async () => {
    const ws = new WebSocket(url, { perMessageDeflate: true });
    await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 10_000, 'ws to open');
    const messages = wsMessages(ws);
    const closed = wsClosed(ws);
    const text = json(OFFLOAD_MIN_BYTES * 16, 20);
    ws.send(text);
    // The echo is being compressed when the Close arrives (a read after the one with the message).
    setTimeout(() => ws.close(1000, 'bye'), 5);
    const echo = await messages.next(20_000, 'the echo');
    expect(echo.data.toString('utf8')).toBe(text);
    expect(await withTimeout(closed, 20_000, 'the close')).toEqual({ code: 1000, reason: 'bye' });
  });

  it('echoes stay exact while the client reads nothing, collections run, freed memory is reused and other clients drop mid-compression', async () => {
    // What an echo is made of is shared memory until it is written: the message's bytes (views of
    // the inflater's output) are compressed in the thread pool, then sit on our socket's queue.
    // CI once saw a dropped connection's compressor write into memory a later message reused.
    const gc = vm.runInNewContext('gc') as () => void;
    const ws = new WebSocket(url, { perMessageDeflate: true, maxPayload: 64 << 20 });
    await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 10_000, 'ws to open');
    const messages = wsMessages(ws);
    const sizes = [big, 100, OFFLOAD_MIN_BYTES, 70_000, 5, 300_000, 1 << 20, 4096, big + 1];
    const sent = sizes.map((n, i) => (i % 3 === 2 ? randomBytes(n) : Buffer.from(json(n, 300 + i))));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause(); // our echoes pile up on our side meanwhile
    for (const [i, m] of sent.entries()) ws.send(m, { binary: i % 3 === 2 });
    for (let round = 0; round < 3; round++) {
      // A client that leaves while its large incompressible echo is being compressed.
      const leaver = new WebSocket(url, { perMessageDeflate: true });
      await withTimeout(new Promise((resolve) => leaver.once('open', resolve)), 10_000, 'a client to open');
      leaver.on('message', () => leaver.terminate());
      leaver.send(randomBytes(4 << 20), () => setTimeout(() => leaver.terminate(), 5 + round * 10));
      await new Promise((resolve) => setTimeout(resolve, 30));
      gc();
      for (const n of sizes) Buffer.allocUnsafe(n).fill(0xa5);
    }
    socket.resume();
    for (const [i, m] of sent.entries()) {
      const echo = await messages.next(20_000, `echo ${i}`);
      expect(echo.data.equals(m), `echo ${i} (${m.length} bytes) differs from what was sent`).toBe(true);
    }
    ws.close(1000);
  });

  it('many clients at once, each sending large and small messages in turn, get every echo in order', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(async () => {
      const ws = new WebSocket(url, { perMessageDeflate: true });
      await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 10_000, 'ws to open');
      return ws;
    }));
    await Promise.all(clients.map(async (ws, k) => {
      const messages = wsMessages(ws);
      const texts = Array.from({ length: 8 }, (_, i) => json(i % 2 === 0 ? big + i : 100 + i, 100 * k + i));
      for (const t of texts) ws.send(t);
      for (const t of texts) expect((await messages.next(20_000, 'an echo')).data.toString('utf8')).toBe(t);
      ws.close(1000);
    }));
  });
});
