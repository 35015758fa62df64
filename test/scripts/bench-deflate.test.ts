/**
 * scripts/bench-deflate.ts runs end to end on a tiny budget: ours (tracing off and on) and ws, both
 * with permessage-deflate agreed, on every workload with positive figures, compression really on
 * (our wire bytes are a fraction of the plain ones), and its section of BENCHMARKS.md written
 * without touching the others. It checks the script, never the performance.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deflateImplIds, deflateWorkloads, jsonText, type DeflateBenchResults } from '../../scripts/bench-deflate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-deflate-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:deflate (tiny budget)', () => {
  it('JSON-like texts have the exact size asked for, and differ from variant to variant', () => {
    for (const n of [64, 16 * 1024]) {
      expect(jsonText(n, 0)).toHaveLength(n);
      expect(jsonText(n, 0)).not.toBe(jsonText(n, 1));
    }
  });

  it('measures ours and ws with deflate on every workload, and writes its section only', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/bench-deflate.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_ROUNDS: '1', BENCH_CELL_MS: '40', BENCH_WARMUP_MS: '10', BENCH_OUT_DIR: outDir },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.stderr).not.toContain('bench:deflate failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-deflate-results.json'), 'utf8')) as DeflateBenchResults;
    expect(results.kind).toBe('websocket-inspector-bench-deflate');
    expect(results.rows).toHaveLength(deflateWorkloads.length * deflateImplIds.length);
    for (const row of results.rows) expect(row.median, `${row.workload} ${row.impl}`).toBeGreaterThan(0);
    for (const r of results.ratios) {
      expect(r.oursVsWs).toBeGreaterThan(0);
      expect(r.splitOursVsWs).toBeGreaterThan(0); // the client-in-a-worker cells ran too
      expect(r.inlineVsWs).toBeGreaterThan(0); // and ours with zlib on the event loop
      expect(r.wireRatio).toBeGreaterThan(0);
      expect(r.wireRatio).toBeLessThan(0.5); // JSON compresses: the extension was really in use
    }
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- deflate:start -->\n## permessage-deflate echo: ours vs ws/);
    expect(md).toContain('| 1 MiB JSON | MB/s |');
  }, 150_000);
});
