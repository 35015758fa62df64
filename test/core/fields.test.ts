import { describe, it, expect } from 'vitest';
import { fieldAtByte, fieldTable, frameAnatomy, type AnatomyField, type FieldId } from '../../src/core/fields.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { encodeFrame, FrameParser } from '../../src/core/frame-codec.ts';

const hex = (h: string) => fromHex(h);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function field(fields: AnatomyField[], id: FieldId): AnatomyField {
  const f = fields.find((x) => x.id === id);
  if (!f) throw new Error(`no field ${id}`);
  return f;
}

/** byteOffset, byteLength, bitOffset, bitLength and value of every field, in order. */
function layout(fields: AnatomyField[]) {
  return fields.map((f) => [f.id, f.byteOffset, f.byteLength, f.bitOffset, f.bitLength, f.value]);
}

describe('frameAnatomy: complete frames (RFC 6455 §5.7 examples)', () => {
  it('unmasked "Hello" 81 05 48 65 6c 6c 6f', () => {
    const a = frameAnatomy(hex('81 05 48 65 6c 6c 6f'));
    expect(layout(a.fields)).toEqual([
      ['fin', 0, 1, 0, 1, 1],
      ['rsv1', 0, 1, 1, 1, 0],
      ['rsv2', 0, 1, 2, 1, 0],
      ['rsv3', 0, 1, 3, 1, 0],
      ['opcode', 0, 1, 4, 4, 1],
      ['mask', 1, 1, 8, 1, 0],
      ['payload-length', 1, 1, 9, 7, 5],
      ['payload', 2, 5, 16, 40, 5],
    ]);
    expect(a).toMatchObject({ headerLength: 2, payloadLength: 5, frameLength: 7, complete: true, needs: null, maskKey: null });
    expect(decode(a.payload)).toBe('Hello');
    expect(toHex(a.maskedPayload)).toBe(toHex(a.payload));
    expect(field(a.fields, 'fin').display).toBe('1 (final fragment)');
    expect(field(a.fields, 'opcode').display).toBe('0x1 (text)');
    expect(field(a.fields, 'mask').display).toBe('0 (payload is not masked)');
    expect(field(a.fields, 'payload-length').display).toBe('5 (the payload length)');
    expect(field(a.fields, 'payload').display).toBe('5 bytes');
    expect(a.fields.every((f) => f.notes.length === 0 && !f.incomplete)).toBe(true);
  });

  it('masked "Hello" 81 85 37 fa 21 3d 7f 9f 4d 51 58', () => {
    const a = frameAnatomy(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(layout(a.fields)).toEqual([
      ['fin', 0, 1, 0, 1, 1],
      ['rsv1', 0, 1, 1, 1, 0],
      ['rsv2', 0, 1, 2, 1, 0],
      ['rsv3', 0, 1, 3, 1, 0],
      ['opcode', 0, 1, 4, 4, 1],
      ['mask', 1, 1, 8, 1, 1],
      ['payload-length', 1, 1, 9, 7, 5],
      ['masking-key', 2, 4, 16, 32, '37 fa 21 3d'],
      ['payload', 6, 5, 48, 40, 5],
    ]);
    expect(a).toMatchObject({ headerLength: 6, payloadLength: 5, frameLength: 11, complete: true, needs: null });
    expect(toHex(a.maskKey!, ' ')).toBe('37 fa 21 3d');
    expect(toHex(a.maskedPayload, ' ')).toBe('7f 9f 4d 51 58');
    expect(decode(a.payload)).toBe('Hello');
    expect(field(a.fields, 'mask').display).toBe('1 (payload is masked)');
    expect(field(a.fields, 'payload').display).toBe('5 bytes, masked');
    expect(field(a.fields, 'payload').rfcSection).toBe('§5.3');
  });

  it('first fragment 01 03 48 65 6c: FIN 0', () => {
    const a = frameAnatomy(hex('01 03 48 65 6c'));
    expect(field(a.fields, 'fin').value).toBe(0);
    expect(field(a.fields, 'fin').display).toBe('0 (more fragments follow)');
    expect(decode(a.payload)).toBe('Hel');
  });

  it.each([
    ['80 02 6c 6f', 0x0, '0x0 (continuation)'],
    ['89 05 48 65 6c 6c 6f', 0x9, '0x9 (ping)'],
    ['8a 85 37 fa 21 3d 7f 9f 4d 51 58', 0xa, '0xA (pong)'],
    ['82 00', 0x2, '0x2 (binary)'],
    ['88 00', 0x8, '0x8 (close)'],
  ])('%s has opcode %i shown as %s', (h, opcode, display) => {
    const a = frameAnatomy(hex(h));
    expect(field(a.fields, 'opcode').value).toBe(opcode);
    expect(field(a.fields, 'opcode').display).toBe(display);
    expect(a.complete).toBe(true);
  });

  it('256-byte binary 82 7E 01 00: 16-bit extended length at bytes 2-3', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const a = frameAnatomy(concatBytes([hex('82 7e 01 00'), payload]));
    expect(layout(a.fields).slice(5)).toEqual([
      ['mask', 1, 1, 8, 1, 0],
      ['payload-length', 1, 1, 9, 7, 126],
      ['extended-length', 2, 2, 16, 16, 256],
      ['payload', 4, 256, 32, 2048, 256],
    ]);
    expect(field(a.fields, 'payload-length').display).toBe('126 (length in the next 2 bytes)');
    expect(field(a.fields, 'extended-length').label).toContain('16-bit');
    expect(field(a.fields, 'extended-length').notes).toEqual([]);
    expect(a).toMatchObject({ headerLength: 4, payloadLength: 256, frameLength: 260, complete: true });
  });

  it('64 KiB binary 82 7F 00 00 00 00 00 01 00 00: 64-bit extended length at bytes 2-9', () => {
    const a = frameAnatomy(concatBytes([hex('82 7f 00 00 00 00 00 01 00 00'), new Uint8Array(65536)]));
    expect(layout(a.fields).slice(5)).toEqual([
      ['mask', 1, 1, 8, 1, 0],
      ['payload-length', 1, 1, 9, 7, 127],
      ['extended-length', 2, 8, 16, 64, 65536],
      ['payload', 10, 65536, 80, 524288, 65536],
    ]);
    expect(field(a.fields, 'payload-length').display).toBe('127 (length in the next 8 bytes)');
    expect(field(a.fields, 'extended-length').label).toContain('64-bit');
    expect(field(a.fields, 'extended-length').notes).toEqual([]);
    expect(a).toMatchObject({ headerLength: 10, payloadLength: 65536, frameLength: 65546, complete: true });
  });

  it('masked with a 16-bit length: masking key at bytes 4-7, payload from byte 8', () => {
    const a = frameAnatomy(concatBytes([hex('82 fe 00 c8 01 02 03 04'), new Uint8Array(200)]));
    expect(layout(a.fields).slice(7)).toEqual([
      ['extended-length', 2, 2, 16, 16, 200],
      ['masking-key', 4, 4, 32, 32, '01 02 03 04'],
      ['payload', 8, 200, 64, 1600, 200],
    ]);
    // zeros on the wire unmask to the key repeated
    expect(toHex(a.payload.subarray(0, 8), ' ')).toBe('01 02 03 04 01 02 03 04');
  });

  it('ignores bytes past the end of the frame', () => {
    const a = frameAnatomy(hex('81 05 48 65 6c 6c 6f 81 05 ff'));
    expect(a.frameLength).toBe(7);
    expect(a.complete).toBe(true);
    expect(decode(a.payload)).toBe('Hello');
  });

  it('every header and payload bit of a complete frame belongs to exactly one field', () => {
    for (const wire of [
      hex('81 05 48 65 6c 6c 6f'),
      hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'),
      encodeFrame({ opcode: 2, payload: new Uint8Array(300), maskKey: hex('01 02 03 04') }),
      encodeFrame({ opcode: 2, payload: new Uint8Array(70000) }),
    ]) {
      const a = frameAnatomy(wire);
      const owner = new Array<number>(wire.length * 8).fill(0);
      for (const f of a.fields) for (let b = f.bitOffset; b < f.bitOffset + f.bitLength; b++) owner[b] = owner[b]! + 1;
      expect(owner.every((n) => n === 1)).toBe(true);
      // byte ranges agree with bit ranges
      for (const f of a.fields) {
        expect(Math.floor(f.bitOffset / 8)).toBe(f.byteOffset);
        expect(Math.ceil((f.bitOffset + f.bitLength) / 8)).toBe(f.byteOffset + f.byteLength);
      }
    }
  });

  it('agrees with FrameParser on header length, payload length and payload', () => {
    for (const spec of [
      { opcode: 1, payload: new TextEncoder().encode('hi') },
      { opcode: 2, payload: new Uint8Array(126), maskKey: hex('aa bb cc dd') },
      { opcode: 2, payload: new Uint8Array(65536).fill(7), maskKey: hex('aa bb cc dd') },
      { opcode: 9, payload: new Uint8Array(0) },
    ]) {
      const wire = encodeFrame(spec);
      const a = frameAnatomy(wire);
      const parsed = new FrameParser().feedAll(wire).find((e) => e.kind === 'frame');
      if (!parsed || parsed.kind !== 'frame') throw new Error('no frame');
      expect(a.headerLength).toBe(parsed.frame.header.headerLength);
      expect(a.payloadLength).toBe(parsed.frame.header.payloadLength);
      expect(toHex(a.payload)).toBe(toHex(parsed.frame.payload));
    }
  });
});

