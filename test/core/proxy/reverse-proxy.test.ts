/**
 * The reverse proxy with real peers: `ws` clients through it to `ws` upstreams, over ws:// and
 * wss://, with and without permessage-deflate on each leg; the handshake forwarded and rewritten;
 * refusals passed back; an unreachable upstream answered 502; frames paired across the legs.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCertificate, localCertificate } from '../../../src/core/net/certificates.ts';
import { ReverseProxy } from '../../../src/core/proxy/reverse-proxy.ts';
import { eventually, expectedAccept, openWs, RawPeer, withTimeout, wsClosed, wsMessages } from '../net/helpers.ts';
import { clientLegId, closeAll, frames, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
});

/** What a `ws` client gets when the handshake is refused: status, headers, body. */
function refusal(url: string): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('open', () => reject(new Error('the handshake should have been refused')));
    ws.on('error', () => {});
  }), 8000, 'the refusal');
}

describe('reverse proxy: ws client → proxy → ws server', () => {
  it('relays text, binary and a fragmented message both ways, keeping the fragmentation, with every copy paired', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const messages = wsMessages(ws);
    ws.send('héllo ✓');
    expect((await messages.next(5000)).data.toString()).toBe('héllo ✓');
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    ws.send(bytes);
    const back = await messages.next(5000);
    expect(back.isBinary).toBe(true);
    expect(back.data.equals(bytes)).toBe(true);
    // Three frames: "frag", "ment", "ed".
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    expect((await messages.next(5000)).data.toString()).toBe('fragmented');
    expect(upstream.messages.map((m) => m.data.toString())).toContain('fragmented');

    const client = clientLegId(proxy.events);
    const up = `${client}-upstream`;
    const upOut = frames(proxy.events, up, 'out').filter((f) => f.frame.opcode <= 2);
    const clientIn = frames(proxy.events, client, 'in').filter((f) => f.frame.opcode <= 2);
    // The fragmented message went upstream as three frames of the same plain sizes.
    const fragmented = upOut.slice(-3);
    expect(fragmented.map((f) => [f.frame.opcode, f.frame.fin, f.frame.payloadLength])).toEqual([[1, false, 4], [0, false, 4], [0, true, 2]]);
    // Every frame sent upstream names its original on the client leg, in order, with the delay.
    expect(upOut.map((f) => f.frame.relay?.from)).toEqual(clientIn.map((f) => ({ connectionId: client, frameId: f.frame.frameId })));
    for (const f of upOut) expect(f.frame.relay!.delayUs).toBeGreaterThanOrEqual(0);
    // And the echoes coming back are paired with the upstream's frames.
    const clientOut = frames(proxy.events, client, 'out').filter((f) => f.frame.opcode <= 2);
    expect(clientOut.every((f) => f.frame.relay?.from.connectionId === up)).toBe(true);
    expect(clientOut).toHaveLength(3);

    const closed = wsClosed(ws);
    ws.close(4001, 'bye');
    expect(await withTimeout(closed, 5000, 'close')).toEqual({ code: 4001, reason: 'bye' });
    await proxy.allFreed();
    expect(upstream.closes[0]).toEqual({ code: 4001, reason: 'bye' });
  });

  it('pairs each copy with its own original when one read carries several messages, a fragmented one and a ping', async () => {
    upstream = await wsUpstream({ silent: true });
    proxy = await startProxy({ target: upstream.url });
    const peer = await RawPeer.open(Number(new URL(proxy.url).port));
    await peer.handshake();
    const key = Buffer.from([9, 8, 7, 6]);
    const frame = (b0: number, text: string) => {
      const payload = Buffer.from(text);
      return Buffer.concat([Buffer.from([b0, 0x80 | payload.length]), key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))]);
    };
    // One write: "one", "tw"+"o" (two frames), a ping, "three".
    peer.write(Buffer.concat([frame(0x81, 'one'), frame(0x01, 'tw'), frame(0x80, 'o'), frame(0x89, 'hi'), frame(0x81, 'three')]));
    await eventually(() => upstream!.messages.length === 3, 5000, 'three messages upstream');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['one', 'two', 'three']);
    const client = clientLegId(proxy.events);
    const originals = frames(proxy.events, client, 'in').filter((f) => f.frame.opcode !== 8);
    const copies = frames(proxy.events, `${client}-upstream`, 'out').filter((f) => f.frame.relay);
    // Same order on both legs (the ping overtakes nothing: it goes when its event is handed out).
    const byOriginal = new Map(originals.map((f) => [f.frame.frameId, f.frame]));
    expect(copies).toHaveLength(5);
    for (const copy of copies) {
      const original = byOriginal.get(copy.frame.relay!.from.frameId)!;
      expect(copy.frame.relay!.from.connectionId).toBe(client);
      expect([copy.frame.opcode, copy.frame.fin, copy.frame.payload.length]).toEqual([original.opcode, original.fin, original.payload.length]);
      expect(Buffer.from(copy.frame.payload).equals(Buffer.from(original.payload))).toBe(true);
    }
    expect(new Set(copies.map((c) => c.frame.relay!.from.frameId)).size).toBe(5);
    peer.destroy();
    await proxy.allFreed();
  });

  it('what the upstream sends right after its 101, before the client\'s handshake is answered, reaches the client first and in order', async () => {
    upstream = await wsUpstream({ greetings: ['welcome', 'second', 'third'] });
    proxy = await startProxy({ target: upstream.url });
    const ws = new WebSocket(proxy.url, { perMessageDeflate: false });
    const messages = wsMessages(ws);
    const got = [(await messages.next(5000)).data.toString(), (await messages.next(5000)).data.toString(), (await messages.next(5000)).data.toString()];
    expect(got).toEqual(['welcome', 'second', 'third']);
    ws.close();
    await proxy.allFreed();
  });

  it('forwards the handshake: headers kept, Host rewritten to the target, per-leg headers made anew, the upstream\'s subprotocol answered', async () => {
    upstream = await wsUpstream({ protocol: (offered) => (offered.has('superchat') ? 'superchat' : false) });
    proxy = await startProxy({ target: upstream.url.replace(/\/$/, '/socket') });
    const ws = await openWs(`${proxy.url}?token=abc`, { protocol: undefined, headers: { Origin: 'http://app.example', Cookie: 'session=1', 'X-Trace': 't1' } } as WebSocket.ClientOptions);
    ws.terminate();
    const ws2 = new WebSocket(proxy.url, ['chat', 'superchat'], { perMessageDeflate: false, headers: { Origin: 'http://app.example' } });
    await withTimeout(new Promise((resolve, reject) => { ws2.once('open', resolve); ws2.once('error', reject); }), 5000, 'open');
    expect(ws2.protocol).toBe('superchat');
    const [first, second] = upstream.requests;
    expect(first!.url).toBe('/socket?token=abc');
    expect(first!.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(first!.headers.origin).toBe('http://app.example');
    expect(first!.headers.cookie).toBe('session=1');
    expect(first!.headers['x-trace']).toBe('t1');
    // The client's offer goes upstream as it was written (ws writes no space after the comma).
    expect(second!.headers['sec-websocket-protocol']).toBe('chat,superchat');
    const note = proxy.events.find((e) => e.type === 'note' && e.text.startsWith('Proxy: forwarding the handshake'));
    expect(note && note.type === 'note' && note.text).toContain(`Host "127.0.0.1:${new URL(proxy.url).port}" → "127.0.0.1:${upstream.port}"`);
    // The client's request is traced once, when it arrived: before the upstream leg's request.
    const client = clientLegId(proxy.events);
    const requests = proxy.of(client).filter((e) => e.type === 'http-head' && e.direction === 'in');
    expect(requests).toHaveLength(1);
    const upstreamRequest = proxy.of(`${client}-upstream`).find((e) => e.type === 'http-head' && e.direction === 'out')!;
    expect(requests[0]!.seq).toBeLessThan(upstreamRequest.seq);
    ws2.close(1000);
    await proxy.allFreed();
  });

  it('end-to-end headers of the upstream\'s 101 (Set-Cookie, X-…) reach the client; its own handshake headers are ours', async () => {
    upstream = await wsUpstream({ extraHeaders: ['Set-Cookie: session=42; HttpOnly', 'X-Upstream: yes', 'Keep-Alive: timeout=5'] });
    proxy = await startProxy({ target: upstream.url });
    const ws = new WebSocket(proxy.url, { perMessageDeflate: false });
    const headers = await withTimeout(new Promise<IncomingMessage['headers']>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers));
      ws.once('error', reject);
    }), 5000, 'the 101');
    expect(headers['set-cookie']).toEqual(['session=42; HttpOnly']);
    expect(headers['x-upstream']).toBe('yes');
    expect(headers['keep-alive']).toBeUndefined(); // hop-by-hop
    expect(headers['sec-websocket-accept']).toBeDefined(); // ours, for this leg's key
    const note = proxy.events.find((e) => e.type === 'note' && e.text.startsWith('Proxy: the upstream accepted'));
    expect(note && note.type === 'note' && note.text).toContain('its Set-Cookie, X-Upstream passed on');
    ws.close();
    await proxy.allFreed();
  });

  it('--host, --origin and --no-origin rewrite what goes upstream, and the trace says so', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url, rewrite: { host: 'internal.example', origin: 'https://other.example' } });
    const ws = await openWs(proxy.url, { headers: { Origin: 'http://app.example' } });
    expect(upstream.requests[0]!.headers.host).toBe('internal.example');
    expect(upstream.requests[0]!.headers.origin).toBe('https://other.example');
    const note = proxy.events.find((e) => e.type === 'note' && e.text.startsWith('Proxy: forwarding the handshake'));
    expect(note && note.type === 'note' && note.text).toContain('Origin "http://app.example" → "https://other.example" (--origin)');
    ws.close();
    await proxy.close();
    proxy = await startProxy({ target: upstream.url, rewrite: { origin: null } });
    const ws2 = await openWs(proxy.url, { headers: { Origin: 'http://app.example' } });
    expect(upstream.requests[1]!.headers.origin).toBeUndefined();
    ws2.close();
  });

  it('the client\'s handshake is answered only after the upstream\'s succeeded', async () => {
    // An upstream that waits 300 ms before answering: the client's 101 cannot come sooner.
    const slow = createServer();
    slow.on('upgrade', (req, socket) => {
      socket.on('error', () => {});
      setTimeout(() => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${expectedAccept(String(req.headers['sec-websocket-key']))}\r\n\r\n`), 300);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      proxy = await startProxy({ target: `ws://127.0.0.1:${(slow.address() as AddressInfo).port}/` });
      const started = Date.now();
      const ws = await openWs(proxy.url);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      ws.terminate();
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it('an invalid request is refused by the proxy itself with the RFC status; the upstream is never contacted', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const peer = await RawPeer.open(Number(new URL(proxy.url).port));
    peer.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await peer.waitFor(() => peer.ended, 5000, 'the refusal');
    expect(peer.received.toString('latin1')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Sec-WebSocket-Key is missing/);
    expect(upstream.requests).toHaveLength(0);
    peer.destroy();
    await proxy.allFreed();
  });
});

describe('reverse proxy: permessage-deflate negotiated on each leg on its own', () => {
  const text = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item ${i}` })));
  for (const [clientLeg, upstreamLeg] of [[true, false], [false, true], [true, true]] as const) {
    it(`client leg ${clientLeg ? 'compressed' : 'plain'}, upstream leg ${upstreamLeg ? 'compressed' : 'plain'}: each leg's trace shows its own bytes`, async () => {
      upstream = await wsUpstream({ deflate: true });
      proxy = await startProxy({ target: upstream.url, ...(clientLeg ? {} : { clientDeflate: false }), ...(upstreamLeg ? {} : { upstreamDeflate: false }) });
      const ws = await openWs(proxy.url, { perMessageDeflate: true });
      expect(ws.extensions.includes('permessage-deflate')).toBe(clientLeg);
      expect(upstream.extensions[0]!.includes('permessage-deflate')).toBe(upstreamLeg);
      const messages = wsMessages(ws);
      ws.send(text);
      expect((await messages.next(5000)).data.toString()).toBe(text);
      const client = clientLegId(proxy.events);
      const [clientIn] = frames(proxy.events, client, 'in');
      const [upOut] = frames(proxy.events, `${client}-upstream`, 'out');
      expect(clientIn!.frame.rsv1).toBe(clientLeg);
      expect(upOut!.frame.rsv1).toBe(upstreamLeg);
      // Compressed, the wire payload is smaller than the text; plain, it is the text.
      expect(clientIn!.frame.payloadLength < text.length).toBe(clientLeg);
      expect(upOut!.frame.payloadLength < text.length).toBe(upstreamLeg);
      expect(upOut!.frame.relay?.from.frameId).toBe(clientIn!.frame.frameId);
      ws.close();
      await proxy.allFreed();
    });
  }
});

