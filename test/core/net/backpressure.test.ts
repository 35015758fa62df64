/**
 * Backpressure (issue 10 §3): a peer that writes and never reads must not make us queue without
 * bound. Once a connection's queued output passes its high-water mark it stops reading from that
 * peer until the output drains. Real sockets, raw peers that really do not read; every assertion
 * is on sizes and states, never on time.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chatComponent, echoComponent, manualComponent } from '../../../src/core/apps/index.ts';
import { Defaults } from '../../../src/core/constants.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { eventually, expectedAccept, MiB, RawPeer } from './helpers.ts';

const FRAME = 64 * 1024;
/** What the server writes for one 64 KiB binary frame: 2 + 8 header bytes (§5.2), no mask. */
const SERVER_FRAME = FRAME + 10;
/**
 * One socket read is at most 64 KiB, so one pump's echoes are at most two frames; the queue can
 * pass the mark by that much before reading stops, and no more.
 */
const BOUND = Defaults.writeHighWaterMark + 2 * SERVER_FRAME + 4096;

/** A masked 64 KiB binary frame (§5.3: clients mask). */
function clientFrame(): Buffer {
  const frame = Buffer.alloc(FRAME + 14);
  frame[0] = 0x82;
  frame[1] = 0x80 | 127;
  frame.writeBigUInt64BE(BigInt(FRAME), 2);
  randomBytes(4).copy(frame, 10);
  randomBytes(FRAME).copy(frame, 14);
  return frame;
}

/** An unmasked 64 KiB binary frame, as a server sends it. */
function serverFrame(): Buffer {
  const frame = Buffer.alloc(SERVER_FRAME);
  frame[0] = 0x82;
  frame[1] = 127;
  frame.writeBigUInt64BE(BigInt(FRAME), 2);
  randomBytes(FRAME).copy(frame, 10);
  return frame;
}

/** A component that runs another and records the largest queued output it ever left behind. */
function measured(inner: ServerComponent): { component: ServerComponent; maxQueued: () => number } {
  let max = 0;
  return {
    maxQueued: () => max,
    component: {
      name: inner.name,
      onMessage(conn, message, server) {
        inner.onMessage?.(conn, message, server);
        for (const c of server.connections.values()) max = Math.max(max, c.bufferedAmount);
      },
    },
  };
}

/** A raw client past its handshake that reads nothing more (its socket paused) until resumed. */
async function silentPeer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  await peer.handshake();
  peer.socket.pause();
  return peer;
}

