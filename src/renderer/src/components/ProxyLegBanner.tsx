import { UPSTREAM_LEG_SUFFIX } from '../../../shared/proxy-api.ts';
import { useInspector } from '../store/store.ts';
import './proxy.css';

/**
 * Above the tools when the selected connection is a proxy leg: which side the debugger acts
 * towards here (held frames, sent and injected frames, fault presets all go to this leg's peer),
 * and one click to the other leg to act towards the other side.
 */
export function ProxyLegBanner() {
  const leg = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId)?.proxyLeg);
  const selectConnection = useInspector((s) => s.selectConnection);
  if (!leg) return null;
  const towardsServer = leg.side === 'upstream';
  const other = towardsServer ? leg.conversationId : `${leg.conversationId}${UPSTREAM_LEG_SUFFIX}`;
  return (
    <div className="proxy-leg-banner" data-testid="proxy-leg-banner">
      <span>
        <strong>{towardsServer ? 'proxy ⇄ server' : 'client ⇄ proxy'}</strong> leg of a proxied conversation: frames you send, inject or fire as faults here go to
        {' '}<strong>the {towardsServer ? 'server' : 'client'}</strong>; step mode holds what crosses this leg (the proxy&apos;s copies {towardsServer ? 'to the server' : 'to the client'}, and what {towardsServer ? 'the server' : 'the client'} sends).
      </span>
      <button className="button small" onClick={() => selectConnection(other)} data-testid="proxy-other-leg">
        Act towards the {towardsServer ? 'client' : 'server'} →
      </button>
    </div>
  );
}
