/**
 * The inspector service (no electron) against real peers: the `ws` npm package as client of
 * the embedded server and as server for the service's client connections. 127.0.0.1, port 0.
 */

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { Opcode } from '../../src/core/constants.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import type { ServiceBatch } from '../../src/shared/inspector-api.ts';
import { latestStatus } from '../../src/shared/status-patch.ts';
import { acceptsTcp, AsyncQueue, eventually, openWs, REFUSED_PORT, withTimeout, wsClosed, wsMessages, type WsMessage } from '../core/net/helpers.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

type FrameEvent = Extract<TraceEvent, { type: 'frame' }>;
type MessageEvent = Extract<TraceEvent, { type: 'message' }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A service plus everything it pushed. */
function makeService(batchIntervalMs = 10) {
  const service = new InspectorService({ batchIntervalMs, host: '127.0.0.1', port: 0 });
  const batches: ServiceBatch[] = [];
  const events: TraceEvent[] = [];
  service.onBatch((batch) => {
    batches.push(batch);
    events.push(...eventsOf(batch));
  });
  return { service, batches, events };
}

function frames(events: readonly TraceEvent[], connectionId: string, direction?: 'in' | 'out'): FrameEvent[] {
  return events.filter((e): e is FrameEvent => e.type === 'frame' && e.connectionId === connectionId && (direction === undefined || e.direction === direction));
}

function isMessage(e: TraceEvent): e is MessageEvent {
  return e.type === 'message';
}

