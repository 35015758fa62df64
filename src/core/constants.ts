/**
 * Protocol constants of RFC 6455, each with the plain-words explanation the UI shows.
 * Pure data: no node or electron import, so the renderer can use it too.
 */

/** RFC 6455 §1.3: the GUID the server appends to Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.1: "The value of this header field MUST be 13." */
export const WEBSOCKET_VERSION = '13';

/** RFC 6455 §5.2 opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type OpcodeValue = number;

export interface OpcodeInfo {
  name: string;
  /** Control frames have the most significant bit of the opcode set (RFC 6455 §5.5). */
  control: boolean;
  reserved: boolean;
  meaning: string;
  rfcSection: string;
}

export function describeOpcode(opcode: number): OpcodeInfo {
  switch (opcode) {
    case 0x0:
      return { name: 'continuation', control: false, reserved: false, meaning: 'Continues a fragmented message started by an earlier text or binary frame.', rfcSection: '§5.4' };
    case 0x1:
      return { name: 'text', control: false, reserved: false, meaning: 'A text message: the message as a whole must be valid UTF-8; one frame of a fragmented message may carry a partial UTF-8 sequence.', rfcSection: '§5.6' };
    case 0x2:
      return { name: 'binary', control: false, reserved: false, meaning: 'A binary message; the payload is arbitrary bytes.', rfcSection: '§5.6' };
    case 0x8:
      return { name: 'close', control: true, reserved: false, meaning: 'Starts or answers the closing handshake; may carry a 2-byte status code and a UTF-8 reason.', rfcSection: '§5.5.1' };
    case 0x9:
      return { name: 'ping', control: true, reserved: false, meaning: 'A keep-alive or liveness check; the peer must answer with a pong carrying the same payload.', rfcSection: '§5.5.2' };
    case 0xa:
      return { name: 'pong', control: true, reserved: false, meaning: 'The answer to a ping (same payload), or an unsolicited heartbeat.', rfcSection: '§5.5.3' };
    default: {
      const control = (opcode & 0x8) !== 0;
      return {
        name: `reserved-${control ? 'control' : 'data'}-0x${opcode.toString(16)}`,
        control,
        reserved: true,
        meaning: control
          ? 'Reserved for further control frames (0xB-0xF); no extension negotiated here defines it.'
          : 'Reserved for further non-control frames (0x3-0x7); no extension negotiated here defines it.',
        rfcSection: '§5.2',
      };
    }
  }
}

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

export function isKnownOpcode(opcode: number): boolean {
  return opcode === 0 || opcode === 1 || opcode === 2 || opcode === 8 || opcode === 9 || opcode === 10;
}

/** RFC 6455 §7.4.1 close codes, plus the IANA-registered 1012-1014. */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatusReceived: 1005,
  AbnormalClosure: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  TlsHandshake: 1015,
} as const;

export interface CloseCodeInfo {
  name: string;
  meaning: string;
  rfcSection: string;
  /** May this code appear in a Close frame on the wire? */
  sendable: boolean;
}

const closeCodeTable: Record<number, CloseCodeInfo> = {
  1000: { name: 'Normal Closure', meaning: 'The purpose for which the connection was established has been fulfilled.', rfcSection: '§7.4.1', sendable: true },
  1001: { name: 'Going Away', meaning: 'An endpoint is going away, such as a server going down or a browser navigating away.', rfcSection: '§7.4.1', sendable: true },
  1002: { name: 'Protocol Error', meaning: 'The endpoint is terminating the connection due to a protocol error.', rfcSection: '§7.4.1', sendable: true },
  1003: { name: 'Unsupported Data', meaning: 'The endpoint received a type of data it cannot accept (e.g. binary where only text is understood).', rfcSection: '§7.4.1', sendable: true },
  1004: { name: 'Reserved', meaning: 'Reserved; the meaning might be defined in the future. The RFC only reserves it: its MUST NOT (never set in a Close frame) is for 1005, 1006 and 1015. This app does not send it.', rfcSection: '§7.4.1', sendable: false },
  1005: { name: 'No Status Received', meaning: 'Reported locally when a Close frame carried no status code. Must not be sent in a Close frame.', rfcSection: '§7.4.1', sendable: false },
  1006: { name: 'Abnormal Closure', meaning: 'Reported locally when the connection closed without a Close frame. Must not be sent in a Close frame.', rfcSection: '§7.4.1', sendable: false },
  1007: { name: 'Invalid Payload Data', meaning: 'The endpoint received data inconsistent with the message type (e.g. non-UTF-8 in a text message).', rfcSection: '§7.4.1', sendable: true },
  1008: { name: 'Policy Violation', meaning: 'The endpoint received a message that violates its policy. It is the generic code: used when no more specific one fits (such as 1003 or 1009), or to avoid revealing the details of the policy.', rfcSection: '§7.4.1', sendable: true },
  1009: { name: 'Message Too Big', meaning: 'The endpoint received a message too big for it to process.', rfcSection: '§7.4.1', sendable: true },
  1010: { name: 'Mandatory Extension', meaning: 'Sent by a client only: it expected the server to agree to one or more extensions and the handshake response did not; the reason should list the extensions it needs. A server never sends it: it can refuse the handshake instead.', rfcSection: '§7.4.1', sendable: true },
  1011: { name: 'Internal Error', meaning: 'The server met an unexpected condition that prevented it from fulfilling the request.', rfcSection: '§7.4.1', sendable: true },
  1012: { name: 'Service Restart', meaning: 'The service is restarting; a client may reconnect, after a randomised delay. Registered with IANA after RFC 6455, in the registry its §11.7 created.', rfcSection: '§11.7 (IANA registry)', sendable: true },
  1013: { name: 'Try Again Later', meaning: 'The service is overloaded or otherwise unable to serve now; try again later. Registered with IANA after RFC 6455, in the registry its §11.7 created.', rfcSection: '§11.7 (IANA registry)', sendable: true },
  1014: { name: 'Bad Gateway', meaning: 'A gateway or proxy received an invalid response from the server it forwards to (like HTTP 502). Registered with IANA after RFC 6455, in the registry its §11.7 created.', rfcSection: '§11.7 (IANA registry)', sendable: true },
  1015: { name: 'TLS Handshake', meaning: 'Reported locally when the TLS handshake failed. Must not be sent in a Close frame.', rfcSection: '§7.4.1', sendable: false },
};

