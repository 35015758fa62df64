import { describe, it, expect } from 'vitest';
import { parseClosePayload, randomMaskKey, WebSocketProtocol, type ProtocolEvent, type ProtocolOptions } from '../../src/core/protocol.ts';
import { encodeClosePayload, encodeFrame, FrameParser, type Frame, type FrameSpec } from '../../src/core/frame-codec.ts';
import { answerClientHandshake, buildClientRequest, computeAccept } from '../../src/core/handshake.ts';
import { HttpHeadParser, headerValue, parseHead, type HttpHead } from '../../src/core/http.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { ProtocolViolation, violationTable, type ViolationCode } from '../../src/core/errors.ts';
import type { TraceBody } from '../../src/core/trace.ts';
import { FRAGMENT_COST } from '../../src/core/constants.ts';

const hex = (h: string) => fromHex(h);
const utf8 = (s: string) => new TextEncoder().encode(s);
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MASK = hex('37 fa 21 3d');

type Options = Omit<ProtocolOptions, 'role'>;

/** A client frame: masked with the RFC §5.7 key unless the spec says otherwise. */
function cf(spec: FrameSpec): Uint8Array {
  return encodeFrame({ maskKey: MASK, ...spec });
}
/** A server frame: unmasked. */
function sf(spec: FrameSpec): Uint8Array {
  return encodeFrame({ maskKey: null, ...spec });
}

