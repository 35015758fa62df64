import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import {
  applyMask, applyMaskInPlace, bytesEqual, concatBytes, fromHex, toHex, utf8DecodeLenient, utf8Encode,
} from '../../src/core/bytes.ts';
import { prng } from '../support/prng.ts';

/** Reference masking straight from RFC 6455 §5.3: j = i MOD 4; transformed[i] = original[i] XOR key[j]. */
function referenceMask(data: Uint8Array, key: Uint8Array, offset = 0): Uint8Array {
  return Uint8Array.from(data, (b, i) => b ^ key[(offset + i) % 4]!);
}


describe('applyMask (RFC 6455 §5.3)', () => {
  it('masks "Hello" with key 37 fa 21 3d to the RFC §5.7 payload 7f 9f 4d 51 58', () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const masked = applyMask(utf8Encode('Hello'), key);
    expect(Array.from(masked)).toEqual([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  });

  it('unmasks the RFC §5.7 payload back to "Hello" (masking is its own inverse)', () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const unmasked = applyMask(Uint8Array.of(0x7f, 0x9f, 0x4d, 0x51, 0x58), key);
    expect(new TextDecoder().decode(unmasked)).toBe('Hello');
  });

  it('does not modify its input', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5);
    applyMask(data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5]);
  });

  it('returns an empty array for an empty payload', () => {
    expect(applyMask(new Uint8Array(0), Uint8Array.of(1, 2, 3, 4)).length).toBe(0);
  });

  it.each([0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 1000])('matches the RFC formula for length %i at every offset 0-7', (length) => {
    const rand = prng(length + 1);
    const data = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
    const key = Uint8Array.from({ length: 4 }, () => Math.floor(rand() * 256));
    for (let offset = 0; offset < 8; offset++) {
      expect(Array.from(applyMask(data, key, offset))).toEqual(Array.from(referenceMask(data, key, offset)));
    }
  });

  it('unmasking chunk by chunk with running offsets equals unmasking the whole payload, at every split', () => {
    const rand = prng(42);
    const data = Uint8Array.from({ length: 23 }, () => Math.floor(rand() * 256));
    const key = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
    const whole = referenceMask(data, key);
    for (let a = 0; a <= data.length; a++) {
      for (let b = a; b <= data.length; b++) {
        const parts = [data.subarray(0, a), data.subarray(a, b), data.subarray(b)];
        const offsets = [0, a, b];
        const out = concatBytes(parts.map((p, i) => applyMask(p, key, offsets[i]!)), data.length);
        expect(bytesEqual(out, whole)).toBe(true);
      }
    }
  });

  it('applyMaskInPlace writes into the target and can work in place', () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const buf = utf8Encode('Hello');
    applyMaskInPlace(buf, buf, key);
    expect(toHex(buf)).toBe('7f9f4d5158');
  });

  // Word-wise masking (issue 17): an unaligned head, 32-bit words, a tail; byte-wise when source and
  // target cannot both be aligned. Every combination must equal the RFC formula byte for byte.
  it('word-wise: every head alignment of source and target, in place and not, lengths around the threshold, offsets 0-3', () => {
    const rand = prng(7);
    const key = Uint8Array.from({ length: 4 }, () => Math.floor(rand() * 256));
    for (const length of [63, 64, 65, 255, 256, 257, 258, 259, 300, 1029, 4096 + 3]) {
      const bytes = Uint8Array.from({ length: length + 8 }, () => Math.floor(rand() * 256));
      for (let at = 0; at < 4; at++) {
        const source = bytes.subarray(at, at + length);
        for (let offset = 0; offset < 4; offset++) {
          const expected = referenceMask(source, key, offset);
          for (let targetAt = 0; targetAt < 4; targetAt++) {
            const target = new Uint8Array(length + 8).subarray(targetAt, targetAt + length);
            applyMaskInPlace(target, source, key, offset);
            expect(toHex(target), `length ${length}, source at ${at}, target at ${targetAt}, offset ${offset}`).toBe(toHex(expected));
          }
          const copy = new Uint8Array(length + 8);
          copy.set(source, at);
          const inPlace = copy.subarray(at, at + length);
          applyMaskInPlace(inPlace, inPlace, key, offset);
          expect(toHex(inPlace), `in place: length ${length}, at ${at}, offset ${offset}`).toBe(toHex(expected));
          // Bytes around the payload are left alone.
          expect(copy.subarray(0, at).every((x) => x === 0) && copy.subarray(at + length).every((x) => x === 0)).toBe(true);
        }
      }
    }
  });

  it('word-wise: chunks at any split unmask like the whole payload (running offsets)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.nat(600), fc.nat(600), fc.uint8Array({ minLength: 4, maxLength: 4 }), (data, x, y, key) => {
      const a = Math.min(x, y, data.length), b = Math.min(Math.max(x, y), data.length);
      const out = new Uint8Array(data.length);
      for (const [from, to] of [[0, a], [a, b], [b, data.length]] as const) applyMaskInPlace(out.subarray(from, to), data.subarray(from, to), key, from);
      return toHex(out) === toHex(referenceMask(data, key));
    }));
  });
});

