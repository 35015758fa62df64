/**
 * The frame list's incremental filter gives the same rows as filtering everything afresh,
 * through appends, filter changes, ring evictions and clears.
 */
import { describe, expect, it } from 'vitest';
import type { TracedFrame } from '../../src/core/trace.ts';
import { IncrementalFrameFilter, type FilterSpec } from '../../src/renderer/src/lib/frame-filter.ts';
import { compileSearch, MessageItem } from '../../src/renderer/src/lib/timeline.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { FrameRow, holdsFrame, matchesFilters, useInspector } from '../../src/renderer/src/store/store.ts';

let n = 0;
let seq = 0;
function row(connectionId: string, opcode: number, text: string, direction: 'in' | 'out' = 'in', options: { frameId?: number; fin?: boolean } = {}): FrameRow {
  const payload = new TextEncoder().encode(text);
  const fin = options.fin ?? true;
  const raw = payload.length < 126 ? Uint8Array.of((fin ? 0x80 : 0) | opcode, payload.length, ...payload) : Uint8Array.of((fin ? 0x80 : 0) | opcode, 126, payload.length >> 8, payload.length & 255, ...payload);
  const frame: TracedFrame = { frameId: options.frameId ?? ++n, fin, rsv1: false, rsv2: false, rsv3: false, opcode, masked: false, maskKey: null, lengthField: payload.length < 126 ? payload.length : 126, payloadLength: payload.length, headerLength: payload.length < 126 ? 2 : 4, raw, payload };
  return FrameRow.fromTrace({ seq: ++seq, time: seq, connectionId, direction, frame });
}

function fresh(frames: FrameRow[], spec: FilterSpec): FrameRow[] {
  return frames.filter((r) => r.connectionId === spec.connectionId && matchesFilters(r, spec, compileSearch(spec.search).match));
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
    // Only the new (unproxied) row was examined, and the row before it, to place it in wire order.
    expect(looked).toBeLessThanOrEqual(1);
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

  it('lists frames in wire order: by frame id, whatever order they completed in', () => {
    const frames = [row('w', 1, 'six', 'out', { frameId: 6 }), row('w', 1, 'eight', 'out', { frameId: 8 }), row('w', 1, 'seven (large, completed last)', 'in', { frameId: 7 }), row('w', 1, 'nine', 'out', { frameId: 9 })];
    const filter = new IncrementalFrameFilter();
    filter.update(frames.slice(0, 3), { connectionId: 'w', direction: 'all', type: 'all', search: '' }, 0);
    expect(filter.rows.map((r) => r.frameId)).toEqual([6, 7, 8]);
    filter.update(frames, { connectionId: 'w', direction: 'all', type: 'all', search: '' }, 0);
    expect(filter.rows.map((r) => r.frameId)).toEqual([6, 7, 8, 9]);
  });

  it('searches the whole payload as held, not the preview: a needle after a 300-character pad', () => {
    const json = JSON.stringify({ pad: 'p'.repeat(300), needle: 'orderId-77' });
    const frames = [row('s', 1, json), row('s', 1, 'other'), row('s', 2, '')];
    const filter = new IncrementalFrameFilter();
    const find = (search: string) => {
      filter.update(frames, { connectionId: 's', direction: 'all', type: 'all', search }, 0);
      return filter.rows.length;
    };
    expect(frames[0]!.preview).not.toContain('orderId'); // the preview stops at 200 characters
    expect(find('ORDERID-77')).toBe(1);
    expect(find('/orderId-\\d+/')).toBe(1);
    expect(find('/orderid-[0-6]+"/i')).toBe(0);
    expect(find('hex:6f 74 68')).toBe(1); // "oth" in "other"
    expect(find(`hex:81 7e ${(json.length >> 8).toString(16).padStart(2, "0")}`)).toBe(1); // the wire header of the JSON frame
    expect(find('/(a/')).toBe(3); // an invalid pattern filters nothing, and says why
    expect(filter.compiled.searchError).toMatch(/Column \d+: expected a "\)" to close the group/);
  });

  it('folds messages: a data frame and its continuations, control frames on their own, with the display filter', () => {
    const frames = [
      row('m', 1, 'Hel', 'in', { fin: false }), row('m', 9, 'ping!', 'out'), row('m', 0, 'lo, ', 'in', { fin: false }), row('m', 0, 'world', 'in'),
      row('m', 1, 'single', 'out'), row('m', 2, 'bin', 'in', { fin: false }),
    ];
    const filter = new IncrementalFrameFilter();
    const spec: FilterSpec = { connectionId: 'm', direction: 'all', type: 'all', search: '', mode: 'messages' };
    filter.update(frames.slice(0, 3), spec, 0);
    expect(filter.rows.map((m) => (m as MessageItem).frames.length)).toEqual([2, 1]); // still open
    filter.update(frames, spec, 0);
    const messages = filter.rows as MessageItem[];
    expect(messages.map((m) => m.frames.length)).toEqual([3, 1, 1, 1]);
    expect(messages[0]!.complete).toBe(true);
    expect(messages[3]!.complete).toBe(false);
    expect(new TextDecoder().decode(messages[0]!.payload())).toBe('Hello, world');
    expect(filter.total).toBe(4);
    filter.update(frames, { ...spec, search: 'lo, wor' }, 0); // across a frame boundary
    expect(filter.rows).toHaveLength(1);
    filter.update(frames, { ...spec, display: 'frames > 1 && len == 12' }, 0);
    expect((filter.rows as MessageItem[]).map((m) => m.frameId)).toEqual([messages[0]!.frameId]);
    filter.update(frames, { ...spec, display: 'opcode == ping' }, 0);
    expect((filter.rows as MessageItem[]).map((m) => m.opcode)).toEqual([9]);
    filter.update(frames, { ...spec, mode: 'frames', display: 'opcode == ping' }, 0);
    expect(filter.rows.map((r) => r.opcode)).toEqual([9]);
  });

  it('spans every connection when the display filter names conn', () => {
    const frames = [row('x:1', 1, 'a'), row('x:2', 1, 'b'), row('x:3', 9, 'c')];
    const filter = new IncrementalFrameFilter();
    filter.update(frames, { connectionId: 'x:1', direction: 'all', type: 'all', search: '', display: 'conn == x:2 || conn == x:3' }, 0);
    expect(filter.rows.map((r) => r.connectionId)).toEqual(['x:2', 'x:3']);
    expect(filter.compiled.allConnections).toBe(true);
    filter.update(frames, { connectionId: 'x:1', direction: 'all', type: 'all', search: '', display: 'opcode == text' }, 0);
    expect(filter.rows.map((r) => r.connectionId)).toEqual(['x:1']);
  });
});
