/**
 * The proxy bench's trace keeper (scripts/bench-proxy-worker.ts, DisplayCappedLog): frames and
 * messages that come as rows read back as capForDisplay would have shown their event objects:
 * small ones whole, large ones cut to DISPLAY_CAP with the full bytes in the store.
 */

import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import { capForDisplay, DISPLAY_CAP, FullFrameStore } from '../../src/service/display-cap.ts';
import { DisplayCappedLog } from '../../scripts/bench-proxy-worker.ts';

const hexOf = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex');
  if (Array.isArray(value)) return value.map(hexOf);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hexOf(v)]));
  return value;
};

/** A frame event as the protocol's object path builds it, and its row (raw, payload). */
function frame(frameId: number, payload: Uint8Array, maskKey: Uint8Array | null, relay?: TracedFrame['relay']) {
  const raw = encodeFrame({ opcode: 2, payload }, maskKey);
  const headerLength = raw.length - payload.length;
  const frameObject: TracedFrame = {
    frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: maskKey !== null, maskKey: maskKey ? raw.slice(headerLength - 4, headerLength) : null,
    lengthField: raw[1]! & 0x7f, payloadLength: payload.length, headerLength, raw, payload,
  };
  if (relay) frameObject.relay = relay;
  return { raw, payload, frameObject };
}

describe('DisplayCappedLog', () => {
  it('reads rows back as capForDisplay shows the same events: small ones whole, large frames and messages cut, full bytes stored', () => {
    const kept = new DisplayCappedLog();
    const expectedStore = new FullFrameStore();
    const expected: TraceEvent[] = [];
    const big = Uint8Array.from({ length: DISPLAY_CAP + 5000 }, (_, i) => i & 0xff);
    const small = Uint8Array.from([1, 2, 3]);
    const relay = { from: { connectionId: 'c1', frameId: 1 }, delayUs: 7 };
    let seq = 0;
    for (const [id, payload, mask, rel] of [[1, small, Uint8Array.of(9, 8, 7, 6), undefined], [2, big, Uint8Array.of(1, 2, 3, 4), undefined], [3, big, null, relay]] as const) {
      const f = frame(id, payload, mask, rel);
      const time = 1000 + ++seq;
      kept.frameRow(seq, time, 'c1-upstream', 'out', id, f.raw, f.payload, rel);
      expected.push(capForDisplay({ type: 'frame', direction: 'out', frame: f.frameObject, seq, time, connectionId: 'c1-upstream' }, expectedStore));
      const time2 = 1000 + ++seq;
      kept.messageRow(seq, time2, 'c1-upstream', 'out', 2, id, 1, payload.length, undefined, payload);
      expected.push(capForDisplay({ type: 'message', direction: 'out', opcode: 2, size: payload.length, frameIds: [id], data: payload, seq, time: time2, connectionId: 'c1-upstream' }, expectedStore));
    }
    const text = 'é'.repeat(DISPLAY_CAP + 10); // cut: longer than the cap
    kept.messageRow(++seq, 2000, 'c1', 'in', 1, 4, 1, Buffer.byteLength(text), text, Buffer.from(text));
    expected.push(capForDisplay({ type: 'message', direction: 'in', opcode: 1, size: Buffer.byteLength(text), frameIds: [4], text, seq, time: 2000, connectionId: 'c1' }, expectedStore));
    expect(hexOf(kept.log.toArray())).toEqual(hexOf(expected));
    // The large frames were cut (truncated set) and their full bytes kept, as the service does.
    expect(kept.log.toArray().filter((e) => e.type === 'frame' && e.frame.truncated)).toHaveLength(2);
    expect(kept.log.toArray().filter((e) => e.type === 'message' && e.truncated)).toHaveLength(3);
    expect(kept.store.size).toBe(2);
    expect(kept.store.get('c1-upstream:2')!.payload.length).toBe(big.length);
    kept.reset();
    expect(kept.log.length).toBe(0);
    expect(kept.store.size).toBe(0);
  });
});
