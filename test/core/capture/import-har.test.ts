import { describe, expect, it } from 'vitest';
import { importHar, looksLikeHar } from '../../../src/core/capture/import-har.ts';
import { replayConnection } from '../../../src/core/capture/recording.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';

/** An entry in the shape Chrome's DevTools writes for a WebSocket (headers as Chrome lists them). */
function chromeEntry(messages: unknown[], extra: Record<string, unknown> = {}) {
  return {
    startedDateTime: '2026-11-28T10:00:00.000Z', time: 1234, _resourceType: 'websocket',
    request: {
      method: 'GET', url: 'wss://echo.example.org/chat?room=1', httpVersion: 'HTTP/1.1', cookies: [], queryString: [], headersSize: -1, bodySize: 0,
      headers: [
        { name: 'Host', value: 'echo.example.org' }, { name: 'Connection', value: 'Upgrade' }, { name: 'Upgrade', value: 'websocket' },
        { name: 'Sec-WebSocket-Version', value: '13' }, { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' },
        { name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate; client_max_window_bits' },
      ],
    },
    response: {
      status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', cookies: [], content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: -1, bodySize: 0,
      headers: [
        { name: 'Upgrade', value: 'websocket' }, { name: 'Connection', value: 'Upgrade' },
        { name: 'Sec-WebSocket-Accept', value: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' }, { name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate' },
      ],
    },
    cache: {}, timings: { blocked: -1, dns: -1, connect: -1, send: 0, wait: 10, receive: 0, ssl: -1 }, serverIPAddress: '93.184.216.34',
    _webSocketMessages: messages, ...extra,
  };
}

const har = (...entries: unknown[]) => JSON.stringify({ log: { version: '1.2', creator: { name: 'WebInspector', version: '537.36' }, pages: [], entries } });

function replayed(text: string): TraceEvent[] {
  const { recording } = importHar(text);
  return recording.connections.flatMap((c) => [...replayConnection(c)]);
}

describe('HAR import (message level, reconstructed)', () => {
  it('reads Chrome\'s _webSocketMessages: text, base64 binary, the handshake checked, marked reconstructed', () => {
    const text = har({ startedDateTime: '2026-11-28T09:59:59Z', request: { method: 'GET', url: 'https://example.org/' }, response: { status: 200 } },
      chromeEntry([
        { type: 'send', time: 1795860000.25, opcode: 1, data: 'hello ✓' },
        { type: 'receive', time: 1795860000.5, opcode: 1, data: 'hello ✓' },
        { type: 'send', time: 1795860001, opcode: 2, data: Buffer.from([0, 1, 255]).toString('base64') },
      ]));
    expect(looksLikeHar(Buffer.from(text))).toBe(true);
    const result = importHar(text);
    expect(result.error).toBeNull();
    expect(result.webSockets).toBe(1);
    const conn = result.recording.connections[0]!;
    expect(conn).toMatchObject({ reconstructed: true, source: 'har', ourRole: 'observed', url: 'wss://echo.example.org/chat?room=1', server: { address: '93.184.216.34', port: 443 } });
    const events = [...replayConnection(conn)];
    const messages = events.filter((e) => e.type === 'message').map((e) => e.type === 'message' && [e.direction, e.text ?? Buffer.from(e.data!).toString('hex'), e.time]);
    expect(messages).toEqual([['out', 'hello ✓', 1795860000250], ['in', 'hello ✓', 1795860000500], ['out', '0001ff', 1795860001000]]);
    // RFC 6455 §1.3's example key and accept: the rebuilt handshake passes both sides' checks.
    expect(events.filter((e) => e.type === 'handshake').map((e) => e.type === 'handshake' && e.ok)).toEqual([true, true]);
    // The extension is left out of the rebuilt heads: the messages are the browser's plain ones.
    const heads = events.filter((e) => e.type === 'http-head').map((e) => e.type === 'http-head' && Buffer.from(e.head.raw).toString());
    for (const head of heads) expect(head).not.toMatch(/Sec-WebSocket-Extensions/i);
    expect(events.filter((e) => e.type === 'violation')).toEqual([]);
    expect(events.some((e) => e.type === 'note' && e.text.startsWith('Reconstructed, not captured'))).toBe(true);
  });

  it('an entry with a 101 and no messages (Firefox\'s HAR export) comes in as a handshake, with a note saying so', () => {
    const { _webSocketMessages: _m, _resourceType: _r, ...firefox } = chromeEntry([]);
    const events = replayed(har(firefox));
    expect(events.filter((e) => e.type === 'http-head')).toHaveLength(2);
    expect(events.some((e) => e.type === 'note' && /holds no messages.*Firefox/.test(e.text))).toBe(true);
  });

  it('a refused handshake (403) opens as refused: both heads, the client-side check failing, closed with the status', () => {
    const entry = chromeEntry([]);
    Object.assign(entry.response, { status: 403, statusText: 'Forbidden', headers: [{ name: 'Content-Length', value: '0' }] });
    const events = replayed(har(entry));
    expect(events.filter((e) => e.type === 'handshake').map((e) => e.type === 'handshake' && [e.side, e.ok])).toEqual([['server', true], ['client', false]]);
    expect(events.find((e) => e.type === 'connection-closed')).toMatchObject({ wasClean: false, code: 1006, detail: 'handshake refused: the server answered 403 Forbidden' });
    expect(events.filter((e) => e.type === 'frame')).toEqual([]);
  });

  it('a close code and reason, pings and pongs come back as control frames', () => {
    const events = replayed(har(chromeEntry([
      { type: 'send', time: 1795860000, opcode: 9, data: 'are you there' },
      { type: 'receive', time: 1795860000.1, opcode: 10, data: 'are you there' },
      { type: 'send', time: 1795860000.2, opcode: 8, data: 'bye', _closeCode: 1000 },
      { type: 'receive', time: 1795860000.3, opcode: 8, data: 'bye', _closeCode: 1000 },
    ])));
    const frames = events.flatMap((e) => (e.type === 'frame' ? [[e.direction, e.frame.opcode, e.frame.close ?? Buffer.from(e.frame.payload).toString()]] : []));
    expect(frames).toEqual([['out', 9, 'are you there'], ['in', 10, 'are you there'], ['out', 8, { code: 1000, reason: 'bye' }], ['in', 8, { code: 1000, reason: 'bye' }]]);
    expect(events.find((e) => e.type === 'connection-closed')).toMatchObject({ wasClean: true, code: 1000 });
  });

  it('hostile files: one plain sentence, nothing thrown; bad messages and headers are skipped with a note', () => {
    expect(importHar('not json').error).toMatch(/^the file is not JSON/);
    expect(importHar('{"log":{}}').error).toMatch(/no log.entries list/);
    expect(importHar('[1,2]').error).toMatch(/no log.entries list/);
    const messages = [
      { type: 'send', opcode: 1, data: 'ok' }, 42, { type: 'sideways', opcode: 1, data: 'x' }, { type: 'send', opcode: 3, data: 'x' },
      { type: 'send', opcode: 2, data: '***' }, { type: 'send', opcode: 1, data: { nested: true } }, { type: 'send', opcode: 8, data: '', _closeCode: 99999 },
      { type: 'receive', time: 'yesterday', opcode: 1, data: 'time is not a number: the previous one is used' },
    ];
    const entry = chromeEntry(messages);
    (entry.request.headers as Array<{ name: string; value: string }>).push({ name: ':authority', value: 'x' }, { name: 'X-Evil', value: 'a\r\nInjected: 1' });
    const result = importHar(har(entry));
    expect(result.error).toBeNull();
    const events = [...replayConnection(result.recording.connections[0]!)];
    const notes = events.filter((e) => e.type === 'note').map((e) => e.type === 'note' && e.text);
    expect(notes.filter((n) => /^Message \d+ left out/.test(String(n)))).toHaveLength(6);
    expect(notes.some((n) => /2 headers .* left out/.test(String(n)))).toBe(true);
    const request = events.find((e) => e.type === 'http-head')!;
    expect(request.type === 'http-head' && Buffer.from(request.head.raw).toString()).not.toMatch(/Injected|:authority/);
    expect(events.filter((e) => e.type === 'message').map((e) => e.type === 'message' && e.text)).toEqual(['ok', 'time is not a number: the previous one is used']);
  });

  it('bounds: more messages than the limit stop the import with a sentence, keeping the connections before', () => {
    const many = Array.from({ length: 20 }, (_v, i) => ({ type: 'send', time: 1795860000 + i, opcode: 1, data: `m${i}` }));
    const result = importHar(har(chromeEntry(many.slice(0, 5)), chromeEntry(many)), { maxMessages: 10 });
    expect(result.error).toBe('entry 2: more than 10 WebSocket messages');
    expect(result.recording.connections).toHaveLength(1);
    const big = importHar(har(chromeEntry([{ type: 'send', opcode: 1, data: 'x'.repeat(2000) }])), { maxMessageBytes: 1000 });
    expect([...replayConnection(big.recording.connections[0]!)].some((e) => e.type === 'note' && /larger than 1000 bytes/.test(e.text))).toBe(true);
  });
});
