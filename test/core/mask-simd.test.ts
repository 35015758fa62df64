import { afterEach, describe, expect, it } from 'vitest';
import { applyMaskInPlace, setWideMasker } from '../../src/core/bytes.ts';
import { createSimdMasker } from '../../src/core/mask-simd.ts';
import { prng } from '../support/prng.ts';

/** Reference masking straight from RFC 6455 §5.3: j = i MOD 4; transformed[i] = original[i] XOR key[j]. */
function referenceMask(data: Uint8Array, key: Uint8Array, offset = 0): Uint8Array {
  return Uint8Array.from(data, (b, i) => b ^ key[(offset + i) % 4]!);
}
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

const masker = createSimdMasker();

describe('WebAssembly SIMD masking (RFC 6455 §5.3, 64 bytes per turn)', () => {
  afterEach(() => setWideMasker(null));

  it('compiles here (Node.js 20 runs WebAssembly SIMD)', () => {
    expect(masker).not.toBeNull();
  });

  it('equals the RFC formula: every length around 64-byte turns and 64 KiB blocks, every alignment and payload offset, in place and not', () => {
    const rand = prng(3);
    const key = Uint8Array.from({ length: 4 }, () => Math.floor(rand() * 256));
    for (const length of [0, 1, 15, 16, 63, 64, 65, 127, 128, 511, 512, 4099, 65535, 65536, 65537, 131072 + 61, 200003]) {
      const bytes = Uint8Array.from({ length: length + 8 }, () => Math.floor(rand() * 256));
      for (const at of [0, 1, 3]) {
        const source = bytes.subarray(at, at + length);
        for (const offset of [0, 1, 2, 3, 70001]) {
          const expected = referenceMask(source, key, offset);
          const target = new Uint8Array(length + 8).subarray(2, 2 + length);
          masker!(target, source, key, offset);
          expect(same(target, expected), `length ${length}, at ${at}, offset ${offset}`).toBe(true);
          const copy = new Uint8Array(length + 8);
          copy.set(source, at);
          const inPlace = copy.subarray(at, at + length);
          masker!(inPlace, inPlace, key, offset);
          expect(same(inPlace, expected), `in place: length ${length}, at ${at}, offset ${offset}`).toBe(true);
          // Bytes around the payload are left alone (the rounding up to 64 happens in the module's memory only).
          expect(copy.subarray(0, at).every((x) => x === 0) && copy.subarray(at + length).every((x) => x === 0)).toBe(true);
        }
      }
    }
  });

  it('installed in bytes.ts, applyMaskInPlace gives the same bytes as its own loops, chunk by chunk with running offsets', () => {
    const rand = prng(11);
    for (let run = 0; run < 40; run++) {
      const data = Uint8Array.from({ length: Math.floor(rand() * 140_000) }, () => Math.floor(rand() * 256));
      const key = Uint8Array.from({ length: 4 }, () => Math.floor(rand() * 256));
      const cuts = [Math.floor(rand() * data.length), Math.floor(rand() * data.length)].sort((a, b) => a - b);
      const unmask = () => {
        const out = new Uint8Array(data.length);
        for (const [from, to] of [[0, cuts[0]!], [cuts[0]!, cuts[1]!], [cuts[1]!, data.length]] as const) applyMaskInPlace(out.subarray(from, to), data.subarray(from, to), key, from);
        return out;
      };
      setWideMasker(null);
      const loops = unmask();
      setWideMasker(masker);
      expect(same(unmask(), loops)).toBe(true);
      expect(same(loops, referenceMask(data, key))).toBe(true);
    }
  });
});
