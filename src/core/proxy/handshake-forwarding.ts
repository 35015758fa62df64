/**
 * The opening handshake through a proxy: which of the client's request headers go upstream,
 * which are rewritten, and what the client gets back when the upstream refuses or cannot be
 * reached. Pure functions over parsed heads; every change is listed so the trace can show it.
 *
 * - Hop-by-hop headers (RFC 9110 §7.6.1: Connection and the headers it names, Proxy-Connection,
 *   Keep-Alive, TE, Transfer-Encoding, Upgrade) belong to one connection and are not forwarded.
 * - Per-leg WebSocket headers are made anew on the upstream leg by our client: the key and its
 *   accept (§4.1, §4.2.2: each handshake proves itself with its own), the version (§4.1 item 9),
 *   and Sec-WebSocket-Extensions (§9.1: negotiated per connection, so each leg agrees its own).
 * - Sec-WebSocket-Protocol is forwarded: the client's offer is offered upstream, and the
 *   upstream's choice is the one answered to the client (§4.1 item 10, §4.2.2 (5.5)).
 * - Host names the target by default (RFC 9110 §7.2: the authority of the target URI), or what
 *   --host says; Origin is kept by default (§10.2: it is the client's, and the server may check
 *   it), set with --origin or removed with --no-origin.
 */

import { headerValue, formatResponseHead, splitList, statusReasons, type HttpHead, type HttpHeader } from '../http.ts';
import { headerNameProblem, headerValueProblem } from '../http-tokens.ts';

export interface HandshakeRewrite {
  /** Host header to send upstream; default: the target's host[:port]. */
  host?: string;
  /** Origin: a value to send, null to remove it, undefined to keep the client's. */
  origin?: string | null;
}

export interface HeaderChange {
  header: string;
  action: 'rewritten' | 'removed' | 'added';
  from?: string;
  to?: string;
  why: string;
}

export interface ForwardedRequest {
  /** Headers to give our client for the upstream request (Host included only when it must replace the generated one). */
  headers: HttpHeader[];
  /** What differs from the client's request, for the trace. */
  changes: HeaderChange[];
}

const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authorization'];
const PER_LEG: Record<string, string> = {
  'sec-websocket-key': 'a fresh key for the upstream leg (§4.1 item 7)',
  'sec-websocket-accept': 'computed per leg (§4.2.2 (5.4))',
  'sec-websocket-version': 'our client sends 13 (§4.1 item 9)',
  'sec-websocket-extensions': 'extensions are negotiated on each leg on its own (§9.1)',
};

/** The client's request headers as they go upstream, with every change listed. */
export function forwardRequestHeaders(request: Pick<HttpHead, 'headers'>, targetHostHeader: string, rewrite: HandshakeRewrite = {}): ForwardedRequest {
  const headers: HttpHeader[] = [];
  const changes: HeaderChange[] = [];
  // RFC 9110 §7.6.1: "the connection options" named in Connection are hop-by-hop too.
  const named = new Set(splitList(headerValue(request, 'Connection')).map((n) => n.toLowerCase()));
  let hostSeen = false;
  let originSeen = false;
  for (const h of request.headers) {
    const lower = h.name.toLowerCase();
    if (lower === 'host') {
      if (hostSeen) continue;
      hostSeen = true;
      const to = rewrite.host ?? targetHostHeader;
      // The generated Host (the target's) goes out unless --host replaces it.
      if (rewrite.host !== undefined) headers.push({ name: 'Host', value: rewrite.host });
      if (to !== h.value) changes.push({ header: 'Host', action: 'rewritten', from: h.value, to, why: rewrite.host !== undefined ? '--host' : 'the target\'s host (default)' });
      continue;
    }
    if (lower === 'origin') {
      originSeen = true;
      if (rewrite.origin === null) changes.push({ header: h.name, action: 'removed', from: h.value, why: '--no-origin' });
      else if (rewrite.origin !== undefined) {
        headers.push({ name: h.name, value: rewrite.origin });
        if (rewrite.origin !== h.value) changes.push({ header: h.name, action: 'rewritten', from: h.value, to: rewrite.origin, why: '--origin' });
      } else headers.push(h);
      continue;
    }
    if (HOP_BY_HOP.includes(lower) || named.has(lower)) {
      if (lower !== 'connection' && lower !== 'upgrade') changes.push({ header: h.name, action: 'removed', from: h.value, why: 'hop-by-hop (RFC 9110 §7.6.1)' });
      continue;
    }
    if (lower in PER_LEG) {
      if (lower === 'sec-websocket-extensions') changes.push({ header: h.name, action: 'removed', from: h.value, why: PER_LEG[lower]! });
      continue;
    }
    if (lower === 'content-length') continue; // a handshake GET has no body to forward
    headers.push(h);
  }
  if (!hostSeen && rewrite.host !== undefined) headers.push({ name: 'Host', value: rewrite.host });
  if (!originSeen && typeof rewrite.origin === 'string') {
    headers.push({ name: 'Origin', value: rewrite.origin });
    changes.push({ header: 'Origin', action: 'added', to: rewrite.origin, why: '--origin' });
  }
  return { headers, changes };
}

