/**
 * The conformance battery: cases modelled on the Autobahn TestSuite's categories, written from
 * scratch. A case is plain data: the frames to send (as FrameSpec fields, so the same case runs
 * in both directions: the runner masks them when it plays the client and leaves them unmasked
 * when it plays the server), how to put them on the wire (whole, chopped into small TCP writes,
 * with pauses, or held back part-way), and what the peer under test must do.
 *
 * The peer under test is an echo endpoint: it sends every message back as it came.
 *
 * Case ids follow Autobahn's numbering scheme ("5.3", "6.8.12"). Like Autobahn there is no
 * category 8. Categories 12 and 13 are compressed messages (permessage-deflate, RFC 7692): those
 * cases negotiate the extension (case.deflate says how, in both roles) and send their messages
 * compressed; every other case offers and accepts no extension. Payloads of the big cases are
 * built only when the case runs (steps() is lazy).
 */

import { Opcode } from '../constants.ts';
import { encodeClosePayload } from '../frame-codec.ts';
import { corpora, corpusSlices, type CaseDeflate, type CorpusName, type DeflateAnswer, type DeflateOffer } from './deflate-data.ts';

/** One frame to send. The runner adds the masking key its role requires (§5.3). */
export interface FrameDef {
  opcode: number;
  payload?: Uint8Array;
  /** Default true. */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Force a length encoding (default minimal, §5.2). */
  lengthEncoding?: 'minimal' | '7-bit' | '16-bit' | '64-bit';
  /** Write this into the length field instead of the real payload length. */
  declaredLength?: number;
  /** Break §5.1 on purpose: an unmasked frame from the client, or a masked one from the server. */
  wrongMask?: boolean;
}

export type Step =
  /**
   * Encode the frames and write them. chop: write in pieces of this many bytes (each its own
   * write); delayMs: pause between pieces (between frames with perFrame); holdBack: keep the last N bytes for a later
   * send-held step (a frame left unfinished on purpose); withHandshake: put these bytes in the
   * same TCP write as the 101 response (client under test only). perFrame: each frame its own
   * write (Autobahn's "frame-wise chops").
   */
  | { kind: 'send'; frames: FrameDef[]; chop?: number; delayMs?: number; holdBack?: number; withHandshake?: boolean; perFrame?: boolean }
  /** Write the bytes a previous send held back. */
  | { kind: 'send-held'; chop?: number; delayMs?: number }
  /**
   * A data message compressed with the agreed permessage-deflate (RFC 7692 §6.1, §7.2.1), its
   * compressed payload cut into frames of fragmentSize octets (0: one frame), RSV1 on the first.
   */
  | { kind: 'send-message'; opcode: number; payload: Uint8Array; fragmentSize?: number }
  | { kind: 'sleep'; ms: number }
  /**
   * The next thing from the peer must be this message (it may arrive fragmented any way).
   * optional: if something else comes first, it is left for the next step (noted, not judged);
   * missingIsNonStrict: as optional, but its absence is non-strict, for this reason.
   */
  | { kind: 'expect-message'; opcode: number; payload: Uint8Array; optional?: boolean; missingIsNonStrict?: string }
  /** The next thing from the peer must be a pong with this payload. */
  | { kind: 'expect-pong'; payload: Uint8Array }
  /**
   * Pongs for several pings: all of them in order passes; answering only some of them, ending
   * with the last, also passes (§5.5.3 "MAY elect to send a Pong frame for only the most recently
   * processed Ping frame"), with a note.
   */
  | { kind: 'expect-pongs'; payloads: Uint8Array[] }
  /**
   * We sent a Close: the peer must answer with a Close. The same code or Close 1000 passes, with
   * any reason (Autobahn 7.7.X and 7.3.4: §5.5.1 says only that "the endpoint typically echos the
   * status code it received"); another valid code is non-strict; alsoPass lists other codes that
   * pass (null: an empty Close). registeredLater: the code is one RFC 6455 does not list (1012-1014,
   * IANA registry): refusing it with Close 1002 or by dropping TCP is non-strict, either way.
   * Then TCP must close (the server closes first, §7.1.1).
   */
  | { kind: 'expect-close'; code: number | null; reason?: Uint8Array; alsoPass?: Array<number | null>; registeredLater?: boolean }
  /**
   * The peer must _Fail the WebSocket Connection_ (§7.1.7): a Close with one of these codes
   * passes; another code, or dropping TCP without a Close, is non-strict; echoing, answering or
   * waiting is a failure. failFast: wait this long for the failure before sending the rest
   * (`then`); failing only after the rest arrived is non-strict. acceptable: other codes that
   * pass too, each with why (noted in the verdict).
   */
  | { kind: 'expect-fail'; codes: number[]; failFast?: { waitMs: number; then: Extract<Step, { kind: 'send' | 'send-held' }> }; acceptable?: Array<{ code: number; why: string }> };

export type PeerKind = 'server' | 'client';

export interface Expectation {
  pass: string;
  nonStrict: string;
  fail: string;
}

export interface ConformanceCase {
  /** "5.3", "6.8.12" */
  id: string;
  category: number;
  categoryName: string;
  description: string;
  rfcSection: string;
  /** The steps, built when the case runs (big payloads are not kept in memory). */
  steps: () => Step[];
  /** The whole case must finish within this (connect and handshake included). */
  timeoutMs: number;
  /** Which peers under test the case applies to (some rules are role-specific). */
  peers: readonly PeerKind[];
  expectation: Expectation;
  /** Compressed cases: how permessage-deflate is offered (server under test) or answered (client under test). */
  deflate?: CaseDeflate;
  /** A case Autobahn reports as INFORMATIONAL (the outcome is implementation-defined): why. */
  informational?: string;
}

export const categories: ReadonlyArray<{ id: number; name: string }> = [
  { id: 1, name: 'Framing and lengths' },
  { id: 2, name: 'Ping and pong' },
  { id: 3, name: 'Reserved bits' },
  { id: 4, name: 'Opcodes' },
  { id: 5, name: 'Fragmentation' },
  { id: 6, name: 'UTF-8 handling' },
  { id: 7, name: 'Close handling' },
  { id: 9, name: 'Limits and performance' },
  { id: 10, name: 'Miscellaneous' },
  { id: 12, name: 'Compression: message sizes (permessage-deflate)' },
  { id: 13, name: 'Compression: parameters (permessage-deflate)' },
];

export function categoryName(id: number): string {
  return categories.find((c) => c.id === id)?.name ?? `Category ${id}`;
}

// ------------------------------------------------------------------------------------ payloads

const enc = new TextEncoder();
export function utf8(text: string): Uint8Array {
  return enc.encode(text);
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** ASCII text of exactly n bytes (a readable, non-repeating-looking pattern). */
export function textPayload(n: number): Uint8Array {
  const alphabet = utf8('abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ*-.');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = alphabet[(i * 7 + (i >> 8)) % alphabet.length]!;
  return out;
}

/** n bytes covering every value 0x00-0xff. */
export function binaryPayload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 8) + 0xfe) & 0xff;
  return out;
}

