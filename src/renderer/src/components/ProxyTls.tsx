/**
 * Proxy mode's TLS (issue 12), beside the Proxy bar: the local certificate authority the forward
 * proxy intercepts TLS with (what it is, the exact file, how to trust it in Chromium, Firefox and
 * the system with a command to copy, how to undo that, the risk; create, regenerate, remove), the
 * CONNECT tunnels (opaque ones with their SNI, intercepted ones), and the certificate a wss://
 * reverse proxy presents. Nothing is trusted or installed from here.
 */
import { useState } from 'react';
import type { ServerTlsStatus } from '../../../shared/inspector-api.ts';
import type { ProxyCaAction, ProxyCaStatus, ProxyTunnel } from '../../../shared/proxy-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import { CopyLine } from './Learn.tsx';
import './learn.css';
import './proxy.css';

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The CA: facts, trust steps with commands to copy, undo steps, the risk, and its three actions. */
export function ProxyCaPanel({ ca, intercepting }: { ca: ProxyCaStatus | null; intercepting: boolean }) {
  const setNotice = useInspector((s) => s.setNotice);
  const [asking, setAsking] = useState<ProxyCaAction | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (action: ProxyCaAction) => {
    setBusy(true);
    const result = await api.proxyCa(action);
    setBusy(false);
    setAsking(null);
    setNotice(result.ok ? null : { kind: 'error', text: result.error });
  };
  const dangerous: Record<Exclude<ProxyCaAction, 'create'>, string> = {
    regenerate: 'Make a new CA? Clients that trust this one must trust the new one instead (and should stop trusting this one).',
    remove: 'Remove the CA and its key? Nothing can be signed with it again; undo its trust in every client too (steps below).',
  };
  return (
    <details className="how-to proxy-ca" data-testid="proxy-ca">
      <summary>Local certificate authority · {ca ? (ca.error ? <span className="error-text">cannot be used</span> : 'made') : 'none yet'}</summary>
      {!ca && (
        <p className="hint">
          To read wss:// through the forward proxy it presents certificates signed by a CA made on this machine (made when interception starts, or now).
          {' '}<button className="button small" onClick={() => void act('create')} disabled={busy} data-testid="proxy-ca-create">Create CA</button>
        </p>
      )}
      {ca?.error && <p className="error-text" data-testid="proxy-ca-error">{ca.error}</p>}
      {ca && !ca.error && (
        <>
          <dl className="proxy-ca-facts">
            <dt>Subject</dt><dd>{ca.subject}</dd>
            <dt>Valid</dt><dd>{ca.validFrom?.slice(0, 10)} to {ca.validTo?.slice(0, 10)}</dd>
            <dt>SHA-256</dt><dd><code className="wrap">{ca.sha256}</code></dd>
            <dt>Certificate</dt><dd><code data-testid="proxy-ca-path">{ca.certPath}</code></dd>
            <dt>Key</dt><dd><code>{ca.keyPath}</code> (mode 0600, never leaves this machine)</dd>
          </dl>
          <p className="hint">Trust it in the one client you debug with, only while you need it:</p>
          <div className="proxy-ca-trust" data-testid="proxy-ca-trust">
            {ca.trust.map((t) => (
              <div key={t.target} className="proxy-ca-step">
                {t.command ? <CopyLine label={t.target} text={t.command} testId={`trust-${t.target.split(' ')[0]!.toLowerCase()}`} /> : <span className="try-label">{t.target}</span>}
                {t.note && <p className="hint">{t.note}</p>}
              </div>
            ))}
          </div>
          <p className="hint">{ca.untrust.join(' ')}</p>
          <p className="warning-text">⚠ {ca.risk.join(' ')}</p>
        </>
      )}
      {ca && (
        <div className="proxy-ca-actions">
          {asking ? (
            <>
              <span className="warning-text">{dangerous[asking as Exclude<ProxyCaAction, 'create'>]}</span>
              <button className="button small" onClick={() => void act(asking)} disabled={busy} data-testid="proxy-ca-confirm">Yes, {asking}</button>
              <button className="button small" onClick={() => setAsking(null)}>Cancel</button>
            </>
          ) : (
            <>
              <button className="button small" onClick={() => setAsking('regenerate')} disabled={busy || intercepting} data-testid="proxy-ca-regenerate" title={intercepting ? 'Stop the proxy first: it intercepts with this CA' : 'Replace it with a new CA (a new key)'}>Regenerate…</button>
              <button className="button small" onClick={() => setAsking('remove')} disabled={busy || intercepting} data-testid="proxy-ca-remove" title={intercepting ? 'Stop the proxy first: it intercepts with this CA' : 'Delete its certificate and key'}>Remove…</button>
            </>
          )}
        </div>
      )}
    </details>
  );
}

/** The forward proxy's CONNECT tunnels, newest first. */
export function ProxyTunnels({ tunnels, intercepting }: { tunnels: readonly ProxyTunnel[]; intercepting: boolean }) {
  return (
    <div className="proxy-tunnels" data-testid="proxy-tunnels">
      <span className="hint">
        CONNECT tunnels ({tunnels.length}): {intercepting ? 'TLS intercepted with the local CA, so wss:// inside shows as a conversation' : 'passed through opaquely (TLS is not read: turn on interception to see wss:// inside); each shown with the name its TLS ClientHello asked for (SNI)'}
      </span>
      {tunnels.length > 0 && (
        <ul>
          {[...tunnels].reverse().map((t) => (
            <li key={t.id} data-testid="proxy-tunnel" data-mode={t.mode}>
              <code>{t.target}</code> · {t.sni ? <>SNI <code>{t.sni}</code></> : 'no SNI'} · <strong className={t.mode === 'intercepted' ? 'tunnel-intercepted' : 'tunnel-opaque'}>{t.mode}</strong>
              {t.mode === 'opaque' && <> · {t.state}{t.bytesUp !== undefined && t.bytesDown !== undefined ? `, ${size(t.bytesUp)} up, ${size(t.bytesDown)} down` : ''}</>}
              {t.error && <span className="error-text"> · {t.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What a wss:// reverse proxy presents, and how a client trusts it. */
export function ProxyListenTls({ tls }: { tls: ServerTlsStatus }) {
  return (
    <span className="proxy-status" data-testid="proxy-listen-tls" title={`${tls.certificate.subject}\nissued by ${tls.certificate.issuer}\n${tls.certificate.subjectAltNames.join(', ')}`}>
      <strong>wss://</strong> with {tls.generated ? 'the generated localhost certificate' : 'your certificate'} <code>{tls.certPath}</code> (clients must trust it: e.g. <code>--ca {tls.certPath}</code>)
    </span>
  );
}
