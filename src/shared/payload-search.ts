/**
 * The search box's language, shared by the renderer (over the payload it holds, up to 64 KiB a
 * frame) and the service (over the full bytes of frames cut for display): plain text in any
 * case, `/regex/flags` (run in linear time, linear-regex.ts), or `hex:81 05` (a byte sequence).
 */
import { compileLinearRegex, PatternError } from './linear-regex.ts';

export const MAX_SEARCH_LENGTH = 2000;

export type PayloadSearch =
  | { kind: 'text'; needle: string; matchText: (text: string) => boolean }
  | { kind: 'regex'; matchText: (text: string) => boolean }
  | { kind: 'bytes'; needle: Uint8Array; matchBytes: (bytes: Uint8Array) => boolean };

/** null: nothing to search for. Throws SearchError with what was expected, in plain words. */
export function compilePayloadSearch(search: string): PayloadSearch | null {
  const text = search.trim();
  if (!text) return null;
  if (text.length > MAX_SEARCH_LENGTH) throw new SearchError(`Expected a search of at most ${MAX_SEARCH_LENGTH} characters.`);
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(text);
  if (regex) {
    try {
      const re = compileLinearRegex(regex[1]!, regex[2]!);
      return { kind: 'regex', matchText: (t) => re.test(t) };
    } catch (e) {
      if (e instanceof PatternError) throw new SearchError(`Column ${e.position + 2}: expected ${e.message}.`);
      throw e;
    }
  }
  if (/^hex:/i.test(text)) {
    const bytes = parseHexBytes(text.slice(4));
    if (!bytes) throw new SearchError('Expected whole hex bytes after hex:, e.g. hex:81 05.');
    return { kind: 'bytes', needle: bytes, matchBytes: (b) => indexOfBytes(b, bytes) >= 0 };
  }
  const needle = text.toLowerCase();
  return { kind: 'text', needle, matchText: (t) => t.toLowerCase().includes(needle) };
}

export class SearchError extends Error {}

/** "81:05", "8105", "81 05", "81-05" → bytes; null when not whole hex bytes. */
export function parseHexBytes(text: string): Uint8Array | null {
  const digits = text.replace(/[\s:\-]/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) return null;
  return Uint8Array.from(digits.match(/../g)!, (h) => parseInt(h, 16));
}

/** Where `needle` first occurs in `haystack` (-1: nowhere). */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let k = 1; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}
