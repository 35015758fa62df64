/**
 * The frame list's incremental filter gives the same rows as filtering everything afresh,
 * through appends, filter changes, ring evictions and clears.
 */
import { describe, expect, it } from 'vitest';
import type { TracedFrame } from '../../src/core/trace.ts';
import { IncrementalFrameFilter, type FilterSpec } from '../../src/renderer/src/lib/frame-filter.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { FrameRow, holdsFrame, matchesFilters, useInspector } from '../../src/renderer/src/store/store.ts';

let n = 0;
function row(connectionId: string, opcode: number, text: string, direction: 'in' | 'out' = 'in'): FrameRow {
  const payload = new TextEncoder().encode(text);
  const raw = Uint8Array.of(0x80 | opcode, payload.length, ...payload);
  const frame: TracedFrame = { frameId: ++n, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode, masked: false, maskKey: null, lengthField: payload.length, payloadLength: payload.length, headerLength: 2, raw, payload };
  return FrameRow.fromTrace({ seq: n, time: n, connectionId, direction, frame });
}

function fresh(frames: FrameRow[], spec: FilterSpec): FrameRow[] {
  return frames.filter((r) => r.connectionId === spec.connectionId && matchesFilters(r, spec, spec.search.trim().toLowerCase()));
}

describe('IncrementalFrameFilter', () => {
  it('matches a fresh filter through appends, filter changes, evictions and a clear', () => {
    const frames: FrameRow[] = [];
    const filter = new IncrementalFrameFilter();
    let spec: FilterSpec = { connectionId: 'a', direction: 'all', type: 'all', search: '' };
    let evicted = 0;
    const check = () => {
      const held = new Set(frames);
      filter.update(frames, spec, evicted, (r) => held.has(r));
      expect(filter.rows).toEqual(fresh(frames, spec));
      expect(filter.total).toBe(frames.filter((r) => r.connectionId === spec.connectionId).length);
    };
    for (let i = 0; i < 50; i++) frames.push(row(i % 3 ? 'a' : 'b', i % 4 === 0 ? 9 : 1, `msg ${i}`, i % 2 ? 'in' : 'out'));
    check();
    for (let i = 50; i < 80; i++) frames.push(row('a', 1, `msg ${i}`));
    check();
    spec = { ...spec, type: 'ping' };
    check();
    spec = { ...spec, type: 'all', direction: 'out', search: 'MSG 1' };
    check();
    frames.splice(0, 30);
    evicted += 30;
    check();
    frames.length = 0;
    check();
    frames.push(row('a', 2, 'after clear'));
    check();
  });

  it('costs what a batch adds: already-seen frames are not looked at again', () => {
    const frames: FrameRow[] = Array.from({ length: 1000 }, (_, i) => row('a', 1, `m${i}`));
    const filter = new IncrementalFrameFilter();
    const spec: FilterSpec = { connectionId: 'a', direction: 'all', type: 'all', search: '' };
    filter.update(frames, spec, 0);
    let looked = 0;
    const spy = frames.map((r) => new Proxy(r, { get: (t, p) => (p === 'connectionId' && looked++, Reflect.get(t, p)) }));
    frames.splice(0, frames.length, ...spy);
    // Same objects at the end? No: replaced, so it starts over (lastSeen changed) — then appends only.
    filter.update(frames, spec, 0);
    looked = 0;
    frames.push(row('a', 1, 'one more'));
    filter.update(frames, spec, 0);
    expect(looked).toBe(0); // only the new (unproxied) row was examined
    expect(filter.rows).toHaveLength(1001);
  });

  it('keeps a frame whose full bytes were loaded (a new row for the same frame) through later evictions', () => {
    const events = (from: number, count: number): TraceEvent[] => Array.from({ length: count }, (_, i) => {
      const raw = Uint8Array.of(0x81, 1, 0x61);
      const cut = from + i === 1001 ? { truncated: { rawLength: 3, payloadLength: 1 } } : {};
      return { type: 'frame', direction: 'in', seq: from + i, time: 0, connectionId: 'c', frame: { frameId: from + i, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, lengthField: 1, payloadLength: 1, headerLength: 2, raw, payload: raw.subarray(2), ...cut } };
    });
    useInspector.getState().clearTrace();
    useInspector.setState({ maxFrames: 10_000, evictedFrames: 0 });
    const store = () => useInspector.getState();
    const filter = new IncrementalFrameFilter();
    const spec: FilterSpec = { connectionId: 'c', direction: 'all', type: 'all', search: '' };
    const update = () => filter.update(store().frames, spec, store().evictedFrames, (r) => holdsFrame(store(), r));
    store().applyBatch({ events: events(1, 10_000) });
    update();
    const { truncated: _cut, ...whole } = store().framesByKey.get('c:1001')!.frame;
    store().replaceFrame('c:1001', whole);
    update();
    // One more frame: the ring drops its oldest thousand, #1 to #1000.
    store().applyBatch({ events: events(10_001, 1) });
    update();
    expect(store().frames[0]!.frameId).toBe(1001);
    expect(filter.rows.map((r) => r.frameId)).toEqual(store().frames.map((r) => r.frameId));
    expect(filter.total).toBe(store().frames.length);
  });
});
