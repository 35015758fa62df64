/**
 * scripts/bench-server-cpu.ts (issue 17) on a tiny budget: every workload measured (the judged
 * blasting windows, a write per message and in corked bursts, and the light-pipelining rows), each server's CPU, system calls and the
 * client's busy share read, and the table rendering what was measured. Checks the script, never
 * the performance target (that depends on the machine).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuWorkloads, processCpuSeconds, processIoCounters, renderServerCpu, runServerCpu, type ServerCpuResults } from '../../scripts/bench-server-cpu.ts';

const saved = { ...process.env };
let results: ServerCpuResults;

beforeAll(async () => {
  Object.assign(process.env, { BENCH_CPU_ROUNDS: '1', BENCH_CPU_CELL_MS: '150', BENCH_CPU_WARMUP_MS: '30' });
  delete process.env['BENCH_CPU_SIZES'];
  delete process.env['BENCH_QUICK'];
  results = await runServerCpu();
}, 120_000);

afterAll(() => {
  for (const key of ['BENCH_CPU_ROUNDS', 'BENCH_CPU_CELL_MS', 'BENCH_CPU_WARMUP_MS']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('server CPU bench', () => {
  it('judges a blasting window at every size, a write per message and in bursts, and reports a light-pipelining row at 64 B and 16 KiB', () => {
    const judged = cpuWorkloads.filter((w) => w.judged);
    expect(judged.map((w) => `${w.label} ${w.client}`)).toEqual(['64 B each', '64 B burst', '16 KiB each', '16 KiB burst', '1 MiB each', '1 MiB burst']);
    for (const w of judged.filter((x) => x.client === 'burst')) {
      // The same window as the write-per-message row: only how the client writes differs.
      expect(w.window, w.id).toBe(judged.find((x) => x.size === w.size && x.client === 'each')!.window);
    }
    for (const light of cpuWorkloads.filter((w) => !w.judged)) {
      const blasting = judged.find((w) => w.size === light.size)!;
      expect(blasting.window, light.id).toBeGreaterThan(light.window);
      expect(light.client).toBe('each');
    }
    expect(cpuWorkloads.filter((w) => !w.judged).map((w) => w.label)).toEqual(['64 B', '16 KiB']);
  });

  it('measures every workload: both servers and the I/O-only echo, their system calls and the client', () => {
    expect(results.rows.map((r) => r.workload)).toEqual(cpuWorkloads.map((w) => w.id));
    for (const r of results.rows) {
      const w = cpuWorkloads.find((x) => x.id === r.workload)!;
      expect(r.window).toBe(w.window);
      expect(r.judged).toBe(w.judged);
      for (const value of [r.ours, r.ws, r.ioOnly]) expect(value, r.workload).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.ours / r.ws, 5); // one round: its ratio is the median
      for (const id of ['ours', 'ws', 'io-only'] as const) {
        // Every echo needs a read and a write by the server; sleeps can be 0 for a server never out of input.
        expect(r.perHundred[id].reads, `${r.workload} ${id}`).toBeGreaterThan(0);
        expect(r.perHundred[id].writes, `${r.workload} ${id}`).toBeGreaterThan(0);
        expect(r.perHundred[id].sleeps, `${r.workload} ${id}`).toBeGreaterThanOrEqual(0);
        expect(r.clientBusy[id], `${r.workload} ${id}`).toBeGreaterThan(0);
        expect(r.clientBusy[id], `${r.workload} ${id}`).toBeLessThanOrEqual(1);
      }
    }
    // ABBA: two cells per compared server per workload in the round, one for the I/O-only echo.
    expect(results.samples.filter((x) => x.server === 'ours')).toHaveLength(2 * cpuWorkloads.length);
    expect(results.samples.filter((x) => x.server === 'io-only')).toHaveLength(cpuWorkloads.length);
    for (const x of results.samples) expect(x.messages, `${x.server} ${x.workload}`).toBeGreaterThan(0);
  });

  it('renders the judged rows with their target and the light rows for information, each with its I/O-only floor', () => {
    const md = renderServerCpu(results);
    const rows = md.split('\n').filter((line) => /^\| (64 B|16 KiB|1 MiB),/.test(line));
    expect(rows).toHaveLength(cpuWorkloads.length);
    // Judged first, in size order, then the light rows.
    expect(rows.map((line) => /^\| ([^,]+), (\*\*blasting\*\*, a write per message|\*\*blasting in bursts\*\*|light pipelining) \(([\d,]+) in flight/.exec(line)?.slice(1).join(' '))).toEqual([
      '64 B **blasting**, a write per message 4,096', '64 B **blasting in bursts** 4,096',
      '16 KiB **blasting**, a write per message 256', '16 KiB **blasting in bursts** 256',
      '1 MiB **blasting**, a write per message 4', '1 MiB **blasting in bursts** 4',
      '64 B light pipelining 64', '16 KiB light pipelining 16',
    ]);
    for (const line of rows.slice(0, 6)) expect(line).toMatch(/\| (✅ met|❌ missed by [\d.]+×)/);
    for (const line of rows.slice(6)) expect(line).toContain('| for information |');
    const order = [...results.rows.filter((x) => x.judged), ...results.rows.filter((x) => !x.judged)];
    for (const [i, line] of rows.entries()) {
      const r = order[i]!;
      expect(line, `row ${i}`).toContain(`| ${r.ioOnly.toFixed(2)} (${(r.ioOnly / r.ws).toFixed(2)}) |`);
      expect(line).toContain(`| ${r.ours.toFixed(2)} | ${r.ws.toFixed(2)} |`);
    }
    expect(md).toContain(`load average ${results.load[0].toFixed(1)} → ${results.load[1].toFixed(1)}`);
  });
});

describe('server process accounting', () => {
  it('reads a busy child\'s CPU time finer than /proc\'s 10 ms ticks, and its reads, writes and sleeps', async () => {
    // A child that sleeps on its event loop 20 times, then spins until it has used 30 ms more CPU
    // (its own CPU, not the wall clock: under load it may be off the CPU for much of that) and writes to stdout.
    const child = spawn(process.execPath, ['-e', `
      let n = 0;
      const t = setInterval(() => {
        if (++n < 20) return;
        clearInterval(t);
        const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
        const end = used() + 30;
        while (used() < end);
        process.stdout.write('done');
      }, 10);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const before = { cpu: processCpuSeconds(child.pid!), io: processIoCounters(child.pid!) };
    await once(child.stdout, 'data');
    const after = { cpu: processCpuSeconds(child.pid!), io: processIoCounters(child.pid!) };
    await once(child, 'exit');
    expect(after.cpu - before.cpu).toBeGreaterThan(0.025);
    expect(after.cpu - before.cpu).toBeLessThan(5);
    if (existsSync('/proc/self/schedstat')) expect(after.cpu * 1e3 % 10).not.toBe(0); // not a whole number of ticks
    else console.log('no /proc/PID/schedstat on this kernel: CPU time falls back to 10 ms ticks (not checked for finer)');
    expect(after.io.writes).toBeGreaterThan(before.io.writes);
    expect(after.io.sleeps - before.io.sleeps).toBeGreaterThanOrEqual(5); // its timer waits (20, some may find the timer already due)
  });
});
