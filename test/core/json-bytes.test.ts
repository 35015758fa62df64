import { afterEach, describe, expect, it, vi } from 'vitest';
import { stringifyWithBytes } from '../../src/core/json-bytes.ts';
import { traceEventToJson, type TraceEvent } from '../../src/core/trace.ts';
import { decodeWireJson, encodeWireJson } from '../../src/shared/wire-json.ts';

const hex = (bytes: Uint8Array) => ({ hex: Buffer.from(bytes).toString('hex') });

afterEach(() => vi.restoreAllMocks());

describe('stringifyWithBytes', () => {
  it('encodes byte arrays anywhere (fields, array elements, nested, top level) and leaves the value it was given unchanged', () => {
    const value = { a: new Uint8Array([1, 2]), list: [new Uint8Array([3]), 'x', { b: Buffer.from([4, 5]) }], n: null, s: 'text', deep: [[Buffer.from([6])]] };
    expect(JSON.parse(stringifyWithBytes(value, hex))).toEqual({ a: { hex: '0102' }, list: [{ hex: '03' }, 'x', { b: { hex: '0405' } }], n: null, s: 'text', deep: [[{ hex: '06' }]] });
    expect(value.a).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(value.list[2] && (value.list[2] as { b: Buffer }).b)).toBe(true);
    expect(JSON.parse(stringifyWithBytes(new Uint8Array([7]), hex))).toEqual({ hex: '07' });
  });

  it("never lets a nested node Buffer's toJSON build its array of bytes (the trace's frames are Buffers)", () => {
    const toJSON = vi.spyOn(Buffer.prototype, 'toJSON');
    const raw = Buffer.alloc(16 * 1024 + 8, 0x61);
    const event = { type: 'frame', direction: 'in', frame: { frameId: 1, raw, payload: raw.subarray(8), maskKey: raw.subarray(4, 8) }, seq: 1, time: 2, connectionId: 'c' } as unknown as TraceEvent;
    const wire = encodeWireJson({ events: [event, event] });
    const line = traceEventToJson(event);
    expect(toJSON).not.toHaveBeenCalled();
    const back = decodeWireJson<{ events: Array<{ frame: { raw: Uint8Array; payload: Uint8Array; maskKey: Uint8Array } }> }>(wire);
    expect(back.events[1]!.frame.payload.length).toBe(16 * 1024);
    expect(Buffer.from(back.events[1]!.frame.raw).equals(raw)).toBe(true);
    expect(JSON.parse(line).frame.maskKey).toEqual({ hex: '61616161' });
  });
});
