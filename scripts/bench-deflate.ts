/**
 * npm run bench:deflate — permessage-deflate (RFC 7692) echo round trips over 127.0.0.1:
 *
 *   ours         our client + our server (echoComponent), deflate on (the default), tracing off
 *   ours-traced  the same with the inspector's tracing (every event kept: both forms of each message)
 *   ws           the `ws` package, client + server with perMessageDeflate on (its defaults: context
 *                takeover, 15-bit windows, zlib's default level and memLevel 8 — as ours). ws's
 *                1024-byte threshold applies only when no_context_takeover was agreed (lib/sender.js),
 *                so with takeover, as here, ws compresses every message, as ours does (threshold 0)
 *   ours-inline  ours with every message compressed on the event loop inside the protocol call (the
 *                outbox told no message is worth the thread pool): what ours did before
 *                net/offload-outbox.ts, in the same rounds
 *   ours-split   ours with the client in a worker thread (scripts/bench-deflate-worker.ts) and the
 *   ws-split     server in the main one, and the same for ws: each end has a thread, as two peers
 *                have in practice (ws hands zlib to libuv's pool in either layout; ours runs it on
 *                the thread of the end that sends or receives)
 *
 * Workloads: JSON-like text (what chat and API traffic look like) of 64 B, 16 KiB and 1 MiB, with
 * 64, 16 and 4 messages in flight (as scripts/bench.ts). Each message is one of 16 different texts
 * of that size, in turn, so a message is not a copy of the one before it (which context takeover
 * would turn into a few bytes). msgs/s and MB/s count plain (uncompressed) payload echoed.
 *
 * Same method as scripts/bench.ts (its drive() loop): rounds, the implementations' order rotating,
 * a fresh connection per cell, warm-up, medians over rounds, ours/ws as the median of per-round
 * ratios. Writes bench-deflate-results.json and the "permessage-deflate echo" section of
 * BENCHMARKS.md (the other sections are kept).
 *
 * Environment: BENCH_QUICK=1, BENCH_ROUNDS, BENCH_CELL_MS, BENCH_WARMUP_MS, BENCH_OUT_DIR, BENCH_NO_MD,
 * BENCH_WORKLOADS=1m,16k and BENCH_IMPLS=ours,ws (only those), BENCH_RENDER_ONLY=1 (rewrite the section from the results file).
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../src/core/apps/index.ts';
import { connectClient } from '../src/core/net/client.ts';
import { OffloadOutbox } from '../src/core/net/offload-outbox.ts';
import { WebSocketServer } from '../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../src/core/trace.ts';
import { drive, fmtValue, machineInfo, median, readBudget, writeSection, type Budget, type Link, type Machine, type Workload } from './bench.ts';

export const deflateImplIds = ['ours', 'ours-traced', 'ws', 'ours-split', 'ws-split', 'ours-inline'] as const;
export type DeflateImplId = (typeof deflateImplIds)[number];
const labels: Record<DeflateImplId, string> = {
  ours: 'ours, tracing off', 'ours-traced': 'ours, full tracing', ws: 'ws', 'ours-split': 'ours, client in a worker', 'ws-split': 'ws, client in a worker',
  'ours-inline': 'ours, zlib on the event loop',
};
const host = '127.0.0.1';

/** bench.ts's workloads of the same sizes and windows, with JSON-like text for payload. */
export type DeflateWorkload = Workload & { id: '64' | '16k' | '1m' };

export const deflateWorkloads: readonly DeflateWorkload[] = [
  { id: '64', label: '64 B JSON', size: 64, window: 64, unit: 'msgs/s' },
  { id: '16k', label: '16 KiB JSON', size: 16 * 1024, window: 16, unit: 'MB/s' },
  { id: '1m', label: '1 MiB JSON', size: 1024 * 1024, window: 4, unit: 'MB/s' },
];

/** JSON-like text of exactly `size` bytes; `variant` changes ids and values so texts differ. */
export function jsonText(size: number, variant: number): string {
  let out = '[';
  for (let i = 0; out.length < size; i++) {
    const id = variant * 100_003 + i;
    out += JSON.stringify({ id, user: `user${(id * 7) % 1000}`, text: `message ${id} about item ${(id * 13) % 517}`, price: ((id * 37) % 10_000) / 100, tags: ['news', id % 2 ? 'sport' : 'tech'], read: id % 3 === 0 }) + ',';
  }
  return out.slice(0, size);
}

export type DeflateBenchConfig = Budget;

/** A comma-separated environment list, kept to known ids (all when unset). */
function envIds<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (!raw) return [...all];
  const wanted = raw.split(',').map((x) => x.trim());
  return all.filter((id) => wanted.includes(id));
}

