/**
 * Firefox ESR through the forward proxy (network.proxy.* prefs; allow_hijacking_localhost so that
 * 127.0.0.1 goes through the proxy too): its driver page, long polls and result POSTs are plain
 * HTTP through the proxy, and its WebSocket to a ws echo server is relayed and traced on both legs.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { ForwardProxy, type ForwardProxyEvent } from '../../../src/core/forward-proxy/forward-proxy.ts';
import { relayUpgrade } from '../../../src/core/forward-proxy/relay-upgrade.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { firefoxUnavailable, startFirefox, type Firefox } from '../../support/firefox.ts';

const unavailable = firefoxUnavailable();
if (unavailable) console.log(`skipping Firefox through the forward proxy: ${unavailable}`);

describe.skipIf(unavailable !== null)('Firefox through the forward proxy', () => {
  let firefox: Firefox | null = null;
  let proxy: ForwardProxy;
  let wss: WsServer;
  const events: ForwardProxyEvent[] = [];
  const trace: TraceEvent[] = [];
  const tracer = new Tracer();
  tracer.subscribe((e) => trace.push(e));

  beforeAll(async () => {
    wss = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    proxy = new ForwardProxy({
      port: 0, onEvent: (e) => events.push(e),
      onWebSocket: (upgrade) => relayUpgrade(upgrade, { tracer }),
    });
    const { port } = await proxy.listen();
    firefox = await startFirefox({
      prefs: {
        'network.proxy.type': 1, 'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': port,
        'network.proxy.ssl': '127.0.0.1', 'network.proxy.ssl_port': port, 'network.proxy.no_proxies_on': '',
        'network.proxy.allow_hijacking_localhost': true,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await firefox?.close();
    await proxy?.close();
    await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  });

  it('the WebSocket echo comes back, the conversation is traced on both legs, and the driver page was listed', async () => {
    const wsPort = (wss.address() as AddressInfo).port;
    const result = await firefox!.run({ url: `ws://127.0.0.1:${wsPort}/ff`, messages: [{ text: 'firefox via the proxy' }], close: { code: 1000, reason: 'bye' } });
    expect(result.opened).toBe(true);
    expect(result.received).toEqual([{ text: 'firefox via the proxy' }]);
    expect(result.close).toMatchObject({ code: 1000, reason: 'bye', wasClean: true });
    const upgrade = events.find((e) => e.type === 'websocket');
    expect(upgrade).toMatchObject({ url: `ws://127.0.0.1:${wsPort}/ff`, relayed: true });
    // The driver page itself came through the proxy as plain HTTP.
    expect(events.some((e) => e.type === 'http' && e.exchange.status === 200 && e.exchange.url.endsWith('/next'))).toBe(true);
    const id = upgrade!.id;
    const texts = trace.filter((e) => e.type === 'message').map((e) => `${e.connectionId === id ? 'client' : e.connectionId === `${id}-upstream` ? 'upstream' : '?'} ${e.type === 'message' && e.direction} ${(e as { text?: string }).text}`);
    expect(texts).toEqual(expect.arrayContaining(['client in firefox via the proxy', 'upstream out firefox via the proxy', 'upstream in firefox via the proxy', 'client out firefox via the proxy']));
  }, 60_000);
});
