/** Replaying a connection whose handshake is not in the capture (src/core/capture/midstream-replay.ts). */

import { describe, expect, it } from 'vitest';
import { replayMidstream } from '../../../src/core/capture/midstream-replay.ts';
import { appendChunk, createConnection, endConnection } from '../../../src/core/capture/recording.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { wsFrame } from '../../support/capture-synth.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function connection() {
  return createConnection({ id: 'm1', ourRole: 'observed', source: 'pcap', client: { address: '10.0.0.1', port: 4000, family: 'IPv4' }, server: { address: '10.0.0.2', port: 80, family: 'IPv4' }, startTime: 1000 });
}
const of = <T extends TraceEvent['type']>(events: TraceEvent[], type: T) => events.filter((e): e is Extract<TraceEvent, { type: T }> => e.type === type);

describe('replayMidstream', () => {
  it('reads both directions from their first frame, judges them (an unmasked client frame is flagged), and ends with the first Close', () => {
    const conn = connection();
    appendChunk(conn, 's2c', 1001, wsFrame(1, enc('from the server'), { masked: false }));
    appendChunk(conn, 'c2s', 1002, wsFrame(1, enc('masked, fine'), { masked: true }));
    appendChunk(conn, 'c2s', 1003, wsFrame(1, enc('unmasked'), { masked: false }));
    appendChunk(conn, 's2c', 1004, wsFrame(8, Uint8Array.from([0x0f, 0xa1, 0x62, 0x79, 0x65]), { masked: false }));
    appendChunk(conn, 'c2s', 1005, wsFrame(8, Uint8Array.from([0x0f, 0xa1]), { masked: true }));
    endConnection(conn, 1006);
    const events = [...replayMidstream(conn)];
    expect(of(events, 'message').map((m) => [m.direction, m.text])).toEqual([['in', 'from the server'], ['out', 'masked, fine'], ['out', 'unmasked']]);
    expect(of(events, 'violation').map((v) => [v.direction, v.violation.code])).toEqual([['out', 'WS_ERR_UNMASKED_CLIENT_FRAME']]);
    expect(of(events, 'frame').map((f) => f.frame.frameId)).toEqual([1, 2, 3, 4, 5]);
    expect(of(events, 'connection-closed')[0]).toMatchObject({ wasClean: true, code: 4001, reason: 'bye' });
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
    expect(events.every((e, i) => i === 0 || e.time >= events[i - 1]!.time)).toBe(true);
  });

  it('compressed directions: RSV1 and UTF-8 of compressed messages (continuations too) not blamed, shown as bytes; a plain message on that direction is still judged', () => {
    const conn = connection();
    const compressed = Uint8Array.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // raw DEFLATE of "Hello"
    appendChunk(conn, 'c2s', 1001, wsFrame(1, compressed.subarray(0, 3), { masked: true, rsv1: true, fin: false }));
    appendChunk(conn, 'c2s', 1002, wsFrame(0, compressed.subarray(3), { masked: true }));
    appendChunk(conn, 'c2s', 1003, wsFrame(1, Uint8Array.from([0xc3, 0x28]), { masked: true })); // not compressed, not UTF-8
    const events = [...replayMidstream(conn, { compressed: { c2s: true } })];
    expect(of(events, 'violation').map((v) => v.violation.code)).toEqual(['WS_ERR_INVALID_UTF8']);
    const first = of(events, 'message')[0]!;
    expect(first.text).toBeUndefined();
    expect(Buffer.from(first.data!).toString('hex')).toBe(Buffer.from(compressed).toString('hex'));
    expect(of(events, 'note').map((n) => n.text).join('\n')).toMatch(/not inflated/);
  });

  it('without a Close the connection ends 1006, said so', () => {
    const conn = connection();
    appendChunk(conn, 'c2s', 1001, wsFrame(2, Uint8Array.from([1, 2, 3]), { masked: true }));
    const events = [...replayMidstream(conn)];
    expect(of(events, 'connection-closed')[0]).toMatchObject({ wasClean: false, code: 1006, detail: 'no Close frame was captured, and the capture ends with TCP still open' });
  });
});
