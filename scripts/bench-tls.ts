/**
 * npm run bench:tls — wss:// echo round trips over 127.0.0.1 (RFC 6455 §10.6), side by side:
 *
 *   ours wss   our client (connectClient) + our server (WebSocketServer + echoComponent) over node:tls
 *   ws wss     the `ws` package, client + server on node:https (perMessageDeflate off)
 *   ours ws    and ws ws: the same over plain TCP, to show what TLS itself costs each of them
 *
 * The same workloads, in-flight windows and method as scripts/bench.ts (its drive() loop): each
 * round runs every workload once per implementation, the order rotating from round to round;
 * each cell opens a fresh connection (a full TLS handshake), warms up, then measures for a fixed
 * time; medians over rounds, and ours/ws as the median of per-round ratios. Tracing is off on our
 * side (the inspector's trace costs the same with or without TLS: see the bench section), and
 * permessage-deflate is off on every side (ws's perMessageDeflate: false, our deflate: false). Both
 * servers present the same ECDSA P-256 certificate, made by certificates.ts, which both clients
 * trust through their CA option; TLS 1.3 with node's default cipher suite (AES-256-GCM).
 *
 * Writes bench-tls-results.json and the "wss:// echo" section of BENCHMARKS.md (others kept).
 * Environment: BENCH_QUICK=1, BENCH_ROUNDS, BENCH_CELL_MS, BENCH_WARMUP_MS, BENCH_OUT_DIR, BENCH_NO_MD.
 */

import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer as WsServer } from 'ws';
import { createCertificate, type CertificatePair } from '../src/core/net/certificates.ts';
import { credentialsFromPem } from '../src/core/net/transport.ts';
import { drive, fmtValue, machineInfo, median, openOursLink, openWsLink, readBudget, workloads, writeSection, type Budget, type Link, type Machine, type Workload } from './bench.ts';

export const tlsImplIds = ['ours-wss', 'ws-wss', 'ours-ws', 'ws-ws'] as const;
export type TlsImplId = (typeof tlsImplIds)[number];
const labels: Record<TlsImplId, string> = { 'ours-wss': 'ours, wss://', 'ws-wss': 'ws, wss://', 'ours-ws': 'ours, ws://', 'ws-ws': 'ws, ws://' };
const host = '127.0.0.1';

export type TlsBenchConfig = Budget;

function openOurs(pair: CertificatePair | null): Promise<Link> {
  const tls = pair ? credentialsFromPem(pair.cert, pair.key, { cert: 'bench certificate', key: 'bench key' }) : undefined;
  // permessage-deflate off on both ends, as for ws: the figure is TLS and framing, not compression.
  return openOursLink({ deflate: false, ...(tls ? { tls } : {}) }, { deflate: false, ...(pair ? { tls: { ca: [pair.cert] } } : {}) });
}

/** ws over node:https (wss://) or node:http (ws://), so that both run on the same kind of server. */
async function openWs(pair: CertificatePair | null): Promise<Link> {
  const http: HttpServer = pair ? createHttpsServer({ cert: pair.cert, key: pair.key }) : createHttpServer();
  const server = new WsServer({ server: http, perMessageDeflate: false });
  await new Promise<void>((r) => http.listen(0, host, () => r()));
  const port = (http.address() as AddressInfo).port;
  return openWsLink(server, `${pair ? 'wss' : 'ws'}://${host}:${port}/`, pair ? { ca: pair.cert } : {}, async () => {
    server.close();
    http.closeAllConnections?.();
    await new Promise((r) => http.close(r));
  });
}

function openLink(impl: TlsImplId, pair: CertificatePair): Promise<Link> {
  switch (impl) {
    case 'ours-wss': return openOurs(pair);
    case 'ws-wss': return openWs(pair);
    case 'ours-ws': return openOurs(null);
    case 'ws-ws': return openWs(null);
  }
}

export interface TlsSample {
  round: number;
  value: number;
  cpuSeconds: number;
  valuePerCpu: number;
}

export interface TlsRow {
  workload: Workload['id'];
  impl: TlsImplId;
  median: number;
  medianPerCpu: number;
  samples: TlsSample[];
}

export interface TlsBenchResults {
  kind: 'websocket-inspector-bench-tls';
  date: string;
  machine: Machine;
  config: TlsBenchConfig;
  elapsedSeconds: number;
  rows: TlsRow[];
  /** Per workload: ours wss / ws wss (median of per-round ratios), and each one's wss / ws (what TLS costs it). */
  ratios: Array<{ workload: Workload['id']; oursVsWs: number | null; oursTlsCost: number | null; wsTlsCost: number | null }>;
}

async function runCell(impl: TlsImplId, w: Workload, payload: Uint8Array, pair: CertificatePair, cfg: TlsBenchConfig, round: number): Promise<TlsSample> {
  (globalThis as { gc?: () => void }).gc?.();
  const link = await openLink(impl, pair);
  try {
    await drive(link, payload, w.window, cfg.warmupMs);
    const cpu = process.cpuUsage();
    const { messages, seconds } = await drive(link, payload, w.window, cfg.cellMs);
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const scale = (n: number) => (w.unit === 'msgs/s' ? n : (n * w.size) / 1e6);
    return { round, value: scale(messages / seconds), cpuSeconds, valuePerCpu: scale(messages / Math.max(cpuSeconds, 1e-6)) };
  } finally {
    await link.close();
  }
}

function pairedRatio(a: TlsRow | undefined, b: TlsRow | undefined): number | null {
  if (!a || !b) return null;
  const ratios = a.samples.flatMap((x) => {
    const y = b.samples.find((s) => s.round === x.round);
    return y && y.value > 0 ? [x.value / y.value] : [];
  });
  return ratios.length ? median(ratios) : null;
}

