/** `npm start` (scripts/start.mjs): a plain message when Electron's binary is missing, electron-vite preview when it is there. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('npm start', () => {
  it('without Electron\'s binary: says so in plain words, points to npm run web, exit 1, no stack trace', () => {
    const run = spawnSync(process.execPath, [script], { cwd: root, env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^npm start needs Electron's binary \(electron \d+\.\d+\.\d+\), and it is not installed here/);
    expect(run.stderr).toContain('npm run web');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('with the binary: runs electron-vite preview with the arguments given', () => {
    const fake = mkdtempSync(join(tmpdir(), 'start-'));
    dirs.push(fake);
    mkdirSync(join(fake, 'node_modules', 'electron', 'dist'), { recursive: true });
    mkdirSync(join(fake, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(fake, 'node_modules', 'electron', 'path.txt'), 'electron');
    writeFileSync(join(fake, 'node_modules', 'electron', 'dist', 'electron'), '');
    writeFileSync(join(fake, 'node_modules', '.bin', 'electron-vite'), '#!/bin/sh\necho "electron-vite $*"\nexit 3\n');
    chmodSync(join(fake, 'node_modules', '.bin', 'electron-vite'), 0o755);
    const env = { ...process.env };
    delete env['ELECTRON_OVERRIDE_DIST_PATH'];
    const run = spawnSync(process.execPath, [script, '--sourcemap'], { cwd: fake, env, encoding: 'utf8' });
    expect(run.stdout).toBe('electron-vite preview --sourcemap\n');
    expect(run.status).toBe(3);
  });
});
