/**
 * npm run bench:profile — runs single bench workloads under `node --cpu-prof` and summarises
 * self time by function and by file. Profiles and the summary go to .test-output/profiles/.
 *
 *   PROFILE_MS   how long each workload is measured (default 6000)
 *   PROFILE_RUNS comma list of impl:workload (default ours:64-seq,ours:64,ours:16k,ours-traced:64,ours-traced:16k,ws:64)
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, readProfile, summariseProfile } from './cpuprofile-summary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outRoot = join(root, '.test-output', 'profiles');
const ms = Number(process.env['PROFILE_MS'] ?? 6000);
const runs = (process.env['PROFILE_RUNS'] ?? 'ours:64-seq,ours:64,ours:16k,ours-traced:64,ours-traced:16k,ws:64').split(',').map((r) => r.trim().split(':') as [string, string]);

const report: string[] = ['# CPU profiles of bench workloads', '', `Each: one connection, ${ms} ms measured after warm-up, \`node --cpu-prof\`. Self time by function (top 25) and by file.`, ''];
for (const [impl, workload] of runs) {
  const dir = join(outRoot, `${impl}-${workload}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`profiling ${impl} ${workload} for ${ms} ms …`);
  const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', 'scripts/bench.ts'], {
    cwd: root,
    env: {
      ...process.env, BENCH_IMPLS: impl, BENCH_WORKLOADS: workload, BENCH_ROUNDS: '1', BENCH_CELL_MS: String(ms),
      BENCH_WARMUP_MS: '500', BENCH_OUT_DIR: dir, BENCH_NO_MD: '1',
    },
    encoding: 'utf8',
    timeout: ms * 3 + 60_000,
  });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    process.exit(1);
  }
  // tsx's loader runs in a worker thread that writes its own (small) profile: take the largest.
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const summary = summariseProfile(readProfile(join(dir, file)));
  const figure = run.stdout.split('\n').find((l) => l.includes('round 1/1'))?.trim() ?? '';
  report.push(`## ${impl}, ${workload}`, '', `\`${figure}\``, '', formatSummary(summary), '');
  console.log(`${figure}\n${formatSummary(summary, 15)}\n`);
}
writeFileSync(join(outRoot, 'summary.md'), `${report.join('\n')}\n`);
console.log(`summary: ${join(outRoot, 'summary.md')}`);