export async function runTlsBench(cfg: TlsBenchConfig = readBudget()): Promise<TlsBenchResults> {
  const started = performance.now();
  const date = new Date().toISOString();
  const pair = await createCertificate({ commonName: 'bench', names: [host] });
  const samples = new Map<string, TlsSample[]>();
  const payloads = new Map(workloads.map((w) => [w.id, new Uint8Array(randomBytes(w.size))]));
  console.log(`bench:tls: ${cfg.rounds} rounds × ${workloads.length} workloads × ${tlsImplIds.length} implementations, cells of ${cfg.warmupMs} + ${cfg.cellMs} ms`);
  for (const w of workloads) for (const impl of tlsImplIds) await runCell(impl, w, payloads.get(w.id)!, pair, { ...cfg, cellMs: cfg.warmupMs }, -1);
  for (let round = 0; round < cfg.rounds; round++) {
    const order = tlsImplIds.map((_, i) => tlsImplIds[(i + round) % tlsImplIds.length]!);
    for (const w of workloads) {
      const line: string[] = [];
      for (const impl of order) {
        const sample = await runCell(impl, w, payloads.get(w.id)!, pair, cfg, round);
        samples.set(`${w.id}|${impl}`, [...(samples.get(`${w.id}|${impl}`) ?? []), sample]);
        line.push(`${impl} ${fmtValue(sample.value, w.unit)}`);
      }
      console.log(`  round ${round + 1}/${cfg.rounds} ${w.label.padEnd(17)} ${w.unit.padEnd(6)} ${line.join('  ')}`);
    }
  }
  const rows: TlsRow[] = workloads.flatMap((w) => tlsImplIds.map((impl) => {
    const list = samples.get(`${w.id}|${impl}`) ?? [];
    return { workload: w.id, impl, median: median(list.map((s) => s.value)), medianPerCpu: median(list.map((s) => s.valuePerCpu)), samples: list };
  }));
  const row = (w: Workload['id'], impl: TlsImplId) => rows.find((r) => r.workload === w && r.impl === impl);
  const results: TlsBenchResults = {
    kind: 'websocket-inspector-bench-tls', date, machine: machineInfo(), config: cfg, elapsedSeconds: (performance.now() - started) / 1000, rows,
    ratios: workloads.map((w) => ({
      workload: w.id,
      oursVsWs: pairedRatio(row(w.id, 'ours-wss'), row(w.id, 'ws-wss')),
      oursTlsCost: pairedRatio(row(w.id, 'ours-wss'), row(w.id, 'ours-ws')),
      wsTlsCost: pairedRatio(row(w.id, 'ws-wss'), row(w.id, 'ws-ws')),
    })),
  };
  mkdirSync(cfg.outDir, { recursive: true });
  writeFileSync(join(cfg.outDir, 'bench-tls-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (cfg.writeMarkdown) writeSection(join(cfg.outDir, 'BENCHMARKS.md'), 'tls', renderTlsMarkdown(results));
  return results;
}

const ratio = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}×`);

export function renderTlsMarkdown(r: TlsBenchResults): string {
  const m = r.machine;
  const lines = [
    '## wss:// echo: ours vs ws over TLS',
    '',
    `Written by \`npm run bench:tls\` (scripts/bench-tls.ts) on ${r.date}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ws ${m.ws}, code ${m.commit}; load average ${m.loadAverage.start} → ${m.loadAverage.end}.`,
    `${r.config.rounds} round${r.config.rounds === 1 ? "" : "s"}, cells of ${r.config.warmupMs} ms warm-up + ${r.config.cellMs} ms, a fresh connection (and TLS handshake) per cell; client and server in one process, so a figure is the whole CPU cost of a round trip on both sides. TLS 1.3, AES-256-GCM, one ECDSA P-256 certificate for both servers; our tracing off; permessage-deflate off everywhere.`,
    '',
    `| workload | unit | ${tlsImplIds.map((i) => labels[i]).join(' | ')} | ours/ws over TLS | TLS costs ours | TLS costs ws |`,
    `| --- | --- | ${tlsImplIds.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`,
  ];
  for (const w of workloads) {
    const cells = tlsImplIds.map((impl) => fmtValue(r.rows.find((x) => x.workload === w.id && x.impl === impl)?.median ?? NaN, w.unit));
    const q = r.ratios.find((x) => x.workload === w.id)!;
    lines.push(`| ${w.label} | ${w.unit} | ${cells.join(' | ')} | ${ratio(q.oursVsWs)} | ${ratio(q.oursTlsCost)} | ${ratio(q.wsTlsCost)} |`);
  }
  lines.push(
    '',
    '"ours/ws over TLS" is the median over rounds of ours wss:// ÷ ws wss:// in the same round (the issue\'s figure). "TLS costs" is each one\'s wss:// ÷ ws:// throughput: 0.60× means TLS leaves 60% of the plain rate. Encryption is node\'s (OpenSSL) on both sides.',
    'ws is faster over TLS than without it for 64 B pipelined: each ws send is a socket write of its own, a system call each over plain TCP, while node\'s TLS layer gathers the writes of one turn of the event loop into fewer records and writes. Ours already writes everything one incoming chunk causes in one corked write, so it has nothing to gain there.',
    'Raw figures per round: bench-tls-results.json.',
  );
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runTlsBench().then(
    (r) => {
      for (const q of r.ratios) console.log(`${q.workload.padEnd(7)} ours/ws over TLS ${ratio(q.oursVsWs)}  TLS costs ours ${ratio(q.oursTlsCost)}, ws ${ratio(q.wsTlsCost)}`);
      console.log(`${r.elapsedSeconds.toFixed(1)} s; results in ${r.config.outDir}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`bench:tls failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
