import { memo, useState, type CSSProperties } from 'react';
import type { ConnectionSummary } from '../../../shared/inspector-api.ts';
import type { TlsInfo } from '../../../core/tls-types.ts';
import { api } from '../bridge.ts';
import { useInspector, type RecordingSummary } from '../store/store.ts';
import { isOpenedRecordingId } from '../store/recording.ts';
import { RecordingsSection } from './RecordingsSection.tsx';
import { SavedWork } from './SavedWork.tsx';
import { ProxyConversations } from './ProxyConversations.tsx';
import { BatteryPeers, RemoveClosedLink, RemoveConnectionButton } from './BatteryPeers.tsx';
import { PeerFactsLine } from './PeerFacts.tsx';
import { ConnectionList } from './ConnectionList.tsx';

/** Stable empty list: a selector must not return a new array on every call. */
const noConnections: ConnectionSummary[] = [];

/** wss://: a tag for a verified TLS connection, a red one for an insecure one, and one for a failed handshake. */
function TlsTag({ tls }: { tls: TlsInfo | undefined }) {
  if (!tls) return null;
  if (!tls.ok) return <span className="tag bad" data-testid="tls-tag" title={tls.failure?.summary}>TLS failed</span>;
  if (tls.insecure && !tls.verified) {
    return <span className="tag insecure" data-testid="tls-tag" title={`Not verified (insecure): anyone on the path could be answering. ${tls.failure?.summary ?? ''}`}>⚠ insecure</span>;
  }
  return <span className="tag" data-testid="tls-tag" title={`Encrypted and verified: ${tls.protocol ?? ''} ${tls.cipher?.standardName ?? ''}`}>{tls.protocol ?? 'TLS'}</span>;
}

type Slot = { index: number; style: CSSProperties };

/**
 * One connection of the list. Memoised: a status push replaces only the summaries that changed,
 * so with thousands listed the rows in view whose connection did not change are not rendered again.
 */
export const ConnectionItem = memo(ConnectionItemView, (a, b) => a.c === b.c && a.slot?.index === b.slot?.index && a.slot?.style.transform === b.slot?.style.transform);

/** slot: where a virtualised list (ConnectionList.tsx) puts the row. */
function ConnectionItemView({ c, slot }: { c: ConnectionSummary; slot?: Slot }) {
  const selected = useInspector((s) => s.selectedConnectionId === c.id);
  const select = useInspector((s) => s.selectConnection);
  const tls = useInspector((s) => s.details[c.id]?.tls?.tls);
  const extensions = useInspector((s) => s.details[c.id]?.handshake?.extensions);
  const insecure = !!tls && tls.ok && tls.insecure && !tls.verified;
  return (
    <li {...(slot ? { 'data-index': slot.index, style: slot.style, className: 'connection-slot' } : {})}>
      <button className={`connection ${selected ? 'selected' : ''} ${insecure ? 'insecure' : ''}`} onClick={() => select(c.id)} data-testid={`connection-${c.id}`} title={c.detail && c.state === 'CLOSED' ? c.detail : undefined}>
        <span className={`state state-${c.state.toLowerCase()}`}>{c.state}</span>
        <span className="connection-id">{c.id}</span>
        <span className="connection-remote">{c.role === 'client' ? c.url : `from ${c.remote}`}</span>
        {(tls || c.subprotocol || extensions?.agreed || c.policy === 'observe' || c.gate?.stepMode || (c.gate?.held.length ?? 0) > 0) && (
          <span className="connection-tags">
            <TlsTag tls={tls} />
            {c.subprotocol && <span className="tag">{c.subprotocol}</span>}
            {extensions?.agreed && (
              <span className="tag" data-testid="extension-tag" title={`Agreed in the handshake: ${extensions.response ?? extensions.agreed.name} (RFC 7692 §5). The Handshake tab explains each parameter.`}>
                {extensions.agreed.name === 'permessage-deflate' ? 'deflate' : extensions.agreed.name}
              </span>
            )}
            {c.gate && c.gate.held.length > 0 ? <span className="tag warn" title="Frames held in step mode">{c.gate.held.length} held</span>
              : c.gate?.stepMode ? <span className="tag warn" title="Step mode: frames are held until you step">step mode</span> : null}
            {c.policy === 'observe' && <span className="tag" title="Violations are flagged, the connection stays open">observe</span>}
          </span>
        )}
        <PeerFactsLine id={c.id} openedAt={c.openedAt} />
        {c.detail && c.state === 'CLOSED' && <span className="connection-detail">{c.detail}</span>}
      </button>
      <RemoveConnectionButton c={c} />
    </li>
  );
}

/** An opened conformance wire log: a recording, not a live connection. */
function RecordingItem({ r }: { r: RecordingSummary }) {
  const selected = useInspector((s) => s.selectedConnectionId === r.id);
  const select = useInspector((s) => s.selectConnection);
  const info = r.recording;
  return (
    <li>
      <button className={`connection recording ${selected ? 'selected' : ''}`} onClick={() => select(r.id)} data-testid={`connection-${r.id}`} title={`${info.description} (${info.rfcSection})${info.reason ? `\n${info.reason}` : ''}`}>
        <span className={`outcome outcome-${info.outcome}`}>{info.outcome}</span>
        <span className="connection-id">case {info.caseId}</span>
        <span className="connection-remote">{info.description}</span>
      </button>
    </li>
  );
}

/**
 * The CA field: PEM text pasted whole (every certificate in it), or file names one per line.
 * A leading ~/ is read as the home directory by the service.
 */
