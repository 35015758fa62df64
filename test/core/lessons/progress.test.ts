import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProgress, parseProgress, progressPath, saveProgress } from '../../../src/core/lessons/progress.ts';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const scratch = () => { const d = mkdtempSync(join(tmpdir(), 'learn-progress-')); dirs.push(d); return d; };

describe('lesson progress file', () => {
  it('lives in the config directory', () => {
    expect(progressPath({ XDG_CONFIG_HOME: '/x/cfg' })).toMatch(/^\/x\/cfg\/websocket-inspector\/learn-progress\.json$/);
  });

  it('round-trips, written atomically with mode 0600', () => {
    const path = join(scratch(), 'sub', 'p.json');
    expect(saveProgress({ handshake: { stepsDone: 2, checkPassed: true } }, path)).toBe(true);
    expect(loadProgress(path)).toEqual({ handshake: { stepsDone: 2, checkPassed: true } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps only known lessons and sane values from a hostile file', () => {
    expect(parseProgress('{"handshake": {"stepsDone": 99, "checkPassed": "yes"}, "nope": {"stepsDone": 1}, "__proto__": {"stepsDone": 1}}'))
      .toEqual({ handshake: { stepsDone: 2, checkPassed: false } });
    expect(parseProgress('{"masking": {"stepsDone": -3}}')).toEqual({ masking: { stepsDone: 0, checkPassed: false } });
    expect(parseProgress('{"masking": {"stepsDone": 1.5}}')).toEqual({});
    expect(parseProgress('not json')).toEqual({});
    expect(parseProgress('[1,2]')).toEqual({});
    expect(parseProgress('null')).toEqual({});
    expect(parseProgress(' '.repeat(70_000) + '{}')).toEqual({});
  });

  it('a missing or unreadable file is no progress, not an error', () => {
    const dir = scratch();
    expect(loadProgress(join(dir, 'absent.json'))).toEqual({});
    expect(loadProgress(dir)).toEqual({});
    writeFileSync(join(dir, 'bad.json'), '\u0000\u0001');
    expect(loadProgress(join(dir, 'bad.json'))).toEqual({});
  });

  it('saving where it cannot write says false instead of throwing', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'file'), 'x');
    expect(saveProgress({}, join(dir, 'file', 'p.json'))).toBe(false);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('x');
  });
});
