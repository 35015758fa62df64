/**
 * A "Why?" disclosure (issue 15, the missing whys): the reason behind a rule, from src/core/whys.ts,
 * in our words (plain text) with the RFC's own sentences beside it (in quotation marks, with their
 * section). Closed until asked, so it costs the view one line.
 */
import { WHYS, type WhyId } from '../../../core/whys.ts';
import { RfcQuoteBlock } from './RfcQuote.tsx';
import './learn.css';

export function Why({ id }: { id: WhyId }) {
  const why = WHYS[id];
  return (
    <details className="why" data-testid={`why-${id}`}>
      <summary>Why? {why.title} <span className="rfc">{why.sections.join(' ')}</span></summary>
      <div className="why-body">
        <p>{why.explanation}</p>
        {why.quotes.map((q, i) => <RfcQuoteBlock key={i} quote={q} />)}
      </div>
    </details>
  );
}
