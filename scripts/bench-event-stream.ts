/**
 * npm run bench:event-stream — issue 10 §3: a subscriber of the web host's event stream that
 * stops reading (a stalled or throttled tab) must not grow the host's memory without bound.
 *
 * The web host runs in a process of its own (`src/host/main.ts`, WEB_PORT=0, WS_PORT=0), so its
 * resident memory is its alone (VmRSS from /proc/PID/status). The script reads the page's token
 * from index.html (as the page does), opens two subscribers of /api/events (one reads everything,
 * one reads the first batch and then never again), and floods the embedded echo server with a
 * `ws` client for ES_SECONDS. Then the stalled subscriber reads again and must be told how many
 * events it missed.
 *
 * Figures: the host's RSS before the flood and its peak, the stalled subscriber's dropped
 * events, and the reading subscriber's stream bytes per wire byte (what the trace costs to
 * carry). Written to event-stream-results.json and the "Event stream" section of BENCHMARKS.md.
 *
 * Environment: ES_SECONDS=10, ES_PAYLOAD=256 (bytes per message), ES_NO_MD=1 (do not write BENCHMARKS.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { BatchRecordReader, decodeBatch } from '../src/shared/trace-batch.ts';
import type { ServiceBatch } from '../src/shared/inspector-api.ts';
import { envNumber, machineInfo, repoRoot, writeSection, type Machine } from './bench.ts';
import { RssSampler } from './bench-backpressure.ts';

/**
 * The bound: each subscriber that falls behind holds at most the web host's queue limit (64 MiB,
 * web-host.ts) until it reads again; two subscribers here (the stalled one, and the reader, which
 * may fall behind too while the flood runs in this same process), plus a fixed allowance.
 */
export const QUEUE_LIMIT_MIB = 64;
export const SUBSCRIBERS = 2;
export const TARGET_GROWTH_MIB = SUBSCRIBERS * QUEUE_LIMIT_MIB + 32;

export interface EventStreamResults {
  kind: 'websocket-inspector-event-stream';
  date: string;
  machine: Machine;
  config: { seconds: number; payload: number };
  messages: number;
  wireBytes: number;
  streamBytesRead: number;
  rssMiB: { baseline: number; peak: number };
  growthMiB: number;
  /** Heap used + external after a full GC: before the flood, and after it with the subscriber still stalled. */
  retainedMiB: { before: number; after: number };
  droppedEvents: number;
  toldDropped: number | null;
  /** The host was still running after the flood. */
  survived: boolean;
  met: boolean;
}

interface Host {
  child: ChildProcess;
  pid: number;
  url: string;
  wsUrl: string;
  /** Heap used plus external memory after a full GC, in MiB (SIGUSR2; the host runs with --expose-gc). */
  retainedMiB(): Promise<number>;
}

async function startHost(queueLimitMiB: number): Promise<Host> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(repoRoot, 'src/host/main.ts')], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WEB_PORT: '0', WS_PORT: '0', WEB_STREAM_QUEUE_MIB: String(queueLimitMiB) },
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the web host did not start in 30 s: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const page = /open (http:\/\/\S+) in a browser/.exec(out);
      const ws = /listening on (ws:\/\/\S+)/.exec(out);
      if (page && ws) {
        clearTimeout(timer);
        const retainedMiB = () => new Promise<number>((done) => {
          const before = out.length;
          child.kill('SIGUSR2');
          const poll = setInterval(() => {
            const m = /memory: rss=\d+ heapUsed=(\d+) external=(\d+)/.exec(out.slice(before));
            if (m) {
              clearInterval(poll);
              done((Number(m[1]) + Number(m[2])) / 2 ** 20);
            }
          }, 20);
        });
        resolve({ child, pid: child.pid!, url: page[1]!, wsUrl: ws[1]!, retainedMiB });
      }
    });
    child.once('exit', (code) => reject(new Error(`the web host exited with ${code}: ${out}`)));
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readToken(url: string): Promise<string> {
  const res = await get(url);
  let html = '';
  for await (const chunk of res) html += (chunk as Buffer).toString();
  const m = /<meta name="inspector-token" content="([^"]+)"/.exec(html);
  if (!m) throw new Error('no token in index.html');
  return m[1]!;
}

/**
 * One flood. RSS growth is mostly garbage V8 has not collected yet (the trace of the traffic is
 * built and encoded as it flows), so what the host really retains is read after a full GC
 * (heap used plus external memory), before the flood and at its end while the subscriber is
 * still stalled: that difference is what a stalled subscriber costs, and must stay bounded.
 */
