/**
 * Real peers around the reverse proxy for its tests: the proxy itself (with a trace), and a `ws`
 * upstream (plain or TLS) that echoes and records what it was sent.
 */

import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import type { CertificatePair } from '../../../src/core/net/certificates.ts';
import { ReverseProxy, type ReverseProxyOptions } from '../../../src/core/proxy/reverse-proxy.ts';
import { TraceLog } from '../../../src/core/trace-log.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { eventually } from '../net/helpers.ts';

export interface StartedProxy {
  proxy: ReverseProxy;
  url: string;
  /** Every trace event so far (keep 'rows': read back from the TraceLog). */
  events: TraceEvent[];
  /** keep 'rows': the TraceLog the tracer's rows go to. */
  log: TraceLog | null;
  /** Trace events of one connection id. */
  of(connectionId: string): TraceEvent[];
  /** Every socket of every conversation freed (client and upstream). */
  allFreed(ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Closes what a test started (either may be null). */
export async function closeAll(proxy: StartedProxy | null, upstream: Upstream | null): Promise<void> {
  await proxy?.close();
  await upstream?.close();
}

/**
 * keep: 'objects' (default) keeps the trace as event objects (tracer.subscribe); 'rows' in a
 * TraceLog subscribed with subscribeRows, so frames and messages are traced as rows (no objects).
 */
export async function startProxy(options: Omit<ReverseProxyOptions, 'host' | 'port'> & { port?: number; keep?: 'objects' | 'rows' }): Promise<StartedProxy> {
  const { keep = 'objects', ...proxyOptions } = options;
  const tracer = new Tracer();
  const objects: TraceEvent[] = [];
  const log = keep === 'rows' ? new TraceLog() : null;
  if (log) tracer.subscribeRows(log);
  else tracer.subscribe((e) => objects.push(e));
  const events = () => (log ? log.toArray() : objects);
  const proxy = new ReverseProxy({ host: '127.0.0.1', port: 0, closeTimeoutMs: 1000, handshakeTimeoutMs: 3000, ...proxyOptions, tracer });
  const { url } = await proxy.listen();
  return {
    proxy, url, log,
    get events() {
      return events();
    },
    of: (id) => events().filter((e) => e.connectionId === id),
    allFreed: async (ms = 5000) => {
      let clients = -1;
      await eventually(() => {
        void proxy.clientSocketCount().then((n) => (clients = n));
        return clients === 0 && proxy.upstreamSocketCount() === 0 && proxy.conversations.size === 0;
      }, ms, `every proxied socket to be freed (clients ${clients}, upstream ${proxy.upstreamSocketCount()}, conversations ${proxy.conversations.size})`);
    },
    close: () => proxy.close(),
  };
}

export interface Upstream {
  url: string;
  port: number;
  /** The handshake requests it received, in order. */
  requests: IncomingMessage[];
  /** Its connections, in order. */
  sockets: WebSocket[];
  /** Close codes and reasons it received, per connection (in connection order). */
  closes: Array<{ code: number; reason: string }>;
  /** Messages it received: data and whether binary. */
  messages: Array<{ data: Buffer; isBinary: boolean }>;
  /** What each connection agreed (Sec-WebSocket-Extensions answered). */
  extensions: string[];
  close(): Promise<void>;
}

export interface UpstreamOptions {
  tls?: CertificatePair;
  deflate?: boolean;
  /** Subprotocol choice (default: the first offered). */
  protocol?: (offered: Set<string>) => string | false;
  /** Do not echo. */
  silent?: boolean;
  /** Header lines added to its 101 ("Set-Cookie: a=1"). */
  extraHeaders?: string[];
  /** Messages it sends as soon as a client is connected (before the client has said anything). */
  greetings?: string[];
  path?: string;
}

/** A `ws` echo server (optionally over TLS) that records what reaches it. */
export async function wsUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const server: HttpServer = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }) : createHttpServer();
  const wss = new WsServer({
    server, perMessageDeflate: options.deflate ?? false, maxPayload: 64 * 1024 * 1024,
    handleProtocols: options.protocol ?? ((offered) => [...offered][0] ?? false),
    ...(options.path ? { path: options.path } : {}),
  });
  const up: Upstream = {
    url: '', port: 0, requests: [], sockets: [], closes: [], messages: [], extensions: [],
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  wss.on('headers', (headers) => headers.push(...(options.extraHeaders ?? [])));
  wss.on('headers', (headers) => up.extensions.push(headers.find((h) => /^sec-websocket-extensions:/i.test(h))?.split(':')[1]?.trim() ?? ''));
  wss.on('connection', (ws, request) => {
    up.requests.push(request);
    up.sockets.push(ws);
    const index = up.sockets.length - 1;
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      up.messages.push({ data: buf, isBinary });
      if (!options.silent) ws.send(buf, { binary: isBinary });
    });
    ws.on('close', (code, reason) => (up.closes[index] = { code, reason: reason.toString('utf8') }));
    for (const greeting of options.greetings ?? []) ws.send(greeting);
    ws.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  up.url = `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${up.port}${options.path ?? '/'}`;
  return up;
}

/** Frame events of one connection. */
export function frames(events: readonly TraceEvent[], connectionId: string, direction?: 'in' | 'out') {
  return events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.connectionId === connectionId && (!direction || e.direction === direction));
}

/** The client leg's connection id of the n-th conversation (server ids end in :n). */
export function clientLegId(events: readonly TraceEvent[], n = 1): string {
  const ids = [...new Set(events.filter((e) => e.type === 'connection-opened' && e.role === 'server').map((e) => e.connectionId))];
  const id = ids[n - 1];
  if (!id) throw new Error(`no client leg #${n} in the trace`);
  return id;
}
