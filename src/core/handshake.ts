/**
 * The opening handshake (RFC 6455 §4): one check per rule, each with its own HTTP status,
 * and the Sec-WebSocket-Accept computation with every intermediate step for the UI.
 */

import { createHash, randomBytes } from 'node:crypto';
import { WEBSOCKET_GUID, WEBSOCKET_VERSION } from './constants.ts';
import { HandshakeError } from './errors.ts';
import type { AcceptComputation, HandshakeCheck } from './handshake-types.ts';
import {
  formatRequestHead, formatResponseHead, headerValue, headerValues, splitList, statusReasons,
  type HttpHead, type HttpHeader,
} from './http.ts';
import { checkHandshakeOptions } from './http-tokens.ts';
import { checkResponseHead, hasToken } from './response-checks.ts';
import {
  confirmAsClient, negotiateAsServer, type ClientConfirmation, type ClientExtensionNegotiator, type ServerExtensionNegotiator, type ServerNegotiation,
} from './extensions/extension.ts';

export type { AcceptComputation, HandshakeCheck } from './handshake-types.ts';

/** RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). */
export function computeAccept(key: string): AcceptComputation {
  const concatenated = key + WEBSOCKET_GUID;
  const digest = createHash('sha1').update(concatenated, 'latin1').digest();
  return { key, concatenated, sha1Hex: digest.toString('hex'), accept: digest.toString('base64') };
}

/** RFC 6455 §4.1: "a randomly selected 16-byte value that has been base64-encoded". */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

/** Does a comma-separated header contain this token (ASCII case-insensitive)? */

/** Sec-WebSocket-Key must be base64 of exactly 16 bytes: 22 characters and "==". */
export function describeKey(key: string | undefined): { ok: boolean; detail: string } {
  if (key === undefined) return { ok: false, detail: 'Sec-WebSocket-Key is missing.' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key) || key.length % 4 !== 0) {
    return { ok: false, detail: `Sec-WebSocket-Key "${key}" is not valid base64.` };
  }
  const decoded = Buffer.from(key, 'base64').length;
  if (decoded !== 16) return { ok: false, detail: `Sec-WebSocket-Key decodes to ${decoded} bytes, needs 16.` };
  return { ok: true, detail: `"${key}" decodes to 16 bytes.` };
}

export interface ServerHandshakeOptions {
  /** Subprotocols the server speaks, in its order of preference. */
  subprotocols?: readonly string[];
  /** If set, only these Origin values are accepted (others get 403). */
  allowedOrigins?: readonly string[];
  /** Extensions the server speaks (permessage-deflate); none: every offer is declined. */
  extensions?: readonly ServerExtensionNegotiator[];
  /** More headers for the 101 (a proxy passes on the upstream's Set-Cookie and the like), after the generated ones. */
  responseHeaders?: readonly HttpHeader[];
}

export interface ServerHandshakeResult {
  checks: HandshakeCheck[];
  /** Present when the request is acceptable. */
  accept?: AcceptComputation;
  subprotocol: string | null;
  /** The first failed check, as the error the response reports. */
  error?: HandshakeError;
  /** The extension negotiation (RFC 6455 §9.1): offers, verdicts, and the agreed extension to start. */
  extensions: ServerNegotiation;
  /** The bytes to send: 101 or the error response. */
  response: Uint8Array;
  responseHeaders: HttpHeader[];
  status: number;
}

