import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import { clientFrameBytes, copyText, toCArray, toJsArray, wsinspectLine } from '../../src/renderer/src/lib/copy-as.ts';

const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('copy as', () => {
  it('hex, base64, text, C and JS arrays of the payload', () => {
    const frame = { payload: utf8('Hi é'), raw: new Uint8Array(0) };
    expect(copyText('hex', frame, '')).toBe('48 69 20 c3 a9');
    expect(copyText('base64', frame, '')).toBe(Buffer.from('Hi é').toString('base64'));
    expect(copyText('text', frame, '')).toBe('Hi é');
    expect(toCArray(utf8('Hi'))).toBe('static const unsigned char payload[2] = {\n  0x48, 0x69\n};');
    expect(toJsArray(utf8('Hi'))).toBe('const payload = new Uint8Array([\n  0x48, 0x69,\n]);');
    // The JS line evaluates to the same bytes.
    const js = toJsArray(Uint8Array.from({ length: 30 }, (_, i) => i * 7));
    expect([...(new Function(`${js}; return payload;`)() as Uint8Array)]).toEqual(Array.from({ length: 30 }, (_, i) => (i * 7) & 0xff));
  });

  it('text keeps a leading U+FEFF: a BOM at the start of a text message is data (§5.6), not a marker to drop', () => {
    const frame = { payload: Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69), raw: new Uint8Array(0) };
    expect(copyText('text', frame, '')).toBe('\uFEFFhi');
    expect(Buffer.from(copyText('text', frame, ''))).toEqual(Buffer.from(frame.payload));
  });

  it('the replay line: a server frame (unmasked) is masked as a client must send it (§5.3), every length encoding', () => {
    for (const n of [5, 200, 70_000]) {
      const payload = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      const unmasked = encodeFrame({ opcode: 2, payload, fin: true, maskKey: null });
      expect(Buffer.from(clientFrameBytes(unmasked))).toEqual(Buffer.from(encodeFrame({ opcode: 2, payload, fin: true, maskKey: key })));
    }
    const masked = encodeFrame({ opcode: 1, payload: utf8('Hello'), fin: true, maskKey: Uint8Array.of(1, 2, 3, 4) });
    expect(clientFrameBytes(masked)).toBe(masked);
    // RFC 6455 §5.7's masked "Hello", pasted as the CLI's own help shows it.
    expect(wsinspectLine("ws://127.0.0.1:9001/it's", Uint8Array.from(Buffer.from('818537fa213d7f9f4d5158', 'hex'))))
      .toBe(`wsinspect connect 'ws://127.0.0.1:9001/it'\\''s' --send-hex "81 85 37 fa 21 3d 7f 9f 4d 51 58"`);
  });
});
