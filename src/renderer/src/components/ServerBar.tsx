import { useEffect, useState } from 'react';
import { appNames, type AppName, type ServerStatus } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import { ProxyBar } from './ProxyBar.tsx';

const appHelp: Record<AppName, string> = {
  echo: 'sends every message back',
  chat: 'broadcasts each message to the other peers',
  manual: 'answers nothing: you reply from the composer',
};

/**
 * wss://: the server's certificate (its SHA-256 fingerprint) and how to make a browser trust it:
 * a self-signed certificate is refused until someone says to trust it (RFC 6455 §10.6).
 */
function ServerTls({ server }: { server: ServerStatus }) {
  const tls = server.tls;
  if (!tls || !server.url) return null;
  const cert = tls.certificate;
  const https = server.url.replace(/^wss:/, 'https:');
  return (
    <div className="server-tls" data-testid="server-tls">
      <span>TLS certificate {cert.selfSigned ? <span className="tag warn">self-signed</span> : null}</span>
      <span>SHA-256 <code data-testid="server-fingerprint">{cert.sha256}</code></span>
      <details className="how-to" data-testid="trust-how-to">
        <summary>How to trust this certificate in a browser</summary>
        <p className="hint">
          {cert.selfSigned ? 'It is self-signed: no authority vouches for it, so browsers refuse it (and a page\'s WebSocket fails without saying why) until you tell them to trust it. ' : 'Browsers refuse it unless they trust the authority that signed it. '}
          First check that the fingerprint a browser shows is the one above: then it is this very certificate.
        </p>
        <ol>
          <li>Chromium or Chrome: open <code>{https}</code> once and accept the warning (Advanced → Proceed). Or start it with <code data-testid="spki-flag">--ignore-certificate-errors-spki-list={cert.spkiSha256}</code> (the base64 SHA-256 of the certificate&apos;s public key).</li>
          <li>Firefox: open <code>{https}</code> and add an exception (Advanced → Accept the Risk and Continue).</li>
          <li>From a terminal: <code>wsinspect connect {server.url} --ca {tls.certPath}</code>; Node&apos;s ws: the <code>ca</code> option with that file.</li>
        </ol>
        <p className="hint">Certificate file: <code>{tls.certPath}</code>{tls.generated ? ' (made by this app for localhost, 127.0.0.1 and ::1; its key is readable by you only).' : ''}</p>
      </details>
    </div>
  );
}