function openServer(options: Options = {}): WebSocketProtocol {
  const p = new WebSocketProtocol({ role: 'server', ...options });
  expect(p.state).toBe('CONNECTING');
  p.receiveData(buildClientRequest({ host: 'localhost:9001', path: '/chat', key: RFC_KEY }).bytes);
  const response = parseResponse(concatBytes(p.dataToSend()));
  expect(response.status).toBe(101);
  expect(headerValue(response, 'Sec-WebSocket-Accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  expect(p.events().map((e) => e.type)).toEqual(['open']);
  expect(p.state).toBe('OPEN');
  expect(p.transportAction).toBe('none');
  return p;
}

function openClient(options: Options = {}): WebSocketProtocol {
  const p = new WebSocketProtocol({ role: 'client', key: RFC_KEY, ...options });
  p.connect();
  const request = parseHead(concatBytes(p.dataToSend()), 'request');
  const answer = answerClientHandshake(request, options.subprotocols ? { subprotocols: options.subprotocols } : {});
  expect(answer.status).toBe(101);
  p.receiveData(answer.response);
  expect(p.events().map((e) => e.type)).toEqual(['open']);
  expect(p.state).toBe('OPEN');
  return p;
}

function parseResponse(bytes: Uint8Array): HttpHead {
  const result = new HttpHeadParser({ kind: 'response', maxSize: 16384 }).feed(bytes);
  if (!result.done) throw new Error('no complete response head');
  return result.head;
}

/** Drains dataToSend() and parses it as whole frames (nothing may be left over). */
function sentFrames(p: WebSocketProtocol): Frame[] {
  const parser = new FrameParser();
  const frames = parser.feedAll(concatBytes(p.dataToSend())).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
  expect(parser.describe()).toBe('waiting for a new frame');
  return frames;
}

function violations(events: ProtocolEvent[]): ProtocolViolation[] {
  return events.flatMap((e) => (e.type === 'violation' ? [e.violation] : []));
}

/** Plain-data view of events for comparisons. */
function eventSummary(events: ProtocolEvent[]) {
  return events.map((e) => {
    switch (e.type) {
      case 'message': return { type: e.type, opcode: e.opcode, data: toHex(e.data), text: e.text };
      case 'ping':
      case 'pong': return { type: e.type, payload: toHex(e.payload) };
      case 'violation': return { type: e.type, code: e.violation.code };
      case 'open': return { type: e.type, subprotocol: e.subprotocol };
      case 'handshake-failed': return { type: e.type, status: e.error.status };
      default: return e;
    }
  });
}

function bytesOf(n: number, fill = 0x61): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

// ------------------------------------------------------------------------------------ violations

interface ViolationRow {
  name: string;
  /** Chunks fed after the handshake. */
  chunks: Uint8Array[];
  code: ViolationCode;
  closeCode: number;
  options?: Options;
}

const reservedOpcodes = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf];
const badCloseCodes = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

const serverViolations: ViolationRow[] = [
  { name: 'unmasked client frame', chunks: [sf({ opcode: 1, payload: utf8('Hello') })], code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002 },
  { name: 'unmasked client ping', chunks: [sf({ opcode: 9 })], code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002 },
  { name: 'mask bit clear although a key follows', chunks: [encodeFrame({ opcode: 1, payload: utf8('Hi'), maskKey: MASK, maskBitOverride: false })], code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002 },
  { name: 'RSV1 set', chunks: [cf({ opcode: 1, payload: utf8('x'), rsv1: true })], code: 'WS_ERR_RESERVED_BITS', closeCode: 1002 },
  { name: 'RSV2 set', chunks: [cf({ opcode: 1, payload: utf8('x'), rsv2: true })], code: 'WS_ERR_RESERVED_BITS', closeCode: 1002 },
  { name: 'RSV3 set', chunks: [cf({ opcode: 1, payload: utf8('x'), rsv3: true })], code: 'WS_ERR_RESERVED_BITS', closeCode: 1002 },
  { name: 'RSV1 on a ping', chunks: [cf({ opcode: 9, rsv1: true })], code: 'WS_ERR_RESERVED_BITS', closeCode: 1002 },
  ...reservedOpcodes.map((op): ViolationRow => ({
    name: `reserved opcode 0x${op.toString(16).toUpperCase()}`, chunks: [cf({ opcode: op, payload: utf8('x') })], code: 'WS_ERR_RESERVED_OPCODE', closeCode: 1002,
  })),
  { name: 'ping with 126-byte payload', chunks: [cf({ opcode: 9, payload: bytesOf(126) })], code: 'WS_ERR_CONTROL_FRAME_TOO_LONG', closeCode: 1002 },
  { name: 'pong with 126-byte payload', chunks: [cf({ opcode: 0xa, payload: bytesOf(126) })], code: 'WS_ERR_CONTROL_FRAME_TOO_LONG', closeCode: 1002 },
  { name: 'close with 126-byte payload', chunks: [cf({ opcode: 8, payload: encodeClosePayload(1000, 'x'.repeat(124)) })], code: 'WS_ERR_CONTROL_FRAME_TOO_LONG', closeCode: 1002 },
  { name: 'ping whose 16-bit length says 200 (header only, no payload sent)', chunks: [cf({ opcode: 9, payload: bytesOf(200) }).subarray(0, 8)], code: 'WS_ERR_CONTROL_FRAME_TOO_LONG', closeCode: 1002 },
  { name: 'fragmented ping (FIN 0)', chunks: [cf({ opcode: 9, payload: utf8('x'), fin: false })], code: 'WS_ERR_FRAGMENTED_CONTROL_FRAME', closeCode: 1002 },
  { name: 'fragmented close (FIN 0)', chunks: [cf({ opcode: 8, payload: encodeClosePayload(1000), fin: false })], code: 'WS_ERR_FRAGMENTED_CONTROL_FRAME', closeCode: 1002 },
  { name: 'continuation without a start', chunks: [cf({ opcode: 0, payload: utf8('lo') })], code: 'WS_ERR_UNEXPECTED_CONTINUATION', closeCode: 1002 },
  { name: 'continuation after a complete message', chunks: [cf({ opcode: 1, payload: utf8('Hel') }), cf({ opcode: 0, payload: utf8('lo') })], code: 'WS_ERR_UNEXPECTED_CONTINUATION', closeCode: 1002 },
  { name: 'new text message during a fragmented text message', chunks: [cf({ opcode: 1, payload: utf8('Hel'), fin: false }), cf({ opcode: 1, payload: utf8('lo') })], code: 'WS_ERR_EXPECTED_CONTINUATION', closeCode: 1002 },
  { name: 'new binary message during a fragmented text message', chunks: [cf({ opcode: 1, payload: utf8('Hel'), fin: false }), cf({ opcode: 2, payload: utf8('lo') })], code: 'WS_ERR_EXPECTED_CONTINUATION', closeCode: 1002 },
  { name: 'invalid UTF-8 (overlong C0 80)', chunks: [cf({ opcode: 1, payload: hex('41 c0 80') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 (surrogate ED A0 80)', chunks: [cf({ opcode: 1, payload: hex('ed a0 80') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 (above U+10FFFF)', chunks: [cf({ opcode: 1, payload: hex('f4 90 80 80') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 split across fragments (E2 82 | 41)', chunks: [cf({ opcode: 1, payload: hex('e2 82'), fin: false }), cf({ opcode: 0, payload: hex('41') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 in a middle fragment', chunks: [cf({ opcode: 1, payload: utf8('ok'), fin: false }), cf({ opcode: 0, payload: hex('ff'), fin: false })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 inside an unfinished frame (header + 3 of 10 payload bytes)', chunks: [cf({ opcode: 1, payload: hex('61 62 c0 63 64 65 66 67 68 69') }).subarray(0, 6 + 3)], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'invalid UTF-8 inside an unfinished continuation frame', chunks: [cf({ opcode: 1, payload: hex('e2'), fin: false }), cf({ opcode: 0, payload: hex('41 42 43 44 45') }).subarray(0, 6 + 1)], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'text message ending mid-character (single frame E2 82)', chunks: [cf({ opcode: 1, payload: hex('48 e2 82') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  { name: 'text message ending mid-character (last fragment)', chunks: [cf({ opcode: 1, payload: utf8('ok'), fin: false }), cf({ opcode: 0, payload: hex('f0 9f 98') })], code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
  ...badCloseCodes.map((code): ViolationRow => ({
    name: `close code ${code}`, chunks: [cf({ opcode: 8, payload: encodeClosePayload(code) })], code: 'WS_ERR_INVALID_CLOSE_CODE', closeCode: 1002,
  })),
  { name: '1-byte close payload', chunks: [cf({ opcode: 8, payload: hex('03') })], code: 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', closeCode: 1002 },
  { name: 'close reason with invalid UTF-8', chunks: [cf({ opcode: 8, payload: hex('03 e8 c0 80') })], code: 'WS_ERR_INVALID_CLOSE_REASON', closeCode: 1007 },
  { name: 'close reason ending mid-character', chunks: [cf({ opcode: 8, payload: hex('03 e8 e2 82') })], code: 'WS_ERR_INVALID_CLOSE_REASON', closeCode: 1007 },
  { name: 'text message over maxMessageSize in one frame', chunks: [cf({ opcode: 1, payload: bytesOf(11) })], code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009, options: { maxMessageSize: 10 } },
  { name: 'binary message over maxMessageSize across fragments (6 + 5)', chunks: [cf({ opcode: 2, payload: bytesOf(6), fin: false }), cf({ opcode: 0, payload: bytesOf(5) })], code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009, options: { maxMessageSize: 10 } },
  { name: 'too big, detected from the header alone (no payload byte sent)', chunks: [cf({ opcode: 2, payload: bytesOf(1000) }).subarray(0, 8)], code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009, options: { maxMessageSize: 100 } },
  { name: '64-bit length with the most significant bit set', chunks: [hex('82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d')], code: 'WS_ERR_LENGTH_MSB_SET', closeCode: 1002 },
  { name: '64-bit length FF FF FF FF FF FF FF FF', chunks: [hex('82 ff ff ff ff ff ff ff ff ff')], code: 'WS_ERR_LENGTH_MSB_SET', closeCode: 1002 },
];

describe('WebSocketProtocol (server): each violation fails the connection with its code', () => {
  it.each(serverViolations)('$name → $code, close $closeCode', ({ chunks, code, closeCode, options }) => {
    const p = openServer(options);
    for (const chunk of chunks) p.receiveData(chunk);
    const events = p.events();
    const found = violations(events);
    expect(found.map((v) => v.code)).toEqual([code]);
    expect(found[0]!.closeCode).toBe(closeCode);
    expect(found[0]!.rfcSection).toBe(violationTable[code].rfcSection);
    // The violation is the last thing reported: no message after it.
    expect(events[events.length - 1]!.type).toBe('violation');
    // We answer with exactly one Close frame carrying the violation's close code (server frames unmasked).
    const out = sentFrames(p);
    expect(out).toHaveLength(1);
    expect(out[0]!.header.opcode).toBe(0x8);
    expect(out[0]!.header.masked).toBe(false);
    expect(out[0]!.header.payloadLength).toBeLessThanOrEqual(125);
    expect(parseClosePayload(out[0]!.payload).code).toBe(closeCode);
    expect(p.transportAction).toBe('close');
    expect(p.state).toBe('CLOSING');
    // The closed event reports the same code and an unclean close.
    p.receiveEof();
    const closed = p.events();
    expect(closed).toEqual([{ type: 'closed', code: closeCode, reason: '', wasClean: false }]);
    expect(p.state).toBe('CLOSED');
  });
});

describe('WebSocketProtocol (client): a masked server frame is a violation', () => {
  it.each([
    ['masked text', encodeFrame({ opcode: 1, payload: utf8('Hello'), maskKey: MASK })],
    ['masked pong (RFC §5.7)', hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58')],
    ['mask bit without a key (the first 4 payload bytes read as the key)', encodeFrame({ opcode: 1, payload: utf8('Hello, world'), maskBitOverride: true })],
  ])('%s → WS_ERR_MASKED_SERVER_FRAME, close 1002', (_name, bytes) => {
    const key = hex('01 02 03 04');
    const p = openClient({ maskKeyGenerator: () => key });
    p.receiveData(bytes);
    const found = violations(p.events());
    expect(found.map((v) => v.code)).toEqual(['WS_ERR_MASKED_SERVER_FRAME']);
    expect(found[0]!.closeCode).toBe(1002);
    const out = sentFrames(p);
    expect(out).toHaveLength(1);
    expect(out[0]!.header.opcode).toBe(0x8);
    expect(out[0]!.header.masked).toBe(true);
    expect(toHex(out[0]!.header.maskKey!)).toBe('01020304');
    expect(parseClosePayload(out[0]!.payload).code).toBe(1002);
    expect(p.transportAction).toBe('close');
  });

  it('unmasked server frames are accepted by the client', () => {
    const p = openClient();
    p.receiveData(hex('81 05 48 65 6c 6c 6f'));
    expect(eventSummary(p.events())).toEqual([{ type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' }]);
  });
});

describe('WebSocketProtocol: fail fast and discard afterwards', () => {
  it('invalid UTF-8 is caught before the frame is complete, byte by byte', () => {
    const p = openServer();
    const frame = cf({ opcode: 1, payload: hex('61 62 63 ff 64 65 66 67') });
    let failedAfter = -1;
    for (let i = 0; i < frame.length; i++) {
      p.receiveData(frame.subarray(i, i + 1));
      if (violations(p.events()).length > 0) {
        failedAfter = i;
        break;
      }
    }
    // header (6) + "abc" (3) + the FF byte at index 9
    expect(failedAfter).toBe(9);
    expect(p.transportAction).toBe('close');
  });

  it('the UTF-8 position in the message counts from the start of each text message', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 1, payload: utf8('first message') }));
    p.receiveData(cf({ opcode: 1, payload: hex('41 ff') }));
    const found = violations(p.events());
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toContain('at byte 1 of the text message');
  });

  it('after failing, further input is discarded (no pong, no events)', () => {
    const p = openServer();
    p.receiveData(sf({ opcode: 1, payload: utf8('unmasked') }));
    expect(violations(p.events())).toHaveLength(1);
    sentFrames(p);
    p.receiveData(cf({ opcode: 9, payload: utf8('ping?') }));
    p.receiveData(cf({ opcode: 1, payload: utf8('Hello') }));
    p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(1000) }));
    expect(p.events()).toEqual([]);
    expect(p.dataToSend()).toEqual([]);
    expect(p.transportAction).toBe('close');
  });

  // protocol.ts: "Every rule is checked here, at the earliest byte that can prove it broken".
  // RSV bits, the opcode, FIN and the MASK bit are all known after the first 2 bytes; the rest of
  // the header (extended length, masking key) cannot make them right. Waiting for it means a peer
  // that sends `81 82 48 69` (mask bit set, 2 bytes after it) to a client stalls the connection
  // instead of failing it.
  it.each<[string, 'server' | 'client', Uint8Array, ViolationCode]>([
    ['RSV1 on a masked 64-bit-length frame', 'server', hex('c2 ff'), 'WS_ERR_RESERVED_BITS'],
    ['mask bit set on a server frame (client)', 'client', hex('81 82'), 'WS_ERR_MASKED_SERVER_FRAME'],
    ['mask bit set with only 2 bytes after it (client)', 'client', hex('81 82 48 69'), 'WS_ERR_MASKED_SERVER_FRAME'],
  ])('fails fast on the first 2 header bytes: %s', (_name, role, bytes, code) => {
    const p = role === 'server' ? openServer() : openClient();
    p.receiveData(bytes);
    expect(violations(p.events()).map((v) => v.code)).toEqual([code]);
    expect(p.transportAction).toBe('close');
  });

  it('the rest of a chunk after a violation is discarded too', () => {
    const p = openServer();
    p.receiveData(concatBytes([cf({ opcode: 3 }), cf({ opcode: 9, payload: utf8('x') }), cf({ opcode: 1, payload: utf8('y') })]));
    expect(eventSummary(p.events())).toEqual([{ type: 'violation', code: 'WS_ERR_RESERVED_OPCODE' }]);
    expect(sentFrames(p).map((f) => f.header.opcode)).toEqual([0x8]);
  });
});

// ------------------------------------------------------------------------------------ normal operation

describe('WebSocketProtocol: messages, fragments and control frames', () => {
  it('the RFC masked "Hello" becomes a text message', () => {
    const p = openServer();
    p.receiveData(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(eventSummary(p.events())).toEqual([{ type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' }]);
    expect(p.dataToSend()).toEqual([]);
  });

  it('fragments are joined; UTF-8 split across fragments is fine', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 1, payload: hex('48 e2'), fin: false }));
    p.receiveData(cf({ opcode: 0, payload: hex('82'), fin: false }));
    p.receiveData(cf({ opcode: 0, payload: hex('ac 21') }));
    expect(eventSummary(p.events())).toEqual([{ type: 'message', opcode: 1, data: toHex(utf8('H€!')), text: 'H€!' }]);
  });

  it('control frames are allowed between fragments (§5.4) and a ping in the middle is answered', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 1, payload: utf8('Hel'), fin: false }));
    p.receiveData(cf({ opcode: 9, payload: utf8('p1') }));
    p.receiveData(cf({ opcode: 0xa, payload: utf8('p2') }));
    p.receiveData(cf({ opcode: 0, payload: utf8('lo') }));
    expect(eventSummary(p.events())).toEqual([
      { type: 'ping', payload: toHex(utf8('p1')) },
      { type: 'pong', payload: toHex(utf8('p2')) },
      { type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' },
    ]);
    const out = sentFrames(p);
    expect(out.map((f) => [f.header.opcode, new TextDecoder().decode(f.payload)])).toEqual([[0xa, 'p1']]);
  });

  it.each([0, 1, 5, 125])('a ping with %i payload bytes is answered with a pong carrying the same payload', (n) => {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
    const p = openServer();
    p.receiveData(cf({ opcode: 9, payload }));
    expect(eventSummary(p.events())).toEqual([{ type: 'ping', payload: toHex(payload) }]);
    const out = sentFrames(p);
    expect(out).toHaveLength(1);
    expect(out[0]!.header).toMatchObject({ opcode: 0xa, fin: true, masked: false });
    expect(toHex(out[0]!.payload)).toBe(toHex(payload));
  });

  it('the RFC unmasked ping "Hello" sent to a client is answered with a masked pong, byte for byte the RFC example', () => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.receiveData(hex('89 05 48 65 6c 6c 6f'));
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('8a 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('a message of exactly maxMessageSize is accepted, also across fragments (each one after the first costing FRAGMENT_COST)', () => {
    const p = openServer({ maxMessageSize: 10 + FRAGMENT_COST });
    p.receiveData(cf({ opcode: 2, payload: bytesOf(10 + FRAGMENT_COST) }));
    p.receiveData(cf({ opcode: 2, payload: bytesOf(4), fin: false }));
    p.receiveData(cf({ opcode: 0, payload: bytesOf(6) }));
    expect(p.events().map((e) => e.type)).toEqual(['message', 'message']);
    const tight = openServer({ maxMessageSize: 10 + FRAGMENT_COST - 1 });
    tight.receiveData(cf({ opcode: 2, payload: bytesOf(4), fin: false }));
    tight.receiveData(cf({ opcode: 0, payload: bytesOf(6) }));
    expect(tight.events().map((e) => e.type === 'violation' ? e.violation.code : e.type)).toEqual(['WS_ERR_MESSAGE_TOO_BIG']);
  });

  it('an empty text message is valid', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 1 }));
    expect(eventSummary(p.events())).toEqual([{ type: 'message', opcode: 1, data: '', text: '' }]);
  });

  it('binary messages carry no text and are not UTF-8 checked', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 2, payload: hex('c0 80 ff') }));
    expect(eventSummary(p.events())).toEqual([{ type: 'message', opcode: 2, data: 'c080ff', text: undefined }]);
  });

  it('feeding a stream whole, at every split point and byte by byte gives the same events and replies', () => {
    const stream = concatBytes([
      hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'),
      cf({ opcode: 1, payload: hex('e2 82'), fin: false }),
      cf({ opcode: 9, payload: utf8('ping') }),
      cf({ opcode: 0, payload: hex('ac') }),
      cf({ opcode: 2, payload: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), maskKey: hex('01 02 03 04') }),
      cf({ opcode: 2, payload: utf8('64'), lengthEncoding: '64-bit' }),
      cf({ opcode: 0xa }),
      cf({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }),
    ]);
    const run = (cuts: number[]) => {
      const p = openServer();
      let at = 0;
      for (const cut of [...cuts, stream.length]) {
        p.receiveData(stream.subarray(at, cut));
        at = cut;
      }
      return { events: eventSummary(p.events()), out: toHex(concatBytes(p.dataToSend())), action: p.transportAction };
    };
    const whole = run([]);
    expect(whole.events.map((e) => e.type)).toEqual(['message', 'ping', 'message', 'message', 'message', 'pong', 'close-received']);
    expect(whole.action).toBe('close');
    for (let cut = 1; cut < stream.length; cut++) expect(run([cut]), `cut at ${cut}`).toEqual(whole);
    expect(run(Array.from({ length: stream.length - 1 }, (_, i) => i + 1))).toEqual(whole);
  });

  it('frames that arrive in the same chunk as the handshake request are processed', () => {
    const p = new WebSocketProtocol({ role: 'server' });
    const request = buildClientRequest({ host: 'h', path: '/', key: RFC_KEY }).bytes;
    p.receiveData(concatBytes([request, hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')]));
    expect(eventSummary(p.events())).toEqual([
      { type: 'open', subprotocol: null },
      { type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' },
    ]);
  });

  it('frames that arrive in the same chunk as the 101 response are processed (client)', () => {
    const p = new WebSocketProtocol({ role: 'client', key: RFC_KEY });
    p.connect();
    p.dataToSend();
    const response = answerClientHandshake(parseHead(buildClientRequest({ host: 'h', path: '/', key: RFC_KEY }).bytes, 'request')).response;
    p.receiveData(concatBytes([response, hex('81 05 48 65 6c 6c 6f')]));
    expect(eventSummary(p.events())).toEqual([
      { type: 'open', subprotocol: null },
      { type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' },
    ]);
  });
});

// ------------------------------------------------------------------------------------ closing

describe('WebSocketProtocol: a Close right behind a message (§5.5.1 "MAY delay sending a Close frame")', () => {
  const textThenClose = () => concatBytes([cf({ opcode: 1, payload: utf8('Hello') }), cf({ opcode: 8, payload: encodeClosePayload(1000, 'bye') })]);

  it('the reply waits until the application has seen the message, and goes out after what it sends in answer', () => {
    const p = openServer();
    p.receiveData(textThenClose()); // one TCP read
    expect(p.dataToSend()).toEqual([]); // nothing before the application had the message
    expect(eventSummary(p.events())).toEqual([
      { type: 'message', opcode: 1, data: toHex(utf8('Hello')), text: 'Hello' },
      { type: 'close-received', code: 1000, reason: 'bye' },
    ]);
    expect(p.state).toBe('OPEN'); // the application may still answer
    p.sendText('Hello');
    const out = sentFrames(p);
    expect(out.map((f) => f.header.opcode)).toEqual([1, 8]);
    expect(new TextDecoder().decode(out[0]!.payload)).toBe('Hello');
    expect(parseClosePayload(out[1]!.payload)).toEqual({ code: 1000, reason: 'bye' });
    expect(p.state).toBe('CLOSING');
    expect(p.transportAction).toBe('close');
    expect(() => p.sendText('too late')).toThrow(/CLOSING/);
  });

  it('an application that answers nothing: the reply goes out once the events were drained', () => {
    const p = openServer();
    p.receiveData(textThenClose());
    p.events();
    expect(p.dataToSendPending()).toBe(true);
    const out = sentFrames(p);
    expect(out.map((f) => f.header.opcode)).toEqual([8]);
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1000, reason: 'bye', wasClean: true }]);
  });

  it('an application that closes itself meanwhile sends its own Close only (one Close, handshake complete)', () => {
    const p = openServer();
    p.receiveData(textThenClose());
    p.events();
    p.close(1001, 'going');
    const out = sentFrames(p);
    expect(out.map((f) => parseClosePayload(f.payload))).toEqual([{ code: 1001, reason: 'going' }]);
    expect(p.transportAction).toBe('close');
  });

  it('the client side holds its reply the same way (frames it answers with are masked)', () => {
    const p = openClient();
    p.receiveData(concatBytes([encodeFrame({ opcode: 2, payload: hex('01 02') }), encodeFrame({ opcode: 8, payload: encodeClosePayload(1000) })]));
    expect(p.events().map((e) => e.type)).toEqual(['message', 'close-received']);
    p.sendBinary(hex('01 02'));
    const out = new FrameParser().feedAll(concatBytes(p.dataToSend())).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
    expect(out.map((f) => [f.header.opcode, f.header.masked])).toEqual([[2, true], [8, true]]);
    expect(p.transportAction).toBe('await-server-close');
  });

  it('a Close with no message before it is answered at once, as before', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(1000) }));
    expect(sentFrames(p).map((f) => f.header.opcode)).toEqual([8]);
  });
});

