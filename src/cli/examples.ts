/**
 * `wsinspect examples [ID]`: the RFC examples gallery in a terminal. Without an ID, each example's
 * section, title, bytes and what it shows; with one, its frames decoded field by field (or, for the
 * handshake, both heads and the Accept computed from the key).
 */
import zlib from 'node:zlib';
import { concatBytes, toHex, utf8DecodeLenient } from '../core/bytes.ts';
import { describeOpcode } from '../core/constants.ts';
import { FrameParser } from '../core/frame-codec.ts';
import { computeAccept } from '../core/handshake.ts';
import { findRfcExample, RFC_EXAMPLES, rfcExampleBytes, rfcExampleHex, type RfcExample } from '../core/rfc-examples.ts';

export function examplesGallery(): string {
  const lines = ['RFC examples (wsinspect examples ID for one decoded):', ''];
  for (const e of RFC_EXAMPLES) {
    lines.push(`  ${e.id.padEnd(22)} ${e.rfc} ${e.section}  ${e.title}`);
    lines.push(`  ${''.padEnd(22)} ${rfcExampleHex(e)}`);
    lines.push(`  ${''.padEnd(22)} ${e.shows}`);
    if (e.note) lines.push(`  ${''.padEnd(22)} ${e.note}`);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** One example decoded; null when no example has this id. */
export function exampleDetail(id: string): string | null {
  const e = findRfcExample(id);
  if (!e) return null;
  const lines = [`${e.title} — ${e.rfc} ${e.section}`, e.shows, ...(e.note ? [e.note] : []), ''];
  if (e.handshake) {
    const acc = computeAccept(e.handshake.key);
    lines.push('Client request:', ...indent(e.handshake.request), 'Server response:', ...indent(e.handshake.response));
    lines.push(`Sec-WebSocket-Accept = base64(SHA-1("${acc.concatenated}"))`, `  SHA-1  ${acc.sha1Hex}`,
      `  base64 ${acc.accept} (${acc.accept === e.handshake.accept ? 'matches the RFC' : `the RFC shows ${e.handshake.accept}`})`);
    return lines.join('\n');
  }
  lines.push(`Read by a ${e.receiver}${e.deflate ? ', permessage-deflate agreed' : ''}; carries: ${e.carries}`, '');
  const frames = new FrameParser().feedAll(rfcExampleBytes(e)).flatMap((ev) => (ev.kind === 'frame' ? [ev.frame] : []));
  frames.forEach((frame, i) => {
    const h = frame.header;
    const src = e.frames[i]!;
    lines.push(`Frame ${i + 1}: ${src.arbitraryPayload ? `${src.hex} + ${src.payloadLength} bytes of data (the RFC leaves them open; 00 01 02 ... here)` : src.hex}${src.ours ? '  (ours: not printed in the RFC)' : ''}`);
    lines.push(`  FIN ${h.fin ? 1 : 0}  RSV1 ${h.rsv1 ? 1 : 0}  RSV2 ${h.rsv2 ? 1 : 0}  RSV3 ${h.rsv3 ? 1 : 0}  opcode 0x${h.opcode.toString(16)} (${describeOpcode(h.opcode).name})`);
    const lengthHow = h.lengthField === 126 ? '16-bit extended' : h.lengthField === 127 ? '64-bit extended' : '7-bit';
    lines.push(`  MASK ${h.masked ? 1 : 0}${h.maskKey ? `  masking key ${toHex(h.maskKey, ' ')}` : ''}  payload length ${h.payloadLength} (length field ${h.lengthField}, ${lengthHow})`);
    if (h.payloadLength <= 64) lines.push(`  payload ${toHex(frame.payload, ' ')}${src.text !== undefined ? `  "${utf8DecodeLenient(frame.payload)}"` : ''}`);
  });
  if (e.deflate) lines.push('', `Inflated (payloads + 00 00 ff ff, one window across messages): ${inflateMessages(e).map((m) => `"${m}"`).join(', ')}`);
  return lines.join('\n');
}

function indent(head: string): string[] {
  return head.trimEnd().split('\r\n').map((l) => `  ${l}`);
}

function inflateMessages(e: RfcExample): string[] {
  const frames = new FrameParser().feedAll(rfcExampleBytes(e)).flatMap((ev) => (ev.kind === 'frame' ? [ev.frame] : []));
  const out: string[] = [];
  let window = Buffer.alloc(0);
  let parts: Uint8Array[] = [];
  for (const frame of frames) {
    parts.push(frame.payload);
    if (!frame.header.fin) continue;
    const plain = zlib.inflateRawSync(concatBytes([...parts, new Uint8Array([0, 0, 0xff, 0xff])]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(window.length ? { dictionary: window } : {}) });
    out.push(plain.toString('utf8'));
    window = Buffer.concat([window, plain]);
    parts = [];
  }
  return out;
}
