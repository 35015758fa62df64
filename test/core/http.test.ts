import { describe, it, expect } from 'vitest';
import {
  formatRequestHead, formatResponseHead, headerValue, headerValues, HttpHeadParser, isToken, parseHead, splitList,
  type HeadParseResult,
} from '../../src/core/http.ts';
import { HandshakeError } from '../../src/core/errors.ts';
import { concatBytes, toHex } from '../../src/core/bytes.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

// RFC 6455 §1.3's example request.
const rfcRequest =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

function feedBytewise(parser: HttpHeadParser, bytes: Uint8Array): { result: HeadParseResult; doneAt: number } {
  for (let i = 0; i < bytes.length; i++) {
    const result = parser.feed(bytes.subarray(i, i + 1));
    if (result.done) return { result, doneAt: i };
  }
  return { result: { done: false }, doneAt: -1 };
}

describe('HttpHeadParser: requests', () => {
  it('parses the RFC 6455 §1.3 request in one chunk', () => {
    const result = new HttpHeadParser({ kind: 'request', maxSize: 16384 }).feed(ascii(rfcRequest));
    expect(result.done).toBe(true);
    if (!result.done) return;
    const { head, rest } = result;
    expect(head).toMatchObject({ kind: 'request', method: 'GET', target: '/chat', version: 'HTTP/1.1', versionMajor: 1, versionMinor: 1 });
    expect(head.headers).toEqual([
      { name: 'Host', value: 'server.example.com' },
      { name: 'Upgrade', value: 'websocket' },
      { name: 'Connection', value: 'Upgrade' },
      { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' },
      { name: 'Origin', value: 'http://example.com' },
      { name: 'Sec-WebSocket-Protocol', value: 'chat, superchat' },
      { name: 'Sec-WebSocket-Version', value: '13' },
    ]);
    expect(rest.length).toBe(0);
    expect(toHex(head.raw)).toBe(toHex(ascii(rfcRequest)));
  });

  it('byte-at-a-time feeding finishes exactly on the last LF and gives the same head', () => {
    const bytes = ascii(rfcRequest);
    const parser = new HttpHeadParser({ kind: 'request', maxSize: 16384 });
    const { result, doneAt } = feedBytewise(parser, bytes);
    expect(doneAt).toBe(bytes.length - 1);
    expect(result.done).toBe(true);
    if (!result.done) return;
    const whole = new HttpHeadParser({ kind: 'request', maxSize: 16384 }).feed(bytes);
    if (!whole.done) throw new Error('not done');
    expect(result.head).toEqual(whole.head);
    expect(result.rest.length).toBe(0);
  });

  it('received counts bytes held so far', () => {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: 16384 });
    parser.feed(ascii('GET / HT'));
    expect(parser.received).toBe(8);
  });

  it('returns the bytes after the head intact (frames sent right behind the handshake), at every split', () => {
    const frame = Uint8Array.of(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x0d, 0x0a, 0x0d, 0x0a);
    const all = concatBytes([ascii(rfcRequest), frame]);
    for (let cut = 1; cut < all.length; cut++) {
      const parser = new HttpHeadParser({ kind: 'request', maxSize: 16384 });
      // The caller hands over what it had; if the head ended in the first chunk, the second chunk is frames.
      const first = parser.feed(all.subarray(0, cut));
      const result = first.done ? first : parser.feed(all.subarray(cut));
      expect(result.done).toBe(true);
      if (!result.done) return;
      const expectedRest = first.done ? all.subarray(rfcRequest.length, cut) : all.subarray(rfcRequest.length);
      expect(toHex(result.rest), `cut at ${cut}`).toBe(toHex(expectedRest));
      expect(first.done).toBe(cut >= rfcRequest.length);
      expect(toHex(result.head.raw)).toBe(toHex(ascii(rfcRequest)));
    }
  });

  it('keeps the raw bytes exactly, including odd spacing and non-ASCII header bytes', () => {
    const raw = concatBytes([ascii('GET /x HTTP/1.1\r\nHost:   a.example  \r\nX-Name: caf'), Uint8Array.of(0xc3, 0xa9), ascii('\r\n\r\n')]);
    const result = new HttpHeadParser({ kind: 'request', maxSize: 1000 }).feed(raw);
    if (!result.done) throw new Error('not done');
    expect(toHex(result.head.raw)).toBe(toHex(raw));
    expect(headerValue(result.head, 'host')).toBe('a.example');
    // latin1 keeps each byte as one character
    expect(headerValue(result.head, 'X-Name')).toBe('caf\u00c3\u00a9');
  });

  it('the raw copy is not affected by later changes to the input buffer', () => {
    const bytes = ascii(rfcRequest);
    const result = new HttpHeadParser({ kind: 'request', maxSize: 16384 }).feed(bytes);
    bytes.fill(0);
    if (!result.done) throw new Error('not done');
    expect(new TextDecoder().decode(result.head.raw)).toBe(rfcRequest);
  });

  it('grows past its initial buffer when fed byte by byte (a 2 KB head)', () => {
    const head = `GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(2000)}\r\n\r\n`;
    const { result } = feedBytewise(new HttpHeadParser({ kind: 'request', maxSize: 16384 }), ascii(head));
    if (!result.done) throw new Error('not done');
    expect(headerValue(result.head, 'x-long')).toHaveLength(2000);
  });
});

