/**
 * Proxy mode's TLS in the inspector service (issue 12), as the CLI has it: the reverse proxy
 * listening on wss:// (the generated localhost certificate, or a chosen one), the forward proxy
 * intercepting CONNECT's TLS with the local CA (made on first use, described with how to trust
 * it, regenerated, removed), and opaque tunnels listed with their SNI when it does not. Real
 * peers: `ws` clients and a `ws` wss:// echo server; every path under a temporary config folder.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCertificate, type CertificatePair } from '../../src/core/net/certificates.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { validateProxyCaAction, validateStartProxy } from '../../src/service/proxy-validation.ts';
import { eventually } from '../core/net/helpers.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';

let service: InspectorService | null = null;
let upstream: Upstream | null = null;
let configDir = '';
afterEach(async () => {
  await service?.dispose();
  await upstream?.close();
  rmSync(configDir, { recursive: true, force: true });
  [service, upstream] = [null, null];
});

let origin: CertificatePair;
beforeAll(async () => {
  origin = await createCertificate({ commonName: 'localhost', names: ['localhost', '127.0.0.1'] });
});

function newService(): InspectorService {
  configDir = mkdtempSync(join(tmpdir(), 'wsinspect-proxy-tls-'));
  service = new InspectorService({ batchIntervalMs: 5, configDir });
  return service;
}

async function echoThrough(url: string, options: WebSocket.ClientOptions): Promise<string> {
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.send('through wss');
  const [reply] = await once(ws, 'message') as [Buffer];
  ws.close();
  return reply.toString();
}

/** CONNECT through the forward proxy, then TLS inside it for `servername`, trusting only `ca`. */
async function connectThrough(proxyUrl: string, authority: string, servername: string, ca: string): Promise<TLSSocket> {
  const { hostname, port } = new URL(proxyUrl);
  const socket = netConnect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const [answer] = await once(socket, 'data') as [Buffer];
  expect(answer.toString()).toMatch(/^HTTP\/1\.1 200 /);
  const tls = tlsConnect({ socket, servername, ca, ALPNProtocols: ['http/1.1'] });
  await once(tls, 'secureConnect');
  return tls;
}

describe('service: reverse proxy listening on wss://', () => {
  it('with the generated localhost certificate: a client trusting it is relayed to a ws server; the status shows the certificate', async () => {
    upstream = await wsUpstream();
    const s = newService();
    const started = await s.startProxy({ listen: 'wss://127.0.0.1:0/', target: upstream.url });
    expect(started).toMatchObject({ ok: true, url: expect.stringMatching(/^wss:\/\/127\.0\.0\.1:\d+\/$/) });
    const tls = s.getStatus().proxy!.tls!;
    expect(tls.generated).toBe(true);
    expect(tls.certPath.startsWith(configDir)).toBe(true);
    expect(tls.certificate.subjectAltNames).toContain('DNS:localhost');
    expect(await echoThrough((started as { url: string }).url, { ca: readFileSync(tls.certPath) })).toBe('through wss');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['through wss']);
    // A client that does not trust it is refused by its own TLS, and nothing is relayed.
    await expect(echoThrough((started as { url: string }).url, {})).rejects.toThrow(/self-signed|certificate/);
    expect(upstream.messages).toHaveLength(1);
  });

  it('with a chosen certificate and key; one file without the other, or a missing file, is one clear sentence', async () => {
    upstream = await wsUpstream();
    const s = newService();
    const chosen = await createCertificate({ commonName: 'chosen.test', names: ['localhost', '127.0.0.1'] });
    const certPath = join(configDir, 'chosen-cert.pem');
    const keyPath = join(configDir, 'chosen-key.pem');
    writeFileSync(certPath, chosen.cert);
    writeFileSync(keyPath, chosen.key);
    const started = await s.startProxy(validateStartProxy({ listen: 'wss://127.0.0.1:0/', target: upstream.url, certPath, keyPath }));
    expect(started.ok).toBe(true);
    expect(s.getStatus().proxy!.tls).toMatchObject({ generated: false, certPath, certificate: { subject: expect.stringContaining('chosen.test') } });
    expect(await echoThrough((started as { url: string }).url, { ca: chosen.cert })).toBe('through wss');
    await s.stopProxy();
    expect(s.getStatus().proxy!.tls).toBeNull();

    expect(() => validateStartProxy({ listen: 'wss://127.0.0.1:0/', target: upstream!.url, certPath })).toThrow(/both the certificate file and its key file/);
    const missing = await s.startProxy({ listen: 'wss://127.0.0.1:0/', target: upstream.url, certPath: join(configDir, 'nope.pem'), keyPath });
    expect(missing).toMatchObject({ ok: false, error: expect.stringMatching(/^Proxy: .*nope\.pem/) });
    expect((missing as { error: string }).error).not.toMatch(/\n|at .*\.ts/);
    expect(await s.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url, certPath, keyPath })).toMatchObject({ ok: false, error: expect.stringMatching(/wss:\/\/ listen URL/) });
  });
});

