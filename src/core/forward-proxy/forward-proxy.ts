/**
 * The forward proxy: an HTTP/1.1 proxy (RFC 9112 §3.2.2 absolute-form requests, RFC 9110 §9.3.6
 * CONNECT) that browsers and tools can be pointed at, so that their WebSocket conversations can be
 * inspected without changing their URLs.
 *
 * Per accepted connection: the request head is read with our own parser (http.ts, bounded by
 * maxHeadSize, within headTimeoutMs) and checked (proxy-request.ts); then
 *  - a WebSocket opening handshake for http:// or ws:// goes to the WebSocket handler (the
 *    relay: both legs inspected), with its head rewritten to origin-form and put back on the socket;
 *  - any other http:// request is carried to its origin untouched and listed (http-exchange.ts);
 *  - CONNECT is a tunnel passed through byte for byte and shown with its SNI (tunnel.ts), or, with
 *    TLS interception on, terminated with a minted certificate (the interceptor).
 * A request that cannot be read or checked is answered 400 (431, 501, 505) with one sentence and
 * its socket freed.
 */

import { createServer, type LookupFunction, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Defaults } from '../constants.ts';
import { HandshakeError } from '../errors.ts';
import { formatRequestHead, HttpHeadParser, type HttpHead } from '../http.ts';
import { ListenError } from '../net/server.ts';
import type { ClientTlsOptions } from '../net/transport.ts';
import { forwardHttpExchange, type HttpExchangeSummary, type OriginOpener } from './http-exchange.ts';
import { connectOrigin, printable, proxyResponse, type OriginPolicy } from './origin.ts';
import { forwardedHeaders, hostHeaderFor, isWebSocketUpgrade, parseProxyRequest, ProxyRequestError, type ProxyRequest, type ProxyTarget } from './proxy-request.ts';
import { passThroughTunnel, type TunnelSummary } from './tunnel.ts';
import { sniffTunnel } from './tunnel-sniffer.ts';

/**
 * A WebSocket opening handshake that came through the proxy, for the relay to take over.
 * `downstream` is paused; `initial` holds what was read from it: the client's request head
 * (origin-form, hop-by-hop fields removed, Host set from the URL) and any bytes behind it, for the
 * relay to read first (ProxyConversation.start(initial)). `url` is where the relay connects upstream.
 */
export interface WebSocketUpgrade {
  id: string;
  /** The client's socket (a TLSSocket inside an intercepted CONNECT). */
  downstream: Socket;
  /** Bytes already read: the forwarded head, then anything the client sent behind it. */
  initial: Uint8Array;
  /** ws://host:port/path, or wss:// for one inside an intercepted CONNECT. */
  url: string;
  /** The client's request head as it arrived (absolute-form), for display. */
  head: HttpHead;
  /** Origin-form head (the start of `initial`). */
  forwardedHead: Uint8Array;
  /** Inside an intercepted CONNECT: the upstream is TLS. */
  intercepted: boolean;
  /** wss:// upstream: how its certificate is checked (--ca, --insecure). */
  tls?: ClientTlsOptions;
}

/**
 * Takes over an upgrade (the relay). Called synchronously; if it attaches a 'data' listener to the
 * downstream before returning, the proxy resumes the socket, otherwise the handler must.
 */
export type WebSocketUpgradeHandler = (upgrade: WebSocketUpgrade) => void;

/** TLS interception hook: takes a CONNECT whose tunnel is established (200 sent) instead of passing it through. */
export type ConnectInterceptor = (client: Socket, target: ProxyTarget, rest: Uint8Array, id: string) => void;

export type ForwardProxyEvent =
  | { type: 'http'; id: string; exchange: HttpExchangeSummary }
  | { type: 'tunnel-opened'; id: string; tunnel: TunnelSummary }
  | { type: 'tunnel'; id: string; tunnel: TunnelSummary }
  | { type: 'websocket'; id: string; url: string; intercepted: boolean; relayed: boolean }
  | { type: 'refused'; id: string; remote: string; status: number; reason: string };

export interface ForwardProxyOptions {
  host?: string;
  port?: number;
  /** Longest request head accepted (431 beyond). Default Defaults.maxHeadSize. */
  maxHeadSize?: number;
  /** A client that has not sent a whole request head by then gets 408 and is dropped. */
  headTimeoutMs?: number;
  /** TCP connect to an origin. */
  connectTimeoutMs?: number;
  /** An origin's answer head must come within this (504 otherwise; default 60 s). */
  responseTimeoutMs?: number;
  /** Refuse targets on this machine (set when listening on a non-loopback address). */
  refuseLoopbackTargets?: boolean;
  /** Name resolution for origins (default: the system's). */
  lookup?: LookupFunction;
  /** At most this many client connections at a time; one more is answered 503. Default 512. */
  maxConnections?: number;
  onEvent?: (event: ForwardProxyEvent) => void;
  /** The relay; without it an upgrade is passed through opaquely (shown, not inspected). */
  onWebSocket?: WebSocketUpgradeHandler;
  /** TLS interception (or later: useInterceptor); without it CONNECT is passed through. */
  interceptConnect?: ConnectInterceptor;
}

