/**
 * The frame field table (RFC 6455 §5.2) and the anatomy built from it.
 *
 * Like Wireshark's hf[] table, every field has a label, a bit range and the RFC's words; the
 * anatomy ties each decoded field to the exact bytes and bits it came from, so the bit diagram
 * and the hex dump can highlight each other. It works on partial frames too: given the first N
 * bytes it decodes what it can and says what it still needs.
 */

import { applyMask, readUint64BE, utf8DecodeLenient } from './bytes.ts';
import { describeCloseCode, describeOpcode } from './constants.ts';

export type FieldId =
  | 'fin'
  | 'rsv1'
  | 'rsv2'
  | 'rsv3'
  | 'opcode'
  | 'mask'
  | 'payload-length'
  | 'extended-length'
  | 'masking-key'
  | 'payload'
  | 'close-code'
  | 'close-reason';

export interface FieldDefinition {
  id: FieldId;
  label: string;
  rfcSection: string;
  /** The RFC's own description, quoted. */
  rfcText: string;
}

export const fieldTable: Record<FieldId, FieldDefinition> = {
  fin: { id: 'fin', label: 'FIN', rfcSection: '§5.2', rfcText: 'Indicates that this is the final fragment in a message. The first fragment MAY also be the final fragment.' },
  rsv1: { id: 'rsv1', label: 'RSV1', rfcSection: '§5.2', rfcText: 'MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.' },
  rsv2: { id: 'rsv2', label: 'RSV2', rfcSection: '§5.2', rfcText: 'MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.' },
  rsv3: { id: 'rsv3', label: 'RSV3', rfcSection: '§5.2', rfcText: 'MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.' },
  opcode: { id: 'opcode', label: 'Opcode', rfcSection: '§5.2', rfcText: 'Defines the interpretation of the "Payload data". If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.' },
  mask: { id: 'mask', label: 'MASK', rfcSection: '§5.2', rfcText: 'Defines whether the "Payload data" is masked. All frames sent from client to server have this bit set to 1.' },
  'payload-length': { id: 'payload-length', label: 'Payload len', rfcSection: '§5.2', rfcText: 'If 0-125, that is the payload length. If 126, the following 2 bytes interpreted as a 16-bit unsigned integer are the payload length. If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.' },
  'extended-length': { id: 'extended-length', label: 'Extended payload length', rfcSection: '§5.2', rfcText: 'Multibyte length quantities are expressed in network byte order. In all cases, the minimal number of bytes MUST be used to encode the length.' },
  'masking-key': { id: 'masking-key', label: 'Masking-key', rfcSection: '§5.3', rfcText: 'All frames sent from the client to the server are masked by a 32-bit value that is contained within the frame. The masking key is a 32-bit value chosen at random by the client.' },
  payload: { id: 'payload', label: 'Payload data', rfcSection: '§5.2', rfcText: 'The "Payload data" is defined as "Extension data" concatenated with "Application data".' },
  'close-code': { id: 'close-code', label: 'Status code', rfcSection: '§5.5.1, §7.4', rfcText: 'If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code with value /code/ defined in Section 7.4.' },
  'close-reason': { id: 'close-reason', label: 'Reason', rfcSection: '§5.5.1', rfcText: 'Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/, the interpretation of which is not defined by this specification.' },
};

export interface AnatomyField {
  id: FieldId;
  label: string;
  /** First byte of the field within the frame. */
  byteOffset: number;
  /** Bytes the field spans (for bit fields, the one byte holding them). */
  byteLength: number;
  /** Bit range within the frame, counting from bit 0 = most significant bit of byte 0. */
  bitOffset: number;
  bitLength: number;
  /** The raw value: a number for bit fields and lengths, hex for byte fields. */
  value: number | string;
  /** How the value reads to a person, e.g. "1 (final fragment)". */
  display: string;
  meaning: string;
  rfcSection: string;
  /** Remarks in Wireshark's "expert info" spirit: allowed but odd, or wrong. */
  notes: string[];
  /** For a partial frame: the field has started but not all its bytes have arrived. */
  incomplete?: boolean;
}

