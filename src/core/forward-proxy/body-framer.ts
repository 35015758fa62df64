/**
 * Finds where a request body ends, without keeping it: the bytes are passed on as they come and
 * only the framing is read (RFC 9112 §6.3: Content-Length, or the chunked coding, §7.1). Bytes
 * after the end belong to a next request, which this one-exchange-per-connection proxy does not
 * carry; they are reported as `extra`, never forwarded to this origin.
 *
 * Chunked (RFC 9112 §7.1): chunk-size [ chunk-ext ] CRLF chunk-data CRLF ... last-chunk
 * ("0" [ext] CRLF) trailer-section CRLF. Size and trailer lines are bounded.
 */

import type { BodyFraming } from './proxy-request.ts';

export class BodyFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyFramingError';
  }
}

/** A chunk-size line with extensions, or a trailer line, longer than this is refused. */
const MAX_LINE = 4096;
/** Trailer section in all. */
const MAX_TRAILERS = 16 * 1024;

type ChunkState = 'size' | 'data' | 'data-crlf' | 'trailer';

export interface FramedPiece {
  /** Bytes of this body to forward (a view into the input). */
  forward: Uint8Array;
  /** The body ended within this input. */
  done: boolean;
  /** Bytes past the end of the body. */
  extra: Uint8Array;
}

export class BodyFramer {
  private remaining: number;
  private state: ChunkState = 'size';
  private line = '';
  private trailerBytes = 0;
  private finished: boolean;

  constructor(private readonly framing: BodyFraming) {
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.finished = framing.kind === 'none';
  }

  get done(): boolean {
    return this.finished;
  }

  /** Throws BodyFramingError on a malformed chunked body. */
  feed(data: Uint8Array): FramedPiece {
    if (this.finished) return { forward: data.subarray(0, 0), done: true, extra: data };
    if (this.framing.kind === 'length') {
      const n = Math.min(this.remaining, data.length);
      this.remaining -= n;
      this.finished = this.remaining === 0;
      return { forward: data.subarray(0, n), done: this.finished, extra: data.subarray(n) };
    }
    let at = 0;
    while (at < data.length && !this.finished) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, data.length - at);
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-crlf';
        continue;
      }
      const byte = data[at++]!;
      if (byte !== 10) {
        this.line += String.fromCharCode(byte);
        if (this.line.length > MAX_LINE) throw new BodyFramingError(`a chunked body line is longer than ${MAX_LINE} bytes (RFC 9112 §7.1)`);
        continue;
      }
      if (!this.line.endsWith('\r')) throw new BodyFramingError('a chunked body line ends with a bare LF, not CRLF (RFC 9112 §7.1)');
      const line = this.line.slice(0, -1);
      this.line = '';
      this.endOfLine(line);
    }
    return { forward: data.subarray(0, at), done: this.finished, extra: data.subarray(at) };
  }

  private endOfLine(line: string): void {
    if (this.state === 'data-crlf') {
      if (line !== '') throw new BodyFramingError('chunk data is not followed by CRLF (RFC 9112 §7.1)');
      this.state = 'size';
    } else if (this.state === 'size') {
      // chunk-size = 1*HEXDIG, then optional extensions after ";" (§7.1.1).
      const match = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (!match) throw new BodyFramingError(`${JSON.stringify(line.slice(0, 40))} is not a chunk size (RFC 9112 §7.1)`);
      const size = parseInt(match[1]!, 16);
      if (size === 0) this.state = 'trailer';
      else {
        this.remaining = size;
        this.state = 'data';
      }
    } else {
      // trailer-section ends with an empty line (§7.1.2).
      this.trailerBytes += line.length + 2;
      if (this.trailerBytes > MAX_TRAILERS) throw new BodyFramingError(`the chunked trailer section exceeds ${MAX_TRAILERS} bytes`);
      if (line === '') this.finished = true;
    }
  }
}
