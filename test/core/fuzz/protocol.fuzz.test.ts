/**
 * Property tests of the sans-I/O protocol under hostile input, in both roles, after a valid
 * opening handshake: receiveData never throws, every violation fails the connection once with
 * its table's close code, input after failing is discarded, and memory stays bounded (a frame
 * declaring a huge length is refused at its header, before any payload is buffered).
 */

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../../src/core/bytes.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { ProtocolViolation, violationTable } from '../../../src/core/errors.ts';
import { encodeFrame, FrameParser, type Frame } from '../../../src/core/frame-codec.ts';
import { WebSocketProtocol, type ProtocolEvent, type ProtocolOptions } from '../../../src/core/protocol.ts';
import {
  chunk, chunkPlanArb, clientRequest, eventsOf, frameLikeBytesArb, mutate, mutationArb, openProtocol, runs, seededBytes, serverResponse, validStreamArb,
} from './generators.ts';

type Role = 'server' | 'client';
const RUN_MS = 2000;
const roleArb = fc.constantFrom<Role>('server', 'client');

/** Frames the protocol wrote (server frames unmasked, client frames masked). */
function framesWritten(out: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  new FrameParser().feed(concatBytes(out), (e) => e.kind === 'frame' && frames.push(e.frame));
  return frames;
}

interface DriveResult {
  events: ProtocolEvent[];
  violation: ProtocolViolation | null;
  maxPartial: number;
}

/**
 * Feeds the chunks and checks the invariants after each: receiveData never throws; a violation
 * is reported once, with its table's close code, and a Close frame carrying that code goes out
 * (unless a Close was already sent); afterwards nothing comes out for any input; at EOF exactly
 * one 'closed' event reports the violation's code.
 */
function drive(p: WebSocketProtocol, chunks: readonly Uint8Array[]): DriveResult {
  const all: ProtocolEvent[] = [];
  let violation: ProtocolViolation | null = null;
  let maxPartial = 0;
  const started = Date.now();
  for (const piece of chunks) {
    const closeAlreadySent = p.closeSent !== null;
    try {
      p.receiveData(piece);
    } catch (error) {
      throw new Error(`receiveData threw ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`);
    }
    const events = p.events();
    const out = p.dataToSend();
    maxPartial = Math.max(maxPartial, p.partialFrameBytes().length);
    if (violation) {
      // §7.1.7: after failing, input is discarded.
      expect(events).toEqual([]);
      expect(out).toEqual([]);
      continue;
    }
    all.push(...events);
    const found = eventsOf(events, 'violation');
    expect(found.length).toBeLessThanOrEqual(1);
    if (found[0]) {
      violation = found[0].violation;
      expect(violation).toBeInstanceOf(ProtocolViolation);
      expect(violation.closeCode).toBe(violationTable[violation.code].closeCode);
      expect(violation.rfcSection).toBe(violationTable[violation.code].rfcSection);
      expect(p.transportAction).toBe('close');
      if (!closeAlreadySent) {
        const close = framesWritten(out).at(-1);
        expect(close?.header.opcode).toBe(Opcode.Close);
        expect(close!.payload.length).toBeLessThanOrEqual(125);
        expect((close!.payload[0]! << 8) | close!.payload[1]!).toBe(violation.closeCode);
      }
    }
  }
  expect(Date.now() - started).toBeLessThan(RUN_MS);
  p.receiveEof();
  const closed = eventsOf(p.events(), 'closed');
  expect(closed).toHaveLength(1);
  if (violation && !p.closeReceived) expect(closed[0]!.code).toBe(violation.closeCode);
  expect(p.state).toBe('CLOSED');
  return { events: all, violation, maxPartial };
}

