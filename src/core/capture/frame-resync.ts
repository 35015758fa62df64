/**
 * Finding a frame boundary in a WebSocket byte stream whose start is not in the capture (the
 * capture began mid-connection, or lost bytes in a gap). Nothing in RFC 6455 framing marks a
 * boundary, so this is a heuristic, and the trace says so when it is used. A position is taken
 * as a frame start when:
 *
 * 1. its header is well-formed (RFC 6455 §5.2): RSV2 and RSV3 clear; a defined opcode (0, 1, 2,
 *    8, 9, 10); a control frame (8-10) has FIN set, RSV1 clear and a length of 125 or less (§5.5);
 *    an extended length uses the shortest form ("the minimal number of bytes MUST be used") and
 *    a 64-bit length has its most significant bit clear and stays under maxFrameLength;
 * 2. its mask bit fits the direction: a client masks every frame, a server none (§5.1) (when
 *    the direction is not known yet, the frames found must at least agree among themselves);
 * 3. it is not a continuation frame (a message cut by the start of the capture cannot be read);
 * 4. a Close frame's body is empty or at least 2 bytes, a Text frame that is whole, uncompressed
 *    and final is valid UTF-8;
 * 5. the frame that follows it (at the position its length points to) passes 1, 2 and 4 too,
 *    and fits the first (a continuation only after a non-final data frame); or, when nothing
 *    follows yet, the frame ends exactly where the bytes captured so far end and the stream is
 *    over (`final`).
 */

import { isValidWireCloseCode } from '../constants.ts';

export interface ResyncHeader {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  headerLength: number;
  payloadLength: number;
}

export type ResyncResult =
  | { kind: 'found'; offset: number; masked: boolean; compressed: boolean }
  /** Keep the bytes from `offset` on and look again when more come. */
  | { kind: 'more'; offset: number }
  | { kind: 'none' };

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a header at `at` if it is well-formed (rule 1); 'short' when more bytes are needed. */
export function plausibleHeader(buf: Uint8Array, at: number, maxFrameLength: number): ResyncHeader | 'short' | null {
  if (at + 2 > buf.length) return 'short';
  const b0 = buf[at]!;
  const b1 = buf[at + 1]!;
  const fin = (b0 & 0x80) !== 0;
  const rsv1 = (b0 & 0x40) !== 0;
  if (b0 & 0x30) return null;
  const opcode = b0 & 0x0f;
  if (opcode > 2 && (opcode < 8 || opcode > 10)) return null;
  const masked = (b1 & 0x80) !== 0;
  const length7 = b1 & 0x7f;
  if (opcode >= 8 && (!fin || rsv1 || length7 > 125)) return null;
  let headerLength = 2;
  let payloadLength = length7;
  if (length7 === 126) {
    if (at + 4 > buf.length) return 'short';
    payloadLength = (buf[at + 2]! << 8) | buf[at + 3]!;
    if (payloadLength < 126) return null;
    headerLength = 4;
  } else if (length7 === 127) {
    if (at + 10 > buf.length) return 'short';
    if (buf[at + 2]! & 0x80) return null;
    const high = (buf[at + 2]! * 2 ** 24) + (buf[at + 3]! << 16) + (buf[at + 4]! << 8) + buf[at + 5]!;
    const low = ((buf[at + 6]! << 24) >>> 0) + (buf[at + 7]! << 16) + (buf[at + 8]! << 8) + buf[at + 9]!;
    payloadLength = high * 2 ** 32 + low;
    if (payloadLength < 65536) return null;
    headerLength = 10;
  }
  if (payloadLength > maxFrameLength) return null;
  if (masked) headerLength += 4;
  if (at + headerLength > buf.length) return 'short';
  return { fin, rsv1, opcode, masked, headerLength, payloadLength };
}

/** Rule 4, on the bytes that are there. */
function plausibleBody(buf: Uint8Array, at: number, h: ResyncHeader): boolean {
  const start = at + h.headerLength;
  const end = start + h.payloadLength;
  if (h.opcode === 8 && h.payloadLength === 1) return false;
  const wantsText = h.opcode === 1 && h.fin && !h.rsv1;
  const wantsClose = h.opcode === 8 && h.payloadLength >= 2;
  if ((!wantsText && !wantsClose) || end > buf.length) return true;
  const payload = buf.slice(start, end);
  if (h.masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[at + h.headerLength - 4 + (i & 3)]!;
  try {
    fatalUtf8.decode(h.opcode === 8 ? payload.subarray(2) : payload);
  } catch {
    return false;
  }
  if (h.opcode === 8) {
    return isValidWireCloseCode((payload[0]! << 8) | payload[1]!);
  }
  return true;
}

/**
 * Looks for the first frame boundary at or after `from`. expectMasked: the direction's mask bit
 * if known. final: no more bytes will come for this stretch (end of conversation or capture).
 * maxWait: a candidate whose confirmation needs more than this many bytes buffered is given up.
 */
export function findFrameBoundary(buf: Uint8Array, from: number, options: { expectMasked: boolean | null; final: boolean; maxFrameLength: number; maxWait: number }): ResyncResult {
  const { expectMasked, final, maxFrameLength, maxWait } = options;
  for (let at = from; at < buf.length; at++) {
    const h = plausibleHeader(buf, at, maxFrameLength);
    if (h === 'short') {
      if (final) continue;
      return { kind: 'more', offset: at };
    }
    if (!h || h.opcode === 0) continue;
    if (expectMasked !== null && h.masked !== expectMasked) continue;
    if (!plausibleBody(buf, at, h)) continue;
    const next = at + h.headerLength + h.payloadLength;
    if (next === buf.length) {
      if (final) return { kind: 'found', offset: at, masked: h.masked, compressed: h.rsv1 };
      return { kind: 'more', offset: at };
    }
    if (next > buf.length) {
      if (final || next - at > maxWait) continue;
      return { kind: 'more', offset: at };
    }
    const h2 = plausibleHeader(buf, next, maxFrameLength);
    if (h2 === 'short') {
      if (final) continue;
      return { kind: 'more', offset: at };
    }
    if (!h2 || h2.masked !== h.masked || !plausibleBody(buf, next, h2)) continue;
    // A continuation only follows a data frame without FIN; a new data message only after one with FIN.
    const dataOpen = h.opcode < 8 && !h.fin;
    if (h2.opcode === 0 && !dataOpen) continue;
    if ((h2.opcode === 1 || h2.opcode === 2) && dataOpen) continue;
    return { kind: 'found', offset: at, masked: h.masked, compressed: h.rsv1 || h2.rsv1 };
  }
  return { kind: 'none' };
}
