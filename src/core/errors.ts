/**
 * Every way a peer can break RFC 6455, in one table: a stable code, the close code the
 * connection fails with, the RFC section, and the plain words the UI shows.
 * Mapping errors to close codes happens here and nowhere else (DESIGN.md, example 4).
 */

import { CloseCode } from './constants.ts';

export interface ViolationSpec {
  closeCode: number;
  rfcSection: string;
  /**
   * The rule. With verbatim, the RFC's own words (RFC 6455's unless rfcSection names another RFC),
   * shown in quotation marks; test/core/rfc-quotes.test.ts checks each against the RFC's text.
   * Without, a paraphrase, never shown in quotation marks.
   */
  rule: string;
  verbatim: boolean;
}

export const violationTable = {
  WS_ERR_UNMASKED_CLIENT_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.1', verbatim: true, rule: 'The server MUST close the connection upon receiving a frame that is not masked.' },
  WS_ERR_MASKED_SERVER_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.1', verbatim: true, rule: 'A client MUST close a connection if it detects a masked frame.' },
  WS_ERR_RESERVED_BITS: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', verbatim: true, rule: 'RSV1, RSV2, RSV3: 1 bit each MUST be 0 unless an extension is negotiated that defines meanings for non-zero values. If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_.' },
  WS_ERR_RESERVED_OPCODE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', verbatim: true, rule: 'If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.' },
  WS_ERR_CONTROL_FRAME_TOO_LONG: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5', verbatim: true, rule: 'All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.' },
  WS_ERR_FRAGMENTED_CONTROL_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5', verbatim: true, rule: 'All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.' },
  WS_ERR_UNEXPECTED_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.4', verbatim: false, rule: 'A continuation frame (opcode 0) continues a text or binary message whose last frame had FIN clear; with no such message open there is nothing to continue.' },
  WS_ERR_EXPECTED_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.4', verbatim: true, rule: 'The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving.' },
  WS_ERR_LENGTH_MSB_SET: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', verbatim: true, rule: 'If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.' },
  WS_ERR_INVALID_UTF8: { closeCode: CloseCode.InvalidPayload, rfcSection: '§8.1', verbatim: true, rule: 'When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.' },
  WS_ERR_INVALID_CLOSE_CODE: { closeCode: CloseCode.ProtocolError, rfcSection: '§7.4.1, §7.4.2, §11.7', verbatim: false, rule: 'The RFC names no list of codes a receiver must reject; this endpoint fails the connection on any code outside 1000-1003, 1007-1014 and 3000-4999, stricter than the RFC\'s text: §7.4.2 says 0-999 are not used and 1000-2999 are reserved for this protocol and its extensions; §7.4.1 defines 1000-1003 and 1007-1011, only reserves 1004, and says 1005, 1006 and 1015 MUST NOT be set by an endpoint; 1012-1014 were added later to the IANA registry §11.7 creates; 3000-4999 are for libraries, frameworks, applications and private use.' },
  WS_ERR_CLOSE_PAYLOAD_ONE_BYTE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5.1', verbatim: true, rule: 'If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code with value /code/ defined in Section 7.4.' },
  WS_ERR_INVALID_CLOSE_REASON: { closeCode: CloseCode.InvalidPayload, rfcSection: '§5.5.1, §8.1', verbatim: false, rule: 'After the status code, a Close frame\'s body MAY carry a reason as UTF-8-encoded data (§5.5.1); an endpoint that finds it is not valid UTF-8 MUST _Fail the WebSocket Connection_ (§8.1).' },
  WS_ERR_MESSAGE_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§7.4.1', verbatim: true, rule: '1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process.' },
  // §10.4: "Such an implementation SHOULD impose a limit on frame sizes and the total message size
  // after reassembly from multiple frames." Both limits are checked on the header, before the payload arrives.
  WS_ERR_FRAME_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§10.4', verbatim: true, rule: 'Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.' },
  // 1008, not 1009: a message of many tiny fragments need not be big at all (it can be 0 bytes), so
  // 1009 "a message that is too big" (§7.4.1) would mislead; the fragment count is this endpoint's
  // policy, and §7.4.1 gives 1008 for "a message that violates its policy" when no more specific code fits.
  WS_ERR_TOO_MANY_FRAGMENTS: { closeCode: CloseCode.PolicyViolation, rfcSection: '§10.4', verbatim: true, rule: 'a malicious endpoint can try to exhaust its peer\'s memory or mount a denial-of-service attack by sending either a single big frame (e.g., of size 2**60) or by sending a long stream of small frames that are a part of a fragmented message.' },
  // permessage-deflate (RFC 7692). RSV1 with no extension negotiated stays WS_ERR_RESERVED_BITS.
  // RFC 7692's text is not here to check a quotation against (only RFC 6455's is): its rules are
  // paraphrased, never shown as its words (test/core/rfc7692-paraphrases.test.ts).
  WS_ERR_RSV1_ON_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: 'RFC 7692 §6.1', verbatim: false, rule: 'RSV1 is the Per-Message Compressed bit, and it belongs on the first frame of a data message only: an endpoint must not set it on a control frame or on a continuation frame, and an endpoint that receives such a frame fails the connection.' },
  WS_ERR_RSV1_ON_CONTROL_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: 'RFC 7692 §6.1', verbatim: false, rule: 'RSV1 is the Per-Message Compressed bit, and it belongs on the first frame of a data message only: an endpoint must not set it on a control frame or on a continuation frame, and an endpoint that receives such a frame fails the connection.' },
  // RFC 7692 says to _Fail the WebSocket Connection_ without naming a code. 1007 ("data within a
  // message that was not consistent with the type of the message", RFC 6455 §7.4.1) is what ws
  // sends for an inflate error; python-websockets sends 1002 (its ProtocolError). The frames were
  // well formed: it is the message's data that cannot be read, so 1007.
  WS_ERR_INFLATE_FAILED: { closeCode: CloseCode.InvalidPayload, rfcSection: 'RFC 7692 §7.2.2', verbatim: false, rule: 'A compressed message is decompressed with DEFLATE after appending 0x00 0x00 0xff 0xff; data that is not valid DEFLATE cannot be, and the connection is failed.' },
  // Checked while inflating, never after: inflation stops one byte past the limit.
  WS_ERR_INFLATED_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§7.4.1', verbatim: true, rule: '1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process.' },
  WS_ERR_DATA_AFTER_CLOSE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5.1', verbatim: true, rule: 'The application MUST NOT send any more data frames after sending a Close frame.' },
} as const satisfies Record<string, ViolationSpec>;

