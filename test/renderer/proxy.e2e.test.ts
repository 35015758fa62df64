/**
 * Proxy mode end to end (issue 12), in Debian's Chromium against the web host: the proxy started
 * from the server bar towards a ws (npm) echo server, Chromium's own WebSocket as the client;
 * both legs listed as one conversation, a frame paired with its copy (one click to jump), the
 * ladder with three lanes and the closing handshake, and a frame held on the upstream leg and
 * edited in the debugger arriving edited at the server. Screenshots: .test-output/screenshots/60-….
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';

let inspector: Inspector;
let upstream: Upstream;
let page: Page;
let peer: Page;
let proxyUrl: string;

const status = () => inspector.host.service.getStatus();
const legs = () => status().connections.filter((c) => c.proxyLeg);

async function openTab(id: string, tab: 'Frames' | 'Ladder' | 'Debugger'): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: tab, exact: false }).first().click();
}

beforeAll(async () => {
  upstream = await wsUpstream();
  inspector = await startInspector();
  page = inspector.page;
  peer = await inspector.browser.newPage();
  await peer.goto(inspector.peerPageUrl);
  // The inspector's page in front: in the background it acknowledges its batches late, and the
  // service then folds frames for it (service/frame-folding.ts), so a frame looked for is not listed.
  await page.bringToFront();
}, 60_000);

afterAll(async () => {
  await inspector?.close();
  await upstream?.close();
});

describe('proxy mode in the app', () => {
  it('starts from the server bar with a Host/Origin rewrite and relays Chromium to a ws server', async () => {
    await page.getByTestId('proxy-mode-toggle').click();
    await page.getByLabel('Proxy listen URL').fill('ws://127.0.0.1:0/');
    await page.getByLabel('Proxy target URL').fill(upstream.url);
    await page.getByLabel('Origin rewrite').selectOption('replace');
    await page.getByLabel('Origin sent upstream').fill('http://rewritten.test');
    await page.getByLabel('deflate on the server leg').uncheck();
    await page.getByTestId('proxy-start').click();
    await expect.poll(() => page.getByTestId('proxy-status').textContent()).toContain('proxying');
    expect(await page.getByTestId('proxy-status').textContent()).toContain('Origin → http://rewritten.test');
    proxyUrl = status().proxy!.url!;
    expect(proxyUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);

    const echoed = await peer.evaluate(`new Promise((resolve, reject) => {
      window.ws = new WebSocket(${JSON.stringify(proxyUrl)});
      window.ws.onerror = () => reject(new Error('the WebSocket failed'));
      window.ws.onopen = () => window.ws.send('hello through the proxy');
      window.ws.onmessage = (e) => resolve(String(e.data));
    })`);
    expect(echoed).toBe('hello through the proxy');
    expect(upstream.requests[0]!.headers.origin).toBe('http://rewritten.test');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['hello through the proxy']);
    // Chromium offered permessage-deflate and the client leg agreed it; the server leg has none.
    expect(upstream.extensions[0]).toBe('');

    // Both legs, one conversation in the list.
    await expect.poll(() => legs().length).toBe(2);
    const client = legs().find((c) => c.proxyLeg!.side === 'client')!;
    const conversation = page.getByTestId(`conversation-${client.id}`);
    await conversation.waitFor();
    expect(await conversation.locator('button.connection').count()).toBe(2);
    expect(await conversation.textContent()).toContain(upstream.url);
    await inspector.shot('60-proxy-conversation');
  });

  it('pairs a frame from the client with its copy to the server, with the delay, and jumps to it', async () => {
    const client = legs().find((c) => c.proxyLeg!.side === 'client')!;
    const up = legs().find((c) => c.proxyLeg!.side === 'upstream')!;
    await openTab(client.id, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in', { hasText: 'hello through the proxy' }).click();
    const pairing = page.getByTestId('frame-pairing');
    await expect.poll(() => pairing.textContent()).toMatch(/This frame from the client became frame #\d+ to the server, .+ later/);
    expect(await page.getByTestId('pairing-delay').textContent()).toMatch(/^\d+(\.\d+)? (µs|ms)$/);
    await inspector.shot('61-frame-pairing');
    await page.getByTestId('pairing-jump').click();
    // Now on the upstream leg: the copy, naming its original.
    await expect.poll(() => page.getByTestId(`connection-${up.id}`).getAttribute('class')).toContain('selected');
    await expect.poll(() => pairing.textContent()).toMatch(/This frame to the server is the proxy's copy of frame #\d+ from the client/);
    expect(await page.getByTestId('anatomy').textContent()).toContain('hello through the proxy');
  });

  it('a frame held on the upstream leg, edited in the debugger, arrives edited at the server and comes back edited', async () => {
    const up = legs().find((c) => c.proxyLeg!.side === 'upstream')!;
    await openTab(up.id, 'Debugger');
    expect(await page.getByTestId('proxy-leg-banner').textContent()).toMatch(/proxy ⇄ server leg .* go to the server/);
    await page.getByTestId('step-mode-switch').click();
    await expect.poll(() => status().connections.find((c) => c.id === up.id)?.gate?.stepMode).toBe(true);
    const back = peer.evaluate(`new Promise((resolve) => { window.ws.onmessage = (e) => resolve(String(e.data)); window.ws.send('the original text'); })`) as Promise<string>;
    await expect.poll(() => page.getByTestId('held-frame').count()).toBe(1);
    await page.getByLabel('Payload (text)').fill('EDITED in the proxy');
    await page.getByTestId('apply-edit').click();
    await page.getByTestId('edited-marker').waitFor();
    await inspector.shot('62-proxy-debugger-edit');
    await page.getByTestId('release-held').click();
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => upstream.messages.length).toBe(2);
    expect(upstream.messages[1]!.data.toString()).toBe('EDITED in the proxy');
    expect(await back).toBe('EDITED in the proxy');
  });

  it('draws the ladder with three lanes, the handshakes, the messages and the closing handshake on both legs', async () => {
    const client = legs().find((c) => c.proxyLeg!.side === 'client')!;
    await peer.evaluate(`new Promise((resolve) => { window.ws.onclose = (e) => resolve(e.code); window.ws.close(1000, 'done'); })`);
    await expect.poll(() => legs().every((c) => c.state === 'CLOSED')).toBe(true);
    await openTab(client.id, 'Ladder');
    const ladder = page.getByTestId('ladder');
    await ladder.waitFor();
    for (const lane of ['client', 'proxy', 'server']) expect(await page.getByTestId(`ladder-lane-${lane}`).count()).toBe(1);
    const labels = await ladder.getByTestId('ladder-row').allTextContents();
    expect(labels.filter((l) => l.includes('GET /'))).toHaveLength(2);
    expect(labels.filter((l) => l.includes('101 Switching Protocols'))).toHaveLength(2);
    // Each message crossed four times: client → proxy → server, and the echo back.
    expect(labels.filter((l) => l.includes('"hello through the prox'))).toHaveLength(4);
    // The closing handshake: a Close each way on each leg.
    expect(labels.filter((l) => l.includes('Close 1000'))).toHaveLength(4);
    expect(labels.filter((l) => l.includes('TCP closed'))).toHaveLength(2);
    await inspector.shot('63-proxy-ladder');
    for (const [width, height] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width, height });
      await inspector.shot(`64-proxy-ladder-${width}x${height}`);
    }
    await openTab(client.id, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in', { hasText: 'hello through the proxy' }).click();
    await page.getByTestId('frame-pairing').waitFor();
    for (const [width, height] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width, height });
      await inspector.shot(`65-proxy-pairing-${width}x${height}`);
    }
    expect(inspector.pageErrors).toEqual([]);
  });

  it('draws a direct connection with two lanes', async () => {
    const before = new Set(status().connections.map((c) => c.id));
    await peer.evaluate(`new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(inspector.serverUrl)}); ws.onopen = () => ws.send('direct'); ws.onmessage = () => { ws.onclose = () => resolve(); ws.close(1000); }; })`);
    const id = status().connections.find((c) => !before.has(c.id) && c.role === 'server')!.id;
    await expect.poll(() => status().connections.find((c) => c.id === id)?.state).toBe('CLOSED');
    await openTab(id, 'Ladder');
    expect(await page.getByTestId('ladder-lane-proxy').count()).toBe(0);
    const labels = await page.getByTestId('ladder').getByTestId('ladder-row').allTextContents();
    expect(labels.filter((l) => l.includes('Close 1000'))).toHaveLength(2);
    expect(labels.filter((l) => l.includes('"direct"'))).toHaveLength(2);
  });

  it('folds a long conversation: its start and its end drawn, the middle one click away', async () => {
    const before = new Set(status().connections.map((c) => c.id));
    await peer.evaluate(`new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(inspector.serverUrl)}); let n = 0;
      ws.onopen = () => { for (let i = 0; i < 400; i++) ws.send('m' + i); };
      ws.onmessage = () => { if (++n === 400) resolve(); }; })`);
    const id = status().connections.find((c) => !before.has(c.id) && c.role === 'server')!.id;
    await openTab(id, 'Ladder');
    const fold = page.getByTestId('ladder-fold');
    await expect.poll(() => fold.textContent()).toMatch(/50[02] more arrows folded/);
    expect(await page.getByTestId('ladder').getByTestId('ladder-row').count()).toBe(300);
    await fold.click();
    expect(await page.getByTestId('ladder').getByTestId('ladder-row').count()).toBe(800);
  });

  it('runs as a forward proxy: a second Chromium configured with --proxy-server is inspected without changing its URL', async () => {
    await page.getByTestId('proxy-stop').click();
    await expect.poll(() => status().proxy?.running).toBe(false);
    await page.getByLabel('Proxy kind').selectOption('forward');
    await page.getByLabel('Forward proxy address').fill('http://127.0.0.1:0');
    await page.getByTestId('proxy-start').click();
    await expect.poll(() => page.getByTestId('proxy-status').textContent()).toContain('forward proxy');
    const forwardUrl = status().proxy!.url!;
    const before = new Set(status().connections.map((c) => c.id));
    const other = await launchChromium([`--proxy-server=${forwardUrl}`, '--proxy-bypass-list=<-loopback>']);
    try {
      const tab = await other.newPage();
      await tab.goto(inspector.peerPageUrl);
      const echoed = await tab.evaluate(`new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(upstream.url)}); ws.onopen = () => ws.send('forwarded'); ws.onmessage = (e) => resolve(String(e.data)); })`);
      expect(echoed).toBe('forwarded');
    } finally {
      await other.close();
    }
    const client = await (async () => {
      for (let i = 0; i < 200; i++) {
        const found = status().connections.find((c) => !before.has(c.id) && c.proxyLeg?.side === 'client');
        if (found) return found;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no forwarded conversation');
    })();
    await page.getByTestId(`conversation-${client.id}`).waitFor();
    await page.getByTestId('forward-help').locator('summary').click();
    expect(await page.getByTestId('forward-recent').textContent()).toContain(`GET ${inspector.peerPageUrl} → 200`);
    await inspector.shot('66-forward-proxy');
  });
});