/** Where a `ws` server delivers its server-side sockets and their messages. */
interface WsPeer {
  ws: WebSocket;
  messages: AsyncQueue<WsMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A `ws` echo server; each accepted socket is queued with its message queue. */
async function startWsEcho(): Promise<{ server: WsServer; url: string; peers: AsyncQueue<WsPeer> }> {
  const server = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const peers = new AsyncQueue<WsPeer>();
  server.on('connection', (ws) => {
    const messages = wsMessages(ws);
    const closed = wsClosed(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
    peers.push({ ws, messages, closed });
  });
  const port = (server.address() as AddressInfo).port;
  return { server, url: `ws://127.0.0.1:${port}/`, peers };
}

function closeWsServer(server: WsServer): Promise<void> {
  for (const ws of server.clients) ws.terminate();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ====================================================================================== server

describe('InspectorService: embedded server', () => {
  let ctx: ReturnType<typeof makeService>;
  const clients: WebSocket[] = [];

  beforeEach(() => {
    ctx = makeService(10);
  });
  afterEach(async () => {
    for (const ws of clients.splice(0)) ws.terminate();
    await ctx.service.dispose();
  });

  async function client(url: string): Promise<WebSocket> {
    const ws = await openWs(url);
    ws.on('error', () => {});
    clients.push(ws);
    return ws;
  }

  it('starts, reports running, traces a ws client through handshake and frames', async () => {
    const { service, events, batches } = ctx;
    const result = await service.startServer({ host: '127.0.0.1', port: 0 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);

    const status = service.getStatus();
    expect(status.server.running).toBe(true);
    expect(status.server.url).toBe(result.url);
    expect(status.server.port).toBeGreaterThan(0);
    expect(status.server.error).toBeNull();
    expect(status.server.warning).toBeNull();

    const ws = await client(result.url);
    const messages = wsMessages(ws);
    await eventually(() => service.getStatus().connections.some((c) => c.role === 'server' && c.state === 'OPEN'), 5000, 'a server connection in OPEN');
    const summary = service.getStatus().connections.find((c) => c.role === 'server')!;
    expect(summary.remote).toMatch(/^127\.0\.0\.1:\d+$/);

    ws.send('hello inspector');
    const echo = await messages.next(5000, 'the echo');
    expect(echo.data.toString('utf8')).toBe('hello inspector');

    await eventually(() => frames(events, summary.id, 'out').length > 0, 5000, 'the echo frame in a batch');
    expect(events.some((e) => e.type === 'connection-opened' && e.connectionId === summary.id && e.role === 'server')).toBe(true);
    expect(events.some((e) => e.type === 'handshake' && e.connectionId === summary.id && e.ok && e.side === 'server' && e.status === 101)).toBe(true);
    const inFrame = frames(events, summary.id, 'in').find((f) => f.frame.opcode === Opcode.Text)!;
    expect(inFrame.frame.masked).toBe(true);
    expect(new TextDecoder().decode(inFrame.frame.payload)).toBe('hello inspector');
    const outFrame = frames(events, summary.id, 'out').find((f) => f.frame.opcode === Opcode.Text)!;
    expect(outFrame.frame.masked).toBe(false);
    expect(events.some((e) => isMessage(e) && e.connectionId === summary.id && e.direction === 'in' && e.text === 'hello inspector')).toBe(true);
    // Status rides along in batches when it changes (a connection's change: in a status patch).
    expect(batches.some((b) => (b.status?.connections ?? b.statusPatch?.connections)?.some((c) => c.id === summary.id && c.state === 'OPEN'))).toBe(true);
    // Sequence numbers arrive in order across batches.
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const closed = wsClosed(ws);
    ws.close(1000, 'done');
    expect((await withTimeout(closed, 5000, 'ws close')).code).toBe(1000);
    await eventually(() => service.getStatus().connections.find((c) => c.id === summary.id)?.state === 'CLOSED', 5000, 'CLOSED in status');
  });

  it('batches: 500 fast messages arrive in few batches, none lost', async () => {
    const batched = makeService(50);
    try {
      const { service } = batched;
      const result = await service.startServer({ host: '127.0.0.1', port: 0, app: 'echo' });
      if (!result.ok) throw new Error(result.error);
      const ws = await client(result.url);
      const messages = wsMessages(ws);
      await eventually(() => service.getStatus().connections.some((c) => c.role === 'server' && c.state === 'OPEN'), 5000, 'OPEN');
      await sleep(120); // let the opening batches go out

      // Each batch's events, read while its listener runs (the service lends its buffers for that long).
      const counted: TraceEvent[][] = [];
      let lastBatchAt = 0;
      const off = service.onBatch((b) => {
        counted.push(eventsOf(b));
        lastBatchAt = performance.now();
      });
      const started = performance.now();
      for (let i = 0; i < 500; i++) ws.send(`message ${i}`);
      const inCount = () => counted.reduce((n, b) => n + b.filter((e) => e.type === 'message' && e.direction === 'in').length, 0);
      await eventually(() => inCount() >= 500, 10_000, '500 incoming messages in batches');
      for (let i = 0; i < 500; i++) await messages.next(5000, `echo ${i}`);
      await sleep(150); // the last echo frames' batch
      off();

      expect(inCount()).toBe(500);
      const totalEvents = counted.reduce((n, b) => n + b.length, 0);
      const elapsed = lastBatchAt - started;
      // 500 in + 500 out messages, with their frames (and raw bytes): thousands of events.
      expect(totalEvents).toBeGreaterThanOrEqual(2000);
      expect(counted.length).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
      expect(counted.length * 20).toBeLessThan(totalEvents);
      const texts = counted.flat().filter((e): e is MessageEvent => isMessage(e) && e.direction === 'in').map((e) => e.text);
      expect(texts).toEqual(Array.from({ length: 500 }, (_, i) => `message ${i}`));
    } finally {
      await batched.service.dispose();
    }
  });

  it('reports a port in use in plain words, without throwing', async () => {
    const blocker: NetServer = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await ctx.service.startServer({ host: '127.0.0.1', port });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error).toMatch(/already in use/);
      expect(result.error).toContain(String(port));
      const status = ctx.service.getStatus();
      expect(status.server.running).toBe(false);
      expect(status.server.url).toBeNull();
      expect(status.server.error).toMatch(/already in use/);
      await eventually(() => ctx.batches.some((b) => b.status?.server.error?.includes('already in use') === true), 2000, 'the error in a pushed status');
      // A later start on a free port clears the error.
      const again = await ctx.service.startServer({ host: '127.0.0.1', port: 0 });
      expect(again.ok).toBe(true);
      expect(ctx.service.getStatus().server.error).toBeNull();
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('maxConnections: the server it starts answers one client too many with 503; idleTimeoutMs closes a silent one with 1001', async () => {
    const result = await ctx.service.startServer({ host: '127.0.0.1', port: 0, maxConnections: 1, idleTimeoutMs: 300 });
    if (!result.ok) throw new Error(result.error);
    const first = await client(result.url);
    const refused = await withTimeout(new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(result.url);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => reject(new Error('a second client got in over maxConnections: 1')));
      ws.on('error', () => {});
    }), 5000, 'the second client to be refused');
    expect(refused).toBe(503);
    // The first one stays silent: closed with 1001 Going Away once idle.
    expect(await withTimeout(wsClosed(first), 5000, 'the idle close')).toEqual({ code: 1001, reason: 'idle for 300 ms' });
  });

  it('a bad maxConnections or idleTimeoutMs is refused with ok:false and leaves the running server alone', async () => {
    const started = await ctx.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!started.ok) throw new Error(started.error);
    expect(await ctx.service.startServer({ host: '127.0.0.1', port: 0, maxConnections: 0 })).toEqual({ ok: false, error: expect.stringMatching(/maxConnections must be a whole number from 1/) });
    expect(await ctx.service.startServer({ host: '127.0.0.1', port: 0, idleTimeoutMs: 1.5 })).toEqual({ ok: false, error: expect.stringMatching(/idleTimeoutMs must be a whole number/) });
    expect(ctx.service.getStatus().server).toMatchObject({ running: true, url: started.url });
    await client(started.url);
  });

  it('rejects a bad port number with ok:false', async () => {
    const result = await ctx.service.startServer({ port: 70_000 });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/0 to 65535/) });
    expect(ctx.service.getStatus().server.running).toBe(false);
  });

  it('setServerApp: manual stops echoing, chat broadcasts', async () => {
    const { service } = ctx;
    const result = await service.startServer({ host: '127.0.0.1', port: 0, app: 'echo' });
    if (!result.ok) throw new Error(result.error);
    const a = await client(result.url);
    const b = await client(result.url);
    const aMessages = wsMessages(a);
    const bMessages = wsMessages(b);
    await eventually(() => service.getStatus().connections.filter((c) => c.role === 'server' && c.state === 'OPEN').length === 2, 5000, 'two OPEN');

    expect(service.setServerApp('manual')).toEqual({ ok: true });
    expect(service.getStatus().server.app).toBe('manual');
    a.send('anyone there?');
    await expect(aMessages.next(300, 'no reply')).rejects.toThrow(/timed out/);
    expect(bMessages.size).toBe(0);

    expect(service.setServerApp('chat')).toEqual({ ok: true });
    a.send('hi all');
    const got = await bMessages.next(5000, 'the broadcast');
    expect(got.data.toString('utf8')).toBe('hi all');
    await expect(aMessages.next(200, 'nothing back to the sender')).rejects.toThrow(/timed out/);

    // The server keeps its connections through the switch; echo again.
    expect(service.setServerApp('echo')).toEqual({ ok: true });
    b.send('echo me');
    expect((await bMessages.next(5000, 'echo')).data.toString('utf8')).toBe('echo me');
    // And an unknown app is refused (the IPC layer validates, the service checks too).
    expect(service.setServerApp('nope' as never).ok).toBe(false);
  });

  it('dropConnection on a server connection: the ws client sees 1006', async () => {
    const result = await ctx.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!result.ok) throw new Error(result.error);
    const ws = await client(result.url);
    await eventually(() => ctx.service.getStatus().connections.some((c) => c.role === 'server' && c.state === 'OPEN'), 5000, 'OPEN');
    const id = ctx.service.getStatus().connections.find((c) => c.role === 'server')!.id;
    const closed = wsClosed(ws);
    expect(ctx.service.dropConnection(id)).toEqual({ ok: true });
    expect((await withTimeout(closed, 5000, 'ws close')).code).toBe(1006);
  });

  it('stopServer stops listening and closes ws clients with 1001', async () => {
    const result = await ctx.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!result.ok) throw new Error(result.error);
    const ws = await client(result.url);
    await eventually(() => ctx.service.getStatus().connections.some((c) => c.role === 'server' && c.state === 'OPEN'), 5000, 'OPEN');
    const closed = wsClosed(ws);
    expect(await ctx.service.stopServer()).toEqual({ ok: true });
    expect((await withTimeout(closed, 5000, 'ws close')).code).toBe(1001);
    expect(ctx.service.getStatus().server.running).toBe(false);
    expect(ctx.service.getStatus().server.url).toBeNull();
  });

  it('a stop asked while a (re)start is under way comes after it: nothing is left listening', async () => {
    // A restart (another app, say) and then Stop, the second before the first has finished (two
    // clicks, or two pages): the start's end must not undo the stop, nor outlive it listening.
    const first = await ctx.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!first.ok) throw new Error(first.error);
    const restarting = ctx.service.startServer({ host: '127.0.0.1', port: 0, app: 'chat' });
    const stopping = ctx.service.stopServer();
    const [restarted, stopped] = await Promise.all([restarting, stopping]);
    expect(stopped).toEqual({ ok: true });
    expect(ctx.service.getStatus().server).toMatchObject({ running: false, url: null });
    for (const url of [first.url, ...(restarted.ok ? [restarted.url] : [])]) {
      expect(await acceptsTcp(url), url).toBe(false);
    }
    // And the other way round: a start asked while a stop is under way comes after it.
    const stoppingAgain = ctx.service.stopServer();
    const startingAgain = ctx.service.startServer({ host: '127.0.0.1', port: 0 });
    const [, again] = await Promise.all([stoppingAgain, startingAgain]);
    if (!again.ok) throw new Error(again.error);
    expect(ctx.service.getStatus().server).toMatchObject({ running: true, url: again.url });
    expect(await acceptsTcp(again.url)).toBe(true);
  });
});

