/**
 * Byte stepping drives the real protocol one byte at a time and says what it still needs.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../src/core/bytes.ts';
import { ByteStepper } from '../../src/core/byte-stepper.ts';
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
