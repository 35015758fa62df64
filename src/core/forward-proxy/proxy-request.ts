/**
 * What a client asks a forward proxy for, read from the request head (parsed by http.ts) and
 * checked: a CONNECT tunnel to host:port (authority-form, RFC 9112 §3.2.3; RFC 9110 §9.3.6), or a
 * request for an http:// URL (absolute-form, RFC 9112 §3.2.2), which may be a WebSocket opening
 * handshake (RFC 6455 §4.1). Everything else is refused with a status and one sentence.
 *
 * The head comes from any program that can reach the proxy: every field is hostile until checked.
 */

import { headerValues, splitList, type HttpHead, type HttpHeader } from '../http.ts';
import { hostProblem, unbracket } from '../net/listen-address.ts';

/** A request the proxy will not carry, with the status to answer (400, 501, 505) and why. */
export class ProxyRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ProxyRequestError';
  }
}

export interface ProxyTarget {
  /** Host name or IP address, without brackets. */
  host: string;
  port: number;
  /** host:port as a URL writes it ([::1]:443). */
  authority: string;
}

/** How the request's body is delimited (RFC 9112 §6.3). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export type ProxyRequest =
  | { kind: 'connect'; target: ProxyTarget }
  | {
      kind: 'http';
      target: ProxyTarget;
      /** The absolute URL asked for (http://host:port/path?query). */
      url: string;
      /** Origin-form target sent to the origin server: path and query. */
      path: string;
      /** An opening handshake (RFC 6455 §4.1: GET with Upgrade: websocket and Connection: Upgrade). */
      webSocket: boolean;
      body: BodyFraming;
    };

function bad(message: string): ProxyRequestError {
  return new ProxyRequestError(400, message);
}

function shown(text: string): string {
  const cut = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  return JSON.stringify(cut);
}

