/**
 * The whys (issue 15): the reasons behind the rules a learner meets, each in plain words with the
 * RFC's own sentences beside it. One source for the app's "Why?" boxes and the CLI.
 *
 * `explanation` is our paraphrase (shown as such, never in quotation marks); `quotes` are RFC 6455
 * verbatim, each in the section cited (test/core/whys.test.ts checks them against the RFC text).
 */

import type { RfcQuote } from './lessons/lesson.ts';

export interface Why {
  id: WhyId;
  /** The question it answers. */
  title: string;
  sections: string[];
  /** Plain words, a paraphrase. */
  explanation: string;
  quotes: RfcQuote[];
}

export type WhyId = 'masking' | 'fresh-key' | 'guid' | 'key-as-text' | 'extensions' | 'close-registry' | 'origin' | 'limits';

export const WHYS: Record<WhyId, Why> = {
  masking: {
    id: 'masking',
    title: 'Why are client frames masked?',
    sections: ['§10.3', '§5.1'],
    explanation:
      'Not for secrecy: the key travels in the frame. In an experiment, a script opened a connection to its own server, upgraded it, then sent bytes that looked like a GET for a well-known script; some caching proxies took the server\'s reply for that script\'s real content and served it to other users. Masking every client frame with an unpredictable key means a page can no longer choose the bytes a proxy sees.',
    quotes: [
      { section: '§10.3', text: 'The threat model being protected against is one in which the client sends data that appears to be an HTTP request. As such, the channel that needs to be masked is the data from the client to the server.' },
    ],
  },
  'fresh-key': {
    id: 'fresh-key',
    title: 'Why a fresh, unpredictable key for every frame?',
    sections: ['§5.3', '§10.3'],
    explanation:
      'If a page could guess the next key, it could pre-mask its data so that the bytes on the wire come out as it wishes, and masking would protect nothing. So each frame gets a new key from a strong random source.',
    quotes: [
      { section: '§5.3', text: 'When preparing a masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit values.' },
      { section: '§5.3', text: 'The unpredictability of the masking key is essential to prevent authors of malicious applications from selecting the bytes that appear on the wire.' },
    ],
  },
  guid: {
    id: 'guid',
    title: 'Why the fixed GUID in Sec-WebSocket-Accept?',
    sections: ['§1.3', '§4.2.2'],
    explanation:
      'Only a server that knows the WebSocket protocol appends this particular string before hashing, so a correct Accept proves the server read a WebSocket handshake. A server that is not a WebSocket server (or a cache replaying an old answer) cannot produce it, and a crafted XHR or form post cannot make a WebSocket server accept it.',
    quotes: [
      { section: '§1.3', text: 'Finally, the server has to prove to the client that it received the client\'s WebSocket handshake, so that the server doesn\'t accept connections that are not WebSocket connections.' },
      { section: '§1.3', text: 'in string form, which is unlikely to be used by network endpoints that do not understand the WebSocket Protocol.' },
    ],
  },
  'key-as-text': {
    id: 'key-as-text',
    title: 'Is the key decoded before hashing?',
    sections: ['§1.3', '§4.2.2'],
    explanation:
      'No. The key\'s base64 text, as it appears in the header (without leading or trailing spaces), is joined to the GUID as text, and that string is hashed. Decoding it to 16 bytes first is a classic bug and gives a wrong Accept.',
    quotes: [
      { section: '§1.3', text: 'For this header field, the server has to take the value (as present in the header field, e.g., the base64-encoded [RFC4648] version minus any leading and trailing whitespace) and concatenate this with the Globally Unique Identifier' },
    ],
  },
  extensions: {
    id: 'extensions',
    title: 'How are extensions agreed?',
    sections: ['§9.1', '§9'],
    explanation:
      'The client lists what it can do in Sec-WebSocket-Extensions, in order of preference, each with parameters; the server picks from that list only and answers with what it accepted and the parameters in force. Nothing the client did not offer may come back. For permessage-deflate (RFC 7692), the parameters set whether each side keeps its compression window between messages (no_context_takeover) and how large that window may be (max_window_bits).',
    quotes: [
      { section: '§9', text: 'A server MUST NOT respond with any extension not requested by the client.' },
      { section: '§9.1', text: 'Note that the order of extensions is significant.' },
    ],
  },
  'close-registry': {
    id: 'close-registry',
    title: 'Where do close codes come from?',
    sections: ['§7.4.1', '§7.4.2', '§11.7'],
    explanation:
      'RFC 6455 defines 1000-1003, 1005-1011 and 1015 (1004 is only reserved) and created an IANA registry for the rest of 1000-2999; 1012 (service restart), 1013 (try again later) and 1014 (bad gateway) were registered there later. 1005, 1006 and 1015 are for reporting only and never appear on the wire. 3000-3999 are registered by libraries and frameworks, 4000-4999 are private to applications.',
    quotes: [
      { section: '§11.7', text: 'This specification creates a new IANA registry for WebSocket Connection Close Code Numbers in accordance with the principles set out in RFC 5226 [RFC5226].' },
      { section: '§7.4.2', text: 'Status codes in the range 4000-4999 are reserved for private use and thus can\'t be registered.' },
    ],
  },
  origin: {
    id: 'origin',
    title: 'Why does the server look at Origin?',
    sections: ['§10.2', '§4.2.1'],
    explanation:
      'A browser tells the server which page opened the socket, and a page cannot change it. A server that serves only its own pages can refuse the others with 403 and so stop another site\'s script from using the visitor\'s browser (and its cookies) to talk to it. Programs that are not browsers can send any Origin: it protects browser users, not the server from programs.',
    quotes: [
      { section: '§10.2', text: 'The |Origin| header field protects from the attack cases when the untrusted party is typically the author of a JavaScript application that is executing in the context of the trusted client.' },
    ],
  },
  limits: {
    id: 'limits',
    title: 'Why limits on frames and messages?',
    sections: ['§10.4'],
    explanation:
      'A 64-bit length lets a peer announce a frame of 2^63 bytes, and fragmentation lets it send a message without end. An endpoint that buffers whatever arrives can be made to run out of memory, so it must set limits and close with 1009 (or 1008) when they are passed.',
    quotes: [
      { section: '§10.4', text: 'Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.' },
    ],
  },
};

export function findWhy(id: string): Why | undefined {
  return Object.hasOwn(WHYS, id) ? WHYS[id as WhyId] : undefined;
}
