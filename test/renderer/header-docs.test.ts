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

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'X-Unknown'])('%j has no doc in either context', (name) => {
    expect(headerDoc(name)).toBeUndefined();
    expect(headerDoc(name, 'refusal')).toBeUndefined();
  });
});
