/**
 * wss:// against real peers over real TLS on 127.0.0.1 (RFC 6455 §3, §10.6): our client ↔ a `ws`
 * server on node:https, our server ↔ a `ws` client trusting our generated certificate, and every
 * failure a person meets (expired, name mismatch, unknown CA, self-signed, not TLS, plain HTTP
 * to a TLS port) explained in plain words. Certificates are made in the test with the same
 * library the app uses (certificates.ts, @peculiar/x509).
 */

import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { connectClient, ConnectError, parseWebSocketUrl } from '../../../src/core/net/client.ts';
import { createCertificate, localCertificate, type CertificatePair } from '../../../src/core/net/certificates.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import type { TlsInfo } from '../../../src/core/tls-types.ts';
import { AsyncQueue, eventually, RawPeer, withTimeout, wsMessages } from './helpers.ts';

const DAY = 86_400_000;

type TlsTrace = Extract<TraceEvent, { type: 'tls' }>;

function tlsEvents(events: readonly TraceEvent[], connectionId?: string): TlsInfo[] {
  return events.filter((e): e is TlsTrace => e.type === 'tls' && (connectionId === undefined || e.connectionId === connectionId)).map((e) => e.tls);
}

/** A `ws` echo server on node:https with this certificate (and chain). */
async function wsHttpsServer(pair: CertificatePair, chain = ''): Promise<{ url: (host?: string) => string; server: HttpsServer; sni: string[]; close: () => Promise<void> }> {
  const server = createHttpsServer({ cert: pair.cert + chain, key: pair.key });
  const wss = new WsServer({ server, perMessageDeflate: false });
  const sni: string[] = [];
  wss.on('connection', (ws, request) => {
    // node's servername is false when the client sent no SNI.
    sni.push(String((request.socket as import('node:tls').TLSSocket).servername || ''));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (host = '127.0.0.1') => `wss://${host}:${port}/tls?x=1`, server, sni,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects our client; resolves with the outcome and the trace. */
async function attempt(url: string, tls: { ca?: string[]; insecure?: boolean } = {}) {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  const messages = new AsyncQueue<string>();
  const client = connectClient(url, { onMessage: (_c, m) => messages.push(m.text ?? '') }, { tracer, tls, connectTimeoutMs: 5000 });
  let conn: Connection | null = null;
  let error: Error | null = null;
  try {
    conn = await withTimeout(client.opened, 8000, `our client to open ${url}`);
  } catch (e) {
    error = e as Error;
  }
  return { conn, error, events, messages, connection: client.connection, tls: () => tlsEvents(events, client.connection.id) };
}

/** Polls until the server holds no socket at all (every failed TLS socket freed). */
async function socketsFreed(server: WebSocketServer): Promise<void> {
  let count = -1;
  for (let i = 0; i < 200; i++) {
    count = await server.socketCount();
    if (count === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server still holds ${count} sockets`);
}

let ca: CertificatePair;
let leaf: CertificatePair;
let configDir: string;

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'wsi-tls-'));
  ca = await createCertificate({ commonName: 'Inspector Test Root CA', ca: true });
  leaf = await createCertificate({ commonName: 'localhost', names: ['localhost', '127.0.0.1'], issuer: ca });
});

afterAll(() => {
  rmSync(configDir, { recursive: true, force: true });
});

describe('wss:// URLs (RFC 6455 §3)', () => {
  it.each([
    ['wss://example.com/chat', { host: 'example.com', port: 443, hostHeader: 'example.com', path: '/chat', secure: true }],
    ['wss://example.com:443/', { port: 443, hostHeader: 'example.com', secure: true }],
    ['wss://example.com:8443/a?b=c', { port: 8443, hostHeader: 'example.com:8443', path: '/a?b=c', secure: true }],
    ['https://example.com/', { port: 443, secure: true, url: 'wss://example.com/' }],
    ['wss://[::1]:9443/', { host: '::1', port: 9443, hostHeader: '[::1]:9443', secure: true }],
    ['ws://example.com/', { port: 80, secure: false }],
    ['ws://example.com:443/', { port: 443, hostHeader: 'example.com:443', secure: false }],
  ])('%s', (url, expected) => {
    expect(parseWebSocketUrl(url)).toMatchObject(expected);
  });

  it('still refuses a fragment in a wss:// URL (§3)', () => {
    expect(() => parseWebSocketUrl('wss://example.com/#x')).toThrow(/fragment/);
  });
});

describe('our client → a ws server on node:https', () => {
  let peer: Awaited<ReturnType<typeof wsHttpsServer>>;
  beforeAll(async () => {
    peer = await wsHttpsServer(leaf);
  });
  afterAll(async () => {
    await peer.close();
  });

  it('opens, verifies the chain against --ca, echoes text, and traces version, cipher, ALPN and the chain', async () => {
    const r = await attempt(peer.url('localhost'), { ca: [ca.cert] });
    expect(r.error).toBeNull();
    r.conn!.sendText('über TLS ✓');
    expect(await r.messages.next(5000, 'the echo')).toBe('über TLS ✓');
    const [tls] = r.tls();
    expect(tls).toMatchObject({ role: 'client', ok: true, verified: true, insecure: false, alpn: 'http/1.1', sni: 'localhost', host: 'localhost', extraCaCount: 1 });
    expect(tls!.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(tls!.cipher?.standardName).toMatch(/^TLS_/);
    expect(tls!.failure).toBeUndefined();
    expect(tls!.peerCertificates[0]).toMatchObject({ subject: 'CN=localhost', issuer: 'CN=Inspector Test Root CA', selfSigned: false, ca: false, publicKey: 'EC P-256' });
    expect(tls!.peerCertificates[0]!.subjectAltNames).toEqual(['DNS:localhost', 'IP:127.0.0.1']);
    expect(tls!.peerCertificates[0]!.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // node links the chain up to the CA it verified against, which is self-signed.
    expect(tls!.peerCertificates.at(-1)).toMatchObject({ subject: 'CN=Inspector Test Root CA', selfSigned: true, ca: true });
    // The TLS event comes before the opening handshake's first byte.
    const order = r.events.filter((e) => e.connectionId === r.connection.id).map((e) => e.type);
    expect(order.indexOf('tls')).toBeGreaterThan(order.indexOf('connection-opened'));
    expect(order.indexOf('tls')).toBeLessThan(order.indexOf('http-head'));
    r.conn!.close(1000);
    expect((await withTimeout(r.conn!.closed(), 5000, 'close')).wasClean).toBe(true);
  });

  it('sends SNI for a host name and none for an IP address (RFC 6066 §3), with the Host header as for ws://', async () => {
    const named = await attempt(peer.url('localhost'), { ca: [ca.cert] });
    const byIp = await attempt(peer.url('127.0.0.1'), { ca: [ca.cert] });
    expect(named.error).toBeNull();
    expect(byIp.error).toBeNull();
    await eventually(() => peer.sni.length >= 2, 5000, 'both connections at the ws server');
    expect(peer.sni.slice(-2).sort()).toEqual(['', 'localhost']);
    expect(named.tls()[0]!.sni).toBe('localhost');
    expect(byIp.tls()[0]!.sni).toBeNull();
    expect(byIp.tls()[0]!.verified).toBe(true); // the certificate lists IP:127.0.0.1
    const port = new URL(peer.url()).port;
    expect(named.conn!.protocol.request?.headers.find((h) => h.name === 'Host')?.value ?? named.conn!.protocol.request?.headers.find((h) => h.name.toLowerCase() === 'host')?.value).toBe(`localhost:${port}`);
    named.conn!.destroy();
    byIp.conn!.destroy();
  });

  it('without the CA: unknown CA, explained, with the issuer named and what to do', async () => {
    const r = await attempt(peer.url('localhost'));
    expect(r.error).toBeInstanceOf(ConnectError);
    expect(r.error!.message).toMatch(/signed by CN=Inspector Test Root CA, which this machine does not know/);
    expect(r.error!.message).toContain('--ca FILE');
    expect(r.error!.message).toContain('--insecure');
    expect(r.error!.message).not.toMatch(/\n\s+at /); // never a stack
    const [tls] = r.tls();
    expect(tls).toMatchObject({ ok: false, verified: false, failure: { kind: 'unknown-ca', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
    // The chain is shown even though it failed.
    expect(tls!.peerCertificates[0]!.subject).toBe('CN=localhost');
    await withTimeout(r.connection.closed(), 5000, 'the failed connection to close');
    expect(r.connection.socket.destroyed).toBe(true);
  });

  it('a name the certificate does not cover: says the names it does cover', async () => {
    const other = await createCertificate({ commonName: 'example.test', names: ['example.test', 'www.example.test'], issuer: ca });
    const peer2 = await wsHttpsServer(other);
    try {
      const r = await attempt(peer2.url('localhost'), { ca: [ca.cert] });
      expect(r.error!.message).toContain('The certificate does not cover "localhost": it is for example.test, www.example.test.');
      expect(r.tls()[0]!.failure).toMatchObject({ kind: 'name-mismatch', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      expect(r.tls()[0]!.failure!.advice[0]).toContain('example.test, www.example.test');
    } finally {
      await peer2.close();
    }
  });

  it('an expired certificate: says when it expired', async () => {
    const expired = await createCertificate({
      commonName: 'localhost', names: ['localhost'], issuer: ca, notBefore: new Date(Date.now() - 40 * DAY), notAfter: new Date(Date.now() - 10 * DAY),
    });
    const peer2 = await wsHttpsServer(expired);
    try {
      const r = await attempt(peer2.url('localhost'), { ca: [ca.cert] });
      const day = new Date(Date.now() - 10 * DAY).toISOString().slice(0, 10);
      expect(r.error!.message).toContain(`The server's certificate expired on ${day}, 10 days ago.`);
      expect(r.tls()[0]!.failure).toMatchObject({ kind: 'expired', code: 'CERT_HAS_EXPIRED' });
      expect(r.tls()[0]!.failure!.advice.join(' ')).toMatch(/renew/);
    } finally {
      await peer2.close();
    }
  });

  it('a certificate not valid yet: says from when', async () => {
    const future = await createCertificate({
      commonName: 'localhost', names: ['localhost'], issuer: ca, notBefore: new Date(Date.now() + 5 * DAY), notAfter: new Date(Date.now() + 50 * DAY),
    });
    const peer2 = await wsHttpsServer(future);
    try {
      const r = await attempt(peer2.url('localhost'), { ca: [ca.cert] });
      expect(r.tls()[0]!.failure).toMatchObject({ kind: 'not-yet-valid', code: 'CERT_NOT_YET_VALID' });
      expect(r.error!.message).toMatch(/valid only from \d{4}-\d\d-\d\d, 5 days from now/);
    } finally {
      await peer2.close();
    }
  });

  it('a chain ending at a root nobody trusts (self-signed in chain)', async () => {
    const peer2 = await wsHttpsServer(leaf, ca.cert);
    try {
      const r = await attempt(peer2.url('localhost'));
      expect(r.tls()[0]!.failure).toMatchObject({ kind: 'self-signed-in-chain', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
      expect(r.error!.message).toContain('root certificate authority that this machine does not trust: CN=Inspector Test Root CA');
    } finally {
      await peer2.close();
    }
  });
});

describe('our WebSocketServer over TLS with the generated localhost certificate', () => {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  let server: WebSocketServer;
  let url: string;
  let local: Awaited<ReturnType<typeof localCertificate>>;

  beforeAll(async () => {
    local = await localCertificate(configDir);
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, tls: local, handshakeTimeoutMs: 2000 });
    url = (await server.listen()).url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on wss:// and a ws client that trusts the certificate (ca) talks to it', async () => {
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.tlsCertificate?.sha256).toBe(local.certificate.sha256);
    const ws = new WebSocket(url.replace('127.0.0.1', 'localhost'), { ca: local.cert, perMessageDeflate: false });
    await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'ws to open');
    const messages = wsMessages(ws);
    ws.send('hello over wss ✓');
    const back = await messages.next(5000, 'the echo');
    expect(back.data.toString()).toBe('hello over wss ✓');
    ws.close(1000);
    await eventually(() => server.connections.size === 0, 5000, 'the connection to go');
    const opened = events.find((e) => e.type === 'connection-opened' && e.role === 'server')!;
    const [tls] = tlsEvents(events, opened.connectionId);
    expect(tls).toMatchObject({ role: 'server', ok: true, verified: null, sni: 'localhost', peerCertificates: [] });
    expect(tls!.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(tls!.localCertificate).toMatchObject({ sha256: local.certificate.sha256, selfSigned: true, subjectAltNames: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'] });
  });

  it('our own client: self-signed without --ca or --insecure is refused, explained', async () => {
    const r = await attempt(url);
    expect(r.tls()[0]!.failure).toMatchObject({ kind: 'self-signed', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(r.error!.message).toMatch(/^TLS with wss:\/\/127\.0\.0\.1:\d+\/ failed: The server's certificate is self-signed: it signed itself, so no authority vouches that it belongs to 127\.0\.0\.1\./);
    expect(r.error!.message).toContain(local.certificate.sha256);
    // The server saw a client hang up mid-handshake, and says what that usually means.
    await eventually(() => tlsEvents(events).some((t) => t.role === 'server' && t.failure?.kind === 'reset'), 5000, 'the server to see the hang-up');
    const hangUpEvent = events.find((e): e is TlsTrace => e.type === 'tls' && e.tls.role === 'server' && e.tls.failure?.kind === 'reset')!;
    const hangUp = hangUpEvent.tls;
    expect(hangUp.failure!.advice.join(' ')).toContain(`--ignore-certificate-errors-spki-list=${local.certificate.spkiSha256}`);
    // It is listed with the client's address, taken when TCP connected (the TLS socket has lost it by then).
    const opened = events.find((e) => e.type === 'connection-opened' && e.connectionId === hangUpEvent.connectionId);
    expect(opened).toMatchObject({ remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/), local: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    await socketsFreed(server);
  });

  it('a client that refuses us after sending SNI: the failed connection keeps the name, and the advice names the host:port it used', async () => {
    const named = url.replace('127.0.0.1', 'localhost');
    const before = events.length;
    const r = await attempt(named);
    expect(r.tls()[0]!.failure).toMatchObject({ kind: 'self-signed' });
    await eventually(() => tlsEvents(events.slice(before)).some((t) => t.role === 'server' && !t.ok), 5000, 'the server to trace the refusal');
    const refused = tlsEvents(events.slice(before)).find((t) => t.role === 'server' && !t.ok)!;
    expect(refused.sni).toBe('localhost');
    // A browser's exception is per host and port: the one the client used, not the listening address.
    expect(refused.failure!.advice[0]).toContain(`open ${named.replace('wss:', 'https:')} once`);
    await socketsFreed(server);
  });

  it('our own client with --insecure: connects, and the trace says it is not verified and why', async () => {
    const r = await attempt(url, { insecure: true });
    expect(r.error).toBeNull();
    const [tls] = r.tls();
    expect(tls).toMatchObject({ ok: true, verified: false, insecure: true, failure: { kind: 'self-signed' } });
    r.conn!.sendText('insecure but working');
    expect(await r.messages.next(5000, 'the echo')).toBe('insecure but working');
    r.conn!.close(1000);
    await withTimeout(r.conn!.closed(), 5000, 'close');
  });

  it('our own client with the certificate as --ca: verified, for each name it covers', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const r = await attempt(url.replace('127.0.0.1', host), { ca: [local.cert] });
      expect(r.error).toBeNull();
      expect(r.tls()[0]).toMatchObject({ ok: true, verified: true, host });
      r.conn!.destroy();
    }
  });

  it('a plain ws:// client on the TLS port: the server explains it spoke plain HTTP', async () => {
    const r = await attempt(url.replace('wss:', 'ws:'));
    expect(r.error).toBeInstanceOf(ConnectError);
    await eventually(() => tlsEvents(events).some((t) => t.failure?.kind === 'plain-http'), 5000, 'the plain-http failure');
    const failure = tlsEvents(events).find((t) => t.failure?.kind === 'plain-http')!.failure!;
    expect(failure.summary).toBe('The client sent plain HTTP to this TLS port: it used ws:// (or http://) instead of wss://.');
    expect(failure.advice[0]).toContain(url.slice(0, -1));
    const closed = events.filter((e) => e.type === 'connection-closed' && e.detail.includes('plain HTTP'));
    expect(closed.length).toBeGreaterThan(0);
    await socketsFreed(server);
  });
});

describe('a client that never finishes its TLS handshake', () => {
  it('is dropped after the handshake timeout, explained, and its socket freed', async () => {
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.subscribe((e) => events.push(e));
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, tls: await localCertificate(configDir), handshakeTimeoutMs: 300 });
    const { port } = await server.listen();
    const peer = await RawPeer.open(port);
    try {
      peer.write(Buffer.from([0x16, 0x03, 0x01])); // the first bytes of a ClientHello, then silence
      await peer.waitFor(() => peer.ended, 5000, 'the server to drop the silent client');
      const failure = tlsEvents(events).find((t) => t.failure)?.failure;
      expect(failure).toMatchObject({ kind: 'timeout', code: 'ERR_TLS_HANDSHAKE_TIMEOUT', summary: 'The client did not finish the TLS handshake within 300 ms.' });
      await socketsFreed(server);
    } finally {
      peer.destroy();
      await server.close();
    }
  });
});

describe('our client → a server that does not speak TLS', () => {
  it('wss:// to a ws:// server (ws on node:http, which answers the ClientHello with 400): "not TLS", with the advice to try ws://', async () => {
    const plain = new WsServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => plain.once('listening', resolve));
    const url = `ws://127.0.0.1:${(plain.address() as AddressInfo).port}/`;
    try {
      const r = await attempt(url.replace('ws:', 'wss:'));
      expect(r.tls()[0]).toMatchObject({ ok: false, protocol: null, failure: { kind: 'not-tls' } });
      expect(r.error!.message).toContain('The server did not answer in TLS: it probably speaks plain ws:// (HTTP) on this port.');
      expect(r.error!.message).toContain('Try ws:// instead of wss://.');
      await withTimeout(r.connection.closed(), 5000, 'close');
      expect(r.connection.socket.destroyed).toBe(true);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
