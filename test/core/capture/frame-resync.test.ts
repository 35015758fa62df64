/** The frame-boundary heuristic, rule by rule (src/core/capture/frame-resync.ts). */

import { describe, expect, it } from 'vitest';
import { findFrameBoundary, FrameTracker, stepToBoundary } from '../../../src/core/capture/frame-resync.ts';
import { wsFrame } from '../../support/capture-synth.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const opts = { expectMasked: null, final: false, maxFrameLength: 1 << 20, maxWait: 1 << 20 };

describe('findFrameBoundary', () => {
  it('skips the tail of a cut frame and finds the next frame confirmed by the one after it', () => {
    const tail = wsFrame(1, enc('z'.repeat(40)), { masked: false }).subarray(13);
    const buf = cat(tail, wsFrame(1, enc('one'), { masked: false }), wsFrame(2, Uint8Array.from([1, 2]), { masked: false }));
    expect(findFrameBoundary(buf, 0, opts)).toEqual({ kind: 'found', offset: tail.length, masked: false, compressed: false });
  });

  it('waits for more bytes when the confirming frame is not there yet, and accepts a last frame only when the stream is over', () => {
    const buf = wsFrame(1, enc('only'), { masked: true });
    expect(findFrameBoundary(buf, 0, opts)).toEqual({ kind: 'more', offset: 0 });
    expect(findFrameBoundary(buf, 0, { ...opts, final: true })).toMatchObject({ kind: 'found', offset: 0, masked: true });
  });

  it('does not start at a continuation frame (its message began before the capture)', () => {
    const cont = wsFrame(0, enc('rest'), { masked: false });
    const buf = cat(cont, wsFrame(1, enc('a'), { masked: false }), wsFrame(1, enc('b'), { masked: false }));
    expect(findFrameBoundary(buf, 0, opts)).toMatchObject({ kind: 'found', offset: cont.length });
  });

  it('rejects a candidate whose mask bit does not fit the direction', () => {
    const masked = cat(wsFrame(1, enc('m'), { masked: true }), wsFrame(1, enc('n'), { masked: true }));
    expect(findFrameBoundary(masked, 0, { ...opts, expectMasked: false, final: true }).kind).not.toBe('found');
    expect(findFrameBoundary(masked, 0, { ...opts, expectMasked: true })).toMatchObject({ kind: 'found', offset: 0 });
  });

  it('rejects reserved bits, unknown opcodes, long or fragmented control frames, non-minimal lengths, invalid UTF-8 and close codes', () => {
    const next = wsFrame(1, enc('ok'), { masked: false });
    const bad = [
      Uint8Array.from([0xa1, 0x00]), // RSV2
      Uint8Array.from([0x83, 0x00]), // opcode 3
      Uint8Array.from([0x09, 0x00]), // ping without FIN
      Uint8Array.from([0x81, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5]), // 16-bit length for 5 bytes
      Uint8Array.from([0x81, 0x02, 0xc3, 0x28]), // invalid UTF-8
      Uint8Array.from([0x88, 0x02, 0x03, 0xed]), // close code 1005 is never sent
      Uint8Array.from([0x88, 0x01, 0x03]), // a 1-byte close body
    ];
    for (const b of bad) expect(findFrameBoundary(cat(b, next, next), 0, opts), [...b].join(',')).not.toMatchObject({ kind: 'found', offset: 0 });
  });

  it('a fragment must be followed by a continuation or a control frame, a whole message not by a continuation', () => {
    const first = wsFrame(1, enc('frag'), { masked: false, fin: false });
    expect(findFrameBoundary(cat(first, wsFrame(0, enc('ment'), { masked: false })), 0, opts)).toMatchObject({ kind: 'found', offset: 0 });
    expect(findFrameBoundary(cat(first, wsFrame(1, enc('new'), { masked: false })), 0, { ...opts, final: true })).not.toMatchObject({ kind: 'found', offset: 0 });
  });

  it('gives up on a candidate that needs more than maxWait bytes to confirm', () => {
    const huge = Uint8Array.from([0x82, 0x7f, 0, 0, 0, 0, 0x10, 0, 0, 0]); // 256 MiB binary frame header
    const buf = cat(huge, wsFrame(1, enc('a'), { masked: false }), wsFrame(1, enc('b'), { masked: false }));
    expect(findFrameBoundary(buf, 0, { ...opts, maxFrameLength: 1 << 30, maxWait: 1 << 16 })).toMatchObject({ kind: 'found', offset: huge.length });
    expect(findFrameBoundary(buf, 0, { ...opts, maxFrameLength: 1 << 30, maxWait: 1 << 30 })).toEqual({ kind: 'more', offset: 0 });
  });

  it('finds nothing in text', () => {
    expect(findFrameBoundary(enc('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world'), 0, { ...opts, final: true })).toEqual({ kind: 'none' });
  });
});

