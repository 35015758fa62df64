/**
 * scripts/bench-proxy.ts runs end to end on a tiny budget: direct and proxied echoes in both
 * layouts (threads, one thread) on every workload with positive figures, the proxy's trace kept,
 * and its section of BENCHMARKS.md written without touching the others. It checks the script,
 * never the performance.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { proxyImplIds, proxyLayouts, proxyWorkloads, type ProxyBenchResults } from '../../scripts/bench-proxy.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-proxy-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:proxy (BENCH_QUICK, tiny budget)', () => {
  it('measures direct and proxied echoes in both layouts on every workload, and writes its section only', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/bench-proxy.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_ROUNDS: '1', BENCH_CELL_MS: '40', BENCH_WARMUP_MS: '10', BENCH_OUT_DIR: outDir },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.stderr).not.toContain('bench:proxy failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-proxy-results.json'), 'utf8')) as ProxyBenchResults;
    expect(results.kind).toBe('websocket-inspector-bench-proxy');
    expect(results.rows).toHaveLength(proxyWorkloads.length * proxyImplIds.length * proxyLayouts.length);
    expect(proxyWorkloads.map((w) => w.size)).toEqual([64, 16 * 1024, 1024 * 1024]);
    for (const row of results.rows) {
      expect(row.median, `${row.workload} ${row.layout} ${row.impl}`).toBeGreaterThan(0);
      expect(row.samples).toHaveLength(1);
      // The proxy traced both legs while it was measured.
      if (row.impl === 'proxied') expect(row.samples[0]!.events, `${row.workload} ${row.layout}`).toBeGreaterThan(0);
    }
    for (const r of results.ratios) expect(r.proxiedVsDirect).toBeGreaterThan(0);
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- proxy:start -->\n## Reverse proxy: proxied echo vs direct, tracing on/);
    expect(md).toContain('| 1 MiB pipelined | MB/s |');
  }, 150_000);
});
