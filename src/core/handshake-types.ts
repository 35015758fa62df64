/**
 * The handshake's result types, apart from handshake.ts (which needs node:crypto) so the
 * renderer can use them through the trace.
 */

export interface AcceptComputation {
  /** Sec-WebSocket-Key as sent by the client. */
  key: string;
  /** key + GUID, the string that is hashed. */
  concatenated: string;
  /** SHA-1 of the concatenation, 20 bytes as hex. */
  sha1Hex: string;
  /** base64 of the SHA-1: the expected Sec-WebSocket-Accept. */
  accept: string;
}

export interface HandshakeCheck {
  /** Stable id of the rule, e.g. "key". */
  rule: string;
  /** What is checked, in plain words. */
  label: string;
  ok: boolean;
  /** What was found, e.g. "Sec-WebSocket-Key decodes to 12 bytes, needs 16". */
  detail: string;
  rfcSection: string;
  /** The header this rule is about, if any (links the checklist to the head view). */
  header?: string;
  /** Information only: never fails the handshake (subprotocols offered, Origin, ...). */
  informational?: boolean;
  /** On the server: the status a failure answers with. */
  status?: number;
}
