/**
 * Saved work (issue 13): saved connections, opened again with one click, and saved messages,
 * named sequences sent in order with their waits on the selected live connection. Kept by the
 * service in the config directory; imported and exported as one JSON file.
 */
import { useEffect, useRef, useState } from 'react';
import { emptySavedWork, formatSteps, parseSteps, SavedWorkLimits, type SavedConnection, type SavedSequence, type SavedWork as SavedWorkDoc } from '../../../shared/saved-work.ts';
import { OneAtATime } from '../../../shared/one-at-a-time.ts';
import { api } from '../bridge.ts';
import { downloadBytes, isOpenedRecordingId } from '../store/recording.ts';
import { isRecordingId, useInspector } from '../store/store.ts';
import './session.css';

const list = (text: string, separator: RegExp) => text.split(separator).map((s) => s.trim()).filter(Boolean);

export function SavedWork() {
  const setNotice = useInspector((s) => s.setNotice);
  const select = useInspector((s) => s.selectConnection);
  const selectedId = useInspector((s) => s.selectedConnectionId);
  const selectedOpen = useInspector((s) => s.status?.connections.some((c) => c.id === s.selectedConnectionId && c.state === 'OPEN') ?? false);
  const [work, setWork] = useState<SavedWorkDoc>(emptySavedWork);
  const [conn, setConn] = useState({ name: '', url: '', subprotocols: '', headers: '', insecure: false });
  const [seq, setSeq] = useState({ name: '', steps: '' });
  const [running, setRunning] = useState<string | null>(null);
  const importInput = useRef<HTMLInputElement>(null);
  const runnable = selectedOpen && !isRecordingId(selectedId) && !isOpenedRecordingId(selectedId);

  // Reads and changes of the saved work, one after another, each from what the last answer left:
  // a second save asked before the first is answered must not start from the work before it.
  const [turns] = useState(() => new OneAtATime());
  const latest = useRef<SavedWorkDoc>(emptySavedWork());
  const adopt = (doc: SavedWorkDoc) => {
    latest.current = doc;
    setWork(doc);
  };

  useEffect(() => {
    void turns.run(async () => adopt(await api.getSavedWork()));
  }, [turns]);

  const store = (change: (doc: SavedWorkDoc) => SavedWorkDoc, done?: string) => turns.run(async () => {
    const result = await api.setSavedWork(change(latest.current));
    if (!result.ok) return setNotice({ kind: 'error', text: result.error }), false;
    adopt(result.work);
    if (done) setNotice({ kind: 'info', text: done });
    return true;
  });

  const saveConnection = async () => {
    const entry: SavedConnection = { name: conn.name.trim(), url: conn.url.trim(), subprotocols: list(conn.subprotocols, /,/), headers: list(conn.headers, /\n/), ca: [], insecure: conn.insecure };
    if (!entry.name || !/^wss?:\/\//i.test(entry.url)) return setNotice({ kind: 'error', text: 'A saved connection needs a name and a ws:// or wss:// URL.' });
    const form = conn;
    // Emptied once saved, unless it was changed while the save was answered (that typing is kept).
    if (await store((doc) => ({ ...doc, connections: [...doc.connections.filter((c) => c.name !== entry.name), entry] }), `Saved the connection ${entry.name}.`)) {
      setConn((now) => (now === form ? { name: '', url: '', subprotocols: '', headers: '', insecure: false } : now));
    }
  };

  const saveSequence = async () => {
    const steps = parseSteps(seq.steps);
    if (typeof steps === 'string') return setNotice({ kind: 'error', text: steps });
    const name = seq.name.trim();
    if (!name) return setNotice({ kind: 'error', text: 'Name the sequence.' });
    const entry: SavedSequence = { name, steps };
    const form = seq;
    if (await store((doc) => ({ ...doc, sequences: [...doc.sequences.filter((s) => s.name !== name), entry] }), `Saved the messages ${name} (${steps.length} steps).`)) {
      setSeq((now) => (now === form ? { name: '', steps: '' } : now));
    }
  };

  const connect = async (c: SavedConnection) => {
    const result = await api.connectClient({ url: c.url, subprotocols: c.subprotocols, headers: c.headers, ...(c.ca.length ? { ca: c.ca } : {}), ...(c.insecure ? { insecure: true } : {}) });
    if (!result.ok) return setNotice({ kind: 'error', text: `${c.name}: ${result.error}` });
    select(result.id);
  };

  const run = async (s: SavedSequence) => {
    if (!selectedId) return;
    setRunning(s.name);
    const result = await api.runSequence(selectedId, s.steps);
    setRunning(null);
    setNotice(result.ok ? { kind: 'info', text: `Sent ${s.name}: ${result.sent} message${result.sent === 1 ? '' : 's'} on ${selectedId}.` } : { kind: 'error', text: result.error });
  };

  const importFile = async (file: File | undefined) => {
    if (importInput.current) importInput.current.value = '';
    if (!file) return;
    if (file.size > SavedWorkLimits.fileBytes) return setNotice({ kind: 'error', text: `${file.name} is larger than ${SavedWorkLimits.fileBytes} bytes: not a saved-work file.` });
    const text = await file.text();
    const result = await turns.run(async () => {
      const answer = await api.importSavedWork(text);
      if (answer.ok) adopt(answer.work);
      return answer;
    });
    if (!result.ok) return setNotice({ kind: 'error', text: `${file.name}: ${result.error}` });
    setNotice({ kind: 'info', text: `Imported ${file.name}${result.skipped ? `; ${result.skipped} entr${result.skipped === 1 ? 'y' : 'ies'} that did not fit skipped` : ''}.` });
  };

  const exportFile = () => downloadBytes(new TextEncoder().encode(JSON.stringify(work, null, 2) + '\n'), 'wsinspect-saved-work.json', 'application/json');

  return (
    <section aria-label="Saved work" data-testid="saved-work">
      <h2 className="section-head">
        <span>Saved <span className="count">{work.connections.length + work.sequences.length}</span></span>
        <span>
          <input ref={importInput} type="file" accept=".json,application/json" className="visually-hidden" aria-label="Saved-work file" data-testid="saved-import-input" onChange={(e) => void importFile(e.target.files?.[0])} />
          <button className="link small-link" onClick={() => importInput.current?.click()} title="Add saved connections and messages from a file (same names are replaced)">import</button>{' '}
          <button className="link small-link" onClick={exportFile} data-testid="saved-export" title="Download the saved connections and messages as one JSON file">export</button>
        </span>
      </h2>
      {work.connections.length > 0 && (
        <ul className="saved-list" data-testid="saved-connections">
          {work.connections.map((c) => (
            <li key={c.name}>
              <button className="link saved-name" onClick={() => void connect(c)} title={`Connect: ${c.url}${c.subprotocols.length ? `\nSubprotocols: ${c.subprotocols.join(', ')}` : ''}${c.headers.length ? `\n${c.headers.join('\n')}` : ''}${c.insecure ? '\ninsecure (not verified)' : ''}`}>{c.name}</button>
              <span className="saved-meta">{c.url}</span>
              <button className="link small-link" aria-label={`Forget ${c.name}`} onClick={() => void store((doc) => ({ ...doc, connections: doc.connections.filter((x) => x.name !== c.name) }))}>✕</button>
            </li>
          ))}
        </ul>
      )}
      {work.sequences.length > 0 && (
        <ul className="saved-list" data-testid="saved-sequences">
          {work.sequences.map((s) => (
            <li key={s.name}>
              <button className="button small" disabled={!runnable || running !== null} onClick={() => void run(s)} title={runnable ? `Send on ${selectedId}, in order:\n${formatSteps(s.steps)}` : 'Select an open live connection to send these on'}>
                {running === s.name ? 'Sending…' : '▶'}
              </button>
              <button className="link saved-name" onClick={() => setSeq({ name: s.name, steps: formatSteps(s.steps) })} title="Edit">{s.name}</button>
              <span className="saved-meta">{s.steps.length} steps</span>
              <button className="link small-link" aria-label={`Forget ${s.name}`} onClick={() => void store((doc) => ({ ...doc, sequences: doc.sequences.filter((x) => x.name !== s.name) }))}>✕</button>
            </li>
          ))}
        </ul>
      )}
      <details className="saved-form">
        <summary>Save a connection</summary>
        <form onSubmit={(e) => { e.preventDefault(); void saveConnection(); }} className="client-form">
          <label>Name<input className="input" value={conn.name} onChange={(e) => setConn({ ...conn, name: e.target.value })} aria-label="Saved connection name" /></label>
          <label>URL<input className="input" value={conn.url} placeholder="ws://127.0.0.1:9001/" onChange={(e) => setConn({ ...conn, url: e.target.value })} aria-label="Saved connection URL" /></label>
          <label>Subprotocols<input className="input" value={conn.subprotocols} placeholder="chat, superchat" onChange={(e) => setConn({ ...conn, subprotocols: e.target.value })} aria-label="Saved connection subprotocols" /></label>
          <label>Extra headers<textarea className="input" rows={2} value={conn.headers} placeholder="Origin: http://example.test" onChange={(e) => setConn({ ...conn, headers: e.target.value })} aria-label="Saved connection headers" /></label>
          <label className="checkbox-label"><input type="checkbox" checked={conn.insecure} onChange={(e) => setConn({ ...conn, insecure: e.target.checked })} /> insecure (wss://, don&apos;t verify)</label>
          <button className="button small" type="submit">Save connection</button>
        </form>
      </details>
      <details className="saved-form" open={seq.steps !== '' || undefined}>
        <summary>Save messages</summary>
        <form onSubmit={(e) => { e.preventDefault(); void saveSequence(); }} className="client-form">
          <label>Name<input className="input" value={seq.name} onChange={(e) => setSeq({ ...seq, name: e.target.value })} aria-label="Sequence name" /></label>
          <label title="One step a line: text …, binary HEX, ping …, pong …, close CODE REASON, wait MS">
            Steps, in order
            <textarea className="input mono" rows={4} value={seq.steps} placeholder={'text {"op":"subscribe"}\nwait 500\nping still there?\nclose 1000 done'} onChange={(e) => setSeq({ ...seq, steps: e.target.value })} aria-label="Sequence steps" />
          </label>
          <button className="button small" type="submit">Save messages</button>
        </form>
      </details>
    </section>
  );
}