/** queueLimitMiB: the host's per-subscriber queue (64 MiB as the app runs; the short test run passes less, so its flood passes it). */
export async function runEventStreamBench(seconds = envNumber('ES_SECONDS', 10), payload = envNumber('ES_PAYLOAD', 256), queueLimitMiB = QUEUE_LIMIT_MIB): Promise<EventStreamResults> {
  const host = await startHost(queueLimitMiB);
  let exitCode: number | null = null;
  host.child.once('exit', (code) => (exitCode = code));
  try {
    const token = await readToken(host.url);
    const events = new URL('api/events', host.url).toString();
    const headers = { 'X-Inspector-Token': token };
    // The reader: counts the stream's bytes.
    const reader = await get(events, headers);
    let streamBytesRead = 0;
    reader.on('data', (chunk: Buffer) => (streamBytesRead += chunk.length));
    if (process.env['ES_READER'] === '0') reader.destroy();
    // The stalled one: takes the first batch, then never reads again.
    const stalled = await get(events, headers);
    // Its bytes go through one record reader from the start: batches are length-prefixed records.
    const stalledRecords = new BatchRecordReader();
    await new Promise<void>((r) => stalled.once('data', (chunk: Buffer) => { stalledRecords.push(chunk); stalled.pause(); r(); }));

    // No permessage-deflate (our server accepts it by default): the flood is of plain frames, as measured before.
    const ws = new WebSocket(host.wsUrl, { perMessageDeflate: false });
    await new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); });
    let echoes = 0;
    ws.on('message', () => echoes++);
    await new Promise((r) => setTimeout(r, 500));
    const retainedBefore = await host.retainedMiB();
    const rss = new RssSampler(host.pid, 20);
    rss.mark();
    const baseline = rss.last;
    const message = 'x'.repeat(payload);
    let sent = 0;
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      // Keep the socket busy without buffering much on our side.
      while (ws.bufferedAmount < 256 * 1024 && sent - echoes < 2000) {
        ws.send(message);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
    }
    for (let waited = 0; echoes < sent && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const peak = rss.peak();
    rss.stop();
    const retainedAfter = await host.retainedMiB();
    // Client frames carry a 4-byte mask and a 2- or 4-byte header; server frames no mask.
    const header = payload < 126 ? 2 : 4;
    const wireBytes = sent * (payload + header + 4) + echoes * (payload + header);

    // The stalled subscriber reads again: it must be told what it missed.
    const statsRes = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 15_000);
      stalled.on('data', (chunk: Buffer) => {
        for (const data of stalledRecords.push(chunk)) {
          const batch = decodeBatch(data);
          if (batch.dropped) {
            clearTimeout(timer);
            resolve(batch.dropped);
          }
        }
      });
      stalled.resume();
    });
    ws.terminate();
    reader.destroy();
    stalled.destroy();
    const growthMiB = peak - baseline;
    const survived = exitCode === null;
    return {
      kind: 'websocket-inspector-event-stream', date: new Date().toISOString(), machine: machineInfo(),
      config: { seconds, payload }, messages: sent, wireBytes, streamBytesRead,
      rssMiB: { baseline, peak }, growthMiB, retainedMiB: { before: retainedBefore, after: retainedAfter },
      droppedEvents: statsRes ?? 0, toldDropped: statsRes, survived,
      met: statsRes !== null && survived && retainedAfter - retainedBefore < TARGET_GROWTH_MIB,
    };
  } finally {
    host.child.kill('SIGTERM');
  }
}

export function renderMarkdown(r: EventStreamResults): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const kept = r.retainedMiB.after - r.retainedMiB.before;
  return [
    '## Event stream: a subscriber that stops reading',
    '',
    `\`npm run bench:event-stream\`, ${r.date.slice(0, 10)}, ${r.machine.cores} × ${r.machine.cpu}, Node ${r.machine.node}. The web host in its own process; one subscriber of /api/events reads everything, one reads the first batch and then nothing for ${r.config.seconds} s while a \`ws\` client floods the embedded echo server with ${r.config.payload}-byte messages. Before the per-subscriber cap the host went from 81 to 1,068 MiB in such a flood (issue 10).`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| messages echoed | ${r.messages.toLocaleString('en')} (${mb(r.wireBytes)} MB on the wire, both directions) |`,
    `| retained after a full GC, before the flood → after it, subscriber still stalled | ${r.retainedMiB.before.toFixed(1)} → ${r.retainedMiB.after.toFixed(1)} MiB (+${kept.toFixed(1)}; bound: ${SUBSCRIBERS} subscribers × the ${QUEUE_LIMIT_MIB} MiB queue limit + 32 = ${TARGET_GROWTH_MIB}) ${r.met ? '✅ met' : '❌ missed'} |`,
    `| RSS before → peak during the flood | ${r.rssMiB.baseline.toFixed(1)} → ${r.rssMiB.peak.toFixed(1)} MiB (mostly garbage not yet collected: the trace of the traffic is built and encoded as it flows) |`,
    `| events the stalled subscriber missed, and was told so when it read again | ${r.toldDropped === null ? 'not told ❌' : r.toldDropped.toLocaleString('en')} |`,
    `| stream bytes per wire byte (the reading subscriber) | ${(r.streamBytesRead / r.wireBytes).toFixed(2)}× |`,
    '',
    'Past its 64 MiB queue a subscriber\'s batches are dropped and counted; when it reads again it gets one batch with the count and the current status, and the page says "N events dropped: subscriber too slow". The service\'s own record is untouched. Each frame travels as a row of the binary batch (src/shared/trace-batch.ts: its fields as numbers, its wire bytes once, the payload derived from them), with its message event pointing at the same bytes; each batch a length-prefixed record of bytes on the stream.',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await runEventStreamBench();
  writeFileSync(join(repoRoot, 'event-stream-results.json'), JSON.stringify(results, null, 2) + '\n');
  if (process.env['ES_NO_MD'] !== '1') writeSection(join(repoRoot, 'BENCHMARKS.md'), 'eventStream', renderMarkdown(results));
  console.log(renderMarkdown(results));
  process.exit(results.met ? 0 : 1);
}
