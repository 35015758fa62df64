/**
 * What the battery's compressed cases (categories 12 and 13, in the spirit of Autobahn's) need
 * beyond plain frames: the messages they send, how each case negotiates permessage-deflate
 * (RFC 7692) in either role, and how a message goes on the wire compressed.
 *
 * - Messages: deflate-data.ts (renderer-safe, with the case's negotiation as data).
 * - Negotiation. Server under test: we offer what the case says (our client's offers, in order of
 *   preference) and confirm the answer as any client must (RFC 7692 §5, §7.1). Client under test:
 *   it offers what it likes, and we answer as the case says, Autobahn's way: accept the first
 *   offer that fits, asking for client_no_context_takeover or a client_max_window_bits value
 *   when the case does; a case that needs client_max_window_bits declines an offer without it
 *   (§7.1.2.2: a server may send it only when offered). A peer that declines, or offers nothing,
 *   leaves the case unimplemented (Autobahn's UNIMPLEMENTED), never failed: the extension is
 *   optional (RFC 7692 §5).
 */

import { concatBytes } from '../bytes.ts';
import { Opcode } from '../constants.ts';
import type { Extension, ExtensionElement, ServerExtensionNegotiator } from '../extensions/extension.ts';
import { PERMESSAGE_DEFLATE, serverDeflateNegotiator } from '../extensions/permessage-deflate.ts';
import type { DeflateAnswer } from './deflate-data.ts';

// ------------------------------------------------------------------------------------ negotiation

function hasParam(offer: ExtensionElement, name: string): boolean {
  return offer.params.some((p) => p.name.toLowerCase() === name);
}

/**
 * The server side of a case: for each offer (the client's order, RFC 7692 §5), the first answer
 * that fits it. An answer that limits client_max_window_bits fits only an offer that has the
 * parameter. RFC 7692 §7.1.2.2: "If a received extension negotiation offer doesn't have the
 * "client_max_window_bits" extension parameter, the corresponding extension negotiation response
 * to the offer MUST NOT include the "client_max_window_bits" extension parameter."
 */
export function caseServerNegotiator(answers: readonly DeflateAnswer[]): ServerExtensionNegotiator {
  const accepting = answers.map((a) => ({
    answer: a,
    negotiator: serverDeflateNegotiator({
      ...(a.clientNoContextTakeover ? { clientNoContextTakeover: true } : {}),
      ...(a.clientMaxWindowBits !== undefined ? { clientMaxWindowBits: a.clientMaxWindowBits } : {}),
    }),
  }));
  const base = accepting[0]!.negotiator;
  return {
    name: PERMESSAGE_DEFLATE,
    rsv: base.rsv,
    accept(offer) {
      let firstRefusal: { reason: string; rfcSection: string } | null = null;
      for (const { answer, negotiator } of accepting) {
        if (answer.clientMaxWindowBits !== undefined && !hasParam(offer, 'client_max_window_bits')) {
          firstRefusal ??= {
            reason: `Declined: this case answers with client_max_window_bits=${answer.clientMaxWindowBits}, which a server may send only to an offer that has client_max_window_bits, and this offer has not.`,
            rfcSection: 'RFC 7692 §7.1.2.2',
          };
          continue;
        }
        const verdict = negotiator.accept(offer);
        if (verdict.ok) return verdict;
        firstRefusal ??= verdict;
      }
      return { ok: false, ...(firstRefusal ?? { reason: 'Declined.', rfcSection: 'RFC 7692 §5' }) };
    },
  };
}

// ------------------------------------------------------------------------------------ sending

/**
 * The frames of one data message sent compressed with the agreed extension (RFC 7692 §6.1, the
 * payload transformed as §7.2.1 says), its compressed payload cut into frames of `fragmentSize`
 * octets (Autobahn's auto-fragmentation; 0: one frame), RSV1 on the first frame only. An
 * extension may decline to compress (then the frames are plain, RSV1 clear, as §6.1 allows).
 */
export function compressedFrames(extension: Extension, opcode: number, payload: Uint8Array, fragmentSize = 0): Array<{ opcode: number; payload: Uint8Array; fin: boolean; rsv1: boolean }> {
  const encoded = extension.encodeMessage(opcode, [payload], false);
  const data = encoded ? concatBytes(encoded.payloads) : payload;
  const size = fragmentSize > 0 ? fragmentSize : Math.max(1, data.length);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) pieces.push(data.subarray(at, at + size));
  if (pieces.length === 0) pieces.push(data);
  return pieces.map((p, i) => ({ opcode: i === 0 ? opcode : Opcode.Continuation, payload: p, fin: i === pieces.length - 1, rsv1: i === 0 && encoded !== null }));
}

