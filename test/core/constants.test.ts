/**
 * The words the UI shows for opcodes and close codes say what the RFC says, no more.
 */
import { describe, expect, it } from 'vitest';
import { describeCloseCode, describeOpcode } from '../../src/core/constants.ts';

describe('describeOpcode / describeCloseCode wording', () => {
  it('text (§5.6): the message as a whole must be valid UTF-8; a single frame may carry a partial sequence', () => {
    const meaning = describeOpcode(1).meaning;
    expect(meaning).toContain('message as a whole must be valid UTF-8');
    expect(meaning).toContain('partial UTF-8 sequence');
    expect(meaning).not.toMatch(/payload must be valid UTF-8/);
  });

  it('1004 is only reserved (§7.4.1): the MUST NOT is for 1005, 1006 and 1015', () => {
    const meaning = describeCloseCode(1004).meaning;
    expect(meaning).not.toMatch(/must not be sent/i);
    expect(meaning).toContain('only reserves it');
    for (const code of [1005, 1006, 1015]) expect(describeCloseCode(code).sendable).toBe(false);
  });
});
