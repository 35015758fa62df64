/**
 * A retained frame row keeps numbers and a view's place in its batch's bytes, and rebuilds
 * the traced frame from them exactly; frames whose trace says more than their bytes stay whole.
 * The frames come from the real engine (WebSocketProtocol's trace) and through the web bridge's
 * JSON, as the renderer receives them.
 */
import { describe, expect, it } from 'vitest';
import { utf8Encode } from '../../src/core/bytes.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import type { Direction, TraceBody, TracedFrame } from '../../src/core/trace.ts';
import { FrameRow, MessageOpcodeTracker } from '../../src/renderer/src/store/frame-row.ts';
import { decodeBatch } from '../../src/shared/trace-batch.ts';
import { encodeBatch } from '../../src/shared/trace-batch-encode.ts';
import { prng } from '../support/prng.ts';

function tracedFrames(role: 'server' | 'client', drive: (p: WebSocketProtocol) => void, policy: 'strict' | 'observe' = 'strict'): Array<{ direction: Direction; frame: TracedFrame }> {
  const traces: TraceBody[] = [];
  const protocol = new WebSocketProtocol({ role, startOpen: true, policy, trace: (b) => traces.push(b) });
  drive(protocol);
  return traces.flatMap((t) => (t.type === 'frame' ? [{ direction: t.direction, frame: t.frame }] : []));
}

/** As the bridges deliver them: a binary batch (src/shared/trace-batch.ts), bytes in one slab. */
function overTheBridge(frames: Array<{ direction: Direction; frame: TracedFrame }>): FrameRow[] {
  const events = frames.map((f, i) => ({ type: 'frame' as const, seq: i + 1, time: 1000 + i, connectionId: 'c1', ...f }));
  return decodeBatch(encodeBatch({ events })).events.map((e) => FrameRow.fromTrace(e as typeof events[number]));
}

function comparable(f: TracedFrame): Record<string, unknown> {
  return { ...f, raw: Array.from(f.raw), payload: Array.from(f.payload), maskKey: f.maskKey && Array.from(f.maskKey) };
}

const sizes = [0, 1, 30, 125, 126, 1000, 65535, 65536, 70000];

