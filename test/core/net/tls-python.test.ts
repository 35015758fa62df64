/**
 * wss:// with Debian's python3-websockets and Python's own ssl module (OpenSSL), both directions,
 * on 127.0.0.1: python's client trusting our generated certificate (and refusing it when it does
 * not), and our client against python's TLS server with a certificate made in the test.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { createCertificate, localCertificate, type CertificatePair } from '../../../src/core/net/certificates.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import type { TlsInfo } from '../../../src/core/tls-types.ts';
import { AsyncQueue, eventually, withTimeout } from './helpers.ts';
import { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from './python-peer.ts';

const PEER = `${FIXTURES}tls_peer.py`;
let dir: string;

function tlsOf(events: readonly TraceEvent[], id: string): TlsInfo | undefined {
  const event = events.find((e): e is Extract<TraceEvent, { type: 'tls' }> => e.type === 'tls' && e.connectionId === id);
  return event?.tls;
}

beforeAll(() => {
  requirePythonWebsockets();
  dir = mkdtempSync(join(tmpdir(), 'wsi-tls-py-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('python-websockets client → our wss:// server (generated certificate)', () => {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  let server: WebSocketServer;
  let url: string;
  let certFile: string;

  beforeAll(async () => {
    const local = await localCertificate(join(dir, 'config'));
    certFile = local.certPath;
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, tls: local });
    url = (await server.listen()).url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('python trusts our certificate as its CA file: text and binary echo, clean close, over TLS 1.3', async () => {
    const run = await runPython([PEER, 'client', `${url.replace('127.0.0.1', 'localhost')}py?tls=1`, certFile], 30_000);
    const result = parseLastJsonLine(run.stdout, run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(result).toMatchObject({ ok: true, text: 'héllo over TLS ✓', binary_ok: true, close_code: 1000, version: 'TLSv1.3' });
    const opened = events.find((e) => e.type === 'connection-opened' && e.role === 'server')!;
    const tls = tlsOf(events, opened.connectionId)!;
    // python sent SNI for "localhost" and (websockets sets none) no ALPN; the cipher is the one python reports.
    expect(tls).toMatchObject({ role: 'server', ok: true, protocol: 'TLSv1.3', sni: 'localhost', alpn: null });
    expect(tls.cipher!.standardName).toBe(result['cipher']);
    const closed = events.find((e) => e.type === 'connection-closed' && e.connectionId === opened.connectionId);
    expect(closed).toMatchObject({ wasClean: true, code: 1000, reason: 'done ✓' });
  });

  it('python with compression on, over TLS: permessage-deflate agreed inside TLS, every message compressed both ways, payloads equal', async () => {
    const before = events.length;
    const run = await runPython([PEER, 'client', `${url.replace('127.0.0.1', 'localhost')}deflate`, certFile, '--deflate'], 30_000);
    const result = parseLastJsonLine(run.stdout, run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(result).toMatchObject({ ok: true, text: 'héllo over TLS ✓', binary_ok: true, big_ok: true, close_code: 1000, version: 'TLSv1.3' });
    const opened = events.slice(before).find((e) => e.type === 'connection-opened' && e.role === 'server')!;
    const id = opened.connectionId;
    expect(tlsOf(events, id)).toMatchObject({ ok: true, protocol: 'TLSv1.3', sni: 'localhost' });
    const handshake = events.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake' && e.connectionId === id)!;
    // python-websockets offers client_max_window_bits; what we answered is what python agreed to.
    expect(handshake.extensions?.offered).toBe('permessage-deflate; client_max_window_bits');
    expect(handshake.extensions?.agreed?.name).toBe('permessage-deflate');
    expect(result['extensions']).toBe(handshake.extensions?.response);
    const sizes = [new TextEncoder().encode('héllo over TLS ✓').length, 256, 64 * 1024];
    for (const direction of ['in', 'out'] as const) {
      const messages = events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.connectionId === id && e.direction === direction);
      expect(messages.map((m) => m.size), direction).toEqual(sizes);
      for (const m of messages) {
        expect(m.compression, `${direction} ${m.size} bytes: compressed`).toBeDefined();
        const first = events.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.connectionId === id && e.frame.frameId === m.frameIds[0])!;
        expect(first.frame.rsv1).toBe(true);
      }
      expect(messages[0]!.text).toBe('héllo over TLS ✓');
      // 64 KiB of JSON-like text is several times smaller on the wire.
      expect(messages[2]!.compression!.ratio!).toBeGreaterThan(4);
    }
  });

  it('python without our certificate refuses it (self-signed), and our server explains what the client did', async () => {
    const before = events.length;
    const run = await runPython([PEER, 'untrusted', url], 30_000);
    const result = parseLastJsonLine(run.stdout, run.stderr);
    expect(result).toMatchObject({ ok: false, verify_code: 18, reason: 'self-signed certificate' }); // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    await eventually(() => events.slice(before).some((e) => e.type === 'tls'), 5000, 'the server to trace the refusal');
    const tls = events.slice(before).find((e): e is Extract<TraceEvent, { type: 'tls' }> => e.type === 'tls')!.tls;
    // Python's asyncio aborts the socket on a failed verification before its alert is flushed: a
    // reset, which the server reads as a client that does not trust the certificate.
    expect(tls.failure).toMatchObject({ kind: 'reset', code: 'ECONNRESET', summary: 'The client hung up during the TLS handshake without saying why.' });
    expect(tls.failure!.explanation).toContain('do not trust the certificate');
  });
});

describe('our client → python-websockets over TLS (a CA-signed certificate made in the test)', () => {
  let python: PythonServer;
  let ca: CertificatePair;

  beforeAll(async () => {
    ca = await createCertificate({ commonName: 'Python Test CA', ca: true });
    const leaf = await createCertificate({ commonName: 'localhost', names: ['localhost'], issuer: ca });
    writeFileSync(join(dir, 'py-cert.pem'), leaf.cert);
    writeFileSync(join(dir, 'py-key.pem'), leaf.key);
    python = await startPythonServer([PEER, 'server', join(dir, 'py-cert.pem'), join(dir, 'py-key.pem')]);
  }, 30_000);
  afterAll(async () => {
    await python?.stop();
  });

  it('verifies python\'s certificate against --ca, sends SNI and ALPN, echoes and closes cleanly', async () => {
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.subscribe((e) => events.push(e));
    const messages = new AsyncQueue<string>();
    const { connection, opened } = connectClient(`wss://localhost:${python.port}/from-node`, { onMessage: (_c, m) => messages.push(m.text ?? '') }, { tracer, tls: { ca: [ca.cert] } });
    const conn = await withTimeout(opened, 10_000, 'our client to open');
    conn.sendText('node → python ✓');
    expect(await messages.next(5000, 'the echo')).toBe('node → python ✓');
    conn.close(1000, 'bye');
    expect(await withTimeout(conn.closed(), 5000, 'close')).toMatchObject({ wasClean: true, code: 1000 });
    const tls = tlsOf(events, connection.id)!;
    expect(tls).toMatchObject({ ok: true, verified: true, alpn: 'http/1.1', sni: 'localhost', protocol: 'TLSv1.3' });
    expect(tls.peerCertificates.map((c) => c.subject)).toEqual(['CN=localhost', 'CN=Python Test CA']);
    await eventually(() => python.events.some((e) => e['event'] === 'open' && e['path'] === '/from-node'), 5000, 'python to report the connection');
    expect(python.events.find((e) => e['event'] === 'open')).toMatchObject({ sni: 'localhost', alpn: 'http/1.1', version: 'TLSv1.3' });
  });

  it('with compression on both sides (python serves with deflate): agreed inside TLS, messages compressed both ways, payloads equal', async () => {
    const deflating = await startPythonServer([PEER, 'server', join(dir, 'py-cert.pem'), join(dir, 'py-key.pem'), '--deflate']);
    try {
      const tracer = new Tracer();
      const events: TraceEvent[] = [];
      tracer.subscribe((e) => events.push(e));
      const messages = new AsyncQueue<{ text?: string; data: Uint8Array }>();
      const { connection, opened } = connectClient(`wss://localhost:${deflating.port}/deflate`, { onMessage: (_c, m) => messages.push(m) }, { tracer, tls: { ca: [ca.cert] } });
      const conn = await withTimeout(opened, 10_000, 'our client to open');
      const big = JSON.stringify(Array.from({ length: 2000 }, (_v, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })));
      conn.sendText('node → python, compressed ✓');
      expect((await messages.next(5000, 'the echo')).text).toBe('node → python, compressed ✓');
      conn.sendText(big);
      expect((await messages.next(5000, 'the big echo')).text === big).toBe(true);
      conn.sendBinary(new Uint8Array(1000).fill(7));
      expect((await messages.next(5000, 'the binary echo')).data).toEqual(new Uint8Array(1000).fill(7));
      conn.close(1000, 'bye');
      expect(await withTimeout(conn.closed(), 5000, 'close')).toMatchObject({ wasClean: true, code: 1000 });
      expect(tlsOf(events, connection.id)).toMatchObject({ ok: true, verified: true, alpn: 'http/1.1', sni: 'localhost', protocol: 'TLSv1.3' });
      const handshake = events.find((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake')!;
      expect(handshake.extensions?.agreed?.name).toBe('permessage-deflate');
      await eventually(() => deflating.events.some((e) => e['event'] === 'open'), 5000, 'python to report the connection');
      expect(deflating.events.find((e) => e['event'] === 'open')!['extensions']).toBe(handshake.extensions?.response);
      for (const direction of ['in', 'out'] as const) {
        const traced = events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.direction === direction);
        expect(traced.map((m) => m.size), direction).toEqual([new TextEncoder().encode('node → python, compressed ✓').length, big.length, 1000]);
        for (const m of traced) {
          expect(m.compression, `${direction} ${m.size} bytes: compressed`).toBeDefined();
          const first = events.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.frame.frameId === m.frameIds[0])!;
          expect(first.frame.rsv1).toBe(true);
        }
      }
    } finally {
      await deflating.stop();
    }
  });

  it('without --ca: refused as an unknown CA, naming python\'s CA', async () => {
    const { opened } = connectClient(`wss://localhost:${python.port}/`, {}, {});
    await expect(opened).rejects.toThrow(/signed by CN=Python Test CA, which this machine does not know/);
  });
});
