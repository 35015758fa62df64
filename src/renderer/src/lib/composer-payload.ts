/**
 * The composer's payloads: binary typed as hex or base64 or read from a file, and JSON text
 * checked and pretty-printed. Pure functions; the component holds the state.
 */
import { toHex } from '../../../core/bytes.ts';

export type BinaryFormat = 'hex' | 'base64' | 'file';

/** The largest file the composer reads into a message (the service's own limits apply after). */
export const MAX_COMPOSER_FILE_BYTES = 16 * 1024 * 1024;

export type Parsed = { ok: true; bytes: Uint8Array } | { ok: false; error: string };

/** Hex digits, spaces and an optional 0x allowed; an odd count or another character is an error. */
export function parseHex(text: string): Parsed {
  const digits = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  const bad = /[^0-9a-f]/i.exec(digits);
  if (bad) return { ok: false, error: `Hex: "${bad[0]}" is not a hex digit (0-9, a-f).` };
  if (digits.length % 2 !== 0) return { ok: false, error: `Hex: ${digits.length} digits is an odd count; every byte is two.` };
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return { ok: true, bytes };
}

/** Standard or URL-safe base64 (RFC 4648 §4, §5), padding optional, whitespace ignored. */
export function parseBase64(text: string): Parsed {
  const clean = text.replace(/\s/g, '').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return { ok: false, error: 'Base64: only A-Z, a-z, 0-9, + and / (or - and _), with = padding at the end.' };
  const unpadded = clean.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return { ok: false, error: 'Base64: the length is one character too many (a lone last character holds no whole byte).' };
  const binary = atob(unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { ok: true, bytes };
}

/** The binary payload as hex for the service, from what the person typed or chose. */
export function binaryHex(format: BinaryFormat, text: string, file: Uint8Array | null): { ok: true; hex: string; size: number } | { ok: false; error: string } {
  if (format === 'file') return file ? { ok: true, hex: toHex(file), size: file.length } : { ok: false, error: 'Choose a file to send.' };
  const parsed = format === 'hex' ? parseHex(text) : parseBase64(text);
  return parsed.ok ? { ok: true, hex: toHex(parsed.bytes), size: parsed.bytes.length } : parsed;
}

export type JsonCheck = { ok: true; pretty: string; compact: string } | { ok: false; error: string };

/** Whether the text looks meant as JSON (an object or an array): then it is checked as such. */
export function looksLikeJson(text: string): boolean {
  return /^\s*[{[]/.test(text);
}

/** JSON.parse's verdict (RFC 8259), with the line and column of the error when the engine gives a position. */
export function checkJson(text: string): JsonCheck {
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, pretty: JSON.stringify(value, null, 2), compact: JSON.stringify(value) };
  } catch (error) {
    const message = (error as Error).message;
    const at = /position (\d+)/.exec(message);
    if (!at) return { ok: false, error: message };
    const position = Number(at[1]);
    const before = text.slice(0, position).split('\n');
    return { ok: false, error: `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${before.length}, column ${before[before.length - 1]!.length + 1}` };
  }
}