/** Runs every server-side rule of RFC 6455 §4.2.1 against a request and builds the answer (§4.2.2). */
export function answerClientHandshake(request: HttpHead, options: ServerHandshakeOptions = {}): ServerHandshakeResult {
  const checks: HandshakeCheck[] = [];
  const check = (c: HandshakeCheck) => checks.push(c);

  check({
    rule: 'method', label: 'Method is GET', ok: request.method === 'GET', status: 405,
    detail: request.method === 'GET' ? 'GET' : `The method is ${request.method}; the handshake must be a GET request.`,
    rfcSection: '§4.2.1 (1)',
  });
  const versionOk = request.versionMajor > 1 || (request.versionMajor === 1 && request.versionMinor >= 1);
  check({
    rule: 'http-version', label: 'HTTP/1.1 or later', ok: versionOk, status: 505,
    detail: versionOk ? request.version : `The request is ${request.version}; the handshake needs HTTP/1.1 or higher.`,
    rfcSection: '§4.2.1 (1)',
  });
  const hosts = headerValues(request, 'Host');
  check({
    rule: 'host', label: 'Host header present', ok: hosts.length === 1 && hosts[0] !== '', status: 400, header: 'Host',
    detail: hosts.length === 1 ? `Host: ${hosts[0]}` : hosts.length === 0 ? 'The Host header is missing.' : `Host appears ${hosts.length} times.`,
    rfcSection: '§4.2.1 (2)',
  });
  const upgrade = headerValue(request, 'Upgrade');
  const upgradeOk = hasToken(upgrade, 'websocket');
  check({
    rule: 'upgrade', label: 'Upgrade: websocket', ok: upgradeOk, status: 426, header: 'Upgrade',
    detail: upgradeOk ? `Upgrade: ${upgrade}` : upgrade === undefined
      ? 'The Upgrade header is missing: this is a plain HTTP request, not a WebSocket handshake.'
      : `Upgrade is "${upgrade}"; it must contain "websocket" (case-insensitive).`,
    rfcSection: '§4.2.1 (3)',
  });
  const connection = headerValue(request, 'Connection');
  const connectionOk = hasToken(connection, 'upgrade');
  check({
    rule: 'connection', label: 'Connection includes Upgrade', ok: connectionOk, status: 400, header: 'Connection',
    detail: connectionOk ? `Connection: ${connection}` : connection === undefined
      ? 'The Connection header is missing.'
      : `Connection is "${connection}"; its list must contain the token "Upgrade" (case-insensitive).`,
    rfcSection: '§4.2.1 (4)',
  });
  const keys = headerValues(request, 'Sec-WebSocket-Key');
  const keyInfo = keys.length > 1 ? { ok: false, detail: `Sec-WebSocket-Key appears ${keys.length} times.` } : describeKey(keys[0]);
  check({ rule: 'key', label: 'Sec-WebSocket-Key decodes to 16 bytes (base64; whether they are random cannot be checked)', ok: keyInfo.ok, status: 400, header: 'Sec-WebSocket-Key', detail: keyInfo.detail, rfcSection: '§4.2.1 (5)' });
  const version = headerValue(request, 'Sec-WebSocket-Version');
  const versionHeaderOk = version === WEBSOCKET_VERSION;
  check({
    rule: 'version', label: 'Sec-WebSocket-Version: 13', ok: versionHeaderOk, status: 426, header: 'Sec-WebSocket-Version',
    detail: versionHeaderOk ? 'Version 13' : version === undefined ? 'Sec-WebSocket-Version is missing.' : `Sec-WebSocket-Version is "${version}"; this server speaks 13.`,
    rfcSection: '§4.2.1 (6)',
  });
  const origin = headerValue(request, 'Origin');
  if (options.allowedOrigins) {
    const originOk = origin !== undefined && options.allowedOrigins.includes(origin);
    check({
      rule: 'origin', label: 'Origin is allowed', ok: originOk, status: 403, header: 'Origin',
      detail: originOk ? `Origin: ${origin}` : `Origin ${origin === undefined ? 'is missing' : `"${origin}" is not in the allow-list`}.`,
      rfcSection: '§4.2.2 (4), §10.2',
    });
  } else {
    check({
      rule: 'origin', label: 'Origin (information)', ok: true, informational: true, header: 'Origin',
      detail: origin === undefined ? 'No Origin header (a non-browser client).' : `Origin: ${origin} (no allow-list set, any origin is accepted).`,
      rfcSection: '§4.2.1 (7), §10.2',
    });
  }

  const offered = splitList(headerValue(request, 'Sec-WebSocket-Protocol'));
  const supported = options.subprotocols ?? [];
  const subprotocol = supported.find((p) => offered.includes(p)) ?? null;
  check({
    rule: 'subprotocol', label: 'Subprotocol negotiation', ok: true, informational: true, header: 'Sec-WebSocket-Protocol',
    detail: offered.length === 0 ? 'The client offered no subprotocol.'
      : subprotocol ? `Offered ${offered.join(', ')}; chose ${subprotocol}.`
      : `Offered ${offered.join(', ')}; the server speaks none of them, so it answers without Sec-WebSocket-Protocol.`,
    rfcSection: '§4.2.2 (4) and (5.5), §11.3.4',
  });
  // §11.3.2: the header "MAY appear multiple times in an HTTP request (which is logically the same as
  // a single |Sec-WebSocket-Extensions| header field that contains all values" (the RFC's parenthesis
  // is never closed); §9.1 negotiates what it lists.
  const extensions = negotiateAsServer(headerValue(request, 'Sec-WebSocket-Extensions'), options.extensions ?? []);
  check({
    rule: 'extensions', label: 'Extensions', ok: true, informational: true, header: 'Sec-WebSocket-Extensions',
    detail: extensions.summary,
    rfcSection: extensions.create ? '§9.1, RFC 7692 §5' : '§9.1',
  });

  const failed = checks.find((c) => !c.ok);
  if (failed) {
    const extra: Record<string, string> = {};
    if (failed.rule === 'version') extra['Sec-WebSocket-Version'] = WEBSOCKET_VERSION;
    if (failed.rule === 'upgrade') {
      extra['Upgrade'] = 'websocket';
      extra['Sec-WebSocket-Version'] = WEBSOCKET_VERSION;
    }
    if (failed.rule === 'method') extra['Allow'] = 'GET';
    const error = new HandshakeError(`HANDSHAKE_${failed.rule.toUpperCase().replace(/-/g, '_')}`, failed.status!, failed.detail, failed.rfcSection, extra);
    const { bytes, headers } = errorResponse(error);
    return { checks, subprotocol: null, error, response: bytes, responseHeaders: headers, status: error.status, extensions: { ...extensions, create: null } };
  }

  const accept = computeAccept(keys[0]!);
  const headers: HttpHeader[] = [
    { name: 'Upgrade', value: 'websocket' },
    { name: 'Connection', value: 'Upgrade' },
    { name: 'Sec-WebSocket-Accept', value: accept.accept },
  ];
  if (subprotocol) headers.push({ name: 'Sec-WebSocket-Protocol', value: subprotocol });
  if (extensions.responseHeader) headers.push({ name: 'Sec-WebSocket-Extensions', value: extensions.responseHeader });
  headers.push(...(options.responseHeaders ?? []));
  return { checks, accept, subprotocol, response: formatResponseHead(101, statusReasons[101]!, headers), responseHeaders: headers, status: 101, extensions };
}

