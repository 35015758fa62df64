import { describe, expect, it } from 'vitest';
import { FrameCapper, type CappedPiece } from '../../../src/core/capture/frame-capper.ts';
import { encodeFrame } from '../../../src/core/frame-codec.ts';

const head = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
const frame = (n: number, masked = false) => encodeFrame({ opcode: 2, payload: Uint8Array.from({ length: n }, (_v, i) => i & 0xff) }, masked ? Uint8Array.of(1, 2, 3, 4) : null);

/** Kept bytes joined, with each elision as "[-n]". */
function render(pieces: CappedPiece[]): string {
  return pieces.map((p) => Buffer.from(p.bytes).toString('hex') + (p.elided ? `[-${p.elided}]` : '')).join('');
}

function feed(cap: number, chunks: Uint8Array[]): { kept: Buffer; elided: number[] } {
  const capper = new FrameCapper(cap);
  const pieces = chunks.flatMap((c) => capper.push(c));
  return { kept: Buffer.concat(pieces.map((p) => p.bytes)), elided: pieces.map((p) => p.elided).filter(Boolean) };
}

describe('FrameCapper', () => {
  it('keeps the head and each frame\'s header whole, and the first `cap` payload bytes of each frame', () => {
    const small = frame(3), big = frame(300), huge = frame(70_000, true);
    const all = Buffer.concat([head, small, big, huge, small]);
    const { kept, elided } = feed(10, [all]);
    expect(elided).toEqual([290, 69_990]);
    expect(kept.equals(Buffer.concat([head, small, big.subarray(0, 4 + 10), huge.subarray(0, 14 + 10), small]))).toBe(true);
  });

  it('the same cut whatever the reads: byte at a time, or frames split anywhere', () => {
    const all = Buffer.concat([head, frame(200), frame(5, true), frame(1000, true)]);
    const whole = feed(50, [all]);
    const bytewise = feed(50, [...all].map((b) => Uint8Array.of(b)));
    expect(bytewise.kept.equals(whole.kept)).toBe(true);
    expect(bytewise.elided.reduce((a, b) => a + b, 0)).toBe(whole.elided.reduce((a, b) => a + b, 0));
    const odd = feed(50, [all.subarray(0, 7), all.subarray(7, 40), all.subarray(40, 41), all.subarray(41)]);
    expect(odd.kept.equals(whole.kept)).toBe(true);
  });

  it('an elision is always inside one frame\'s payload and never swallows the next header', () => {
    const capper = new FrameCapper(2);
    capper.push(head);
    // 82 04 + two payload bytes kept, two elided; then the next frame (82 01 00) whole.
    expect(render(capper.push(Buffer.concat([frame(4), frame(1)])))).toBe('82040001[-2]820100');
  });

  it('no cap (Infinity) passes everything; a refused handshake\'s body is kept whole', () => {
    const all = Buffer.concat([head, frame(500)]);
    expect(feed(Number.POSITIVE_INFINITY, [all]).kept.equals(all)).toBe(true);
    const capper = new FrameCapper(1);
    capper.keepWhole();
    expect(render(capper.push(all))).toBe(all.toString('hex'));
  });
});