export type ViolationCode = keyof typeof violationTable;

/**
 * A violation's rule as the UI shows it: in quotation marks when it is the RFC's own words,
 * marked as a paraphrase otherwise. Unknown codes (e.g. from an older recording) count as paraphrases.
 */
export function displayRule(code: string, rule: string): string {
  const spec: ViolationSpec | undefined = Object.hasOwn(violationTable, code) ? violationTable[code as ViolationCode] : undefined;
  return spec?.verbatim && spec.rule === rule ? `“${rule}”` : `In other words: ${rule}`;
}

/** A protocol violation by the peer: what the UI flags and what picks the close code. */
export class ProtocolViolation extends Error {
  readonly code: ViolationCode;
  readonly closeCode: number;
  readonly rfcSection: string;
  readonly rule: string;
  readonly verbatim: boolean;

  constructor(code: ViolationCode, message: string) {
    super(message);
    this.name = 'ProtocolViolation';
    this.code = code;
    const spec: ViolationSpec = violationTable[code];
    this.closeCode = spec.closeCode;
    this.rfcSection = spec.rfcSection;
    this.rule = spec.rule;
    this.verbatim = spec.verbatim;
  }
}

/** A handshake that cannot proceed: on the server it becomes an HTTP error response. */
export class HandshakeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly rfcSection: string;
  /** Extra headers for the error response (e.g. Sec-WebSocket-Version: 13 with 426). */
  readonly headers: Record<string, string>;

  constructor(code: string, status: number, message: string, rfcSection: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HandshakeError';
    this.code = code;
    this.status = status;
    this.rfcSection = rfcSection;
    this.headers = headers;
  }
}
