import { describe, expect, it } from 'vitest';
import type { TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import { FrameFolder } from '../../src/service/frame-folding.ts';
import type { ServiceBatch } from '../../src/shared/inspector-api.ts';
import { TraceBatchBuilder } from '../../src/shared/trace-batch-encode.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

/** A traced frame as the protocol makes one: header bytes then payload (lengths are what the folder counts). */
function frameEvent(seq: number, connectionId: string, direction: 'in' | 'out', frameId: number, opcode: number, payloadLength: number, extra: Partial<TracedFrame> = {}): TraceEvent {
  const headerLength = direction === 'in' ? 6 : 2;
  const frame: TracedFrame = {
    frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode, masked: direction === 'in', maskKey: direction === 'in' ? new Uint8Array(4) : null,
    lengthField: payloadLength, payloadLength, headerLength, raw: new Uint8Array(headerLength + payloadLength), payload: new Uint8Array(payloadLength), ...extra,
  };
  return { type: 'frame', seq, time: 1000 + seq, connectionId, direction, frame } as TraceEvent;
}

function messageEvent(seq: number, connectionId: string, frameIds: number[]): TraceEvent {
  return { type: 'message', seq, time: 1000 + seq, connectionId, direction: 'in', opcode: 1, size: 3, text: 'abc', frameIds } as TraceEvent;
}

function setup(minFramesBehind = 1) {
  let clock = 0;
  const folder = new FrameFolder({ foldAfterMs: 100, resumeBelowMs: 30, minFoldMs: 200, minFramesBehind }, () => clock);
  return { folder, advance: (ms: number) => (clock += ms) };
}

describe('FrameFolder', () => {
  it('numbers batches and never folds a page that has not acknowledged', () => {
    const { folder, advance } = setup();
    const a = folder.prepare({ events: [frameEvent(1, 'c1', 'in', 1, 1, 5)] });
    advance(10_000);
    const b = folder.prepare({ events: [frameEvent(2, 'c1', 'in', 2, 1, 5)] });
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(b.events).toHaveLength(1);
    expect(b.folds).toBeUndefined();
    expect(folder.folding).toBe(false);
  });

  it('refuses acknowledgements of batches it never sent', () => {
    const { folder } = setup();
    folder.prepare({ events: [] });
    expect(folder.ack(0)).toBe(false);
    expect(folder.ack(2)).toBe(false);
    expect(folder.ack('1')).toBe(false);
    expect(folder.ack(1.5)).toBe(false);
    expect(folder.ack(1)).toBe(true);
  });

  it('folds frames with exact counts per direction and opcode while the page is behind, then resumes', () => {
    const { folder, advance } = setup();
    const first = folder.prepare({ events: [frameEvent(1, 'c1', 'in', 1, 1, 10)] });
    folder.ack(first.seq);
    // The page stops acknowledging; 150 ms later its oldest unacknowledged batch is too old.
    folder.prepare({ events: [frameEvent(2, 'c1', 'out', 2, 1, 10)] });
    advance(150);
    let seq = 3;
    let frameId = 3;
    const sent: ServiceBatch[] = [];
    const expected = { textIn: 0, textOut: 0, binIn: 0, pingIn: 0, payload: 0, wire: 0, frames: 0 };
    for (let b = 0; b < 5; b++) {
      const events: TraceEvent[] = [];
      for (let i = 0; i < 100; i++) {
        const kind = i % 4;
        const len = 7 + (i % 13);
        const ev = kind === 0 ? frameEvent(seq++, 'c1', 'in', frameId++, 1, len)
          : kind === 1 ? frameEvent(seq++, 'c1', 'out', frameId++, 1, len)
            : kind === 2 ? frameEvent(seq++, 'c1', 'in', frameId++, 2, len + 200)
              : frameEvent(seq++, 'c1', 'in', frameId++, 9, 0);
        const f = (ev as Extract<TraceEvent, { type: 'frame' }>).frame;
        if (kind === 0) expected.textIn++;
        else if (kind === 1) expected.textOut++;
        else if (kind === 2) expected.binIn++;
        else expected.pingIn++;
        expected.payload += f.payloadLength;
        expected.wire += f.raw.length;
        expected.frames++;
        events.push(ev);
      }
      sent.push(folder.prepare({ events }));
      advance(16);
    }
    expect(folder.folding).toBe(true);
    for (const b of sent) expect(b.events).toEqual([]);
    const last = sent.at(-1)!.folds!;
    expect(last).toHaveLength(1);
    const fold = last[0]!;
    expect(fold).toMatchObject({ connectionId: 'c1', frames: expected.frames, wireBytes: expected.wire, firstFrameId: 3, lastFrameId: frameId - 1, firstSeq: 3, lastSeq: seq - 1, open: true });
    const kind = (direction: string, opcode: number) => fold.kinds.find((k) => k.direction === direction && k.opcode === opcode)?.frames;
    expect([kind('in', 1), kind('out', 1), kind('in', 2), kind('in', 9)]).toEqual([expected.textIn, expected.textOut, expected.binIn, expected.pingIn]);
    expect(fold.kinds.reduce((n, k) => n + k.payloadBytes, 0)).toBe(expected.payload);
    // Each summary is a copy: an earlier batch's fold did not change when the fold grew.
    expect(sent[0]!.folds![0]!.frames).toBe(100);
    expect(folder.foldedFrames).toBe(expected.frames);

    // The page catches up: everything acknowledged, past the minimum folding time.
    folder.ack(sent.at(-1)!.seq);
    advance(200);
    const resumed = folder.prepare({ events: [frameEvent(seq++, 'c1', 'in', frameId++, 1, 3)] });
    expect(folder.folding).toBe(false);
    expect(resumed.events).toHaveLength(1);
    expect(resumed.folds).toEqual([{ ...fold, open: false }]);
    const after = folder.prepare({ events: [frameEvent(seq++, 'c1', 'in', frameId++, 1, 3)] });
    expect(after.folds).toBeUndefined();
  });

  it('folds a batch that carries its events encoded (the service\'s) exactly as the same events as objects', () => {
    const plain = setup();
    const encoded = setup();
    const builder = new TraceBatchBuilder();
    const asEncoded = (events: TraceEvent[]): ServiceBatch => {
      for (const e of events) builder.add(e);
      return { events: [], trace: builder.take() };
    };
    const both = (events: TraceEvent[]) => {
      const a = plain.folder.prepare({ events });
      const batch = asEncoded(events);
      const b = encoded.folder.prepare(batch);
      // Read while the batch is lent, as the bridges do; then the builder takes its buffers back.
      const bEvents = eventsOf(b);
      builder.reclaim(batch.trace!);
      expect(plain.folder.held()).toEqual(encoded.folder.held());
      return [a, { ...b, events: bEvents, trace: undefined }] as const;
    };
    let seq = 1;
    let frameId = 1;
    const batchOf = (n: number) => {
      const events: TraceEvent[] = [];
      for (let i = 0; i < n; i++) {
        const id = frameId++;
        events.push(frameEvent(seq++, 'c1', i % 2 ? 'out' : 'in', id, i % 3 === 0 ? 2 : 1, 5 + (i % 7)));
        if (i % 5 === 0) events.push(messageEvent(seq++, 'c1', [id]));
      }
      return events;
    };
    const [firstA, firstB] = both(batchOf(3));
    expect(firstB.events).toEqual(firstA.events);
    plain.folder.ack(firstA.seq);
    encoded.folder.ack(firstB.seq);
    both(batchOf(10));
    plain.advance(150);
    encoded.advance(150);
    for (let b = 0; b < 4; b++) {
      const [a, e] = both(batchOf(100));
      expect(encoded.folder.folding).toBe(true);
      expect(e.events).toEqual(a.events);
      // (Fold ids are numbered across the process's folders: the two differ only there.)
      const withoutIds = (folds: ServiceBatch['folds']) => folds?.map(({ id: _id, ...rest }) => rest);
      expect(withoutIds(e.folds)).toEqual(withoutIds(a.folds));
      expect(e.folds![0]!.frames).toBeGreaterThan(0);
      plain.advance(16);
      encoded.advance(16);
    }
    expect(encoded.folder.foldedFrames).toBe(plain.folder.foldedFrames);
  });

  it('never folds a close frame, a frame with a violation or other events, and folds the messages of folded frames', () => {
    const { folder, advance } = setup();
    folder.ack(folder.prepare({ events: [] }).seq!);
    folder.prepare({ events: [frameEvent(0, 'z', 'in', 0, 1, 1)] });
    advance(101);
    const violation = { code: 'reserved-bits', rfcSection: '§5.2', message: 'RSV1 set', closeCode: 1002 } as unknown as TracedFrame['violation'];
    const out = folder.prepare({
      events: [
        frameEvent(1, 'a', 'in', 1, 1, 3),
        messageEvent(2, 'a', [1]),
        frameEvent(3, 'b', 'in', 1, 2, 4),
        frameEvent(4, 'a', 'in', 2, 1, 3, { violation }),
        frameEvent(5, 'a', 'in', 3, 8, 2),
        { type: 'note', seq: 6, time: 0, connectionId: 'a', text: 'hello' } as TraceEvent,
        messageEvent(7, 'b', [9]),
      ],
    });
    expect(out.events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    const byConn = Object.fromEntries(out.folds!.map((f) => [f.connectionId, f]));
    expect(byConn['a']).toMatchObject({ frames: 1, messages: 1 });
    expect(byConn['b']).toMatchObject({ frames: 1, messages: 0, wireBytes: 10 });
    expect(new Set(out.folds!.map((f) => f.id)).size).toBe(2);
  });

  it('does not fold a page that is late with few frames in flight, only once enough are unacknowledged', () => {
    const { folder, advance } = setup(50);
    folder.ack(folder.prepare({ events: [] }).seq!);
    let seq = 1;
    const batch = (n: number) => ({ events: Array.from({ length: n }, () => frameEvent(seq, 'a', 'in', seq++, 1, 3)) });
    folder.prepare(batch(30));
    advance(500);
    const late = folder.prepare(batch(10));
    expect(folder.folding).toBe(false);
    expect(late.events).toHaveLength(10);
    // 40 behind: still not; 60 behind and old: folded from here.
    folder.prepare(batch(20));
    const folded = folder.prepare(batch(5));
    expect(folder.folding).toBe(true);
    expect(folded.folds![0]!.frames).toBe(5);
    // Once acknowledged, the count behind starts again from nothing.
    folder.ack(folded.seq!);
    advance(300);
    folder.prepare({ events: [] });
    expect(folder.folding).toBe(false);
  });

  it('keeps folding for the minimum time even once acknowledgements catch up', () => {
    const { folder, advance } = setup();
    folder.ack(folder.prepare({ events: [] }).seq!);
    folder.prepare({ events: [frameEvent(0, 'z', 'in', 0, 1, 1)] });
    advance(101);
    const b = folder.prepare({ events: [frameEvent(1, 'a', 'in', 1, 1, 3)] });
    expect(b.folds).toHaveLength(1);
    folder.ack(b.seq!);
    advance(50);
    const c = folder.prepare({ events: [frameEvent(2, 'a', 'in', 2, 1, 3)] });
    expect(folder.folding).toBe(true);
    expect(c.folds![0]!.frames).toBe(2);
  });

  it('an opened recording\'s frames are never folded (its open is paced to the page instead)', () => {
    const { folder, advance } = setup();
    folder.ack(folder.prepare({ events: [] }).seq!);
    folder.prepare({ events: [frameEvent(0, 'z', 'in', 0, 1, 1)] });
    advance(150);
    const batch = folder.prepare({ events: [frameEvent(1, 'rec1:capture-1', 'in', 1, 1, 10), frameEvent(2, 'c1', 'in', 1, 1, 10)] });
    expect(folder.folding).toBe(true);
    expect(batch.events.map((e) => e.connectionId)).toEqual(['rec1:capture-1']);
    expect(batch.folds?.map((f) => f.connectionId)).toEqual(['c1']);
  });
  it('holds bounded state for a page that acknowledged once and then stopped (peer frames that are never folded keep coming)', () => {
    const { folder, advance } = setup(1_000_000);
    folder.ack(folder.prepare({ events: [] }).seq!);
    // A stalled page and a peer churning connections, each sending one close frame (never folded).
    for (let i = 1; i <= 20_000; i++) {
      folder.prepare({ events: [frameEvent(i, `c${i}`, 'in', 1, 8, 2)] });
      advance(1);
    }
    const held = folder.held();
    expect(held.unackedBatches).toBeLessThanOrEqual(4097);
    expect(held.unackedFrameBatches).toBeLessThanOrEqual(4097);
    // The frames behind are still all counted: acknowledging the last batch clears them.
    folder.ack(20_001);
    expect(folder.held()).toMatchObject({ unackedBatches: 0, unackedFrameBatches: 0, framesBehind: 0 });
  });

  it('holds a bounded number of open folds while a page stays behind and peers come and go; every frame still counted once', () => {
    const { folder, advance } = setup();
    folder.ack(folder.prepare({ events: [] }).seq!);
    folder.prepare({ events: [frameEvent(0, 'z', 'in', 0, 1, 1)] });
    advance(101);
    const folded = new Map<number, number>();
    let maxOpen = 0;
    for (let i = 1; i <= 20_000; i++) {
      const out = folder.prepare({ events: [frameEvent(i, `peer${i}`, 'in', 1, 1, 3)] });
      for (const f of out.folds ?? []) folded.set(f.id, f.frames);
      maxOpen = Math.max(maxOpen, folder.held().openFolds);
    }
    expect(folder.folding).toBe(true);
    expect(maxOpen).toBeLessThanOrEqual(1024);
    expect([...folded.values()].reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(folder.foldedFrames).toBe(20_000);
  });
});
