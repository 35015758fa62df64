/**
 * Fires a fault preset (or crafted bytes) at the peer of a live connection and watches the
 * trace for the peer's first reaction: a Close (with its code), a bare TCP close, a message,
 * a pong, or nothing within the window. Expected and actual side by side.
 */

import { concatBytes, utf8DecodeLenient } from '../bytes.ts';
import { describeReaction, presetApplies, reactionMatches, type FaultContext, type FaultPreset, type Reaction } from '../faults.ts';
import { FrameParser } from '../frame-codec.ts';
import { randomMaskKey } from '../protocol.ts';
import type { Tracer, TraceEvent } from '../trace.ts';
import type { Connection } from './connection.ts';

export interface FaultResult {
  presetId: string;
  title: string;
  rfcSection: string;
  expectedText: string;
  actual: Reaction;
  actualText: string;
  asExpected: boolean;
  bytesSent: number;
}

/** Splits crafted bytes into the frames they hold (the last may be partial) and traces each as sent. */
export function traceCraftedFrames(conn: Connection, bytes: Uint8Array): void {
  const parser = new FrameParser({ keepRaw: true });
  try {
    parser.feed(bytes, (event) => {
      if (event.kind === 'frame') conn.protocol.traceOutgoingFrameBytes(event.frame.raw!);
    });
  } catch {
    // Bytes framing cannot represent: trace the rest as they are.
  }
  const rest = parser.takeAll();
  if (rest.length > 0) conn.protocol.traceOutgoingFrameBytes(rest);
}

/** The peer's first reaction among the events of one connection. */
export function firstReaction(events: TraceEvent[]): Reaction | null {
  for (const e of events) {
    if (e.type === 'frame' && e.direction === 'in') {
      if (e.frame.opcode === 8) return { kind: 'close', code: e.frame.close?.code ?? null, reason: e.frame.close?.reason ?? '' };
      if (e.frame.opcode === 10) return { kind: 'pong', payload: utf8DecodeLenient(e.frame.payload) };
    }
    if (e.type === 'message' && e.direction === 'in') return e.text !== undefined ? { kind: 'message', text: e.text, size: e.size } : { kind: 'message', size: e.size };
    // The peer's answer broke one of our rules (or limits) before it was whole: we failed the
    // connection, so whatever Close follows is an answer to ours, not the peer's reaction.
    if (e.type === 'violation' && e.direction === 'in' && !e.observed) return { kind: 'violation', code: e.violation.code, message: e.violation.message, closeCode: e.violation.closeCode };
    if (e.type === 'connection-closed') return { kind: 'drop' };
  }
  return null;
}

/** Watches a connection's trace until the peer reacts, the connection closes, or the window ends. */
export function watchReaction(tracer: Tracer, connectionId: string, windowMs: number): { result: Promise<Reaction>; stop: () => void } {
  const events: TraceEvent[] = [];
  let finish!: (r: Reaction) => void;
  const result = new Promise<Reaction>((resolve) => (finish = resolve));
  let timer: NodeJS.Timeout | null = null;
  let settled = false;
  const unsubscribe = tracer.subscribe((e) => {
    if (e.connectionId !== connectionId) return;
    events.push(e);
    const reaction = firstReaction(events);
    if (reaction) done(reaction);
  });
  const done = (r: Reaction) => {
    if (settled) return;
    settled = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    finish(r);
  };
  const arm = () => {
    // The window ends once what had come by its end is read (setImmediate runs after the next
    // poll for I/O). A process held up past the window (a loaded machine) runs its due timers
    // before it reads its sockets: a reaction already here, unread, is not "nothing".
    timer = setTimeout(() => setImmediate(() => done({ kind: 'nothing' })), windowMs);
  };
  return { result, stop: arm };
}

export interface FireOptions {
  /** How long to wait for a reaction after the last byte is written (a preset that gives the peer work may wait longer: FaultPreset.reactionWindowMs). */
  windowMs?: number;
}

/** What the connection's opening handshake agreed, as the presets need to know it. */
export function faultContext(conn: Connection): FaultContext {
  return { extension: conn.protocol.agreedExtension?.name ?? null };
}

export async function fireFault(conn: Connection, preset: FaultPreset, tracer: Tracer, options: FireOptions = {}): Promise<FaultResult> {
  if (conn.state !== 'OPEN') throw new Error(`The connection is ${conn.state}: a fault needs an open connection.`);
  // The expected reaction depends on what was agreed (RSV1 is the compressed bit under
  // permessage-deflate, RFC 7692 §6): a preset meant for another kind of connection is refused.
  const applies = presetApplies(preset, faultContext(conn));
  if (!applies.ok) throw new Error(applies.reason);
  const { writes, delayMs } = preset.build(conn.role, randomMaskKey);
  const all = concatBytes(writes);
  // Watched and traced when its turn comes (a crafted frame going out in timed pieces goes first):
  // the peer's reaction to that one is not this fault's, and the trace keeps the wire's order.
  let watch!: ReturnType<typeof watchReaction>;
  await conn.writeCrafted(all, { chunks: writes.map((w) => w.length), ...(delayMs ? { delayMs } : {}) }, false, () => {
    conn.protocol.noteGateEvent(`Fault preset "${preset.title}" (${preset.rfcSection}): expecting ${preset.expectedText}`);
    watch = watchReaction(tracer, conn.id, Math.max(options.windowMs ?? 1500, preset.reactionWindowMs ?? 0));
    traceCraftedFrames(conn, all);
  });
  watch.stop();
  const actual = await watch.result;
  const asExpected = reactionMatches(preset, actual);
  const result: FaultResult = {
    presetId: preset.id, title: preset.title, rfcSection: preset.rfcSection, expectedText: preset.expectedText,
    actual, actualText: describeReaction(actual), asExpected, bytesSent: all.length,
  };
  conn.protocol.noteGateEvent(`Fault preset "${preset.title}": the peer answered with ${result.actualText} — ${asExpected ? 'as the RFC requires' : 'NOT what the RFC requires'}.`);
  return result;
}
