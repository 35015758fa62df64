/**
 * Refused-handshake flood (issue 10 §4): a server whose process may hold FLOOD_FD_LIMIT descriptors
 * (default 1024) gets FLOOD_CLIENTS (default 1100) raw clients that each send a request the server
 * refuses (HTTP 426) and then keep their socket open without reading or closing. Reports the
 * server process's open descriptors while the flood holds, after it settles, and whether a fresh
 * client still completes its handshake. Then one client that keeps writing after a 431: how many
 * bytes the server read before it dropped the socket.
 *
 *   node --import tsx scripts/refused-flood.ts
 *
 * The server runs in a child (`sh -c 'ulimit -n LIMIT; exec node …'`) so its limit is its own;
 * its descriptor count is read from /proc/<pid>/fd (Linux).
 */

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const clients = Number(process.env['FLOOD_CLIENTS'] ?? 1100);
const fdLimit = Number(process.env['FLOOD_FD_LIMIT'] ?? 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (process.argv[2] === '--child') {
  // The server under test: echo, close timeout 2 s (the default), tracing on as the CLI runs it.
  const { WebSocketServer } = await import('../src/core/net/server.ts');
  const { echoComponent } = await import('../src/core/apps/index.ts');
  const { Tracer } = await import('../src/core/trace.ts');
  const tracer = new Tracer();
  tracer.subscribe(() => {});
  const server = new WebSocketServer({ port: 0, component: echoComponent, tracer });
  const { port } = await server.listen();
  process.stdout.write(`${port}\n`);
  // Every accepted socket, to read its bytesRead after it closed (the listener is private: a measurement peeks).
  const accepted: Array<{ bytesRead: number }> = [];
  (server as unknown as { server: import('node:net').Server }).server.on('connection', (s) => accepted.push(s));
  process.stdin.on('data', () => {
    const read = accepted.reduce((max, s) => Math.max(max, s.bytesRead), 0);
    process.stdout.write(`${JSON.stringify({ connections: server.connections.size, bytesRead: read })}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
} else {
  const child = spawn('sh', ['-c', `ulimit -n ${fdLimit}; exec node --import tsx "$0" --child`, fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
      waiter?.();
    }
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => (waiter = r));
    return lines.shift()!;
  };
  const port = Number(await nextLine());
  const fds = () => readdirSync(`/proc/${child.pid}/fd`).length;
  const ask = async () => {
    child.stdin.write('?\n');
    return JSON.parse(await nextLine()) as { connections: number; bytesRead: number };
  };
  console.log(`server pid ${child.pid}, port ${port}, ulimit -n ${fdLimit}; idle: ${fds()} fds`);

  const held: Socket[] = [];
  let refused = 0;
  let peak = fds();
  for (let i = 0; i < clients; i++) {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    socket.pause(); // never read
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'); // no Upgrade: 426
    held.push(socket);
    if (i % 100 === 99) {
      await sleep(20);
      peak = Math.max(peak, fds());
    }
  }
  await sleep(500);
  console.log(`${clients} refused clients holding their sockets: server at ${fds()} fds, ${(await ask()).connections} connections`);
  peak = Math.max(peak, fds());
  for (let t = 0; t < 40; t++) {
    await sleep(250);
    peak = Math.max(peak, fds());
    if ((await ask()).connections === 0) break;
  }
  const settled = await ask();
  console.log(`after the close timeout: server at ${fds()} fds (peak seen ${peak}), ${settled.connections} connections`);

  const fresh = await new Promise<string>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    let got = '';
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.destroy();
        resolve(got.split('\r\n')[0]!);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    setTimeout(() => resolve('no answer in 5 s'), 5000).unref();
  });
  console.log(`a fresh client: ${fresh}`);
  for (const s of held) s.destroy();
  refused = held.length;
  await sleep(300);

  // One client past the 16 KiB head limit that keeps writing for 5 s.
  // allowHalfOpen: the server's FIN after its 431 does not stop this writer, as it did not stop the attacker's.
  const writer = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let written = 0;
  let writerClosed = false;
  writer.on('error', () => {});
  writer.on('close', () => (writerClosed = true));
  writer.on('data', () => {});
  await new Promise<void>((r) => writer.once('connect', () => r()));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  writer.write('GET / HTTP/1.1\r\nX-Filler: ');
  let maxRead = 0;
  const started = Date.now();
  while (!writerClosed && Date.now() - started < 5000) {
    if (writer.write(chunk)) written += chunk.length;
    else {
      written += chunk.length;
      await Promise.race([new Promise((r) => writer.once('drain', r)), sleep(50)]);
    }
    maxRead = Math.max(maxRead, (await ask()).bytesRead);
  }
  console.log(`431 writer: wrote ${(written / 2 ** 20).toFixed(1)} MiB in ${Date.now() - started} ms; server read at most ${(maxRead / 2 ** 10).toFixed(0)} KiB; socket ${writerClosed ? 'closed by the server' : 'still open'}`);
  writer.destroy();
  child.stdin.end();
  console.log(JSON.stringify({ clients: refused, fdLimit, fdsHeld: peak, connectionsAfter: settled.connections, fresh, written431: written, maxRead431: maxRead, writerClosed }));
}
