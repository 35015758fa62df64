import type { ConnectionSummary } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { useInspector } from '../store/store.ts';
import { ConnectionItem } from './ConnectionsPanel.tsx';
import './peers.css';

/** Forgets closed connections (these, or every closed one) and says so if the service refuses. */
export async function removeClosed(ids?: string[]): Promise<void> {
  const result = await api.removeClosed(ids);
  if (!result.ok) useInspector.getState().setNotice({ kind: 'error', text: result.error });
}

/** "remove closed (N)": forgets the closed connections among these. */
export function RemoveClosedLink({ connections, testId }: { connections: ConnectionSummary[]; testId: string }) {
  const closed = connections.filter((c) => c.state === 'CLOSED').map((c) => c.id);
  if (closed.length === 0) return null;
  return (
    <button className="link small-link" data-testid={testId} onClick={() => void removeClosed(closed)} title="Forget these closed connections and their frames (open ones stay)">
      remove closed ({closed.length})
    </button>
  );
}

/** ✕ beside a closed connection: forget it and its frames. */
export function RemoveConnectionButton({ c }: { c: ConnectionSummary }) {
  if (c.state !== 'CLOSED') return null;
  return (
    <button className="remove-connection" data-testid={`remove-${c.id}`} aria-label={`Remove ${c.id}`} title="Remove this closed connection and its frames" onClick={() => void removeClosed([c.id])}>
      ✕
    </button>
  );
}

/**
 * The embedded server's peers opened by this app's conformance battery: one collapsed group,
 * apart from the person's peers, so a hundred cases never bury them.
 */
export function BatteryPeers({ peers }: { peers: ConnectionSummary[] }) {
  if (peers.length === 0) return null;
  return (
    <details className="battery-peers" data-testid="battery-peers">
      <summary>
        conformance run ({peers.length})
        <RemoveClosedLink connections={peers} testId="remove-closed-battery" />
      </summary>
      <ul className="connections">{[...peers].reverse().map((c) => <ConnectionItem key={c.id} c={c} />)}</ul>
    </details>
  );
}
