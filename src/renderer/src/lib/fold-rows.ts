/**
 * Folded rows in the frame list (issue 17): what the service says it folded for this page
 * (src/shared/frame-fold.ts), kept per connection, placed among the frames by sequence number
 * like the lifecycle rows, and described with exact counts.
 */
import { describeOpcode } from '../../../core/constants.ts';
import type { FrameFold } from '../../../shared/frame-fold.ts';

/** A folded row of the timeline. */
export interface FoldRow {
  kind: 'fold';
  seq: number;
  time: number;
  fold: FrameFold;
}

/** Folded rows kept per connection; older ones leave the list, their frames stay counted. */
export const MAX_FOLD_ROWS = 500;

export interface ConnectionFolds {
  rows: FoldRow[];
  /** Every frame ever folded on this connection, its rows gone from the list included. */
  frames: number;
}

export const noFolds: ConnectionFolds = { rows: [], frames: 0 };

/**
 * The connection's folds with this summary in: a later summary of the same fold replaces the
 * earlier (its counts only grow), a new fold goes in at its place by sequence number. Returns
 * a new object (the old one is left as it was).
 */
export function addFold(folds: ConnectionFolds, fold: FrameFold): ConnectionFolds {
  const rows = folds.rows.slice();
  const row: FoldRow = { kind: 'fold', seq: fold.firstSeq, time: fold.firstTime, fold };
  const at = rows.findIndex((r) => r.fold.id === fold.id);
  let frames = folds.frames;
  if (at >= 0) {
    frames += fold.frames - rows[at]!.fold.frames;
    rows[at] = row;
  } else {
    frames += fold.frames;
    let i = rows.length;
    while (i > 0 && rows[i - 1]!.seq > row.seq) i--;
    rows.splice(i, 0, row);
    if (rows.length > MAX_FOLD_ROWS) rows.splice(0, rows.length - MAX_FOLD_ROWS);
  }
  return { rows, frames };
}

/** Two lists ordered by sequence number, merged in order. */
export function mergeBySeq<A extends { seq: number }, B extends { seq: number }>(a: readonly A[], b: readonly B[]): Array<A | B> {
  if (b.length === 0) return a as Array<A | B>;
  if (a.length === 0) return b as Array<A | B>;
  const out: Array<A | B> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.seq <= b[j]!.seq)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

const count = (n: number) => n.toLocaleString('en');

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "3,301 frames folded". */
export function foldTitle(fold: FrameFold): string {
  return `${count(fold.frames)} ${fold.frames === 1 ? 'frame' : 'frames'} folded${fold.open ? '…' : ''}`;
}

/** "← recv 1,650 text, 20 ping · → sent 1,651 text, 20 pong · #12–#3312 · 99.0 KiB on the wire". */
export function foldDetail(fold: FrameFold): string {
  const side = (direction: 'in' | 'out') => {
    const kinds = fold.kinds.filter((k) => k.direction === direction);
    return kinds.length === 0 ? null : `${direction === 'in' ? '← recv' : '→ sent'} ${kinds.map((k) => `${count(k.frames)} ${describeOpcode(k.opcode).name}`).join(', ')}`;
  };
  return [side('in'), side('out'), `#${fold.firstFrameId}–#${fold.lastFrameId}`, `${formatBytes(fold.wireBytes)} on the wire`].filter(Boolean).join(' · ');
}

/** The row's tooltip: why there is a folded row at all. */
export function foldExplanation(fold: FrameFold): string {
  return `This window could not show every frame as fast as they crossed the wire, so the inspector folded ${count(fold.frames)} of them into this row instead of falling behind: `
    + `exact counts per direction and type, ${formatBytes(fold.wireBytes)} on the wire (payloads ${formatBytes(fold.kinds.reduce((n, k) => n + k.payloadBytes, 0))})`
    + `${fold.messages > 0 ? `, ${count(fold.messages)} messages` : ''}. Frames after the row are shown one by one again.`;
}
