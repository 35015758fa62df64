/**
 * permessage-deflate's parameters in plain words (paraphrases, each with its RFC 7692 section):
 * what a parameter asks for in the client's offer, and what the agreed settings mean for each
 * direction of the connection. The response's own parameters come explained in the trace
 * (TracedAgreedParam.meaning, from src/core/extensions/permessage-deflate.ts).
 */
import type { TracedDeflateSettings, TracedExtensionParam } from '../../../core/trace.ts';

export interface ParamDoc {
  meaning: string;
  rfcSection: string;
}

const windowSize = (bits: number) => `2^${bits} = ${(2 ** bits).toLocaleString('en')} bytes`;

/** What one parameter of a client's permessage-deflate offer asks for. */
export function offerParamDoc(param: TracedExtensionParam): ParamDoc {
  const bits = param.value === null ? null : Number(param.value);
  switch (param.name.toLowerCase()) {
    case 'server_no_context_takeover':
      return { meaning: 'The client asks the server to empty its compression window before every message it sends, so no server message refers back to an earlier one.', rfcSection: 'RFC 7692 §7.1.1.1' };
    case 'client_no_context_takeover':
      return { meaning: 'The client announces that it will empty its own window before every message it sends, so the server need not keep the client\'s window between messages.', rfcSection: 'RFC 7692 §7.1.1.2' };
    case 'server_max_window_bits':
      return { meaning: `The client asks the server to compress with a window of at most ${bits !== null && bits >= 8 && bits <= 15 ? windowSize(bits) : 'the given size (8 to 15 bits)'}.`, rfcSection: 'RFC 7692 §7.1.2.1' };
    case 'client_max_window_bits':
      return bits === null
        ? { meaning: 'Without a value: the client can compress with a smaller window if the server asks for one (the server may then answer with a value).', rfcSection: 'RFC 7692 §7.1.2.2' }
        : { meaning: `The client will compress with a window of at most ${windowSize(bits)}; the server may ask for less.`, rfcSection: 'RFC 7692 §7.1.2.2' };
    default:
      return { meaning: 'Not a permessage-deflate parameter: a server declines an offer that has one.', rfcSection: 'RFC 7692 §7' };
  }
}

/** One direction of a connection with permessage-deflate in force. */
export interface DirectionInForce {
  sender: 'server' | 'client';
  /** The window is kept from message to message (context takeover), or emptied before each. */
  window: string;
  windowSection: string;
  /** The agreed window size. */
  size: string;
  sizeSection: string;
}

/** What the agreed settings mean for the messages each side sends. */
export function directionsInForce(settings: TracedDeflateSettings): DirectionInForce[] {
  return (['server', 'client'] as const).map((sender) => {
    const server = sender === 'server';
    const noTakeover = server ? settings.serverNoContextTakeover : settings.clientNoContextTakeover;
    const bits = server ? settings.serverMaxWindowBits : settings.clientMaxWindowBits;
    return {
      sender,
      window: noTakeover
        ? `emptied before every message (${sender}_no_context_takeover): each message is compressed on its own`
        : 'kept from message to message (context takeover): a message may refer back to bytes of earlier ones',
      windowSection: server ? 'RFC 7692 §7.1.1.1' : 'RFC 7692 §7.1.1.2',
      size: `an LZ77 window of at most ${windowSize(bits)}${bits === 15 ? ' (the largest, and the default)' : ''}`,
      sizeSection: server ? 'RFC 7692 §7.1.2.1' : 'RFC 7692 §7.1.2.2',
    };
  });
}

/**
 * The window bits zlib actually uses at this endpoint, when they differ from the agreed ones:
 * zlib's raw DEFLATE has no 8-bit window, so an agreed 8 runs as 9 (null when nothing differs).
 */
export function zlibWindowNote(settings: TracedDeflateSettings, role: 'server' | 'client'): string | null {
  const ownBits = role === 'server' ? settings.serverMaxWindowBits : settings.clientMaxWindowBits;
  const peerBits = role === 'server' ? settings.clientMaxWindowBits : settings.serverMaxWindowBits;
  const { compress, decompress } = settings.zlibWindowBits;
  if (compress === ownBits && decompress === peerBits) return null;
  return `Window bits zlib actually uses here: ${compress} to compress (agreed ${ownBits}), ${decompress} to decompress (agreed ${peerBits}). zlib's raw DEFLATE has no 8-bit window; a 9-bit compressor never reaches back more than 250 bytes, inside the 256 agreed, and a 9-bit decompressor reads anything an 8-bit sender writes, so the agreement still holds.`;
}
