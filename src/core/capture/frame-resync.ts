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

/**
 * After a gap that fell inside one frame's payload, where the reading can start again for sure:
 * `skip` bytes after the gap finish that frame (its header said its length, RFC 6455 §5.2), and,
 * when a fragmented data message was open (§5.4), the frames up to and including its final
 * continuation are skipped too, so that a fresh reader starts with no message in progress.
 */
export interface ExactResume {
  skip: number;
  messageOpen: boolean;
}

/**
 * Follows one direction's frame boundaries as its bytes go by (after the HTTP head, when asked):
 * headers are read, payloads only counted. When a gap comes, it says where the next frame starts
 * if the gap lies within the payload of the frame being read (afterGap), which is the usual case
 * of a lost segment in a large frame; otherwise (a gap in a header, or across frames) that is not
 * known and the heuristic (findFrameBoundary) is used. A header that is not plausible (rule 1)
 * ends the tracking: nothing it says afterwards would be trusted.
 */
export class FrameTracker {
  private inHead: boolean;
  private headMatched = 0;
  private headRead = 0;
  private readonly header = new Uint8Array(14);
  private have = 0;
  private payloadLeft = 0;
  private opcode = 0;
  private fin = true;
  private messageOpen = false;
  private lost = false;

  constructor(private readonly options: { head: boolean; maxHeadSize: number; maxFrameLength: number }) {
    this.inHead = options.head;
  }

  feed(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length && !this.lost) {
      if (this.inHead) {
        // The head ends at the first empty line (RFC 9112 §2.1: CRLF CRLF).
        const b = bytes[i++]!;
        this.headMatched = b === (this.headMatched % 2 === 0 ? 13 : 10) ? this.headMatched + 1 : b === 13 ? 1 : 0;
        if (this.headMatched === 4) this.inHead = false;
        else if (++this.headRead > this.options.maxHeadSize) this.lost = true;
        continue;
      }
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, bytes.length - i);
        i += n;
        this.payloadLeft -= n;
        if (this.payloadLeft === 0) this.frameDone();
        continue;
      }
      this.header[this.have++] = bytes[i++]!;
      // The second byte says how long the header is (§5.2: 2, 4 or 10 bytes, and 4 more for a mask key): read it once whole.
      if (this.have < 2) continue;
      const length7 = this.header[1]! & 0x7f;
      if (this.have < (length7 === 126 ? 4 : length7 === 127 ? 10 : 2) + (this.header[1]! & 0x80 ? 4 : 0)) continue;
      const h = plausibleHeader(this.header.subarray(0, this.have), 0, this.options.maxFrameLength);
      if (h === 'short') continue;
      this.have = 0;
      if (!h) {
        this.lost = true;
        return;
      }
      this.opcode = h.opcode;
      this.fin = h.fin;
      this.payloadLeft = h.payloadLength;
      if (this.payloadLeft === 0) this.frameDone();
    }
  }

  /** A gap of `length` bytes came after what was fed: where to start again, or null when unknown. Tracking stops either way. */
  afterGap(length: number): ExactResume | null {
    const known = !this.lost && !this.inHead && this.have === 0 && this.payloadLeft >= length && this.payloadLeft > 0;
    this.lost = true;
    if (!known) return null;
    return { skip: this.payloadLeft - length, messageOpen: this.opcode < 8 ? !this.fin : this.messageOpen };
  }

  private frameDone(): void {
    if (this.opcode < 8) this.messageOpen = !this.fin;
  }
}

export type ExactResumeResult =
  /** Drop `drop` bytes: the buffer then starts at a frame a fresh reader can start with. */
  | { kind: 'found'; drop: number; masked: boolean; compressed: boolean }
  /** Drop `drop` bytes from the buffer's start (skipped), keep `resume` for the next look. */
  | { kind: 'more'; drop: number; resume: ExactResume }
  /** What follows does not read as frames: fall back to the heuristic from `drop` on. */
  | { kind: 'lost'; drop: number };

/**
 * Steps over the rest of the frame the gap fell in and, if its message was open, over the frames
 * to its end (ExactResume), in the bytes held after the gap. 'found': the buffer, after dropping
 * what was stepped over, starts at a frame a fresh reader can start with.
 */
export function stepToBoundary(buf: Uint8Array, resume: ExactResume, options: { expectMasked: boolean | null; maxFrameLength: number }): ExactResumeResult {
  let at = 0;
  let { skip, messageOpen } = resume;
  for (;;) {
    if (at + skip > buf.length) return { kind: 'more', drop: buf.length, resume: { skip: at + skip - buf.length, messageOpen } };
    at += skip;
    skip = 0;
    const h = plausibleHeader(buf, at, options.maxFrameLength);
    if (h === 'short') return { kind: 'more', drop: at, resume: { skip: 0, messageOpen } };
    if (!h || (options.expectMasked !== null && h.masked !== options.expectMasked)) return { kind: 'lost', drop: at };
    // A new data message while one is open is the sender's mistake (§5.4): the reader sees it.
    if (messageOpen && h.opcode !== 0 && h.opcode < 8) messageOpen = false;
    if (!messageOpen && h.opcode !== 0) return { kind: 'found', masked: h.masked, compressed: h.rsv1, drop: at };
    // A frame of the message that was open (or a control frame inside it): stepped over.
    skip = h.headerLength + h.payloadLength;
    if (h.opcode === 0 && h.fin) messageOpen = false;
  }
}
