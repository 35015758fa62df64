// postinstall: make sure the `electron` package (its types and package.json) is present.
//
// Electron is an optional dependency whose own install step downloads the Electron binary from
// outside the npm registry. Where that download cannot happen, npm drops the whole package,
// and with it the types the main process is checked against and the version electron-vite
// builds for. In that case this fetches the same version from the npm registry without running
// its download, so typecheck, build and tests still work; only `npm start` needs the binary.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();
const target = join(root, 'node_modules', 'electron');
if (existsSync(join(target, 'package.json'))) process.exit(0);

let version;
try {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  version = lock.packages?.['node_modules/electron']?.version;
} catch {
  // no lockfile: fall back to the range in package.json
}
if (!version) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  version = pkg.optionalDependencies?.electron ?? pkg.devDependencies?.electron;
}
if (!version) process.exit(0);

console.log(`electron: its binary could not be installed here; fetching electron@${version} without the binary (types and build only; \`npm start\` needs the binary).`);
const work = mkdtempSync(join(tmpdir(), 'electron-pkg-'));
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const file = execFileSync(npm, ['pack', `electron@${version}`, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, file), '-C', target, '--strip-components=1']);
} catch (error) {
  console.log(`electron: could not fetch the package (${error.message.split('\n')[0]}); the main process typecheck will fail.`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
