/**
 * What may be written into a handshake on someone's behalf: subprotocols are tokens
 * (RFC 6455 §4.1 item 10, §11.3.4), header names are tokens (RFC 9110 §5.1), and a header value
 * never carries CR, LF or NUL (RFC 9110 §5.5), which would smuggle bytes after the request head.
 */
import { describe, expect, it } from 'vitest';
import {
  checkHandshakeOptions, HandshakeOptionError, headerNameProblem, headerValueProblem, parseHeaderLine, parseHeaderLines, subprotocolProblem,
} from '../../src/core/http-tokens.ts';

describe('subprotocolProblem (RFC 6455 §4.1 item 10, §11.3.4)', () => {
  it.each(['chat', 'v2.chat.example.com', 'graphql-ws', "a!#$%&'*+-.^_`|~z", 'X1'])('accepts %j', (name) => {
    expect(subprotocolProblem(name)).toBeNull();
  });

  it.each([
    ['a b', /not a valid subprotocol.*token/],
    ['', /cannot be empty/],
    ['x,y', /not a valid subprotocol/],
    ['"quoted"', /not a valid subprotocol/],
    ['é', /not a valid subprotocol/],
    ['a\r\nX-Evil: 1', /not a valid subprotocol/],
    ['a\tb', /not a valid subprotocol/],
  ])('refuses %j', (name, message) => {
    const problem = subprotocolProblem(name);
    expect(problem).toMatch(message);
    expect(problem).toMatch(/RFC 6455 §4\.1/);
    // The message stays one line whatever the input holds.
    expect(problem).not.toMatch(/[\r\n\t]/);
  });
});

describe('headerNameProblem (RFC 9110 §5.1)', () => {
  it.each(['Origin', 'X-Trace-Id', 'sec-websocket-key'])('accepts %j', (name) => {
    expect(headerNameProblem(name)).toBeNull();
  });

  it.each(['Bad Name', '', 'X:Y', 'X\r\nY', 'Ünïcode', '(x)'])('refuses %j', (name) => {
    expect(headerNameProblem(name)).toMatch(/not a valid header name.*RFC 9110 §5\.1/);
  });
});

describe('headerValueProblem (RFC 9110 §5.5: CR, LF and NUL are dangerous)', () => {
  it.each(['', 'plain', 'with spaces and "quotes", commas; tabs\there', 'ünïcode ✓', '\x01\x7f'])('accepts %j', (value) => {
    expect(headerValueProblem('X', value)).toBeNull();
  });

  it.each([
    ['a\rb', 'a CR'],
    ['a\nb', 'an LF'],
    ['a\0b', 'a NUL'],
    ['ok\r\n\r\nGET /smuggled HTTP/1.1', 'a CR'],
  ])('refuses %j (%s)', (value, which) => {
    const problem = headerValueProblem('X-Evil', value);
    expect(problem).toContain(which);
    expect(problem).toMatch(/RFC 9110 §5\.5/);
    expect(problem).toMatch(/smuggle/);
  });
});

describe('parseHeaderLine', () => {
  it.each([
    ['Origin: http://example.com', { name: 'Origin', value: 'http://example.com' }],
    ['X-A:b', { name: 'X-A', value: 'b' }],
    ['  X-A  :  spaced value  ', { name: 'X-A', value: 'spaced value' }],
    ['X-Empty:', { name: 'X-Empty', value: '' }],
    ['Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' }],
  ])('%j', (line, header) => {
    expect(parseHeaderLine(line)).toEqual(header);
  });

  it.each([
    ['no colon', /Name: value/],
    [': no name', /Name: value/],
    ['Bad Name: x', /not a valid header name/],
    ['X: a\r\nInjected: 1', /contains a CR/],
    ['X: a\nInjected: 1', /contains an LF/],
    ['X: a\0', /contains a NUL/],
  ])('refuses %j with a HandshakeOptionError', (line, message) => {
    expect(() => parseHeaderLine(line)).toThrow(HandshakeOptionError);
    expect(() => parseHeaderLine(line)).toThrow(message);
  });

  it('parseHeaderLines skips blank lines, as a text box leaves them', () => {
    expect(parseHeaderLines(['', 'A: 1', '   ', 'B: 2'])).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
  });
});

describe('checkHandshakeOptions', () => {
  it('accepts good subprotocols and headers', () => {
    expect(() => checkHandshakeOptions({ subprotocols: ['chat', 'superchat'], headers: [{ name: 'Origin', value: 'http://x' }] })).not.toThrow();
    expect(() => checkHandshakeOptions({})).not.toThrow();
  });

  it.each([
    [{ subprotocols: ['chat', 'chat'] }, /offered twice.*§4\.1 item 10/],
    [{ subprotocols: ['a b'] }, /not a valid subprotocol/],
    [{ subprotocols: [''] }, /cannot be empty/],
    [{ subprotocols: [42 as unknown as string] }, /must be a string/],
    [{ headers: [{ name: 'Bad Name', value: 'x' }] }, /not a valid header name/],
    [{ headers: [{ name: 'X', value: 'a\r\nb' }] }, /contains a CR/],
    [{ headers: [{ name: 'X', value: 7 as unknown as string }] }, /both strings/],
    [{ headers: [null as unknown as { name: string; value: string }] }, /both strings/],
  ])('refuses %j', (options, message) => {
    expect(() => checkHandshakeOptions(options)).toThrow(message);
  });
});
