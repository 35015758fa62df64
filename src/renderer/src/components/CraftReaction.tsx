import { describeOpcode } from '../../../core/constants.ts';
import { useInspector } from '../store/store.ts';
import './composer.css';

/** At most this many of the peer's frames after the crafted one are listed here (the Frames tab has all). */
const MAX_REACTION_FRAMES = 8;

/**
 * Beside the crafter: what the crafted frame became on the wire (the TCP writes it went in, from
 * the trace) and how the peer reacted (its frames since, its violations, the close), so the
 * result is read where the frame was built rather than in the Frames tab.
 */
export function CraftReaction({ connectionId, sentAt }: { connectionId: string; sentAt: number }) {
  useInspector((s) => s.frameVersion);
  const detail = useInspector((s) => s.details[connectionId]);
  const frames = useInspector((s) => s.frames);
  const writes = detail?.notes.filter((n) => n.time >= sentAt && n.text.startsWith('crafted frame:')).at(-1);
  const replies = [];
  for (let i = frames.length - 1; i >= 0 && replies.length < MAX_REACTION_FRAMES; i--) {
    const row = frames[i]!;
    if (row.time < sentAt) break;
    if (row.connectionId === connectionId && row.direction === 'in') replies.unshift(row);
  }
  const violations = detail?.violations.filter((v) => v.time >= sentAt) ?? [];
  const closed = detail?.closed && detail.closed.time >= sentAt ? detail.closed : undefined;
  return (
    <section className="craft-reaction" data-testid="craft-reaction" aria-label="The peer's reaction">
      <h3>On the wire, and the peer&apos;s reaction</h3>
      {writes && <p className="mono" data-testid="craft-writes">{writes.text.replace(/^crafted frame: /, '')}</p>}
      {replies.length === 0 && !closed && violations.length === 0 && <p className="hint">Nothing from the peer yet.</p>}
      <ul>
        {replies.map((row) => (
          <li key={row.key} data-testid="craft-reply">
            ← {describeOpcode(row.opcode).name}
            {row.close ? ` ${row.close.code ?? '(no code)'}${row.close.reason ? ` "${row.close.reason}"` : ''}` : row.opcode < 8 || row.opcode === 9 || row.opcode === 10 ? ` ${JSON.stringify(row.preview.slice(0, 40))}` : ''}
          </li>
        ))}
        {violations.map((v, i) => <li key={`v${i}`} className="error-text">✗ {v.violation.message} <span className="rfc">{v.violation.rfcSection}</span></li>)}
        {closed && <li data-testid="craft-closed">connection closed: {closed.code}{closed.reason ? ` ${closed.reason}` : ''} · {closed.detail}</li>}
      </ul>
    </section>
  );
}
