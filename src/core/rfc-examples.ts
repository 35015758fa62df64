/**
 * Every worked example in RFC 6455 (the §1.2/§1.3 opening handshake with its sample key, the
 * §5.7 frames) and RFC 7692 §7.2.3 (permessage-deflate), byte for byte, as one data table.
 * The gallery (app), `wsinspect examples` and the tests all read this table. Renderer-safe:
 * no node imports.
 */
import { concatBytes, fromHex } from './bytes.ts';

export interface RfcExampleFrame {
  /** The frame's bytes as the RFC prints them (for the 256-byte and 64 KiB examples: the header only). */
  hex: string;
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  payloadLength: number;
  /** The payload as text once unmasked, when the frame carries plain (uncompressed) text. */
  text?: string;
  /** The RFC leaves the payload unspecified ("[256 bytes of binary data]"): we fill it with 00 01 02 ... */
  arbitraryPayload?: boolean;
  /** Not printed in the RFC: a frame we built around what the RFC shows (the example says which part is the RFC's). */
  ours?: true;
}

export interface RfcExampleHandshake {
  request: string;
  response: string;
  key: string;
  accept: string;
}

export interface RfcExample {
  id: string;
  title: string;
  rfc: 'RFC 6455' | 'RFC 7692';
  section: string;
  /** The frames in wire order (empty for the handshake example). */
  frames: RfcExampleFrame[];
  handshake?: RfcExampleHandshake;
  /** Who reads these bytes: a server reads masked frames, a client unmasked ones. */
  receiver: 'client' | 'server';
  /** Whether permessage-deflate must be agreed to read the frames. */
  deflate: boolean;
  /** The message(s) the frames carry, once unmasked and inflated. */
  carries: string;
  /** A one-line paraphrase of what the example shows. */
  shows: string;
  /** What of the bytes is the RFC's and what is ours, when not all of them are printed in it. */
  note?: string;
}

const f = (hex: string, fin: boolean, opcode: number, masked: boolean, payloadLength: number, extra: Partial<RfcExampleFrame> = {}): RfcExampleFrame =>
  ({ hex, fin, rsv1: false, opcode, masked, payloadLength, ...extra });
const z = (hex: string, fin: boolean, opcode: number, payloadLength: number): RfcExampleFrame =>
  ({ hex, fin, rsv1: opcode !== 0, opcode, masked: false, payloadLength });

