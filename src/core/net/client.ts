/**
 * The client: connects to a ws:// URL over node:net and drives the same protocol object as
 * the server, in the client role (masked frames, §5.3; waits for the server to close TCP, §7.1.1).
 */

import { connect as netConnect } from 'node:net';
import type { HttpHeader } from '../http.ts';
import { checkHandshakeOptions } from '../http-tokens.ts';
import type { ViolationPolicy } from '../protocol.ts';
import { Tracer } from '../trace.ts';
import { Connection, type ConnectionHandler } from './connection.ts';

export interface ParsedWebSocketUrl {
  host: string;
  port: number;
  /** Request target: path and query (§3: the fragment is not allowed). */
  path: string;
  /** Host header value (port omitted when it is the default, §4.1 item 4). */
  hostHeader: string;
  url: string;
}

/** A URL that cannot be connected to, in plain words. */
export class UrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlError';
  }
}

/** RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]. */
export function parseWebSocketUrl(input: string): ParsedWebSocketUrl {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new UrlError(`"${input}" is not a URL. Try ws://127.0.0.1:9001/`);
  }
  if (url.protocol === 'wss:' || url.protocol === 'https:') {
    throw new UrlError(`${url.protocol}// needs TLS, which this inspector does not speak yet: it would hide the frames from you. Use ws:// to a plain-text endpoint.`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol !== 'ws:') throw new UrlError(`"${url.protocol}" is not a WebSocket scheme: use ws://host:port/path`);
  if (url.hash) throw new UrlError('A WebSocket URL must not have a #fragment (RFC 6455 §3).');
  if (!url.hostname) throw new UrlError(`"${input}" has no host.`);
  const port = url.port ? Number(url.port) : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host, port, path: `${url.pathname || '/'}${url.search}`, hostHeader: url.port ? `${url.hostname}:${url.port}` : url.hostname,
    url: url.toString(),
  };
}

export interface ClientOptions {
  tracer?: Tracer;
  /** Strict (the RFC) or observe (flag violations, keep the connection open). */
  policy?: ViolationPolicy;
  traceBytes?: boolean;
  subprotocols?: readonly string[];
  headers?: readonly HttpHeader[];
  maxMessageSize?: number;
  /** A single frame longer than this fails with 1009 (default: only maxMessageSize applies). */
  maxFrameSize?: number;
  /** A fragmented message with more frames than this fails with 1008 (default Defaults.maxFragments). */
  maxFragments?: number;
  /** A longer HTTP response head fails the handshake (default Defaults.maxHeadSize). */
  maxHeadSize?: number;
  closeTimeoutMs?: number;
  /** Once open: no bytes in either direction for this long closes with 1001 Going Away. Default: off. */
  idleTimeoutMs?: number;
  /** Fixed masking keys or handshake key, for reproducible traces. */
  maskKeyGenerator?: () => Uint8Array;
  key?: string;
  /** Give up if the TCP connect and the opening handshake have not both completed after this long. */
  connectTimeoutMs?: number;
  id?: string;
}

export class ConnectError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'ConnectError';
  }
}

let clientCounter = 0;

export interface ClientConnection {
  connection: Connection;
  /** Resolves when the handshake succeeds; rejects with a plain message if it cannot. */
  opened: Promise<Connection>;
}

/**
 * Opens a client connection. Throws UrlError at once for a bad URL and HandshakeOptionError for
 * a subprotocol or header that cannot be sent, before any socket is opened.
 */
export function connectClient(rawUrl: string, handler: ConnectionHandler = {}, options: ClientOptions = {}): ClientConnection {
  const target = parseWebSocketUrl(rawUrl);
  checkHandshakeOptions(options);
  const id = options.id ?? `client:${++clientCounter}`;
  const tracer = options.tracer;
  const trace = tracer?.active ? tracer.forConnection(id) : undefined;
  const socket = netConnect({ host: target.host, port: target.port });
  let resolveOpen!: (c: Connection) => void;
  let rejectOpen!: (e: Error) => void;
  const opened = new Promise<Connection>((res, rej) => {
    resolveOpen = res;
    rejectOpen = rej;
  });
  opened.catch(() => {}); // callers that only use the handler need not observe it
  let settled = false;
  const conn: Connection = new Connection(socket, {
    id, role: 'client', host: target.hostHeader, path: target.path,
    ...(trace ? { trace } : {}),
    traceBytes: options.traceBytes ?? true,
    ...(options.subprotocols ? { subprotocols: options.subprotocols } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
    ...(options.maxFrameSize !== undefined ? { maxFrameSize: options.maxFrameSize } : {}),
    ...(options.maxFragments !== undefined ? { maxFragments: options.maxFragments } : {}),
    ...(options.maxHeadSize !== undefined ? { maxHeadSize: options.maxHeadSize } : {}),
    ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.maskKeyGenerator ? { maskKeyGenerator: options.maskKeyGenerator } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.key ? { key: options.key } : {}),
  }, {
    ...handler,
    onOpen: (c) => {
      settled = true;
      resolveOpen(c);
      handler.onOpen?.(c);
    },
    onHandshakeFailed: (c, error) => {
      settled = true;
      const status = c.protocol.response ? ` (HTTP ${c.protocol.response.status})` : '';
      rejectOpen(new ConnectError(`Handshake with ${target.url} failed${status}: ${error.message}`, error.code));
      handler.onHandshakeFailed?.(c, error);
    },
    onSocketError: (c, error: NodeJS.ErrnoException) => {
      if (!settled) {
        settled = true;
        rejectOpen(new ConnectError(describeConnectError(error, target), error.code));
      }
      handler.onSocketError?.(c, error);
    },
    onClose: (c, info) => {
      if (!settled) {
        settled = true;
        rejectOpen(new ConnectError(`${target.url} closed the connection before the handshake completed.`, undefined));
      }
      handler.onClose?.(c, info);
    },
  });
  const timeout = setTimeout(() => {
    if (!settled) socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
  }, options.connectTimeoutMs ?? 10_000);
  timeout.unref?.();
  socket.once('connect', () => {
    trace?.({ type: 'connection-opened', role: 'client', local: conn.localAddress, remote: conn.remoteAddress, url: target.url });
    // Nothing may throw out of a socket callback (it would take the whole process down): a
    // failure to start the handshake rejects `opened` and frees the socket.
    try {
      conn.start();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      trace?.({ type: 'error', message: `cannot start the handshake: ${message}` });
      if (!settled) {
        settled = true;
        rejectOpen(new ConnectError(`Cannot start the handshake with ${target.url}: ${message}`, (error as { code?: string }).code ?? 'EHANDSHAKESTART'));
      }
      socket.destroy();
    }
  });
  opened.then(() => clearTimeout(timeout), () => clearTimeout(timeout));
  return { connection: conn, opened };
}

function describeConnectError(error: NodeJS.ErrnoException, target: ParsedWebSocketUrl): string {
  const where = `${target.host}:${target.port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `Connection refused: nothing is listening on ${where} (ECONNREFUSED).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Host "${target.host}" not found (${error.code}).`;
    case 'ETIMEDOUT':
      return `No answer from ${where} in time (ETIMEDOUT).`;
    case 'ECONNRESET':
      return `${where} reset the connection (ECONNRESET).`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (${error.code}).`;
    default:
      return `Cannot connect to ${where}: ${error.message}`;
  }
}
