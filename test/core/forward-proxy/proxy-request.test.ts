import { describe, expect, it } from 'vitest';
import { parseHead } from '../../../src/core/http.ts';
import { forwardedHeaders, isWebSocketUpgrade, parseAbsoluteTarget, parseConnectTarget, parseProxyRequest, ProxyRequestError, requestBodyFraming } from '../../../src/core/forward-proxy/proxy-request.ts';

const head = (text: string) => parseHead(new TextEncoder().encode(text), 'request');

describe('proxy request targets (RFC 9112 §3.2.2 absolute-form, §3.2.3 authority-form)', () => {
  it.each([
    ['http://example.com/a?b=1', { host: 'example.com', port: 80 }, 'http://example.com/a?b=1', '/a?b=1'],
    ['http://example.com', { host: 'example.com', port: 80 }, 'http://example.com/', '/'],
    ['http://example.com:80/', { host: 'example.com', port: 80 }, 'http://example.com/', '/'],
    ['http://127.0.0.1:9001/x', { host: '127.0.0.1', port: 9001 }, 'http://127.0.0.1:9001/x', '/x'],
    ['http://[::1]:8080/', { host: '::1', port: 8080 }, 'http://[::1]:8080/', '/'],
    ['http://Example.COM?q', { host: 'Example.COM', port: 80 }, 'http://Example.COM/?q', '/?q'],
    ['ws://127.0.0.1:1234/chat', { host: '127.0.0.1', port: 1234 }, 'http://127.0.0.1:1234/chat', '/chat'],
  ])('%s', (target, where, url, path) => {
    const parsed = parseAbsoluteTarget(target);
    expect(parsed.target).toMatchObject(where);
    expect(parsed.url).toBe(url);
    expect(parsed.path).toBe(path);
  });

  it.each([
    ['/', 400], ['*', 400], ['ftp://x/', 400], ['https://x/', 501], ['http://', 400], ['http://:80/', 400],
    ['http://a b/', 400], ['http://x:0/', 400], ['http://x:65536/', 400], ['http://x:-1/', 400], ['http://x:99999999999/', 400],
    ['http://u@x/', 400], ['http://x/#f', 400], ['http://[zz]/', 400], ['http://::1/', 400], ['http://a..b/', 400], [`http://${'a'.repeat(300)}/`, 400],
  ])('refuses %s with %i', (target, status) => {
    expect(() => parseAbsoluteTarget(target)).toThrow(ProxyRequestError);
    try {
      parseAbsoluteTarget(target);
    } catch (error) {
      expect((error as ProxyRequestError).status).toBe(status);
    }
  });

  it.each([
    ['example.com:443', 'example.com', 443, 'example.com:443'],
    ['[::1]:8443', '::1', 8443, '[::1]:8443'],
    ['10.0.0.1:22', '10.0.0.1', 22, '10.0.0.1:22'],
  ])('CONNECT %s', (target, host, port, authority) => {
    expect(parseConnectTarget(target)).toEqual({ host, port, authority });
  });

  it.each(['example.com', 'example.com:', 'example.com:0', 'example.com:65536', ':443', 'a:b:443', 'http://x:1', '[x]:1', 'x/y:1', 'x:1/', ' x:1', 'x:+1', 'x:0x1bb'])('refuses CONNECT %s', (target) => {
    expect(() => parseConnectTarget(target)).toThrow(ProxyRequestError);
  });
});

describe('request body framing (RFC 9112 §6.3)', () => {
  it.each([
    ['', { kind: 'none' }],
    ['Content-Length: 0\r\n', { kind: 'none' }],
    ['Content-Length: 12\r\n', { kind: 'length', length: 12 }],
    ['Content-Length: 12, 12\r\n', { kind: 'length', length: 12 }],
    ['Transfer-Encoding: chunked\r\n', { kind: 'chunked' }],
    ['Transfer-Encoding: gzip, chunked\r\n', { kind: 'chunked' }],
  ])('%j', (headers, framing) => {
    expect(requestBodyFraming(head(`POST http://x/ HTTP/1.1\r\n${headers}\r\n`))).toEqual(framing);
  });

  it.each([
    'Content-Length: 1\r\nTransfer-Encoding: chunked\r\n',
    'Content-Length: 1\r\nContent-Length: 2\r\n',
    'Content-Length: -1\r\n',
    'Content-Length: 1e3\r\n',
    'Transfer-Encoding: gzip\r\n',
    'Transfer-Encoding: chunked, chunked\r\n',
  ])('refuses %j', (headers) => {
    expect(() => requestBodyFraming(head(`POST http://x/ HTTP/1.1\r\n${headers}\r\n`))).toThrow(ProxyRequestError);
  });
});

describe('WebSocket handshakes and forwarded headers', () => {
  const ws = head('GET http://127.0.0.1:9/chat HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');

  it('recognises an opening handshake (RFC 6455 §4.1) and not a plain GET', () => {
    expect(isWebSocketUpgrade(ws)).toBe(true);
    expect(isWebSocketUpgrade(head('GET http://x/ HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'))).toBe(false);
    expect(isWebSocketUpgrade(head('POST http://x/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'))).toBe(false);
    const parsed = parseProxyRequest(ws);
    expect(parsed.kind === 'http' && parsed.webSocket).toBe(true);
  });

  it('a WebSocket handshake keeps Upgrade, drops the proxy fields, and gets Host from the URL (RFC 9112 §3.2.2)', () => {
    expect(forwardedHeaders(ws.headers, '127.0.0.1:9', { keepUpgrade: true })).toEqual([
      { name: 'Host', value: '127.0.0.1:9' },
      { name: 'Upgrade', value: 'websocket' },
      { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' },
      { name: 'Sec-WebSocket-Version', value: '13' },
      { name: 'Connection', value: 'Upgrade' },
    ]);
  });

  it('a plain request drops the fields Connection names and says Connection: close', () => {
    const plain = head('GET http://x/ HTTP/1.1\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nAccept: */*\r\nTE: trailers\r\n\r\n');
    expect(forwardedHeaders(plain.headers, 'x')).toEqual([
      { name: 'Host', value: 'x' }, { name: 'Accept', value: '*/*' }, { name: 'Connection', value: 'close' },
    ]);
  });
});