/** Each send takes the next of the texts (all of the same size): drive() only counts sizes. */
function cycling(texts: readonly string[]): () => string {
  let next = 0;
  return () => texts[next++ % texts.length]!;
}

/** The echo server of an implementation, deflate on. */
export async function startEchoServer(impl: 'ours' | 'ws', tracer?: Tracer): Promise<{ url: string; close: () => Promise<void> }> {
  if (impl === 'ours') {
    const server = new WebSocketServer({ host, port: 0, component: echoComponent, maxMessageSize: 64 * 1024 * 1024, ...(tracer ? { tracer, traceBytes: false } : {}) });
    const { url } = await server.listen();
    return { url, close: () => server.close() };
  }
  const server = new WsServer({ host, port: 0, perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r, j) => {
    server.once('listening', () => r());
    server.once('error', j);
  });
  server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data as Buffer, { binary: isBinary })));
  return {
    url: `ws://${host}:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      for (const c of server.clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A client of an implementation, deflate on (checked), sending the texts in turn; close() closes it only. */
export async function openEchoClient(impl: 'ours' | 'ws', url: string, texts: readonly string[], tracer?: Tracer): Promise<Link> {
  const next = cycling(texts);
  const link: Link = { send: () => {}, onMessage: () => {}, close: async () => {} };
  if (impl === 'ours') {
    const client = connectClient(url, { onMessage: (_c, m) => link.onMessage(m.data.length) }, { maxMessageSize: 64 * 1024 * 1024, ...(tracer ? { tracer, traceBytes: false } : {}) });
    const conn = await client.opened;
    if (!conn.protocol.agreedExtension) throw new Error('permessage-deflate was not agreed');
    link.send = () => conn.sendText(next());
    link.close = async () => {
      conn.close(1000);
      await Promise.race([conn.closed(), new Promise((r) => setTimeout(r, 2000))]);
      conn.destroy();
    };
    return link;
  }
  const ws = new WebSocket(url, { perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r, j) => {
    ws.once('open', () => r());
    ws.once('error', j);
  });
  if (!ws.extensions.startsWith('permessage-deflate')) throw new Error(`ws did not agree permessage-deflate: "${ws.extensions}"`);
  ws.on('message', (data: Buffer) => link.onMessage(data.length));
  link.send = () => ws.send(next());
  link.close = async () => {
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    ws.terminate();
  };
  return link;
}

/** Client and server in this thread (the figure is the whole CPU cost of a round trip). */
async function openPair(impl: 'ours' | 'ws', texts: readonly string[], traced: boolean): Promise<Link & { wire: () => number }> {
  const tracer = traced ? new Tracer() : undefined;
  let wireBytes = 0;
  tracer?.subscribe((e: TraceEvent) => {
    if (e.type === 'frame' && e.direction === 'out' && e.connectionId.startsWith('client')) wireBytes += e.frame.payloadLength;
  });
  const server = await startEchoServer(impl, tracer);
  const client = await openEchoClient(impl, server.url, texts, tracer);
  return {
    ...client,
    set onMessage(f: (size: number) => void) { client.onMessage = f; },
    get onMessage() { return client.onMessage; },
    close: async () => {
      await client.close();
      await server.close();
    },
    wire: () => wireBytes,
  };
}

/**
 * The client in a worker thread, the server here: each end has a thread of its own, as peers
 * are separate processes in practice (ws's zlib work goes to libuv's pool either way).
 */
async function runSplit(impl: 'ours' | 'ws', w: DeflateWorkload, cfg: DeflateBenchConfig): Promise<{ messages: number; seconds: number }> {
  const server = await startEchoServer(impl);
  try {
    const worker = new Worker(new URL('./bench-deflate-worker.mjs', import.meta.url), {
      workerData: { impl, url: server.url, size: w.size, window: w.window, warmupMs: cfg.warmupMs, cellMs: cfg.cellMs },
    });
    return await new Promise((resolveRun, reject) => {
      worker.once('message', (r: { messages: number; seconds: number } | { error: string }) => ('error' in r ? reject(new Error(r.error)) : resolveRun(r)));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
    });
  } finally {
    await server.close();
  }
}

interface DeflateSample {
  round: number;
  value: number;
  cpuSeconds: number;
  valuePerCpu: number;
  /** ours: compressed bytes the client put on the wire per plain byte (payload only). */
  wireRatio?: number;
}

async function runCell(impl: DeflateImplId, w: DeflateWorkload, texts: readonly string[], cfg: DeflateBenchConfig, round: number): Promise<DeflateSample> {
  (globalThis as { gc?: () => void }).gc?.();
  if (impl === 'ours-split' || impl === 'ws-split') {
    const cpu = process.cpuUsage();
    const { messages, seconds } = await runSplit(impl === 'ours-split' ? 'ours' : 'ws', w, cfg);
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const scale = (n: number) => (w.unit === 'msgs/s' ? n : (n * w.size) / 1e6);
    return { round, value: scale(messages / seconds), cpuSeconds, valuePerCpu: scale(messages / Math.max(cpuSeconds, 1e-6)) };
  }
  // ours-inline: every message compressed inside the protocol call, on the event loop (as before
  // offload-outbox.ts): the outbox is told no message is worth the thread pool, for this cell only.
  const worthOffloading = OffloadOutbox.worthOffloading;
  if (impl === 'ours-inline') OffloadOutbox.worthOffloading = () => false;
  const restore = () => { OffloadOutbox.worthOffloading = worthOffloading; };
  const link = await openPair(impl === 'ws' ? 'ws' : 'ours', texts, impl === 'ours-traced').catch((error: unknown) => { restore(); throw error; });
  const payloadOfSize = new Uint8Array(w.size); // drive() checks each echo's size against it
  try {
    await drive(link, payloadOfSize, w.window, cfg.warmupMs);
    const wireBefore = 'wire' in link ? (link as { wire: () => number }).wire() : 0;
    const cpu = process.cpuUsage();
    const { messages, seconds } = await drive(link, payloadOfSize, w.window, cfg.cellMs);
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const scale = (n: number) => (w.unit === 'msgs/s' ? n : (n * w.size) / 1e6);
    const wire = 'wire' in link ? (link as { wire: () => number }).wire() - wireBefore : 0;
    return {
      round, value: scale(messages / seconds), cpuSeconds, valuePerCpu: scale(messages / Math.max(cpuSeconds, 1e-6)),
      ...(impl === 'ours-traced' && messages > 0 ? { wireRatio: wire / (messages * w.size) } : {}),
    };
  } finally {
    await link.close();
    restore();
  }
}

export interface DeflateRow {
  workload: DeflateWorkload['id'];
  impl: DeflateImplId;
  median: number;
  medianPerCpu: number;
  samples: DeflateSample[];
}

export interface DeflateBenchResults {
  kind: 'websocket-inspector-bench-deflate';
  date: string;
  machine: Machine;
  config: DeflateBenchConfig;
  elapsedSeconds: number;
  rows: DeflateRow[];
  ratios: Array<{ workload: DeflateWorkload['id']; oursVsWs: number | null; oursVsWsPerCpu: number | null; tracedVsWs: number | null; splitOursVsWs: number | null; inlineVsWs: number | null; oursVsInline: number | null; wireRatio: number | null }>;
}

/** ours/ws within each round, in round order. */
function perRoundRatios(a: DeflateRow | undefined, b: DeflateRow | undefined): number[] {
  if (!a || !b) return [];
  return a.samples.flatMap((x) => {
    const y = b.samples.find((s) => s.round === x.round);
    return y && y.value > 0 ? [x.value / y.value] : [];
  });
}

function pairedRatio(a: DeflateRow | undefined, b: DeflateRow | undefined, key: 'value' | 'valuePerCpu' = 'value'): number | null {
  if (!a || !b) return null;
  const ratios = a.samples.flatMap((x) => {
    const y = b.samples.find((s) => s.round === x.round);
    return y && y[key] > 0 ? [x[key] / y[key]] : [];
  });
  return ratios.length ? median(ratios) : null;
}

export async function runDeflateBench(cfg: DeflateBenchConfig = readBudget()): Promise<DeflateBenchResults> {
  const started = performance.now();
  // BENCH_WORKLOADS=1m (say) runs only those workloads; BENCH_IMPLS=ours,ws only those implementations.
  const chosen = envIds('BENCH_WORKLOADS', deflateWorkloads.map((w) => w.id));
  const workloadsRun = deflateWorkloads.filter((w) => chosen.includes(w.id));
  const implsChosen = envIds('BENCH_IMPLS', [...deflateImplIds]);
  const implsRun = deflateImplIds.filter((i) => implsChosen.includes(i));
  const texts = new Map(workloadsRun.map((w) => [w.id, Array.from({ length: 16 }, (_, v) => jsonText(w.size, v))]));
  const samples = new Map<string, DeflateSample[]>();
  console.log(`bench:deflate: ${cfg.rounds} rounds × ${workloadsRun.length} workloads × ${implsRun.length} implementations, cells of ${cfg.warmupMs} + ${cfg.cellMs} ms`);
  for (let round = 0; round < cfg.rounds; round++) {
    const order = implsRun.map((_, i) => implsRun[(i + round) % implsRun.length]!);
    for (const w of workloadsRun) {
      const line: string[] = [];
      for (const impl of order) {
        const sample = await runCell(impl, w, texts.get(w.id)!, cfg, round);
        samples.set(`${w.id}|${impl}`, [...(samples.get(`${w.id}|${impl}`) ?? []), sample]);
        line.push(`${impl} ${fmtValue(sample.value, w.unit)}`);
      }
      console.log(`  round ${round + 1}/${cfg.rounds} ${w.label.padEnd(12)} ${w.unit.padEnd(6)} ${line.join('  ')}`);
    }
  }
  const rows: DeflateRow[] = deflateWorkloads.flatMap((w) => deflateImplIds.map((impl) => {
    const list = samples.get(`${w.id}|${impl}`) ?? [];
    return { workload: w.id, impl, median: median(list.map((s) => s.value)), medianPerCpu: median(list.map((s) => s.valuePerCpu)), samples: list };
  }));
  const row = (w: DeflateWorkload['id'], impl: DeflateImplId) => rows.find((r) => r.workload === w && r.impl === impl);
  const results: DeflateBenchResults = {
    kind: 'websocket-inspector-bench-deflate', date: new Date().toISOString(), machine: machineInfo(), config: cfg,
    elapsedSeconds: (performance.now() - started) / 1000, rows,
    ratios: deflateWorkloads.map((w) => {
      const wire = (row(w.id, 'ours-traced')?.samples ?? []).flatMap((s) => (s.wireRatio !== undefined ? [s.wireRatio] : []));
      return {
        workload: w.id,
        oursVsWs: pairedRatio(row(w.id, 'ours'), row(w.id, 'ws')),
        oursVsWsPerCpu: pairedRatio(row(w.id, 'ours'), row(w.id, 'ws'), 'valuePerCpu'),
        tracedVsWs: pairedRatio(row(w.id, 'ours-traced'), row(w.id, 'ws')),
        splitOursVsWs: pairedRatio(row(w.id, 'ours-split'), row(w.id, 'ws-split')),
        inlineVsWs: pairedRatio(row(w.id, 'ours-inline'), row(w.id, 'ws')),
        oursVsInline: pairedRatio(row(w.id, 'ours'), row(w.id, 'ours-inline')),
        wireRatio: wire.length ? median(wire) : null,
      };
    }),
  };
  mkdirSync(cfg.outDir, { recursive: true });
  writeFileSync(join(cfg.outDir, 'bench-deflate-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (cfg.writeMarkdown) writeSection(join(cfg.outDir, 'BENCHMARKS.md'), 'deflate', renderDeflateMarkdown(results));
  return results;
}

const ratio = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}×`);

