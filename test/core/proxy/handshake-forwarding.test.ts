import { describe, expect, it } from 'vitest';
import { HttpHeadParser, type HttpHead } from '../../../src/core/http.ts';
import {
  describeChanges, forwardRequestHeaders, passOnResponseHeaders, plainResponse, refusalBodyComplete, refusalForClient, upstreamRequestTarget,
} from '../../../src/core/proxy/handshake-forwarding.ts';

function head(text: string, kind: 'request' | 'response' = 'request'): HttpHead {
  const result = new HttpHeadParser({ kind, maxSize: 8192 }).feed(new TextEncoder().encode(text));
  if (!result.done) throw new Error('incomplete head');
  return result.head;
}

const request = head([
  'GET /chat?room=1 HTTP/1.1', 'Host: 127.0.0.1:9002', 'Upgrade: websocket', 'Connection: Upgrade, X-Hop',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', 'Origin: http://app.example',
  'Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
  'Cookie: session=abc', 'X-Hop: 1', 'Keep-Alive: timeout=5', 'Authorization: Bearer t', '', '',
].join('\r\n'));

describe('forwarding the client\'s handshake upstream', () => {
  it('keeps end-to-end headers, drops hop-by-hop and per-leg ones, rewrites Host to the target by default', () => {
    const { headers, changes } = forwardRequestHeaders(request, 'example.com:8443');
    const names = headers.map((h) => h.name.toLowerCase());
    expect(names).toEqual(['origin', 'sec-websocket-protocol', 'cookie', 'authorization']);
    expect(headers.find((h) => h.name === 'Sec-WebSocket-Protocol')!.value).toBe('chat, superchat');
    // Host is not in the list: our client writes the target's own; the change is listed.
    expect(changes).toContainEqual(expect.objectContaining({ header: 'Host', action: 'rewritten', from: '127.0.0.1:9002', to: 'example.com:8443' }));
    expect(changes).toContainEqual(expect.objectContaining({ header: 'X-Hop', action: 'removed' }));
    expect(changes).toContainEqual(expect.objectContaining({ header: 'Keep-Alive', action: 'removed' }));
    expect(changes).toContainEqual(expect.objectContaining({ header: 'Sec-WebSocket-Extensions', action: 'removed' }));
    expect(describeChanges(changes)).toContain('Host "127.0.0.1:9002" → "example.com:8443"');
  });

  it('--host and --origin rewrite, --no-origin removes', () => {
    const rewritten = forwardRequestHeaders(request, 'example.com', { host: 'internal.example', origin: 'https://other.example' });
    expect(rewritten.headers).toContainEqual({ name: 'Host', value: 'internal.example' });
    expect(rewritten.headers).toContainEqual({ name: 'Origin', value: 'https://other.example' });
    expect(rewritten.changes).toContainEqual(expect.objectContaining({ header: 'Origin', action: 'rewritten', from: 'http://app.example', to: 'https://other.example', why: '--origin' }));
    const removed = forwardRequestHeaders(request, 'example.com', { origin: null });
    expect(removed.headers.some((h) => h.name.toLowerCase() === 'origin')).toBe(false);
    expect(removed.changes).toContainEqual(expect.objectContaining({ header: 'Origin', action: 'removed', why: '--no-origin' }));
  });

  it('--origin adds an Origin when the client sent none', () => {
    const bare = head('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const { headers, changes } = forwardRequestHeaders(bare, 'a', { origin: 'http://x' });
    expect(headers).toEqual([{ name: 'Origin', value: 'http://x' }]);
    expect(changes).toEqual([expect.objectContaining({ header: 'Origin', action: 'added' })]);
    expect(describeChanges([])).toBe('forwarded as sent');
  });

  it('the upstream request target: the target path, the client path below the listen path, both queries', () => {
    expect(upstreamRequestTarget('/socket', '/', '/')).toBe('/socket');
    expect(upstreamRequestTarget('/socket', '/', '/?token=1')).toBe('/socket?token=1');
    expect(upstreamRequestTarget('/socket?v=2', '/', '/room/2?token=1')).toBe('/socket/room/2?v=2&token=1');
    expect(upstreamRequestTarget('/', '/', '/chat')).toBe('/chat');
    expect(upstreamRequestTarget('/api/', '/ws', '/ws/feed')).toBe('/api/feed');
    expect(upstreamRequestTarget('/up', '/ws', '/elsewhere')).toBe('/up/elsewhere');
    expect(upstreamRequestTarget('/up', '/', 'http://origin.example/x?y=1')).toBe('/up/x?y=1');
  });
});

describe('answers the proxy gives the client', () => {
  it('an upstream refusal keeps its status, headers and body; hop-by-hop headers go, Connection: close is added', () => {
    const response = head('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="x"\r\nContent-Length: 6\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n', 'response');
    const text = new TextDecoder().decode(refusalForClient(response, new TextEncoder().encode('nope!\n')));
    expect(text).toBe('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="x"\r\nContent-Length: 6\r\nConnection: close\r\n\r\nnope!\n');
  });

  it('passes on the upstream 101\'s end-to-end headers only', () => {
    const response = head('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\nSec-WebSocket-Accept: abc\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSet-Cookie: a=1\r\nX-Hop: 1\r\nServer: up/1\r\n\r\n', 'response');
    expect(passOnResponseHeaders(response)).toEqual([{ name: 'Set-Cookie', value: 'a=1' }, { name: 'Server', value: 'up/1' }]);
  });

  it('knows when a refusal body is complete', () => {
    const sized = head('HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\n', 'response');
    expect(refusalBodyComplete(sized, 9)).toBe(false);
    expect(refusalBodyComplete(sized, 10)).toBe(true);
    expect(refusalBodyComplete(head('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n', 'response'), 100)).toBe(false);
    expect(refusalBodyComplete(head('HTTP/1.1 304 Not Modified\r\n\r\n', 'response'), 0)).toBe(true);
  });

  it('502, 504 and 400 are one plain line, with CR/LF in the message flattened', () => {
    const text = new TextDecoder().decode(plainResponse(502, 'cannot reach\r\nX-Evil: 1'));
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(text.endsWith('\r\n\r\ncannot reach X-Evil: 1\n')).toBe(true);
    expect(text).toContain(`Content-Length: ${'cannot reach X-Evil: 1\n'.length}`);
    expect(new TextDecoder().decode(plainResponse(504, 'late'))).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  });
});
