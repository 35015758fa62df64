import { useEffect, useMemo, useState } from 'react';
import { describeCloseCode } from '../../../core/constants.ts';
import type { PresetInfo } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { presetFits } from '../lib/preset-fits.ts';
import { useInspector, type FaultResultEntry } from '../store/store.ts';

const noResults: FaultResultEntry[] = [];

/** Did the peer's reaction end the connection? (A Close, or TCP dropped.) */
function closesConnection(actualText: string): boolean {
  return actualText.startsWith('Close') || actualText.startsWith('TCP closed');
}

function clock(time: number): string {
  const d = new Date(time);
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** "Close 1002 …" → the code's name and meaning, for the learner. */
function closeCodeNote(text: string): string | null {
  const m = /^Close (\d+)/.exec(text);
  if (!m) return null;
  const info = describeCloseCode(Number(m[1]));
  return `${m[1]} is ${info.name}: ${info.meaning}`;
}

function ResultCard({ entry }: { entry: FaultResultEntry }) {
  const o = entry.outcome;
  const codeNote = closeCodeNote(o.actualText);
  return (
    <li className={`fault-result ${o.asExpected ? 'ok' : 'bad'}`} data-testid="fault-result" data-preset={o.presetId}>
      <div className="fault-result-head">
        <span className={`verdict-mark ${o.asExpected ? 'ok' : 'bad'}`} data-testid="fault-verdict">{o.asExpected ? '✓' : '✗'}</span>
        <b>{o.title}</b> <span className="rfc">{o.rfcSection}</span>
        <span className="muted">{clock(entry.time)} · {o.bytesSent} bytes sent</span>
      </div>
      <div className="expected-actual">
        <div>
          <span className="ea-label">Expected (the RFC)</span>
          <span data-testid="fault-expected">{o.expectedText}</span>
        </div>
        <div>
          <span className="ea-label">Actual (the peer)</span>
          <span data-testid="fault-actual" className={o.asExpected ? 'ok-text' : 'error-text'}>{o.actualText}</span>
          {codeNote && <span className="hint">{codeNote}</span>}
        </div>
      </div>
      <div className="hint">
        {o.asExpected ? 'As the RFC requires.' : 'Not what the RFC requires.'}
        {o.actualText.startsWith('TCP closed') && ' Dropping TCP without a Close frame is tolerated when failing a connection (§7.1.7: the endpoint SHOULD send a Close frame first, and MAY omit it if it believes the other side is unlikely to be able to receive and process it); browsers often do.'}
        {closesConnection(o.actualText) && <b data-testid="fault-closed"> The connection is closed now: connect a new peer to fire more presets.</b>}
      </div>
    </li>
  );
}

/** Named misbehaviours to fire at the peer, grouped by RFC section, with the RFC's expected reaction beside the peer's actual one. */
export function Faults() {
  const connection = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId));
  const presets = useInspector((s) => s.presets);
  const setPresets = useInspector((s) => s.setPresets);
  const results = useInspector((s) => (s.selectedConnectionId ? s.faultResults[s.selectedConnectionId] : undefined) ?? noResults);
  const addFaultResult = useInspector((s) => s.addFaultResult);
  // What the handshake agreed decides what a frame means (RSV1 is the compressed bit under
  // permessage-deflate, RFC 7692 §6): undefined while the handshake is not known here.
  const extension = useInspector((s) => {
    const handshake = s.selectedConnectionId ? s.details[s.selectedConnectionId]?.handshake : undefined;
    return handshake ? handshake.extensions?.agreed?.name ?? null : undefined;
  });
  const [firing, setFiring] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!presets) void api.listPresets().then(setPresets);
  }, [presets, setPresets]);

  const { groups, hidden } = useMemo(() => {
    const map = new Map<string, PresetInfo[]>();
    const notHere: PresetInfo[] = [];
    for (const p of presets ?? []) {
      if (!presetFits(p, extension)) notHere.push(p);
      else map.set(p.group, [...(map.get(p.group) ?? []), p]);
    }
    return { groups: [...map.entries()], hidden: notHere };
  }, [presets, extension]);

  if (!connection) return null;
  const open = connection.state === 'OPEN';
  const peer = connection.role === 'server' ? `the client at ${connection.remote}` : `the server at ${connection.url ?? connection.remote}`;

  const fire = async (preset: PresetInfo) => {
    setFiring(preset.id);
    setError(null);
    const id = connection.id;
    const r = await api.firePreset(id, preset.id);
    setFiring(null);
    if (r.ok) addFaultResult(id, { outcome: r.outcome, time: Date.now(), group: preset.group });
    else setError(r.error);
  };

  return (
    <div className="faults" data-testid="faults">
      <div className="faults-grid">
        <section className="preset-list" aria-label="Fault presets">
          <p className="hint">
            Each preset sends {peer} something that breaks (or, marked valid, exercises) one rule, as {connection.role === 'server' ? 'a server: our frames are unmasked' : 'a client: our frames are masked'}, then
            watches for the peer's first reaction for 1.5 s: a Close and its code, TCP dropped, a message, a pong, or nothing.
          </p>
          {!presets && <p className="hint">Loading presets…</p>}
          {extension !== undefined && hidden.length > 0 && (
            <p className="hint" data-testid="presets-hidden">
              {extension
                ? `This connection agreed ${extension}: RSV1 on a message's first frame means "compressed" here (RFC 7692 §6), so the presets that need no extension (${hidden.map((p) => p.id).join(', ')}) are not offered; the RFC 7692 presets are.`
                : `This connection agreed no extension, so the RFC 7692 compression presets (${hidden.map((p) => p.id).join(', ')}) are not offered: connect with permessage-deflate to a peer that accepts it to fire them.`}
            </p>
          )}
          {groups.map(([group, list]) => (
            <section key={group} className="preset-group">
              <h3>{group}</h3>
              {list.map((p) => (
                <article key={p.id} className="preset" data-testid={`preset-${p.id}`}>
                  <div className="preset-head">
                    <b>{p.title}</b> <span className="rfc">{p.rfcSection}</span>
                    <button className="button small primary" onClick={() => void fire(p)} disabled={!open || firing !== null} aria-label={`Fire ${p.id}`}>
                      {firing === p.id ? 'Watching…' : 'Fire'}
                    </button>
                  </div>
                  <p className="preset-explain">{p.explanation}</p>
                  <p className="preset-expected"><span className="ea-label">Expected</span> {p.expectedText}</p>
                </article>
              ))}
            </section>
          ))}
        </section>
        <section className="fault-results" aria-label="Results">
          <h3>Results on {connection.id} <span className="count">{results.length}</span></h3>
          {!open && (
            <div className="closed-banner" data-testid="faults-closed">
              This connection is {connection.state}{connection.detail ? ` (${connection.detail})` : ''}. Presets need an open connection: connect a new peer, or open a client on the left.
            </div>
          )}
          {connection.gate && (connection.gate.stepMode || connection.gate.held.length > 0) && (
            <div className="closed-banner">Step mode is on for this connection: the peer's reaction would be held in the Debugger and the judge would see nothing. Press Resume in the Debugger first.</div>
          )}
          {error && <p className="error-text" role="alert">{error}</p>}
          {results.length === 0 ? (
            <p className="hint">Fire a preset on the left: its expected reaction (what RFC 6455 requires) and what the peer actually did appear here side by side, ✓ when they agree.</p>
          ) : (
            <ol className="fault-results-list">{results.map((r) => <ResultCard key={`${r.time}-${r.outcome.presetId}`} entry={r} />)}</ol>
          )}
        </section>
      </div>
    </div>
  );
}
