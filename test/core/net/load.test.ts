/**
 * Load: the embedded server (in-process, echo) holds 1000 concurrent connections from `ws`
 * clients in this process and still answers a newcomer's echo, then closes them all cleanly.
 * Slow heads: clients dribbling their HTTP head one byte every 50-100 ms do not stop anyone else
 * being answered meanwhile, and are cut off at the handshake timeout. 127.0.0.1, port 0,
 * everything bounded. The times are printed, not asserted (a loaded machine stretches them): the
 * targets for them are measured by `npm run bench:connections` (a fresh client's p99 among
 * 10,000 connections) and written to BENCHMARKS.md.
 */

import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { eventually, openWs, withTimeout, wsClosed, wsMessages } from './helpers.ts';

const CONNECTIONS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The soft limit on open files this process inherited (a child shell sees the same). */
function openFileLimit(): number {
  const text = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
}

/**
 * Each connection costs two descriptors here (our client's socket and the server's). If the soft
 * limit is too low, raise it for this process with prlimit (up to the hard limit); if that is not
 * possible, fail saying how to fix it rather than testing less.
 */
function ensureOpenFiles(needed: number): string {
  const before = openFileLimit();
  if (before >= needed) return `ulimit -n is ${before}, enough for ${needed} descriptors`;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${needed}:`], { stdio: 'ignore' });
  } catch {
    // prlimit missing or not allowed: checked below.
  }
  const after = openFileLimit();
  if (after < needed) throw new Error(`This test needs ${needed} open files but the soft limit is ${after} (ulimit -n). Raise it (ulimit -n ${needed}) and run again.`);
  return `raised ulimit -n from ${before} to ${after}`;
}

/** One echo round trip on an open `ws` client; resolves with its duration in ms. */
async function roundTrip(ws: WebSocket, messages: ReturnType<typeof wsMessages>, text: string): Promise<number> {
  const started = performance.now();
  ws.send(text);
  const got = await messages.next(5000, `the echo of ${text}`);
  if (got.data.toString('utf8') !== text) throw new Error(`bad echo ${got.data.toString('utf8')}`);
  return performance.now() - started;
}

describe(`${CONNECTIONS} concurrent connections`, () => {
  const server = new WebSocketServer({ port: 0, component: echoComponent, traceBytes: false, closeTimeoutMs: 2000 });
  let url = '';
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    console.log(`[load] ${ensureOpenFiles(2 * CONNECTIONS + 200)}`);
    ({ url } = await server.listen());
  });
  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await server.close();
  });

  it('holds them open, answers a new connection promptly, then closes them all with 1000', async () => {
    // Open in waves of 100 (the listen backlog stays small, and it is how clients really arrive).
    const openStarted = performance.now();
    for (let wave = 0; wave < CONNECTIONS / 100; wave++) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => openWs(url)))));
    }
    const openMs = performance.now() - openStarted;
    await eventually(() => server.openConnections().length === CONNECTIONS, 5000, `${CONNECTIONS} open connections on the server`);

    // A newcomer: handshake and echo while the 1000 stay open.
    const probeStarted = performance.now();
    const probe = await openWs(url);
    const probeMessages = wsMessages(probe);
    const firstEcho = await roundTrip(probe, probeMessages, 'newcomer ✓');
    const probeMs = performance.now() - probeStarted;
    const echoes: number[] = [];
    for (let i = 0; i < 20; i++) echoes.push(await roundTrip(probe, probeMessages, `probe ${i}`));

    // A sample of the old connections still echo too.
    const sample = clients.filter((_, i) => i % 100 === 0);
    const sampleMs = await Promise.all(sample.map((ws, i) => roundTrip(ws, wsMessages(ws), `old ${i}`)));

    // Close everything with the closing handshake.
    const closeStarted = performance.now();
    const closed = [...clients, probe].map((ws) => wsClosed(ws));
    for (const ws of [...clients, probe]) ws.close(1000, 'load test done');
    const infos = await withTimeout(Promise.all(closed), 15_000, 'every client to close');
    const closeMs = performance.now() - closeStarted;
    await eventually(() => server.connections.size === 0, 5000, 'the server to forget every connection');

    const median = [...echoes].sort((a, b) => a - b)[Math.floor(echoes.length / 2)]!;
    console.log(
      `[load] opened ${CONNECTIONS} in ${openMs.toFixed(0)} ms; newcomer handshake + first echo ${probeMs.toFixed(1)} ms ` +
      `(echo ${firstEcho.toFixed(1)} ms, then median ${median.toFixed(2)} ms, max ${Math.max(...echoes).toFixed(2)} ms); ` +
      `old connections echo max ${Math.max(...sampleMs).toFixed(1)} ms; all ${infos.length} closed cleanly in ${closeMs.toFixed(0)} ms`,
    );
    expect(infos.every((info) => info.code === 1000)).toBe(true);
  });
});

describe('slow heads (one byte every 50-100 ms)', () => {
  const handshakeTimeoutMs = 1500;
  const server = new WebSocketServer({ port: 0, component: echoComponent, traceBytes: false, handshakeTimeoutMs });
  let url = '';
  let port = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ url, port } = await server.listen());
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server.close();
  });

  /** Opens a raw socket that sends a valid head one byte at a time; resolves when the server drops it. */
  function dribble(): Promise<{ sent: number; received: number; ms: number }> {
    const head = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      let sent = 0;
      let received = 0;
      let timer: NodeJS.Timeout | undefined;
      const started = performance.now();
      const next = () => {
        if (socket.destroyed || sent >= head.length) return;
        socket.write(head[sent++]!);
        timer = setTimeout(next, 50 + Math.random() * 50);
      };
      socket.on('connect', next);
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ sent, received, ms: performance.now() - started });
      });
    });
  }

  it('20 dribbling clients do not slow the others\' echoes, and are cut off at the handshake timeout', async () => {
    const fast = await Promise.all(Array.from({ length: 5 }, () => openWs(url)));
    const queues = fast.map((ws) => wsMessages(ws));
    const baseline: number[] = [];
    for (let i = 0; i < 10; i++) baseline.push(await roundTrip(fast[0]!, queues[0]!, `before ${i}`));

    const slow = Array.from({ length: 20 }, () => dribble());
    const during: number[] = [];
    const until = performance.now() + handshakeTimeoutMs - 200;
    for (let i = 0; performance.now() < until; i++) {
      during.push(...(await Promise.all(fast.map((ws, k) => roundTrip(ws, queues[k]!, `during ${i}/${k}`)))));
      await sleep(20);
    }
    const results = await withTimeout(Promise.all(slow), 5000, 'the server to drop the slow clients');

    const max = Math.max(...during);
    console.log(
      `[slow head] ${during.length} echo round trips while 20 clients dribbled: max ${max.toFixed(1)} ms ` +
      `(before: max ${Math.max(...baseline).toFixed(1)} ms); slow clients dropped after ${Math.min(...results.map((r) => r.ms)).toFixed(0)}-${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms ` +
      `having sent ${Math.min(...results.map((r) => r.sent))}-${Math.max(...results.map((r) => r.sent))} bytes of their head`,
    );
    // Answered all along: a server that waited on the slow heads would answer few or none meanwhile.
    expect(during.length).toBeGreaterThan(50);
    for (const r of results) {
      expect(r.ms).toBeGreaterThanOrEqual(handshakeTimeoutMs - 50);
      expect(r.ms).toBeLessThan(handshakeTimeoutMs + 1500);
      expect(r.received).toBe(0); // no 101, no error page: just dropped
      expect(r.sent).toBeLessThan(60); // far from the whole head
    }
    // The fast ones are unharmed, and close cleanly.
    const closed = fast.map((ws) => wsClosed(ws));
    for (const ws of fast) ws.close(1000);
    expect((await withTimeout(Promise.all(closed), 5000, 'the fast clients to close')).map((c) => c.code)).toEqual([1000, 1000, 1000, 1000, 1000]);
    await eventually(() => server.connections.size === 0, 5000, 'no connections left on the server');
  });
});
