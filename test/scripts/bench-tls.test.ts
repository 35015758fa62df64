/**
 * scripts/bench-tls.ts runs end to end on a tiny budget: every implementation (ours and ws, over
 * wss:// and ws://) on every workload with positive figures, and its section of BENCHMARKS.md
 * written without touching the others. It checks the script, never the performance.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { workloads } from '../../scripts/bench.ts';
import { tlsImplIds, type TlsBenchResults } from '../../scripts/bench-tls.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-tls-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:tls (BENCH_QUICK, tiny budget)', () => {
  it('measures ours and ws over wss:// and ws:// on every workload, and writes its section only', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/bench-tls.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_ROUNDS: '1', BENCH_CELL_MS: '40', BENCH_WARMUP_MS: '10', BENCH_OUT_DIR: outDir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.stderr).not.toContain('bench:tls failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-tls-results.json'), 'utf8')) as TlsBenchResults;
    expect(results.kind).toBe('websocket-inspector-bench-tls');
    expect(results.rows).toHaveLength(workloads.length * tlsImplIds.length);
    for (const row of results.rows) {
      expect(row.median, `${row.workload} ${row.impl}`).toBeGreaterThan(0);
      expect(row.samples).toHaveLength(1);
    }
    for (const r of results.ratios) for (const v of [r.oursVsWs, r.oursTlsCost, r.wsTlsCost]) expect(v).toBeGreaterThan(0);
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- tls:start -->\n## wss:\/\/ echo: ours vs ws over TLS/);
    expect(md).toContain('| 1 MiB pipelined | MB/s |');
  }, 120_000);
});
