/**
 * Issue 10 §2, through the service: inputs that used to crash the process (a subprotocol "a b" or
 * "", a header name "Bad Name", CR/LF/NUL in a header value) get a plain ok:false and open no
 * socket, and a later request works; a failed startServer stops nothing and its bad host does not
 * stick; names that index a table ("__proto__", "constructor") are refused. And §6: byte stepping
 * has bounded input, work per call and answers.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { ByteStepLimits } from '../../src/core/byte-step-types.ts';
import { createHandlers } from '../../src/service/handlers.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { encodeWireJson } from '../../src/shared/wire-json.ts';
import { openWs, withTimeout, wsMessages } from '../core/net/helpers.ts';

let service: InspectorService;
const cleanup: Array<() => Promise<void> | void> = [];
/** Anything thrown where no one caught it, while a test ran: there must be none. */
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeEach(() => {
  service = new InspectorService({ batchIntervalMs: 10, host: '127.0.0.1', port: 0 });
  uncaught.length = 0;
  process.on('uncaughtException', onUncaught);
});
afterEach(async () => {
  process.off('uncaughtException', onUncaught);
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await service.dispose();
  expect(uncaught).toEqual([]);
});

/** A TCP listener that counts the connections it gets. */
async function recorder(): Promise<{ url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server: NetServer = createNetServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, sockets };
}

async function wsEcho(): Promise<string> {
  const server = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  server.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  cleanup.push(() => {
    for (const ws of server.clients) ws.terminate();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const crashInputs: Array<[string, { subprotocols?: string[]; headers?: string[] }, RegExp]> = [
  ['subprotocol "a b"', { subprotocols: ['a b'] }, /"a b" is not a valid subprotocol/],
  ['subprotocol ""', { subprotocols: [''] }, /cannot be empty/],
  ['header name "Bad Name"', { headers: ['Bad Name: x'] }, /"Bad Name" is not a valid header name/],
  ['CR/LF in a header value', { headers: ['X-Evil: a\r\n\r\nGET /smuggled HTTP/1.1'] }, /contains a CR/],
  ['LF in a header value', { headers: ['X-Evil: a\nInjected: 1'] }, /contains an LF/],
  ['NUL in a header value', { headers: ['X-Evil: a\0b'] }, /contains a NUL/],
];

describe('connectClient with inputs that used to crash the process', () => {
  it.each(crashInputs)('%s: service.connectClient answers ok:false, opens no socket, and a later request works', async (_what, extra, message) => {
    const target = await recorder();
    const result = await service.connectClient({ url: target.url, ...extra });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(message) });
    if (!result.ok) expect(result.error).not.toMatch(/\n/);
    await new Promise((r) => setTimeout(r, 100));
    expect(target.sockets).toHaveLength(0);
    // The service still works: a good connection opens and echoes.
    const good = await service.connectClient({ url: await wsEcho() });
    expect(good.ok).toBe(true);
  });

  it.each(crashInputs)('%s: the handler (IPC and web bridge) refuses it with a plain error', async (_what, extra, message) => {
    const handlers = createHandlers(service);
    const target = await recorder();
    expect(() => handlers.connectClient({ url: target.url, ...extra })).toThrow(message);
    expect(target.sockets).toHaveLength(0);
  });
});

describe('startServer: validate first, keep the old server until the new one listens', () => {
  async function startGood(): Promise<string> {
    const started = await service.startServer({ host: '127.0.0.1', port: 0 });
    if (!started.ok) throw new Error(started.error);
    return started.url;
  }

  async function assertEchoes(url: string): Promise<void> {
    const ws = await openWs(url);
    cleanup.push(() => ws.terminate());
    const messages = wsMessages(ws);
    ws.send('still here');
    expect((await messages.next(5000, 'the echo')).data.toString()).toBe('still here');
  }

  it.each([
    ['bad host', /"bad host" is not an IP address or a hostname/],
    ['a/b', /not an IP address or a hostname/],
    ['-leading.example', /not an IP address or a hostname/],
    ['[not-ipv6]', /not an IP address or a hostname/],
  ])('host %j: ok:false, the running server keeps running, and the bad host does not stick', async (host, message) => {
    const url = await startGood();
    const before = service.getStatus().server;
    const result = await service.startServer({ host });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(message) });
    const after = service.getStatus().server;
    expect(after).toMatchObject({ running: true, url, host: before.host, port: before.port });
    expect(after.error).toMatch(message);
    await assertEchoes(url);
    // The next call without a host uses the remembered, good one.
    const again = await service.startServer({});
    expect(again.ok).toBe(true);
    expect(service.getStatus().server.host).toBe('127.0.0.1');
    expect(service.getStatus().server.error).toBeNull();
  });

  it('a bad port while running: ok:false, still running', async () => {
    const url = await startGood();
    expect(await service.startServer({ port: 70_000 })).toEqual({ ok: false, error: expect.stringMatching(/0 to 65535/) });
    expect(service.getStatus().server).toMatchObject({ running: true, url });
    await assertEchoes(url);
  });

  it('a bad host while stopped: not remembered either', async () => {
    expect((await service.startServer({ host: 'bad host', port: 0 })).ok).toBe(false);
    expect(service.getStatus().server).toMatchObject({ running: false, host: '127.0.0.1', port: 0 });
    expect((await service.startServer({})).ok).toBe(true);
  });

  it('a port taken by another program: the running server keeps running and keeps its address', async () => {
    const url = await startGood();
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const taken = (blocker.address() as AddressInfo).port;
    const result = await service.startServer({ host: '127.0.0.1', port: taken });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/already in use/) });
    const status = service.getStatus().server;
    expect(status).toMatchObject({ running: true, url });
    expect(status.port).not.toBe(taken);
    await assertEchoes(url);
  });

  it('a restart on the very port the server holds (other settings) works: the old one makes way', async () => {
    const url = await startGood();
    const port = service.getStatus().server.port;
    const result = await service.startServer({ host: '127.0.0.1', port, app: 'manual', policy: 'observe' });
    expect(result).toEqual({ ok: true, url });
    expect(service.getStatus().server).toMatchObject({ running: true, app: 'manual', port });
  });

  it('a good new address: the new server listens, then the old one stops', async () => {
    const oldUrl = await startGood();
    const oldClient = await openWs(oldUrl);
    const closed = new Promise<number>((r) => oldClient.once('close', (code) => r(code)));
    const result = await service.startServer({ host: '127.0.0.1', port: 0 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.url).not.toBe(oldUrl);
    // The old server said goodbye properly (1001 Going Away, §7.4.1).
    expect(await withTimeout(closed, 5000, 'the old connection to close')).toBe(1001);
    await assertEchoes(result.url);
    await expect(openWs(oldUrl)).rejects.toThrow();
  });
});

