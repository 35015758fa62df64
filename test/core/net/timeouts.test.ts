/**
 * Timeouts and freed sockets (issue 10 §4), over real sockets on 127.0.0.1:
 * - a Close we sent that the peer never answers times out (both roles, and the CLI);
 * - refused handshakes free their socket once the error response is flushed, and stop reading;
 * - the connection cap (503 + Retry-After) and the idle timeout (1001 Going Away).
 * Every wait is bounded; nothing asserts how long something took.
 */

import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { encodeClosePayload, encodeFrame } from '../../../src/core/frame-codec.ts';
import { connectClient, ConnectError } from '../../../src/core/net/client.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { AsyncQueue, eventually, expectedAccept, parseFrames, RawPeer, withTimeout } from './helpers.ts';

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const closeTimeoutMs = 300;

const servers: WebSocketServer[] = [];
const rawServers: Server[] = [];
const sockets: Socket[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const peer of peers.splice(0)) peer.destroy();
  for (const server of servers.splice(0)) await server.close();
  for (const raw of rawServers.splice(0)) await new Promise<void>((resolve) => raw.close(() => resolve()));
});

/** An echo server that hands each opened connection to the test. */
async function startServer(options: Partial<ConstructorParameters<typeof WebSocketServer>[0]> = {}) {
  const opens = new AsyncQueue<Connection>();
  const component: ServerComponent = { ...echoComponent, name: 'echo-recording', onOpen: (conn) => opens.push(conn) };
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, closeTimeoutMs, ...options });
  servers.push(server);
  const { url, port } = await server.listen();
  return { server, url, port, opens };
}

async function rawPeer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.push(peer);
  return peer;
}

/**
 * A raw TCP "WebSocket server" that completes the opening handshake and then never writes again
 * (never answers a Close, never closes TCP). Collects what each client sends after its handshake.
 */
