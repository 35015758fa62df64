import { describe, expect, it } from 'vitest';
import { checkResponseHead } from '../../src/core/response-checks.ts';

const head = (status: number, headers: Array<[string, string]>) => ({ status, reason: status === 101 ? 'Switching Protocols' : 'Forbidden', headers: headers.map(([name, value]) => ({ name, value })) });
// RFC 6455 §1.3's sample: key dGhlIHNhbXBsZSBub25jZQ== gives this Accept.
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('the client\'s checks of a response head (§4.1 items 1-4, 6)', () => {
  it('passes a good 101 and names each rule', () => {
    const checks = checkResponseHead(head(101, [['Upgrade', 'WebSocket'], ['Connection', 'keep-alive, Upgrade'], ['Sec-WebSocket-Accept', ACCEPT], ['Sec-WebSocket-Protocol', 'chat']]), ACCEPT, ['chat']);
    expect(checks.map((c) => [c.rule, c.ok])).toEqual([['status', true], ['upgrade', true], ['connection', true], ['accept', true], ['subprotocol', true]]);
  });

  it('fails a wrong Accept and an unoffered subprotocol, and stops at a non-101 status', () => {
    const checks = checkResponseHead(head(101, [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', 'x'], ['Sec-WebSocket-Protocol', 'v2']]), ACCEPT, ['chat']);
    expect(checks.filter((c) => !c.ok).map((c) => c.rule)).toEqual(['accept', 'subprotocol']);
    expect(checkResponseHead(head(403, []), ACCEPT, []).map((c) => [c.rule, c.ok])).toEqual([['status', false]]);
  });

  it('puts the extension check given by the caller after Accept (item 5)', () => {
    const checks = checkResponseHead(head(101, [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', ACCEPT]]), ACCEPT, [], () => ({ rule: 'extensions', label: 'x', ok: true, detail: '', rfcSection: '§4.1 (5)' }));
    expect(checks.map((c) => c.rule)).toEqual(['status', 'upgrade', 'connection', 'accept', 'extensions', 'subprotocol']);
  });
});
