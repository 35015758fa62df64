/**
 * WebSocket extensions (RFC 6455 §9): the layer between frames and messages.
 *
 * An extension has two halves:
 *  - negotiation, in the opening handshake: the client offers elements of Sec-WebSocket-Extensions
 *    (ClientExtensionNegotiator.offers), the server judges each offer in the client's order of
 *    preference and accepts one or declines (ServerExtensionNegotiator.accept), and the client
 *    checks the server's answer against what it offered (ClientExtensionNegotiator.confirm);
 *  - data, once open (Extension): an outgoing message's payload is transformed before it is cut
 *    into frames, an incoming message's payload as its frames arrive, and the extension owns
 *    the RSV bits it gives a meaning to (RFC 6455 §5.2: all others stay 0).
 *
 * protocol.ts only knows this interface; permessage-deflate.ts (RFC 7692) is its first user.
 * The functions below run the negotiation for every extension a side supports.
 */

import type {
  TracedAgreedExtension, TracedExtensionNegotiation, TracedExtensionOffer, TracedFrameDeflate, TracedMessageCompression,
} from '../trace.ts';
import { formatExtensionElement, formatExtensionHeader, parseExtensionHeader, type ExtensionElement } from './extension-header.ts';

export type { ExtensionElement, ExtensionParam } from './extension-header.ts';

/** Which reserved bits of the frame header an extension defines (RFC 6455 §5.2). */
export interface RsvBits {
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
}

/** An outgoing message after the extension: the payloads of its frames, in order. */
export interface EncodedMessage {
  /** One payload per frame (as many as pieces were given). */
  payloads: Uint8Array[];
  /** RSV bits for the message's first frame (RFC 7692 §6: RSV1 on the first frame only). */
  rsv: RsvBits;
  /** Trace details for each frame (same order as payloads), when asked for. */
  frames?: TracedFrameDeflate[];
  /** Trace details for the message, when asked for. */
  message?: TracedMessageCompression;
}

/** What one frame of an incoming transformed message gave. */
export interface DecodedChunk {
  /** The plain bytes, in order. */
  chunks: Uint8Array[];
  /** Their total length. */
  length: number;
}

/** An agreed extension, working on the data of one connection. */
export interface Extension {
  readonly name: string;
  /** The RSV bits it gives a meaning to: a frame with another RSV bit set fails with 1002. */
  readonly rsv: RsvBits;
  /** The agreed parameters, explained (for the trace). */
  readonly agreed: TracedAgreedExtension;

  /**
   * Outgoing: transforms a data message, given as the pieces its frames will carry (one piece
   * for an unfragmented message). Null: send it unchanged (e.g. a message under a threshold).
   */
  encodeMessage(opcode: number, pieces: readonly Uint8Array[], trace: boolean): EncodedMessage | null;

  /**
   * Optional: does the transformation's heavy work for an outgoing message off the event loop
   * (zlib in libuv's thread pool), so an I/O adapter can keep serving while a large message is
   * compressed. The protocol stays synchronous: once the promise resolves, the adapter sends the
   * message as usual, and the next encodeMessage() call, which must be for these same pieces
   * (nothing else may be encoded in between), returns the prepared result. Null: not worth it
   * here (a control message, one under a threshold); encodeMessage() does it all then.
   */
  prepareMessage?(opcode: number, pieces: readonly Uint8Array[]): Promise<void> | null;

  /** Incoming: a data message begins with these RSV bits; true if this extension transforms it. */
  beginMessage(rsv: RsvBits): boolean;
  /**
   * Incoming: a chunk of a transformed message's payload (unmasked, as it arrives). Returns the
   * plain bytes it gave; throws ProtocolViolation when the data is invalid or the plain message
   * would go past maxOutput bytes (checked while decoding, never after).
   */
  decodeChunk(chunk: Uint8Array, maxOutput: number): DecodedChunk;
  /** Incoming: the frame ended (fin: the message ended). Returns what the end gave (e.g. a flush). */
  endFrame(fin: boolean, maxOutput: number): DecodedChunk;
  /** Incoming: trace details of the message that just ended (after endFrame(true)). */
  describeIncoming(compressed: Uint8Array, compressedSize: number, size: number): TracedMessageCompression;
  /** The tail the receiver appends (RFC 7692 §7.2.2), for the last frame's trace; null: none. */
  readonly incomingTail: 'appended' | null;

  /**
   * Outgoing: forget what earlier messages put in our compression window, because the peer's
   * window holds bytes ours never saw (a frame compressed on its own went out). `reason` goes
   * into the next message's trace. Optional: an extension without a window has nothing to forget.
   */
  restartOutgoingWindow?(reason: string): void;