async function silentServer(): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let head = '';
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        received.push(chunk);
        return;
      }
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      const key = /\r\nSec-WebSocket-Key: *([^\r]+)\r\n/i.exec(head)?.[1] ?? '';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${expectedAccept(key)}\r\n\r\n`);
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) received.push(rest);
    });
  });
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: address && typeof address === 'object' ? address.port : 0, received };
}

/** Polls the listener's socket count (node's getConnections) until it is `count`. */
async function socketCountReaches(server: WebSocketServer, count: number, ms: number): Promise<void> {
  let now = -1;
  const until = Date.now() + ms;
  while ((now = await server.socketCount()) !== count) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for the server's socket count to be ${count} (it is ${now})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Unmasks client frames (parseFrames handles masked ones too). */
function closeFramesIn(bytes: Buffer) {
  return parseFrames(bytes).filter((f) => f.opcode === Opcode.Close);
}

// ------------------------------------------------------------------ our Close, never answered

describe('a Close we sent that the peer never answers (§7.1.1, §7.1.7)', () => {
  it('server role: the connection reaches CLOSED (1006, not clean) and its socket is destroyed', async () => {
    const { server, port, opens } = await startServer();
    const peer = await rawPeer(port);
    await peer.handshake();
    const conn = await opens.next(5000, 'the server side of the connection');
    conn.close(1000, 'bye');
    expect(conn.state).toBe('CLOSING');
    // The silent client reads our Close and never answers it, nor closes TCP.
    await peer.waitFor(() => closeFramesIn(peer.received).length === 1, 5000, 'our Close frame');
    const info = await withTimeout(conn.closed(), closeTimeoutMs + 5000, 'the close timer to end the connection');
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false });
    expect(conn.state).toBe('CLOSED');
    expect(conn.socket.destroyed).toBe(true);
    await eventually(() => !server.connections.has(conn.id), 2000, 'the connection to leave server.connections');
    await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP on the silent client');
    expect(await server.socketCount()).toBe(0);
  });

  it('client role: the connection reaches CLOSED (1006, not clean) and its socket is destroyed', async () => {
    const silent = await silentServer();
    const { connection: conn, opened } = connectClient(`ws://127.0.0.1:${silent.port}/`, {}, { closeTimeoutMs });
    await withTimeout(opened, 5000, 'the handshake with the silent server');
    conn.close(1000, 'bye');
    expect(conn.state).toBe('CLOSING');
    const info = await withTimeout(conn.closed(), closeTimeoutMs + 5000, 'the close timer to end the connection');
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false });
    expect(conn.state).toBe('CLOSED');
    expect(conn.socket.destroyed).toBe(true);
    // The server did get our (masked, §5.3) Close 1000.
    const frames = closeFramesIn(Buffer.concat(silent.received));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.masked).toBe(true);
    expect(frames[0]!.payload.readUInt16BE(0)).toBe(1000);
  });

  it('a peer that answers in time still closes cleanly (the timer does not cut the handshake short)', async () => {
    const { port, opens } = await startServer({ closeTimeoutMs: 5000 });
    const peer = await rawPeer(port);
    await peer.handshake();
    const conn = await opens.next(5000, 'the server side of the connection');
    conn.close(1000, 'bye');
    await peer.waitFor(() => closeFramesIn(peer.received).length === 1, 5000, 'our Close frame');
    peer.write(encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1000, 'bye'), maskKey: MASK }));
    // §7.1.1: the server closes TCP first; the client then closes its side.
    await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP');
    peer.socket.end();
    const info = await withTimeout(conn.closed(), 4000, 'the clean close');
    expect(info).toEqual({ code: 1000, reason: 'bye', wasClean: true });
  });

  it('a Close answered in time is not timed out by a process held up past the deadline', async () => {
    // The peer runs in a child process, so it answers while this one is busy; this process then
    // finds the close timer due and the answer unread at once.
    const child = spawn(process.execPath, ['-e', `
      const { WebSocketServer } = require('ws');
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log(wss.address().port));
    `], { cwd: fileURLToPath(new URL('../../../', import.meta.url)) });
    try {
      const port = await withTimeout(new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())))), 10_000, 'the ws server child');
      const client = connectClient(`ws://127.0.0.1:${port}/`, {}, { closeTimeoutMs: 100 });
      await client.opened;
      client.connection.close(1000, 'bye');
      const busyUntil = performance.now() + 400; // held up: 4x the close timeout
      while (performance.now() < busyUntil) { /* busy */ }
      const info = await withTimeout(client.connection.closed(), 5000, 'the client to close');
      expect(info).toEqual({ code: 1000, reason: 'bye', wasClean: true });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('wsinspect connect --wait 500 against a server that never answers our Close exits (1006, exit 1)', async () => {
    const silent = await silentServer();
    const bin = fileURLToPath(new URL('../../../bin/wsinspect.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'connect', `ws://127.0.0.1:${silent.port}/`, '--wait', '500', '--trace', 'none'], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    try {
      const code = await withTimeout(new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1))), 20_000, 'wsinspect connect to exit');
      expect(code).toBe(1);
      expect(stderr).toMatch(/closed abnormally \(1006/);
      expect(closeFramesIn(Buffer.concat(silent.received))).toHaveLength(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});

// ------------------------------------------------------------------ refused handshakes

describe('refused handshakes free their socket', () => {
  it('300 refused clients that never read nor close: the server holds no socket afterwards, a fresh client connects, each got its 426', async () => {
    // A close timeout far beyond the wait below: the sockets must go because their answer was
    // flushed, not because a timer fired.
    const { server, url, port } = await startServer({ closeTimeoutMs: 60_000 });
    const clients: Socket[] = [];
    await Promise.all(Array.from({ length: 300 }, () => new Promise<void>((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      sockets.push(socket);
      clients.push(socket);
      socket.pause(); // never read
      socket.on('error', () => {}); // a reset is not what this test looks at
      socket.once('connect', () => {
        socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'); // no Upgrade: 426
        resolve();
      });
      socket.once('error', reject);
    })));
    await eventually(() => server.connections.size === 0, 10_000, 'every refused connection to leave server.connections');
    await socketCountReaches(server, 0, 10_000);
    const fresh = connectClient(url, {}, { closeTimeoutMs });
    await withTimeout(fresh.opened, 5000, 'a fresh client to connect');
    fresh.connection.close(1000, 'done');
    await withTimeout(fresh.connection.closed(), 5000, 'the fresh client to close');
    // Freeing the socket did not eat the answer: a client that reads now still finds its 426.
    for (const socket of clients.slice(0, 5)) {
      const got = await withTimeout(new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        socket.on('end', () => resolve(text));
        socket.on('close', () => resolve(text));
        socket.resume();
      }), 5000, 'a refused client to read its answer');
      expect(got).toMatch(/^HTTP\/1\.1 426 /);
    }
  }, 40_000);

  it('a client that keeps writing after its 431 is cut off: the server reads a bounded amount and destroys the socket', async () => {
    const maxHeadSize = 16 * 1024;
    const { server, port } = await startServer({ maxHeadSize, closeTimeoutMs: 60_000 });
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }); // our FIN does not stop it
    sockets.push(socket);
    let error: NodeJS.ErrnoException | null = null;
    let closed = false;
    socket.on('error', (e) => (error = e));
    socket.on('close', () => (closed = true));
    socket.on('data', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await eventually(() => server.connections.size === 1, 5000, 'the server to accept');
    const conn = [...server.connections.values()][0]!;
    socket.write('GET / HTTP/1.1\r\nX-Filler: ');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const limit = 256 * 1024 * 1024;
    let written = 0;
    while (!closed && !error && written < limit) {
      written += chunk.length;
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, 50))]);
    }
    // The server stopped reading long before the writer's budget: its side went away.
    expect(written).toBeLessThan(limit);
    await eventually(() => conn.socket.destroyed, 5000, 'the server to destroy the socket');
    expect(conn.state).toBe('CLOSED');
    // The head limit, plus at most the bound on bytes read after closing and one read of slack.
    expect(conn.socket.bytesRead).toBeLessThan(maxHeadSize + 1024 * 1024 + 2 * 64 * 1024);
    await eventually(() => server.connections.size === 0, 5000, 'the connection to leave server.connections');
  }, 30_000);
});

