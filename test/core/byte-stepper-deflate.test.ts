/**
 * The byte stepper with permessage-deflate agreed (ByteStepOptions.deflate): RSV1 means
 * compressed, the plain bytes grow as the compressed ones arrive, and the window carries over
 * from message to message as with the default parameters (RFC 7692 §7.2.3.2).
 */
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.ts';
import { ByteStepper } from '../../src/core/byte-stepper.ts';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
// RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello", then "Hello" again on the same window.
const hello = 'c1 07 f2 48 cd c9 c9 07 00';
const helloAgain = 'c1 05 f2 00 11 00 00';

describe('ByteStepper with permessage-deflate agreed', () => {
  it('without the switch, RSV1 fails the connection (nothing negotiated, RFC 6455 §5.2)', () => {
    const stepper = new ByteStepper(fromHex(hello), 'client');
    const end = stepper.feed(100);
    expect(end.deflate).toBe(false);
    expect(end.violation?.code).toBe('WS_ERR_RESERVED_BITS');
  });

  it('inflates "Hello" as its bytes arrive, and traces both forms', () => {
    const stepper = new ByteStepper(fromHex(hello), 'client', { deflate: true });
    expect(stepper.snapshot()).toMatchObject({ deflate: true, inflating: null });
    const header = stepper.feed(2);
    // The header opened a compressed message: nothing inflated yet.
    expect(header.inflating).toEqual({ bytes: new Uint8Array(0), length: 0 });
    const lengths: number[] = [];
    for (let i = 0; i < 6; i++) lengths.push(stepper.feed(1).inflating?.length ?? -1);
    // Plain bytes appear while the compressed payload is still arriving, never shrinking.
    expect(lengths.some((n) => n > 0)).toBe(true);
    expect([...lengths].sort((a, b) => a - b)).toEqual(lengths);
    const end = stepper.feed(1);
    expect(end.violation).toBeNull();
    expect(end.inflating).toBeNull(); // the message is complete
    const frame = end.frames[0]!;
    expect(frame.deflate).toMatchObject({ first: true, inflatedLength: 5, tail: 'appended' });
    expect(text(frame.deflate?.inflated)).toBe('Hello');
    expect(end.log).toContain('message complete: "Hello" (inflated from 7 compressed bytes)');
  });

  it('keeps the window between messages, so the shared-window "Hello" inflates; Reset starts the session over', () => {
    const stepper = new ByteStepper(fromHex(`${hello} ${helloAgain}`), 'client', { deflate: true });
    const end = stepper.feed(100);
    expect(end.violation).toBeNull();
    expect(end.frames.map((f) => text(f.deflate?.inflated))).toEqual(['Hello', 'Hello']);
    stepper.reset();
    expect(stepper.snapshot().framesTotal).toBe(0);
    expect(stepper.feed(100).frames.map((f) => text(f.deflate?.inflated))).toEqual(['Hello', 'Hello']);
  });

  it('the second message alone refers back to a window the stepper never saw: it fails with 1007', () => {
    const end = new ByteStepper(fromHex(helloAgain), 'client', { deflate: true }).feed(100);
    expect(end.violation?.code).toBe('WS_ERR_INFLATE_FAILED');
    expect(end.violation?.closeCode).toBe(1007);
  });
});