export function renderDeflateMarkdown(r: DeflateBenchResults): string {
  const m = r.machine;
  const lines = [
    '## permessage-deflate echo: ours vs ws',
    '',
    `Written by \`npm run bench:deflate\` (scripts/bench-deflate.ts) on ${r.date.slice(0, 10)}: ${m.cpu} (${m.cores} cores), node ${m.node}, ws ${m.ws}, ${r.config.rounds} rounds of ${r.config.cellMs} ms cells${r.config.quick ? ' (quick run)' : ''}.`,
    'Both sides compress every message with the same settings (RFC 7692, context takeover, 15-bit windows, zlib level 6 and memLevel 8;',
    'ws\'s 1024-byte threshold only applies with no_context_takeover); JSON-like text, each message one of 16 different texts of its size;',
    'figures count plain payload echoed, client and server in one process. Ours compresses a message of 32 KiB or more in libuv\'s thread',
    'pool (net/offload-outbox.ts), as ws does for all; "zlib on the event loop" is ours with that turned off, in the same rounds.',
    `Load average ${m.loadAverage.start.toFixed(1)} at the start, ${m.loadAverage.end.toFixed(1)} at the end (2 cores: other work competed when above 2).`,
    '',
    `| workload | unit | ${deflateImplIds.map((i) => labels[i]).join(' | ')} | ours / ws | per CPU-second | traced / ws | ours / ws, client in a worker | event loop / ws | ours / event loop | wire / plain (ours) | target ≥ 1.0× |`,
    `| --- | --- | ${deflateImplIds.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
  ];
  for (const w of deflateWorkloads) {
    const cells = deflateImplIds.map((impl) => {
      const row = r.rows.find((x) => x.workload === w.id && x.impl === impl);
      return row ? fmtValue(row.median, w.unit) : '—';
    });
    const q = r.ratios.find((x) => x.workload === w.id)!;
    const met = q.oursVsWs === null ? '—' : q.oursVsWs >= 1 ? '✅ met' : '❌ missed';
    lines.push(`| ${w.label} | ${w.unit} | ${cells.join(' | ')} | ${ratio(q.oursVsWs)} | ${ratio(q.oursVsWsPerCpu)} | ${ratio(q.tracedVsWs)} | ${ratio(q.splitOursVsWs)} | ${ratio(q.inlineVsWs)} | ${ratio(q.oursVsInline)} | ${q.wireRatio === null ? '—' : `${(q.wireRatio * 100).toFixed(1)} %`} | ${met} |`);
  }
  const behind = r.ratios.filter((q) => q.oursVsWs !== null && q.oursVsWs < 1);
  if (behind.length) {
    const detail = behind.map((q) => {
      const label = deflateWorkloads.find((w) => w.id === q.workload)!.label;
      const rounds = perRoundRatios(r.rows.find((x) => x.workload === q.workload && x.impl === 'ours'), r.rows.find((x) => x.workload === q.workload && x.impl === 'ws'));
      return `${label}: ${ratio(q.oursVsWs)} (rounds ${rounds.map((x) => x.toFixed(2)).join(', ')})`;
    }).join('; ');
    lines.push('', `Where ours is behind on the clock (${detail}): zlib's work dominates there (deflating 1 MiB of this JSON at level 6 takes 11-14 ms, inflating it about 1 ms; per CPU-second the two are close). Messages of 32 KiB and more are compressed in the thread pool, so client and server compress on both cores at once, as with ws (the "ours / event loop" column is that gain), in one output buffer per message and one trip back to the event loop (node:zlib's 16 KiB chunks made ~70 for 1 MiB, each waiting for a busy loop), and the echoed text is encoded to UTF-8 once. What stays on our event loop (a CPU profile of the 1 MiB cell: the loop idle ~55 % of the time, so it is not what limits it): collections ~8 %, UTF-8 decoding to a string ~6 %, inflating ~5 % (synchronous: it must stop at the message limit as it goes; the thread pool could do it too, with an incoming twin of the outbox). The rest is the two cores themselves: ws and ours do the same zlib work (per CPU-second ours is ahead), so whichever gets the cores wins the round; with other work on the 2 cores, rounds vary widely.`);
  }
  const large = r.ratios.find((q) => q.workload === '1m');
  if (large && large.oursVsWs !== null && large.oursVsWs >= 1) {
    const rounds = perRoundRatios(r.rows.find((x) => x.workload === '1m' && x.impl === 'ours'), r.rows.find((x) => x.workload === '1m' && x.impl === 'ws'));
    lines.push('', `1 MiB JSON, ours / ws per round: ${rounds.map((x) => x.toFixed(2)).join(', ')}. Messages of 32 KiB and more are compressed in the thread pool in one output buffer per message and one trip back to the event loop (node:zlib's 16 KiB chunks made ~70 for 1 MiB, each waiting for a busy loop), and an echoed text is encoded to UTF-8 once. Still on our event loop: inflating (synchronous, so it can stop at the message limit as it goes), UTF-8 decoding and collections; both sides do the same zlib work, so with other work on the 2 cores whichever gets them wins a round, and rounds vary widely.`);
  }
  lines.push('', 'Raw figures per round: bench-deflate-results.json.');
  return lines.join('\n');
}

if (isMainThread && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const renderOnly = process.env['BENCH_RENDER_ONLY'] === '1';
  const cfg = readBudget();
  (renderOnly
    ? Promise.resolve(JSON.parse(readFileSync(join(cfg.outDir, 'bench-deflate-results.json'), 'utf8')) as DeflateBenchResults).then((r) => {
      writeSection(join(cfg.outDir, 'BENCHMARKS.md'), 'deflate', renderDeflateMarkdown(r));
      return r;
    })
    : runDeflateBench(cfg)).then((r) => {
    for (const q of r.ratios) console.log(`${q.workload}: ours/ws ${ratio(q.oursVsWs)} (per CPU ${ratio(q.oursVsWsPerCpu)}), traced/ws ${ratio(q.tracedVsWs)}, client in a worker ${ratio(q.splitOursVsWs)}, zlib on the event loop/ws ${ratio(q.inlineVsWs)}, ours/that ${ratio(q.oursVsInline)}, wire/plain ${q.wireRatio === null ? '—' : (q.wireRatio * 100).toFixed(1) + ' %'}`);
  }, (error: unknown) => {
    console.error(`bench:deflate failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  });
}
