/**
 * "Copy as" (issue 13): a frame's payload as hex, base64, text, a C byte array or a JS
 * Uint8Array, and the `wsinspect connect URL --send-hex "…"` line that sends the frame again.
 * Pure functions of the bytes; the component puts the result on the clipboard.
 */

import { utf8DecodeLenient } from '../../../core/bytes.ts';

export type CopyFormat = 'hex' | 'base64' | 'text' | 'c' | 'js' | 'wsinspect';

export const copyFormats: ReadonlyArray<{ format: CopyFormat; label: string; title: string }> = [
  { format: 'hex', label: 'hex', title: 'The payload as hex bytes, space-separated' },
  { format: 'base64', label: 'base64', title: 'The payload in base64' },
  { format: 'text', label: 'text', title: 'The payload as UTF-8 text (invalid sequences become U+FFFD)' },
  { format: 'c', label: 'C array', title: 'The payload as a C array: static const unsigned char payload[] = { 0x.., … };' },
  { format: 'js', label: 'Uint8Array', title: 'The payload as a JavaScript Uint8Array' },
  { format: 'wsinspect', label: 'wsinspect line', title: 'A wsinspect connect command that sends this frame again, byte for byte (masked, as a client must: RFC 6455 §5.3)' },
];

const hex2 = (b: number) => b.toString(16).padStart(2, '0');

export function toHexText(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(' ');
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Lines of 12 bytes, as C and JS sources are usually laid out. */
function byteLines(bytes: Uint8Array, indent: string): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 12) lines.push(indent + Array.from(bytes.subarray(i, i + 12), (b) => `0x${hex2(b)}`).join(', '));
  return lines.join(',\n');
}

export function toCArray(bytes: Uint8Array, name = 'payload'): string {
  return bytes.length === 0
    ? `static const unsigned char ${name}[1] = { 0 }; /* empty payload */`
    : `static const unsigned char ${name}[${bytes.length}] = {\n${byteLines(bytes, '  ')}\n};`;
}

export function toJsArray(bytes: Uint8Array, name = 'payload'): string {
  return bytes.length === 0 ? `const ${name} = new Uint8Array(0);` : `const ${name} = new Uint8Array([\n${byteLines(bytes, '  ')},\n]);`;
}

/** The header's length in bytes and where the payload starts (§5.2), or null when raw is too short. */
function headerOf(raw: Uint8Array): { masked: boolean; payloadStart: number; keyAt: number } | null {
  if (raw.length < 2) return null;
  const masked = (raw[1]! & 0x80) !== 0;
  const len7 = raw[1]! & 0x7f;
  const lengthBytes = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const keyAt = 2 + lengthBytes;
  const payloadStart = keyAt + (masked ? 4 : 0);
  return raw.length < payloadStart ? null : { masked, payloadStart, keyAt };
}

/** A fixed masking key: a replay line should read the same every time it is copied. */
const REPLAY_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/**
 * The frame's bytes as a client sends them: a masked frame as it was; an unmasked one (a
 * server's) with its MASK bit set and a masking key inserted, the payload masked with it
 * (§5.3: a client masks every frame), every other header bit as it was.
 */
export function clientFrameBytes(raw: Uint8Array): Uint8Array {
  const header = headerOf(raw);
  if (!header || header.masked) return raw;
  const out = new Uint8Array(raw.length + 4);
  out.set(raw.subarray(0, header.keyAt));
  out[1] = out[1]! | 0x80;
  out.set(REPLAY_KEY, header.keyAt);
  for (let i = header.payloadStart; i < raw.length; i++) out[i + 4] = raw[i]! ^ REPLAY_KEY[(i - header.payloadStart) % 4]!;
  return out;
}

/** A shell word in single quotes (a ' inside closes, escapes and reopens the quotes). */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function wsinspectLine(url: string, raw: Uint8Array): string {
  return `wsinspect connect ${shellQuote(url)} --send-hex "${toHexText(clientFrameBytes(raw))}"`;
}

export function copyText(format: CopyFormat, frame: { payload: Uint8Array; raw: Uint8Array }, url: string): string {
  switch (format) {
    case 'hex': return toHexText(frame.payload);
    case 'base64': return toBase64(frame.payload);
    case 'text': return utf8DecodeLenient(frame.payload); // a leading U+FEFF is kept: it is data (§5.6)
    case 'c': return toCArray(frame.payload);
    case 'js': return toJsArray(frame.payload);
    case 'wsinspect': return wsinspectLine(url, frame.raw);
  }
}
