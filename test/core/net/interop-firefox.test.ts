/**
 * Firefox's own WebSocket (Debian's firefox-esr, headless) against our server on 127.0.0.1: with
 * permessage-deflate, which Firefox offers by default, and over wss:// with our generated
 * certificate trusted through the profile's cert_override.txt (Firefox's own exception list,
 * what "Accept the Risk and Continue" writes). Firefox is driven by a page that reports to the
 * test over HTTP (test/support/firefox.ts); one Firefox runs every check here. What the page sent
 * and received is compared with OUR server's trace: the agreed extension, RSV1 on every message's
 * first frame both ways, the inflated payloads, the TLS event.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { localCertificate, type LocalCertificate } from '../../../src/core/net/certificates.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { firefoxUnavailable, startFirefox, type Firefox, type FirefoxJob, type FirefoxResult } from '../../support/firefox.ts';
import { prng } from '../../support/prng.ts';
import { eventually, MiB, utf8 } from './helpers.ts';

const unavailable = firefoxUnavailable();
if (unavailable) console.log(`[Firefox interop] not run: ${unavailable}. CI (.ci/run) installs firefox-esr.`);

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;
type Handshake = Extract<TraceEvent, { type: 'handshake' }>;
type Tls = Extract<TraceEvent, { type: 'tls' }>;

/** JSON-like text of exactly n bytes (ASCII), as chat and API traffic look. */
function jsonText(n: number): string {
  let out = '';
  for (let i = 0; out.length < n; i++) out += JSON.stringify({ id: i, user: `user${i % 97}`, text: `message number ${i}`, ok: i % 3 === 0 }) + ',';
  return out.slice(0, n);
}

/** n bytes of base64 from a seeded PRNG: text that DEFLATE can shrink only to about 3/4. */
function noisyText(n: number, seed: number): string {
  const next = prng(seed);
  return Buffer.from(Array.from({ length: Math.ceil((n * 3) / 4) }, () => Math.floor(next() * 256))).toString('base64').slice(0, n);
}

const NON_ASCII = 'héllo wörld — ✓ 日本語 ÆØÅ 😀 (astral) ';

/** What the page sends on the ws:// connection, in order (each echoed before the next goes). */
const MESSAGES: Array<{ name: string; text?: string; binary?: Uint8Array }> = [
  { name: '5-byte text', text: 'Hello' },
  { name: 'empty text', text: '' },
  { name: 'non-ASCII text, 3 KiB', text: NON_ASCII.repeat(80) },
  { name: 'JSON-like text, 20 KiB', text: jsonText(20 * 1024) },
  { name: 'JSON-like text, 200 KiB', text: jsonText(200 * 1024) },
  // Stays over 64 KiB compressed: the 64-bit length field on a compressed frame, both ways.
  { name: 'noisy text, 96 KiB', text: noisyText(96 * 1024, 7) },
  { name: 'binary, 4 KiB', binary: Uint8Array.from({ length: 4096 }, (_v, i) => (i * 7) & 0xff) },
];

function jobMessages(): FirefoxJob['messages'] {
  return MESSAGES.map((m) => (m.binary ? { binary: Buffer.from(m.binary).toString('base64') } : { text: m.text! }));
}

function plainOf(m: { text?: string; binary?: Uint8Array }): Uint8Array {
  return m.binary ?? utf8(m.text!);
}

