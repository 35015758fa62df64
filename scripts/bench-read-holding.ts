/**
 * What "waiting on purpose" before reading again would buy our server (issue 17), measured with a
 * prototype built from outside the product code: `npm run bench:read-holding`.
 *
 * Under a ws client that sends each message with a write of its own, our server is faster than the
 * client: it empties its socket every few messages and its CPU per message is set by how often the
 * client's writes wake it (scripts/bench-server-cpu.ts, its commentary). The one lever left to a
 * server on node's sockets is to stop reading for a while after a read that found several messages,
 * so that the next read finds more. This script measures that lever and what it costs.
 *
 * Server mode (`--serve <mode>`, a process of its own so that its CPU is its own): our
 * WebSocketServer (src/core/net/server.ts) with the echo component, permessage-deflate off, nothing
 * subscribed to its tracer, as `wsinspect serve --trace none --no-deflate` runs it, plus:
 *   none            nothing else (the control: it must match the real `wsinspect serve`)
 *   hold-next-turn  after a socket read that yielded ≥ 2 messages, reading paused until setImmediate
 *   hold-1ms        the same, paused until a 1 ms timer
 * The messages of one read are counted in the component's onMessage; process.nextTick, queued on a
 * read's first message, runs once that read's 'data' callback is over (its echoes already written).
 * The pause is the connection's own pauseReading() (socket.pause() with the connection's count of
 * pauses, so a resume never overrides its backpressure pause). No second 'data' listener is added:
 * that would turn off the in-place unmasking (the listenerCount check in src/core/net/connection.ts).
 *
 * Driver mode (default): starts `ours` (the real `wsinspect serve`, bench-server-cpu's startServer),
 * this script's server in the three modes, and ws's echo server, then blasts each with a ws client
 * (bench-server-cpu's blast() with a write per message, timed by the clock as well: timedBlast) per
 * workload: 64 B and 16 KiB blasting, and 64 B with 2 and with 1 message in flight. Per cell: the
 * server process's CPU µs per message and the messages per second the client saw. Rounds with the server order rotated each round; medians
 * over rounds, ratios taken within a round.
 *
 * Environment: BENCH_HOLD_ROUNDS (default 3), BENCH_HOLD_CELL_MS (1000), BENCH_HOLD_WARMUP_MS (150),
 * BENCH_QUICK=1 (1 round of 400 ms cells), BENCH_OUT_DIR (read-holding-results.json and
 * BENCHMARKS.md; default the repository root), BENCH_NO_MD=1 (leave BENCHMARKS.md alone).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { echoComponent } from '../src/core/apps/index.ts';
import { Defaults } from '../src/core/constants.ts';
import type { Connection } from '../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../src/core/net/server.ts';
import type { CpuWorkload, RunningServer } from './bench-server-cpu.ts';

// The server process (--serve) loads the core server and nothing else: the bench helpers, and through
// bench.ts the inspector service and all it imports, are the driver's (a leaner process than
// `wsinspect serve`'s bundle would be no fair control either way, but a heavier one is easy to avoid).
const serving = process.argv.includes('--serve');
const { envNumber, machineInfo, median, repoRoot, writeSection } = serving ? ({} as typeof import('./bench.ts')) : await import('./bench.ts');
const { processCpuSeconds, startServer } = serving ? ({} as typeof import('./bench-server-cpu.ts')) : await import('./bench-server-cpu.ts');

export const holdModes = ['none', 'hold-next-turn', 'hold-1ms'] as const;
export type HoldMode = (typeof holdModes)[number];
export const holdServers = ['ours', ...holdModes, 'ws'] as const;
export type HoldServer = (typeof holdServers)[number];

/** The workloads: the two blasting rows issue 17 misses, and clients that wait for their echoes. */
export const holdWorkloads: readonly (CpuWorkload & { description: string })[] = [
  { id: '64', label: '64 B', size: 64, window: 4096, judged: true, client: 'each', description: '64 B, blasting, a write per message (4,096 in flight)' },
  { id: '16k', label: '16 KiB', size: 16 * 1024, window: 256, judged: true, client: 'each', description: '16 KiB, blasting, a write per message (256 in flight)' },
  { id: '64-2', label: '64 B', size: 64, window: 2, judged: false, client: 'each', description: '64 B, 2 in flight' },
  { id: '64-1', label: '64 B', size: 64, window: 1, judged: false, client: 'each', description: '64 B, 1 in flight (sequential)' },
];