describe('FrameRow', () => {
  it('rebuilds masked and unmasked frames of every length encoding exactly, flags, key and preview included', () => {
    const random = prng(6455);
    const payloads = sizes.map((n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)));
    const received = tracedFrames('server', (p) => {
      for (const payload of payloads) {
        const key = Uint8Array.from({ length: 4 }, () => Math.floor(random() * 256));
        p.receiveData(encodeFrame({ opcode: 2, payload, maskKey: key }));
      }
      p.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('héllo'), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }));
      p.receiveData(encodeFrame({ opcode: 0, payload: utf8Encode(' world'), maskKey: Uint8Array.of(9, 8, 7, 6) }));
      p.receiveData(encodeFrame({ opcode: 9, payload: utf8Encode('ping?'), maskKey: Uint8Array.of(0, 0, 0, 0) }));
    });
    const sent = tracedFrames('client', (p) => {
      for (const payload of payloads) p.sendBinary(payload);
      p.sendText('client text');
    });
    const unmaskedOut = tracedFrames('server', (p) => {
      for (const payload of payloads) p.sendBinary(payload);
    });
    const all = [...received, ...sent, ...unmaskedOut];
    // The server answers the ping with a pong (unmasked, out).
    expect(all.length).toBe(3 * sizes.length + 5);
    expect(all[sizes.length + 3]).toMatchObject({ direction: 'out', frame: { opcode: 10, masked: false } });
    const rows = overTheBridge(all);
    rows.forEach((row, i) => {
      const original = all[i]!.frame;
      expect(row.key).toBe(`c1:${original.frameId}`);
      expect([row.fin, row.rsv1, row.rsv2, row.rsv3, row.masked, row.opcode, row.payloadLength, row.frameId])
        .toEqual([original.fin, original.rsv1, original.rsv2, original.rsv3, original.masked, original.opcode, original.payloadLength, original.frameId]);
      expect(row.violation).toBeUndefined();
      expect(comparable(row.frame)).toEqual(comparable(original));
      expect(Array.from(row.payloadHead(10))).toEqual(Array.from(original.payload.subarray(0, 10)));
    });
    // Client frames are masked with random keys: the rebuilt payload really is unmasked.
    expect(rows.filter((r) => r.masked).length).toBe(2 * sizes.length + 4);
    const text = rows[sizes.length + 1]!;
    expect([text.opcode, text.fin, text.preview]).toEqual([0, true, ' world']);
    expect(rows[sizes.length]!.preview).toBe('héllo');
    expect(rows[2]!.preview).toBe(`${Array.from(payloads[2]!.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ')} …`);
    expect(rows[0]!.preview).toBe('');
  });

  it('previews keep a leading U+FEFF: a BOM that starts a text frame or a continuation is data (§5.6)', () => {
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf);
    const frames = tracedFrames('server', (p) => {
      p.receiveData(encodeFrame({ opcode: 1, payload: Uint8Array.of(...bom, 0x68, 0x69), maskKey: Uint8Array.of(1, 2, 3, 4) }));
      p.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('a'), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }));
      p.receiveData(encodeFrame({ opcode: 0, payload: Uint8Array.of(...bom, 0x62), maskKey: Uint8Array.of(5, 6, 7, 8) }));
    });
    const tracker = new MessageOpcodeTracker();
    const previews = frames.map((f, i) => {
      const event = { seq: i, time: i, connectionId: 'c1', ...f };
      return FrameRow.fromTrace(event, tracker.opcodeFor(event)).preview;
    });
    expect(previews).toEqual(['\uFEFFhi', 'a', '\uFEFFb']);
  });

  it('keeps frames whole when the trace says more than the bytes: violations, close codes, partial and cut frames', () => {
    const frames = tracedFrames('server', (p) => {
      p.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('rsv'), maskKey: Uint8Array.of(5, 6, 7, 8), rsv1: true }));
      p.receiveData(encodeFrame({ opcode: 8, payload: Uint8Array.of(0x03, 0xe8, 0x62, 0x79, 0x65), maskKey: Uint8Array.of(1, 1, 1, 1) }));
    }, 'observe');
    const cut: TracedFrame = { ...frames[0]!.frame, violation: undefined, raw: frames[0]!.frame.raw.subarray(0, 7), payload: frames[0]!.frame.payload.subarray(0, 1), truncated: { rawLength: 9, payloadLength: 3 } };
    delete cut.violation;
    // frames[2] is the server's own close in answer: not needed here.
    const rows = overTheBridge([frames[0]!, frames[1]!, { direction: 'in', frame: cut }]);
    expect(rows[0]!.violation?.code).toBe('WS_ERR_RESERVED_BITS');
    expect(rows[0]!.rsv1).toBe(true);
    expect(rows[1]!.close).toEqual({ code: 1000, reason: 'bye' });
    expect(rows[1]!.preview).toBe('1000 "bye"');
    expect(rows[2]!.truncated).toEqual({ rawLength: 9, payloadLength: 3 });
    expect(Array.from(rows[2]!.frame.payload)).toEqual([0x72]);
    expect(rows[2]!.preview).toBe('r');
  });

  it('never lies: a payload that is not the wire payload unmasked is kept as traced', () => {
    const [traced] = tracedFrames('server', (p) => p.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('abc'), maskKey: Uint8Array.of(1, 2, 3, 4) })));
    const odd: TracedFrame = { ...traced!.frame, payload: utf8Encode('abd') };
    const [row] = overTheBridge([{ direction: 'in', frame: odd }]);
    expect(row!.preview).toBe('abd');
    expect(new TextDecoder().decode(row!.frame.payload)).toBe('abd');
  });

  it('withFrame swaps in other bytes and keeps the row\'s place', () => {
    const [traced] = tracedFrames('client', (p) => p.sendText('short'));
    const [row] = overTheBridge([traced!]);
    const full = row!.withFrame({ ...row!.frame, payload: utf8Encode('short and then some') });
    expect([full.key, full.seq, full.time, full.direction]).toEqual([row!.key, row!.seq, row!.time, row!.direction]);
    expect(full.preview).toBe('short and then some');
    expect(row!.preview).toBe('short');
  });
});

