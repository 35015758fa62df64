/**
 * Truthful traces (issue 14), end to end in Chromium: what the frame list and the anatomy show
 * of frames the parser refused, frames cut for display, Close frames and binary fragments.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { holdFirstRequest } from '../support/hold-request.ts';
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

  it('searching frames over 64 KiB: an older search\'s late answer does not replace the newer one\'s matches', async () => {
    // The words are past the 64 KiB the page keeps of each frame: only the service's search of the
    // full bytes finds them. The first search's answer is held until after the second's.
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send(`${'x'.repeat(70_000)} needle-xyz`);
    await echoed;
    await selectConnection(id);
    const rows = page.locator('[data-testid=frame-row]');
    await expect.poll(() => rows.count()).toBe(2);
    const held = await holdFirstRequest(page, '/api/searchCutFrames');
    try {
      const search = page.getByLabel('Search', { exact: true });
      await search.fill('needle-x');
      await expect.poll(() => held.counts.asked).toBe(1);
      await search.fill('needle-xyz');
      await expect.poll(() => held.counts.answered).toBe(1); // the second search's answer
      await expect.poll(() => rows.count()).toBe(2);
      held.release();
      await expect.poll(() => held.counts.answered).toBe(2); // the first's, late
      // Two animation frames: the late answer, had it been taken, is applied and painted by then.
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      expect(await rows.count()).toBe(2);
    } finally {
      await held.stop();
      await page.getByLabel('Search', { exact: true }).fill('');
      ws.close();
    }
  });

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

describe('a leading U+FEFF (EF BB BF) is data, shown as it came (§5.6: a text message is UTF-8, a BOM is a character of it)', () => {
  it('a text message and a close reason starting with it: the list preview, the payload view and the close-reason field', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    for (const message of ['\uFEFFhi', '\uFEFF{"a":1}']) {
      const echoed = new Promise((resolve) => ws.once('message', resolve));
      ws.send(Buffer.from(message), { binary: false });
      await echoed;
    }
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, '\uFEFFbye');
    await closed;
    await selectConnection(id);
    const textRow = (hasText: string) => page.locator('[data-testid=frame-row].dir-in').filter({ has: page.locator('.c-op', { hasText: 'text' }), hasText }).first();
    await textRow('hi').waitFor();
    expect(await textRow('hi').locator('.c-preview').textContent()).toBe('\uFEFFhi');
    await textRow('hi').click();
    expect(await page.getByTestId('payload-text').textContent()).toBe('\uFEFFhi');
    // The JSON view still reads a JSON text after a BOM (RFC 8259 §8.1 lets a parser ignore it).
    await textRow('{"a":1}').click();
    expect(await page.getByTestId('payload-text').textContent()).toBe('\uFEFF{"a":1}');
    const json = page.locator('.payload-view button.subtab', { hasText: 'json' });
    expect(await json.isEnabled()).toBe(true);
    await json.click();
    expect(await page.getByTestId('payload-text').textContent()).toBe('{\n  "a": 1\n}');
    await page.locator('[data-testid=frame-row].dir-in').filter({ has: page.locator('.c-op', { hasText: 'close' }) }).first().click();
    expect(await page.getByTestId('anatomy').locator('[data-field-row=close-reason] td').nth(2).textContent()).toBe('"\uFEFFbye" (6 bytes)');
  });

  it('an upstream\'s refusal body passed back by the proxy: the handshake view shows the body with its BOM', async () => {
    // The upstream refuses with a UTF-8 body that starts with EF BB BF.
    const body = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('denied')]);
    const upstream = createServer((socket) => {
      socket.on('error', () => {});
      let head = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        head = Buffer.concat([head, d]);
        if (!head.includes('\r\n\r\n')) return;
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const service = inspector.host.service;
    try {
      const started = await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}/` });
      if (!started.ok) throw new Error(started.error);
      const client = new WebSocket(started.url);
      const status = await new Promise<number>((resolve, reject) => {
        client.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        client.once('open', () => reject(new Error('the proxy accepted the upgrade')));
        client.once('error', () => {});
      });
      expect(status).toBe(403);
      let leg: string | undefined;
      await expect.poll(() => (leg = service.getStatus().connections.find((c) => c.proxyLeg?.side === 'client')?.id)).toBeDefined();
      await page.getByTestId(`connection-${leg}`).click();
      await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
      const response = page.getByTestId('head-response');
      await response.waitFor();
      expect(await response.locator('pre.payload').textContent()).toBe('\uFEFFdenied');
    } finally {
      await service.stopProxy();
      upstream.close();
    }
  });
});
