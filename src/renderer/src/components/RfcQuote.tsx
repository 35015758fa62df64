/** One sentence of RFC 6455, verbatim, in quotation marks with its section (lessons and whys). */
import type { RfcQuote } from '../../../core/lessons/lesson.ts';

export function RfcQuoteBlock({ quote }: { quote: RfcQuote }) {
  return (
    <blockquote className="rfc-quote" data-testid="rfc-quote">
      <span>“{quote.text}”</span> <span className="rfc">RFC 6455 {quote.section}</span>
    </blockquote>
  );
}
