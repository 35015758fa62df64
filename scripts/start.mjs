// npm start: the desktop app through electron-vite, once Electron's binary is really there.
//
// Electron's binary comes from a download outside the npm registry that its own install step runs;
// where that download failed or was blocked, electron-vite only says "Electron uninstall" with a
// stack trace. Say instead, in plain words, what is missing and what works without it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const electronDir = join(root, 'node_modules', 'electron');

/** Where Electron's executable is (as node_modules/electron/index.js finds it), or null when it is not installed. */
function electronBinary() {
  const pathFile = join(electronDir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!existsSync(pathFile) && !override) return null;
  const executable = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const binary = join(override || join(electronDir, 'dist'), executable);
  return existsSync(binary) ? binary : null;
}

if (!electronBinary()) {
  let version = 'the version in package-lock.json';
  try {
    version = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  } catch {
    // package missing too: keep the generic wording
  }
  process.stderr.write(
    `npm start needs Electron's binary (electron ${version}), and it is not installed here: its download (from GitHub, not the npm registry) failed or was blocked when the packages were installed.\n` +
    `- Run the same inspector in your browser instead:  npm run web   (then open the address it prints)\n` +
    `- Or fetch the binary where downloads work:  node node_modules/electron/install.js   (ELECTRON_MIRROR picks another download host)\n`,
  );
  process.exit(1);
}

const bin = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'electron-vite.cmd' : 'electron-vite');
const child = spawn(bin, ['preview', ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
