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

  it('without --ca: refused as an unknown CA, naming python\'s CA', async () => {
    const { opened } = connectClient(`wss://localhost:${python.port}/`, {}, {});
    await expect(opened).rejects.toThrow(/signed by CN=Python Test CA, which this machine does not know/);
  });
});
