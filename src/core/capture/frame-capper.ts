/**
 * Applies the recording's per-frame size cap to one direction of a connection as its bytes go
 * by: the HTTP head passes whole, then the frame boundaries are followed (RFC 6455 §5.2: 2 header
 * bytes, a 16- or 64-bit extended length, a 4-byte masking key, the payload), and of each frame's
 * payload only the first `cap` bytes are kept; the rest is counted as elided. It does not judge
 * anything (the replay's parser does): it only needs the lengths to stay in step.
 */

export interface CappedPiece {
  bytes: Uint8Array;
  /** Bytes left out right after `bytes` (inside one frame's payload). */
  elided: number;
}

/** The longest HTTP head looked for; a stream with no CRLF CRLF by then is kept whole. */
const MAX_HEAD_SCAN = 64 * 1024;

export class FrameCapper {
  /** 'head': before CRLF CRLF; 'frames': following frames; 'whole': keep everything (no frames to follow). */
  private mode: 'head' | 'frames' | 'whole' = 'head';
  private headSeen = 0;
  /** The last 3 bytes of the head so far, to find CRLF CRLF across chunks. */
  private tail = 0;
  private readonly header = new Uint8Array(14);
  private headerHave = 0;
  private headerNeed = 2;
  private payloadLeft = 0;
  private payloadKept = 0;

  constructor(private readonly cap: number) {}

  /** Splits a chunk into what to keep and what to elide (pieces in wire order). */
  push(chunk: Uint8Array): CappedPiece[] {
    if (this.mode === 'whole' || !Number.isFinite(this.cap)) return [{ bytes: chunk, elided: 0 }];
    const pieces: CappedPiece[] = [];
    let keepFrom = 0;
    let at = 0;
    if (this.mode === 'head') {
      at = this.scanHead(chunk);
      if ((this.mode as FrameCapper['mode']) !== 'frames') return [{ bytes: chunk, elided: 0 }];
    }
    while (at < chunk.length) {
      if (this.payloadLeft === 0 && this.headerHave < this.headerNeed) {
        const n = Math.min(this.headerNeed - this.headerHave, chunk.length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerHave);
        this.headerHave += n;
        at += n;
        if (this.headerHave === this.headerNeed) this.headerGrew();
        continue;
      }
      // In a payload.
      const n = Math.min(this.payloadLeft, chunk.length - at);
      const keep = Math.max(0, Math.min(n, this.cap - this.payloadKept));
      if (keep < n) {
        pieces.push({ bytes: chunk.subarray(keepFrom, at + keep), elided: n - keep });
        keepFrom = at + n;
      }
      this.payloadKept += keep;
      this.payloadLeft -= n;
      at += n;
      if (this.payloadLeft === 0) this.nextFrame();
    }
    if (keepFrom < chunk.length || pieces.length === 0) pieces.push({ bytes: chunk.subarray(keepFrom), elided: 0 });
    return pieces;
  }

  /** Looks for CRLF CRLF; returns the offset after it (or the chunk's length). */
  private scanHead(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      this.tail = ((this.tail << 8) | chunk[i]!) >>> 0;
      if (this.tail === 0x0d0a0d0a) {
        this.mode = 'frames';
        return i + 1;
      }
      if (++this.headSeen > MAX_HEAD_SCAN) {
        this.mode = 'whole';
        return chunk.length;
      }
    }
    return chunk.length;
  }

  /** A frame after a response that is not 101 is an HTTP body: keep it as it is. */
  keepWhole(): void {
    this.mode = 'whole';
  }

  private headerGrew(): void {
    const b1 = this.header[1]!;
    const lengthField = b1 & 0x7f;
    const need = 2 + (lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
    if (this.headerNeed < need) {
      this.headerNeed = need;
      return;
    }
    let length = lengthField;
    if (lengthField === 126) length = (this.header[2]! << 8) | this.header[3]!;
    else if (lengthField === 127) {
      let v = 0;
      for (let i = 2; i < 10; i++) v = v * 256 + this.header[i]!;
      length = v;
    }
    this.payloadLeft = length;
    this.payloadKept = 0;
    if (length === 0) this.nextFrame();
  }

  private nextFrame(): void {
    this.headerHave = 0;
    this.headerNeed = 2;
    this.payloadLeft = 0;
    this.payloadKept = 0;
  }
}
