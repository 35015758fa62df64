// Prints "N passed, N failed" (and skipped, if any) from vitest's JSON report.
// A missing report means the run stopped before the tests (e.g. the typecheck failed): one failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.test-output/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log(`no test report at ${file}: the run stopped before the tests finished`);
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const passed = report.numPassedTests ?? 0;
// A test file that failed without a failed test in it (it did not load, or a hook failed) counts as one failure.
// (numFailedTestSuites cannot be used for this: it counts describe blocks too.)
const failed = (report.numFailedTests ?? 0) + filesFailedWithoutFailedTests(report);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);

function filesFailedWithoutFailedTests(r) {
  return (r.testResults ?? []).filter((file) => file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')).length;
}