/** An HTTP error response with a plain-text body explaining the failure. */
export function errorResponse(error: HandshakeError): { bytes: Uint8Array; headers: HttpHeader[] } {
  // A section of another RFC names it (431 is RFC 6585's); ours are RFC 6455's.
  const section = error.rfcSection.startsWith('RFC ') ? error.rfcSection : `RFC 6455 ${error.rfcSection}`;
  const body = new TextEncoder().encode(`${error.message} (${section})\n`);
  const headers: HttpHeader[] = [
    ...Object.entries(error.headers).map(([name, value]) => ({ name, value })),
    { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    { name: 'Content-Length', value: String(body.length) },
    { name: 'Connection', value: 'close' },
  ];
  const head = formatResponseHead(error.status, statusReasons[error.status] ?? 'Error', headers);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return { bytes, headers };
}

export interface ClientRequestOptions {
  /** host[:port] for the Host header. */
  host: string;
  /** Request target, e.g. "/chat?room=1". */
  path: string;
  key?: string;
  subprotocols?: readonly string[];
  /** Sec-WebSocket-Extensions to offer (e.g. "permessage-deflate; client_max_window_bits"). */
  extensions?: string;
  /**
   * Extra headers (Origin, Authorization, ...). One that names a header this function generates
   * (Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version, and Sec-WebSocket-Protocol
   * when subprotocols are given, Sec-WebSocket-Extensions when extensions are) replaces it in place, so a user can send a key or version of
   * their choice; a second one of the same name is sent as well (a deliberate duplicate).
   */
  headers?: readonly HttpHeader[];
}

export interface ClientRequest {
  bytes: Uint8Array;
  /** The Sec-WebSocket-Key actually sent: the server's Accept is checked against it (§4.1 (4)). */
  key: string;
  /** The subprotocols actually offered, from the Sec-WebSocket-Protocol header(s) sent (§4.1 (6)). */
  subprotocols: string[];
  /** The Sec-WebSocket-Extensions actually sent (several joined with ", "), null if none: the response is checked against it. */
  extensions: string | null;
  headers: HttpHeader[];
}

/**
 * RFC 6455 §4.1: the client's opening handshake. Throws HandshakeOptionError for a subprotocol
 * or header that cannot be written (see http-tokens.ts): nothing malformed reaches the wire.
 */
export function buildClientRequest(options: ClientRequestOptions): ClientRequest {
  checkHandshakeOptions(options);
  const headers: HttpHeader[] = [
    { name: 'Host', value: options.host },
    { name: 'Upgrade', value: 'websocket' },
    { name: 'Connection', value: 'Upgrade' },
    { name: 'Sec-WebSocket-Key', value: options.key ?? generateKey() },
    { name: 'Sec-WebSocket-Version', value: WEBSOCKET_VERSION },
  ];
  if (options.subprotocols && options.subprotocols.length > 0) {
    headers.push({ name: 'Sec-WebSocket-Protocol', value: options.subprotocols.join(', ') });
  }
  if (options.extensions) headers.push({ name: 'Sec-WebSocket-Extensions', value: options.extensions });
  const generated = headers.length;
  const replaced = new Set<number>();
  for (const h of options.headers ?? []) {
    const lower = h.name.toLowerCase();
    const at = headers.findIndex((g, i) => i < generated && !replaced.has(i) && g.name.toLowerCase() === lower);
    if (at >= 0) {
      headers[at] = { name: h.name, value: h.value };
      replaced.add(at);
    } else {
      headers.push({ name: h.name, value: h.value });
    }
  }
  return {
    bytes: formatRequestHead('GET', options.path, headers),
    key: headerValues({ headers }, 'Sec-WebSocket-Key')[0] ?? '',
    subprotocols: splitList(headerValue({ headers }, 'Sec-WebSocket-Protocol')),
    extensions: headerValue({ headers }, 'Sec-WebSocket-Extensions') ?? null,
    headers,
  };
}

export interface ClientCheckResult {
  checks: HandshakeCheck[];
  accept: AcceptComputation;
  subprotocol: string | null;
  error?: HandshakeError;
  /** The response's extensions checked against the offers (absent before a 101). */
  extensions?: ClientConfirmation;
}

/** What the client offered, for checking the response's Sec-WebSocket-Extensions. */
export interface OfferedExtensions {
  /** The header value actually sent (null: none). */
  offered: string | null;
  /** The extensions this client implements. */
  negotiators: readonly ClientExtensionNegotiator[];
}

/** RFC 6455 §4.1, the client's validation of the server's response (items 1-6). */
export function checkServerResponse(response: HttpHead, key: string, requestedSubprotocols: readonly string[] = [], offeredExtensions: OfferedExtensions = { offered: null, negotiators: [] }): ClientCheckResult {
  const checks: HandshakeCheck[] = [];
  const accept = computeAccept(key);
  let extensionResult: ClientConfirmation | undefined;
  checks.push(...checkResponseHead(response, accept.accept, requestedSubprotocols, () => {
    extensionResult = confirmAsClient(offeredExtensions.offered, headerValues(response, 'Sec-WebSocket-Extensions'), offeredExtensions.negotiators);
    return {
      rule: 'extensions', label: 'Extensions are ones the client offered, with valid parameters', ok: extensionResult.ok, header: 'Sec-WebSocket-Extensions',
      detail: extensionResult.ok ? extensionResult.summary : extensionResult.reason,
      rfcSection: extensionResult.ok ? '§4.1 (5)' : `§4.1 (5); ${extensionResult.rfcSection}`,
    };
  }));
  const failed = checks.find((c) => !c.ok);
  const protocol = headerValue(response, 'Sec-WebSocket-Protocol') ?? null;
  return {
    checks, accept, subprotocol: failed ? null : protocol,
    ...(extensionResult ? { extensions: extensionResult } : {}),
    ...(failed ? { error: new HandshakeError(`HANDSHAKE_${failed.rule.toUpperCase()}`, response.status, failed.detail, failed.rfcSection) } : {}),
  };
}
