/**
 * The untraced receive path with whole frames read in one go (issue 17: FrameParser's wholeFrames,
 * WebSocketProtocol.receiveWholeFrame). A chunk given away (receiveData(chunk, true)) must give
 * exactly the events and the replies the general path gives for the same bytes, however they are cut.
 */
import { describe, it, expect } from 'vitest';
import { WebSocketProtocol, type ProtocolEvent } from '../../src/core/protocol.ts';
import { encodeClosePayload, encodeFrame, FrameParser, type FrameSpec } from '../../src/core/frame-codec.ts';
import { buildClientRequest } from '../../src/core/handshake.ts';
import { concatBytes, toHex } from '../../src/core/bytes.ts';

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const utf8 = (s: string) => new TextEncoder().encode(s);
const cf = (spec: FrameSpec) => encodeFrame({ maskKey: KEY, ...spec });

function openServer(policy: 'strict' | 'observe' = 'strict'): WebSocketProtocol {
  const p = new WebSocketProtocol({ role: 'server', deflate: false, policy });
  p.receiveData(buildClientRequest({ host: 'localhost:9001', path: '/', key: 'dGhlIHNhbXBsZSBub25jZQ==' }).bytes);
  p.dataToSend();
  expect(p.events().map((e) => e.type)).toEqual(['open']);
  return p;
}

/** Events as plain values (bytes as hex) and the frames the server sent, for comparing two runs. */
function summary(events: readonly ProtocolEvent[]): unknown[] {
  return events.map((e) => {
    if (e.type === 'message') return { type: e.type, opcode: e.opcode, data: toHex(e.data), text: e.text, frameSizes: e.frameSizes };
    if (e.type === 'ping' || e.type === 'pong') return { type: e.type, payload: toHex(e.payload) };
    if (e.type === 'violation') return { type: e.type, code: e.violation.code, closeCode: e.violation.closeCode };
    return e;
  });
}
function sentFrames(p: WebSocketProtocol): string[] {
  return new FrameParser({ keepRaw: false }).feedAll(concatBytes(p.dataToSend())).flatMap((e) => (e.kind === 'frame' ? [`${e.frame.header.opcode} ${toHex(e.frame.payload)}`] : []));
}

/** Feeds the cuts (as copies: given away, they are unmasked in place) and returns what came out. */
function run(chunks: readonly Uint8Array[], writable: boolean): { events: unknown[]; sent: string[]; action: string } {
  const p = openServer();
  for (const c of chunks) p.receiveData(c.slice(), writable);
  const events = summary(p.events());
  return { events, sent: sentFrames(p), action: p.transportAction };
}

/** Text in fragments with a Ping and a Pong between them, binary messages, a 16-bit length, a Close. */
const stream = concatBytes([
  cf({ opcode: 1, payload: utf8('first') }),
  cf({ opcode: 1, fin: false, payload: utf8('frag-') }),
  cf({ opcode: 9, payload: utf8('ping in between') }),
  cf({ opcode: 0, fin: false, payload: utf8('ment-') }),
  cf({ opcode: 10, payload: utf8('pong') }),
  cf({ opcode: 0, fin: true, payload: utf8('éd') }),
  cf({ opcode: 2, payload: Uint8Array.from({ length: 64 }, (_, i) => i) }),
  cf({ opcode: 2, payload: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff) }),
  cf({ opcode: 2, payload: new Uint8Array(0) }),
  cf({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }),
  cf({ opcode: 2, payload: utf8('after close: discarded') }),
]);

