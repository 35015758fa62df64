/**
 * How a proxy closes one leg when the other ends (the reverse proxy, src/core/proxy/). Each leg
 * is a WebSocket connection of its own, with its own closing handshake (RFC 6455 §7.1.2); this
 * module only says which Close the *other* leg gets. Pure: no sockets, no state.
 *
 *   on one leg                                   the other leg gets
 *   a Close with a status code (and reason)      a Close with that code and reason (§7.4.1 / IANA)
 *   a Close without a code (1005, §7.1.5)        a Close without a body (1005 is never sent, §7.4.1)
 *   client: broke a rule (it got 1002/1007/…)    upstream: 1001 Going Away
 *   client: TCP gone without a Close (1006)      upstream: 1001 Going Away
 *   upstream: broke a rule (it got 1002/1007/…)  client: 1014 Bad Gateway (IANA registry)
 *   upstream: TCP gone without a Close (1006)    client: 1014 Bad Gateway (IANA registry)
 *   the proxy stops                              both: 1001 Going Away
 *
 * Why these codes. §7.4.1: "1001 indicates that an endpoint is "going away", such as a server going
 * down or a browser having navigated away from a page." Seen from the upstream, a client that
 * vanished or was failed is exactly a browser gone from the page; 1011 is not ours to send there
 * (§7.4.1: "1011 indicates that a server is terminating the connection", and on the upstream leg
 * the proxy is the client). Seen from the client, the proxy is its server and did not go away: its
 * upstream failed. The IANA WebSocket Close Code Number Registry's 1014 Bad Gateway ("The server
 * was acting as a gateway or proxy and received an invalid response from the upstream server",
 * the WebSocket twin of HTTP's 502) says that, as the 502 does for an upstream that cannot be
 * reached during the handshake. The violation's own code (1002, 1007, 1009…) is never passed on:
 * it would tell the innocent side that *it* broke the rule.
 */

import { CloseCode, isValidWireCloseCode } from '../constants.ts';

/** Which leg: the client that connected to the proxy, or the upstream server the proxy connected to. */
export type LegSide = 'client' | 'upstream';

/** How a leg ended, as the relay saw it. */
export type LegEnding =
  /** The peer sent a Close frame (code null: no status code, reported as 1005, §7.1.5). */
  | { kind: 'close-frame'; code: number | null; reason: string }
  /** The peer broke a rule: our protocol failed the leg with closeCode (§7.1.7). */
  | { kind: 'violation'; closeCode: number; message: string }
  /** TCP closed or was reset without a Close frame (1006, §7.1.5), or the leg timed out. */
  | { kind: 'lost'; detail: string }
  /** The proxy itself is stopping. */
  | { kind: 'proxy-stopping' };

/** The Close to send on the other leg. code null: a Close frame with no body. */
export interface MappedClose {
  code: number | null;
  reason: string;
  /** Why this code, in words, with the reference. */
  why: string;
}

/** §5.5: a Close reason is at most 123 bytes of UTF-8 (125 minus the 2-byte code). */
const MAX_REASON_BYTES = 123;

/** Cuts a reason to 123 bytes of UTF-8 without splitting a character. */
export function fitCloseReason(text: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= MAX_REASON_BYTES) return text;
  let out = '';
  for (const ch of text) {
    if (encoder.encode(out + ch + '…').length > MAX_REASON_BYTES) break;
    out += ch;
  }
  return `${out}…`;
}

function otherName(side: LegSide): string {
  return side === 'client' ? 'client' : 'upstream server';
}

/** The Close for the leg opposite `side`, after `side` ended as `ending`. */
export function mapClose(side: LegSide, ending: LegEnding): MappedClose {
  switch (ending.kind) {
    case 'close-frame': {
      if (ending.code === null) {
        return { code: null, reason: '', why: `The ${otherName(side)} sent a Close without a status code (1005, §7.1.5): passed on as a Close without a body (1005 is never sent, §7.4.1).` };
      }
      if (!isValidWireCloseCode(ending.code)) {
        // Only a peer let through by the observe policy gets here: a code that may not be sent (§7.4).
        return failure(side, `sent Close ${ending.code}, a code that may not be sent (§7.4)`);
      }
      return { code: ending.code, reason: fitCloseReason(ending.reason), why: `The ${otherName(side)} sent Close ${ending.code}: passed on with its code and reason.` };
    }
    case 'violation':
      return failure(side, `broke the protocol (we closed it with ${ending.closeCode}): ${ending.message}`);
    case 'lost':
      return failure(side, `went away without a Close: ${ending.detail}`);
    case 'proxy-stopping':
      return { code: CloseCode.GoingAway, reason: 'proxy stopping', why: 'The proxy is stopping: 1001 Going Away (§7.4.1).' };
  }
}

function failure(side: LegSide, what: string): MappedClose {
  if (side === 'client') {
    return {
      code: CloseCode.GoingAway, reason: fitCloseReason(`client ${what}`),
      why: `The client ${what}: 1001 Going Away to the upstream server, as when a browser leaves the page (§7.4.1).`,
    };
  }
  return {
    code: CloseCode.BadGateway, reason: fitCloseReason(`upstream ${what}`),
    why: `The upstream server ${what}: 1014 Bad Gateway to the client (IANA WebSocket Close Code Number Registry).`,
  };
}