let proxyCounter = 0;

export class ForwardProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly proxyId = ++proxyCounter;
  private counter = 0;
  address: { host: string; port: number } | null = null;

  private interceptor: ConnectInterceptor | null;

  constructor(private readonly options: ForwardProxyOptions = {}) {
    this.interceptor = options.interceptConnect ?? null;
  }

  /** Turns TLS interception on (createInterceptor needs the proxy, so it comes after the constructor). */
  useInterceptor(interceptor: ConnectInterceptor): void {
    this.interceptor = interceptor;
  }

  get url(): string {
    if (!this.address) throw new Error('the proxy is not listening');
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host}:${this.address.port}`;
  }

  /** Client connections held right now. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  private get originPolicy(): OriginPolicy {
    return {
      connectTimeoutMs: this.options.connectTimeoutMs ?? Defaults.handshakeTimeoutMs, refuseLoopback: this.options.refuseLoopbackTargets ?? false,
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
    };
  }

  private emit(event: ForwardProxyEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // a listener's bug must not break a socket callback
    }
  }

  nextId(): string {
    return `proxy${this.proxyId}:${++this.counter}`;
  }

  listen(): Promise<{ host: string; port: number; url: string }> {
    const host = this.options.host ?? Defaults.host;
    const port = this.options.port ?? 8080;
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => this.accept(socket));
      server.once('error', (error: NodeJS.ErrnoException) => {
        const message =
          error.code === 'EADDRINUSE' ? `Port ${port} on ${host} is already in use (EADDRINUSE). Stop the other program or choose another port.`
          : error.code === 'EACCES' ? `Not allowed to listen on ${host}:${port} (EACCES). Ports below 1024 need privileges; choose a higher port.`
          : error.code === 'EADDRNOTAVAIL' ? `The address ${host} is not on this machine (EADDRNOTAVAIL).`
          : `Cannot listen on ${host}:${port}: ${error.message}`;
        reject(new ListenError(message, error.code));
      });
      server.listen(port, host, () => {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.address = { host: addr.address, port: addr.port };
        this.server = server;
        server.on('error', () => {});
        resolve({ ...this.address!, url: this.url });
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.address = null;
  }

  private accept(socket: Socket): void {
    const id = this.nextId();
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => socket.destroy());
    if (this.sockets.size >= (this.options.maxConnections ?? 512)) {
      this.refuse(socket, id, remote, 503, `This proxy carries at most ${this.options.maxConnections ?? 512} connections at a time and all are in use.`);
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const parser = new HttpHeadParser({ kind: 'request', maxSize: this.options.maxHeadSize ?? Defaults.maxHeadSize });
    const headTimeoutMs = this.options.headTimeoutMs ?? Defaults.handshakeTimeoutMs;
    const timer = setTimeout(() => {
      stop();
      this.refuse(socket, id, remote, 408, `No whole request head within ${headTimeoutMs} ms.`);
    }, headTimeoutMs);
    timer.unref();
    const stop = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
    };
    const onEnd = () => {
      stop();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = parser.feed(chunk);
      } catch (error) {
        stop();
        this.refuse(socket, id, remote, error instanceof HandshakeError ? error.status : 400, error instanceof Error ? error.message : String(error));
        return;
      }
      if (!result.done) return;
      stop();
      socket.pause();
      let request: ProxyRequest;
      try {
        request = parseProxyRequest(result.head);
      } catch (error) {
        const status = error instanceof ProxyRequestError ? error.status : 400;
        this.refuse(socket, id, remote, status, error instanceof Error ? error.message : String(error));
        return;
      }
      try {
        this.dispatch(socket, id, result.head, request, result.rest);
      } catch (error) {
        this.refuse(socket, id, remote, 500, `The proxy failed on this request: ${(error as Error).message}`);
      }
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
  }

  /** Answers the proxy's own refusal and frees the socket once the answer is flushed (or soon after). */
  private refuse(socket: Socket, id: string, remote: string, status: number, rawReason: string): void {
    const reason = printable(rawReason);
    this.emit({ type: 'refused', id, remote, status, reason });
    if (socket.destroyed) return;
    socket.removeAllListeners('data');
    socket.on('data', () => {}); // read and drop, so closing is not a reset that loses the answer
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), Defaults.closeTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('finish', () => socket.destroy());
    socket.end(proxyResponse(status, reason));
  }

  private dispatch(socket: Socket, id: string, head: HttpHead, request: ProxyRequest, rest: Uint8Array): void {
    if (request.kind === 'connect') {
      this.connect(socket, id, request.target, rest);
      return;
    }
    if (request.webSocket) {
      const forwarded = formatRequestHead(head.method, request.path, forwardedHeaders(head.headers, hostHeaderFor(request.target, 80), { keepUpgrade: true }));
      this.handOver({ id, downstream: socket, url: `ws://${request.url.slice('http://'.length)}`, head, forwardedHead: forwarded, intercepted: false }, rest, request.target);
      return;
    }
    const openOrigin: OriginOpener = (onReady, onFail) => connectOrigin(request.target, this.originPolicy, onReady, onFail);
    this.exchange(socket, id, head, request, rest, openOrigin, 80);
  }

  /** Carries one plain HTTP exchange (also used inside an intercepted tunnel). */
  exchange(client: Duplex, id: string, head: HttpHead, request: Extract<ProxyRequest, { kind: 'http' }>, rest: Uint8Array, openOrigin: OriginOpener, defaultPort: number): void {
    forwardHttpExchange({
      client, head, request, rest, openOrigin, defaultPort,
      maxHeadSize: this.options.maxHeadSize ?? Defaults.maxHeadSize,
      ...(this.options.responseTimeoutMs !== undefined ? { responseTimeoutMs: this.options.responseTimeoutMs } : {}),
      onDone: (exchange) => this.emit({ type: 'http', id, exchange: { ...exchange, url: printable(exchange.url) } }),
    });
  }

  /**
   * Gives a WebSocket handshake to the relay, its head put back on the socket. Without a relay the
   * conversation is passed through unread, and the trace says it was not inspected.
   */
  handOver(upgrade: Omit<WebSocketUpgrade, 'initial'>, rest: Uint8Array, target: ProxyTarget, openOrigin?: OriginOpener): void {
    const { downstream } = upgrade;
    const handler = this.options.onWebSocket;
    this.emit({ type: 'websocket', id: upgrade.id, url: printable(upgrade.url), intercepted: upgrade.intercepted, relayed: Boolean(handler) });
    if (handler) {
      downstream.pause();
      handler({ ...upgrade, initial: Buffer.concat([upgrade.forwardedHead, rest]) });
      if (downstream.listenerCount('data') > 0) downstream.resume();
      return;
    }
    // No relay: an opaque tunnel to the origin, the head sent as forwarded.
    const open = openOrigin ?? ((onReady, onFail) => connectOrigin(target, this.originPolicy, onReady, onFail));
    open((origin) => {
      origin.write(upgrade.forwardedHead);
      passThroughTunnel({
        client: downstream, origin, target: upgrade.url, rest,
        onDone: (tunnel) => this.emit({ type: 'tunnel', id: upgrade.id, tunnel }),
      });
    }, (error) => {
      downstream.once('finish', () => downstream.destroy());
      downstream.end(proxyResponse(error.status, error.message));
    });
  }

  /**
   * CONNECT: the origin is reached first (so an unreachable one is a 502, not a dead tunnel), then
   * 200, then the client's first bytes decide (tunnel-sniffer.ts): TLS is passed through, or
   * intercepted when that is on; an opening handshake in the clear (how browsers send ws://
   * through a proxy) goes to the relay; anything else is passed through.
   */
  private connect(client: Socket, id: string, target: ProxyTarget, rest: Uint8Array): void {
    const remote = `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}`;
    const origin = connectOrigin(target, this.originPolicy, () => {
      // RFC 9110 §9.3.6: any 2xx means the tunnel is up; the client speaks to the origin from here.
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      sniffTunnel(client, rest, this.options.maxHeadSize ?? Defaults.maxHeadSize, (start) => {
        if (client.destroyed) {
          origin.destroy();
          return;
        }
        if (start.kind === 'tls' && this.interceptor) {
          // Each request inside gets its own TLS connection to the origin.
          origin.destroy();
          this.interceptor(client, target, start.bytes, id);
        } else if (start.kind === 'http' && isWebSocketUpgrade(start.head) && start.head.target.startsWith('/')) {
          origin.destroy();
          const { head } = start;
          const forwarded = formatRequestHead(head.method, head.target, forwardedHeaders(head.headers, hostHeaderFor(target, 80), { keepUpgrade: true }));
          this.handOver({ id, downstream: client, url: `ws://${target.authority}${head.target}`, head, forwardedHead: forwarded, intercepted: false }, start.rest, target);
        } else {
          passThroughTunnel({
            client, origin, target: target.authority, rest: start.bytes,
            ...(start.kind === 'opaque' && start.bytes.length === 0 ? { silentReason: start.reason } : {}),
            onHello: (tunnel) => this.emit({ type: 'tunnel-opened', id, tunnel: { ...tunnel } }),
            onDone: (tunnel) => this.emit({ type: 'tunnel', id, tunnel }),
          });
        }
      });
    }, (error) => this.refuse(client, id, remote, error.status, error.message));
    client.once('close', () => {
      if (origin.connecting) origin.destroy();
    });
  }

  /** For the interceptor: the origin policy (timeouts, loopback refusal). */
  get policy(): OriginPolicy {
    return this.originPolicy;
  }
}