export interface FrameAnatomy {
  fields: AnatomyField[];
  /** Bytes of header (2 + extended length + masking key), once known. */
  headerLength: number | null;
  payloadLength: number | null;
  /** Total frame length, once known. */
  frameLength: number | null;
  complete: boolean;
  /** What is missing, in words, e.g. "needs 2 more bytes of extended length". */
  needs: string | null;
  maskKey: Uint8Array | null;
  /** Payload as on the wire (masked, if masked) and after unmasking; partial if incomplete. */
  maskedPayload: Uint8Array;
  payload: Uint8Array;
}

function bit(byte: number, index: number): number {
  return (byte >> (7 - index)) & 1;
}

function bitField(id: FieldId, byte: number, byteOffset: number, bitIndex: number, display: (v: number) => string, notes: string[] = []): AnatomyField {
  const def = fieldTable[id];
  const value = bit(byte, bitIndex);
  return {
    id, label: def.label, byteOffset, byteLength: 1, bitOffset: byteOffset * 8 + bitIndex, bitLength: 1,
    value, display: display(value), meaning: def.rfcText, rfcSection: def.rfcSection, notes,
  };
}

const plural = (n: number, word: string) => `${n} more byte${n === 1 ? '' : 's'} of ${word}`;

/** Decodes as much of a frame as `bytes` holds. Bytes past the end of the frame are ignored. */
/** What the bytes alone cannot say: the frame opens a compressed message (permessage-deflate agreed, RSV1 its bit). */
export interface AnatomyContext {
  compressed?: boolean;
}

