/**
 * The crafter's one-off compression (deflate-alone.ts) and the default agreement the byte
 * stepper's switch puts in force (default-agreement.ts).
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../../src/core/bytes.ts';
import { deflateAlone } from '../../../src/core/extensions/deflate-alone.ts';
import { defaultDeflateAgreement } from '../../../src/core/extensions/default-agreement.ts';
import { stripDeflateTail } from '../../../src/core/extensions/deflate-tail.ts';
import type { TracedDeflateSettings } from '../../../src/core/trace.ts';

const defaults: TracedDeflateSettings = {
  serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15,
  zlibWindowBits: { compress: 15, decompress: 15 },
};

describe('deflateAlone', () => {
  it('compresses "Hello" as RFC 7692 §7.2.3.1 shows it, the tail stripped', () => {
    const out = deflateAlone(utf8Encode('Hello'), defaults, 'server');
    expect(toHex(out.compressed)).toBe('f248cdc9c90700');
    expect(out).toMatchObject({ windowBits: 15, zlibWindowBits: 15 });
  });

  it('gives the same bytes every time: it never shares a window with another call (a second "Hello" is not f2 00 11 00 00)', () => {
    const first = deflateAlone(utf8Encode('Hello'), defaults, 'client');
    const second = deflateAlone(utf8Encode('Hello'), defaults, 'client');
    expect(toHex(second.compressed)).toBe(toHex(first.compressed));
  });

  it('uses the sender\'s agreed window: client_max_window_bits=8 runs zlib at 9', () => {
    const small = { ...defaults, clientMaxWindowBits: 8, zlibWindowBits: { compress: 9, decompress: 15 } };
    expect(deflateAlone(utf8Encode('Hello'), small, 'client')).toMatchObject({ windowBits: 8, zlibWindowBits: 9 });
    expect(deflateAlone(utf8Encode('Hello'), small, 'server')).toMatchObject({ windowBits: 15, zlibWindowBits: 15 });
  });

  it('an empty payload becomes the single 00 of an empty stored block, its tail stripped (§7.2.3.6)', () => {
    expect(toHex(deflateAlone(new Uint8Array(0), defaults, 'server').compressed)).toBe('00');
  });
});

describe('stripDeflateTail', () => {
  it('removes 00 00 ff ff from the last payload that has bytes', () => {
    const payloads = [fromHex('f2 48 00 00 ff ff'), new Uint8Array(0)];
    stripDeflateTail(payloads);
    expect(payloads.map((p) => toHex(p))).toEqual(['f248', '']);
  });
});

describe('defaultDeflateAgreement', () => {
  it('agrees permessage-deflate with no parameters, in either role: context takeover, 15-bit windows', () => {
    for (const role of ['server', 'client'] as const) {
      const extension = defaultDeflateAgreement(role);
      expect(extension.name).toBe('permessage-deflate');
      expect(extension.agreed.deflate).toEqual(defaults);
      expect(extension.agreed.params.map((p) => p.name)).toEqual(['(none)']);
      extension.close();
    }
  });
});