describe('WebSocketProtocol.receiveData on hostile input (property)', () => {
  it('random bytes after a valid handshake, either role, any chunking: never throws, fails cleanly', () => {
    fc.assert(
      fc.property(roleArb, fc.oneof(fc.uint8Array({ maxLength: 3000 }), frameLikeBytesArb), chunkPlanArb, (role, bytes, plan) => {
        drive(openProtocol(role), chunk(bytes, plan));
      }),
      { numRuns: runs(600) },
    );
  });

  it('valid streams come through without a violation; mutated ones never make it throw', () => {
    fc.assert(
      fc.property(roleArb.chain((role) => fc.tuple(fc.constant(role), validStreamArb(role))), fc.array(mutationArb, { maxLength: 5 }), chunkPlanArb, ([role, stream], mutations, plan) => {
        const bytes = mutate(stream.bytes, mutations);
        const { violation, events } = drive(openProtocol(role), chunk(bytes, plan));
        if (mutations.length === 0) {
          expect(violation).toBeNull();
          expect(events.every((e) => e.type !== 'handshake-failed')).toBe(true);
        }
      }),
      { numRuns: runs(600) },
    );
  });

  it('with tracing on (every trace path runs): never throws', () => {
    fc.assert(
      fc.property(roleArb.chain((role) => fc.tuple(fc.constant(role), validStreamArb(role))), fc.array(mutationArb, { maxLength: 4 }), chunkPlanArb, ([role, stream], mutations, plan) => {
        let traced = 0;
        const p = openProtocol(role, { trace: () => void traced++ });
        drive(p, chunk(mutate(stream.bytes, mutations), plan));
        expect(traced).toBeGreaterThan(0);
      }),
      { numRuns: runs(300) },
    );
  });

  it('the handshake itself mutated, with frames in the same chunks: never throws', () => {
    fc.assert(
      fc.property(roleArb.chain((role) => fc.tuple(fc.constant(role), validStreamArb(role))), fc.array(mutationArb, { maxLength: 4 }), chunkPlanArb, ([role, stream], mutations, plan) => {
        const head = role === 'server' ? clientRequest : serverResponse;
        const p = new WebSocketProtocol({ role, key: 'dGhlIHNhbXBsZSBub25jZQ==', trace: () => {} });
        if (role === 'client') {
          p.connect();
          p.dataToSend();
        }
        const bytes = mutate(concatBytes([head, stream.bytes]), mutations);
        for (const piece of chunk(bytes, plan)) {
          p.receiveData(piece);
          p.events();
          p.dataToSend();
        }
        p.receiveEof();
        expect(eventsOf(p.events(), 'closed').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: runs(400) },
    );
  });

  it('memory stays bounded by the limits: never more than one header plus one frame is held', () => {
    fc.assert(
      fc.property(
        roleArb, fc.integer({ min: 1, max: 2000 }), fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        fc.oneof(fc.uint8Array({ maxLength: 3000 }), frameLikeBytesArb), chunkPlanArb,
        (role, maxMessageSize, maxFrameSize, bytes, plan) => {
          // Tracing on, so the parser keeps each frame's raw bytes and partialFrameBytes() shows all it holds.
          const p = openProtocol(role, { trace: () => {}, maxMessageSize, ...(maxFrameSize !== undefined ? { maxFrameSize } : {}) });
          const limit = Math.max(125, Math.min(maxMessageSize, maxFrameSize ?? Infinity));
          const { maxPartial } = drive(p, chunk(bytes, plan));
          expect(maxPartial).toBeLessThanOrEqual(14 + limit);
        },
      ),
      { numRuns: runs(400) },
    );
  });
});

/**
 * The "observe" violation policy (flag the violation, keep the connection open) must not open a
 * way around the limits: frames it reads and ignores are still buffered by the parser. Typed
 * loosely so this file does not depend on that option's declaration.
 */
const observe = { policy: 'observe' } as unknown as Partial<ProtocolOptions>;

describe('WebSocketProtocol with the observe policy (property)', () => {
  it('never throws and still holds at most one header plus one frame within the limits', () => {
    fc.assert(
      fc.property(
        roleArb, fc.integer({ min: 1, max: 2000 }), fc.oneof(fc.uint8Array({ maxLength: 3000 }), frameLikeBytesArb, validStreamArb('server').map((s) => s.bytes)),
        fc.array(mutationArb, { maxLength: 4 }), chunkPlanArb,
        (role, maxMessageSize, bytes, mutations, plan) => {
          const p = openProtocol(role, { ...observe, trace: () => {}, maxMessageSize });
          let maxPartial = 0;
          for (const piece of chunk(mutate(bytes, mutations), plan)) {
            p.receiveData(piece);
            for (const e of p.events()) if (e.type === 'violation') expect(e.violation).toBeInstanceOf(ProtocolViolation);
            p.dataToSend();
            maxPartial = Math.max(maxPartial, p.partialFrameBytes().length);
          }
          expect(maxPartial).toBeLessThanOrEqual(14 + Math.max(125, maxMessageSize));
          p.receiveEof();
          expect(eventsOf(p.events(), 'closed')).toHaveLength(1);
        },
      ),
      { numRuns: runs(400) },
    );
  });
});

describe('a frame declaring a huge length is refused at its header (property)', () => {
  it('1009 exactly when the last header byte arrives, fed one byte at a time, no payload needed', () => {
    fc.assert(
      fc.property(
        roleArb, fc.constantFrom(Opcode.Text, Opcode.Binary), fc.integer({ min: 0, max: 100_000 }),
        fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })),
        fc.boolean(), fc.constantFrom('minimal' as const, '64-bit' as const),
        (role, opcode, limit, excess, frameLimit, lengthEncoding) => {
          const declaredLength = limit + excess;
          const p = openProtocol(role, frameLimit ? { maxFrameSize: limit } : { maxMessageSize: limit });
          const header = encodeFrame({ opcode, declaredLength, lengthEncoding, maskKey: role === 'server' ? new Uint8Array([1, 2, 3, 4]) : null });
          for (let i = 0; i < header.length; i++) {
            p.receiveData(header.subarray(i, i + 1));
            const violations = eventsOf(p.events(), 'violation');
            if (i < header.length - 1) {
              expect(violations).toEqual([]);
              continue;
            }
            expect(violations).toHaveLength(1);
            expect(violations[0]!.violation.closeCode).toBe(1009);
            expect(violations[0]!.violation.code).toBe(frameLimit ? 'WS_ERR_FRAME_TOO_BIG' : 'WS_ERR_MESSAGE_TOO_BIG');
          }
          expect(p.partialFrameBytes().length).toBe(0);
        },
      ),
      { numRuns: runs(400) },
    );
  });
});

