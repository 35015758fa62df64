/**
 * permessage-deflate (RFC 7692) in the sans-I/O protocol: the RFC's own examples byte for byte,
 * negotiation tables for both roles, violations with their close codes, limits while inflating,
 * and the trace fields the UI builds on.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8Encode } from '../../../src/core/bytes.ts';
import { negotiateAsServer } from '../../../src/core/extensions/extension.ts';
import { serverDeflateNegotiator, type DeflateOptions, type DeflateSetting } from '../../../src/core/extensions/permessage-deflate.ts';
import { RawDeflateStream } from '../../../src/core/extensions/zlib-stream.ts';
import { encodeFrame, FrameParser, type Frame, type FrameSpec } from '../../../src/core/frame-codec.ts';
import { computeAccept } from '../../../src/core/handshake.ts';
import { WebSocketProtocol, type ProtocolEvent, type ProtocolOptions } from '../../../src/core/protocol.ts';
import type { TraceBody, TracedFrame } from '../../../src/core/trace.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MASK = fromHex('37 fa 21 3d');
const hex = (bytes: Uint8Array) => toHex(bytes, ' ');

type Side = { p: WebSocketProtocol; traces: TraceBody[] };

function side(role: 'client' | 'server', options: Omit<ProtocolOptions, 'role'> = {}): Side {
  const traces: TraceBody[] = [];
  return { p: new WebSocketProtocol({ role, key: KEY, maskKeyGenerator: () => MASK, trace: (b) => traces.push(b), ...options }), traces };
}

function pump(from: WebSocketProtocol, to: WebSocketProtocol): void {
  for (const bytes of from.dataToSend()) to.receiveData(bytes);
}

/** A client and a server after the opening handshake. */
function pair(client: DeflateSetting | undefined = undefined, server: DeflateSetting | undefined = undefined, extra: Omit<ProtocolOptions, 'role'> = {}) {
  const c = side('client', { ...(client !== undefined ? { deflate: client } : {}), ...extra });
  const s = side('server', { ...(server !== undefined ? { deflate: server } : {}), ...extra });
  c.p.connect();
  pump(c.p, s.p);
  pump(s.p, c.p);
  expect(c.p.state).toBe('OPEN');
  expect(s.p.state).toBe('OPEN');
  c.p.events();
  s.p.events();
  return { c, s };
}

