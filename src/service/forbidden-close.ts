/**
 * The composer's "any close code": a Close frame with a status code the RFC forbids on the wire
 * (§7.4.1: 1005, 1006 and 1015 are for reporting only; §7.4.2: 0-999 and undefined codes), sent
 * on purpose to see how the peer reacts. Our protocol object refuses to build one through
 * close(), so the frame is built here, and registered as our Close (noteRawCloseSent) so the
 * peer's answer completes the closing handshake instead of drawing a second Close (§5.5.1).
 */
import { Opcode } from '../core/constants.ts';
import { utf8Encode } from '../core/bytes.ts';
import { encodeClosePayload } from '../core/frame-codec.ts';
import type { Connection } from '../core/net/connection.ts';

export function sendForbiddenClose(conn: Connection, code: number, reason: string): void {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new Error('A status code is 2 bytes: 0 to 65535 (§5.5.1).');
  if (utf8Encode(reason).length > 123) throw new Error('A close reason is at most 123 bytes of UTF-8 (§5.5).');
  if (conn.state !== 'OPEN') throw new Error(`Cannot send a Close: the connection is ${conn.state}.`);
  const payload = encodeClosePayload(code, reason);
  conn.sendFrame({ opcode: Opcode.Close, payload });
  conn.protocol.noteRawCloseSent(payload);
}