/** The embedded server: where it listens, which application it runs, start and stop. */
export function ServerBar() {
  const server = useInspector((s) => s.status?.server);
  const setNotice = useInspector((s) => s.setNotice);
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('9001');
  const [busy, setBusy] = useState(false);
  /** Comma-separated Origin values; empty accepts any origin. */
  const [origins, setOrigins] = useState('');
  /** Comma-separated subprotocols the server speaks (§4.2.2): it picks the first a client offers. */
  const [subprotocols, setSubprotocols] = useState('');
  /** Connection cap and idle timeout (ms); empty is none. */
  const [maxConnections, setMaxConnections] = useState('');
  const [idleTimeout, setIdleTimeout] = useState('');
  /** wss:// (RFC 6455 §10.6): TLS on, with a certificate and key file, or the generated localhost one. */
  const [tls, setTls] = useState(false);
  const [certPath, setCertPath] = useState('');
  const [keyPath, setKeyPath] = useState('');

  useEffect(() => {
    if (server && !busy) {
      setHost(server.host);
      setPort(String(server.port));
    }
    // only when the server's address changes
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [server?.host, server?.port]);

  const start = async () => {
    const limits: { maxConnections?: number; idleTimeoutMs?: number } = {};
    for (const [key, text, label] of [['maxConnections', maxConnections, 'Max connections'], ['idleTimeoutMs', idleTimeout, 'Idle timeout']] as const) {
      if (text.trim() === '') continue;
      if (!/^\d+$/.test(text.trim())) {
        setNotice({ kind: 'error', text: `${label} must be a whole number, or empty for none (got "${text}").` });
        return;
      }
      limits[key] = Number(text.trim()); // the service checks the range
    }
    setBusy(true);
    const portNumber = Number(port);
    const allowedOrigins = origins.split(',').map((o) => o.trim()).filter(Boolean);
    const protocols = subprotocols.split(',').map((p) => p.trim()).filter(Boolean);
    const files = tls && (certPath.trim() || keyPath.trim()) ? { certPath: certPath.trim(), keyPath: keyPath.trim() } : {};
    const result = await api.startServer({
      host, port: Number.isInteger(portNumber) ? portNumber : -1, app: server?.app ?? 'echo',
      ...(allowedOrigins.length ? { allowedOrigins } : {}),
      ...(protocols.length ? { subprotocols: protocols } : {}),
      ...limits,
      ...(tls ? { tls: true, ...files } : {}),
    });
    setBusy(false);
    setNotice(result.ok ? null : { kind: 'error', text: result.error });
  };
  const stop = async () => {
    setBusy(true);
    await api.stopServer();
    setBusy(false);
  };
  const changeApp = async (app: AppName) => {
    const result = await api.setServerApp(app);
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };

  return (
    <header className="server-bar">
      <div className="brand">
        <span className="brand-mark">⇄</span> WebSocket Inspector
        <span className="brand-sub">RFC 6455, byte by byte</span>
      </div>
      <div className="server-controls" aria-label="Embedded server">
        <span className={`dot ${server?.running ? 'dot-on' : server?.error ? 'dot-error' : 'dot-off'}`} />
        <label>
          Host <input className="input host" value={host} onChange={(e) => setHost(e.target.value)} disabled={server?.running} aria-label="Server host" />
        </label>
        <label>
          Port <input className="input port" value={port} onChange={(e) => setPort(e.target.value)} disabled={server?.running} aria-label="Server port" inputMode="numeric" />
        </label>
        <label title="Browsers send the page's Origin with the handshake; list the ones to accept, and the rest get 403 Forbidden (RFC 6455 §10.2). Empty: any origin.">
          Origins <input className="input origins" value={origins} onChange={(e) => setOrigins(e.target.value)} disabled={server?.running} aria-label="Allowed origins" placeholder="any (e.g. http://localhost:3000)" />
        </label>
        <label title="Subprotocols the server speaks, comma separated, most preferred first: it answers with the first one a client offers (RFC 6455 §4.2.2). Empty: none, and a browser that offers any fails the connection.">
          Subprotocols <input className="input subprotocols" value={subprotocols} onChange={(e) => setSubprotocols(e.target.value)} disabled={server?.running} aria-label="Server subprotocols" placeholder="none (e.g. chat)" />
        </label>
        <label title="At most this many connections at a time; one more is answered 503 Service Unavailable with Retry-After, then closed (RFC 6455 §4.1). Empty: no cap.">
          Max conns <input className="input limit" value={maxConnections} onChange={(e) => setMaxConnections(e.target.value)} disabled={server?.running} aria-label="Maximum connections" placeholder="none" inputMode="numeric" />
        </label>
        <label title="Close a connection with 1001 Going Away after this many milliseconds with no bytes in either direction. Empty: never.">
          Idle ms <input className="input limit" value={idleTimeout} onChange={(e) => setIdleTimeout(e.target.value)} disabled={server?.running} aria-label="Idle timeout in milliseconds" placeholder="off" inputMode="numeric" />
        </label>
        <label className="checkbox-label" title="Serve wss:// (WebSocket over TLS, RFC 6455 §10.6): with the certificate and key files below, or a self-signed certificate for localhost, 127.0.0.1 and ::1 that the app makes once and keeps in your config directory.">
          <input type="checkbox" checked={server?.running ? server.tls !== null : tls} onChange={(e) => setTls(e.target.checked)} disabled={server?.running} aria-label="TLS (wss://)" data-testid="tls-switch" />
          TLS
        </label>
        {tls && !server?.running && (
          <>
            <label title="PEM certificate file (its chain after it). Empty: the generated self-signed localhost certificate.">
              Cert <input className="input file" value={certPath} onChange={(e) => setCertPath(e.target.value)} aria-label="Certificate file" placeholder="generated" />
            </label>
            <label title="PEM private key file of that certificate. Empty: the generated one.">
              Key <input className="input file" value={keyPath} onChange={(e) => setKeyPath(e.target.value)} aria-label="Key file" placeholder="generated" />
            </label>
          </>
        )}
        <label title={server ? appHelp[server.app] : ''}>
          App
          <select className="input" value={server?.app ?? 'echo'} onChange={(e) => void changeApp(e.target.value as AppName)} aria-label="Server application">
            {appNames.map((name) => <option key={name} value={name}>{name}</option>)}
          </select>
        </label>
        {server?.running ? (
          <button className="button" onClick={() => void stop()} disabled={busy}>Stop server</button>
        ) : (
          <button className="button primary" onClick={() => void start()} disabled={busy}>Start server</button>
        )}
        <span className="server-status" data-testid="server-status">
          {server?.running ? <>listening on <code>{server.url}</code> · {appHelp[server.app]}{server.subprotocols?.length ? <> · subprotocols <code data-testid="server-subprotocols">{server.subprotocols.join(', ')}</code></> : null}</> : server?.error ? <span className="error-text">{server.error}</span> : 'stopped'}
        </span>
      </div>
      <ProxyBar />
      {server?.running && <ServerTls server={server} />}
      {server?.warning && <div className="warning-text">⚠ {server.warning}</div>}
    </header>
  );
}