/** Counts the bytes a raw peer receives from now on (RawPeer.received concatenates: too slow for 64 MiB). */
function countBytes(peer: RawPeer): () => number {
  let n = 0;
  peer.socket.on('data', (chunk: Buffer) => (n += chunk.length));
  return () => n;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(component: ServerComponent): Promise<WebSocketServer> {
  const server = new WebSocketServer({ port: 0, component, traceBytes: false });
  await server.listen();
  cleanups.push(() => server.close());
  return server;
}

describe('backpressure on the server (issue 10 §3)', () => {
  it('echo: a client that writes 64 MiB and never reads gets its connection paused, the queue held near the mark, and every echo once it reads', async () => {
    const { component, maxQueued } = measured(echoComponent);
    const server = await startServer(component);
    const peer = await silentPeer(server.address!.port);
    cleanups.push(() => peer.destroy());
    const conn = [...server.connections.values()][0]!;
    const received = countBytes(peer);
    const frame = clientFrame();
    const frames = 1024; // 64 MiB
    for (let i = 0; i < frames; i++) peer.socket.write(frame);

    await eventually(() => conn.readingPaused, 20_000, 'the server to stop reading');
    expect(conn.writableNeedsDrain).toBe(true);
    expect(conn.socket.isPaused()).toBe(true);
    expect(conn.bufferedAmount).toBeGreaterThan(Defaults.writeHighWaterMark);
    expect(conn.bufferedAmount).toBeLessThanOrEqual(BOUND);
    // The server stopped taking bytes: most of the 64 MiB still waits on the client's side.
    expect(peer.socket.writableLength).toBeGreaterThan(32 * MiB);

    peer.socket.resume();
    await eventually(() => received() >= frames * SERVER_FRAME, 60_000, 'every echo');
    expect(received()).toBe(frames * SERVER_FRAME);
    expect(maxQueued()).toBeLessThanOrEqual(BOUND);
    expect(conn.readingPaused).toBe(false);
  });

  it('chat: a member that never reads pauses the speaker until it drains; nothing is lost', async () => {
    const { component, maxQueued } = measured(chatComponent);
    const server = await startServer(component);
    const speaker = await RawPeer.open(server.address!.port);
    await speaker.handshake();
    const listener = await silentPeer(server.address!.port);
    cleanups.push(() => speaker.destroy(), () => listener.destroy());
    await eventually(() => server.openConnections().length === 2, 5000, 'both members');
    const [speakerConn, listenerConn] = [...server.connections.values()];
    const received = countBytes(listener);
    const frame = clientFrame();
    const frames = 1024;
    for (let i = 0; i < frames; i++) speaker.socket.write(frame);

    await eventually(() => speakerConn!.readingPaused, 20_000, 'the speaker to be paused');
    expect(listenerConn!.writableNeedsDrain).toBe(true);
    expect(listenerConn!.bufferedAmount).toBeLessThanOrEqual(BOUND);
    expect(speaker.socket.writableLength).toBeGreaterThan(32 * MiB);

    listener.socket.resume();
    await eventually(() => received() >= frames * SERVER_FRAME, 60_000, 'every broadcast');
    expect(received()).toBe(frames * SERVER_FRAME);
    expect(maxQueued()).toBeLessThanOrEqual(BOUND);
    await eventually(() => !speakerConn!.readingPaused, 5000, 'the speaker to be read again');
  });
});

describe('backpressure and step mode in the chat', () => {
  it('a member whose outgoing frames step mode holds counts as needing drain: the speaker pauses, the hold stays bounded', async () => {
    const server = await startServer(chatComponent);
    const speaker = await RawPeer.open(server.address!.port);
    await speaker.handshake();
    const listener = await RawPeer.open(server.address!.port);
    await listener.handshake();
    cleanups.push(() => speaker.destroy(), () => listener.destroy());
    await eventually(() => server.openConnections().length === 2, 5000, 'both members');
    const [speakerConn, listenerConn] = [...server.connections.values()];
    const received = countBytes(listener);
    listenerConn!.setStepMode(true); // broadcasts to the listener are held, not written
    const frame = clientFrame();
    for (let i = 0; i < 256; i++) speaker.socket.write(frame); // 16 MiB
    await eventually(() => speakerConn!.readingPaused, 20_000, 'the speaker to be paused');
    expect(listenerConn!.writableNeedsDrain).toBe(true);
    const held = listenerConn!.gateSnapshot()!.held.reduce((n, h) => n + h.bytes.length, 0);
    expect(held).toBeLessThanOrEqual(BOUND);
    const drained = listenerConn!.drained();
    listenerConn!.resume(); // let everything go
    await drained;
    await eventually(() => received() >= 256 * SERVER_FRAME, 60_000, 'every broadcast');
    expect(received()).toBe(256 * SERVER_FRAME);
  });
});

describe('backpressure with the manual app (nothing answered but pongs)', () => {
  it('a client that pings without reading the pongs gets its connection paused too', async () => {
    const server = await startServer(manualComponent);
    const peer = await silentPeer(server.address!.port);
    cleanups.push(() => peer.destroy());
    const conn = [...server.connections.values()][0]!;
    // §5.5.2: every Ping is answered with a Pong carrying the same 125 bytes.
    const ping = Buffer.alloc(2 + 4 + 125);
    ping[0] = 0x89;
    ping[1] = 0x80 | 125;
    randomBytes(4 + 125).copy(ping, 2);
    const batch = Buffer.concat(Array.from({ length: 1024 }, () => ping));
    for (let i = 0; i < 256; i++) peer.socket.write(batch); // 262,144 pings, 32.8 MiB
    await eventually(() => conn.readingPaused, 20_000, 'the server to stop reading');
    expect(conn.bufferedAmount).toBeLessThanOrEqual(BOUND);
    expect(peer.socket.writableLength).toBeGreaterThan(0);
  });
});

describe('backpressure on the client', () => {
  it('an echoing client whose server floods it and never reads stops reading at the mark', async () => {
    const serverSockets: Socket[] = [];
    const flood: Server = createServer((socket) => {
      serverSockets.push(socket);
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const key = /Sec-WebSocket-Key: *([^\r]+)\r\n/i.exec(head)?.[1];
        if (!head.includes('\r\n\r\n') || !key) return;
        socket.off('data', onData);
        socket.pause(); // from here on, this server reads nothing
        const accept = expectedAccept(key); // §4.2.2
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        const frame = serverFrame();
        for (let i = 0; i < 1024; i++) socket.write(frame);
      };
      socket.on('data', onData);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => flood.close(resolve)), () => serverSockets.forEach((s) => s.destroy()));
    let maxQueued = 0;
    const client = connectClient(`ws://127.0.0.1:${(flood.address() as AddressInfo).port}/`, {
      onMessage(conn, message) {
        conn.sendBinary(message.data);
        maxQueued = Math.max(maxQueued, conn.bufferedAmount);
      },
    });
    const conn = await client.opened;
    cleanups.push(() => conn.destroy());
    await eventually(() => conn.readingPaused, 20_000, 'the client to stop reading');
    expect(conn.writableNeedsDrain).toBe(true);
    expect(conn.bufferedAmount).toBeLessThanOrEqual(Defaults.writeHighWaterMark + 2 * (FRAME + 14) + 4096);
    expect(maxQueued).toBeLessThanOrEqual(Defaults.writeHighWaterMark + 2 * (FRAME + 14) + 4096);
    // The server still has most of its 64 MiB to write: the client stopped taking it.
    expect(serverSockets[0]!.writableLength).toBeGreaterThan(32 * MiB);
  });
});

