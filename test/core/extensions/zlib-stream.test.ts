/**
 * The synchronous DEFLATE adapter over node:zlib's internals. The first tests fail loudly if a
 * Node upgrade changes what the adapter drives (zlib-stream.ts says why it drives it).
 */
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../../src/core/bytes.ts';
import { checkZlibInternals, DeflateDataError, RawDeflateStream, Z_SYNC_FLUSH } from '../../../src/core/extensions/zlib-stream.ts';

/** A full garbage collection on demand (freed memory is then there for the next allocations). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

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

  it('compressAsync (thread pool) gives what process() gives, byte for byte, on one stream with the window carried both ways', async () => {
    const text = (n: number, v: number) => Buffer.from(JSON.stringify(Array.from({ length: n / 20 }, (_, i) => ({ i: i * v, s: `v${i % 97}` }))).slice(0, n));
    const messages = [text(100_000, 1), text(300, 2), text(200_000, 3), Buffer.alloc(0), text(5_000, 4)];
    const sync = new RawDeflateStream('deflate', { windowBits: 15 });
    const mixed = new RawDeflateStream('deflate', { windowBits: 15 });
    for (const [i, m] of messages.entries()) {
      const pieces = i === 2 ? [m.subarray(0, 777), m.subarray(777)] : [m];
      const expected = pieces.map((p) => toHex(Buffer.concat(sync.process(p, Z_SYNC_FLUSH).chunks)));
      const got = i % 2 === 0 ? (await mixed.compressAsync(pieces))!.map((p) => toHex(p)) : pieces.map((p) => toHex(Buffer.concat(mixed.process(p, Z_SYNC_FLUSH).chunks)));
      expect(got).toEqual(expected);
    }
    sync.close();
    mixed.close();
  });

  it('compressAsync gives a large piece a large output buffer (no event-loop round trip per 16 KiB), then the default again', async () => {
    const json = Buffer.from(JSON.stringify(Array.from({ length: 60_000 }, (_, i) => ({ id: i, name: `user-${i % 977}`, on: i % 3 === 0 }))).slice(0, 1 << 20));
    const noise = randomBytes(1 << 20); // stored blocks: the output is longer than the input
    const sync = new RawDeflateStream('deflate', { windowBits: 15 });
    const async = new RawDeflateStream('deflate', { windowBits: 15 });
    const internal = (async as unknown as { stream: NodeJS.EventEmitter & { _chunkSize: number } }).stream;
    let outputs = 0;
    internal.on('data', () => outputs++);
    for (const m of [json, noise, Buffer.alloc(0), Buffer.from('{"small":true}')]) {
      outputs = 0;
      const expected = Buffer.concat(sync.process(m, Z_SYNC_FLUSH).chunks);
      const [got] = (await async.compressAsync([m]))!;
      expect(toHex(got!)).toBe(toHex(expected));
      // One write with a sync flush into a buffer a quarter of the piece: one output for JSON, five
      // for incompressible noise (16 KiB buffers: 9 for this JSON, 64+ for 1 MiB of noise).
      expect(outputs).toBeLessThanOrEqual(m === noise ? 5 : 1);
      expect(got!.buffer.byteLength).toBeLessThanOrEqual(2 * got!.length + 64 * 1024);
      expect(internal._chunkSize).toBe(16 * 1024);
    }
    sync.close();
    async.close();
  });

  it('compressAsync: the stream refuses other work until it ends, and closing settles it with null', async () => {
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const pending = d.compressAsync([Buffer.alloc(1 << 20, 'a')]);
    expect(() => d.process(new Uint8Array(1))).toThrow(/busy/);
    expect(() => d.reset()).toThrow(/busy/);
    d.close();
    await expect(pending).resolves.toBeNull();
    await expect(new RawDeflateStream('inflate', { windowBits: 15 }).compressAsync([])).rejects.toThrow(/compressor/);
  });

  it('closing while the thread pool compresses keeps its output buffer alive: zlib never writes into freed memory', async () => {
    // CI found it: a connection dropped mid-compression made the stream's output buffer garbage
    // while zlib still wrote into it, and the next large message's UTF-8 (reusing that memory)
    // got compressed bytes in its middle. Freed memory is reused only by chance, so this looks at
    // the cause: the buffer the write was given must still be the stream's until the write ends.
    for (let round = 0; round < 4; round++) {
      const d = new RawDeflateStream('deflate', { windowBits: 15 });
      const internal = (d as unknown as { stream: NodeJS.EventEmitter & { _outBuffer: Buffer; _handle: unknown } }).stream;
      const noise = randomBytes(4 << 20); // long enough to still be in the thread pool when closed
      const pending = d.compressAsync([noise]);
      const given = internal._outBuffer;
      expect(given.length).toBe(1 << 20); // a quarter of the piece, not the 16 KiB default
      d.close();
      expect(internal._outBuffer === given, 'the output buffer was swapped while zlib wrote into it').toBe(true);
      await expect(pending).resolves.toBeNull();
      // Still the same once the write has ended and the stream closed.
      await new Promise((resolve) => internal.once('close', resolve));
      expect(internal._outBuffer === given, 'the output buffer was swapped while zlib wrote into it').toBe(true);
    }
  });

  it('outputs handed out are never written again: later messages, sync or thread pool, and reused memory leave them as they were', async () => {
    // ProcessResult's claim, and compressAsync's payloads (views of node:zlib's output buffer when
    // they fill it well): a payload sits on the socket's queue, or with the app, long after. Each
    // later call, a collection and fresh allocations of the same sizes must leave its bytes alone.
    const gc = collector();
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const i = new RawDeflateStream('inflate', { windowBits: 15 });
    const kept: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
    const keep = (views: readonly Uint8Array[]) => {
      for (const view of views) kept.push({ view, copy: view.slice() });
    };
    // Sizes around the 16 KiB default output buffer, the 64 KiB enlargement and several enlarged trips.
    const sizes = [5, 3000, 20_000, 70_000, 300_000, 16_384];
    for (const [n, size] of sizes.entries()) {
      const plain = n % 2 ? new Uint8Array(randomBytes(size)) : new TextEncoder().encode(JSON.stringify({ n, text: 'a'.repeat(size) }).slice(0, size));
      const sync = d.process(plain);
      keep(sync.chunks);
      const inflated = i.process(concatBytes(sync.chunks));
      keep(inflated.chunks);
      expect(concatBytes(inflated.chunks)).toEqual(plain);
      const payloads = (await d.compressAsync([plain, plain.subarray(0, size >> 1)]))!;
      keep(payloads);
      const back = i.process(concatBytes(payloads));
      keep(back.chunks);
      expect(back.length).toBe(size + (size >> 1));
      gc();
      for (const size of sizes) Buffer.allocUnsafe(size).fill(0xa5);
    }
    const changed = kept.filter(({ view, copy }) => !Buffer.from(view).equals(copy)).length;
    expect(changed, `${changed} of ${kept.length} outputs changed after they were handed out`).toBe(0);
    d.close();
    i.close();
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
