import type { ConnectionSummary } from '../../../shared/inspector-api.ts';
import { UPSTREAM_LEG_SUFFIX } from '../../../shared/proxy-api.ts';
import { ConnectionItem } from './ConnectionsPanel.tsx';
import './proxy.css';

/** Proxy mode: each conversation as its two legs, client ⇄ proxy above proxy ⇄ server. */
export function ProxyConversations({ connections }: { connections: readonly ConnectionSummary[] }) {
  const clientLegs = connections.filter((c) => c.proxyLeg?.side === 'client');
  if (clientLegs.length === 0) return null;
  return (
    <section aria-label="Proxy conversations" data-testid="proxy-conversations">
      <h2>Proxy conversations <span className="count">{clientLegs.length}</span></h2>
      <ul className="connections proxy-conversations">
        {[...clientLegs].reverse().map((client) => {
          const upstream = connections.find((c) => c.id === `${client.id}${UPSTREAM_LEG_SUFFIX}`);
          return (
            <li key={client.id} className="proxy-conversation" data-testid={`conversation-${client.id}`}>
              <span className="leg-label">client ⇄ proxy</span>
              <ul className="connections"><ConnectionItem c={client} /></ul>
              <span className="leg-label">proxy ⇄ server</span>
              {upstream ? <ul className="connections"><ConnectionItem c={upstream} /></ul> : <p className="hint">no upstream leg (the proxy answered the client itself)</p>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
