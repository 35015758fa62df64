/**
 * Issue 13, "a large pcapng opens streaming, with a progress bar, without freezing the UI", end
 * to end in Chromium through the web host: a generated capture of 40,000 frames (about 44 MB, 20
 * conversations) is uploaded and opened; the progress bar advances through the reading (bytes and
 * frames loaded growing) while the first conversations' frames are already listed, and the page
 * answers the person meanwhile (a tab switch takes effect while the bar is still there); the open
 * is paced to the page, so no frame of it is folded. With the frame list set to keep 10k, no more
 * than 10,000 frames are loaded (the page sends its ring size with the upload). A second
 * open is cancelled from the bar: reading stops and the recording goes. No timing is asserted:
 * speed and pauses are bench:capture's (BENCHMARKS.md, "Opening captures").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesiseCapture } from '../../scripts/bench-capture.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

// Run in the page (page.evaluate), where the DOM is; this file is typed for node.
interface PageElement { querySelector(selector: string): (PageElement & { value: number; hasAttribute(name: string): boolean; textContent: string | null }) | null }
declare const document: PageElement;
declare function requestAnimationFrame(callback: () => void): number;

const FRAMES = 40_000;
let inspector: Inspector;
let page: Page;
let dir = '';
let capture = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-large-recording-e2e-'));
  capture = join(dir, 'large.pcapng');
  synthesiseCapture(capture, FRAMES);
  inspector = await startInspector({ service: { configDir: join(dir, 'config') } });
  page = inspector.page;
}, 120_000);

afterAll(async () => {
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const notice = () => page.locator('.notice span').first().textContent();

/** What the progress bar shows, sampled in the page every animation frame until it goes. */
async function watchProgressBar(): Promise<void> {
  await page.evaluate(() => {
    const samples: Array<{ label: string; value: number | null }> = [];
    (globalThis as unknown as { progressSamples: typeof samples }).progressSamples = samples;
    const sample = () => {
      const bar = document.querySelector('[data-testid=open-progress]');
      if (bar) {
        const progress = bar.querySelector('progress')!;
        const label = bar.querySelector('.open-progress-label')!.textContent ?? '';
        const value = progress.hasAttribute('value') ? progress.value : null;
        const last = samples.at(-1);
        if (!last || last.label !== label || last.value !== value) samples.push({ label, value });
      }
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
}

describe('a large capture in the app', () => {
  it('opens streaming: the progress bar advances while frames are already listed, and the page answers meanwhile', async () => {
    await watchProgressBar();
    await page.getByTestId('open-recording-input').setInputFiles(capture);
    const bar = page.getByTestId('open-progress');
    // Reading: frames already loaded (the first conversations replayed) while bytes are still to read.
    await expect.poll(() => bar.textContent(), { timeout: 60_000 }).toMatch(/^Reading large\.pcapng: [\d.]+ MiB of [\d.]+ MiB · [\d,]+ frames?/);
    await page.getByTestId('recordings-section').waitFor();
    // The page answers while the file is still being opened: the Ladder tab opens, then Frames again.
    await page.getByRole('tab', { name: 'Ladder' }).click();
    await page.getByTestId('ladder').waitFor();
    const stillOpening = await bar.isVisible();
    await page.getByRole('tab', { name: 'Frames' }).click();
    await expect.poll(notice, { timeout: 120_000 }).toBe(`Opened large.pcapng: 20 connections, ${FRAMES} frames, read-only.`);
    expect(stillOpening, 'the Ladder tab opened while the progress bar was still shown').toBe(true);
    await expect.poll(() => bar.count()).toBe(0);

    const samples = await page.evaluate(() => (globalThis as unknown as { progressSamples: Array<{ label: string; value: number | null }> }).progressSamples);
    const reading = samples.filter((s) => s.label.startsWith('Reading large.pcapng:') && s.value !== null);
    // The bar advanced in several steps, never back, and the frames loaded grew while it did.
    expect(reading.length, JSON.stringify(samples.slice(0, 20))).toBeGreaterThanOrEqual(3);
    const values = reading.map((s) => s.value!);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values[0]!).toBeLessThan(1);
    const frames = reading.map((s) => Number(/· ([\d,]+) frame/.exec(s.label)?.[1]?.replaceAll(',', '') ?? 0));
    expect(new Set(frames.filter((n) => n > 0)).size).toBeGreaterThanOrEqual(2);
    expect(reading.some((s, i) => s.value! < 1 && frames[i]! > 0)).toBe(true);
    // Every conversation listed as a read-only recording.
    const prefix = inspector.host.service.getStatus().recordings!.at(-1)!.prefix;
    await expect.poll(() => page.getByTestId(`recording-${prefix}`).locator('[data-testid^="connection-rec"]').count()).toBe(20);
    // Paced to the page (it acknowledges its batches): every frame reached it, none folded.
    expect(inspector.host.streamStats().map((s) => s.foldedFrames)).toEqual([0]);
    await expect.poll(() => page.getByText(/frames folded/).count()).toBe(0);
    await inspector.shot('large-recording-opened');
  }, 240_000);

  it('no more frames are loaded than the frame list keeps (keep 10k): cut there, and said', async () => {
    await page.getByLabel('Frames kept').selectOption('10000');
    await page.getByTestId('open-recording-input').setInputFiles(capture);
    await expect.poll(notice, { timeout: 120_000 }).toBe('Opened large.pcapng: 6 connections, 10000 frames, read-only.');
    const recording = inspector.host.service.getStatus().recordings!.at(-1)!;
    // Five conversations whole, and the sixth's handshake with the note saying where it is cut.
    expect(recording).toMatchObject({ frames: 10_000, connections: 6, error: null });
    await page.getByLabel('Frames kept').selectOption('150000');
    expect(await inspector.host.service.closeRecording(recording.prefix)).toEqual({ ok: true });
  }, 240_000);

  it('cancel on the progress bar stops reading and closes the recording', async () => {
    await page.getByTestId('open-recording-input').setInputFiles(capture);
    const bar = page.getByTestId('open-progress');
    await expect.poll(() => bar.textContent(), { timeout: 60_000 }).toMatch(/· [\d,]+ frames?/);
    await inspector.shot('large-recording-progress');
    await bar.getByRole('button', { name: 'cancel' }).click();
    await expect.poll(notice, { timeout: 60_000 }).toBe('large.pcapng was closed before it was read to the end.');
    await expect.poll(() => bar.count()).toBe(0);
    // Only the first open is left.
    expect(inspector.host.service.getStatus().recordings).toHaveLength(1);
  }, 240_000);
});
