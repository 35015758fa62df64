import { describe, expect, it } from 'vitest';
import { findWhy, WHYS } from '../../src/core/whys.ts';
import { firstSection, rfc, squash } from '../support/rfc-text.ts';

const whys = Object.values(WHYS);

describe('the whys (src/core/whys.ts)', () => {
  it('covers what issue 15 lists', () => {
    expect(Object.keys(WHYS).sort()).toEqual(['close-registry', 'extensions', 'fresh-key', 'guid', 'key-as-text', 'limits', 'masking', 'origin']);
    for (const why of whys) expect(WHYS[why.id]).toBe(why);
  });

  it.each(whys.flatMap((w) => w.quotes.map((q) => [w.id, q.section, q.text] as const)))('%s %s: "%s" is verbatim, in that section', (_id, section, text) => {
    const quote = squash(text);
    expect(rfc().whole.includes(quote), `not verbatim RFC 6455 text: "${quote}"`).toBe(true);
    expect(rfc().sections.get(firstSection(section))?.includes(quote), `§${firstSection(section)} does not contain it`).toBe(true);
  });

  it('explanations are paraphrases, not quotations', () => {
    for (const why of whys) expect(why.explanation).not.toMatch(/[“"]/);
  });

  it('names 1012-1015 in the close-code registry why', () => {
    for (const code of ['1012', '1013', '1014', '1015']) expect(WHYS['close-registry'].explanation).toContain(code);
  });

  it('finds by id, and nothing from the prototype', () => {
    expect(findWhy('masking')?.title).toMatch(/masked/);
    expect(findWhy('__proto__')).toBeUndefined();
    expect(findWhy('toString')).toBeUndefined();
  });
});
