/**
 * Issue 14, "Composer and crafter", end to end in Chromium through the web host, against the ws
 * package as the peer: binary as hex, base64 or a file (the peer gets exactly those bytes); JSON
 * checked, with the error's line and column, pretty-printed and sent; a history that sends again;
 * any close code, with a warning where the RFC forbids it (1005, §7.4.1), sent all the same so
 * the peer's reaction shows (ws fails the connection with 1002); a disabled Send looks disabled.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;

/** A ws client whose messages queue up for the test to take, in order. */
async function peer(): Promise<{ ws: WebSocket; id: string; next: () => Promise<{ data: Buffer; binary: boolean }> }> {
  const ws = await openWs(inspector.serverUrl);
  const queue: Array<{ data: Buffer; binary: boolean }> = [];
  const waiting: Array<(m: { data: Buffer; binary: boolean }) => void> = [];
  ws.on('message', (data: Buffer, binary: boolean) => {
    const m = { data, binary };
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const id = await inspector.newConnectionId();
  return { ws, id, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r))) };
}

const composer = () => page.locator('.composer');
const kindTab = (name: string) => composer().getByRole('tab', { name, exact: true });
const sendButton = () => composer().getByTestId('send');

describe('issue 14: composer', () => {
  let p: Awaited<ReturnType<typeof peer>>;

  beforeAll(async () => {
    inspector = await startInspector();
    page = inspector.page;
    // The server's own echo would answer the client's frames; the peer here only listens.
    await inspector.host.service.setServerApp('manual');
    p = await peer();
    await page.getByTestId(`connection-${p.id}`).click();
  });

  it('sends binary typed as hex, as base64, and read from a file, byte for byte', async () => {
    await kindTab('Binary').click();
    await composer().getByLabel('Binary payload (hex)').fill('0x00 01 fe ff');
    expect(await composer().getByTestId('binary-size').textContent()).toBe('4 bytes');
    await sendButton().click();
    expect([...(await p.next()).data]).toEqual([0x00, 0x01, 0xfe, 0xff]);

    await composer().getByTestId('binary-format-base64').check();
    await composer().getByLabel('Binary payload (base64)').fill('AAEC/w');
    expect(await composer().getByTestId('binary-size').textContent()).toBe('4 bytes');
    await sendButton().click();
    const fromBase64 = await p.next();
    expect(fromBase64.binary).toBe(true);
    expect([...fromBase64.data]).toEqual([0x00, 0x01, 0x02, 0xff]);
    await composer().getByLabel('Binary payload (base64)').fill('AAE*');
    expect(await composer().getByTestId('binary-size').textContent()).toContain('Base64: only A-Z');

    const file = randomBytes(70_000);
    await composer().getByTestId('binary-format-file').check();
    await composer().getByTestId('binary-file').setInputFiles({ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: file });
    await composer().getByTestId('binary-size').getByText('70,000 bytes').waitFor();
    await sendButton().click();
    expect(Buffer.compare((await p.next()).data, file)).toBe(0);
  });

  it('checks JSON (line and column of the error), pretty-prints it and sends it', async () => {
    await kindTab('Text').click();
    const box = composer().getByLabel('Message text');
    await box.fill('{"orderId": 7,\n "items": [1, 2],}');
    expect(await composer().getByTestId('json-verdict').textContent()).toMatch(/^✗ not JSON: .* at line 2, column 18$/);
    await box.fill('{"orderId": 7, "items": [1, 2]}');
    expect(await composer().getByTestId('json-verdict').textContent()).toBe('✓ valid JSON');
    await composer().getByRole('button', { name: 'Pretty-print' }).click();
    const pretty = JSON.stringify({ orderId: 7, items: [1, 2] }, null, 2);
    expect(await box.inputValue()).toBe(pretty);
    await sendButton().click();
    expect((await p.next()).data.toString('utf8')).toBe(pretty);
    await inspector.shot('issue14-composer-json');
  });

  it('keeps a history of what was sent, and sends an entry again', async () => {
    const lines = await composer().locator('.history-line').allTextContents();
    expect(lines[0]).toMatch(/^text "\{/);
    // The 70,000-byte file is past the history's payload bound (HISTORY_PAYLOAD_CHARS): not kept.
    expect(lines.slice(1)).toEqual(['binary 4 bytes 000102ff', 'binary 4 bytes 0001feff']);
    // Again: the second-newest, the 4 bytes from base64.
    await composer().getByTestId('resend').nth(1).click();
    expect([...(await p.next()).data]).toEqual([0x00, 0x01, 0x02, 0xff]);
    await expect.poll(() => composer().locator('.history-line').first().textContent()).toBe('binary 4 bytes 000102ff');
  });

  it('sends any close code, warning where the RFC forbids it on the wire; the peer fails with 1002', async () => {
    await kindTab('Close').click();
    await composer().getByLabel('Close code').fill('4000');
    expect(await composer().getByTestId('close-code-warning').count()).toBe(0);
    await composer().getByLabel('Close code').fill('1005');
    expect(await composer().getByTestId('close-code-warning').textContent()).toContain('The RFC forbids 1005 on the wire (§7.4.1)');
    await inspector.shot('issue14-composer-close-1005');
    const failed = new Promise<string>((resolve) => p.ws.once('error', (e) => resolve(e.message)));
    const closed = new Promise<number>((resolve) => p.ws.once('close', (code) => resolve(code)));
    await sendButton().click();
    expect(await failed).toContain('invalid status code 1005');
    // ws fails the connection with 1002 (§7.4.1) and reports 1006 locally: TCP went without its Close reaching it in full.
    expect([1002, 1006]).toContain(await closed);
    await composer().getByText('The connection is CLOSED; nothing can be sent.').waitFor();
    const detail = inspector.host.service.getStatus().connections.find((c) => c.id === p.id)?.detail ?? '';
    expect(detail).toMatch(/^1002/);
  });

  afterAll(async () => {
    expect(inspector?.pageErrors ?? []).toEqual([]);
    await inspector?.close();
  });

  it('shows the crafted frame\'s TCP writes and the peer\'s reaction beside the crafter', async () => {
    const second = await peer();
    const failed = new Promise<string>((resolve) => second.ws.once('error', (e) => resolve(e.message)));
    await page.getByTestId(`connection-${second.id}`).click();
    await page.getByRole('tab', { name: 'Crafter', exact: true }).click();
    await page.getByRole('button', { name: 'Reserved opcode 0x3' }).click();
    await page.getByLabel('Write sizes').fill('1,1');
    await page.getByTestId('craft-send').click();
    expect(await failed).toMatch(/invalid opcode 3/i);
    const reaction = page.getByTestId('craft-reaction');
    // "what am I?" is 10 bytes: 2 header bytes, cut 1 + 1, then the payload in one write.
    await reaction.getByTestId('craft-writes').getByText('3 TCP writes, 1 + 1 + 10 bytes').waitFor();
    await reaction.getByTestId('craft-reply').getByText('← Close 1002').waitFor();
    expect(await reaction.getByTestId('craft-closed').textContent()).toMatch(/^connection closed: 1002/);
    await inspector.shot('issue14-craft-reaction');
  });

  it('shows a disabled Send as disabled: not the primary blue', async () => {
    await composer().getByText('The connection is CLOSED; nothing can be sent.').waitFor();
    expect(await sendButton().isDisabled()).toBe(true);
    const background = await sendButton().evaluate((el) => getComputedStyle(el as never).backgroundColor);
    expect(background).not.toBe('rgb(31, 111, 235)');
  });
});

declare function getComputedStyle(el: unknown): { backgroundColor: string };
