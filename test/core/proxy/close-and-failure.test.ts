/**
 * Closing and failure through the reverse proxy, with real peers on both sides: a Close passed
 * on with its code, a side that breaks a rule or vanishes (during the handshake, mid-message,
 * during the closing handshake), and every socket freed each time.
 */

import type { Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, expectedAccept, openWs, parseFrames, RawPeer, withTimeout, wsClosed } from '../net/helpers.ts';
import { clientLegId, closeAll, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
const servers: Array<Server | NetServer> = [];
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
  for (const s of servers.splice(0)) s.close();
});

/** A masked client frame (§5.3), as a raw client sends it. */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]), key, masked]);
}

/**
 * A raw upstream: completes the handshake, then does what the test says with the socket.
 * `answer: false`: never answers the handshake.
 */
async function rawUpstream(onOpen: (socket: Socket) => void, answer = true): Promise<{ port: number; sockets: Socket[]; received: () => Buffer }> {
  const sockets: Socket[] = [];
  const chunks: Buffer[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += d.toString('latin1');
        if (head.includes('\r\n\r\n') && answer) {
          const key = /sec-websocket-key: *([^\r]+)/i.exec(head)![1]!;
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${expectedAccept(key)}\r\n\r\n`);
          onOpen(socket);
        }
      } else chunks.push(d);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, sockets, received: () => Buffer.concat(chunks) };
}

/** A ws upstream, the proxy in front of it, and a raw client through the proxy, past its handshake. */
async function rawClientThroughProxy(): Promise<RawPeer> {
  upstream = await wsUpstream();
  proxy = await startProxy({ target: upstream.url });
  const peer = await RawPeer.open(Number(new URL(proxy.url).port));
  await peer.handshake();
  return peer;
}

describe('a Close is passed on', () => {
  it('from the client: the upstream gets the same code and reason; from the upstream: the client does', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const a = await openWs(proxy.url);
    a.close(4001, 'client says bye');
    await withTimeout(wsClosed(a), 5000, 'close a');
    const b = await openWs(proxy.url);
    const closed = wsClosed(b);
    await new Promise((r) => setTimeout(r, 20));
    upstream.sockets[1]!.close(4002, 'server says bye');
    expect(await withTimeout(closed, 5000, 'close b')).toEqual({ code: 4002, reason: 'server says bye' });
    await proxy.allFreed();
    expect(upstream.closes[0]).toEqual({ code: 4001, reason: 'client says bye' });
  });

  it('a Close without a status code (1005) goes on as a Close without a body', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    ws.close();
    await withTimeout(wsClosed(ws), 5000, 'close');
    await proxy.allFreed();
    // ws reports a Close without a body as 1005.
    expect(upstream.closes[0]).toEqual({ code: 1005, reason: '' });
    const up = `${clientLegId(proxy.events)}-upstream`;
    const close = proxy.of(up).find((e) => e.type === 'frame' && e.direction === 'out' && e.frame.opcode === 8);
    expect(close && close.type === 'frame' && close.frame.payloadLength).toBe(0);
  });
});

describe('one side fails or vanishes', () => {
  it('the upstream breaks a rule (a masked frame): it gets 1002 from us, the client gets 1014 Bad Gateway', async () => {
    const up = await rawUpstream((socket) => setTimeout(() => socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x69 ^ 2])), 30));
    proxy = await startProxy({ target: `ws://127.0.0.1:${up.port}/` });
    const ws = await openWs(proxy.url);
    const closed = await withTimeout(wsClosed(ws), 5000, 'the client to be closed');
    expect(closed.code).toBe(1014);
    expect(closed.reason).toMatch(/^upstream broke the protocol \(we closed it with 1002\)/);
    // Our Close to the upstream (masked, we are its client) says 1002.
    await eventually(() => parseFrames(up.received()).some((f) => f.opcode === 8), 5000, 'our Close upstream');
    expect(parseFrames(up.received()).find((f) => f.opcode === 8)!.payload.readUInt16BE(0)).toBe(1002);
    await proxy.allFreed();
  });

  it('the client breaks a rule (an unmasked frame): it gets 1002, the upstream gets 1001 Going Away', async () => {
    const peer = await rawClientThroughProxy();
    peer.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // unmasked: §5.1
    await peer.waitFor(() => parseFrames(peer.received).some((f) => f.opcode === 8), 5000, 'our Close');
    const close = parseFrames(peer.received).find((f) => f.opcode === 8)!;
    expect(close.payload.readUInt16BE(0)).toBe(1002);
    await eventually(() => upstream!.closes[0] !== undefined, 5000, 'the upstream to be closed');
    expect(upstream!.closes[0]!.code).toBe(1001);
    expect(upstream!.closes[0]!.reason).toMatch(/^client broke the protocol \(we closed it with 1002\)/);
    peer.destroy();
    await proxy!.allFreed();
  });

  it('the upstream vanishes mid-connection (TCP reset, no Close): the client gets 1014', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const closed = wsClosed(ws);
    await new Promise((r) => setTimeout(r, 20));
    upstream.sockets[0]!.terminate();
    const info = await withTimeout(closed, 5000, 'the client to be closed');
    expect(info.code).toBe(1014);
    expect(info.reason).toMatch(/^upstream went away without a Close/);
    await proxy.allFreed();
  });

  it('the client vanishes mid-message (half a fragmented message, then TCP gone): the upstream gets 1001 and no piece of the message', async () => {
    const peer = await rawClientThroughProxy();
    peer.write(clientFrame(0x1, Buffer.from('first half of '), false));
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    await eventually(() => upstream!.closes[0] !== undefined, 5000, 'the upstream to be closed');
    expect(upstream!.closes[0]!.code).toBe(1001);
    expect(upstream!.messages).toHaveLength(0);
    await proxy!.allFreed();
  });

  it('the client vanishes during the handshake (upstream not answering yet): the upstream socket is freed', async () => {
    const up = await rawUpstream(() => {}, false);
    proxy = await startProxy({ target: `ws://127.0.0.1:${up.port}/` });
    const peer = await RawPeer.open(Number(new URL(proxy.url).port));
    peer.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await eventually(() => up.sockets.length > 0, 5000, 'the upstream connection');
    peer.destroy();
    await proxy.allFreed();
    await eventually(() => up.sockets[0]!.destroyed || up.sockets[0]!.readableEnded, 5000, 'the upstream to see its socket closed');
    const client = clientLegId(proxy.events);
    expect(proxy.of(client).some((e) => e.type === 'note' && e.text.includes('the client went away during the handshake'))).toBe(true);
  });

  it('a client that sends half a request head and stalls is dropped at the handshake timeout', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url, handshakeTimeoutMs: 300 });
    const peer = await RawPeer.open(Number(new URL(proxy.url).port));
    peer.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await peer.waitFor(() => peer.closed || peer.ended, 3000, 'the stalled client to be dropped');
    expect(upstream.requests).toHaveLength(0);
    await proxy.allFreed();
  });

  it('the upstream never answers our Close: the close timer frees it, the client is closed cleanly', async () => {
    // Answers the handshake, then ignores everything (never sends its Close, never closes TCP).
    const up = await rawUpstream(() => {});
    proxy = await startProxy({ target: `ws://127.0.0.1:${up.port}/`, closeTimeoutMs: 300 });
    const ws = await openWs(proxy.url);
    const closed = wsClosed(ws);
    ws.close(1000, 'done');
    expect((await withTimeout(closed, 5000, 'the client close')).code).toBe(1000);
    await proxy.allFreed(5000);
    expect(up.received().length).toBeGreaterThan(0); // our Close reached it
  });

  it('the client sends Close and vanishes at once (during the closing handshake): the upstream still gets its code, every socket is freed', async () => {
    const peer = await rawClientThroughProxy();
    const payload = Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('gone')]); // 4001 "gone"
    peer.write(clientFrame(0x8, payload));
    peer.destroy();
    await eventually(() => upstream!.closes[0] !== undefined, 5000, 'the upstream to be closed');
    expect(upstream!.closes[0]).toEqual({ code: 4001, reason: 'gone' });
    await proxy!.allFreed();
  });

  it('the proxy stopping closes both legs with 1001', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const closed = wsClosed(ws);
    await proxy.close();
    expect((await withTimeout(closed, 5000, 'client close')).code).toBe(1001);
    await eventually(() => upstream!.closes[0] !== undefined, 5000, 'upstream close');
    expect(upstream.closes[0]!.code).toBe(1001);
    proxy = null;
  });
});

describe('pings', () => {
  it('are answered on their own leg and passed on; the far end\'s Pong comes back as well', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const pongs: string[] = [];
    ws.on('pong', (d) => pongs.push(d.toString()));
    const upstreamPings: string[] = [];
    await new Promise((r) => setTimeout(r, 20));
    upstream.sockets[0]!.on('ping', (d) => upstreamPings.push(d.toString()));
    ws.ping('are you there');
    await eventually(() => pongs.length >= 2, 5000, 'two pongs');
    expect(pongs).toEqual(['are you there', 'are you there']);
    expect(upstreamPings).toEqual(['are you there']);
    ws.close();
    await proxy.allFreed();
  });
});
