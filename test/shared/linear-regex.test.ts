/**
 * The payload search's regular expressions: the same answers as JavaScript's RegExp on the
 * patterns they share, refusals explained, and patterns that freeze a backtracking engine
 * answered in linear time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLinearRegex, PatternError } from '../../src/shared/linear-regex.ts';

const cases: Array<[string, string, string[]]> = [
  // pattern, flags, texts
  ['order\\d+', '', ['orderId', 'order42', 'xx order7 yy', '']],
  ['^abc$', '', ['abc', 'xabc', 'abc\n', 'ab']],
  ['^b', 'm', ['a\nb', 'ab']],
  ['colou?r', 'i', ['COLOR', 'Colour', 'colr']],
  ['a{2,3}b', '', ['ab', 'aab', 'aaab', 'aaaab', 'b']],
  ['a{2}', '', ['a', 'aa']],
  ['a{2,}c', '', ['aac', 'aaaaac', 'ac']],
  ['(?:ab|cd)+e', '', ['abcde', 'abe', 'e', 'cdcde']],
  ['[a-c]+[^x-z]', '', ['abcx', 'abcd', 'x']],
  ['[A-Z]', 'i', ['q', '1']],
  ['\\bword\\b', '', ['a word here', 'swordfish', 'word']],
  ['\\Bor', '', ['word', 'or']],
  ['a.c', '', ['abc', 'a\nc']],
  ['a.c', 's', ['a\nc']],
  ['\\x41\\u0042', '', ['AB', 'ab']],
  ['[\\d\\s]+x', '', ['1 2 x', 'yx']],
  ['a|', '', ['b', '']],
  ['()', '', ['']],
  ['\\.json$', '', ['a.json', 'ajson']],
  ['a{', '', ['a{', 'a']],
  ['x*?y', '', ['xxy', 'z']],
];

describe('compileLinearRegex', () => {
  it('answers as RegExp does on shared patterns', () => {
    for (const [pattern, flags, texts] of cases) {
      const ours = compileLinearRegex(pattern, flags);
      const theirs = new RegExp(pattern, flags);
      for (const text of texts) expect(ours.test(text), `/${pattern}/${flags} on ${JSON.stringify(text)}`).toBe(theirs.test(text));
    }
  });

  it('agrees with RegExp on random patterns over a small alphabet', () => {
    const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '(?:a|b)', '(?:ab)');
    const quant = fc.constantFrom('', '*', '+', '?', '{1,2}', '{2}');
    const pattern = fc.array(fc.tuple(atom, quant).map(([a, q]) => a + q), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(''));
    fc.assert(fc.property(pattern, fc.stringMatching(/^[ab1\n]{0,12}$/), (p, text) => {
      expect(compileLinearRegex(p).test(text)).toBe(new RegExp(p).test(text));
    }), { numRuns: 400 });
  });

  it('refuses what cannot run in linear time, and bad patterns, with the position and a plain reason', () => {
    const refusals: Array<[string, RegExp]> = [
      ['(a)\\1', /backreferences/],
      ['(?=a)', /lookaround/],
      ['(?<name>a)', /lookaround and named groups/],
      ['(ab', /"\)" to close the group/],
      ['ab)', /unmatched "\)"/],
      ['*a', /nothing before it to repeat/],
      ['[abc', /"\]" to close/],
      ['[z-a]', /backwards/],
      ['a{3,1}', /below the minimum/],
      ['\\q', /not an escape/],
      ['\\x4', /hex digits/],
      ['^*', /anchor/],
      ['a{1000}{1000}', /shorter pattern/],
      ['x'.repeat(1001), /at most 1000 characters/],
    ];
    for (const [pattern, reason] of refusals) {
      let error: unknown;
      try {
        compileLinearRegex(pattern);
      } catch (e) {
        error = e;
      }
      expect(error, pattern).toBeInstanceOf(PatternError);
      expect((error as PatternError).message, pattern).toMatch(reason);
      expect((error as PatternError).position).toBeGreaterThanOrEqual(0);
    }
    expect(() => compileLinearRegex('a', 'g')).toThrow(/flags among i, s and m/);
    expect(() => compileLinearRegex('(?:'.repeat(150) + 'a' + ')'.repeat(150))).toThrow(/100 deep/);
  });

  it('answers patterns that freeze a backtracking engine over a 64 KiB payload quickly', () => {
    // RegExp needs ~300 ms for /.*x/ on 8 KiB without an x, and /(a+)+b/ or /.*.*.*x/ never end.
    const payload = 'a'.repeat(64 * 1024);
    for (const p of ['.*x', '.*.*.*x', '(?:a+)+b', '(?:a|a)*b', '(?:a|aa)+$x', '(?:a*)*b']) {
      // A backtracking engine never returns here: vitest's test timeout would fail the test.
      expect(compileLinearRegex(p).test(payload)).toBe(false);
    }
    expect(compileLinearRegex('(?:a+)+$').test(payload)).toBe(true);
  });
});
