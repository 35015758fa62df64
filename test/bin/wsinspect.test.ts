/**
 * bin/wsinspect.mjs: the compiled CLI (scripts/build-cli.mjs) runs while it is newer than every
 * source file it was built from; otherwise the TypeScript runs through tsx, so an edited checkout
 * never runs stale compiled code. Each case builds its own bundle in a temporary directory
 * (WSINSPECT_CLI_DIR) and leaves out/cli/ alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killRunning, root, runCli, waitFor } from '../support/cli.ts';

const usageStart = 'wsinspect — a from-scratch RFC 6455';
const markedStart = 'wsinspect (compiled copy under test) — a from-scratch RFC 6455';

let dir: string;

/** Builds the CLI into dir, then marks the copy's usage text so that its output shows it ran. */
function buildMarkedCopy(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--outdir', dir], { cwd: root, stdio: 'pipe' });
  let marked = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (!name.endsWith('.mjs')) continue;
    const file = join(dir, name);
    const text = readFileSync(file, 'utf8');
    if (text.includes(usageStart)) {
      writeFileSync(file, text.replace(usageStart, markedStart));
      marked++;
    }
  }
  expect(marked).toBe(1);
}

function editManifest(edit: (m: { builtAt: number; inputs: string[] }) => void): void {
  const file = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  writeFileSync(file, JSON.stringify(manifest));
}

async function help(): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = runCli(['--help'], { WSINSPECT_CLI_DIR: dir, WSINSPECT_SHOW_RUNTIME: '1' });
  const code = await r.exit;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsinspect-cli-'));
});
afterEach(() => {
  killRunning();
  rmSync(dir, { recursive: true, force: true });
});

describe('bin/wsinspect.mjs', () => {
  it('runs the compiled bundle when it is newer than all its sources', async () => {
    buildMarkedCopy();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.inputs).toContain('src/cli/wsinspect.ts');
    expect(manifest.inputs).toContain('src/core/protocol.ts');
    // Lazily loaded subcommands are still built, in chunks of their own.
    expect(manifest.inputs).toContain('src/cli/fuzzing.ts');
    const r = await help();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`running compiled ${join(dir, 'wsinspect.mjs')}`);
    expect(r.stdout.startsWith(markedStart)).toBe(true);
  }, 30_000);

  it('serves from the compiled bundle: a client gets its echo', async () => {
    buildMarkedCopy();
    const r = runCli(['serve', '--port', '0', '--trace', 'none'], { WSINSPECT_CLI_DIR: dir, WSINSPECT_SHOW_RUNTIME: '1' });
    const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(r.stdout())?.[1], `listening line (stderr: ${r.stderr()})`);
    expect(r.stderr()).toContain('running compiled');
    const echoed = runCli(['connect', url, '--send', 'hello from the test', '--trace', 'jsonl', '--no-deflate'], { WSINSPECT_CLI_DIR: dir });
    expect(await echoed.exit).toBe(0);
    expect(echoed.stdout()).toContain('hello from the test');
    expect(echoed.stdout().match(/"type":"message"/g)?.length).toBe(2);
  }, 30_000);

  it('falls back to the TypeScript through tsx when a source changed after the build', async () => {
    buildMarkedCopy();
    editManifest((m) => (m.builtAt = 0)); // as if every source were edited after the build
    const r = await help();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/running src\/cli\/wsinspect\.ts through tsx: src\/\S+\.ts changed after the build/);
    expect(r.stdout.startsWith(usageStart)).toBe(true);
  }, 30_000);

  it('falls back when a source file the bundle was built from is gone', async () => {
    buildMarkedCopy();
    editManifest((m) => m.inputs.push('src/core/no-such-file.ts'));
    const r = await help();
    expect(r.stderr).toContain('src/core/no-such-file.ts is gone since the build');
    expect(r.stdout.startsWith(usageStart)).toBe(true);
  }, 30_000);

  it('falls back when there is no bundle', async () => {
    const r = await help();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no compiled CLI in');
    expect(r.stdout.startsWith(usageStart)).toBe(true);
  }, 30_000);
});
