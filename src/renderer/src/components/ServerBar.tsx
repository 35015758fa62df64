import { useEffect, useState } from 'react';
import { appNames, type AppName } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';

const appHelp: Record<AppName, string> = {
  echo: 'sends every message back',
  chat: 'broadcasts each message to the other peers',
  manual: 'answers nothing: you reply from the composer',
};

/** The embedded server: where it listens, which application it runs, start and stop. */
export function ServerBar() {
  const server = useInspector((s) => s.status?.server);
  const setNotice = useInspector((s) => s.setNotice);
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('9001');
  const [busy, setBusy] = useState(false);
  /** Comma-separated Origin values; empty accepts any origin. */
  const [origins, setOrigins] = useState('');
  /** Connection cap and idle timeout (ms); empty is none. */
  const [maxConnections, setMaxConnections] = useState('');
  const [idleTimeout, setIdleTimeout] = useState('');

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
    const result = await api.startServer({
      host, port: Number.isInteger(portNumber) ? portNumber : -1, app: server?.app ?? 'echo',
      ...(allowedOrigins.length ? { allowedOrigins } : {}),
      ...limits,
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
        <label title="At most this many connections at a time; one more is answered 503 Service Unavailable with Retry-After, then closed (RFC 6455 §4.1). Empty: no cap.">
          Max conns <input className="input limit" value={maxConnections} onChange={(e) => setMaxConnections(e.target.value)} disabled={server?.running} aria-label="Maximum connections" placeholder="none" inputMode="numeric" />
        </label>
        <label title="Close a connection with 1001 Going Away after this many milliseconds with no bytes in either direction. Empty: never.">
          Idle ms <input className="input limit" value={idleTimeout} onChange={(e) => setIdleTimeout(e.target.value)} disabled={server?.running} aria-label="Idle timeout in milliseconds" placeholder="off" inputMode="numeric" />
        </label>
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
          {server?.running ? <>listening on <code>{server.url}</code> · {appHelp[server.app]}</> : server?.error ? <span className="error-text">{server.error}</span> : 'stopped'}
        </span>
      </div>
      {server?.warning && <div className="warning-text">⚠ {server.warning}</div>}
    </header>
  );
}
