/**
 * The crafter's "compress this payload" (FrameFields.compress): the plain payload is deflated
 * on its own with the window size this connection agreed for our direction (deflate-alone.ts),
 * never with the connection's own compressor, so a preview or a crafted frame cannot move that
 * compressor's state. What that costs, and how it is kept safe: the peer inflates the crafted
 * frame into its window, which ours never saw, so our compressor starts its next message with
 * an empty window (WebSocketProtocol.restartOutgoingWindow).
 */

import { fromHex, toHex } from '../core/bytes.ts';
import { deflateAlone } from '../core/extensions/deflate-alone.ts';
import type { WebSocketProtocol } from '../core/protocol.ts';
import type { Role, TracedFrameDeflate } from '../core/trace.ts';
import type { CompressedPayload, FrameFields } from '../shared/inspector-api.ts';

/** Why our compressor's window was emptied, as the next message's trace says it. */
export const CRAFTED_RESTART_REASON = 'A crafted frame was compressed on its own and went into the peer\'s window but not ours, so our window was emptied: this message refers to nothing earlier (RFC 7692 §7.2.1 lets a sender always start empty).';

/** Compresses a payload as the crafter does; throws when permessage-deflate is not agreed. */
export function compressForCraft(protocol: WebSocketProtocol, role: Role, payloadHex: string): CompressedPayload {
  const settings = protocol.agreedExtension?.deflate;
  if (!settings) throw new Error('permessage-deflate is not agreed on this connection, so there is nothing to compress with (RFC 7692 §5): RSV1 would be a protocol error here (RFC 6455 §5.2).');
  const { compressed, windowBits, zlibWindowBits } = deflateAlone(fromHex(payloadHex), settings, role);
  return { compressedHex: toHex(compressed), windowBits, zlibWindowBits };
}

export interface CompressedCraft {
  /** The frame as encodeFields takes it: the compressed payload in place of the plain one. */
  fields: FrameFields;
  /** The plain side, for the trace of the frame as sent. */
  deflate: TracedFrameDeflate;
}

/** A crafted frame with compress set, ready to encode: payload compressed, the plain side kept for the trace. */
export function compressCraftedFrame(protocol: WebSocketProtocol, role: Role, frame: FrameFields): CompressedCraft {
  const { compress: _compress, ...rest } = frame;
  const plain = fromHex(frame.payloadHex);
  const { compressedHex } = compressForCraft(protocol, role, frame.payloadHex);
  return {
    fields: { ...rest, payloadHex: compressedHex },
    // The frame holds a whole compressed message when it is a first frame with FIN set; a
    // crafted frame is traced as what it claims to be, the tail stripped from its end.
    deflate: { first: frame.opcode !== 0, inflated: plain, inflatedLength: plain.length, tail: 'stripped' },
  };
}
