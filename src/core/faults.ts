/**
 * Fault presets: named misbehaviours to fire at a connected peer, grouped by the RFC section
 * they break, each with a plain explanation and the reaction the RFC requires of the peer.
 * Bytes are built for the role we play (client frames masked, server frames not), so the
 * one thing each preset breaks is the thing it names. Pure data and encoders, no I/O.
 *
 * What a frame means depends on what the handshake agreed: with permessage-deflate (RFC 7692)
 * agreed, RSV1 on a message's first frame is the "Per-Message Compressed" bit, not a fault. So a
 * preset may need a connection without any extension (`needs: 'no-extension'`, e.g. rsv1-set) or
 * one with permessage-deflate (`needs: 'permessage-deflate'`, the RFC 7692 group); presetApplies
 * says whether it can be fired on a connection, and fireFault refuses the others.
 */

import { deflateRawSync, constants as zlibConstants } from 'node:zlib';
import { concatBytes, utf8Encode } from './bytes.ts';
import { violationTable } from './errors.ts';
import { encodeClosePayload, encodeFrame, type FrameSpec } from './frame-codec.ts';
import type { Role } from './trace.ts';

/** What the peer did after the fault, as seen on the wire. */
export type Reaction =
  | { kind: 'close'; code: number | null; reason: string }
  | { kind: 'drop' }
  | { kind: 'message'; text?: string; size: number }
  | { kind: 'pong'; payload: string }
  /**
   * The peer's answer broke a rule on our side first, so we failed the connection ourselves
   * (e.g. it inflated a zip bomb and echoed a message past our own limit).
   */
  | { kind: 'violation'; code: string; message: string; closeCode: number }
  | { kind: 'nothing' };

/** A reaction the RFC allows. */
export type ExpectedReaction =
  | { kind: 'close'; codes: number[] }
  | { kind: 'drop' }
  | { kind: 'message'; text?: string }
  | { kind: 'pong'; payload: string }
  | { kind: 'nothing' };

/** What a preset needs the connection to have agreed in its opening handshake. */
export type PresetNeeds = 'no-extension' | 'permessage-deflate';

/** What the connection agreed: the extension in use (null: none, so every RSV bit must stay 0). */
export interface FaultContext {
  extension: string | null;
}

export interface FaultPreset {
  id: string;
  title: string;
  rfcSection: string;
  /** Group heading, e.g. "§5.2 Base framing". */
  group: string;
  explanation: string;
  /** The reaction the RFC requires, in words. */
  expectedText: string;
  /** Any of these counts as the RFC's reaction (a close with a listed code may also come as a drop, see allowDrop). */
  expected: ExpectedReaction[];
  /** Failing the connection may come as a bare TCP close: §7.1.7 says the endpoint SHOULD send a Close frame first, and MAY omit it when the other side is unlikely to process it. */
  allowDrop?: boolean;
  /** Only on a connection that agreed this (absent: any connection). */
  needs?: PresetNeeds;
  /** The bytes to send, in TCP writes; and a delay between writes if it matters. */
  build(role: Role, maskKey: () => Uint8Array): { writes: Uint8Array[]; delayMs?: number };
  /**
   * How long the peer may take to react, when it must do real work first (the fault runner's
   * default otherwise). A reaction ends the wait as soon as it comes; only silence waits this long.
   */
  reactionWindowMs?: number;
}

const text = (s: string) => utf8Encode(s);
const hexBytes = (...b: number[]) => Uint8Array.from(b);

function frame(role: Role, maskKey: () => Uint8Array, spec: FrameSpec): Uint8Array {
  return encodeFrame({ ...spec, maskKey: spec.maskKey !== undefined ? spec.maskKey : role === 'client' ? maskKey() : null });
}

/** One frame, one write. */
function single(spec: FrameSpec) {
  return (role: Role, maskKey: () => Uint8Array) => ({ writes: [frame(role, maskKey, spec)] });
}

