import { useState } from 'react';
import type { ProxyKind } from '../../../shared/proxy-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import { ProxyCaPanel, ProxyListenTls, ProxyTunnels } from './ProxyTls.tsx';
import './proxy.css';

type OriginChoice = 'keep' | 'replace' | 'remove';
type CertificateChoice = 'generated' | 'files';

/**
 * Proxy mode (issue 12), in the server bar: put the inspector between a client and a server.
 * Clients connect to the listen URL; each gets its own connection to the target. Both legs are
 * traced and shown as one conversation.
 */
export function ProxyBar() {
  const proxy = useInspector((s) => s.status?.proxy);
  const serverUrl = useInspector((s) => s.status?.server.url);
  const setNotice = useInspector((s) => s.setNotice);
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<ProxyKind>('reverse');
  const [listen, setListen] = useState('ws://127.0.0.1:9002/');
  const [forwardListen, setForwardListen] = useState('http://127.0.0.1:8080');
  const [target, setTarget] = useState('');
  const [host, setHost] = useState('');
  const [originChoice, setOriginChoice] = useState<OriginChoice>('keep');
  const [origin, setOrigin] = useState('');
  const [clientDeflate, setClientDeflate] = useState(true);
  const [upstreamDeflate, setUpstreamDeflate] = useState(true);
  const [insecure, setInsecure] = useState(false);
  const [certificate, setCertificate] = useState<CertificateChoice>('generated');
  const [certPath, setCertPath] = useState('');
  const [keyPath, setKeyPath] = useState('');
  const [interceptTls, setInterceptTls] = useState(false);
  const [busy, setBusy] = useState(false);
  const running = proxy?.running ?? false;
  const forward = running ? proxy?.kind === 'forward' : kind === 'forward';
  const shownTarget = target.trim() || serverUrl || 'ws://127.0.0.1:9001/';
  const secureListen = /^wss:/i.test(listen.trim());
  const intercepting = running ? proxy?.interceptTls === true : interceptTls;

  const start = async () => {
    setBusy(true);
    const result = await api.startProxy(kind === 'forward' ? {
      kind, listen: forwardListen.trim(), clientDeflate, upstreamDeflate, ...(interceptTls ? { interceptTls: true, ...(insecure ? { insecure: true } : {}) } : {}),
    } : {
      listen: listen.trim(), target: shownTarget,
      ...(secureListen && certificate === 'files' ? { certPath: certPath.trim(), keyPath: keyPath.trim() } : {}),
      ...(host.trim() ? { host: host.trim() } : {}),
      ...(originChoice === 'remove' ? { origin: null } : originChoice === 'replace' ? { origin: origin.trim() } : {}),
      clientDeflate, upstreamDeflate,
      ...(insecure ? { insecure: true } : {}),
    });
    setBusy(false);
    setNotice(result.ok ? null : { kind: 'error', text: result.error });
  };
  const stop = async () => {
    setBusy(true);
    await api.stopProxy();
    setBusy(false);
  };

  if (!open && !running) {
    return (
      <div className="proxy-bar closed">
        <button className="button small proxy-toggle" onClick={() => setOpen(true)} data-testid="proxy-mode-toggle" title="Put the inspector between any client and any server: both legs traced, each frame paired with its copy, the debugger on either leg">
          ⇄ Proxy mode…
        </button>
      </div>
    );
  }
  return (
    <div className="proxy-bar" aria-label="Proxy mode" data-testid="proxy-bar">
      <span className={`dot ${running ? 'dot-on' : proxy?.error ? 'dot-error' : 'dot-off'}`} />
      <strong className="proxy-title">Proxy</strong>
      <select className="input" value={forward ? 'forward' : 'reverse'} onChange={(e) => setKind(e.target.value as ProxyKind)} disabled={running} aria-label="Proxy kind"
        title="reverse: clients connect to the proxy as if it were the server. forward: an HTTP proxy that browsers and tools are configured to use; their ws:// connections are inspected without changing their URL.">
        <option value="reverse">reverse</option>
        <option value="forward">forward (HTTP proxy)</option>
      </select>
      {forward ? (
        <label title="Where the HTTP proxy listens: http://HOST:PORT. Point a browser or a tool at it.">
          Listen <input className="input proxy-url" value={running ? proxy?.url ?? forwardListen : forwardListen} onChange={(e) => setForwardListen(e.target.value)} disabled={running} aria-label="Forward proxy address" />
        </label>
      ) : (
        <>
          <label title="Where clients connect (ws://HOST:PORT/PATH). A client's path below PATH is appended to the target's.">
            Listen <input className="input proxy-url" value={running ? proxy?.url ?? listen : listen} onChange={(e) => setListen(e.target.value)} disabled={running} aria-label="Proxy listen URL" />
          </label>
          <span className="proxy-arrow">→</span>
          <label title="The real server: ws:// or wss://. Empty: this app's embedded server.">
            Target <input className="input proxy-url" value={running ? proxy?.target ?? '' : target} placeholder={serverUrl ?? 'ws://127.0.0.1:9001/'} onChange={(e) => setTarget(e.target.value)} disabled={running} aria-label="Proxy target URL" />
          </label>
        </>
      )}
      {!running && !forward && (
        <>
          <label title="The Host header sent to the server. Empty: the target's host[:port], which most servers expect.">
            Host <input className="input proxy-host" value={host} placeholder="target's" onChange={(e) => setHost(e.target.value)} aria-label="Host header sent upstream" />
          </label>
          <label title="The Origin header sent to the server: the client's as it came, another value, or none. Servers use it to refuse other sites' pages (RFC 6455 §10.2).">
            Origin
            <select className="input" value={originChoice} onChange={(e) => setOriginChoice(e.target.value as OriginChoice)} aria-label="Origin rewrite">
              <option value="keep">keep the client&apos;s</option>
              <option value="replace">replace with…</option>
              <option value="remove">remove</option>
            </select>
          </label>
          {originChoice === 'replace' && <input className="input proxy-host" value={origin} placeholder="http://example.com" onChange={(e) => setOrigin(e.target.value)} aria-label="Origin sent upstream" />}
          <label className="checkbox-label" title="Offer/accept permessage-deflate (RFC 7692) on the client's leg. Each leg agrees its own extensions and shows its own bytes.">
            <input type="checkbox" checked={clientDeflate} onChange={(e) => setClientDeflate(e.target.checked)} aria-label="deflate on the client leg" /> deflate ⇠ client
          </label>
          <label className="checkbox-label" title="Offer permessage-deflate (RFC 7692) to the server on the upstream leg.">
            <input type="checkbox" checked={upstreamDeflate} onChange={(e) => setUpstreamDeflate(e.target.checked)} aria-label="deflate on the server leg" /> deflate ⇢ server
          </label>
          {secureListen && (
            <label title="wss:// listening: the certificate clients see. generated: a self-signed one for localhost, 127.0.0.1 and ::1, kept in the config folder (as wsinspect proxy --tls). files: your PEM certificate (chain after it) and its key.">
              Certificate
              <select className="input" value={certificate} onChange={(e) => setCertificate(e.target.value as CertificateChoice)} aria-label="Listen certificate">
                <option value="generated">generated (localhost)</option>
                <option value="files">my files…</option>
              </select>
            </label>
          )}
          {secureListen && certificate === 'files' && (
            <>
              <input className="input proxy-host" value={certPath} placeholder="/path/cert.pem" onChange={(e) => setCertPath(e.target.value)} aria-label="Certificate file" />
              <input className="input proxy-host" value={keyPath} placeholder="/path/key.pem" onChange={(e) => setKeyPath(e.target.value)} aria-label="Key file" />
            </>
          )}
          {/^wss:/i.test(shownTarget) && (
            <label className="checkbox-label" title="wss:// target: connect even if its certificate does not verify (the upstream leg is shown in red).">
              <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.target.checked)} aria-label="insecure upstream" /> <span className={insecure ? 'error-text' : ''}>insecure</span>
            </label>
          )}
        </>
      )}
      {!running && forward && (
        <>
          <label className="checkbox-label" title="Terminate the TLS of CONNECT tunnels with certificates from the local certificate authority, so wss:// through the proxy is inspected like ws://. The client must trust the CA (see below). Off: tunnels pass through unread and are listed with their SNI.">
            <input type="checkbox" checked={interceptTls} onChange={(e) => setInterceptTls(e.target.checked)} aria-label="Intercept TLS" /> intercept TLS (wss://)
          </label>
          {interceptTls && (
            <label className="checkbox-label" title="The origins behind intercepted tunnels: connect even if their certificate does not verify (a self-signed test server).">
              <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.target.checked)} aria-label="insecure origins" /> <span className={insecure ? 'error-text' : ''}>insecure origins</span>
            </label>
          )}
        </>
      )}
      {running ? (
        <button className="button" onClick={() => void stop()} disabled={busy} data-testid="proxy-stop">Stop proxy</button>
      ) : (
        <>
          <button className="button primary" onClick={() => void start()} disabled={busy} data-testid="proxy-start">Start proxy</button>
          <button className="link small-link" onClick={() => setOpen(false)} aria-label="Hide proxy mode">hide</button>
        </>
      )}
      <span className="proxy-status" data-testid="proxy-status">
        {running && proxy ? (
          <>
            {proxy.kind === 'forward' ? `forward proxy: ws:// through it is inspected, wss:// ${proxy.interceptTls ? 'too (TLS interception on)' : 'passes as an opaque tunnel (interception off)'}` : `proxying · ${proxy.rewrite ?? ''}`} · deflate {proxy.clientDeflate ? 'on' : 'off'} ⇠ client, {proxy.upstreamDeflate ? 'on' : 'off'} ⇢ server · {proxy.conversations} conversation{proxy.conversations === 1 ? '' : 's'}
          </>
        ) : proxy?.error ? <span className="error-text">{proxy.error}</span> : 'stopped'}
      </span>
      {proxy?.warning && <span className="warning-text">⚠ {proxy.warning}</span>}
      {running && proxy?.tls && <ProxyListenTls tls={proxy.tls} />}
      {running && proxy?.kind === 'forward' && (
        <details className="how-to proxy-forward-help" data-testid="forward-help">
          <summary>How to use it · other traffic ({proxy.recent.length})</summary>
          <p className="hint">
            <code>chromium --proxy-server={proxy.url} --proxy-bypass-list=&quot;&lt;-loopback&gt;&quot;</code> (Chromium skips a proxy for 127.0.0.1 unless told), <code>HTTP_PROXY={proxy.url}</code> for tools.
            ws:// through it is inspected as a conversation; wss:// {proxy.interceptTls ? 'is opened with the local CA\'s certificates and inspected too (the browser must trust the CA)' : 'passes through CONNECT as an opaque tunnel (stop, tick "intercept TLS", start again to inspect it)'}.
          </p>
          {proxy.recent.length > 0 && <ul className="proxy-recent" data-testid="forward-recent">{proxy.recent.map((line, i) => <li key={i}><code>{line}</code></li>)}</ul>}
        </details>
      )}
      {running && proxy?.kind === 'forward' && <ProxyTunnels tunnels={proxy.tunnels} intercepting={proxy.interceptTls} />}
      {forward && <ProxyCaPanel ca={proxy?.ca ?? null} intercepting={running && intercepting} />}
    </div>
  );
}