// ------------------------------------------------------------------ connection cap

describe('maxConnections', () => {
  it('at the cap the next client gets 503 with Retry-After and a reason; closing one frees its slot', async () => {
    const { server, url, port } = await startServer({ maxConnections: 2 });
    const first = connectClient(url, {}, { closeTimeoutMs });
    const second = connectClient(url, {}, { closeTimeoutMs });
    await withTimeout(Promise.all([first.opened, second.opened]), 5000, 'two clients under the cap');

    const third = connectClient(url, {}, { closeTimeoutMs });
    const refusal = await withTimeout(third.opened.then(() => null, (e: unknown) => e), 5000, 'the third client to be refused');
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as Error).message).toMatch(/HTTP 503/);

    // On the wire: a plain 503 a person can read, with Retry-After, then the server closes TCP.
    const peer = await rawPeer(port);
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await peer.waitFor(() => peer.ended, 5000, 'the 503 and the server closing TCP');
    const text = peer.received.toString('utf8');
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(text).toMatch(/\r\nRetry-After: 5\r\n/i);
    expect(text).toMatch(/\r\nContent-Type: text\/plain/i);
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toMatch(/at most 2 connections.*maxConnections/);
    // Refused sockets are freed: only the two open connections remain.
    await eventually(() => server.connections.size === 2, 5000, 'two connections');
    await socketCountReaches(server, 2, 5000);

    first.connection.close(1000, 'make room');
    await withTimeout(first.connection.closed(), 5000, 'the first client to close');
    await eventually(() => server.connections.size === 1, 5000, 'the slot to be freed');
    const fourth = connectClient(url, {}, { closeTimeoutMs });
    await withTimeout(fourth.opened, 5000, 'a client in the freed slot');
    for (const c of [second, fourth]) c.connection.close(1000, 'done');
    await withTimeout(Promise.all([second.connection.closed(), fourth.connection.closed()]), 5000, 'the clients to close');
  });

  it('rejects a cap or idle timeout that is not a whole number of at least 1', () => {
    expect(() => new WebSocketServer({ component: echoComponent, maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => new WebSocketServer({ component: echoComponent, maxConnections: 1.5 })).toThrow(/maxConnections/);
    expect(() => new WebSocketServer({ component: echoComponent, idleTimeoutMs: -1 })).toThrow(/idleTimeoutMs/);
  });
});

// ------------------------------------------------------------------ idle timeout

describe('idleTimeoutMs', () => {
  it('server: a silent client is sent Close 1001 with a reason, and the connection ends', async () => {
    const { server, port, opens } = await startServer({ idleTimeoutMs: 200 });
    const peer = await rawPeer(port);
    await peer.handshake();
    const conn = await opens.next(5000, 'the server side of the connection');
    await peer.waitFor(() => closeFramesIn(peer.received).length === 1, 10_000, 'the idle Close');
    const close = closeFramesIn(peer.received)[0]!;
    expect(close.payload.readUInt16BE(0)).toBe(1001);
    expect(close.payload.subarray(2).toString('utf8')).toBe('idle for 200 ms');
    // The client stays silent: the close timer then ends it.
    const info = await withTimeout(conn.closed(), closeTimeoutMs + 5000, 'the idle connection to close');
    expect(info.wasClean).toBe(false);
    expect(conn.socket.destroyed).toBe(true);
    await eventually(() => server.connections.size === 0, 2000, 'the connection to leave server.connections');
  });

  it('client: an idle client closes with 1001 and the echo server answers it (clean close)', async () => {
    const { url } = await startServer();
    const client = connectClient(url, {}, { closeTimeoutMs, idleTimeoutMs: 200 });
    const conn = await withTimeout(client.opened, 5000, 'the client to open');
    const info = await withTimeout(conn.closed(), 10_000, 'the idle client to close');
    expect(info).toEqual({ code: 1001, reason: 'idle for 200 ms', wasClean: true });
  });
});

afterAll(() => {
  for (const socket of sockets) socket.destroy();
});
