import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer, WebSocket as WsClient } from 'ws';
import { ForwardProxy, type ForwardProxyEvent } from '../../../src/core/forward-proxy/forward-proxy.ts';
import { createCertificate, type CertificatePair } from '../../../src/core/net/certificates.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startProxy(options: ConstructorParameters<typeof ForwardProxy>[0] = {}) {
  const events: ForwardProxyEvent[] = [];
  const proxy = new ForwardProxy({ port: 0, ...options, onEvent: (e) => { events.push(e); options.onEvent?.(e); } });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, port, events };
}

async function listen<T extends Server | HttpServer>(server: T): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => { (server as Server).close(() => r()); (server as HttpServer).closeAllConnections?.(); }));
  return (server.address() as AddressInfo).port;
}

/** Sends raw bytes to the proxy; resolves with everything it answers, once it closes the connection. */
async function rawExchange(port: number, bytes: string | Buffer, halfClose = false): Promise<string> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  await once(socket, 'connect');
  if (halfClose) socket.end(bytes);
  else socket.write(bytes);
  await once(socket, 'close');
  return answer;
}

function waitForEvent(events: ForwardProxyEvent[], predicate: (e: ForwardProxyEvent) => boolean, timeoutMs = 5000): Promise<ForwardProxyEvent> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const found = events.find(predicate);
      if (found) resolve(found);
      else if (Date.now() - start > timeoutMs) reject(new Error(`no such event; got ${JSON.stringify(events.map((e) => e.type))}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function get(proxyPort: number, url: string, options: { method?: string; body?: Buffer; chunked?: boolean } = {}): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path: url, method: options.method ?? 'GET', agent: false, headers: options.chunked ? { 'Transfer-Encoding': 'chunked' } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    if (options.body && options.chunked) {
      req.write(options.body.subarray(0, 1000));
      req.end(options.body.subarray(1000));
    } else req.end(options.body);
  });
}

describe('forward proxy: plain HTTP passes through untouched (RFC 9112 §3.2.2)', () => {
  let big: Buffer;
  beforeAll(() => {
    big = randomBytes(3 * 1024 * 1024 + 17);
  });

  it('a GET for an absolute URL reaches the origin in origin-form with Host rewritten, and the body comes back equal', async () => {
    const seen: { url?: string; host?: string; proxyConnection?: string } = {};
    const origin = createHttpServer((req, res) => {
      Object.assign(seen, { url: req.url, host: req.headers.host, proxyConnection: req.headers['proxy-connection'] });
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      // Streamed in pieces: the proxy must pass it on as it comes.
      let at = 0;
      const more = () => {
        while (at < big.length) {
          const piece = big.subarray(at, at + 65536);
          at += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const originPort = await listen(origin);
    const { port, events } = await startProxy();
    const { res, body } = await get(port, `http://127.0.0.1:${originPort}/file?x=1`);
    expect(res.statusCode).toBe(200);
    expect(body.equals(big)).toBe(true);
    expect(seen).toEqual({ url: '/file?x=1', host: `127.0.0.1:${originPort}`, proxyConnection: undefined });
    const e = await waitForEvent(events, (ev) => ev.type === 'http');
    expect(e.type === 'http' && e.exchange).toMatchObject({ method: 'GET', url: `http://127.0.0.1:${originPort}/file?x=1`, status: 200 });
    expect(e.type === 'http' && e.exchange.bytesDown).toBeGreaterThan(big.length);
  });

  it('a POST body (Content-Length, then chunked) arrives whole at the origin', async () => {
    const received: Buffer[] = [];
    const origin = createHttpServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        received.push(Buffer.concat(parts));
        res.end(`got ${Buffer.concat(parts).length}`);
      });
    });
    const originPort = await listen(origin);
    const { port, events } = await startProxy();
    const body = randomBytes(200_000);
    const a = await get(port, `http://127.0.0.1:${originPort}/up`, { method: 'POST', body });
    expect(a.body.toString()).toBe('got 200000');
    const b = await get(port, `http://127.0.0.1:${originPort}/up`, { method: 'POST', body, chunked: true });
    expect(b.body.toString()).toBe('got 200000');
    expect(received.map((r) => r.equals(body))).toEqual([true, true]);
    await waitForEvent(events, (e) => e.type === 'http' && e.exchange.bytesUp > 200_000 && e.exchange.method === 'POST');
  });

  it.each([
    ['garbage instead of a status line', 'garbage\r\n\r\n', /^HTTP\/1.1 502 [\s\S]*not HTTP/],
    ['an endless response head', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(40_000)}`, /^HTTP\/1.1 502 [\s\S]*exceeds/],
    ['a close before answering', '', /^HTTP\/1.1 502 [\s\S]*without answering/],
    ['100 Continue, then the answer', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok$/],
    ['hop-by-hop fields in the answer', 'HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nX-Kept: 2\r\n\r\nbody', /^HTTP\/1.1 200 OK\r\nX-Kept: 2\r\nConnection: close\r\n\r\nbody$/],
  ])('an origin that sends %s', async (_name, response, expected) => {
    const origin = createNetServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(response));
    });
    const originPort = await listen(origin);
    const { port, proxy } = await startProxy();
    const answer = await rawExchange(port, `GET http://127.0.0.1:${originPort}/ HTTP/1.1\r\n\r\n`);
    expect(answer).toMatch(expected);
    await expect.poll(() => proxy.connectionCount).toBe(0);
  });

  it('an origin that accepts and never answers is answered 504 Gateway Timeout, both sockets freed', async () => {
    const silent = createNetServer((s) => s.on('data', () => {}));
    const originPort = await listen(silent);
    const { port, events, proxy } = await startProxy({ responseTimeoutMs: 200 });
    const answer = await rawExchange(port, `GET http://127.0.0.1:${originPort}/ HTTP/1.1\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 504 [\s\S]*no answer within 200 ms/);
    const e = await waitForEvent(events, (ev) => ev.type === 'http');
    expect(e.type === 'http' && e.exchange.status).toBe(504);
    await expect.poll(() => proxy.connectionCount).toBe(0);
    await expect.poll(() => new Promise((r) => silent.getConnections((_e, n) => r(n)))).toBe(0);
  });

  it('an origin that is not there is answered 502 Bad Gateway with the reason', async () => {
    const closed = createNetServer();
    const deadPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const { port } = await startProxy();
    const { res, body } = await get(port, `http://127.0.0.1:${deadPort}/`);
    expect(res.statusCode).toBe(502);
    expect(body.toString()).toMatch(/ECONNREFUSED/);
  });
});

