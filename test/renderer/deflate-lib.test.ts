/**
 * The renderer's permessage-deflate helpers: parameters in plain words (deflate-params.ts), the
 * ✓/✗ on each head's Sec-WebSocket-Extensions line (extension-checks.ts), a compressed frame's
 * facts (compression-facts.ts), and the store keeping compressed messages and filtering them.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent, TracedDeflateSettings, TracedExtensionNegotiation, TracedMessageCompression } from '../../src/core/trace.ts';
import { describeRatio, describeTail, describeWindow, opensCompressedMessage } from '../../src/renderer/src/lib/compression-facts.ts';
import { directionsInForce, offerParamDoc, zlibWindowNote } from '../../src/renderer/src/lib/deflate-params.ts';
import { requestExtensionCheck, responseExtensionCheck } from '../../src/renderer/src/lib/extension-checks.ts';
import { matchesFilters, useInspector } from '../../src/renderer/src/store/store.ts';

const defaults: TracedDeflateSettings = {
  serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15,
  zlibWindowBits: { compress: 15, decompress: 15 },
};

describe('permessage-deflate parameters in plain words', () => {
  it('names each offer parameter\'s section (RFC 7692 §7.1.1.1, §7.1.1.2, §7.1.2.1, §7.1.2.2, §7)', () => {
    expect(offerParamDoc({ name: 'server_no_context_takeover', value: null }).rfcSection).toBe('RFC 7692 §7.1.1.1');
    expect(offerParamDoc({ name: 'client_no_context_takeover', value: null }).rfcSection).toBe('RFC 7692 §7.1.1.2');
    expect(offerParamDoc({ name: 'server_max_window_bits', value: '10' })).toEqual({
      meaning: 'The client asks the server to compress with a window of at most 2^10 = 1,024 bytes.', rfcSection: 'RFC 7692 §7.1.2.1',
    });
    expect(offerParamDoc({ name: 'client_max_window_bits', value: null }).meaning).toMatch(/^Without a value: the client can compress with a smaller window/);
    expect(offerParamDoc({ name: 'client_max_window_bits', value: '9' }).meaning).toContain('at most 2^9 = 512 bytes');
    expect(offerParamDoc({ name: 'mystery', value: '1' })).toEqual({ meaning: 'Not a permessage-deflate parameter: a server declines an offer that has one.', rfcSection: 'RFC 7692 §7' });
    // A value out of range is not turned into a window size.
    expect(offerParamDoc({ name: 'server_max_window_bits', value: '20' }).meaning).toContain('the given size (8 to 15 bits)');
  });

  it('says what the agreement means for each direction', () => {
    const [server, client] = directionsInForce({ ...defaults, clientNoContextTakeover: true, clientMaxWindowBits: 9 });
    expect(server).toMatchObject({ sender: 'server', windowSection: 'RFC 7692 §7.1.1.1', sizeSection: 'RFC 7692 §7.1.2.1' });
    expect(server!.window).toContain('kept from message to message (context takeover)');
    expect(server!.size).toBe('an LZ77 window of at most 2^15 = 32,768 bytes (the largest, and the default)');
    expect(client!.window).toContain('emptied before every message (client_no_context_takeover)');
    expect(client!.size).toBe('an LZ77 window of at most 2^9 = 512 bytes');
  });

  it('says which window bits zlib actually uses only when they differ from the agreed ones', () => {
    expect(zlibWindowNote(defaults, 'server')).toBeNull();
    const eight = { ...defaults, serverMaxWindowBits: 8, zlibWindowBits: { compress: 9, decompress: 15 } };
    expect(zlibWindowNote(eight, 'server')).toMatch(/^Window bits zlib actually uses here: 9 to compress \(agreed 8\), 15 to decompress \(agreed 15\)/);
    // The client decompresses what the server sends: there the 9 is on the other side.
    expect(zlibWindowNote({ ...eight, zlibWindowBits: { compress: 15, decompress: 9 } }, 'client')).toContain('15 to compress (agreed 15), 9 to decompress (agreed 8)');
  });
});

const negotiation = (patch: Partial<TracedExtensionNegotiation>): TracedExtensionNegotiation => ({
  offered: 'permessage-deflate; server_max_window_bits=20, permessage-deflate', response: 'permessage-deflate',
  offers: [
    { index: 0, name: 'permessage-deflate', params: [{ name: 'server_max_window_bits', value: '20' }], verdict: 'declined', reason: 'bad', rfcSection: 'RFC 7692 §7.1.2.1' },
    { index: 1, name: 'permessage-deflate', params: [], verdict: 'accepted', reason: 'Accepted.', rfcSection: 'RFC 7692 §7.1' },
  ],
  agreed: { name: 'permessage-deflate', params: [], deflate: defaults },
  ...patch,
});

describe('the Sec-WebSocket-Extensions checks of each head', () => {
  it('the request: ✓ with each offer\'s verdict, ✗ when the header is malformed, nothing when nothing was offered', () => {
    const ok = requestExtensionCheck(negotiation({}))!;
    expect(ok).toMatchObject({ ok: true, header: 'Sec-WebSocket-Extensions', rfcSection: 'RFC 6455 §9.1, RFC 7692 §5' });
    expect(ok.detail).toBe('2 offers, in the client\'s order of preference: offer 1 (permessage-deflate) declined, offer 2 (permessage-deflate) accepted.');
    const bad = requestExtensionCheck(negotiation({ error: 'unexpected "=" at 3 (RFC 6455 §9.1)', offers: [] }))!;
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/^Malformed: unexpected "=" at 3/);
    expect(requestExtensionCheck(negotiation({ offered: null, offers: [] }))).toBeNull();
    expect(requestExtensionCheck(undefined)).toBeNull();
  });

  it('the response on the server\'s side: ✓ naming the offer it accepted; nothing when it answered none', () => {
    expect(responseExtensionCheck(negotiation({}))).toMatchObject({ ok: true, rfcSection: 'RFC 7692 §5, §7.1' });
    expect(responseExtensionCheck(negotiation({}))!.detail).toMatch(/^Accepts offer 2 of 2/);
    expect(responseExtensionCheck(negotiation({ response: null, agreed: null }))).toBeNull();
  });
});

const compression = (patch: Partial<TracedMessageCompression> = {}): TracedMessageCompression => ({
  extension: 'permessage-deflate', compressed: new Uint8Array(7), compressedSize: 7, ratio: 5 / 7, tail: 'appended',
  contextTakeover: true, windowMessages: 2, windowReason: 'Context takeover: the window still holds the 2 earlier compressed messages from the client.', windowBits: 15,
  ...patch,
});

describe('a compressed frame\'s facts', () => {
  it('the ratio, smaller or larger on the wire', () => {
    expect(describeRatio(83, 20)).toBe('83 plain bytes from 20 compressed: 4.15× smaller on the wire');
    expect(describeRatio(1000, 20)).toBe('1000 plain bytes from 20 compressed: 50× smaller on the wire');
    expect(describeRatio(5, 7)).toMatch(/^5 plain bytes from 7 compressed: 1\.40× larger on the wire/);
  });

  it('the tail: stripped by the sender (§7.2.1), put back by the receiver (§7.2.2), or on another frame', () => {
    expect(describeTail('stripped').rfcSection).toBe('RFC 7692 §7.2.1');
    expect(describeTail('appended').rfcSection).toBe('RFC 7692 §7.2.2');
    expect(describeTail(null).text).toContain('Not the message\'s last frame');
  });

  it('the window: carried over with how many messages and why, started empty, or not known', () => {
    expect(describeWindow(compression()).text).toBe('Carried over. Context takeover: the window still holds the 2 earlier compressed messages from the client. Window size 32,768 bytes (15 bits).');
    expect(describeWindow(compression({ contextTakeover: false, windowMessages: 0, windowReason: 'The first compressed message from the client: the window starts empty (RFC 7692 §7.1.1.2).' })).text).toMatch(/^Started empty\. The first compressed message from the client/);
    expect(describeWindow(undefined).text).toMatch(/^No message was traced for this frame/);
  });
});

describe('opensCompressedMessage', () => {
  it('is RSV1 on a text or binary frame, and only with permessage-deflate agreed', () => {
    expect(opensCompressedMessage(0xc1, true)).toBe(true);
    expect(opensCompressedMessage(0x42, true)).toBe(true); // binary, FIN clear
    expect(opensCompressedMessage(0xc1, false)).toBe(false);
    expect(opensCompressedMessage(0xc0, true)).toBe(false); // continuation
    expect(opensCompressedMessage(0xc9, true)).toBe(false); // ping
    expect(opensCompressedMessage(0x81, true)).toBe(false);
    expect(opensCompressedMessage(undefined, true)).toBe(false);
  });
});

describe('the store with compressed frames', () => {
  it('keeps a one-frame compressed message for its ratio and window, and filters compressed frames', () => {
    const base = { seq: 1, time: 0, connectionId: 'z' };
    const raw = Uint8Array.of(0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00);
    const hello = new TextEncoder().encode('Hello');
    const events: TraceEvent[] = [
      { ...base, type: 'frame', direction: 'in', frame: { frameId: 1, fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, lengthField: 7, payloadLength: 7, headerLength: 2, raw, payload: raw.subarray(2), deflate: { first: true, inflated: hello, inflatedLength: 5, tail: 'appended' } } },
      { ...base, seq: 2, type: 'message', direction: 'in', opcode: 1, size: 5, text: 'Hello', frameIds: [1], compression: compression() },
      { ...base, seq: 3, type: 'frame', direction: 'in', frame: { frameId: 2, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 9, masked: false, maskKey: null, lengthField: 0, payloadLength: 0, headerLength: 2, raw: Uint8Array.of(0x89, 0), payload: new Uint8Array(0) } },
    ];
    useInspector.getState().applyBatch({ events });
    const s = useInspector.getState();
    expect(s.messageByFrame.get('z:1')?.compression?.windowMessages).toBe(2);
    const rows = s.frames.filter((r) => r.connectionId === 'z');
    expect(rows.map((r) => r.compressed)).toEqual([true, false]);
    expect(rows[0]!.preview).toBe('Hello');
    const filter = { direction: 'all' as const, type: 'compressed' as const, search: '' };
    expect(rows.filter((r) => matchesFilters(r, filter, null))).toEqual([rows[0]]);
  });
});
