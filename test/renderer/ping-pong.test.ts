/**
 * A ping links to the pong that answered it and back: the other kind, from the other side,
 * with the same payload bytes (§5.5.3), as the engine traced them.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import type { TraceBody } from '../../src/core/trace.ts';
import { findControlPartner } from '../../src/renderer/src/lib/ping-pong.ts';
import { FrameIndex } from '../../src/renderer/src/store/frame-index.ts';
import { FrameRow } from '../../src/renderer/src/store/frame-row.ts';

/** A server that received these client frames: its trace as rows, indexed. */
function traced(send: (p: WebSocketProtocol) => void): { rows: FrameRow[]; index: FrameIndex } {
  const traces: TraceBody[] = [];
  const protocol = new WebSocketProtocol({ role: 'server', startOpen: true, trace: (b) => traces.push(b) });
  send(protocol);
  const index = new FrameIndex();
  const rows = traces.flatMap((t, i) => (t.type === 'frame' ? [FrameRow.fromTrace({ seq: i, time: i, connectionId: 'server1:1', direction: t.direction, frame: t.frame })] : []));
  for (const row of rows) index.set(row);
  return { rows, index };
}

const key = Uint8Array.of(9, 8, 7, 6);

describe('findControlPartner', () => {
  it('links a ping and the pong the engine answered it with, both ways, past other frames', () => {
    const { rows, index } = traced((p) => {
      p.receiveData(encodeFrame({ opcode: 9, payload: Uint8Array.of(1, 2, 3), maskKey: key }));
      p.receiveData(encodeFrame({ opcode: 1, payload: new TextEncoder().encode('between'), maskKey: key }));
    });
    const [ping, pong] = [rows[0]!, rows[1]!];
    expect([ping.opcode, ping.direction, pong.opcode, pong.direction]).toEqual([9, 'in', 10, 'out']);
    expect(findControlPartner(index, ping)).toBe(pong);
    expect(findControlPartner(index, pong)).toBe(ping);
    expect(findControlPartner(index, rows[2]!)).toBeUndefined();
  });

  it('does not pair payloads that only decode alike (0xE2 and "€" = E2 82 AC), nor an unsolicited pong', () => {
    const { rows, index } = traced((p) => {
      // The server sends a ping with one byte 0xE2; the client's pong carries "€".
      p.sendPing(Uint8Array.of(0xe2));
      p.receiveData(encodeFrame({ opcode: 10, payload: new TextEncoder().encode('€'), maskKey: key }));
      p.receiveData(encodeFrame({ opcode: 10, payload: Uint8Array.of(0xe2), maskKey: key }));
    });
    const [ping, wrongPong, rightPong] = rows;
    expect(findControlPartner(index, ping!)).toBe(rightPong);
    expect(findControlPartner(index, wrongPong!)).toBeUndefined();
  });
});
