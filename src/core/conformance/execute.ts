/**
 * Runs one case's steps over a Wire and judges the peer: pass, non-strict or fail, with the
 * reason in plain words. The Wire is the only I/O, so the judging can be tested with a scripted
 * fake peer as well as over real sockets.
 */

import { concatBytes, utf8DecodeLenient } from '../bytes.ts';
import { describeOpcode, Opcode } from '../constants.ts';
import type { Extension } from '../extensions/extension.ts';
import { encodeClosePayload, encodeFrame } from '../frame-codec.ts';
import { randomMaskKey } from '../protocol.ts';
import type { ConformanceCase, FrameDef, Step } from './cases.ts';
import { compressedFrames } from './deflate.ts';
import type { PeerEvent } from './observer.ts';

export type Outcome = 'pass' | 'non-strict' | 'fail';

/** Autobahn's words for a case's outcome (its report's "behavior"). */
export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';
/** Autobahn's words for how the connection ended (its report's "behaviorClose"). */
export type CloseBehavior = 'OK' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED BY CLIENT' | 'INFORMATIONAL' | 'FAILED';

export interface Verdict {
  outcome: Outcome;
  /** Why (empty for a plain pass; notes such as "answered only the last ping" may appear on a pass). */
  reason: string;
  /** Autobahn's behavior; when absent it follows from outcome (pass: OK, non-strict: NON-STRICT, fail: FAILED). */
  behavior?: Behavior;
  /** Autobahn's behaviorClose; absent: OK unless the case failed. */
  behaviorClose?: CloseBehavior;
  /** The code of the peer's Close frame (null: a Close without a code, undefined: no Close came). */
  remoteCloseCode?: number | null;
}

/** A verdict's Autobahn behavior and close behavior, filled in from its outcome where the executor left them out. */
export function autobahnBehavior(verdict: Verdict): { behavior: Behavior; behaviorClose: CloseBehavior; remoteCloseCode: number | null } {
  const fromOutcome: Record<Outcome, Behavior> = { pass: 'OK', 'non-strict': 'NON-STRICT', fail: 'FAILED' };
  return {
    behavior: verdict.outcome === 'fail' ? 'FAILED' : verdict.behavior ?? fromOutcome[verdict.outcome],
    behaviorClose: verdict.behaviorClose ?? (verdict.outcome === 'fail' ? 'FAILED' : 'OK'),
    remoteCloseCode: verdict.remoteCloseCode ?? null,
  };
}

/**
 * Extra wait for an expected answer, per byte sent or awaited: 1 ms per KiB (a peer that moves
 * 1 MiB/s each way still passes). A fixed wait failed slow but correct peers: websocket-client
 * took 3.9 s to echo 16 MiB. The step timeout (and --time-scale) still applies on top.
 */
const WAIT_BYTES_PER_MS = 1024;

/** Our side of one connection to the peer under test. */
export interface Wire {
  /** Writes the bytes as one write; resolves once handed to the OS (or at once if the socket is gone). */
  write(bytes: Uint8Array): Promise<void>;
  /** The next event from the peer, or null when none came within timeoutMs. */
  next(timeoutMs: number): Promise<PeerEvent | null>;
  /** Half-close our side (TCP FIN). */
  end(): void;
  /** A line for the wire log. */
  note(text: string): void;
  /** An outgoing frame, for the wire log. */
  frameOut?(bytes: Uint8Array, payload: Uint8Array): void;
}

export interface ExecuteOptions {
  /** Our role: 'client' when the peer under test is a server (we mask, §5.3), 'server' otherwise. */
  role: 'client' | 'server';
  /** How long to wait for each expected answer. */
  stepTimeoutMs: number;
  /** How long to wait for TCP to close after the closing handshake. */
  closeTimeoutMs: number;
  /** Absolute time (Date.now()) by which the case must end. */
  deadline: number;
  /** Bytes to put in front of the first write of a step marked withHandshake (the 101 response). */
  handshakePrefix?: Uint8Array;
  maskKey?: () => Uint8Array;
  /** The case's steps if already built (c.steps() otherwise). */
  steps?: Step[];
  /** Multiplies the cases' own waits (fail-fast windows); default 1. */
  timeScale?: number;
  /** The extension the handshake agreed (permessage-deflate), for the compressed cases' send-message steps. */
  extension?: Extension | null;
  /**
   * A compressed case whose peer declined permessage-deflate (or offered none): why, in words.
   * The case then only closes normally and is judged non-strict, as Autobahn's UNIMPLEMENTED.
   */
  unimplemented?: string;
}

