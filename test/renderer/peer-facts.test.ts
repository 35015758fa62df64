import { describe, expect, it } from 'vitest';
import { formatDuration, requestTarget, shortUserAgent } from '../../src/renderer/src/lib/peer-facts.ts';

describe('peer facts', () => {
  it('names a user agent by its browser and major version, else its first product', () => {
    expect(shortUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36')).toBe('HeadlessChrome 156');
    expect(shortUserAgent('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('Firefox 128');
    expect(shortUserAgent('Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0')).toBe('Edge 131');
    expect(shortUserAgent('Python/3.11 websockets/13.0')).toBe('Python 3.11');
  });

  it('reads the request target from the request line', () => {
    expect(requestTarget({ kind: 'request', startLine: 'GET /chat?room=1 HTTP/1.1', headers: [], raw: new Uint8Array() })).toBe('/chat?room=1');
    expect(requestTarget({ kind: 'response', startLine: 'HTTP/1.1 101 Switching Protocols', headers: [], raw: new Uint8Array() })).toBeNull();
  });

  it('says a duration in the unit that reads well', () => {
    expect(formatDuration(6)).toBe('6 ms');
    expect(formatDuration(12_400)).toBe('12.4 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
  });
});
