/**
 * Synchronous, streaming raw DEFLATE for a sans-I/O protocol (the one node:zlib adapter).
 *
 * Why this exists: the protocol object is synchronous (bytes in → events out, like
 * python-websockets, which drives zlib.decompressobj synchronously), and permessage-deflate
 * needs a compressor and a decompressor that live as long as the connection (context takeover,
 * RFC 7692 §7.2.1, §7.2.2). node:zlib offers streams (asynchronous) and one-shot *Sync
 * functions, but no synchronous streaming API. The options, weighed:
 *
 *  - `_processChunk(chunk, flushFlag)` without a callback (what inflateRawSync runs): synchronous,
 *    but one-shot: Node 20's processChunkSync closes the zlib handle when it returns, so a second
 *    call on the same stream throws (test/core/extensions/zlib-stream.test.ts shows it). Reusing it
 *    would mean swapping in a fake handle around each call, a worse hack than the one below.
 *  - One-shot `inflateRawSync(data, { dictionary: lastWindow })` per message: public API, but it
 *    cannot carry a stream across the frames of a fragmented message (a frame may end in the
 *    middle of a DEFLATE symbol), and the compressor would re-hash a 32 KiB dictionary for every
 *    64-byte message.
 *  - The async streams, with the protocol made asynchronous: gives up sans-I/O (the byte stepper,
 *    the tests and the socket all drive the same synchronous object).
 *  - A pure-JS inflate/deflate (pako): a dependency, and several times slower than zlib.
 *  - The stream's own handle: `handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)`,
 *    then `_writeState` = [availOutAfter, availInAfter]. That is exactly the loop processChunkSync
 *    runs inside Node, without its close at the end; and because we hand zlib the output buffer,
 *    an inflate can be told to stop one byte past the message limit (no zip bomb ever inflates
 *    further than that, whatever its ratio).
 *
 * We take the last. It depends on two Node internals (`_handle.writeSync`, `_writeState`), which
 * have kept this shape since Node 10; they are checked when a stream is made (a clear error
 * instead of a wrong answer), and the test above fails loudly if a Node upgrade changes them.
 */

import zlib from 'node:zlib';
import { concatBytes } from '../bytes.ts';

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
}

interface ZlibInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
  errored?: Error | null;
  /** The async path's output buffer size, the buffer and how far it is used (node:zlib reads all three per write). */
  _chunkSize: number;
  _outBuffer: Buffer;
  _outOffset: number;
}

export interface RawDeflateOptions {
  /** The LZ77 window, 2^windowBits bytes (9..15; see permessage-deflate.ts for 8). */
  windowBits: number;
  /** Compression level 0..9 or -1 (zlib's default, 6). Compressor only. */
  level?: number;
  /** Compression state memory 1..9 (zlib's default 8). Compressor only. */
  memLevel?: number;
  /** A preset window (decompressor): the plain bytes the stream may refer back to. */
  dictionary?: Uint8Array;
}

/** zlib said the compressed data is not valid DEFLATE (Z_DATA_ERROR and kin). */
export class DeflateDataError extends Error {
  constructor(message: string, readonly zlibCode: string | undefined) {
    super(message);
    this.name = 'DeflateDataError';
  }
}

export interface ProcessResult {
  /** Output, in order (views of internal buffers that are never written again). */
  chunks: Uint8Array[];
  /** Total output bytes. */
  length: number;
  /** Input bytes not consumed: > 0 only when the stream ended (a BFINAL block) or output was capped. */
  inputLeft: number;
  /** The DEFLATE stream ended (a block with BFINAL set was completed); nothing more is read. */
  ended: boolean;
  /** Output went past maxOutput: processing stopped there (the rest was not inflated). */
  overflow: boolean;
}

const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 1024 * 1024;
/** The largest output buffer compressAsync() gives zlib for one piece. */
const MAX_ASYNC_CHUNK = 8 * 1024 * 1024;

/** Throws a plain error if this Node's zlib stream lacks what the adapter drives. */
export function checkZlibInternals(stream: unknown): asserts stream is ZlibInternals {
  const s = stream as Partial<ZlibInternals>;
  if (typeof s._handle?.writeSync !== 'function' || !(s._writeState instanceof Uint32Array) || s._writeState.length < 2 || typeof s._handle.reset !== 'function'
    || typeof s._chunkSize !== 'number' || !(s._outBuffer instanceof Uint8Array) || s._outBuffer.length !== s._chunkSize || s._outOffset !== 0) {
    throw new Error(`node:zlib internals changed in Node ${process.versions.node}: the DEFLATE adapter (src/core/extensions/zlib-stream.ts) needs zlib stream._handle.writeSync(), ._writeState, ._chunkSize, ._outBuffer and ._outOffset. Turn permessage-deflate off (--no-deflate) until it is adapted.`);
  }
}

