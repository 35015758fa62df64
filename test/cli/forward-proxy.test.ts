/**
 * wsinspect proxy --forward and wsinspect ca, run as a user would (test/support/cli.ts).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer, WebSocket as WsClient } from 'ws';
import { createCertificate } from '../../src/core/net/certificates.ts';
import { killRunning, runCli, waitFor } from '../support/cli.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  killRunning();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-cli-ca-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function echoServer(server = createHttpServer((req, res) => res.end(`page ${req.url}`))) {
  const wss = new WsServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => { wss.close(); server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

async function startForward(args: string[] = [], env: Record<string, string> = {}) {
  const run = runCli(['proxy', '--forward', '--listen', '127.0.0.1:0', ...args], env);
  const port = Number((await waitFor(() => /forward proxy on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout()), 'the proxy to listen'))[1]);
  return { run, port };
}

/** A CONNECT tunnel through the proxy, as Chromium opens one for ws:// and wss://. */
async function tunnel(proxyPort: number, authority: string) {
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const [answer] = await once(socket, 'data') as [Buffer];
  expect(answer.toString()).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
  return socket;
}

describe('wsinspect proxy --forward', () => {
  it('lists a plain GET in one line and traces a ws:// conversation through CONNECT on both legs', async () => {
    const originPort = await echoServer();
    const { run, port } = await startForward();
    const body = await new Promise<string>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: `http://127.0.0.1:${originPort}/index.html`, agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(text));
      }).on('error', reject).end();
    });
    expect(body).toBe('page /index.html');
    await waitFor(() => new RegExp(`\\] GET http://127\\.0\\.0\\.1:${originPort}/index\\.html → 200, 0 B up, \\d+ B down, \\d+ ms`).test(run.stdout()), 'the GET line');
    const socket = await tunnel(port, `127.0.0.1:${originPort}`);
    const ws = new WsClient(`ws://127.0.0.1:${originPort}/chat`, { createConnection: () => socket });
    await once(ws, 'open');
    ws.send('ping through wsinspect');
    const [echo] = await once(ws, 'message') as [Buffer];
    expect(echo.toString()).toBe('ping through wsinspect');
    ws.close(1000);
    await waitFor(() => /WebSocket ws:\/\/127\.0\.0\.1:\d+\/chat: relayed, both legs traced/.test(run.stdout()), 'the WebSocket line');
    // The pretty trace shows the message on both legs (client leg and the -upstream leg).
    await waitFor(() => (run.stdout().match(/ping through wsinspect/g) ?? []).length >= 4, 'the message on both legs, both ways');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 30_000);

  it('a port in use: one line and exit 1', async () => {
    const busy = createHttpServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    cleanups.push(() => new Promise<void>((r) => busy.close(() => r())));
    const run = runCli(['proxy', '--forward', '--listen', `127.0.0.1:${(busy.address() as AddressInfo).port}`]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toMatch(/^wsinspect: Port \d+ on 127\.0\.0\.1 is already in use \(EADDRINUSE\)/);
  });

  it('--record saves both legs of a relayed conversation, read back by wsinspect open', async () => {
    const originPort = await echoServer();
    const file = join(tempConfig(), 'forward.wsi');
    const { run, port } = await startForward(['--record', file, '--trace', 'none']);
    const socket = await tunnel(port, `127.0.0.1:${originPort}`);
    const ws = new WsClient(`ws://127.0.0.1:${originPort}/rec`, { createConnection: () => socket });
    await once(ws, 'open');
    ws.send('kept for later');
    await once(ws, 'message');
    ws.close(1000);
    await once(ws, 'close');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const open = runCli(['open', file]);
    expect(await open.exit).toBe(0);
    expect((open.stdout().match(/kept for later/g) ?? []).length).toBeGreaterThanOrEqual(4);
  }, 30_000);

  it('shows a TLS tunnel with its SNI, passed through', async () => {
    const pair = await createCertificate({ commonName: 'sni.test', names: ['sni.test'] });
    const originPort = await echoServer(createHttpsServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('secure page')));
    const { run, port } = await startForward(['--trace', 'jsonl']);
    const socket = await tunnel(port, `127.0.0.1:${originPort}`);
    const tls = tlsConnect({ socket, servername: 'sni.test', ca: pair.cert });
    await once(tls, 'secureConnect');
    let page = '';
    tls.on('data', (d: Buffer) => (page += d));
    tls.end('GET / HTTP/1.1\r\nHost: sni.test\r\nConnection: close\r\n\r\n');
    await once(tls, 'close');
    expect(page).toMatch(/secure page$/);
    const line = await waitFor(() => run.stdout().split('\n').find((l) => l.includes('"event":"tunnel"')), 'the tunnel line');
    const event = JSON.parse(line);
    expect(event).toMatchObject({ type: 'proxy', event: 'tunnel', tunnel: { target: `127.0.0.1:${originPort}`, hello: { serverName: 'sni.test', version: 'TLS 1.3' } } });
    expect(event.tunnel.bytesUp).toBeGreaterThan(200);
    expect(event.tunnel.bytesDown).toBeGreaterThan(event.tunnel.bytesUp);
  }, 30_000);

  it('--intercept-tls makes the CA on first use and traces wss:// inside the tunnel', async () => {
    const config = tempConfig();
    const originCa = await createCertificate({ commonName: 'origin CA', ca: true });
    const leaf = await createCertificate({ commonName: 'localhost', names: ['localhost'], issuer: originCa });
    const caFile = join(config, 'origin-ca.pem');
    (await import('node:fs')).writeFileSync(caFile, originCa.cert);
    const originPort = await echoServer(createHttpsServer({ cert: leaf.cert, key: leaf.key }));
    const { run, port } = await startForward(['--intercept-tls', '--ca', caFile], { XDG_CONFIG_HOME: config });
    await waitFor(() => /made the proxy CA for --intercept-tls/.test(run.stderr()), 'the CA announcement');
    const caPath = join(config, 'websocket-inspector', 'tls', 'proxy-ca-cert.pem');
    expect(statSync(join(config, 'websocket-inspector', 'tls', 'proxy-ca-key.pem')).mode & 0o777).toBe(0o600);
    const proxyCa = (await import('node:fs')).readFileSync(caPath, 'utf8');
    const socket = await tunnel(port, `localhost:${originPort}`);
    const tls = tlsConnect({ socket, servername: 'localhost', ca: proxyCa });
    await once(tls, 'secureConnect');
    const ws = new WsClient(`wss://localhost:${originPort}/secret`, { createConnection: () => tls });
    await once(ws, 'open');
    ws.send('seen in the clear');
    await once(ws, 'message');
    ws.close();
    await waitFor(() => /TLS intercepted \(SNI localhost\)/.test(run.stdout()), 'the interception line');
    await waitFor(() => /WebSocket wss:\/\/localhost:\d+\/secret: relayed/.test(run.stdout()), 'the relay line');
    await waitFor(() => (run.stdout().match(/seen in the clear/g) ?? []).length >= 4, 'the message traced on both legs');
  }, 30_000);

  it.each([
    [['--listen', '0.0.0.0:8080'], /--allow-remote/],
    [['--listen', 'nonsense'], /is not HOST:PORT/],
    [['--listen', '127.0.0.1:65536'], /Port must be/],
    [['--insecure'], /goes with --intercept-tls/],
    [['--target', 'ws://x/'], /--target is for the reverse proxy/],
  ])('refuses %j in one line (exit 2)', async (args, message) => {
    const run = runCli(['proxy', '--forward', ...args]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
  });
});

