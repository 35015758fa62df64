/**
 * npm run bench:trace-floor — what tracing costs at 64 B sequential (strict ping-pong), the one size
 * where issue 17's "traced as the inspector runs it: at least 1.0× ws" is missed, and how much of
 * that cost no keeping can remove.
 *
 * A round trip there is some 20 µs, nearly all of it the kernel's loopback and node's sockets, the
 * same for every implementation; a WebSocket's own work is a few per cent of it. So this script
 * sets beside ws and the service the tracer's floor: the protocol tracing every event (raw socket
 * chunks too, as the service has them) to a row listener that only counts them and keeps nothing.
 * Whatever the service does with an event comes on top of that floor.
 *
 * Variants (binary 64 B messages, one in flight, each echo sending the next):
 *   both ends in one process, as `npm run bench`'s 64 B sequential:
 *     ws              a ws client and a ws server (perMessageDeflate off)
 *     ours            our client and our server, no tracer listener
 *     ours-floor      both traced into a row listener that keeps nothing
 *     ours-tracelog   both traced into a TraceLog (frames and messages kept as typed-array rows and an arena, the
 *                     cheapest keeping we have; raw chunks traced and counted, not kept): what keeping costs at least
 *     ours-service    both traced through the inspector service (bench.ts openServiceSink)
 *   one end, the inspector facing a peer that is not its own (a ws client, our server):
 *     server          our server, no tracer listener
 *     server-floor    our server traced into the listener that keeps nothing
 *     server-service  our server traced through the inspector service
 * Rounds: every variant once per round, the order rotated from round to round; a fresh connection
 * per cell. Ratios to ws are taken within a round; medians over rounds.
 *
 * Environment: BENCH_FLOOR_ROUNDS (default 7), BENCH_FLOOR_CELL_MS (1000), BENCH_FLOOR_WARMUP_MS (200),
 * BENCH_QUICK=1 (2 rounds of 200 ms cells), BENCH_OUT_DIR (trace-floor-results.json and BENCHMARKS.md;
 * default the repository root), BENCH_NO_MD=1 (leave BENCHMARKS.md alone), BENCH_RENDER_ONLY=1 (measure
 * nothing: rewrite the section from the stored results).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../src/core/apps/index.ts';
import { WebSocketServer } from '../src/core/net/server.ts';
import { TraceLog } from '../src/core/trace-log.ts';
import { Tracer } from '../src/core/trace.ts';
import {
  drive, envNumber, machineInfo, median, openOursLink, openServiceSink, openThroughService, openWsClientLink, openWsLink, repoRoot, writeSection, type Link,
} from './bench.ts';

export const floorVariants = ['ws', 'ours', 'ours-floor', 'ours-tracelog', 'ours-service', 'server', 'server-floor', 'server-service'] as const;
export type FloorVariant = (typeof floorVariants)[number];

export const floorLabels: Record<FloorVariant, string> = {
  ws: 'ws client, ws server',
  ours: 'both ends ours, untraced',
  'ours-floor': 'both ends ours, traced, nothing kept (the floor)',
  'ours-tracelog': 'both ends ours, frames and messages kept in a TraceLog',
  'ours-service': 'both ends ours, through the service',
  server: 'ws client, our server untraced',
  'server-floor': 'ws client, our server traced, nothing kept (the floor)',
  'server-service': 'ws client, our server through the service',
};

/** A row listener that counts what the protocol traces and keeps nothing: tracing's own cost. */
export function countingTracer(): { tracer: Tracer; count: () => number } {
  const tracer = new Tracer();
  let n = 0;
  tracer.subscribeRows({
    push: () => void n++,
    frameRow: () => void n++,
    messageRow: () => void n++,
    bytesRow: () => void n++,
  });
  return { tracer, count: () => n };
}

const host = '127.0.0.1';

/** A ws client echoed by our server, traced as the options say; `events` counts what was traced. */
async function openServerLink(options: { tracer?: Tracer; traceBytes?: boolean }, events: () => number, done: () => Promise<void>): Promise<Link> {
  const server = new WebSocketServer({ host, port: 0, deflate: false, component: echoComponent, ...options });
  const { url } = await server.listen();
  const link = await openWsClientLink(url, {}, async () => {
    await server.close();
    await done();
  });
  link.retained = () => ({ events: events(), anatomies: 0 });
  return link;
}

