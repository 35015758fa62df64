/**
 * The frame editor's form (src/renderer/src/lib/frame-form.ts): a frame opened in it, and text
 * switched from hex, keep every payload byte, so sending the form unchanged sends the same frame.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/core/frame-codec.ts';
import { bytesToHex, encodeForm, formFromBytes, switchPayloadMode } from '../../../src/renderer/src/lib/frame-form.ts';

const bomHi = Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69);

describe('a leading U+FEFF in the form\'s text is data (§5.6), not a marker to drop', () => {
  it('a held text frame starting with a BOM opens as text with the BOM, and encodes back to the same bytes', () => {
    for (const maskKey of [null, Uint8Array.of(1, 2, 3, 4)]) {
      const frame = encodeFrame({ opcode: 1, payload: bomHi, fin: true, maskKey });
      const form = formFromBytes(frame);
      expect(form.payloadMode).toBe('text');
      expect(form.payloadText).toBe('\uFEFFhi');
      const encoded = encodeForm(form);
      expect('bytes' in encoded && bytesToHex(encoded.bytes)).toBe(bytesToHex(frame));
    }
  });

  it('hex switched to text keeps the BOM, and back to hex gives the same bytes', () => {
    const form = formFromBytes(encodeFrame({ opcode: 2, payload: bomHi, fin: true, maskKey: null }));
    expect(form.payloadMode).toBe('hex');
    const asText = switchPayloadMode(form, 'text');
    expect(asText.payloadText).toBe('\uFEFFhi');
    expect(switchPayloadMode(asText, 'hex').payloadHex).toBe(bytesToHex(bomHi));
  });
});