  /** Frees what it holds (zlib streams). Safe to call twice. */
  close(): void;
}

/** How one offer is judged by a server, or one response by a client. */
export type NegotiationVerdict =
  | {
      ok: true; reason: string; rfcSection: string; agreed: TracedAgreedExtension; response: ExtensionElement; create: () => Extension;
      /** Client: which of the offers given to confirm() the response fits (the first that does). */
      offerIndex?: number;
    }
  | { ok: false; reason: string; rfcSection: string };

/** A server's side of one extension. */
export interface ServerExtensionNegotiator {
  readonly name: string;
  readonly rsv: RsvBits;
  /** Judges one offer of this extension; accepting builds the response element. */
  accept(offer: ExtensionElement): NegotiationVerdict;
}

/** A client's side of one extension. */
export interface ClientExtensionNegotiator {
  readonly name: string;
  readonly rsv: RsvBits;
  /** The elements to offer, in order of preference. */
  offers(): ExtensionElement[];
  /** Checks the server's element against the offers of this extension actually sent. */
  confirm(response: ExtensionElement, offered: readonly ExtensionElement[]): NegotiationVerdict;
}

function overlaps(a: RsvBits, b: RsvBits): boolean {
  return (a.rsv1 && b.rsv1) || (a.rsv2 && b.rsv2) || (a.rsv3 && b.rsv3);
}

function lower(name: string): string {
  return name.toLowerCase();
}

export interface ServerNegotiation {
  trace: TracedExtensionNegotiation;
  /** The Sec-WebSocket-Extensions value to answer with; null: none (no extension in use). */
  responseHeader: string | null;
  /** Starts the agreed extension once the handshake succeeds; null: none agreed. */
  create: (() => Extension) | null;
  /** One line for the handshake checklist. */
  summary: string;
}

/**
 * Server: judges the client's offers in its order of preference (RFC 7692 §5: "The order of
 * elements is important as it specifies the client's preference"), accepting for each extension
 * the first offer it can, and declining the rest. A header that breaks the §9.1 grammar is
 * declined as a whole (the handshake itself goes on, without extensions).
 */
export function negotiateAsServer(offeredHeader: string | undefined, negotiators: readonly ServerExtensionNegotiator[]): ServerNegotiation {
  const trace: TracedExtensionNegotiation = { offered: offeredHeader ?? null, offers: [], response: null, agreed: null };
  if (offeredHeader === undefined || offeredHeader.trim() === '') {
    return { trace, responseHeader: null, create: null, summary: 'The client offered no extension.' };
  }
  const parsed = parseExtensionHeader(offeredHeader);
  if (!parsed.ok) {
    trace.error = `${parsed.error} (RFC 6455 §9.1)`;
    return { trace, responseHeader: null, create: null, summary: `Sec-WebSocket-Extensions is malformed: ${parsed.error}; every offer is declined, and the connection goes on without extensions (RFC 6455 §9.1).` };
  }
  const accepted: Array<{ negotiator: ServerExtensionNegotiator; verdict: Extract<NegotiationVerdict, { ok: true }> }> = [];
  parsed.elements.forEach((element, index) => {
    const base = { index, name: element.name, params: element.params.map((p) => ({ ...p })) };
    const negotiator = negotiators.find((n) => lower(n.name) === lower(element.name));
    let entry: TracedExtensionOffer;
    if (!negotiator) {
      entry = { ...base, verdict: 'unsupported', reason: `This endpoint implements no extension named "${element.name}".`, rfcSection: 'RFC 6455 §9.1' };
    } else if (accepted.some((a) => a.negotiator === negotiator)) {
      entry = { ...base, verdict: 'not-chosen', reason: `An earlier (preferred) offer of ${negotiator.name} was accepted; a server accepts at most one.`, rfcSection: 'RFC 7692 §5' };
    } else if (accepted.some((a) => overlaps(a.negotiator.rsv, negotiator.rsv))) {
      entry = { ...base, verdict: 'declined', reason: `It would use the same RSV bit as ${accepted[0]!.negotiator.name}, already accepted.`, rfcSection: 'RFC 7692 §5' };
    } else {
      const verdict = negotiator.accept(element);
      if (verdict.ok) {
        accepted.push({ negotiator, verdict });
        entry = { ...base, verdict: 'accepted', reason: verdict.reason, rfcSection: verdict.rfcSection };
      } else {
        entry = { ...base, verdict: 'declined', reason: verdict.reason, rfcSection: verdict.rfcSection };
      }
    }
    trace.offers.push(entry);
  });
  const first = accepted[0];
  if (!first) {
    return { trace, responseHeader: null, create: null, summary: `Offered ${formatExtensionHeader(parsed.elements)}; none accepted, so RSV bits stay 0 and payloads are sent as they are.` };
  }
  // Only one extension is implemented (permessage-deflate), so at most one is agreed.
  const responseHeader = formatExtensionElement(first.verdict.response);
  trace.response = responseHeader;
  trace.agreed = first.verdict.agreed;
  const offerIndex = trace.offers.find((o) => o.verdict === 'accepted')!.index;
  return {
    trace, responseHeader, create: first.verdict.create,
    summary: `Accepted offer ${offerIndex + 1} of ${parsed.elements.length}: answering "${responseHeader}".`,
  };
}

