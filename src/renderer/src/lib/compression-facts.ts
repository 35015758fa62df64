/**
 * A compressed frame's facts in plain words (permessage-deflate, RFC 7692), for the frame
 * anatomy: the ratio, the 00 00 ff ff tail, and whether the sliding window carried over.
 * Paraphrases only, each with its section.
 */
import type { TracedFrameDeflate, TracedMessageCompression } from '../../../core/trace.ts';

/**
 * Whether a frame whose first byte is `b0` opens a compressed message: with permessage-deflate
 * agreed, RSV1 on a text or binary frame is the Per-Message Compressed bit (RFC 7692 §6). For
 * the anatomy's context (frameAnatomy(bytes, { compressed })).
 */
export function opensCompressedMessage(b0: number | undefined, deflateAgreed: boolean): boolean {
  if (!deflateAgreed || b0 === undefined) return false;
  const opcode = b0 & 0x0f;
  return (b0 & 0x40) !== 0 && (opcode === 1 || opcode === 2);
}

export interface Fact {
  label: string;
  text: string;
  rfcSection: string;
}

/** "3.4× smaller on the wire", or larger: compression does not pay for short or random data. */
export function describeRatio(plain: number, compressed: number): string {
  if (compressed === 0) return `${plain} plain bytes from no compressed bytes`;
  const ratio = plain / compressed;
  const rounded = ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2);
  if (ratio > 1) return `${plain} plain bytes from ${compressed} compressed: ${rounded}× smaller on the wire`;
  if (ratio === 1) return `${plain} plain bytes from ${compressed} compressed: the same size`;
  return `${plain} plain bytes from ${compressed} compressed: ${(1 / ratio).toFixed(2)}× larger on the wire (DEFLATE adds a few bytes of its own, which short or random data does not earn back)`;
}

export function describeTail(tail: TracedFrameDeflate['tail']): Fact {
  if (tail === 'stripped') return { label: 'Tail', text: 'The sender removed 00 00 ff ff (the end of an empty stored block) from the end of this payload: every receiver knows to put it back.', rfcSection: 'RFC 7692 §7.2.1' };
  if (tail === 'appended') return { label: 'Tail', text: 'The receiver put 00 00 ff ff back after this payload before inflating the message\'s last bytes.', rfcSection: 'RFC 7692 §7.2.2' };
  return { label: 'Tail', text: 'Not the message\'s last frame: the 00 00 ff ff tail is stripped from (and put back after) the last frame only.', rfcSection: 'RFC 7692 §7.2.1, §7.2.2' };
}

/** Whether the window carried over from earlier messages, how many, and why. */
export function describeWindow(compression: TracedMessageCompression | undefined): Fact {
  if (!compression) {
    return { label: 'Window', text: 'No message was traced for this frame (a crafted frame, or a message that has not ended), so whether it referred back to earlier messages is not known.', rfcSection: 'RFC 7692 §7.1.1' };
  }
  const size = `${(2 ** compression.windowBits).toLocaleString('en')} bytes (${compression.windowBits} bits)`;
  // The reason says how many earlier messages the window holds, and why.
  const verdict = compression.contextTakeover ? 'Carried over.' : 'Started empty.';
  return { label: 'Window', text: `${verdict} ${compression.windowReason} Window size ${size}.`, rfcSection: 'RFC 7692 §7.1.1, §7.1.2' };
}
