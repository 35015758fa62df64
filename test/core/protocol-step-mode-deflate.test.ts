/**
 * Step mode with permessage-deflate (src/core/protocol.ts, deferOutgoingTrace): a held compressed
 * frame may be dropped or released edited, and then its bytes never reach the peer's LZ77 window
 * while they are in our compressor's. A message compressed after it with context takeover (RFC
 * 7692 §7.1.1) may refer back into bytes the peer never got: the inspector would show it as sent,
 * and the peer could not inflate it to that (ws and our own client fail the connection). So while
 * a gate may hold frames, each compressed message starts from an empty window (§7.2.1 lets a
 * sender always do so), and the trace says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { concatBytes, utf8Encode } from '../../src/core/bytes.ts';
import { Opcode } from '../../src/core/constants.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { Connection } from '../../src/core/net/connection.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { WebSocketProtocol, type ProtocolEvent } from '../../src/core/protocol.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';

const TEXT = 'the same sentence, long enough for LZ77 to find it again. '.repeat(4);

function openPair(trace?: (e: TraceEvent) => void) {
  const tracer = new Tracer();
  if (trace) tracer.subscribe(trace);
  const s = new WebSocketProtocol({ role: 'server', trace: tracer.forConnection('s') });
  const c = new WebSocketProtocol({ role: 'client', key: 'dGhlIHNhbXBsZSBub25jZQ==' });
  c.connect();
  s.receiveData(concatBytes(c.dataToSend()));
  c.receiveData(concatBytes(s.dataToSend()));
  expect(s.agreedExtension?.name).toBe('permessage-deflate');
  s.events();
  c.events();
  return { s, c };
}

const texts = (events: ProtocolEvent[]) => events.map((e) => (e.type === 'message' ? e.text : e.type === 'violation' ? `violation ${e.violation.code}` : null)).filter((x) => x !== null);

describe('step mode and permessage-deflate (sans-I/O, our client inflating)', () => {
  for (const how of ['dropped', 'edited'] as const) {
    it(`a message compressed after a held frame that was ${how} inflates at the peer to what was sent`, () => {
      const traced: TraceEvent[] = [];
      const { s, c } = openPair((e) => traced.push(e));
      s.deferOutgoingTrace = true; // Connection.ensureGate: a gate may now hold, drop or edit frames
      s.sendText(TEXT);
      s.sendText(TEXT);
      const [first, second] = s.takeOutput().map((o) => o.bytes);
      if (how === 'edited') {
        const edited = encodeFrame({ opcode: Opcode.Text, payload: utf8Encode('ok') }, null);
        s.markNextFrameEdited('out', first!);
        s.traceWrittenFrame(edited, first);
        c.receiveData(edited);
      }
      s.traceWrittenFrame(second!);
      c.receiveData(second!);
      expect(texts(c.events())).toEqual(how === 'edited' ? ['ok', TEXT] : [TEXT]);
      const messages = traced.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.direction === 'out');
      expect(messages.at(-1)!.compression).toMatchObject({ contextTakeover: false, windowMessages: 0 });
      expect(messages.at(-1)!.compression!.windowReason).toMatch(/step mode/i);
    });
  }

  it('without step mode, context takeover stays (the second message refers back to the first)', () => {
    const traced: TraceEvent[] = [];
    const { s, c } = openPair((e) => traced.push(e));
    s.sendText(TEXT);
    s.sendText(TEXT);
    c.receiveData(concatBytes(s.dataToSend()));
    expect(texts(c.events())).toEqual([TEXT, TEXT]);
    const messages = traced.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
    expect(messages.at(-1)!.compression).toMatchObject({ contextTakeover: true, windowMessages: 1 });
  });
});

describe('step mode and permessage-deflate (our server, a ws client)', () => {
  let server: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', component: { name: 'manual' }, tracer: new Tracer() });
    url = (await server.listen()).url;
  });
  afterAll(() => server.close());

  for (const how of ['dropped', 'edited'] as const) {
    it(`ws receives the message sent after a held compressed frame was ${how}`, async () => {
      const ws = new WebSocket(url, { perMessageDeflate: true });
      const got: string[] = [];
      let closed: number | null = null;
      ws.on('message', (d) => got.push(d.toString()));
      ws.on('close', (code) => (closed = code));
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      let conn: Connection | undefined;
      for (let i = 0; i < 200 && !conn; i++) {
        conn = server.openConnections()[0];
        if (!conn) await new Promise((r) => setTimeout(r, 10));
      }
      conn!.setStepMode(true);
      conn!.sendText(TEXT);
      conn!.sendText(TEXT);
      const held = conn!.gateSnapshot()!.held;
      expect(held).toHaveLength(2);
      if (how === 'dropped') expect(conn!.dropHeld(held[0]!.holdId)).toBe(true);
      else expect(conn!.editHeld(held[0]!.holdId, encodeFrame({ opcode: Opcode.Text, payload: utf8Encode('ok') }, null))).toBe(true);
      conn!.resume();
      const want = how === 'edited' ? ['ok', TEXT] : [TEXT];
      for (let i = 0; i < 300 && got.length < want.length && closed === null; i++) await new Promise((r) => setTimeout(r, 10));
      expect({ got, closed }).toEqual({ got: want, closed: null });
      ws.terminate();
    });
  }
});
