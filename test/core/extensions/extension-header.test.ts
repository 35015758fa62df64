/**
 * Sec-WebSocket-Extensions (RFC 6455 §9.1): the grammar, good and bad values side by side, and
 * hostile input (never a throw, always an answer).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatExtensionHeader, parseExtensionHeader, type ExtensionElement } from '../../../src/core/extensions/extension-header.ts';

const el = (name: string, ...params: Array<[string, string | null]>): ExtensionElement => ({ name, params: params.map(([n, v]) => ({ name: n, value: v })) });

describe('parseExtensionHeader', () => {
  it.each<[string, ExtensionElement[]]>([
    ['permessage-deflate', [el('permessage-deflate')]],
    ['permessage-deflate; client_max_window_bits', [el('permessage-deflate', ['client_max_window_bits', null])]],
    // Chromium's offer.
    ['permessage-deflate; client_max_window_bits', [el('permessage-deflate', ['client_max_window_bits', null])]],
    // Firefox's offer, and several offers in preference order (RFC 7692 §5).
    ['permessage-deflate; server_max_window_bits=10, permessage-deflate', [el('permessage-deflate', ['server_max_window_bits', '10']), el('permessage-deflate')]],
    ['permessage-deflate;server_no_context_takeover;client_no_context_takeover', [el('permessage-deflate', ['server_no_context_takeover', null], ['client_no_context_takeover', null])]],
    // A quoted value is unescaped, and must then be a token.
    ['permessage-deflate; server_max_window_bits="10"', [el('permessage-deflate', ['server_max_window_bits', '10'])]],
    ['x; a="b\\c"', [el('x', ['a', 'bc'])]],
    // Whitespace between words and separators, empty list elements (RFC 2616 §2.1).
    ['  foo ;  a = 1 ,, bar  ', [el('foo', ['a', '1']), el('bar')]],
    [', foo,', [el('foo')]],
    ['\tfoo;\tb', [el('foo', ['b', null])]],
    // Names keep their case as sent (matching is the negotiator's business).
    ['Permessage-Deflate; Server_No_Context_Takeover', [el('Permessage-Deflate', ['Server_No_Context_Takeover', null])]],
  ])('parses %j', (value, elements) => {
    expect(parseExtensionHeader(value)).toEqual({ ok: true, elements });
  });

  it.each<[string, RegExp, number]>([
    ['', /lists no extension/, 0],
    [' , ', /lists no extension/, 0],
    ['permessage deflate', /Expected ";" or "," after "permessage", found "d" at position 11/, 11],
    ['; foo', /Expected an extension name/, 0],
    ['foo;', /Expected a parameter name after ";"/, 4],
    ['foo; =1', /Expected a parameter name/, 5],
    ['foo; a=', /Expected a value/, 7],
    ['foo; a="1', /Unterminated quoted-string/, 7],
    ['foo; a="1 2"', /not a token once unescaped/, 7],
    ['foo; a=""', /not a token once unescaped/, 7],
    ['foo; a=1=2', /Expected ";" or ","/, 8],
    ['foo; a="x"y', /Expected ";" or ","/, 10],
    ['fo\u00e9o', /Expected ";" or "," after "fo", found U\+00E9 at position 2/, 2],
    ['foo\u0000', /U\+0000/, 3],
    ['(foo)', /Expected an extension name/, 0],
  ])('refuses %j, saying what and where', (value, message, at) => {
    const result = parseExtensionHeader(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(message);
      expect(result.at).toBe(at);
    }
  });

  it('round-trips what formatExtensionHeader writes, quoting values that are not tokens', () => {
    const elements = [el('permessage-deflate', ['server_max_window_bits', '10'], ['client_max_window_bits', null]), el('x-other', ['q', 'a b'])];
    const text = formatExtensionHeader(elements);
    expect(text).toBe('permessage-deflate; server_max_window_bits=10; client_max_window_bits, x-other; q="a b"');
    // "a b" is not a token once unescaped, so the round trip refuses it (§9.1): what we write for
    // our own offers is always tokens.
    expect(parseExtensionHeader(text).ok).toBe(false);
    expect(parseExtensionHeader(formatExtensionHeader(elements.slice(0, 1)))).toEqual({ ok: true, elements: elements.slice(0, 1) });
  });

  it('never throws on hostile input, and any success names only tokens (fuzz)', () => {
    const alphabet = fc.constantFrom(...'ab=;,"\\ \t\u0000\u00ff\u{1F600}x-_.~!0123456789'.split(''), 'permessage-deflate', 'client_max_window_bits');
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 60 }).map((parts) => parts.join('')), (value) => {
      const result = parseExtensionHeader(value);
      if (result.ok) {
        for (const e of result.elements) {
          expect(e.name).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          for (const p of e.params) {
            expect(p.name).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
            if (p.value !== null) expect(p.value).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          }
        }
        // What parses also survives being written and read again, identically.
        expect(parseExtensionHeader(formatExtensionHeader(result.elements))).toEqual(result);
      } else {
        expect(result.at).toBeGreaterThanOrEqual(0);
        expect(result.at).toBeLessThanOrEqual(value.length);
      }
    }), { numRuns: 3000, seed: 7692 });
  });

  it('answers a 1 MiB hostile header in linear time (no backtracking)', () => {
    const value = `foo; a="${'\\a'.repeat(512 * 1024)}`; // an unterminated quoted-string of escapes
    const result = parseExtensionHeader(value);
    expect(result.ok).toBe(false);
    const many = Array.from({ length: 50_000 }, (_, i) => `e${i}; p=${i}`).join(', ');
    const parsed = parseExtensionHeader(many);
    expect(parsed.ok && parsed.elements.length).toBe(50_000);
  });
});