describe('HttpHeadParser: size limit (431)', () => {
  it('throws HandshakeError 431 when the head passes maxSize without ending (one chunk)', () => {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: 64 });
    const error = catchError(() => parser.feed(ascii(`GET / HTTP/1.1\r\nX: ${'a'.repeat(100)}`)));
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).status).toBe(431);
  });

  it('throws 431 when fed byte by byte, at the limit', () => {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: 64 });
    const bytes = ascii(`GET / HTTP/1.1\r\nX: ${'a'.repeat(100)}\r\n\r\n`);
    let thrownAt = -1;
    let error: unknown;
    for (let i = 0; i < bytes.length; i++) {
      try {
        parser.feed(bytes.subarray(i, i + 1));
      } catch (e) {
        error = e;
        thrownAt = i;
        break;
      }
    }
    expect((error as HandshakeError).status).toBe(431);
    expect(thrownAt).toBe(63);
  });

  it('throws 431 when the end of the head lies beyond maxSize even if it arrived', () => {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: 64 });
    const error = catchError(() => parser.feed(ascii(`GET / HTTP/1.1\r\nX: ${'a'.repeat(100)}\r\n\r\n`)));
    expect((error as HandshakeError).status).toBe(431);
  });

  it('a head of exactly maxSize bytes is accepted', () => {
    const head = ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const result = new HttpHeadParser({ kind: 'request', maxSize: head.length }).feed(head);
    expect(result.done).toBe(true);
  });

  it('frames after a small head do not count against maxSize', () => {
    const head = ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const result = new HttpHeadParser({ kind: 'request', maxSize: head.length }).feed(concatBytes([head, new Uint8Array(1000)]));
    expect(result.done).toBe(true);
    if (result.done) expect(result.rest.length).toBe(1000);
  });
});