/** One raw DEFLATE compressor or decompressor, driven synchronously. */
export class RawDeflateStream {
  private readonly stream: ZlibInternals & NodeJS.EventEmitter;
  private handle: ZlibHandle;
  private out: Uint8Array;
  private outOffset = 0;
  private closed = false;
  /** Output was produced since the last reset (the window holds something). */
  private _used = false;
  /** A compressAsync() under way: nothing else may touch the stream until it ends. */
  private pendingAsync: { settle: (payloads: Uint8Array[] | null) => void } | null = null;

  constructor(readonly kind: 'deflate' | 'inflate', readonly options: RawDeflateOptions) {
    const zopts: zlib.ZlibOptions = { windowBits: options.windowBits };
    if (options.dictionary) zopts.dictionary = options.dictionary;
    if (kind === 'deflate') {
      // compressAsync's writes end with a sync flush each (one thread-pool trip per piece, no
      // separate flush() after it); process() passes its own flush, so this changes nothing there.
      zopts.flush = zlib.constants.Z_SYNC_FLUSH;
      if (options.level !== undefined) zopts.level = options.level;
      if (options.memLevel !== undefined) zopts.memLevel = options.memLevel;
    }
    const stream = kind === 'deflate' ? zlib.createDeflateRaw(zopts) : zlib.createInflateRaw(zopts);
    // A data error makes the stream emit 'error' on the next tick: nobody may be left to throw it.
    stream.on('error', () => {});
    checkZlibInternals(stream);
    this.stream = stream as unknown as ZlibInternals & NodeJS.EventEmitter;
    this.handle = stream._handle!;
    this.out = new Uint8Array(0);
  }

  /** Something went through since the last reset: the next message can refer back to it. */
  get used(): boolean {
    return this._used;
  }

  /**
   * Runs input through zlib with the given flush (Z_SYNC_FLUSH: everything out, byte-aligned).
   * An inflater stops as soon as its output passes maxOutput (overflow: true): it never holds
   * more than maxOutput + 1 bytes of a message, whatever the compression ratio.
   */
  process(input: Uint8Array, flush: number = zlib.constants.Z_SYNC_FLUSH, maxOutput = Number.POSITIVE_INFINITY): ProcessResult {
    if (this.closed) throw new Error('This DEFLATE stream is closed.');
    if (this.pendingAsync) throw new Error('This DEFLATE stream is busy compressing off the event loop.');
    const state = this.stream._writeState;
    const chunks: Uint8Array[] = [];
    let length = 0;
    let inOff = 0;
    let inLen = input.length;
    let chunkSize = FIRST_CHUNK;
    for (;;) {
      if (this.outOffset >= this.out.length) {
        this.out = new Uint8Array(chunkSize);
        this.outOffset = 0;
        chunkSize = Math.min(chunkSize * 2, MAX_CHUNK);
      }
      const room = this.out.length - this.outOffset;
      // One byte past the budget is enough to know it is exceeded.
      const outLen = Math.min(room, maxOutput - length + 1);
      this.handle.writeSync(flush, input, inOff, inLen, this.out, this.outOffset, outLen);
      const error = this.stream.errored;
      if (error) {
        this.closed = true; // zlib closed the handle: "there is no way to cleanly recover"
        throw new DeflateDataError(error.message, (error as NodeJS.ErrnoException).code);
      }
      const availOut = state[0]!;
      const availIn = state[1]!;
      const have = outLen - availOut;
      if (have > 0) {
        chunks.push(this.out.subarray(this.outOffset, this.outOffset + have));
        this.outOffset += have;
        length += have;
        this._used = true;
      }
      const consumed = inLen - availIn;
      inOff += consumed;
      inLen = availIn;
      if (length > maxOutput) return { chunks, length, inputLeft: inLen, ended: false, overflow: true };
      if (availOut === 0) continue; // output space ran out: more may be waiting
      // zlib stopped with room to spare: all input taken, or the stream ended (BFINAL) and the
      // rest is not DEFLATE data of this stream.
      return { chunks, length, inputLeft: inLen, ended: inLen > 0, overflow: false };
    }
  }

