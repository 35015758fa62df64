/**
 * Smoke test of the real Electron app, through playwright's _electron. It runs where an
 * Electron binary and a display exist; elsewhere it says plainly why it did not run. The same
 * service and renderer are tested in Chromium by test/renderer/app.e2e.test.ts either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function electronBinary(): string | null {
  try {
    const relative = readFileSync(join(root, 'node_modules/electron/path.txt'), 'utf8').trim();
    const path = join(root, 'node_modules/electron/dist', relative);
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const reason = !binary
  ? 'the Electron binary is not installed (npm could not download it on this machine)'
  : process.platform === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']
    ? 'there is no display (run the tests under xvfb-run to include it)'
    : null;
if (reason) console.log(`[electron smoke test] not run: ${reason}. The renderer and service are covered in Chromium by app.e2e.test.ts.`);

describe.skipIf(reason !== null)('the Electron app', () => {
  it('opens its window with the inspector, a sandboxed renderer and the preload API', async () => {
    const app = await _electron.launch({ executablePath: binary!, args: [join(root, 'out/main/index.js')], cwd: root });
    try {
      const window = await app.firstWindow();
      await window.getByText('WebSocket Inspector').first().waitFor();
      expect(await window.evaluate('typeof window.inspector?.getStatus')).toBe('function');
      expect(await window.evaluate('typeof window.require')).toBe('undefined');
      expect(await window.evaluate('typeof window.process')).toBe('undefined');
      const status = await window.getByTestId('server-status').textContent();
      expect(status).toMatch(/listening on ws:\/\/|already in use/);
      await window.screenshot({ path: join(root, '.test-output/screenshots/electron-window.png') });
    } finally {
      await app.close();
    }
  });
});
