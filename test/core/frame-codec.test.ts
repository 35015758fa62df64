import { describe, it, expect } from 'vitest';
import { encodeClosePayload, encodeFrame, encodeFrameHeader, formatPayloadLength, FrameParser, type Frame, type FrameSpec, type ParserEvent } from '../../src/core/frame-codec.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { ProtocolViolation } from '../../src/core/errors.ts';
import { prng } from '../support/prng.ts';

const hex = (h: string) => fromHex(h);
const text = (s: string) => new TextEncoder().encode(s);
const RFC_KEY = hex('37 fa 21 3d');

/** Payload 0, 1, 2, ... (mod 256): easy to check by hand. */
function counting(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i & 0xff);
}

function frames(events: ParserEvent[]): Frame[] {
  return events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

/** Everything observable about a frame, as plain data for deep comparison. */
function summary(f: Frame) {
  const h = f.header;
  return {
    fin: h.fin, rsv1: h.rsv1, rsv2: h.rsv2, rsv3: h.rsv3, opcode: h.opcode, masked: h.masked,
    lengthField: h.lengthField, payloadLength: h.payloadLength, headerLength: h.headerLength,
    maskKey: h.maskKey ? toHex(h.maskKey) : null, payload: toHex(f.payload), raw: f.raw ? toHex(f.raw) : null,
  };
}

function parseWhole(bytes: Uint8Array) {
  return frames(new FrameParser().feedAll(bytes)).map(summary);
}

function parseInChunks(bytes: Uint8Array, cuts: number[]) {
  const parser = new FrameParser();
  const out: Frame[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...frames(parser.feedAll(bytes.slice(at, cut))));
    at = cut;
  }
  return { frames: out.map(summary), parser };
}

// RFC 6455 §5.7 examples, hand-copied from the RFC.
const rfcExamples = [
  { name: 'single-frame unmasked text "Hello"', wire: '81 05 48 65 6c 6c 6f', spec: { opcode: 0x1, payload: text('Hello') }, fin: true, opcode: 1, masked: false, payload: 'Hello' },
  { name: 'single-frame masked text "Hello"', wire: '81 85 37 fa 21 3d 7f 9f 4d 51 58', spec: { opcode: 0x1, payload: text('Hello'), maskKey: RFC_KEY }, fin: true, opcode: 1, masked: true, payload: 'Hello' },
  { name: 'first fragment of unmasked text "Hel"', wire: '01 03 48 65 6c', spec: { opcode: 0x1, payload: text('Hel'), fin: false }, fin: false, opcode: 1, masked: false, payload: 'Hel' },
  { name: 'last fragment of unmasked text "lo"', wire: '80 02 6c 6f', spec: { opcode: 0x0, payload: text('lo') }, fin: true, opcode: 0, masked: false, payload: 'lo' },
  { name: 'unmasked ping "Hello"', wire: '89 05 48 65 6c 6c 6f', spec: { opcode: 0x9, payload: text('Hello') }, fin: true, opcode: 9, masked: false, payload: 'Hello' },
  { name: 'masked pong "Hello"', wire: '8a 85 37 fa 21 3d 7f 9f 4d 51 58', spec: { opcode: 0xa, payload: text('Hello'), maskKey: RFC_KEY }, fin: true, opcode: 10, masked: true, payload: 'Hello' },
] satisfies { name: string; wire: string; spec: FrameSpec; fin: boolean; opcode: number; masked: boolean; payload: string }[];

