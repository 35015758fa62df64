/**
 * The proxy's side towards the origin server: opening a TCP connection to where the client asked
 * (with a timeout, and, when the proxy is reachable from other machines, refusing addresses of
 * this machine), and the plain-text answers the proxy gives when it cannot (RFC 9110 §15.6.3 502
 * Bad Gateway, §15.6.5 504 Gateway Timeout).
 */

import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { formatResponseHead } from '../http.ts';
import type { ProxyTarget } from './proxy-request.ts';

export interface OriginPolicy {
  /** Give up on a TCP connect after this long (then 504). */
  connectTimeoutMs: number;
  /**
   * Refuse targets on this machine (127.0.0.0/8, ::1, 0.0.0.0, ::): set when the proxy listens on a
   * non-loopback address, so that other machines cannot use it to reach services bound to loopback.
   */
  refuseLoopback: boolean;
  /** Name resolution (default dns.lookup); tests give one that never leaves this machine. */
  lookup?: LookupFunction;
}

/** Is this resolved address one of this machine's own "any" or loopback addresses? */
export function isLocalAddress(address: string): boolean {
  const plain = address.toLowerCase().replace(/^::ffff:/, '');
  return /^127\./.test(plain) || plain === '::1' || plain === '0.0.0.0' || plain === '::' || /^0\./.test(plain);
}

/** An origin connection that failed, mapped to the status the client gets. */
export class OriginError extends Error {
  constructor(readonly status: 502 | 504 | 403, message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'OriginError';
  }
}

export function describeOriginError(error: NodeJS.ErrnoException, target: ProxyTarget): OriginError {
  const where = target.authority;
  switch (error.code) {
    case 'ECONNREFUSED': return new OriginError(502, `Connection refused: nothing is listening on ${where} (ECONNREFUSED).`, error.code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new OriginError(502, `Host ${JSON.stringify(target.host)} not found (${error.code}).`, error.code);
    case 'ETIMEDOUT': return new OriginError(504, `No answer from ${where} in time (ETIMEDOUT).`, error.code);
    case 'ECONNRESET': return new OriginError(502, `${where} reset the connection (ECONNRESET).`, error.code);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return new OriginError(502, `${where} is unreachable (${error.code}).`, error.code);
    case 'ELOCALTARGET': return new OriginError(403, error.message, error.code);
    default: return new OriginError(502, `Cannot connect to ${where}: ${error.message}`, error.code);
  }
}

/**
 * Opens TCP to the target. `onReady` runs once connected; `onFail` once, with the reason, if it
 * cannot be (the socket is then destroyed). Nothing here throws.
 */
export function connectOrigin(target: ProxyTarget, policy: OriginPolicy, onReady: (socket: Socket) => void, onFail: (error: OriginError) => void): Socket {
  const socket = netConnect({ host: target.host, port: target.port, allowHalfOpen: true, ...(policy.lookup ? { lookup: policy.lookup } : {}) });
  let settled = false;
  const fail = (error: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.destroy();
    onFail(describeOriginError(error, target));
  };
  const timer = setTimeout(() => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), policy.connectTimeoutMs);
  timer.unref();
  const refuseLocal = (address: string) => {
    if (policy.refuseLoopback && isLocalAddress(address)) {
      fail(Object.assign(new Error(`${target.authority} is on this machine (${address}); this proxy listens for other machines, so it does not reach this one's own services.`), { code: 'ELOCALTARGET' }));
      return true;
    }
    return false;
  };
  if (isIP(target.host) && refuseLocal(target.host)) return socket;
  // A name is checked once resolved ('lookup' comes before the connect is attempted).
  socket.once('lookup', (error: Error | null, address: string) => {
    if (!error && typeof address === 'string') refuseLocal(address);
  });
  socket.once('connect', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    onReady(socket);
  });
  socket.on('error', (error: NodeJS.ErrnoException) => fail(error));
  return socket;
}

const reasons: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 431: 'Request Header Fields Too Large',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

/** A complete plain-text answer from the proxy itself, with Connection: close. */
export function proxyResponse(status: number, message: string, extraHeaders: { name: string; value: string }[] = []): Uint8Array {
  const body = Buffer.from(`${message}\n`, 'utf8');
  const head = formatResponseHead(status, reasons[status] ?? 'Error', [
    ...extraHeaders,
    { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    { name: 'Content-Length', value: String(body.length) },
    { name: 'Connection', value: 'close' },
  ]);
  return Buffer.concat([head, body]);
}

/** Control characters in text from the wire, escaped before it is shown on a terminal. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
