/**
 * Where our echo server's CPU goes under the server-CPU bench's load (issue 17): runs
 * `wsinspect serve --trace none --no-deflate` under `node --cpu-prof`, blasts it with the bench's
 * ws client at one message size, stops it with SIGINT (so V8 writes the profile) and prints the
 * process's CPU per message and the profile's self time by function and file (cpuprofile-summary.ts).
 *
 * Usage: node --import tsx scripts/profile-server-cpu.ts [64|64-light|16k|16k-light|1m] (a workload of bench-server-cpu.ts: its size and window) [seconds=4] [top=25]
 * The .cpuprofile stays in a fresh directory under the system's temp dir (printed).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { blast, cpuWorkloads, startServer } from './bench-server-cpu.ts';
import { formatSummary, readProfile, summariseProfile } from './cpuprofile-summary.ts';

async function main(): Promise<void> {
  const [sizeId = '16k', secondsArg = '4', topArg = '25'] = process.argv.slice(2);
  const workload = cpuWorkloads.find((w) => w.id === sizeId);
  if (!workload) throw new Error(`size must be one of ${cpuWorkloads.map((w) => w.id).join(', ')} (got "${sizeId}")`);
  const seconds = Number(secondsArg);
  if (!(seconds > 0)) throw new Error(`seconds must be a positive number (got "${secondsArg}")`);
  const dir = mkdtempSync(join(os.tmpdir(), 'server-cpu-profile-'));
  const server = await startServer('ours', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    const payload = randomBytes(workload.size);
    await blast(server, workload, payload, 300, 300); // JIT warm-up, as the bench does
    const r = await blast(server, workload, payload, 300, seconds * 1000);
    console.log(`${workload.label}: ${r.messages} messages echoed in ${seconds} s, server CPU ${((r.cpuSeconds * 1e6) / r.messages).toFixed(2)} µs/msg (profiler on), load average ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGINT');
    await exited;
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile was written in ${dir}`);
  console.log(`profile: ${join(dir, file)}\n`);
  console.log(formatSummary(summariseProfile(readProfile(join(dir, file))), Number(topArg) || 25));
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(`profile-server-cpu failed: ${(error as Error).message}`);
  process.exit(1);
});
