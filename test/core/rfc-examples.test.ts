/**
 * The RFC examples gallery: every RFC 6455 example's bytes checked against the RFC text itself,
 * every frame decoded as labelled, the handshake's Accept computed, and the RFC 7692 frames inflated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8DecodeLenient } from '../../src/core/bytes.ts';
import { ByteStepper } from '../../src/core/byte-stepper.ts';
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

/**
 * RFC 7692 §7.2.3's examples. No copy of RFC 7692's text is here, so the bytes cannot be compared
 * with it; each is checked by what it must be instead: inflated by node:zlib (above), decoded by
 * our own permessage-deflate (the protocol with the extension agreed, through the byte stepper),
 * and, where the RFC says how the bytes were made, made again.
 */
describe('RFC 7692 §7.2.3 examples', () => {
  const deflateExamples = RFC_EXAMPLES.filter((e) => e.rfc === 'RFC 7692');
  const sync = (plain: string) => new Uint8Array(zlib.deflateRawSync(Buffer.from(plain), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));

  it('has one example (or more) for each of §7.2.3.1 to §7.2.3.6, each frame marked compressed on its first frame only', () => {
    expect([...new Set(deflateExamples.map((e) => e.section))]).toEqual(['§7.2.3.1', '§7.2.3.2', '§7.2.3.3', '§7.2.3.4', '§7.2.3.5', '§7.2.3.6']);
    for (const e of deflateExamples) {
      let first = true;
      for (const fr of e.frames) {
        expect(fr.rsv1, `${e.id}: RSV1 on a message's first frame only (RFC 7692 §6.1)`).toBe(first);
        first = fr.fin;
      }
    }
  });

  it.each(deflateExamples.map((e) => [e.id, e] as const))('%s decodes with our own permessage-deflate to what it carries', (_id, example) => {
    const bytes = rfcExampleBytes(example);
    const snap = new ByteStepper(bytes, example.receiver, { deflate: true }).feed(bytes.length);
    expect(snap.violation).toBeNull();
    const messages: string[] = [];
    let parts: Uint8Array[] = [];
    for (const frame of snap.frames) {
      expect(frame.deflate, `frame ${frame.frameId} read as compressed`).toBeDefined();
      parts.push(frame.deflate!.inflated);
      if (!frame.fin) continue;
      messages.push(utf8DecodeLenient(concatBytes(parts)));
      parts = [];
    }
    expect(messages.join(', ')).toBe(example.carries);
  });

  it('§7.2.3.1 is zlib\'s "Hello", sync-flushed, with the 4 octets 00 00 ff ff taken off its end (§7.2.1)', () => {
    const made = sync('Hello');
    expect(toHex(made.subarray(-4), ' ')).toBe('00 00 ff ff');
    expect(toHex(made.subarray(0, -4), ' ')).toBe(toHex(fromHex(findRfcExample('deflate-hello')!.frames[0]!.hex).subarray(2), ' '));
    const fragments = findRfcExample('deflate-fragments')!.frames.map((fr) => fromHex(fr.hex).subarray(2));
    expect(toHex(concatBytes(fragments), ' ')).toBe(toHex(made.subarray(0, -4), ' '));
  });

  it('§7.2.3.3 is one stored block: BFINAL 0, BTYPE 00, LEN 5 and NLEN its complement (RFC 1951 §3.2.4), then "Hello"', () => {
    const payload = fromHex(findRfcExample('deflate-stored')!.frames[0]!.hex).subarray(2);
    expect(payload[0]! & 0x07).toBe(0); // BFINAL 0, BTYPE 00
    const len = payload[1]! | (payload[2]! << 8);
    const nlen = payload[3]! | (payload[4]! << 8);
    expect([len, nlen ^ 0xffff]).toEqual([5, 5]);
    expect(Buffer.from(payload.subarray(5, 10)).toString('latin1')).toBe('Hello');
    expect(payload.length).toBe(11); // the last byte opens the empty stored block whose 00 00 ff ff were stripped
  });

  it('§7.2.3.4 sets BFINAL in the block\'s first bit, and its stream ends there (nothing was stripped that zlib needs)', () => {
    const payload = fromHex(findRfcExample('deflate-bfinal')!.frames[0]!.hex).subarray(2);
    expect(payload[0]! & 1).toBe(1);
    expect(zlib.inflateRawSync(payload).toString()).toBe('Hello');
  });

  it('§7.2.3.5 holds two blocks: the first ends with a sync flush (00 00 ff ff) inside the payload', () => {
    const payload = fromHex(findRfcExample('deflate-two-blocks')!.frames[0]!.hex).subarray(2);
    const at = Buffer.from(payload).indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff]));
    expect(at).toBeGreaterThan(0);
    expect(zlib.inflateRawSync(payload.subarray(0, at + 4), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()).toBe('He');
  });

  it('§7.2.3.6: the last fragment carries 00, an empty stored block once 00 00 ff ff is appended; the frame the RFC does not print is marked ours', () => {
    const e = findRfcExample('deflate-empty-fragment')!;
    const [first, last] = e.frames;
    expect(toHex(fromHex(last!.hex).subarray(2), ' ')).toBe('00');
    expect(zlib.inflateRawSync(Uint8Array.of(0x00, 0x00, 0x00, 0xff, 0xff), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length).toBe(0);
    expect(toHex(fromHex(first!.hex).subarray(2), ' ')).toBe(toHex(sync('Hello'), ' '));
    expect(e.frames.map((fr) => fr.ours ?? false)).toEqual([true, false]);
    expect(e.note).toMatch(/the frame before it is ours/);
    // Only this example has frames of ours; every other one is the RFC's bytes alone.
    expect(RFC_EXAMPLES.filter((x) => x.frames.some((fr) => fr.ours)).map((x) => x.id)).toEqual(['deflate-empty-fragment']);
  });
});
