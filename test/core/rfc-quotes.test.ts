/**
 * Every text shown in quotation marks as RFC 6455's words is its words (whitespace, line breaks and
 * page furniture aside), and sits in the section cited for it. Checked against the RFC's text in
 * ../shared/reference/rfc6455.txt beside the project (CI clones shared/ next to it). RFC 7692's quotes
 * cannot be checked here (no copy of its text) and are listed, not skipped silently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { displayRule, violationTable, type ViolationSpec } from '../../src/core/errors.ts';
import { firstSection, rfc, RFC_PATH, squash } from '../support/rfc-text.ts';

const isRfc7692 = (rfcSection: string) => /RFC 7692/.test(rfcSection);
const entries = Object.entries(violationTable) as [string, ViolationSpec][];

describe('the RFC text is there', () => {
  it(`finds rfc6455.txt at ../shared/reference/ from the project root`, () => {
    expect(existsSync(RFC_PATH), `missing: ${RFC_PATH}`).toBe(true);
    expect(rfc().sections.get('5.2')).toContain('Base Framing Protocol');
    expect(rfc().whole).toContain('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });
});

describe('violation rules shown as the RFC\'s words (errors.ts)', () => {
  const verbatim6455 = entries.filter(([, spec]) => spec.verbatim && !isRfc7692(spec.rfcSection));

  it('most rules are quoted verbatim', () => {
    expect(verbatim6455.length).toBeGreaterThan(12);
  });

  it.each(verbatim6455)('%s: the rule is RFC 6455 text, in the section cited', (_code, spec) => {
    const quote = squash(spec.rule);
    expect(rfc().whole.includes(quote), `not verbatim RFC 6455 text: "${quote}"`).toBe(true);
    const section = firstSection(spec.rfcSection);
    expect(rfc().sections.get(section)?.includes(quote), `§${section} does not contain "${quote}"`).toBe(true);
  });

  it('no RFC 7692 rule is marked verbatim (no copy of RFC 7692 here to check it against)', () => {
    expect(entries.filter(([, spec]) => spec.verbatim && isRfc7692(spec.rfcSection)).map(([code]) => code)).toEqual([]);
  });

  it.each(entries.filter(([, spec]) => !spec.verbatim))('%s: a paraphrase is shown as one, not in quotation marks', (code, spec) => {
    const shown = displayRule(code, spec.rule);
    expect(shown).not.toMatch(/^[“"]/);
    expect(shown).toMatch(/^In other words: /);
  });

  it('a verbatim rule is shown in quotation marks', () => {
    expect(displayRule('WS_ERR_MASKED_SERVER_FRAME', violationTable.WS_ERR_MASKED_SERVER_FRAME.rule))
      .toBe('“A client MUST close a connection if it detects a masked frame.”');
  });

  it('an unknown code or a rule text that is not the table\'s (an old recording) is not shown as a quote', () => {
    expect(displayRule('WS_ERR_NOPE', 'Something.')).toBe('In other words: Something.');
    expect(displayRule('WS_ERR_MASKED_SERVER_FRAME', 'A client MUST close.')).toBe('In other words: A client MUST close.');
    expect(displayRule('__proto__', 'x')).toBe('In other words: x');
  });

  it('WS_ERR_INVALID_CLOSE_CODE cites §7.4.1, §7.4.2 and §11.7 and does not pass its stricter list off as the RFC\'s', () => {
    const spec = violationTable.WS_ERR_INVALID_CLOSE_CODE;
    expect(spec.rfcSection).toBe('§7.4.1, §7.4.2, §11.7');
    expect(spec.verbatim).toBe(false);
    expect(spec.rule).toContain('stricter than the RFC');
  });
});

/**
 * Quotations in the code comments of the files issue 15 touched: a double-quoted run of 4 or more
 * words with a § within 60 characters of it is taken as a quote of RFC 6455 (RFC 7692 quotes are left out).
 */
const COMMENTED_FILES = [
  'src/core/errors.ts',
  'src/core/constants.ts',
  'src/core/handshake.ts',
  'src/core/faults.ts',
  'src/renderer/src/lib/header-docs.ts',
  'src/renderer/src/components/Faults.tsx',
  'src/renderer/src/components/HandshakeView.tsx',
  'src/renderer/src/components/FrameAnatomy.tsx',
  'src/renderer/src/components/ByteStepper.tsx',
  'src/core/conformance/execute.ts',
  'src/core/conformance/cases.ts',
  'src/core/protocol.ts',
  'src/core/net/connection.ts',
  'src/core/proxy/relay.ts',
  'src/core/proxy/close-mapping.ts',
  'src/core/proxy/conversation.ts',
  'src/core/proxy/handshake-forwarding.ts',
];

function commentQuotes(file: string): { quote: string; line: number }[] {
  const source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
  const found: { quote: string; line: number }[] = [];
  // Join runs of comment lines into one block, so a quote may span lines.
  let block: string[] = [];
  let start = 0;
  const flush = () => {
    const text = block.join(' ');
    for (const m of text.matchAll(/"([^"]+)"/g)) {
      const quote = squash(m[1]!);
      if (quote.split(' ').length < 4) continue;
      const around = text.slice(Math.max(0, m.index! - 60), m.index! + m[0].length + 60);
      // An RFC 7692 quote may hold quoted words of its own ("Per-Message Compressed"): look further back for its citation.
      if (!around.includes('§') || /RFC 7692/.test(text.slice(Math.max(0, m.index! - 120), m.index! + m[0].length + 60))) continue;
      found.push({ quote, line: start + 1 });
    }
    block = [];
  };
  source.forEach((line, i) => {
    // Outside comments too: a string that says §N: "…" presents the quotation as the RFC's.
    for (const q of line.matchAll(/§\d+(?:\.\d+)*[^"\n§]{0,20}: "([^"]+)"/g)) {
      const quote = squash(q[1]!);
      if (quote.split(' ').length >= 4 && !/RFC 7692/.test(line)) found.push({ quote, line: i + 1 });
    }
    const m = /^\s*(?:\/\/|\/\*\*?|\*(?!\/))\s?(.*?)(?:\*\/)?$/.exec(line) ?? /\/\/\s?(.*)$/.exec(line);
    if (m) {
      if (block.length === 0) start = i;
      block.push(m[1]!);
    } else if (block.length) flush();
  });
  if (block.length) flush();
  return found;
}

/** A quote that elides with "..." holds if its pieces appear in the text in order. */
function containsElided(text: string, quote: string): boolean {
  let from = 0;
  for (const piece of quote.split(/\s*(?:\.\.\.|…)\s*/).filter(Boolean)) {
    const at = text.indexOf(piece, from);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
}

describe('RFC 6455 quotations in code comments', () => {
  it.each(COMMENTED_FILES)('%s: every quotation near a § is RFC 6455 text', (file) => {
    for (const { quote, line } of commentQuotes(file)) {
      expect(containsElided(rfc().whole, quote), `${file}:${line} quotes "${quote}", which is not RFC 6455 text`).toBe(true);
    }
  });

  it('finds the comment quotations it is meant to check', () => {
    const quotes = COMMENTED_FILES.flatMap(commentQuotes).map((q) => q.quote);
    expect(quotes).toContain('a randomly selected 16-byte value that has been base64-encoded');
    expect(quotes).toContain('the endpoint typically echos the status code it received');
    expect(quotes.length).toBeGreaterThan(4);
  });
});
