/**
 * The compressed cases' parts (categories 12 and 13): the catalogue, how each case negotiates
 * permessage-deflate in either role, how a message goes out compressed and fragmented, and how
 * the observer reads the peer's compressed echoes and judges RSV1 (RFC 7692 §6.1).
 */
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import { conformanceCases, PeerObserver, selectCases, type PeerEvent } from '../../../src/core/conformance/index.ts';
import { caseServerNegotiator, compressedFrames } from '../../../src/core/conformance/deflate.ts';
import { corpora, corpusSlices } from '../../../src/core/conformance/deflate-data.ts';
import { deflateMessageCount } from '../../../src/core/conformance/cases.ts';
import type { Extension } from '../../../src/core/extensions/extension.ts';
import { parseExtensionHeader } from '../../../src/core/extensions/extension-header.ts';
import { clientDeflateNegotiator, serverDeflateNegotiator } from '../../../src/core/extensions/permessage-deflate.ts';
import { encodeFrame } from '../../../src/core/frame-codec.ts';

const compressed = conformanceCases.filter((c) => c.category === 12 || c.category === 13);

function element(header: string) {
  const parsed = parseExtensionHeader(header);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.elements[0]!;
}

/** Our client's side of an agreement with default parameters (the observer of a server under test). */
function clientExtension(): Extension {
  const verdict = clientDeflateNegotiator({}).confirm(element('permessage-deflate'), [element('permessage-deflate; client_max_window_bits')]);
  if (!verdict.ok) throw new Error(verdict.reason);
  return verdict.create();
}

function serverExtension(): Extension {
  const verdict = serverDeflateNegotiator({}).accept(element('permessage-deflate'));
  if (!verdict.ok) throw new Error(verdict.reason);
  return verdict.create();
}

/** Frames from a server peer (unmasked), as hex strings, fed to an observer with the extension agreed. */
function observe(extension: Extension | null, ...frames: string[]): PeerEvent[] {
  const observer = new PeerObserver('server');
  observer.useExtension(extension);
  return frames.flatMap((f) => observer.feed(fromHex(f)));
}

describe('the compressed catalogue', () => {
  it('has Autobahn\'s 12.1-12.5 and 13.1-13.7 ids (a subset of y = 1..18), plus 13.8 for window sizes 9..14, in both directions', () => {
    expect(compressed.length).toBeGreaterThanOrEqual(50);
    for (const c of compressed) {
      expect(c.id).toMatch(/^(12\.[1-5]\.(1[0-8]|[1-9])|13\.[1-7]\.(1[0-8]|[1-9])|13\.8\.[1-6])$/);
      expect(c.deflate).toBeDefined();
      expect(c.peers).toEqual(['server', 'client']);
    }
    expect(conformanceCases.filter((c) => c.deflate && c.category < 12)).toEqual([]);
    expect(selectCases('server', ['13.']).map((c) => c.id)).toContain('13.7.16');
    // every 13.x combination runs the same sizes
    for (let j = 1; j <= 7; j++) expect(compressed.filter((c) => c.id.startsWith(`13.${j}.`)).map((c) => c.id)).toEqual([1, 5, 9, 16].map((y) => `13.${j}.${y}`));
  });

  it('sends at most 1000 messages (Autobahn\'s count) and 1 MiB a case, one at a time after each echo', () => {
    expect(deflateMessageCount(16)).toBe(1000);
    expect(deflateMessageCount(131072)).toBe(8);
    for (const c of compressed) {
      const steps = c.steps();
      const sends = steps.filter((s) => s.kind === 'send-message');
      expect(sends.length).toBeLessThanOrEqual(1000);
      expect(sends.reduce((n, s) => n + (s.kind === 'send-message' ? s.payload.length : 0), 0)).toBeLessThanOrEqual(1024 * 1024);
      // send, expect, send, expect, ...: the next message waits for the echo
      expect(steps.slice(0, 4).map((s) => s.kind)).toEqual(['send-message', 'expect-message', 'send-message', 'expect-message']);
    }
    const c = compressed.find((x) => x.id === '12.1.16')!;
    expect(c.description).toMatch(/^8 compressed text messages of 128 KiB \(JSON records\).*cut into 1 KiB frames/);
  });

  it('makes its messages from its own corpora, deterministic, text ones ASCII', () => {
    const a = corpusSlices('json', 1000, 3);
    expect(corpusSlices('json', 1000, 3)).toEqual(a);
    expect(Buffer.from(a[1]!).toString()).not.toBe(Buffer.from(a[0]!).toString()); // consecutive slices
    for (const [name, corpus] of Object.entries(corpora)) {
      const data = corpusSlices(name as keyof typeof corpora, 300 * 1024, 1)[0]!; // longer than the corpus: wraps around
      expect(data.length).toBe(300 * 1024);
      if (!corpus.binary) expect(data.every((b) => b >= 0x0a && b < 0x7f)).toBe(true);
    }
  });
});

