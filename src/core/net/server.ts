/**
 * The embedded server, in Ratchet's layers: socket I/O (node:net) → HTTP head and handshake
 * (the protocol's CONNECTING state) → WebSocket session (Connection) → the application
 * component (onOpen / onMessage / onClose / onError).
 */

import type { Server, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { CloseCode, Defaults } from '../constants.ts';
import { HandshakeError, type ProtocolViolation } from '../errors.ts';
import { errorResponse } from '../handshake.ts';
import type { ViolationPolicy } from '../protocol.ts';
import { serverDeflateNegotiator, type DeflateOptions, type DeflateSetting } from '../extensions/permessage-deflate.ts';
import { Tracer, type TraceBody } from '../trace.ts';
import type { TlsCertificateInfo } from '../tls-types.ts';
import { Connection, type CloseInfo, type ConnectionHandler, type IncomingMessage } from './connection.ts';
import { describeServerTls, describeServerTlsError } from './tls-info.ts';
import { createListener, type ServerCredentials } from './transport.ts';

/** An application running on the server (Ratchet's MessageComponentInterface). */
export interface ServerComponent {
  readonly name: string;
  onOpen?(conn: Connection, server: WebSocketServer): void;
  onMessage?(conn: Connection, message: IncomingMessage, server: WebSocketServer): void;
  onClose?(conn: Connection, info: CloseInfo, server: WebSocketServer): void;
  onError?(conn: Connection, error: ProtocolViolation | Error, server: WebSocketServer): void;
}

export interface ServerOptions {
  host?: string;
  port?: number;
  component: ServerComponent;
  tracer?: Tracer;
  /** Trace raw byte chunks as well as frames (default true). */
  traceBytes?: boolean;
  subprotocols?: readonly string[];
  allowedOrigins?: readonly string[];
  maxMessageSize?: number;
  /** A single frame longer than this fails with 1009 (default: only maxMessageSize applies). */
  maxFrameSize?: number;
  /** A fragmented message with more frames than this fails with 1008 (default Defaults.maxFragments). */
  maxFragments?: number;
  /**
   * permessage-deflate (RFC 7692), on by default: options, or false to turn it off (no offer /
   * every offer declined). A client may give a list: several offers in order of preference.
   */
  deflate?: DeflateSetting;
  /** A longer HTTP head is answered with 431 (default Defaults.maxHeadSize). */
  maxHeadSize?: number;
  closeTimeoutMs?: number;
  /** A client that has not completed its handshake by then is dropped (default Defaults.handshakeTimeoutMs). */
  handshakeTimeoutMs?: number;
  /**
   * At most this many connections at a time (handshaking, open or closing). One more is answered
   * 503 Service Unavailable with Retry-After and a plain-text reason, then closed. Default: no cap.
   */
  maxConnections?: number;
  /** An open connection with no bytes in either direction for this long is closed with 1001. Default: off. */
  idleTimeoutMs?: number;
  /** Strict (the RFC) or observe (flag violations, keep the connection open). */
  policy?: ViolationPolicy;
  /** Step mode changed on a connection (a frame held, released, edited, dropped). */
  onGateChange?: (conn: Connection) => void;
  /** Serve wss:// (RFC 6455 §3, §10.6) with this certificate and key (transport.ts, certificates.ts). */
  tls?: ServerCredentials;
  /**
   * Take each accepted socket (TLS done, traced as opened) instead of making a Connection of it:
   * a proxy reads the request and opens its upstream before it answers (src/core/proxy/). The
   * taker owns the socket from then on; connections, maxConnections and close() do not see it.
   */
  takeSocket?: (socket: Socket, id: string, trace: ((body: TraceBody) => void) | undefined) => void;
}

/** Only this machine can reach an address in 127.0.0.0/8, ::1 or "localhost". */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A listen failure, in plain words (port in use, permission, bad address). */
export class ListenError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'ListenError';
  }
}

