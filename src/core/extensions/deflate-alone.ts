/**
 * One payload compressed on its own, for the crafter's "compress this payload": a fresh raw
 * DEFLATE compressor that starts with an empty window (it refers to no earlier message), the
 * window size this endpoint agreed to compress with, one sync flush, and the 00 00 ff ff tail
 * stripped (RFC 7692 §7.2.1). The connection's own compressor is never touched, so previewing a
 * crafted frame any number of times changes nothing on the connection.
 */

import { concatBytes } from '../bytes.ts';
import type { TracedDeflateSettings } from '../trace.ts';
import { stripDeflateTail } from './deflate-tail.ts';
import { zlibWindowBits } from './permessage-deflate.ts';
import { RawDeflateStream, Z_SYNC_FLUSH } from './zlib-stream.ts';

export interface AloneCompression {
  /** What goes in the frame's payload: DEFLATE data without the 4-octet tail. */
  compressed: Uint8Array;
  /** The LZ77 window this endpoint agreed to compress with (base-2 log, 8..15). */
  windowBits: number;
  /** The windowBits zlib was given (8 runs as 9, see permessage-deflate.ts). */
  zlibWindowBits: number;
}

/**
 * Compresses `plain` with a compressor of its own. `settings`: the agreed permessage-deflate
 * configuration; `sender`: the role of the endpoint that sends the frame (its window bits apply).
 */
export function deflateAlone(plain: Uint8Array, settings: TracedDeflateSettings, sender: 'server' | 'client'): AloneCompression {
  const windowBits = sender === 'server' ? settings.serverMaxWindowBits : settings.clientMaxWindowBits;
  const zlibBits = zlibWindowBits(windowBits);
  const deflater = new RawDeflateStream('deflate', { windowBits: zlibBits });
  try {
    const out = deflater.process(plain, Z_SYNC_FLUSH);
    const payloads = [concatBytes(out.chunks, out.length)];
    stripDeflateTail(payloads);
    return { compressed: payloads[0]!, windowBits, zlibWindowBits: zlibBits };
  } finally {
    deflater.close();
  }
}
