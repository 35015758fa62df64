import { describe, expect, it } from 'vitest';
import { BodyFramer, BodyFramingError } from '../../../src/core/forward-proxy/body-framer.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Feeds the input in pieces of `step` bytes; returns what was forwarded, whether it ended, and the extra bytes. */
function run(framer: BodyFramer, input: string, step: number) {
  const bytes = enc(input);
  let forwarded = '';
  let extra = '';
  let done = false;
  for (let at = 0; at < bytes.length; at += step) {
    const piece = framer.feed(bytes.subarray(at, at + step));
    forwarded += dec(piece.forward);
    extra += dec(piece.extra);
    done = piece.done;
  }
  return { forwarded, done, extra };
}

describe('request body framing while streaming (RFC 9112 §6.3, §7.1)', () => {
  const chunked = '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n';
  it.each([1, 2, 7, 1000])('a chunked body ends where its last chunk and trailers end (pieces of %i)', (step) => {
    expect(run(new BodyFramer({ kind: 'chunked' }), `${chunked}GET http://next/ HTTP/1.1`, step)).toEqual({ forwarded: chunked, done: true, extra: 'GET http://next/ HTTP/1.1' });
  });

  it('Content-Length: exactly that many bytes, the rest is extra', () => {
    expect(run(new BodyFramer({ kind: 'length', length: 4 }), 'abcdefg', 3)).toEqual({ forwarded: 'abcd', done: true, extra: 'efg' });
  });

  it('no body: everything is extra', () => {
    const framer = new BodyFramer({ kind: 'none' });
    expect(framer.done).toBe(true);
    expect(dec(framer.feed(enc('x')).extra)).toBe('x');
  });

  it.each([
    ['a size that is not hex', 'zz\r\n'],
    ['a bare LF', '5\nhello\r\n'],
    ['data without its CRLF', '1\r\nab\r\n'],
    ['an endless size line', `${'1'.repeat(5000)}`],
    ['endless trailers', `0\r\n${'X: y\r\n'.repeat(4000)}`],
  ])('refuses %s', (_name, input) => {
    expect(() => run(new BodyFramer({ kind: 'chunked' }), input, 64)).toThrow(BodyFramingError);
  });
});
