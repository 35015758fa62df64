/**
 * Electronegativity (Doyensec's scanner for Electron misconfigurations and security
 * anti-patterns) on the app: src/main, src/preload and src/renderer/index.html scanned together
 * (its global checks, such as navigation limits, look across files), and the built app in out/
 * when it is there (`npm test` builds before vitest). Fails on any HIGH severity finding and
 * prints every finding. It runs offline: see support/electronegativity-run.cjs.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runner = fileURLToPath(new URL('./support/electronegativity-run.cjs', import.meta.url));
const stage = mkdtempSync(join(tmpdir(), 'electronegativity-'));
afterAll(() => rmSync(stage, { recursive: true, force: true }));

interface Finding {
  id: string;
  severity: 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL';
  confidence: string;
  file: string;
  line: number;
  column: number;
  sample?: string;
  description: string;
  manualReview: boolean;
}
interface Result {
  globalChecks: number;
  atomicChecks: number;
  issues: Finding[];
  errors: Array<{ file: string; message: string }>;
}

/** The Electron version the app is built for (checks depend on its defaults). */
function electronVersion(): string {
  const installed = join(root, 'node_modules/electron/package.json');
  if (existsSync(installed)) return (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
  return (pkg.optionalDependencies?.['electron'] ?? '45.0.0').replace(/^[\^~]/, '');
}

function scan(input: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, input, electronVersion()], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('ELECTRONEGATIVITY_RESULT '));
      if (code !== 0 || !line) reject(new Error(`electronegativity did not run (exit ${code}):\n${out}\n${err}`));
      else resolve(JSON.parse(line.slice('ELECTRONEGATIVITY_RESULT '.length)) as Result);
    });
  });
}

function print(title: string, result: Result): void {
  const lines = result.issues.map((i) => `  ${i.severity.padEnd(13)} ${i.confidence.padEnd(9)} ${i.id}  ${i.file}:${i.line}:${i.column}  ${i.description}${i.sample ? `\n${' '.repeat(26)}${i.sample.trim().slice(0, 120)}` : ''}`);
  console.log(`[electronegativity] ${title}: ${result.globalChecks} global + ${result.atomicChecks} atomic checks, ${result.issues.length} finding(s)${result.errors.length ? `, ${result.errors.length} file(s) not parsed` : ''}\n${lines.join('\n')}`);
}

function expectNoHigh(result: Result): void {
  const high = result.issues.filter((i) => i.severity === 'HIGH');
  expect(high.map((i) => `${i.id} ${i.file}:${i.line} ${i.description}`)).toEqual([]);
}

describe('Electronegativity', () => {
  it('finds nothing of HIGH severity in src/main, src/preload and src/renderer/index.html', async () => {
    const app = join(stage, 'app');
    mkdirSync(join(app, 'src/renderer'), { recursive: true });
    cpSync(join(root, 'src/main'), join(app, 'src/main'), { recursive: true });
    cpSync(join(root, 'src/preload'), join(app, 'src/preload'), { recursive: true });
    cpSync(join(root, 'src/renderer/index.html'), join(app, 'src/renderer/index.html'));
    const result = await scan(app);
    print('src/main + src/preload + src/renderer/index.html', result);
    // Every file was understood (a parse failure would hide findings).
    expect(result.errors).toEqual([]);
    expect(result.atomicChecks).toBeGreaterThan(20);
    expectNoHigh(result);
  });

  it('finds nothing of HIGH severity in the built app (out/)', async () => {
    const out = join(root, 'out');
    if (!existsSync(join(out, 'main/index.js'))) {
      console.log('[electronegativity] out/ not scanned: there is no build (run `npm run build`, as `npm test` does, to include it).');
      return;
    }
    const result = await scan(out);
    print('out/ (built)', result);
    expectNoHigh(result);
  });

  it('does report HIGH findings on a deliberately insecure window (the scan is not vacuous)', async () => {
    const bad = join(stage, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'main.js'), [
      "const { BrowserWindow } = require('electron');",
      'const win = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false, webSecurity: false } });',
      "win.loadURL('http://example.com/');",
    ].join('\n'));
    const result = await scan(bad);
    const high = result.issues.filter((i) => i.severity === 'HIGH').map((i) => i.id);
    expect(high).toEqual(expect.arrayContaining(['CONTEXT_ISOLATION_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK']));
    expect(result.issues.map((i) => i.id)).toEqual(expect.arrayContaining(['SANDBOX_JS_CHECK', 'WEB_SECURITY_JS_CHECK']));
  });
});
