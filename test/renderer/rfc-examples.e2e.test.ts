/**
 * The RFC examples gallery in Chromium: an example opens in the byte stepper with its receiver
 * role and deflate switch, another loads into the crafter byte for byte, and one is sent to a
 * live peer as a fresh frame from our side. Screenshots at 1440×900 in .test-output/screenshots/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
let ws: WebSocket;
let id: string;
const received: string[] = [];

async function hexBytes(testId: string): Promise<string> {
  return (await page.getByTestId(testId).locator('.hex-byte').allTextContents()).join(' ').toLowerCase();
}

beforeAll(async () => {
  // permessage-deflate agreed with the ws peer, so RFC 7692's examples can be sent too.
  inspector = await startInspector({ serverDeflate: true });
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
  ws = await openWs(inspector.serverUrl);
  ws.on('message', (data) => received.push(String(data)));
  id = await inspector.newConnectionId('server');
  await page.getByTestId(`connection-${id}`).click();
});

afterAll(async () => {
  expect(inspector?.pageErrors).toEqual([]);
  ws?.terminate();
  await inspector?.close();
});

describe('RFC examples gallery', () => {
  it('opens §7.2.3.2 in the byte stepper as a client with permessage-deflate agreed, and steps both "Hello"s', async () => {
    await page.getByRole('tab', { name: 'Byte stepper', exact: true }).click();
    const gallery = page.getByTestId('rfc-examples');
    await gallery.locator('summary').click();
    await inspector.shot('rfc-examples-stepper-1440x900');
    await page.getByTestId('rfc-step-deflate-shared-window').click();
    await expect.poll(() => page.getByLabel('Bytes to step (hex)').inputValue()).toBe('c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00');
    expect(await page.getByRole('radio', { name: /a client/ }).isChecked()).toBe(true);
    expect(await page.getByTestId('stepper-deflate').isChecked()).toBe(true);
    await expect.poll(() => page.getByText('RFC 7692 §7.2.3.2: Two "Hello"s sharing the LZ77 window').count()).toBeGreaterThan(0);
    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('16 / 16 bytes fed');
    const frames = await page.getByTestId('stepped-frames').textContent();
    expect(frames?.match(/inflated: .?Hello/g)?.length).toBe(2);

    await inspector.shot('rfc-examples-stepped-1440x900');
    await gallery.locator('summary').click();
    await page.getByTestId('rfc-step-masked-hello').click();
    await expect.poll(() => page.getByLabel('Bytes to step (hex)').inputValue()).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    expect(await page.getByRole('radio', { name: /a server/ }).isChecked()).toBe(true);
    expect(await page.getByTestId('stepper-deflate').isChecked()).toBe(false);
  });

  it('loads §5.7\'s masked "Hello" into the crafter byte for byte, and sends "Hel" + "lo" to the peer unmasked (we are the server)', async () => {
    await page.getByRole('tab', { name: 'Crafter', exact: true }).click();
    await page.getByTestId('rfc-examples').locator('summary').click();
    await page.getByTestId('rfc-load-masked-hello-1').click();
    await expect.poll(() => hexBytes('craft-preview')).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    await page.getByTestId('rfc-examples').locator('summary').click();
    await page.getByTestId('rfc-load-fragmented-hello-2').click();
    await expect.poll(() => hexBytes('craft-preview')).toBe('80 02 6c 6f');
    await inspector.shot('rfc-examples-crafter-1440x900');

    await page.getByTestId('rfc-examples').locator('summary').click();
    await page.getByTestId('rfc-send-fragmented-hello').click();
    await expect.poll(() => page.getByTestId('rfc-send-result').textContent()).toContain('unmasked as a server must');
    await expect.poll(() => received).toEqual(['Hello']);
  });

  it('shows §7.2.3.6 with what is the RFC\'s and what is ours, and sends its DEFLATE bytes to the peer, which inflates "Hello"', async () => {
    const gallery = page.getByTestId('rfc-examples');
    // Still open after the last test's Send (only opening an example folds it).
    if (!(await gallery.evaluate((el) => (el as unknown as { open: boolean }).open))) await gallery.locator('summary').click();
    const row = page.getByTestId('rfc-example-deflate-empty-fragment');
    expect(await row.textContent()).toContain('RFC 7692 §7.2.3.6');
    expect(await row.textContent()).toContain('41 0b f2 48 cd c9 c9 07 00 00 00 ff ff / 80 01 00');
    expect(await page.getByTestId('rfc-note-deflate-empty-fragment').textContent()).toContain('The RFC gives the last fragment\'s payload, 00; the frame before it is ours');
    await row.scrollIntoViewIfNeeded();
    await inspector.shot('rfc-examples-deflate-1440x900');
    await page.getByTestId('rfc-send-deflate-empty-fragment').click();
    await expect.poll(() => page.getByTestId('rfc-send-result').textContent()).toContain('the RFC\'s DEFLATE bytes');
    await expect.poll(() => received).toEqual(['Hello', 'Hello']);
    await page.setViewportSize({ width: 1024, height: 700 });
    await row.scrollIntoViewIfNeeded();
    await inspector.shot('rfc-examples-deflate-1024x700');
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
