/**
 * The renderer's conformance slice: progress from batches, and a case's wire log opened as a
 * read-only pseudo-connection whose frames, heads and messages land like any connection's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import type { ConformanceCaseSummary, ConformanceProgress } from '../../src/shared/inspector-api.ts';
import { prepareWireLog } from '../../src/renderer/src/lib/wire-log.ts';
import { findConnection, useInspector } from '../../src/renderer/src/store/store.ts';
import { FrameIndex } from '../../src/renderer/src/store/frame-index.ts';

const initial = useInspector.getState();
const cid = 'conformance:5.3';

function frame(frameId: number, opcode: number, payload: number[], fin = true, more: Partial<TracedFrame> = {}): TracedFrame {
  const p = Uint8Array.from(payload);
  return {
    frameId, fin, rsv1: false, rsv2: false, rsv3: false, opcode, masked: false, maskKey: null, lengthField: p.length, payloadLength: p.length,
    headerLength: 2, raw: Uint8Array.from([(fin ? 0x80 : 0) | opcode, p.length, ...payload]), payload: p, ...more,
  };
}

let seq = 0;
function ev(body: Record<string, unknown>): TraceEvent {
  return { ...body, seq: ++seq, time: 1000 + seq, connectionId: cid } as TraceEvent;
}

const text = (s: string) => Array.from(new TextEncoder().encode(s));

/** A wire log as the battery records it: note, open, heads, bytes, frames (fragmented text echoed), close. */
function wireLog(): TraceEvent[] {
  return [
    ev({ type: 'note', text: 'case 5.3: text message in 2 fragments (§5.4)' }),
    ev({ type: 'connection-opened', role: 'client', local: '127.0.0.1:1', remote: '127.0.0.1:9001', url: 'ws://127.0.0.1:9001/' }),
    ev({ type: 'http-head', direction: 'out', head: { kind: 'request', startLine: 'GET / HTTP/1.1', headers: [], raw: new Uint8Array(3) } }),
    ev({ type: 'bytes', direction: 'out', bytes: new Uint8Array(3) }),
    ev({ type: 'frame', direction: 'out', frame: frame(1, 1, text('frag'), false) }),
    ev({ type: 'frame', direction: 'out', frame: frame(2, 0, text('ment')) }),
    ev({ type: 'frame', direction: 'in', frame: frame(3, 1, text('fragment')) }),
    ev({ type: 'frame', direction: 'in', frame: frame(4, 8, [0x03, 0xea, ...text('bad')]) }),
    // a frame whose payload the log cut: 4 of 300 bytes kept
    { ...ev({ type: 'frame', direction: 'in', frame: frame(5, 2, [1, 2, 3, 4], true, { payloadLength: 300, partial: true }) }), omittedBytes: 296 } as unknown as TraceEvent,
    ev({ type: 'note', text: 'verdict: pass' }),
  ];
}

const summary: ConformanceCaseSummary = {
  id: '5.3', category: 5, categoryName: 'Fragmentation', description: 'text message in 2 fragments', rfcSection: '§5.4', outcome: 'pass', reason: '', durationMs: 12,
};

beforeEach(() => {
  useInspector.setState(initial, true);
  useInspector.setState({ frames: [], framesByKey: new FrameIndex(), messageByFrame: new Map(), observedByFrame: new Map(), details: {}, recordings: [] });
});

describe('prepareWireLog', () => {
  it('parses close frames, marks cut payloads as truncated and rebuilds fragmented messages', () => {
    const prepared = prepareWireLog(wireLog(), cid);
    expect(prepared.events.some((e) => e.type === 'bytes')).toBe(false);
    const frames = prepared.events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
    expect(frames[3]!.frame.close).toEqual({ code: 1002, reason: 'bad' });
    expect(frames[4]!.frame.truncated).toEqual({ rawLength: 302, payloadLength: 300 });
    expect(frames[4]!.frame.partial).toBeUndefined();
    const messages = prepared.events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
    expect(messages.map((m) => [m.direction, m.frameIds, m.text ?? null])).toEqual([
      ['out', [1, 2], 'fragment'], ['in', [3], 'fragment'], ['in', [5], null],
    ]);
    expect(prepared.notes.map((n) => n.text)).toEqual(['case 5.3: text message in 2 fragments (§5.4)', 'verdict: pass']);
    expect(prepared.opened?.role).toBe('client');
  });
});

describe('prepareWireLog: a leading U+FEFF is data (§5.6), in messages and close reasons (§5.5.1)', () => {
  it('keeps the BOM that starts a text message, a fragment, or a close reason', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const prepared = prepareWireLog([
      ev({ type: 'frame', direction: 'in', frame: frame(1, 1, [...bom, ...text('hi')]) }),
      ev({ type: 'frame', direction: 'out', frame: frame(2, 1, [...bom, ...text('a')], false) }),
      ev({ type: 'frame', direction: 'out', frame: frame(3, 0, text('b')) }),
      ev({ type: 'frame', direction: 'in', frame: frame(4, 8, [0x03, 0xe8, ...bom, ...text('bye')]) }),
    ], cid);
    const messages = prepared.events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
    expect(messages.map((m) => m.text)).toEqual(['\uFEFFhi', '\uFEFFab']);
    const close = prepared.events.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.frame.opcode === 8);
    expect(close!.frame.close).toEqual({ code: 1000, reason: '\uFEFFbye' });
  });
});

describe('conformance slice', () => {
  it('takes progress from batches', () => {
    const progress: ConformanceProgress = { running: true, mode: 'server', target: 'ws://x/', done: 1, total: 2, totals: { passed: 1, failed: 0, nonStrict: 0 }, cases: [summary], error: null };
    useInspector.getState().applyBatch({ events: [], conformance: progress });
    expect(useInspector.getState().conformance).toEqual(progress);
    useInspector.getState().applyBatch({ events: [] });
    expect(useInspector.getState().conformance).toEqual(progress);
  });

  it('opens a wire log as a selected pseudo-connection, and replaces it when opened again', () => {
    useInspector.setState({ view: 'conformance' });
    const s = useInspector.getState();
    s.openRecording(summary, wireLog(), 'ws://127.0.0.1:9001/');
    let state = useInspector.getState();
    expect(state.selectedConnectionId).toBe(cid);
    expect(state.view).toBe('frames');
    expect(state.frames.filter((r) => r.connectionId === cid)).toHaveLength(5);
    expect(state.details[cid]!.requestHead?.startLine).toBe('GET / HTTP/1.1');
    expect(state.messageByFrame.get(`${cid}:2`)?.frameIds).toEqual([1, 2]);
    const conn = findConnection(state, cid);
    expect(conn?.role).toBe('client');
    expect(conn?.state).toBe('CLOSED');
    expect(state.recordings[0]!.recording.notes).toHaveLength(2);

    state.openRecording(summary, wireLog(), 'ws://127.0.0.1:9001/');
    state = useInspector.getState();
    expect(state.frames.filter((r) => r.connectionId === cid)).toHaveLength(5);
    expect(state.recordings).toHaveLength(1);

    state.closeRecordings();
    state = useInspector.getState();
    expect(state.frames).toHaveLength(0);
    expect(state.framesByKey.size).toBe(0);
    expect(state.recordings).toHaveLength(0);
    expect(state.selectedConnectionId).toBeNull();
    expect(state.details[cid]).toBeUndefined();
  });

  it('leaves the conformance view when a connection is picked', () => {
    useInspector.setState({ view: 'conformance' });
    useInspector.getState().selectConnection('server:1');
    expect(useInspector.getState().view).toBe('frames');
  });
});