describe('frameAnatomy: partial frames say what they need', () => {
  it.each([
    ['', 'needs 2 bytes of frame header (FIN, RSV, opcode, MASK, payload len)', []],
    ['81', 'needs 1 more byte of frame header (MASK, payload len)', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode']],
    ['82 7e', 'needs 2 more bytes of 16-bit extended length', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'extended-length']],
    ['82 7e 01', 'needs 1 more byte of 16-bit extended length', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'extended-length']],
    ['82 7f 00 00 00', 'needs 5 more bytes of 64-bit extended length', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'extended-length']],
    ['81 85', 'needs 4 more bytes of masking key', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'masking-key']],
    ['81 85 37 fa 21', 'needs 1 more byte of masking key', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'masking-key']],
    ['81 05', 'needs 5 more bytes of payload', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'payload']],
    ['81 05 48 65 6c 6c', 'needs 1 more byte of payload', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'payload']],
    ['82 7e 01 00', 'needs 256 more bytes of payload', ['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'extended-length', 'payload']],
  ])('%j: "%s"', (h, needs, ids) => {
    const a = frameAnatomy(hex(h));
    expect(a.needs).toBe(needs);
    expect(a.complete).toBe(false);
    expect(a.fields.map((f) => f.id)).toEqual(ids);
    expect(a.frameLength === null || a.frameLength > hex(h).length).toBe(true);
  });

  it('an incomplete extended length is flagged and has no value', () => {
    const a = frameAnatomy(hex('82 7e 01'));
    const ext = field(a.fields, 'extended-length');
    expect(ext).toMatchObject({ byteOffset: 2, byteLength: 2, bitOffset: 16, bitLength: 16, incomplete: true, value: '' });
    expect(a.payloadLength).toBeNull();
    expect(a.headerLength).toBeNull();
  });

  it('an incomplete masking key is flagged; the payload length is already known', () => {
    const a = frameAnatomy(hex('81 85 37 fa'));
    expect(field(a.fields, 'masking-key')).toMatchObject({ byteOffset: 2, byteLength: 4, incomplete: true });
    expect(a.payloadLength).toBe(5);
    expect(a.maskKey).toBeNull();
  });

  it('a masked payload cut short is unmasked as far as it goes', () => {
    const a = frameAnatomy(hex('81 85 37 fa 21 3d 7f 9f'));
    expect(a.needs).toBe('needs 3 more bytes of payload');
    expect(field(a.fields, 'payload')).toMatchObject({ byteOffset: 6, byteLength: 5, incomplete: true });
    expect(toHex(a.maskedPayload, ' ')).toBe('7f 9f');
    expect(decode(a.payload)).toBe('He');
    expect(a).toMatchObject({ headerLength: 6, payloadLength: 5, frameLength: 11 });
  });

  it('every prefix of a frame ends in the complete anatomy, with the needs text counting down', () => {
    const wire = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    for (let n = 0; n < wire.length; n++) expect(frameAnatomy(wire.subarray(0, n)).complete).toBe(false);
    expect(frameAnatomy(wire).complete).toBe(true);
    expect(frameAnatomy(wire.subarray(0, 10)).needs).toBe('needs 1 more byte of payload');
  });
});

