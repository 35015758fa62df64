/**
 * `npm run fuzz` itself, run small (FUZZ_FRAMES=20000) so the script is tested without the
 * million-frame run: it finishes, reports its figures, and fails when something throws.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runFuzz(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/fuzz.ts'], { cwd: root, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fuzz did not finish in 25 s:\n${out}`));
    }, 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

describe('scripts/fuzz.ts (npm run fuzz)', () => {
  it('pushes 20,000 frames through parser and protocol, reports frames/s, violations and heap growth, exits 0', async () => {
    const { code, out } = await runFuzz({ FUZZ_FRAMES: '20000', FUZZ_JSON: '1' });
    console.log(out.split('\n').slice(0, 4).join('\n'));
    expect(code, out).toBe(0);
    expect(out).toMatch(/frames\/s/);
    expect(out).toMatch(/max retained heap growth: [\d.]+ MB \(after GC/);
    const summary = JSON.parse(out.trim().split('\n').find((l) => l.startsWith('{"frames"'))!) as {
      frames: number; framesPerSecond: number; unexpected: number; slowFeeds: number; gc: boolean; maxHeapGrowthBytes: number; violations: Record<string, number>;
    };
    expect(summary.frames).toBe(20_000);
    expect(summary.framesPerSecond).toBeGreaterThan(0);
    expect(summary.unexpected).toBe(0);
    expect(summary.slowFeeds).toBe(0);
    expect(summary.gc).toBe(true);
    // Mutations hit many rules, in both roles.
    const codes = Object.keys(summary.violations).join(' ');
    for (const c of ['server WS_ERR_RESERVED_BITS', 'client WS_ERR_RESERVED_BITS', 'WS_ERR_INVALID_UTF8', 'WS_ERR_UNMASKED_CLIENT_FRAME', 'WS_ERR_MASKED_SERVER_FRAME']) expect(codes).toContain(c);
  });

  it('exits 1 and names the exception when receiveData throws (FUZZ_INJECT_FAULT)', async () => {
    const { code, out } = await runFuzz({ FUZZ_FRAMES: '5000', FUZZ_INJECT_FAULT: '1', FUZZ_SEED: '7' });
    expect(code, out).toBe(1);
    expect(out).toContain('UNEXPECTED EXCEPTIONS: 1 (reproduce with FUZZ_SEED=7 FUZZ_FRAMES=5000)');
    expect(out).toContain('TypeError: injected fault');
    expect(out).toContain('fuzz: FAILED');
  });
});