describe('FrameRow: compressed frames (permessage-deflate)', () => {
  /** A client and a server with deflate agreed; returns the server's traced frames after the client sends. */
  function compressedFrames(send: (client: WebSocketProtocol) => void): Array<{ direction: Direction; frame: TracedFrame }> {
    const traces: TraceBody[] = [];
    const client = new WebSocketProtocol({ role: 'client' });
    const server = new WebSocketProtocol({ role: 'server', trace: (b) => traces.push(b) });
    client.connect();
    for (const b of client.dataToSend()) server.receiveData(b);
    for (const b of server.dataToSend()) client.receiveData(b);
    send(client);
    for (const b of client.dataToSend()) server.receiveData(b);
    return traces.flatMap((t) => (t.type === 'frame' ? [{ direction: t.direction, frame: t.frame }] : []));
  }

  it('keeps a compressed frame whole, with its plain bytes, and previews the inflated text rather than DEFLATE bytes', () => {
    const frames = compressedFrames((c) => c.sendText('Hello, compressed world! '.repeat(4)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.frame.rsv1).toBe(true);
    const [row] = overTheBridge(frames);
    expect(row!.frame.deflate?.inflatedLength).toBe(100);
    expect(row!.preview).toBe('Hello, compressed world! '.repeat(4));
    expect(row!.frame.payload.length).toBeLessThan(100); // the wire payload stays the compressed bytes
    expect(row!.rsv1).toBe(true);
    expect(row!.compressedFirst).toBe(true);
  });

  it('previews a compressed text frame\'s inflated text with its leading U+FEFF (§5.6: the BOM is data)', () => {
    const frames = compressedFrames((c) => c.sendText('\uFEFFhi, compressed'));
    expect(frames[0]!.frame.rsv1).toBe(true);
    const row = FrameRow.fromTrace({ seq: 1, time: 1, connectionId: 'c1', ...frames[0]! });
    expect(row.preview).toBe('\uFEFFhi, compressed');
  });

  it('previews a compressed binary frame\'s plain bytes as hex', () => {
    const frames = compressedFrames((c) => c.sendBinary(new Uint8Array(64).fill(0xab)));
    const [row] = overTheBridge(frames);
    expect(row!.preview).toBe(`${Array(24).fill('ab').join(' ')} …`);
  });
});

describe('FrameRow: continuation frames take their message\'s type', () => {
  it('a binary message\'s continuation frames are binary: previewed as hex, not decoded as text', () => {
    const frames = tracedFrames('server', (p) => {
      p.receiveData(encodeFrame({ opcode: 2, payload: utf8Encode('AB'), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }));
      p.receiveData(encodeFrame({ opcode: 9, payload: utf8Encode('hi'), maskKey: Uint8Array.of(1, 2, 3, 4) }));
      p.receiveData(encodeFrame({ opcode: 0, payload: utf8Encode('CD'), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }));
      p.receiveData(encodeFrame({ opcode: 0, payload: utf8Encode('EF'), maskKey: Uint8Array.of(1, 2, 3, 4) }));
      p.receiveData(encodeFrame({ opcode: 1, payload: utf8Encode('te'), maskKey: Uint8Array.of(1, 2, 3, 4), fin: false }));
      p.receiveData(encodeFrame({ opcode: 0, payload: utf8Encode('xt'), maskKey: Uint8Array.of(1, 2, 3, 4) }));
    }).filter((f) => f.direction === 'in');
    const tracker = new MessageOpcodeTracker();
    const rows = frames.map((f, i) => {
      const event = { seq: i, time: i, connectionId: 'c1', ...f };
      return FrameRow.fromTrace(event, tracker.opcodeFor(event));
    });
    expect(rows.map((r) => [r.opcode, r.messageOpcode, r.preview])).toEqual([
      [2, 2, '41 42'], [9, 9, 'hi'], [0, 2, '43 44'], [0, 2, '45 46'], [1, 1, 'te'], [0, 1, 'xt'],
    ]);
    // Per connection and direction: a continuation never seen the start of reads as 0 (decoded as text).
    expect(tracker.opcodeFor({ connectionId: 'c2', direction: 'in', frame: { ...frames[2]!.frame } })).toBe(0);
    // withFrame keeps it.
    expect(rows[2]!.withFrame(rows[2]!.frame).messageOpcode).toBe(2);
  });
});
