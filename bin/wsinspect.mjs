#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx wsinspect` works right after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { main, installProcessGuards } = await import('../src/cli/wsinspect.ts');
installProcessGuards();
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Let pending writes flush (stdout into a pipe is asynchronous: a large --trace jsonl may still be
// queued, and exiting now would cut it), then leave even if a stray handle stays open.
process.stdout.write('', () => setTimeout(() => process.exit(code), 50).unref());
