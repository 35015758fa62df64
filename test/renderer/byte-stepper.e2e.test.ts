/**
 * The byte stepper in Chromium with more bytes than one call feeds (issue 10 §6): "To the end"
 * goes there in several short calls, the counts are the totals while the lists hold the newest,
 * and more than 1 MiB is refused in plain words. WSI_RENDERER_DIR may point at another build.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ByteStepLimits } from '../../src/core/byte-step-types.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { startWebHost, type WebHost } from '../../src/host/web-host.ts';
import { launchChromium } from '../support/chromium.ts';
import { openWs } from '../support/inspector-harness.ts';

const rendererDir = process.env['WSI_RENDERER_DIR'] ?? fileURLToPath(new URL('../../out/renderer', import.meta.url));
let host: WebHost;
let browser: Browser;
let page: Page;
let ws: WebSocket;
const pageErrors: string[] = [];

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const masked = (opcode: number, payload: Uint8Array) => encodeFrame({ opcode, payload, maskKey: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) });

beforeAll(async () => {
  host = await startWebHost({ rendererDir });
  const started = await host.service.startServer({ port: 0 });
  if (!started.ok) throw new Error(started.error);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(host.url);
  await page.getByTestId('server-status').getByText(started.url).waitFor();
  ws = await openWs(started.url);
  const id = await (async () => {
    for (let i = 0; i < 200; i++) {
      const c = host.service.getStatus().connections.find((s) => s.role === 'server');
      if (c) return c.id;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no connection appeared');
  })();
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Byte stepper', exact: false }).first().click();
});

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  ws?.terminate();
  await browser?.close();
  await host?.close();
});

describe('the byte stepper with a large input', () => {
  it('"To the end" feeds 100 frames past one call\'s limits, and lists the newest', async () => {
    // 99 binary frames of 1,000 bytes and a text frame: ~100 KiB, more than one call feeds.
    const frames = [...Array.from({ length: 99 }, () => masked(2, new Uint8Array(1000).fill(7))), masked(1, new TextEncoder().encode('Hello'))];
    const input = Buffer.concat(frames);
    expect(input.length).toBeGreaterThan(ByteStepLimits.maxFeedPerCall);
    await page.getByLabel('Bytes to step (hex)').fill(toHex(input));
    await page.getByTestId('byte-step-start').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`0 / ${input.length} bytes fed`);
    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent(), { timeout: 15_000 }).toBe(`${input.length} / ${input.length} bytes fed`);
    expect(await page.getByTestId('step-description').textContent()).toBe('waiting for a new frame');
    // The count is the total; the list holds the newest ByteStepLimits.framesShown, numbered as such.
    expect(await page.locator('.stepper-grid h3', { hasText: 'Frames decoded' }).textContent()).toContain('100');
    expect(await page.getByTestId('stepped-frames').locator('li').count()).toBe(ByteStepLimits.framesShown);
    expect(await page.getByTestId('stepped-frames').getAttribute('start')).toBe(String(100 - ByteStepLimits.framesShown + 1));
    expect(await page.getByTestId('stepped-frames').locator('li').last().textContent()).toContain('Hello');
    expect(await page.getByTestId('step-log').textContent()).toContain('message complete: "Hello"');
    // The last frame's anatomy comes from the input itself: the text frame, complete.
    expect(await page.getByRole('heading', { name: 'Frame 100, complete', exact: true }).count()).toBe(1);
  });

  it('bytes loaded while "To the end" is still feeding the earlier ones stay on screen', async () => {
    // "To the end" feeds a large input in several calls. Its second call is held here until other
    // bytes (the RFC's masked "Hello") have been loaded: its answer, for the earlier session, must
    // not put that session back on screen.
    const input = Buffer.concat(Array.from({ length: 100 }, () => masked(2, new Uint8Array(1000).fill(9))));
    expect(input.length).toBeGreaterThan(ByteStepLimits.maxFeedPerCall);
    await page.getByLabel('Bytes to step (hex)').fill(toHex(input));
    await page.getByTestId('byte-step-start').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`0 / ${input.length} bytes fed`);
    let feeds = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isFeed = (url: URL) => url.pathname === '/api/byteStepFeed';
    await page.route(isFeed, async (route) => {
      if (++feeds === 2) await released;
      await route.continue();
    });
    try {
      await page.getByTestId('feed-all').click();
      await expect.poll(() => feeds).toBe(2);
      const hello = '81 85 37 fa 21 3d 7f 9f 4d 51 58';
      await page.getByLabel('Bytes to step (hex)').fill(hello);
      await page.getByTestId('byte-step-start').click();
      await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('0 / 11 bytes fed');
      const heldAnswer = page.waitForResponse((response) => isFeed(new URL(response.url())));
      release();
      await (await heldAnswer).finished();
      // Past the page's handling of that answer (a few tasks), with room for a slow machine.
      await page.waitForTimeout(300);
      expect(await page.getByTestId('step-progress').textContent()).toBe('0 / 11 bytes fed');
      // And the new bytes step as usual.
      await page.getByTestId('feed-all').click();
      await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('11 / 11 bytes fed');
    } finally {
      release();
      await page.unroute(isFeed);
    }
  });

  it('more than 1 MiB is refused in plain words', async () => {
    await page.getByLabel('Bytes to step (hex)').fill('00'.repeat(ByteStepLimits.maxInput + 1));
    await page.getByTestId('byte-step-start').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/at most 1048576 bytes \(1 MiB\)/);
  });
});
