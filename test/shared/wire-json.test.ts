/**
 * Wire JSON (the web bridge) keeps byte arrays as bytes; trace JSON (the CLI) turns them into
 * hex. Both must see a node Buffer as bytes, not as Buffer.toJSON's {type:'Buffer', data}.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { traceEventToJson, type TraceEvent } from '../../src/core/trace.ts';
import { decodeBase64Into, decodeWireJson, encodeWireJson } from '../../src/shared/wire-json.ts';

const roundTrip = <T>(value: T): T => decodeWireJson<T>(encodeWireJson(value));

function expectBytes(value: unknown, bytes: Uint8Array): void {
  expect(value).toBeInstanceOf(Uint8Array);
  expect(Buffer.isBuffer(value)).toBe(false);
  expect([...(value as Uint8Array)]).toEqual([...bytes]);
}

describe('wire JSON', () => {
  it('round-trips a top-level Uint8Array', () => {
    const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    expectBytes(roundTrip(bytes), bytes);
  });

  it('round-trips nested Uint8Arrays in objects and arrays', () => {
    const value = {
      events: [
        { type: 'frame', frame: { raw: new Uint8Array([0x81, 0x02, 0x68, 0x69]), payload: new Uint8Array([0x68, 0x69]), maskKey: null } },
        { type: 'bytes', bytes: new Uint8Array([1, 2, 3]) },
      ],
      deep: { a: { b: [[new Uint8Array([9])]] } },
    };
    const back = roundTrip(value);
    expectBytes(back.events[0]!.frame!.raw, value.events[0]!.frame!.raw);
    expectBytes(back.events[0]!.frame!.payload, value.events[0]!.frame!.payload);
    expect(back.events[0]!.frame!.maskKey).toBeNull();
    expectBytes(back.events[1]!.bytes, new Uint8Array([1, 2, 3]));
    expectBytes(back.deep.a.b[0]![0], new Uint8Array([9]));
  });

  it('round-trips a node Buffer as a Uint8Array with the same bytes, not {type:"Buffer"}', () => {
    const buffer = Buffer.from('héllo ✓', 'utf8');
    const text = encodeWireJson({ payload: buffer, list: [buffer] });
    expect(text).not.toContain('"type":"Buffer"');
    expect(text).toContain('$u8');
    const back = decodeWireJson<{ payload: unknown; list: unknown[] }>(text);
    expectBytes(back.payload, buffer);
    expectBytes(back.list[0], buffer);
  });

  it('round-trips a node Buffer at the top level', () => {
    // The holder of the root value is {"": value}, so this[""] is the original Buffer; the
    // replacer's key === '' shortcut reads the already-toJSON'd {type:'Buffer'} instead.
    const buffer = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    expect(encodeWireJson(buffer)).not.toContain('"type":"Buffer"');
    expectBytes(roundTrip(buffer), buffer);
  });

  it('round-trips a Buffer view into a larger pool (only its own bytes)', () => {
    const pool = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const view = pool.subarray(2, 5);
    expectBytes(roundTrip({ view }).view, new Uint8Array([3, 4, 5]));
    const u8view = new Uint8Array(pool.buffer, pool.byteOffset + 6, 2);
    expectBytes(roundTrip({ u8view }).u8view, new Uint8Array([7, 8]));
  });

  it('round-trips empty byte arrays and empty plain arrays', () => {
    const back = roundTrip({ empty: new Uint8Array(0), emptyBuffer: Buffer.alloc(0), list: [] as number[], nested: [[]] });
    expectBytes(back.empty, new Uint8Array(0));
    expectBytes(back.emptyBuffer, new Uint8Array(0));
    expect(back.list).toEqual([]);
    expect(back.nested).toEqual([[]]);
  });

  it('round-trips 1 MiB of random bytes exactly', () => {
    const bytes = new Uint8Array(randomBytes(1024 * 1024));
    const back = roundTrip({ bytes });
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(back.bytes.length).toBe(bytes.length);
    expect(Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it('leaves plain values untouched', () => {
    const value = {
      s: 'text with "quotes" and ✓', n: 42, f: -1.5, zero: 0, t: true, f2: false, nil: null,
      arr: [1, 'two', { three: 3 }], obj: { nested: { deeper: ['x'] } },
      // Look-alikes that are not byte arrays stay as they are.
      notBytes: { $u8x: 'AAEC' }, numbers: [0, 255, 256],
    };
    expect(roundTrip(value)).toEqual(value);
    expect(encodeWireJson(value)).toBe(JSON.stringify(value));
    for (const plain of ['x', 1, true, null, [], {}]) expect(roundTrip(plain)).toEqual(plain);
  });

  it('drops undefined fields as JSON does', () => {
    expect(roundTrip({ a: 1, b: undefined })).toEqual({ a: 1 });
  });
});

describe('decodeBase64Into', () => {
  it('decodes every length and padding as node does, straight into the target', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const b64 = Buffer.from(bytes).toString('base64');
      const slab = new Uint8Array(n + 2).fill(0xaa);
      decodeBase64Into(b64, slab.subarray(1, 1 + n));
      expect([...slab.subarray(1, 1 + n)]).toEqual([...bytes]);
      // Not a byte outside its view is touched.
      expect([slab[0], slab[n + 1]]).toEqual([0xaa, 0xaa]);
    }
  });

  it('refuses text that is not base64, or not the length the target expects', () => {
    expect(() => decodeBase64Into('AB$=', new Uint8Array(2))).toThrow(/invalid character at 2/);
    expect(() => decodeBase64Into('ABC', new Uint8Array(2))).toThrow(/multiple of 4/);
    expect(() => decodeBase64Into('AB==AAAA', new Uint8Array(4))).toThrow(/decoded 1 bytes, expected 4/);
    expect(() => decodeBase64Into('AAAA', new Uint8Array(2))).toThrow();
  });
});

describe('traceEventToJson', () => {
  const base = { seq: 1, time: 1700000000000.5, connectionId: 'server1:1' };

  it('turns a Buffer field into {hex} (Buffer.toJSON runs before the replacer)', () => {
    const event = { ...base, type: 'bytes', direction: 'in', bytes: Buffer.from([0x81, 0x85, 0xff]) } as TraceEvent;
    const json = traceEventToJson(event);
    expect(json).not.toContain('"type":"Buffer"');
    expect(JSON.parse(json)).toMatchObject({ type: 'bytes', direction: 'in', bytes: { hex: '8185ff' } });
  });

  it('turns nested Uint8Array and Buffer fields into {hex} and keeps the rest', () => {
    const event = {
      ...base, type: 'frame', direction: 'out',
      frame: {
        frameId: 3, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true,
        maskKey: Buffer.from([1, 2, 3, 4]), lengthField: 2, payloadLength: 2, headerLength: 6,
        raw: new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]), payload: Buffer.from('hi'),
      },
    } as TraceEvent;
    const parsed = JSON.parse(traceEventToJson(event)) as { frame: Record<string, unknown> } & Record<string, unknown>;
    expect(parsed.frame['maskKey']).toEqual({ hex: '01020304' });
    expect(parsed.frame['payload']).toEqual({ hex: '6869' });
    expect(parsed.frame['raw']).toEqual({ hex: '818201020304696b' });
    expect(parsed.frame['frameId']).toBe(3);
    expect(parsed['seq']).toBe(1);
    expect(parsed['connectionId']).toBe('server1:1');
  });

  it('writes an empty payload as {hex:""}', () => {
    const event = { ...base, type: 'bytes', direction: 'out', bytes: Buffer.alloc(0) } as TraceEvent;
    expect(JSON.parse(traceEventToJson(event))).toMatchObject({ bytes: { hex: '' } });
  });
});
