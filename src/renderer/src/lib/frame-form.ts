/**
 * A frame as a form: every header field, valid or not, for the held-frame editor and the
 * crafter. Encodes locally with the same pure encoder the engine uses (frame-codec.ts), so the
 * preview shows exactly the bytes that will be sent, and says in plain words which rules the
 * frame breaks and what the RFC asks the receiver to do about it.
 */
import { utf8DecodeLenient } from '../../../core/bytes.ts';
import { describeCloseCode, describeOpcode, isKnownOpcode } from '../../../core/constants.ts';
import { frameAnatomy } from '../../../core/fields.ts';
import { encodeFrame } from '../../../core/frame-codec.ts';
import type { Role } from '../../../core/trace.ts';
import type { FrameFields } from '../../../shared/inspector-api.ts';

export type LengthEncoding = 'minimal' | '7-bit' | '16-bit' | '64-bit';

export interface FrameForm {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** What the user typed; empty means "a random key" (autoKeyHex, drawn once so preview = sent). */
  maskKeyHex: string;
  autoKeyHex: string;
  payloadMode: 'text' | 'hex';
  payloadText: string;
  payloadHex: string;
  lengthEncoding: LengthEncoding;
  /** Empty: the real payload length. */
  declaredLength: string;
  /**
   * Crafter: deflate the payload on its own before sending (permessage-deflate agreed on the
   * connection; FrameFields.compress). The payload fields keep the plain bytes.
   */
  compress: boolean;
}

const hex2 = (b: number) => b.toString(16).padStart(2, '0');
export const bytesToHex = (bytes: Uint8Array) => Array.from(bytes, hex2).join(' ');

export function randomKeyHex(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(4)));
}

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:,]/g, '');
  if (clean.length % 2 !== 0) throw new Error(`hex needs an even number of digits (got ${clean.length})`);
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new Error('hex digits are 0-9 and a-f');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// Only asks whether the bytes are UTF-8 (its text is dropped, so a stripped BOM would not matter);
// the text the form holds comes from utf8DecodeLenient, which keeps a leading U+FEFF (§5.6: data).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Is it valid UTF-8 so far, allowing a character cut at the end (a fragment of a longer message)? */
function isUtf8Prefix(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

export function opcodeLabel(opcode: number): string {
  const info = describeOpcode(opcode);
  return `0x${opcode.toString(16).toUpperCase()} ${info.reserved ? `reserved (${info.control ? 'control' : 'data'})` : info.name}`;
}

export function emptyForm(role: Role, text = 'Hello'): FrameForm {
  return {
    fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: role === 'client', maskKeyHex: '', autoKeyHex: randomKeyHex(),
    payloadMode: 'text', payloadText: text, payloadHex: bytesToHex(new TextEncoder().encode(text)), lengthEncoding: 'minimal', declaredLength: '',
    compress: false,
  };
}

/** A form holding exactly these frame bytes (the held-frame editor starts from the frame as it is). */
export function formFromBytes(bytes: Uint8Array): FrameForm {
  const a = frameAnatomy(bytes);
  const b0 = bytes[0] ?? 0x81;
  const opcode = b0 & 0x0f;
  const asText = (opcode === 0 || opcode === 1 || opcode === 9 || opcode === 10) && isUtf8(a.payload);
  const ext = a.fields.find((f) => f.id === 'extended-length');
  const len7 = (bytes[1] ?? 0) & 0x7f;
  const lengthEncoding: LengthEncoding = ext ? (len7 === 126 ? '16-bit' : '64-bit') : 'minimal';
  const minimal = (a.payloadLength ?? 0) <= 125 ? '7-bit' : (a.payloadLength ?? 0) <= 0xffff ? '16-bit' : '64-bit';
  return {
    fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode,
    masked: a.maskKey !== null, maskKeyHex: a.maskKey ? bytesToHex(a.maskKey) : '', autoKeyHex: randomKeyHex(),
    payloadMode: asText ? 'text' : 'hex', payloadText: asText ? utf8DecodeLenient(a.payload) : '', payloadHex: bytesToHex(a.payload),
    lengthEncoding: lengthEncoding === minimal ? 'minimal' : lengthEncoding,
    declaredLength: '',
    compress: false,
  };
}

/** The payload bytes the form describes. */
export function formPayload(form: FrameForm): Uint8Array {
  return form.payloadMode === 'text' ? new TextEncoder().encode(form.payloadText) : parseHex(form.payloadHex);
}

/** Switches the payload between text and hex, converting what is there. */
export function switchPayloadMode(form: FrameForm, mode: 'text' | 'hex'): FrameForm {
  if (mode === form.payloadMode) return form;
  if (mode === 'hex') return { ...form, payloadMode: 'hex', payloadHex: bytesToHex(new TextEncoder().encode(form.payloadText)) };
  let text = form.payloadText;
  try {
    text = utf8DecodeLenient(parseHex(form.payloadHex));
  } catch {
    // keep the old text if the hex does not parse
  }
  return { ...form, payloadMode: 'text', payloadText: text };
}

export function effectiveKeyHex(form: FrameForm): string {
  return form.maskKeyHex.trim() || form.autoKeyHex;
}

/** The form as the API's FrameFields (throws on bad hex or a bad declared length). */
export function formToFields(form: FrameForm): FrameFields {
  const payload = formPayload(form);
  const fields: FrameFields = {
    fin: form.fin, rsv1: form.rsv1, rsv2: form.rsv2, rsv3: form.rsv3, opcode: form.opcode, masked: form.masked,
    payloadHex: bytesToHex(payload).replace(/ /g, ''),
  };
  if (form.masked) {
    const key = parseHex(effectiveKeyHex(form));
    if (key.length !== 4) throw new Error(`the masking key is 4 bytes (got ${key.length})`);
    fields.maskKeyHex = bytesToHex(key).replace(/ /g, '');
  }
  if (form.lengthEncoding !== 'minimal') fields.lengthEncoding = form.lengthEncoding;
  const declared = declaredLength(form);
  if (declared !== null) fields.declaredLength = declared;
  if (form.compress) fields.compress = true;
  return fields;
}

function declaredLength(form: FrameForm): number | null {
  const text = form.declaredLength.trim();
  if (text === '') return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) throw new Error('the declared length is a whole number of bytes');
  return n;
}

