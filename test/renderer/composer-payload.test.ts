import { describe, expect, it } from 'vitest';
import { binaryHex, checkJson, looksLikeJson, parseBase64, parseHex } from '../../src/renderer/src/lib/composer-payload.ts';

describe('composer payloads', () => {
  it('reads hex with spaces, colons and 0x, and says what is wrong otherwise', () => {
    expect(parseHex('0xde ad:be,ef')).toEqual({ ok: true, bytes: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) });
    expect(parseHex('abc')).toEqual({ ok: false, error: 'Hex: 3 digits is an odd count; every byte is two.' });
    expect(parseHex('zz')).toEqual({ ok: false, error: 'Hex: "z" is not a hex digit (0-9, a-f).' });
  });

  it('reads standard and URL-safe base64 with or without padding, agreeing with Node', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x01]);
    const b64 = Buffer.from(bytes).toString('base64');
    expect(parseBase64(b64)).toEqual({ ok: true, bytes });
    expect(parseBase64(Buffer.from(bytes).toString('base64url'))).toEqual({ ok: true, bytes });
    expect(parseBase64('AAE*').ok).toBe(false);
    expect(parseBase64('AAAAA').ok).toBe(false);
  });

  it('gives a file as hex, and asks for one when none is chosen', () => {
    expect(binaryHex('file', '', new Uint8Array([1, 2]))).toEqual({ ok: true, hex: '0102', size: 2 });
    expect(binaryHex('file', '', null)).toEqual({ ok: false, error: 'Choose a file to send.' });
  });

  it('checks JSON with the line and column of the error, and pretty-prints it', () => {
    expect(looksLikeJson('  {"a":1}')).toBe(true);
    expect(looksLikeJson('hello')).toBe(false);
    expect(checkJson('{"a":1}')).toEqual({ ok: true, pretty: '{\n  "a": 1\n}', compact: '{"a":1}' });
    const bad = checkJson('{"a": 1,\n "b": 2,}');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/ at line 2, column 9$/);
  });
});
