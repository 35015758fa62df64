/**
 * scripts/bench-connections.ts runs end to end on a small budget: `wsinspect serve` in its own
 * process, a few hundred connections held by a second process, the fresh-client probe before and
 * while they are open, RSS read from /proc, and its section of BENCHMARKS.md written without
 * touching the others. It checks the script, never the figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionsResults } from '../../scripts/bench-connections.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-connections-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:connections (small budget)', () => {
  it('holds every connection asked for, times fresh clients, reads RSS, and writes its section only', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-connections.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_CONNECTIONS: '300', BENCH_TRIES: '10', BENCH_MODES: 'none', BENCH_OUT_DIR: outDir },
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(run.stderr).not.toContain('bench:connections failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-connections-results.json'), 'utf8')) as ConnectionsResults;
    expect(results.kind).toBe('websocket-inspector-bench-connections');
    const [none] = results.modes;
    expect(none).toMatchObject({ mode: 'none', connections: 300, failed: 0 });
    expect(none!.rssIdleKiB).toBeGreaterThan(0);
    expect(none!.rssOpenKiB).toBeGreaterThan(0);
    for (const stats of [none!.idleLatency, none!.loadedLatency]) {
      expect(stats.tries).toBe(10);
      expect(stats.p50).toBeGreaterThan(0);
      expect(stats.p99).toBeGreaterThanOrEqual(stats.p50);
    }
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- connections:start -->\n## Connections: 10,000 at once on one server/);
    expect(md).toContain('| --trace none |');
  }, 180_000);
});