// ====================================================================================== client

describe('InspectorService: client connections to a ws server', () => {
  let echo: Awaited<ReturnType<typeof startWsEcho>>;
  let forbidden: HttpServer;
  let forbiddenUrl = '';
  let ctx: ReturnType<typeof makeService>;

  beforeAll(async () => {
    echo = await startWsEcho();
    forbidden = createHttpServer((_req, res) => res.writeHead(403).end());
    forbidden.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve) => forbidden.listen(0, '127.0.0.1', resolve));
    forbiddenUrl = `ws://127.0.0.1:${(forbidden.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await closeWsServer(echo.server);
    forbidden.closeAllConnections();
    await new Promise<void>((resolve) => forbidden.close(() => resolve()));
  });
  beforeEach(() => {
    ctx = makeService(10);
    echo.peers.clear();
  });
  afterEach(async () => {
    await ctx.service.dispose();
  });

  async function connect(): Promise<{ id: string; peer: WsPeer }> {
    const result = await ctx.service.connectClient({ url: echo.url });
    if (!result.ok) throw new Error(result.error);
    const peer = await echo.peers.next(5000, 'the ws server connection');
    return { id: result.id, peer };
  }

  it('connects, and the status lists an OPEN client connection', async () => {
    const result = await ctx.service.connectClient({ url: echo.url });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.id).toEqual(expect.any(String));
    await echo.peers.next(5000, 'the ws server connection');
    const summary = ctx.service.getStatus().connections.find((c) => c.id === result.id);
    expect(summary).toMatchObject({ role: 'client', state: 'OPEN', url: echo.url });
    await eventually(() => ctx.events.some((e) => e.type === 'handshake' && e.connectionId === result.id && e.ok && e.side === 'client'), 2000, 'the client handshake in a batch');
  });

  it('sends text, binary (hex), fragmented text, ping, and close', async () => {
    const { id, peer } = await connect();
    const { service, events } = ctx;

    expect(service.send({ connectionId: id, kind: 'text', text: 'hi ✓' })).toEqual({ ok: true });
    const text = await peer.messages.next(5000, 'text at ws');
    expect(text.isBinary).toBe(false);
    expect(text.data.toString('utf8')).toBe('hi ✓');

    expect(service.send({ connectionId: id, kind: 'binary', hex: '00 ff 10 80' })).toEqual({ ok: true });
    const binary = await peer.messages.next(5000, 'binary at ws');
    expect(binary.isBinary).toBe(true);
    expect([...binary.data]).toEqual([0x00, 0xff, 0x10, 0x80]);

    // Fragmented: two frames out (Text FIN=0 "Hel", Continuation FIN=1 "lo"), one message at ws.
    await sleep(30);
    const before = frames(events, id, 'out').length;
    expect(service.send({ connectionId: id, kind: 'text', text: 'Hello', fragments: [3, 2] })).toEqual({ ok: true });
    const whole = await peer.messages.next(5000, 'fragmented text at ws');
    expect(whole.isBinary).toBe(false);
    expect(whole.data.toString('utf8')).toBe('Hello');
    await eventually(() => frames(events, id, 'out').length >= before + 2, 2000, 'two fragment frames');
    const fragmentFrames = frames(events, id, 'out').slice(before, before + 2).map((f) => f.frame);
    expect(fragmentFrames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)])).toEqual([
      [Opcode.Text, false, 'Hel'],
      [Opcode.Continuation, true, 'lo'],
    ]);
    expect(fragmentFrames.every((f) => f.masked)).toBe(true);

    // Ping: ws answers with a pong carrying the same payload.
    const pinged = withTimeout(new Promise<Buffer>((resolve) => peer.ws.once('ping', (data: Buffer) => resolve(data))), 5000, 'ping at ws');
    expect(service.send({ connectionId: id, kind: 'ping', text: 'are you there' })).toEqual({ ok: true });
    expect((await pinged).toString('utf8')).toBe('are you there');
    await eventually(() => frames(events, id, 'in').some((f) => f.frame.opcode === Opcode.Pong), 5000, 'a pong frame in the trace');
    const pong = frames(events, id, 'in').find((f) => f.frame.opcode === Opcode.Pong)!;
    expect(new TextDecoder().decode(pong.frame.payload)).toBe('are you there');

    // Close with a code and reason; ws sees both, and the closing handshake completes.
    expect(service.send({ connectionId: id, kind: 'close', code: 4000, reason: 'bye' })).toEqual({ ok: true });
    expect(await withTimeout(peer.closed, 5000, 'close at ws')).toEqual({ code: 4000, reason: 'bye' });
    await eventually(() => ctx.service.getStatus().connections.find((c) => c.id === id)?.state === 'CLOSED', 5000, 'CLOSED in status');
    await eventually(() => events.some((e) => e.type === 'connection-closed' && e.connectionId === id), 2000, 'connection-closed in a batch');
    const closedEvent = events.find((e) => e.type === 'connection-closed' && e.connectionId === id);
    expect(closedEvent).toMatchObject({ wasClean: true, code: 4000, reason: 'bye' });
  });

  it('refuses to send after close, with a message and no throw', async () => {
    const { id, peer } = await connect();
    expect(ctx.service.send({ connectionId: id, kind: 'close', code: 1000, reason: '' }).ok).toBe(true);
    // Straight away (CLOSING) and once closed (gone): ok:false with a message either way.
    const closing = ctx.service.send({ connectionId: id, kind: 'text', text: 'too late' });
    expect(closing.ok).toBe(false);
    if (!closing.ok) expect(closing.error).toMatch(/\w/);
    await withTimeout(peer.closed, 5000, 'close at ws');
    await eventually(() => ctx.service.getStatus().connections.find((c) => c.id === id)?.state === 'CLOSED', 5000, 'CLOSED');
    const after = ctx.service.send({ connectionId: id, kind: 'text', text: 'too late' });
    expect(after.ok).toBe(false);
    if (!after.ok) expect(after.error.length).toBeGreaterThan(0);
  });

  it('returns ok:false for a send the protocol refuses (bad hex, bad close code)', async () => {
    const { id } = await connect();
    const badHex = ctx.service.send({ connectionId: id, kind: 'binary', hex: 'zz' });
    expect(badHex.ok).toBe(false);
    const badCode = ctx.service.send({ connectionId: id, kind: 'close', code: 1005, reason: '' });
    expect(badCode.ok).toBe(false);
    if (!badCode.ok) expect(badCode.error).toMatch(/1005/);
    const bigPing = ctx.service.send({ connectionId: id, kind: 'ping', text: 'x'.repeat(126) });
    expect(bigPing.ok).toBe(false);
  });

  it('send and dropConnection to an unknown id: ok:false', () => {
    const sent = ctx.service.send({ connectionId: 'no-such-id', kind: 'text', text: 'x' });
    expect(sent.ok).toBe(false);
    if (!sent.ok) expect(sent.error).toContain('no-such-id');
    expect(ctx.service.dropConnection('no-such-id').ok).toBe(false);
  });

  it('dropConnection: the ws server sees an abnormal close (1006)', async () => {
    const { id, peer } = await connect();
    expect(ctx.service.dropConnection(id)).toEqual({ ok: true });
    expect((await withTimeout(peer.closed, 5000, 'close at ws')).code).toBe(1006);
    await eventually(() => ctx.service.getStatus().connections.find((c) => c.id === id)?.state === 'CLOSED', 5000, 'CLOSED');
  });

  it.each([
    ['nope', /not a URL/],
    ['wss://127.0.0.1/#frag', /fragment/],
    ['ftp://127.0.0.1/', /not a WebSocket scheme/],
    ['ws://127.0.0.1/#frag', /fragment/],
  ])('a bad URL %s gives ok:false with a plain message', async (url, pattern) => {
    const result = await ctx.service.connectClient({ url });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(pattern);
  });

  it('a malformed header line gives ok:false', async () => {
    const result = await ctx.service.connectClient({ url: echo.url, headers: ['no colon here'] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/Name: value/);
  });

  it('a refused port gives ok:false mentioning refused, and the service keeps working', async () => {
    const result = await ctx.service.connectClient({ url: `ws://127.0.0.1:${REFUSED_PORT}/` });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/refused/i);
    // The failed attempt shows as CLOSED with the reason.
    await eventually(() => ctx.service.getStatus().connections.some((c) => c.state === 'CLOSED' && /refused/i.test(c.detail ?? '')), 2000, 'the failed attempt in status');
    const { peer } = await connect();
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a server answering 403 gives ok:false mentioning 403, and the service keeps working', async () => {
    const result = await ctx.service.connectClient({ url: forbiddenUrl });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/403/);
    const { id, peer } = await connect();
    expect(ctx.service.send({ connectionId: id, kind: 'text', text: 'still fine' }).ok).toBe(true);
    expect((await peer.messages.next(5000, 'text')).data.toString('utf8')).toBe('still fine');
  });
});

