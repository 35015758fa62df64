/**
 * RFC 6455's text for the tests that check quotations against it: ../shared/reference/rfc6455.txt
 * beside the project (CI clones shared/ next to it), as one squashed line and one line per numbered
 * section (with its subsections), page furniture dropped so a quote may run across a page break.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// test/support/ → test/ → the project root → its parent, where shared/ lives.
export const RFC_PATH = fileURLToPath(new URL('../../../shared/reference/rfc6455.txt', import.meta.url));

function readRfc(): string {
  if (!existsSync(RFC_PATH)) {
    throw new Error(`RFC 6455's text is missing: expected it at ${RFC_PATH} (shared/reference/rfc6455.txt beside the project root). The quote checks cannot run without it.`);
  }
  return readFileSync(RFC_PATH, 'utf8');
}

/** Drops page footers and headers and form feeds: a quote may run across a page break. */
function withoutPageFurniture(text: string): string[] {
  return text.replace(/\f/g, '').split('\n')
    .filter((l) => !/^Fette & Melnikov .*\[Page \d+\]\s*$/.test(l) && !/^RFC 6455 {2,}The WebSocket Protocol {2,}December 2011\s*$/.test(l));
}

/** Whitespace aside; a word the RFC hyphenates across a line break ("Sec-WebSocket-\n   Extensions") is one word. */
export const squash = (s: string) => s.replace(/\s+/g, ' ').replace(/- (?=[A-Za-z])/g, '-').trim();

let cache: { whole: string; sections: Map<string, string> } | undefined;
/** The RFC as one line, and each numbered section (with its subsections) as one line. */
export function rfc(): { whole: string; sections: Map<string, string> } {
  if (cache) return cache;
  const lines = withoutPageFurniture(readRfc());
  const headings: { num: string; at: number }[] = [];
  lines.forEach((line, at) => {
    const m = /^(\d+(?:\.\d+)*)\.  \S/.exec(line);
    if (m) headings.push({ num: m[1]!, at });
  });
  const sections = new Map<string, string>();
  headings.forEach(({ num, at }, i) => {
    const end = headings.slice(i + 1).find((h) => !h.num.startsWith(`${num}.`))?.at ?? lines.length;
    sections.set(num, squash(lines.slice(at, end).join('\n')));
  });
  cache = { whole: squash(lines.join('\n')), sections };
  return cache;
}

/** "§7.4.1, §10.4" → "7.4.1"; "§5.5.1 (4)" → "5.5.1". */
export function firstSection(rfcSection: string): string {
  const m = /§(\d+(?:\.\d+)*)/.exec(rfcSection);
  if (!m) throw new Error(`no section in ${JSON.stringify(rfcSection)}`);
  return m[1]!;
}
