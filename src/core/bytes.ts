/**
 * Byte helpers shared by the codec and the UI. Only Uint8Array, no node Buffer,
 * so the renderer can import them.
 */

/**
 * RFC 6455 §5.3: "Octet i of the transformed data is the XOR of octet i of the original data
 * with octet at index i modulo 4 of the masking key." Masking and unmasking are the same
 * operation. `offset` is the position of data[0] within the whole payload, so a payload
 * can be unmasked chunk by chunk as it arrives.
 */
export function applyMask(data: Uint8Array, maskKey: Uint8Array, offset = 0): Uint8Array {
  const out = new Uint8Array(data.length);
  applyMaskInPlace(out, data, maskKey, offset);
  return out;
}

/** Masks like applyMaskInPlace, only faster on large payloads (mask-simd.ts: WebAssembly SIMD). */
export type WideMasker = (target: Uint8Array, source: Uint8Array, maskKey: Uint8Array, offset: number) => void;
/**
 * Installed by the node:net layer (setWideMasker); the renderer, which imports this module too,
 * keeps the loops below and never compiles WebAssembly under its Content-Security-Policy.
 */
let wideMasker: WideMasker | null = null;
/** From this size on the wide masker runs instead of the loops (measured: 272 vs 416 ns at 512 B, 2.3 vs 3.7 µs at 16 KiB, 108 vs 226 µs at 1 MiB). */
const WIDE_MASK_MIN = 512;
export function setWideMasker(masker: WideMasker | null): void {
  wideMasker = masker;
}

/** Below this many bytes the byte loop is cheaper than setting up two 32-bit views (measured: 57 vs 93 ns at 64 B, 182 vs 128 ns at 256 B). */
const WORD_MASK_MIN = 256;
/** Scratch for building the 4-byte key as one 32-bit word in the platform's byte order (no allocation per call). */
const keyWordBytes = new Uint8Array(4);
const keyWord = new Int32Array(keyWordBytes.buffer);

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/**
 * §5.3 masking into target (which may be source itself). Word-wise: the bytes before the first
 * 4-byte-aligned position of source (the unaligned head) and the last 0-3 bytes (the tail) go one
 * at a time; the aligned middle is XORed 32 bits at a time with the key rotated to where the
 * middle starts in the payload (`offset` counts from the payload's first byte). When source and
 * target cannot both be aligned (their byte offsets differ mod 4) the bytes are copied into target
 * first and masked there; only overlapping misaligned views stay byte-wise.
 */
export function applyMaskInPlace(target: Uint8Array, source: Uint8Array, maskKey: Uint8Array, offset = 0): void {
  const n = source.length;
  if (n >= WIDE_MASK_MIN && wideMasker) {
    wideMasker(target, source, maskKey, offset);
    return;
  }
  let i = 0;
  if (n >= WORD_MASK_MIN && ((source.byteOffset - target.byteOffset) & 3) !== 0 && !overlaps(target, source)) {
    // Source and target cannot both be aligned (a socket chunk's payload going to its place in the
    // message buffer): a native copy first, then word-wise in place, beats a byte loop by far.
    target.set(source.subarray(0, n));
    source = target.subarray(0, n);
  }
  if (n >= WORD_MASK_MIN && ((source.byteOffset - target.byteOffset) & 3) === 0) {
    const head = (4 - (source.byteOffset & 3)) & 3;
    for (; i < head; i++) target[i] = source[i]! ^ maskKey[(offset + i) & 3]!;
    const words = (n - head) >>> 2;
    for (let j = 0; j < 4; j++) keyWordBytes[j] = maskKey[(offset + head + j) & 3]!;
    const k = keyWord[0]! | 0;
    // Int32 (small integers to V8) and four words per turn: about twice the byte loop's speed.
    const src = new Int32Array(source.buffer, source.byteOffset + head, words);
    const dst = target.buffer === source.buffer && target.byteOffset === source.byteOffset ? src : new Int32Array(target.buffer, target.byteOffset + head, words);
    let w = 0;
    for (const end = words - 3; w < end; w += 4) {
      dst[w] = src[w]! ^ k;
      dst[w + 1] = src[w + 1]! ^ k;
      dst[w + 2] = src[w + 2]! ^ k;
      dst[w + 3] = src[w + 3]! ^ k;
    }
    for (; w < words; w++) dst[w] = src[w]! ^ k;
    i = head + words * 4;
    for (; i < n; i++) target[i] = source[i]! ^ maskKey[(offset + i) & 3]!;
    return;
  }
  const k0 = maskKey[offset & 3]!, k1 = maskKey[(offset + 1) & 3]!, k2 = maskKey[(offset + 2) & 3]!, k3 = maskKey[(offset + 3) & 3]!;
  const fastEnd = n & ~3;
  for (; i < fastEnd; i += 4) {
    target[i] = source[i]! ^ k0;
    target[i + 1] = source[i + 1]! ^ k1;
    target[i + 2] = source[i + 2]! ^ k2;
    target[i + 3] = source[i + 3]! ^ k3;
  }
  for (; i < n; i++) target[i] = source[i]! ^ maskKey[(offset + i) & 3]!;
}

const hexDigits = '0123456789abcdef';

export function toHex(bytes: Uint8Array, separator = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && separator) out += separator;
    const b = bytes[i]!;
    out += hexDigits[b >> 4]! + hexDigits[b & 15]!;
  }
  return out;
}

/** Characters fromHex skips besides "0x": whitespace, colons and commas. */
const hexSeparator = /[\s:,]/;

/**
 * Parses hex such as "81 05 48 65" or "8105..."; whitespace, colons and 0x prefixes are ignored.
 * One pass over the character codes: the regular-expression clean-up and a substring and
 * parseInt per byte it replaces made a 1 MiB byte-stepper input ("0x00, " per byte) cost 370 ms.
 */
export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  let digits = 0;
  let kept = 0; // digits and bad characters: what is left once 0x and separators are gone
  let bad = false;
  let high = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 48 && (text.charCodeAt(i + 1) | 32) === 120) {
      i++; // a "0x" or "0X" prefix
      continue;
    }
    const value = c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
    if (value >= 0) {
      if (digits % 2 === 0) high = value;
      else out[digits >> 1] = (high << 4) | value;
      digits++;
      kept++;
    } else if (c !== 32 && c !== 44 && c !== 58 && !hexSeparator.test(text[i]!)) {
      bad = true;
      kept++;
    }
  }
  if (kept % 2 !== 0) throw new Error(`hex has an odd number of digits (${kept})`);
  if (bad) throw new Error('hex contains a character that is not 0-9 or a-f');
  return out.slice(0, digits / 2);
}

export function concatBytes(chunks: readonly Uint8Array[], totalLength?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const length = totalLength ?? chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Eight bytes in network byte order (§5.2) as an exact unsigned integer, past 2^53 too. */
export function readUint64BE(bytes: Uint8Array, at = 0): bigint {
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(bytes[at + i] ?? 0);
  return value;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const utf8Encoder = new TextEncoder();
export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

// ignoreBOM: a leading U+FEFF is text like any other character and must survive decoding (by
// default TextDecoder strips it, so an echoed text message or close reason would lose 3 bytes).
const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
/** Decodes for display and for message text; invalid sequences become U+FFFD, a leading BOM is kept. */
export function utf8DecodeLenient(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}
