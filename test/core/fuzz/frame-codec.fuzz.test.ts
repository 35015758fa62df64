/**
 * Property tests of the frame codec: encodeFrame → FrameParser round-trips any frame, whole or
 * split anywhere; random and mutated byte streams never make the parser throw anything but a
 * ProtocolViolation, and it always accounts for every byte it was given.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes } from '../../../src/core/bytes.ts';
import { ProtocolViolation } from '../../../src/core/errors.ts';
import { encodeFrame, FrameParser, type Frame, type ParserEvent } from '../../../src/core/frame-codec.ts';
import { chunk, chunkPlanArb, frameLikeBytesArb, frameSpecArb, mutate, mutationArb, runs, validStreamArb } from './generators.ts';

/** Wall-clock bound for one property run: the parser must never spin. */
const RUN_MS = 2000;

function expectedLengthField(payloadLength: number, encoding: string | undefined): number {
  if (encoding === '16-bit') return 126;
  if (encoding === '64-bit') return 127;
  return payloadLength <= 125 ? payloadLength : payloadLength <= 0xffff ? 126 : 127;
}

describe('encodeFrame → FrameParser round-trips (property)', () => {
  it('any single frame (fin/rsv/opcode, masked or not, 0-70000 bytes), whole or split at random points', () => {
    fc.assert(
      fc.property(frameSpecArb, chunkPlanArb, (spec, plan) => {
        const bytes = encodeFrame(spec);
        const parser = new FrameParser();
        const events: ParserEvent[] = [];
        const started = Date.now();
        for (const piece of chunk(bytes, plan)) parser.feed(piece, (e) => events.push(e));
        expect(Date.now() - started).toBeLessThan(RUN_MS);

        const kinds = events.map((e) => e.kind);
        expect(kinds[0]).toBe('prefix');
        expect(kinds[1]).toBe('header');
        expect(kinds.at(-1)).toBe('frame');
        expect(kinds.filter((k) => k === 'frame')).toHaveLength(1);

        const frame = (events.at(-1) as { frame: Frame }).frame;
        const h = frame.header;
        const masked = spec.maskKey !== null;
        const extended = expectedLengthField(spec.payload.length, spec.lengthEncoding);
        expect({ fin: h.fin, rsv1: h.rsv1, rsv2: h.rsv2, rsv3: h.rsv3, opcode: h.opcode, masked: h.masked }).toEqual({
          fin: spec.fin, rsv1: spec.rsv1, rsv2: spec.rsv2, rsv3: spec.rsv3, opcode: spec.opcode, masked,
        });
        expect(h.lengthField).toBe(extended);
        expect(h.payloadLength).toBe(spec.payload.length);
        expect(h.headerLength).toBe(2 + (extended === 126 ? 2 : extended === 127 ? 8 : 0) + (masked ? 4 : 0));
        expect(h.maskKey === null ? null : Array.from(h.maskKey)).toEqual(spec.maskKey === null ? null : Array.from(spec.maskKey));
        expect(bytesEqual(frame.payload, spec.payload)).toBe(true);
        expect(bytesEqual(frame.raw!, bytes)).toBe(true);

        // Payload chunks arrive unmasked, in order, at the offsets they claim.
        const chunks = events.flatMap((e) => (e.kind === 'payload' ? [e] : []));
        let offset = 0;
        for (const c of chunks) {
          expect(c.offset).toBe(offset);
          offset += c.chunk.length;
        }
        expect(offset).toBe(spec.payload.length);
        expect(bytesEqual(concatBytes(chunks.map((c) => c.chunk)), spec.payload)).toBe(true);

        // Back at a frame boundary, holding nothing.
        expect(parser.state).toBe('header');
        expect(parser.partialBytes().length).toBe(0);
        expect(parser.describe()).toBe('waiting for a new frame');
      }),
      { numRuns: runs(500) },
    );
  });

  it('several frames back to back, split anywhere, come out in order and byte-exact', () => {
    fc.assert(
      fc.property(fc.array(frameSpecArb, { minLength: 2, maxLength: 4 }), chunkPlanArb, (specs, plan) => {
        const wires = specs.map((s) => encodeFrame(s));
        const parser = new FrameParser({ keepRaw: true });
        const frames: Frame[] = [];
        for (const piece of chunk(concatBytes(wires), plan)) parser.feed(piece, (e) => e.kind === 'frame' && frames.push(e.frame));
        expect(frames).toHaveLength(specs.length);
        frames.forEach((f, i) => {
          expect(bytesEqual(f.raw!, wires[i]!)).toBe(true);
          expect(bytesEqual(f.payload, specs[i]!.payload)).toBe(true);
        });
      }),
      { numRuns: runs(120) },
    );
  });
});

/**
 * Feeds bytes in chunks; the only exception allowed is a ProtocolViolation for what framing cannot
 * represent (a 64-bit length with its top bit set), after which the parser is reset as the
 * protocol does. Without one, every byte is accounted for: the raw bytes of the complete frames
 * followed by the partial frame are exactly the input.
 */
function feedAndAccount(bytes: Uint8Array, pieces: Uint8Array[]): void {
  const parser = new FrameParser({ keepRaw: true });
  const raws: Uint8Array[] = [];
  let violation: unknown = null;
  const started = Date.now();
  for (const piece of pieces) {
    try {
      parser.feed(piece, (e) => {
        if (e.kind === 'frame') raws.push(e.frame.raw!);
      });
    } catch (error) {
      violation = error;
      break;
    }
    expect(parser.bytesNeeded).toBeGreaterThanOrEqual(0);
    expect(typeof parser.describe()).toBe('string');
  }
  expect(Date.now() - started).toBeLessThan(RUN_MS);
  if (violation !== null) {
    expect(violation).toBeInstanceOf(ProtocolViolation);
    expect((violation as ProtocolViolation).code).toBe('WS_ERR_LENGTH_MSB_SET');
    // After a reset the parser reads a fresh valid frame again.
    parser.reset();
    const hello = parser.feedAll(new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
    expect(hello.at(-1)?.kind).toBe('frame');
    return;
  }
  expect(bytesEqual(concatBytes([...raws, parser.partialBytes()]), bytes)).toBe(true);
}

describe('FrameParser on hostile input (property)', () => {
  it('random bytes in random chunkings: only ProtocolViolation is thrown, every byte accounted for', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), chunkPlanArb, (bytes, plan) => feedAndAccount(bytes, chunk(bytes, plan))),
      { numRuns: runs(600) },
    );
  });

  it('frame-shaped bytes with lying lengths (up to 2^53) in random chunkings', () => {
    fc.assert(
      fc.property(frameLikeBytesArb, chunkPlanArb, (bytes, plan) => feedAndAccount(bytes, chunk(bytes, plan))),
      { numRuns: runs(400) },
    );
  });

  it('valid streams mutated by bit flips, truncation, insertion, deletion and duplication', () => {
    fc.assert(
      fc.property(fc.constantFrom('server' as const, 'client' as const).chain((role) => validStreamArb(role)), fc.array(mutationArb, { minLength: 1, maxLength: 6 }), chunkPlanArb, (stream, mutations, plan) => {
        const bytes = mutate(stream.bytes, mutations);
        feedAndAccount(bytes, chunk(bytes, plan));
      }),
      { numRuns: runs(400) },
    );
  });
});
