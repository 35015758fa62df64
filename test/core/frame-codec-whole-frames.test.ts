/**
 * FrameParser's wholeFrames fast path (issue 17): a frame sitting whole in a writable chunk is
 * reported as one 'whole-frame' event. Whatever the cut, it must yield exactly the frames, headers
 * and payloads the general path (prefix, header, payload, frame events) yields.
 */
import { describe, it, expect } from 'vitest';
import { encodeFrame, FrameParser, type Frame, type FrameHeader, type FrameSpec, type ParserEvent } from '../../src/core/frame-codec.ts';
import { concatBytes, toHex } from '../../src/core/bytes.ts';
import { ProtocolViolation } from '../../src/core/errors.ts';

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Frames of every kind the fast path reads, and some it leaves to the general path (64-bit length). */
const specs: FrameSpec[] = [
  { opcode: 2, payload: bytes(64, 1), maskKey: KEY },
  { opcode: 1, payload: new TextEncoder().encode('héllo'), maskKey: KEY },
  { opcode: 9, payload: bytes(0, 0), maskKey: KEY },
  { opcode: 1, fin: false, payload: bytes(10, 2), maskKey: KEY },
  { opcode: 10, payload: bytes(5, 3), maskKey: KEY },
  { opcode: 0, fin: true, payload: bytes(125, 4), maskKey: KEY },
  { opcode: 2, payload: bytes(126, 5), maskKey: KEY },
  { opcode: 2, payload: bytes(300, 6), maskKey: null },
  { opcode: 2, payload: bytes(40, 7), maskKey: KEY, lengthEncoding: '64-bit' },
  { opcode: 2, payload: bytes(3, 8), maskKey: KEY, rsv2: true },
  { opcode: 8, payload: Uint8Array.of(0x03, 0xe8), maskKey: KEY },
];
const wire = () => concatBytes(specs.map((s) => encodeFrame(s)));

/** A frame as plain values (header fields, unmasked payload), whichever event carried it. */
function describeFrame(f: Frame): string {
  const h: FrameHeader = f.header;
  return JSON.stringify({ ...h, maskKey: h.maskKey ? toHex(h.maskKey) : null, payload: toHex(f.payload) });
}
function framesOf(events: readonly ParserEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'frame' || e.kind === 'whole-frame' ? [describeFrame(e.frame)] : []));
}

/** Feeds copies of the cuts (the fast path unmasks in place) as writable chunks. */
function parseWhole(chunks: readonly Uint8Array[]): ParserEvent[] {
  const parser = new FrameParser({ keepRaw: false, wholeFrames: true });
  const events: ParserEvent[] = [];
  for (const c of chunks) parser.feed(c.slice(), (e) => events.push(e), true);
  return events;
}
const reference = framesOf(new FrameParser({ keepRaw: false }).feedAll(wire()));

