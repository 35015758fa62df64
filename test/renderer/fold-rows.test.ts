import { describe, expect, it } from 'vitest';
import { addFold, foldDetail, foldTitle, MAX_FOLD_ROWS, mergeBySeq, type ConnectionFolds } from '../../src/renderer/src/lib/fold-rows.ts';
import type { FrameFold } from '../../src/shared/frame-fold.ts';

function fold(id: number, firstSeq: number, frames: number, open = true): FrameFold {
  return {
    id, connectionId: 'c', firstSeq, lastSeq: firstSeq + frames, firstTime: firstSeq, lastTime: firstSeq + frames, firstFrameId: 10, lastFrameId: 10 + frames - 1,
    frames, wireBytes: frames * 30, messages: 0, open,
    kinds: [{ direction: 'in', opcode: 1, frames: frames - 1, payloadBytes: 100 }, { direction: 'out', opcode: 9, frames: 1, payloadBytes: 0 }],
  };
}

describe('fold rows', () => {
  it('a later summary of a fold replaces it and the total counts its frames once', () => {
    let folds: ConnectionFolds = { rows: [], frames: 0 };
    folds = addFold(folds, fold(1, 100, 50));
    folds = addFold(folds, fold(1, 100, 1200));
    folds = addFold(folds, fold(2, 5000, 7, false));
    expect(folds.rows.map((r) => [r.fold.id, r.fold.frames])).toEqual([[1, 1200], [2, 7]]);
    expect(folds.frames).toBe(1207);
  });

  it('places a fold by sequence number and keeps counting the frames of rows it no longer holds', () => {
    let folds: ConnectionFolds = { rows: [], frames: 0 };
    folds = addFold(folds, fold(2, 500, 3));
    folds = addFold(folds, fold(1, 100, 4));
    expect(folds.rows.map((r) => r.seq)).toEqual([100, 500]);
    for (let i = 0; i < MAX_FOLD_ROWS + 5; i++) folds = addFold(folds, fold(10 + i, 1000 + i, 2));
    expect(folds.rows).toHaveLength(MAX_FOLD_ROWS);
    expect(folds.frames).toBe(3 + 4 + 2 * (MAX_FOLD_ROWS + 5));
  });

  it('merges side rows with lifecycle rows in sequence order', () => {
    expect(mergeBySeq([{ seq: 1 }, { seq: 5 }, { seq: 9 }], [{ seq: 4 }, { seq: 10 }]).map((r) => r.seq)).toEqual([1, 4, 5, 9, 10]);
  });

  it('says the exact counts', () => {
    const f = fold(1, 1, 3301);
    expect(foldTitle(f)).toBe('3,301 frames folded…');
    expect(foldTitle({ ...f, open: false })).toBe('3,301 frames folded');
    expect(foldDetail(f)).toBe('← recv 3,300 text · → sent 1 ping · #10–#3310 · 96.7 KiB on the wire');
    const both = { ...f, kinds: [...f.kinds, { direction: 'in' as const, opcode: 2, frames: 4, payloadBytes: 8 }] };
    expect(foldDetail(both)).toBe('← recv 3,300 text, 4 binary · → sent 1 ping · #10–#3310 · 96.7 KiB on the wire');
  });
});
