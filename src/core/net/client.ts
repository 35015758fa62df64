/**
 * The client: connects to a ws:// URL over node:net, or a wss:// URL over node:tls (transport.ts),
 * and drives the same protocol object as the server, in the client role (masked frames, §5.3;
 * waits for the server to close TCP, §7.1.1).
 */

import type { TLSSocket } from 'node:tls';
import type { HttpHeader } from '../http.ts';
import { checkHandshakeOptions } from '../http-tokens.ts';
import type { ViolationPolicy } from '../protocol.ts';
import { clientDeflateNegotiator, type DeflateSetting } from '../extensions/permessage-deflate.ts';
import { Tracer } from '../trace.ts';
import { tlsFailureLine } from '../tls-explain.ts';
import type { TlsFailure } from '../tls-types.ts';
import { Connection, type ConnectionHandler } from './connection.ts';
import { describeClientTls, describeClientTlsError } from './tls-info.ts';
import { openClientSocket, type ClientTlsOptions } from './transport.ts';

export interface ParsedWebSocketUrl {
  host: string;
  port: number;
  /** Request target: path and query (§3: the fragment is not allowed). */
  path: string;
  /** Host header value (port omitted when it is the default, §4.1 item 4). */
  hostHeader: string;
  url: string;
  /** wss://: the connection runs over TLS (§3, §10.6). */
  secure: boolean;
}

/** A URL that cannot be connected to, in plain words. */
export class UrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlError';
  }
}

/**
 * RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ], and
 * wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ] for WebSocket over TLS. The port
 * defaults to 80 for ws and 443 for wss (§3, §4.1 item 4 and §11.1.2); http:// and https:// are
 * read as ws:// and wss://.
 */
export function parseWebSocketUrl(input: string): ParsedWebSocketUrl {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new UrlError(`"${input}" is not a URL. Try ws://127.0.0.1:9001/ or wss://example.com/`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UrlError(`"${url.protocol}" is not a WebSocket scheme: use ws://host:port/path or wss://host/path`);
  if (url.hash) throw new UrlError('A WebSocket URL must not have a #fragment (RFC 6455 §3).');
  if (!url.hostname) throw new UrlError(`"${input}" has no host.`);
  const secure = url.protocol === 'wss:';
  // The URL parser drops a port that is the scheme's default (80 for ws, 443 for wss), so the
  // Host header names a port only when it is not the default (§4.1 item 4).
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host, port, path: `${url.pathname || '/'}${url.search}`, hostHeader: url.port ? `${url.hostname}:${url.port}` : url.hostname,
    url: url.toString(), secure,
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
  /**
   * permessage-deflate (RFC 7692), on by default: options, or false to turn it off (no offer /
   * every offer declined). A client may give a list: several offers in order of preference.
   */
  deflate?: DeflateSetting;
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
  /** wss:// only: extra CAs to trust (PEM, on top of the system's) and --insecure (§10.6). */
  tls?: ClientTlsOptions;
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
  if (options.deflate) clientDeflateNegotiator(options.deflate); // bad permessage-deflate options: a RangeError before any socket
  const id = options.id ?? `client:${++clientCounter}`;
  const tracer = options.tracer;
  const trace = tracer?.active ? tracer.forConnection(id) : undefined;
  const socket = openClientSocket(target.host, target.port, target.secure, options.tls);
  const tlsContext = { host: target.host, insecure: options.tls?.insecure ?? false, extraCaCount: options.tls?.ca?.length ?? 0 };
  /** wss://: TCP is up but the TLS handshake is not done yet (an error now is a TLS failure). */
  let inTlsHandshake = false;
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
    ...(options.deflate !== undefined ? { deflate: options.deflate } : {}),
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
      if (!settled && inTlsHandshake) {
        const info = describeClientTlsError(error, tlsContext);
        trace?.({ type: 'tls', tls: info });
        failTls(info.failure!);
      } else if (!settled) {
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
  /** A TLS failure rejects `opened` with the failure in plain words, and frees the socket. */
  const failTls = (failure: TlsFailure) => {
    inTlsHandshake = false;
    if (!settled) {
      settled = true;
      rejectOpen(new ConnectError(`TLS with ${target.url} failed: ${tlsFailureLine(failure)}`, failure.code));
    }
    conn.protocol.abort(`TLS failed, no WebSocket handshake was attempted: ${failure.summary}`);
    socket.destroy();
  };
  socket.once('connect', () => {
    trace?.({ type: 'connection-opened', role: 'client', local: conn.localAddress, remote: conn.remoteAddress, url: target.url });
    if (target.secure) inTlsHandshake = true;
    else startHandshake();
  });
  // wss://: the server's certificate is judged here, before a byte of ours goes out (§10.6): a
  // chain or name that does not check out stops the connection unless --insecure said otherwise.
  socket.once('secureConnect', () => {
    inTlsHandshake = false;
    try {
      const info = describeClientTls(socket as TLSSocket, tlsContext);
      trace?.({ type: 'tls', tls: info });
      if (!info.ok) {
        failTls(info.failure!);
        return;
      }
    } catch (error) {
      failTls({ code: 'ERR_TLS_INFO', kind: 'handshake-failed', summary: `The TLS connection could not be read (${(error as Error).message}).`, explanation: '', advice: [] });
      return;
    }
    startHandshake();
  });
  function startHandshake(): void {
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
  }
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