describe('reverse proxy over TLS', () => {
  let dir: string;
  let upstreamCert: Awaited<ReturnType<typeof createCertificate>>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-proxy-tls-'));
    upstreamCert = await createCertificate({ commonName: 'proxy test upstream', names: ['127.0.0.1'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('wss:// client → wss:// proxy → wss:// upstream trusted with --ca; both legs traced with their TLS', async () => {
    const local = await localCertificate(dir);
    upstream = await wsUpstream({ tls: upstreamCert });
    proxy = await startProxy({ target: upstream.url, tls: local, upstreamTls: { ca: [upstreamCert.cert] } });
    expect(proxy.url).toMatch(/^wss:/);
    const ws = await openWs(proxy.url, { ca: local.cert });
    const messages = wsMessages(ws);
    ws.send('over two TLS legs');
    expect((await messages.next(5000)).data.toString()).toBe('over two TLS legs');
    const client = clientLegId(proxy.events);
    const tls = proxy.events.filter((e) => e.type === 'tls');
    expect(tls.map((e) => e.connectionId).sort()).toEqual([client, `${client}-upstream`].sort());
    expect(tls.every((e) => e.type === 'tls' && e.tls.ok)).toBe(true);
    ws.close();
    await proxy.allFreed();
  });

  it('a wss:// upstream whose certificate is not trusted: 502 with the TLS failure in one line', async () => {
    upstream = await wsUpstream({ tls: upstreamCert });
    proxy = await startProxy({ target: upstream.url });
    const r = await refusal(proxy.url);
    expect(r.status).toBe(502);
    expect(r.body.trim().split('\n')).toHaveLength(1);
    expect(r.body).toMatch(/^Proxy: cannot reach the upstream: TLS with wss:\/\/127\.0\.0\.1:\d+\/ failed/);
    await proxy.allFreed();
  });
});

describe('reverse proxy: refusals and unreachable upstreams', () => {
  let refusing: Server;
  let refusingPort = 0;
  beforeAll(async () => {
    // 403 with a body written after its head (the body must still arrive), 401 with WWW-Authenticate.
    refusing = createServer();
    refusing.on('upgrade', (req, socket) => {
      socket.on('error', () => {});
      if (req.url?.startsWith('/auth')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="ws"\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nlog in first\n');
        return;
      }
      const body = 'Forbidden: this origin may not connect\n';
      socket.write(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Reason: origin\r\nContent-Length: ${body.length}\r\n\r\n`);
      setTimeout(() => socket.end(body), 80);
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingPort = (refusing.address() as AddressInfo).port;
  });
  afterAll(() => {
    refusing.closeAllConnections();
    refusing.close();
  });

  it('403 with a body reaches the client: status, headers and body, and the trace shows it', async () => {
    proxy = await startProxy({ target: `ws://127.0.0.1:${refusingPort}/` });
    const r = await refusal(proxy.url);
    expect(r.status).toBe(403);
    expect(r.headers['x-reason']).toBe('origin');
    expect(r.body).toBe('Forbidden: this origin may not connect\n');
    const client = clientLegId(proxy.events);
    const out = proxy.of(client).find((e) => e.type === 'http-head' && e.direction === 'out');
    expect(out && out.type === 'http-head' && out.head.startLine).toBe('HTTP/1.1 403 Forbidden');
    expect(proxy.of(client).some((e) => e.type === 'note' && e.text.includes('refused by the upstream with 403'))).toBe(true);
    await proxy.allFreed();
  });

  it('401 with WWW-Authenticate is passed back as it came', async () => {
    proxy = await startProxy({ target: `ws://127.0.0.1:${refusingPort}/auth` });
    const r = await refusal(proxy.url);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="ws"');
    expect(r.body).toBe('log in first\n');
    await proxy.allFreed();
  });

  it('at the connection cap, one more client gets 503 with Retry-After and its socket is freed; a place that frees up is taken again', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url, maxConnections: 1 });
    const first = await openWs(proxy.url);
    const r = await refusal(proxy.url);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.body).toBe('This proxy relays at most 1 conversation at a time and all are in use. Try again later.\n');
    expect(upstream.requests).toHaveLength(1); // the refused one never reached the upstream
    first.close();
    await proxy.allFreed();
    const again = await openWs(proxy.url);
    again.close();
    await proxy.allFreed();
    expect(() => new ReverseProxy({ target: upstream!.url, maxConnections: 0 })).toThrow(/maxConnections must be a whole number of at least 1/);
  });

  it('nothing listening upstream: 502 Bad Gateway with one plain line', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    proxy = await startProxy({ target: `ws://127.0.0.1:${port}/` });
    const r = await refusal(proxy.url);
    expect(r.status).toBe(502);
    expect(r.body).toBe(`Proxy: cannot reach the upstream: Connection refused: nothing is listening on 127.0.0.1:${port} (ECONNREFUSED).\n`);
    await proxy.allFreed();
  });

  it('an upstream whose 101 breaks a rule (a wrong Sec-WebSocket-Accept): 502 saying so', async () => {
    const liar = createServer();
    liar.on('upgrade', (_req, socket) => {
      socket.on('error', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n');
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      proxy = await startProxy({ target: `ws://127.0.0.1:${(liar.address() as AddressInfo).port}/` });
      const r = await refusal(proxy.url);
      expect(r.status).toBe(502);
      expect(r.body).toMatch(/^Proxy: the upstream's handshake is invalid: .*Expected .*, got "bm90IHRoZSByaWdodCBvbmU="/);
      await proxy.allFreed();
    } finally {
      liar.closeAllConnections();
      liar.close();
    }
  });

  it('a target whose host does not exist (.invalid, RFC 6761): 502 saying so', async () => {
    proxy = await startProxy({ target: 'ws://proxy-test.invalid/', handshakeTimeoutMs: 8000 });
    const r = await refusal(proxy.url);
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/^Proxy: cannot reach the upstream: Host "proxy-test\.invalid" not found \((ENOTFOUND|EAI_AGAIN)\)\.\n$/);
    await proxy.allFreed();
  });

  it('an upstream that accepts TCP and hangs up before answering: 502', async () => {
    const rude = createServer();
    rude.on('upgrade', (_req, socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    try {
      proxy = await startProxy({ target: `ws://127.0.0.1:${(rude.address() as AddressInfo).port}/` });
      const r = await refusal(proxy.url);
      expect(r.status).toBe(502);
      expect(r.body).toMatch(/closed the connection before the handshake completed|reset the connection/);
      await proxy.allFreed();
    } finally {
      rude.close();
    }
  });
});
