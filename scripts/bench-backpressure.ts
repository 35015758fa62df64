/**
 * npm run bench:backpressure — issue 10 §3: a peer that writes without ever reading must not grow
 * the server's memory without bound.
 *
 * The server runs in a process of its own (`node bin/wsinspect.mjs serve --trace none --port 0
 * --app echo|chat`), so its resident memory is its alone: it is read from /proc/PID/status (VmRSS)
 * every BP_SAMPLE_MS. Raw TCP clients (no WebSocket library) do the handshake, then:
 *
 *   echo   one client writes BP_TOTAL_MIB of masked 64 KiB binary frames and never reads the echoes
 *   chat   one client writes them, a second member of the room never reads the broadcasts
 *
 * Phase 1 (nobody reads): the writer writes as long as its own socket takes the bytes and stops
 * when BP_TOTAL_MIB went out or nothing more was taken for BP_STALL_MS — with backpressure, the
 * server stopped reading, TCP's windows filled and the writer is blocked. The writer never buffers
 * more than one frame itself, so the client process stays small whatever the server does.
 * Phase 2 (the reader starts reading): the rest of BP_TOTAL_MIB goes out and every byte of every
 * echo or broadcast must arrive, which shows the server resumed reading after 'drain'.
 *
 * Figures: the server's RSS before the flood (after the handshakes), its peak in each phase, and
 * the growth (peak minus baseline). The target (under 64 MiB) is on phase 1, the attack; phase 2's
 * growth is shown too (what a 1 GiB echo costs while flowing: garbage not collected yet). Written to
 * backpressure-results.json and to the "Backpressure" section of BENCHMARKS.md (the other
 * sections are kept).
 *
 * Environment:
 *   BP_TOTAL_MIB=1024   bytes of payload to push per scenario (default 1 GiB)
 *   BP_SCENARIOS=echo,chat
 *   BP_STALL_MS=2000    no progress for this long ends phase 1
 *   BP_SAMPLE_MS=20     RSS sampling period
 *   BP_OUT_DIR=dir      where backpressure-results.json and BENCHMARKS.md go (default: the repository root)
 *   BP_NO_MD=1          do not write BENCHMARKS.md
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber, machineInfo, repoRoot, writeSection, type Machine } from './bench.ts';

export const FRAME_PAYLOAD = 64 * 1024;
/** A 65,536-byte payload needs the 64-bit length (§5.2): 2 + 8 header bytes, plus 4 of mask from a client. */
const CLIENT_FRAME_BYTES = FRAME_PAYLOAD + 14;
const SERVER_FRAME_BYTES = FRAME_PAYLOAD + 10;
export const TARGET_GROWTH_MIB = 64;
const MiB = 1024 * 1024;

export const scenarioIds = ['echo', 'chat'] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export interface ScenarioResult {
  scenario: ScenarioId;
  /** Payload bytes the writer was to push. */
  totalBytes: number;
  /** Phase 1: bytes of frames the writer's socket took (the server's kernel buffers included) before it stalled. */
  acceptedWhileNotReading: number;
  /** Phase 1 ended because nothing more was taken for stallMs (false: all of totalBytes went out). */
  stalled: boolean;
  phase1Seconds: number;
  /** Phase 2: the reader got every byte of every echo or broadcast. */
  allDelivered: boolean;
  deliveredBytes: number;
  expectedBytes: number;
  phase2Seconds: number;
  rssMiB: { baseline: number; peakPhase1: number; peakPhase2: number; end: number };
  /** Peak RSS while nobody read (phase 1) minus the baseline: the target's figure. */
  growthNotReadingMiB: number;
  /** Peak RSS while everything flowed (phase 2) minus the baseline. */
  growthFlowingMiB: number;
  /** growthNotReadingMiB < TARGET_GROWTH_MIB */
  met: boolean;
}

export interface BackpressureResults {
  kind: 'websocket-inspector-backpressure';
  date: string;
  machine: Machine;
  config: { totalMiB: number; stallMs: number; sampleMs: number; scenarios: ScenarioId[] };
  scenarios: ScenarioResult[];
  elapsedSeconds: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS of a process in MiB, or null once it is gone. */
export function readRssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) / 1024;
  } catch {
    return null;
  }
}

/** Samples a process's RSS in the background; peak() since the last mark(). */
export class RssSampler {
  private timer: NodeJS.Timeout;
  private max = 0;
  last = 0;
  constructor(private readonly pid: number, periodMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
  }
  sample(): number {
    const rss = readRssMiB(this.pid);
    if (rss !== null) {
      this.last = rss;
      this.max = Math.max(this.max, rss);
    }
    return this.last;
  }
  mark(): void {
    this.max = this.sample();
  }
  peak(): number {
    this.sample();
    return this.max;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Starts `wsinspect serve` in its own process and resolves with its pid and port. */
async function startServer(app: string): Promise<{ child: ChildProcess; pid: number; port: number }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/wsinspect.mjs'), 'serve', '--trace', 'none', '--port', '0', '--app', app], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 20 s: ${out}${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on ws:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}: ${out}${err}`));
    });
  });
  return { child, pid: child.pid!, port };
}

