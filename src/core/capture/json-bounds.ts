/**
 * A bound for the readers that parse a JSON document whole (wsinspect open's JSON export and HAR
 * readers): JSON.parse builds every object and array at once, and tiny ones cost far more heap
 * than file (measured: "{}," is ~80 bytes of heap per 3 bytes of file, so a 256 MiB file of them
 * would be ~6.8 GB, past node's heap limit, and the process would abort). Counting the brackets
 * first (outside strings) costs one pass over the text and lets such a file be refused in one line.
 */

/** Objects and arrays a whole-file JSON document may hold (~640 MB of heap at worst; a real 256 MiB HAR holds a few million). */
export const MAX_JSON_CONTAINERS = 8_000_000;

/** Objects and arrays in JSON text: `{` and `[` outside strings, counted no further than max + 1. */
export function countJsonContainers(text: string, max: number): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: on to its closing quote, one not escaped by an odd run of backslashes (RFC 8259 §7).
      for (;;) {
        const quote = text.indexOf('"', i + 1);
        if (quote < 0) return count;
        let before = quote - 1;
        while (text.charCodeAt(before) === 0x5c) before--;
        i = quote;
        if ((quote - 1 - before) % 2 === 0) break;
      }
    } else if ((c === 0x7b || c === 0x5b) && ++count > max) {
      return count;
    }
  }
  return count;
}

/** Why a document is refused before JSON.parse, or null. */
export function tooManyContainers(text: string, max = MAX_JSON_CONTAINERS): string | null {
  return countJsonContainers(text, max) > max ? `the JSON holds more than ${max} objects and arrays (read whole, it would not fit in memory)` : null;
}
