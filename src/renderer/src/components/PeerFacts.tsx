import { useEffect, useState } from 'react';
import { useInspector, type ConnectionDetail, type HandshakeTrace } from '../store/store.ts';
import {
  clockTime, formatDuration, isBrowserRequest, peerFacts, shortUserAgent, unansweredSubprotocols, type PeerFacts as Facts,
} from '../lib/peer-facts.ts';
import './peers.css';

/** Now, once a second while mounted (an open connection's duration grows). */
function useNow(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}

function durationText(facts: Facts, now: number): string {
  return facts.closedAt !== null ? formatDuration(facts.closedAt - facts.openedAt) : `${formatDuration(now - facts.openedAt)} so far`;
}

/** One line under a connection in the sidebar: path · user agent · opened at · how long. */
export function PeerFactsLine({ id, openedAt }: { id: string; openedAt: number }) {
  const detail = useInspector((s) => s.details[id]);
  const facts = peerFacts(detail, openedAt);
  const parts = [
    facts.path,
    facts.userAgent ? shortUserAgent(facts.userAgent) : null,
    `opened ${clockTime(facts.openedAt)}`,
    facts.closedAt !== null ? `lasted ${formatDuration(facts.closedAt - facts.openedAt)}` : null,
  ].filter(Boolean);
  return <span className="peer-facts-line" data-testid={`peer-facts-${id}`} title={facts.userAgent ?? undefined}>{parts.join(' · ')}</span>;
}

/** The Handshake tab's summary of the selected connection's peer. */
export function PeerFactsPanel() {
  const id = useInspector((s) => s.selectedConnectionId);
  const detail = useInspector((s) => (id ? s.details[id] : undefined));
  const openedAt = useInspector((s) => s.status?.connections.find((c) => c.id === id)?.openedAt ?? s.recordings.find((r) => r.id === id)?.openedAt);
  const facts = peerFacts(detail, openedAt ?? detail?.lifecycle?.[0]?.time ?? 0);
  const now = useNow(facts.closedAt === null);
  if (!detail?.requestHead) return null;
  const rows: Array<[string, string, string]> = [
    ['Path', facts.path ?? '—', 'The request target of the GET (§4.1 item 2: the /resource name/)'],
    ['User agent', facts.userAgent ?? '(none sent)', 'The User-Agent header: which program opened the connection (not part of the WebSocket handshake)'],
    ['Subprotocol', facts.subprotocol ?? (facts.offeredSubprotocols.length ? `none (offered ${facts.offeredSubprotocols.join(', ')})` : 'none'), 'Sec-WebSocket-Protocol: the one the server chose among those offered (§4.2.2, §1.9)'],
    ['Extensions', facts.extensions ?? 'none', 'Sec-WebSocket-Extensions in the response: what was agreed (§9.1)'],
    ['Opened', openedAt !== undefined ? clockTime(facts.openedAt) : '—', `When the TCP connection was accepted or made${openedAt !== undefined ? `: ${new Date(facts.openedAt).toLocaleString('en-GB', { hour12: false })}` : ''}`],
    ['Duration', durationText(facts, now), 'From opening to the TCP close'],
  ];
  return (
    <section className="peer-facts" data-testid="peer-facts" aria-label="Peer">
      {rows.map(([label, value, title]) => (
        <div key={label} className="peer-fact" title={title}>
          <span className="peer-fact-label">{label}</span>
          <code className="peer-fact-value" data-testid={`peer-fact-${label.toLowerCase().replace(' ', '-')}`}>{value}</code>
        </div>
      ))}
    </section>
  );
}

/** The subprotocols a client offered when the accepted handshake agreed none (null otherwise). */
export function unansweredOffer(detail: ConnectionDetail, handshake: HandshakeTrace): string[] | null {
  return unansweredSubprotocols(peerFacts(detail, 0), handshake.ok);
}

/**
 * In place of the green "accepted": the client offered subprotocols and none was agreed. The
 * RFC allows it (§4.2.2 /subprotocol/ may be null, and §4.1 item 6 fails only an unoffered one),
 * but browsers follow the WHATWG WebSocket standard and fail such a connection (Chromium then
 * reports close code 1006).
 */
export function SubprotocolWarning({ detail, handshake }: { detail: ConnectionDetail; handshake: HandshakeTrace }) {
  const offered = unansweredOffer(detail, handshake);
  if (!offered) return null;
  const facts = peerFacts(detail, 0);
  const browser = isBrowserRequest(facts);
  const ours = handshake.side === 'server';
  return (
    <div className="verdict warn" data-testid="handshake-verdict" role="status">
      ⚠ 101 Switching Protocols, but without a subprotocol: the client offered {offered.join(', ')} and {ours ? 'our server' : 'the server'} chose none.
      <p data-testid="subprotocol-warning">
        {browser ? 'This client is a browser: browsers fail such a connection' : 'A browser would fail such a connection'} (the WHATWG WebSocket standard; Chromium then closes with 1006),
        though RFC 6455 itself lets a server that agrees to none of them answer without Sec-WebSocket-Protocol (§4.2.2, /subprotocol/ null) and fails only a subprotocol that was not offered (§4.1 item 6).
        {ours ? ' Give the embedded server the subprotocol in the server bar (Subprotocols), or offer none.' : ' Ask the server for one it speaks, or offer none.'}
      </p>
    </div>
  );
}