// ====================================================================================== dispose

describe('InspectorService: dispose', () => {
  it('closes the server (new connections refused) and every client connection', async () => {
    const echo = await startWsEcho();
    const { service } = makeService(10);
    try {
      const started = await service.startServer({ host: '127.0.0.1', port: 0 });
      if (!started.ok) throw new Error(started.error);
      const port = service.getStatus().server.port;
      const inbound = await openWs(started.url);
      inbound.on('error', () => {});
      const inboundClosed = wsClosed(inbound);
      const connected = await service.connectClient({ url: echo.url });
      expect(connected.ok).toBe(true);
      const outbound = await echo.peers.next(5000, 'the ws server connection');

      await withTimeout(service.dispose(), 5000, 'dispose');

      expect(service.getStatus().server.running).toBe(false);
      await withTimeout(inboundClosed, 5000, 'inbound ws closed');
      await withTimeout(outbound.closed, 5000, 'outbound ws closed');
      const refused = await withTimeout(new Promise<string | undefined>((resolve) => {
        const socket = netConnect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      }), 5000, 'a connection attempt after dispose');
      expect(refused).toBe('ECONNREFUSED');
    } finally {
      await closeWsServer(echo.server);
    }
  });
});

// ====================================================================================== long sessions

describe('InspectorService: a client that keeps reconnecting', () => {
  it('lists only the newest closed connections (keepClosedConnections), open ones always', async () => {
    const service = new InspectorService({ batchIntervalMs: 10, keepClosedConnections: 3 });
    const batches: ServiceBatch[] = [];
    service.onBatch((b) => batches.push(b));
    try {
      const started = await service.startServer({ host: '127.0.0.1', port: 0 });
      if (!started.ok) throw new Error(started.error);
      const stays = await openWs(started.url);
      const closedIds: string[] = [];
      for (let i = 0; i < 6; i++) {
        const ws = await openWs(started.url);
        const closed = wsClosed(ws);
        ws.close(1000, `bye ${i}`);
        await withTimeout(closed, 5000, `client ${i} closed`);
        await eventually(() => service.getStatus().connections.some((c) => c.state === 'CLOSED' && c.detail?.includes(`bye ${i}`) === true), 5000, `client ${i} listed as closed`);
        closedIds.push(service.getStatus().connections.find((c) => c.detail?.includes(`bye ${i}`))!.id);
      }
      const status = service.getStatus();
      expect(status.connections.filter((c) => c.state === 'CLOSED').map((c) => c.id)).toEqual(closedIds.slice(-3));
      expect(status.connections.filter((c) => c.state === 'OPEN')).toHaveLength(1);
      // The pushed status says the same, so the renderer can forget the others.
      const lastPushed = () => latestStatus(batches).status?.connections.map((c) => c.id).join(' ');
      await eventually(() => lastPushed() === status.connections.map((c) => c.id).join(' '), 5000, 'the pushed status to list the same connections');
      stays.close();
    } finally {
      await service.dispose();
    }
  });
});
