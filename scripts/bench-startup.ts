/**
 * npm run bench:startup — how long the wsinspect CLI takes to start, against `node -e "require('ws')"`
 * (issue 17: `wsinspect --help` and `wsinspect serve` ready in at most 2× that).
 *
 * Builds the compiled CLI first (scripts/build-cli.mjs) and checks, through WSINSPECT_SHOW_RUNTIME,
 * that every timed run is the compiled one. Each round runs every command once, in an order that
 * rotates from round to round (so machine noise spreads over all of them); medians over rounds.
 *   require('ws')      node -e "require('ws')": spawn to exit
 *   --help             node bin/wsinspect.mjs --help: spawn to exit
 *   serve ready        node bin/wsinspect.mjs serve --port 0 --trace none: spawn to its "listening on" line
 *   --help via tsx     the same through tsx (WSINSPECT_CLI_DIR pointing at no bundle), for information
 *
 * Environment: BENCH_ROUNDS (default 15), BENCH_NO_MD=1 (do not write BENCHMARKS.md).
 */
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { envNumber, machineInfo, median, repoRoot, writeSection } from './bench.ts';

const bin = join(repoRoot, 'bin', 'wsinspect.mjs');

interface Command {
  id: string;
  label: string;
  args: string[];
  env?: Record<string, string>;
  /** Ready when this appears on stdout (then the process is killed); else at exit. */
  readyOn?: string;
  /** What WSINSPECT_SHOW_RUNTIME must print (the runtime that ran). */
  runtime?: RegExp;
}

const commands: Command[] = [
  { id: 'ws', label: `node -e "require('ws')"`, args: ['-e', "require('ws')"] },
  { id: 'help', label: 'wsinspect --help', args: [bin, '--help'], runtime: /running compiled/ },
  { id: 'serve', label: 'wsinspect serve --port 0 --trace none (until "listening on")', args: [bin, 'serve', '--port', '0', '--trace', 'none'], readyOn: 'listening on', runtime: /running compiled/ },
  { id: 'help-tsx', label: 'wsinspect --help through tsx (no compiled bundle)', args: [bin, '--help'], env: { WSINSPECT_CLI_DIR: join(repoRoot, 'out', 'no-such-cli') }, runtime: /through tsx/ },
];

function timeOnce(c: Command): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, c.args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', WSINSPECT_SHOW_RUNTIME: '1', ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyAt: number | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (c.readyOn && readyAt === null && out.includes(c.readyOn)) {
        readyAt = performance.now();
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ended = performance.now();
      if (c.runtime && !c.runtime.test(err)) return reject(new Error(`${c.label}: expected ${c.runtime} on stderr, got ${JSON.stringify(err.slice(0, 300))}`));
      if (c.readyOn) return readyAt === null ? reject(new Error(`${c.label}: exited (${code}) before "${c.readyOn}": ${err.slice(0, 300)}`)) : resolve(readyAt - started);
      if (code !== 0) return reject(new Error(`${c.label}: exit ${code}: ${err.slice(0, 300)}`));
      resolve(ended - started);
    });
  });
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
  const rounds = envNumber('BENCH_ROUNDS', 15);
  const load0 = os.loadavg()[0]!;
  const times = new Map<string, number[]>(commands.map((c) => [c.id, []]));
  for (const c of commands) await timeOnce(c); // untimed: disk cache warm
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < commands.length; i++) {
      const c = commands[(i + round) % commands.length]!;
      times.get(c.id)!.push(await timeOnce(c));
    }
  }
  const load1 = os.loadavg()[0]!;
  const med = (id: string) => median(times.get(id)!);
  const base = med('ws');
  const rows = commands.map((c) => ({ c, ms: med(c.id), min: Math.min(...times.get(c.id)!), ratio: med(c.id) / base }));
  for (const r of rows) console.log(`${r.c.label.padEnd(64)} ${r.ms.toFixed(0).padStart(5)} ms  (min ${r.min.toFixed(0)})  ${r.ratio.toFixed(2)}×`);
  if (process.env['BENCH_NO_MD'] === '1') return;
  const m = machineInfo();
  const target = (id: string) => {
    const r = rows.find((x) => x.c.id === id)!;
    return r.ratio <= 2 ? `✅ met (${r.ratio.toFixed(2)}× ≤ 2×)` : `❌ missed: ${r.ratio.toFixed(2)}× (${(r.ms - 2 * base).toFixed(0)} ms over 2×)`;
  };
  const lines = [
    '## CLI start time',
    '',
    `Written by \`npm run bench:startup\` (scripts/bench-startup.ts) on ${new Date().toISOString()}, code ${m.commit}, Node.js ${m.node}, ${m.cores} cores, load average ${load0.toFixed(1)} → ${load1.toFixed(1)}.`,
    '',
    '**Method.** Each command is spawned as a fresh `node` process; wall time from spawn to exit, or for `serve` to its',
    '"listening on" line (the server accepts connections from then on). The CLI runs compiled JavaScript from out/cli/',
    '(scripts/build-cli.mjs, run by `npm install` and `npm run build`); bin/wsinspect.mjs uses it only while it is newer than',
    'every source file it was built from, and every timed run here was checked (WSINSPECT_SHOW_RUNTIME) to be the compiled one.',
    `${rounds} rounds, the order of commands rotating between rounds; medians (fastest in small print).`,
    '',
    '| command | median ms | / require(\'ws\') |',
    '| --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.c.label} | ${r.ms.toFixed(0)} <sub>(${r.min.toFixed(0)})</sub> | ${r.ratio.toFixed(2)}× |`),
    '',
    '| target (issue 17) | status |',
    '| --- | --- |',
    `| \`wsinspect --help\` at most 2× \`require('ws')\` | ${target('help')} |`,
    `| \`wsinspect serve\` ready at most 2× \`require('ws')\` | ${target('serve')} |`,
  ];
  writeSection(join(repoRoot, 'BENCHMARKS.md'), 'startup', lines.join('\n'));
  console.log('wrote the "CLI start time" section of BENCHMARKS.md');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:startup failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
