/**
 * `wsinspect why [ID]`: the app's "Why?" boxes in a terminal (src/core/whys.ts, one source for
 * both). Without an ID, each question with its id and sections; with one, the explanation (our
 * words, a paraphrase, never in quotation marks) and the RFC 6455 sentences beside it, each in
 * quotation marks with its section (checked verbatim against the RFC by test/core/whys.test.ts).
 */
import { findWhy, WHYS } from '../core/whys.ts';

export function whysList(): string {
  const whys = Object.values(WHYS);
  const width = Math.max(...whys.map((w) => w.id.length));
  return ['The reasons behind the rules (wsinspect why ID for one):', '',
    ...whys.map((w) => `  ${w.id.padEnd(width)}  ${w.title}  (${w.sections.join(', ')})`)].join('\n');
}

/** One why, wrapped to 100 columns; null when no why has this id. */
export function whyDetail(id: string): string | null {
  const why = findWhy(id);
  if (!why) return null;
  return [`${why.title} (${why.sections.join(', ')})`, '', ...wrap(why.explanation, 100), '',
    ...why.quotes.flatMap((q) => wrap(`RFC 6455 ${q.section}: “${q.text}”`, 100, '  '))].join('\n');
}

function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}