export const RFC_EXAMPLES: readonly RfcExample[] = [
  {
    id: 'handshake', title: 'Opening handshake with the sample key', rfc: 'RFC 6455', section: '§1.2, §1.3, §4.2.2',
    frames: [],
    handshake: {
      request: ['GET /chat HTTP/1.1', 'Host: server.example.com', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Origin: http://example.com', 'Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Version: 13'].join('\r\n') + '\r\n\r\n',
      response: ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
        'Sec-WebSocket-Protocol: chat'].join('\r\n') + '\r\n\r\n',
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    },
    receiver: 'server', deflate: false, carries: '',
    shows: 'The server hashes the key + the GUID with SHA-1 and answers its base64 as Sec-WebSocket-Accept.',
  },
  {
    id: 'unmasked-hello', title: 'Single-frame unmasked text "Hello"', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('81 05 48 65 6c 6c 6f', true, 0x1, false, 5, { text: 'Hello' })],
    receiver: 'client', deflate: false, carries: 'Hello',
    shows: 'A whole text message in one frame: FIN set, opcode 1, no mask (server to client), 7-bit length 5.',
  },
  {
    id: 'masked-hello', title: 'Single-frame masked text "Hello"', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('81 85 37 fa 21 3d 7f 9f 4d 51 58', true, 0x1, true, 5, { text: 'Hello' })],
    receiver: 'server', deflate: false, carries: 'Hello',
    shows: 'The same message from a client: MASK set, key 37 fa 21 3d, each payload byte XORed with key[i mod 4].',
  },
  {
    id: 'fragmented-hello', title: 'Fragmented unmasked text "Hel" + "lo"', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('01 03 48 65 6c', false, 0x1, false, 3, { text: 'Hel' }), f('80 02 6c 6f', true, 0x0, false, 2, { text: 'lo' })],
    receiver: 'client', deflate: false, carries: 'Hello',
    shows: 'One message in two frames: the first has FIN clear and opcode 1, the last FIN set and opcode 0 (continuation).',
  },
  {
    id: 'ping', title: 'Unmasked Ping with body "Hello"', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('89 05 48 65 6c 6c 6f', true, 0x9, false, 5, { text: 'Hello' })],
    receiver: 'client', deflate: false, carries: 'Hello',
    shows: 'A Ping (opcode 9) from the server; its body is arbitrary and the Pong must echo it.',
  },
  {
    id: 'pong', title: 'Masked Pong answering it', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('8a 85 37 fa 21 3d 7f 9f 4d 51 58', true, 0xa, true, 5, { text: 'Hello' })],
    receiver: 'server', deflate: false, carries: 'Hello',
    shows: 'The client\'s Pong (opcode 10), masked as every client frame is, carrying the Ping\'s body back.',
  },
  {
    id: 'binary-256', title: '256-byte binary message, 16-bit length', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('82 7e 01 00', true, 0x2, false, 256, { arbitraryPayload: true })],
    receiver: 'client', deflate: false, carries: '256 bytes of binary data',
    shows: 'Length 126 in the 7-bit field means the real length follows in 2 bytes: 0x0100 = 256.',
  },
  {
    id: 'binary-64k', title: '64 KiB binary message, 64-bit length', rfc: 'RFC 6455', section: '§5.7',
    frames: [f('82 7f 00 00 00 00 00 01 00 00', true, 0x2, false, 65536, { arbitraryPayload: true })],
    receiver: 'client', deflate: false, carries: '65536 bytes of binary data',
    shows: 'Length 127 means the real length follows in 8 bytes: 0x0000000000010000 = 65536.',
  },
  {
    id: 'deflate-hello', title: 'Compressed "Hello"', rfc: 'RFC 7692', section: '§7.2.3.1',
    frames: [z('c1 07 f2 48 cd c9 c9 07 00', true, 0x1, 7)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'RSV1 marks a compressed message; the payload is DEFLATE with the trailing 00 00 ff ff removed.',
  },
  {
    id: 'deflate-fragments', title: 'Compressed "Hello" in two fragments', rfc: 'RFC 7692', section: '§7.2.3.1',
    frames: [z('41 03 f2 48 cd', false, 0x1, 3), z('80 04 c9 c9 07 00', true, 0x0, 4)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'The compressed bytes split across frames; only the first frame has RSV1 set.',
  },
  {
    id: 'deflate-shared-window', title: 'Two "Hello"s sharing the LZ77 window', rfc: 'RFC 7692', section: '§7.2.3.2',
    frames: [z('c1 07 f2 48 cd c9 c9 07 00', true, 0x1, 7), z('c1 05 f2 00 11 00 00', true, 0x1, 5)],
    receiver: 'client', deflate: true, carries: 'Hello, Hello',
    shows: 'With context takeover the second "Hello" is a back-reference into the first: only 5 bytes.',
  },
  {
    id: 'deflate-stored', title: '"Hello" in a stored (no compression) block', rfc: 'RFC 7692', section: '§7.2.3.3',
    frames: [z('c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00', true, 0x1, 11)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'A DEFLATE block of type "no compression": LEN 5, NLEN its complement, then the raw bytes.',
  },
  {
    id: 'deflate-bfinal', title: '"Hello" in a block with BFINAL set', rfc: 'RFC 7692', section: '§7.2.3.4',
    frames: [z('c1 08 f3 48 cd c9 c9 07 00 00', true, 0x1, 8)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'The block is marked final (f3 rather than f2), which the receiver must also accept.',
  },
  {
    id: 'deflate-two-blocks', title: '"Hello" in two DEFLATE blocks', rfc: 'RFC 7692', section: '§7.2.3.5',
    frames: [z('c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00', true, 0x1, 13)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'A sync flush (00 00 ff ff) may sit inside a message; the payload holds two blocks.',
  },
  {
    id: 'deflate-empty-fragment', title: 'An empty last fragment: one empty stored block', rfc: 'RFC 7692', section: '§7.2.3.6',
    frames: [{ ...z('41 0b f2 48 cd c9 c9 07 00 00 00 ff ff', false, 0x1, 11), ours: true }, z('80 01 00', true, 0x0, 1)],
    receiver: 'client', deflate: true, carries: 'Hello',
    shows: 'A sender whose data ends when nothing is left to compress still owes a last fragment with FIN set: an empty stored block (00 00 00 ff ff) with the 00 00 ff ff stripped leaves the single byte 00.',
    note: 'The RFC gives the last fragment\'s payload, 00; the frame before it is ours: "Hello" sync-flushed (the §7.2.3.1 bytes with their 00 00 ff ff kept, as only a message\'s end loses them).',
  },
];

export function findRfcExample(id: string): RfcExample | undefined {
  return RFC_EXAMPLES.find((e) => e.id === id);
}

/** The RFC leaves these payloads unspecified: 00 01 02 ... ff 00 01 ... */
function filler(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i & 0xff;
  return out;
}

/** One frame's complete wire bytes (the header plus filler for an arbitrary payload). */
export function rfcFrameBytes(frame: RfcExampleFrame): Uint8Array {
  const bytes = fromHex(frame.hex);
  return frame.arbitraryPayload ? concatBytes([bytes, filler(frame.payloadLength)]) : bytes;
}

/** All of an example's frames as one byte string, as they cross the wire. */
export function rfcExampleBytes(example: RfcExample): Uint8Array {
  return concatBytes(example.frames.map(rfcFrameBytes));
}

/** "81 05 48 65 6c 6c 6f", the 256-byte header with "+ 256 bytes of data", frames joined by " / ". */
export function rfcExampleHex(example: RfcExample): string {
  if (example.handshake) return `Sec-WebSocket-Key: ${example.handshake.key} → Sec-WebSocket-Accept: ${example.handshake.accept}`;
  return example.frames.map((fr) => (fr.arbitraryPayload ? `${fr.hex} + ${fr.payloadLength} bytes of data` : fr.hex)).join(' / ');
}