const TARGET = 0.5;

// ------------------------------------------------------------------ server mode

/** The echo component, plus read holding for the hold modes (see the header comment). */
export function holdingEcho(mode: HoldMode): ServerComponent {
  if (mode === 'none') return echoComponent;
  const messagesThisRead = new WeakMap<Connection, number>();
  const readOver = (conn: Connection) => {
    const count = messagesThisRead.get(conn) ?? 0;
    messagesThisRead.delete(conn);
    if (count < 2 || conn.state !== 'OPEN') return;
    const release = conn.pauseReading();
    if (mode === 'hold-1ms') setTimeout(release, 1);
    else setImmediate(release);
  };
  return {
    name: `echo, reads held (${mode})`,
    onMessage(conn, message, server) {
      echoComponent.onMessage!(conn, message, server);
      const count = messagesThisRead.get(conn) ?? 0;
      messagesThisRead.set(conn, count + 1);
      if (count === 0) process.nextTick(readOver, conn);
    },
  };
}

async function serve(mode: string | undefined): Promise<void> {
  if (!holdModes.includes(mode as HoldMode)) throw new Error(`--serve needs one of ${holdModes.join(', ')} (got "${mode ?? ''}")`);
  const server = new WebSocketServer({
    // As `wsinspect serve --trace none --no-deflate` makes it (src/cli/wsinspect.ts serve()).
    host: '127.0.0.1', port: 0, component: holdingEcho(mode as HoldMode), deflate: false, traceBytes: false, policy: 'strict',
    maxMessageSize: Defaults.maxMessageSize, handshakeTimeoutMs: Defaults.handshakeTimeoutMs,
  });
  const { url } = await server.listen();
  console.log(`listening on ${url}`);
  // Gone with the process that started it, even if that one was killed before it could say so.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500).unref();
}

