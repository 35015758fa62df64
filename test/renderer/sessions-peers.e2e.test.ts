/**
 * Issue 14, "Sessions and peers", end to end in Chromium through the web host: a conformance
 * run against the embedded server is listed as its own collapsed group and does not push the
 * person's connections out (the service keeps only 3 closed ones here, so without separate
 * budgets the battery's would evict them); closed connections can be removed, one or all;
 * each peer shows its path, user agent, subprotocol, extensions, opening time and duration; the
 * embedded server takes subprotocols from the server bar, and Chromium offering one the server
 * does not speak gets a warning instead of a green "accepted" (and Chromium closes with 1006).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;

beforeAll(async () => {
  inspector = await startInspector({ service: { keepClosedConnections: 3 } });
  page = inspector.page;
});

afterAll(async () => {
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
});

function openWsWith(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const listed = (id: string) => page.getByTestId(`connection-${id}`);

declare function getComputedStyle(el: unknown): { color: string };

describe('issue 14: sessions and peers', () => {
  let openId: string;
  let closedId: string;
  let open: WebSocket;

  beforeAll(async () => {
    open = await openWsWith(`${inspector.serverUrl}chat?room=7`, { 'User-Agent': 'test-agent/1.0 (issue 14)' });
    openId = await inspector.newConnectionId();
    const closing = await openWsWith(`${inspector.serverUrl}gone`, { 'User-Agent': 'closer/2.5' });
    closedId = await inspector.newConnectionId();
    closing.close(1000, 'bye');
    await listed(closedId).getByText('CLOSED', { exact: true }).waitFor();
  });

  afterAll(() => open.terminate());

  it('lists a conformance run apart, collapsed, without evicting the person\'s connections', async () => {
    await page.getByTestId('conformance-tab').click();
    await page.getByTestId('conformance-mode-server').click();
    await page.getByLabel('Server URL to test').fill('');
    await page.getByLabel('Case filter').fill('1.1.1, 1.1.2, 1.1.3, 1.1.4, 1.1.5, 1.1.6');
    await page.getByTestId('conformance-run').click();
    await page.getByTestId('conformance-progress').getByText('6 of 6 cases · finished').waitFor({ timeout: 30_000 });

    const group = page.getByTestId('battery-peers');
    // 6 battery peers, 3 kept closed: their own budget.
    await group.locator('summary').getByText('conformance run (3)').waitFor();
    expect(await group.evaluate((el) => (el as unknown as { open: boolean }).open)).toBe(false);
    // The person's two connections are still listed, outside the group, and still in the service.
    await listed(openId).waitFor();
    await listed(closedId).waitFor();
    expect(await group.locator(`[data-testid="connection-${closedId}"]`).count()).toBe(0);
    expect(inspector.host.service.getStatus().connections.map((c) => c.id)).toEqual(expect.arrayContaining([openId, closedId]));
    const battery = inspector.host.service.getStatus().connections.filter((c) => c.conformance);
    expect(battery).toHaveLength(3);
    await group.locator('summary').click();
    await listed(battery[0]!.id).waitFor();
    await inspector.shot('issue14-battery-group');
  });

  it('shows each peer\'s path, user agent, subprotocol, extensions, opening time and duration', async () => {
    expect(await page.getByTestId(`peer-facts-${openId}`).textContent()).toMatch(/^\/chat\?room=7 · test-agent 1\.0 · opened \d\d:\d\d:\d\d$/);
    expect(await page.getByTestId(`peer-facts-${closedId}`).textContent()).toMatch(/^\/gone · closer 2\.5 · opened \d\d:\d\d:\d\d · lasted \d+(\.\d)? m?s$/);
    await listed(openId).click();
    await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
    const fact = (name: string) => page.getByTestId(`peer-fact-${name}`).textContent();
    expect(await fact('path')).toBe('/chat?room=7');
    expect(await fact('user-agent')).toBe('test-agent/1.0 (issue 14)');
    expect(await fact('subprotocol')).toBe('none');
    expect(await fact('extensions')).toBe('none');
    expect(await fact('opened')).toMatch(/\d\d:\d\d:\d\d/);
    expect(await fact('duration')).toMatch(/ so far$/);
    await inspector.shot('issue14-peer-facts');
  });

  it('gives our server\'s response the same ✓/✗ checks as the request (§4.1 items 1-4, 6)', async () => {
    await listed(openId).click();
    await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
    const response = page.getByTestId('head-response');
    for (const header of ['upgrade', 'connection', 'sec-websocket-accept']) {
      expect(await response.locator(`[data-header="${header}"] .mark.ok`).count(), header).toBe(1);
    }
    expect(await response.locator('.head-line.start .mark.ok').count()).toBe(1);
    expect(await response.locator('.mark.bad').count()).toBe(0);
  });

  it('colours each masking-key byte apart in the XOR table', async () => {
    open.send('abcdefgh');
    await listed(openId).click();
    await page.getByRole('tab', { name: 'Frames', exact: true }).click();
    await page.locator('[data-testid=frame-row]').filter({ hasText: 'abcdefgh' }).first().click();
    const colours = await page.getByTestId('xor-table').locator('.xor-col:not(.head) [class*="key-"]').evaluateAll(
      (cells) => cells.map((c) => getComputedStyle(c).color),
    );
    expect(colours).toHaveLength(8);
    expect(new Set(colours.slice(0, 4)).size).toBe(4);
    expect(colours.slice(4)).toEqual(colours.slice(0, 4));
    const keyColours = await page.getByTestId('mask-key-bytes').locator('span').evaluateAll((spans) => spans.map((s) => getComputedStyle(s).color));
    expect(keyColours).toEqual(colours.slice(0, 4));
    await inspector.shot('issue14-xor-colours');
  });

  it('removes one closed connection, then every closed one of the battery', async () => {
    await page.getByTestId(`remove-${closedId}`).click();
    await listed(closedId).waitFor({ state: 'detached' });
    expect(inspector.host.service.getStatus().connections.some((c) => c.id === closedId)).toBe(false);
    // An open connection has no remove button.
    expect(await page.getByTestId(`remove-${openId}`).count()).toBe(0);
    await page.getByTestId('remove-closed-battery').click();
    await page.getByTestId('battery-peers').waitFor({ state: 'detached' });
    expect(inspector.host.service.getStatus().connections.filter((c) => c.conformance)).toHaveLength(0);
    await listed(openId).waitFor();
  });

  it('warns when Chromium offered a subprotocol the server did not choose, and the server bar gives it one', async () => {
    const peer = await inspector.browser.newPage();
    await peer.goto(inspector.peerPageUrl);
    const code = await peer.evaluate(`new Promise((resolve) => {
      const ws = new WebSocket(${JSON.stringify(inspector.serverUrl)}, ['chat']);
      ws.addEventListener('close', (e) => resolve(e.code));
    })`);
    expect(code).toBe(1006);
    const failedId = await inspector.newConnectionId();
    await listed(failedId).click();
    await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
    const verdict = page.getByTestId('handshake-verdict');
    expect(await verdict.textContent()).toContain('the client offered chat and our server chose none');
    expect(await verdict.textContent()).not.toContain('✓');
    expect(await page.getByTestId('subprotocol-warning').textContent()).toContain('This client is a browser: browsers fail such a connection (the WHATWG WebSocket standard; Chromium then closes with 1006)');
    await inspector.shot('issue14-subprotocol-warning');

    // The server bar: stop, give it "chat", start again on the same port.
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByLabel('Server subprotocols').fill('chat, superchat');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-subprotocols').getByText('chat, superchat').waitFor();
    const url = inspector.host.service.getStatus().server.url!;
    const protocol = await peer.evaluate(`new Promise((resolve, reject) => {
      const ws = new WebSocket(${JSON.stringify(url)}, ['superchat', 'chat']);
      ws.addEventListener('open', () => resolve(ws.protocol));
      ws.addEventListener('close', (e) => reject(new Error('closed ' + e.code)));
    })`);
    expect(['chat', 'superchat']).toContain(protocol);
    const acceptedId = await inspector.newConnectionId();
    await listed(acceptedId).click();
    await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
    expect(await page.getByTestId('handshake-verdict').textContent()).toMatch(new RegExp(`^✓ Handshake accepted: 101 Switching Protocols, subprotocol ${protocol as string}[,.]`));
    expect(await page.getByTestId('peer-fact-subprotocol').textContent()).toBe(protocol);
    expect(await page.getByTestId('subprotocol-warning').count()).toBe(0);
    await peer.close();
  });

  it('refuses a subprotocol that is not a token, in one line', async () => {
    const result = await inspector.host.service.startServer({ subprotocols: ['bad name'] });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('is not a valid subprotocol');
  });
});
