/**
 * "What RFC 6455 expects" next to what each side of a conversation did (issue 12, the debugger on
 * the proxy): from a leg's frames, violations and end, the things a learner should see judged
 * against the RFC: a Ping answered (late, or never), a Close echoed or left unanswered, a close
 * code that must never be sent, a 1002 from a peer that judged what it received, and every
 * violation our side caught. Works per leg, so a proxied conversation is judged on each of its
 * legs (each is its own WebSocket connection with the proxy as one endpoint) and a direct one on
 * its single leg. Pure: plain data in, plain data out; no clock (the caller says what "now" is).
 *
 * `quote` is RFC 6455 verbatim, in the section cited (test/core/rfc-expectations.test.ts checks
 * every one against the RFC's text); `paraphrase` is our words and is shown as such.
 */

import { Opcode } from './constants.ts';
import { displayRule } from './errors.ts';
import type { RfcQuote } from './lessons/lesson.ts';
import type { Direction, TracedViolation } from './trace.ts';

export interface ExpectationRule {
  section: string;
  /** The RFC's words, or null when the rule is only paraphrased. */
  quote: RfcQuote | null;
  /** Our words (shown as "In other words: …", never in quotation marks). */
  paraphrase: string;
}

export type ExpectationId = 'pong' | 'close-echo' | 'reserved-1005' | 'reserved-1006' | 'reserved-1015' | 'close-1002' | 'endpoint-pong';

export const EXPECTATION_RULES: Record<ExpectationId, ExpectationRule> = {
  pong: {
    section: '§5.5.2',
    quote: { section: '§5.5.2', text: 'Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame. It SHOULD respond with Pong frame as soon as is practical.' },
    paraphrase: 'A Ping must draw a Pong carrying the same application data, soon; only an endpoint that already received a Close may leave it unanswered.',
  },
  'endpoint-pong': {
    section: '§5.5.2',
    quote: { section: '§5.5.2', text: 'Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.' },
    paraphrase: 'Each leg of a proxied conversation is its own WebSocket connection, so the proxy is the endpoint there and answers the Ping itself; it also passes the Ping on, and the far end\'s Pong comes back as an unsolicited Pong, which §5.5.3 allows.',
  },
  'close-echo': {
    section: '§5.5.1',
    quote: { section: '§5.5.1', text: 'If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.' },
    paraphrase: 'The closing handshake is a Close each way; an endpoint that only drops TCP leaves the other side to report 1006 (closed abnormally).',
  },
  'reserved-1005': {
    section: '§7.4.1',
    quote: { section: '§7.4.1', text: '1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint.' },
    paraphrase: '1005 is what an application reports when a Close carried no code; it never travels in a Close frame.',
  },
  'reserved-1006': {
    section: '§7.4.1',
    quote: { section: '§7.4.1', text: '1006 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint.' },
    paraphrase: '1006 is what an application reports when the connection ended without a closing handshake; it never travels in a Close frame.',
  },
  'reserved-1015': {
    section: '§7.4.1',
    quote: { section: '§7.4.1', text: '1015 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint.' },
    paraphrase: '1015 reports a failed TLS handshake; it never travels in a Close frame.',
  },
  'close-1002': {
    section: '§7.4.1',
    quote: { section: '§7.4.1', text: '1002 indicates that an endpoint is terminating the connection due to a protocol error.' },
    paraphrase: 'The peer judged something it received on this leg to break the protocol (a frame the proxy sent: a copy, or one injected or edited in the debugger) and failed the connection (§7.1.7).',
  },
};

/** A Ping answered later than this (ms) is shown as late: "as soon as is practical" names no figure, this is ours. */
export const LATE_PONG_MS = 1000;
/** A Ping still unanswered after this long (ms) on an open leg is shown as unanswered so far. */
export const UNANSWERED_PING_MS = 5000;

/** One frame of a leg, as much as the judgement needs. */
export interface ObservedFrame {
  frameId: number;
  direction: Direction;
  opcode: number;
  /** ms, the trace's clock. */
  time: number;
  /** Ping and Pong: the payload as hex (to match a Pong to its Ping). */
  payloadHex?: string;
  /** Close: its code (null: none). */
  closeCode?: number | null;
}

