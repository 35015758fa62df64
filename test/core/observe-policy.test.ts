/**
 * The observe policy: violations are flagged on their frames, the connection stays open.
 * Strict (the default) is covered by protocol.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { utf8Encode } from '../../src/core/bytes.ts';
import { encodeClosePayload, encodeFrame, FrameParser } from '../../src/core/frame-codec.ts';
import { WebSocketProtocol, type ProtocolEvent } from '../../src/core/protocol.ts';
import type { TraceBody } from '../../src/core/trace.ts';

function observer() {
  const traces: TraceBody[] = [];
  const protocol = new WebSocketProtocol({ role: 'server', startOpen: true, policy: 'observe', trace: (b) => traces.push(b) });
  return { protocol, traces };
}
const key = Uint8Array.of(5, 6, 7, 8);

describe('observe policy', () => {
  it.each([
    ['an unmasked client frame', encodeFrame({ opcode: 1, payload: utf8Encode('plain') }), 'WS_ERR_UNMASKED_CLIENT_FRAME', 'plain'],
    ['RSV1 set', encodeFrame({ opcode: 1, payload: utf8Encode('rsv'), maskKey: key, rsv1: true }), 'WS_ERR_RESERVED_BITS', 'rsv'],
    ['invalid UTF-8', encodeFrame({ opcode: 1, payload: Uint8Array.of(0x61, 0xff), maskKey: key }), 'WS_ERR_INVALID_UTF8', 'a\uFFFD'],
  ])('flags %s on its frame, delivers the message and stays OPEN', (_name, bytes, code, text) => {
    const { protocol, traces } = observer();
    protocol.receiveData(bytes);
    const events = protocol.events();
    expect(events.find((e) => e.type === 'violation')).toBeTruthy();
    expect(events.find((e): e is Extract<ProtocolEvent, { type: 'message' }> => e.type === 'message')?.text).toBe(text);
    expect(protocol.state).toBe('OPEN');
    expect(protocol.dataToSend()).toEqual([]);
    const frame = traces.find((t) => t.type === 'frame');
    expect(frame?.type === 'frame' && frame.frame.violation?.code).toBe(code);
    expect(traces.some((t) => t.type === 'violation' && t.observed === true)).toBe(true);
  });

  it('shows and ignores a reserved opcode and an orphan continuation, then keeps working', () => {
    const { protocol } = observer();
    protocol.receiveData(encodeFrame({ opcode: 3, payload: utf8Encode('x'), maskKey: key }));
    protocol.receiveData(encodeFrame({ opcode: 0, payload: utf8Encode('y'), maskKey: key }));
    protocol.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('fine'), maskKey: key }));
    const events = protocol.events();
    expect(events.filter((e) => e.type === 'violation')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'message').map((e) => (e.type === 'message' ? e.text : ''))).toEqual(['fine']);
  });

  it('flags an invalid close code and answers the closing handshake with 1002, never echoing the bad code', () => {
    const { protocol } = observer();
    protocol.receiveData(encodeFrame({ opcode: 8, payload: encodeClosePayload(1005), maskKey: key }));
    const [reply] = new FrameParser().feedAll(protocol.dataToSend()[0]!).filter((e) => e.kind === 'frame');
    expect(reply?.kind === 'frame' && [...reply.frame.payload.subarray(0, 2)]).toEqual([0x03, 0xea]); // 1002, not 1005
    expect(protocol.events().some((e) => e.type === 'violation')).toBe(true);
  });

  it('still fails on a message too big: observing must not mean buffering without bound', () => {
    const protocol = new WebSocketProtocol({ role: 'server', startOpen: true, policy: 'observe', maxMessageSize: 10 });
    protocol.receiveData(encodeFrame({ opcode: 2, payload: new Uint8Array(11), maskKey: key }));
    expect(protocol.state).toBe('CLOSING');
    expect(protocol.transportAction).toBe('close');
  });
});
