/**
 * A FIFO of file chunks for the capture readers: chunks go in as they are read, records come out
 * as contiguous bytes. Bytes are copied only when a record straddles two chunks, so a reader
 * never holds more than the current record plus the chunk it came in.
 */

export class CaptureByteQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0;
  /** Bytes held. */
  length = 0;
  /** Bytes consumed since the start (the file offset of the next byte). */
  consumed = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next n bytes without consuming them, or null when fewer are held. */
  peek(n: number): Uint8Array | null {
    if (n > this.length) return null;
    const first = this.chunks[0];
    if (n === 0 || !first) return new Uint8Array(0);
    if (first.length - this.headOffset >= n) return first.subarray(this.headOffset, this.headOffset + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.headOffset;
    for (const chunk of this.chunks) {
      const take = Math.min(chunk.length - offset, n - filled);
      out.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset = 0;
      if (filled === n) break;
    }
    // Keep the joined bytes as the head chunk, so a second peek of the same record costs nothing.
    this.skipChunksOnly(n);
    if (this.headOffset > 0) this.chunks[0] = this.chunks[0]!.subarray(this.headOffset);
    this.chunks.unshift(out);
    this.headOffset = 0;
    return out;
  }

  /** Drops n bytes (n <= length). */
  skip(n: number): void {
    this.length -= n;
    this.consumed += n;
    this.skipChunksOnly(n);
  }

  private skipChunksOnly(n: number): void {
    while (n > 0) {
      const first = this.chunks[0]!;
      const available = first.length - this.headOffset;
      if (available > n) {
        this.headOffset += n;
        return;
      }
      n -= available;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Takes the next n bytes (n <= length). */
  take(n: number): Uint8Array {
    const bytes = this.peek(n)!;
    this.skip(n);
    return bytes;
  }
}