export type ClientConfirmation =
  | { ok: true; trace: TracedExtensionNegotiation; create: (() => Extension) | null; summary: string }
  | { ok: false; trace: TracedExtensionNegotiation; reason: string; rfcSection: string };

/**
 * Client: checks the server's Sec-WebSocket-Extensions against the offers actually sent (a user
 * header may have replaced the generated one). RFC 6455 §4.1 (5): an extension "not present in
 * the client's handshake" fails the connection; RFC 7692 §5: "If a server gives an invalid
 * response, such as accepting a PMCE that the client did not offer, the client MUST _Fail the
 * WebSocket Connection_."
 */
export function confirmAsClient(offeredHeader: string | null, responseValues: readonly string[], negotiators: readonly ClientExtensionNegotiator[]): ClientConfirmation {
  const trace: TracedExtensionNegotiation = { offered: offeredHeader, offers: [], response: responseValues.length ? responseValues.join(', ') : null, agreed: null };
  const offeredParse = offeredHeader ? parseExtensionHeader(offeredHeader) : null;
  const offered = offeredParse?.ok ? offeredParse.elements : [];
  trace.offers = offered.map((e, index) => ({ index, name: e.name, params: e.params.map((p) => ({ ...p })), verdict: 'not-chosen', reason: 'The server did not choose it.', rfcSection: 'RFC 7692 §5' }));
  const failure = (reason: string, rfcSection: string): ClientConfirmation => ({ ok: false, trace, reason, rfcSection });
  if (responseValues.length === 0) {
    return { ok: true, trace, create: null, summary: offered.length ? `Offered ${formatExtensionHeader(offered)}; the server accepted none (no compression).` : 'No extensions.' };
  }
  // RFC 6455 §11.3.2: Sec-WebSocket-Extensions "MUST NOT appear more than once in an HTTP response".
  if (responseValues.length > 1) return failure(`The response carries Sec-WebSocket-Extensions ${responseValues.length} times; it may appear at most once in a response.`, 'RFC 6455 §11.3.2');
  const parsed = parseExtensionHeader(responseValues[0]!);
  if (!parsed.ok) return failure(`The server's Sec-WebSocket-Extensions is malformed: ${parsed.error}.`, 'RFC 6455 §9.1');
  if (parsed.elements.length > 1) {
    return failure(`The server accepted ${parsed.elements.length} extensions (${formatExtensionHeader(parsed.elements)}); this client offered one kind, and accepts one.`, 'RFC 7692 §5');
  }
  const element = parsed.elements[0]!;
  const sameName = offered.filter((o) => lower(o.name) === lower(element.name));
  const negotiator = negotiators.find((n) => lower(n.name) === lower(element.name));
  if (sameName.length === 0) {
    return failure(`The server selected "${formatExtensionElement(element)}", which this client did not offer.`, 'RFC 6455 §4.1 (5), RFC 7692 §5');
  }
  if (!negotiator) {
    return failure(`The server selected "${element.name}", which a user header offered but this client does not implement.`, 'RFC 6455 §4.1 (5)');
  }
  const verdict = negotiator.confirm(element, sameName);
  if (!verdict.ok) return failure(verdict.reason, verdict.rfcSection);
  trace.agreed = verdict.agreed;
  // Which of our offers the response fits (the first that does; the server does not say).
  const matched = offered.indexOf(sameName[verdict.offerIndex ?? 0]!);
  const entry = trace.offers[matched];
  if (entry) {
    entry.verdict = 'accepted';
    entry.reason = verdict.reason;
    entry.rfcSection = verdict.rfcSection;
  }
  return { ok: true, trace, create: verdict.create, summary: `The server accepted ${formatExtensionElement(element)}.` };
}
