/**
 * Byte stepping drives the real protocol one byte at a time and says what it still needs.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../src/core/bytes.ts';
import { ByteStepLimits, ByteStepper } from '../../src/core/byte-stepper.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';

describe('ByteStepper', () => {
  it('describes the RFC masked "Hello" frame byte by byte (§5.7)', () => {
    const stepper = new ByteStepper(fromHex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), 'server');
    const seen = Array.from({ length: 11 }, () => stepper.feed(1).description);
    expect(seen.slice(0, 6)).toEqual([
      'waiting for 1 more byte of frame header (FIN, RSV, opcode, MASK, payload len)',
      'waiting for 4 more bytes of masking key',
      'waiting for 3 more bytes of masking key',
      'waiting for 2 more bytes of masking key',
      'waiting for 1 more byte of masking key',
      'waiting for 5 more bytes of payload',
    ]);
    const last = stepper.snapshot();
    expect(last.fed).toBe(11);
    expect(last.frames).toHaveLength(1);
    expect(new TextDecoder().decode(last.frames[0]!.payload)).toBe('Hello');
    expect(last.log).toContain('message complete: "Hello"');
    expect(last.description).toBe('waiting for a new frame');
  });

  it('reports the partial frame bytes and the 16-bit length state', () => {
    const frame = encodeFrame({ opcode: 2, payload: new Uint8Array(300), maskKey: Uint8Array.of(9, 9, 9, 9) });
    const stepper = new ByteStepper(frame, 'server');
    const s = stepper.feed(3);
    expect(s.parserState).toBe('extended-length-16');
    expect(s.description).toBe('waiting for 1 more byte of 16-bit extended length');
    expect(s.frameBytes).toEqual(frame.subarray(0, 3));
  });

  it('shows a violation at the byte that proves it, and the Close the protocol would send', () => {
    // An unmasked frame to a server: the second byte proves it (§5.1).
    const stepper = new ByteStepper(fromHex('81 05 48 65 6c 6c 6f'), 'server');
    expect(stepper.feed(1).violation).toBeNull();
    const s = stepper.feed(1);
    expect(s.violation?.code).toBe('WS_ERR_UNMASKED_CLIENT_FRAME');
    expect(s.violation?.closeCode).toBe(1002);
    expect(s.responses).toBe(1);
    expect(s.state).toBe('CLOSING');
  });

  it('steps across several frames and can be reset', () => {
    const one = encodeFrame({ opcode: 1, payload: new TextEncoder().encode('a') });
    const stepper = new ByteStepper(concatBytes([one, one]), 'client');
    expect(stepper.feed(100).frames).toHaveLength(2);
    stepper.reset();
    expect(stepper.snapshot().fed).toBe(0);
    expect(stepper.feed(one.length).frames).toHaveLength(1);
  });
});

describe('ByteStepper bounds (issue 10 §6)', () => {
  const masked = (opcode: number, payload: Uint8Array) => encodeFrame({ opcode, payload, maskKey: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) });
  const repeat = (frame: Uint8Array, size: number) => {
    const out = new Uint8Array(size - (size % frame.length));
    for (let i = 0; i < out.length; i += frame.length) out.set(frame, i);
    return out;
  };

  it('refuses more than ByteStepLimits.maxInput bytes, in plain words', () => {
    expect(() => new ByteStepper(new Uint8Array(ByteStepLimits.maxInput + 1), 'client')).toThrow(/at most 1048576 bytes \(1 MiB\)/i);
    expect(new ByteStepper(new Uint8Array(ByteStepLimits.maxInput), 'client').snapshot().total).toBe(ByteStepLimits.maxInput);
  });

  it('one call feeds at most maxFeedPerCall bytes and maxFramesPerCall frames; calls again reach the end', () => {
    // 1 MiB of 2-byte empty frames: 524,288 frames.
    const stepper = new ByteStepper(repeat(encodeFrame({ opcode: 2, payload: new Uint8Array(0) }), ByteStepLimits.maxInput), 'client');
    const first = stepper.feed(Number.MAX_SAFE_INTEGER);
    expect(first.fed).toBeLessThanOrEqual(ByteStepLimits.maxFeedPerCall);
    expect(first.framesTotal).toBe(ByteStepLimits.maxFramesPerCall);
    let calls = 1;
    let snap = first;
    while (snap.fed < snap.total) {
      const next = stepper.feed(snap.total);
      expect(next.fed).toBeGreaterThan(snap.fed);
      snap = next;
      calls++;
    }
    expect(calls).toBe(ByteStepLimits.maxInput / 2 / ByteStepLimits.maxFramesPerCall);
    expect(snap.framesTotal).toBe(ByteStepLimits.maxInput / 2);
    // A snapshot lists the newest frames and log lines only, with the totals.
    expect(snap.frames).toHaveLength(ByteStepLimits.framesShown);
    expect(snap.frames.at(-1)!.frameId).toBe(ByteStepLimits.maxInput / 2);
    expect(snap.log).toHaveLength(ByteStepLimits.logShown);
    expect(snap.logTotal).toBe(ByteStepLimits.maxInput / 2);
  });

  it('a large frame: the payload goes in pieces, and a snapshot carries at most bytesShown of it', () => {
    const payload = new Uint8Array(200_000).fill(7);
    const frame = masked(2, payload);
    const stepper = new ByteStepper(frame, 'server');
    const partway = stepper.feed(60_000);
    expect(partway.fed).toBe(60_000);
    expect(partway.frameBytesLength).toBe(60_000);
    expect(partway.frameBytes).toEqual(frame.subarray(0, ByteStepLimits.bytesShown));
    expect(partway.description).toBe(`waiting for ${frame.length - 60_000} more bytes of payload`);
    let snap = partway;
    while (snap.fed < snap.total) snap = stepper.feed(snap.total);
    expect(snap.framesTotal).toBe(1);
    expect(snap.frames[0]!.payload).toHaveLength(ByteStepLimits.bytesShown);
    expect(snap.frames[0]!.truncated).toEqual({ rawLength: frame.length, payloadLength: payload.length });
    expect(snap.log).toEqual(['message complete: 200000 binary bytes']);
  });

  it('feeding in large steps ends exactly where one byte at a time does, even when a payload check fails mid-piece (§8.1)', () => {
    const text = (s: string) => masked(1, new TextEncoder().encode(s));
    const badUtf8 = new Uint8Array(3000).fill(0x61);
    badUtf8[1234] = 0xff; // invalid UTF-8 in the middle of a long text payload
    const input = concatBytes([text('hello'), masked(2, new Uint8Array(5000)), masked(9, new TextEncoder().encode('ping')), masked(1, badUtf8), text('never read')]);
    const oneByOne = new ByteStepper(input, 'server');
    let exact = oneByOne.snapshot();
    while (exact.violation === null) exact = oneByOne.feed(1);
    const bulk = new ByteStepper(input, 'server');
    const atOnce = bulk.feed(input.length);
    expect(atOnce.fed).toBe(input.length);
    // The violation shows at the byte that proves it: the same frame start, frames and log.
    expect(atOnce.violation).toEqual(exact.violation);
    expect(atOnce.frameStart).toBe(exact.frameStart);
    expect(atOnce.framesTotal).toBe(exact.framesTotal);
    expect(atOnce.log).toEqual(exact.log);
    expect(atOnce.log).toContain('✗ WS_ERR_INVALID_UTF8 (§8.1): Invalid UTF-8 at byte 1234 of the text message.');
    // The bytes before the proving one were all consumed by the frame in progress.
    expect(exact.frameStart).toBe(input.length - text('never read').length - (badUtf8.length - 1235));
  });

  it('step sizes do not change the outcome: byte by byte, 7 at a time and all at once agree', () => {
    // Small enough to go byte by byte in a test (each step copies the frame in progress so far).
    const input = concatBytes([masked(1, new TextEncoder().encode('a'.repeat(300))), masked(2, new Uint8Array(3000)), masked(8, Uint8Array.of(0x03, 0xe8))]);
    const run = (step: number) => {
      const s = new ByteStepper(input, 'server');
      let snap = s.snapshot();
      while (snap.fed < snap.total) snap = s.feed(step);
      return { frameStart: snap.frameStart, framesTotal: snap.framesTotal, log: snap.log, state: snap.state, responses: snap.responses };
    };
    const byByte = run(1);
    expect(byByte.framesTotal).toBe(3);
    expect(run(7)).toEqual(byByte);
    expect(run(input.length)).toEqual(byByte);
  });
});
