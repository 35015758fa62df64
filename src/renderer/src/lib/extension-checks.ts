/**
 * ✓/✗ for the Sec-WebSocket-Extensions line of each HTTP head in the handshake view, from the
 * extension negotiation in the trace (RFC 6455 §9.1, RFC 7692 §5, §7). The request: is the
 * client's list of offers well-formed. The response: does the answer fit an offer (the client
 * side checks that itself, in its checklist; here it is worked out for the server side too).
 */
import type { HandshakeCheck } from '../../../core/handshake-types.ts';
import type { TracedExtensionNegotiation } from '../../../core/trace.ts';

const HEADER = 'Sec-WebSocket-Extensions';

/** The offers, one by one: "1 accepted, 2 declined". */
function verdictSummary(negotiation: TracedExtensionNegotiation): string {
  return negotiation.offers.map((o) => `offer ${o.index + 1} (${o.name}) ${o.verdict.replace('-', ' ')}`).join(', ');
}

/** The request's Sec-WebSocket-Extensions: the client's offers, checked for the §9.1 grammar. */
export function requestExtensionCheck(negotiation: TracedExtensionNegotiation | undefined): HandshakeCheck | null {
  if (!negotiation || negotiation.offered === null) return null;
  if (negotiation.error) {
    return {
      rule: 'extensions-offer', label: 'The offers are well-formed', ok: false, header: HEADER, rfcSection: 'RFC 6455 §9.1',
      detail: `Malformed: ${negotiation.error}. Every offer is declined, and the handshake goes on without extensions.`,
    };
  }
  const n = negotiation.offers.length;
  return {
    rule: 'extensions-offer', label: 'The offers are well-formed', ok: true, header: HEADER, rfcSection: 'RFC 6455 §9.1, RFC 7692 §5',
    detail: `${n} offer${n === 1 ? '' : 's'}, in the client's order of preference: ${verdictSummary(negotiation)}.`,
  };
}

/**
 * The response's Sec-WebSocket-Extensions on our server's side: what it accepted. (A client
 * checks the server's answer itself: the handshake's own 'extensions' check is used there.)
 */
export function responseExtensionCheck(negotiation: TracedExtensionNegotiation | undefined): HandshakeCheck | null {
  if (!negotiation || negotiation.response === null) return null;
  const accepted = negotiation.offers.find((o) => o.verdict === 'accepted');
  return {
    rule: 'extensions-answer', label: 'The answer fits an offer', ok: accepted !== undefined && negotiation.agreed !== null, header: HEADER,
    rfcSection: 'RFC 7692 §5, §7.1',
    detail: accepted
      ? `Accepts offer ${accepted.index + 1} of ${negotiation.offers.length}, with parameters that offer allows; at most one offer of an extension is accepted.`
      : 'The answer names an extension no offer was accepted for.',
  };
}
