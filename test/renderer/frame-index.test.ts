/**
 * The paged frame index answers exactly as one Map keyed by "connectionId:frameId" would,
 * through random adds, replacements and deletes across connections and page boundaries.
 */
import { describe, expect, it } from 'vitest';
import type { TracedFrame } from '../../src/core/trace.ts';
import { FRAME_INDEX_PAGE_SIZE, FrameIndex } from '../../src/renderer/src/store/frame-index.ts';
import { FrameRow } from '../../src/renderer/src/store/frame-row.ts';
import { prng } from '../support/prng.ts';

function row(connectionId: string, frameId: number): FrameRow {
  const raw = Uint8Array.of(0x81, 1, 0x61);
  const frame: TracedFrame = { frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, lengthField: 1, payloadLength: 1, headerLength: 2, raw, payload: raw.subarray(2) };
  return FrameRow.fromTrace({ seq: frameId, time: 0, connectionId, direction: 'in', frame });
}

describe('FrameIndex', () => {
  it('finds rows by key and by (connection, frame), connection ids with colons included', () => {
    const index = new FrameIndex();
    const a = row('server1:3', 7);
    const b = row('conformance:1.1.1', FRAME_INDEX_PAGE_SIZE + 7);
    index.set(a);
    index.set(b);
    expect(index.get('server1:3:7')).toBe(a);
    expect(index.find('conformance:1.1.1', FRAME_INDEX_PAGE_SIZE + 7)).toBe(b);
    expect(index.has(`conformance:1.1.1:${FRAME_INDEX_PAGE_SIZE + 7}`)).toBe(true);
    expect(index.get('server1:3:8')).toBeUndefined();
    for (const bad of ['nocolon', ':7', 'server1:3:x', 'server1:3:-1', 'server1:3:', 'server1:3:7.5']) expect(index.get(bad)).toBeUndefined();
    // Replacing a frame's row keeps the count.
    const a2 = row('server1:3', 7);
    index.set(a2);
    expect(index.size).toBe(2);
    expect(index.get('server1:3:7')).toBe(a2);
    index.delete(a2);
    index.delete(a2);
    expect(index.size).toBe(1);
    index.clear();
    expect([index.size, index.get(b.key)]).toEqual([0, undefined]);
  });

  it('agrees with a plain Map through 20,000 random operations across pages', () => {
    const random = prng(42);
    const index = new FrameIndex();
    const model = new Map<string, FrameRow>();
    const connections = ['a', 'b:1', 'conformance:2.3'];
    for (let i = 0; i < 20_000; i++) {
      const r = row(connections[Math.floor(random() * connections.length)]!, Math.floor(random() * 3 * FRAME_INDEX_PAGE_SIZE));
      if (random() < 0.6) {
        index.set(r);
        model.set(r.key, r);
      } else {
        const held = model.get(r.key);
        if (held) {
          index.delete(held);
          model.delete(r.key);
        }
      }
      if (i % 997 === 0) {
        expect(index.size).toBe(model.size);
        for (const [key, value] of model) expect(index.get(key)).toBe(value);
      }
    }
    expect(index.size).toBe(model.size);
    for (const held of [...model.values()]) index.delete(held);
    expect(index.size).toBe(0);
  });
});