export async function openFloorLink(variant: FloorVariant): Promise<Link> {
  switch (variant) {
    case 'ws': {
      const server = new WsServer({ host, port: 0, perMessageDeflate: false });
      await new Promise<void>((r, j) => server.once('listening', () => r()).once('error', j));
      const { port } = server.address() as { port: number };
      return openWsLink(server, `ws://${host}:${port}/`, {}, () => new Promise((r) => server.close(() => r())));
    }
    case 'ours':
      return openOursLink({ deflate: false }, { deflate: false });
    case 'ours-floor': {
      const { tracer, count } = countingTracer();
      const options = { deflate: false as const, tracer, traceBytes: true };
      const link = await openOursLink(options, options);
      link.retained = () => ({ events: count(), anatomies: 0 });
      return link;
    }
    case 'ours-tracelog': {
      const log = new TraceLog();
      const tracer = new Tracer();
      tracer.subscribeRows({
        push: (e) => log.push(e),
        frameRow: (...args) => log.frameRow(...args),
        messageRow: (...args) => log.messageRow(...args),
        bytesRow: () => {}, // traced (as the service's are), not kept
      });
      const options = { deflate: false as const, tracer, traceBytes: true };
      const link = await openOursLink(options, options);
      link.retained = () => ({ events: log.pushed, anatomies: 0 }); // the frames and messages it kept
      return link;
    }
    case 'ours-service':
      return openThroughService();
    case 'server':
      return openServerLink({}, () => 0, async () => {});
    case 'server-floor': {
      const { tracer, count } = countingTracer();
      return openServerLink({ tracer, traceBytes: true }, count, async () => {});
    }
    case 'server-service': {
      const sink = openServiceSink();
      return openServerLink({ tracer: sink.tracer, traceBytes: true }, sink.events, sink.dispose);
    }
  }
}

export interface FloorSample {
  round: number;
  variant: FloorVariant;
  roundTripsPerSecond: number;
  /** Events traced per round trip (the floor's count; the service's is the events it batched, raw chunks aside). */
  eventsPerRoundTrip: number | null;
}

export interface FloorRow {
  variant: FloorVariant;
  roundTripsPerSecond: number;
  range: [number, number];
  /** Median over rounds of this variant / ws in the same round. */
  overWs: number;
  overWsRange: [number, number];
  /** µs per round trip above the untraced variant with the same ends (median over rounds); null for the untraced and ws. */
  tracingUs: number | null;
  /** µs per round trip this variant is faster than ws (negative: slower), median over rounds of the difference within a round. */
  slackUs: number;
  eventsPerRoundTrip: number | null;
}

export interface FloorResults {
  date: string;
  node: string;
  commit: string;
  rounds: number;
  cellMs: number;
  warmupMs: number;
  load: { start: number; end: number };
  rows: FloorRow[];
  samples: FloorSample[];
}

/** The untraced variant with the same ends. */
function untracedOf(variant: FloorVariant): FloorVariant | null {
  if (variant.startsWith('ours-')) return 'ours';
  if (variant.startsWith('server-')) return 'server';
  return null;
}

export function summariseFloor(samples: readonly FloorSample[]): FloorRow[] {
  const rounds = [...new Set(samples.map((s) => s.round))];
  const at = (round: number, variant: FloorVariant) => samples.find((s) => s.round === round && s.variant === variant);
  return floorVariants.filter((v) => samples.some((s) => s.variant === v)).map((variant) => {
    const mine = samples.filter((s) => s.variant === variant);
    const rates = mine.map((s) => s.roundTripsPerSecond);
    const ratios = rounds.flatMap((r) => {
      const a = at(r, variant);
      const w = at(r, 'ws');
      return a && w ? [a.roundTripsPerSecond / w.roundTripsPerSecond] : [];
    });
    const base = untracedOf(variant);
    const extra = base === null ? [] : rounds.flatMap((r) => {
      const a = at(r, variant);
      const b = at(r, base);
      return a && b ? [1e6 / a.roundTripsPerSecond - 1e6 / b.roundTripsPerSecond] : [];
    });
    const events = mine.flatMap((s) => (s.eventsPerRoundTrip === null ? [] : [s.eventsPerRoundTrip]));
    return {
      variant,
      roundTripsPerSecond: median(rates),
      range: [Math.min(...rates), Math.max(...rates)],
      overWs: median(ratios),
      overWsRange: ratios.length ? [Math.min(...ratios), Math.max(...ratios)] : [NaN, NaN],
      tracingUs: extra.length ? median(extra) : null,
      slackUs: median(rounds.flatMap((r) => {
        const a = at(r, variant);
        const w = at(r, 'ws');
        return a && w ? [1e6 / w.roundTripsPerSecond - 1e6 / a.roundTripsPerSecond] : [];
      })),
      eventsPerRoundTrip: events.length ? median(events) : null,
    };
  });
}

