/**
 * npm run bench:connections — 10,000 concurrent connections on one server (issue 17):
 *
 *   server   `wsinspect serve --app echo` in its own process, as a user runs it (bin/wsinspect.mjs:
 *            the compiled CLI when it is up to date, else through tsx; the run says which), once
 *            per trace mode (none, and pretty — the default — with its stdout thrown away), no
 *            --max-connections (serve has no cap unless given one)
 *   clients  a child process (this script with --hold) opens the connections over 127.0.0.1 with
 *            raw sockets and a browser's handshake: Sec-WebSocket-Extensions offers
 *            permessage-deflate with client_max_window_bits, as Chromium does, so each connection
 *            has its extension agreed (its zlib streams are made on the first message only)
 *   probe    this process: a fresh client's TCP connect + opening handshake + one text echo, 100
 *            times one after another, before the 10,000 are opened and while they are
 *
 * RSS per connection = (server RSS with 10,000 open − server RSS idle) / 10,000, RSS read from
 * /proc/PID/status (VmRSS) as the median of 5 samples 100 ms apart, once the process has settled.
 * "Idle" is after a warm-up (200 connections opened, echoed once, closed), so code compiled on the
 * first connections is not counted against them. Writes bench-connections-results.json and the
 * "Connections" section of BENCHMARKS.md.
 *
 * Environment: BENCH_CONNECTIONS (default 10000), BENCH_TRIES (100), BENCH_MODES (none,pretty),
 * BENCH_OUT_DIR, BENCH_NO_MD=1, BENCH_RENDER_ONLY=1 (rewrite the section from the results file), BENCH_SERVER_NODE_ARGS (node flags for the server, e.g. --cpu-prof).
 */

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const host = '127.0.0.1';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------ one raw WebSocket client

/** The request a browser sends (Chromium's extension offer), for one connection. */
function upgradeRequest(port: number): string {
  return [
    'GET / HTTP/1.1', `Host: ${host}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits', '', '',
  ].join('\r\n');
}

/** Opens a socket and completes the opening handshake; resolves with the socket (and any bytes after the head). */
function handshake(port: number, timeoutMs = 30_000): Promise<{ socket: Socket; rest: Buffer }> {
  return new Promise((resolveOpen, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`no 101 within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      clearTimeout(timer);
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) return fail(new Error(`handshake answered "${status}"`));
      resolveOpen({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('connect', () => socket.write(upgradeRequest(port)));
  });
}

/** A masked text frame (RFC 6455 §5.2, §5.3) with a payload under 126 bytes. */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i % 4]!;
  return frame;
}

/** One fresh client: connect, handshake, one echo. Times in ms. */
async function probeOnce(port: number): Promise<{ handshakeMs: number; echoMs: number; totalMs: number }> {
  const t0 = performance.now();
  const { socket, rest } = await handshake(port, 10_000);
  const t1 = performance.now();
  const text = `probe ${Math.random().toString(36).slice(2, 10)}`;
  await new Promise<void>((resolveEcho, reject) => {
    let got = rest;
    const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
    const check = () => {
      // An unmasked server frame under 126 bytes: FIN + opcode, length, payload.
      if (got.length < 2 || got.length < 2 + (got[1]! & 0x7f)) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const payload = got.subarray(2, 2 + (got[1]! & 0x7f));
      // RSV1: compressed (permessage-deflate was agreed), RFC 7692 §7.2.2: append 00 00 ff ff, inflate.
      const plain = got[0]! & 0x40 ? inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : payload;
      if ((got[0]! & 0x8f) !== 0x81 || plain.toString('utf8') !== text) reject(new Error(`unexpected echo ${got.toString('hex')}`));
      else resolveEcho();
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      check();
    };
    socket.on('data', onData);
    socket.write(maskedText(text));
  });
  const t2 = performance.now();
  socket.destroy();
  return { handshakeMs: t1 - t0, echoMs: t2 - t1, totalMs: t2 - t0 };
}

// ------------------------------------------------------------------ the holding process (--hold)

