/** proxy-validation.ts: what the page sends to start Proxy mode, checked before the service sees it. */
import { describe, expect, it } from 'vitest';
import { validateStartProxy } from '../../src/service/proxy-validation.ts';

describe('validateStartProxy', () => {
  it('passes a well-formed request through', () => {
    expect(validateStartProxy({ listen: 'ws://127.0.0.1:9002/', target: 'ws://a/', host: ' example.com:8080 ', origin: null, clientDeflate: false })).toEqual({
      listen: 'ws://127.0.0.1:9002/', target: 'ws://a/', host: 'example.com:8080', origin: null, clientDeflate: false,
    });
    expect(validateStartProxy({ kind: 'forward', listen: 'http://127.0.0.1:8080' })).toEqual({ kind: 'forward', listen: 'http://127.0.0.1:8080' });
  });

  it('refuses what would break the handshake or is not what it claims, in one line', () => {
    expect(() => validateStartProxy({ listen: 'ws://127.0.0.1:9002/', target: 'ws://a/', host: 'evil\r\nX: 1' })).toThrow(/host/i);
    expect(() => validateStartProxy({ listen: 'ws://127.0.0.1:9002/', target: 'ws://a/', origin: 'a\r\nb' })).toThrow(/line breaks/);
    expect(() => validateStartProxy({ listen: 'ws://127.0.0.1:9002/', target: 'ws://a/', clientDeflate: 'yes' })).toThrow(/true or false/);
    expect(() => validateStartProxy({ target: 'ws://a/' })).toThrow(/listen URL/);
    expect(() => validateStartProxy({ listen: 'ws://127.0.0.1:9002/' })).toThrow(/target URL/);
    expect(() => validateStartProxy({ kind: 'sideways', listen: 'x' })).toThrow(/reverse.*forward/);
    expect(() => validateStartProxy({ listen: 'x'.repeat(5000), target: 'ws://a/' })).toThrow(/at most 2048/);
    expect(() => validateStartProxy([])).toThrow(/object/);
  });
});
