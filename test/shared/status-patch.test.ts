import { describe, expect, it } from 'vitest';
import type { ConnectionSummary, InspectorStatus, StatusPatch } from '../../src/shared/inspector-api.ts';
import { applyStatusPatch, latestStatus, mergeStatusPatches } from '../../src/shared/status-patch.ts';

const conn = (id: string, state: ConnectionSummary['state'] = 'OPEN'): ConnectionSummary => ({ id, role: 'server', remote: '127.0.0.1:1', state, subprotocol: null, openedAt: 0, policy: 'strict', gate: null });
const proxy = (conversations: number) => ({ conversations }) as unknown as StatusPatch['proxy'];
const status = (...ids: string[]): InspectorStatus => ({ server: { running: true } as InspectorStatus['server'], connections: ids.map((id) => conn(id)), proxy: proxy(0) });
const ids = (s: InspectorStatus | undefined) => s?.connections.map((c) => `${c.id}:${c.state}`);

describe('status patches', () => {
  it('replaces changed connections in place, adds new ones at the end, drops removed ones', () => {
    const next = applyStatusPatch(status('a', 'b', 'c'), { connections: [conn('d'), conn('b', 'CLOSED')], removed: ['a'], proxy: proxy(2) });
    expect(ids(next)).toEqual(['b:CLOSED', 'c:OPEN', 'd:OPEN']);
    expect(next.proxy).toEqual(proxy(2));
    expect(next.server.running).toBe(true);
  });

  it('merged patches do what applying them one after the other does', () => {
    const base = status('a', 'b');
    const p1: StatusPatch = { connections: [conn('c'), conn('a', 'CLOSING')], removed: ['b'], proxy: proxy(1) };
    const p2: StatusPatch = { connections: [conn('b', 'OPEN'), conn('a', 'CLOSED')], removed: ['c'], proxy: proxy(3) };
    const stepwise = applyStatusPatch(applyStatusPatch(base, p1), p2);
    const merged = applyStatusPatch(base, mergeStatusPatches(p1, p2));
    expect(ids(merged)?.sort()).toEqual(ids(stepwise)?.sort());
    expect(merged.proxy).toEqual(proxy(3));
  });

  it('reduces queued batches to a full status with the patches after it applied, or to one patch', () => {
    const p1: StatusPatch = { connections: [conn('x')], removed: [], proxy: proxy(0) };
    const p2: StatusPatch = { connections: [], removed: ['a'], proxy: proxy(0) };
    expect(ids(latestStatus([{ statusPatch: p1 }, { status: status('a', 'b') }, { statusPatch: p2 }]).status)).toEqual(['b:OPEN']);
    const onlyPatches = latestStatus([{ statusPatch: p1 }, {}, { statusPatch: p2 }]);
    expect(onlyPatches.status).toBeUndefined();
    expect(ids(applyStatusPatch(status('a'), onlyPatches.statusPatch!))).toEqual(['x:OPEN']);
  });
});