describe('encodeFrame: RFC 6455 §5.7 examples byte for byte', () => {
  it.each(rfcExamples)('$name → $wire', ({ wire, spec }) => {
    expect(toHex(encodeFrame(spec), ' ')).toBe(wire);
  });

  it('256 bytes binary in a single unmasked frame has header 82 7E 01 00', () => {
    const payload = counting(256);
    const bytes = encodeFrame({ opcode: 0x2, payload });
    expect(bytes.length).toBe(4 + 256);
    expect(toHex(bytes.subarray(0, 4), ' ')).toBe('82 7e 01 00');
    expect(toHex(bytes.subarray(4))).toBe(toHex(payload));
  });

  it('64 KiB binary in a single unmasked frame has header 82 7F 00 00 00 00 00 01 00 00', () => {
    const payload = counting(65536);
    const bytes = encodeFrame({ opcode: 0x2, payload });
    expect(bytes.length).toBe(10 + 65536);
    expect(toHex(bytes.subarray(0, 10), ' ')).toBe('82 7f 00 00 00 00 00 01 00 00');
    expect(bytes[10]).toBe(0);
    expect(bytes[10 + 65535]).toBe(0xff);
  });
});

describe('encodeFrame: header fields', () => {
  it.each([
    ['7-bit', 125, '82 7d'],
    ['16-bit', 126, '82 7e 00 7e'],
    ['16-bit', 65535, '82 7e ff ff'],
    ['64-bit', 65536, '82 7f 00 00 00 00 00 01 00 00'],
    ['7-bit', 0, '82 00'],
  ])('minimal length encoding (§5.2): %s (%i bytes), header %s', (_name, length, header) => {
    const bytes = encodeFrame({ opcode: 0x2, payload: new Uint8Array(length) });
    const headerLength = header.split(' ').length;
    expect(toHex(bytes.subarray(0, headerLength), ' ')).toBe(header);
    expect(bytes.length).toBe(headerLength + length);
  });

  it.each([
    ['fin false', { opcode: 1, fin: false }, 0x01],
    ['rsv1', { opcode: 1, rsv1: true }, 0xc1],
    ['rsv2', { opcode: 1, rsv2: true }, 0xa1],
    ['rsv3', { opcode: 1, rsv3: true }, 0x91],
    ['all rsv, opcode 0xF, fin false', { opcode: 0xf, rsv1: true, rsv2: true, rsv3: true, fin: false }, 0x7f],
    ['close', { opcode: 8 }, 0x88],
  ] satisfies [string, FrameSpec, number][])('first byte for %s: %j → %i', (_name, spec, b0) => {
    expect(encodeFrame(spec)[0]).toBe(b0);
  });

  it.each([
    ['16-bit for 5 bytes', '16-bit', '81 7e 00 05 48 65 6c 6c 6f'],
    ['64-bit for 5 bytes', '64-bit', '81 7f 00 00 00 00 00 00 00 05 48 65 6c 6c 6f'],
    ['7-bit', '7-bit', '81 05 48 65 6c 6c 6f'],
  ] as const)('forced length encoding: %s', (_name, lengthEncoding, wire) => {
    expect(toHex(encodeFrame({ opcode: 1, payload: text('Hello'), lengthEncoding }), ' ')).toBe(wire);
  });

  it('declaredLength writes a lying length field', () => {
    expect(toHex(encodeFrame({ opcode: 1, payload: text('Hi'), declaredLength: 10 }), ' ')).toBe('81 0a 48 69');
  });

  it('declaredLength above 2^32 is written as a big-endian 64-bit integer', () => {
    expect(toHex(encodeFrame({ opcode: 2, declaredLength: 2 ** 32 + 5 }), ' ')).toBe('82 7f 00 00 00 01 00 00 00 05');
  });

  it('maskBitOverride sets the mask bit without a key (payload stays clear)', () => {
    expect(toHex(encodeFrame({ opcode: 1, payload: text('Hi'), maskBitOverride: true }), ' ')).toBe('81 82 48 69');
  });

  it('maskBitOverride false with a key clears the bit but still masks and writes the key', () => {
    expect(toHex(encodeFrame({ opcode: 1, payload: text('Hello'), maskKey: RFC_KEY, maskBitOverride: false }), ' '))
      .toBe('81 05 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('masks a 16-bit-length payload with the key after the extended length', () => {
    const payload = new Uint8Array(200); // zeros: masked payload is the key repeated
    const bytes = encodeFrame({ opcode: 2, payload, maskKey: RFC_KEY });
    expect(toHex(bytes.subarray(0, 8), ' ')).toBe('82 fe 00 c8 37 fa 21 3d');
    expect(toHex(bytes.subarray(8, 16), ' ')).toBe('37 fa 21 3d 37 fa 21 3d');
    expect(bytes.length).toBe(208);
  });
});

describe('encodeClosePayload (§5.5.1)', () => {
  it.each([
    [1000, '', '03 e8'],
    [1000, 'bye', '03 e8 62 79 65'],
    [1002, '', '03 ea'],
    [4999, 'é', '13 87 c3 a9'],
  ])('code %i reason %j → %s', (code, reason, wire) => {
    expect(toHex(encodeClosePayload(code, reason), ' ')).toBe(wire);
  });

  it('no code gives an empty body', () => {
    expect(encodeClosePayload(null).length).toBe(0);
  });
});

describe('FrameParser: RFC 6455 §5.7 examples', () => {
  it.each(rfcExamples)('$name', ({ wire, fin, opcode, masked, payload }) => {
    const events = new FrameParser().feedAll(hex(wire));
    expect(events.map((e) => e.kind)).toEqual(['prefix', 'header', 'payload', 'frame']);
    const [frame] = frames(events);
    expect(frame).toBeDefined();
    const h = frame!.header;
    expect(h.fin).toBe(fin);
    expect(h.opcode).toBe(opcode);
    expect(h.masked).toBe(masked);
    expect(h.rsv1 || h.rsv2 || h.rsv3).toBe(false);
    expect(h.lengthField).toBe(payload.length);
    expect(h.payloadLength).toBe(payload.length);
    expect(h.headerLength).toBe(masked ? 6 : 2);
    expect(h.maskKey ? toHex(h.maskKey, ' ') : null).toBe(masked ? '37 fa 21 3d' : null);
    expect(new TextDecoder().decode(frame!.payload)).toBe(payload);
    expect(toHex(frame!.raw!, ' ')).toBe(wire);
  });

  it('the fragmented "Hel" + "lo" pair parses as two frames, FIN 0 then FIN 1', () => {
    const fs = frames(new FrameParser().feedAll(hex('01 03 48 65 6c 80 02 6c 6f')));
    expect(fs.map((f) => [f.header.fin, f.header.opcode, new TextDecoder().decode(f.payload)])).toEqual([
      [false, 1, 'Hel'],
      [true, 0, 'lo'],
    ]);
  });

  it('256-byte binary frame with header 82 7E 01 00', () => {
    const payload = counting(256);
    const [frame] = frames(new FrameParser().feedAll(concatBytes([hex('82 7e 01 00'), payload])));
    expect(frame!.header).toMatchObject({ opcode: 2, lengthField: 126, payloadLength: 256, headerLength: 4, masked: false });
    expect(toHex(frame!.payload)).toBe(toHex(payload));
  });

  it('64 KiB binary frame with header 82 7F 00 00 00 00 00 01 00 00', () => {
    const payload = counting(65536);
    const [frame] = frames(new FrameParser().feedAll(concatBytes([hex('82 7f 00 00 00 00 00 01 00 00'), payload])));
    expect(frame!.header).toMatchObject({ opcode: 2, lengthField: 127, payloadLength: 65536, headerLength: 10, masked: false });
    expect(frame!.payload.length).toBe(65536);
    expect(frame!.payload[256]).toBe(0);
    expect(frame!.payload[65535]).toBe(0xff);
  });

  it('reads a 64-bit length above 2^32 exactly (prefix and header events only)', () => {
    const events = new FrameParser().feedAll(hex('82 7f 00 00 00 01 00 00 00 05'));
    expect(events.map((e) => e.kind)).toEqual(['prefix', 'header']);
    if (events[1]!.kind === 'header') expect(events[1]!.header.payloadLength).toBe(2 ** 32 + 5);
  });

  // §5.2: 64-bit lengths go up to 2^63 - 1; from 2^53 on a number rounds, so each is told exactly.
  it.each([
    ['00 1f ff ff ff ff ff ff', 2 ** 53 - 1, undefined, '9007199254740991'],
    ['00 20 00 00 00 00 00 00', Number.MAX_SAFE_INTEGER, 9007199254740992n, '9007199254740992 (more than 2^53)'],
    ['00 20 00 00 00 00 00 01', Number.MAX_SAFE_INTEGER, 9007199254740993n, '9007199254740993 (more than 2^53)'],
    ['7f ff ff ff ff ff ff ff', Number.MAX_SAFE_INTEGER, 9223372036854775807n, '9223372036854775807 (more than 2^53)'],
  ] as const)('the 64-bit length %s reads exactly (%s)', (lengthHex, payloadLength, exact, words) => {
    const parser = new FrameParser();
    const events = parser.feedAll(hex(`82 ff ${lengthHex} 37 fa 21 3d`));
    const header = events.find((e) => e.kind === 'header');
    if (header?.kind !== 'header') throw new Error('no header event');
    expect(header.header.payloadLength).toBe(payloadLength);
    expect(header.header.payloadLengthExact).toBe(exact);
    expect(formatPayloadLength(header.header)).toBe(words);
    if (exact !== undefined) expect(parser.describe()).toBe(`waiting for ${exact} more bytes of payload (a length of more than 2^53)`);
  });

  it('a 64-bit length with the most significant bit set throws WS_ERR_LENGTH_MSB_SET (1002), saying the value it reads', () => {
    expect(() => new FrameParser().feedAll(hex('82 ff ff ff ff ff ff ff ff ff'))).toThrow('(it reads 18446744073709551615)');
  });

  it('a 64-bit length with the most significant bit set throws WS_ERR_LENGTH_MSB_SET (1002)', () => {
    const parser = new FrameParser();
    let error: unknown;
    try {
      parser.feedAll(hex('82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolViolation);
    expect((error as ProtocolViolation).code).toBe('WS_ERR_LENGTH_MSB_SET');
    expect((error as ProtocolViolation).closeCode).toBe(1002);
  });

  it('an empty payload produces a header and a frame but no payload event', () => {
    const events = new FrameParser().feedAll(hex('89 00'));
    expect(events.map((e) => e.kind)).toEqual(['prefix', 'header', 'frame']);
  });

  it('masked payload chunks are reported unmasked with their offsets', () => {
    const parser = new FrameParser();
    const first = parser.feedAll(hex('81 85 37 fa 21 3d 7f 9f'));
    const second = parser.feedAll(hex('4d 51 58'));
    const chunks = [...first, ...second].flatMap((e) => (e.kind === 'payload' ? [[e.offset, new TextDecoder().decode(e.chunk)]] : []));
    expect(chunks).toEqual([[0, 'He'], [2, 'llo']]);
  });

  it('keepRaw: false leaves raw null', () => {
    const [frame] = frames(new FrameParser({ keepRaw: false }).feedAll(hex('81 05 48 65 6c 6c 6f')));
    expect(frame!.raw).toBeNull();
    expect(new TextDecoder().decode(frame!.payload)).toBe('Hello');
  });
});

describe('FrameParser: split anywhere gives the same frames', () => {
  // Back to back: the RFC examples, 7/16/64-bit lengths, masked and unmasked, empty payloads.
  const stream = concatBytes([
    hex('81 05 48 65 6c 6c 6f'),
    hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'),
    hex('01 03 48 65 6c'),
    hex('89 05 48 65 6c 6c 6f'),
    hex('80 02 6c 6f'),
    hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'),
    encodeFrame({ opcode: 2, payload: counting(256) }),
    encodeFrame({ opcode: 2, payload: counting(300), maskKey: hex('01 02 03 04') }),
    encodeFrame({ opcode: 2, payload: counting(3), lengthEncoding: '64-bit' }),
    encodeFrame({ opcode: 2, payload: counting(9), lengthEncoding: '64-bit', maskKey: hex('a1 b2 c3 d4') }),
    encodeFrame({ opcode: 9 }),
    encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye'), maskKey: hex('ff 00 ff 00') }),
  ]);
  const expected = parseWhole(stream);

  it('parses the whole stream into 12 frames', () => {
    expect(expected).toHaveLength(12);
    expect(expected.map((f) => f.lengthField)).toEqual([5, 5, 3, 5, 2, 5, 126, 126, 127, 127, 0, 5]);
    expect(expected.map((f) => f.payloadLength)).toEqual([5, 5, 3, 5, 2, 5, 256, 300, 3, 9, 0, 5]);
    expect(expected.map((f) => f.headerLength)).toEqual([2, 6, 2, 2, 2, 6, 4, 8, 10, 14, 2, 6]);
    expect(expected.map((f) => f.raw).join('')).toBe(toHex(stream));
  });

  it('split at every single point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { frames: got, parser } = parseInChunks(stream, [cut]);
      expect(got, `cut at ${cut}`).toEqual(expected);
      expect(parser.state).toBe('header');
      expect(parser.bytesNeeded).toBe(2);
    }
  });

  it('split at every pair of points within the first 60 bytes', () => {
    for (let a = 0; a <= 60; a++) {
      for (let b = a; b <= 60; b++) {
        expect(parseInChunks(stream, [a, b]).frames, `cuts at ${a}, ${b}`).toEqual(expected);
      }
    }
  });

  it('one byte at a time', () => {
    const cuts = Array.from({ length: stream.length }, (_, i) => i + 1);
    expect(parseInChunks(stream, cuts).frames).toEqual(expected);
  });

  it('a 64 KiB frame masked, in odd-sized chunks and at header boundaries', () => {
    const payload = counting(65536);
    const wire = encodeFrame({ opcode: 2, payload, maskKey: hex('de ad be ef') });
    const whole = parseWhole(wire);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.payload).toBe(toHex(payload));
    for (const cuts of [[1], [2], [5], [9], [10], [13], [14], [15], [40000]]) {
      expect(parseInChunks(wire, cuts).frames).toEqual(whole);
    }
    const oddCuts: number[] = [];
    for (let at = 7; at < wire.length; at += 1337) oddCuts.push(at);
    expect(parseInChunks(wire, oddCuts).frames).toEqual(whole);
  });
});

describe('FrameParser: state, bytesNeeded and describe() on partial input', () => {
  it.each([
    ['nothing', '', 'header', 2, 'waiting for a new frame'],
    ['1 header byte', '81', 'header', 1, 'waiting for 1 more byte of frame header (FIN, RSV, opcode, MASK, payload len)'],
    ['header with 16-bit length marker', '82 7e', 'extended-length-16', 2, 'waiting for 2 more bytes of 16-bit extended length'],
    ['half of the 16-bit length', '82 7e 01', 'extended-length-16', 1, 'waiting for 1 more byte of 16-bit extended length'],
    ['header with 64-bit length marker', '82 7f', 'extended-length-64', 8, 'waiting for 8 more bytes of 64-bit extended length'],
    ['3 of 8 bytes of the 64-bit length', '82 7f 00 00 00', 'extended-length-64', 5, 'waiting for 5 more bytes of 64-bit extended length'],
    ['masked header', '81 85', 'masking-key', 4, 'waiting for 4 more bytes of masking key'],
    ['3 of 4 masking key bytes', '81 85 37 fa 21', 'masking-key', 1, 'waiting for 1 more byte of masking key'],
    ['full masked header', '81 85 37 fa 21 3d', 'payload', 5, 'waiting for 5 more bytes of payload'],
    ['2 of 5 masked payload bytes', '81 85 37 fa 21 3d 7f 9f', 'payload', 3, 'waiting for 3 more bytes of payload'],
    ['16-bit length complete', '82 7e 01 00', 'payload', 256, 'waiting for 256 more bytes of payload'],
    ['64-bit length complete', '82 7f 00 00 00 00 00 01 00 00', 'payload', 65536, 'waiting for 65536 more bytes of payload'],
    ['16-bit masked length complete', '82 fe 01 00', 'masking-key', 4, 'waiting for 4 more bytes of masking key'],
    ['complete frame', '81 05 48 65 6c 6c 6f', 'header', 2, 'waiting for a new frame'],
    ['complete frame + 1 byte', '81 05 48 65 6c 6c 6f 82', 'header', 1, 'waiting for 1 more byte of frame header (FIN, RSV, opcode, MASK, payload len)'],
  ])('after %s (%s): state %s, needs %i, "%s"', (_name, h, state, needed, description) => {
    const parser = new FrameParser();
    parser.feedAll(hex(h));
    expect(parser.state).toBe(state);
    expect(parser.bytesNeeded).toBe(needed);
    expect(parser.describe()).toBe(description);
  });

  it('the same states appear when the bytes arrive one at a time', () => {
    const wire = hex('82 fe 01 00 37 fa 21 3d');
    const parser = new FrameParser();
    const seen: [string, number][] = [];
    for (const b of wire) {
      parser.feedAll(Uint8Array.of(b));
      seen.push([parser.state, parser.bytesNeeded]);
    }
    expect(seen).toEqual([
      ['header', 1],
      ['extended-length-16', 2],
      ['extended-length-16', 1],
      ['masking-key', 4],
      ['masking-key', 3],
      ['masking-key', 2],
      ['masking-key', 1],
      ['payload', 256],
    ]);
  });

  it('currentHeader() is the header of the frame being read, null between frames', () => {
    const parser = new FrameParser();
    expect(parser.currentHeader()).toBeNull();
    parser.feedAll(hex('81 85 37 fa 21 3d 7f'));
    expect(parser.currentHeader()).toMatchObject({ opcode: 1, payloadLength: 5, masked: true, headerLength: 6 });
    parser.feedAll(hex('9f 4d 51 58'));
    expect(parser.currentHeader()).toBeNull();
  });

  it('partialBytes() holds the header and payload received so far; reset() discards them', () => {
    const parser = new FrameParser();
    parser.feedAll(hex('81 85 37 fa 21 3d 7f 9f'));
    expect(toHex(parser.partialBytes(), ' ')).toBe('81 85 37 fa 21 3d 7f 9f');
    parser.reset();
    expect(parser.partialBytes().length).toBe(0);
    expect(parser.state).toBe('header');
    expect(parser.describe()).toBe('waiting for a new frame');
    expect(parseWhole(hex('81 05 48 65 6c 6c 6f'))).toHaveLength(1);
  });

  // partialBytes() is documented as "the wire bytes of the frame in progress, for byte stepping":
  // after stepping one byte, that byte is part of the frame in progress.
  it.each([
    ['81'],
    ['82 7e 01'],
    ['81 85 37 fa 21'],
  ])('partialBytes() includes bytes of a field not yet complete (byte stepping): %s', (h) => {
    const parser = new FrameParser();
    for (const b of hex(h)) parser.feedAll(Uint8Array.of(b));
    expect(toHex(parser.partialBytes(), ' ')).toBe(h);
  });

  it('after a handler throws on a header, the parser still describes that frame', () => {
    const parser = new FrameParser();
    expect(() => parser.feed(hex('81 05 48 65'), (e) => {
      if (e.kind === 'header') throw new Error('stop');
    })).toThrow('stop');
    expect(parser.state).toBe('payload');
    expect(parser.currentHeader()).toMatchObject({ opcode: 1, payloadLength: 5 });
  });
});

describe('encodeFrame and FrameParser round trip', () => {

  it('200 random frames survive encode → parse (split at a random point)', () => {
    const rand = prng(1);
    const lengths = [0, 1, 5, 125, 126, 127, 200, 65535, 65536, 70000];
    for (let n = 0; n < 200; n++) {
      const length = lengths[Math.floor(rand() * lengths.length)]!;
      const payload = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
      const masked = rand() < 0.5;
      const maskKey = masked ? Uint8Array.from({ length: 4 }, () => Math.floor(rand() * 256)) : null;
      const spec = { opcode: Math.floor(rand() * 16), fin: rand() < 0.5, rsv1: rand() < 0.3, rsv2: rand() < 0.3, rsv3: rand() < 0.3, payload, maskKey };
      const wire = encodeFrame(spec);
      const expectedLengthField = length <= 125 ? length : length <= 0xffff ? 126 : 127;
      const cut = Math.floor(rand() * (wire.length + 1));
      const [f] = parseInChunks(wire, [cut]).frames;
      expect(f).toEqual({
        fin: spec.fin, rsv1: spec.rsv1, rsv2: spec.rsv2, rsv3: spec.rsv3, opcode: spec.opcode, masked,
        lengthField: expectedLengthField, payloadLength: length,
        headerLength: 2 + (expectedLengthField === 126 ? 2 : expectedLengthField === 127 ? 8 : 0) + (masked ? 4 : 0),
        maskKey: maskKey ? toHex(maskKey) : null, payload: toHex(payload), raw: toHex(wire),
      });
    }
  });
});

describe('encodeFrameHeader: the header of an unmasked frame written apart from its payload', () => {
  it.each([0, 1, 125, 126, 4096, 65535, 65536, 70000])('header + payload is encodeFrame\'s frame byte for byte (%i bytes)', (length) => {
    const payload = counting(length);
    const spec: FrameSpec = { opcode: 2, payload, rsv1: length % 2 === 0, fin: length !== 126 };
    const header = encodeFrameHeader(spec);
    expect(toHex(concatBytes([header, payload]))).toBe(toHex(encodeFrame(spec)));
    expect(header.length).toBe(length <= 125 ? 2 : length <= 0xffff ? 4 : 10);
  });
});

/**
 * FrameParser.feed(data, handler, writable): a chunk given away may have its masked payloads
 * unmasked where they lie. What must hold: payloads are exact whatever the chunking; a payload
 * handed out is never overwritten later; bytes not given away (or kept raw) are never touched.
 */
describe('FrameParser: unmasking in place in a chunk given away', () => {
  const rand = prng(17);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  /** The bytes as text for comparison (native, so megabytes compare quickly). */
  const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');

  /** Masked binary frames of these lengths, back to back, each with its own random key. */
  function maskedFrames(lengths: number[]) {
    const payloads = lengths.map(randomBytes);
    const wire = concatBytes(payloads.map((payload) => encodeFrame({ opcode: 2, payload, maskKey: randomBytes(4) })));
    return { payloads, wire };
  }

  /** Feeds wire at `offset` inside a larger buffer (so payloads start unaligned), cut at `cuts`. */
  function feedCopy(wire: Uint8Array, cuts: number[], options: { writable: boolean; keepRaw?: boolean; offset?: number }) {
    const parser = new FrameParser({ keepRaw: options.keepRaw ?? false });
    const offset = options.offset ?? 0;
    const backing = new Uint8Array(wire.length + offset + 3);
    backing.set(wire, offset);
    const fed = backing.subarray(offset, offset + wire.length);
    const got: { payload: Uint8Array; atDelivery: string }[] = [];
    let at = 0;
    for (const cut of [...cuts, wire.length]) {
      parser.feed(fed.subarray(at, cut), (e) => {
        if (e.kind === 'frame') got.push({ payload: e.frame.payload, atDelivery: b64(e.frame.payload) });
      }, options.writable);
      at = cut;
    }
    return { got, fed, backing };
  }

  it('several frames in one chunk, at every alignment: exact payloads, each a view of the chunk (no copy), headers untouched', () => {
    const { payloads, wire } = maskedFrames([0, 1, 5, 125, 126, 300, 4097, 16384, 70001]);
    for (const offset of [0, 1, 2, 3]) {
      const { got, fed, backing } = feedCopy(wire, [], { writable: true, offset });
      expect(got.map((g) => b64(g.payload))).toEqual(payloads.map((p) => b64(p)));
      for (const g of got.filter((x) => x.payload.length > 0)) expect(g.payload.buffer).toBe(backing.buffer);
      // Only payload bytes changed: each frame's header (and masking key) reads as sent.
      let pos = 0;
      for (const p of payloads) {
        const headerLength = (p.length <= 125 ? 2 : p.length <= 0xffff ? 4 : 10) + 4;
        expect(b64(fed.subarray(pos, pos + headerLength))).toBe(b64(wire.subarray(pos, pos + headerLength)));
        expect(b64(fed.subarray(pos + headerLength, pos + headerLength + p.length))).toBe(b64(p));
        pos += headerLength + p.length;
      }
    }
  });

  it('a payload handed out is never overwritten by what comes later (frames after it, in the same chunk or the next)', () => {
    const { payloads, wire } = maskedFrames([64, 64, 3000, 64, 20000, 7]);
    const rng = prng(5);
    for (let run = 0; run < 40; run++) {
      const cuts = [...new Set(Array.from({ length: 3 }, () => Math.floor(rng() * wire.length)))].sort((a, b) => a - b);
      const { got } = feedCopy(wire, cuts, { writable: true, offset: run % 4 });
      expect(got.map((g) => g.atDelivery)).toEqual(payloads.map((p) => b64(p)));
      expect(got.map((g) => b64(g.payload))).toEqual(got.map((g) => g.atDelivery));
    }
  });

  it('a frame split across chunks gets a buffer of its own; the chunks keep their masked bytes', () => {
    const { payloads, wire } = maskedFrames([16384]);
    const cut = 6 + 4 + 5000; // header, key, then 5000 payload bytes in the first chunk
    const { got, fed } = feedCopy(wire, [cut], { writable: true, offset: 1 });
    expect(b64(got[0]!.payload)).toBe(b64(payloads[0]!));
    expect(got[0]!.payload.buffer).not.toBe(fed.buffer);
    expect(b64(fed)).toBe(b64(wire));
  });

  it('a frame over 1 MiB split across chunks is unmasked piece by piece in place, then joined exactly', () => {
    const { payloads, wire } = maskedFrames([1024 * 1024 + 4099]);
    const cuts = [3, 65536, 65537, 300001, 1024 * 1024];
    const { got } = feedCopy(wire, cuts, { writable: true, offset: 2 });
    expect(got).toHaveLength(1);
    expect(b64(got[0]!.payload)).toBe(b64(payloads[0]!));
  });

  it('bytes not given away, or kept raw (a trace), are never changed; payloads are the same either way', () => {
    const { payloads, wire } = maskedFrames([0, 3, 125, 1000, 65536, 9]);
    const expected = payloads.map((p) => b64(p));
    for (const options of [{ writable: false }, { writable: true, keepRaw: true }, { writable: false, keepRaw: true }]) {
      for (const cuts of [[], [1], [7, 500, 66000]]) {
        const { got, fed } = feedCopy(wire, cuts, { ...options, offset: 3 });
        expect(got.map((g) => b64(g.payload))).toEqual(expected);
        expect(b64(fed)).toBe(b64(wire));
      }
    }
  });

  it('random frames, random cuts: given away, kept, or byte by byte, the payloads are identical', () => {
    const rng = prng(99);
    for (let run = 0; run < 30; run++) {
      const lengths = Array.from({ length: 1 + Math.floor(rng() * 6) }, () => [0, 2, 63, 126, 255, 4096, 9000][Math.floor(rng() * 7)]!);
      const { payloads, wire } = maskedFrames(lengths);
      const cuts = [...new Set(Array.from({ length: Math.floor(rng() * 5) }, () => Math.floor(rng() * wire.length)))].sort((a, b) => a - b);
      const expected = payloads.map((p) => b64(p));
      expect(feedCopy(wire, cuts, { writable: true, offset: run % 4 }).got.map((g) => b64(g.payload))).toEqual(expected);
      expect(feedCopy(wire, cuts, { writable: false, keepRaw: true }).got.map((g) => b64(g.payload))).toEqual(expected);
    }
  });
});
