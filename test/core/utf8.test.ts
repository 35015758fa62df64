import { describe, it, expect } from 'vitest';
import { isValidUtf8, Utf8Validator } from '../../src/core/utf8.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { prng } from '../support/prng.ts';

/** Independent oracle: the WHATWG decoder in fatal mode. */
function oracleValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Oracle for fail-fast: `prefix` can still become valid UTF-8 if some 0-3 continuation bytes
 * complete it. The candidates 0x80, 0x90, 0xA0 together hit every allowed continuation range of
 * Unicode table 3-7 ([80,BF], [A0,BF], [80,9F], [90,BF], [80,8F]).
 */
function oracleIsValidPrefix(prefix: Uint8Array): boolean {
  const candidates = [0x80, 0x90, 0xa0];
  const tails: number[][] = [[]];
  for (const a of candidates) {
    tails.push([a]);
    for (const b of candidates) {
      tails.push([a, b]);
      for (const c of candidates) tails.push([a, b, c]);
    }
  }
  return tails.some((tail) => {
    const bytes = new Uint8Array(prefix.length + tail.length);
    bytes.set(prefix);
    bytes.set(tail, prefix.length);
    return oracleValid(bytes);
  });
}

/** Index of the first byte after which the stream cannot become valid, or -1. */
function oracleFailedAt(bytes: Uint8Array): number {
  for (let k = 1; k <= bytes.length; k++) {
    if (!oracleIsValidPrefix(bytes.subarray(0, k))) return k - 1;
  }
  return -1;
}


function validate(bytes: Uint8Array): { pushed: boolean; complete: boolean; failedAt: number } {
  const v = new Utf8Validator();
  const pushed = v.push(bytes);
  return { pushed, complete: v.complete, failedAt: v.failedAt };
}

const hex = (h: string) => fromHex(h);

describe('Utf8Validator: valid input', () => {
  it.each([
    ['empty', ''],
    ['ASCII', '48 65 6c 6c 6f'],
    ['NUL and DEL', '00 7f'],
    ['2-byte U+0080', 'c2 80'],
    ['2-byte U+07FF', 'df bf'],
    ['2-byte é', 'c3 a9'],
    ['3-byte U+0800 (smallest)', 'e0 a0 80'],
    ['3-byte € U+20AC', 'e2 82 ac'],
    ['3-byte U+D7FF (just below surrogates)', 'ed 9f bf'],
    ['3-byte U+E000 (just above surrogates)', 'ee 80 80'],
    ['3-byte U+FFFF', 'ef bf bf'],
    ['4-byte U+10000 (smallest)', 'f0 90 80 80'],
    ['4-byte 😀 U+1F600', 'f0 9f 98 80'],
    ['4-byte U+10FFFF (largest)', 'f4 8f bf bf'],
    ['mixed', '41 c3 a9 e2 82 ac f0 9f 98 80 5a'],
  ])('%s (%s) is valid and complete', (_name, h) => {
    const r = validate(hex(h));
    expect(r).toEqual({ pushed: true, complete: true, failedAt: -1 });
    expect(isValidUtf8(hex(h))).toBe(true);
    expect(oracleValid(hex(h))).toBe(true);
  });
});

