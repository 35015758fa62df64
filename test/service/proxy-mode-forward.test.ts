/**
 * Proxy mode's forward proxy in the inspector service (issue 12): Chromium configured with
 * --proxy-server loads a page through it and opens a WebSocket to a ws (npm) echo server; the
 * page load is listed in one line, the WebSocket is relayed as a conversation with both legs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { launchChromium } from '../support/chromium.ts';
import { eventually } from '../core/net/helpers.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';

let service: InspectorService | null = null;
let upstream: Upstream | null = null;
let browser: Browser | null = null;
let pages: Server | null = null;
afterEach(async () => {
  await browser?.close();
  await service?.dispose();
  await upstream?.close();
  await new Promise((r) => (pages ? pages.close(r) : r(null)));
  [service, upstream, browser, pages] = [null, null, null, null];
});

describe('service: forward proxy mode', () => {
  it('Chromium through it: the page load listed, its WebSocket relayed and traced as one conversation', async () => {
    upstream = await wsUpstream();
    pages = createServer((_req, res) => res.end('<!doctype html><title>through the proxy</title>'));
    await new Promise<void>((r) => pages!.listen(0, '127.0.0.1', r));
    const pagePort = (pages.address() as AddressInfo).port;
    service = new InspectorService({ batchIntervalMs: 5 });
    expect(await service.startProxy({ kind: 'forward', listen: 'ws://127.0.0.1:0/' })).toMatchObject({ ok: false, error: expect.stringMatching(/http:\/\/HOST:PORT/) });
    const started = await service.startProxy({ kind: 'forward', listen: 'http://127.0.0.1:0' });
    expect(started.ok).toBe(true);
    const proxyUrl = (started as { url: string }).url;
    expect(service.getStatus().proxy).toMatchObject({ running: true, kind: 'forward', target: null });
    // Chromium bypasses a proxy for loopback unless told not to (<-loopback>).
    browser = await launchChromium([`--proxy-server=${proxyUrl}`, '--proxy-bypass-list=<-loopback>']);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    const echoed = await page.evaluate(`new Promise((resolve, reject) => {
      const ws = new WebSocket(${JSON.stringify(upstream.url)});
      ws.onerror = () => reject(new Error('failed'));
      ws.onopen = () => ws.send('via the forward proxy');
      ws.onmessage = (e) => { resolve(String(e.data)); ws.close(1000); };
    })`);
    expect(echoed).toBe('via the forward proxy');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['via the forward proxy']);
    await eventually(() => service!.getStatus().connections.filter((c) => c.proxyLeg).length === 2, 5000, 'both legs listed');
    const legs = service.getStatus().connections.filter((c) => c.proxyLeg);
    expect(legs.map((c) => c.proxyLeg!.side).sort()).toEqual(['client', 'upstream']);
    expect(legs.find((c) => c.proxyLeg!.side === 'upstream')!.url).toContain(`127.0.0.1:${upstream.port}`);
    expect(service.getStatus().proxy!.recent).toContain(`GET http://127.0.0.1:${pagePort}/ → 200`);
    // Every leg noted was claimed by the list, each once: nothing waits to be.
    const known = (service.proxyMode as unknown as { knownLegs: Map<string, string> }).knownLegs;
    expect([...known.values()]).toEqual(['claimed', 'claimed']);
  }, 30_000);
});