/** One leg: its connection id, our role on it, its frames in order, the violations its peer committed, and its end. */
export interface ObservedLeg {
  id: string;
  /** Our endpoint's role on this leg: 'server' → the peer is the client. */
  role: 'server' | 'client';
  /** The leg is one of a proxied conversation (then our endpoint is the proxy). */
  proxied: boolean;
  frames: readonly ObservedFrame[];
  violations: ReadonlyArray<{ time: number; direction: Direction; frameId?: number; violation: TracedViolation }>;
  closed?: { time: number; wasClean: boolean; code: number };
  /**
   * Some of the leg's frames are not in `frames` (folded for a window that fell behind, or gone
   * from a bounded list): then nothing is judged by its absence (a Pong or a Close never seen).
   */
  gaps?: boolean;
}

export type Side = 'client' | 'server' | 'proxy' | 'app';
export type Verdict = 'ok' | 'late' | 'broke' | 'waiting';

export interface Expectation {
  key: string;
  /** Who did it. */
  side: Side;
  legId: string;
  time: number;
  /** The frame it is about (to open it). */
  frameId?: number;
  verdict: Verdict;
  /** What that side did, in plain words. */
  did: string;
  /** What RFC 6455 expects: a rule of ours, or a violation's own rule. */
  rule: ExpectationRule;
}

/** The RFC's rule of a violation, as the violation table has it (verbatim only when the table says so). */
export function violationRule(v: TracedViolation): ExpectationRule {
  const shown = displayRule(v.code, v.rule);
  const quoted = shown.startsWith('“');
  return { section: v.rfcSection, quote: quoted ? { section: v.rfcSection, text: v.rule } : null, paraphrase: quoted ? '' : v.rule };
}

/** How far (in frames) a Pong is looked for after its Ping. */
const PONG_SEARCH_SPAN = 2000;

function pongFor(frames: readonly ObservedFrame[], i: number): ObservedFrame | undefined {
  const ping = frames[i]!;
  for (let j = i + 1; j < frames.length && j - i <= PONG_SEARCH_SPAN; j++) {
    const g = frames[j]!;
    if (g.opcode === Opcode.Pong && g.direction !== ping.direction && g.payloadHex === ping.payloadHex) return g;
  }
  return undefined;
}

function lastSentBefore(frames: readonly ObservedFrame[], i: number): ObservedFrame | undefined {
  for (let j = i - 1; j >= 0; j--) if (frames[j]!.direction === 'out' && frames[j]!.opcode !== Opcode.Close) return frames[j];
  return undefined;
}

const formatMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${Math.round(ms * 1000)} µs`);

/** What each side of one leg did, judged against the RFC, oldest first. `now`: the trace's clock now. */
export function legExpectations(leg: ObservedLeg, now: number): Expectation[] {
  const peer: Side = leg.role === 'server' ? 'client' : 'server';
  const us: Side = leg.proxied ? 'proxy' : 'app';
  const ours = us === 'proxy' ? 'the proxy' : 'this app';
  const out: Expectation[] = [];
  const add = (e: Omit<Expectation, 'key' | 'legId'>) => out.push({ ...e, legId: leg.id, key: `${leg.id}:${e.frameId ?? 'end'}:${out.length}` });
  const frames = leg.frames;
  const firstClose = (direction: Direction) => frames.find((f) => f.direction === direction && f.opcode === Opcode.Close);
  const closeIn = firstClose('in');
  const closeOut = firstClose('out');
  /** Frames the peer committed a violation with (that entry says it): not judged twice. */
  const violated = new Set<number>();

  for (const [i, f] of frames.entries()) {
    if (f.opcode === Opcode.Ping) {
      const pong = pongFor(frames, i);
      if (f.direction === 'out') {
        // We pinged the peer: it owes a Pong, unless our Close reached it first.
        if (closeOut && closeOut.time <= f.time) continue;
        const by = `${peer === 'client' ? 'The client' : 'The server'}`;
        if (pong) {
          const ms = pong.time - f.time;
          add({ side: peer, time: pong.time, frameId: pong.frameId, verdict: ms > LATE_PONG_MS ? 'late' : 'ok', did: `${by} answered Ping #${f.frameId} with Pong #${pong.frameId} after ${formatMs(ms)}${ms > LATE_PONG_MS ? ` (later than ${LATE_PONG_MS} ms, our mark for "as soon as is practical")` : ''}.`, rule: EXPECTATION_RULES.pong });
        } else if (leg.gaps) {
          continue;
        } else if (leg.closed || (closeIn && closeIn.time > f.time)) {
          add({ side: peer, time: f.time, frameId: f.frameId, verdict: 'broke', did: `${by} never answered Ping #${f.frameId}: ${closeIn && closeIn.time > f.time ? `it sent Close #${closeIn.frameId} instead` : 'the leg closed without a Pong'}.`, rule: EXPECTATION_RULES.pong });
        } else if (now - f.time > UNANSWERED_PING_MS) {
          add({ side: peer, time: f.time, frameId: f.frameId, verdict: 'waiting', did: `${by} has not answered Ping #${f.frameId} for ${formatMs(now - f.time)}.`, rule: EXPECTATION_RULES.pong });
        }
      } else if (pong) {
        // The peer pinged us: our endpoint answers.
        add({ side: us, time: pong.time, frameId: pong.frameId, verdict: 'ok', did: `${ours === 'the proxy' ? 'The proxy' : 'This app'} answered Ping #${f.frameId} itself with Pong #${pong.frameId} after ${formatMs(pong.time - f.time)}.`, rule: leg.proxied ? EXPECTATION_RULES['endpoint-pong'] : EXPECTATION_RULES.pong });
      }
    } else if (f.opcode === Opcode.Close && f.direction === 'in') {
      const code = f.closeCode ?? null;
      const by = peer === 'client' ? 'The client' : 'The server';
      if (code === 1005 || code === 1006 || code === 1015) {
        violated.add(f.frameId);
        add({ side: peer, time: f.time, frameId: f.frameId, verdict: 'broke', did: `${by} sent Close #${f.frameId} with code ${code}, a code for reporting only.`, rule: EXPECTATION_RULES[`reserved-${code}`] });
      } else if (code === 1002) {
        const before = lastSentBefore(frames, i);
        add({ side: peer, time: f.time, frameId: f.frameId, verdict: 'ok', did: `${by} closed with 1002 (protocol error)${before ? `: it judged what ${ours} sent on this leg, the last being frame #${before.frameId}` : ''}.`, rule: EXPECTATION_RULES['close-1002'] });
      }
    }
  }

  // The closing handshake: a Close sent to the peer that it did not start must be answered.
  if (closeOut && !(closeIn && closeIn.time <= closeOut.time)) {
    const by = peer === 'client' ? 'The client' : 'The server';
    if (closeIn) {
      add({ side: peer, time: closeIn.time, frameId: closeIn.frameId, verdict: 'ok', did: `${by} answered Close #${closeOut.frameId} with Close #${closeIn.frameId}${closeIn.closeCode !== undefined && closeIn.closeCode !== null ? ` (${closeIn.closeCode})` : ''} after ${formatMs(closeIn.time - closeOut.time)}.`, rule: EXPECTATION_RULES['close-echo'] });
    } else if (leg.closed && !leg.gaps) {
      add({ side: peer, time: leg.closed.time, frameId: closeOut.frameId, verdict: 'broke', did: `${by} closed TCP without answering Close #${closeOut.frameId} with its own Close.`, rule: EXPECTATION_RULES['close-echo'] });
    }
  } else if (closeIn && closeOut) {
    add({ side: us, time: closeOut.time, frameId: closeOut.frameId, verdict: 'ok', did: `${us === 'proxy' ? 'The proxy' : 'This app'} answered the ${peer}'s Close #${closeIn.frameId} with Close #${closeOut.frameId} after ${formatMs(closeOut.time - closeIn.time)}.`, rule: EXPECTATION_RULES['close-echo'] });
  }

  // Violations the peer committed (what our side caught and how it closed).
  for (const v of leg.violations) {
    if (v.direction !== 'in' || (v.frameId !== undefined && violated.has(v.frameId))) continue;
    add({
      side: peer, time: v.time, ...(v.frameId !== undefined ? { frameId: v.frameId } : {}), verdict: 'broke',
      did: `${v.violation.message.replace(/\.$/, '')}${v.violation.closeCode ? ` (${ours} closed this leg with ${v.violation.closeCode})` : ''}.`,
      rule: violationRule(v.violation),
    });
  }
  return out.sort((a, b) => a.time - b.time);
}
