/**
 * RFC 7692's text is not here (only RFC 6455's is, ../shared/reference/rfc6455.txt), so no
 * quotation of it can be checked: every RFC 7692 statement the app and the CLI show must look like
 * a paraphrase, with its section, never in quotation marks or styled as the RFC's words. Checked
 * on the data they show (violation rules, fault presets, whys, lessons, RFC expectations, the
 * examples gallery) and on every source line outside comments.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { displayRule, violationTable, type ViolationCode } from '../../src/core/errors.ts';
import { faultPresets } from '../../src/core/faults.ts';
import { LESSONS } from '../../src/core/lessons/lessons.ts';
import { RFC_EXAMPLES } from '../../src/core/rfc-examples.ts';
import { WHYS } from '../../src/core/whys.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

/**
 * Quotations of 4 or more words in a text that cites RFC 7692: "…" or “…” after an RFC 7692
 * citation (within 60 characters), or anywhere in a text whose only citation is RFC 7692.
 */
export function rfc7692Quotations(text: string): string[] {
  if (!/RFC 7692/.test(text)) return [];
  const only7692 = !/RFC 6455|(?<!RFC 7692 )§\d/.test(text.replace(/RFC 7692 §[\d.]+(?:,\s*§[\d.]+)*/g, 'RFC 7692'));
  const found: string[] = [];
  for (const m of text.matchAll(/[“"]([^“”"]+)[”"]/g)) {
    if (words(m[1]!) < 4) continue;
    const before = text.slice(Math.max(0, m.index! - 60), m.index!);
    if (only7692 || /RFC 7692[^“"]*$/.test(before)) found.push(m[1]!);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx)$/.test(entry)) out.push(path);
  }
  return out;
}

/** Lines outside comments that present RFC 7692's words as a quotation: `RFC 7692 §x: "…`, curly quotes, <q>/<blockquote>. */
export function quotingLines(source: string): { line: number; text: string }[] {
  const found: { line: number; text: string }[] = [];
  let inBlock = false;
  source.split('\n').forEach((raw, i) => {
    let line = raw;
    if (inBlock) {
      const end = line.indexOf('*/');
      if (end < 0) return;
      line = line.slice(end + 2);
      inBlock = false;
    }
    line = line.replace(/\/\*.*?\*\//g, '');
    const open = line.indexOf('/*');
    if (open >= 0) {
      inBlock = true;
      line = line.slice(0, open);
    }
    line = line.replace(/(^|[^:'"`\\])\/\/.*$/, '$1');
    if (!/7692/.test(line)) return;
    const straight = /RFC 7692 §[\d.]+[^"“'`\n]{0,30}[:,]\s*\\?["“]([^"”\\]+)/.exec(line);
    const curly = [...line.matchAll(/“([^”]+)”/g)].find((m) => words(m[1]!) >= 4);
    if ((straight && words(straight[1]!) >= 4) || curly || /<q>|<blockquote|className="rfc-quote"/.test(line)) found.push({ line: i + 1, text: line.trim().slice(0, 160) });
  });
  return found;
}

describe('the detectors find a quotation when there is one', () => {
  it('rfc7692Quotations', () => {
    expect(rfc7692Quotations('RFC 7692 §6.1: "An endpoint MUST NOT set the bit."')).toEqual(['An endpoint MUST NOT set the bit.']);
    expect(rfc7692Quotations('RFC 7692 §7.2.1 says “the sender removes the last four octets”.')).toEqual(['the sender removes the last four octets']);
    expect(rfc7692Quotations('In other words: RSV1 goes on the first frame only (RFC 7692 §6.1).')).toEqual([]);
    expect(rfc7692Quotations('RFC 7692 §6.1: the "Per-Message Compressed" bit.')).toEqual([]); // a name, not a statement
    expect(rfc7692Quotations('§5.5: “All control frames MUST have a payload length of 125 bytes or less”; RFC 7692 §6 compresses data frames.')).toEqual([]);
  });

  it('quotingLines', () => {
    expect(quotingLines(`const RULE = 'RFC 7692 §6.1: "An endpoint MUST NOT set the bit of control frames."';`)).toHaveLength(1);
    expect(quotingLines('<p>RFC 7692 §7.2.2 reads “append 4 octets of 0x00 0x00 0xff 0xff”</p>')).toHaveLength(1);
    expect(quotingLines('<blockquote className="x">RFC 7692 §5 …</blockquote>')).toHaveLength(1);
    expect(quotingLines('// RFC 7692 §6.1: "An endpoint MUST NOT set the bit of control frames."')).toEqual([]);
    expect(quotingLines('/**\n * RFC 7692 §6.1: "An endpoint MUST NOT set the bit of control frames."\n */')).toEqual([]);
    expect(quotingLines(`title="Offer permessage-deflate (RFC 7692) to the server on the upstream leg."`)).toEqual([]);
  });
});

describe('RFC 7692 statements are shown as paraphrases with their section', () => {
  it('no violation rule from RFC 7692 is marked as its words; each shows as "In other words:", never in quotation marks', () => {
    const from7692 = (Object.entries(violationTable) as [ViolationCode, (typeof violationTable)[ViolationCode]][]).filter(([, s]) => /RFC 7692/.test(s.rfcSection));
    expect(from7692.length).toBeGreaterThanOrEqual(3);
    for (const [code, spec] of from7692) {
      expect(spec.verbatim, code).toBe(false);
      expect(spec.rfcSection).toMatch(/^RFC 7692 §\d/);
      expect(displayRule(code, spec.rule)).toMatch(/^In other words: /);
      expect(spec.rule, code).not.toMatch(/[“”]/);
      expect(words(spec.rule.replace(/"[^"]*"/g, ''))).toBeGreaterThan(5);
    }
  });

  it('the fault presets name RFC 7692 sections and quote none of its text', () => {
    const texts = faultPresets.flatMap((p) => [`${p.rfcSection}: ${p.explanation}`, `${p.rfcSection}: ${p.expectedText}`, p.title]);
    expect(texts.some((t) => /RFC 7692 §6\.1/.test(t))).toBe(true);
    for (const t of texts) expect(rfc7692Quotations(t), t).toEqual([]);
  });

  it('every quotation block (whys, lessons) is RFC 6455\'s: none cites RFC 7692, which the block would label RFC 6455', () => {
    const quotes = [...Object.values(WHYS).flatMap((w) => w.quotes), ...LESSONS.flatMap((l) => l.quotes)];
    expect(quotes.length).toBeGreaterThan(10);
    for (const q of quotes) expect(q.section, q.text).toMatch(/^§\d/);
    for (const w of Object.values(WHYS)) expect(rfc7692Quotations(w.explanation)).toEqual([]);
  });

  it('the examples gallery paraphrases RFC 7692: its words hold no quotation', () => {
    for (const e of RFC_EXAMPLES.filter((x) => x.rfc === 'RFC 7692')) {
      for (const t of [e.title, e.shows, e.note ?? '', e.carries]) expect(rfc7692Quotations(`RFC 7692 ${e.section}: ${t}`), t).toEqual([]);
    }
  });

  it('no source line outside comments presents RFC 7692 words in quotation marks', () => {
    const files = ['src/core', 'src/service', 'src/shared', 'src/cli', 'src/renderer/src'].flatMap((d) => sourceFiles(join(root, d)));
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((f) => quotingLines(readFileSync(f, 'utf8')).map((q) => `${relative(root, f)}:${q.line}: ${q.text}`));
    expect(offenders).toEqual([]);
  });
});
