import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer, WebSocket as WsClient } from 'ws';
import { ForwardProxy, type ForwardProxyEvent } from '../../../src/core/forward-proxy/forward-proxy.ts';
import { createInterceptor, type InterceptionEvent } from '../../../src/core/forward-proxy/tls-interception.ts';
import { authorityFiles, createAuthority, LeafMinter } from '../../../src/core/net/certificate-authority.ts';
import { createCertificate, type CertificatePair } from '../../../src/core/net/certificates.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let proxyCa: CertificatePair;
let originCa: CertificatePair;
let originLeaf: CertificatePair;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-intercept-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  proxyCa = await createAuthority(authorityFiles(dir));
  // The "real" origin has a certificate from another CA, which the proxy is told to trust (--ca).
  originCa = await createCertificate({ commonName: 'Origin test CA', ca: true });
  originLeaf = await createCertificate({ commonName: 'localhost', names: ['localhost'], issuer: originCa });
});

async function startIntercepting(upstream: { ca?: readonly string[]; insecure?: boolean }) {
  const events: ForwardProxyEvent[] = [];
  const intercepted: InterceptionEvent[] = [];
  const minter = new LeafMinter(proxyCa);
  const proxy: ForwardProxy = new ForwardProxy({
    port: 0, onEvent: (e) => events.push(e),
    interceptConnect: (...args) => interceptor(...args),
  });
  const interceptor = createInterceptor(proxy, { minter, upstream, onIntercepted: (e) => intercepted.push(e) });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, port, events, intercepted, minter };
}

/** CONNECT through the proxy, then TLS to "the origin" trusting only our CA. */
async function connectThrough(proxyPort: number, authority: string, servername: string): Promise<TLSSocket> {
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const [answer] = await once(socket, 'data') as [Buffer];
  expect(answer.toString()).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
  const tls = tlsConnect({ socket, servername, ca: proxyCa.cert, ALPNProtocols: ['http/1.1'] });
  await once(tls, 'secureConnect');
  return tls;
}

function until<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = get();
      if (v !== undefined) resolve(v);
      else if (Date.now() - start > ms) reject(new Error('timed out'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('TLS interception with the local CA', () => {
  it('a wss:// client trusting our CA reaches a real wss:// origin through CONNECT; the handshake is seen in the clear', async () => {
    const https = createHttpsServer({ cert: originLeaf.cert, key: originLeaf.key });
    const wss = new WsServer({ server: https });
    wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${req.url} says ${m.toString()}`)));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    cleanups.push(() => new Promise<void>((r) => { wss.close(); https.closeAllConnections(); https.close(() => r()); }));
    const originPort = (https.address() as AddressInfo).port;
    const { port, events, intercepted } = await startIntercepting({ ca: [originCa.cert] });
    const tls = await connectThrough(port, `localhost:${originPort}`, 'localhost');
    // The certificate the client got is ours, minted for the name it asked for.
    expect(tls.authorized).toBe(true);
    const presented = tls.getPeerX509Certificate()!;
    expect(presented.issuer).toMatch(/WebSocket Inspector proxy CA/);
    expect(presented.checkHost('localhost')).toBe('localhost');
    const ws = new WsClient(`wss://localhost:${originPort}/room`, { createConnection: () => tls });
    await once(ws, 'open');
    ws.send('hello');
    const [reply] = await once(ws, 'message') as [Buffer];
    expect(reply.toString()).toBe('/room says hello');
    ws.close();
    expect(intercepted[0]).toMatchObject({ target: `localhost:${originPort}`, serverName: 'localhost' });
    expect(intercepted[0]!.error).toBeUndefined();
    const upgrade = await until(() => events.find((e) => e.type === 'websocket'));
    expect(upgrade).toMatchObject({ url: `wss://localhost:${originPort}/room`, intercepted: true });
  });

  it('an HTTPS request inside is carried and listed; an origin whose certificate is not trusted is answered 502', async () => {
    const https = createHttpsServer({ cert: originLeaf.cert, key: originLeaf.key }, (req, res) => res.end(`secret ${req.url}`));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    cleanups.push(() => new Promise<void>((r) => { https.closeAllConnections(); https.close(() => r()); }));
    const originPort = (https.address() as AddressInfo).port;
    for (const [upstream, expected] of [[{ ca: [originCa.cert] }, /^HTTP\/1.1 200 [\s\S]*secret \/x$/], [{}, /^HTTP\/1.1 502 [\s\S]*UNABLE_TO_VERIFY_LEAF_SIGNATURE[\s\S]*--ca/]] as const) {
      const { port, events } = await startIntercepting(upstream);
      const tls = await connectThrough(port, `localhost:${originPort}`, 'localhost');
      let answer = '';
      tls.on('data', (d: Buffer) => (answer += d.toString()));
      tls.write('GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await once(tls, 'end');
      expect(answer, answer).toMatch(expected);
      const listed = await until(() => events.find((e) => e.type === 'http'));
      expect(listed.type === 'http' && listed.exchange.url).toBe(`https://localhost:${originPort}/x`);
    }
  });

  it('a client that does not trust our CA fails its handshake, and the interception says so', async () => {
    const { port, intercepted, proxy } = await startIntercepting({});
    // Some origin must be there: the proxy reaches it before it answers 200.
    const origin = createNetServer((s) => s.on('error', () => {}));
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    cleanups.push(() => new Promise<void>((r) => origin.close(() => r())));
    const originPort = (origin.address() as AddressInfo).port;
    const socket = netConnect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\n`);
    await once(socket, 'data');
    const tls = tlsConnect({ socket, servername: 'example.invalid' });
    const [error] = await once(tls, 'error') as [NodeJS.ErrnoException];
    expect(error.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    const failed = await until(() => intercepted.find((e) => e.error), 1500).catch(() => { throw new Error(JSON.stringify(intercepted)); });
    expect(failed).toMatchObject({ target: `127.0.0.1:${originPort}`, serverName: 'example.invalid' });
    await until(() => (proxy.connectionCount === 0 ? true : undefined));
  });
});
