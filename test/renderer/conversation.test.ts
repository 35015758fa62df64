/**
 * lib/conversation.ts: a conversation's lanes and legs (direct or proxied), which lanes each
 * frame's arrow joins, the arrow's words, and a frame's counterpart on the other leg.
 */
import { describe, expect, it } from 'vitest';
import { arrowLanes, closingQuotes, conversationOf, counterpartOf, formatDelay, formatOffset, frameLabel, headLabel } from '../../src/renderer/src/lib/conversation.ts';
import { rfc, squash } from '../support/rfc-text.ts';

const proxied = [
  { id: 'server2:1', role: 'server' as const, remote: '127.0.0.1:5000', proxyLeg: { conversationId: 'server2:1', side: 'client' as const } },
  { id: 'server2:1-upstream', role: 'client' as const, remote: '127.0.0.1:9001', url: 'ws://127.0.0.1:9001/', proxyLeg: { conversationId: 'server2:1', side: 'upstream' as const } },
  { id: 'server1:3', role: 'server' as const, remote: '127.0.0.1:6000' },
  { id: 'client:1', role: 'client' as const, remote: '127.0.0.1:9001', url: 'ws://127.0.0.1:9001/' },
];

describe('conversation shape', () => {
  it('a proxy leg brings its partner: three lanes, client leg first, whichever leg is selected', () => {
    for (const id of ['server2:1', 'server2:1-upstream']) {
      const shape = conversationOf(proxied, id)!;
      expect(shape.lanes).toEqual(['client', 'proxy', 'server']);
      expect(shape.legs).toEqual([{ id: 'server2:1', role: 'server' }, { id: 'server2:1-upstream', role: 'client' }]);
      expect(shape.laneNames.server).toBe('ws://127.0.0.1:9001/');
    }
  });

  it('arrows: the client leg joins client and proxy, the upstream leg proxy and server, each way', () => {
    const shape = conversationOf(proxied, 'server2:1')!;
    expect(arrowLanes(shape, 'server', 'in')).toEqual({ from: 'client', to: 'proxy' });
    expect(arrowLanes(shape, 'server', 'out')).toEqual({ from: 'proxy', to: 'client' });
    expect(arrowLanes(shape, 'client', 'out')).toEqual({ from: 'proxy', to: 'server' });
    expect(arrowLanes(shape, 'client', 'in')).toEqual({ from: 'server', to: 'proxy' });
  });

  it('a direct connection has two lanes, this app on the side it plays', () => {
    const peer = conversationOf(proxied, 'server1:3')!;
    expect(peer.lanes).toEqual(['client', 'server']);
    expect(peer.laneNames.server).toBe('this app');
    expect(arrowLanes(peer, 'server', 'in')).toEqual({ from: 'client', to: 'server' });
    const ours = conversationOf(proxied, 'client:1')!;
    expect(ours.laneNames.client).toBe('this app');
    expect(arrowLanes(ours, 'client', 'out')).toEqual({ from: 'client', to: 'server' });
    expect(conversationOf(proxied, 'nope')).toBeNull();
  });
});

describe('labels and pairing', () => {
  it('names frames and heads', () => {
    expect(frameLabel({ opcode: 1, fin: true, payloadLength: 5, preview: 'hello' })).toBe('Text 5 B "hello"');
    expect(frameLabel({ opcode: 2, fin: false, payloadLength: 9 })).toBe('Binary 9 B (FIN=0)');
    expect(frameLabel({ opcode: 8, fin: true, payloadLength: 6, closeCode: 1000, closeReason: 'done' })).toBe('Close 1000 "done"');
    expect(frameLabel({ opcode: 8, fin: true, payloadLength: 0, closeCode: null })).toBe('Close (no code)');
    expect(frameLabel({ opcode: 9, fin: true, payloadLength: 0 })).toBe('Ping 0 B');
    expect(frameLabel({ opcode: 0xb, fin: true, payloadLength: 0 })).toBe('opcode 0xb (reserved)');
    expect(headLabel({ kind: 'request', startLine: 'GET /chat?x=1 HTTP/1.1', headers: [], raw: new Uint8Array() })).toBe('GET /chat?x=1');
    expect(headLabel({ kind: 'response', startLine: 'HTTP/1.1 101 Switching Protocols', headers: [], raw: new Uint8Array() })).toBe('101 Switching Protocols');
    expect(formatOffset(0.25)).toBe('+250 µs');
    expect(formatOffset(12.34)).toBe('+12.3 ms');
    expect(formatOffset(1234)).toBe('+1.234 s');
    expect(formatDelay(2790)).toBe('2.79 ms');
  });

  it('a copy names its original; an original finds the copy that names it', () => {
    const copy = { connectionId: 'server2:1-upstream', frameId: 4, relay: { from: { connectionId: 'server2:1', frameId: 7 }, delayUs: 300 } };
    const other = { connectionId: 'server2:1-upstream', frameId: 5, relay: { from: { connectionId: 'server2:1', frameId: 8 }, delayUs: 10 } };
    expect(counterpartOf(copy, [])).toEqual({ connectionId: 'server2:1', frameId: 7, delayUs: 300, isCopy: true });
    expect(counterpartOf({ connectionId: 'server2:1', frameId: 7 }, [copy, other])).toEqual({ connectionId: 'server2:1-upstream', frameId: 4, delayUs: 300, isCopy: false });
    expect(counterpartOf({ connectionId: 'server2:9', frameId: 7 }, [copy, other])).toBeNull();
  });
});

describe('the RFC quoted on the ladder', () => {
  it('is verbatim RFC 6455 §5.5.1 text (whitespace aside)', () => {
    const section = rfc().sections.get('5.5.1')!;
    for (const quote of Object.values(closingQuotes)) expect(section).toContain(squash(quote));
  });
});
