/**
 * scripts/bench-backpressure.ts runs end to end on a small budget: the server process stops
 * taking bytes from a writer nobody reads (phase 1 stalls), then delivers every byte once the
 * reader reads, and the script writes its results and its own BENCHMARKS.md section. It checks
 * the script and the pause, not the RSS figure (that depends on the machine).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackpressureResults } from '../../scripts/bench-backpressure.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-backpressure-test-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:backpressure (32 MiB, echo only)', () => {
  it('stalls the non-reading writer, delivers everything afterwards, and writes its section keeping the others', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthroughput kept\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-backpressure.ts'], {
      cwd: root,
      env: { ...process.env, BP_TOTAL_MIB: '32', BP_STALL_MS: '500', BP_SCENARIOS: 'echo', BP_OUT_DIR: outDir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.stderr).not.toContain('bench:backpressure failed');
    const results = JSON.parse(readFileSync(join(outDir, 'backpressure-results.json'), 'utf8')) as BackpressureResults;
    expect(results.kind).toBe('websocket-inspector-backpressure');
    const [echo] = results.scenarios;
    expect(echo!.scenario).toBe('echo');
    // The server stopped reading long before 32 MiB went out: the writer was blocked.
    expect(echo!.stalled).toBe(true);
    expect(echo!.acceptedWhileNotReading).toBeLessThan(32 * 1024 * 1024);
    expect(echo!.allDelivered).toBe(true);
    expect(echo!.deliveredBytes).toBe(512 * (64 * 1024 + 10));
    expect(echo!.rssMiB.baseline).toBeGreaterThan(0);

    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('throughput kept');
    expect(md).toContain('<!-- backpressure:start -->');
    expect(md).toContain('stalled (server paused)');
    expect(md.indexOf('throughput kept')).toBeLessThan(md.indexOf('<!-- backpressure:start -->'));
  }, 120_000);
});