class CaseFailed extends Error {}

function fail(reason: string): never {
  throw new CaseFailed(reason);
}

function preview(bytes: Uint8Array, max = 24): string {
  const isText = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (isText) {
    const s = utf8DecodeLenient(bytes.subarray(0, max));
    return `"${s}${bytes.length > max ? '…' : ''}"`;
  }
  return Array.from(bytes.subarray(0, Math.min(bytes.length, 12)), (b) => b.toString(16).padStart(2, '0')).join(' ') + (bytes.length > 12 ? ' …' : '');
}

function closeText(code: number | null, reason: string): string {
  return code === null ? 'an empty Close (no status code)' : `Close ${code}${reason ? ` "${reason.length > 40 ? reason.slice(0, 40) + '…' : reason}"` : ''}`;
}

/** What the peer did, as the end of a sentence starting with "the peer". */
export function describeEvent(event: PeerEvent): string {
  switch (event.type) {
    case 'message':
      return `sent a ${describeOpcode(event.opcode).name} message of ${event.data.length} bytes${event.frames > 1 ? ` in ${event.frames} frames` : ''} (${preview(event.data)})`;
    case 'ping':
      return `sent a ping (${event.payload.length} bytes)`;
    case 'pong':
      return `sent a pong (${event.payload.length} bytes${event.payload.length ? `: ${preview(event.payload)}` : ''})`;
    case 'close':
      return `sent ${closeText(event.code, event.reason)}`;
    case 'violation':
      return `broke a rule: it ${event.message} (${event.rfcSection})`;
    case 'eof':
      return `closed TCP without a Close frame (${event.detail})`;
  }
}

function describeDifference(expected: Uint8Array, got: Uint8Array): string {
  if (expected.length !== got.length) return `${got.length} bytes instead of ${expected.length}`;
  let i = 0;
  while (i < expected.length && expected[i] === got[i]) i++;
  return `byte ${i} is 0x${(got[i] ?? 0).toString(16).padStart(2, '0')} instead of 0x${(expected[i] ?? 0).toString(16).padStart(2, '0')}`;
}

