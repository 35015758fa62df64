/**
 * The inspector service over TLS (issue 11): the embedded server with the generated certificate
 * (its status shows wss:// and the SHA-256 fingerprint) or given files, the service's client with
 * CA files or PEM text and insecure, the tls trace event in the pushed batches, and every bad
 * request refused in plain words by validation.ts or the service.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCertificate } from '../../src/core/net/certificates.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { validateConnect, validateStartServer } from '../../src/service/validation.ts';
import { eventually, withTimeout } from '../core/net/helpers.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

type TlsEvent = Extract<TraceEvent, { type: 'tls' }>;

let dir: string;
let service: InspectorService;
let events: TraceEvent[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-service-tls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(): InspectorService {
  service = new InspectorService({ batchIntervalMs: 5, host: '127.0.0.1', port: 0, configDir: join(dir, 'config') });
  events = [];
  service.onBatch((batch) => events.push(...eventsOf(batch)));
  return service;
}

afterEach(async () => {
  await service?.dispose();
});

function tlsFor(id: string): TlsEvent['tls'] | undefined {
  return events.find((e): e is TlsEvent => e.type === 'tls' && e.connectionId === id)?.tls;
}

describe('the embedded server over TLS', () => {
  it('tls: true uses the generated localhost certificate; the status shows wss:// and its fingerprint', async () => {
    start();
    const result = await service.startServer({ tls: true });
    expect(result).toMatchObject({ ok: true, url: expect.stringMatching(/^wss:\/\/127\.0\.0\.1:\d+\/$/) });
    const status = service.getStatus().server;
    expect(status.url).toMatch(/^wss:/);
    const certPath = join(dir, 'config', 'tls', 'localhost-cert.pem');
    expect(status.tls).toMatchObject({ certPath, generated: true, certificate: { selfSigned: true, subjectAltNames: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'] } });
    const { X509Certificate } = await import('node:crypto');
    expect(status.tls!.certificate.sha256).toBe(new X509Certificate(readFileSync(certPath)).fingerprint256);

    // A ws client trusting the file talks to it; the service's trace has the server side's TLS.
    const ws = new WebSocket(status.url!, { ca: readFileSync(certPath) });
    await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'ws to open');
    ws.close();
    await eventually(() => events.some((e) => e.type === 'tls' && e.tls.role === 'server'), 5000, 'the server tls event');
    expect(events.find((e): e is TlsEvent => e.type === 'tls')!.tls.localCertificate?.sha256).toBe(status.tls!.certificate.sha256);

    // Stopping clears it; starting without TLS gives ws:// and no certificate.
    await service.stopServer();
    expect(service.getStatus().server.tls).toBeNull();
    await service.startServer({ tls: false });
    expect(service.getStatus().server).toMatchObject({ url: expect.stringMatching(/^ws:\/\//), tls: null });
  });

  it('certPath and keyPath: the given certificate', async () => {
    start();
    const pair = await createCertificate({ commonName: 'given.test', names: ['localhost'] });
    writeFileSync(join(dir, 'given-cert.pem'), pair.cert);
    writeFileSync(join(dir, 'given-key.pem'), pair.key);
    const result = await service.startServer({ tls: true, certPath: join(dir, 'given-cert.pem'), keyPath: join(dir, 'given-key.pem') });
    expect(result.ok).toBe(true);
    expect(service.getStatus().server.tls).toMatchObject({ generated: false, certPath: join(dir, 'given-cert.pem'), certificate: { subject: 'CN=given.test' } });
  });

  it('a bad certificate file: ok:false with one sentence, and the running server stays as it was', async () => {
    start();
    const first = await service.startServer({});
    expect(first.ok).toBe(true);
    const result = await service.startServer({ tls: true, certPath: join(dir, 'nope.pem'), keyPath: join(dir, 'nope-key.pem') });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^Certificate: cannot read ".*nope\.pem": no such file\.$/) });
    expect(service.getStatus().server).toMatchObject({ running: true, url: first.ok ? first.url : '', tls: null });
  });
});

describe('the service\'s client over TLS', () => {
  let server: InspectorService;
  let url: string;
  let certPath: string;

  beforeAll(async () => {
    server = new InspectorService({ host: '127.0.0.1', port: 0, configDir: join(dir, 'server-config') });
    const started = await server.startServer({ tls: true });
    if (!started.ok) throw new Error(started.error);
    url = started.url;
    certPath = server.getStatus().server.tls!.certPath;
  });
  afterAll(async () => {
    await server.dispose();
  });

  it.each([
    ['a CA file', () => [certPath]],
    ['PEM text', () => [readFileSync(certPath, 'utf8')]],
  ])('ca as %s: verified, and the tls event reaches the batches', async (_label, ca) => {
    start();
    const result = await service.connectClient({ url, ca: ca() });
    expect(result.ok).toBe(true);
    const id = result.ok ? result.id : '';
    await eventually(() => tlsFor(id) !== undefined, 5000, 'the tls event');
    expect(tlsFor(id)).toMatchObject({ role: 'client', ok: true, verified: true, insecure: false, extraCaCount: 1 });
    expect(service.getStatus().connections.find((c) => c.id === id)?.state).toBe('OPEN');
  });

  it('insecure: connects, flagged insecure with the reason it would have failed', async () => {
    start();
    const result = await service.connectClient({ url, insecure: true });
    expect(result.ok).toBe(true);
    const id = result.ok ? result.id : '';
    await eventually(() => tlsFor(id) !== undefined, 5000, 'the tls event');
    expect(tlsFor(id)).toMatchObject({ ok: true, verified: false, insecure: true, failure: { kind: 'self-signed' } });
  });

  it('neither: ok:false with the failure in plain words; the connection is listed CLOSED with it', async () => {
    start();
    const result = await service.connectClient({ url });
    expect(result.ok).toBe(false);
    const error = result.ok ? '' : result.error;
    expect(error).toMatch(/^TLS with wss:\/\/127\.0\.0\.1:\d+\/ failed: The server's certificate is self-signed/);
    const listed = service.getStatus().connections.find((c) => c.role === 'client');
    expect(listed).toMatchObject({ state: 'CLOSED', detail: error });
  });

  it('a CA entry that is no certificate: ok:false before any socket is opened', async () => {
    start();
    writeFileSync(join(dir, 'not-a-cert.txt'), 'hello');
    const result = await service.connectClient({ url, ca: [join(dir, 'not-a-cert.txt')] });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^CA ".*not-a-cert\.txt" holds no certificate: expected PEM/) });
    expect(service.getStatus().connections).toEqual([]);
  });
});

describe('validation of TLS requests (validation.ts)', () => {
  it.each([
    [{ tls: true }, { tls: true }],
    [{ tls: false }, { tls: false }],
    [{ tls: true, certPath: '/a/cert.pem', keyPath: '/a/key.pem' }, { tls: true, certPath: '/a/cert.pem', keyPath: '/a/key.pem' }],
  ])('startServer %j', (input, expected) => {
    expect(validateStartServer(input)).toEqual(expected);
  });

  it.each([
    [{ tls: 'yes' }, /tls must be true or false/],
    [{ certPath: '/a/cert.pem' }, /certPath and keyPath go together/],
    [{ keyPath: '/a/key.pem' }, /certPath and keyPath go together/],
    [{ certPath: '', keyPath: '/k' }, /certPath must be a file name/],
    [{ certPath: 'a\0b', keyPath: '/k' }, /certPath must be a file name/],
    [{ certPath: 42, keyPath: '/k' }, /certPath must be a file name/],
    [{ certPath: 'x'.repeat(5000), keyPath: '/k' }, /certPath must be a file name/],
  ])('startServer refuses bad input #%#', (input, message) => {
    expect(() => validateStartServer(input)).toThrow(message);
  });

  it.each([
    [{ url: 'wss://x/', ca: ['/a.pem', '-----BEGIN CERTIFICATE-----\n…'], insecure: true }, { url: 'wss://x/', ca: ['/a.pem', '-----BEGIN CERTIFICATE-----\n…'], insecure: true }],
    [{ url: 'wss://x/', insecure: false }, { url: 'wss://x/', insecure: false }],
  ])('connectClient %j', (input, expected) => {
    expect(validateConnect(input)).toEqual(expected);
  });

  it.each([
    [{ url: 'wss://x/', ca: '/a.pem' }, /ca must be a list of at most 32 file names or PEM certificates/],
    [{ url: 'wss://x/', ca: [1] }, /ca must be a list/],
    [{ url: 'wss://x/', ca: [''] }, /ca must be a list/],
    [{ url: 'wss://x/', ca: Array.from({ length: 33 }, () => '/a.pem') }, /at most 32/],
    [{ url: 'wss://x/', ca: ['x'.repeat(1024 * 1024 + 1)] }, /each at most 1 MiB/],
    [{ url: 'wss://x/', insecure: 'yes' }, /insecure must be true or false/],
  ])('connectClient refuses bad input #%#', (input, message) => {
    expect(() => validateConnect(input)).toThrow(message);
  });
});