describe('Utf8Validator: invalid input fails at the first byte that proves it', () => {
  it.each([
    ['overlong 2-byte C0 80', 'c0 80', 0],
    ['overlong 2-byte C1 BF', 'c1 bf', 0],
    ['overlong 3-byte E0 80 80', 'e0 80 80', 1],
    ['overlong 3-byte E0 9F BF', 'e0 9f bf', 1],
    ['overlong 4-byte F0 80 80 80', 'f0 80 80 80', 1],
    ['overlong 4-byte F0 8F BF BF', 'f0 8f bf bf', 1],
    ['surrogate U+D800 ED A0 80', 'ed a0 80', 1],
    ['surrogate U+DFFF ED BF BF', 'ed bf bf', 1],
    ['above U+10FFFF F4 90 80 80', 'f4 90 80 80', 1],
    ['lead F5', 'f5 80 80 80', 0],
    ['lead F8', 'f8 88 80 80 80', 0],
    ['lead FF', 'ff', 0],
    ['lead FE', 'fe', 0],
    ['lone continuation 80', '80', 0],
    ['lone continuation BF after ASCII', '41 42 bf', 2],
    ['2-byte lead followed by ASCII', 'c3 41', 1],
    ['3-byte sequence cut by ASCII', 'e2 82 41', 2],
    ['4-byte sequence cut by a new lead', 'f0 9f 98 f0 9f 98 80', 3],
    ['valid text then an overlong', '48 69 c0 af', 2],
    ['too many continuations', 'c3 a9 a9', 2],
  ])('%s (%s) fails at byte %i', (_name, h, at) => {
    const r = validate(hex(h));
    expect(r.pushed).toBe(false);
    expect(r.complete).toBe(false);
    expect(r.failedAt).toBe(at);
    expect(isValidUtf8(hex(h))).toBe(false);
    expect(oracleValid(hex(h))).toBe(false);
    expect(oracleFailedAt(hex(h))).toBe(at);
  });

  it.each([
    ['2-byte lead alone', 'c3'],
    ['3-byte lead + 1', 'e2 82'],
    ['4-byte lead + 2', 'f0 9f 98'],
    ['ASCII then a lead', '48 65 e2'],
  ])('truncated sequence %s (%s): push succeeds but complete is false', (_name, h) => {
    const r = validate(hex(h));
    expect(r).toEqual({ pushed: true, complete: false, failedAt: -1 });
    expect(isValidUtf8(hex(h))).toBe(false);
  });

  it('keeps failing after the first failure and reports the first position', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('41 42'))).toBe(true);
    expect(v.push(hex('43 80 41'))).toBe(false);
    expect(v.failedAt).toBe(3);
    expect(v.push(hex('41'))).toBe(false);
    expect(v.failedAt).toBe(3);
    expect(v.complete).toBe(false);
  });

  it('reset() clears a failure and a half-read character', () => {
    const v = new Utf8Validator();
    v.push(hex('c0'));
    v.reset();
    expect(v.failedAt).toBe(-1);
    expect(v.push(hex('e2 82'))).toBe(true);
    v.reset();
    expect(v.complete).toBe(true);
    expect(v.push(hex('41'))).toBe(true);
    expect(v.complete).toBe(true);
  });
});

describe('Utf8Validator: split across pushes', () => {
  const cases = [
    '41 c3 a9 e2 82 ac f0 9f 98 80 f4 8f bf bf 5a',
    'e0 80 80',
    'ed a0 80',
    'f4 90 80 80',
    '48 65 6c 6c 6f c0 80',
    'f0 9f 98',
    '41 42 43 ff 41',
  ];

  it.each(cases)('%s: every split point gives the same verdict and failedAt as one push', (h) => {
    const bytes = hex(h);
    const whole = validate(bytes);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const v = new Utf8Validator();
        const ok = v.push(bytes.subarray(0, i)) && v.push(bytes.subarray(i, j)) && v.push(bytes.subarray(j));
        expect(ok).toBe(whole.pushed);
        expect(v.complete).toBe(whole.complete);
        expect(v.failedAt).toBe(whole.failedAt);
      }
    }
  });

  it.each(cases)('%s: one byte at a time gives the same verdict and failedAt as one push', (h) => {
    const bytes = hex(h);
    const whole = validate(bytes);
    const v = new Utf8Validator();
    let ok = true;
    for (const b of bytes) ok = v.push(Uint8Array.of(b)) && ok;
    expect(ok).toBe(whole.pushed);
    expect(v.complete).toBe(whole.complete);
    expect(v.failedAt).toBe(whole.failedAt);
  });
});

