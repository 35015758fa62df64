/** scripts/test-summary.mjs: the "N passed, N failed" line .ci/run ends with, counted from vitest's JSON report. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/test-summary.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function summary(report: unknown | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'summary-'));
  dirs.push(dir);
  const file = join(dir, 'vitest.json');
  if (report !== null) writeFileSync(file, JSON.stringify(report));
  return execFileSync(process.execPath, [script, file], { encoding: 'utf8' }).trim().split('\n').pop()!;
}

describe('test summary line', () => {
  it('counts each failed test once, however deep in describe blocks it sits', () => {
    expect(summary({
      numPassedTests: 10, numFailedTests: 2, numFailedTestSuites: 4, numPendingTests: 1,
      testResults: [
        { name: 'a.test.ts', status: 'failed', assertionResults: [{ status: 'failed' }, { status: 'passed' }] },
        { name: 'b.test.ts', status: 'failed', assertionResults: [{ status: 'failed' }] },
      ],
    })).toBe('10 passed, 2 failed, 1 skipped');
  });

  it('a file that failed to load (no failed test in it) is one failure', () => {
    expect(summary({ numPassedTests: 3, numFailedTests: 0, numFailedTestSuites: 1, testResults: [{ name: 'c.test.ts', status: 'failed', assertionResults: [] }] }))
      .toBe('3 passed, 1 failed');
  });

  it('no report: the run stopped before the tests, one failure', () => {
    expect(summary(null)).toBe('0 passed, 1 failed');
  });
});