describe('forward proxy: hostile requests get one sentence and their socket freed', () => {
  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, /not "METHOD target HTTP\/x.y"/],
    ['origin-form (not a proxy request)', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 400, /This is a proxy/],
    ['a bad host', 'GET http://bad_host!/ HTTP/1.1\r\n\r\n', 400, /not an IP address or a hostname/],
    ['port 0', 'GET http://127.0.0.1:0/ HTTP/1.1\r\n\r\n', 400, /port 0 is out of range/],
    ['port 65536', 'GET http://127.0.0.1:65536/ HTTP/1.1\r\n\r\n', 400, /port 65536 is out of range/],
    ['user information in the URL', 'GET http://user:pw@127.0.0.1:1/ HTTP/1.1\r\n\r\n', 400, /user information/],
    ['https:// in absolute-form', 'GET https://127.0.0.1/ HTTP/1.1\r\n\r\n', 501, /through CONNECT/],
    ['CONNECT without a port', 'CONNECT example.com HTTP/1.1\r\n\r\n', 400, /host:port/],
    ['CONNECT to port 0', 'CONNECT example.com:0 HTTP/1.1\r\n\r\n', 400, /out of range/],
    ['CONNECT to a URL', 'CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n', 400, /host:port/],
    ['CONNECT to an unbracketed IPv6', 'CONNECT ::1:443 HTTP/1.1\r\n\r\n', 400, /host:port|brackets/],
    ['CONNECT to a bracketed non-IPv6', 'CONNECT [example.com]:443 HTTP/1.1\r\n\r\n', 400, /not a bracketed IPv6/],
    ['HTTP/2.0', 'GET http://127.0.0.1:1/ HTTP/2.0\r\n\r\n', 505, /not HTTP\/1.x/],
    ['Content-Length and Transfer-Encoding together', 'POST http://127.0.0.1:1/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /both Transfer-Encoding and Content-Length/],
    ['two different Content-Lengths', 'POST http://127.0.0.1:1/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 400, /different values/],
    ['a huge head', `GET http://127.0.0.1:1/ HTTP/1.1\r\nX: ${'a'.repeat(40_000)}\r\n\r\n`, 431, /exceeds/],
    ['control characters in the method', 'G\x1bET http://127.0.0.1:1/ HTTP/1.1\r\n\r\n', 400, /not a valid method/],
  ])('%s → %i', async (_name, request, status, reason) => {
    const { port, events, proxy } = await startProxy();
    const answer = await rawExchange(port, request);
    expect(answer).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(answer).toMatch(reason);
    expect(answer).toMatch(/Connection: close/);
    const refused = await waitForEvent(events, (e) => e.type === 'refused');
    expect(refused.type === 'refused' && refused.reason).not.toMatch(/\x1b/);
    await waitForEvent(events, () => proxy.connectionCount === 0);
  });

  it('a client that never finishes its head gets 408 after the timeout and is dropped', async () => {
    const { port, proxy } = await startProxy({ headTimeoutMs: 200 });
    const answer = await rawExchange(port, 'GET http://127.0.0.1:1/ HTTP/1.1\r\nX-Slow: 1\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 408 /);
    expect(proxy.connectionCount).toBe(0);
  });

  it('a proxy listening for other machines refuses targets on this machine (403)', async () => {
    const { port } = await startProxy({ refuseLoopbackTargets: true });
    const answer = await rawExchange(port, 'GET http://localhost:9/ HTTP/1.1\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 403 /);
    expect(answer).toMatch(/on this machine/);
  });
});

describe('forward proxy: CONNECT passes TLS through and shows its SNI', () => {
  let pair: CertificatePair;
  beforeAll(async () => {
    pair = await createCertificate({ commonName: 'tunnel.test', names: ['tunnel.test'] });
  });

  it('node:tls through the tunnel reaches the origin; the trace has host:port, SNI, ALPN, bytes each way', async () => {
    const origin = createTlsServer({ cert: pair.cert, key: pair.key, ALPNProtocols: ['http/1.1'] }, (s) => {
      s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
      s.on('end', () => s.end());
    });
    const originPort = await listen(origin);
    const { port, events } = await startProxy();
    const socket = netConnect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\n\r\n`);
    const [established] = await once(socket, 'data') as [Buffer];
    expect(established.toString()).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
    const tls = tlsConnect({ socket, servername: 'tunnel.test', ca: pair.cert, ALPNProtocols: ['http/1.1'] });
    await once(tls, 'secureConnect');
    expect(tls.authorized).toBe(true);
    tls.write('hello');
    const [reply] = await once(tls, 'data') as [Buffer];
    expect(reply.toString()).toBe('echo:hello');
    const opened = await waitForEvent(events, (e) => e.type === 'tunnel-opened');
    expect(opened.type === 'tunnel-opened' && opened.tunnel.hello).toMatchObject({ serverName: 'tunnel.test', alpn: ['http/1.1'] });
    tls.end();
    const done = await waitForEvent(events, (e) => e.type === 'tunnel');
    if (done.type !== 'tunnel') throw new Error('unreachable');
    expect(done.tunnel.target).toBe(`127.0.0.1:${originPort}`);
    expect(done.tunnel.hello?.serverName).toBe('tunnel.test');
    // Both ways carried more than the handshake's smallest flights (ClientHello > 200 bytes; the server's certificate).
    expect(done.tunnel.bytesUp).toBeGreaterThan(200);
    expect(done.tunnel.bytesDown).toBeGreaterThan(300);
    expect(done.tunnel.error).toBeUndefined();
  });

  it('a tunnel that does not carry TLS is shown with why', async () => {
    const origin = createNetServer((s) => s.on('data', (d) => s.end(d)));
    const originPort = await listen(origin);
    const { port, events } = await startProxy();
    const answer = await rawExchange(port, `CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\nSSH-2.0-x\r\n`);
    expect(answer).toBe('HTTP/1.1 200 Connection Established\r\n\r\nSSH-2.0-x\r\n');
    const done = await waitForEvent(events, (e) => e.type === 'tunnel');
    expect(done.type === 'tunnel' && done.tunnel.notTls).toMatch(/not 0x16/);
  });
});

describe('forward proxy: WebSocket in absolute-form, relayed', () => {
  it('GET http://… with Upgrade: websocket is handed to the relay, which traces both legs', async () => {
    const { relayUpgrade } = await import('../../../src/core/forward-proxy/relay-upgrade.ts');
    const { Tracer } = await import('../../../src/core/trace.ts');
    const wss = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${req.url} ${req.headers.host}: ${m.toString()}`)));
    const wsPort = (wss.address() as AddressInfo).port;
    const tracer = new Tracer();
    const messages: string[] = [];
    tracer.subscribe((e) => {
      if (e.type === 'message') messages.push(`${e.connectionId.endsWith('-upstream') ? 'upstream' : 'client'} ${e.direction} ${e.text}`);
    });
    const { port, events } = await startProxy({
      onWebSocket: (upgrade) => relayUpgrade(upgrade, { tracer }),
    });
    const s = netConnect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    s.write(`GET http://127.0.0.1:${wsPort}/room?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${wsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nProxy-Connection: keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const [head] = await once(s, 'data') as [Buffer];
    // RFC 6455 §1.3's example key gives this accept: the client leg is answered by our server.
    expect(head.toString()).toMatch(/^HTTP\/1.1 101 [\s\S]*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    // A masked text frame "hi" (§5.7's masking example key).
    s.write(Buffer.from([0x81, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x68 ^ 0x37, 0x69 ^ 0xfa]));
    const [frame] = await once(s, 'data') as [Buffer];
    const text = frame.subarray(2, 2 + frame[1]!).toString();
    expect(text).toBe(`/room?x=1 127.0.0.1:${wsPort}: hi`);
    s.destroy();
    expect(events.find((e) => e.type === 'websocket')).toMatchObject({ url: `ws://127.0.0.1:${wsPort}/room?x=1`, relayed: true });
    expect(messages).toEqual(['client in hi', 'upstream out hi', `upstream in ${text}`, `client out ${text}`]);
  });
});