/**
 * Encodes the form locally: exactly the bytes the engine will send. With form.compress, the
 * payload on the wire is `compressed` (the service's compressPayload for this payload: DEFLATE
 * runs in the service, not in the page); fields keep the plain payload and ask for compression.
 */
export function encodeForm(form: FrameForm, compressed?: Uint8Array | null): { bytes: Uint8Array; fields: FrameFields } | { error: string } {
  try {
    const fields = formToFields(form);
    if (form.compress && !compressed) return { error: 'Compressing the payload…' };
    const bytes = encodeFrame({
      opcode: fields.opcode, payload: form.compress ? compressed! : parseHex(fields.payloadHex), fin: fields.fin, rsv1: fields.rsv1, rsv2: fields.rsv2, rsv3: fields.rsv3,
      maskKey: fields.masked ? parseHex(fields.maskKeyHex!) : null,
      ...(fields.lengthEncoding ? { lengthEncoding: fields.lengthEncoding } : {}),
      ...(fields.declaredLength !== undefined ? { declaredLength: fields.declaredLength } : {}),
    });
    return { bytes, fields };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export interface RuleCheck {
  /** ok: allowed; warn: allowed but odd; bad: the receiver must fail the connection. */
  level: 'ok' | 'warn' | 'bad';
  text: string;
  rfcSection: string;
}

/** What the connection agreed that changes the rules (RFC 6455 §9). */
export interface RuleContext {
  /** permessage-deflate is agreed: RSV1 on a data message's first frame means compressed (RFC 7692 §6). */
  deflate: boolean;
}

/** RSV bits, with or without permessage-deflate agreed (RFC 6455 §5.2, RFC 7692 §6, §6.1). */
function rsvChecks(form: FrameForm, receiver: Role, deflate: boolean): RuleCheck[] {
  const out: RuleCheck[] = [];
  if (!deflate) {
    const rsv = [form.rsv1 && 'RSV1', form.rsv2 && 'RSV2', form.rsv3 && 'RSV3'].filter(Boolean);
    if (rsv.length) out.push({ level: 'bad', text: `${rsv.join(', ')} set and no extension negotiated: the ${receiver} must fail the connection with 1002.`, rfcSection: '§5.2' });
    return out;
  }
  const stray = [form.rsv2 && 'RSV2', form.rsv3 && 'RSV3'].filter(Boolean);
  if (stray.length) out.push({ level: 'bad', text: `${stray.join(', ')} set: permessage-deflate gives a meaning to RSV1 only, so the ${receiver} must fail the connection with 1002.`, rfcSection: '§5.2, RFC 7692 §6' });
  if (form.rsv1) {
    if (form.opcode >= 8) out.push({ level: 'bad', text: `RSV1 on a control frame: control frames are never compressed, and the ${receiver} must fail the connection with 1002.`, rfcSection: 'RFC 7692 §6.1' });
    else if (form.opcode === 0) out.push({ level: 'bad', text: `RSV1 on a continuation frame: only a message's first frame carries the compressed bit; the ${receiver} must fail the connection with 1002.`, rfcSection: 'RFC 7692 §6.1' });
    else if (form.compress) out.push({ level: 'ok', text: `RSV1 set: the message is compressed. The ${receiver} appends 00 00 ff ff and inflates the payload before reading it.`, rfcSection: 'RFC 7692 §6, §7.2.2' });
    else out.push({ level: 'warn', text: `RSV1 set: the ${receiver} appends 00 00 ff ff and inflates this payload as DEFLATE data, so anything that is not DEFLATE fails the connection (1007 here and in ws). To send plain text compressed, turn on the compress switch.`, rfcSection: 'RFC 7692 §7.2.2' });
  }
  if (form.compress && !form.rsv1) {
    out.push({ level: 'warn', text: `A compressed payload with RSV1 clear: the ${receiver} takes the DEFLATE bytes as the message itself (as text, most likely invalid UTF-8: 1007).`, rfcSection: 'RFC 7692 §6' });
  }
  return out;
}

/**
 * What a receiver makes of the frame, rule by rule. `sender` is the role of the endpoint
 * sending it: a client must mask, a server must not (§5.1).
 */
export function ruleChecks(form: FrameForm, sender: Role, context: RuleContext = { deflate: false }): RuleCheck[] {
  const out: RuleCheck[] = [];
  let payload: Uint8Array;
  try {
    payload = formPayload(form);
  } catch (error) {
    return [{ level: 'bad', text: `Payload: ${(error as Error).message}.`, rfcSection: '' }];
  }
  const receiver = sender === 'client' ? 'server' : 'client';
  const control = (form.opcode & 0x8) !== 0;
  let declared: number | null = null;
  try {
    declared = declaredLength(form);
  } catch (error) {
    out.push({ level: 'bad', text: `Declared length: ${(error as Error).message}.`, rfcSection: '' });
  }
  out.push(...rsvChecks(form, receiver, context.deflate));
  if (!isKnownOpcode(form.opcode)) out.push({ level: 'bad', text: `Opcode 0x${form.opcode.toString(16).toUpperCase()} is reserved: the ${receiver} must fail the connection with 1002.`, rfcSection: '§5.2' });
  if (sender === 'client' && !form.masked) out.push({ level: 'bad', text: 'A client frame without the mask bit: the server must close the connection (1002).', rfcSection: '§5.1' });
  if (sender === 'server' && form.masked) out.push({ level: 'bad', text: 'A server frame with the mask bit: the client must close the connection (1002).', rfcSection: '§5.1' });
  const length = declared ?? payload.length;
  if (control && length > 125) out.push({ level: 'bad', text: `A control frame with ${length} payload bytes; at most 125 are allowed: 1002.`, rfcSection: '§5.5' });
  if (control && !form.fin) out.push({ level: 'bad', text: 'A control frame with FIN clear: control frames cannot be fragmented: 1002.', rfcSection: '§5.5' });
  if (form.lengthEncoding === '7-bit' && length > 125) out.push({ level: 'bad', text: `The 7-bit length field holds 0-125, not ${length}: the field will say ${length & 0x7f}${(length & 0x7f) >= 126 ? ' (an extended length marker)' : ''}.`, rfcSection: '§5.2' });
  const minimal = length <= 125 ? '7-bit' : length <= 0xffff ? '16-bit' : '64-bit';
  const order = ['7-bit', '16-bit', '64-bit'];
  if (form.lengthEncoding !== 'minimal' && order.indexOf(form.lengthEncoding) > order.indexOf(minimal)) {
    out.push({ level: 'warn', text: `Non-minimal length: ${length} fits in ${minimal === '7-bit' ? 'the 7-bit field' : '16 bits'}. The RFC says the minimal encoding MUST be used, but it does not tell the receiver to fail; many accept it.`, rfcSection: '§5.2' });
  }
  if (declared !== null && declared !== payload.length) {
    out.push(declared > payload.length
      ? { level: 'warn', text: `The header announces ${declared} bytes but ${payload.length} follow: the ${receiver} cannot know, and waits for ${declared - payload.length} more.`, rfcSection: '§5.2' }
      : { level: 'bad', text: `The header announces ${declared} bytes but ${payload.length} follow: the ${receiver} reads the extra ${payload.length - declared} as the start of the next frame.`, rfcSection: '§5.2' });
  }
  if (form.opcode === 0) out.push({ level: 'ok', text: 'A continuation frame: valid only while a fragmented text or binary message is in progress (1002 otherwise).', rfcSection: '§5.4' });
  // RSV1 without compress here: the payload is taken as DEFLATE data, its text checked once inflated.
  const readAsDeflate = context.deflate && form.rsv1 && !form.compress;
  if (form.opcode === 1 && !readAsDeflate && !(form.fin ? isUtf8(payload) : isUtf8Prefix(payload))) {
    out.push({ level: 'bad', text: 'The text is not valid UTF-8: the receiver must fail the connection with 1007.', rfcSection: '§8.1' });
  }
  if (form.opcode === 8) {
    if (payload.length === 1) out.push({ level: 'bad', text: 'A 1-byte close body cannot hold the 2-byte status code: 1002.', rfcSection: '§5.5.1' });
    if (payload.length >= 2) {
      const code = (payload[0]! << 8) | payload[1]!;
      const info = describeCloseCode(code);
      if (!info.sendable) out.push({ level: 'bad', text: `Close code ${code} (${info.name}) may not be sent in a Close frame: 1002.`, rfcSection: '§7.4' });
      else out.push({ level: 'ok', text: `Close code ${code}: ${info.name}.`, rfcSection: info.rfcSection });
      if (!isUtf8(payload.subarray(2))) out.push({ level: 'bad', text: 'The close reason is not valid UTF-8: 1007.', rfcSection: '§5.5.1' });
    }
  }
  if (!out.some((c) => c.level !== 'ok')) out.unshift({ level: 'ok', text: `A valid ${describeOpcode(form.opcode).name} frame: the ${receiver} should accept it.`, rfcSection: '§5.2' });
  return out;
}