describe('frameAnatomy: notes', () => {
  it.each([
    ['16-bit length holding 5', '81 7e 00 05', 'extended-length', /Not minimal: 5 fits in the 7-bit field/],
    ['16-bit length holding 125', '81 7e 00 7d', 'extended-length', /Not minimal: 125/],
    ['64-bit length holding 5', '82 7f 00 00 00 00 00 00 00 05', 'extended-length', /Not minimal: 5 fits in the 7-bit field/],
    ['64-bit length holding 300', '82 7f 00 00 00 00 00 00 01 2c', 'extended-length', /Not minimal: 300 fits in 16 bits/],
    ['64-bit length holding 65535', '82 7f 00 00 00 00 00 00 ff ff', 'extended-length', /Not minimal: 65535 fits in 16 bits/],
    ['64-bit length with the top bit set', '82 7f 80 00 00 00 00 00 00 00', 'extended-length', /most significant bit/],
    ['RSV1 set', 'c1 00', 'rsv1', /protocol error/],
    ['RSV2 set', 'a1 00', 'rsv2', /protocol error/],
    ['RSV3 set', '91 00', 'rsv3', /protocol error/],
    ['reserved data opcode 0x3', '83 00', 'opcode', /Reserved opcode/],
    ['reserved control opcode 0xB', '8b 00', 'opcode', /Reserved opcode/],
  ] as const)('%s: %s → note on %s', (_name, h, id, note) => {
    const f = field(frameAnatomy(hex(h)).fields, id);
    expect(f.notes.some((n) => note.test(n))).toBe(true);
  });

  it.each([
    ['16-bit length holding 126', '81 7e 00 7e'],
    ['16-bit length holding 65535', '81 7e ff ff'],
    ['64-bit length holding 65536', '82 7f 00 00 00 00 00 01 00 00'],
  ])('no note for a minimal %s', (_name, h) => {
    expect(field(frameAnatomy(hex(h)).fields, 'extended-length').notes).toEqual([]);
  });

  it('field definitions quote the RFC section', () => {
    expect(fieldTable.mask.rfcSection).toBe('§5.2');
    expect(fieldTable['masking-key'].rfcSection).toBe('§5.3');
    expect(fieldTable['extended-length'].rfcText).toContain('minimal number of bytes MUST be used');
  });
});