  /**
   * Compresses pieces in order, each ended with a sync flush (one payload per piece, as process()
   * with Z_SYNC_FLUSH gives them, byte for byte), but in libuv's thread pool instead of on the
   * event loop: node:zlib's public stream API (write, then flush), which is what ws runs for every
   * message. The same zlib stream as the synchronous path, so the window carries over both ways.
   * The caller must not touch the stream until the promise settles (process() refuses meanwhile).
   * Resolves null if the stream is closed first. Compressor only: an inflater stays synchronous,
   * since it must stop at the message limit as it goes (and inflating costs a tenth of deflating).
   *
   * Output buffer: node:zlib hands zlib chunkSize bytes of room (16 KiB) and, each time they fill,
   * goes back to the event loop for a new buffer before zlib may go on: ~70 round trips for 1 MiB
   * of text, each waiting for a busy loop. A piece over 64 KiB gets a buffer a quarter of its size
   * (up to 8 MiB), which holds all that text compresses to, so the thread pool works it in one go;
   * the default comes back once the message is done.
   */
  compressAsync(pieces: readonly Uint8Array[]): Promise<Uint8Array[] | null> {
    if (this.kind !== 'deflate') return Promise.reject(new Error('compressAsync is for a compressor.'));
    if (this.closed) return Promise.resolve(null);
    if (this.pendingAsync) return Promise.reject(new Error('This DEFLATE stream is busy compressing off the event loop.'));
    const stream = this.stream as unknown as zlib.DeflateRaw;
    return new Promise((resolve) => {
      const payloads: Uint8Array[] = [];
      let parts: Buffer[] = [];
      let length = 0;
      const onData = (chunk: Buffer) => {
        parts.push(chunk);
        length += chunk.length;
      };
      const defaultChunk = this.stream._chunkSize;
      let enlarged = false;
      const sizeOutput = (chunkSize: number) => {
        // node:zlib's next write starts at _outOffset of _outBuffer with _chunkSize - _outOffset of room.
        this.stream._chunkSize = chunkSize;
        this.stream._outBuffer = Buffer.allocUnsafe(chunkSize);
        this.stream._outOffset = 0;
      };
      /** A write is in the thread pool: zlib writes into _outBuffer through a raw pointer. */
      let writing = false;
      const settle = (result: Uint8Array[] | null) => {
        if (this.pendingAsync !== pending) return;
        this.pendingAsync = null;
        stream.off('data', onData);
        // Never while a write is under way (close() mid-compression): the stream's reference is
        // all that keeps that buffer alive, and zlib would go on writing into freed memory, which
        // the next allocation may be (CI saw a later message's UTF-8 get compressed bytes in it).
        if (enlarged && !writing && !stream.destroyed) sizeOutput(defaultChunk);
        resolve(result);
      };
      const pending = { settle };
      this.pendingAsync = pending;
      stream.on('data', onData);
      let next = 0;
      // 'data' for everything a write produced comes before the write's callback (ws relies on it too).
      const step = () => {
        writing = false;
        if (this.closed || stream.destroyed) return settle(null);
        if (next > 0) {
          // A lone part may be a view of a buffer much larger than it: keep only its bytes.
          const only = parts.length === 1 ? parts[0]! : null;
          payloads.push(only && only.buffer.byteLength > 2 * length ? new Uint8Array(only) : concatBytes(parts, length));
          if (length > 0) this._used = true;
          parts = [];
          length = 0;
        }
        if (next === pieces.length) return settle(payloads);
        const piece = pieces[next++]!;
        // A quarter of the piece: text and JSON compress well under it (one trip); incompressible
        // bytes take a few more trips, never one per 16 KiB. Not the worst case (zlib's deflateBound,
        // a bit over the piece): a MiB of fresh external memory per message would draw collections.
        const room = Math.min(Math.ceil(piece.length / 4), MAX_ASYNC_CHUNK);
        if (room > defaultChunk) {
          sizeOutput(room);
          enlarged = true;
        }
        // Written with Z_SYNC_FLUSH (the stream's flush option): all of it out, byte-aligned, then step.
        writing = true;
        stream.write(piece, step);
      };
      step();
    });
  }

  /** Forgets the window (no context takeover): the next message starts from nothing. */
  reset(): void {
    if (this.closed) return;
    if (this.pendingAsync) throw new Error('This DEFLATE stream is busy compressing off the event loop.');
    this.handle.reset();
    this._used = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingAsync?.settle(null);
    (this.stream as unknown as { close(): void }).close();
  }
}

export const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
export const Z_NO_FLUSH = zlib.constants.Z_NO_FLUSH;