describe('whole frames on the untraced receive path', () => {
  const reference = run([stream], false);

  it('the general path gives what the RFC asks (the reference the fast path is held to)', () => {
    expect(reference.events.map((e) => (e as { type: string }).type)).toEqual(['message', 'ping', 'pong', 'message', 'message', 'message', 'message', 'close-received']);
    expect(reference.events[3]).toMatchObject({ type: 'message', text: 'frag-ment-éd', frameSizes: [5, 5, 3] });
    expect(reference.sent).toEqual([`10 ${toHex(utf8('ping in between'))}`, `8 ${toHex(encodeClosePayload(1000, 'bye'))}`]);
  });

  it('a chunk of many whole frames (control frames inside fragments) gives the same events and replies', () => {
    expect(run([stream], true)).toEqual(reference);
  });

  it('500 small messages in one chunk arrive in order', () => {
    const many = Array.from({ length: 500 }, (_, i) => cf({ opcode: 2, payload: Uint8Array.from({ length: 64 }, (_, j) => (i + j) & 0xff) }));
    const whole = run([concatBytes(many)], true);
    expect(whole).toEqual(run([concatBytes(many)], false));
    expect(whole.events).toHaveLength(500);
  });

  it('cut at every byte position, the same events and replies', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(run([stream.subarray(0, cut), stream.subarray(cut)], true), `cut at ${cut}`).toEqual(reference);
    }
  });

  const good = [cf({ opcode: 1, payload: utf8('one') }), cf({ opcode: 2, payload: Uint8Array.of(1, 2, 3) }), cf({ opcode: 1, payload: utf8('three') })];
  const after = cf({ opcode: 1, payload: utf8('never delivered') });
  const violations: [string, Uint8Array, string, number][] = [
    ['RSV2 set', cf({ opcode: 2, rsv2: true, payload: Uint8Array.of(9) }), 'WS_ERR_RESERVED_BITS', 1002],
    ['invalid UTF-8', cf({ opcode: 1, payload: Uint8Array.of(0x61, 0xff) }), 'WS_ERR_INVALID_UTF8', 1007],
    ['an unmasked client frame', encodeFrame({ opcode: 2, payload: Uint8Array.of(1) }), 'WS_ERR_UNMASKED_CLIENT_FRAME', 1002],
    ['a continuation with no message', cf({ opcode: 0, payload: Uint8Array.of(1) }), 'WS_ERR_UNEXPECTED_CONTINUATION', 1002],
    ['a fragmented Ping', cf({ opcode: 9, fin: false, payload: Uint8Array.of(1) }), 'WS_ERR_FRAGMENTED_CONTROL_FRAME', 1002],
  ];
  for (const [what, bad, code, closeCode] of violations) {
    it(`${what} inside a batch: the messages before it first, then the violation and Close ${closeCode}`, () => {
      const chunk = concatBytes([...good, bad, after]);
      const p = openServer();
      p.receiveData(chunk.slice(), true);
      const events = summary(p.events());
      expect(events.map((e) => (e as { type: string }).type)).toEqual(['message', 'message', 'message', 'violation']);
      expect(events[2]).toMatchObject({ text: 'three' });
      expect(events[3]).toMatchObject({ code, closeCode });
      // The Close goes out once the application has seen the messages (§7.1.7 after §5.5.1's order).
      const sent = sentFrames(p);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.startsWith(`8 ${closeCode.toString(16).padStart(4, '0')}`)).toBe(true);
      expect(p.transportAction).toBe('close');
      // And exactly as the general path does it.
      expect({ events, sent }).toEqual((() => {
        const q = openServer();
        q.receiveData(chunk.slice(), false);
        return { events: summary(q.events()), sent: sentFrames(q) };
      })());
    });
  }

  it('observe policy: recoverable violations in a batch are flagged and skipped exactly as on the general path', () => {
    const chunk = concatBytes([
      good[0]!, violations[0]![1], good[1]!, violations[3]![1], cf({ opcode: 3, payload: Uint8Array.of(7) }), good[2]!,
      cf({ opcode: 1, payload: Uint8Array.of(0x61, 0xff) }),
    ]);
    const observe = (writable: boolean) => {
      const p = openServer('observe');
      p.receiveData(chunk.slice(), writable);
      return { events: summary(p.events()), sent: sentFrames(p), action: p.transportAction };
    };
    const whole = observe(true);
    expect(whole).toEqual(observe(false));
    expect(whole.events.filter((e) => (e as { type: string }).type === 'violation').map((e) => (e as { code: string }).code))
      .toEqual(['WS_ERR_RESERVED_BITS', 'WS_ERR_UNEXPECTED_CONTINUATION', 'WS_ERR_RESERVED_OPCODE', 'WS_ERR_INVALID_UTF8']);
    expect(whole.events.filter((e) => (e as { type: string }).type === 'message')).toHaveLength(5);
  });
});
