/**
 * What the display filter and the search read of a frame and of a message
 * (src/renderer/src/lib/timeline.ts): the payload as it was on the wire.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/core/frame-codec.ts';
import { WebSocketProtocol } from '../../../src/core/protocol.ts';
import type { TraceBody } from '../../../src/core/trace.ts';
import { compileFilter } from '../../../src/renderer/src/lib/display-filter.ts';
import { frameSubject, MessageItem, messageSubject } from '../../../src/renderer/src/lib/timeline.ts';
import { FrameRow, MessageOpcodeTracker } from '../../../src/renderer/src/store/frame-row.ts';

/** The rows a server's trace gives for these client frames (masked, as a client sends them). */
function rowsReceived(frames: Array<{ opcode: number; payload: Uint8Array; fin?: boolean }>): FrameRow[] {
  const traces: TraceBody[] = [];
  const protocol = new WebSocketProtocol({ role: 'server', startOpen: true, trace: (b) => traces.push(b) });
  for (const f of frames) protocol.receiveData(encodeFrame({ ...f, maskKey: Uint8Array.of(1, 2, 3, 4) }));
  const tracker = new MessageOpcodeTracker();
  return traces.flatMap((t, i) => {
    if (t.type !== 'frame') return [];
    const event = { seq: i, time: i, connectionId: 'c1', direction: t.direction, frame: t.frame };
    return [FrameRow.fromTrace(event, tracker.opcodeFor(event))];
  });
}

const bomHi = Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69);

describe('payload text of frames and messages', () => {
  it('keeps a leading U+FEFF: a BOM at the start of a text message is data (§5.6), so "payload == hi" does not match it', () => {
    const [row] = rowsReceived([{ opcode: 1, payload: bomHi }]);
    const subject = frameSubject(row!);
    expect(subject.payloadText()).toBe('\uFEFFhi');
    expect(compileFilter('payload == "hi"').test(subject)).toBe(false);
    expect(compileFilter('payload contains "hi"').test(subject)).toBe(true);
  });

  it('a message of fragments keeps the BOM its first fragment starts with', () => {
    const rows = rowsReceived([{ opcode: 1, payload: bomHi, fin: false }, { opcode: 0, payload: Uint8Array.of(0x21) }]);
    expect(rows).toHaveLength(2);
    const message = new MessageItem(rows[0]!);
    message.frames.push(rows[1]!);
    expect(messageSubject(message).payloadText()).toBe('\uFEFFhi!');
  });
});
