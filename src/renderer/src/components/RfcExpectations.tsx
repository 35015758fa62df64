/**
 * "What RFC 6455 expects" next to what each side did (issue 12): on a conversation (a proxied
 * one judged leg by leg), each Ping answered or not, each Close echoed or not, a code that must
 * never be sent, a peer's 1002, and every violation caught; beside each, the RFC's own words
 * (verbatim, checked against its text) or our paraphrase, shown as one, with the section.
 */
import { useMemo } from 'react';
import type { Expectation, Side, Verdict } from '../../../core/rfc-expectations.ts';
import { conversationExpectations } from '../lib/conversation-expectations.ts';
import type { ConversationShape } from '../lib/conversation.ts';
import { useInspector } from '../store/store.ts';
import { RfcQuoteBlock } from './RfcQuote.tsx';
import './proxy.css';

/** At most this many are listed (the newest); the count says how many there are. */
const MAX_SHOWN = 200;

const verdictMark: Record<Verdict, string> = { ok: '✓', late: '⚠', waiting: '…', broke: '✗' };
const verdictWords: Record<Verdict, string> = { ok: 'as the RFC expects', late: 'later than expected', waiting: 'still owed', broke: 'not as the RFC expects' };
const sideWords: Record<Side, string> = { client: 'client', server: 'server', proxy: 'proxy', app: 'this app' };

/** The RFC's rule: its words in quotation marks, or our paraphrase marked as one, and the section. */
export function ExpectedRule({ e }: { e: Expectation }) {
  return (
    <div className="expected" data-testid="expected-rule">
      {/* The quote carries its section; a rule only paraphrased names it here. */}
      <span className="expected-label">RFC 6455 expects{e.rule.quote ? ':' : <> <span className="rfc">{e.rule.section}</span></>}</span>
      {e.rule.quote && <RfcQuoteBlock quote={e.rule.quote} />}
      {e.rule.paraphrase && <p className="paraphrase">In other words: {e.rule.paraphrase}</p>}
    </div>
  );
}

function ExpectationItem({ e, onOpen }: { e: Expectation; onOpen?: (e: Expectation) => void }) {
  return (
    <li className={`expectation verdict-${e.verdict}`} data-testid="expectation" data-side={e.side} data-verdict={e.verdict}>
      <div className="expectation-did">
        <span className={`side-badge side-${e.side}`}>{sideWords[e.side]}</span>
        <span className="verdict-mark" title={verdictWords[e.verdict]} aria-label={verdictWords[e.verdict]}>{verdictMark[e.verdict]}</span>
        <span className="did">{e.did}</span>
        {onOpen && e.frameId !== undefined && <button className="link small-link" onClick={() => onOpen(e)}>open frame #{e.frameId}</button>}
      </div>
      <ExpectedRule e={e} />
    </li>
  );
}

/** Opens a frame in the Frames view (from the ladder or a judgement). */
export function useOpenFrame(): (connectionId: string, key: string) => void {
  const selectConnection = useInspector((s) => s.selectConnection);
  const selectFrame = useInspector((s) => s.selectFrame);
  const setView = useInspector((s) => s.setView);
  return (connectionId, key) => {
    selectConnection(connectionId);
    selectFrame(key);
    setView('frames');
  };
}

/** The conversation's judgements, recomputed as frames arrive. */
function useExpectations(shape: ConversationShape): Expectation[] {
  const frames = useInspector((s) => s.frames);
  const frameVersion = useInspector((s) => s.frameVersion);
  const details = useInspector((s) => s.details);
  // The bounded list dropped its oldest frames: some of this conversation's may be gone.
  const evicted = useInspector((s) => s.evictedFrames > 0);
  return useMemo(
    () => conversationExpectations(shape, frames, details, Date.now(), evicted),
    // frameVersion: the ring changes in place
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shape, frames, frameVersion, details, evicted],
  );
}

/** The conversation's list (in the Ladder view). */
export function RfcExpectations({ shape }: { shape: ConversationShape }) {
  const all = useExpectations(shape);
  const openFrame = useOpenFrame();
  const shown = all.slice(-MAX_SHOWN);
  const broken = all.filter((e) => e.verdict === 'broke' || e.verdict === 'late').length;
  // Frames the service folded for this window (it fell behind) are not here to be judged: say so.
  const folded = useInspector((s) => shape.legs.reduce((n, l) => n + (s.details[l.id]?.folds?.frames ?? 0), 0));
  const open = (e: Expectation) => openFrame(e.legId, `${e.legId}:${e.frameId}`);
  return (
    <details className="rfc-expectations" open data-testid="rfc-expectations">
      <summary>
        What RFC 6455 expects, next to what each side did <span className="count">{all.length}</span>
        {broken > 0 && <span className="error-text"> · {broken} not as expected</span>}
      </summary>
      {folded > 0 && <p className="hint warning-text" data-testid="expectations-folded">{folded} frame{folded === 1 ? ' was' : 's were'} folded (this window fell behind the wire), so what happened in {folded === 1 ? 'it' : 'them'} is not judged here.</p>}
      {all.length === 0 ? (
        <p className="hint">Nothing to judge yet: Pings and their Pongs, the closing handshake, close codes and protocol violations are listed here as they happen{shape.proxied ? ', leg by leg' : ''}.</p>
      ) : (
        <ul className="expectations">
          {all.length > shown.length && <li className="hint">… {all.length - shown.length} earlier ones not listed</li>}
          {shown.map((e) => <ExpectationItem key={e.key} e={e} onOpen={open} />)}
        </ul>
      )}
    </details>
  );
}

/** The selected frame's judgements (beside its pairing, in the frame detail). */
export function FrameExpectations({ shape, connectionId, frameId }: { shape: ConversationShape; connectionId: string; frameId: number }) {
  const mine = useExpectations(shape).filter((e) => e.legId === connectionId && e.frameId === frameId);
  if (mine.length === 0) return null;
  return <ul className="expectations frame-expectations" data-testid="frame-expectations">{mine.map((e) => <ExpectationItem key={e.key} e={e} />)}</ul>;
}