function receivedBytes(r: FirefoxResult['received'][number]): Uint8Array {
  return 'binary' in r ? new Uint8Array(Buffer.from(r.binary, 'base64')) : utf8(r.text);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe.skipIf(unavailable !== null)("Firefox ESR's WebSocket → our server", () => {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  let dir: string;
  let cert: LocalCertificate;
  let plain: WebSocketServer;
  let trusted: WebSocketServer;
  let untrusted: WebSocketServer;
  let wsUrl = '';
  let trustedPort = 0;
  let untrustedPort = 0;
  let firefox: Firefox | undefined;

  const frames = (id: string, direction: 'in' | 'out') => events.filter((e): e is Frame => e.type === 'frame' && e.connectionId === id && e.direction === direction);
  const messages = (id: string, direction: 'in' | 'out') => events.filter((e): e is Message => e.type === 'message' && e.connectionId === id && e.direction === direction);
  const closedEvent = (id: string) => events.find((e) => e.type === 'connection-closed' && e.connectionId === id);
  /** The connection id of the newest connection to the server on `port` opened after event index `from`. */
  const connectionAfter = (from: number, port: number) =>
    events.slice(from).find((e) => e.type === 'connection-opened' && e.local.endsWith(`:${port}`))?.connectionId;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-firefox-test-'));
    cert = await localCertificate(join(dir, 'config'));
    const options = { host: '127.0.0.1', port: 0, component: echoComponent, tracer, maxMessageSize: 64 * MiB };
    plain = new WebSocketServer(options);
    trusted = new WebSocketServer({ ...options, tls: cert });
    untrusted = new WebSocketServer({ ...options, tls: cert });
    wsUrl = (await plain.listen()).url;
    trustedPort = (await trusted.listen()).port;
    untrustedPort = (await untrusted.listen()).port;
    // Firefox's exceptions are per host:port: the trusted server is excepted under both of its
    // names, the untrusted one under none.
    firefox = await startFirefox({
      certOverrides: [
        { host: '127.0.0.1', port: trustedPort, sha256: cert.certificate.sha256 },
        { host: 'localhost', port: trustedPort, sha256: cert.certificate.sha256 },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await firefox?.close();
    await Promise.all([plain?.close(), trusted?.close(), untrusted?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ws:// with permessage-deflate: agreed, RSV1 on every message both ways, inflated payloads equal what the page sent and received', async () => {
    const from = events.length;
    const result = await firefox!.run({ url: wsUrl, messages: jobMessages(), close: { code: 1000, reason: 'done ✓' } });
    expect(result.exception).toBeUndefined();
    expect(result.opened).toBe(true);
    expect(result.extensions).toBe('permessage-deflate');
    expect(result.close).toEqual({ code: 1000, reason: 'done ✓', wasClean: true });

    const id = connectionAfter(from, Number(new URL(wsUrl).port))!;
    await eventually(() => closedEvent(id) !== undefined, 5000, 'the server to trace the close');
    const handshake = events.find((e): e is Handshake => e.type === 'handshake' && e.connectionId === id)!;
    // Firefox offers the extension with no parameter (Chromium adds client_max_window_bits).
    expect(handshake.extensions?.offered).toBe('permessage-deflate');
    expect(handshake.extensions?.offers.map((o) => o.verdict)).toEqual(['accepted']);
    expect(handshake.extensions?.response).toBe('permessage-deflate');
    expect(handshake.extensions?.agreed?.deflate).toMatchObject({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });

    const inbound = messages(id, 'in');
    const outbound = messages(id, 'out');
    expect(inbound.map((m) => m.size)).toEqual(MESSAGES.map((m) => plainOf(m).length));
    expect(outbound.map((m) => m.size)).toEqual(MESSAGES.map((m) => plainOf(m).length));
    expect(result.received.length).toBe(MESSAGES.length);
    const inFrames = frames(id, 'in');
    const outFrames = frames(id, 'out');

    MESSAGES.forEach((sent, i) => {
      const plainBytes = plainOf(sent);
      for (const [direction, message, wire] of [['in', inbound[i]!, inFrames], ['out', outbound[i]!, outFrames]] as const) {
        const what = `${sent.name}, ${direction}`;
        expect(message.opcode, what).toBe(sent.binary ? 2 : 1);
        const own = message.frameIds.map((fid) => wire.find((f) => f.frame.frameId === fid)!.frame);
        expect(own.every((f) => f.masked === (direction === 'in')), `${what}: masked only from the browser`).toBe(true);
        if (direction === 'in' && plainBytes.length === 0) {
          // Firefox sends an empty message uncompressed (RSV1 clear, which RFC 7692 §6 allows).
          expect(message.compression, `${what}: sent plain`).toBeUndefined();
          expect(own.map((f) => [f.rsv1, f.payloadLength])).toEqual([[false, 0]]);
          continue;
        }
        if (plainBytes.length === 0) {
          // Ours goes compressed: the single byte 00, an empty stored block whose LEN/NLEN is the
          // stripped tail 00 00 ff ff (RFC 7692 §7.2.3.6); Firefox takes it (checked below).
          expect(hex(message.compression!.compressed)).toBe('00');
        }
        // Compressed: RSV1 on the first frame, none on the others; the plain bytes of the frames
        // add up to the message.
        expect(message.compression, `${what}: compressed`).toBeDefined();
        expect(own.map((f) => f.rsv1), what).toEqual(own.map((_f, k) => k === 0));
        expect(hex(Buffer.concat(own.map((f) => f.deflate!.inflated))), `${what}: inflated bytes`).toBe(hex(plainBytes));
        // The compressed form is what crossed the wire (unmasked payloads joined, without the tail).
        expect(hex(message.compression!.compressed)).toBe(hex(Buffer.concat(own.map((f) => f.payload))));
      }
      // What Firefox's page got back is what it sent, and what our server inflated and sent.
      expect(hex(receivedBytes(result.received[i]!)), `${sent.name}: the page's echo`).toBe(hex(plainBytes));
      expect('binary' in result.received[i]!).toBe(sent.binary !== undefined);
    });
    // The text the page sent, as our server read it, character for character.
    expect(inbound[2]!.text).toBe(NON_ASCII.repeat(80));
    // Firefox keeps its LZ77 window between messages (no no_context_takeover was agreed).
    // (The empty message came plain and leaves the window as it was.)
    expect(inbound.slice(1).filter((m) => m.size > 0).map((m) => m.compression?.contextTakeover)).toEqual(MESSAGES.slice(2).map(() => true));
    // The noisy 96 KiB text stays over 64 KiB compressed: a 64-bit length field, both ways.
    for (const wire of [inFrames, outFrames]) {
      const big = wire.find((f) => f.frame.frameId === (wire === inFrames ? inbound : outbound)[5]!.frameIds[0])!.frame;
      expect(big.lengthField).toBe(127);
      expect(big.payloadLength).toBeGreaterThan(65_535);
      expect(big.rsv1).toBe(true);
    }
    // The 200 KiB JSON-like text shrinks many times over, each way.
    expect(inbound[4]!.compression!.ratio!).toBeGreaterThan(5);
    expect(outbound[4]!.compression!.ratio!).toBeGreaterThan(5);
    // Close frames are never compressed (RFC 7692 §6.1); Firefox's reason arrives intact.
    const closes = [...inFrames, ...outFrames].filter((f) => f.frame.opcode === 8);
    expect(closes.map((f) => ({ direction: f.direction, rsv1: f.frame.rsv1, close: f.frame.close }))).toEqual([
      { direction: 'in', rsv1: false, close: { code: 1000, reason: 'done ✓' } },
      { direction: 'out', rsv1: false, close: { code: 1000, reason: 'done ✓' } },
    ]);
  }, 60_000);

  it('wss:// trusted through cert_override.txt: the echo (compressed) over TLS 1.3 with ALPN http/1.1, SNI by name and none by IP', async () => {
    const cases = [
      { host: 'localhost', sni: 'localhost' },
      { host: '127.0.0.1', sni: null },
    ];
    for (const { host, sni } of cases) {
      const from = events.length;
      const text = `over TLS ✓ by ${host}`;
      const json = jsonText(100 * 1024);
      const result = await firefox!.run({ url: `wss://${host}:${trustedPort}/`, messages: [{ text }, { text: json }], close: { code: 1000, reason: 'bye' } });
      expect(result.exception).toBeUndefined();
      expect(result.opened, `Firefox opened wss://${host}:${trustedPort}/`).toBe(true);
      expect(result.received).toEqual([{ text }, { text: json }]);
      expect(result.extensions).toBe('permessage-deflate');
      expect(result.close).toEqual({ code: 1000, reason: 'bye', wasClean: true });

      const id = connectionAfter(from, trustedPort)!;
      await eventually(() => closedEvent(id) !== undefined, 5000, 'the server to trace the close');
      const tls = events.find((e): e is Tls => e.type === 'tls' && e.connectionId === id)!.tls;
      expect(tls).toMatchObject({ role: 'server', ok: true, protocol: 'TLSv1.3', alpn: 'http/1.1', sni, verified: null });
      expect(tls.cipher?.version).toBe('TLSv1.3');
      expect(tls.localCertificate?.sha256).toBe(cert.certificate.sha256);
      // Then the opening handshake inside TLS: the page's Origin, the extension agreed.
      const head = events.find((e) => e.type === 'http-head' && e.connectionId === id && e.direction === 'in') as Extract<TraceEvent, { type: 'http-head' }>;
      expect(head.head.headers.find((h) => h.name.toLowerCase() === 'origin')?.value).toBe(firefox!.origin);
      expect(head.head.headers.find((h) => h.name.toLowerCase() === 'host')?.value).toBe(`${host}:${trustedPort}`);
      const inbound = messages(id, 'in');
      expect(inbound.map((m) => m.text === text || m.text === json)).toEqual([true, true]);
      for (const direction of ['in', 'out'] as const) {
        for (const m of messages(id, direction)) {
          expect(m.compression, `${direction} message compressed`).toBeDefined();
          expect(frames(id, direction).find((f) => f.frame.frameId === m.frameIds[0])?.frame.rsv1).toBe(true);
        }
      }
    }
  }, 60_000);

  it('wss:// without an exception: Firefox refuses our certificate (a bad_certificate alert; the page sees 1015) and our trace explains it', async () => {
    const from = events.length;
    const url = `wss://localhost:${untrustedPort}/`;
    const result = await firefox!.run({ url, messages: [{ text: 'never sent' }], close: { code: 1000, reason: 'bye' } });
    expect(result.opened).toBe(false);
    expect(result.errorEvent).toBe(true);
    // RFC 6455 §7.4.1: 1015, "a failure to perform a TLS handshake", reported to the page, never sent.
    expect(result.close).toEqual({ code: 1015, reason: '', wasClean: false });
    await eventually(() => events.slice(from).some((e) => e.type === 'tls'), 5000, 'the server to trace the refusal');
    const failed = events.slice(from).find((e): e is Tls => e.type === 'tls')!;
    // NSS sends a fatal bad_certificate alert (BoringSSL, in Chromium, sends certificate_unknown).
    expect(failed.tls.failure).toMatchObject({ kind: 'peer-rejected-certificate', code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', summary: 'The client refused our certificate: it does not trust it.' });
    expect(failed.tls.ok).toBe(false);
    // Firefox sent SNI "localhost"; the advice names the host:port the browser used, since
    // Firefox's exception (like Chromium's "accept the warning") is per host and port.
    expect(failed.tls.sni).toBe('localhost');
    expect(failed.tls.failure!.advice[0]).toContain(`open https://localhost:${untrustedPort}/ once`);
    expect(events.slice(from).some((e) => e.type === 'http-head' && e.connectionId === failed.connectionId)).toBe(false);
  }, 60_000);
});
