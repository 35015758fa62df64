/**
 * Header names come from the peer: only the table's own entries are documentation.
 */
import { describe, expect, it } from 'vitest';
import { headerDoc } from '../../src/renderer/src/lib/header-docs.ts';

describe('headerDoc', () => {
  it('documents a handshake header, and a refusal header in its refusal sense', () => {
    expect(headerDoc('Sec-WebSocket-Key')?.rfcSection).toBe('§4.1 (7)');
    expect(headerDoc('Connection', 'refusal')?.rfcSection).toBe('RFC 9112 §9.6');
    expect(headerDoc('Origin', 'refusal')?.rfcSection).toBe('§4.1 (8), §10.2');
  });

  it('cites §4.2.2 (5.3) for Connection on the 101 response, §4.1 (6) on the request', () => {
    expect(headerDoc('Connection')?.rfcSection).toBe('§4.1 (6)');
    expect(headerDoc('Connection', 'response')?.rfcSection).toBe('§4.2.2 (5.3)');
    expect(headerDoc('Sec-WebSocket-Accept', 'response')?.rfcSection).toBe('§1.3, §4.2.2 (5.4)');
  });

  it("gives §1.3's reason for the Accept: the server proves it read a WebSocket handshake", () => {
    const meaning = headerDoc('Sec-WebSocket-Accept')!.meaning;
    expect(meaning).toContain('proves it read a WebSocket handshake');
    expect(meaning).toContain('XMLHttpRequest');
    expect(meaning).not.toContain('cached');
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'X-Unknown'])('%j has no doc in either context', (name) => {
    expect(headerDoc(name)).toBeUndefined();
    expect(headerDoc(name, 'refusal')).toBeUndefined();
  });
});
