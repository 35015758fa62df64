/**
 * Every quote a lesson shows as RFC 6455's words is its words, in the section cited; and nothing
 * else a lesson says is dressed up as a quotation.
 */
import { describe, expect, it } from 'vitest';
import { LESSONS } from '../../../src/core/lessons/lessons.ts';
import { firstSection, rfc, squash } from '../../support/rfc-text.ts';

const quotes = LESSONS.flatMap((lesson) => lesson.quotes.map((quote) => ({ lesson: lesson.id, ...quote })));

describe('lesson quotes (src/core/lessons/lessons.ts)', () => {
  it('every lesson quotes the RFC at least once', () => {
    for (const lesson of LESSONS) expect(lesson.quotes.length, lesson.id).toBeGreaterThan(0);
  });

  it.each(quotes.map((q) => [q.lesson, q.section, q.text] as const))('%s %s: "%s" is verbatim, in that section', (_lesson, section, text) => {
    const quote = squash(text);
    expect(rfc().whole.includes(quote), `not verbatim RFC 6455 text: "${quote}"`).toBe(true);
    const num = firstSection(section);
    expect(rfc().sections.get(num)?.includes(quote), `§${num} does not contain "${quote}"`).toBe(true);
  });

  it('summaries, tasks, explanations and answers are paraphrases: no quotation marks around RFC sentences', () => {
    for (const lesson of LESSONS) {
      const texts = [lesson.summary, lesson.check.why, lesson.check.question, ...lesson.steps.map((s) => s.task)];
      for (const text of texts) expect(text, lesson.id).not.toMatch(/[“"][A-Z][^"”]{40,}[”"]/);
    }
  });

  it('every section a lesson names exists in the RFC', () => {
    for (const lesson of LESSONS) {
      for (const section of lesson.sections) expect(rfc().sections.has(firstSection(section)), `${lesson.id} ${section}`).toBe(true);
    }
  });
});