describe('WebSocketProtocol: a bad frame right behind a message (§7.1.7; Autobahn 3.2-style "echo first")', () => {
  // One TCP read: a valid text message, then a frame with RSV2 set (§5.2), then a Ping.
  const textThenBad = () => concatBytes([cf({ opcode: 1, payload: utf8('Hello') }), cf({ opcode: 1, rsv2: true, payload: utf8('bad') }), cf({ opcode: 9 })]);

  it('the message reaches the application first, its answer goes out before our Close 1002, nothing after the bad frame is read', () => {
    const p = openServer();
    p.receiveData(textThenBad());
    expect(p.dataToSend()).toEqual([]); // no Close before the application had the message
    const events = p.events();
    expect(events.map((e) => e.type)).toEqual(['message', 'violation']); // the Ping behind the bad frame is never read
    expect(events[1]!.type === 'violation' && events[1]!.violation.code).toBe('WS_ERR_RESERVED_BITS');
    expect(p.state).toBe('OPEN');
    p.sendText('Hello');
    const out = sentFrames(p);
    expect(out.map((f) => f.header.opcode)).toEqual([1, 8]);
    expect(new TextDecoder().decode(out[0]!.payload)).toBe('Hello');
    expect(parseClosePayload(out[1]!.payload).code).toBe(1002);
    expect(p.state).toBe('CLOSING');
    expect(p.transportAction).toBe('close');
    p.receiveData(cf({ opcode: 1, payload: utf8('later') })); // §7.1.7: discarded
    expect(p.events()).toEqual([]);
  });

  it('an application that answers nothing: the Close goes out once the events were drained', () => {
    const p = openServer();
    p.receiveData(textThenBad());
    p.events();
    expect(p.dataToSendPending()).toBe(true);
    expect(sentFrames(p).map((f) => [f.header.opcode, parseClosePayload(f.payload).code])).toEqual([[8, 1002]]);
    expect(p.transportAction).toBe('close');
  });

  it('a bad frame with no message before it fails at once, as before', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 1, rsv2: true, payload: utf8('bad') }));
    expect(sentFrames(p).map((f) => [f.header.opcode, parseClosePayload(f.payload).code])).toEqual([[8, 1002]]);
    expect(p.transportAction).toBe('close');
  });
});

