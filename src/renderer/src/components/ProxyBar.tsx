import { useState } from 'react';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import './proxy.css';

type OriginChoice = 'keep' | 'replace' | 'remove';

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
  const [listen, setListen] = useState('ws://127.0.0.1:9002/');
  const [target, setTarget] = useState('');
  const [host, setHost] = useState('');
  const [originChoice, setOriginChoice] = useState<OriginChoice>('keep');
  const [origin, setOrigin] = useState('');
  const [clientDeflate, setClientDeflate] = useState(true);
  const [upstreamDeflate, setUpstreamDeflate] = useState(true);
  const [insecure, setInsecure] = useState(false);
  const [busy, setBusy] = useState(false);
  const running = proxy?.running ?? false;
  const shownTarget = target.trim() || serverUrl || 'ws://127.0.0.1:9001/';

  const start = async () => {
    setBusy(true);
    const result = await api.startProxy({
      listen: listen.trim(), target: shownTarget,
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
      <label title="Where clients connect (ws://HOST:PORT/PATH). A client's path below PATH is appended to the target's.">
        Listen <input className="input proxy-url" value={running ? proxy?.url ?? listen : listen} onChange={(e) => setListen(e.target.value)} disabled={running} aria-label="Proxy listen URL" />
      </label>
      <span className="proxy-arrow">→</span>
      <label title="The real server: ws:// or wss://. Empty: this app's embedded server.">
        Target <input className="input proxy-url" value={running ? proxy?.target ?? '' : target} placeholder={serverUrl ?? 'ws://127.0.0.1:9001/'} onChange={(e) => setTarget(e.target.value)} disabled={running} aria-label="Proxy target URL" />
      </label>
      {!running && (
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
          {/^wss:/i.test(shownTarget) && (
            <label className="checkbox-label" title="wss:// target: connect even if its certificate does not verify (the upstream leg is shown in red).">
              <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.target.checked)} aria-label="insecure upstream" /> <span className={insecure ? 'error-text' : ''}>insecure</span>
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
            proxying · {proxy.rewrite} · deflate {proxy.clientDeflate ? 'on' : 'off'} ⇠ client, {proxy.upstreamDeflate ? 'on' : 'off'} ⇢ server · {proxy.conversations} conversation{proxy.conversations === 1 ? '' : 's'}
          </>
        ) : proxy?.error ? <span className="error-text">{proxy.error}</span> : 'stopped'}
      </span>
      {proxy?.warning && <span className="warning-text">⚠ {proxy.warning}</span>}
    </div>
  );
}