describe('toHex / fromHex', () => {
  it.each([
    [Uint8Array.of(), '', ''],
    [Uint8Array.of(0x81, 0x05, 0x48), '', '810548'],
    [Uint8Array.of(0x81, 0x05, 0x48), ' ', '81 05 48'],
    [Uint8Array.of(0x00, 0x0f, 0xf0, 0xff), ':', '00:0f:f0:ff'],
  ])('toHex(%o, %j) = %j', (bytes, sep, hex) => {
    expect(toHex(bytes, sep)).toBe(hex);
  });

  it.each([
    ['81 05 48 65 6c 6c 6f', [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
    ['8105486c', [0x81, 0x05, 0x48, 0x6c]],
    ['0x81 0x7E', [0x81, 0x7e]],
    ['81:7e,01\n00', [0x81, 0x7e, 0x01, 0x00]],
    ['AbCd', [0xab, 0xcd]],
    ['', []],
  ])('fromHex(%j) reads %o', (text, bytes) => {
    expect(Array.from(fromHex(text))).toEqual(bytes);
  });

  it.each([
    ['812', /odd number of digits/],
    ['zz', /not 0-9 or a-f/],
    ['81 g5', /not 0-9 or a-f/],
  ])('fromHex(%j) throws %s', (text, error) => {
    expect(() => fromHex(text)).toThrow(error);
  });

  it('round-trips all 256 byte values', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(bytesEqual(fromHex(toHex(all, ' ')), all)).toBe(true);
    expect(toHex(all).length).toBe(512);
  });
});

describe('concatBytes / bytesEqual', () => {
  it('joins chunks in order', () => {
    expect(Array.from(concatBytes([Uint8Array.of(1), Uint8Array.of(), Uint8Array.of(2, 3)]))).toEqual([1, 2, 3]);
  });

  it('returns an empty array for no chunks', () => {
    expect(concatBytes([]).length).toBe(0);
  });

  it.each([
    [[1, 2, 3], [1, 2, 3], true],
    [[1, 2, 3], [1, 2, 4], false],
    [[1, 2], [1, 2, 3], false],
    [[], [], true],
  ])('bytesEqual(%o, %o) = %s', (a, b, equal) => {
    expect(bytesEqual(Uint8Array.from(a), Uint8Array.from(b))).toBe(equal);
  });
});

describe('utf8Encode / utf8DecodeLenient', () => {
  it.each([
    ['A', [0x41]],
    ['é', [0xc3, 0xa9]],
    ['€', [0xe2, 0x82, 0xac]],
    ['😀', [0xf0, 0x9f, 0x98, 0x80]],
  ])('encodes %j as %o', (text, bytes) => {
    expect(Array.from(utf8Encode(text))).toEqual(bytes);
  });

  it('decodes invalid bytes as U+FFFD instead of throwing', () => {
    expect(utf8DecodeLenient(Uint8Array.of(0x41, 0xc0, 0x80, 0x42))).toBe('A\ufffd\ufffdB');
  });
});

describe('fromHex reads exactly what the regular-expression version read (one pass since issue 10 §6)', () => {
  /** The former implementation, as the reference. */
  function reference(text: string): Uint8Array {
    const clean = text.replace(/0x/gi, '').replace(/[\s:,]/g, '');
    if (clean.length % 2 !== 0) throw new Error(`hex has an odd number of digits (${clean.length})`);
    if (!/^[0-9a-fA-F]*$/.test(clean)) throw new Error('hex contains a character that is not 0-9 or a-f');
    const out = new Uint8Array(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  const outcome = (f: () => Uint8Array) => {
    try {
      return { bytes: Array.from(f()) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  it('on random strings of hex digits, separators, prefixes and strays', () => {
    const pieces = fc.constantFrom('0', '1', '9', 'a', 'F', 'x', 'X', '0x', '0X', ' ', '\t', '\n', ':', ',', '\u00a0', '\u2028', 'g', 'z', '-', 'é', '😀');
    fc.assert(fc.property(fc.array(pieces, { maxLength: 40 }).map((p) => p.join('')), (text) => {
      expect(outcome(() => fromHex(text))).toEqual(outcome(() => reference(text)));
    }), { numRuns: 3000 });
  });

  it.each(['100x', '00x1', '0x0x', '0 x', '8g1', '0x', 'x0', '0xx'])('on %j', (text) => {
    expect(outcome(() => fromHex(text))).toEqual(outcome(() => reference(text)));
  });
});
