/**
 * Runs Electronegativity (@doyensec/electronegativity) on one input, offline, and prints its
 * findings as one JSON line after a marker. Used by test/main/electronegativity.test.ts.
 *
 *   node electronegativity-run.cjs <input dir or file> <electron version>
 *
 * Electronegativity fetches two things over the network as it runs: translations of its
 * messages (at start-up) and Electron's release list (for AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK).
 * Neither is needed to check this code, and this machine has no network, so `got` is replaced
 * by a stub that fails at once: no request leaves the process, and the messages stay English.
 * The release check (AvailableSecurityFixesGlobalCheck) is excluded (it needs that list; `npm audit` covers outdated Electron).
 */
'use strict';
const Module = require('node:module');

const offline = () => Promise.reject(new Error('offline: electronegativity-run.cjs blocks network access'));
offline.head = offline;
offline.get = offline;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'got') return offline;
  return load.call(this, request, parent, isMain);
};

const [input, electronVersion] = process.argv.slice(2);
const run = require('@doyensec/electronegativity');

(run.default || run)({
  input,
  output: undefined,
  isSarif: false,
  customScan: [],
  excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
  severitySet: undefined,
  confidenceSet: undefined,
  isRelative: true,
  isVerbose: true,
  electronUpgrade: undefined,
  electronVersionOverride: electronVersion,
  parserPlugins: [],
}, false).then((result) => {
  const issues = result.issues.map((i) => ({
    id: i.id, severity: i.severity.name, confidence: i.confidence.name, file: i.file,
    line: i.location.line, column: i.location.column, sample: i.sample, description: i.description, manualReview: Boolean(i.manualReview),
  }));
  const errors = result.errors.map((e) => ({ file: e.file, message: String(e.message || e.error || e).slice(0, 300), tolerable: e.tolerable }));
  process.stdout.write(`\nELECTRONEGATIVITY_RESULT ${JSON.stringify({ globalChecks: result.globalChecks, atomicChecks: result.atomicChecks, issues, errors })}\n`);
}, (error) => {
  process.stderr.write(`electronegativity failed: ${error && error.stack ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
