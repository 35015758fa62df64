/**
 * scripts/bench.ts runs end to end on a tiny budget and writes complete, positive results.
 * It checks the script, never the performance targets (those depend on the machine).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { implIds, workloads, writeSection, type BenchResults } from '../../scripts/bench.ts';
import { proxyWorkloads, type ProxyBenchResults } from '../../scripts/bench-proxy.ts';
import { cpuWorkloads, type ServerCpuResults } from '../../scripts/bench-server-cpu.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-test-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench (BENCH_QUICK, tiny budget)', () => {
  it('measures every implementation on every workload and writes bench-results.json and BENCHMARKS.md', () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/bench.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_ROUNDS: '1', BENCH_CELL_MS: '40', BENCH_WARMUP_MS: '10', BENCH_OUT_DIR: outDir, BENCH_CPU_ROUNDS: '1', BENCH_CPU_CELL_MS: '150', BENCH_CPU_WARMUP_MS: '30', BENCH_CONNECTIONS: '0' }, // bench-connections.test.ts runs that part
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(run.stderr).not.toContain('bench failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-results.json'), 'utf8')) as BenchResults;
    expect(results.kind).toBe('websocket-inspector-bench');
    expect(results.config.quick).toBe(true);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.cpu).toBeTruthy();
    expect(results.machine.node).toBe(process.version);

    // Every workload × implementation, each with positive numbers.
    expect(results.rows).toHaveLength(workloads.length * implIds.length);
    for (const w of workloads) {
      for (const impl of implIds) {
        const row = results.rows.find((r) => r.workload === w.id && r.impl === impl);
        expect(row, `${w.id} ${impl}`).toBeDefined();
        expect(row!.unit).toBe(w.unit);
        expect(row!.median, `${w.id} ${impl}`).toBeGreaterThan(0);
        expect(row!.medianPerCpu).toBeGreaterThan(0);
        expect(row!.samples).toHaveLength(1);
        expect(row!.samples[0]!.messages).toBeGreaterThan(0);
        if (impl === 'ours-traced' || impl === 'ours-service') expect(row!.eventsPerMessage, `${w.id} ${impl}`).toBeGreaterThan(0);
      }
    }
    expect(results.ratios).toHaveLength(workloads.length);
    for (const r of results.ratios) {
      for (const v of [r.oursOverWs, r.oursOverRaw, r.tracedOverWs, r.tracedOverRaw, r.tracedOverOurs, r.serviceOverWs, r.cpu.oursOverWs, r.cpu.tracedOverWs]) {
        expect(v).toBeGreaterThan(0);
      }
    }
    // Every target is evaluated (met or missed), whatever the machine.
    expect(results.targets.length).toBeGreaterThanOrEqual(6);
    for (const t of results.targets) {
      expect(t.actual).toBeGreaterThan(0);
      expect(typeof t.met).toBe('boolean');
      expect(t.gap).toMatch(t.met ? /over the target/ : /^short by/);
    }

    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('<!-- bench:start -->');
    expect(md).toContain(results.machine.cpu);
    expect(md).toContain('### Targets');
    expect(md).toMatch(/quick run/);

    // The server-CPU workload (issue 17): both servers in processes of their own, every size measured.
    const cpu = JSON.parse(readFileSync(join(outDir, 'server-cpu-results.json'), 'utf8')) as ServerCpuResults;
    expect(cpu.rows.map((r) => r.workload)).toEqual(cpuWorkloads.map((w) => w.id));
    for (const r of cpu.rows) {
      expect(r.ours, r.workload).toBeGreaterThan(0);
      expect(r.ws, r.workload).toBeGreaterThan(0);
      expect(r.ioOnly, r.workload).toBeGreaterThan(0); // the I/O-only reference echo, once per round
      expect(r.ratio).toBeCloseTo(r.ours / r.ws, 5); // one round: its ratio is the median
    }
    // ABBA: two cells per server per workload in the round, each with messages echoed.
    expect(cpu.samples.filter((x) => x.server === 'ours')).toHaveLength(2 * cpuWorkloads.length);
    for (const x of cpu.samples) expect(x.messages, `${x.server} ${x.workload}`).toBeGreaterThan(0);
    expect(md).toContain('<!-- server-cpu:start -->');
    expect(md).toMatch(/\| 1 MiB, \*\*blasting\*\*, a write per message \(4 in flight, 4 MiB\) \| [\d.]+ \| [\d.]+ \| [\d.]+/);
    expect(md).toMatch(/\| 1 MiB, \*\*blasting in bursts\*\* \(4 in flight, 4 MiB\) \| [\d.]+ \| [\d.]+ \| [\d.]+/);

    // Issue 12's proxy workload runs inside npm run bench (threads layout), writing its own section.
    const proxy = JSON.parse(readFileSync(join(outDir, 'bench-proxy-results.json'), 'utf8')) as ProxyBenchResults;
    expect(proxy.ratios.map((r) => `${r.workload} ${r.layout}`)).toEqual(proxyWorkloads.map((w) => `${w.id} threads`));
    for (const r of proxy.ratios) expect(r.proxiedVsDirect, r.workload).toBeGreaterThan(0);
    expect(md).toMatch(/<!-- proxy:start -->\n## Reverse proxy: proxied echo vs direct, tracing on/);
  }, 180_000);

  it('rewrites its own section of BENCHMARKS.md and keeps the UI section', () => {
    const file = join(outDir, 'sections.md');
    writeSection(file, 'bench', 'bench v1');
    writeSection(file, 'ui', 'ui v1');
    writeSection(file, 'bench', 'bench v2');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('bench v2');
    expect(text).not.toContain('bench v1');
    expect(text).toContain('ui v1');
    expect(text.indexOf('bench v2')).toBeLessThan(text.indexOf('ui v1'));
    writeFileSync(file, '# Benchmarks\n\n<!-- ui-flood:start -->\nui only\n<!-- ui-flood:end -->\n');
    writeSection(file, 'bench', 'bench first');
    const again = readFileSync(file, 'utf8');
    expect(again.indexOf('bench first')).toBeLessThan(again.indexOf('ui only'));
  });
});