describe('names that index a table are own properties only', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('app %j is refused by the handlers and the service', async (app) => {
    const handlers = createHandlers(service);
    expect(() => handlers.startServer({ app })).toThrow(/app must be one of echo, chat, manual/);
    expect(() => handlers.setServerApp(app)).toThrow(/app must be one of echo, chat, manual/);
    expect(service.setServerApp(app as never)).toEqual({ ok: false, error: expect.stringMatching(/Unknown application/) });
    expect(await service.startServer({ port: 0, app: app as never })).toEqual({ ok: false, error: expect.stringMatching(/Unknown application/) });
    expect(service.getStatus().server.app).toBe('echo');
  });
});

describe('byte stepping is bounded (§6: 8 MiB blocked the event loop 5.4 s and answered 36.5 MiB)', () => {
  it('8 MiB is refused in plain words, by the handler before parsing and by the service', () => {
    const hex = '00'.repeat(8 * 1024 * 1024);
    expect(() => createHandlers(service).byteStepStart({ hex, receiverRole: 'client' })).toThrow(/at most 1048576 bytes \(1 MiB\)/);
    expect(service.byteStepStart(hex, 'client')).toEqual({ ok: false, error: expect.stringMatching(/at most 1048576 bytes \(1 MiB\)/) });
    // Just over the cap, in compact hex the handler lets through: the service counts the bytes.
    expect(service.byteStepStart('00'.repeat(ByteStepLimits.maxInput + 1), 'client')).toEqual({ ok: false, error: expect.stringMatching(/These are 1048577/) });
  });

  it('1 MiB of 2-byte frames: every answer stays small, and "to the end" gets there call by call', () => {
    const input = Buffer.alloc(ByteStepLimits.maxInput);
    for (let i = 0; i < input.length; i += 2) input[i] = 0x82; // binary, FIN, empty, unmasked: for a client
    const started = service.byteStepStart(input.toString('hex'), 'client');
    if (!started.ok) throw new Error(started.error);
    let snapshot = started.snapshot;
    let calls = 0;
    let largest = 0;
    while (snapshot.fed < snapshot.total) {
      const fed = service.byteStepFeed(started.sessionId, snapshot.total - snapshot.fed);
      if (!fed.ok) throw new Error(fed.error);
      largest = Math.max(largest, encodeWireJson(fed).length);
      expect(fed.snapshot.fed - snapshot.fed).toBeLessThanOrEqual(ByteStepLimits.maxFeedPerCall);
      snapshot = fed.snapshot;
      calls++;
    }
    expect(snapshot.framesTotal).toBe(ByteStepLimits.maxInput / 2);
    expect(calls).toBe(ByteStepLimits.maxInput / 2 / ByteStepLimits.maxFramesPerCall);
    expect(largest).toBeLessThan(64 * 1024);
  });
});