describe('WebSocketProtocol: closing handshake (§7.1)', () => {
  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])(
    'valid close code %i is accepted and echoed',
    (code) => {
      const p = openServer();
      p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(code, 'bye') }));
      expect(eventSummary(p.events())).toEqual([{ type: 'close-received', code, reason: 'bye' }]);
      const out = sentFrames(p);
      expect(out).toHaveLength(1);
      expect(out[0]!.header.opcode).toBe(8);
      expect(parseClosePayload(out[0]!.payload).code).toBe(code);
      expect(p.state).toBe('CLOSING');
      expect(p.transportAction).toBe('close');
    },
  );

  it('server: peer closes first → we echo, transportAction close, then EOF gives a clean closed event', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(1000, 'done') }));
    expect(eventSummary(p.events())).toEqual([{ type: 'close-received', code: 1000, reason: 'done' }]);
    const out = sentFrames(p);
    expect(toHex(out[0]!.payload)).toBe(toHex(encodeClosePayload(1000, 'done')));
    expect(p.transportAction).toBe('close');
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1000, reason: 'done', wasClean: true }]);
    expect(p.state).toBe('CLOSED');
  });

  it('TCP closing mid-frame or mid-message says what it cut off (the close detail)', () => {
    const closedDetail = (feed: (p: WebSocketProtocol) => void) => {
      const trace: TraceBody[] = [];
      const p = openServer({ trace: (b) => trace.push(b) });
      feed(p);
      p.receiveEof();
      const closed = trace.find((b) => b.type === 'connection-closed');
      return closed?.type === 'connection-closed' ? closed.detail : null;
    };
    const plain = 'TCP closed without a closing handshake (abnormal closure, 1006)';
    expect(closedDetail(() => {})).toBe(plain);
    expect(closedDetail((p) => p.receiveData(cf({ opcode: 1, payload: utf8('whole') })))).toBe(plain);
    const frame = cf({ opcode: 1, payload: utf8('hello, world') });
    expect(closedDetail((p) => p.receiveData(frame.subarray(0, frame.length - 5))))
      .toBe(`${plain}; it cut a frame off (the parser was waiting for 5 more bytes of payload)`);
    expect(closedDetail((p) => {
      p.receiveData(cf({ opcode: 2, fin: false, payload: bytesOf(3) }));
      p.receiveData(cf({ opcode: 0, fin: false, payload: bytesOf(3) }));
      p.receiveData(cf({ opcode: 0, payload: bytesOf(3) }).subarray(0, 1));
    })).toBe(`${plain}; it cut a frame off (the parser was waiting for 1 more byte of frame header (FIN, RSV, opcode, MASK, payload len)); it left a fragmented binary message unfinished after 2 frames (§5.4)`);
  });

  it('an empty Close is echoed empty; the closed event reports 1005', () => {
    const p = openServer();
    p.receiveData(cf({ opcode: 8 }));
    expect(eventSummary(p.events())).toEqual([{ type: 'close-received', code: null, reason: '' }]);
    const out = sentFrames(p);
    expect(out[0]!.header).toMatchObject({ opcode: 8, payloadLength: 0 });
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1005, reason: '', wasClean: true }]);
  });

  it('client: we close first, the server answers → await-server-close; EOF then gives a clean close', () => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.close(1000, 'bye');
    expect(p.state).toBe('CLOSING');
    const out = sentFrames(p);
    expect(out[0]!.header).toMatchObject({ opcode: 8, masked: true });
    expect(toHex(out[0]!.payload)).toBe(toHex(encodeClosePayload(1000, 'bye')));
    expect(p.transportAction).toBe('none');
    p.receiveData(sf({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }));
    expect(eventSummary(p.events())).toEqual([{ type: 'close-received', code: 1000, reason: 'bye' }]);
    expect(p.dataToSend()).toEqual([]); // no second Close
    expect(p.transportAction).toBe('await-server-close');
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1000, reason: 'bye', wasClean: true }]);
  });

  it('client: the server closes first → the client echoes (masked) and awaits the server\'s TCP close', () => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.receiveData(sf({ opcode: 8, payload: encodeClosePayload(1001) }));
    const out = sentFrames(p);
    expect(out[0]!.header).toMatchObject({ opcode: 8, masked: true });
    expect(parseClosePayload(out[0]!.payload).code).toBe(1001);
    expect(p.transportAction).toBe('await-server-close');
  });

  it('server: we close first, the client answers → transportAction close, no second Close', () => {
    const p = openServer();
    p.close(1001, 'going');
    expect(sentFrames(p).map((f) => f.header.opcode)).toEqual([8]);
    expect(p.transportAction).toBe('none');
    p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(1001, 'going') }));
    expect(p.dataToSend()).toEqual([]);
    expect(p.transportAction).toBe('close');
  });

  it('data after a Close frame is discarded', () => {
    const p = openServer();
    p.receiveData(concatBytes([cf({ opcode: 8, payload: encodeClosePayload(1000) }), cf({ opcode: 1, payload: utf8('late') })]));
    p.receiveData(cf({ opcode: 9, payload: utf8('later') }));
    expect(p.events().map((e) => e.type)).toEqual(['close-received']);
    expect(sentFrames(p).map((f) => f.header.opcode)).toEqual([8]);
  });

  it('EOF after our Close but before the peer\'s is not clean (1006)', () => {
    const p = openServer();
    p.close(1000);
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1006, reason: '', wasClean: false }]);
  });

  it('EOF without a closing handshake is abnormal (1006)', () => {
    const p = openServer();
    p.receiveEof();
    expect(p.events()).toEqual([{ type: 'closed', code: 1006, reason: '', wasClean: false }]);
    expect(p.state).toBe('CLOSED');
  });

  it('sending is refused once closing', () => {
    const p = openServer();
    p.close();
    expect(() => p.sendText('x')).toThrow(/CLOSING/);
    expect(() => p.sendBinary(new Uint8Array(1))).toThrow();
    expect(() => p.sendPing()).toThrow();
  });

  it.each([
    ['code 1005', 1005, ''],
    ['code 1006', 1006, ''],
    ['code 999', 999, ''],
    ['reason without a code', null, 'why'],
    ['reason over 123 bytes', 1000, 'x'.repeat(124)],
  ] as const)('close() refuses %s', (_name, code, reason) => {
    const p = openServer();
    expect(() => p.close(code, reason)).toThrow();
    expect(p.dataToSend()).toEqual([]);
  });

  it('parseClosePayload reads code and reason', () => {
    expect(parseClosePayload(hex('03 e8 62 79 65'))).toEqual({ code: 1000, reason: 'bye' });
    expect(parseClosePayload(new Uint8Array(0))).toEqual({ code: null, reason: '' });
  });
});