/**
 * The upstream's 101 headers the client's 101 carries too: end-to-end ones (Set-Cookie, Server,
 * X-…). Not the hop-by-hop ones, nor those our server leg writes for its own handshake (Upgrade,
 * Connection, Sec-WebSocket-Accept, -Protocol, -Extensions), nor any that could not be written
 * safely (http-tokens.ts).
 */
export function passOnResponseHeaders(response: Pick<HttpHead, 'headers'>): HttpHeader[] {
  const named = new Set(splitList(headerValue(response, 'Connection')).map((n) => n.toLowerCase()));
  const ours = ['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions', 'sec-websocket-version', 'content-length'];
  return response.headers.filter((h) => {
    const lower = h.name.toLowerCase();
    return !HOP_BY_HOP.includes(lower) && !named.has(lower) && !ours.includes(lower) && headerNameProblem(h.name) === null && headerValueProblem(h.name, h.value) === null;
  });
}

/** One line per change, for a trace note. */
export function describeChanges(changes: readonly HeaderChange[]): string {
  if (changes.length === 0) return 'forwarded as sent';
  return changes.map((c) => c.action === 'rewritten' ? `${c.header} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)} (${c.why})`
    : c.action === 'added' ? `${c.header}: ${JSON.stringify(c.to)} added (${c.why})`
    : `${c.header} removed (${c.why})`).join('; ');
}

/**
 * The upstream's refusal as the client gets it: its status line and headers, hop-by-hop ones
 * dropped and "Connection: close" added (the proxy closes after it), then the body as received.
 */
export function refusalForClient(response: HttpHead, body: Uint8Array): Uint8Array {
  const named = new Set(splitList(headerValue(response, 'Connection')).map((n) => n.toLowerCase()));
  const headers = response.headers.filter((h) => {
    const lower = h.name.toLowerCase();
    // Transfer-Encoding stays: it describes the body, which is passed on as it came.
    return lower === 'transfer-encoding' || !(HOP_BY_HOP.includes(lower) || named.has(lower));
  });
  headers.push({ name: 'Connection', value: 'close' });
  return withBody(formatResponseHead(response.status, response.reason || statusReasons[response.status] || 'Error', headers), body);
}

/**
 * The proxy's own answer in one plain line: 502 Bad Gateway (RFC 9110 §15.6.3) when the upstream
 * cannot be reached, 504 Gateway Timeout (§15.6.5) when it does not answer in time, 503 Service
 * Unavailable (§15.6.4) when the proxy is at its connection cap, 400 for a request that cannot be
 * forwarded.
 */
export function plainResponse(status: 400 | 502 | 503 | 504, message: string, extraHeaders: readonly HttpHeader[] = []): Uint8Array {
  const reasons = { 400: 'Bad Request', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
  const body = new TextEncoder().encode(`${message.replace(/[\r\n]+/g, ' ')}\n`);
  const head = formatResponseHead(status, reasons[status], [
    ...extraHeaders,
    { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    { name: 'Content-Length', value: String(body.length) },
    { name: 'Connection', value: 'close' },
  ]);
  return withBody(head, body);
}

function withBody(head: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * How much of a refusal's body has arrived: done once Content-Length bytes are in (or at once for
 * statuses without a body, RFC 9110 §6.4.1); otherwise it ends when the upstream closes.
 */
export function refusalBodyComplete(response: HttpHead, received: number): boolean {
  if (response.status === 204 || response.status === 304 || (response.status >= 100 && response.status < 200)) return true;
  const length = headerValue(response, 'Content-Length');
  if (length === undefined || !/^\d+$/.test(length.trim()) || headerValue(response, 'Transfer-Encoding') !== undefined) return false;
  return received >= Number(length.trim());
}

/**
 * The request target sent upstream: the target URL's path, then what the client asked for below
 * the path the proxy listens on, then both queries. Listening on "/" with target "/socket": a
 * client's "/" goes to "/socket", "/?token=1" to "/socket?token=1", "/room/2" to "/socket/room/2".
 */
export function upstreamRequestTarget(targetPathAndQuery: string, listenPath: string, requestTarget: string): string {
  // The origin-form (or an absolute-form, from a forward proxy) read as a URL: path and query only.
  const asked = new URL(requestTarget, 'http://client.invalid');
  const [targetPath = '/', targetQuery = ''] = splitAtQuery(targetPathAndQuery);
  const listenBase = listenPath.split('?')[0]!.replace(/\/+$/, '');
  let rest = asked.pathname;
  if (listenBase && (rest === listenBase || rest.startsWith(`${listenBase}/`))) rest = rest.slice(listenBase.length);
  if (rest === '/') rest = '';
  const path = rest === '' ? targetPath : `${targetPath.replace(/\/+$/, '')}${rest}`;
  const query = [targetQuery, asked.search.slice(1)].filter((q) => q !== '').join('&');
  return query ? `${path}?${query}` : path;
}

function splitAtQuery(pathAndQuery: string): [string, string] {
  const at = pathAndQuery.indexOf('?');
  return at < 0 ? [pathAndQuery || '/', ''] : [pathAndQuery.slice(0, at) || '/', pathAndQuery.slice(at + 1)];
}