describe('FrameTracker and stepToBoundary: after a gap inside a frame of known length', () => {
  const limits = { maxHeadSize: 1024, maxFrameLength: 1 << 20 };
  const head = enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
  const big = wsFrame(2, new Uint8Array(1000).fill(9), { masked: false });

  it('a gap inside a payload: the rest of that frame is stepped over exactly, however its bytes look', () => {
    const t = new FrameTracker({ head: true, ...limits });
    t.feed(cat(head, wsFrame(1, enc('hi'), { masked: false }), big.subarray(0, 300)));
    // 500 bytes lost: 204 of the frame (4-byte header, 1000-byte payload) remain after the gap. Bytes that look like frames must not fool it.
    const exact = t.afterGap(500);
    expect(exact).toEqual({ skip: 204, messageOpen: false });
    const fake = new Uint8Array(204).fill(0x81);
    const after = cat(fake, wsFrame(1, enc('next'), { masked: false }));
    expect(stepToBoundary(after, exact!, { expectMasked: false, maxFrameLength: 1 << 20 })).toEqual({ kind: 'found', drop: 204, masked: false, compressed: false });
    // Byte by byte: it asks for more, keeping count.
    expect(stepToBoundary(after.subarray(0, 150), exact!, { expectMasked: false, maxFrameLength: 1 << 20 })).toEqual({ kind: 'more', drop: 150, resume: { skip: 54, messageOpen: false } });
  });

  it('a gap inside a non-final fragment: its message is stepped over to its final continuation, a ping inside it too', () => {
    const t = new FrameTracker({ head: false, ...limits });
    const first = wsFrame(1, enc('a'.repeat(300)), { masked: true, fin: false });
    t.feed(first.subarray(0, 100));
    const exact = t.afterGap(50);
    expect(exact).toEqual({ skip: first.length - 150, messageOpen: true });
    const after = cat(first.subarray(150), wsFrame(0, enc('b'), { masked: true, fin: false }), wsFrame(9, enc('ping'), { masked: true }), wsFrame(0, enc('c'), { masked: true }), wsFrame(2, Uint8Array.from([1]), { masked: true }));
    const stepped = after.length - wsFrame(2, Uint8Array.from([1]), { masked: true }).length;
    expect(stepToBoundary(after, exact!, { expectMasked: true, maxFrameLength: 1 << 20 })).toEqual({ kind: 'found', drop: stepped, masked: true, compressed: false });
    // The wrong mask bit at the boundary: not frames after all, the heuristic takes over.
    expect(stepToBoundary(after, exact!, { expectMasked: false, maxFrameLength: 1 << 20 })).toEqual({ kind: 'lost', drop: first.length - 150 });
  });

  it('unknown: a gap past the frame, in a header, in the head, or after an implausible header', () => {
    const past = new FrameTracker({ head: false, ...limits });
    past.feed(big.subarray(0, 300));
    expect(past.afterGap(big.length)).toBeNull();
    const inHeader = new FrameTracker({ head: false, ...limits });
    inHeader.feed(big.subarray(0, 3));
    expect(inHeader.afterGap(10)).toBeNull();
    const inHead = new FrameTracker({ head: true, ...limits });
    inHead.feed(head.subarray(0, 20));
    expect(inHead.afterGap(5)).toBeNull();
    const bad = new FrameTracker({ head: false, ...limits });
    bad.feed(cat(Uint8Array.from([0x83, 0x05]), new Uint8Array(10)));
    expect(bad.afterGap(1)).toBeNull();
  });
});