export async function runTraceFloor(): Promise<FloorResults> {
  const quick = process.env['BENCH_QUICK'] === '1';
  const rounds = Math.max(1, Math.floor(envNumber('BENCH_FLOOR_ROUNDS', quick ? 2 : 7)));
  const cellMs = envNumber('BENCH_FLOOR_CELL_MS', quick ? 200 : 1000);
  const warmupMs = envNumber('BENCH_FLOOR_WARMUP_MS', quick ? 50 : 200);
  const loadStart = os.loadavg()[0]!;
  const payload = new Uint8Array(64).map((_, i) => (i * 31) & 0xff);
  const samples: FloorSample[] = [];
  // One untimed pass over every variant first, so that the JIT has compiled every path.
  for (const variant of floorVariants) await cell(variant, payload, 100, 100);
  for (let round = 1; round <= rounds; round++) {
    const order = floorVariants.map((_, i) => floorVariants[(i + round - 1) % floorVariants.length]!);
    const line: string[] = [];
    for (const variant of order) {
      const { perSecond, events } = await cell(variant, payload, warmupMs, cellMs);
      samples.push({ round, variant, roundTripsPerSecond: perSecond, eventsPerRoundTrip: events });
      line.push(`${variant} ${Math.round(perSecond).toLocaleString('en-US')}`);
    }
    console.log(`  round ${round}/${rounds} round trips/s  ${line.join('  ')}`);
  }
  const m = machineInfo();
  return {
    date: new Date().toISOString(), node: m.node, commit: m.commit, rounds, cellMs, warmupMs,
    load: { start: loadStart, end: os.loadavg()[0]! }, rows: summariseFloor(samples), samples,
  };
}

async function cell(variant: FloorVariant, payload: Uint8Array, warmupMs: number, cellMs: number): Promise<{ perSecond: number; events: number | null }> {
  (globalThis as { gc?: () => void }).gc?.();
  const link = await openFloorLink(variant);
  try {
    await drive(link, payload, 1, warmupMs);
    const before = link.retained?.().events;
    const { messages, seconds } = await drive(link, payload, 1, cellMs);
    const after = link.retained?.().events;
    // The service counts events as its batches go (every 16 ms): near enough over a second's cell.
    const events = before !== undefined && after !== undefined && variant !== 'ours' && variant !== 'server' ? (after - before) / messages : null;
    return { perSecond: messages / seconds, events };
  } finally {
    await link.close();
  }
}

// ------------------------------------------------------------------ report

const fmtRatio = (x: number) => `${x.toFixed(2)}×`;
const fmtRange = ([a, b]: [number, number]) => `${a.toFixed(2)}–${b.toFixed(2)}`;
const fmtRate = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * What the floor leaves for keeping: `budgetNs` per event is how much shorter the floor's round trip
 * is than ws's (median over rounds of the difference within a round), shared by its events.
 */
function floorVerdict(budgetNs: number): string {
  if (budgetNs < 0) return ' The floor alone is slower than ws: at this size, whatever a listener does with the events, tracing them as the protocol does cannot reach 1.0×.';
  if (budgetNs < 5) return ' The floor is level with ws: whatever a listener keeps on top of it takes the round trip below 1.0×.';
  return ` The service would have to keep each event for ${budgetNs.toFixed(0)} ns or less to reach 1.0×.`;
}

/** What the figures say, computed from them. */
function reading(r: FloorResults): string[] {
  const row = (v: FloorVariant) => r.rows.find((x) => x.variant === v);
  const ws = row('ws');
  const lines: string[] = [];
  if (!ws) return lines;
  lines.push(`A round trip takes ${(1e6 / ws.roundTripsPerSecond).toFixed(1)} µs with ws at both ends.`);
  const floorRow = row('ours-floor');
  const logRow = row('ours-tracelog');
  if (floorRow && logRow && logRow.eventsPerRoundTrip && logRow.tracingUs !== null && floorRow.tracingUs !== null) {
    const kept = logRow.eventsPerRoundTrip;
    const extra = logRow.tracingUs - floorRow.tracingUs;
    lines.push(`Keeping the ${kept.toFixed(0)} frames and messages of a round trip in a TraceLog (typed-array rows and an arena, nothing encoded for a page, raw chunks not kept) costs ${extra.toFixed(2)} µs above the floor, ${((1000 * extra) / kept).toFixed(0)} ns each, and leaves ${fmtRatio(logRow.overWs)} ws.`);
  }
  if (floorRow && logRow && logRow.eventsPerRoundTrip && logRow.tracingUs !== null && floorRow.tracingUs !== null && floorRow.eventsPerRoundTrip) {
    const keepNs = (1000 * (logRow.tracingUs - floorRow.tracingUs)) / logRow.eventsPerRoundTrip;
    const budgetNs = (1000 * floorRow.slackUs) / floorRow.eventsPerRoundTrip;
    lines.push(`With both ends ours the floor leaves ${Math.max(0, budgetNs).toFixed(0)} ns per event for keeping; TraceLog, the cheapest keeping here, takes ${keepNs.toFixed(0)} ns${keepNs > budgetNs ? ', more than that' : ''}.`);
  }
  for (const [untraced, floor, service, ends] of [['ours', 'ours-floor', 'ours-service', 'both ends ours'], ['server', 'server-floor', 'server-service', 'a ws client and our server']] as const) {
    const u = row(untraced);
    const f = row(floor);
    const s = row(service);
    if (!u || !f || !s) continue;
    lines.push(`With ${ends}: untraced ${fmtRatio(u.overWs)} ws; tracing every event to a listener that keeps nothing ${fmtRatio(f.overWs)} (${f.tracingUs!.toFixed(2)} µs per round trip for ${f.eventsPerRoundTrip?.toFixed(1) ?? '?'} events, ${((1000 * f.tracingUs!) / (f.eventsPerRoundTrip ?? 1)).toFixed(0)} ns each); through the service ${fmtRatio(s.overWs)} (${s.tracingUs!.toFixed(2)} µs).${floorVerdict((1000 * f.slackUs) / (f.eventsPerRoundTrip ?? 1))}`);
  }
  return lines;
}