function caEntries(text: string): string[] {
  if (text.includes('-----BEGIN ')) return [text];
  return text.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** Server peers and client connections, and the form to open a client. */
export function ConnectionsPanel() {
  const connections = useInspector((s) => s.status?.connections ?? noConnections);
  const setNotice = useInspector((s) => s.setNotice);
  const select = useInspector((s) => s.selectConnection);
  const serverUrl = useInspector((s) => s.status?.server.url ?? 'ws://127.0.0.1:9001/');
  const caFlag = useInspector((s) => (s.status?.server.tls ? ` --ca ${s.status.server.tls.certPath}` : ''));
  const [url, setUrl] = useState('');
  const [protocols, setProtocols] = useState('');
  const [headers, setHeaders] = useState('');
  /** wss://: extra CAs (file names or pasted PEM), and whether to skip verification. */
  const [ca, setCa] = useState('');
  const [insecure, setInsecure] = useState(false);
  const [busy, setBusy] = useState(false);
  const recordings = useInspector((s) => s.recordings);
  const closeRecordings = useInspector((s) => s.closeRecordings);
  // A proxy's legs are listed as conversations (ProxyConversations), not as peers and clients.
  const peers = connections.filter((c) => c.role === 'server' && !isOpenedRecordingId(c.id) && !c.proxyLeg && !c.conformance);
  // The app's own conformance battery against the embedded server: a group of its own.
  const batteryPeers = connections.filter((c) => c.conformance && !c.proxyLeg);
  const clients = connections.filter((c) => c.role === 'client' && !isOpenedRecordingId(c.id) && !c.proxyLeg);

  const connect = async () => {
    setBusy(true);
    const result = await api.connectClient({
      url: url.trim() || serverUrl,
      subprotocols: protocols.split(',').map((p) => p.trim()).filter(Boolean),
      headers: headers.split('\n').filter((h) => h.trim()),
      ...(ca.trim() ? { ca: caEntries(ca) } : {}),
      ...(insecure ? { insecure: true } : {}),
    });
    setBusy(false);
    if (result.ok) {
      setNotice(null);
      select(result.id);
    } else {
      setNotice({ kind: 'error', text: result.error });
    }
  };

  return (
    <aside className="sidebar">
      <RecordingsSection />
      {recordings.length > 0 && (
        <section aria-label="Conformance cases">
          <h2 className="section-head">
            <span>Conformance cases <span className="count">{recordings.length}</span></span>
            <button className="link small-link" onClick={closeRecordings} title="Forget the wire logs opened here (the results stay in the Conformance tab)">close all</button>
          </h2>
          <p className="hint">Recorded wire logs: read-only.</p>
          <ul className="connections">{recordings.map((r) => <RecordingItem key={r.id} r={r} />)}</ul>
        </section>
      )}
      <ProxyConversations connections={connections} />
      <section>
        <h2 className="section-head"><span>Server peers <span className="count">{peers.length}</span></span><RemoveClosedLink connections={peers} testId="remove-closed-peers" /></h2>
        <details className="how-to" open={peers.length === 0}>
          <summary>How to connect to the server</summary>
          <p className="hint">In a browser console:</p>
          <pre>{`new WebSocket('${serverUrl}')`}</pre>
          <p className="hint">From a terminal:</p>
          <pre>{`wscat -c ${serverUrl}${caFlag}\nnpx wsinspect connect ${serverUrl}${caFlag} --send hi`}</pre>
        </details>
        {peers.length === 0 ? <p className="hint">Nobody has connected to the embedded server yet.</p> : (
          <ConnectionList connections={[...peers].reverse()} label="Server peers" />
        )}
        <BatteryPeers peers={batteryPeers} />
      </section>
      <section>
        <h2 className="section-head"><span>Clients <span className="count">{clients.length}</span></span><RemoveClosedLink connections={clients} testId="remove-closed-clients" /></h2>
        {clients.length > 0 && <ConnectionList connections={[...clients].reverse()} label="Clients" />}
        <form className="client-form" onSubmit={(e) => { e.preventDefault(); void connect(); }}>
          <label>URL<input className="input" value={url} placeholder={serverUrl} onChange={(e) => setUrl(e.target.value)} aria-label="Client URL" /></label>
          <label>Subprotocols<input className="input" value={protocols} placeholder="chat, superchat" onChange={(e) => setProtocols(e.target.value)} /></label>
          <label>Extra headers<textarea className="input" rows={2} value={headers} placeholder="Origin: http://example.test" onChange={(e) => setHeaders(e.target.value)} /></label>
          <label title="wss:// only: certificate authorities (or self-signed certificates) to trust on top of the system's. One file name per line, or paste PEM text.">
            CA (wss://)
            <textarea className="input" rows={2} value={ca} placeholder="~/.config/websocket-inspector/tls/localhost-cert.pem or -----BEGIN CERTIFICATE-----" onChange={(e) => setCa(e.target.value)} aria-label="CA certificates" />
          </label>
          <label className="checkbox-label" title="wss:// only: connect even if the server's certificate does not verify. Encrypted, but anyone on the path could be answering; the connection is shown in red.">
            <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.target.checked)} aria-label="insecure (don't verify)" data-testid="insecure-switch" />
            <span className={insecure ? 'error-text' : ''}>insecure (don&apos;t verify)</span>
          </label>
          <button className="button primary" type="submit" disabled={busy}>{busy ? 'Connecting…' : 'Connect client'}</button>
        </form>
      </section>
      <SavedWork />
    </aside>
  );
}