describe('forward proxy: WebSocket without a relay', () => {
  it('ws:// through the proxy works (passed through opaquely), and the trace says it was not relayed', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on('connection', (ws, req) => {
      ws.on('message', (m, binary) => ws.send(binary ? m : `${req.url}:${m.toString()}`));
    });
    const wsPort = (wss.address() as AddressInfo).port;
    const { port, events } = await startProxy();
    // ws sends the absolute URL to the proxy when told to connect through it by a raw socket: do it by hand.
    const client = new WsClient(`ws://127.0.0.1:${wsPort}/path?q=1`, {
      createConnection: () => {
        const s = netConnect({ host: '127.0.0.1', port });
        // Rewrite the request line to absolute-form, as a browser talking to a proxy does.
        const write = s.write.bind(s);
        let first = true;
        s.write = ((chunk: string | Buffer, ...rest: unknown[]) => {
          if (first) {
            first = false;
            chunk = Buffer.from(chunk.toString().replace(/^GET \/path\?q=1 /, `GET http://127.0.0.1:${wsPort}/path?q=1 `));
          }
          return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof s.write;
        return s;
      },
    });
    await once(client, 'open');
    client.send('hi');
    const [message] = await once(client, 'message') as [Buffer];
    expect(message.toString()).toBe('/path?q=1:hi');
    client.close();
    const ws = await waitForEvent(events, (e) => e.type === 'websocket');
    expect(ws).toMatchObject({ url: `ws://127.0.0.1:${wsPort}/path?q=1`, relayed: false, intercepted: false });
  });
});

describe('forward proxy: bounded under abuse', () => {
  it('one connection over maxConnections is answered 503 and freed; the others are unaffected', async () => {
    const { port, proxy } = await startProxy({ maxConnections: 2, headTimeoutMs: 20_000 });
    const held = await Promise.all([0, 1].map(async () => {
      const s = netConnect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      await once(s, 'connect');
      s.write('GET http://127.0.0.1:1/ HTTP/1.1\r\n'); // a head that never ends
      return s;
    }));
    await expect.poll(() => proxy.connectionCount).toBe(2);
    const answer = await rawExchange(port, 'GET http://127.0.0.1:1/ HTTP/1.1\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 503 /);
    expect(held.every((s) => !s.destroyed)).toBe(true);
    for (const s of held) s.destroy();
    await expect.poll(() => proxy.connectionCount).toBe(0);
  });

  it('random bytes never crash it: every connection is answered or closed, and freed (fuzz, 200 runs)', async () => {
    const fc = (await import('fast-check')).default;
    // Every name resolves to nothing, and targets hold no '.' or '[' (so no IP literal): fuzzed requests never leave this machine.
    const lookup = ((_host: string, _options: unknown, callback: (e: Error) => void) => callback(Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' }))) as never;
    const { port, proxy, events } = await startProxy({ headTimeoutMs: 300, connectTimeoutMs: 300, lookup });
    // Sent and half-closed at once: a head left unfinished ends with the client's FIN, not the timeout.
    const heads = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom('GET', 'CONNECT', 'POST', 'G ET', ''), fc.string({ maxLength: 60 }).map((t) => t.replace(/[.[]/g, '')), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', 'x'), fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }))
        .map(([m, t, v, h]) => Buffer.from(`${m} ${t} ${v}\r\n${h.join('\r\n')}\r\n\r\n`, 'latin1')),
    );
    await fc.assert(fc.asyncProperty(heads, async (bytes) => {
      const answer = await rawExchange(port, bytes, true);
      // An answer, if any, is a whole HTTP status line from the proxy (or from an origin it reached).
      if (answer.length) expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
    }), { numRuns: 200 });
    await waitForEvent(events, () => proxy.connectionCount === 0, 5000);
  }, 60_000);

  it('CONNECT to a server that speaks first is opened after a second of client silence (passed through)', async () => {
    const origin = createNetServer((s) => s.end('220 banner\r\n'));
    const originPort = await listen(origin);
    const { port, events } = await startProxy();
    const socket = netConnect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    await once(socket, 'connect');
    socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\n`);
    await once(socket, 'end');
    socket.end();
    expect(got).toBe('HTTP/1.1 200 Connection Established\r\n\r\n220 banner\r\n');
    const done = await waitForEvent(events, (e) => e.type === 'tunnel');
    expect(done.type === 'tunnel' && done.tunnel.notTls).toMatch(/no bytes|sent nothing/);
  });
});