function startsWithBom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs a case over a connected, handshaken wire and judges the peer. Never throws. */
export async function executeCase(c: ConformanceCase, wire: Wire, options: ExecuteOptions): Promise<Verdict> {
  const nonStrict: string[] = [];
  const notes: string[] = [];
  /** What makes the case Autobahn's INFORMATIONAL (a difference the RFC does not judge). */
  const informational: string[] = [];
  let closeBehavior: CloseBehavior | undefined;
  let remoteCloseCode: number | null | undefined;
  /** Bytes written since the last expected answer arrived: the next wait grows with them. */
  let sentSinceExpect = 0;
  const maskKey = options.maskKey ?? randomMaskKey;
  const peerName = options.role === 'client' ? 'the server' : 'the client';
  let held: Uint8Array | null = null;
  let closeSent = false;
  let pushedBack: PeerEvent | null = null;
  let prefix = options.handshakePrefix ?? null;

  const remaining = () => options.deadline - Date.now();

  const encode = (def: FrameDef): Uint8Array => {
    const masked = (options.role === 'client') !== (def.wrongMask === true);
    const bytes = encodeFrame({
      opcode: def.opcode, payload: def.payload ?? new Uint8Array(0), fin: def.fin ?? true,
      rsv1: def.rsv1 ?? false, rsv2: def.rsv2 ?? false, rsv3: def.rsv3 ?? false,
      maskKey: masked ? maskKey() : null,
      ...(def.lengthEncoding ? { lengthEncoding: def.lengthEncoding } : {}),
      ...(def.declaredLength !== undefined ? { declaredLength: def.declaredLength } : {}),
    });
    wire.frameOut?.(bytes, def.payload ?? new Uint8Array(0));
    if (def.opcode === Opcode.Close) closeSent = true;
    return bytes;
  };

  const writeBytes = async (bytes: Uint8Array, chop?: number, delayMs?: number) => {
    sentSinceExpect += bytes.length;
    if (!chop || chop >= bytes.length) {
      if (delayMs) await sleep(delayMs);
      await wire.write(bytes);
      return;
    }
    for (let at = 0; at < bytes.length; at += chop) {
      if (remaining() <= 0) fail('the case ran out of time while sending');
      await wire.write(bytes.subarray(at, at + chop));
      if (delayMs && at + chop < bytes.length) await sleep(delayMs);
    }
  };

  const runSend = async (step: Extract<Step, { kind: 'send' | 'send-held' }>) => {
    if (step.kind === 'send-held') {
      if (!held) return;
      const bytes = held;
      held = null;
      wire.note(`sending the ${bytes.length} bytes held back`);
      await writeBytes(bytes, step.chop, step.delayMs);
      return;
    }
    if (step.perFrame) {
      for (const [i, frame] of step.frames.entries()) {
        if (i > 0 && step.delayMs) await sleep(step.delayMs);
        await writeBytes(encode(frame), step.chop, step.chop ? step.delayMs : undefined);
      }
      return;
    }
    let bytes = concatBytes(step.frames.map(encode));
    if (step.holdBack) {
      held = bytes.subarray(bytes.length - step.holdBack);
      bytes = bytes.subarray(0, bytes.length - step.holdBack);
    }
    if (step.withHandshake && prefix) {
      bytes = concatBytes([prefix, bytes]);
      prefix = null;
    }
    await writeBytes(bytes, step.chop, step.delayMs);
  };

  /** The next event, answering pings from the peer on the way (they are not what cases judge). */
  const nextEvent = async (timeoutMs: number): Promise<PeerEvent | null> => {
    if (pushedBack) {
      const e = pushedBack;
      pushedBack = null;
      return e;
    }
    for (;;) {
      const left = remaining();
      if (left <= 0) fail(`the case ran out of time (${c.timeoutMs} ms)`);
      const event = await wire.next(Math.min(timeoutMs, left));
      if (event === null && remaining() <= 0) fail(`the case ran out of time (${c.timeoutMs} ms)`);
      if (event?.type === 'ping') {
        if (!closeSent) await wire.write(encode({ opcode: Opcode.Pong, payload: event.payload }));
        continue;
      }
      return event;
    }
  };

  /** How long to wait for an answer of awaitedBytes after what we sent since the last one (grows with the bytes). */
  const waitFor = (awaitedBytes: number): number => {
    const extra = Math.ceil((sentSinceExpect + awaitedBytes) / WAIT_BYTES_PER_MS) * (options.timeScale ?? 1);
    sentSinceExpect = 0;
    return options.stepTimeoutMs + extra;
  };

  /**
   * A pong where another answer is awaited. §5.5.3: "A Pong frame MAY be sent unsolicited", and
   * §5.5.2 only exempts an endpoint that received a Close from answering a Ping ("unless it already
   * received a Close frame"); it does not forbid the answer. So a pong is noted, never judged.
   */
  const notePong = (event: Extract<PeerEvent, { type: 'pong' }>, when: string) => {
    notes.push(`${peerName} ${describeEvent(event)} ${when} (allowed: §5.5.2 exempts answering a ping after a Close, it does not forbid it; §5.5.3 allows unsolicited pongs)`);
  };

  /** After the peer's Close: answer it if we have not sent one, then TCP must close. */
  const afterPeerClose = async (event: Extract<PeerEvent, { type: 'close' }>) => {
    remoteCloseCode = event.code;
    if (!closeSent) await wire.write(encode({ opcode: Opcode.Close, payload: event.payload }));
    // §7.1.1: "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server".
    if (options.role === 'server') wire.end();
    let after = await nextEvent(options.closeTimeoutMs);
    // §5.5.1 forbids data frames after a Close; a pong (or ping) after it is not a data frame.
    while (after?.type === 'pong' || after?.type === 'ping') {
      if (after.type === 'pong') notePong(after, 'after its Close');
      else notes.push(`${peerName} sent a ping after its Close (not a data frame, so §5.5.1 allows it; not answered)`);
      after = await nextEvent(options.closeTimeoutMs);
    }
    if (after === null) {
      if (options.role === 'client') closeBehavior ??= 'FAILED BY CLIENT';
      nonStrict.push(options.role === 'client'
        ? `the server did not close TCP within ${options.closeTimeoutMs} ms of the closing handshake (§7.1.1: the server SHOULD close it first)`
        : `the client did not close TCP within ${options.closeTimeoutMs} ms after the server closed it`);
    } else if (after.type !== 'eof') {
      fail(`after its Close, ${peerName} ${describeEvent(after)}`);
    }
  };

  const expectWhat = (opcode: number, payload: Uint8Array) => `an echo of the ${describeOpcode(opcode).name} message (${payload.length} bytes)`;

  // Autobahn's UNIMPLEMENTED: the extension is optional (RFC 7692 §5), so a peer that declines it
  // has done nothing wrong, and nothing about compression could be tested: close normally.
  const steps: Step[] = options.unimplemented
    ? [{ kind: 'send', frames: [{ opcode: Opcode.Close, payload: encodeClosePayload(1000) }] }, { kind: 'expect-close', code: 1000 }]
    : options.steps ?? c.steps();
  if (options.unimplemented) {
    wire.note(`unimplemented: ${options.unimplemented}; closing normally`);
    nonStrict.push(`unimplemented (Autobahn's UNIMPLEMENTED): ${options.unimplemented}, which RFC 7692 §5 allows; nothing about compression was tested`);
  }
  try {
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index]!;
      switch (step.kind) {
        case 'send':
        case 'send-held':
          await runSend(step);
          break;
        case 'send-message': {
          if (!options.extension) fail('internal: a compressed message, but no extension was agreed');
          const frames = compressedFrames(options.extension, step.opcode, step.payload, step.fragmentSize);
          await writeBytes(concatBytes(frames.map(encode)));
          break;
        }
        case 'sleep':
          await sleep(Math.min(step.ms, Math.max(0, remaining())));
          break;
        case 'expect-message': {
          const what = expectWhat(step.opcode, step.payload);
          const waitMs = waitFor(step.payload.length);
          wire.note(`expecting ${what} (waiting up to ${waitMs} ms)`);
          const event = await nextEvent(waitMs);
          if ((step.optional || step.missingIsNonStrict) && event !== null && event.type !== 'message') {
            if (step.missingIsNonStrict) nonStrict.push(`${peerName} ${describeEvent(event)} without sending ${what} first: ${step.missingIsNonStrict}`);
            else notes.push(`${peerName} ${describeEvent(event)} without sending ${what} first (optional here)`);
            pushedBack = event;
            break;
          }
          if (!event) fail(`expected ${what}; nothing came within ${waitMs} ms`);
          if (event.type !== 'message') fail(`expected ${what}, but ${peerName} ${describeEvent(event)}`);
          if (event.opcode !== step.opcode) fail(`expected ${what}, but ${peerName} ${describeEvent(event)}`);
          if (step.opcode === Opcode.Text && startsWithBom(step.payload) && bytesEqual(event.data, step.payload.subarray(3))) {
            // The frames were valid UTF-8 both ways; only the leading U+FEFF is gone, which is what a
            // client API does that decodes text with the WHATWG "UTF-8 decode" (it strips a BOM).
            informational.push(`the echo lacks the leading byte order mark (EF BB BF): the peer's API strips a BOM when it decodes text (the WHATWG Encoding Standard's "UTF-8 decode" does; undici's WebSocket does), which is not a framing error under RFC 6455 (§5.6 asks only for valid UTF-8)`);
            break;
          }
          if (!bytesEqual(event.data, step.payload)) fail(`the echo of the ${describeOpcode(step.opcode).name} message differs: ${describeDifference(step.payload, event.data)}`);
          break;
        }
        case 'expect-pong': {
          wire.note(`expecting a pong with ${step.payload.length} payload bytes`);
          const event = await nextEvent(waitFor(step.payload.length));
          if (!event) fail(`expected a pong; nothing came within ${options.stepTimeoutMs} ms`);
          if (event.type !== 'pong') fail(`expected a pong (${step.payload.length} bytes), but ${peerName} ${describeEvent(event)}`);
          if (!bytesEqual(event.payload, step.payload)) fail(`the pong's payload differs from the ping's: ${describeDifference(step.payload, event.payload)}`);
          break;
        }
        case 'expect-pongs': {
          wire.note(`expecting ${step.payloads.length} pongs`);
          const got: Uint8Array[] = [];
          for (;;) {
            const event = await nextEvent(options.stepTimeoutMs);
            if (event?.type === 'pong' && got.length < step.payloads.length) {
              got.push(event.payload);
              continue;
            }
            pushedBack = event;
            break;
          }
          const all = got.length === step.payloads.length && got.every((p, i) => bytesEqual(p, step.payloads[i]!));
          if (!all) {
            // §5.5.3: a Pong for only the most recent Ping is allowed; it must still be in order.
            let at = 0;
            const ordered = got.every((p) => {
              while (at < step.payloads.length && !bytesEqual(step.payloads[at]!, p)) at++;
              return at++ < step.payloads.length;
            });
            const endsWithLast = got.length > 0 && bytesEqual(got[got.length - 1]!, step.payloads[step.payloads.length - 1]!);
            if (!ordered || !endsWithLast) fail(`expected pongs for ${step.payloads.length} pings in order; got ${got.length} pong(s)${got.length ? ` (${got.map((p) => preview(p)).join(', ')})` : ''}`);
            notes.push(`answered ${got.length} of ${step.payloads.length} pings, ending with the last (allowed, §5.5.3)`);
          }
          break;
        }
        case 'expect-close': {
          const expected = closeText(step.code, step.reason ? utf8DecodeLenient(step.reason) : '');
          wire.note(`expecting ${expected} in answer to our Close`);
          let event = await nextEvent(waitFor(0));
          while (event?.type === 'pong') {
            notePong(event, 'before answering our Close');
            event = await nextEvent(options.stepTimeoutMs);
          }
          const refused = (how: string) => {
            // 1012-1014 came after RFC 6455 (IANA registry, §11.7): a peer that knows only §7.4.1's
            // list refuses them. However it refuses (Close 1002 or dropping TCP), it is graded the same.
            closeBehavior = how.startsWith('dropped') ? 'UNCLEAN' : 'WRONG CODE';
            nonStrict.push(`refused Close ${step.code} (${how}): the code is valid, registered in the IANA "WebSocket Close Code Number" registry (§11.7) after RFC 6455, whose §7.4.1 list it is not in; a peer that knows only that list refuses it`);
          };
          if (!event) fail(`expected ${expected} in answer to our Close; nothing came within ${options.stepTimeoutMs} ms`);
          if (event.type === 'eof' && step.registeredLater) {
            refused('dropped TCP without a Close frame');
            return verdict();
          }
          if (event.type === 'eof') fail(`${peerName} closed TCP without answering our Close (§5.5.1: it MUST send a Close frame in response)`);
          if (event.type !== 'close') fail(`expected ${expected} in answer to our Close, but ${peerName} ${describeEvent(event)}`);
          // An echo of the code or Close 1000 both pass (Autobahn 7.7.X); the reason is not compared
          // (Autobahn 7.3.4): §5.5.1 says only that an endpoint "typically echos the status code".
          if (event.code === step.code || (event.code === 1000 && step.code !== null) || step.alsoPass?.includes(event.code)) {
            // pass
          } else if (step.registeredLater && event.code === 1002) {
            refused('answered Close 1002');
          } else {
            closeBehavior = 'WRONG CODE';
            nonStrict.push(`answered with ${closeText(event.code, event.reason)} instead of echoing ${expected} or answering Close 1000 (§5.5.1: "the endpoint typically echos the status code it received")`);
          }
          await afterPeerClose(event);
          return verdict();
        }
        case 'expect-fail': {
          const codes = step.codes.join(' or ');
          wire.note(`expecting the connection to fail with Close ${codes}`);
          const failFastMs = step.failFast ? step.failFast.waitMs * (options.timeScale ?? 1) : 0;
          let event = await nextEvent(step.failFast ? failFastMs : options.stepTimeoutMs);
          if (event === null && step.failFast) {
            wire.note(`no failure within ${failFastMs} ms: sending the rest`);
            await runSend(step.failFast.then);
            event = await nextEvent(options.stepTimeoutMs);
            if (event && (event.type === 'close' || event.type === 'eof')) {
              nonStrict.push('failed only after the rest of the data arrived, not as soon as the invalid bytes did (not fail-fast)');
            }
          }
          if (!event) fail(`expected the connection to fail with Close ${codes}; ${peerName} did nothing within ${options.stepTimeoutMs} ms`);
          if (event.type === 'eof') {
            closeBehavior = 'UNCLEAN';
            nonStrict.push(`dropped TCP without a Close frame (§7.1.7: it SHOULD send Close ${codes} first)`);
            return verdict();
          }
          // The offending frame was our Close: a Close in answer means the peer took it as valid.
          const ourCloseWasTheFault = closeSent;
          if (event.type === 'violation') {
            fail(ourCloseWasTheFault ? `${peerName} accepted our invalid Close instead of failing with ${codes}, and its answer ${describeEvent(event).replace(/^broke a rule: it /, '')}` : `${peerName} ${describeEvent(event)}`);
          }
          if (event.type !== 'close') fail(`expected the connection to fail with Close ${codes}, but ${peerName} ${describeEvent(event)}`);
          const acceptable = step.acceptable?.find((a) => a.code === event.code);
          if (acceptable) {
            notes.push(`failed with ${closeText(event.code, event.reason)}: ${acceptable.why}`);
          } else if (event.code === null || !step.codes.includes(event.code)) {
            closeBehavior = 'WRONG CODE';
            nonStrict.push(ourCloseWasTheFault
              ? `accepted our invalid Close: it answered with ${closeText(event.code, event.reason)} as to a valid one, instead of failing the connection with Close ${codes}`
              : `failed the connection with ${closeText(event.code, event.reason)} instead of ${codes}`);
          }
          await afterPeerClose(event);
          return verdict();
        }
      }
    }
    fail('internal: the case has no closing step');
  } catch (error) {
    const reason = error instanceof CaseFailed ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    return { outcome: 'fail', reason, behavior: 'FAILED', behaviorClose: 'FAILED', ...(remoteCloseCode !== undefined ? { remoteCloseCode } : {}) };
  }

  function verdict(): Verdict {
    const outcome: Outcome = nonStrict.length > 0 ? 'non-strict' : 'pass';
    // Autobahn's behavior: UNIMPLEMENTED (an optional extension declined), INFORMATIONAL (a case
    // Autobahn does not grade, or a difference RFC 6455 does not judge), NON-STRICT, OK.
    const behavior: Behavior = options.unimplemented ? 'UNIMPLEMENTED'
      : c.informational ? 'INFORMATIONAL'
        : nonStrict.length > 0 ? 'NON-STRICT'
          : informational.length > 0 ? 'INFORMATIONAL' : 'OK';
    if (c.informational) notes.push(`informational: ${c.informational}`);
    const reason = [...nonStrict, ...informational, ...notes].join('; ');
    return {
      outcome, reason, behavior, behaviorClose: c.informational ? 'INFORMATIONAL' : closeBehavior ?? 'OK',
      ...(remoteCloseCode !== undefined ? { remoteCloseCode } : {}),
    };
  }
}