/** A port in a request: 1-65535 (0 is "any port" for a listener, never a place to connect to). */
function parsePort(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(`${where}: the port ${shown(text)} is not a number from 1 to 65535.`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw bad(`${where}: port ${port} is out of range (1 to 65535).`);
  return port;
}

function checkedHost(host: string, where: string): string {
  const plain = unbracket(host);
  if (plain !== host || host.startsWith('[')) {
    // Only an IPv6 literal may be bracketed.
    if (plain === host) throw bad(`${where}: ${shown(host)} is not a bracketed IPv6 address.`);
  } else if (plain.includes(':')) {
    throw bad(`${where}: an IPv6 address must be written in brackets, e.g. [::1]:443.`);
  }
  const problem = hostProblem(plain);
  if (problem) throw bad(`${where}: ${problem}`);
  return plain;
}

function authorityOf(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** RFC 9112 §3.2.3: CONNECT's target is authority-form, uri-host ":" port (the port is required). */
export function parseConnectTarget(target: string): ProxyTarget {
  const where = `CONNECT ${shown(target)}`;
  const match = /^(\[[^\]]*\]|[^:/?#@[\]]*):([^:]*)$/.exec(target);
  if (!match) throw bad(`${where}: the target must be host:port (RFC 9112 §3.2.3), e.g. example.com:443.`);
  const host = checkedHost(match[1]!, where);
  const port = parsePort(match[2]!, where);
  return { host, port, authority: authorityOf(host, port) };
}

/**
 * RFC 9112 §3.2.2: a request to a proxy uses absolute-form, http://host[:port]/path[?query]. A
 * WebSocket client through a proxy sends its ws:// URL as http:// (RFC 6455 §4.1 item 3 speaks of
 * the proxy in a CONNECT; browsers send absolute-form http:// for ws://), and ws:// is read alike.
 */
export function parseAbsoluteTarget(target: string): { target: ProxyTarget; url: string; path: string } {
  const where = `the request target ${shown(target)}`;
  if (target.startsWith('/') || target === '*') {
    throw bad(`This is a proxy: ask for an absolute URL (GET http://host:port/path HTTP/1.1, RFC 9112 §3.2.2), not ${shown(target)}.`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(target)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'wss') throw new ProxyRequestError(501, `${where}: ${scheme}:// is reached through CONNECT (RFC 9110 §9.3.6), not by asking the proxy for the URL.`);
  if (scheme !== 'http' && scheme !== 'ws') throw bad(`${where} is not an http:// URL (absolute-form, RFC 9112 §3.2.2).`);
  if (/[\s\x00-\x1f\x7f]/.test(target)) throw bad(`${where} holds spaces or control characters.`);
  const rest = target.slice(scheme.length + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  let pathAndQuery = authorityEnd === -1 ? '/' : rest.slice(authorityEnd);
  if (authority.includes('@')) throw bad(`${where}: a URL with user information (user@host) is not accepted (RFC 9110 §4.2.4).`);
  if (pathAndQuery.includes('#')) throw bad(`${where}: a request target has no #fragment (RFC 9112 §3.2).`);
  if (pathAndQuery.startsWith('?')) pathAndQuery = `/${pathAndQuery}`;
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(authority);
  if (!match || match[1] === '') throw bad(`${where} has no host.`);
  const host = checkedHost(match[1]!, where);
  // An empty port (http://host:/) means the default, RFC 3986 §3.2.3.
  const port = match[2] === undefined || match[2] === '' ? 80 : parsePort(match[2], where);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    target: { host, port, authority: authorityOf(host, port) },
    url: `http://${port === 80 ? hostPart : `${hostPart}:${port}`}${pathAndQuery}`,
    path: pathAndQuery,
  };
}

/** RFC 9112 §6.3: how the body is delimited; a request that could be read two ways is refused (request smuggling, §6.3 item 3). */
export function requestBodyFraming(head: Pick<HttpHead, 'headers'>): BodyFraming {
  const encodings = headerValues(head, 'transfer-encoding');
  const lengths = headerValues(head, 'content-length');
  if (encodings.length > 0) {
    if (lengths.length > 0) throw bad('The request has both Transfer-Encoding and Content-Length (RFC 9112 §6.3: a proxy must not forward it).');
    const codings = encodings.flatMap((v) => splitList(v)).map((c) => c.toLowerCase());
    // §6.3 item 4: chunked must be the final coding, or the length cannot be determined.
    if (codings[codings.length - 1] !== 'chunked') throw bad(`Transfer-Encoding ${shown(encodings.join(', '))} does not end with chunked, so the body's end cannot be found (RFC 9112 §6.3).`);
    if (codings.filter((c) => c === 'chunked').length > 1) throw bad('Transfer-Encoding names chunked twice (RFC 9112 §7).');
    return { kind: 'chunked' };
  }
  if (lengths.length > 0) {
    const values = new Set(lengths.flatMap((v) => v.split(',')).map((v) => v.trim()));
    if (values.size !== 1) throw bad(`Content-Length has different values (${shown(lengths.join(', '))}), RFC 9112 §6.3.`);
    const [value] = values;
    if (!/^\d{1,15}$/.test(value!)) throw bad(`Content-Length ${shown(value!)} is not a number of bytes (RFC 9110 §8.6).`);
    const length = Number(value);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return { kind: 'none' };
}

/** RFC 6455 §4.1 items 2, 5 and 6: GET, Upgrade naming websocket, Connection naming Upgrade. */
export function isWebSocketUpgrade(head: Pick<HttpHead, 'method' | 'headers'>): boolean {
  if (head.method !== 'GET') return false;
  const upgrade = headerValues(head, 'upgrade').flatMap((v) => splitList(v)).map((v) => v.toLowerCase());
  const connection = headerValues(head, 'connection').flatMap((v) => splitList(v)).map((v) => v.toLowerCase());
  return upgrade.includes('websocket') && connection.includes('upgrade');
}

/** Reads and checks a request made to the proxy. Throws ProxyRequestError. */
export function parseProxyRequest(head: HttpHead): ProxyRequest {
  if (head.versionMajor !== 1) throw new ProxyRequestError(505, `${head.version} is not HTTP/1.x; this proxy speaks HTTP/1.1 (RFC 9112).`);
  if (head.method === 'CONNECT') return { kind: 'connect', target: parseConnectTarget(head.target) };
  const { target, url, path } = parseAbsoluteTarget(head.target);
  const webSocket = isWebSocketUpgrade(head);
  return { kind: 'http', target, url, path, webSocket, body: requestBodyFraming(head) };
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): meant for the proxy, never forwarded. Connection and the
 * fields it names, Proxy-Connection (old, but browsers still send it), Keep-Alive, TE, Upgrade
 * (unless kept for a WebSocket handshake), Proxy-Authorization and Proxy-Authenticate (§11.7).
 */
const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'];

/**
 * The headers to send on: hop-by-hop ones removed (keepUpgrade: Upgrade and Connection: Upgrade
 * stay for a WebSocket handshake), Host set from the target (RFC 9112 §3.2.2: a proxy "MUST
 * ignore the received Host header field (if any) and instead replace it with the host
 * information of the request-target"), and Connection: close (one exchange per connection).
 */
export function forwardedHeaders(headers: readonly HttpHeader[], hostHeader: string, options: { keepUpgrade?: boolean } = {}): HttpHeader[] {
  const named = headers.filter((h) => h.name.toLowerCase() === 'connection').flatMap((h) => splitList(h.value)).map((v) => v.toLowerCase());
  const drop = new Set([...HOP_BY_HOP, ...named, 'host']);
  if (options.keepUpgrade) drop.delete('upgrade');
  const out: HttpHeader[] = [{ name: 'Host', value: hostHeader }];
  for (const h of headers) if (!drop.has(h.name.toLowerCase())) out.push(h);
  out.push({ name: 'Connection', value: options.keepUpgrade ? 'Upgrade' : 'close' });
  return out;
}

/** The Host header for a target: the port only when it is not the scheme's default (RFC 9110 §7.2). */
export function hostHeaderFor(target: ProxyTarget, defaultPort: number): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}
