/**
 * Small helpers the lessons use to explain a frame or a head with the learner's own bytes.
 * Everything here is a paraphrase: plain words around hex, never presented as the RFC's text.
 */

import { toHex } from '../bytes.ts';
import { describeOpcode } from '../constants.ts';
import type { HttpHeader } from '../http.ts';
import type { TracedFrame } from '../trace.ts';

/** At most this many bytes of a payload are written out in an explanation. */
export const SHOWN_BYTES = 16;

/** "81 85 37 fa …" : the first bytes in hex, with an ellipsis and the real count when cut. */
export function hexPreview(bytes: Uint8Array, max = SHOWN_BYTES): string {
  if (bytes.length <= max) return toHex(bytes, ' ');
  return `${toHex(bytes.subarray(0, max), ' ')} … (${bytes.length} bytes)`;
}

/** A byte as "0x81 = 1000 0001". */
export function byteBits(byte: number): string {
  const bits = byte.toString(2).padStart(8, '0');
  return `0x${byte.toString(16).padStart(2, '0')} = ${bits.slice(0, 4)} ${bits.slice(4)}`;
}

/** The value of a header, case-insensitively; undefined when absent. */
export function headerOf(headers: readonly HttpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** The two first header bytes of a frame, taken apart field by field (RFC 6455 §5.2). */
export function explainFirstTwoBytes(frame: TracedFrame): string[] {
  const b0 = frame.raw[0] ?? 0;
  const b1 = frame.raw[1] ?? 0;
  const opcode = describeOpcode(frame.opcode);
  return [
    `byte 0: ${byteBits(b0)} → FIN=${frame.fin ? 1 : 0}, RSV1-3=${+frame.rsv1}${+frame.rsv2}${+frame.rsv3}, opcode=0x${frame.opcode.toString(16)} (${opcode.name})`,
    `byte 1: ${byteBits(b1)} → MASK=${frame.masked ? 1 : 0}, payload length field=${b1 & 0x7f}`,
  ];
}

/** How the payload length was encoded, with its bytes (RFC 6455 §5.2). */
export function explainLength(frame: TracedFrame): string {
  const field = frame.lengthField;
  if (field <= 125) return `the 7-bit field holds the length itself: ${field} bytes, no extended length bytes`;
  const extended = frame.raw.subarray(2, field === 126 ? 4 : 10);
  const width = field === 126 ? '16-bit' : '64-bit';
  return `the 7-bit field is ${field}, so the next ${extended.length} bytes (${toHex(extended, ' ')}) are a ${width} length in network byte order: ${frame.payloadLengthExact ?? frame.payloadLength} bytes`;
}

/** The first payload bytes unmasked by hand: wire XOR key[i mod 4] (RFC 6455 §5.3). */
export function explainUnmasking(frame: TracedFrame, count = 4): string[] {
  if (!frame.maskKey) return ['this frame is not masked: its payload is on the wire as it is'];
  const key = frame.maskKey;
  const wire = frame.raw.subarray(frame.headerLength, frame.headerLength + Math.min(count, frame.payload.length));
  const lines = [`masking key: ${toHex(key, ' ')} (the 4 bytes after the length)`];
  wire.forEach((byte, i) => {
    const plain = byte ^ key[i % 4]!;
    lines.push(`payload byte ${i}: 0x${hex2(byte)} XOR key[${i % 4}] 0x${hex2(key[i % 4]!)} = 0x${hex2(plain)}${printable(plain)}`);
  });
  return lines;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const printable = (n: number) => (n >= 0x20 && n < 0x7f ? ` ('${String.fromCharCode(n)}')` : '');