let serverCounter = 0;

/**
 * Seconds a client refused at the connection cap is asked to wait (RFC 9110 §10.2.3). RFC 6455
 * §7.2.3 suggests a first reconnect delay of up to 5 seconds.
 */
const retryAfterSeconds = 5;

export class WebSocketServer {
  readonly tracer: Tracer;
  readonly connections = new Map<string, Connection>();
  private server: Server | null = null;
  private component: ServerComponent;
  private readonly options: ServerOptions;
  private readonly serverId = ++serverCounter;
  private connectionCounter = 0;
  /** wss://: each accepted TCP socket's addresses, for reporting a TLS handshake that fails. */
  private readonly tcpAddresses = new WeakMap<Socket, { local: string; remote: string }>();
  /** Sockets refused at the connection cap, until their 503 is flushed. */
  private readonly refusing = new Set<Socket>();
  address: { host: string; port: number } | null = null;

  constructor(options: ServerOptions) {
    for (const [name, value] of [['maxConnections', options.maxConnections], ['idleTimeoutMs', options.idleTimeoutMs]] as const) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`${name} must be a whole number of at least 1 (got ${value}).`);
    }
    // Bad permessage-deflate options fail here, not on the first connection.
    if (options.deflate) serverDeflateNegotiator(Array.isArray(options.deflate) ? options.deflate[0] : options.deflate as DeflateOptions);
    this.options = options;
    this.component = options.component;
    this.tracer = options.tracer ?? new Tracer();
  }

  get url(): string {
    if (!this.address) throw new Error('the server is not listening');
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `${this.options.tls ? 'wss' : 'ws'}://${host}:${this.address.port}/`;
  }

  /** The certificate this server presents (wss://), or null for ws://. */
  get tlsCertificate(): TlsCertificateInfo | null {
    return this.options.tls?.certificate ?? null;
  }

  get componentName(): string {
    return this.component.name;
  }

  /** Swaps the application (echo, chat, manual) without restarting. */
  setComponent(component: ServerComponent): void {
    this.component = component;
  }

  /**
   * Sockets the listener holds right now: connections in any state, and refused ones whose
   * answer is still being flushed (node's server.getConnections).
   */
  socketCount(): Promise<number> {
    const server = this.server;
    if (!server) return Promise.resolve(0);
    return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? this.connections.size + this.refusing.size : count)));
  }

  /** Open connections (handshake done, not closed). */
  openConnections(): Connection[] {
    return [...this.connections.values()].filter((c) => c.state === 'OPEN');
  }

  listen(): Promise<{ host: string; port: number; url: string }> {
    const host = this.options.host ?? Defaults.host;
    const port = this.options.port ?? Defaults.port;
    return new Promise((resolve, reject) => {
      const server = createListener(this.options.tls, this.options.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs, (socket) => this.accept(socket));
      if (this.options.tls) {
        // A TLS socket that failed its handshake may have lost its addresses by the time it is
        // reported: note them when TCP connects.
        server.on('connection', (raw: Socket) => this.tcpAddresses.set(raw, { local: `${raw.localAddress}:${raw.localPort}`, remote: `${raw.remoteAddress}:${raw.remotePort}` }));
        server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => this.tlsFailed(error, socket));
      }
      server.once('error', (error: NodeJS.ErrnoException) => {
        const where = `${host}:${port}`;
        const message =
          error.code === 'EADDRINUSE' ? `Port ${port} on ${host} is already in use (EADDRINUSE). Stop the other program or choose another port.`
          : error.code === 'EACCES' ? `Not allowed to listen on ${where} (EACCES). Ports below 1024 need privileges; choose a higher port.`
          : error.code === 'EADDRNOTAVAIL' ? `The address ${host} is not on this machine (EADDRNOTAVAIL).`
          : `Cannot listen on ${where}: ${error.message}`;
        reject(new ListenError(message, error.code));
      });
      server.listen(port, host, () => {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.address = { host: addr.address, port: addr.port };
        this.server = server;
        server.on('error', () => {
          // After listening, errors belong to individual sockets.
        });
        resolve({ ...this.address!, url: this.url });
      });
    });
  }

  /** Stops listening and closes every connection (1001 Going Away for open ones). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const conn of this.connections.values()) {
      if (conn.state === 'OPEN') conn.close(1001, 'server shutting down');
      else conn.destroy();
    }
    const closing = [...this.connections.values()].map((c) => c.closed());
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 1000))]);
    for (const conn of this.connections.values()) conn.destroy();
    for (const socket of this.refusing) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.address = null;
  }

  /**
   * One handler for every connection (each callback is given its connection): per-connection
   * closures cost about 2 KB of heap each time, which 10,000 connections feel (issue 17).
   */
  private readonly handler: ConnectionHandler = {
    onGateChange: (c) => this.options.onGateChange?.(c),
    onOpen: (c) => this.call(c, () => this.component.onOpen?.(c, this)),
    onMessage: (c, m) => this.call(c, () => this.component.onMessage?.(c, m, this)),
    onViolation: (c, v) => this.call(c, () => this.component.onError?.(c, v, this)),
    onSocketError: (c, e) => this.call(c, () => this.component.onError?.(c, e, this)),
    onClose: (c, info) => {
      this.connections.delete(c.id);
      if (c.protocol.request && c.protocol.response?.status === 101) this.call(c, () => this.component.onClose?.(c, info, this));
    },
  };

  private accept(socket: Socket): void {
    const id = `server${this.serverId}:${++this.connectionCounter}`;
    const trace = this.tracer.active ? this.tracer.forConnection(id) : undefined;
    const o = this.options;
    if (o.takeSocket) {
      this.traceAccepted(trace, socket, `${socket.localAddress}:${socket.localPort}`, `${socket.remoteAddress}:${socket.remotePort}`);
      o.takeSocket(socket, id, trace);
      return;
    }
    if (o.maxConnections !== undefined && this.connections.size >= o.maxConnections) {
      this.refuseOverCap(socket, o.maxConnections, id, trace);
      return;
    }
    const conn = new Connection(socket, {
      id, role: 'server',
      ...(trace ? { trace } : {}),
      traceBytes: o.traceBytes ?? true,
      ...(o.subprotocols ? { subprotocols: o.subprotocols } : {}),
      ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}),
      ...(o.maxMessageSize !== undefined ? { maxMessageSize: o.maxMessageSize } : {}),
      ...(o.maxFrameSize !== undefined ? { maxFrameSize: o.maxFrameSize } : {}),
      ...(o.maxFragments !== undefined ? { maxFragments: o.maxFragments } : {}),
      ...(o.deflate !== undefined ? { deflate: o.deflate } : {}),
      ...(o.maxHeadSize !== undefined ? { maxHeadSize: o.maxHeadSize } : {}),
      ...(o.closeTimeoutMs !== undefined ? { closeTimeoutMs: o.closeTimeoutMs } : {}),
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
      ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
      ...(o.policy ? { policy: o.policy } : {}),
    }, this.handler);
    this.connections.set(id, conn);
    // Only when tracing: asking a socket its addresses makes it keep them (two objects per connection).
    if (trace) this.traceAccepted(trace, socket, conn.localAddress, conn.remoteAddress);
  }

  /** An accepted connection in the trace: opened, and (wss://) its TLS handshake. */
  private traceAccepted(trace: ((body: TraceBody) => void) | undefined, socket: Socket, local: string, remote: string): void {
    if (!trace) return;
    trace({ type: 'connection-opened', role: 'server', local, remote });
    if (socket instanceof TLSSocket) {
      try {
        trace({ type: 'tls', tls: describeServerTls(socket, this.tlsCertificate) });
      } catch (error) {
        trace({ type: 'error', message: `cannot read the TLS connection: ${(error as Error).message}` });
      }
    }
  }

  /**
   * A client whose TLS handshake failed (it does not trust our certificate, spoke plain HTTP to
   * this TLS port, hung up, took too long). It never became a connection; the trace shows it as
   * one that opened and closed, with the failure explained, because that is what a person
   * debugging "my browser cannot connect" needs to see. The socket is freed.
   */
  private tlsFailed(error: NodeJS.ErrnoException, socket: TLSSocket): void {
    // node wraps the TCP socket it accepted (its _parent) in the TLS one.
    const tcp = this.tcpAddresses.get((socket as TLSSocket & { _parent?: Socket })._parent ?? socket);
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : tcp?.remote ?? '?';
    const local = socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : tcp?.local ?? '?';
    socket.destroy();
    if (!this.tracer.active) return;
    // An event callback of the listener: nothing may escape it (it would take the process down).
    try {
      const id = `server${this.serverId}:${++this.connectionCounter}`;
      const trace = this.tracer.forConnection(id);
      // The name the client asked for (SNI), if it sent one: the advice then names the host:port
      // the client used, since a browser's exception ("accept the risk") is kept per host and port.
      const sni = typeof socket.servername === 'string' && socket.servername ? socket.servername : null;
      const host = sni && /^[A-Za-z0-9.-]{1,253}$/.test(sni) ? sni : this.address?.host.includes(':') ? `[${this.address.host}]` : this.address?.host;
      const listening = this.address ? `${host}:${this.address.port}` : undefined;
      const info = describeServerTlsError(error, {
        localCertificate: this.tlsCertificate, ...(listening ? { listening } : {}), timeoutMs: this.options.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
      }, sni);
      trace({ type: 'connection-opened', role: 'server', local, remote });
      trace({ type: 'tls', tls: info });
      trace({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: `TLS handshake failed: ${info.failure!.summary}` });
    } catch {
      // the failed client is freed already; a trace that could not be written changes nothing
    }
  }

  /**
   * One connection over the cap. RFC 6455 §4.1: servers "can refuse to accept connections from
   * hosts/IP addresses with an excessive number of existing connections". A 503 with Retry-After
   * and a reason says why, where a bare reset would look like a crash; it goes out at once, without
   * waiting for the request (waiting would let refused clients hold descriptors past the cap).
   * Whatever the client sends is read and dropped, so that closing does not turn into a reset that
   * can discard the 503; once the 503 and our FIN are flushed, the socket is freed.
   */
  private refuseOverCap(socket: Socket, max: number, id: string, trace: ((body: TraceBody) => void) | undefined): void {
    const reason = `This server takes at most ${max} connection${max === 1 ? '' : 's'} at a time (maxConnections) and all are in use. Try again later.`;
    const { bytes } = errorResponse(new HandshakeError('SERVER_AT_CAPACITY', 503, reason, '§4.1', { 'Retry-After': String(retryAfterSeconds) }));
    this.refusing.add(socket);
    const timer = setTimeout(() => socket.destroy(), this.options.closeTimeoutMs ?? Defaults.closeTimeoutMs);
    timer.unref();
    socket.on('error', () => {}); // a reset from the refused peer changes nothing
    socket.on('data', () => {});
    socket.once('finish', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      this.refusing.delete(socket);
    });
    socket.end(bytes);
    if (trace) {
      trace({ type: 'connection-opened', role: 'server', local: `${socket.localAddress}:${socket.localPort}`, remote: `${socket.remoteAddress}:${socket.remotePort}` });
      trace({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: `refused with 503: ${max} connection${max === 1 ? '' : 's'} already (maxConnections)` });
    }
  }

  /** An application bug must not take the server down: report it and fail that connection with 1011. */
  private call(conn: Connection, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.tracer.emit(conn.id, { type: 'error', message: `application error in ${this.component.name}: ${message}` });
      if (conn.state === 'OPEN') conn.close(1011, 'internal error');
    }
  }
}
