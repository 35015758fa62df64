/**
 * Status patches (ServiceBatch.statusPatch): only the connections that changed since the last
 * push, so that a service with 10,000 connections does not send all of them every time one
 * opens. The page applies them to the status it has; batches queued together merge first.
 */
import type { ConnectionSummary, InspectorStatus, StatusPatch } from './inspector-api.ts';

/** The status with the patch applied: changed summaries replaced in place, new ones added at the end, removed ones gone. */
export function applyStatusPatch(status: InspectorStatus, patch: StatusPatch): InspectorStatus {
  const changed = new Map<string, ConnectionSummary>(patch.connections.map((c) => [c.id, c]));
  const removed = new Set(patch.removed);
  const connections: ConnectionSummary[] = [];
  for (const c of status.connections) {
    if (removed.has(c.id)) continue;
    const next = changed.get(c.id);
    connections.push(next ?? c);
    if (next) changed.delete(c.id);
  }
  for (const c of changed.values()) if (!removed.has(c.id)) connections.push(c);
  return { ...status, proxy: patch.proxy, connections };
}

/** One patch doing what `first` then `second` do. */
export function mergeStatusPatches(first: StatusPatch, second: StatusPatch): StatusPatch {
  const connections = new Map<string, ConnectionSummary>(first.connections.map((c) => [c.id, c]));
  const removed = new Set(first.removed);
  for (const id of second.removed) {
    connections.delete(id);
    removed.add(id);
  }
  for (const c of second.connections) {
    removed.delete(c.id);
    connections.set(c.id, c);
  }
  return { connections: [...connections.values()], removed: [...removed], proxy: second.proxy };
}

/**
 * Batches in the order they came, reduced to at most one full status and one patch after it:
 * what applying them one by one would do to the connection list.
 */
export function latestStatus(batches: ReadonlyArray<{ status?: InspectorStatus; statusPatch?: StatusPatch }>): { status?: InspectorStatus; statusPatch?: StatusPatch } {
  let status: InspectorStatus | undefined;
  let statusPatch: StatusPatch | undefined;
  for (const b of batches) {
    if (b.status) {
      status = b.status;
      statusPatch = undefined;
    }
    if (b.statusPatch) {
      if (status) status = applyStatusPatch(status, b.statusPatch);
      else statusPatch = statusPatch ? mergeStatusPatches(statusPatch, b.statusPatch) : b.statusPatch;
    }
  }
  return { ...(status ? { status } : {}), ...(statusPatch ? { statusPatch } : {}) };
}
