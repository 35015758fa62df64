/**
 * Issue 13's screenshots: a recording open in the app (a pcapng made by our export of a session
 * with every frame type), a frame selected with "Copy as", the sidebar's recordings and saved
 * work, at 1440x900 and 1024x700. Run alone, or from scripts/screenshots.ts:
 *
 *   npx electron-vite build && node --import tsx scripts/screenshots-sessions.ts [OUT_DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordingToPcapng } from '../src/core/capture/export-pcapng.ts';
import { readSessionFile } from '../src/core/capture/session-file.ts';
import { SAVED_WORK_FORMAT } from '../src/shared/saved-work.ts';
import { recordEveryFrameType } from '../test/core/capture/session-fixture.ts';
import { startInspector, type Inspector } from '../test/support/inspector-harness.ts';

const sizes = [{ width: 1440, height: 900 }, { width: 1024, height: 700 }] as const;

export async function sessionShots(inspector: Inspector, outDir: string): Promise<void> {
  const { page, host } = inspector;
  const dir = mkdtempSync(join(tmpdir(), 'wsi-session-shots-'));
  try {
    const { file } = await recordEveryFrameType(dir);
    const capture = join(dir, 'chat-session.pcapng');
    writeFileSync(capture, recordingToPcapng(readSessionFile(file).recording));
    host.service.setSavedWork({
      format: SAVED_WORK_FORMAT, version: 1,
      connections: [{ name: 'local echo', url: inspector.serverUrl, subprotocols: [], headers: [], ca: [], insecure: false }, { name: 'staging feed', url: 'wss://staging.example.test/feed', subprotocols: ['v2.feed'], headers: ['Authorization: Bearer …'], ca: [], insecure: false }],
      sequences: [{ name: 'subscribe, then ping', steps: [{ kind: 'text', text: '{"op":"subscribe","topic":"prices"}' }, { kind: 'wait', ms: 500 }, { kind: 'ping', text: 'still there?' }] }],
    });
    await page.reload();
    await page.getByTestId('open-recording-input').setInputFiles(capture);
    await page.getByTestId('recordings-section').waitFor();
    await page.getByTestId('recordings-section').locator('[data-testid^="connection-rec"]').first().click();
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.getByTestId('timeline-mode').selectOption('frames');
    await page.locator('[data-testid=frame-row]', { hasText: 'fragmented from' }).first().click();
    for (const size of sizes) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      await page.screenshot({ path: `${outDir}/recording-${size.width}x${size.height}.png` });
    }
    // The sidebar's saved work: two connections, a sequence, the sequence editor open.
    await page.getByTestId('saved-sequences').getByText('subscribe, then ping').click();
    for (const size of sizes) {
      await page.setViewportSize(size);
      await page.getByTestId('saved-work').scrollIntoViewIfNeeded();
      await page.waitForTimeout(200);
      await page.screenshot({ path: `${outDir}/saved-work-${size.width}x${size.height}.png` });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../docs/screenshots', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const configDir = mkdtempSync(join(tmpdir(), 'wsi-session-shots-config-'));
  const inspector = await startInspector({ service: { configDir } });
  try {
    await sessionShots(inspector, outDir);
  } finally {
    await inspector.close();
    rmSync(configDir, { recursive: true, force: true });
  }
  console.log(`screenshots in ${outDir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