const fail1002: ExpectedReaction[] = [{ kind: 'close', codes: [1002] }];

const DEFLATE_GROUP = 'RFC 7692 Compression (permessage-deflate)';
/** RFC 7692 §6.1, in other words (its text is not here to quote from): the violation table's rule. */
const RSV1_RULE = `${violationTable.WS_ERR_RSV1_ON_CONTROL_FRAME.rule} (RFC 7692 §6.1)`;

/** A DEFLATE block with no compression (RFC 1951 §3.2.4), BFINAL clear: 00, LEN and NLEN little-endian, the bytes. */
function storedBlock(s: string): Uint8Array {
  const data = utf8Encode(s);
  const n = data.length;
  return concatBytes([hexBytes(0x00, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff), data]);
}

const BOMB_INFLATED = 128 * 1024 * 1024;
const BOMB_STEP = 1024 * 1024;
/** About what the bomb weighs on the wire (the exact size is zlib's), for the explanation. */
const BOMB_WIRE_ESTIMATE = (BOMB_INFLATED / BOMB_STEP) * 1030;
let bomb: Uint8Array | null = null;

/**
 * 128 MiB of zeros as one raw DEFLATE stream, built from 1 MiB compressed once (sync-flushed, so
 * it ends byte-aligned and without BFINAL) and repeated: each copy starts with a literal and
 * refers back at distance 1, so the copies chain into one stream. The message's trailing
 * 00 00 ff ff is removed as RFC 7692 §7.2.1 asks (the receiver appends it back).
 */
function deflateBomb(): Uint8Array {
  if (!bomb) {
    const step = new Uint8Array(deflateRawSync(new Uint8Array(BOMB_STEP), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH }));
    const copies = BOMB_INFLATED / BOMB_STEP;
    const all = new Uint8Array(step.length * copies);
    for (let i = 0; i < copies; i++) all.set(step, i * step.length);
    bomb = all.subarray(0, all.length - 4);
  }
  return bomb;
}
const fail1007: ExpectedReaction[] = [{ kind: 'close', codes: [1007] }];

