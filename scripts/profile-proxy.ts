/**
 * Where the traced reverse proxy's CPU goes under bench:proxy's load (issue 12): runs the proxy of
 * scripts/bench-proxy-worker.ts (tracing on, every event kept) in a process of its own under
 * `node --cpu-prof`, the `ws` echo server in a worker thread and the `ws` client here, drives one
 * workload pipelined, and prints the proxy's CPU per echoed message and the profile's self time
 * by function and file (cpuprofile-summary.ts).
 *
 * Usage: node --import tsx scripts/profile-proxy.ts [64|16k|1m] [seconds=4] [top=30] [--no-prof]
 * PROXY_PROFILE_TRACE=keep (default: as bench:proxy) | drop (events built, none kept) | off (no tracer listening).
 * The .cpuprofile stays in a fresh directory under the system's temp dir (printed).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { drive, openWsClientLink, workloads } from './bench.ts';
import { ReverseProxy } from '../src/core/proxy/reverse-proxy.ts';
import { Tracer } from '../src/core/trace.ts';
import { startTracedProxy } from './bench-proxy-worker.ts';
import { formatSummary, readProfile, summariseProfile } from './cpuprofile-summary.ts';

/** The child: the traced proxy; answers "cpu" with its process.cpuUsage() and "stop" by exiting (V8 writes the profile). */
async function child(target: string): Promise<void> {
  const mode = process.env.PROXY_PROFILE_TRACE ?? 'keep';
  let proxy: { url: string; events: () => number };
  if (mode === 'keep') proxy = await startTracedProxy(target);
  else {
    // drop: every event built and stamped, none kept; off: no tracer listening (nothing built).
    const tracer = new Tracer();
    let n = 0;
    if (mode === 'drop') tracer.subscribe(() => void n++);
    const p = new ReverseProxy({ host: '127.0.0.1', port: 0, target, tracer, traceBytes: false, clientDeflate: false, upstreamDeflate: false });
    proxy = { url: (await p.listen()).url, events: () => n };
  }
  console.log(JSON.stringify({ url: proxy.url }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'cpu') console.log(JSON.stringify({ cpu: process.cpuUsage(), events: proxy.events() }));
    if (line === 'stop') process.exit(0);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const prof = !process.argv.includes('--no-prof');
  const [sizeId = '64', secondsArg = '4', topArg = '30'] = args;
  const workload = workloads.find((w) => w.id === sizeId && w.window > 1);
  if (!workload) throw new Error(`size must be 64, 16k or 1m (got "${sizeId}")`);
  const seconds = Number(secondsArg);
  const server = new Worker(new URL('./bench-proxy-worker.mjs', import.meta.url), { workerData: { role: 'echo-server' } });
  const serverUrl = await new Promise<string>((resolve) => server.once('message', (m: { url: string }) => resolve(m.url)));
  const dir = mkdtempSync(join(os.tmpdir(), 'proxy-profile-'));
  const proc = spawn(process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...(process.env.PROXY_PROFILE_FLAGS ? process.env.PROXY_PROFILE_FLAGS.split(' ') : []), '--import', 'tsx', fileURLToPath(import.meta.url), '--child', serverUrl], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const line = String((await lines.next()).value);
      if (line.startsWith('{')) return JSON.parse(line) as Record<string, unknown>;
      if (process.env.PROXY_PROFILE_ECHO) console.log(`[proxy] ${line}`); // e.g. --trace-gc lines
    }
  };
  const { url } = (await next()) as { url: string };
  const link = await openWsClientLink(url, {}, async () => {});
  const payload = new Uint8Array(randomBytes(workload.size));
  await drive(link, payload, workload.window, 500); // JIT warm-up
  proc.stdin!.write('cpu\n');
  const before = (await next()) as { cpu: NodeJS.CpuUsage; events: number };
  const { messages, seconds: took } = await drive(link, payload, workload.window, seconds * 1000);
  proc.stdin!.write('cpu\n');
  const after = (await next()) as { cpu: NodeJS.CpuUsage; events: number };
  const us = after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system;
  const sys = after.cpu.system - before.cpu.system;
  console.log(`${workload.label}: ${messages} echoed in ${took.toFixed(2)} s (${Math.round(messages / took)}/s), proxy CPU ${(us / messages).toFixed(2)} µs/msg (${(sys / messages).toFixed(2)} system), ${((after.events - before.events) / messages).toFixed(1)} events/msg, load ${os.loadavg()[0]!.toFixed(1)}${prof ? ' (profiler on)' : ''}`);
  await link.close();
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.stdin!.write('stop\n');
  await exited;
  await server.terminate();
  if (!prof) return;
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile was written in ${dir}`);
  console.log(`profile: ${join(dir, file)}\n`);
  console.log(formatSummary(summariseProfile(readProfile(join(dir, file))), Number(topArg) || 30));
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();