describe('frameAnatomy: 64-bit lengths from 2^53 on (a number would round)', () => {
  it.each([
    ['00 20 00 00 00 00 00 01', '9007199254740993'],
    ['00 20 00 00 00 00 00 02', '9007199254740994'],
    ['7f ff ff ff ff ff ff ff', '9223372036854775807'],
  ])('the extended length %s shows as %s bytes, with a note', (lengthHex, exact) => {
    const ext = field(frameAnatomy(hex(`82 7f ${lengthHex}`)).fields, 'extended-length');
    expect(ext.value).toBe(exact);
    expect(ext.display).toBe(`${exact} bytes (more than 2^53)`);
    expect(ext.notes).toContain('More than 2^53 bytes: longer than any frame can be, beyond every size limit (§10.4).');
  });

  it('2^53 - 1 is still a plain number', () => {
    const ext = field(frameAnatomy(hex('82 7f 00 1f ff ff ff ff ff ff')).fields, 'extended-length');
    expect(ext.value).toBe(2 ** 53 - 1);
    expect(ext.display).toBe('9007199254740991 bytes');
  });
});

describe('fieldAtByte (hex pane → field)', () => {
  const masked = frameAnatomy(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
  it.each([
    [0, 'fin'],
    [1, 'mask'],
    [2, 'masking-key'],
    [5, 'masking-key'],
    [6, 'payload'],
    [10, 'payload'],
  ] as const)('masked "Hello": byte %i → %s', (byte, id) => {
    expect(fieldAtByte(masked, byte)?.id).toBe(id);
  });

  it.each([11, 100, -1])('byte %i is outside the frame → undefined', (byte) => {
    expect(fieldAtByte(masked, byte)).toBeUndefined();
  });

  const extended = frameAnatomy(concatBytes([hex('82 7e 01 00'), new Uint8Array(256)]));
  it.each([
    [0, 'fin'],
    [1, 'mask'],
    [2, 'extended-length'],
    [3, 'extended-length'],
    [4, 'payload'],
    [259, 'payload'],
  ] as const)('256-byte binary: byte %i → %s', (byte, id) => {
    expect(fieldAtByte(extended, byte)?.id).toBe(id);
  });

  it('a 1-byte payload is found too', () => {
    expect(fieldAtByte(frameAnatomy(hex('82 01 ff')), 2)?.id).toBe('payload');
  });

  it('on a partial frame, bytes of an incomplete field map to it', () => {
    expect(fieldAtByte(frameAnatomy(hex('82 7f 00 00')), 3)?.id).toBe('extended-length');
  });
});

describe('frameAnatomy with permessage-deflate (RFC 7692 §6)', () => {
  it('reads RSV1 as the compressed bit when told the frame opens a compressed message, as a problem otherwise', () => {
    const bytes = fromHex('c1 07 f2 48 cd c9 c9 07 00'); // §7.2.3.1
    const plain = frameAnatomy(bytes).fields.find((f) => f.id === 'rsv1')!;
    expect(plain.notes).toEqual(['Set without a negotiated extension: a protocol error (§5.2).']);
    const compressed = frameAnatomy(bytes, { compressed: true }).fields.find((f) => f.id === 'rsv1')!;
    expect(compressed.display).toBe('1 = compressed (permessage-deflate)');
    expect(compressed.rfcSection).toBe('RFC 7692 §6');
    expect(compressed.notes).toEqual([]);
    // RSV2 stays a problem either way.
    const rsv2 = frameAnatomy(fromHex('e1 00'), { compressed: true }).fields.find((f) => f.id === 'rsv2')!;
    expect(rsv2.notes).toHaveLength(1);
  });
});

describe('frameAnatomy: a Close frame\'s body, field by field (§5.5.1, §7.4)', () => {
  it('a masked Close 1000 "bye": status code bytes, reason bytes, decoded', () => {
    const wire = encodeFrame({ opcode: 8, payload: concatBytes([hex('03 e8'), new TextEncoder().encode('bye')]), maskKey: hex('37 fa 21 3d') });
    const a = frameAnatomy(wire);
    expect(a.fields.map((f) => f.id)).toEqual(['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'payload-length', 'masking-key', 'close-code', 'close-reason']);
    expect(layout([field(a.fields, 'close-code'), field(a.fields, 'close-reason')])).toEqual([
      ['close-code', 6, 2, 48, 16, 1000],
      ['close-reason', 8, 3, 64, 24, 'bye'],
    ]);
    expect(field(a.fields, 'close-code').display).toBe('1000 (Normal Closure)');
    expect(field(a.fields, 'close-code').rfcSection).toBe('§5.5.1, §7.4');
    expect(field(a.fields, 'close-reason').display).toBe('"bye" (3 bytes)');
    expect(a.complete).toBe(true);
    // Every bit still belongs to exactly one field.
    const owner = new Array<number>(wire.length * 8).fill(0);
    for (const f of a.fields) for (let b = f.bitOffset; b < f.bitOffset + f.bitLength; b++) owner[b] = owner[b]! + 1;
    expect(owner.every((n) => n === 1)).toBe(true);
    expect(fieldAtByte(a, 7)?.id).toBe('close-code');
    expect(fieldAtByte(a, 9)?.id).toBe('close-reason');
  });

  it('a reason starting with U+FEFF keeps it, valid UTF-8 or not (§5.5.1: the reason is UTF-8 data; a BOM is a character of it)', () => {
    const valid = frameAnatomy(hex('88 08 03 e8 ef bb bf 62 79 65'));
    expect(field(valid.fields, 'close-reason').value).toBe('\uFEFFbye');
    expect(field(valid.fields, 'close-reason').display).toBe('"\uFEFFbye" (6 bytes)');
    expect(field(valid.fields, 'close-reason').notes).toEqual([]);
    const invalid = frameAnatomy(hex('88 06 03 e8 ef bb bf ff'));
    expect(field(invalid.fields, 'close-reason').value).toBe('\uFEFF\uFFFD');
    expect(field(invalid.fields, 'close-reason').notes).toEqual(['Not valid UTF-8 (§5.5.1, §8.1).']);
  });

  it('a code that must not be sent and a reason that is not UTF-8 get notes; no reason, no reason field; an empty body stays "payload"', () => {
    const a = frameAnatomy(hex('88 04 03 ed c0 80'));
    expect(field(a.fields, 'close-code').notes).toEqual(['1005 MUST NOT be sent in a Close frame (§7.4).']);
    expect(field(a.fields, 'close-reason').notes).toEqual(['Not valid UTF-8 (§5.5.1, §8.1).']);
    expect(frameAnatomy(hex('88 02 03 e8')).fields.map((f) => f.id).slice(-1)).toEqual(['close-code']);
    expect(frameAnatomy(hex('88 00')).fields.map((f) => f.id).slice(-1)).toEqual(['payload']);
    const cut = frameAnatomy(hex('88 05 03 e8 61'));
    expect(field(cut.fields, 'close-reason').incomplete).toBe(true);
    expect(cut.complete).toBe(false);
  });
});
