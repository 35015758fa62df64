/**
 * scripts/bench-capture.ts runs end to end on a small file (BENCH_QUICK: 8k frames): every mode
 * measured with positive figures, the replay traces every frame and message it synthesised, and
 * its section of BENCHMARKS.md written without touching the others. It checks the script, never
 * the performance.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaptureBenchResults } from '../../scripts/bench-capture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-capture-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:capture (BENCH_QUICK)', () => {
  it('measures read, dissect and open on a synthetic pcapng and writes its section only', () => {
    writeFileSync(join(outDir, 'BENCHMARKS.md'), '# Benchmarks\n\n<!-- bench:start -->\nthe echo section\n<!-- bench:end -->\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-capture.ts'], {
      cwd: root, env: { ...process.env, BENCH_QUICK: '1', BENCH_OUT_DIR: outDir }, encoding: 'utf8', timeout: 120_000,
    });
    expect(run.stderr).not.toContain('bench:capture failed');
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(outDir, 'bench-capture-results.json'), 'utf8')) as CaptureBenchResults;
    expect(results.kind).toBe('websocket-inspector-bench-capture');
    expect(results.file.frames).toBe(8000);
    expect(results.measurements.map((m) => m.mode)).toEqual(['read', 'dissect', 'open', 'service']);
    for (const m of results.measurements) {
      expect(m.mbPerSecond, m.mode).toBeGreaterThan(0);
      expect(m.maxRssMiB, m.mode).toBeGreaterThan(0);
      // The service's open counts what it loaded, not packets.
      if (m.mode !== 'service') expect(m.packets).toBe(results.file.packets);
      // The file readers report each 1 MiB chunk; the service reports its own opening progress, at least once.
      expect(m.progressCalls, m.mode).toBeGreaterThanOrEqual(m.mode === 'service' ? 1 : Math.ceil(results.file.bytes / (1024 * 1024)));
    }
    const open = results.measurements.find((m) => m.mode === 'open')!;
    expect(open.conversations).toBe(results.file.conversations);
    expect(open.frames).toBe(8000);
    expect(open.messages).toBe(8000);
    // Opened as the app opens it (through the service): everything loaded, below the event cap, so no cut note.
    const service = results.measurements.find((m) => m.mode === 'service')!;
    expect(service.frames).toBe(8000);
    expect(service.messages).toBe(8000);
    expect(service.cutNote ?? null).toBeNull();
    expect(service.maxEventLoopPauseMs).toBeGreaterThan(0);
    expect(service.p99EventLoopPauseMs).toBeGreaterThan(0);
    expect(service.p99EventLoopPauseMs).toBeLessThanOrEqual(service.maxEventLoopPauseMs!);
    // The scheduler's share, measured beside it by an idle process: a number, not a failure.
    expect(Number.isFinite(service.idleProcessMaxPauseMs)).toBe(true);
    expect(service.slicingProcessMaxPauseMs).toBeGreaterThan(0);
    expect(service.maxCpuBetweenTicksMs).toBeGreaterThan(0);
    expect(service.longestTickGapMs).toBeGreaterThan(0);
    expect(Number.isFinite(service.cpuInLongestTickGapMs)).toBe(true);
    // Collections seen while opening (thousands of events allocate well past the young generation).
    expect(service.gc!.count).toBeGreaterThan(0);
    expect(service.gc!.maxMs).toBeGreaterThan(0);
    expect(service.gc!.maxMs).toBeLessThanOrEqual(service.gc!.totalMs);
    expect(service.bytesRead).toBe(results.file.bytes);
    // Streaming: the first frame went out before the open ended, and the status said it was reading.
    expect(service.firstFrameSeconds).toBeGreaterThan(0);
    expect(service.firstFrameSeconds).toBeLessThan(service.seconds);
    expect(service.phases).toContain('reading');
    const md = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('the echo section');
    expect(md).toMatch(/<!-- capture:start -->\n## Opening captures \(pcapng\)/);
    expect(md).toContain('| reader + link/IP/TCP + reassembly + WebSocket discovery + Recording |');
    expect(md).toMatch(/Beside it, an idle node process paused for up to \d+ ms and one doing nothing but 8 ms slices .* for up to \d+ ms/);
    expect(md).toMatch(/Garbage collection meanwhile \(perf_hooks 'gc' entries\): \d+ collections, \d+ ms in all, the longest \d+ ms/);
  }, 150_000);
});