describe('Utf8Validator against TextDecoder({ fatal: true }) as an oracle', () => {
  // Bytes drawn from classes that exercise every row of Unicode table 3-7.
  const classes = [
    [0x00, 0x7f], [0x80, 0x8f], [0x90, 0x9f], [0xa0, 0xbf], [0xc0, 0xc1], [0xc2, 0xdf],
    [0xe0, 0xe0], [0xe1, 0xec], [0xed, 0xed], [0xee, 0xef], [0xf0, 0xf0], [0xf1, 0xf3], [0xf4, 0xf4], [0xf5, 0xff],
  ] as const;

  function randomBytes(rand: () => number, length: number): Uint8Array {
    return Uint8Array.from({ length }, () => {
      const [lo, hi] = classes[Math.floor(rand() * classes.length)]!;
      return lo + Math.floor(rand() * (hi - lo + 1));
    });
  }

  function randomValidWithNoise(rand: () => number): Uint8Array {
    let text = '';
    const n = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      let cp = Math.floor(rand() * 0x110000);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      text += String.fromCodePoint(cp);
    }
    const bytes = new TextEncoder().encode(text);
    if (rand() < 0.5 && bytes.length > 0) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    return rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
  }

  it('agrees with the oracle on 3000 random byte strings (verdict, failedAt, every split)', () => {
    const rand = prng(6455);
    let valid = 0;
    let invalid = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = n % 2 === 0 ? randomBytes(rand, 1 + Math.floor(rand() * 8)) : randomValidWithNoise(rand);
      const expectedValid = oracleValid(bytes);
      const r = validate(bytes);
      expect(r.pushed && r.complete, `bytes ${Array.from(bytes, (b) => b.toString(16)).join(' ')}`).toBe(expectedValid);
      expect(isValidUtf8(bytes)).toBe(expectedValid);
      expect(r.failedAt, `failedAt for ${Array.from(bytes, (b) => b.toString(16)).join(' ')}`).toBe(oracleFailedAt(bytes));
      const split = Math.floor(rand() * (bytes.length + 1));
      const v = new Utf8Validator();
      const ok = v.push(bytes.subarray(0, split)) && v.push(bytes.subarray(split));
      expect(ok && v.complete).toBe(expectedValid);
      if (expectedValid) valid++;
      else invalid++;
    }
    // The generator must produce both kinds, or the comparison proves little.
    expect(valid).toBeGreaterThan(300);
    expect(invalid).toBeGreaterThan(300);
  });
});

describe('Utf8Validator: the native fast path for large chunks agrees with the byte loop', () => {
  /** Feeds in chunks of the given sizes; returns [ok, failedAt, complete]. */
  function run(bytes: Uint8Array, chunk: number): [boolean, number, boolean] {
    const v = new Utf8Validator();
    let ok = true;
    for (let at = 0; at < bytes.length && ok; at += chunk) ok = v.push(bytes.subarray(at, at + chunk));
    return [ok, v.failedAt, v.complete];
  }

  it('on valid and broken text, cut at every kind of boundary (same verdict, same failing byte)', () => {
    const random = prng(7692);
    const pieces = ['a', 'é', '✓', '😀', '中', '\u0000', 'ÆØÅ'].map((s) => new TextEncoder().encode(s));
    const bad = [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0x80], [0xe2, 0x82]];
    for (let trial = 0; trial < 300; trial++) {
      const parts: number[] = [];
      const length = 200 + Math.floor(random() * 2000);
      while (parts.length < length) parts.push(...pieces[Math.floor(random() * pieces.length)]!);
      if (trial % 2) parts.splice(Math.floor(random() * parts.length), 0, ...bad[trial % bad.length]!);
      const bytes = Uint8Array.from(parts);
      const slow = run(bytes, 1);
      for (const chunk of [256, 257, 300, 1000, 4096]) expect(run(bytes, chunk), `trial ${trial}, chunks of ${chunk}`).toEqual(slow);
      expect(slow[0] && slow[2]).toBe(isValid(bytes));
    }
  });

  function isValid(bytes: Uint8Array): boolean {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return true;
    } catch {
      return false;
    }
  }
});