describe('HttpHeadParser: malformed heads (400)', () => {
  it.each([
    ['request line with 2 parts', 'GET /\r\nHost: x\r\n\r\n', /request line/],
    ['request line with 4 parts', 'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n', /request line/],
    ['double space in the request line', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', /request line/],
    ['not an HTTP version', 'GET / HTTX/1.1\r\nHost: x\r\n\r\n', /not an HTTP version/],
    ['version with two digits', 'GET / HTTP/11\r\nHost: x\r\n\r\n', /not an HTTP version/],
    ['method with a bad character', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', /not a valid method token/],
    ['empty request line', '\r\nHost: x\r\n\r\n', /request line/],
    ['header without a colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', /has no name/],
    ['header with an empty name', 'GET / HTTP/1.1\r\n: x\r\n\r\n', /has no name/],
    ['obs-fold with a space', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n', /folding/],
    ['obs-fold with a tab', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo: three\r\n\r\n', /folding/],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', /not a valid header name/],
    ['bare LF between headers', 'GET / HTTP/1.1\r\nHost: x\nUpgrade: websocket\r\n\r\n', /bare CR or LF/],
    ['bare LF after the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n', /bare CR or LF/],
    ['bare CR inside a value', 'GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n', /bare CR or LF/],
  ])('%s → 400', (_name, head, message) => {
    const error = catchError(() => new HttpHeadParser({ kind: 'request', maxSize: 16384 }).feed(ascii(head)));
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).status).toBe(400);
    expect((error as HandshakeError).code).toBe('HTTP_MALFORMED');
    expect((error as HandshakeError).message).toMatch(message);
  });

  it.each([
    ['minimal', 'GET / HTTP/1.1\r\n\r\n'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x\r\n\r\n'],
    ['header without a space after the colon', 'GET / HTTP/1.1\r\nHost:x\r\n\r\n'],
    ['empty header value', 'GET / HTTP/1.1\r\nX-Empty:\r\n\r\n'],
    ['absolute target', 'GET http://x/chat?a=1 HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('well-formed %s head parses', (_name, head) => {
    expect(new HttpHeadParser({ kind: 'request', maxSize: 16384 }).feed(ascii(head)).done).toBe(true);
  });
});

describe('HttpHeadParser: responses', () => {
  it.each([
    ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 101, 'Switching Protocols'],
    ['HTTP/1.1 404 Not Found\r\n\r\n', 404, 'Not Found'],
    ['HTTP/1.1 200\r\n\r\n', 200, ''],
    ['HTTP/1.0 426 Upgrade Required\r\n\r\n', 426, 'Upgrade Required'],
  ])('%j → status %i, reason %j', (text, status, reason) => {
    const result = new HttpHeadParser({ kind: 'response', maxSize: 1000 }).feed(ascii(text));
    if (!result.done) throw new Error('not done');
    expect(result.head.kind).toBe('response');
    expect(result.head.status).toBe(status);
    expect(result.head.reason).toBe(reason);
  });

  it.each([
    ['no status code', 'HTTP/1.1 Switching\r\n\r\n'],
    ['two-digit status', 'HTTP/1.1 10 Bad\r\n\r\n'],
    ['not HTTP', 'HTTX/1.1 101 OK\r\n\r\n'],
    ['header without a colon', 'HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n'],
  ])('malformed response: %s → 400', (_name, text) => {
    const error = catchError(() => new HttpHeadParser({ kind: 'response', maxSize: 1000 }).feed(ascii(text)));
    expect((error as HandshakeError).status).toBe(400);
  });
});

describe('header helpers', () => {
  const head = parseHead(ascii('GET / HTTP/1.1\r\nConnection: keep-alive\r\nX-A: 1\r\nconnection: Upgrade\r\n\r\n'), 'request');

  it('headerValues finds repeated headers case-insensitively, in order', () => {
    expect(headerValues(head, 'CONNECTION')).toEqual(['keep-alive', 'Upgrade']);
    expect(headerValues(head, 'missing')).toEqual([]);
  });

  it('headerValue joins repeated headers with ", " (RFC 9110 §5.3)', () => {
    expect(headerValue(head, 'connection')).toBe('keep-alive, Upgrade');
    expect(headerValue(head, 'x-a')).toBe('1');
    expect(headerValue(head, 'missing')).toBeUndefined();
  });

  it.each([
    [undefined, []],
    ['', []],
    ['a', ['a']],
    [' a , b,,c ', ['a', 'b', 'c']],
    ['keep-alive, Upgrade', ['keep-alive', 'Upgrade']],
  ])('splitList(%j) = %j', (value, list) => {
    expect(splitList(value)).toEqual(list);
  });

  it.each([
    ['GET', true],
    ['Sec-WebSocket-Key', true],
    ["!#$%&'*+-.^_`|~09azAZ", true],
    ['', false],
    ['a b', false],
    ['a:b', false],
    ['a,b', false],
    ['(x)', false],
    ['é', false],
  ])('isToken(%j) = %s', (s, ok) => {
    expect(isToken(s)).toBe(ok);
  });
});

describe('formatRequestHead / formatResponseHead', () => {
  it('writes CRLF-separated lines ending in an empty line', () => {
    const bytes = formatRequestHead('GET', '/chat', [{ name: 'Host', value: 'x' }]);
    expect(new TextDecoder().decode(bytes)).toBe('GET /chat HTTP/1.1\r\nHost: x\r\n\r\n');
  });

  it('writes the status line and headers', () => {
    const bytes = formatResponseHead(101, 'Switching Protocols', [{ name: 'Upgrade', value: 'websocket' }]);
    expect(new TextDecoder().decode(bytes)).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
  });

  it('what it writes, the parser reads back', () => {
    const headers = [{ name: 'A', value: '1' }, { name: 'B-c', value: 'two words' }];
    const req = parseHead(formatRequestHead('GET', '/p?q=1', headers), 'request');
    expect(req).toMatchObject({ method: 'GET', target: '/p?q=1', headers });
    const res = parseHead(formatResponseHead(403, 'Forbidden', headers), 'response');
    expect(res).toMatchObject({ status: 403, reason: 'Forbidden', headers });
  });
});
