/**
 * The sidebar's opened recordings (issue 13): each file with what was read of it, and its
 * connections, marked "recording" (read-only: nothing can be sent on them).
 */
import type { ConnectionSummary, RecordingInfo } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import './session.css';

const noRecordings: RecordingInfo[] = [];
const noConnections: ConnectionSummary[] = [];
const kindNames: Record<RecordingInfo['kind'], string> = { session: 'session file', json: 'JSON export', har: 'HAR (messages only)', capture: 'pcap/pcapng capture' };

function RecordedConnection({ c }: { c: ConnectionSummary }) {
  const selected = useInspector((s) => s.selectedConnectionId === c.id);
  const select = useInspector((s) => s.selectConnection);
  return (
    <li>
      <button className={`connection ${selected ? 'selected' : ''}`} onClick={() => select(c.id)} data-testid={`connection-${c.id}`} title={c.detail}>
        <span className={`state state-${c.state.toLowerCase()}`}>{c.state}</span>
        <span className="connection-id">{c.id.replace(/^rec\d+:/, '')}</span>
        <span className="connection-remote">{c.url ?? `${c.role === 'server' ? 'from' : 'to'} ${c.remote}`}</span>
        <span className="connection-tags">
          <span className="tag recording-tag" data-testid="recording-tag">recording</span>
          {c.subprotocol && <span className="tag">{c.subprotocol}</span>}
        </span>
      </button>
    </li>
  );
}

export function RecordingsSection() {
  const recordings = useInspector((s) => s.status?.recordings ?? noRecordings);
  const connections = useInspector((s) => s.status?.connections ?? noConnections);
  const setNotice = useInspector((s) => s.setNotice);
  if (recordings.length === 0) return null;
  const close = async (prefix: string) => {
    const result = await api.closeRecording(prefix);
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };
  return (
    <section aria-label="Recordings" data-testid="recordings-section">
      <h2>Recordings <span className="count">{recordings.length}</span></h2>
      <p className="hint">Opened files: read-only, every view works on them.</p>
      {[...recordings].reverse().map((r) => (
        <div className="recording-file" key={r.prefix} data-testid={`recording-${r.prefix}`}>
          <div className="recording-file-head">
            <span className="recording-file-name" title={r.name}>{r.name}</span>
            <button className="link small-link" onClick={() => void close(r.prefix)} aria-label={`Close ${r.name}`}>close</button>
          </div>
          <div className="hint">{kindNames[r.kind]} · {r.connections} connection{r.connections === 1 ? '' : 's'} · {r.frames} frame{r.frames === 1 ? '' : 's'}</div>
          {r.error && <div className="hint error-text" data-testid="recording-error">Read only in part: {r.error}</div>}
          <ul className="connections">{connections.filter((c) => c.id.startsWith(r.prefix)).map((c) => <RecordedConnection key={c.id} c={c} />)}</ul>
        </div>
      ))}
    </section>
  );
}
