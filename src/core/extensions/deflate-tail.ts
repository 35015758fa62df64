/**
 * The 4-octet tail of a compressed message (RFC 7692 §7.2.1, §7.2.2): a sender ends the
 * message's DEFLATE data with an empty stored block, then drops that block's last 4 octets
 * (00 00 ff ff); a receiver puts them back before inflating. Shared by the connection's own
 * compressor (permessage-deflate.ts) and the crafter's one-off compression (deflate-alone.ts).
 */

import { concatBytes } from '../bytes.ts';

/** The empty stored block's last 4 octets, stripped on send and put back on receipt. */
export const DEFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

export function endsWithTail(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[n - 4] === 0x00 && bytes[n - 3] === 0x00 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}

/**
 * Ends a message's compressed payloads (one per frame, each sync-flushed) as §7.2.1 steps 2 and
 * 3 say, in place: an empty stored block is added if the data does not already end with one,
 * then its last 4 octets are removed from the last payload that has any bytes.
 */
export function stripDeflateTail(payloads: Uint8Array[]): void {
  // Step 2: zlib's sync flush always ends with an empty stored block, except when nothing was
  // written since the last flush (an empty message): the stream is byte-aligned there, so the
  // block is 00 then 00 00 ff ff.
  const lastWithData = payloads.findLastIndex((p) => p.length > 0);
  const tailOwner = lastWithData >= 0 ? payloads[lastWithData]! : null;
  const last = payloads.length - 1;
  if (!tailOwner || !endsWithTail(tailOwner)) {
    payloads[last] = concatBytes([payloads[last]!, new Uint8Array([0x00]), DEFLATE_TAIL], payloads[last]!.length + 5);
  }
  // Step 3: the 4 octets are in the last payload that has any bytes (an empty last piece adds none after a flush).
  const owner = payloads.findLastIndex((p) => p.length > 0);
  payloads[owner] = payloads[owner]!.subarray(0, payloads[owner]!.length - 4);
}