export function frameAnatomy(bytes: Uint8Array, context: AnatomyContext = {}): FrameAnatomy {
  const fields: AnatomyField[] = [];
  const empty = new Uint8Array(0);
  const result: FrameAnatomy = {
    fields, headerLength: null, payloadLength: null, frameLength: null, complete: false,
    needs: null, maskKey: null, maskedPayload: empty, payload: empty,
  };
  if (bytes.length === 0) {
    result.needs = 'needs 2 bytes of frame header (FIN, RSV, opcode, MASK, payload len)';
    return result;
  }
  const b0 = bytes[0]!;
  fields.push(bitField('fin', b0, 0, 0, (v) => (v ? '1 (final fragment)' : '0 (more fragments follow)')));
  for (const [i, id] of (['rsv1', 'rsv2', 'rsv3'] as const).entries()) {
    const set = bit(b0, i + 1) === 1;
    // RFC 7692 §6: with permessage-deflate agreed, RSV1 on a message's first frame is its "Per-Message Compressed" bit.
    if (id === 'rsv1' && set && context.compressed) {
      fields.push({
        ...bitField(id, b0, 0, i + 1, () => '1 = compressed (permessage-deflate)'),
        meaning: 'With permessage-deflate agreed, RSV1 on a message\'s first frame is the Per-Message Compressed bit: set, the whole message is compressed (later frames leave it 0).',
        rfcSection: 'RFC 7692 §6',
      });
      continue;
    }
    fields.push(bitField(id, b0, 0, i + 1, (v) => (v ? '1 (set: needs a negotiated extension)' : '0'), set ? ['Set without a negotiated extension: a protocol error (§5.2).'] : []));
  }
  const opcode = b0 & 0x0f;
  const op = describeOpcode(opcode);
  fields.push({
    id: 'opcode', label: 'Opcode', byteOffset: 0, byteLength: 1, bitOffset: 4, bitLength: 4, value: opcode,
    display: `0x${opcode.toString(16).toUpperCase()} (${op.name})`, meaning: op.meaning, rfcSection: op.rfcSection,
    notes: op.reserved ? ['Reserved opcode: the receiver must fail the connection (§5.2).'] : [],
  });
  if (bytes.length < 2) {
    result.needs = 'needs 1 more byte of frame header (MASK, payload len)';
    return result;
  }
  const b1 = bytes[1]!;
  const masked = (b1 & 0x80) !== 0;
  fields.push(bitField('mask', b1, 1, 0, (v) => (v ? '1 (payload is masked)' : '0 (payload is not masked)')));
  const len7 = b1 & 0x7f;
  const lenDef = fieldTable['payload-length'];
  fields.push({
    id: 'payload-length', label: lenDef.label, byteOffset: 1, byteLength: 1, bitOffset: 9, bitLength: 7, value: len7,
    display: len7 <= 125 ? `${len7} (the payload length)` : len7 === 126 ? '126 (length in the next 2 bytes)' : '127 (length in the next 8 bytes)',
    meaning: lenDef.rfcText, rfcSection: lenDef.rfcSection, notes: [],
  });
  const extLength = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  let at = 2;
  let payloadLength = len7;
  if (extLength > 0) {
    const available = Math.min(extLength, bytes.length - at);
    const extDef = fieldTable['extended-length'];
    if (available < extLength) {
      fields.push({
        id: 'extended-length', label: `${extDef.label} (${extLength * 8}-bit)`, byteOffset: at, byteLength: extLength,
        bitOffset: at * 8, bitLength: extLength * 8, value: '', display: 'incomplete', meaning: extDef.rfcText,
        rfcSection: extDef.rfcSection, notes: [], incomplete: true,
      });
      result.needs = `needs ${plural(extLength - available, `${extLength * 8}-bit extended length`)}`;
      return result;
    }
    const notes: string[] = [];
    let exact: bigint | null = null;
    if (extLength === 2) {
      payloadLength = (bytes[at]! << 8) | bytes[at + 1]!;
      if (payloadLength < 126) notes.push(`Not minimal: ${payloadLength} fits in the 7-bit field (§5.2: the minimal number of bytes MUST be used).`);
    } else {
      const hi = ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
      const lo = ((bytes[at + 4]! << 24) >>> 0) + (bytes[at + 5]! << 16) + (bytes[at + 6]! << 8) + bytes[at + 7]!;
      if (hi >= 0x80000000) notes.push('The most significant bit is set: invalid (§5.2).');
      payloadLength = hi * 2 ** 32 + lo;
      if (hi > 0x1fffff) {
        // From 2^53 on a number rounds: tell the exact value of the 8 bytes.
        exact = readUint64BE(bytes, at);
        notes.push('More than 2^53 bytes: longer than any frame can be, beyond every size limit (§10.4).');
      }
      if (payloadLength < 65536) notes.push(`Not minimal: ${payloadLength} fits in ${payloadLength < 126 ? 'the 7-bit field' : '16 bits'} (§5.2).`);
    }
    fields.push({
      id: 'extended-length', label: `${extDef.label} (${extLength * 8}-bit)`, byteOffset: at, byteLength: extLength,
      bitOffset: at * 8, bitLength: extLength * 8, value: exact !== null ? `${exact}` : payloadLength,
      display: exact !== null ? `${exact} bytes (more than 2^53)` : `${payloadLength} bytes`,
      meaning: extDef.rfcText, rfcSection: extDef.rfcSection, notes,
    });
    at += extLength;
  } else if (len7 <= 125) {
    // nothing: the 7-bit field is the length
  }
  let maskKey: Uint8Array | null = null;
  if (masked) {
    const available = Math.min(4, bytes.length - at);
    const keyDef = fieldTable['masking-key'];
    if (available < 4) {
      fields.push({
        id: 'masking-key', label: keyDef.label, byteOffset: at, byteLength: 4, bitOffset: at * 8, bitLength: 32,
        value: '', display: 'incomplete', meaning: keyDef.rfcText, rfcSection: keyDef.rfcSection, notes: [], incomplete: true,
      });
      result.needs = `needs ${plural(4 - available, 'masking key')}`;
      result.payloadLength = payloadLength;
      return result;
    }
    maskKey = bytes.slice(at, at + 4);
    const hex = Array.from(maskKey, (b) => b.toString(16).padStart(2, '0')).join(' ');
    fields.push({
      id: 'masking-key', label: keyDef.label, byteOffset: at, byteLength: 4, bitOffset: at * 8, bitLength: 32,
      value: hex, display: hex, meaning: keyDef.rfcText, rfcSection: keyDef.rfcSection, notes: [],
    });
    at += 4;
  }
  result.headerLength = at;
  result.payloadLength = payloadLength;
  result.frameLength = at + payloadLength;
  result.maskKey = maskKey;
  const payloadAvailable = Math.max(0, Math.min(payloadLength, bytes.length - at));
  const maskedPayload = bytes.subarray(at, at + payloadAvailable);
  result.maskedPayload = maskedPayload;
  result.payload = maskKey ? applyMask(maskedPayload, maskKey) : maskedPayload;
  const payloadDef = fieldTable.payload;
  const incomplete = payloadAvailable < payloadLength;
  if (opcode === 8 && payloadLength >= 2) {
    // A Close frame's body (§5.5.1): a 2-byte status code (§7.4), then a UTF-8 reason.
    fields.push(...closeBodyFields(at, payloadLength, result.payload, maskKey !== null));
  } else fields.push({
    id: 'payload', label: payloadDef.label, byteOffset: at, byteLength: payloadLength, bitOffset: at * 8,
    bitLength: payloadLength * 8, value: payloadLength, display: `${payloadLength} byte${payloadLength === 1 ? '' : 's'}${maskKey ? ', masked' : ''}`,
    meaning: maskKey ? 'Application data, XORed with the masking key (§5.3).' : payloadDef.rfcText,
    rfcSection: maskKey ? '§5.3' : payloadDef.rfcSection, notes: [], ...(incomplete ? { incomplete: true } : {}),
  });
  if (incomplete) {
    result.needs = `needs ${plural(payloadLength - payloadAvailable, 'payload')}`;
  } else {
    result.complete = true;
  }
  return result;
}