export function renderTraceFloor(r: FloorResults): string {
  return [
    '## Tracing\'s floor at 64 B sequential (issue 17)',
    '',
    `Written by \`npm run bench:trace-floor\` (scripts/bench-trace-floor.ts) on ${r.date}, code ${r.commit}, Node.js ${r.node}, load average ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}.`,
    '',
    '**Method.** One process, one connection per cell, 64 B binary messages, one in flight (each echo sends the next), as',
    '`npm run bench`\'s 64 B sequential. *The floor*: the protocol traces every event, raw socket chunks included (as the',
    'service\'s server and clients do), to a row listener that counts it and keeps nothing: what tracing costs before',
    'anything is kept. *Through the service*: the inspector service as the app runs it (its batches encoded as the bridges',
    'send them), as `npm run bench`\'s "through the service". Both ends ours (the app\'s client talking to its server), and one',
    `end ours (a ws client talking to the inspector's server). ${r.cellMs} ms per cell after ${r.warmupMs} ms of warm-up, ${r.rounds} rounds with the`,
    'order rotated each round; ratios to ws within a round, medians over rounds. "Tracing" is the µs per round trip above',
    'the untraced variant with the same ends (median over rounds of the difference within a round).',
    '',
    '| variant | round trips/s | / ws | tracing, µs per round trip | events traced per round trip |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.rows.map((x) => `| ${floorLabels[x.variant]} | ${fmtRate(x.roundTripsPerSecond)} <sub>(${fmtRate(x.range[0])}–${fmtRate(x.range[1])})</sub> | ${fmtRatio(x.overWs)} <sub>(${fmtRange(x.overWsRange)})</sub> | ${x.tracingUs === null ? '—' : x.tracingUs.toFixed(2)} | ${x.eventsPerRoundTrip === null ? '—' : x.eventsPerRoundTrip.toFixed(1)} |`),
    '',
    `**Reading.** ${reading(r).join(' ')}`,
    '',
    'The service\'s count is of the events it batched for the page (frames and messages, plus any other); raw chunks go to',
    'its raw chunk store, not the batches. The TraceLog\'s is of the frames and messages it kept. Raw figures per cell:',
    'trace-floor-results.json.',
  ].join('\n');
}

async function main(): Promise<void> {
  const r = await runTraceFloor();
  const outDir = resolve(process.env['BENCH_OUT_DIR'] ?? repoRoot);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'trace-floor-results.json'), `${JSON.stringify(r, null, 2)}\n`);
  for (const x of r.rows) console.log(`${x.variant.padEnd(15)} ${fmtRate(x.roundTripsPerSecond).padStart(8)}/s  ${fmtRatio(x.overWs)} ws  tracing ${x.tracingUs === null ? '—' : `${x.tracingUs.toFixed(2)} µs`}  events ${x.eventsPerRoundTrip?.toFixed(1) ?? '—'}`);
  console.log(reading(r).join('\n'));
  console.log(`load average ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}`);
  if (process.env['BENCH_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'traceFloor', renderTraceFloor(r));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.env['BENCH_RENDER_ONLY'] === '1') {
  // Measure nothing: rewrite the section from BENCH_OUT_DIR/trace-floor-results.json.
  const outDir = resolve(process.env['BENCH_OUT_DIR'] ?? repoRoot);
  const stored = JSON.parse(readFileSync(join(outDir, 'trace-floor-results.json'), 'utf8')) as FloorResults;
  const results = { ...stored, rows: summariseFloor(stored.samples) };
  writeFileSync(join(outDir, 'trace-floor-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeSection(join(outDir, 'BENCHMARKS.md'), 'traceFloor', renderTraceFloor(results));
  console.log(reading(results).join('\n'));
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`trace-floor bench failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    },
  );
}
