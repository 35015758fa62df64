/**
 * Truthful traces (issue 14), end to end in Chromium: what the frame list and the anatomy show
 * of frames the parser refused, frames cut for display, Close frames and binary fragments.
 */
import type { Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawClient, openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
let serverUrl: string;
const newConnectionId = (role?: 'server' | 'client') => inspector.newConnectionId(role);

async function selectConnection(id: string): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Frames' }).click();
}

/** A raw TCP client past the opening handshake, and its connection's id. */
async function rawClient(): Promise<{ socket: Socket; id: string }> {
  const { socket } = await openRawClient(serverUrl);
  return { socket, id: await newConnectionId() };
}

beforeAll(async () => {
  inspector = await startInspector();
  ({ page, serverUrl } = inspector);
});

afterAll(async () => {
  await inspector?.close();
});

describe('truthful traces in Chromium', () => {
  it('a 64-bit length with its top bit set shows its real length and masking key', async () => {
    const { socket, id } = await rawClient();
    socket.write(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05, 0x37, 0xfa, 0x21, 0x3d, 0x01, 0x02]));
    await selectConnection(id);
    const row = page.locator('[data-testid=frame-row].dir-in');
    await row.first().waitFor();
    expect(await row.first().locator('.c-len').textContent()).toBe('9223372036854775813');
    await row.first().click();
    expect(await page.getByTestId('anatomy').locator('h2').textContent()).toContain('9223372036854775813 byte payload');
    expect(await page.locator('[data-field-row=masking-key] td.mono').nth(1).textContent()).toBe('37 fa 21 3d');
    expect(await page.getByTestId('violation').textContent()).toContain('WS_ERR_LENGTH_MSB_SET');
    socket.destroy();
  });

  it('"Byte-step this frame" on a frame over 64 KiB steps its full bytes, not the copy cut for display', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send(new Uint8Array(100_000).fill(0x41), { binary: true });
    await echoed;
    await selectConnection(id);
    await page.locator('[data-testid=frame-row].dir-in').first().click();
    await page.getByTestId('truncated').waitFor();
    await page.getByTestId('byte-step-frame').click();
    // Masked client frame: 2 + 8 (64-bit length) + 4 (key) + 100,000 bytes.
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('0 / 100014 bytes fed');
    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent(), { timeout: 20_000 }).toBe('100014 / 100014 bytes fed');
    expect(await page.getByTestId('step-description').textContent()).toBe('waiting for a new frame');
    ws.close();
  }, 40_000);

  it("a binary message's continuation frames are binary: hex in the list and the payload view", async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    ws.send(Buffer.from('ABC'), { binary: true, fin: false });
    ws.send(Buffer.from('DEF'), { binary: true, fin: true });
    await selectConnection(id);
    const continuation = page.locator('[data-testid=frame-row].dir-in').filter({ has: page.locator('.c-op', { hasText: 'continuation' }) });
    await continuation.first().waitFor();
    expect(await continuation.first().locator('.c-preview').textContent()).toBe('44 45 46');
    await continuation.first().click();
    expect(await page.getByTestId('payload-text').textContent()).toBe('44 45 46');
    ws.close();
  });

  it('a Close frame is decoded into fields in the diagram and the table: status code bytes, reason bytes', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'bye');
    await closed;
    await selectConnection(id);
    await page.locator('[data-testid=frame-row].dir-in').filter({ has: page.locator('.c-op', { hasText: 'close' }) }).first().click();
    const anatomy = page.getByTestId('anatomy');
    expect(await anatomy.locator('[data-field-row=close-code] td').allTextContents()).toEqual([
      'Status code', 'bytes 6–7', '1000 (Normal Closure)', expect.stringContaining('§5.5.1, §7.4'),
    ]);
    expect(await anatomy.locator('[data-field-row=close-reason] td').nth(2).textContent()).toBe('"bye" (3 bytes)');
    expect(await anatomy.locator('.bit-cell[data-field=close-code]').first().textContent()).toBe('status code 1000 (Normal Closure)');
    expect(await anatomy.locator('.bit-cell[data-field=close-reason]').count()).toBeGreaterThan(0);
    expect(await anatomy.locator('[data-field-row=payload]').count()).toBe(0);
  });

  it('a frame failed early (bad UTF-8) but received whole is not labelled incomplete', async () => {
    const { socket, id } = await rawClient();
    const key = [0x37, 0xfa, 0x21, 0x3d];
    const payload = [0x61, 0x62, 0xc0, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69];
    socket.write(Buffer.from([0x81, 0x80 | payload.length, ...key, ...payload.map((b, i) => b ^ key[i % 4]!)]));
    await selectConnection(id);
    const row = page.locator('[data-testid=frame-row].dir-in');
    await row.first().waitFor();
    const preview = await row.first().locator('.c-preview').textContent();
    expect(preview).not.toContain('incomplete');
    expect(preview).toContain('ab');
    expect(preview).toContain('cdefghi');
    await row.first().click();
    expect(await page.getByTestId('violation').textContent()).toContain('WS_ERR_INVALID_UTF8');
    expect(await page.getByTestId('violation').textContent()).not.toContain('never arrived whole');
    socket.destroy();
  });
});