describe('negotiation as each case says', () => {
  it('server under test: our offers in order of preference, as Autobahn\'s 13.7', () => {
    const c = conformanceCases.find((x) => x.id === '13.7.1')!;
    const offers = clientDeflateNegotiator(c.deflate!.offers).offers();
    expect(offers.map((o) => o.params.map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`)).join('; '))).toEqual([
      'server_no_context_takeover; server_max_window_bits=8; client_max_window_bits',
      'server_no_context_takeover; client_max_window_bits',
      'client_max_window_bits',
    ]);
  });

  it('client under test: an answer limiting client_max_window_bits fits only an offer that has it (RFC 7692 §7.1.2.2), else the next answer', () => {
    const answers = conformanceCases.find((x) => x.id === '13.7.1')!.deflate!.answers;
    const n = caseServerNegotiator(answers);
    const withBits = n.accept(element('permessage-deflate; client_max_window_bits'));
    expect(withBits.ok && withBits.response.params).toEqual([{ name: 'client_no_context_takeover', value: null }, { name: 'client_max_window_bits', value: '8' }]);
    const without = n.accept(element('permessage-deflate'));
    expect(without.ok && without.response.params).toEqual([{ name: 'client_no_context_takeover', value: null }]);
    // 13.3 has no fallback: an offer without client_max_window_bits is declined, and the case is unimplemented.
    const only8 = caseServerNegotiator(conformanceCases.find((x) => x.id === '13.3.1')!.deflate!.answers).accept(element('permessage-deflate'));
    expect(only8.ok).toBe(false);
    if (!only8.ok) expect(only8).toMatchObject({ rfcSection: 'RFC 7692 §7.1.2.2', reason: expect.stringContaining('client_max_window_bits=8') });
  });
});

describe('sending compressed', () => {
  it('cuts the compressed payload into frames of the fragment size, RSV1 and the opcode on the first only (RFC 7692 §6.1)', () => {
    const payload = corpusSlices('json', 32768, 1)[0]!;
    const frames = compressedFrames(serverExtension(), 1, payload, 256);
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.map((f) => [f.opcode, f.rsv1, f.fin])).toEqual(frames.map((_, i) => [i === 0 ? 1 : 0, i === 0, i === frames.length - 1]));
    expect(frames.slice(0, -1).every((f) => f.payload.length === 256)).toBe(true);
    const wire = Buffer.concat([...frames.map((f) => f.payload), Uint8Array.of(0, 0, 0xff, 0xff)]);
    expect(wire.length).toBeLessThan(payload.length / 3); // it did compress
    expect(inflateRawSync(wire, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).equals(Buffer.from(payload))).toBe(true);
  });
});

describe('the observer with permessage-deflate agreed', () => {
  it('inflates a compressed echo (RFC 7692 §7.2.3.1, also fragmented) and says it was compressed', () => {
    expect(observe(clientExtension(), 'c1 07 f2 48 cd c9 c9 07 00')).toEqual([{ type: 'message', opcode: 1, data: new TextEncoder().encode('Hello'), frames: 1, compressed: true }]);
    expect(observe(clientExtension(), '41 03 f2 48 cd', '80 04 c9 c9 07 00')).toMatchObject([{ type: 'message', data: new TextEncoder().encode('Hello'), frames: 2, compressed: true }]);
    // An uncompressed message is allowed too (RSV1 clear, §6).
    expect(observe(clientExtension(), '81 02 68 69')).toEqual([{ type: 'message', opcode: 1, data: new TextEncoder().encode('hi'), frames: 1 }]);
  });

  it('flags RSV1 on a continuation or a control frame (RFC 7692 §6.1), and data that does not inflate', () => {
    expect(observe(clientExtension(), '41 03 f2 48 cd', 'c0 04 c9 c9 07 00')).toEqual([{ type: 'violation', message: expect.stringContaining('continuation frame with RSV1 set'), rfcSection: 'RFC 7692 §6.1' }]);
    expect(observe(clientExtension(), 'c9 00')).toEqual([{ type: 'violation', message: expect.stringContaining('ping frame with RSV1 set'), rfcSection: 'RFC 7692 §6.1' }]);
    expect(observe(clientExtension(), 'c1 02 06 00')).toEqual([{ type: 'violation', message: expect.stringMatching(/cannot be read: .*not valid DEFLATE/), rfcSection: 'RFC 7692 §7.2.2' }]);
    // Without the extension, RSV1 is a §5.2 fault as before.
    expect(observe(null, 'c1 07 f2 48 cd c9 c9 07 00')).toEqual([{ type: 'violation', message: expect.stringContaining('no extension was negotiated'), rfcSection: '§5.2' }]);
  });

  it('checks UTF-8 on the inflated bytes of a text message (§8.1)', () => {
    const ext = serverExtension();
    const [frame] = compressedFrames(ext, 1, Uint8Array.of(0x61, 0xc0, 0xaf));
    const bytes = encodeFrame({ opcode: 1, payload: frame!.payload, rsv1: true });
    expect(observe(clientExtension(), Buffer.from(bytes).toString('hex'))).toEqual([{ type: 'violation', message: expect.stringContaining('not valid UTF-8 (byte 1 once inflated)'), rfcSection: '§8.1' }]);
  });
});
