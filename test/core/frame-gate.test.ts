/**
 * The frame gate (step mode), sans-I/O: holding, order, breakpoints, step/continue/resume,
 * edit and drop, bytes split anywhere.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8Encode } from '../../src/core/bytes.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { FrameGate, matchesBreakpoint, type Breakpoint } from '../../src/core/frame-gate.ts';

const key = Uint8Array.of(1, 2, 3, 4);
const text = (s: string, fin = true, opcode = 1) => encodeFrame({ opcode, payload: utf8Encode(s), maskKey: key, fin });
const bp = (over: Partial<Breakpoint>): Breakpoint => ({ id: 'bp', direction: 'both', opcodes: [], enabled: true, ...over });

describe('FrameGate', () => {
  it('says when incoming bytes are still inside it (held, dropped behind a held one, or part of a frame)', () => {
    const gate = new FrameGate();
    expect(gate.holdsIncoming).toBe(false);
    const frame = text('part');
    expect(gate.receive(frame.subarray(0, 3))).toEqual([]);
    expect(gate.holdsIncoming).toBe(true); // a frame part-split
    expect(gate.receive(frame.subarray(3)).map((r) => r.bytes)).toEqual([frame]);
    expect(gate.holdsIncoming).toBe(false);
    gate.setStepMode(true);
    gate.receive(concatBytes([text('a'), text('b')]));
    const [first, second] = gate.snapshot().held;
    expect(gate.drop(second!.holdId)).toEqual([]); // waits behind the first
    expect(gate.holdsIncoming).toBe(true);
    gate.send(text('out'));
    expect(gate.step('in').map((r) => r.holdId)).toEqual([first!.holdId, second!.holdId]);
    expect(gate.holdsIncoming).toBe(false); // an outgoing frame held is not incoming
  });

  it('passes frames straight through when idle, however the bytes are split', () => {
    const gate = new FrameGate();
    gate.setBreakpoints([]);
    const wire = concatBytes([text('a'), text('bb')]);
    const out = [...gate.receive(wire.subarray(0, 3)), ...gate.receive(wire.subarray(3))];
    expect(concatBytes(out.map((r) => r.bytes))).toEqual(wire);
    expect(out.every((r) => r.holdId === null)).toBe(true);
  });

  it('holds every frame in step mode and releases them one at a time, in order', () => {
    const gate = new FrameGate();
    gate.setStepMode(true);
    const frames = [text('one', false), text('two', false, 0), text('three', true, 0)];
    const wire = concatBytes(frames);
    for (const b of wire) expect(gate.receive(Uint8Array.of(b)).filter((r) => r.holdId === null)).toEqual([]);
    expect(gate.snapshot().held.map((h) => h.bytes)).toEqual(frames);
    expect(gate.step('in')[0]!.bytes).toEqual(frames[0]);
    expect(gate.step('out')).toEqual([]);
    expect(gate.step()[0]!.bytes).toEqual(frames[1]);
    expect(gate.snapshot().held).toHaveLength(1);
  });

  it('stops at a breakpoint, queues later frames behind it, and Continue releases them in order', () => {
    const gate = new FrameGate();
    gate.setBreakpoints([bp({ id: 'pings', opcodes: [9] })]);
    expect(gate.send(text('first'))).toHaveLength(1);
    expect(gate.send(encodeFrame({ opcode: 9, payload: utf8Encode('p') }))).toEqual([]);
    expect(gate.send(text('after'))).toEqual([]);
    const held = gate.snapshot().held;
    expect(held.map((h) => h.reason)).toEqual(['pings', 'queued behind a held frame']);
    const released = gate.continue();
    expect(released.map((r) => r.bytes[0]! & 0x0f)).toEqual([9, 1]);
    // Still armed: the next ping stops again.
    expect(gate.send(encodeFrame({ opcode: 9 }))).toEqual([]);
    // Resume disarms breakpoints.
    gate.resume();
    expect(gate.send(encodeFrame({ opcode: 9 }))).toHaveLength(1);
  });

  it('keeps directions independent: a held incoming frame does not block outgoing ones', () => {
    const gate = new FrameGate();
    gate.setBreakpoints([bp({ direction: 'in' })]);
    expect(gate.receive(text('in')).filter((r) => r.holdId === null)).toEqual([]);
    gate.setStepMode(false);
    expect(gate.send(text('out'))).toHaveLength(1);
  });

  it('edits and drops held frames', () => {
    const gate = new FrameGate();
    gate.setStepMode(true);
    gate.send(text('original'));
    gate.send(text('doomed'));
    const [a, b] = gate.snapshot().held;
    expect(gate.edit(a!.holdId, text('edited'))).toBe(true);
    expect(gate.drop(b!.holdId)).toEqual([]); // outgoing: forgotten, never written
    expect(gate.drop(b!.holdId)).toBeNull();
    const out = gate.resume();
    // The original goes with an edited frame, for the trace to show (issue 14).
    expect(out).toEqual([{ direction: 'out', bytes: text('edited'), holdId: a!.holdId, edited: true, original: text('original'), heldAt: a!.heldAt }]);
  });

  it('hands a dropped incoming frame back, as the peer sent it, only once every incoming frame before it has gone', () => {
    const gate = new FrameGate(() => 7);
    gate.setStepMode(true);
    const frames = [text('one', false), text('two', false, 0), text('three', true, 0), text('four')];
    gate.receive(concatBytes(frames));
    gate.send(text('reply'));
    const [one, two, three, four, reply] = gate.snapshot().held;
    // Edited, then dropped: the protocol must still read what the peer sent.
    expect(gate.edit(two!.holdId, text('TWO', false, 0))).toBe(true);
    // Behind "one": it waits, out of sight, and cannot be edited or dropped again.
    expect(gate.drop(two!.holdId)).toEqual([]);
    expect(gate.snapshot().held.map((h) => h.holdId)).toEqual([one!.holdId, three!.holdId, four!.holdId, reply!.holdId]);
    expect(gate.edit(two!.holdId, text('x'))).toBe(false);
    expect(gate.drop(two!.holdId)).toBeNull();
    // Stepping the outgoing side leaves it where it is.
    expect(gate.step('out').map((r) => r.holdId)).toEqual([reply!.holdId]);
    // Stepping "one" lets the dropped frame follow it, in the stream's order.
    expect(gate.step('in')).toEqual([
      { direction: 'in', bytes: frames[0], holdId: one!.holdId, edited: false, heldAt: 7 },
      { direction: 'in', bytes: frames[1], holdId: two!.holdId, edited: false, heldAt: 7, dropped: true },
    ]);
    // First in line: handed back at once.
    expect(gate.drop(three!.holdId)).toEqual([{ direction: 'in', bytes: frames[2], holdId: three!.holdId, edited: false, heldAt: 7, dropped: true }]);
    expect(gate.snapshot().held.map((h) => h.holdId)).toEqual([four!.holdId]);
  });

  it('releases waiting dropped frames in order with everything else on resume', () => {
    const gate = new FrameGate();
    gate.setStepMode(true);
    const frames = [text('a'), text('b'), text('c')];
    gate.receive(concatBytes(frames));
    const held = gate.snapshot().held;
    expect(gate.drop(held[1]!.holdId)).toEqual([]);
    const out = gate.resume();
    expect(out.map((r) => [r.bytes, r.dropped ?? false])).toEqual([[frames[0], false], [frames[1], true], [frames[2], false]]);
    expect(gate.active).toBe(false);
  });

  it('stamps each held frame with the time it was held, from the clock it is given', () => {
    let clock = 1000;
    const gate = new FrameGate(() => clock);
    gate.setStepMode(true);
    gate.send(text('first'));
    clock = 1250;
    gate.send(text('second'));
    expect(gate.snapshot().held.map((h) => h.heldAt)).toEqual([1000, 1250]);
    clock = 5000;
    expect(gate.step('out')[0]!.heldAt).toBe(1000);
    expect(gate.resume().map((r) => r.heldAt)).toEqual([1250]);
  });

  it('lets a frame too large to hold stream through instead of buffering it', () => {
    const gate = new FrameGate();
    gate.setStepMode(true);
    const header = encodeFrame({ opcode: 2, payload: new Uint8Array(0), maskKey: key, declaredLength: 100 * 1024 * 1024 });
    const out = gate.receive(concatBytes([header, new Uint8Array(1000)]));
    expect(concatBytes(out.map((r) => r.bytes)).length).toBe(header.length + 1000);
    expect(gate.receive(new Uint8Array(500))[0]!.bytes.length).toBe(500);
    expect(gate.snapshot().held).toEqual([]);
  });

  it.each([
    ['opcode', bp({ opcodes: [2] }), false],
    ['direction', bp({ direction: 'out' }), false],
    ['min size', bp({ minSize: 6 }), false],
    ['max size', bp({ maxSize: 4 }), true],
    ['text match', bp({ payloadMatch: 'ell' }), true],
    ['hex match', bp({ payloadMatch: 'hex:65 6c' }), true],
    ['no text match', bp({ payloadMatch: 'xyz' }), false],
    ['disabled', bp({ enabled: false }), false],
  ])('breakpoint on %s', (_name, breakpoint, matches) => {
    expect(matchesBreakpoint(breakpoint, 'in', text('hell'))).toBe(matches);
  });
});