// ------------------------------------------------------------------ memory after failing

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const MiB = 1024 * 1024;

/**
 * Feeds 10 fresh 1 MiB buffers and checks that nothing of them is kept: every buffer's
 * ArrayBuffer is collected (a kept view of any part of it would keep it alive), and the
 * process's heap plus array buffers grew by less than one buffer.
 */
async function feedTenMegabytes(p: WebSocketProtocol): Promise<void> {
  const before = memory();
  const refs = feedFreshBuffers(p, 10);
  // WeakRef targets stay alive until the current job ends; the feeding ran in a plain function
  // so no stale register of this suspended async function holds the last buffer. A buffer the
  // protocol kept stays alive through every turn below; one merely not yet collected (the last
  // buffer survived a single turn's collections once on a loaded CI machine) does not.
  const alive = () => refs.flatMap((r, i) => (r.deref() === undefined ? [] : [`buffer ${i} is still alive`]));
  let survivors: string[] = [];
  for (let turn = 0; turn < 5; turn++) {
    await new Promise((r) => setTimeout(r, turn * 20));
    memory();
    survivors = alive();
    if (survivors.length === 0) break;
  }
  const grown = memory() - before;
  expect(survivors).toEqual([]);
  expect(grown).toBeLessThan(MiB);
}

function feedFreshBuffers(p: WebSocketProtocol, count: number): Array<WeakRef<ArrayBuffer>> {
  const refs: Array<WeakRef<ArrayBuffer>> = [];
  for (let i = 0; i < count; i++) {
    const chunk = new Uint8Array(MiB).fill(0x41 + i);
    refs.push(new WeakRef(chunk.buffer));
    p.receiveData(chunk);
    expect(p.events()).toEqual([]);
    expect(p.dataToSend()).toEqual([]);
  }
  return refs;
}

