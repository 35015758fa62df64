/**
 * The row contract (src/core/trace.ts TraceRows; trusted by the batch builder since 2bbdf91): does any path make the protocol emit a frame row whose payload is not
 * its wire body unmasked, or a message row with payloadsOfFrames whose data is not its frames'
 * payloads? Differential: the same hostile conversation (crafted frames with lying mask bits and
 * lengths, raw writes, fragments with control frames between, random chunking and mutation of the
 * bytes on the wire, observe policy, step mode with edits and drops, permessage-deflate) traced as
 * objects, and traced as rows into a TraceBatchBuilder and a TraceLog, must read back the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.ts';
import { encodeFrame, type FrameSpec } from '../../src/core/frame-codec.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import { TraceLog } from '../../src/core/trace-log.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';
import { TraceBatchBuilder } from '../../src/shared/trace-batch-encode.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';
import { normal } from '../support/scripted-conversation.ts';
import { chunk, chunkPlanArb, mutate, mutationArb, seededBytes, type ChunkPlan, type Mutation } from '../core/fuzz/generators.ts';

type Who = 's' | 'c';
type Action =
  | { kind: 'binary'; who: Who; n: number; seed: number; sizes: number[] }
  | { kind: 'text'; who: Who; text: string; sizes: number[] }
  | { kind: 'frame'; who: Who; spec: FrameSpec }
  | { kind: 'raw'; who: Who; n: number; seed: number }
  | { kind: 'ping'; who: Who }
  | { kind: 'observe'; who: Who }
  | { kind: 'step'; who: Who }
  | { kind: 'deliver'; from: Who; plan: ChunkPlan; mutations: Mutation[]; edit: number; drop: number; editIn: number }
  | { kind: 'close'; who: Who };

const who = fc.constantFrom<Who>('s', 'c');
const sizes = fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 3 });
const len = fc.oneof(fc.integer({ min: 0, max: 130 }), fc.constantFrom(125, 126, 127, 255, 256, 511, 512, 513, 1000, 65535, 65536, 70000));
const spec: fc.Arbitrary<FrameSpec> = fc.record({
  opcode: fc.integer({ min: 0, max: 15 }), fin: fc.boolean(), rsv1: fc.boolean(), rsv2: fc.boolean(), rsv3: fc.boolean(),
  n: len, seed: fc.integer(),
  maskKey: fc.option(fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: null }), { nil: undefined }),
  lengthEncoding: fc.option(fc.constantFrom('minimal' as const, '7-bit' as const, '16-bit' as const, '64-bit' as const), { nil: undefined }),
  declaredLength: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined, freq: 6 }),
  maskBitOverride: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
}, { requiredKeys: ['opcode', 'fin', 'rsv1', 'rsv2', 'rsv3', 'n', 'seed'] }).map((g) => {
  const { n, seed, ...rest } = g as typeof g & { n: number; seed: number };
  const s: FrameSpec = { ...rest, payload: seededBytes(n, seed) };
  for (const k of Object.keys(s) as (keyof FrameSpec)[]) if (s[k] === undefined) delete s[k];
  if (s.lengthEncoding === '16-bit' && s.payload!.length > 0xffff) s.lengthEncoding = 'minimal';
  return s;
});
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('binary' as const), who, n: len, seed: fc.integer(), sizes }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('text' as const), who, text: fc.string({ unit: 'binary', maxLength: 40 }), sizes }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('frame' as const), who, spec }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('raw' as const), who, n: fc.integer({ min: 1, max: 20 }), seed: fc.integer() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('ping' as const), who }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('observe' as const), who }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('step' as const), who }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const), from: who, plan: chunkPlanArb,
      mutations: fc.oneof({ arbitrary: fc.constant([] as Mutation[]), weight: 4 }, { arbitrary: fc.array(mutationArb, { maxLength: 2 }), weight: 1 }),
      edit: fc.integer({ min: -1, max: 4 }), drop: fc.integer({ min: -1, max: 4 }), editIn: fc.integer({ min: -1, max: 4 }),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ kind: fc.constant('close' as const), who }), weight: 1 },
);

/** Runs the script with a fresh tracer that `listen` subscribes to first. */
function run(script: { deflate: boolean; actions: Action[] }, listen: (tracer: Tracer) => void): void {
  const tracer = new Tracer();
  listen(tracer);
  let k = 0;
  const maskKeyGenerator = () => Uint8Array.of(k++ & 0xff, 0x5a, 0xa5, 0x3c);
  const p: Record<Who, WebSocketProtocol> = {
    s: new WebSocketProtocol({ role: 'server', deflate: script.deflate ? {} : false, trace: tracer.forConnection('s'), traceBytes: false }),
    c: new WebSocketProtocol({ role: 'client', deflate: script.deflate ? {} : false, trace: tracer.forConnection('c'), traceBytes: false, maskKeyGenerator, key: 'dGhlIHNhbXBsZSBub25jZQ==' }),
  };
  const other = (w: Who): Who => (w === 's' ? 'c' : 's');
  const deliver = (a: Extract<Action, { kind: 'deliver' }>) => {
    const from = p[a.from];
    const to = p[other(a.from)];
    const wire: Uint8Array[] = [];
    let frameNo = 0;
    for (const c of from.takeOutput()) {
      let bytes = c.payload ? Buffer.concat([c.bytes, c.payload]) : c.bytes;
      if (c.kind === 'frame' && from.deferOutgoingTrace) {
        // Connection.writeFrame after the gate: maybe dropped, maybe edited.
        const n = frameNo++;
        if (n === a.drop) {
          from.noteGateEvent('dropped');
          continue;
        }
        if (n === a.edit) {
          const edited = encodeFrame({ opcode: Opcode.Binary, payload: Uint8Array.of(0xee, n) }, from.role === 'client' ? Uint8Array.of(9, 8, 7, 6) : null);
          from.markNextFrameEdited('out', bytes);
          from.traceWrittenFrame(edited, bytes);
          bytes = edited;
        } else {
          from.traceWrittenFrame(bytes);
        }
      }
      wire.push(bytes);
    }
    const all = mutate(Buffer.concat(wire), a.mutations);
    const pieces = chunk(all, a.plan);
    pieces.forEach((piece, i) => {
      if (i === a.editIn && to.state === 'OPEN') {
        // An incoming frame released edited (Connection.deliver): the original is what arrived.
        to.markNextFrameEdited('in', piece.slice());
        to.receiveData(encodeFrame({ opcode: Opcode.Binary, payload: Uint8Array.of(0xdd, i) }, to.role === 'server' ? Uint8Array.of(1, 2, 3, 4) : null));
      } else {
        to.receiveData(Uint8Array.from(piece), true);
      }
    });
    for (const e of to.events()) if (e.type === 'message' && to.state === 'OPEN') to.sendFragmented(e.opcode, e.data, e.frameSizes ?? []);
  };
  p.c.connect();
  deliver({ kind: 'deliver', from: 'c', plan: { kind: 'whole' }, mutations: [], edit: -1, drop: -1, editIn: -1 });
  deliver({ kind: 'deliver', from: 's', plan: { kind: 'whole' }, mutations: [], edit: -1, drop: -1, editIn: -1 });
  for (const a of script.actions) {
    try {
      switch (a.kind) {
        case 'binary': {
          const data = seededBytes(a.n, a.seed);
          if (a.sizes.length > 0) p[a.who].sendFragmented(Opcode.Binary, data, a.sizes);
          else p[a.who].sendBinary(data);
          break;
        }
        case 'text':
          if (a.sizes.length > 0) p[a.who].sendFragmented(Opcode.Text, new TextEncoder().encode(a.text), a.sizes);
          else p[a.who].sendText(a.text);
          break;
        case 'frame':
          p[a.who].sendFrame(a.spec);
          break;
        case 'raw':
          p[a.who].sendRaw(seededBytes(a.n, a.seed));
          break;
        case 'ping':
          p[a.who].sendPing(Uint8Array.of(1, 2));
          break;
        case 'observe':
          p[a.who].policy = 'observe';
          break;
        case 'step':
          p[a.who].deferOutgoingTrace = true;
          break;
        case 'deliver':
          deliver(a);
          break;
        case 'close':
          p[a.who].close(1000, 'bye');
          break;
      }
    } catch (error) {
      // A refused send (connection not open, a bad spec): the same in every run.
      if (!(error instanceof Error)) throw error;
    }
  }
}

