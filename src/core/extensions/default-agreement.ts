/**
 * permessage-deflate agreed with its defaults, without a handshake: what the byte stepper's
 * "permessage-deflate agreed" switch puts in force. It is exactly what a real negotiation gives
 * when the client offers `permessage-deflate` with no parameters and the server accepts it with
 * none (RFC 7692 §7.1): both directions keep their window from message to message (context
 * takeover) and use windows of 2^15 = 32,768 bytes. Run through the same negotiators as a real
 * handshake, so the result cannot drift from them.
 */

import type { Role } from '../trace.ts';
import type { Extension, ExtensionElement } from './extension.ts';
import { clientDeflateNegotiator, PERMESSAGE_DEFLATE, serverDeflateNegotiator } from './permessage-deflate.ts';

const bareElement: ExtensionElement = { name: PERMESSAGE_DEFLATE, params: [] };

/** permessage-deflate with no parameters, as agreed by the endpoint of this role. */
export function defaultDeflateAgreement(role: Role): Extension {
  const verdict = role === 'server'
    ? serverDeflateNegotiator({}).accept(bareElement)
    // A client that offers no client_max_window_bits: the bare offer the server answers above.
    : clientDeflateNegotiator({ clientMaxWindowBits: false }).confirm(bareElement, [bareElement]);
  if (!verdict.ok) throw new Error(`The default permessage-deflate agreement was refused: ${verdict.reason}`);
  return verdict.create();
}
