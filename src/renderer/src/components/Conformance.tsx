import { useMemo, useState } from 'react';
import { categories, conformanceCases, parseCaseFilter, selectCases } from '../../../core/conformance/cases.ts';
import type { ConformanceCaseSummary, ConformanceRequest } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { useInspector, type ConformanceMode } from '../store/store.ts';

type Outcome = ConformanceCaseSummary['outcome'];

/** What each category tests, in plain words. */
export const categoryHelp: Record<number, string> = {
  1: 'Text and binary messages of every length encoding (0 to 125 bytes in the 7-bit field, 126 to 65535 in 16 bits, more in 64 bits), sent whole and chopped into tiny TCP writes. The peer must echo each one exactly (§5.2).',
  2: 'A ping must be answered by a pong with the same payload; a control frame of more than 125 bytes must fail the connection; an unsolicited pong must be ignored (§5.5.2, §5.5.3).',
  3: 'RSV1, RSV2 and RSV3 must be 0 unless an extension gave them a meaning. None is negotiated here, so a frame with one of them set must fail the connection with 1002 (§5.2).',
  4: 'Opcodes 0x3-0x7 and 0xB-0xF are reserved: a frame using one must fail the connection with 1002, even after valid traffic (§5.2).',
  5: 'Messages split into fragments, with control frames between them, must be reassembled; fragmented control frames, stray continuation frames and a new message inside another must fail with 1002 (§5.4).',
  6: 'Text must be valid UTF-8. Valid text from Markus Kuhn\'s stress test must be echoed, even split at every byte; invalid text must fail the connection with 1007, ideally at the first bad byte ("fail fast", §5.6, §8.1).',
  7: 'The closing handshake: answer a Close with a Close, send nothing after it, and refuse malformed Close frames (a 1-byte body, a code that may not be sent, a reason that is not UTF-8) (§5.5.1, §7).',
  9: 'Big messages (up to 16 MiB) and many messages in a row, whole, fragmented or in small TCP writes: the peer must keep up and echo every byte.',
  10: 'Long messages fragmented by the sender, the mask bit rule (a client masks every frame, a server never does, §5.1), and frames in the same TCP write as the handshake.',
  12: 'Compressed messages (permessage-deflate, RFC 7692) of 16 bytes to 128 KiB, up to 1000 per case, each sent after the echo of the one before, some cut into many small frames: the peer must agree to the extension, inflate every message and echo it exactly. A peer that declines the extension is unimplemented (non-strict), not failed: it is optional.',
  13: 'The same with each parameter combination: no context takeover in either direction, LZ77 windows of 256 bytes to 32 KiB (RFC 7692 §7.1), several offers in order of preference. The peer must honour what it agreed.',
};

export const outcomeHelp: Record<Outcome, { label: string; text: string }> = {
  pass: { label: 'pass', text: 'The peer did exactly what RFC 6455 asks, the way it prefers it.' },
  'non-strict': {
    label: 'non-strict',
    text: 'The peer did the right thing in a way the RFC allows but does not prefer: for example it dropped TCP instead of sending Close 1002, answered with another valid close code, or failed on bad UTF-8 only after the whole message arrived instead of at the first bad byte. In the compressed cases (12, 13) it also means the peer declined permessage-deflate (Autobahn says unimplemented): allowed, but nothing about compression was tested.',
  },
  fail: { label: 'fail', text: 'The peer broke a rule: it echoed or answered data it had to refuse, kept the connection open, sent an invalid frame, or did not answer as required.' },
};

const caseOrder = new Map(conformanceCases.map((c, i) => [c.id, i]));
const caseInfo = new Map(conformanceCases.map((c) => [c.id, c]));
const defaultLaunch = 'node bin/wsinspect.mjs connect {url} --echo --trace none';

const modes: Array<{ mode: ConformanceMode; label: string; help: string }> = [
  { mode: 'server', label: 'A server', help: 'This app connects to the URL once per case, as a client, and judges what the server sends back. The server must echo every message.' },
  { mode: 'client', label: 'A client program', help: 'Per case this app listens on 127.0.0.1 and runs the command with {url} replaced by its address (the process is stopped after the case). The client must echo every message.' },
  { mode: 'own-client', label: "This app's own client", help: "Tests the inspector's own client code against the battery, playing the server. It echoes every message." },
];

function Badge({ outcome }: { outcome: Outcome | 'queued' }) {
  return <span className={`outcome outcome-${outcome}`} data-testid="outcome-badge">{outcome === 'queued' ? '…' : outcomeHelp[outcome].label}</span>;
}

