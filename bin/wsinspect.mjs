#!/usr/bin/env node
// Starts the wsinspect CLI: the compiled bundle in out/cli/ (scripts/build-cli.mjs, run by
// `npm install` and `npm run build`) when it is newer than every source file it was built from,
// else the TypeScript itself through tsx (a development checkout with edits since the last build).
// WSINSPECT_SHOW_RUNTIME=1 says on stderr which of the two runs, and why.
// WSINSPECT_CLI_DIR=DIR uses the bundle in DIR instead of out/cli/ (tests).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The compiled entry if it is up to date, else why not (one cheap stat per source file). */
function compiledEntry() {
  const dir = process.env.WSINSPECT_CLI_DIR || join(root, 'out', 'cli');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return { stale: `no compiled CLI in ${dir} (npm run build makes it)` };
  }
  for (const input of manifest.inputs) {
    let mtimeMs;
    try {
      mtimeMs = statSync(join(root, input)).mtimeMs;
    } catch {
      return { stale: `${input} is gone since the build` };
    }
    if (mtimeMs > manifest.builtAt) return { stale: `${input} changed after the build` };
  }
  return { entry: join(dir, manifest.entry) };
}

const compiled = compiledEntry();
let cli;
if (compiled.entry) {
  if (process.env.WSINSPECT_SHOW_RUNTIME) process.stderr.write(`wsinspect: running compiled ${compiled.entry}\n`);
  cli = await import(pathToFileURL(compiled.entry).href);
} else {
  if (process.env.WSINSPECT_SHOW_RUNTIME) process.stderr.write(`wsinspect: running src/cli/wsinspect.ts through tsx: ${compiled.stale}\n`);
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/wsinspect.ts');
}
const { main, installProcessGuards } = cli;
installProcessGuards();
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Let pending writes flush (stdout into a pipe is asynchronous: a large --trace jsonl may still be
// queued, and exiting now would cut it), then leave even if a stray handle stays open.
process.stdout.write('', () => setTimeout(() => process.exit(code), 50).unref());
