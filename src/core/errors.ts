/**
 * Every way a peer can break RFC 6455, in one table: a stable code, the close code the
 * connection fails with, the RFC section, and the plain words the UI shows.
 * Mapping errors to close codes happens here and nowhere else (DESIGN.md, example 4).
 */

import { CloseCode } from './constants.ts';

export interface ViolationSpec {
  closeCode: number;
  rfcSection: string;
  /** The RFC's own words for the rule, shown next to the violation. */
  rule: string;
}

export const violationTable = {
  WS_ERR_UNMASKED_CLIENT_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.1', rule: 'A server MUST close the connection upon receiving a frame that is not masked.' },
  WS_ERR_MASKED_SERVER_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.1', rule: 'A client MUST close a connection if it detects a masked frame.' },
  WS_ERR_RESERVED_BITS: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', rule: 'RSV1, RSV2, RSV3 MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.' },
  WS_ERR_RESERVED_OPCODE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', rule: 'If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.' },
  WS_ERR_CONTROL_FRAME_TOO_LONG: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5', rule: 'All control frames MUST have a payload length of 125 bytes or less.' },
  WS_ERR_FRAGMENTED_CONTROL_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5', rule: 'All control frames MUST NOT be fragmented.' },
  WS_ERR_UNEXPECTED_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.4', rule: 'A continuation frame is only valid after a text or binary frame with FIN clear.' },
  WS_ERR_EXPECTED_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.4', rule: 'The fragments of one message MUST NOT be interleaved with a new data message.' },
  WS_ERR_LENGTH_MSB_SET: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.2', rule: 'The most significant bit of the 64-bit payload length MUST be 0.' },
  WS_ERR_INVALID_UTF8: { closeCode: CloseCode.InvalidPayload, rfcSection: '§8.1', rule: 'When an endpoint is to interpret a byte stream as UTF-8 but finds that it is not a valid UTF-8 stream, it MUST _Fail the WebSocket Connection_.' },
  WS_ERR_INVALID_CLOSE_CODE: { closeCode: CloseCode.ProtocolError, rfcSection: '§7.4', rule: 'Only status codes 1000-1003, 1007-1014 and 3000-4999 may be sent in a Close frame.' },
  WS_ERR_CLOSE_PAYLOAD_ONE_BYTE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5.1', rule: 'If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer representing a status code.' },
  WS_ERR_INVALID_CLOSE_REASON: { closeCode: CloseCode.InvalidPayload, rfcSection: '§5.5.1', rule: 'The close reason is not guaranteed to be human readable but MUST be valid UTF-8.' },
  WS_ERR_MESSAGE_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§7.4.1', rule: '1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process.' },
  // §10.4: "Such an implementation SHOULD impose a limit on frame sizes and the total message size
  // after reassembly from multiple frames." Both limits are checked on the header, before the payload arrives.
  WS_ERR_FRAME_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§10.4', rule: 'Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.' },
  // 1008, not 1009: a message of many tiny fragments need not be big at all (it can be 0 bytes), so
  // 1009 "a message that is too big" (§7.4.1) would mislead; the fragment count is this endpoint's
  // policy, and §7.4.1 gives 1008 for "a message that violates its policy" when no more specific code fits.
  WS_ERR_TOO_MANY_FRAGMENTS: { closeCode: CloseCode.PolicyViolation, rfcSection: '§10.4', rule: 'A malicious endpoint can try to exhaust its peer\'s memory or mount a denial-of-service attack by sending a long stream of small frames that are a part of a fragmented message.' },
  // permessage-deflate (RFC 7692). RSV1 with no extension negotiated stays WS_ERR_RESERVED_BITS.
  WS_ERR_RSV1_ON_CONTINUATION: { closeCode: CloseCode.ProtocolError, rfcSection: 'RFC 7692 §6.1', rule: 'An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and non-first fragments of a data message. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_.' },
  WS_ERR_RSV1_ON_CONTROL_FRAME: { closeCode: CloseCode.ProtocolError, rfcSection: 'RFC 7692 §6.1', rule: 'An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and non-first fragments of a data message. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_.' },
  // RFC 7692 says to _Fail the WebSocket Connection_ without naming a code. 1007 ("data within a
  // message that was not consistent with the type of the message", RFC 6455 §7.4.1) is what ws
  // sends for an inflate error; python-websockets sends 1002 (its ProtocolError). The frames were
  // well formed: it is the message's data that cannot be read, so 1007.
  WS_ERR_INFLATE_FAILED: { closeCode: CloseCode.InvalidPayload, rfcSection: 'RFC 7692 §7.2.2', rule: 'A compressed message is decompressed with DEFLATE after appending 0x00 0x00 0xff 0xff; data that is not valid DEFLATE cannot be, and the connection is failed.' },
  // Checked while inflating, never after: inflation stops one byte past the limit.
  WS_ERR_INFLATED_TOO_BIG: { closeCode: CloseCode.MessageTooBig, rfcSection: '§7.4.1, §10.4', rule: '1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process (here: once inflated).' },
  WS_ERR_DATA_AFTER_CLOSE: { closeCode: CloseCode.ProtocolError, rfcSection: '§5.5.1', rule: 'After sending a Close frame, the endpoint MUST NOT send any more data frames.' },
} as const satisfies Record<string, ViolationSpec>;

export type ViolationCode = keyof typeof violationTable;

/** A protocol violation by the peer: what the UI flags and what picks the close code. */
export class ProtocolViolation extends Error {
  readonly code: ViolationCode;
  readonly closeCode: number;
  readonly rfcSection: string;
  readonly rule: string;

  constructor(code: ViolationCode, message: string) {
    super(message);
    this.name = 'ProtocolViolation';
    this.code = code;
    const spec: ViolationSpec = violationTable[code];
    this.closeCode = spec.closeCode;
    this.rfcSection = spec.rfcSection;
    this.rule = spec.rule;
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
