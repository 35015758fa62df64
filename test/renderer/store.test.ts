/**
 * The renderer store keeps a bounded ring of frames: a long session does not grow without bound.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SERVICE_TRACE_ID, type TraceEvent } from '../../src/core/trace.ts';
import { useInspector } from '../../src/renderer/src/store/store.ts';

function frames(from: number, count: number): TraceEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'frame' as const, direction: 'in' as const, seq: from + i, time: 0, connectionId: 'c',
    frame: { frameId: from + i, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, lengthField: 1, payloadLength: 1, headerLength: 2, raw: Uint8Array.of(0x81, 1, 0x61), payload: Uint8Array.of(0x61) },
  }));
}

describe('frame ring', () => {
  it('keeps at most maxFrames, evicting the oldest, with the lookups in step', () => {
    useInspector.setState({ maxFrames: 1000 });
    const store = useInspector.getState();
    const before = store.frameVersion;
    for (let batch = 0; batch < 10; batch++) useInspector.getState().applyBatch({ events: frames(batch * 500 + 1, 500) });
    const s = useInspector.getState();
    expect(s.frames.length).toBeLessThanOrEqual(1000);
    expect(s.framesByKey.size).toBe(s.frames.length);
    expect(s.evictedFrames + s.frames.length).toBe(5000);
    expect(s.frames.at(-1)!.frame.frameId).toBe(5000);
    expect(s.framesByKey.has('c:1')).toBe(false);
    expect(s.frameVersion).toBe(before + 10);
  });

  it('replaceFrame swaps in the full bytes of a frame shown cut', () => {
    const s = useInspector.getState();
    const last = s.frames.at(-1)!;
    s.replaceFrame(last.key, { ...last.frame, payload: Uint8Array.of(1, 2, 3) });
    expect(useInspector.getState().framesByKey.get(last.key)!.frame.payload).toEqual(Uint8Array.of(1, 2, 3));
    expect(useInspector.getState().frames.at(-1)!.frame.payload).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe('the ring size, as the user sets it', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('setMaxFrames drops the oldest frames at once, counts them per connection, and remembers the choice', async () => {
    const saved = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v) });
    vi.resetModules();
    const { useInspector: store } = await import('../../src/renderer/src/store/store.ts');
    expect(store.getState().maxFrames).toBe(150_000);
    store.getState().applyBatch({ events: frames(1, 20_000) });
    const before = store.getState();
    expect(before.frames.length).toBe(20_000);
    before.setMaxFrames(10_000);
    const after = store.getState();
    expect(after.maxFrames).toBe(10_000);
    expect(after.frames.length).toBe(10_000);
    expect(after.frames[0]!.frameId).toBe(10_001);
    expect(after.evictedFrames).toBe(10_000);
    expect(after.droppedByConnection.get('c')).toBe(10_000);
    expect(after.framesByKey.size).toBe(10_000);
    expect(after.framesByKey.has('c:10000')).toBe(false);
    expect(after.framesByKey.get('c:10001')).toBe(after.frames[0]);
    // Past the ring, frames go in chunks of a tenth of it (at most 10,000): never one long pause.
    store.getState().applyBatch({ events: frames(20_001, 10) });
    expect(store.getState().frames.length).toBe(9_010);
    expect(after.frameVersion).toBeGreaterThan(before.frameVersion);
    expect(saved.get('websocket-inspector.maxFrames')).toBe('10000');
    // The next window opened in this browser starts with the same ring.
    vi.resetModules();
    const { useInspector: reopened } = await import('../../src/renderer/src/store/store.ts');
    expect(reopened.getState().maxFrames).toBe(10_000);
    // A value that is not one of the choices is ignored.
    saved.set('websocket-inspector.maxFrames', '123');
    vi.resetModules();
    const { useInspector: odd } = await import('../../src/renderer/src/store/store.ts');
    expect(odd.getState().maxFrames).toBe(150_000);
  });
});

describe('connections the service no longer lists', () => {
  it('are forgotten with their frames when a status leaves them out; the selection moves off them', () => {
    const base = { seq: 0, time: 0 };
    const summary = (id: string, state: 'OPEN' | 'CLOSED') => ({ id, role: 'server' as const, remote: '127.0.0.1:1', state, subprotocol: null, openedAt: 0, policy: 'strict' as const, gate: null });
    const server = { running: true, host: '127.0.0.1', port: 1, app: 'echo' as const, url: 'ws://127.0.0.1:1/', allowedOrigins: [] };
    const opened = (id: string): TraceEvent => ({ ...base, connectionId: id, type: 'connection-opened', role: 'server', local: 'a', remote: 'b' });
    const frameOf = (id: string, frameId: number): TraceEvent => ({ ...frames(frameId, 1)[0]!, connectionId: id } as TraceEvent);
    useInspector.getState().clearTrace();
    useInspector.getState().applyBatch({
      events: [opened('old'), opened('new'), frameOf('old', 1), frameOf('new', 1), frameOf('old', 2)],
      status: { server, connections: [summary('old', 'CLOSED'), summary('new', 'OPEN')] } as never,
    });
    useInspector.getState().selectConnection('old');
    expect(useInspector.getState().frames.filter((r) => r.connectionId === 'old')).toHaveLength(2);
    useInspector.getState().applyBatch({ events: [frameOf('new', 2)], status: { server, connections: [summary('new', 'OPEN')] } as never });
    const s = useInspector.getState();
    expect(s.details['old']).toBeUndefined();
    expect(s.details['new']).toBeDefined();
    expect(s.frames.map((r) => r.key)).toEqual(['new:1', 'new:2']);
    expect(s.framesByKey.has('old:1')).toBe(false);
    expect(s.selectedConnectionId).toBeNull();
  });
});

describe('the service\'s own errors (its last resort caught something)', () => {
  it('show as an error notice and create no connection detail', () => {
    useInspector.setState({ notice: null });
    useInspector.getState().applyBatch({
      events: [{ type: 'error', message: 'internal error (uncaught exception): Error: boom', seq: 1, time: 0, connectionId: SERVICE_TRACE_ID }],
    });
    const state = useInspector.getState();
    expect(state.notice).toEqual({ kind: 'error', text: 'internal error (uncaught exception): Error: boom' });
    expect(Object.hasOwn(state.details, SERVICE_TRACE_ID)).toBe(false);
  });
});