/** Starts this script's server in `mode` in a process of its own; resolves with its URL. */
export function startHoldingServer(mode: HoldMode): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolveStart, reject) => {
    const onExit = (code: number | null) => reject(new Error(`read-holding server (${mode}) exited (${code}): ${err.slice(0, 300)}`));
    child.on('exit', onExit);
    const tooLong = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`read-holding server (${mode}) did not listen within 30 s: ${err.slice(0, 300)}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (ws:\/\/\S+)/.exec(out)?.[1];
      if (!url) return;
      clearTimeout(tooLong);
      child.off('exit', onExit);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      // Only the URL and the process are used; the id is bench-server-cpu's label, not read here.
      resolveStart({ id: 'ours', child, url });
    });
  });
}

// ------------------------------------------------------------------ driver

export interface HoldSample { server: HoldServer; workload: string; round: number; messages: number; cpuSeconds: number; seconds: number }

export interface HoldCell { cpuUs: number; msgsPerSecond: number }
export interface HoldRow {
  workload: string; description: string;
  servers: Record<HoldServer, HoldCell>;
  /** Medians over rounds of the within-round ratios. */
  hold1msVsWsCpu: number; oursVsWsCpu: number; noneVsOursCpu: number; nextTurnVsNoneCpu: number;
  /** hold-1ms messages per second / none's, minus 1 (−0.2: a fifth fewer). */
  hold1msThroughputChange: number;
}

export interface ReadHoldingResults {
  date: string; node: string; commit: string; rounds: number; cellMs: number; warmupMs: number;
  load: { start: number; end: number };
  rows: HoldRow[];
  samples: HoldSample[];
}

/** Per-server medians and within-round ratios from the cells. */
export function summariseReadHolding(samples: readonly HoldSample[]): HoldRow[] {
  const rounds = [...new Set(samples.map((s) => s.round))].sort((a, b) => a - b);
  return holdWorkloads.filter((w) => samples.some((s) => s.workload === w.id)).map((w): HoldRow => {
    const cell = (server: HoldServer, round: number) => {
      const c = samples.filter((s) => s.server === server && s.workload === w.id && s.round === round);
      const messages = c.reduce((a, s) => a + s.messages, 0);
      return { cpuUs: (c.reduce((a, s) => a + s.cpuSeconds, 0) * 1e6) / messages, msgsPerSecond: messages / c.reduce((a, s) => a + s.seconds, 0) };
    };
    const ratio = (a: HoldServer, b: HoldServer, key: keyof HoldCell) => median(rounds.map((r) => cell(a, r)[key] / cell(b, r)[key]).filter(Number.isFinite));
    const servers = Object.fromEntries(holdServers.map((id) => [id, {
      cpuUs: median(rounds.map((r) => cell(id, r).cpuUs).filter(Number.isFinite)),
      msgsPerSecond: median(rounds.map((r) => cell(id, r).msgsPerSecond).filter(Number.isFinite)),
    }])) as Record<HoldServer, HoldCell>;
    return {
      workload: w.id, description: w.description, servers,
      hold1msVsWsCpu: ratio('hold-1ms', 'ws', 'cpuUs'), oursVsWsCpu: ratio('ours', 'ws', 'cpuUs'),
      noneVsOursCpu: ratio('none', 'ours', 'cpuUs'), nextTurnVsNoneCpu: ratio('hold-next-turn', 'none', 'cpuUs'),
      hold1msThroughputChange: ratio('hold-1ms', 'none', 'msgsPerSecond') - 1,
    };
  });
}

/**
 * One cell of bench-server-cpu's blast() with a client that writes each message ('each'), timed by
 * the clock as well: the cell's measured span is from the timer that starts it to the one that ends
 * it as they actually fire. blast() itself is not enough for messages per second: a timer fires only
 * between turns of the client's event loop, and against a server that keeps up, a turn of the
 * client is libuv's 32 reads of 64 KiB in a row (2 MiB: 31,775 echoes at 64 B, some 200 ms), so a
 * "1 s" cell lasts 1.0-1.2 s and counts a whole number of such turns (measured: 127,100 and 158,875
 * echoes, 4 and 5 × 31,775). CPU and messages are read at the same two moments as blast() reads them.
 */
export function timedBlast(server: RunningServer, w: CpuWorkload, payload: Buffer, warmupMs: number, cellMs: number): Promise<{ messages: number; cpuSeconds: number; seconds: number }> {
  const pid = server.child.pid!;
  return new Promise((done, fail) => {
    const ws = new WebSocket(server.url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    let phase: 'warmup' | 'measure' | 'over' = 'warmup';
    let messages = 0;
    ws.on('error', fail);
    ws.on('message', () => {
      if (phase === 'over') return;
      if (phase === 'measure') messages++;
      ws.send(payload, { binary: true });
    });
    ws.on('open', () => {
      for (let i = 0; i < w.window; i++) ws.send(payload, { binary: true });
      setTimeout(() => {
        phase = 'measure';
        const cpuStart = processCpuSeconds(pid);
        const start = performance.now();
        setTimeout(() => {
          const cpuSeconds = processCpuSeconds(pid) - cpuStart;
          const seconds = (performance.now() - start) / 1000;
          phase = 'over';
          ws.terminate();
          done({ messages, cpuSeconds, seconds });
        }, cellMs);
      }, warmupMs);
    });
  });
}

export async function runReadHolding(): Promise<ReadHoldingResults> {
  const quick = process.env['BENCH_QUICK'] === '1';
  const rounds = Math.floor(envNumber('BENCH_HOLD_ROUNDS', quick ? 1 : 3));
  const cellMs = envNumber('BENCH_HOLD_CELL_MS', quick ? 400 : 1000);
  const warmupMs = envNumber('BENCH_HOLD_WARMUP_MS', 150);
  const loadStart = os.loadavg()[0]!;
  const running = new Map<HoldServer, RunningServer>();
  // Interrupted: no server outlives the run (the ones of this script also leave when their parent does).
  const stop = () => {
    for (const s of running.values()) s.child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    for (const id of holdServers) running.set(id, id === 'ours' || id === 'ws' ? await startServer(id) : await startHoldingServer(id));
    const payloads = new Map(holdWorkloads.map((w) => [w.id, randomBytes(w.size)]));
    for (const w of holdWorkloads) for (const s of running.values()) await timedBlast(s, w, payloads.get(w.id)!, warmupMs, warmupMs); // JIT warm-up
    const samples: HoldSample[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = holdServers.map((_, i) => holdServers[(i + round) % holdServers.length]!);
      for (const w of holdWorkloads) {
        const line: string[] = [];
        for (const id of order) {
          const r = await timedBlast(running.get(id)!, w, payloads.get(w.id)!, warmupMs, cellMs);
          samples.push({ server: id, workload: w.id, round, ...r });
          line.push(`${id} ${((r.cpuSeconds * 1e6) / r.messages).toFixed(2)} µs ${Math.round(r.messages / r.seconds)}/s`);
        }
        console.log(`  read-holding round ${round + 1}/${rounds} ${w.id.padEnd(4)} ${line.join('  ')}`);
      }
    }
    const m = machineInfo();
    return {
      date: new Date().toISOString(), node: m.node, commit: m.commit, rounds, cellMs, warmupMs,
      load: { start: loadStart, end: os.loadavg()[0]! }, rows: summariseReadHolding(samples), samples,
    };
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    for (const s of running.values()) s.child.kill('SIGKILL');
  }
}

// ------------------------------------------------------------------ report

const fmtUs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtRate = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtChange = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(Math.round(100 * x))} %`;

/** What the figures say, computed from them. */
function reading(r: ReadHoldingResults): string[] {
  const row = (id: string) => r.rows.find((x) => x.workload === id);
  const lines: string[] = [];
  const b64 = row('64');
  if (b64) {
    const meets = b64.hold1msVsWsCpu <= TARGET;
    lines.push(`At 64 B blasting, holding reads 1 ms takes our server from ${fmtUs(b64.servers.none.cpuUs)} to ${fmtUs(b64.servers['hold-1ms'].cpuUs)} µs per message, ${b64.hold1msVsWsCpu.toFixed(2)}× ws's ${fmtUs(b64.servers.ws.cpuUs)} (\`wsinspect serve\`: ${b64.oursVsWsCpu.toFixed(2)}×): ${meets ? `under issue 17's 0.5×` : `still above issue 17's 0.5×`}, with the client's throughput ${fmtChange(b64.hold1msThroughputChange)}${b64.hold1msThroughputChange > 0.05 ? ' (up: here the client sets the pace, and it seems to gain from fewer, larger writes of echoes)' : ''}. Holding only until the next turn of the loop changes it ${fmtChange(b64.nextTurnVsNoneCpu - 1)} (CPU per message)${Math.abs(b64.nextTurnVsNoneCpu - 1) < 0.1 ? ': a turn is too short for the client to write much more' : ''}.`);
  }
  const costs = r.rows.filter((x) => x.workload !== '64').map((x) => `${x.description}: CPU ${fmtUs(x.servers.none.cpuUs)} → ${fmtUs(x.servers['hold-1ms'].cpuUs)} µs, throughput ${fmtChange(x.hold1msThroughputChange)}`);
  if (costs.length) lines.push(`What the 1 ms hold costs elsewhere (against the same server without it): ${costs.join('; ')}.`);
  const worst = [...r.rows].sort((a, b) => a.hold1msThroughputChange - b.hold1msThroughputChange)[0];
  if (worst && worst.hold1msThroughputChange < -0.1) {
    lines.push(`So the lever exists but is paid for in latency: a client that waits for its echoes (worst here: ${worst.description}, ${fmtChange(worst.hold1msThroughputChange)}) waits 1 ms after each read that found 2 or more of its messages, and CPU per message rises where each hold ends with little new input.`);
  }
  const control = r.rows.map((x) => x.noneVsOursCpu);
  lines.push(`Control: this script's server without holding spent ${Math.min(...control).toFixed(2)}–${Math.max(...control).toFixed(2)}× the CPU per message of the real \`wsinspect serve\` over the workloads.`);
  return lines;
}

export function renderReadHolding(r: ReadHoldingResults): string {
  const head = holdServers.map((id) => `${id} µs/msg · msgs/s`);
  return [
    '## Read holding: what waiting on purpose before reading again would buy our server (issue 17)',
    '',
    `Written by \`npm run bench:read-holding\` (scripts/bench-read-holding.ts) on ${r.date}, code ${r.commit}, Node.js ${r.node}, load average ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}.`,
    '',
    '**Method.** Five echo servers, each in a process of its own: `ours` is `wsinspect serve --trace none --no-deflate`; `none`,',
    '`hold-next-turn` and `hold-1ms` are the same core server and echo component built by this script, the last two pausing',
    'reading (the connection\'s pauseReading) after a socket read that yielded 2 or more messages, until `setImmediate` or a',
    '1 ms timer; `ws` is the ws package\'s echo server. A ws client keeps a window of binary messages in flight and sends the',
    `next, each with its own write, as each echo arrives (bench-server-cpu's blast(), timed by the clock), ${r.cellMs} ms per cell`,
    `after ${r.warmupMs} ms of warm-up, a fresh connection per cell, ${r.rounds} round${r.rounds === 1 ? '' : 's'} with the server order rotated each round. CPU is the`,
    'server process\'s own (every thread\'s time on a CPU, /proc schedstat) per message echoed; msgs/s is what the client',
    'counted over the same span by the clock.',
    'Medians over rounds; ratios within a round.',
    '',
    `| workload | ${head.join(' | ')} | hold-1ms / ws CPU | ours / ws CPU | hold-1ms vs none, msgs/s |`,
    `| --- | ${head.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`,
    ...r.rows.map((x) => `| ${x.description} | ${holdServers.map((id) => `${fmtUs(x.servers[id].cpuUs)} · ${fmtRate(x.servers[id].msgsPerSecond)}`).join(' | ')} | ${x.hold1msVsWsCpu.toFixed(2)} | ${x.oursVsWsCpu.toFixed(2)} | ${fmtChange(x.hold1msThroughputChange)} |`),
    '',
    `**Reading.** ${reading(r).join(' ')}`,
    '',
    'Raw figures per cell: read-holding-results.json.',
  ].join('\n');
}

async function main(): Promise<void> {
  const r = await runReadHolding();
  const outDir = resolve(process.env['BENCH_OUT_DIR'] ?? repoRoot);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'read-holding-results.json'), `${JSON.stringify(r, null, 2)}\n`);
  for (const x of r.rows) {
    console.log(`${x.workload.padEnd(4)} ${holdServers.map((id) => `${id} ${fmtUs(x.servers[id].cpuUs)} µs ${fmtRate(x.servers[id].msgsPerSecond)}/s`).join('  ')}  hold-1ms/ws ${x.hold1msVsWsCpu.toFixed(2)}  ours/ws ${x.oursVsWsCpu.toFixed(2)}  hold-1ms msgs/s ${fmtChange(x.hold1msThroughputChange)}`);
  }
  console.log(`load average ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}`);
  if (process.env['BENCH_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'readHolding', renderReadHolding(r));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const serveAt = process.argv.indexOf('--serve');
  const run = serveAt >= 0 ? serve(process.argv[serveAt + 1]) : main().then(() => process.exit(0));
  run.catch((error: unknown) => {
    console.error(`read-holding bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  });
}