export const faultPresets: FaultPreset[] = [
  // ---------------------------------------------------------------- §5.1 masking
  {
    id: 'wrong-mask-bit', group: '§5.1 Masking', rfcSection: '§5.1', title: 'Wrong mask bit for the role',
    explanation: 'A client must mask every frame and a server must never mask. This sends a text frame with the mask bit the other way round from what our role requires.',
    expectedText: 'The peer fails the connection: Close 1002 (Protocol Error).', expected: fail1002, allowDrop: true,
    build: (role, maskKey) => ({ writes: [encodeFrame({ opcode: 1, payload: text('wrongly masked'), maskKey: role === 'client' ? null : maskKey() })] }),
  },
  // ---------------------------------------------------------------- §5.2 framing
  // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values."
  // permessage-deflate defines RSV1 (RFC 7692 §6), so RSV1 is a fault only where nothing was
  // agreed; RSV2 and RSV3 stay faults on every connection (no extension here defines them).
  ...([1, 2, 3] as const).map((n): FaultPreset => ({
    id: `rsv${n}-set`, group: '§5.2 Base framing', rfcSection: '§5.2',
    title: n === 1 ? 'RSV1 set with no extension agreed' : `RSV${n} set (no extension defines it)`,
    explanation: n === 1
      ? 'RSV1 must be 0 unless a negotiated extension gives it a meaning, and this connection agreed none. (Where permessage-deflate was agreed, RSV1 on a first frame means "compressed": see the RFC 7692 presets.)'
      : `RSV${n} must be 0 unless a negotiated extension gives it a meaning; none does here (permessage-deflate, when agreed, defines RSV1 only).`,
    expectedText: 'The peer fails the connection: Close 1002.', expected: fail1002, allowDrop: true,
    ...(n === 1 ? { needs: 'no-extension' as const } : {}),
    build: single({ opcode: 1, payload: text('reserved bit'), rsv1: n === 1, rsv2: n === 2, rsv3: n === 3 }),
  })),
  {
    id: 'reserved-data-opcode', group: '§5.2 Base framing', rfcSection: '§5.2', title: 'Reserved data opcode 0x3',
    explanation: 'Opcodes 0x3-0x7 are reserved for future non-control frames. "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 0x3, payload: text('what am I?') }),
  },
  {
    id: 'reserved-control-opcode', group: '§5.2 Base framing', rfcSection: '§5.2', title: 'Reserved control opcode 0xB',
    explanation: 'Opcodes 0xB-0xF are reserved for future control frames.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 0xb }),
  },
  {
    id: 'non-minimal-length', group: '§5.2 Base framing', rfcSection: '§5.2', title: 'Non-minimal length encoding',
    explanation: 'A 5-byte payload whose length is written in the 16-bit extended field. "The minimal number of bytes MUST be used to encode the length" binds the sender; the RFC does not tell the receiver to fail, so most peers accept it.',
    expectedText: 'Either the message is processed (echoed) or the peer fails with 1002; both are defensible.',
    expected: [{ kind: 'message', text: 'Hello' }, { kind: 'close', codes: [1002] }], allowDrop: true,
    build: single({ opcode: 1, payload: text('Hello'), lengthEncoding: '16-bit' }),
  },
  {
    id: 'length-msb-set', group: '§5.2 Base framing', rfcSection: '§5.2', title: '64-bit length with the top bit set',
    explanation: 'The most significant bit of the 64-bit length MUST be 0: this length is not a valid frame length.',
    expectedText: 'Close 1002 (or 1009 from a peer that checks the size first).', expected: [{ kind: 'close', codes: [1002, 1009] }], allowDrop: true,
    build: (role, maskKey) => {
      const bytes = frame(role, maskKey, { opcode: 2, payload: hexBytes(1, 2, 3), lengthEncoding: '64-bit' });
      bytes[2] = 0x80; // top bit of the 64-bit length
      return { writes: [bytes] };
    },
  },
  {
    id: 'length-longer-than-payload', group: '§5.2 Base framing', rfcSection: '§5.2', title: 'Length field longer than the payload sent',
    explanation: 'The header announces 10 bytes but only 5 follow. The peer cannot know the frame is short: it must wait for the other 5 bytes.',
    expectedText: 'Nothing: the peer keeps waiting for the rest of the frame.', expected: [{ kind: 'nothing' }],
    build: single({ opcode: 1, payload: text('Hello'), declaredLength: 10 }),
  },
  {
    id: 'length-shorter-than-payload', group: '§5.2 Base framing', rfcSection: '§5.2', title: 'Length field shorter than the payload sent',
    explanation: 'The header announces 3 bytes but 5 follow ("Hel" + "lo"). The peer takes "Hel" as the frame and reads the rest as the next frame header. Fired from the server, the payload is sent as it is, so "l" becomes header byte 0x6C: RSV bits set and a reserved opcode. Fired from a client, the payload is masked, so that byte is "l" XOR a masking-key byte and the broken header it makes depends on the key.',
    expectedText: 'The first 3 bytes are a message; "lo" is then a broken header: Close 1002.', expected: [{ kind: 'close', codes: [1002] }, { kind: 'message', text: 'Hel' }], allowDrop: true,
    build: single({ opcode: 1, payload: text('Hello'), declaredLength: 3 }),
  },
  // ---------------------------------------------------------------- §5.4 fragmentation
  {
    id: 'continuation-without-start', group: '§5.4 Fragmentation', rfcSection: '§5.4', title: 'Continuation frame with nothing to continue',
    explanation: 'A continuation frame (opcode 0) is only valid after a text or binary frame with FIN clear.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 0, payload: text('orphan') }),
  },
  {
    id: 'new-message-during-fragments', group: '§5.4 Fragmentation', rfcSection: '§5.4', title: 'New message before the fragmented one ends',
    explanation: 'Sends the first fragment of a text message, then a new complete text message instead of a continuation. Fragments of different messages must not interleave.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true,
    build: (role, maskKey) => ({ writes: [frame(role, maskKey, { opcode: 1, payload: text('Hel'), fin: false }), frame(role, maskKey, { opcode: 1, payload: text('oops') })] }),
  },
  {
    id: 'ping-between-fragments', group: '§5.4 Fragmentation', rfcSection: '§5.4', title: 'Ping between fragments (valid)',
    explanation: 'Control frames MAY be injected in the middle of a fragmented message. This sends "Hel", a ping, then "lo": all legal.',
    expectedText: 'A pong, then the whole message "Hello" (an echo peer sends it back).', expected: [{ kind: 'pong', payload: 'mid' }, { kind: 'message', text: 'Hello' }],
    build: (role, maskKey) => ({
      writes: [
        frame(role, maskKey, { opcode: 1, payload: text('Hel'), fin: false }),
        frame(role, maskKey, { opcode: 9, payload: text('mid') }),
        frame(role, maskKey, { opcode: 0, payload: text('lo') }),
      ],
    }),
  },
  // ---------------------------------------------------------------- §5.5 control frames
  {
    id: 'control-frame-too-long', group: '§5.5 Control frames', rfcSection: '§5.5', title: 'Ping with a 126-byte payload',
    explanation: 'All control frames MUST have a payload length of 125 bytes or less.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 9, payload: new Uint8Array(126).fill(0x61) }),
  },
  {
    id: 'fragmented-ping', group: '§5.5 Control frames', rfcSection: '§5.5', title: 'Fragmented ping (FIN clear)',
    explanation: 'Control frames MUST NOT be fragmented.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 9, payload: text('half'), fin: false }),
  },
  {
    id: 'fragmented-close', group: '§5.5 Control frames', rfcSection: '§5.5', title: 'Fragmented close (FIN clear)',
    explanation: 'A Close frame with FIN clear: control frames cannot be fragmented.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 8, payload: encodeClosePayload(1000), fin: false }),
  },
  {
    id: 'close-one-byte', group: '§5.5.1 Close', rfcSection: '§5.5.1', title: 'Close with a 1-byte body',
    explanation: 'A close body, if present, starts with a 2-byte status code; 1 byte cannot be one.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 8, payload: hexBytes(0x03) }),
  },
  {
    id: 'close-code-1005', group: '§5.5.1 Close', rfcSection: '§7.4.1', title: 'Close code 1005 on the wire',
    explanation: '1005 (No Status Received) is for reporting locally; it MUST NOT be set as a status code in a Close frame.',
    expectedText: 'Close 1002.', expected: fail1002, allowDrop: true, build: single({ opcode: 8, payload: encodeClosePayload(1005) }),
  },
  {
    id: 'close-code-999', group: '§5.5.1 Close', rfcSection: '§7.4.2', title: 'Close code 999',
    explanation: 'Status codes 0-999 are not used.', expectedText: 'Close 1002.', expected: fail1002, allowDrop: true,
    build: single({ opcode: 8, payload: encodeClosePayload(999) }),
  },
  {
    id: 'close-reason-bad-utf8', group: '§5.5.1 Close', rfcSection: '§5.5.1', title: 'Close reason that is not UTF-8',
    explanation: 'The close reason MUST be valid UTF-8; this one ends with 0xFF.',
    expectedText: 'Close 1007 (Invalid Payload Data); some peers answer 1002.', expected: [{ kind: 'close', codes: [1007, 1002] }], allowDrop: true,
    build: single({ opcode: 8, payload: Uint8Array.of(0x03, 0xe8, 0x6f, 0x6b, 0xff) }),
  },
  {
    id: 'close-normal', group: '§5.5.1 Close', rfcSection: '§5.5.1', title: 'A normal close 1000 (valid)',
    explanation: 'Starts the closing handshake properly. The peer MUST answer with a Close frame, typically echoing the code.',
    expectedText: 'A Close frame back (usually 1000).', expected: [{ kind: 'close', codes: [1000] }],
    build: single({ opcode: 8, payload: encodeClosePayload(1000, 'preset') }),
  },
  // ---------------------------------------------------------------- §5.5.2-3 ping/pong
  {
    id: 'ping-payload', group: '§5.5.2 Ping and pong', rfcSection: '§5.5.2', title: 'Ping with a payload (valid)',
    explanation: 'Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, with identical Application data.',
    expectedText: 'A pong with the same payload.', expected: [{ kind: 'pong', payload: 'are you there?' }], build: single({ opcode: 9, payload: text('are you there?') }),
  },
  {
    id: 'unsolicited-pong', group: '§5.5.2 Ping and pong', rfcSection: '§5.5.3', title: 'Unsolicited pong (valid)',
    explanation: 'A Pong frame MAY be sent unsolicited, as a unidirectional heartbeat. A response is not expected.',
    expectedText: 'Nothing.', expected: [{ kind: 'nothing' }], build: single({ opcode: 10, payload: text('heartbeat') }),
  },
  // ---------------------------------------------------------------- §5.6 / §8.1 UTF-8
  {
    id: 'invalid-utf8', group: '§8.1 UTF-8', rfcSection: '§8.1', title: 'Text message with invalid UTF-8',
    explanation: 'A text frame containing 0xC0 0xAF, an overlong encoding of "/". Text must be valid UTF-8.',
    expectedText: 'Close 1007 (Invalid Payload Data).', expected: fail1007, allowDrop: true,
    build: single({ opcode: 1, payload: Uint8Array.of(0x61, 0xc0, 0xaf, 0x62) }),
  },
  {
    id: 'utf8-split-valid', group: '§8.1 UTF-8', rfcSection: '§5.6', title: 'Character split across fragments (valid)',
    explanation: '"✓" (E2 9C 93) split between two fragments. Fragmentation may cut anywhere, even inside a character.',
    expectedText: 'The message "ok ✓" is processed (echoed).', expected: [{ kind: 'message', text: 'ok ✓' }],
    build: (role, maskKey) => ({ writes: [frame(role, maskKey, { opcode: 1, payload: Uint8Array.of(0x6f, 0x6b, 0x20, 0xe2), fin: false }), frame(role, maskKey, { opcode: 0, payload: Uint8Array.of(0x9c, 0x93) })] }),
  },
  {
    id: 'utf8-truncated', group: '§8.1 UTF-8', rfcSection: '§8.1', title: 'Text message ending mid-character',
    explanation: 'The message ends after E2 9C, two of the three bytes of "✓".', expectedText: 'Close 1007.', expected: fail1007, allowDrop: true,
    build: single({ opcode: 1, payload: Uint8Array.of(0x6f, 0x6b, 0xe2, 0x9c) }),
  },
  // ---------------------------------------------------------------- TCP delivery
  {
    id: 'one-byte-writes', group: 'TCP delivery', rfcSection: '§5.2', title: 'A frame in 1-byte TCP writes (valid)',
    explanation: 'TCP is a byte stream: a frame may arrive a byte at a time. Sent here as one write per byte, 20 ms apart.',
    expectedText: 'The message "slowly" is processed (echoed).', expected: [{ kind: 'message', text: 'slowly' }],
    build: (role, maskKey) => {
      const bytes = frame(role, maskKey, { opcode: 1, payload: text('slowly') });
      return { writes: Array.from(bytes, (b) => Uint8Array.of(b)), delayMs: 20 };
    },
  },
  {
    id: 'data-after-close', group: '§5.5.1 Close', rfcSection: '§5.5.1', title: 'Text frame after our Close',
    explanation: 'After sending a Close frame, an endpoint MUST NOT send any more data frames. This sends Close 1000 and then a text frame in the same write.',
    expectedText: 'The peer answers the Close (1000) and ignores the text (or fails with 1002).', expected: [{ kind: 'close', codes: [1000, 1002] }],
    build: (role, maskKey) => {
      const close = frame(role, maskKey, { opcode: 8, payload: encodeClosePayload(1000) });
      const late = frame(role, maskKey, { opcode: 1, payload: text('too late') });
      const both = new Uint8Array(close.length + late.length);
      both.set(close);
      both.set(late, close.length);
      return { writes: [both] };
    },
  },
  // ---------------------------------------------------------------- RFC 7692 permessage-deflate
  // Only where permessage-deflate was agreed: these frames are faults of the extension, and
  // without it every one of them would be the plain §5.2 fault of rsv1-set.
  {
    id: 'deflate-rsv1-continuation', group: DEFLATE_GROUP, rfcSection: 'RFC 7692 §6.1', title: 'RSV1 on a continuation frame', needs: 'permessage-deflate',
    explanation: `A compressed text message in two fragments, "Hel" then "lo", each a DEFLATE block with no compression (the form of RFC 7692 §7.2.3.3), with RSV1 set on the continuation frame too. RSV1 belongs on a message's first frame only: ${RSV1_RULE}`,
    expectedText: 'The peer fails the connection: Close 1002 (Protocol Error).', expected: fail1002, allowDrop: true,
    build: (role, maskKey) => ({
      writes: [
        frame(role, maskKey, { opcode: 1, payload: storedBlock('Hel'), fin: false, rsv1: true }),
        // The same bytes with RSV1 clear would complete a valid "Hello" (the trailing 00 starts the empty block whose 00 00 ff ff the receiver appends, §7.2.2).
        frame(role, maskKey, { opcode: 0, payload: concatBytes([storedBlock('lo'), hexBytes(0x00)]), rsv1: true }),
      ],
    }),
  },
  {
    id: 'deflate-rsv1-control', group: DEFLATE_GROUP, rfcSection: 'RFC 7692 §6.1', title: 'RSV1 on a control frame', needs: 'permessage-deflate',
    explanation: `A ping with RSV1 set. Control frames are never compressed: ${RSV1_RULE}`,
    expectedText: 'The peer fails the connection: Close 1002 (Protocol Error).', expected: fail1002, allowDrop: true,
    build: single({ opcode: 9, payload: text('compressed ping?'), rsv1: true }),
  },
  {
    id: 'deflate-corrupt', group: DEFLATE_GROUP, rfcSection: 'RFC 7692 §7.2.2', title: 'Compressed message that is not valid DEFLATE', needs: 'permessage-deflate',
    explanation: 'A text frame with RSV1 set whose payload begins with a DEFLATE block of type 11, which RFC 1951 §3.2.3 reserves as an error: after appending 00 00 ff ff (RFC 7692 §7.2.2) nothing inflates. RFC 7692 names no close code for this. Real peers differ: ws sends 1007 (Invalid Payload Data: the frames are fine, the message data cannot be read, RFC 6455 §7.4.1), python-websockets sends 1002 (Protocol Error). Both fail the connection, which is what matters, so the judge accepts either.',
    expectedText: 'The peer fails the connection: Close 1007 or Close 1002 (RFC 7692 names no code; ws says 1007, python-websockets 1002).',
    expected: [{ kind: 'close', codes: [1007, 1002] }], allowDrop: true,
    build: single({ opcode: 1, payload: hexBytes(0x06, 0x6e, 0x6f, 0x74, 0x20, 0x64, 0x65, 0x66, 0x6c, 0x61, 0x74, 0x65), rsv1: true }),
  },
  {
    id: 'deflate-bomb', group: DEFLATE_GROUP, rfcSection: '§10.4, §7.4.1', title: 'Message that inflates past the limit (a zip bomb)', needs: 'permessage-deflate',
    explanation: `A binary message of ${Math.round(BOMB_WIRE_ESTIMATE / 1024)} KiB on the wire that inflates to ${BOMB_INFLATED / (1024 * 1024)} MiB of zeros (DEFLATE reaches about 1000:1 on repeated bytes). RFC 6455 §10.4: implementations with limits on message size "MUST protect themselves against exceeding those limits"; a receiver that inflates first and measures afterwards has already lost. 128 MiB is past the default limits of ws (100 MiB), python-websockets (1 MiB) and this app (64 MiB); a peer with a larger limit, or none, inflates it all.`,
    expectedText: 'The peer stops inflating at its limit and fails the connection: Close 1009 (Message Too Big).',
    expected: [{ kind: 'close', codes: [1009] }], allowDrop: true,
    // The peer answers only once it has inflated up to its limit: ws inflates 100 MiB in 16 KiB
    // thread-pool trips, 0.3-0.7 s on a machine at load 6 and past 1.5 s at load 13 (measured).
    reactionWindowMs: 15_000,
    build: (role, maskKey) => ({ writes: [frame(role, maskKey, { opcode: 2, payload: deflateBomb(), rsv1: true })] }),
  },
];

