/**
 * The RFC examples gallery: every RFC 6455 example's bytes checked against the RFC text itself,
 * every frame decoded as labelled, the handshake's Accept computed, and the RFC 7692 frames inflated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8DecodeLenient } from '../../src/core/bytes.ts';
import { FrameParser, type Frame } from '../../src/core/frame-codec.ts';
import { computeAccept } from '../../src/core/handshake.ts';
import { RFC_EXAMPLES, findRfcExample, rfcExampleBytes, rfcExampleHex } from '../../src/core/rfc-examples.ts';

const rfcPath = fileURLToPath(new URL('../../../shared/reference/rfc6455.txt', import.meta.url));

function rfcText(): string {
  if (!existsSync(rfcPath)) throw new Error(`RFC 6455 text not found at ${rfcPath}: the examples cannot be checked against the RFC without it`);
  return readFileSync(rfcPath, 'utf8');
}

/** The §5.7 body (not the table of contents line): from "5.7.  Examples" alone on its line to "5.8.". */
function section57(text: string): string {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^5\.7\.\s+Examples\s*$/.test(l));
  if (start < 0) throw new Error('RFC 6455 text has no "5.7.  Examples" section heading');
  const end = lines.findIndex((l, i) => i > start && /^5\.8\.\s/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** Each "*  0x81 0x05 ..." bullet's hex, continuation lines joined, normalised to "81 05 ...". */
function bulletsHex(section: string): string[] {
  const out: string[] = [];
  for (const bullet of section.split(/\n\s*\*\s+/).slice(1)) {
    const hexPart = bullet.replace(/\s+/g, ' ').split(/[([]/)[0]!;
    const tokens = hexPart.trim().split(' ').filter((t) => /^0x[0-9a-f]+$/i.test(t));
    out.push(tokens.map((t) => t.slice(2).toLowerCase().match(/../g)!.join(' ')).join(' '));
  }
  return out;
}

const decode = (bytes: Uint8Array): Frame[] => new FrameParser().feedAll(bytes).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));

describe('RFC examples table', () => {
  it('has unique ids, a section, a paraphrase, and a title for each example', () => {
    expect(new Set(RFC_EXAMPLES.map((e) => e.id)).size).toBe(RFC_EXAMPLES.length);
    for (const e of RFC_EXAMPLES) {
      expect(e.section).toMatch(/^§\d/);
      expect(e.shows.length).toBeGreaterThan(10);
      expect(findRfcExample(e.id)).toBe(e);
    }
  });

  it('holds every RFC 6455 §5.7 frame byte for byte as the RFC text prints it', () => {
    const fromRfc = bulletsHex(section57(rfcText()));
    expect(fromRfc).toEqual([
      '81 05 48 65 6c 6c 6f', '81 85 37 fa 21 3d 7f 9f 4d 51 58', '01 03 48 65 6c', '80 02 6c 6f',
      '89 05 48 65 6c 6c 6f', '8a 85 37 fa 21 3d 7f 9f 4d 51 58', '82 7e 01 00', '82 7f 00 00 00 00 00 01 00 00',
    ]);
    const ours = RFC_EXAMPLES.filter((e) => e.rfc === 'RFC 6455' && e.section === '§5.7').flatMap((e) => e.frames.map((fr) => fr.hex));
    expect(ours).toEqual(fromRfc);
  });

  it('holds the §1.2 handshake as the RFC prints it, and its Accept computes from the key (§1.3, handshake.ts)', () => {
    const text = rfcText();
    const hs = findRfcExample('handshake')!.handshake!;
    for (const head of [hs.request, hs.response]) {
      const block = head.trim().split('\r\n').map((l) => `        ${l}`).join('\n');
      expect(text, `RFC 6455 §1.2 shows:\n${block}`).toContain(block);
    }
    expect(text).toContain(`"${hs.accept}"`);
    expect(computeAccept(hs.key).accept).toBe(hs.accept);
    expect(hs.response).toContain(`Sec-WebSocket-Accept: ${computeAccept(hs.key).accept}\r\n`);
  });

  it.each(RFC_EXAMPLES.filter((e) => e.frames.length > 0).map((e) => [e.id, e] as const))('%s decodes as labelled (frame-codec)', (_id, example) => {
    const frames = decode(rfcExampleBytes(example));
    expect(frames).toHaveLength(example.frames.length);
    frames.forEach((frame, i) => {
      const want = example.frames[i]!;
      const h = frame.header;
      expect({ fin: h.fin, rsv1: h.rsv1, opcode: h.opcode, masked: h.masked, payloadLength: h.payloadLength })
        .toEqual({ fin: want.fin, rsv1: want.rsv1, opcode: want.opcode, masked: want.masked, payloadLength: want.payloadLength });
      expect(toHex(frame.raw!.subarray(0, h.headerLength), ' ')).toBe(toHex(rfcExampleBytes({ ...example, frames: [want] }).subarray(0, h.headerLength), ' '));
      if (want.text !== undefined) expect(utf8DecodeLenient(frame.payload)).toBe(want.text);
      if (want.masked) expect(toHex(h.maskKey!, ' ')).toBe('37 fa 21 3d');
      // masked frames go to a server, unmasked to a client (§5.1)
      expect(example.receiver).toBe(want.masked ? 'server' : 'client');
    });
  });

  it.each(RFC_EXAMPLES.filter((e) => e.deflate).map((e) => [e.id, e] as const))('%s inflates to what it carries (RFC 7692 §7.2.2)', (_id, example) => {
    const frames = decode(rfcExampleBytes(example));
    const messages: string[] = [];
    let window: Buffer = Buffer.alloc(0);
    let parts: Uint8Array[] = [];
    for (const frame of frames) {
      parts.push(frame.payload);
      if (!frame.header.fin) continue;
      const compressed = concatBytes([...parts, new Uint8Array([0x00, 0x00, 0xff, 0xff])]);
      const plain = zlib.inflateRawSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(window.length ? { dictionary: window } : {}) });
      messages.push(plain.toString('utf8'));
      window = Buffer.concat([window, plain]);
      parts = [];
    }
    expect(messages.join(', ')).toBe(example.carries);
  });

  it('shows arbitrary payloads as the header plus a length', () => {
    expect(rfcExampleHex(findRfcExample('binary-256')!)).toBe('82 7e 01 00 + 256 bytes of data');
    expect(rfcExampleBytes(findRfcExample('binary-64k')!)).toHaveLength(10 + 65536);
  });
});