describe('pauseReading, drained and step mode', () => {
  async function pair(): Promise<{ conn: Connection; peer: RawPeer }> {
    let conn!: Connection;
    const server = createServer((socket) => {
      conn = new Connection(socket, { id: 'bp', role: 'server' }, { onMessage: (c, m) => c.sendBinary(m.data) });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const peer = await RawPeer.open((server.address() as AddressInfo).port);
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => peer.destroy());
    await peer.handshake();
    return { conn, peer };
  }

  it('pauses from several callers add up; reading resumes when the last one lets go (and a second release is a no-op)', async () => {
    const { conn } = await pair();
    expect(conn.readingPaused).toBe(false);
    const a = conn.pauseReading();
    const b = conn.pauseReading();
    expect(conn.socket.isPaused()).toBe(true);
    a();
    a();
    expect(conn.readingPaused).toBe(true);
    expect(conn.socket.isPaused()).toBe(true);
    b();
    expect(conn.readingPaused).toBe(false);
    expect(conn.socket.isPaused()).toBe(false);
  });

  it('drained() resolves at once when nothing waits, and when the socket goes away while it does', async () => {
    const { conn, peer } = await pair();
    await conn.drained();
    peer.socket.pause();
    const frame = clientFrame();
    for (let i = 0; i < 256; i++) peer.socket.write(frame);
    await eventually(() => conn.writableNeedsDrain, 20_000, 'the queue to pass the mark');
    let resolved = false;
    const waiting = conn.drained().then(() => (resolved = true));
    expect(resolved).toBe(false);
    peer.destroy();
    conn.destroy();
    await waiting;
    expect(resolved).toBe(true);
  });

  it('step mode: frames held past the mark stop reading; letting them go reads again', async () => {
    const { conn, peer } = await pair();
    const received = countBytes(peer);
    conn.setStepMode(true);
    const frame = clientFrame();
    for (let i = 0; i < 256; i++) peer.socket.write(frame); // 16 MiB
    await eventually(() => conn.readingPaused, 20_000, 'held frames to stop reading');
    const held = conn.gateSnapshot()!.held;
    expect(held.every((h) => h.direction === 'in')).toBe(true);
    const heldBytes = held.reduce((n, h) => n + h.bytes.length, 0);
    expect(heldBytes).toBeGreaterThan(Defaults.writeHighWaterMark);
    expect(heldBytes).toBeLessThanOrEqual(Defaults.writeHighWaterMark + 2 * (FRAME + 14));
    conn.resume(); // release everything, stop holding: the echoes go out and reading goes on
    await eventually(() => received() >= 256 * SERVER_FRAME, 60_000, 'every echo after resume');
    expect(received()).toBe(256 * SERVER_FRAME);
  });
});
