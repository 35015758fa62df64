/**
 * scripts/bench-forward-proxy.ts runs end to end on a small budget: the proxy process carries
 * every byte (GET and tunnel), the slow reader gets the whole body, and the BENCHMARKS.md section
 * is written beside the others.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ForwardProxyResults } from '../../scripts/bench-forward-proxy.ts';

const outDir = mkdtempSync(join(tmpdir(), 'bench-forward-proxy-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:forward-proxy (8 MiB)', () => {
  it('measures the three transfers and the slow reader, and writes its section', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-forward-proxy.ts'], {
      env: { ...process.env, FP_TOTAL_MIB: '8', FP_PAUSE_MS: '300', FP_OUT_DIR: outDir }, encoding: 'utf8', timeout: 60_000,
    });
    expect(run.stderr).not.toContain('bench:forward-proxy failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'forward-proxy-results.json'), 'utf8')) as ForwardProxyResults;
    expect(results.slowReaderBytes).toBe(8 * 1024 * 1024);
    for (const value of Object.values(results.mbPerSecond)) expect(value).toBeGreaterThan(0);
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- forward-proxy:start -->\n## Forward proxy[\s\S]*\| CONNECT tunnel \(passed through; the client speaks first\) \| \d+ \|[\s\S]*<!-- forward-proxy:end -->/);
  }, 90_000);
});