export function findPreset(id: string): FaultPreset | undefined {
  return faultPresets.find((p) => p.id === id);
}

/**
 * Can this preset be fired on a connection that agreed `extension` (null: none)? A preset is
 * judged against the RFC's reaction, and that reaction depends on what the handshake agreed.
 */
export function presetApplies(preset: FaultPreset, context: FaultContext): { ok: true } | { ok: false; reason: string } {
  if (preset.needs === 'no-extension' && context.extension !== null) {
    return {
      ok: false,
      reason: `"${preset.id}" needs a connection with no extension, and this one agreed ${context.extension}: there RSV1 on a first frame means "compressed" (RFC 7692 §6), so it would not be a fault. Connect without permessage-deflate (--no-deflate, or deflate off) to fire it, or fire the RFC 7692 presets here.`,
    };
  }
  if (preset.needs === 'permessage-deflate' && context.extension !== 'permessage-deflate') {
    return {
      ok: false,
      reason: `"${preset.id}" needs a connection that agreed permessage-deflate (RFC 7692), and this one agreed ${context.extension ?? 'no extension'}. Connect with permessage-deflate on (the default) to a peer that accepts it.`,
    };
  }
  return { ok: true };
}

/** The presets that can be fired on a connection that agreed this. */
export function presetsFor(context: FaultContext): FaultPreset[] {
  return faultPresets.filter((p) => presetApplies(p, context).ok);
}