describe('after failing, input is discarded: 10 MB more grows nothing', () => {
  const cases: Array<{ name: string; role: Role; start: (p: WebSocketProtocol) => void; options?: Partial<ProtocolOptions> }> = [
    {
      name: 'server, after a frame declaring 2^40 bytes',
      role: 'server',
      start: (p) => p.receiveData(encodeFrame({ opcode: Opcode.Binary, declaredLength: 2 ** 40, maskKey: new Uint8Array([9, 8, 7, 6]) })),
    },
    {
      name: 'client, after a frame declaring 2^53-1 bytes (with tracing on)',
      role: 'client',
      options: { trace: () => {} },
      start: (p) => p.receiveData(encodeFrame({ opcode: Opcode.Text, declaredLength: Number.MAX_SAFE_INTEGER })),
    },
    {
      name: 'server, after --max-frame refuses a 2 MiB frame',
      role: 'server',
      options: { maxFrameSize: MiB },
      start: (p) => p.receiveData(encodeFrame({ opcode: Opcode.Binary, declaredLength: 2 * MiB, maskKey: new Uint8Array([9, 8, 7, 6]) })),
    },
  ];

  it.each(cases)('$name', async ({ role, start, options }) => {
    const p = openProtocol(role, options ?? {});
    start(p);
    expect(eventsOf(p.events(), 'violation')[0]?.violation.closeCode).toBe(1009);
    p.dataToSend();
    await feedTenMegabytes(p);
    expect(p.partialFrameBytes().length).toBe(0);
  });

  it('server, during the handshake: a head that never ends gets 431 at maxHeadSize, then 10 MB more grows nothing', async () => {
    const p = new WebSocketProtocol({ role: 'server', maxHeadSize: 4096 });
    p.receiveData(new TextEncoder().encode('GET / HTTP/1.1\r\nX-Long: '));
    p.receiveData(seededBytes(8192, 7).map((b) => 0x41 + (b % 26)));
    expect(eventsOf(p.events(), 'handshake-failed')[0]?.error.status).toBe(431);
    expect(new TextDecoder().decode(concatBytes(p.dataToSend()))).toMatch(/^HTTP\/1\.1 431 /);
    await feedTenMegabytes(p);
  });

  it('(the check itself notices a receiver that keeps one byte of one buffer)', async () => {
    const kept: Uint8Array[] = [];
    const leaky = { receiveData: (d: Uint8Array) => void (kept.length === 0 && kept.push(d.subarray(0, 1))), events: () => [], dataToSend: () => [] };
    await expect(feedTenMegabytes(leaky as unknown as WebSocketProtocol)).rejects.toThrow(/buffer 0 is still alive/);
    expect(kept).toHaveLength(1);
  });

  it('a message of endless empty fragments is cut off by maxFragments (1008) instead of growing', () => {
    const p = openProtocol('server', { maxFragments: 1000 });
    const key = new Uint8Array([1, 2, 3, 4]);
    const frames = [encodeFrame({ opcode: Opcode.Binary, fin: false, maskKey: key })];
    for (let i = 0; i < 1500; i++) frames.push(encodeFrame({ opcode: Opcode.Continuation, fin: false, maskKey: key }));
    p.receiveData(concatBytes(frames));
    const violations = eventsOf(p.events(), 'violation');
    expect(violations.map((v) => [v.violation.code, v.violation.closeCode])).toEqual([['WS_ERR_TOO_MANY_FRAGMENTS', 1008]]);
  });
});