// ------------------------------------------------------------------------------------ sending

describe('WebSocketProtocol: what we send', () => {
  it('server sendText("Hello") is the RFC unmasked frame 81 05 48 65 6c 6c 6f', () => {
    const p = openServer();
    p.sendText('Hello');
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('81 05 48 65 6c 6c 6f');
  });

  it('client sendText("Hello") with the RFC key is the RFC masked frame', () => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.sendText('Hello');
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('server sendFragmented("Hello", [3, 2]) is the RFC pair 01 03 48 65 6c + 80 02 6c 6f', () => {
    const p = openServer();
    p.sendFragmented(1, utf8('Hello'), [3, 2]);
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('01 03 48 65 6c 80 02 6c 6f');
  });

  it('server sendPing("Hello") is the RFC ping 89 05 48 65 6c 6c 6f', () => {
    const p = openServer();
    p.sendPing(utf8('Hello'));
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('89 05 48 65 6c 6c 6f');
  });

  it('client sendPong("Hello") with the RFC key is the RFC masked pong', () => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.sendPong(utf8('Hello'));
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe('8a 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it.each([
    [125, '82 7d', 7],
    [126, '82 7e 00 7e', 16],
    [65535, '82 7e ff ff', 16],
    [65536, '82 7f 00 00 00 00 00 01 00 00', 64],
  ])('server sendBinary of %i bytes uses the minimal length encoding (%s, %i-bit)', (n, header, _bits) => {
    const p = openServer();
    p.sendBinary(new Uint8Array(n));
    const bytes = concatBytes(p.dataToSend());
    const headerLength = header.split(' ').length;
    expect(toHex(bytes.subarray(0, headerLength), ' ')).toBe(header);
    expect(bytes.length).toBe(headerLength + n);
  });

  it.each([
    [125, '82 fd'],
    [126, '82 fe 00 7e'],
    [65535, '82 fe ff ff'],
    [65536, '82 ff 00 00 00 00 00 01 00 00'],
  ])('client sendBinary of %i bytes: minimal length, mask bit set (%s + key)', (n, header) => {
    const p = openClient({ maskKeyGenerator: () => MASK });
    p.sendBinary(new Uint8Array(n));
    const bytes = concatBytes(p.dataToSend());
    const headerLength = header.split(' ').length;
    expect(toHex(bytes.subarray(0, headerLength + 4), ' ')).toBe(`${header} 37 fa 21 3d`);
  });

  it.each<[string, Uint8Array, number[], string]>([
    ['"Hello" as [5]', utf8('Hello'), [5], '81 05 48 65 6c 6c 6f'],
    ['"Hello" as [1, 1] (rest in a last frame)', utf8('Hello'), [1, 1], '01 01 48 00 01 65 80 03 6c 6c 6f'],
    ['an empty message with no sizes (one empty final frame)', new Uint8Array(0), [], '81 00'],
  ])('sendFragmented: %s', (_name, data, sizes, wire) => {
    const p = openServer();
    p.sendFragmented(1, data, sizes);
    expect(toHex(concatBytes(p.dataToSend()), ' ')).toBe(wire);
  });

  // A relay copies most messages with sendFragmented(…, []): its one-frame path must give what sendBinary/sendText give.
  it.each([
    ['server, binary', 'server', 2, new Uint8Array([0, 1, 2, 250, 255])],
    ['server, text', 'server', 1, utf8('héllo')],
    ['client, binary', 'client', 2, new Uint8Array(300).fill(7)],
    ['client, text', 'client', 1, utf8('a text of some length')],
  ] as const)('sendFragmented with no sizes (%s): the same wire bytes and trace as one sendBinary/sendText', (_name, role, opcode, data) => {
    const traces: TraceBody[][] = [[], []];
    const open = (i: number) => {
      const options = { maskKeyGenerator: () => MASK, trace: (b: TraceBody) => traces[i]!.push(b) };
      const p = role === 'server' ? openServer(options) : openClient(options);
      traces[i]!.length = 0;
      return p;
    };
    const viaFragmented = open(0);
    const viaMessage = open(1);
    viaFragmented.sendFragmented(opcode, data, []);
    if (opcode === 1) viaMessage.sendText(new TextDecoder().decode(data));
    else viaMessage.sendBinary(data);
    expect(toHex(concatBytes(viaFragmented.dataToSend()))).toBe(toHex(concatBytes(viaMessage.dataToSend())));
    const plain = (list: TraceBody[]) => JSON.parse(JSON.stringify(list, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v)));
    expect(traces[0]!.map((b) => b.type)).toEqual(['frame', 'bytes', 'message']);
    expect(plain(traces[0]!)).toEqual(plain(traces[1]!));
  });

  it('client: sendFragmented with no sizes masks each frame with a fresh key (§5.3), and the payload unmasks to the data', () => {
    const p = openClient();
    const data = utf8('the same message three times');
    for (let i = 0; i < 3; i++) p.sendFragmented(1, data, []);
    const frames = sentFrames(p);
    expect(frames).toHaveLength(3);
    expect(frames.every((f) => f.header.masked && f.header.fin)).toBe(true);
    expect(new Set(frames.map((f) => toHex(f.header.maskKey!))).size).toBe(3);
    expect(frames.map((f) => new TextDecoder().decode(f.payload))).toEqual([1, 2, 3].map(() => 'the same message three times'));
  });

  it('ping and pong payloads over 125 bytes are refused', () => {
    const p = openServer();
    expect(() => p.sendPing(new Uint8Array(126))).toThrow(/125/);
    expect(() => p.sendPong(new Uint8Array(126))).toThrow(/125/);
  });

  it('client frames get a fresh mask key for each frame with the default generator (§5.3)', () => {
    const p = openClient();
    p.sendText('a');
    p.sendText('a');
    p.sendBinary(new Uint8Array(3));
    const keys = sentFrames(p).map((f) => toHex(f.header.maskKey!));
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
  });

  it('randomMaskKey gives 4 bytes, different each call', () => {
    const keys = Array.from({ length: 50 }, () => randomMaskKey());
    expect(keys.every((k) => k.length === 4)).toBe(true);
    expect(new Set(keys.map((k) => toHex(k))).size).toBe(50);
  });

  it('an injected maskKeyGenerator is called once per frame, in order', () => {
    const supplied = [hex('01 02 03 04'), hex('05 06 07 08'), hex('09 0a 0b 0c'), hex('0d 0e 0f 10')];
    let calls = 0;
    const p = openClient({ maskKeyGenerator: () => supplied[calls++]! });
    p.sendText('one');
    p.sendPing(utf8('two'));
    p.sendFragmented(2, utf8('three'), [2]);
    const frames = sentFrames(p);
    expect(calls).toBe(4);
    expect(frames.map((f) => toHex(f.header.maskKey!))).toEqual(supplied.map((k) => toHex(k)));
    expect(frames.map((f) => new TextDecoder().decode(f.payload))).toEqual(['one', 'two', 'th', 'ree']);
  });

  it('server frames are never masked', () => {
    const p = openServer();
    p.sendText('x');
    p.sendBinary(new Uint8Array(200));
    p.sendPing();
    p.close(1000);
    expect(sentFrames(p).every((f) => !f.header.masked)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------ handshake through the protocol

describe('WebSocketProtocol: opening handshake', () => {
  it('a request fed one byte at a time opens exactly on the last byte', () => {
    const p = new WebSocketProtocol({ role: 'server' });
    const request = buildClientRequest({ host: 'h', path: '/', key: RFC_KEY, subprotocols: ['chat'] }).bytes;
    for (let i = 0; i < request.length - 1; i++) {
      p.receiveData(request.subarray(i, i + 1));
      expect(p.state).toBe('CONNECTING');
    }
    expect(p.describeParser()).toBe('waiting for the end of the HTTP head (CRLF CRLF)');
    expect(p.dataToSend()).toEqual([]);
    p.receiveData(request.subarray(request.length - 1));
    expect(p.state).toBe('OPEN');
    expect(p.describeParser()).toBe('waiting for a new frame');
    expect(p.events().map((e) => e.type)).toEqual(['open']);
  });

  it('negotiates a subprotocol on both sides', () => {
    const server = new WebSocketProtocol({ role: 'server', subprotocols: ['superchat'] });
    const client = new WebSocketProtocol({ role: 'client', subprotocols: ['chat', 'superchat'] });
    client.connect();
    server.receiveData(concatBytes(client.dataToSend()));
    client.receiveData(concatBytes(server.dataToSend()));
    expect(eventSummary(server.events())).toEqual([{ type: 'open', subprotocol: 'superchat' }]);
    expect(eventSummary(client.events())).toEqual([{ type: 'open', subprotocol: 'superchat' }]);
    // and the two talk
    client.sendText('hi there');
    server.receiveData(concatBytes(client.dataToSend()));
    expect(eventSummary(server.events())).toEqual([{ type: 'message', opcode: 1, data: toHex(utf8('hi there')), text: 'hi there' }]);
  });

  it.each([
    ['POST', 405, (b: string) => b.replace('GET', 'POST')],
    ['HTTP/1.0', 505, (b: string) => b.replace('HTTP/1.1', 'HTTP/1.0')],
    ['version 8', 426, (b: string) => b.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8')],
    ['malformed header', 400, (b: string) => b.replace('Upgrade: websocket', 'Upgrade websocket')],
  ])('a bad request (%s) is answered with %i and the connection closes', (_name, status, edit) => {
    const p = new WebSocketProtocol({ role: 'server' });
    const request = new TextDecoder().decode(buildClientRequest({ host: 'h', path: '/', key: RFC_KEY }).bytes);
    p.receiveData(utf8(edit(request)));
    const response = parseResponse(concatBytes(p.dataToSend()));
    expect(response.status).toBe(status);
    expect(eventSummary(p.events())).toEqual([{ type: 'handshake-failed', status }]);
    expect(p.state).toBe('CLOSED');
    expect(p.transportAction).toBe('close');
    p.receiveData(cf({ opcode: 1, payload: utf8('ignored') }));
    expect(p.events()).toEqual([]);
    expect(p.dataToSend()).toEqual([]);
  });

  it('an oversized head is answered with 431', () => {
    const p = new WebSocketProtocol({ role: 'server', maxHeadSize: 128 });
    p.receiveData(utf8(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(200)}`));
    expect(parseResponse(concatBytes(p.dataToSend())).status).toBe(431);
    expect(eventSummary(p.events())).toEqual([{ type: 'handshake-failed', status: 431 }]);
    expect(p.transportAction).toBe('close');
  });

  it('a client rejects a 101 with the wrong Sec-WebSocket-Accept', () => {
    const p = new WebSocketProtocol({ role: 'client', key: RFC_KEY });
    p.connect();
    p.dataToSend();
    p.receiveData(utf8(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept('x3JJHMbDL1EzLkh9GBhXDw==').accept}\r\n\r\n`));
    const events = p.events();
    expect(events.map((e) => e.type)).toEqual(['handshake-failed']);
    if (events[0]!.type === 'handshake-failed') expect(events[0]!.error.code).toBe('HANDSHAKE_ACCEPT');
    expect(p.state).toBe('CLOSED');
    expect(p.transportAction).toBe('close');
  });

  it('the client request carries the configured host, path, key and headers', () => {
    const p = new WebSocketProtocol({ role: 'client', key: RFC_KEY, host: 'example.com:8080', path: '/chat?x=1', headers: [{ name: 'Origin', value: 'http://example.com' }] });
    p.connect();
    const request = parseHead(concatBytes(p.dataToSend()), 'request');
    expect(request.target).toBe('/chat?x=1');
    expect(headerValue(request, 'Host')).toBe('example.com:8080');
    expect(headerValue(request, 'Sec-WebSocket-Key')).toBe(RFC_KEY);
    expect(headerValue(request, 'Origin')).toBe('http://example.com');
  });

  it('describeParser() follows the frame parser once open', () => {
    const p = openServer();
    p.receiveData(hex('82 fe'));
    expect(p.describeParser()).toBe('waiting for 2 more bytes of 16-bit extended length');
    expect(p.parserState).toBe('extended-length-16');
    p.receiveData(hex('01 00 37 fa'));
    expect(p.describeParser()).toBe('waiting for 2 more bytes of masking key');
  });
});

// ------------------------------------------------------------------------------------ trace

describe('WebSocketProtocol: trace events', () => {
  function traced(options: Options = {}) {
    const trace: TraceBody[] = [];
    const p = openServer({ ...options, trace: (b) => trace.push(b) });
    trace.length = 0;
    return { p, trace };
  }

  it('a violation mid-frame gives a violation event and a partial frame event carrying it', () => {
    const { p, trace } = traced();
    const frame = cf({ opcode: 1, payload: hex('61 62 c0 63 64 65 66 67 68 69') });
    const fed = frame.subarray(0, 6 + 3);
    p.receiveData(fed);
    const violationEvents = trace.filter((t) => t.type === 'violation');
    expect(violationEvents).toHaveLength(1);
    const v = violationEvents[0]!;
    if (v.type !== 'violation') throw new Error('unreachable');
    expect(v.direction).toBe('in');
    expect(v.violation).toMatchObject({ code: 'WS_ERR_INVALID_UTF8', closeCode: 1007, rfcSection: '§8.1' });
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    const f = inFrames[0]!;
    expect(f.partial).toBe(true);
    expect(f.violation).toMatchObject({ code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
    expect(toHex(f.raw)).toBe(toHex(fed));
    expect(f.opcode).toBe(1);
    expect(f.payloadLength).toBe(10);
    expect(v.frameId).toBe(f.frameId);
    // and the outgoing Close is traced with its code
    const outFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'out' ? [t.frame] : []));
    expect(outFrames.map((o) => [o.opcode, o.close?.code])).toEqual([[8, 1007]]);
  });

  it('a violation found in a complete frame gives a frame event with the violation and no partial flag', () => {
    const { p, trace } = traced();
    const frame = cf({ opcode: 8, payload: encodeClosePayload(1005) });
    p.receiveData(frame);
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    expect(inFrames[0]!.partial).toBeUndefined();
    expect(inFrames[0]!.violation?.code).toBe('WS_ERR_INVALID_CLOSE_CODE');
    expect(toHex(inFrames[0]!.raw)).toBe(toHex(frame));
    expect(trace.filter((t) => t.type === 'violation')).toHaveLength(1);
  });

  it('a header violation traces the header bytes as a partial frame', () => {
    const { p, trace } = traced();
    const frame = cf({ opcode: 1, payload: utf8('Hello'), rsv1: true });
    p.receiveData(frame);
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    expect(inFrames[0]).toMatchObject({ partial: true, rsv1: true, opcode: 1 });
    expect(inFrames[0]!.violation?.code).toBe('WS_ERR_RESERVED_BITS');
    expect(trace.some((t) => t.type === 'violation' && t.violation.code === 'WS_ERR_RESERVED_BITS')).toBe(true);
  });

  it('a good frame is traced with its raw bytes and no violation; state changes are traced', () => {
    const { p, trace } = traced();
    p.receiveData(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    expect(inFrames[0]!.violation).toBeUndefined();
    expect(toHex(inFrames[0]!.raw, ' ')).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    expect(new TextDecoder().decode(inFrames[0]!.payload)).toBe('Hello');
    expect(trace.some((t) => t.type === 'message' && t.direction === 'in' && t.text === 'Hello')).toBe(true);
    p.close();
    expect(trace.some((t) => t.type === 'state' && t.from === 'OPEN' && t.to === 'CLOSING')).toBe(true);
  });

  it('a frame failed early (bad UTF-8) but received whole is traced whole, not as incomplete', () => {
    const { p, trace } = traced();
    const frame = cf({ opcode: 1, payload: hex('61 62 c0 63 64 65 66 67 68 69') });
    p.receiveData(frame);
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    const f = inFrames[0]!;
    expect(f.partial).toBeUndefined();
    expect(f.violation?.code).toBe('WS_ERR_INVALID_UTF8');
    expect(toHex(f.raw)).toBe(toHex(frame));
    expect(toHex(f.payload)).toBe('6162c0636465666768 69'.replace(' ', ''));
    expect(toHex(f.maskKey!)).toBe(toHex(MASK));
  });

  it('a 64-bit length with its top bit set: the trace has the real length and the masking key (§5.2)', () => {
    const { p, trace } = traced();
    p.receiveData(hex('82 ff 80 00 00 00 00 00 00 05 37 fa 21 3d 01 02'));
    const inFrames = trace.flatMap((t) => (t.type === 'frame' && t.direction === 'in' ? [t.frame] : []));
    expect(inFrames).toHaveLength(1);
    const f = inFrames[0]!;
    expect(f.violation?.code).toBe('WS_ERR_LENGTH_MSB_SET');
    expect(f.partial).toBe(true);
    expect(f.lengthField).toBe(127);
    expect(f.payloadLengthExact).toBe('9223372036854775813');
    expect(f.payloadLength).toBe(Number.MAX_SAFE_INTEGER);
    expect(toHex(f.maskKey!, ' ')).toBe('37 fa 21 3d');
    expect(f.headerLength).toBe(14);
    expect(toHex(f.raw.subarray(0, 14), ' ')).toBe('82 ff 80 00 00 00 00 00 00 05 37 fa 21 3d');
  });

  it('a frame edited in the debugger is traced with its original bytes, once, in its direction only', () => {
    const { p, trace } = traced();
    const original = cf({ opcode: 1, payload: utf8('original') });
    p.markNextFrameEdited('in', original);
    p.sendText('out first'); // an outgoing frame does not take the incoming mark
    p.receiveData(cf({ opcode: 1, payload: utf8('EDITED') }));
    p.receiveData(cf({ opcode: 1, payload: utf8('next') }));
    const frames = trace.flatMap((t) => (t.type === 'frame' ? [t] : []));
    const out = frames.find((t) => t.direction === 'out')!;
    expect(out.frame.edited).toBeUndefined();
    const inFrames = frames.filter((t) => t.direction === 'in').map((t) => t.frame);
    expect(inFrames.map((f) => new TextDecoder().decode(f.payload))).toEqual(['EDITED', 'next']);
    expect(toHex(inFrames[0]!.edited!.original)).toBe(toHex(original));
    expect(inFrames[1]!.edited).toBeUndefined();
  });

  it('incoming bytes are traced as they arrive', () => {
    const { p, trace } = traced();
    p.receiveData(hex('81 85 37'));
    const bytes = trace.filter((t) => t.type === 'bytes' && t.direction === 'in');
    expect(bytes).toHaveLength(1);
    if (bytes[0]!.type === 'bytes') expect(toHex(bytes[0]!.bytes)).toBe('818537');
  });
});

describe('WebSocketProtocol: a Close sent as raw bytes (noteRawCloseSent)', () => {
  it('registers the Close, so the peer\'s answer completes the handshake without a second Close from us', () => {
    const p = openClient();
    p.sendRaw(cf({ opcode: 8, payload: encodeClosePayload(1000, 'raw') }));
    p.noteRawCloseSent(encodeClosePayload(1000, 'raw'));
    expect(p.state).toBe('CLOSING');
    expect(p.closeSent).toEqual({ code: 1000, reason: 'raw' });
    expect(p.awaitingCloseReply).toBe(true);
    p.dataToSend();
    p.receiveData(sf({ opcode: 8, payload: encodeClosePayload(1000, 'raw') }));
    expect(sentFrames(p)).toHaveLength(0);
    expect(p.transportAction).toBe('await-server-close');
  });

  it('answers a Close already received, and counts only the first Close', () => {
    const p = openServer();
    p.noteRawCloseSent(new Uint8Array(0));
    expect(p.closeSent).toEqual({ code: null, reason: '' });
    p.noteRawCloseSent(encodeClosePayload(1001, 'later'));
    expect(p.closeSent).toEqual({ code: null, reason: '' });
    p.receiveData(cf({ opcode: 8, payload: encodeClosePayload(1000, '') }));
    expect(sentFrames(p)).toHaveLength(0);
    expect(p.transportAction).toBe('close');
  });
});

/**
 * The zero-copy paths (issue 17): a chunk given away (receiveData(chunk, true)) is unmasked in
 * place only when nothing traces; a server's large message goes out as header + payload as it is.
 */
describe('ownership: unmasking in place and payloads written behind their header', () => {
  const payloadA = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const payloadB = utf8('second frame, same chunk');
  const wire = () => concatBytes([cf({ opcode: 2, payload: payloadA }), cf({ opcode: 1, payload: payloadB })]);

  it('no trace: a chunk given away is unmasked where it lies; the messages are views of it', () => {
    const p = openServer({ deflate: false });
    const chunk = wire();
    p.receiveData(chunk, true);
    const messages = p.events().filter((e) => e.type === 'message');
    expect(messages.map((m) => toHex(m.data))).toEqual([toHex(payloadA), toHex(payloadB)]);
    for (const m of messages) expect(m.data.buffer).toBe(chunk.buffer);
    expect(toHex(chunk)).not.toBe(toHex(wire()));
  });

  it('with a trace, a chunk given away is left as received: the traced bytes and raw frames stay masked', () => {
    const traced: TraceBody[] = [];
    const p = openServer({ deflate: false, trace: (b) => traced.push(b) });
    const chunk = wire();
    p.receiveData(chunk, true);
    expect(toHex(chunk)).toBe(toHex(wire()));
    const messages = p.events().filter((e) => e.type === 'message');
    expect(messages.map((m) => toHex(m.data))).toEqual([toHex(payloadA), toHex(payloadB)]);
    const bytesIn = traced.filter((b) => b.type === 'bytes' && b.direction === 'in').map((b) => (b.type === 'bytes' ? toHex(b.bytes) : ''));
    expect(bytesIn.at(-1)).toBe(toHex(wire()));
    const frames = traced.flatMap((b) => (b.type === 'frame' && b.direction === 'in' ? [b.frame] : []));
    expect(frames.map((f) => toHex(f.raw))).toEqual([toHex(cf({ opcode: 2, payload: payloadA })), toHex(cf({ opcode: 1, payload: payloadB }))]);
  });

  it('a chunk not given away is never changed (trace off)', () => {
    const p = openServer({ deflate: false });
    const chunk = wire();
    p.receiveData(chunk);
    expect(toHex(chunk)).toBe(toHex(wire()));
    expect(p.events().filter((e) => e.type === 'message').map((m) => toHex(m.data))).toEqual([toHex(payloadA), toHex(payloadB)]);
  });

  it('no trace: a server message of 4 KiB or more is queued as its header, then the payload itself (no copy)', () => {
    const p = openServer({ deflate: false });
    const big = Uint8Array.from({ length: 16384 }, (_, i) => i & 0xff);
    p.sendBinary(big);
    const [out] = p.takeOutput();
    expect(out!.payload).toBe(big);
    expect(toHex(out!.bytes)).toBe('82 7e 40 00'.replaceAll(' ', ''));
    p.sendBinary(big);
    expect(toHex(concatBytes(p.dataToSend()))).toBe(toHex(sf({ opcode: 2, payload: big })));
    p.sendBinary(big.subarray(0, 4095));
    const [small] = p.takeOutput();
    expect(small!.payload).toBeUndefined();
    expect(toHex(small!.bytes)).toBe(toHex(sf({ opcode: 2, payload: big.subarray(0, 4095) })));
  });

  it('with a trace, or as a client (masking), frames are encoded whole', () => {
    const big = new Uint8Array(8192).fill(0x41);
    const traced = openServer({ deflate: false, trace: () => {} });
    traced.sendBinary(big);
    const [t] = traced.takeOutput();
    expect(t!.payload).toBeUndefined();
    expect(toHex(t!.bytes)).toBe(toHex(sf({ opcode: 2, payload: big })));
    const client = openClient({ deflate: false, maskKeyGenerator: () => MASK });
    client.sendBinary(big);
    const [c] = client.takeOutput();
    expect(c!.payload).toBeUndefined();
    expect(toHex(c!.bytes)).toBe(toHex(cf({ opcode: 2, payload: big })));
  });
});

describe('handshake heads kept as bytes once open (per-connection memory, issue 17)', () => {
  it('request and response read back equal to the ones the open event carried, on both sides', () => {
    const server = new WebSocketProtocol({ role: 'server' });
    const client = new WebSocketProtocol({ role: 'client', key: RFC_KEY });
    client.connect();
    for (const bytes of client.dataToSend()) server.receiveData(bytes);
    for (const bytes of server.dataToSend()) client.receiveData(bytes);
    for (const side of [server, client]) {
      const open = side.events().find((e) => e.type === 'open');
      if (open?.type !== 'open') throw new Error('not open');
      expect(side.request).toEqual(open.request);
      expect(side.response).toEqual(open.response);
      expect(side.response!.status).toBe(101);
      expect(headerValue(side.request!, 'Sec-WebSocket-Key')).toBe(RFC_KEY);
    }
  });
});