interface Group {
  id: number;
  name: string;
  done: ConformanceCaseSummary[];
  planned: string[];
  counts: { passed: number; failed: number; nonStrict: number };
}

/** Run the Autobahn-style battery against a server URL or a client, and read the results case by case. */
export function Conformance() {
  const progress = useInspector((s) => s.conformance);
  const run = useInspector((s) => s.conformanceRun);
  const form = useInspector((s) => s.conformanceForm);
  const setForm = useInspector((s) => s.setConformanceForm);
  const expanded = useInspector((s) => s.expandedCategories);
  const toggleCategory = useInspector((s) => s.toggleCategory);
  const serverUrl = useInspector((s) => s.status?.server.url ?? null);
  const setNotice = useInspector((s) => s.setNotice);
  const openRecording = useInspector((s) => s.openRecording);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const filters = parseCaseFilter(form.filter) ?? [];
  const peer = form.mode === 'server' ? 'server' : 'client';
  const matching = useMemo(() => selectCases(peer, filters).length, [peer, form.filter]); // eslint-disable-line react-hooks/exhaustive-deps
  const running = progress?.running ?? false;
  const url = form.url.trim() || serverUrl || '';

  const start = async () => {
    setError(null);
    let request: ConformanceRequest;
    const cases = filters.length ? { cases: filters } : {};
    if (form.mode === 'server') {
      if (!url) return setError('Type the server URL to test (the embedded server is stopped).');
      request = { mode: 'server', url, ...cases };
    } else if (form.mode === 'client') {
      if (!form.launch.includes('{url}')) return setError('The launch command must contain {url}, where the client should connect.');
      request = { mode: 'client', launch: form.launch, ...cases };
    } else {
      request = { mode: 'own-client', ...cases };
    }
    if (matching === 0) return setError(`No case matches "${form.filter}". Use case ids or prefixes such as "1., 6.4, 7.1.2".`);
    setBusy(true);
    const result = await api.runConformance(request);
    setBusy(false);
    if (!result.ok) return setError(result.error);
    useInspector.getState().startedConformance(result.progress, { peer, filters });
  };

  const openWireLog = async (c: ConformanceCaseSummary) => {
    const result = await api.conformanceWire(c.id);
    if (!result.ok) return setNotice({ kind: 'error', text: result.error });
    setNotice(null);
    openRecording(c, result.events, progress?.target ?? '');
  };

  // Results grouped by category, in the battery's order; cases still to come are listed as queued.
  const groups = useMemo(() => {
    const byId = new Map<number, Group>();
    const group = (id: number, name: string) => {
      let g = byId.get(id);
      if (!g) {
        g = { id, name, done: [], planned: [], counts: { passed: 0, failed: 0, nonStrict: 0 } };
        byId.set(id, g);
      }
      return g;
    };
    const doneIds = new Set(progress?.cases.map((c) => c.id));
    if (run && progress) for (const c of selectCases(run.peer, run.filters)) if (!doneIds.has(c.id)) group(c.category, c.categoryName).planned.push(c.id);
    for (const c of progress?.cases ?? []) {
      const g = group(c.category, c.categoryName);
      g.done.push(c);
      if (c.outcome === 'pass') g.counts.passed++;
      else if (c.outcome === 'fail') g.counts.failed++;
      else g.counts.nonStrict++;
    }
    const order = (id: string) => caseOrder.get(id) ?? Number.MAX_SAFE_INTEGER;
    for (const g of byId.values()) g.done.sort((a, b) => order(a.id) - order(b.id) || a.id.localeCompare(b.id, undefined, { numeric: true }));
    return [...byId.values()].sort((a, b) => a.id - b.id);
  }, [progress, run]);

  const totals = progress?.totals ?? { passed: 0, failed: 0, nonStrict: 0 };
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  const shownGroups = form.problemsOnly ? groups.filter((g) => g.counts.failed + g.counts.nonStrict > 0) : groups;

  const toggleChip = (prefix: string) => {
    const list = parseCaseFilter(form.filter) ?? [];
    const next = list.includes(prefix) ? list.filter((f) => f !== prefix) : [...list, prefix];
    setForm({ filter: next.join(', ') });
  };

  return (
    <div className="conformance" data-testid="conformance-view">
      <section className="conformance-setup">
        <div className="title-row">
          <h2>Conformance battery</h2>
          <span className="hint">About {conformanceCases.length} cases in Autobahn's categories. The peer under test must echo every message.</span>
        </div>
        <div className="mode-options" role="radiogroup" aria-label="What to test">
          {modes.map((m) => (
            <label key={m.mode} className={`mode-option ${form.mode === m.mode ? 'active' : ''}`} data-testid={`conformance-mode-${m.mode}`}>
              <input type="radio" name="conformance-mode" checked={form.mode === m.mode} onChange={() => setForm({ mode: m.mode })} disabled={running} />
              <span>
                <b>{m.label}</b>
                <span className="hint">{m.help}</span>
              </span>
            </label>
          ))}
        </div>
        <form className="conformance-form" onSubmit={(e) => { e.preventDefault(); void start(); }}>
          {form.mode === 'server' && (
            <label className="field grow">Server URL
              <input className="input mono" value={form.url} placeholder={serverUrl ?? 'ws://127.0.0.1:9001/'} onChange={(e) => setForm({ url: e.target.value })} aria-label="Server URL to test" disabled={running} />
            </label>
          )}
          {form.mode === 'client' && (
            <label className="field grow"><span>Launch command <span className="muted">· run once per case; {'{url}'} becomes the address to connect to</span></span>
              <input className="input mono" value={form.launch} placeholder={defaultLaunch} onChange={(e) => setForm({ launch: e.target.value })} aria-label="Client launch command" disabled={running} />
            </label>
          )}
          <label className="field grow"><span>Cases <span className="muted">· ids or prefixes, comma separated; empty: all</span></span>
            <input className="input mono" value={form.filter} placeholder="all cases, or e.g. 1., 6.4, 7.1.2" onChange={(e) => setForm({ filter: e.target.value })} aria-label="Case filter" disabled={running} />
          </label>
          <button className="button primary" type="submit" disabled={running || busy} data-testid="conformance-run">
            {running ? 'Running…' : `Run ${matching} case${matching === 1 ? '' : 's'}`}
          </button>
        </form>
        <div className="chips" aria-label="Categories">
          <span className="field-label">Categories:</span>
          {categories.map((c) => {
            const on = filters.includes(`${c.id}.`) || filters.includes(String(c.id));
            return (
              <button key={c.id} type="button" className={`chip ${on ? 'on' : ''}`} onClick={() => toggleChip(`${c.id}.`)} title={categoryHelp[c.id]} disabled={running}>
                {c.id} {c.name}
              </button>
            );
          })}
        </div>
        {error && <p className="error-text" role="alert">{error}</p>}
      </section>

      {progress && (
        <section className="conformance-progress" aria-label="Progress">
          <div className="progress-row">
            <div className="progress" data-testid="conformance-progress">
              <div className="progress-bar" style={{ width: `${pct}%` }} />
              <span>{progress.done} of {progress.total || '…'} cases{progress.running ? '' : ' · finished'}</span>
            </div>
            <span className="hint target">{progress.mode === 'server' ? 'server' : progress.mode === 'client' ? 'client' : ''} <code>{progress.target}</code></span>
          </div>
          <div className="totals" data-testid="conformance-totals">
            <div className="total pass" title={outcomeHelp.pass.text}><b data-testid="total-passed">{totals.passed}</b> passed</div>
            <div className="total fail" title={outcomeHelp.fail.text}><b data-testid="total-failed">{totals.failed}</b> failed</div>
            <div className="total non-strict" title={outcomeHelp['non-strict'].text}><b data-testid="total-non-strict">{totals.nonStrict}</b> non-strict</div>
            <label className="toggle problems-only">
              <input type="checkbox" checked={form.problemsOnly} onChange={(e) => setForm({ problemsOnly: e.target.checked })} aria-label="Only failed and non-strict" /> only failed and non-strict
            </label>
          </div>
          {progress.error && <p className="error-text" role="alert">The run stopped: {progress.error}</p>}
        </section>
      )}

      {progress && (
        <section className="conformance-results" aria-label="Results">
          {shownGroups.length === 0 && (
            <p className="hint pad">{form.problemsOnly && progress.done > 0 ? 'No failed or non-strict case: the peer passed everything it was given.' : 'Waiting for the first result…'}</p>
          )}
          {shownGroups.map((g) => {
            const problems = g.counts.failed + g.counts.nonStrict;
            const open = expanded[g.id] ?? problems > 0;
            const cases = form.problemsOnly ? g.done.filter((c) => c.outcome !== 'pass') : g.done;
            return (
              <div key={g.id} className={`category ${open ? 'open' : ''}`} data-testid={`category-${g.id}`}>
                <button className="category-head" onClick={() => toggleCategory(g.id, !open)} aria-expanded={open}>
                  <span className="caret">{open ? '▾' : '▸'}</span>
                  <span className="category-name">{g.id} {g.name}</span>
                  <span className="category-counts" data-testid="category-counts">
                    <span className={g.counts.passed > 0 ? 'ok-text' : 'muted'}>{g.counts.passed} passed</span>
                    {g.counts.failed > 0 && <span className="error-text">{g.counts.failed} failed</span>}
                    {g.counts.nonStrict > 0 && <span className="warn-text">{g.counts.nonStrict} non-strict</span>}
                    {g.planned.length > 0 && <span className="muted">{g.planned.length} to go</span>}
                  </span>
                </button>
                {open && (
                  <div className="category-body">
                    <p className="hint category-help">{categoryHelp[g.id]}</p>
                    <ul className="case-list">
                      {cases.map((c) => {
                        const expectation = caseInfo.get(c.id)?.expectation;
                        return (
                          <li key={c.id} className={`case-row case-${c.outcome}`} data-testid="case-row" data-case-id={c.id}>
                            <Badge outcome={c.outcome} />
                            <span className="case-id">{c.id}</span>
                            <span className="case-desc">{c.description}</span>
                            <span className="rfc">{c.rfcSection}</span>
                            <span className="case-time">{c.durationMs < 1000 ? `${Math.round(c.durationMs)} ms` : `${(c.durationMs / 1000).toFixed(1)} s`}</span>
                            <button className="button small" onClick={() => void openWireLog(c)} data-testid="open-wire-log" title="Open every frame of this case, both ways, in the frame inspector">Open wire log</button>
                            {c.reason && <div className="case-reason" data-testid="case-reason">{c.reason}</div>}
                            {c.outcome !== 'pass' && expectation && <div className="case-expected"><span className="ea-label">to pass</span>{expectation.pass}</div>}
                          </li>
                        );
                      })}
                      {!form.problemsOnly && g.planned.map((id) => (
                        <li key={id} className="case-row case-queued">
                          <Badge outcome="queued" />
                          <span className="case-id">{id}</span>
                          <span className="case-desc">{caseInfo.get(id)?.description}</span>
                          <span className="rfc">{caseInfo.get(id)?.rfcSection}</span>
                        </li>
                      ))}
                    </ul>
                  </div>
                )}
              </div>
            );
          })}
        </section>
      )}

      <details className="conformance-help" open={!progress}>
        <summary>How to read the results</summary>
        <dl className="outcome-help">
          {(['pass', 'non-strict', 'fail'] as const).map((o) => (
            <div key={o}>
              <dt><Badge outcome={o} /></dt>
              <dd>{outcomeHelp[o].text}</dd>
            </div>
          ))}
        </dl>
        <p className="hint">Every case names the RFC section it checks. Open a case's wire log to see every frame both ways in the frame inspector, with the handshake and the case's own log.</p>
        <h3>The categories</h3>
        <dl className="category-help-list">
          {categories.map((c) => (
            <div key={c.id}>
              <dt>{c.id} {c.name}</dt>
              <dd>{categoryHelp[c.id]}</dd>
            </div>
          ))}
        </dl>
      </details>
    </div>
  );
}

/** Above a wire log's frames: which case it is, its verdict, and the case's own log. */
export function RecordingBanner() {
  const recording = useInspector((s) => s.recordings.find((r) => r.id === s.selectedConnectionId));
  const setView = useInspector((s) => s.setView);
  if (!recording) return null;
  const r = recording.recording;
  return (
    <section className={`recording-banner case-${r.outcome}`} data-testid="recording-banner">
      <div className="recording-head">
        <Badge outcome={r.outcome} />
        <b>Case {r.caseId}</b>
        <span>{r.description}</span>
        <span className="rfc">{r.rfcSection}</span>
        <span className="muted">recorded wire log, read-only · {r.categoryName}</span>
        <button className="button small" onClick={() => setView('conformance')}>← Results</button>
      </div>
      {r.reason && <div className="case-reason" data-testid="case-reason">{r.reason}</div>}
      <details className="case-log">
        <summary>The case, step by step ({r.notes.length} notes)</summary>
        <ol>
          {r.notes.map((n, i) => <li key={i} className={n.error ? 'error-text' : ''}>{n.text}</li>)}
        </ol>
      </details>
    </section>
  );
}