export function sizeLabel(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} byte${n === 1 ? '' : 's'}`;
}

// ------------------------------------------------------------------------------------ frame helpers

const text = (payload: Uint8Array | string, more: Partial<FrameDef> = {}): FrameDef => ({ opcode: Opcode.Text, payload: typeof payload === 'string' ? utf8(payload) : payload, ...more });
const binary = (payload: Uint8Array, more: Partial<FrameDef> = {}): FrameDef => ({ opcode: Opcode.Binary, payload, ...more });
const cont = (payload: Uint8Array | string, more: Partial<FrameDef> = {}): FrameDef => ({ opcode: Opcode.Continuation, payload: typeof payload === 'string' ? utf8(payload) : payload, ...more });
const ping = (payload: Uint8Array | string = new Uint8Array(0), more: Partial<FrameDef> = {}): FrameDef => ({ opcode: Opcode.Ping, payload: typeof payload === 'string' ? utf8(payload) : payload, ...more });
const pong = (payload: Uint8Array | string = new Uint8Array(0), more: Partial<FrameDef> = {}): FrameDef => ({ opcode: Opcode.Pong, payload: typeof payload === 'string' ? utf8(payload) : payload, ...more });
const close = (code: number | null = 1000, reason: Uint8Array | string = '', more: Partial<FrameDef> = {}): FrameDef => ({
  opcode: Opcode.Close,
  payload: code === null ? new Uint8Array(0) : concat(encodeClosePayload(code), typeof reason === 'string' ? utf8(reason) : reason),
  ...more,
});

/** Splits a payload into fragments of the given sizes (the rest goes into a last fragment). */
export function fragment(opcode: number, payload: Uint8Array, sizes: readonly number[]): FrameDef[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    pieces.push(payload.subarray(at, at + size));
    at += size;
  }
  if (at < payload.length || pieces.length === 0) pieces.push(payload.subarray(at));
  return pieces.map((p, i) => ({ opcode: i === 0 ? opcode : Opcode.Continuation, payload: p, fin: i === pieces.length - 1 }));
}

/** Fragments of a fixed size. */
export function fragmentEvery(opcode: number, payload: Uint8Array, size: number): FrameDef[] {
  const count = Math.max(1, Math.ceil(payload.length / size));
  return fragment(opcode, payload, Array.from({ length: count - 1 }, () => size));
}

/** Every byte in its own frame, then an empty final frame: every byte boundary is a fragment boundary. */
export function fragmentPerByte(opcode: number, payload: Uint8Array): FrameDef[] {
  const frames: FrameDef[] = [];
  for (let i = 0; i < payload.length; i++) frames.push({ opcode: i === 0 ? opcode : Opcode.Continuation, payload: payload.subarray(i, i + 1), fin: false });
  frames.push({ opcode: payload.length === 0 ? opcode : Opcode.Continuation, payload: new Uint8Array(0), fin: true });
  return frames;
}

// ------------------------------------------------------------------------------------ step helpers

type SendStep = Extract<Step, { kind: 'send' }>;
const send = (...frames: FrameDef[]): SendStep => ({ kind: 'send', frames });
const sendChopped = (chop: number, frames: FrameDef[], delayMs?: number): SendStep => ({ kind: 'send', frames, chop, ...(delayMs ? { delayMs } : {}) });
const expectText = (payload: Uint8Array | string): Step => ({ kind: 'expect-message', opcode: Opcode.Text, payload: typeof payload === 'string' ? utf8(payload) : payload });
const expectBinary = (payload: Uint8Array): Step => ({ kind: 'expect-message', opcode: Opcode.Binary, payload });
const expectPong = (payload: Uint8Array | string = new Uint8Array(0)): Step => ({ kind: 'expect-pong', payload: typeof payload === 'string' ? utf8(payload) : payload });
/** Our Close 1000 and the peer's answer. */
const closeNormally = (): Step[] => [send(close(1000)), { kind: 'expect-close', code: 1000 }];
const failWith = (...codes: number[]): Step => ({ kind: 'expect-fail', codes });
/** A message after something the peer must ignore: its echo proves nothing was sent before it. */
const SENTINEL = 'sentinel: nothing before me';

const FAIL_FAST_WAIT_MS = 2000;

/**
 * Autobahn's cases that put a valid message, an invalid frame and a ping in one go: the valid
 * message came whole before the invalid frame, so echoing it first is the strict behaviour;
 * failing before echoing it is what Autobahn grades NON-STRICT.
 */
const echoBeforeFailing = (payload: string): Step => ({
  kind: 'expect-message', opcode: Opcode.Text, payload: utf8(payload),
  missingIsNonStrict: 'the valid message came whole before the invalid frame, so its echo was due first (Autobahn grades this NON-STRICT)',
});

// ------------------------------------------------------------------------------------ the list

const cases: ConformanceCase[] = [];

interface Def {
  id: string;
  description: string;
  rfcSection: string;
  steps: () => Step[];
  timeoutMs?: number;
  peers?: readonly PeerKind[];
  informational?: string;
}

const BOTH: readonly PeerKind[] = ['server', 'client'];

function categoryOf(id: string): number {
  return Number(id.split('.')[0]);
}

/** A case where everything is valid: `what` says what the peer must send back. */
function valid(def: Def & { what: string }): void {
  cases.push({
    id: def.id, category: categoryOf(def.id), categoryName: categoryName(categoryOf(def.id)), description: def.description,
    rfcSection: def.rfcSection, steps: def.steps, timeoutMs: def.timeoutMs ?? 10_000, peers: def.peers ?? BOTH,
    expectation: {
      pass: `${def.what}, then answers our Close with the same code (or 1000, any reason) and TCP closes`,
      nonStrict: 'answers the Close with another valid code, or TCP is not closed within the close timeout',
      fail: 'no answer, a different answer or extra frames, an invalid frame, or no Close in answer to ours',
    },
  });
}

/** A case the peer must fail with one of `codes`. */
function invalid(def: Def & { codes: number[]; before?: string; failFast?: boolean; alsoPass?: string }): void {
  const codes = def.codes.join(' or ');
  cases.push({
    id: def.id, category: categoryOf(def.id), categoryName: categoryName(categoryOf(def.id)), description: def.description,
    rfcSection: def.rfcSection, steps: def.steps, timeoutMs: def.timeoutMs ?? 10_000, peers: def.peers ?? BOTH,
    ...(def.informational ? { informational: def.informational } : {}),
    expectation: {
      pass: `${def.before ? `${def.before}, then ` : ''}fails the connection with Close ${codes}${def.failFast ? ' before the rest is sent' : ''}${def.alsoPass ? ` (${def.alsoPass})` : ''}`,
      nonStrict: `fails with another close code, or drops TCP without a Close frame${def.failFast ? ', or fails only after the rest of the data arrived' : ''}`,
      fail: 'echoes or answers the offending data, keeps the connection open, or sends an invalid frame',
    },
  });
}

/** A case about the closing handshake itself. */
function closing(def: Def & { what: string; nonStrict?: string }): void {
  cases.push({
    id: def.id, category: categoryOf(def.id), categoryName: categoryName(categoryOf(def.id)), description: def.description,
    rfcSection: def.rfcSection, steps: def.steps, timeoutMs: def.timeoutMs ?? 10_000, peers: def.peers ?? BOTH,
    ...(def.informational ? { informational: def.informational } : {}),
    expectation: {
      pass: def.what,
      nonStrict: def.nonStrict ?? 'answers with another valid close code (neither the same nor 1000), or TCP is not closed in time',
      fail: 'no Close in answer, anything sent after its Close, or an invalid frame',
    },
  });
}

// ===================================================================== 1 Framing and lengths (§5.2)

const framingSizes = [0, 125, 126, 127, 128, 65535, 65536];
/** Chop small frames into 1-byte writes (the header itself arrives in pieces), big ones into 997-byte writes. */
const chopFor = (n: number) => (n <= 128 ? 1 : 997);

for (const [group, kind] of [[1, 'text'], [2, 'binary']] as const) {
  framingSizes.forEach((n, i) => {
    const make = () => (kind === 'text' ? textPayload(n) : binaryPayload(n));
    const lengthNote = n <= 125 ? '7-bit length' : n <= 65535 ? '16-bit extended length' : '64-bit extended length';
    valid({
      id: `1.${group}.${i + 1}`, description: `${kind} message, ${sizeLabel(n)} (${lengthNote}), sent whole`, rfcSection: '§5.2, §5.6',
      what: `echoes the ${kind} message`,
      steps: () => {
        const p = make();
        return [send(kind === 'text' ? text(p) : binary(p)), kind === 'text' ? expectText(p) : expectBinary(p), ...closeNormally()];
      },
    });
    valid({
      // Autobahn's 1.x.8 is the 65536-byte message in 997-byte writes; the other sizes chopped are ours (1.x.9-1.x.14).
      id: `1.${group}.${n === 65536 ? 8 : 9 + i}`, description: `${kind} message, ${sizeLabel(n)} (${lengthNote}), chopped into ${chopFor(n)}-byte TCP writes`, rfcSection: '§5.2, §5.6',
      what: `echoes the ${kind} message`,
      steps: () => {
        const p = make();
        return [sendChopped(chopFor(n), [kind === 'text' ? text(p) : binary(p)]), kind === 'text' ? expectText(p) : expectBinary(p), ...closeNormally()];
      },
    });
  });
}

// §5.2: "the most significant bit MUST be 0" binds the sender. A receiver that checks the bit
// fails the connection with 1002 (a protocol error, §7.4.1): the strict reaction, since the frame
// itself breaks §5.2. A receiver that reads the length as it stands (2^63 bytes) and answers 1009
// ("a message that is too big for it to process", §7.4.1; §10.4 lets it limit sizes) is right
// too: both pass, and the verdict notes which one the peer chose.
const TOP_BIT_1009 = 'acceptable: it read the length as 2^63 bytes, too big to process (§7.4.1, §10.4); §5.2\'s "the most significant bit MUST be 0" binds the sender, so a receiver need not check the bit. Close 1002 is the strict answer, since the frame itself breaks §5.2';
invalid({
  id: '1.3.1', description: 'binary frame whose 64-bit length has its most significant bit set', rfcSection: '§5.2, §7.4.1', codes: [1002],
  alsoPass: 'strict: the frame breaks §5.2; or Close 1009, message too big, as the length reads 2^63 bytes',
  steps: () => [send({ opcode: Opcode.Binary, payload: new Uint8Array(0), lengthEncoding: '64-bit', declaredLength: 2 ** 63 }), { kind: 'expect-fail', codes: [1002], acceptable: [{ code: 1009, why: TOP_BIT_1009 }] }],
});
valid({
  id: '1.3.2', description: 'text message, 125 bytes, whose header arrives in 1-byte writes with 50 ms pauses', rfcSection: '§5.2',
  what: 'echoes the text message',
  steps: () => [{ kind: 'send', frames: [text(textPayload(125))], holdBack: 125, chop: 1, delayMs: 50 }, { kind: 'send-held' }, expectText(textPayload(125)), ...closeNormally()],
});
valid({
  id: '1.3.3', description: 'binary message, 65536 bytes, whose 14-byte header arrives one byte at a time with 20 ms pauses', rfcSection: '§5.2',
  what: 'echoes the binary message',
  steps: () => {
    const p = binaryPayload(65536);
    return [{ kind: 'send', frames: [binary(p)], holdBack: 65536, chop: 1, delayMs: 20 }, { kind: 'send-held' }, expectBinary(p), ...closeNormally()];
  },
});

// ===================================================================== 2 Ping and pong (§5.5.2, §5.5.3)

valid({ id: '2.1', description: 'ping without payload', rfcSection: '§5.5.2', what: 'answers with an empty pong', steps: () => [send(ping()), expectPong(), ...closeNormally()] });
valid({ id: '2.2', description: 'ping with a small text payload', rfcSection: '§5.5.2', what: 'answers with a pong carrying the same payload', steps: () => [send(ping('Hello, world!')), expectPong('Hello, world!'), ...closeNormally()] });
valid({ id: '2.3', description: 'ping with a small binary payload (00 ff fe fd fc fb 00 ff)', rfcSection: '§5.5.2', what: 'answers with a pong carrying the same payload', steps: () => [send(ping(hex('00fffefdfcfb00ff'))), expectPong(hex('00fffefdfcfb00ff')), ...closeNormally()] });
valid({ id: '2.4', description: 'ping with a 125-byte binary payload (the maximum)', rfcSection: '§5.5', what: 'answers with a pong carrying the same payload', steps: () => [send(ping(binaryPayload(125))), expectPong(binaryPayload(125)), ...closeNormally()] });
invalid({ id: '2.5', description: 'ping with a 126-byte payload (too long for a control frame)', rfcSection: '§5.5', codes: [1002], steps: () => [send(ping(binaryPayload(126))), failWith(1002)] });
valid({ id: '2.6', description: 'ping with a 125-byte payload, chopped into 1-byte TCP writes', rfcSection: '§5.5.2', what: 'answers with a pong carrying the same payload', steps: () => [sendChopped(1, [ping(binaryPayload(125))]), expectPong(binaryPayload(125)), ...closeNormally()] });
valid({ id: '2.7', description: 'unsolicited pong without payload, then a text message', rfcSection: '§5.5.3', what: 'ignores the pong (sends nothing for it) and echoes the message', steps: () => [send(pong(), text(SENTINEL)), expectText(SENTINEL), ...closeNormally()] });
valid({ id: '2.8', description: 'unsolicited pong with payload, then a text message', rfcSection: '§5.5.3', what: 'ignores the pong and echoes the message', steps: () => [send(pong('unsolicited pong payload'), text(SENTINEL)), expectText(SENTINEL), ...closeNormally()] });
valid({ id: '2.9', description: 'unsolicited pong, then a ping', rfcSection: '§5.5.3', what: 'answers the ping only', steps: () => [send(pong('unsolicited pong payload'), ping('ping payload')), expectPong('ping payload'), ...closeNormally()] });
const tenPings = () => Array.from({ length: 10 }, (_, i) => utf8(`payload-${i}`));
valid({ id: '2.10', description: '10 pings with distinct payloads, back to back', rfcSection: '§5.5.2, §5.5.3', what: 'answers each ping with its pong, in order (only the last one is also allowed)', steps: () => [send(...tenPings().map((p) => ping(p)), text(SENTINEL)), { kind: 'expect-pongs', payloads: tenPings() }, expectText(SENTINEL), ...closeNormally()] });
valid({ id: '2.11', description: '10 pings with distinct payloads, chopped into 1-byte TCP writes', rfcSection: '§5.5.2, §5.5.3', what: 'answers each ping with its pong, in order (only the last one is also allowed)', steps: () => [sendChopped(1, [...tenPings().map((p) => ping(p)), text(SENTINEL)]), { kind: 'expect-pongs', payloads: tenPings() }, expectText(SENTINEL), ...closeNormally()] });
valid({ id: '2.12', description: 'ping with a payload of 125 zero bytes', rfcSection: '§5.5.2', what: 'answers with a pong carrying the same payload', steps: () => [send(ping(new Uint8Array(125))), expectPong(new Uint8Array(125)), ...closeNormally()] });

// ===================================================================== 3 Reserved bits (§5.2)

const rsvName = (v: number) => ['', 'RSV1', 'RSV2', 'RSV1+RSV2', 'RSV3', 'RSV1+RSV3', 'RSV2+RSV3', 'RSV1+RSV2+RSV3'][v]!;
const rsv = (v: number): Partial<FrameDef> => ({ rsv1: (v & 1) !== 0, rsv2: (v & 2) !== 0, rsv3: (v & 4) !== 0 });

// Autobahn's 3.1-3.7 (RSV = 1 to 7, as a number), then ours (3.1.x-3.4.x).
invalid({ id: '3.1', description: 'small text message with RSV = 1', rfcSection: '§5.2', codes: [1002], steps: () => [send(text('Hello, World!', rsv(1))), failWith(1002)] });
([[2, 'in one write'], [3, 'each frame in its own write'], [4, 'in 1-byte TCP writes']] as const).forEach(([v, how]) => invalid({
  id: `3.${v}`, description: `small text message, then a text frame with RSV = ${v} (${rsvName(v)}), then a ping, ${how}`, rfcSection: '§5.2', codes: [1002],
  before: 'echoes the first message (strict; failing without the echo is non-strict)',
  steps: () => {
    const frames = [text('Hello, World!'), text('Hello, World!', rsv(v)), ping('')];
    // Autobahn paces octet-wise sends through its event loop, a byte per turn: a millisecond
    // apart here, so a peer sees them arrive one by one (frame-wise ones go out back to back).
    const sendIt: Step = v === 2 ? send(...frames) : v === 3 ? { kind: 'send', frames, perFrame: true } : sendChopped(1, frames, 1);
    return [sendIt, echoBeforeFailing('Hello, World!'), failWith(1002)];
  },
}));
invalid({ id: '3.5', description: 'small binary message with RSV = 5 (RSV1+RSV3)', rfcSection: '§5.2', codes: [1002], steps: () => [send(binary(binaryPayload(16), rsv(5))), failWith(1002)] });
invalid({ id: '3.6', description: 'ping with RSV = 6 (RSV2+RSV3)', rfcSection: '§5.2', codes: [1002], steps: () => [send(ping('ping payload', rsv(6))), failWith(1002)] });
invalid({ id: '3.7', description: 'close with RSV = 7 (RSV1+RSV2+RSV3)', rfcSection: '§5.2', codes: [1002], steps: () => [send(close(1000, '', rsv(7))), failWith(1002)] });

for (let v = 1; v <= 7; v++) {
  invalid({ id: `3.1.${v}`, description: `text frame with ${rsvName(v)} set`, rfcSection: '§5.2', codes: [1002], steps: () => [send(text('Hello, reserved bits', rsv(v))), failWith(1002)] });
}
[1, 2, 4].forEach((v, i) => invalid({ id: `3.2.${i + 1}`, description: `binary frame with ${rsvName(v)} set`, rfcSection: '§5.2', codes: [1002], steps: () => [send(binary(binaryPayload(16), rsv(v))), failWith(1002)] }));
invalid({ id: '3.3.1', description: 'ping with RSV1 set', rfcSection: '§5.2', codes: [1002], steps: () => [send(ping('ping', rsv(1))), failWith(1002)] });
invalid({ id: '3.3.2', description: 'ping with RSV2 set', rfcSection: '§5.2', codes: [1002], steps: () => [send(ping('ping', rsv(2))), failWith(1002)] });
invalid({ id: '3.3.3', description: 'ping with RSV3 set', rfcSection: '§5.2', codes: [1002], steps: () => [send(ping('ping', rsv(4))), failWith(1002)] });
invalid({ id: '3.3.4', description: 'pong with RSV1+RSV2+RSV3 set', rfcSection: '§5.2', codes: [1002], steps: () => [send(pong('pong', rsv(7))), failWith(1002)] });
invalid({ id: '3.3.5', description: 'close 1000 with RSV3 set', rfcSection: '§5.2', codes: [1002], steps: () => [send(close(1000, '', rsv(4))), failWith(1002)] });
invalid({
  id: '3.4.1', description: 'valid text message, then a text frame with RSV2 set', rfcSection: '§5.2', codes: [1002], before: 'echoes the first message',
  steps: () => [send(text('valid before')), expectText('valid before'), send(text('reserved', rsv(2))), failWith(1002)],
});
invalid({
  id: '3.4.2', description: 'valid text (echo awaited), then text with RSV3 set and a valid text: the last is never echoed', rfcSection: '§5.2', codes: [1002], before: 'echoes the first message (never the third)',
  steps: () => [send(text('valid before')), expectText('valid before'), send(text('reserved', rsv(4)), text('valid after')), failWith(1002)],
});
invalid({
  id: '3.4.3', description: 'fragmented text whose continuation frame has RSV1 set', rfcSection: '§5.2', codes: [1002],
  steps: () => [send(text('first ', { fin: false }), cont('second', rsv(1))), failWith(1002)],
});
invalid({
  id: '3.4.4', description: 'text frame with RSV1+RSV3 set, chopped into 1-byte TCP writes', rfcSection: '§5.2', codes: [1002],
  steps: () => [sendChopped(1, [text('Hello, reserved bits', rsv(5))]), failWith(1002)],
});
invalid({
  id: '3.4.5', description: 'valid ping, then a ping with RSV2 set', rfcSection: '§5.2', codes: [1002], before: 'answers the first ping',
  steps: () => [send(ping('first')), expectPong('first'), send(ping('second', rsv(2))), failWith(1002)],
});

// ===================================================================== 4 Opcodes (§5.2)

// Autobahn's 4.1.x (data opcodes 3-7) and 4.2.x (control opcodes 11-15): the first two alone,
// the other three after a valid text message and before a ping, all in one write.
for (const [group, ops] of [[1, [3, 4, 5, 6, 7]], [2, [0xb, 0xc, 0xd, 0xe, 0xf]]] as const) {
  ops.forEach((op, i) => {
    const withPayload = i !== 0 && i !== 2;
    const frame: FrameDef = { opcode: op, payload: withPayload ? utf8('reserved opcode payload') : new Uint8Array(0) };
    const kind = group === 1 ? 'data' : 'control';
    const name = `reserved ${kind} opcode ${op} (0x${op.toString(16).toUpperCase()})${withPayload ? ' with a payload' : ', empty'}`;
    if (i < 2) {
      invalid({ id: `4.${group}.${i + 1}`, description: name, rfcSection: '§5.2', codes: [1002], steps: () => [send(frame), failWith(1002)] });
      return;
    }
    // Autobahn sends the last of the three (4.x.5) in 1-byte writes.
    const octetWise = i === 4;
    invalid({
      id: `4.${group}.${i + 1}`, description: `small text message, then a frame with the ${name}, then a ping, ${octetWise ? 'in 1-byte TCP writes' : 'in one write'}`, rfcSection: '§5.2', codes: [1002],
      before: 'echoes the first message (strict; failing without the echo is non-strict)',
      steps: () => [octetWise ? sendChopped(1, [text('Hello, World!'), frame, ping('')], 1) : send(text('Hello, World!'), frame, ping('')), echoBeforeFailing('Hello, World!'), failWith(1002)],
    });
  });
}
invalid({
  id: '4.3.1', description: 'valid text (echo awaited), then reserved data opcode 0x3 and a valid text: the last is never echoed', rfcSection: '§5.2', codes: [1002], before: 'echoes the first message',
  steps: () => [send(text('valid before')), expectText('valid before'), send({ opcode: 3, payload: utf8('reserved') }, text('valid after')), failWith(1002)],
});
invalid({
  id: '4.3.2', description: 'valid text (echo awaited), then reserved control opcode 0xB and a valid text: the last is never echoed', rfcSection: '§5.2', codes: [1002], before: 'echoes the first message',
  steps: () => [send(text('valid before')), expectText('valid before'), send({ opcode: 0xb, payload: utf8('reserved') }, text('valid after')), failWith(1002)],
});
invalid({
  id: '4.3.3', description: 'reserved data opcode 0x4 with FIN clear', rfcSection: '§5.2', codes: [1002],
  steps: () => [send({ opcode: 4, payload: utf8('reserved'), fin: false }), failWith(1002)],
});
invalid({
  id: '4.3.4', description: 'reserved control opcode 0xF, chopped into 1-byte TCP writes', rfcSection: '§5.2', codes: [1002],
  steps: () => [sendChopped(1, [{ opcode: 0xf, payload: utf8('reserved') }]), failWith(1002)],
});
invalid({
  id: '4.3.5', description: 'reserved data opcode 0x3 between the fragments of a text message', rfcSection: '§5.2', codes: [1002],
  steps: () => [send(text('first ', { fin: false }), { opcode: 3, payload: utf8('reserved') }, cont('last')), failWith(1002)],
});

// ===================================================================== 5 Fragmentation (§5.4)
//
// 5.1-5.20: Autobahn's, with its ids; 5.21 on: ours. "frame-wise": each frame its own TCP write;
// "octet-wise": 1-byte TCP writes.

invalid({ id: '5.1', description: 'ping in two fragments (ping FIN=0, continuation FIN=1)', rfcSection: '§5.5', codes: [1002], steps: () => [send(ping('fragment1', { fin: false }), cont('fragment2')), failWith(1002)] });
invalid({ id: '5.2', description: 'pong in two fragments (pong FIN=0, continuation FIN=1)', rfcSection: '§5.5', codes: [1002], steps: () => [send(pong('fragment1', { fin: false }), cont('fragment2')), failWith(1002)] });
const twoFragments = () => [text('fragment1', { fin: false }), cont('fragment2')];
const chopWays: ReadonlyArray<readonly [string, (frames: FrameDef[]) => Step]> = [
  ['in one write', (frames) => send(...frames)],
  ['each frame in its own write', (frames) => ({ kind: 'send', frames, perFrame: true })],
  ['in 1-byte TCP writes', (frames) => sendChopped(1, frames)],
];
chopWays.forEach(([how, sendIt], i) => valid({
  id: `5.${3 + i}`, description: `text message in 2 fragments, ${how}`, rfcSection: '§5.4', what: 'echoes the whole message',
  steps: () => [sendIt(twoFragments()), expectText('fragment1fragment2'), ...closeNormally()],
}));
chopWays.forEach(([how, sendIt], i) => valid({
  id: `5.${6 + i}`, description: `text message in 2 fragments with a ping between them, ${how}`, rfcSection: '§5.4, §5.5', what: 'answers the ping first, then echoes the whole message',
  steps: () => [sendIt([text('fragment1', { fin: false }), ping('pongme!'), cont('fragment2')]), expectPong('pongme!'), expectText('fragment1fragment2'), ...closeNormally()],
}));
for (const [first, fin] of [[9, true], [12, false]] as const) {
  chopWays.forEach(([how, sendIt], i) => invalid({
    id: `5.${first + i}`, description: `continuation frame with FIN=${fin ? 1 : 0} and nothing to continue, then a text message, ${how}`, rfcSection: '§5.4', codes: [1002],
    steps: () => [sendIt([cont('non-continuation payload', { fin }), text('Hello, world!')]), failWith(1002)],
  }));
}
invalid({
  id: '5.15', description: 'text in 2 fragments, then a continuation frame (FIN=0) with nothing to continue, then a text message, in one write', rfcSection: '§5.4', codes: [1002],
  before: 'echoes the first message (strict; failing without the echo is non-strict)',
  steps: () => [send(text('fragment1', { fin: false }), cont('fragment2'), cont('fragment3', { fin: false }), text('fragment4')), echoBeforeFailing('fragment1fragment2'), failWith(1002)],
});
for (const [id, fin] of [['5.16', false], ['5.17', true]] as const) {
  invalid({
    id, description: `twice: a continuation frame (FIN=${fin ? 1 : 0}) with nothing to continue, then text in 2 fragments`, rfcSection: '§5.4', codes: [1002],
    steps: () => [send(...[0, 1].flatMap(() => [cont('fragment1', { fin }), text('fragment2', { fin: false }), cont('fragment3')])), failWith(1002)],
  });
}
invalid({ id: '5.18', description: 'text in 2 fragments, both frames with the text opcode', rfcSection: '§5.4', codes: [1002], steps: () => [send(text('fragment1', { fin: false }), text('fragment2')), failWith(1002)] });
const pausedFragments = (perFrame: boolean): Step[] => [
  { kind: 'send', frames: [text('fragment1', { fin: false }), cont('fragment2', { fin: false }), ping('pongme 1!')], perFrame }, expectPong('pongme 1!'), { kind: 'sleep', ms: 1000 },
  { kind: 'send', frames: [cont('fragment3', { fin: false }), cont('fragment4', { fin: false }), ping('pongme 2!')], perFrame }, expectPong('pongme 2!'), { kind: 'sleep', ms: 1000 },
  send(cont('fragment5')), expectText('fragment1fragment2fragment3fragment4fragment5'), ...closeNormally(),
];
valid({ id: '5.19', description: 'text in 5 fragments: a ping after the 2nd, 1 s pause, a ping after the 4th, 1 s pause, the 5th', rfcSection: '§5.4, §5.5', what: 'answers the pings as they come, then echoes the whole message', timeoutMs: 15_000, steps: () => pausedFragments(false) });
valid({ id: '5.20', description: 'as 5.19, each frame in its own write', rfcSection: '§5.4, §5.5', what: 'answers the pings as they come, then echoes the whole message', timeoutMs: 15_000, steps: () => pausedFragments(true) });

valid({ id: '5.21', description: 'text message in 3 fragments', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(text('one ', { fin: false }), cont('two ', { fin: false }), cont('three')), expectText('one two three'), ...closeNormally()] });
valid({ id: '5.22', description: 'text message in 100 one-byte fragments', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(...fragmentEvery(Opcode.Text, textPayload(100), 1)), expectText(textPayload(100)), ...closeNormally()] });
valid({ id: '5.23', description: 'text message whose first, middle and last fragments are empty', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(text('', { fin: false }), cont('abc', { fin: false }), cont('', { fin: false }), cont('def', { fin: false }), cont('')), expectText('abcdef'), ...closeNormally()] });
valid({ id: '5.24', description: 'binary message in 2 fragments', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(...fragment(Opcode.Binary, binaryPayload(300), [150])), expectBinary(binaryPayload(300)), ...closeNormally()] });
valid({ id: '5.25', description: 'text message in 3 fragments with a ping, a pong and a ping between them', rfcSection: '§5.4, §5.5', what: 'answers both pings in order, then echoes the whole message', steps: () => [send(text('a', { fin: false }), ping('p1'), cont('b', { fin: false }), pong('unsolicited'), ping('p2'), cont('c')), expectPong('p1'), expectPong('p2'), expectText('abc'), ...closeNormally()] });
invalid({ id: '5.26', description: 'continuation frame with FIN=1 and no message started', rfcSection: '§5.4', codes: [1002], steps: () => [send(cont('non-continuation payload')), failWith(1002)] });
invalid({ id: '5.27', description: 'continuation frame with FIN=0 and no message started', rfcSection: '§5.4', codes: [1002], steps: () => [send(cont('non-continuation payload', { fin: false })), failWith(1002)] });
invalid({ id: '5.28', description: 'valid fragmented text (echo awaited), then a stray continuation frame', rfcSection: '§5.4', codes: [1002], before: 'echoes the message', steps: () => [send(text('fragment1', { fin: false }), cont('fragment2')), expectText('fragment1fragment2'), send(cont('fragment3')), failWith(1002)] });
invalid({ id: '5.29', description: 'new text message (FIN=1) while a fragmented text is in progress', rfcSection: '§5.4', codes: [1002], steps: () => [send(text('fragment1', { fin: false }), text('fragment2'), cont('fragment3')), failWith(1002)] });
invalid({ id: '5.30', description: 'new text message (FIN=0) while a fragmented text is in progress', rfcSection: '§5.4', codes: [1002], steps: () => [send(text('fragment1', { fin: false }), text('fragment2', { fin: false }), cont('fragment3')), failWith(1002)] });
invalid({ id: '5.31', description: 'new binary message while a fragmented text is in progress', rfcSection: '§5.4', codes: [1002], steps: () => [send(text('fragment1', { fin: false }), binary(binaryPayload(4)), cont('fragment3')), failWith(1002)] });
invalid({ id: '5.32', description: 'close frame in two fragments (close FIN=0, continuation FIN=1)', rfcSection: '§5.5', codes: [1002], steps: () => [send(close(1000, '', { fin: false }), cont('')), failWith(1002)] });
valid({ id: '5.33', description: 'binary message in 1000 fragments of 64 bytes', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(...fragmentEvery(Opcode.Binary, binaryPayload(64_000), 64)), expectBinary(binaryPayload(64_000)), ...closeNormally()] });
closing({
  id: '5.34', description: 'Close 1000 in the middle of a fragmented text message', rfcSection: '§5.4, §5.5.1',
  what: 'answers with Close 1000 and never echoes the unfinished message',
  steps: () => [send(text('fragment1', { fin: false }), close(1000)), { kind: 'expect-close', code: 1000 }],
});
valid({ id: '5.35', description: 'text message with an empty FIN=0 first frame and one final continuation', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(text('', { fin: false }), cont('only the continuation carries data')), expectText('only the continuation carries data'), ...closeNormally()] });
valid({ id: '5.36', description: 'empty text message sent as two empty fragments', rfcSection: '§5.4', what: 'echoes an empty text message', steps: () => [send(text('', { fin: false }), cont('')), expectText(''), ...closeNormally()] });

// ===================================================================== 6 UTF-8 (§5.6, §8.1)

const kosme = hex('cebae1bdb9cf83cebcceb5'); // κόσμε, Markus Kuhn's UTF-8 stress test §1
const helloUtf8 = utf8('Hello-µ@ßöäüàá-UTF-8!!');

valid({ id: '6.1.1', description: 'empty text message', rfcSection: '§5.6', what: 'echoes an empty text message', steps: () => [send(text('')), expectText(''), ...closeNormally()] });
valid({ id: '6.1.2', description: 'empty text message in 3 empty fragments', rfcSection: '§5.6, §5.4', what: 'echoes an empty text message', steps: () => [send(text('', { fin: false }), cont('', { fin: false }), cont('')), expectText(''), ...closeNormally()] });
valid({ id: '6.1.3', description: 'text in 3 fragments: "middle frame payload", then two empty ones', rfcSection: '§5.6, §5.4', what: 'echoes the whole message', steps: () => [send(text('', { fin: false }), cont('middle frame payload', { fin: false }), cont('')), expectText('middle frame payload'), ...closeNormally()] });

valid({ id: '6.2.1', description: `valid UTF-8 "${new TextDecoder().decode(helloUtf8)}" in one frame`, rfcSection: '§5.6', what: 'echoes the text', steps: () => [send(text(helloUtf8)), expectText(helloUtf8), ...closeNormally()] });
valid({ id: '6.2.2', description: 'the same text in 2 fragments split inside a 2-byte character (after "Hello-" + 0xC2)', rfcSection: '§5.6, §5.4', what: 'echoes the text', steps: () => [send(...fragment(Opcode.Text, helloUtf8, [7])), expectText(helloUtf8), ...closeNormally()] });
valid({ id: '6.2.3', description: 'the same text, one fragment per byte', rfcSection: '§5.6, §5.4', what: 'echoes the text', steps: () => [send(...fragmentPerByte(Opcode.Text, helloUtf8)), expectText(helloUtf8), ...closeNormally()] });
valid({ id: '6.2.4', description: 'the same text in one frame, chopped into 1-byte TCP writes', rfcSection: '§5.6', what: 'echoes the text', steps: () => [sendChopped(1, [text(helloUtf8)]), expectText(helloUtf8), ...closeNormally()] });

const edited = concat(kosme, hex('eda080'), utf8('edited')); // κόσμε + a lone surrogate + "edited"
invalid({ id: '6.3.1', description: 'invalid UTF-8 (κόσμε, a lone surrogate ED A0 80, "edited") in one frame', rfcSection: '§8.1', codes: [1007], steps: () => [send(text(edited)), failWith(1007)] });
invalid({ id: '6.3.2', description: 'the same, one fragment per byte', rfcSection: '§8.1', codes: [1007], steps: () => [send(...fragmentPerByte(Opcode.Text, edited)), failWith(1007)] });
invalid({ id: '6.3.3', description: 'the same in one frame, chopped into 1-byte TCP writes', rfcSection: '§8.1', codes: [1007], steps: () => [sendChopped(1, [text(edited)]), failWith(1007)] });

// 6.4 fail fast: the peer must fail as soon as the invalid byte arrives, before the rest is sent.
invalid({
  id: '6.4.1', description: 'fail fast: 3 fragments, the 2nd invalid (F4 90 80 80 > U+10FFFF); the 3rd is sent only if the peer has not failed after 2 s', rfcSection: '§8.1', codes: [1007], failFast: true,
  steps: () => [send(text(kosme, { fin: false }), cont(hex('f4908080'), { fin: false })), { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: send(cont('edited')) } }],
});
invalid({
  id: '6.4.2', description: 'fail fast: 3 fragments, κόσμε + F4, then 90 (invalid after F4), then 80 80 "edited"', rfcSection: '§8.1', codes: [1007], failFast: true,
  steps: () => [send(text(concat(kosme, hex('f4')), { fin: false }), cont(hex('90'), { fin: false })), { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: send(cont(concat(hex('8080'), utf8('edited')))) } }],
});
invalid({
  id: '6.4.3', description: 'fail fast: one frame whose invalid bytes (F4 90 80 80) arrive before its last bytes', rfcSection: '§8.1', codes: [1007], failFast: true,
  steps: () => [{ kind: 'send', frames: [text(concat(kosme, hex('f4908080'), utf8('edited')))], holdBack: 6 }, { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: { kind: 'send-held' } } }],
});
invalid({
  id: '6.4.4', description: 'fail fast: one frame cut right after the invalid byte (κόσμε F4 90 | 80 80 "edited")', rfcSection: '§8.1', codes: [1007], failFast: true,
  steps: () => [{ kind: 'send', frames: [text(concat(kosme, hex('f4908080'), utf8('edited')))], holdBack: 8 }, { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: { kind: 'send-held' } } }],
});
invalid({
  id: '6.4.5', description: 'fail fast: a 64 KiB text frame with an invalid byte (0xFF) at offset 10; only its first 100 bytes are sent', rfcSection: '§8.1', codes: [1007], failFast: true,
  steps: () => {
    const p = textPayload(65536);
    p[10] = 0xff;
    return [{ kind: 'send', frames: [text(p)], holdBack: 65536 - 100 }, { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: { kind: 'send-held' } } }];
  },
});
invalid({
  id: '6.4.6', description: 'fail fast: a 1 MiB text frame starting with an overlong NUL (C0 80); only its first 1000 bytes are sent', rfcSection: '§8.1', codes: [1007], failFast: true, timeoutMs: 20_000,
  steps: () => {
    const p = textPayload(1024 * 1024);
    p[0] = 0xc0;
    p[1] = 0x80;
    return [{ kind: 'send', frames: [text(p)], holdBack: 1024 * 1024 - 1000 }, { kind: 'expect-fail', codes: [1007], failFast: { waitMs: FAIL_FAST_WAIT_MS, then: { kind: 'send-held' } } }];
  },
});

function toHexSpaced(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A UTF-8 case's payload in the description: its first 16 bytes in hex. */
function hexLabel(bytes: Uint8Array): string {
  return `${toHexSpaced(bytes).slice(0, 48)}${bytes.length > 16 ? ' …' : ''}`;
}

/** One text frame whose payload is, or is not, valid UTF-8: echoed (§5.6), or failed with 1007 (§8.1). */
function utf8Case(id: string, bytes: Uint8Array, isValid: boolean, label: string): void {
  const description = `${isValid ? 'valid' : 'invalid'}: ${label} (${hexLabel(bytes)}), one frame`;
  if (isValid) valid({ id, description, rfcSection: '§5.6', what: 'echoes the text byte for byte', steps: () => [send(text(bytes)), expectText(bytes), ...closeNormally()] });
  else invalid({ id, description, rfcSection: '§8.1', codes: [1007], steps: () => [send(text(bytes)), failWith(1007)] });
}

/** Bytes first..last-1, each followed by a space (0x20). */
function eachFollowedBySpace(first: number, last: number): string {
  return Array.from({ length: last - first }, (_, i) => (first + i).toString(16) + '20').join('');
}

/** Noncharacters U+nFFFE and U+nFFFF of planes 1-16 as 4-byte UTF-8 (Kuhn §5.3.3). */
function planeNoncharacters(): string[] {
  const out: string[] = [];
  for (const lead of ['f0', 'f1', 'f2', 'f3', 'f4']) {
    for (const second of ['8f', '9f', 'af', 'bf']) {
      if (lead === 'f0' && second === '8f') continue; // overlong (plane 0)
      if (lead === 'f4' && second !== '8f') continue; // above U+10FFFF
      out.push(`${lead}${second}bfbe`, `${lead}${second}bfbf`);
    }
  }
  return out;
}

/**
 * Autobahn's 6.5-6.23, under its ids: Markus Kuhn's UTF-8 decoder test sequences in Autobahn's
 * grouping and order, each sent as one text frame. A valid one is echoed and we close with 1000;
 * an invalid one must be failed with 1007 (§8.1). Each entry is [hex, valid?, label].
 */
const kuhnGroups: Array<Array<[string, boolean, string]>> = [
  /* 6.5 */ [['68656c6c6f24776f726c64', true, '"hello$world" (U+0024)'], ['68656c6c6fc2a2776f726c64', true, '"hello¢world" (U+00A2)'], ['68656c6c6fe282ac776f726c64', true, '"hello€world" (U+20AC)'], ['68656c6c6ff0a4ada2776f726c64', true, '"hello𤭢world" (U+24B62)'], ['cebae1bdb9cf83cebcceb5', true, 'κόσμε (Kuhn §1)']],
  /* 6.6 */ Array.from({ length: kosme.length }, (_, i) => [toHexSpaced(kosme.subarray(0, i + 1)).replace(/ /g, ''), [2, 5, 7, 9, 11].includes(i + 1), `the first ${i + 1} byte${i === 0 ? '' : 's'} of κόσμε${[2, 5, 7, 9, 11].includes(i + 1) ? '' : ', ending inside a character'}`] as [string, boolean, string]),
  /* 6.7 */ [['00', true, 'Kuhn §2.1.1 first 1-byte sequence U+0000'], ['c280', true, '§2.1.2 first 2-byte sequence U+0080'], ['e0a080', true, '§2.1.3 first 3-byte sequence U+0800'], ['f0908080', true, '§2.1.4 first 4-byte sequence U+10000']],
  /* 6.8 */ [['f888808080', false, '§2.1.5 first 5-byte sequence (not UTF-8 since RFC 3629)'], ['fc8480808080', false, '§2.1.6 first 6-byte sequence']],
  /* 6.9 */ [['7f', true, '§2.2.1 last 1-byte sequence U+007F'], ['dfbf', true, '§2.2.2 last 2-byte sequence U+07FF'], ['efbfbf', true, '§2.2.3 last 3-byte sequence U+FFFF'], ['f48fbfbf', true, 'last 4-byte sequence of Unicode, U+10FFFF']],
  /* 6.10 */ [['f7bfbfbf', false, '§2.2.4 last 4-byte sequence U+1FFFFF (> U+10FFFF)'], ['fbbfbfbfbf', false, '§2.2.5 last 5-byte sequence'], ['fdbfbfbfbfbf', false, '§2.2.6 last 6-byte sequence']],
  /* 6.11 */ [['ed9fbf', true, '§2.3.1 U+D7FF, just below the surrogates'], ['ee8080', true, '§2.3.2 U+E000, just above the surrogates'], ['efbfbd', true, '§2.3.3 U+FFFD replacement character'], ['f48fbfbf', true, '§2.3.4 U+10FFFF, the last code point'], ['f4908080', false, '§2.3.5 U+110000, just above U+10FFFF']],
  /* 6.12 */ [['80', false, '§3.1.1 unexpected continuation byte 0x80'], ['bf', false, '§3.1.2 unexpected continuation byte 0xBF'], ['80bf', false, '§3.1.3 2 continuation bytes'], ['80bf80', false, '§3.1.4 3 continuation bytes'], ['80bf80bf', false, '§3.1.5 4 continuation bytes'], ['80bf80bf80', false, '§3.1.6 5 continuation bytes'], ['80bf80bf80bf', false, '§3.1.7 6 continuation bytes'], [Array.from({ length: 63 }, (_, i) => (0x80 + i).toString(16)).join(''), false, '§3.1.9 the continuation bytes 0x80-0xBE']],
  /* 6.13 */ [[eachFollowedBySpace(0xc0, 0xdf), false, '§3.2.1 lonely 2-byte start bytes 0xC0-0xDE, each followed by a space'], [eachFollowedBySpace(0xe0, 0xef), false, '§3.2.2 lonely 3-byte start bytes 0xE0-0xEE, each followed by a space'], [eachFollowedBySpace(0xf0, 0xf7), false, '§3.2.3 lonely 4-byte start bytes 0xF0-0xF6, each followed by a space'], [eachFollowedBySpace(0xf8, 0xfb), false, '§3.2.4 lonely 5-byte start bytes 0xF8-0xFA, each followed by a space'], [eachFollowedBySpace(0xfc, 0xfd), false, '§3.2.5 lonely 6-byte start byte 0xFC followed by a space']],
  /* 6.14 */ [['c0', false, '§3.3.1 2-byte sequence C0 with its last byte missing'], ['e080', false, '§3.3.2 3-byte sequence E0 80 with its last byte missing'], ['f08080', false, '§3.3.3 4-byte sequence F0 80 80 with its last byte missing'], ['f8808080', false, '§3.3.4 5-byte sequence with its last byte missing'], ['fc80808080', false, '§3.3.5 6-byte sequence with its last byte missing'], ['df', false, '§3.3.6 2-byte sequence DF (U+07FF) with its last byte missing'], ['efbf', false, '§3.3.7 3-byte sequence EF BF (U+FFFF) with its last byte missing'], ['f7bfbf', false, '§3.3.8 4-byte sequence F7 BF BF with its last byte missing'], ['fbbfbfbf', false, '§3.3.9 5-byte sequence with its last byte missing'], ['fdbfbfbfbf', false, '§3.3.10 6-byte sequence with its last byte missing']],
  /* 6.15 */ [['c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf', false, '§3.4 all of §3.3 concatenated']],
  /* 6.16 */ [['fe', false, '§3.5.1 impossible byte 0xFE'], ['ff', false, '§3.5.2 impossible byte 0xFF'], ['fefeffff', false, '§3.5.3 FE FE FF FF']],
  /* 6.17 */ [['c0af', false, '§4.1.1 overlong "/" in 2 bytes'], ['e080af', false, '§4.1.2 overlong "/" in 3 bytes'], ['f08080af', false, '§4.1.3 overlong "/" in 4 bytes'], ['f8808080af', false, '§4.1.4 overlong "/" in 5 bytes'], ['fc80808080af', false, '§4.1.5 overlong "/" in 6 bytes']],
  /* 6.18 */ [['c1bf', false, '§4.2.1 maximum overlong 2-byte sequence (U+007F)'], ['e09fbf', false, '§4.2.2 maximum overlong 3-byte sequence (U+07FF)'], ['f08fbfbf', false, '§4.2.3 maximum overlong 4-byte sequence (U+FFFF)'], ['f887bfbfbf', false, '§4.2.4 maximum overlong 5-byte sequence'], ['fc83bfbfbfbf', false, '§4.2.5 maximum overlong 6-byte sequence']],
  /* 6.19 */ [['c080', false, '§4.3.1 overlong NUL in 2 bytes'], ['e08080', false, '§4.3.2 overlong NUL in 3 bytes'], ['f0808080', false, '§4.3.3 overlong NUL in 4 bytes'], ['f880808080', false, '§4.3.4 overlong NUL in 5 bytes'], ['fc8080808080', false, '§4.3.5 overlong NUL in 6 bytes']],
  /* 6.20 */ ['eda080:D800', 'edadbf:DB7F', 'edae80:DB80', 'edafbf:DBFF', 'edb080:DC00', 'edbe80:DF80', 'edbfbf:DFFF'].map((s, i) => [s.slice(0, 6), false, `§5.1.${i + 1} single surrogate U+${s.slice(7)}`] as [string, boolean, string]),
  /* 6.21 */ ['D800 DC00', 'D800 DFFF', 'DB7F DC00', 'DB7F DFFF', 'DB80 DC00', 'DB80 DFFF', 'DBFF DC00', 'DBFF DFFF'].map((pair, i) => [pair.split(' ').map(surrogateUtf8).join(''), false, `§5.2.${i + 1} surrogate pair U+${pair.replace(' ', ' U+')}`] as [string, boolean, string]),
  /* 6.22 */ ['efbfbe', 'efbfbf', ...planeNoncharacters()].map((h) => [h, true, `noncharacter U+${codePointOf(h)} (valid UTF-8, Kuhn §5.3)`] as [string, boolean, string]),
  /* 6.23 */ ['b9', 'ba', 'bb', 'bc', 'bd', 'be', 'bf'].map((last) => [`efbf${last}`, true, `Unicode special U+${codePointOf(`efbf${last}`)}`] as [string, boolean, string]),
];

/** "D800" → "eda080": a surrogate code point encoded as if it were a character (CESU-8). */
function surrogateUtf8(codePoint: string): string {
  const c = parseInt(codePoint, 16);
  return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => b.toString(16)).join('');
}

/** The code point of one valid UTF-8 sequence, as hex digits ("efbfbe" → "FFFE"). */
function codePointOf(h: string): string {
  return new TextDecoder().decode(hex(h)).codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}

kuhnGroups.forEach((group, g) => group.forEach(([h, isValid, label], i) => utf8Case(`6.${g + 5}.${i + 1}`, hex(h), isValid, label)));

/** Sequences of ours, valid, that Autobahn's 6.5-6.23 do not send. */
const kuhnValidOurs: Array<[string, string]> = [
  ['efb790', 'Kuhn §5.3.2 noncharacter U+FDD0'],
  ['efb7af', '§5.3.2 noncharacter U+FDEF'],
  ['efbbbf48656c6c6f', 'U+FEFF (byte order mark) at the start, then "Hello": the BOM is text and must be echoed'],
  ['48656c6c6f2d c2b5 40 c39f c3b6 c3a4 c3bc c3a0 c3a1 2d5554462d382121', '"Hello-µ@ßöäüàá-UTF-8!!"'],
];

/** Sequences of ours, invalid, that Autobahn's 6.5-6.23 do not send (its 3.1.9 and 3.2.x ranges stop one byte short). */
const kuhnInvalidOurs: Array<[string, string]> = [
  ['80bf80bf80bf80', '§3.1.8 7 continuation bytes'],
  [Array.from({ length: 64 }, (_, i) => (0x80 + i).toString(16)).join(''), '§3.1.9 all 64 continuation bytes 0x80-0xBF'],
  [eachFollowedBySpace(0xc0, 0xe0), '§3.2.1 lonely 2-byte start bytes 0xC0-0xDF, each followed by a space'],
  [eachFollowedBySpace(0xe0, 0xf0), '§3.2.2 lonely 3-byte start bytes 0xE0-0xEF, each followed by a space'],
  [eachFollowedBySpace(0xf0, 0xf8), '§3.2.3 lonely 4-byte start bytes 0xF0-0xF7, each followed by a space'],
  ['f820f920fa20fb20', '§3.2.4 lonely 5-byte start bytes 0xF8-0xFB'],
  ['fc20fd20', '§3.2.5 lonely 6-byte start bytes 0xFC-0xFD'],
  ['c2', 'a valid 2-byte start (C2) with its last byte missing at the end of the message'],
  ['e282', 'a valid 3-byte start (E2 82, "€" without its last byte) at the end of the message'],
  ['f09f98', 'a valid 4-byte start (F0 9F 98, "😀" without its last byte) at the end of the message'],
  ['48656c6c6f20eda080', '"Hello " then a lone surrogate: the invalid bytes come after valid text'],
];

// 6.24 (ours): those sequences, one frame each.
[...kuhnValidOurs.map(([h, label]) => [h, true, label] as const), ...kuhnInvalidOurs.map(([h, label]) => [h, false, label] as const)]
  .forEach(([h, isValid, label], i) => utf8Case(`6.24.${i + 1}`, hex(h), isValid, label));

/** Valid sequences sent one fragment per byte (6.25, ours): Autobahn sends each in one frame only. */
const perByteValid: Array<[string, string]> = [
  ['cebae1bdb9cf83cebcceb5', '§1 κόσμε'],
  ['00', '§2.1.1 first 1-byte sequence U+0000'],
  ['c280', '§2.1.2 first 2-byte sequence U+0080'],
  ['e0a080', '§2.1.3 first 3-byte sequence U+0800'],
  ['f0908080', '§2.1.4 first 4-byte sequence U+10000'],
  ['7f', '§2.2.1 last 1-byte sequence U+007F'],
  ['dfbf', '§2.2.2 last 2-byte sequence U+07FF'],
  ['efbfbf', '§2.2.3 last 3-byte sequence U+FFFF'],
  ['ed9fbf', '§2.3.1 U+D7FF, just below the surrogates'],
  ['ee8080', '§2.3.2 U+E000, just above the surrogates'],
  ['efbfbd', '§2.3.3 U+FFFD replacement character'],
  ['f48fbfbf', '§2.3.4 U+10FFFF, the last code point'],
  ['efbfbe', '§5.3.1 noncharacter U+FFFE'],
  ['efb790', '§5.3.2 noncharacter U+FDD0'],
  ['efb7af', '§5.3.2 noncharacter U+FDEF'],
  ['f09fbfbe', '§5.3.3 noncharacter U+1FFFE'],
  ['f48fbfbe', '§5.3.3 noncharacter U+10FFFE'],
  ...kuhnValidOurs.slice(2),
];

/** Invalid sequences sent one fragment per byte (6.26, ours): Kuhn's malformed ones and ours above. */
const perByteInvalid: Array<[string, string]> = [
  ...[8, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21].flatMap((g) =>
    (kuhnGroups[g - 5] ?? [])
      .filter(([, isValid, label]) => !isValid && !label.startsWith('§3.1.9')) // ours has the whole 0x80-0xBF range
      .map(([h, , label]) => [h, label] as [string, string]),
  ),
  ...kuhnInvalidOurs,
];

perByteValid.forEach(([h, label], i) => {
  const bytes = hex(h);
  valid({ id: `6.25.${i + 1}`, description: `valid: ${label} (${hexLabel(bytes)}), one fragment per byte`, rfcSection: '§5.6, §5.4', what: 'echoes the text byte for byte', steps: () => [send(...fragmentPerByte(Opcode.Text, bytes)), expectText(bytes), ...closeNormally()] });
});
perByteInvalid.forEach(([h, label], i) => {
  const bytes = hex(h);
  invalid({ id: `6.26.${i + 1}`, description: `invalid: ${label} (${hexLabel(bytes)}), one fragment per byte`, rfcSection: '§8.1, §5.4', codes: [1007], steps: () => [send(...fragmentPerByte(Opcode.Text, bytes)), failWith(1007)] });
});

// ===================================================================== 7 Close handling (§5.5.1, §7)

closing({ id: '7.1.1', description: 'text message, then Close 1000', rfcSection: '§5.5.1, §7.1', what: 'echoes the message, answers with Close 1000 and TCP closes', steps: () => [send(text('Hello World!')), expectText('Hello World!'), ...closeNormally()] });
closing({ id: '7.1.2', description: 'Close 1000 sent twice', rfcSection: '§5.5.1', what: 'answers the first Close only, then TCP closes', steps: () => [send(close(1000), close(1000)), { kind: 'expect-close', code: 1000 }] });
closing({ id: '7.1.3', description: 'Close 1000, then a ping', rfcSection: '§5.5.1, §5.5.2', what: 'answers with Close 1000; it need not answer the ping (§5.5.2), and a pong, before or after its Close, is allowed and noted', steps: () => [send(close(1000), ping('after close')), { kind: 'expect-close', code: 1000 }] });
closing({ id: '7.1.4', description: 'Close 1000, then a text message', rfcSection: '§5.5.1', what: 'answers with Close 1000 and does not echo the message', steps: () => [send(close(1000), text('after close')), { kind: 'expect-close', code: 1000 }] });
closing({ id: '7.1.5', description: 'first fragment of a text, Close 1000, then the last fragment', rfcSection: '§5.5.1, §5.4', what: 'answers with Close 1000 and never echoes the message', steps: () => [send(text('fragment1', { fin: false }), close(1000), cont('fragment2')), { kind: 'expect-close', code: 1000 }] });
closing({
  id: '7.1.6', description: '256 KiB text message, Close 1000 in the same write right behind it, then a ping', rfcSection: '§5.5.1, §7.1',
  what: 'answers with Close 1000; echoing the message first is optional (the Close may be processed before the echo is written), and so is a pong for the ping',
  informational: 'Autobahn 7.1.6 is informational: whether the echo and a pong come before the Close depends on how the peer orders its writes, which RFC 6455 leaves open (§5.5.2 exempts answering a ping after a Close, it does not forbid it)',
  steps: () => [send(text(textPayload(256 * 1024)), close(1000), ping('after close')), { kind: 'expect-message', opcode: Opcode.Text, payload: textPayload(256 * 1024), optional: true }, { kind: 'expect-close', code: 1000 }],
});

closing({ id: '7.3.1', description: 'Close with an empty payload (no status code)', rfcSection: '§5.5.1, §7.4.1', what: 'answers with an empty Close (or Close 1000)', steps: () => [send(close(null)), { kind: 'expect-close', code: null, alsoPass: [1000] }] });
invalid({ id: '7.3.2', description: 'Close with a 1-byte payload', rfcSection: '§5.5.1', codes: [1002], steps: () => [send({ opcode: Opcode.Close, payload: hex('03') }), failWith(1002)] });
closing({ id: '7.3.3', description: 'Close 1000 without a reason', rfcSection: '§5.5.1', what: 'answers with Close 1000', steps: () => [send(close(1000)), { kind: 'expect-close', code: 1000 }] });
closing({ id: '7.3.4', description: 'Close 1000 with the reason "Hello World!"', rfcSection: '§5.5.1', what: 'answers with Close 1000 "Hello World!"', steps: () => [send(close(1000, 'Hello World!')), { kind: 'expect-close', code: 1000, reason: utf8('Hello World!') }] });
closing({ id: '7.3.5', description: 'Close 1000 with a 123-byte reason (the maximum)', rfcSection: '§5.5, §5.5.1', what: 'answers with Close 1000 and the same reason', steps: () => [send(close(1000, textPayload(123))), { kind: 'expect-close', code: 1000, reason: textPayload(123) }] });
invalid({ id: '7.3.6', description: 'Close 1000 with a 124-byte reason (126-byte control frame)', rfcSection: '§5.5', codes: [1002], steps: () => [send(close(1000, textPayload(124))), failWith(1002)] });
invalid({ id: '7.5.1', description: 'Close 1000 whose reason is invalid UTF-8 (κόσμε + ED A0 80 + "edited")', rfcSection: '§5.5.1, §8.1', codes: [1007], steps: () => [send(close(1000, edited)), failWith(1007)] });
closing({ id: '7.5.2', description: 'Close 1000 with a 123-byte multi-byte UTF-8 reason ("ü" × 61 + "a")', rfcSection: '§5.5.1', what: 'answers with Close 1000 and the same reason', steps: () => [send(close(1000, utf8('ü'.repeat(61) + 'a'))), { kind: 'expect-close', code: 1000, reason: utf8('ü'.repeat(61) + 'a') }] });
invalid({ id: '7.5.3', description: 'Close 1000 whose reason ends inside a character (… E2 82)', rfcSection: '§5.5.1, §8.1', codes: [1007], steps: () => [send(close(1000, concat(utf8('price in '), hex('e282')))), failWith(1007)] });
closing({ id: '7.5.4', description: 'Close 1000 with a reason that starts with a BOM (EF BB BF "bye")', rfcSection: '§5.5.1', what: 'answers with Close 1000 and the same reason, BOM included', steps: () => [send(close(1000, hex('efbbbf627965'))), { kind: 'expect-close', code: 1000, reason: hex('efbbbf627965') }] });

// 7.7.1-7.7.13: Autobahn's valid codes, in its order; 7.7.14-7.7.16 (ours): 1012-1014, valid
// since the IANA registry added them (§11.7), not in RFC 6455's own list (§7.4.1).
const validCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014];
const registeredLater = new Set([1012, 1013, 1014]);
validCodes.forEach((code, i) => closing({
  id: `7.7.${i + 1}`, description: `Close with the valid code ${code} and a reason${registeredLater.has(code) ? ' (registered with IANA after RFC 6455)' : ''}`, rfcSection: registeredLater.has(code) ? '§7.4, §11.7' : '§7.4',
  what: `answers with Close ${code} or Close 1000 (any reason)`,
  nonStrict: registeredLater.has(code)
    ? `refuses the code (Close 1002, or drops TCP: graded the same), answers with another valid code, or TCP is not closed in time`
    : `answers with another valid code (neither ${code} nor 1000), or TCP is not closed in time`,
  steps: () => [send(close(code, `code ${code}`)), { kind: 'expect-close', code, reason: utf8(`code ${code}`), ...(registeredLater.has(code) ? { registeredLater: true } : {}) }],
}));
// 7.9.1-7.9.9: Autobahn's invalid codes, in its order; 7.9.10 (ours): 1015.
const invalidCodes = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015];
invalidCodes.forEach((code, i) => invalid({
  id: `7.9.${i + 1}`, description: `Close with the invalid code ${code}`, rfcSection: '§7.4.1, §7.4.2', codes: [1002],
  steps: () => [send(close(code)), failWith(1002)],
}));
// 7.13.1, 7.13.2: codes above 4999, which §7.4.2 assigns to no range. Autobahn marks both
// INFORMATIONAL ("undefined by the spec"); failing with 1002 is still what we expect.
[5000, 65535].forEach((code, i) => invalid({
  id: `7.13.${i + 1}`, description: `Close with the code ${code}, outside every range of §7.4.2`, rfcSection: '§7.4.2', codes: [1002],
  informational: 'Autobahn 7.13.x is informational: RFC 6455 gives no range above 4999 a meaning (§7.4.2)',
  steps: () => [send(close(code)), failWith(1002)],
}));

// ===================================================================== 9 Limits and performance

const MiB = 1024 * 1024;
// 9.1.x, 9.2.x: Autobahn's sizes (64 KiB to 16 MiB) and ids; 9.10 on: ours.
const bigSizes = [64 * 1024, 256 * 1024, MiB, 4 * MiB, 8 * MiB, 16 * MiB];
bigSizes.forEach((n, i) => {
  valid({
    id: `9.1.${i + 1}`, description: `text message of ${sizeLabel(n)} in one frame`, rfcSection: '§5.2, §10.4', what: 'echoes the message', timeoutMs: 10_000 + Math.ceil(n / MiB) * 2500,
    steps: () => [send(text(textPayload(n))), expectText(textPayload(n)), ...closeNormally()],
  });
});
bigSizes.forEach((n, i) => {
  valid({
    id: `9.2.${i + 1}`, description: `binary message of ${sizeLabel(n)} in one frame`, rfcSection: '§5.2, §10.4', what: 'echoes the message', timeoutMs: 10_000 + Math.ceil(n / MiB) * 2500,
    steps: () => [send(binary(binaryPayload(n))), expectBinary(binaryPayload(n)), ...closeNormally()],
  });
});
valid({ id: '9.10.1', description: 'text message of 64 KiB in 1000 fragments', rfcSection: '§5.4', what: 'echoes the message', steps: () => [send(...fragmentEvery(Opcode.Text, textPayload(65536), 66)), expectText(textPayload(65536)), ...closeNormally()] });
valid({ id: '9.10.2', description: 'binary message of 1 MiB in 1000 fragments', rfcSection: '§5.4', what: 'echoes the message', timeoutMs: 15_000, steps: () => [send(...fragmentEvery(Opcode.Binary, binaryPayload(MiB), 1049)), expectBinary(binaryPayload(MiB)), ...closeNormally()] });
valid({ id: '9.10.3', description: 'binary message of 1 MiB in 4096 fragments of 256 bytes', rfcSection: '§5.4', what: 'echoes the message', timeoutMs: 15_000, steps: () => [send(...fragmentEvery(Opcode.Binary, binaryPayload(MiB), 256)), expectBinary(binaryPayload(MiB)), ...closeNormally()] });
valid({ id: '9.11.1', description: 'text message of 1 KiB chopped into 1-byte TCP writes', rfcSection: '§5.2', what: 'echoes the message', steps: () => [sendChopped(1, [text(textPayload(1024))]), expectText(textPayload(1024)), ...closeNormally()] });
valid({ id: '9.11.2', description: 'binary message of 16 KiB chopped into 1-byte TCP writes', rfcSection: '§5.2', what: 'echoes the message', timeoutMs: 20_000, steps: () => [sendChopped(1, [binary(binaryPayload(16 * 1024))]), expectBinary(binaryPayload(16 * 1024)), ...closeNormally()] });
valid({ id: '9.11.3', description: 'binary message of 1 MiB chopped into 1 KiB TCP writes', rfcSection: '§5.2', what: 'echoes the message', timeoutMs: 15_000, steps: () => [sendChopped(1024, [binary(binaryPayload(MiB))]), expectBinary(binaryPayload(MiB)), ...closeNormally()] });
valid({ id: '9.11.4', description: 'text message in 64 fragments, the whole stream chopped into 3-byte TCP writes', rfcSection: '§5.2, §5.4', what: 'echoes the message', steps: () => [sendChopped(3, fragmentEvery(Opcode.Text, helloUtf8Repeated(), 17)), expectText(helloUtf8Repeated()), ...closeNormally()] });

function helloUtf8Repeated(): Uint8Array {
  return utf8('Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀 '.repeat(30)).subarray(0, 64 * 17);
}

function manyMessagesCase(id: string, count: number, size: number, kind: 'text' | 'binary'): void {
  valid({
    id, description: `${count} ${kind} messages of ${sizeLabel(size)}, back to back`, rfcSection: '§5.6', what: `echoes all ${count} messages in order`, timeoutMs: 20_000,
    steps: () => {
      const payloads = Array.from({ length: count }, (_, i) => {
        if (kind === 'binary') {
          const p = binaryPayload(size);
          p[0] = i & 0xff;
          return p;
        }
        return utf8(`${i}`.padStart(size, '0').slice(-size));
      });
      return [
        send(...payloads.map((p) => (kind === 'text' ? text(p) : binary(p)))),
        ...payloads.map((p) => (kind === 'text' ? expectText(p) : expectBinary(p))),
        ...closeNormally(),
      ];
    },
  });
}
manyMessagesCase('9.12.1', 1000, 10, 'text');
manyMessagesCase('9.12.2', 1000, 1, 'binary');
manyMessagesCase('9.12.3', 100, 4096, 'binary');
valid({
  id: '9.13.1', description: '200 text messages, each sent only after the previous echo arrived (round trips)', rfcSection: '§5.6', what: 'echoes every message', timeoutMs: 20_000,
  steps: () => Array.from({ length: 200 }, (_, i) => [send(text(`round trip ${i}`)), expectText(`round trip ${i}`)]).flat().concat(closeNormally()),
});

// ===================================================================== 10 Miscellaneous

const stars64k = () => utf8('*'.repeat(65536)); // Autobahn's 10.1.1 payload
valid({ id: '10.1.1', description: '64 KiB text of "*" sent in 1300-byte fragments (auto-fragmentation); the echo may come fragmented any way', rfcSection: '§5.4', what: 'echoes the whole message', steps: () => [send(...fragmentEvery(Opcode.Text, stars64k(), 1300)), expectText(stars64k()), ...closeNormally()] });
valid({ id: '10.1.2', description: '1 MiB binary in one frame; the echo may come fragmented any way', rfcSection: '§5.4', what: 'echoes the whole message', timeoutMs: 15_000, steps: () => [send(binary(binaryPayload(MiB))), expectBinary(binaryPayload(MiB)), ...closeNormally()] });
invalid({ id: '10.2.1', description: 'text frame with the wrong mask bit for its sender (unmasked from a client, masked from a server)', rfcSection: '§5.1, §5.3', codes: [1002], steps: () => [send(text('wrong mask bit', { wrongMask: true })), failWith(1002)] });
invalid({ id: '10.2.2', description: 'ping with the wrong mask bit for its sender', rfcSection: '§5.1', codes: [1002], steps: () => [send(ping('wrong mask bit', { wrongMask: true })), failWith(1002)] });
invalid({ id: '10.2.3', description: 'valid text, then a binary frame with the wrong mask bit', rfcSection: '§5.1', codes: [1002], before: 'echoes the first message', steps: () => [send(text('valid before')), expectText('valid before'), send(binary(binaryPayload(8), { wrongMask: true })), failWith(1002)] });
valid({
  id: '10.3.1', description: 'a text frame in the same TCP write as the 101 response', rfcSection: '§4.1, §5', what: 'echoes the message', peers: ['client'],
  steps: () => [{ kind: 'send', frames: [text('right behind the handshake')], withHandshake: true }, expectText('right behind the handshake'), ...closeNormally()],
});
valid({
  id: '10.3.2', description: 'a ping in the same TCP write as the 101 response', rfcSection: '§4.1, §5.5.2', what: 'answers with a pong', peers: ['client'],
  steps: () => [{ kind: 'send', frames: [ping('right behind the handshake')], withHandshake: true }, expectPong('right behind the handshake'), ...closeNormally()],
});

// ===================================================================== 12, 13 Compression (RFC 7692)
//
// In the spirit of Autobahn's 12.x.y and 13.x.y: messages sent compressed one at a time, each
// after the echo of the one before, the echo compared byte for byte. Autobahn's y runs over 18
// (size, auto-fragment) pairs, each case 1000 messages; here a subset of the ids, each with the
// same size and fragmentation and Autobahn's id, and at most 1000 messages or 1 MiB per case
// (Autobahn sends up to 128 MiB a case: minutes of zlib for little more coverage). README
// "Conformance battery" lists which ids there are and which not.

/** Autobahn's (payload size, auto-fragment size) for y = 1..18. */
const deflateSizes: ReadonlyArray<readonly [number, number]> = [
  [16, 0], [64, 0], [256, 0], [1024, 0], [4096, 0], [8192, 0], [16384, 0], [32768, 0], [65536, 0], [131072, 0],
  [8192, 256], [16384, 256], [32768, 256], [65536, 256], [131072, 256], [131072, 1024], [131072, 4096], [131072, 32768],
];

/** At most 1000 messages (Autobahn's count) and 1 MiB per case (8 messages of Autobahn's largest, 128 KiB). */
export function deflateMessageCount(size: number): number {
  return Math.min(1000, Math.max(8, Math.floor((1024 * 1024) / size)));
}

/**
 * Our offer as Autobahn's default, as it acts on the wire: client_max_window_bits without a value
 * (the server may limit our window). Autobahn's offer also carries client_no_context_takeover as
 * a hint its client does not act on; RFC 7692 §7.1.1.2 makes that a promise, which our client
 * keeps, so we leave it out and compress with context takeover as Autobahn's client does.
 */
const defaultOffer: DeflateOffer = { clientMaxWindowBits: true };

function deflateCase(id: string, corpus: CorpusName, y: number, deflate: CaseDeflate): void {
  const [size, fragment] = deflateSizes[y - 1]!;
  const count = deflateMessageCount(size);
  const { binary, description } = corpora[corpus];
  const opcode = binary ? Opcode.Binary : Opcode.Text;
  const kind = binary ? 'binary' : 'text';
  cases.push({
    id, category: categoryOf(id), categoryName: categoryName(categoryOf(id)),
    description: `${count} compressed ${kind} messages of ${sizeLabel(size)} (${description}), each sent after the echo of the one before${fragment ? `, the compressed payload cut into ${sizeLabel(fragment)} frames` : ''}; ${deflate.summary}`,
    rfcSection: 'RFC 7692 §6, §7.2', timeoutMs: 20_000 + Math.ceil((count * size) / 1024), peers: BOTH, deflate,
    expectation: {
      pass: 'agrees to permessage-deflate, echoes every message as it was sent, then answers our Close with the same Close and TCP closes',
      nonStrict: 'declines permessage-deflate (unimplemented: RFC 7692 §5 lets it; nothing about compression was tested), or closes with another valid code or late',
      fail: 'an answer that fits no offer, a different or missing echo, a frame that breaks RFC 6455 or RFC 7692 (RSV1 out of place, data that does not inflate), or no Close in answer to ours',
    },
    steps: () => {
      const payloads = corpusSlices(corpus, size, count);
      return [
        ...payloads.flatMap((payload): Step[] => [{ kind: 'send-message', opcode, payload, ...(fragment ? { fragmentSize: fragment } : {}) }, { kind: 'expect-message', opcode, payload }]),
        ...closeNormally(),
      ];
    },
  });
}

const defaultDeflate: CaseDeflate = { offers: [defaultOffer], answers: [{}], summary: 'the default offer and answer (no parameters but client_max_window_bits offered)' };

/** 12.j: one corpus each, Autobahn's order (JSON, bitmap, prose, HTML, PDF); the y this battery runs. */
const sizeCases: ReadonlyArray<readonly [number, CorpusName, readonly number[]]> = [
  [1, 'json', [1, 3, 5, 8, 10, 11, 14, 16, 18]],
  [2, 'bitmap', [2, 6, 10, 15]],
  [3, 'prose', [4, 9, 17]],
  [4, 'html', [4, 7, 12]],
  [5, 'pdf', [5, 10, 13]],
];
for (const [j, corpus, ys] of sizeCases) for (const y of ys) deflateCase(`12.${j}.${y}`, corpus, y, defaultDeflate);

/** Autobahn's 13.1 to 13.7: what the client offers (server_ parameters) and what the server answers (client_ parameters). */
const snct = (more: DeflateOffer = {}): DeflateOffer => ({ ...defaultOffer, serverNoContextTakeover: true, ...more });
const smwb = (bits: number, more: DeflateOffer = {}): DeflateOffer => ({ ...defaultOffer, serverMaxWindowBits: bits, ...more });
const cnct: DeflateAnswer = { clientNoContextTakeover: true };
const cmwb = (bits: number, more: DeflateAnswer = {}): DeflateAnswer => ({ clientMaxWindowBits: bits, ...more });
const parameterCases: ReadonlyArray<CaseDeflate> = [
  { offers: [defaultOffer], answers: [{}], summary: 'offer: no parameters; answer: none' },
  { offers: [snct()], answers: [cnct], summary: 'offer: server_no_context_takeover; answer: client_no_context_takeover (no context takeover either way)' },
  { offers: [smwb(8)], answers: [cmwb(8)], summary: 'offer: server_max_window_bits=8; answer: client_max_window_bits=8 (256-byte windows, which zlib runs as 512)' },
  { offers: [smwb(15)], answers: [cmwb(15)], summary: 'offer: server_max_window_bits=15; answer: client_max_window_bits=15' },
  { offers: [snct({ serverMaxWindowBits: 8 })], answers: [cmwb(8, cnct)], summary: 'offer: server_no_context_takeover, server_max_window_bits=8; answer: client_no_context_takeover, client_max_window_bits=8' },
  { offers: [snct({ serverMaxWindowBits: 15 })], answers: [cmwb(15, cnct)], summary: 'offer: server_no_context_takeover, server_max_window_bits=15; answer: client_no_context_takeover, client_max_window_bits=15' },
  {
    offers: [snct({ serverMaxWindowBits: 8 }), snct(), defaultOffer], answers: [cmwb(8, cnct), cnct, {}],
    summary: 'three offers in order of preference (no takeover and 8 bits; no takeover; none), answered with the first that fits',
  },
];
parameterCases.forEach((deflate, i) => {
  for (const y of [1, 5, 9, 16]) deflateCase(`13.${i + 1}.${y}`, 'json', y, deflate);
});

// Not in Autobahn: the window sizes between its 8 and 15, both directions limited to the same
// 2^N bytes (the client promises N in its offer, RFC 7692 §7.1.2.2; the server is asked for N).
for (let bits = 9; bits <= 14; bits++) {
  deflateCase(`13.8.${bits - 8}`, 'json', 9, {
    offers: [smwb(bits, { clientMaxWindowBits: bits })], answers: [cmwb(bits)],
    summary: `offer: server_max_window_bits=${bits}, client_max_window_bits=${bits}; answer: client_max_window_bits=${bits} (${2 ** bits}-byte windows both ways)`,
  });
}

/** All cases, in order. */
export const conformanceCases: readonly ConformanceCase[] = cases;

/**
 * Does a case id match one of these filters? "5" and "5." both mean 5.x (not 50.x); "6.8.1"
 * means 6.8.1 and 6.8.1.x, never 6.8.10.
 */
export function matchesFilter(id: string, filters: readonly string[] | undefined): boolean {
  if (!filters || filters.length === 0) return true;
  return filters.some((raw) => {
    const f = raw.trim();
    if (!f) return false;
    const base = f.endsWith('.') ? f.slice(0, -1) : f;
    return id === base || id.startsWith(base + '.');
  });
}

/** The cases that apply to this kind of peer and match the filters. */
export function selectCases(peer: PeerKind, filters?: readonly string[]): ConformanceCase[] {
  return conformanceCases.filter((c) => c.peers.includes(peer) && matchesFilter(c.id, filters));
}

/** "5.,6." or ["5.", "6."] as a list of filters. */
export function parseCaseFilter(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return list.length ? list : undefined;
}