describe('FrameParser wholeFrames', () => {
  it('reads every frame of a chunk of whole frames in one event each, except the 64-bit length', () => {
    const events = parseWhole([wire()]);
    expect(framesOf(events)).toEqual(reference);
    expect(events.filter((e) => e.kind === 'whole-frame')).toHaveLength(specs.length - 1);
    // The 64-bit frame went the general way: its four events.
    expect(events.filter((e) => e.kind !== 'whole-frame').map((e) => e.kind)).toEqual(['prefix', 'header', 'payload', 'frame']);
  });

  it('many small whole frames in one chunk: one event per frame', () => {
    const many = Array.from({ length: 500 }, (_, i) => encodeFrame({ opcode: 2, payload: bytes(i % 130, i), maskKey: KEY }));
    const events = parseWhole([concatBytes(many)]);
    expect(events.map((e) => e.kind)).toEqual(Array(500).fill('whole-frame'));
    expect(framesOf(events)).toEqual(framesOf(new FrameParser({ keepRaw: false }).feedAll(concatBytes(many))));
  });

  it('cut at every byte position (two chunks), and byte by byte: the same frames as the general path', () => {
    const all = wire();
    for (let cut = 0; cut <= all.length; cut++) {
      expect(framesOf(parseWhole([all.subarray(0, cut), all.subarray(cut)])), `cut at ${cut}`).toEqual(reference);
    }
    expect(framesOf(parseWhole(Array.from(all, (b) => Uint8Array.of(b))))).toEqual(reference);
  });

  it('without keepRaw, only for chunks given away', () => {
    const notWritable: ParserEvent[] = [];
    const chunk = wire();
    new FrameParser({ keepRaw: false, wholeFrames: true }).feed(chunk, (e) => notWritable.push(e), false);
    expect(notWritable.some((e) => e.kind === 'whole-frame')).toBe(false);
    expect(toHex(chunk)).toBe(toHex(wire()));
  });

  it('with keepRaw (a trace): whole frames with their wire bytes, the chunk left as it came, at every cut', () => {
    const all = wire();
    const rawOf = (events: ParserEvent[]) => events.flatMap((e) => (e.kind === 'frame' || e.kind === 'whole-frame' ? [toHex(e.frame.raw!)] : []));
    const referenceEvents = new FrameParser({ keepRaw: true }).feedAll(all);
    for (let cut = 0; cut <= all.length; cut++) {
      const chunks = [all.slice(0, cut), all.slice(cut)];
      const events: ParserEvent[] = [];
      const parser = new FrameParser({ keepRaw: true, wholeFrames: true });
      for (const c of chunks) parser.feed(c, (e) => events.push(e), true);
      expect(framesOf(events), `cut at ${cut}`).toEqual(reference);
      expect(rawOf(events), `cut at ${cut}`).toEqual(rawOf(referenceEvents));
      expect(toHex(concatBytes(chunks))).toBe(toHex(all)); // nothing unmasked in place
      if (cut === 0) expect(events.filter((e) => e.kind === 'whole-frame')).toHaveLength(specs.length - 1);
    }
  });

  it('with keepRaw, a check failing on a whole frame leaves the parser where the event-by-event reading stops on that event', () => {
    const all = wire();
    for (const kind of ['prefix', 'header', 'payload'] as const) {
      for (let frame = 0; frame < specs.length - 3; frame++) {
        // The reference: event by event, the handler throws on this frame's `kind` event.
        const general = new FrameParser({ keepRaw: true });
        if (specs[frame]!.payload!.length === 0 && kind === 'payload') continue; // no payload event to fail on
        let index = -1;
        expect(() => general.feed(all, (e) => {
          if (e.kind === 'prefix') index++;
          if (e.kind === kind && index === frame) throw new Error('bad');
        })).toThrow('bad');
        // Whole frames: the same frame's check fails on what that event would carry.
        const whole = new FrameParser({ keepRaw: true, wholeFrames: true });
        let frames = 0;
        let caught = false;
        try {
          whole.feed(all, (e) => {
            if (e.kind !== 'whole-frame') return;
            if (frames++ === frame) {
              whole.stopWholeFrameAt(kind);
              throw new Error('bad');
            }
            whole.consumeWholeFrame();
          });
        } catch {
          caught = true;
        }
        expect(caught).toBe(true);
        const at = `${kind} of frame ${frame}`;
        expect(whole.state, at).toBe(general.state);
        expect(whole.describe(), at).toBe(general.describe());
        expect(toHex(whole.partialBytes()), at).toBe(toHex(general.partialBytes()));
        expect(JSON.stringify(whole.currentHeader()), at).toBe(JSON.stringify(general.currentHeader()));
      }
    }
  });

  it('with keepRaw, every payload length from 0 to 300 (both sides of reading straight out of the chunk), masked or not, alone in its chunk or at every offset mod 4, reads to the RFC formula', () => {
    for (let n = 0; n <= 300; n++) {
      const payload = bytes(n, n);
      for (const maskKey of [KEY, null]) {
        const frame = encodeFrame({ opcode: 2, payload, maskKey });
        // null: the frame is the whole chunk (its wire bytes are the chunk); else it comes behind
        // `lead` bytes of an earlier frame's payload, so it starts anywhere in the chunk.
        for (const lead of [null, 0, 1, 2, 3]) {
          const chunk = lead === null ? frame.slice() : concatBytes([encodeFrame({ opcode: 2, payload: bytes(lead, 9), maskKey: null }), frame]);
          const original = toHex(chunk);
          const frames: Frame[] = [];
          new FrameParser({ keepRaw: true, wholeFrames: true }).feed(chunk, (e) => {
            if (e.kind === 'whole-frame') frames.push(e.frame);
          }, true);
          const at = `n=${n} masked=${maskKey !== null} lead=${lead}`;
          expect(frames, at).toHaveLength(lead === null ? 1 : 2);
          const f = frames[frames.length - 1]!;
          // §5.3: octet i of the transformed data is octet i of the original XOR octet i mod 4 of the key.
          const expected = Uint8Array.from(frame.subarray(frame.length - n), (b, i) => (maskKey ? b ^ maskKey[i % 4]! : b));
          expect(toHex(f.payload), at).toBe(toHex(expected));
          expect(toHex(f.payload), at).toBe(toHex(payload));
          expect(toHex(f.raw!), at).toBe(toHex(frame));
          expect(f.header.maskKey ? toHex(f.header.maskKey) : null, at).toBe(maskKey ? toHex(maskKey) : null);
          expect(toHex(chunk), at).toBe(original); // the wire bytes stay as they came
        }
      }
    }
  });

  it('a handler that throws on a whole frame leaves the parser at the next frame', () => {
    const parser = new FrameParser({ keepRaw: false, wholeFrames: true });
    const chunk = wire();
    let seen = 0;
    expect(() => parser.feed(chunk, () => { seen++; throw new ProtocolViolation('WS_ERR_RESERVED_BITS', 'stop'); }, true)).toThrow('stop');
    expect(seen).toBe(1);
    expect(parser.state).toBe('header');
    // Nothing of the first frame is held: going on yields exactly the frames after it.
    const rest: ParserEvent[] = [];
    parser.feed(new Uint8Array(0), (e) => rest.push(e), true);
    expect(framesOf(rest)).toEqual(reference.slice(1));
  });
});
