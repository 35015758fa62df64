/**
 * Incremental UTF-8 validation that fails fast.
 *
 * RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
 * byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
 * Connection_." §5.6 adds that a text message may be split anywhere, even inside a character,
 * so validation keeps its state across frames and chunks. It fails on the first byte that can
 * no longer start or continue a well-formed sequence (Unicode table 3-7): overlongs,
 * surrogates (U+D800..U+DFFF) and code points above U+10FFFF are all caught at the earliest
 * byte that proves them wrong.
 */
import { isUtf8 } from 'node:buffer';

/** Below this many bytes the JavaScript loop is as fast as a native call. */
const NATIVE_MIN = 256;

export class Utf8Validator {
  /** Continuation bytes still needed for the current character. */
  private needed = 0;
  /** Allowed range of the next continuation byte (narrower right after some lead bytes). */
  private lower = 0x80;
  private upper = 0xbf;
  /** Bytes accepted so far, for error messages. */
  private position = 0;
  /** Offset of the first bad byte within the stream, once found. */
  failedAt = -1;

  /** Feeds more bytes; returns false at the first byte that makes the stream invalid. */
  push(bytes: Uint8Array): boolean {
    if (this.failedAt >= 0) return false;
    if (this.needed === 0 && bytes.length >= NATIVE_MIN) {
      // Fast path: node's native validator (the same rules: no overlongs, surrogates or code
      // points past U+10FFFF) over every complete character; a character cut at the end of the
      // chunk, or the exact failing byte when the chunk is invalid, is left to the loop below.
      const end = completeCharactersEnd(bytes);
      if (isUtf8(bytes.subarray(0, end))) {
        this.position += end;
        return this.pushBytes(bytes.subarray(end));
      }
    }
    return this.pushBytes(bytes);
  }

  private pushBytes(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.needed === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          this.needed = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          this.needed = 2;
          if (b === 0xe0) this.lower = 0xa0; // no overlong 3-byte forms
          if (b === 0xed) this.upper = 0x9f; // no surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
          this.needed = 3;
          if (b === 0xf0) this.lower = 0x90; // no overlong 4-byte forms
          if (b === 0xf4) this.upper = 0x8f; // nothing above U+10FFFF
        } else {
          return this.fail(i);
        }
      } else {
        if (b < this.lower || b > this.upper) return this.fail(i);
        this.lower = 0x80;
        this.upper = 0xbf;
        this.needed--;
      }
    }
    this.position += bytes.length;
    return true;
  }

  /** True when the bytes so far end on a character boundary (required at the end of a message). */
  get complete(): boolean {
    return this.failedAt < 0 && this.needed === 0;
  }

  reset(): void {
    this.needed = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.position = 0;
    this.failedAt = -1;
  }

  private fail(indexInChunk: number): false {
    this.failedAt = this.position + indexInChunk;
    return false;
  }
}

/**
 * Where the last complete character of a chunk ends: the chunk's length, or the offset of a lead
 * byte whose continuation bytes have not all arrived (they come in the next chunk, §5.6).
 */
function completeCharactersEnd(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = n - 1;
  while (i >= 0 && n - i <= 3 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return n;
  const lead = bytes[i]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return n - i < length ? i : n;
}

export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.complete;
}
