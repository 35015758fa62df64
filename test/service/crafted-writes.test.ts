import { describe, expect, it } from 'vitest';
import { craftedWritesNote } from '../../src/service/crafted-writes.ts';

describe('the crafter\'s TCP writes in the trace', () => {
  it('cuts the frame as writeCrafted does: sizes, the rest in one write, nothing past the end', () => {
    expect(craftedWritesNote(12, [1, 1], 0)).toBe('crafted frame: 3 TCP writes, 1 + 1 + 10 bytes');
    expect(craftedWritesNote(12, [], 0)).toBe('crafted frame: 1 TCP write, 12 bytes');
    expect(craftedWritesNote(4, [3, 5, 7], 50)).toBe('crafted frame: 2 TCP writes, 3 + 1 bytes, 50 ms apart');
    expect(craftedWritesNote(4, [0, 4], 10)).toBe('crafted frame: 1 TCP write, 4 bytes');
  });
});
