/**
 * The renderer store keeps a bounded ring of frames: a long session does not grow without bound.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/core/trace.ts';
import { useInspector } from '../../src/renderer/src/store/store.ts';

function frames(from: number, count: number): TraceEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'frame' as const, direction: 'in' as const, seq: from + i, time: 0, connectionId: 'c',
    frame: { frameId: from + i, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, lengthField: 1, payloadLength: 1, headerLength: 2, raw: Uint8Array.of(0x81, 1, 0x61), payload: Uint8Array.of(0x61) },
  }));
}

describe('frame ring', () => {
  it('keeps at most maxFrames, evicting the oldest, with the lookups in step', () => {
    useInspector.setState({ maxFrames: 1000 });
    const store = useInspector.getState();
    const before = store.frameVersion;
    for (let batch = 0; batch < 10; batch++) useInspector.getState().applyBatch({ events: frames(batch * 500 + 1, 500) });
    const s = useInspector.getState();
    expect(s.frames.length).toBeLessThanOrEqual(1000);
    expect(s.framesByKey.size).toBe(s.frames.length);
    expect(s.evictedFrames + s.frames.length).toBe(5000);
    expect(s.frames.at(-1)!.frame.frameId).toBe(5000);
    expect(s.framesByKey.has('c:1')).toBe(false);
    expect(s.frameVersion).toBe(before + 10);
  });

  it('replaceFrame swaps in the full bytes of a frame shown cut', () => {
    const s = useInspector.getState();
    const last = s.frames.at(-1)!;
    s.replaceFrame(last.key, { ...last.frame, payload: Uint8Array.of(1, 2, 3) });
    expect(useInspector.getState().framesByKey.get(last.key)!.frame.payload).toEqual(Uint8Array.of(1, 2, 3));
    expect(useInspector.getState().frames.at(-1)!.frame.payload).toEqual(Uint8Array.of(1, 2, 3));
  });
});