/** A client whose handshake got this response head (for checking responses). */
function clientWithResponse(extensionsHeaders: string[], options: Omit<ProtocolOptions, 'role'> = {}): Side {
  const c = side('client', options);
  c.p.connect();
  c.p.dataToSend();
  const head = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${computeAccept(KEY).accept}`,
    ...extensionsHeaders.map((v) => `Sec-WebSocket-Extensions: ${v}`), '', ''].join('\r\n');
  c.p.receiveData(utf8Encode(head));
  return c;
}

/** A client that agreed `response` (default: plain permessage-deflate) with a scripted server. */
function openClient(response = 'permessage-deflate', options: Omit<ProtocolOptions, 'role'> = {}): Side {
  const c = clientWithResponse([response], options);
  expect(c.p.state).toBe('OPEN');
  c.p.events();
  return c;
}

function frames(bytes: Uint8Array[]): Frame[] {
  const parser = new FrameParser();
  return parser.feedAll(concatBytes(bytes)).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

function messages(events: ProtocolEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.text ?? hex(e.data)] : []));
}

function traced<T extends TraceBody['type']>(s: Side, type: T): Array<Extract<TraceBody, { type: T }>> {
  return s.traces.filter((t): t is Extract<TraceBody, { type: T }> => t.type === type);
}

const sf = (spec: FrameSpec) => encodeFrame({ maskKey: null, ...spec });
const cf = (spec: FrameSpec) => encodeFrame({ maskKey: MASK, ...spec });

// ------------------------------------------------------------------ RFC 7692 §7.2.3

describe('RFC 7692 §7.2.3 examples, received (a client reading server frames)', () => {
  it.each([
    ['§7.2.3.1 "Hello" in one compressed block', ['c1 07 f2 48 cd c9 c9 07 00'], ['Hello']],
    ['§7.2.3.1 the same message in 2 fragments', ['41 03 f2 48 cd', '80 04 c9 c9 07 00'], ['Hello']],
    ['§7.2.3.2 two messages sharing the LZ77 window', ['c1 07 f2 48 cd c9 c9 07 00', 'c1 05 f2 00 11 00 00'], ['Hello', 'Hello']],
    ['§7.2.3.3 a DEFLATE block with no compression (stored)', ['c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00'], ['Hello']],
    ['§7.2.3.4 a DEFLATE block with BFINAL set', ['c1 08 f3 48 cd c9 c9 07 00 00'], ['Hello']],
    ['§7.2.3.5 two DEFLATE blocks in one message', ['c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00'], ['Hello']],
  ])('%s', (_name, wire, expected) => {
    const c = openClient();
    for (const w of wire) c.p.receiveData(fromHex(w));
    expect(messages(c.p.events())).toEqual(expected);
    expect(c.p.state).toBe('OPEN');
  });

  it('§7.2.3.1 fragmented: each frame\'s trace holds what it inflated to, the last says the tail was appended', () => {
    const c = openClient();
    c.p.receiveData(fromHex('41 03 f2 48 cd 80 04 c9 c9 07 00'));
    const [first, last] = traced(c, 'frame').map((t) => t.frame);
    expect(first!.rsv1).toBe(true);
    expect(first!.deflate).toMatchObject({ first: true, tail: null });
    expect(last!.deflate).toMatchObject({ first: false, tail: 'appended' });
    expect(new TextDecoder().decode(concatBytes([first!.deflate!.inflated, last!.deflate!.inflated]))).toBe('Hello');
    expect(hex(first!.payload)).toBe('f2 48 cd'); // the wire payload stays the compressed bytes
    const [message] = traced(c, 'message');
    expect(message!.compression).toMatchObject({ extension: 'permessage-deflate', compressedSize: 7, tail: 'appended', contextTakeover: false, windowBits: 15 });
    expect(hex(message!.compression!.compressed)).toBe('f2 48 cd c9 c9 07 00');
    expect(message!.compression!.ratio).toBeCloseTo(5 / 7);
  });

  it('§7.2.3.2: the second message is traced as using the window the first left (context takeover)', () => {
    const c = openClient();
    c.p.receiveData(fromHex('c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00'));
    const [one, two] = traced(c, 'message').map((m) => m.compression!);
    expect(one).toMatchObject({ contextTakeover: false, windowMessages: 0 });
    expect(two).toMatchObject({ contextTakeover: true, windowMessages: 1 });
    expect(two!.windowReason).toMatch(/Context takeover/);
  });

  it('§7.2.3.4: after a BFINAL block the window still serves the next message (the inflater restarts seeded with it)', () => {
    const c = openClient();
    c.p.receiveData(fromHex('c1 08 f3 48 cd c9 c9 07 00 00'));
    // "Hello" again as a back-reference to the first message (the §7.2.3.2 bytes).
    c.p.receiveData(fromHex('c1 05 f2 00 11 00 00'));
    expect(messages(c.p.events())).toEqual(['Hello', 'Hello']);
    expect(traced(c, 'message')[0]!.compression!.bfinal).toBe(true);
  });
});

describe('RFC 7692 §7.2.3 examples, sent byte for byte (our server compressing)', () => {
  it('"Hello" then "Hello": f2 48 cd c9 c9 07 00, then f2 00 11 00 00 (the shared window)', () => {
    const { s } = pair();
    s.p.sendText('Hello');
    s.p.sendText('Hello');
    expect(hex(concatBytes(s.p.dataToSend()))).toBe('c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00');
    const [one, two] = traced(s, 'message').filter((m) => m.direction === 'out').map((m) => m.compression!);
    expect(one).toMatchObject({ tail: 'stripped', contextTakeover: false, compressedSize: 7 });
    expect(two).toMatchObject({ tail: 'stripped', contextTakeover: true, compressedSize: 5 });
    const outFrames = traced(s, 'frame').filter((f) => f.direction === 'out').map((f) => f.frame);
    expect(outFrames[0]!.deflate).toMatchObject({ first: true, tail: 'stripped', inflatedLength: 5 });
  });

  it('level 0: the §7.2.3.3 stored block, c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00', () => {
    const { s } = pair(undefined, { level: 0 });
    s.p.sendText('Hello');
    expect(hex(concatBytes(s.p.dataToSend()))).toBe('c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00');
  });

  it('server_no_context_takeover: every "Hello" is f2 48 cd c9 c9 07 00 (the window is emptied)', () => {
    const { c, s } = pair({ serverNoContextTakeover: true }, undefined);
    s.p.sendText('Hello');
    s.p.sendText('Hello');
    const wire = concatBytes(s.p.dataToSend());
    expect(hex(wire)).toBe('c1 07 f2 48 cd c9 c9 07 00 c1 07 f2 48 cd c9 c9 07 00');
    const two = traced(s, 'message').filter((m) => m.direction === 'out')[1]!.compression!;
    expect(two.contextTakeover).toBe(false);
    expect(two.windowReason).toMatch(/server_no_context_takeover was agreed/);
    c.p.receiveData(wire);
    expect(messages(c.p.events())).toEqual(['Hello', 'Hello']);
  });

  it('a client masks the compressed payload; RSV1 only on the first of several fragments', () => {
    const { c, s } = pair();
    c.p.sendFragmented(1, utf8Encode('Hello, fragmented world'), [5, 7]);
    const sent = frames(c.p.dataToSend());
    expect(sent.map((f) => [f.header.opcode, f.header.rsv1, f.header.fin, f.header.masked])).toEqual([[1, true, false, true], [0, false, false, true], [0, false, true, true]]);
    for (const f of sent) s.p.receiveData(f.raw!);
    expect(messages(s.p.events())).toEqual(['Hello, fragmented world']);
    // Each frame carries the piece it was compressed from, as the receiver inflates it.
    const inflated = traced(s, 'frame').map((t) => new TextDecoder().decode(t.frame.deflate!.inflated));
    expect(inflated).toEqual(['Hello', ', fragm', 'ented world']);
  });

  it('empty messages, and an empty last fragment, still end with a stripped empty block', () => {
    const { c, s } = pair();
    s.p.sendText('');
    s.p.sendText('');
    s.p.sendFragmented(1, utf8Encode('abc'), [3]); // "abc" then an empty continuation
    pump(s.p, c.p);
    expect(messages(c.p.events())).toEqual(['', '', 'abc']);
    expect(c.p.state).toBe('OPEN');
  });

  it('control frames are never compressed', () => {
    const { c, s } = pair();
    s.p.sendPing(utf8Encode('ping ping ping ping'));
    s.p.close(1000, 'bye bye bye bye');
    const sent = frames(s.p.dataToSend());
    expect(sent.map((f) => [f.header.opcode, f.header.rsv1])).toEqual([[9, false], [8, false]]);
    expect(new TextDecoder().decode(sent[0]!.payload)).toBe('ping ping ping ping');
    pump(s.p, c.p);
  });
});

// ------------------------------------------------------------------ negotiation

describe('server negotiation (RFC 7692 §5, §7.1): offers in preference order, answered or declined', () => {
  const answer = (offered: string, options: DeflateOptions = {}) => negotiateAsServer(offered, [serverDeflateNegotiator(options)]);

  it.each<[string, DeflateOptions, string]>([
    ['permessage-deflate', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=10'],
    ['permessage-deflate; client_max_window_bits=12', {}, 'permessage-deflate; client_max_window_bits=12'],
    ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=10'],
    ['permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=9'],
    ['permessage-deflate', { clientMaxWindowBits: 10 }, 'permessage-deflate'], // §7.1.2.2: not offered, so not sent
    ['permessage-deflate; server_max_window_bits=10', {}, 'permessage-deflate; server_max_window_bits=10'],
    ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10'],
    ['permessage-deflate', { serverMaxWindowBits: 11 }, 'permessage-deflate; server_max_window_bits=11'],
    ['permessage-deflate; server_max_window_bits=8', {}, 'permessage-deflate; server_max_window_bits=8'],
    ['permessage-deflate; server_no_context_takeover', {}, 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_no_context_takeover', {}, 'permessage-deflate; client_no_context_takeover'],
    ['permessage-deflate', { serverNoContextTakeover: true, clientNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['permessage-deflate; server_max_window_bits="10"', {}, 'permessage-deflate; server_max_window_bits=10'],
    ['PERMESSAGE-DEFLATE; Server_No_Context_Takeover', {}, 'permessage-deflate; server_no_context_takeover'],
    // Firefox and ws: several elements; the first acceptable one wins.
    ['permessage-deflate; foo, permessage-deflate; server_max_window_bits=10', {}, 'permessage-deflate; server_max_window_bits=10'],
    ['x-webkit-deflate-frame, permessage-deflate', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits, permessage-deflate', {}, 'permessage-deflate'],
  ])('%j with %j → %j', (offered, options, response) => {
    const result = answer(offered, options);
    expect(result.responseHeader).toBe(response);
    expect(result.create).not.toBeNull();
    expect(result.trace.agreed?.name).toBe('permessage-deflate');
  });

  it.each<[string, RegExp, string]>([
    ['permessage-deflate; foo', /"foo" is not a permessage-deflate parameter/, 'RFC 7692 §7'],
    ['permessage-deflate; foo=1', /"foo" is not a permessage-deflate parameter/, 'RFC 7692 §7'],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', /more than once/, 'RFC 7692 §7'],
    ['permessage-deflate; client_max_window_bits; client_max_window_bits=10', /more than once/, 'RFC 7692 §7'],
    ['permessage-deflate; server_no_context_takeover=1', /has no value/, 'RFC 7692 §7.1.1.1'],
    ['permessage-deflate; client_no_context_takeover=true', /has no value/, 'RFC 7692 §7.1.1.2'],
    ['permessage-deflate; server_max_window_bits', /server_max_window_bits must be 8 to 15.*no value/, 'RFC 7692 §7.1.2.1'],
    ['permessage-deflate; server_max_window_bits=7', /got "7"/, 'RFC 7692 §7.1.2.1'],
    ['permessage-deflate; server_max_window_bits=16', /got "16"/, 'RFC 7692 §7.1.2.1'],
    ['permessage-deflate; server_max_window_bits=010', /without leading zeroes, got "010"/, 'RFC 7692 §7.1.2.1'],
    ['permessage-deflate; server_max_window_bits=abc', /got "abc"/, 'RFC 7692 §7.1.2.1'],
    ['permessage-deflate; client_max_window_bits=7', /client_max_window_bits must be 8 to 15/, 'RFC 7692 §7.1.2.2'],
    ['permessage-deflate; client_max_window_bits=+9', /got "\+9"/, 'RFC 7692 §7.1.2.2'],
  ])('declines %j: %s', (offered, reason, section) => {
    const result = answer(offered);
    expect(result.responseHeader).toBeNull();
    expect(result.create).toBeNull();
    expect(result.trace.offers).toHaveLength(1);
    expect(result.trace.offers[0]).toMatchObject({ verdict: 'declined', rfcSection: section });
    expect(result.trace.offers[0]!.reason).toMatch(reason);
  });

  it('a malformed header declines every offer and says where (RFC 6455 §9.1); the handshake goes on', () => {
    const result = answer('permessage-deflate; ');
    expect(result.responseHeader).toBeNull();
    expect(result.trace.error).toMatch(/Expected a parameter name after ";" in "permessage-deflate", found the end of the header/);
    const s = side('server');
    s.p.receiveData(utf8Encode(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; \r\n\r\n`));
    expect(s.p.state).toBe('OPEN');
    expect(new TextDecoder().decode(concatBytes(s.p.dataToSend()))).not.toMatch(/Sec-WebSocket-Extensions/i);
  });

  it('traces every offer with its verdict, in order: declined, accepted, then not chosen', () => {
    const result = answer('permessage-deflate; server_max_window_bits=99, x-foo, permessage-deflate; client_max_window_bits, permessage-deflate');
    expect(result.trace.offers.map((o) => [o.index, o.name, o.verdict])).toEqual([
      [0, 'permessage-deflate', 'declined'], [1, 'x-foo', 'unsupported'], [2, 'permessage-deflate', 'accepted'], [3, 'permessage-deflate', 'not-chosen'],
    ]);
    expect(result.summary).toBe('Accepted offer 3 of 4: answering "permessage-deflate".');
  });

  it('server_max_window_bits=8 is agreed as 8 and runs zlib with 9 (raw deflate has no 8-bit window)', () => {
    const result = answer('permessage-deflate; server_max_window_bits=8; client_max_window_bits=8');
    expect(result.responseHeader).toBe('permessage-deflate; server_max_window_bits=8; client_max_window_bits=8');
    expect(result.trace.agreed?.deflate).toMatchObject({ serverMaxWindowBits: 8, clientMaxWindowBits: 8, zlibWindowBits: { compress: 9, decompress: 9 } });
  });

  it('deflate: false declines every offer, and a server with deflate on answers a browser-like offer', () => {
    const offer = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`;
    const off = side('server', { deflate: false });
    off.p.receiveData(utf8Encode(offer));
    expect(new TextDecoder().decode(concatBytes(off.p.dataToSend()))).not.toMatch(/Sec-WebSocket-Extensions/i);
    expect(traced(off, 'handshake')[0]!.extensions?.offers[0]).toMatchObject({ verdict: 'declined' });
    expect(traced(off, 'handshake')[0]!.extensions?.offers[0]!.reason).toMatch(/turned off on this server/);
    const on = side('server');
    on.p.receiveData(utf8Encode(offer));
    expect(new TextDecoder().decode(concatBytes(on.p.dataToSend()))).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
    expect(on.p.events()[0]).toMatchObject({ type: 'open', extensions: 'permessage-deflate' });
  });
});

describe('client negotiation (RFC 7692 §7, §7.1): the response checked against what was offered', () => {
  it.each<[string, Omit<ProtocolOptions, 'role'>, string]>([
    ['default offer', {}, 'permessage-deflate; client_max_window_bits'],
    ['deflate off', { deflate: false }, ''],
    ['every parameter', { deflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 } }, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12'],
    ['two offers in preference order', { deflate: [{ serverMaxWindowBits: 10 }, { clientMaxWindowBits: false }] }, 'permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate'],
  ])('offers: %s', (_name, options, header) => {
    const c = side('client', options);
    c.p.connect();
    const head = new TextDecoder().decode(concatBytes(c.p.dataToSend()));
    const line = /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/i.exec(head);
    expect(line?.[1] ?? '').toBe(header);
  });

  it.each<[Omit<ProtocolOptions, 'role'>, string, Partial<Record<'compress' | 'decompress', number>>]>([
    [{}, 'permessage-deflate', { compress: 15, decompress: 15 }],
    [{}, 'permessage-deflate; client_max_window_bits=10', { compress: 10 }],
    [{}, 'permessage-deflate; server_max_window_bits=8', { decompress: 9 }], // §7.1.2.1: a server MAY send it unasked
    [{}, 'permessage-deflate; server_no_context_takeover', {}],
    [{}, 'permessage-deflate; client_no_context_takeover', {}],
    [{}, 'PerMessage-Deflate', {}],
    [{ deflate: { serverMaxWindowBits: 10 } }, 'permessage-deflate; server_max_window_bits=9', { decompress: 9 }],
    [{ deflate: { serverNoContextTakeover: true } }, 'permessage-deflate; server_no_context_takeover', {}],
    [{ deflate: { clientMaxWindowBits: 11 } }, 'permessage-deflate', { compress: 11 }], // our own hint binds us
    [{ deflate: [{ serverNoContextTakeover: true }, {}] }, 'permessage-deflate', {}], // fits the second offer
  ])('with %j, accepts %j', (options, response, bits) => {
    const c = clientWithResponse([response], options);
    expect(c.p.state).toBe('OPEN');
    const handshake = traced(c, 'handshake')[0]!;
    expect(handshake.ok).toBe(true);
    expect(handshake.extensions?.agreed?.name).toBe('permessage-deflate');
    expect(handshake.extensions?.agreed?.deflate?.zlibWindowBits).toMatchObject(bits);
    expect(handshake.extensions?.offers.some((o) => o.verdict === 'accepted')).toBe(true);
  });

  it.each<[Omit<ProtocolOptions, 'role'>, string[], RegExp]>([
    [{}, ['permessage-deflate; client_max_window_bits'], /client_max_window_bits in a response needs a value/],
    [{}, ['permessage-deflate; foo'], /"foo" is not a permessage-deflate parameter/],
    [{}, ['permessage-deflate; server_no_context_takeover; server_no_context_takeover'], /more than once/],
    [{}, ['permessage-deflate; server_max_window_bits=16'], /server_max_window_bits must be 8 to 15/],
    [{}, ['permessage-deflate, permessage-deflate'], /accepted 2 extensions/],
    [{}, ['x-other'], /"x-other", which this client did not offer/],
    [{}, ['permessage-deflate;'], /malformed/],
    [{}, ['permessage-deflate', 'permessage-deflate'], /2 times; it may appear at most once/],
    [{ deflate: false }, ['permessage-deflate'], /which this client did not offer/],
    [{ deflate: { clientMaxWindowBits: false } }, ['permessage-deflate; client_max_window_bits=10'], /client_max_window_bits, which the offer did not include/],
    [{ deflate: { clientMaxWindowBits: 10 } }, ['permessage-deflate; client_max_window_bits=12'], /12 is larger than the 10 offered/],
    [{ deflate: { serverMaxWindowBits: 10 } }, ['permessage-deflate'], /asked for server_max_window_bits=10 and the response does not include it/],
    [{ deflate: { serverMaxWindowBits: 10 } }, ['permessage-deflate; server_max_window_bits=12'], /12 is larger than the 10 offered/],
    [{ deflate: { serverNoContextTakeover: true } }, ['permessage-deflate'], /asked for server_no_context_takeover/],
  ])('with %j, fails the connection on %j', (options, response, reason) => {
    const c = clientWithResponse(response, options);
    expect(c.p.state).toBe('CLOSED');
    expect(c.p.transportAction).toBe('close');
    const failed = c.p.events().find((e) => e.type === 'handshake-failed');
    expect(failed?.type === 'handshake-failed' && failed.error.code).toBe('HANDSHAKE_EXTENSIONS');
    expect(failed?.type === 'handshake-failed' && failed.error.message).toMatch(reason);
    const check = traced(c, 'handshake')[0]!.checks.find((k) => k.rule === 'extensions');
    expect(check?.ok).toBe(false);
  });

  it('checks the response against a user header that replaced the generated offer', () => {
    const c = clientWithResponse(['permessage-deflate; server_no_context_takeover'], { headers: [{ name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate; server_no_context_takeover' }] });
    expect(c.p.state).toBe('OPEN');
    const refused = clientWithResponse(['permessage-deflate'], { headers: [{ name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate; server_no_context_takeover' }] });
    expect(refused.p.state).toBe('CLOSED');
  });

  it('rejects bad deflate options before any byte is written', () => {
    expect(() => new WebSocketProtocol({ role: 'client', deflate: { serverMaxWindowBits: 16 } })).toThrow(/serverMaxWindowBits must be an integer from 8 to 15/);
    expect(() => new WebSocketProtocol({ role: 'server', deflate: { clientMaxWindowBits: 7 } })).toThrow(/clientMaxWindowBits/);
    expect(() => new WebSocketProtocol({ role: 'client', deflate: [] })).toThrow(/at least one/);
    expect(() => new WebSocketProtocol({ role: 'server', deflate: { level: 10 } })).toThrow(/level/);
  });
});

// ------------------------------------------------------------------ violations

describe('violations, with their close codes', () => {
  const deflated = (text: string | Uint8Array) => {
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const out = concatBytes(d.process(typeof text === 'string' ? utf8Encode(text) : text).chunks);
    d.close();
    return out.subarray(0, out.length - 4);
  };

  it.each<[string, () => Uint8Array, string, number, DeflateSetting | undefined]>([
    ['RSV1 without the extension', () => cf({ opcode: 1, payload: deflated('Hello'), rsv1: true }), 'WS_ERR_RESERVED_BITS', 1002, false],
    ['RSV1 on a continuation frame', () => concatBytes([cf({ opcode: 1, payload: deflated('Hello').subarray(0, 3), rsv1: true, fin: false }), cf({ opcode: 0, payload: deflated('Hello').subarray(3), rsv1: true })]), 'WS_ERR_RSV1_ON_CONTINUATION', 1002, undefined],
    ['RSV1 on a ping', () => cf({ opcode: 9, payload: utf8Encode('hi'), rsv1: true }), 'WS_ERR_RSV1_ON_CONTROL_FRAME', 1002, undefined],
    ['RSV1 on a close', () => cf({ opcode: 8, payload: fromHex('03 e8'), rsv1: true }), 'WS_ERR_RSV1_ON_CONTROL_FRAME', 1002, undefined],
    ['RSV2 with permessage-deflate (it owns RSV1 only)', () => cf({ opcode: 1, payload: utf8Encode('x'), rsv2: true }), 'WS_ERR_RESERVED_BITS', 1002, undefined],
    ['a corrupt DEFLATE stream', () => cf({ opcode: 1, payload: fromHex('ff ff ff ff'), rsv1: true }), 'WS_ERR_INFLATE_FAILED', 1007, undefined],
    ['compressed text that inflates to invalid UTF-8', () => cf({ opcode: 1, payload: deflated(fromHex('48 65 c0 af')), rsv1: true }), 'WS_ERR_INVALID_UTF8', 1007, undefined],
    ['compressed text that ends inside a character', () => cf({ opcode: 1, payload: deflated(fromHex('48 e2 82')), rsv1: true }), 'WS_ERR_INVALID_UTF8', 1007, undefined],
  ])('%s → %s, Close %d', (_name, wire, code, closeCode, serverDeflate) => {
    const { c, s } = pair(undefined, serverDeflate);
    s.p.receiveData(wire());
    const events = s.p.events();
    const violation = events.find((e) => e.type === 'violation');
    expect(violation?.type === 'violation' && violation.violation.code).toBe(code);
    expect(violation?.type === 'violation' && violation.violation.closeCode).toBe(closeCode);
    const [close] = frames(s.p.dataToSend());
    expect(close!.header.opcode).toBe(8);
    expect((close!.payload[0]! << 8) | close!.payload[1]!).toBe(closeCode);
    expect(s.p.transportAction).toBe('close');
    expect(events.some((e) => e.type === 'message')).toBe(false);
    void c;
  });

  it('client_no_context_takeover agreed: a client message that refers back to the previous one fails with 1007', () => {
    const { s } = pair({ clientNoContextTakeover: true });
    s.p.receiveData(cf({ opcode: 1, payload: fromHex('f2 48 cd c9 c9 07 00'), rsv1: true }));
    s.p.receiveData(cf({ opcode: 1, payload: fromHex('f2 00 11 00 00'), rsv1: true })); // a back-reference (§7.2.3.2)
    const events = s.p.events();
    expect(messages(events)).toEqual(['Hello']);
    const violation = events.find((e) => e.type === 'violation');
    expect(violation?.type === 'violation' && violation.violation.code).toBe('WS_ERR_INFLATE_FAILED');
    expect(violation?.type === 'violation' && violation.violation.message).toMatch(/invalid distance too far back/);
  });

  it('the observe policy flags RSV1 on a continuation and keeps reading the message', () => {
    const { s } = pair(undefined, undefined, { policy: 'observe' });
    const data = fromHex('f2 48 cd c9 c9 07 00');
    s.p.receiveData(cf({ opcode: 1, payload: data.subarray(0, 3), rsv1: true, fin: false }));
    s.p.receiveData(cf({ opcode: 0, payload: data.subarray(3), rsv1: true }));
    const events = s.p.events();
    expect(messages(events)).toEqual(['Hello']);
    expect(events.filter((e) => e.type === 'violation').map((e) => e.type === 'violation' && e.violation.code)).toEqual(['WS_ERR_RSV1_ON_CONTINUATION']);
    expect(s.p.state).toBe('OPEN');
  });
});

// ------------------------------------------------------------------ limits

describe('limits: a message that inflates past the limit fails with 1009 while inflating', () => {
  it('1 MiB limit, a 2 MiB message: 1009 WS_ERR_INFLATED_TOO_BIG, nothing delivered', () => {
    const { s } = pair(undefined, undefined, { maxMessageSize: 1024 * 1024 });
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const payload = concatBytes(d.process(new Uint8Array(2 * 1024 * 1024).fill(0x61)).chunks);
    s.p.receiveData(cf({ opcode: 2, payload: payload.subarray(0, payload.length - 4), rsv1: true }));
    const events = s.p.events();
    const violation = events.find((e) => e.type === 'violation');
    expect(violation?.type === 'violation' && violation.violation.code).toBe('WS_ERR_INFLATED_TOO_BIG');
    expect(violation?.type === 'violation' && violation.violation.closeCode).toBe(1009);
    expect(events.some((e) => e.type === 'message')).toBe(false);
    expect(s.p.messageInProgress()?.bytes ?? 0).toBeLessThanOrEqual(1024 * 1024 + 1);
  });

  it('a message exactly at the limit inflates and is delivered', () => {
    const limit = 100_000;
    const { s } = pair(undefined, undefined, { maxMessageSize: limit });
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const payload = concatBytes(d.process(new Uint8Array(limit).fill(0x62)).chunks);
    s.p.receiveData(cf({ opcode: 2, payload: payload.subarray(0, payload.length - 4), rsv1: true }));
    const [message] = s.p.events();
    expect(message?.type === 'message' && message.data.length).toBe(limit);
  });

  it('a small frame that would inflate to 1 GiB fails before its last byte arrives, growing memory by less than twice the limit', () => {
    const limit = 16 * 1024 * 1024;
    // 1 GiB of zeros, compressed in 1 MiB steps (never holding the GiB): about 1 MiB of DEFLATE.
    const d = new RawDeflateStream('deflate', { windowBits: 15 });
    const zeros = new Uint8Array(1024 * 1024);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 1024; i++) parts.push(...d.process(zeros, zlib.constants.Z_NO_FLUSH).chunks.map((c) => c.slice()));
    parts.push(...d.process(new Uint8Array(0)).chunks);
    d.close();
    const bomb = concatBytes(parts);
    expect(bomb.length).toBeLessThan(1100 * 1024); // DEFLATE's best ratio is 1032:1
    const frame = cf({ opcode: 2, payload: bomb.subarray(0, bomb.length - 4), rsv1: true });
    const { s } = pair(undefined, undefined, { maxMessageSize: limit });
    const before = process.memoryUsage();
    let fedWhenFailed = -1;
    for (let at = 0; at < frame.length; at += 64 * 1024) {
      s.p.receiveData(frame.subarray(at, at + 64 * 1024));
      if (s.p.transportAction === 'close') {
        fedWhenFailed = Math.min(frame.length, at + 64 * 1024);
        break;
      }
    }
    const after = process.memoryUsage();
    const growth = Math.max(after.arrayBuffers - before.arrayBuffers, after.rss - before.rss);
    console.log(`[deflate bomb] ${(frame.length / 1024).toFixed(0)} KiB frame (would inflate to 1 GiB), limit ${limit / 1024 / 1024} MiB: failed after ${(fedWhenFailed / 1024).toFixed(0)} KiB fed, memory growth ${(growth / 1024 / 1024).toFixed(1)} MiB (arrayBuffers ${((after.arrayBuffers - before.arrayBuffers) / 1024 / 1024).toFixed(1)} MiB, rss ${((after.rss - before.rss) / 1024 / 1024).toFixed(1)} MiB)`);
    const violation = s.p.events().find((e) => e.type === 'violation');
    expect(violation?.type === 'violation' && violation.violation.code).toBe('WS_ERR_INFLATED_TOO_BIG');
    expect(fedWhenFailed).toBeGreaterThan(0);
    expect(fedWhenFailed).toBeLessThan(frame.length); // while inflating, not after the frame
    expect(growth).toBeLessThan(2 * limit);
  });

  it('compressed wire bytes count toward the limit too: empty stored blocks that inflate to nothing cannot pile up', () => {
    const { s } = pair(undefined, undefined, { maxMessageSize: 1000 });
    const emptyBlocks = concatBytes(Array.from({ length: 120 }, () => fromHex('00 00 00 ff ff'))); // 600 bytes, 0 plain
    s.p.receiveData(cf({ opcode: 2, payload: emptyBlocks, rsv1: true, fin: false }));
    expect(s.p.messageInProgress()).toMatchObject({ frames: 1, bytes: 0 });
    s.p.receiveData(cf({ opcode: 0, payload: emptyBlocks }));
    const violation = s.p.events().find((e) => e.type === 'violation');
    expect(violation?.type === 'violation' && violation.violation.code).toBe('WS_ERR_MESSAGE_TOO_BIG');
    expect(violation?.type === 'violation' && violation.violation.message).toMatch(/would be 1264 bytes/);
  });
});

// ------------------------------------------------------------------ window bits 8

describe('windowBits 8 (RFC 7692 §7.1.2): agreed as 8, run by zlib as 9, within what was promised', () => {
  it('both directions work, and what we compress never reaches further back than 256 bytes', () => {
    const { c, s } = pair({ serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, undefined);
    expect(traced(s, 'handshake')[0]!.extensions?.agreed?.deflate).toMatchObject({ serverMaxWindowBits: 8, clientMaxWindowBits: 8, zlibWindowBits: { compress: 9, decompress: 9 } });
    // Repeats 300 to 500 bytes apart: a 9-bit window could reach them, an 8-bit one cannot.
    const unit = Array.from({ length: 400 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    const text = `${unit}${unit}${unit}`;
    s.p.sendText(text);
    const [frame] = frames(s.p.dataToSend());
    // A strict 8-bit inflater, given small output steps so that its window really is 256 bytes.
    const strict = zlib.inflateRawSync(concatBytes([frame!.payload, fromHex('00 00 ff ff')]), { windowBits: 8, chunkSize: 64, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(strict.toString()).toBe(text);
    c.p.receiveData(frame!.raw!);
    expect(messages(c.p.events())).toEqual([text]);
    c.p.sendText(text);
    pump(c.p, s.p);
    expect(messages(s.p.events())).toEqual([text]);
  });
});

// ------------------------------------------------------------------ round trips

describe('round trips between our client and server', () => {
  it.each<[string, DeflateSetting | undefined, DeflateSetting | undefined]>([
    ['defaults (context takeover both ways)', undefined, undefined],
    ['no context takeover either way', { serverNoContextTakeover: true, clientNoContextTakeover: true }, undefined],
    ['small windows', { serverMaxWindowBits: 9, clientMaxWindowBits: 10 }, { clientMaxWindowBits: 9 }],
  ])('%s: many sizes, text and binary, both directions, fragmented too', (_name, clientSetting, serverSetting) => {
    const { c, s } = pair(clientSetting, serverSetting);
    const sizes = [0, 1, 64, 1000, 16 * 1024, 100_000];
    const json = (n: number) => JSON.stringify(Array.from({ length: Math.ceil(n / 40) }, (_, i) => ({ id: i, name: `item ${i}` }))).slice(0, n);
    for (const n of sizes) {
      c.p.sendText(json(n));
      s.p.sendBinary(utf8Encode(json(n)));
      c.p.sendFragmented(2, utf8Encode(json(n)), [Math.floor(n / 3), Math.floor(n / 3)]);
    }
    pump(c.p, s.p);
    pump(s.p, c.p);
    const got = s.p.events().filter((e) => e.type === 'message');
    expect(got).toHaveLength(2 * sizes.length);
    expect(got.map((e) => (e.type === 'message' ? new TextDecoder().decode(e.data) : ''))).toEqual(sizes.flatMap((n) => [json(n), json(n)]));
    const back = c.p.events().filter((e) => e.type === 'message');
    expect(back.map((e) => (e.type === 'message' ? new TextDecoder().decode(e.data) : ''))).toEqual(sizes.map(json));
    // Every data frame on the wire had RSV1 only when it opened a message.
    const wire = traced(c, 'frame').filter((f) => f.direction === 'out').map((f) => f.frame as TracedFrame);
    for (const f of wire) expect(f.rsv1).toBe(f.opcode !== 0);
  });
});

describe('prepareMessage: the same compression done off the event loop (the I/O adapter sends it after)', () => {
  const json = (n: number, v: number) => JSON.stringify(Array.from({ length: Math.ceil(n / 30) }, (_, i) => ({ id: i * v, name: `item ${i + v}` }))).slice(0, n);
  const texts = [json(100_000, 1), 'Hello', json(40_000, 2), json(300, 3), json(250_000, 4), ''];

  it.each<[string, DeflateSetting | undefined]>([
    ['context takeover', undefined],
    ['server_no_context_takeover', { serverNoContextTakeover: true }],
  ])('%s: the wire bytes are those of compressing inline, byte for byte, whichever messages are prepared', async (_name, clientSetting) => {
    const inline = pair(clientSetting, undefined);
    const offloaded = pair(clientSetting, undefined);
    const extension = offloaded.s.p.extensionInForce!;
    for (const [i, text] of texts.entries()) {
      inline.s.p.sendText(text);
      // Every other message goes through the thread pool first; the rest are compressed inline on the same stream.
      if (i % 2 === 0) await extension.prepareMessage!(1, [utf8Encode(text)]);
      offloaded.s.p.sendText(text);
    }
    const wire = concatBytes(offloaded.s.p.dataToSend());
    expect(hex(wire)).toBe(hex(concatBytes(inline.s.p.dataToSend())));
    offloaded.c.p.receiveData(wire);
    expect(messages(offloaded.c.p.events())).toEqual(texts);
    const windows = traced(offloaded.s, 'message').map((m) => m.compression!.windowMessages);
    expect(windows).toEqual(clientSetting ? [0, 0, 0, 0, 0, 0] : [0, 1, 2, 3, 4, 5]);
  });

  it('under the threshold, or a control opcode, there is nothing to prepare (null)', () => {
    const { s } = pair(undefined, { threshold: 1024 });
    const extension = s.p.extensionInForce!;
    expect(extension.prepareMessage!(1, [new Uint8Array(1000)])).toBeNull();
    expect(extension.prepareMessage!(9, [new Uint8Array(2000)])).toBeNull();
  });

  it('a crafted frame compressed elsewhere while a message is being prepared: that message is compressed again from an empty window', async () => {
    const { c, s } = pair();
    s.p.sendText(texts[0]!); // the window now holds it
    const extension = s.p.extensionInForce!;
    const preparing = extension.prepareMessage!(1, [utf8Encode(texts[0]!)]);
    s.p.restartOutgoingWindow('a crafted compressed frame went out');
    await preparing;
    s.p.sendText(texts[0]!);
    const wire = concatBytes(s.p.dataToSend());
    const second = traced(s, 'message')[1]!.compression!;
    expect(second).toMatchObject({ contextTakeover: false, windowMessages: 0, windowReason: 'a crafted compressed frame went out' });
    // Compressed from nothing: the same payload the first message had on the fresh connection.
    const [first, again] = frames([wire]);
    expect(hex(again!.payload)).toBe(hex(first!.payload));
    c.p.receiveData(wire);
    expect(messages(c.p.events())).toEqual([texts[0], texts[0]]);
  });

  it('a prepared result sent for another message is dropped, the window starts over, and the peer still inflates both', async () => {
    const { c, s } = pair();
    s.p.sendText('warm the window');
    const extension = s.p.extensionInForce!;
    await extension.prepareMessage!(1, [utf8Encode(texts[0]!)]);
    s.p.sendText(texts[2]!); // not the prepared one
    s.p.sendText(texts[2]!);
    const [, other, next] = traced(s, 'message').map((m) => m.compression!);
    expect(other).toMatchObject({ windowMessages: 0 });
    expect(other!.windowReason).toMatch(/compressed ahead of time was not the one sent/);
    expect(next).toMatchObject({ windowMessages: 1, contextTakeover: true });
    c.p.receiveData(concatBytes(s.p.dataToSend()));
    expect(messages(c.p.events())).toEqual(['warm the window', texts[2], texts[2]]);
  });

  it('closing while a message is being prepared settles it; preparing twice without sending throws', async () => {
    const { s } = pair();
    const extension = s.p.extensionInForce!;
    const first = extension.prepareMessage!(1, [utf8Encode(texts[0]!)]);
    expect(() => extension.prepareMessage!(1, [utf8Encode(texts[0]!)])).toThrow(/already prepared/);
    extension.close();
    await expect(first).resolves.toBeUndefined();
  });
});

describe('step mode (frames traced when written)', () => {
  it('a held compressed frame is traced with its plain side once written, and an edited one without it', () => {
    const { s } = pair();
    s.p.deferOutgoingTrace = true;
    s.p.sendText('Hello');
    s.p.sendText('Hello');
    const [held, second] = s.p.takeOutput().map((c) => c.bytes);
    expect(traced(s, 'frame').filter((f) => f.direction === 'out')).toHaveLength(0);
    s.p.traceOutgoingFrameBytes(held!);
    s.p.traceOutgoingFrameBytes(Uint8Array.from(second!)); // a copy, as an edit makes new bytes
    const out = traced(s, 'frame').filter((f) => f.direction === 'out').map((f) => f.frame);
    expect(out[0]!.deflate).toMatchObject({ first: true, tail: 'stripped', inflatedLength: 5 });
    expect(out[1]!.deflate).toBeUndefined();
    expect(out[1]!.rsv1).toBe(true);
  });
});

describe('hostile compressed data (fuzz)', () => {
  it('random payloads with RSV1, cut into random frames and TCP chunks, never throw: a message or a violation with a close code', async () => {
    const fc = (await import('fast-check')).default;
    const valid = (() => {
      const d = new RawDeflateStream('deflate', { windowBits: 15 });
      const out = concatBytes(d.process(utf8Encode('{"a":1,"b":[1,2,3],"c":"hello hello hello"}')).chunks);
      return out.subarray(0, out.length - 4);
    })();
    fc.assert(fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.nat(valid.length), fc.nat(255)).map(([at, byte]) => { const c = valid.slice(); if (at < c.length) c[at] = byte; return c; })),
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 50 }), fc.boolean(),
      (payload, pieces, chunk, text) => {
        const { s } = pair(undefined, undefined, { maxMessageSize: 64 * 1024 });
        const size = Math.ceil(payload.length / pieces) || 1;
        const frames: Uint8Array[] = [];
        for (let i = 0; i * size < Math.max(1, payload.length); i++) {
          const last = (i + 1) * size >= payload.length;
          frames.push(cf({ opcode: i === 0 ? (text ? 1 : 2) : 0, rsv1: i === 0, fin: last, payload: payload.subarray(i * size, (i + 1) * size) }));
        }
        const wire = concatBytes(frames);
        for (let at = 0; at < wire.length; at += chunk) s.p.receiveData(wire.subarray(at, at + chunk));
        const events = s.p.events();
        const outcome = events.find((e) => e.type === 'message' || e.type === 'violation');
        expect(outcome).toBeDefined();
        if (outcome?.type === 'violation') expect([1002, 1007, 1009]).toContain(outcome.violation.closeCode);
      },
    ), { numRuns: 1500, seed: 7692 });
  });
});