/** Child: opens `count` connections, at most 256 handshakes at a time, reports, holds them until told. */
async function hold(port: number, count: number): Promise<void> {
  const sockets: Socket[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const { socket } = await handshake(port);
        socket.on('error', () => {});
        sockets.push(socket);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
  process.send!({ open: sockets.length, failed, seconds: (performance.now() - started) / 1000 });
  process.on('message', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

// ------------------------------------------------------------------ the server process

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settledRss(pid: number): Promise<number> {
  await sleep(1500);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKiB(pid));
    await sleep(100);
  }
  return median(samples);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, host, () => r()));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

async function startServer(mode: TraceMode, port: number): Promise<{ child: ChildProcess; runtime: string }> {
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" (say) profiles the server (node refuses those in NODE_OPTIONS).
  const nodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'bin/wsinspect.mjs'), 'serve', '--host', host, '--port', String(port), '--app', 'echo', '--trace', mode], {
    cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WSINSPECT_SHOW_RUNTIME: '1' },
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  let lastError = '';
  const deadline = performance.now() + 120_000; // tsx compiling the CLI under load takes a while
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wsinspect serve exited with ${child.exitCode}: ${stderr}`);
    try {
      await probeOnce(port);
      lastError = '';
      const runtime = /running (compiled|src\/cli\/wsinspect\.ts through tsx)/.exec(stderr)?.[1] ?? '?';
      return { child, runtime: runtime === 'compiled' ? 'compiled CLI (out/cli)' : runtime === '?' ? 'unknown' : 'TypeScript through tsx (the compiled CLI was stale)' };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`wsinspect serve did not answer on ${port} (${lastError}): ${stderr}`);
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// ------------------------------------------------------------------ the run

type TraceMode = 'none' | 'pretty' | 'jsonl';

interface LatencyStats { p50: number; p99: number; max: number; handshakeP50: number; echoP50: number; tries: number }

interface ModeResult {
  mode: TraceMode;
  runtime: string;
  connections: number;
  failed: number;
  openSeconds: number;
  rssIdleKiB: number;
  rssOpenKiB: number;
  bytesPerConnection: number;
  idleLatency: LatencyStats;
  loadedLatency: LatencyStats;
}

export interface ConnectionsResults {
  kind: 'websocket-inspector-bench-connections';
  date: string;
  machine: { cpu: string; cores: number; node: string; loadAverage: { start: number; end: number } };
  elapsedSeconds: number;
  target: { connections: number; bytesPerConnection: number; latencyMs: number };
  modes: ModeResult[];
}

async function latency(port: number, tries: number): Promise<LatencyStats> {
  const runs: Array<{ handshakeMs: number; echoMs: number; totalMs: number }> = [];
  for (let i = 0; i < tries; i++) runs.push(await probeOnce(port));
  const total = runs.map((r) => r.totalMs);
  return {
    p50: percentile(total, 50), p99: percentile(total, 99), max: Math.max(...total),
    handshakeP50: percentile(runs.map((r) => r.handshakeMs), 50), echoP50: percentile(runs.map((r) => r.echoMs), 50), tries,
  };
}

async function runMode(mode: TraceMode, count: number, tries: number): Promise<ModeResult> {
  const port = await freePort();
  const { child, runtime } = await startServer(mode, port);
  let holder: ChildProcess | null = null;
  try {
    // Warm-up: the code paths of a connection compiled, its first allocations made.
    for (let i = 0; i < 200; i++) await probeOnce(port);
    const idleLatency = await latency(port, tries);
    const rssIdleKiB = await settledRss(child.pid!);
    holder = fork(thisFile, ['--hold', String(port), String(count)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const opened = await new Promise<{ open: number; failed: number; seconds: number }>((r, j) => {
      holder!.once('message', (m) => r(m as { open: number; failed: number; seconds: number }));
      holder!.once('exit', (code) => j(new Error(`the holding client exited with ${code}`)));
    });
    const rssOpenKiB = await settledRss(child.pid!);
    const loadedLatency = await latency(port, tries);
    const bytesPerConnection = ((rssOpenKiB - rssIdleKiB) * 1024) / Math.max(opened.open, 1);
    console.log(`  --trace ${mode}: ${opened.open} open (${opened.failed} failed) in ${opened.seconds.toFixed(1)} s; RSS idle ${(rssIdleKiB / 1024).toFixed(1)} MiB, with them ${(rssOpenKiB / 1024).toFixed(1)} MiB: ${(bytesPerConnection / 1024).toFixed(2)} KiB each; fresh client p50 ${loadedLatency.p50.toFixed(2)} ms, p99 ${loadedLatency.p99.toFixed(2)} ms (idle server: p50 ${idleLatency.p50.toFixed(2)}, p99 ${idleLatency.p99.toFixed(2)})`);
    return { mode, runtime, connections: opened.open, failed: opened.failed, openSeconds: opened.seconds, rssIdleKiB, rssOpenKiB, bytesPerConnection, idleLatency, loadedLatency };
  } finally {
    if (holder && holder.exitCode === null) {
      const gone = new Promise((r) => holder!.once('exit', r));
      holder.send('close');
      await Promise.race([gone, sleep(5000)]);
      if (holder.exitCode === null) holder.kill('SIGKILL');
    }
    await stopServer(child);
  }
}

export interface ConnectionsConfig {
  count: number;
  tries: number;
  modes: TraceMode[];
}

/** From the environment (see the top of this file); quick: a few hundred connections, --trace none only. */
export function readConnectionsConfig(quick = false): ConnectionsConfig {
  const modes = (process.env['BENCH_MODES'] ?? (quick ? 'none' : 'none,pretty')).split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'none' && m !== 'pretty' && m !== 'jsonl') throw new Error(`BENCH_MODES: unknown trace mode "${m}"`);
  return {
    count: Number(process.env['BENCH_CONNECTIONS'] ?? (quick ? 300 : 10_000)),
    tries: Number(process.env['BENCH_TRIES'] ?? (quick ? 10 : 100)),
    modes: modes as TraceMode[],
  };
}

export async function runConnectionsBench({ count, tries, modes }: ConnectionsConfig = readConnectionsConfig()): Promise<ConnectionsResults> {
  const started = performance.now();
  const loadStart = os.loadavg()[0]!;
  console.log(`bench:connections: ${count} connections per trace mode (${modes.join(', ')}), ${tries} fresh clients before and while they are open`);
  const results: ModeResult[] = [];
  for (const mode of modes) results.push(await runMode(mode, count, tries));
  const cpus = os.cpus();
  return {
    kind: 'websocket-inspector-bench-connections', date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model.trim() ?? '?', cores: cpus.length, node: process.version, loadAverage: { start: loadStart, end: os.loadavg()[0]! } },
    elapsedSeconds: (performance.now() - started) / 1000,
    target: { connections: 10_000, bytesPerConnection: 10_000, latencyMs: 10 },
    modes: results,
  };
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

export function renderConnectionsMarkdown(r: ConnectionsResults): string {
  const m = r.machine;
  const lines = [
    '## Connections: 10,000 at once on one server',
    '',
    `Written by \`npm run bench:connections\` (scripts/bench-connections.ts) on ${r.date.slice(0, 10)}: ${m.cpu} (${m.cores} cores), node ${m.node}, load average ${m.loadAverage.start.toFixed(1)} at the start, ${m.loadAverage.end.toFixed(1)} at the end, ${r.elapsedSeconds.toFixed(0)} s.`,
    '`wsinspect serve --app echo` in its own process (no --max-connections: serve has no cap unless given one), once per trace mode;',
    'a second process holds the connections (127.0.0.1, raw sockets, each handshake offering permessage-deflate as Chromium does, so',
    'each has the extension agreed); a fresh client (connect + handshake + one text echo) is timed 100 times with the server idle, then',
    'with all of them open. RSS per connection = (RSS with them open − RSS idle after a 200-connection warm-up) / connections, VmRSS.',
    '',
    '| trace mode | runtime | connections open | opened in | RSS idle | RSS with them | per connection | target ≤ 10 KB | fresh client p50 / p99 (idle server) | fresh client p50 / p99 (all open) | handshake / echo p50 | target ≤ 10 ms |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |',
  ];
  for (const x of r.modes) {
    const memOk = x.connections >= r.target.connections && x.bytesPerConnection <= r.target.bytesPerConnection;
    const latOk = x.loadedLatency.p99 <= r.target.latencyMs;
    lines.push(`| --trace ${x.mode} | ${x.runtime} | ${x.connections.toLocaleString('en-US')}${x.failed ? ` (${x.failed} failed)` : ''} | ${x.openSeconds.toFixed(1)} s | ${(x.rssIdleKiB / 1024).toFixed(1)} MiB | ${(x.rssOpenKiB / 1024).toFixed(1)} MiB | ${(x.bytesPerConnection / 1000).toFixed(2)} KB | ${memOk ? '✅ met' : '❌ missed'} | ${ms(x.idleLatency.p50)} / ${ms(x.idleLatency.p99)} | ${ms(x.loadedLatency.p50)} / ${ms(x.loadedLatency.p99)} | ${ms(x.loadedLatency.handshakeP50)} / ${ms(x.loadedLatency.echoP50)} | ${latOk ? '✅ met (p99)' : x.loadedLatency.p50 <= r.target.latencyMs ? '⚠️ p50 met, p99 missed' : '❌ missed'} |`);
  }
  lines.push(
    '',
    'What an idle connection holds (heap snapshots of 2,000 and 10,000 in one process, after GC): a net.Socket and its stream',
    'states, the Connection, the WebSocketProtocol (parser, UTF-8 validator), the agreed permessage-deflate\'s settings (its zlib',
    'streams are made on the first compressed message), and the two handshake heads as bytes; about 4.1 KB of heap, plus V8\'s',
    'page slack and native socket state in RSS. Before issue 17\'s changes (40c33d0) it was 11.4 KB of RSS (8.8 KB of heap): six',
    'handler closures per connection (now one handler per server), both heads kept parsed (now bytes, parsed again when asked),',
    'the socket\'s addresses asked for when not tracing, a WeakMap per protocol made before it was needed.',
    '',
    'Raw figures: bench-connections-results.json.',
  );
  return lines.join('\n');
}