describe('service: forward proxy with TLS interception', () => {
  it('makes the CA on first use, intercepts a wss:// conversation (both legs traced), and lists the tunnel with its SNI', async () => {
    upstream = await wsUpstream({ tls: origin });
    const s = newService();
    expect(s.getStatus().proxy!.ca).toBeNull();
    const started = await s.startProxy(validateStartProxy({ kind: 'forward', listen: 'http://127.0.0.1:0', interceptTls: true, insecure: true }));
    expect(started.ok).toBe(true);
    const status = s.getStatus().proxy!;
    expect(status.interceptTls).toBe(true);
    const ca = status.ca!;
    expect(ca.certPath).toBe(join(configDir, 'tls', 'proxy-ca-cert.pem'));
    expect(ca.subject).toMatch(/WebSocket Inspector proxy CA/);
    // How to trust it: the exact file in every command that takes one.
    expect(ca.trust.map((t) => t.target)).toEqual(expect.arrayContaining(['Chromium / Chrome (Linux, NSS)', 'Firefox', 'Debian / Ubuntu (whole system)']));
    expect(ca.trust.find((t) => t.target.startsWith('Chromium'))!.command).toContain(`-i ${ca.certPath}`);
    expect(ca.trust.find((t) => t.target.startsWith('Chromium'))!.note).toContain(ca.spkiSha256);

    const tls = await connectThrough((started as { url: string }).url, `localhost:${upstream.port}`, 'localhost', readFileSync(ca.certPath, 'latin1'));
    expect(tls.getPeerX509Certificate()!.issuer).toMatch(/WebSocket Inspector proxy CA/);
    expect(await echoThrough(`wss://localhost:${upstream.port}/`, { createConnection: () => tls })).toBe('through wss');
    await eventually(() => s.getStatus().connections.filter((c) => c.proxyLeg).length === 2, 5000, 'both legs listed');
    expect(s.getStatus().connections.find((c) => c.proxyLeg?.side === 'upstream')!.url).toBe(`wss://localhost:${upstream.port}/`);
    await eventually(() => s.getStatus().proxy!.tunnels.length === 1, 5000, 'the tunnel listed');
    expect(s.getStatus().proxy!.tunnels[0]).toMatchObject({ target: `localhost:${upstream.port}`, sni: 'localhost', mode: 'intercepted' });
    expect(s.getStatus().proxy!.tunnels[0]!.error).toBeUndefined();

    // The CA is not removed or replaced under a proxy intercepting with it.
    expect(await s.proxyCa('remove')).toMatchObject({ ok: false, error: expect.stringMatching(/^Stop the proxy first/) });
    expect(s.getStatus().proxy!.ca!.sha256).toBe(ca.sha256);
  });

  it('without interception a wss:// CONNECT is an opaque tunnel, listed with its SNI and its bytes once closed', async () => {
    upstream = await wsUpstream({ tls: origin });
    const s = newService();
    const started = await s.startProxy({ kind: 'forward', listen: 'http://127.0.0.1:0' });
    expect(s.getStatus().proxy!.interceptTls).toBe(false);
    const tls = await connectThrough((started as { url: string }).url, `127.0.0.1:${upstream.port}`, 'localhost', origin.cert);
    expect(tls.getPeerX509Certificate()!.subject).toContain('CN=localhost'); // the origin's own: not intercepted
    expect(await echoThrough(`wss://localhost:${upstream.port}/`, { createConnection: () => tls })).toBe('through wss');
    await eventually(() => s.getStatus().proxy!.tunnels[0]?.state === 'closed', 5000, 'the tunnel closed');
    const [tunnel] = s.getStatus().proxy!.tunnels;
    expect(tunnel).toMatchObject({ target: `127.0.0.1:${upstream.port}`, sni: 'localhost', mode: 'opaque' });
    expect(tunnel!.bytesUp).toBeGreaterThan(100);
    expect(s.getStatus().connections.filter((c) => c.proxyLeg)).toEqual([]);
  });

  it('the CA is created, regenerated (a new key) and removed on request; a hostile action is refused before the service sees it', async () => {
    const s = newService();
    expect(await s.proxyCa('create')).toEqual({ ok: true });
    const first = s.getStatus().proxy!.ca!;
    expect(await s.proxyCa('create')).toEqual({ ok: true }); // there is one already: kept
    expect(s.getStatus().proxy!.ca!.sha256).toBe(first.sha256);
    expect(await s.proxyCa('regenerate')).toEqual({ ok: true });
    const second = s.getStatus().proxy!.ca!;
    expect(second.spkiSha256).not.toBe(first.spkiSha256);
    expect(await s.proxyCa('remove')).toEqual({ ok: true });
    expect(s.getStatus().proxy!.ca).toBeNull();
    // A damaged CA says so, with the way out.
    await s.proxyCa('create');
    writeFileSync(s.getStatus().proxy!.ca!.certPath, 'not a certificate');
    await s.proxyCa('create');
    expect(s.getStatus().proxy!.ca!.error).toMatch(/cannot be used.*Remove/);
    expect(await s.proxyCa('remove')).toEqual({ ok: true });
    expect(s.getStatus().proxy!.ca).toBeNull();

    for (const bad of ['delete', '', 42, null, { action: 'remove' }, 'remove\n']) expect(() => validateProxyCaAction(bad), String(bad)).toThrow(/create", "regenerate" or "remove"/);
    expect(() => validateStartProxy({ listen: 'wss://127.0.0.1:0/', target: 'ws://127.0.0.1:1/', interceptTls: true })).toThrow(/forward proxy/);
    expect(() => validateStartProxy({ kind: 'forward', listen: 'http://127.0.0.1:0', interceptTls: 'yes' })).toThrow(/true or false/);
    expect(() => validateStartProxy({ listen: 'wss://127.0.0.1:0/', target: 'ws://127.0.0.1:1/', certPath: 'a\0b', keyPath: 'k' })).toThrow(/NUL/);
    expect(() => validateStartProxy({ listen: 'wss://127.0.0.1:0/', target: 'ws://127.0.0.1:1/', certPath: 'x'.repeat(5000), keyPath: 'k' })).toThrow(/at most 4096/);
    expect(await s.startProxy({ kind: 'forward', listen: 'http://127.0.0.1:0', certPath: 'a', keyPath: 'b' })).toMatchObject({ ok: false, error: expect.stringMatching(/forward proxy listens on http/) });
  });
});