// ignoreBOM: a reason is UTF-8 data (§5.5.1), so a leading U+FEFF is a character of it, shown as it came.
const reasonDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The status code and reason of a Close frame's body, as fields (the bytes that arrived of them). */
function closeBodyFields(at: number, payloadLength: number, payload: Uint8Array, masked: boolean): AnatomyField[] {
  const codeDef = fieldTable['close-code'];
  const reasonDef = fieldTable['close-reason'];
  const xored = masked ? ' On the wire XORed with the masking key (§5.3).' : '';
  const fields: AnatomyField[] = [];
  if (payload.length < 2) {
    fields.push({
      id: 'close-code', label: codeDef.label, byteOffset: at, byteLength: 2, bitOffset: at * 8, bitLength: 16, value: '',
      display: 'incomplete', meaning: codeDef.rfcText + xored, rfcSection: codeDef.rfcSection, notes: [], incomplete: true,
    });
  } else {
    const code = (payload[0]! << 8) | payload[1]!;
    const info = describeCloseCode(code);
    const notes: string[] = [];
    if (!info.sendable) notes.push(`${code} MUST NOT be sent in a Close frame (§7.4).`);
    fields.push({
      id: 'close-code', label: codeDef.label, byteOffset: at, byteLength: 2, bitOffset: at * 8, bitLength: 16, value: code,
      display: `${code} (${info.name})`, meaning: codeDef.rfcText + xored, rfcSection: codeDef.rfcSection, notes,
    });
  }
  const reasonLength = payloadLength - 2;
  if (reasonLength > 0) {
    const bytes = payload.subarray(2);
    const notes: string[] = [];
    let text: string;
    try {
      text = reasonDecoder.decode(bytes);
    } catch {
      text = utf8DecodeLenient(bytes);
      if (bytes.length === reasonLength) notes.push('Not valid UTF-8 (§5.5.1, §8.1).');
    }
    const cut = bytes.length < reasonLength;
    fields.push({
      id: 'close-reason', label: reasonDef.label, byteOffset: at + 2, byteLength: reasonLength, bitOffset: (at + 2) * 8, bitLength: reasonLength * 8,
      value: text, display: `${JSON.stringify(text)}${cut ? '…' : ''} (${reasonLength} byte${reasonLength === 1 ? '' : 's'})`,
      meaning: reasonDef.rfcText + xored, rfcSection: reasonDef.rfcSection, notes, ...(cut ? { incomplete: true } : {}),
    });
  }
  return fields;
}

/** Finds the field a byte belongs to (hex pane hover → field). */
export function fieldAtByte(anatomy: FrameAnatomy, byteIndex: number): AnatomyField | undefined {
  // Bit fields share byte 0 and 1; prefer the multi-byte field, else the first bit field.
  const hits = anatomy.fields.filter((f) => byteIndex >= f.byteOffset && byteIndex < f.byteOffset + f.byteLength);
  return hits.find((f) => f.byteLength > 1) ?? hits[0];
}
