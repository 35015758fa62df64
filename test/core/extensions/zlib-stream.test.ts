/**
 * The synchronous DEFLATE adapter over node:zlib's internals. The first tests fail loudly if a
 * Node upgrade changes what the adapter drives (zlib-stream.ts says why it drives it).
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/core/bytes.ts';
import { checkZlibInternals, DeflateDataError, RawDeflateStream, Z_SYNC_FLUSH } from '../../../src/core/extensions/zlib-stream.ts';

describe('node:zlib internals the adapter depends on', () => {
  it(`are present in this Node (${process.versions.node}): stream._handle.writeSync, ._handle.reset and ._writeState`, () => {
    const stream = zlib.createInflateRaw();
    expect(() => checkZlibInternals(stream)).not.toThrow();
    const s = stream as unknown as { _handle: { writeSync: unknown }; _writeState: unknown };
    expect(typeof s._handle.writeSync).toBe('function');
    expect(s._writeState).toBeInstanceOf(Uint32Array);
    stream.close();
  });

  it('refuses, in plain words, a stream without them', () => {
    expect(() => checkZlibInternals({})).toThrow(/node:zlib internals changed in Node .*--no-deflate/);
  });

  it('_processChunk without a callback (what inflateRawSync runs) is one-shot: it closes the handle, which is why it is not used', () => {
    const deflate = zlib.createDeflateRaw();
    const internal = deflate as unknown as { _processChunk(chunk: Buffer, flush: number): Buffer; _handle: unknown };
    expect(toHex(internal._processChunk(Buffer.from('Hello'), Z_SYNC_FLUSH), ' ')).toBe('f2 48 cd c9 c9 07 00 00 00 ff ff');
    expect(internal._handle).toBeNull();
    expect(() => internal._processChunk(Buffer.from('Hello'), Z_SYNC_FLUSH)).toThrow();
  });
});

describe('RawDeflateStream', () => {
  it('keeps its window across calls: "Hello" twice compresses as RFC 7692 §7.2.3.2 shows', () => {
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const once = d.process(new TextEncoder().encode('Hello'));
    const twice = d.process(new TextEncoder().encode('Hello'));
    expect(toHex(Buffer.concat(once.chunks), ' ')).toBe('f2 48 cd c9 c9 07 00 00 00 ff ff');
    expect(toHex(Buffer.concat(twice.chunks), ' ')).toBe('f2 00 11 00 00 00 00 ff ff');
    expect(d.used).toBe(true);
    d.reset();
    expect(d.used).toBe(false);
    expect(toHex(Buffer.concat(d.process(new TextEncoder().encode('Hello')).chunks), ' ')).toBe('f2 48 cd c9 c9 07 00 00 00 ff ff');
    d.close();
    expect(() => d.process(new Uint8Array(1))).toThrow(/closed/);
  });

  it('inflates across calls that cut the stream anywhere, byte by byte', () => {
    const plain = new TextEncoder().encode('permessage-deflate '.repeat(200));
    const compressed = zlib.deflateRawSync(plain, { finishFlush: Z_SYNC_FLUSH });
    const i = new RawDeflateStream('inflate', { windowBits: 15 });
    const out: Uint8Array[] = [];
    for (let k = 0; k < compressed.length; k++) out.push(...i.process(compressed.subarray(k, k + 1)).chunks);
    expect(Buffer.concat(out).equals(Buffer.from(plain))).toBe(true);
  });

  it('stops one byte past maxOutput, whatever the ratio (64 MiB of zeros in 64 KiB)', () => {
    // 64 MiB of zeros deflate to about 64 KiB (ratio ~1030:1, DEFLATE's maximum is 1032:1).
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { finishFlush: Z_SYNC_FLUSH });
    expect(bomb.length).toBeLessThan(70 * 1024);
    const i = new RawDeflateStream('inflate', { windowBits: 15 });
    const result = i.process(bomb, Z_SYNC_FLUSH, 100_000);
    expect(result.overflow).toBe(true);
    expect(result.length).toBe(100_001);
    expect(result.inputLeft).toBeGreaterThan(0);
  });

  it('reports invalid DEFLATE data as DeflateDataError with zlib\'s words', () => {
    const i = new RawDeflateStream('inflate', { windowBits: 15 });
    expect(() => i.process(fromHex('ff ff ff ff'))).toThrow(DeflateDataError);
    const j = new RawDeflateStream('inflate', { windowBits: 15 });
    const error = (() => {
      try {
        j.process(fromHex('ff ff ff ff'));
        return null;
      } catch (e) {
        return e as DeflateDataError;
      }
    })();
    expect(error?.message).toBe('invalid block type');
    expect(error?.zlibCode).toBe('Z_DATA_ERROR');
  });

  it('says when the stream ended (a BFINAL block) and how much input is left', () => {
    // RFC 7692 §7.2.3.4: "Hello" in a BFINAL block, then an empty stored block's first octet.
    const i = new RawDeflateStream('inflate', { windowBits: 15 });
    const result = i.process(fromHex('f3 48 cd c9 c9 07 00 00 00 00 ff ff'));
    expect(Buffer.concat(result.chunks).toString()).toBe('Hello');
    expect(result.ended).toBe(true);
    expect(result.inputLeft).toBe(5);
  });

  it('a decompressor given a dictionary reads back-references into it', () => {
    const compressed = zlib.deflateRawSync(Buffer.from('Hello'), { dictionary: Buffer.from('Hello'), finishFlush: Z_SYNC_FLUSH });
    const i = new RawDeflateStream('inflate', { windowBits: 15, dictionary: new TextEncoder().encode('Hello') });
    expect(Buffer.concat(i.process(compressed).chunks).toString()).toBe('Hello');
  });
});
