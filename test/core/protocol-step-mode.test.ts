/**
 * Step mode's outgoing trace (src/core/protocol.ts deferOutgoingTrace, as Connection sets it once
 * a gate exists): frames are traced, and numbered, when they are written, possibly after frames
 * that came in meanwhile, possibly edited, possibly never (dropped). A message sent meanwhile must
 * name its own frames and carry what the application sent, as objects and as rows alike.
 */
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { OutputChunk } from '../../src/core/protocol.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import { TraceLog } from '../../src/core/trace-log.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';
import { TraceBatchBuilder } from '../../src/shared/trace-batch-encode.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';
import { normal } from '../support/scripted-conversation.ts';

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;

/**
 * A server in step mode: two binary messages of one length (the second must not be taken for the
 * first), a text message and a fragmented one, each held, with a client frame arriving before the
 * held ones are written; then one released edited and one dropped.
 */
function stepModeConversation(listen: (tracer: Tracer) => void): void {
  const tracer = new Tracer();
  listen(tracer);
  const server = new WebSocketProtocol({ role: 'server', deflate: false, trace: tracer.forConnection('s'), traceBytes: true });
  let key = 0;
  const client = new WebSocketProtocol({ role: 'client', deflate: false, key: 'dGhlIHNhbXBsZSBub25jZQ==', maskKeyGenerator: () => Uint8Array.of(key++, 1, 2, 3) });
  client.connect();
  for (const b of client.dataToSend()) server.receiveData(Uint8Array.from(b), true);
  server.events();
  for (const b of server.dataToSend()) client.receiveData(Uint8Array.from(b), true);
  client.events();
  server.deferOutgoingTrace = true; // Connection.ensureGate, once step mode is used
  const held = (): OutputChunk[] => server.takeOutput().filter((c) => c.kind === 'frame');

  server.sendBinary(Uint8Array.of(1, 2, 3));
  server.sendBinary(Uint8Array.of(9, 9, 9));
  server.sendText('held ✓');
  server.sendFragmented(Opcode.Binary, Uint8Array.of(4, 5, 6, 7, 8), [2, 2]);
  const first = held();
  // A frame comes in while they are held: it takes the next frame id.
  client.sendText('meanwhile');
  for (const b of client.dataToSend()) server.receiveData(Uint8Array.from(b), true);
  server.events();
  for (const c of first) server.traceWrittenFrame(c.bytes);

  // One byte each, as the last frame written (the fragment [8]): a message taken for that frame's would read as [8].
  server.sendBinary(Uint8Array.of(10));
  server.sendBinary(Uint8Array.of(12));
  const [edited, dropped] = held();
  // Released edited (Connection.releaseHeld: the edited bytes go on the wire), and the other dropped.
  const wire = encodeFrame({ opcode: Opcode.Binary, payload: Uint8Array.of(0xee) }, null);
  server.markNextFrameEdited('out', edited!.bytes);
  server.traceWrittenFrame(wire, edited!.bytes);
  expect(dropped).toBeDefined();
}

const outgoing = (events: TraceEvent[]) => events.filter((e): e is Frame | Message => (e.type === 'frame' || e.type === 'message') && e.direction === 'out');

describe('step mode: a message sent while frames are held', () => {
  const objects: TraceEvent[] = [];
  stepModeConversation((tracer) => tracer.subscribe((e) => objects.push(e)));
  const out = outgoing(objects);
  const frames = out.filter((e): e is Frame => e.type === 'frame');
  const messages = out.filter((e): e is Message => e.type === 'message');
  const frameById = new Map(frames.map((f) => [f.frame.frameId, f]));

  it('names the frames it went in, numbered as they were written (after a frame that came in meanwhile)', () => {
    const incoming = objects.filter((e): e is Frame => e.type === 'frame' && e.direction === 'in');
    expect(incoming).toHaveLength(1);
    expect(messages.map((m) => m.frameIds.length)).toEqual([1, 1, 1, 3, 1]);
    for (const m of messages) {
      for (const id of m.frameIds) {
        expect(frameById.has(id), `message ${m.seq} names frame ${id}`).toBe(true);
        expect(id).toBeGreaterThan(incoming[0]!.frame.frameId);
      }
    }
    // Unedited: the message's bytes are its frames' payloads, joined.
    for (const m of messages.slice(0, 4)) {
      const joined = Buffer.concat(m.frameIds.map((id) => frameById.get(id)!.frame.payload));
      const sent = m.data ?? new TextEncoder().encode(m.text!);
      expect(Buffer.from(sent).equals(joined), `message ${m.seq}`).toBe(true);
    }
  });

  it('is traced right after its last frame and that frame\'s write', () => {
    for (const m of messages) {
      const last = frameById.get(m.frameIds.at(-1)!)!;
      const between = objects.filter((e) => e.seq > last.seq && e.seq < m.seq);
      expect(between.map((e) => e.type)).toEqual(['bytes']);
    }
  });

  it('carries what the application sent when its frame went out edited, and is not traced when its frame was dropped', () => {
    const last = messages.at(-1)!;
    expect(Array.from(last.data!)).toEqual([10]);
    expect(Array.from(frameById.get(last.frameIds[0]!)!.frame.payload)).toEqual([0xee]);
    expect(frameById.get(last.frameIds[0]!)!.frame.edited).toBeDefined();
    expect(messages.some((m) => m.data && m.data[0] === 12)).toBe(false);
  });

  it('reads back the same through a batch builder\'s rows and a TraceLog\'s as traced as objects', () => {
    const timeless = (events: TraceEvent[]) => events.map(({ time: _t, ...rest }) => normal(rest));
    const builder = new TraceBatchBuilder();
    stepModeConversation((tracer) => tracer.subscribeRows({
      push: (e) => builder.add(e),
      frameRow: (...args) => builder.frameRow(...args),
      messageRow: (...args) => builder.messageRow(...args),
    }));
    const noBytes = (events: TraceEvent[]) => events.filter((e) => e.type !== 'bytes');
    expect(timeless(noBytes(eventsOf({ events: [], trace: builder.take() })))).toEqual(timeless(noBytes(objects)));
    const log = new TraceLog();
    stepModeConversation((tracer) => tracer.subscribeRows(log));
    expect(timeless(noBytes(log.toArray()))).toEqual(timeless(noBytes(objects)));
  });
});