const script = fc.record({ deflate: fc.boolean(), actions: fc.array(action, { minLength: 1, maxLength: 25 }) });
const timeless = (events: TraceEvent[]) => events.map(({ time: _t, ...rest }) => normal(rest));

const stats = { frameRows: 0, maskedRows: 0, messageRows: 0, trusted: 0 };
describe('row contract under hostile conversations', () => {
  it('rows read back as the objects (batch builder and TraceLog)', () => {
    fc.assert(fc.property(script, (s) => {
      const objects: TraceEvent[] = [];
      run(s, (t) => t.subscribe((e) => objects.push(e)));
      const builder = new TraceBatchBuilder();
      run(s, (t) => t.subscribeRows({
        push: (e) => builder.add(e),
        frameRow: (...a) => {
          stats.frameRows++;
          if (a[5][1]! & 0x80) stats.maskedRows++;
          builder.frameRow(...a);
        },
        messageRow: (...a) => {
          stats.messageRows++;
          if (a[10]) stats.trusted++;
          builder.messageRow(...a);
        },
      }));
      const back = eventsOf({ events: [], trace: builder.take() });
      expect(timeless(back)).toEqual(timeless(objects));
      const log = new TraceLog();
      run(s, (t) => t.subscribeRows(log));
      expect(timeless(log.toArray())).toEqual(timeless(objects));
    }), { numRuns: 300 });
    expect(stats.maskedRows).toBeGreaterThan(0);
    expect(stats.trusted).toBeGreaterThan(0);
  });
});