/** Does what happened match what the RFC requires? */
export function reactionMatches(preset: FaultPreset, actual: Reaction): boolean {
  if (actual.kind === 'drop') return Boolean(preset.allowDrop) || preset.expected.some((e) => e.kind === 'drop');
  return preset.expected.some((e) => {
    switch (e.kind) {
      case 'close':
        return actual.kind === 'close' && actual.code !== null && e.codes.includes(actual.code);
      case 'message':
        return actual.kind === 'message' && (e.text === undefined || actual.text === e.text);
      case 'pong':
        return actual.kind === 'pong' && actual.payload === e.payload;
      case 'nothing':
        return actual.kind === 'nothing';
      case 'drop':
        return false;
    }
  });
}

export function describeReaction(r: Reaction): string {
  switch (r.kind) {
    case 'close':
      return r.code === null ? 'Close without a status code' : `Close ${r.code}${r.reason ? ` "${r.reason}"` : ''}`;
    case 'drop':
      return 'TCP closed without a Close frame';
    case 'message':
      return r.text !== undefined ? `a message: "${r.text.length > 60 ? `${r.text.slice(0, 60)}…` : r.text}"` : `a binary message (${r.size} bytes)`;
    case 'pong':
      return `a pong "${r.payload}"`;
    case 'violation':
      return `a frame that broke a rule before any answer (${r.code}: ${r.message}); we failed the connection with ${r.closeCode}`;
    case 'nothing':
      return 'nothing (the connection stayed open, silent)';
  }
}
