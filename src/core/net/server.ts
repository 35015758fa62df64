/**
 * The embedded server, in Ratchet's layers: socket I/O (node:net) → HTTP head and handshake
 * (the protocol's CONNECTING state) → WebSocket session (Connection) → the application
 * component (onOpen / onMessage / onClose / onError).
 */

import { createServer, type Server, type Socket } from 'node:net';
import { Defaults } from '../constants.ts';
import type { ProtocolViolation } from '../errors.ts';
import type { ViolationPolicy } from '../protocol.ts';
import { Tracer } from '../trace.ts';
import { Connection, type CloseInfo, type IncomingMessage } from './connection.ts';

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
  /** A longer HTTP head is answered with 431 (default Defaults.maxHeadSize). */
  maxHeadSize?: number;
  closeTimeoutMs?: number;
  /** A client that has not completed its handshake by then is dropped (default Defaults.handshakeTimeoutMs). */
  handshakeTimeoutMs?: number;
  /** Strict (the RFC) or observe (flag violations, keep the connection open). */
  policy?: ViolationPolicy;
  /** Step mode changed on a connection (a frame held, released, edited, dropped). */
  onGateChange?: (conn: Connection) => void;
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

export class WebSocketServer {
  readonly tracer: Tracer;
  readonly connections = new Map<string, Connection>();
  private server: Server | null = null;
  private component: ServerComponent;
  private readonly options: ServerOptions;
  private readonly serverId = ++serverCounter;
  private connectionCounter = 0;
  address: { host: string; port: number } | null = null;

  constructor(options: ServerOptions) {
    this.options = options;
    this.component = options.component;
    this.tracer = options.tracer ?? new Tracer();
  }

  get url(): string {
    if (!this.address) throw new Error('the server is not listening');
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `ws://${host}:${this.address.port}/`;
  }

  get componentName(): string {
    return this.component.name;
  }

  /** Swaps the application (echo, chat, manual) without restarting. */
  setComponent(component: ServerComponent): void {
    this.component = component;
  }

  /** Open connections (handshake done, not closed). */
  openConnections(): Connection[] {
    return [...this.connections.values()].filter((c) => c.state === 'OPEN');
  }

  listen(): Promise<{ host: string; port: number; url: string }> {
    const host = this.options.host ?? Defaults.host;
    const port = this.options.port ?? Defaults.port;
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
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
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.address = null;
  }

  private accept(socket: Socket): void {
    const id = `server${this.serverId}:${++this.connectionCounter}`;
    const trace = this.tracer.active ? this.tracer.forConnection(id) : undefined;
    const o = this.options;
    const conn = new Connection(socket, {
      id, role: 'server',
      ...(trace ? { trace } : {}),
      traceBytes: o.traceBytes ?? true,
      ...(o.subprotocols ? { subprotocols: o.subprotocols } : {}),
      ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}),
      ...(o.maxMessageSize !== undefined ? { maxMessageSize: o.maxMessageSize } : {}),
      ...(o.maxFrameSize !== undefined ? { maxFrameSize: o.maxFrameSize } : {}),
      ...(o.maxFragments !== undefined ? { maxFragments: o.maxFragments } : {}),
      ...(o.maxHeadSize !== undefined ? { maxHeadSize: o.maxHeadSize } : {}),
      ...(o.closeTimeoutMs !== undefined ? { closeTimeoutMs: o.closeTimeoutMs } : {}),
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
      ...(o.policy ? { policy: o.policy } : {}),
    }, {
      onGateChange: (c) => o.onGateChange?.(c),
      onOpen: (c) => this.call(c, () => this.component.onOpen?.(c, this)),
      onMessage: (c, m) => this.call(c, () => this.component.onMessage?.(c, m, this)),
      onViolation: (c, v) => this.call(c, () => this.component.onError?.(c, v, this)),
      onSocketError: (c, e) => this.call(c, () => this.component.onError?.(c, e, this)),
      onClose: (c, info) => {
        this.connections.delete(c.id);
        if (c.protocol.request && c.protocol.response?.status === 101) this.call(c, () => this.component.onClose?.(c, info, this));
      },
    });
    this.connections.set(id, conn);
    trace?.({ type: 'connection-opened', role: 'server', local: conn.localAddress, remote: conn.remoteAddress });
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
