/**
 * The ✓/✗ on the response our own server sent, as a client would check it (RFC 6455 §4.1
 * items 1-4 and 6, core/response-checks.ts); the extension line keeps its own check
 * (extension-checks.ts). The client side has these already: its handshake event carries them.
 */
import { checkResponseHead } from '../../../core/response-checks.ts';
import type { HandshakeCheck } from '../../../core/handshake-types.ts';
import { headerValue, splitList } from '../../../core/http.ts';
import type { TracedHead } from '../../../core/trace.ts';

/** "HTTP/1.1 101 Switching Protocols" → 101 and "Switching Protocols". */
function statusOf(head: TracedHead): { status: number; reason: string } {
  const [, status = '', ...reason] = head.startLine.split(' ');
  return { status: Number(status), reason: reason.join(' ') };
}

export function ourResponseChecks(request: TracedHead | undefined, response: TracedHead | undefined, expectedAccept: string | undefined): HandshakeCheck[] {
  if (!response || response.kind !== 'response' || expectedAccept === undefined) return [];
  const offered = request ? splitList(headerValue(request, 'Sec-WebSocket-Protocol')) : [];
  return checkResponseHead({ ...statusOf(response), headers: response.headers }, expectedAccept, offered);
}
