/**
 * Chromium through the forward proxy (--proxy-server): a page loaded through it opens
 * new WebSocket('ws://127.0.0.1:PORT/'), to a ws (npm) echo server; the proxy relays the
 * conversation and traces both legs. Chromium bypasses the proxy for loopback by default;
 * --proxy-bypass-list=<-loopback> removes that rule.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { ForwardProxy, type ForwardProxyEvent } from '../../../src/core/forward-proxy/forward-proxy.ts';
import { relayUpgrade } from '../../../src/core/forward-proxy/relay-upgrade.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { launchChromium } from '../../support/chromium.ts';

const page = (wsPort: number) => `<!doctype html><title>loading</title><script>
  const ws = new WebSocket('ws://127.0.0.1:${wsPort}/chat?room=1');
  ws.onopen = () => ws.send('hello through the proxy');
  ws.onmessage = (e) => { document.title = 'echo: ' + e.data; ws.close(1000, 'done'); };
  ws.onerror = () => { document.title = 'error'; };
</script>`;

describe('Chromium through the forward proxy', () => {
  let browser: Browser;
  let proxy: ForwardProxy;
  let httpServer: ReturnType<typeof createHttpServer>;
  let wss: WsServer;
  const events: ForwardProxyEvent[] = [];
  const trace: TraceEvent[] = [];
  const tracer = new Tracer();
  tracer.subscribe((e) => trace.push(e));

  beforeAll(async () => {
    httpServer = createHttpServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page((httpServer.address() as AddressInfo).port));
    });
    wss = new WsServer({ server: httpServer });
    wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    proxy = new ForwardProxy({
      port: 0, onEvent: (e) => events.push(e),
      onWebSocket: (upgrade) => relayUpgrade(upgrade, { tracer }),
    });
    const { port } = await proxy.listen();
    browser = await launchChromium([`--proxy-server=http://127.0.0.1:${port}`, '--proxy-bypass-list=<-loopback>']);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    wss?.close();
    httpServer?.closeAllConnections();
    await new Promise<void>((r) => (httpServer ? httpServer.close(() => r()) : r()));
  });

  it('loads the page through the proxy, and the WebSocket echo comes back, traced on both legs', async () => {
    const tab = await browser.newPage();
    const serverPort = (httpServer.address() as AddressInfo).port;
    await tab.goto(`http://127.0.0.1:${serverPort}/`);
    await tab.waitForFunction("document.title !== 'loading'", undefined, { timeout: 10_000 });
    expect(await tab.title()).toBe('echo: hello through the proxy');
    await tab.close();
    // The page itself: one plain HTTP exchange, listed.
    const pageLoad = events.find((e) => e.type === 'http' && e.exchange.url === `http://127.0.0.1:${serverPort}/`);
    expect(pageLoad?.type === 'http' && pageLoad.exchange.status).toBe(200);
    // The WebSocket: handed to the relay.
    const upgrade = events.find((e) => e.type === 'websocket');
    expect(upgrade).toMatchObject({ url: `ws://127.0.0.1:${serverPort}/chat?room=1`, relayed: true });
    const id = upgrade!.id;
    await expect.poll(() => trace.filter((e) => e.type === 'connection-closed').map((e) => e.connectionId).sort(), { timeout: 5000 }).toEqual([id, `${id}-upstream`]);
    // Both legs did the opening handshake (RFC 6455 §4): the browser's with the proxy, the proxy's with the server.
    for (const leg of [id, `${id}-upstream`]) {
      expect(trace.some((e) => e.connectionId === leg && e.type === 'handshake'), `handshake on ${leg}`).toBe(true);
    }
    const texts = (leg: string, direction: 'in' | 'out') => trace.filter((e) => e.connectionId === leg && e.type === 'message' && e.direction === direction).map((e) => (e as { text?: string }).text);
    // Browser → proxy → server, and the echo back: four messages, two per leg.
    expect(texts(id, 'in')).toEqual(['hello through the proxy']);
    expect(texts(`${id}-upstream`, 'out')).toEqual(['hello through the proxy']);
    expect(texts(`${id}-upstream`, 'in')).toEqual(['hello through the proxy']);
    expect(texts(id, 'out')).toEqual(['hello through the proxy']);
    // The browser's frames were masked (§5.3), ours to it are not: each leg's own bytes.
    const frames = trace.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.frame.opcode === 1);
    expect(frames.find((f) => f.connectionId === id && f.direction === 'in')?.frame.masked).toBe(true);
    expect(frames.find((f) => f.connectionId === id && f.direction === 'out')?.frame.masked).toBe(false);
    // The Close went through with its code (§7.1.2).
    const closes = trace.filter((e) => e.type === 'frame' && e.frame.opcode === 8).map((e) => e.type === 'frame' && e.frame.close?.code);
    expect(closes).toContain(1000);
  }, 30_000);
});

describe('Chromium through the forward proxy with TLS interception', () => {
  it('an https:// page and its wss:// WebSocket are intercepted; Chromium accepts our certificates by the CA\'s SPKI hash', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createServer: createHttpsServer } = await import('node:https');
    const { createCertificate } = await import('../../../src/core/net/certificates.ts');
    const { authorityFiles, createAuthority, describeAuthority, LeafMinter } = await import('../../../src/core/net/certificate-authority.ts');
    const { createInterceptor } = await import('../../../src/core/forward-proxy/tls-interception.ts');
    const dir = mkdtempSync(join(tmpdir(), 'wsinspect-chromium-ca-'));
    const files = authorityFiles(dir);
    const authority = await createAuthority(files);
    const spki = describeAuthority(authority.cert, files).spkiSha256;
    // The origin: https + wss with a certificate from its own CA, which the proxy trusts (--ca).
    const originCa = await createCertificate({ commonName: 'origin CA', ca: true });
    const leaf = await createCertificate({ commonName: 'localhost', names: ['localhost'], issuer: originCa });
    const https = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><title>loading</title><script>
        const ws = new WebSocket('wss://localhost:' + location.port + '/secure');
        ws.onopen = () => ws.send('secret hello');
        ws.onmessage = (e) => { document.title = 'echo: ' + e.data; ws.close(1000); };
        ws.onerror = () => { document.title = 'error'; };
      </script>`);
    });
    const wss = new WsServer({ server: https });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m.toString())));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    const originPort = (https.address() as AddressInfo).port;
    const trace: TraceEvent[] = [];
    const tracer = new Tracer();
    tracer.subscribe((e) => trace.push(e));
    const events: ForwardProxyEvent[] = [];
    const proxy = new ForwardProxy({
      port: 0, onEvent: (e) => events.push(e),
      onWebSocket: (upgrade) => relayUpgrade(upgrade, { tracer }),
    });
    proxy.useInterceptor(createInterceptor(proxy, { minter: new LeafMinter(authority), upstream: { ca: [originCa.cert] } }));
    const { port } = await proxy.listen();
    const chromium = await launchChromium([`--proxy-server=http://127.0.0.1:${port}`, '--proxy-bypass-list=<-loopback>', `--ignore-certificate-errors-spki-list=${spki}`]);
    try {
      const tab = await chromium.newPage();
      await tab.goto(`https://localhost:${originPort}/`);
      await tab.waitForFunction("document.title !== 'loading'", undefined, { timeout: 10_000 });
      expect(await tab.title()).toBe('echo: secret hello');
      const page = events.find((e) => e.type === 'http' && e.exchange.url === `https://localhost:${originPort}/`);
      expect(page?.type === 'http' && page.exchange.status).toBe(200);
      const upgrade = events.find((e) => e.type === 'websocket');
      expect(upgrade).toMatchObject({ url: `wss://localhost:${originPort}/secure`, intercepted: true, relayed: true });
      const texts = trace.filter((e) => e.type === 'message').map((e) => `${e.connectionId.endsWith('-upstream') ? 'upstream' : 'client'} ${e.type === 'message' && e.direction} ${(e as { text?: string }).text}`);
      expect(texts).toEqual(expect.arrayContaining(['client in secret hello', 'upstream out secret hello', 'upstream in secret hello', 'client out secret hello']));
    } finally {
      await chromium.close();
      await proxy.close();
      wss.close();
      https.closeAllConnections();
      https.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