const MARKERS = ['<!-- connections:start -->', '<!-- connections:end -->'] as const;

/** Writes (or replaces) this script's section of BENCHMARKS.md, keeping the others. */
function writeConnectionsSection(file: string, body: string): void {
  const block = `${MARKERS[0]}\n${body.trim()}\n${MARKERS[1]}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const a = text.indexOf(MARKERS[0]);
  const b = text.indexOf(MARKERS[1]);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + MARKERS[1].length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

/** bench-connections-results.json, and the BENCHMARKS.md section unless told not to. */
export function writeConnectionsResults(r: ConnectionsResults, outDir: string, writeMarkdown: boolean): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bench-connections-results.json'), `${JSON.stringify(r, null, 2)}\n`);
  if (writeMarkdown) writeConnectionsSection(join(outDir, 'BENCHMARKS.md'), renderConnectionsMarkdown(r));
}

if (process.argv[2] === '--hold') {
  hold(Number(process.argv[3]), Number(process.argv[4])).catch((error: unknown) => {
    console.error(`bench:connections holder failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
} else if (process.argv[1] && resolve(process.argv[1]) === thisFile) {
  // BENCH_RENDER_ONLY=1: measure nothing, rewrite the section from BENCH_OUT_DIR/bench-connections-results.json.
  const outDir = resolve(process.env['BENCH_OUT_DIR'] ?? repoRoot);
  const run = process.env['BENCH_RENDER_ONLY'] === '1'
    ? Promise.resolve(JSON.parse(readFileSync(join(outDir, 'bench-connections-results.json'), 'utf8')) as ConnectionsResults)
    : runConnectionsBench();
  run.then((r) => writeConnectionsResults(r, outDir, process.env['BENCH_NO_MD'] !== '1'), (error: unknown) => {
    console.error(`bench:connections failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  });
}