/** A raw TCP WebSocket client: handshake by hand, then frames as bytes. */
class RawClient {
  received = 0;
  private constructor(readonly socket: Socket) {}

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((ok, fail) => {
      socket.once('connect', ok);
      socket.once('error', fail);
    });
    const key = randomBytes(16).toString('base64');
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const client = new RawClient(socket);
    let head = Buffer.alloc(0);
    await new Promise<void>((ok, fail) => {
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        // Stop reading at once: from here on this client reads only when told to.
        socket.pause();
        if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) fail(new Error(`handshake refused: ${head.toString('latin1', 0, end)}`));
        client.received = head.length - end - 4;
        ok();
      };
      socket.on('data', onData);
      socket.once('error', fail);
    });
    socket.on('error', () => {
      // Reported through the figures (missing bytes), never thrown from a socket callback.
    });
    return client;
  }

  /** Start reading, counting bytes. */
  startReading(): void {
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.length));
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One masked binary frame of FRAME_PAYLOAD random bytes, written again and again (§5.3: clients mask). */
function clientFrame(): Buffer {
  const payload = randomBytes(FRAME_PAYLOAD);
  const key = randomBytes(4);
  const frame = Buffer.alloc(CLIENT_FRAME_BYTES);
  frame[0] = 0x82;
  frame[1] = 0x80 | 127;
  frame.writeBigUInt64BE(BigInt(FRAME_PAYLOAD), 2);
  key.copy(frame, 10);
  for (let i = 0; i < FRAME_PAYLOAD; i++) frame[14 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/**
 * Writes frames until `frames` went out or the socket took nothing for stallMs. Returns how many
 * frames were written and whether it stalled. At most one frame waits in the client's own queue.
 */
async function push(socket: Socket, frame: Buffer, frames: number, stallMs: number): Promise<{ written: number; stalled: boolean }> {
  let written = 0;
  while (written < frames) {
    if (socket.destroyed) return { written, stalled: true };
    written++;
    if (socket.write(frame)) continue;
    const drained = await new Promise<boolean>((ok) => {
      const timer = setTimeout(() => {
        socket.off('drain', onDrain);
        ok(false);
      }, stallMs);
      const onDrain = () => {
        clearTimeout(timer);
        ok(true);
      };
      socket.once('drain', onDrain);
    });
    if (!drained) return { written, stalled: true };
  }
  return { written, stalled: false };
}

async function runScenario(scenario: ScenarioId, totalBytes: number, stallMs: number, sampleMs: number): Promise<ScenarioResult> {
  const server = await startServer(scenario);
  const sampler = new RssSampler(server.pid, sampleMs);
  const writer = await RawClient.open(server.port);
  const reader = scenario === 'echo' ? writer : await RawClient.open(server.port);
  try {
    await sleep(500);
    const baseline = sampler.sample();
    const frame = clientFrame();
    const frames = Math.ceil(totalBytes / FRAME_PAYLOAD);

    sampler.mark();
    let t0 = performance.now();
    const phase1 = await push(writer.socket, frame, frames, stallMs);
    const phase1Seconds = (performance.now() - t0) / 1000;
    const acceptedWhileNotReading = (phase1.written * CLIENT_FRAME_BYTES) - writer.socket.writableLength;
    await sleep(300); // whatever the server was still doing with what it read
    const peakPhase1 = sampler.peak();
    console.log(`  ${scenario}: phase 1 ${phase1.stalled ? 'stalled' : 'pushed everything'} after ${round1(acceptedWhileNotReading / MiB)} MiB in ${round1(phase1Seconds)} s; server RSS ${round1(baseline)} → peak ${round1(peakPhase1)} MiB`);

    sampler.mark();
    t0 = performance.now();
    reader.startReading();
    if (scenario === 'chat') writer.startReading(); // the room sends the writer nothing; reading keeps it honest
    const rest = await push(writer.socket, frame, frames - phase1.written, Math.max(stallMs, 30_000));
    const expectedBytes = (phase1.written + rest.written) * SERVER_FRAME_BYTES;
    const until = Date.now() + 60_000;
    while (reader.received < expectedBytes && Date.now() < until && !reader.socket.destroyed) await sleep(20);
    const phase2Seconds = (performance.now() - t0) / 1000;
    const peakPhase2 = sampler.peak();
    const end = sampler.sample();
    const growthNotReading = peakPhase1 - baseline;
    const result: ScenarioResult = {
      scenario, totalBytes, acceptedWhileNotReading, stalled: phase1.stalled, phase1Seconds: round1(phase1Seconds),
      allDelivered: reader.received === expectedBytes, deliveredBytes: reader.received, expectedBytes, phase2Seconds: round1(phase2Seconds),
      rssMiB: { baseline: round1(baseline), peakPhase1: round1(peakPhase1), peakPhase2: round1(peakPhase2), end: round1(end) },
      growthNotReadingMiB: round1(growthNotReading), growthFlowingMiB: round1(peakPhase2 - baseline), met: growthNotReading < TARGET_GROWTH_MIB,
    };
    console.log(`  ${scenario}: phase 2 delivered ${round1(reader.received / MiB)} of ${round1(expectedBytes / MiB)} MiB in ${round1(phase2Seconds)} s; peak ${round1(peakPhase2)} MiB (+${result.growthFlowingMiB} MiB while flowing)`);
    return result;
  } finally {
    sampler.stop();
    writer.destroy();
    reader.destroy();
    server.child.kill('SIGTERM');
    await new Promise((r) => (server.child.exitCode !== null ? r(null) : server.child.once('exit', r)));
  }
}

const scenarioLabels: Record<ScenarioId, string> = {
  echo: 'echo: the writer never reads its echoes',
  chat: 'chat: a second member never reads the broadcasts',
};

export function renderMarkdown(r: BackpressureResults): string {
  const m = r.machine;
  const lines = [
    '## Backpressure: a peer that writes and never reads',
    '',
    `Written by \`npm run bench:backpressure\` (scripts/bench-backpressure.ts) on ${r.date}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, code ${m.commit}.`,
    `The server is \`wsinspect serve --trace none --port 0\` in its own process; its RSS is read from /proc/PID/status every ${r.config.sampleMs} ms.`,
    `A raw TCP client does the handshake, then writes ${r.config.totalMiB} MiB of masked 64 KiB binary frames as fast as its socket takes them, never buffering more than one frame itself.`,
    `Phase 1: nobody reads; it ends when everything went out or the writer's socket took nothing for ${r.config.stallMs} ms (the server stopped reading).`,
    'Phase 2: the reader starts reading; the rest goes out and every echoed or broadcast byte must arrive.',
    '',
    '| scenario | taken while nobody read | phase 1 | RSS before | peak, phase 1 | growth, phase 1 | target: < 64 MiB | peak, phase 2 | growth, phase 2 | all delivered in phase 2 |',
    '| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | --- |',
  ];
  for (const s of r.scenarios) {
    lines.push(`| ${scenarioLabels[s.scenario]} | ${round1(s.acceptedWhileNotReading / MiB)} MiB of ${round1(s.totalBytes / MiB)} | ${s.stalled ? 'stalled (server paused)' : 'all taken'} in ${s.phase1Seconds} s | ${s.rssMiB.baseline} MiB | ${s.rssMiB.peakPhase1} MiB | ${s.growthNotReadingMiB} MiB | ${s.met ? '✅ met' : '❌ missed'} | ${s.rssMiB.peakPhase2} MiB | ${s.growthFlowingMiB} MiB | ${s.allDelivered ? `yes (${round1(s.deliveredBytes / MiB)} MiB in ${s.phase2Seconds} s)` : `no: ${round1(s.deliveredBytes / MiB)} of ${round1(s.expectedBytes / MiB)} MiB`} |`);
  }
  lines.push(
    '',
    '"Taken while nobody read" includes what the kernel buffers on both sides of the loopback connection hold; the server\'s own queue stops at its write high-water mark (1 MiB) plus one read\'s answers.',
    'The target is on phase 1, the attack. Phase 2\'s growth is a 1 GiB echo in full flow: garbage V8 has not collected yet, not a queue.',
    'Raw figures: backpressure-results.json.',
  );
  return lines.join('\n');
}

async function main(): Promise<BackpressureResults> {
  const started = performance.now();
  const totalMiB = envNumber('BP_TOTAL_MIB', 1024);
  const stallMs = envNumber('BP_STALL_MS', 2000);
  const sampleMs = envNumber('BP_SAMPLE_MS', 20);
  const wanted = (process.env['BP_SCENARIOS'] ?? scenarioIds.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) if (!(scenarioIds as readonly string[]).includes(w)) throw new Error(`BP_SCENARIOS: unknown "${w}" (choose from ${scenarioIds.join(', ')})`);
  const scenarios = scenarioIds.filter((s) => wanted.includes(s));
  console.log(`bench:backpressure: ${totalMiB} MiB of 64 KiB frames per scenario (${scenarios.join(', ')})`);
  const results: ScenarioResult[] = [];
  for (const s of scenarios) results.push(await runScenario(s, totalMiB * MiB, stallMs, sampleMs));
  return {
    kind: 'websocket-inspector-backpressure', date: new Date().toISOString(), machine: machineInfo(),
    config: { totalMiB, stallMs, sampleMs, scenarios }, scenarios: results, elapsedSeconds: round1((performance.now() - started) / 1000),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (res) => {
      const outDir = resolve(process.env['BP_OUT_DIR'] ?? repoRoot);
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'backpressure-results.json'), `${JSON.stringify(res, null, 2)}\n`);
      if (process.env['BP_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'backpressure', renderMarkdown(res));
      for (const s of res.scenarios) console.log(`${s.met ? '✓' : '✗'} ${s.scenario}: server RSS growth while nobody read ${s.growthNotReadingMiB} MiB (target < ${TARGET_GROWTH_MIB})`);
      process.exit(res.scenarios.every((s) => s.met && s.allDelivered) ? 0 : 1);
    },
    (error: unknown) => {
      console.error(`bench:backpressure failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    },
  );
}
