// Compiles the wsinspect CLI (src/cli/wsinspect.ts and what it imports) to plain JavaScript in
// out/cli/, so bin/wsinspect.mjs starts without a TypeScript compiler (issue 17).
//
// esbuild, because it is already installed with tsx (a runtime dependency) and so is there at
// `npm install` (postinstall) as well as at `npm run build`; tsc would need the dev dependencies.
// ES modules with code splitting: the subcommands wsinspect.ts imports dynamically (proxy,
// fuzzing, capture, learn, the certificate maker) land in chunks of their own and cost nothing
// until used. npm packages stay external (node_modules is there at run time).
//
// out/cli/manifest.json lists every source file the bundle was built from and when the build
// started; bin/wsinspect.mjs runs the bundle only while none of them is newer (else it runs the
// TypeScript through tsx), so an edited checkout never runs stale compiled code.
//
// Usage: node scripts/build-cli.mjs [--outdir DIR] [--if-possible]
//   --if-possible  (postinstall) a failure is one line and exit 0: the CLI then runs through tsx.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const outdirArg = args.indexOf('--outdir');
const outdir = resolve(root, outdirArg >= 0 ? args[outdirArg + 1] : 'out/cli');
const ifPossible = args.includes('--if-possible');

const manifestName = 'manifest.json';

try {
  const { build } = await import('esbuild');
  // Taken before reading any source, so an edit made during the build marks the result stale.
  const builtAt = Date.now();
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { wsinspect: 'src/cli/wsinspect.ts' },
    outdir,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    charset: 'utf8',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(root, resolve(root, p))).sort();
  writeFileSync(join(outdir, manifestName), JSON.stringify({ entry: 'wsinspect.mjs', builtAt, inputs }, null, 1) + '\n');
  process.stdout.write(`wsinspect CLI compiled: ${relative(root, outdir)}/wsinspect.mjs from ${inputs.length} source files\n`);
} catch (error) {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`wsinspect CLI not compiled (${message}); bin/wsinspect.mjs runs the TypeScript through tsx instead\n`);
  process.exit(ifPossible ? 0 : 1);
}
