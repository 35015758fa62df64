/**
 * RFC 6455 §4.1, items 1-4 and 6: the client's checks of the server's opening-handshake
 * response, on the head alone (no crypto, no extension negotiator), so the client runs them
 * (handshake.ts checkServerResponse) and the app's Handshake tab shows the same ✓/✗ on the
 * response our own server sent. Item 5 (extensions) needs the offers: the caller passes it in.
 */
import type { HandshakeCheck } from './handshake-types.ts';
import { headerValue, splitList, type HttpHeader } from './http.ts';

export interface ResponseHeadLike {
  status: number;
  reason: string;
  headers: HttpHeader[];
}

/** Whether a comma-separated header has this token, in any letter case (RFC 9110 §5.6.1). */
export function hasToken(value: string | undefined, token: string): boolean {
  return splitList(value).some((t) => t.toLowerCase() === token.toLowerCase());
}

/**
 * The checks in the RFC's order: status, Upgrade, Connection, Sec-WebSocket-Accept, then the
 * extension check if given (item 5), then the subprotocol. Only the status for a non-101 answer.
 */
export function checkResponseHead(response: ResponseHeadLike, expectedAccept: string, requestedSubprotocols: readonly string[], extensionCheck?: () => HandshakeCheck): HandshakeCheck[] {
  const checks: HandshakeCheck[] = [];
  const check = (c: HandshakeCheck) => checks.push(c);
  check({
    rule: 'status', label: 'Status 101 Switching Protocols', ok: response.status === 101,
    detail: response.status === 101 ? '101 Switching Protocols'
      : `The server answered ${response.status} ${response.reason}; only 101 completes a WebSocket handshake.`,
    rfcSection: '§4.1 (1)',
  });
  if (response.status !== 101) return checks;
  const upgrade = headerValue(response, 'Upgrade');
  check({
    rule: 'upgrade', label: 'Upgrade: websocket', ok: hasToken(upgrade, 'websocket'), header: 'Upgrade',
    detail: hasToken(upgrade, 'websocket') ? `Upgrade: ${upgrade}` : `Upgrade is ${upgrade === undefined ? 'missing' : `"${upgrade}"`}; it must be "websocket".`,
    rfcSection: '§4.1 (2)',
  });
  const connection = headerValue(response, 'Connection');
  check({
    rule: 'connection', label: 'Connection: Upgrade', ok: hasToken(connection, 'upgrade'), header: 'Connection',
    detail: hasToken(connection, 'upgrade') ? `Connection: ${connection}` : `Connection is ${connection === undefined ? 'missing' : `"${connection}"`}; it must contain "Upgrade".`,
    rfcSection: '§4.1 (3)',
  });
  const got = headerValue(response, 'Sec-WebSocket-Accept');
  check({
    rule: 'accept', label: 'Sec-WebSocket-Accept matches the key', ok: got === expectedAccept, header: 'Sec-WebSocket-Accept',
    detail: got === expectedAccept ? `${got} = base64(SHA-1(key + GUID))`
      : `Expected ${expectedAccept}, got ${got === undefined ? 'nothing' : `"${got}"`}.`,
    rfcSection: '§4.1 (4)',
  });
  if (extensionCheck) check(extensionCheck());
  const protocol = headerValue(response, 'Sec-WebSocket-Protocol');
  const protocolOk = protocol === undefined || requestedSubprotocols.includes(protocol);
  check({
    rule: 'subprotocol', label: 'Subprotocol is one the client offered', ok: protocolOk, header: 'Sec-WebSocket-Protocol',
    detail: protocol === undefined
      ? (requestedSubprotocols.length ? `Offered ${requestedSubprotocols.join(', ')}; the server chose none.` : 'No subprotocol.')
      : protocolOk ? `Chose ${protocol}.` : `The server chose "${protocol}", which the client did not offer.`,
    rfcSection: '§4.1 (6)',
  });
  return checks;
}