export function describeCloseCode(code: number): CloseCodeInfo {
  const known = closeCodeTable[code];
  if (known) return known;
  if (code < 1000) return { name: 'Invalid', meaning: 'Codes 0-999 are not used (RFC 6455 §7.4.2).', rfcSection: '§7.4.2', sendable: false };
  if (code < 3000) return { name: 'Reserved for the protocol', meaning: 'Codes 1000-2999 are reserved for this protocol and its extensions; this one is not defined.', rfcSection: '§7.4.2', sendable: false };
  if (code < 4000) return { name: 'Registered (libraries, frameworks)', meaning: 'Codes 3000-3999 are registered with IANA by libraries, frameworks and applications.', rfcSection: '§7.4.2', sendable: true };
  if (code < 5000) return { name: 'Private use', meaning: 'Codes 4000-4999 are for private use by applications.', rfcSection: '§7.4.2', sendable: true };
  return { name: 'Invalid', meaning: 'Close codes above 4999 are not defined.', rfcSection: '§7.4.2', sendable: false };
}

/**
 * May this status code appear on the wire (this app's rule, stricter than the RFC's text)?
 * §7.4.1: 1004 is only reserved; 1005, 1006 and 1015 MUST NOT be set in a Close frame (they are
 * for local reporting); 1016-2999 are unassigned (§7.4.2, §11.7); 3000-4999 are for libraries,
 * frameworks and applications (§7.4.2).
 */
export function isValidWireCloseCode(code: number): boolean {
  return describeCloseCode(code).sendable;
}

/**
 * What each frame after the first costs a fragmented message toward maxMessageSize, on top of its
 * payload (§10.4: "a long stream of small frames that are a part of a fragmented message"). A
 * fragment is held as an object, not only as its bytes: counting this much for each keeps the memory
 * a message can tie up near its byte limit, however small (or empty) its fragments are.
 */
export const FRAGMENT_COST = 64;

/** Defaults for limits. */
export const Defaults = {
  /** Largest message accepted before failing with 1009 (the issue asks for at least 16 MiB). */
  maxMessageSize: 64 * 1024 * 1024,
  /**
   * Most frames one fragmented message may have (§10.4: "a long stream of small frames that are a
   * part of a fragmented message"); one more fails with 1008 (WS_ERR_TOO_MANY_FRAGMENTS). A single
   * frame's size has no limit of its own unless one is set (maxFrameSize): maxMessageSize bounds it.
   * Browsers send every message in one frame; ws and python-websockets fragment only when the
   * application streams a message piece by piece. 4,096 still takes the most fragmented message of
   * the conformance battery (9.10.3: 1 MiB in 4,096 fragments of 256 bytes).
   */
  maxFragments: 4096,
  /** How long the server waits for a complete opening handshake before dropping the connection. */
  handshakeTimeoutMs: 10_000,
  /**
   * Backpressure: once more than this many bytes wait in a socket's queue to be written (the peer
   * reads slower than we answer), the connection stops reading from that peer until the queue has
   * drained. Bounds what a peer that writes and never reads can make us hold.
   */
  writeHighWaterMark: 1024 * 1024,
  /** Largest HTTP head accepted before answering 431. */
  maxHeadSize: 16 * 1024,
  /** How long a client waits for the server to close TCP after the closing handshake (RFC 6455 §7.1.1). */
  closeTimeoutMs: 2000,
  host: '127.0.0.1',
  port: 9001,
} as const;