describe('wsinspect ca', () => {
  it('create, show, path, remove', async () => {
    const env = { XDG_CONFIG_HOME: tempConfig() };
    const missing = runCli(['ca', 'show'], env);
    expect(await missing.exit).toBe(1);
    expect(missing.stderr()).toMatch(/no proxy CA yet.*wsinspect ca create/);
    const create = runCli(['ca', 'create'], env);
    expect(await create.exit).toBe(0);
    expect(create.stdout()).toMatch(/made the proxy CA: CN=WebSocket Inspector proxy CA/);
    const path = runCli(['ca', 'path'], env);
    expect(await path.exit).toBe(0);
    const certPath = path.stdout().trim();
    expect(certPath).toBe(join(env.XDG_CONFIG_HOME, 'websocket-inspector', 'tls', 'proxy-ca-cert.pem'));
    const show = runCli(['ca', 'show'], env);
    expect(await show.exit).toBe(0);
    const { X509Certificate } = await import('node:crypto');
    const fingerprint = new X509Certificate((await import('node:fs')).readFileSync(certPath)).fingerprint256;
    expect(show.stdout()).toContain(`SHA-256 fingerprint ${fingerprint}`);
    for (const how of ['certutil -d sql:$HOME/.pki/nssdb -A', 'Firefox', 'update-ca-certificates', 'add-trusted-cert', 'certutil -addstore', 'The risk']) expect(show.stdout()).toContain(how);
    const again = runCli(['ca', 'create'], env);
    expect(await again.exit).toBe(0);
    expect(again.stdout()).toMatch(/exists already/);
    const remove = runCli(['ca', 'remove'], env);
    expect(await remove.exit).toBe(0);
    expect(remove.stdout()).toMatch(/removed the proxy CA[\s\S]*To stop trusting it/);
    expect(() => statSync(certPath)).toThrow();
    const bad = runCli(['ca', 'frob'], env);
    expect(await bad.exit).toBe(2);
  }, 30_000);
});
