/**
 * Bad input never takes the server down. Each violation is sent over a raw node:net socket;
 * we read the server's answer off the wire (Close frame code or HTTP status line), check that
 * the server closes TCP, and then check that a fresh `ws` client still gets its echo.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import type { ProtocolViolation } from '../../../src/core/errors.ts';
import { encodeClosePayload, encodeFrame, type FrameSpec } from '../../../src/core/frame-codec.ts';
import { connectClient, ConnectError, UrlError } from '../../../src/core/net/client.ts';
import type { CloseInfo, Connection } from '../../../src/core/net/connection.ts';
import { ListenError, WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { AsyncQueue, assertServerEchoes, eventually, parseFrames, RawPeer, REFUSED_PORT, utf8, withTimeout } from './helpers.ts';

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** A client frame, masked unless the spec says otherwise. */
function frame(spec: FrameSpec): Uint8Array {
  return encodeFrame({ maskKey: MASK, ...spec });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const handshakeTimeoutMs = 800;
const opens = new AsyncQueue<Connection>();
const violations = new Map<string, string[]>();
const closes = new Map<string, CloseInfo>();
const component: ServerComponent = {
  ...echoComponent,
  name: 'echo-recording',
  onOpen: (conn) => opens.push(conn),
  onError: (conn, error) => {
    const list = violations.get(conn.id) ?? [];
    list.push((error as ProtocolViolation).code ?? `socket:${(error as NodeJS.ErrnoException).code ?? error.message}`);
    violations.set(conn.id, list);
  },
  onClose: (conn, info) => closes.set(conn.id, info),
};
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, closeTimeoutMs: 1500, handshakeTimeoutMs });
let url = '';
let port = 0;
const peers: RawPeer[] = [];

beforeAll(async () => {
  ({ url, port } = await server.listen());
});
afterAll(async () => {
  for (const peer of peers) peer.destroy();
  await server.close();
});

async function rawPeer(): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.push(peer);
  return peer;
}

/** After the server's FIN: close our side too and wait until the socket is gone. */
async function finish(peer: RawPeer): Promise<void> {
  peer.socket.end();
  await peer.waitFor(() => peer.closed, 5000, 'the raw socket to close');
}

// ------------------------------------------------------------------------------------ frames

interface FrameCase {
  name: string;
  bytes: Uint8Array;
  closeCode: number;
  violation: string;
}

const frameCases: FrameCase[] = [
  { name: 'unmasked client frame', bytes: encodeFrame({ opcode: Opcode.Text, payload: utf8('hi'), maskKey: null }), closeCode: 1002, violation: 'WS_ERR_UNMASKED_CLIENT_FRAME' },
  { name: 'RSV1 set', bytes: frame({ opcode: Opcode.Text, payload: utf8('hi'), rsv1: true }), closeCode: 1002, violation: 'WS_ERR_RESERVED_BITS' },
  { name: 'RSV2 and RSV3 set', bytes: frame({ opcode: Opcode.Binary, payload: utf8('hi'), rsv2: true, rsv3: true }), closeCode: 1002, violation: 'WS_ERR_RESERVED_BITS' },
  { name: 'reserved data opcode 0x3', bytes: frame({ opcode: 0x3, payload: utf8('hi') }), closeCode: 1002, violation: 'WS_ERR_RESERVED_OPCODE' },
  { name: 'reserved control opcode 0xB', bytes: frame({ opcode: 0xb }), closeCode: 1002, violation: 'WS_ERR_RESERVED_OPCODE' },
  { name: 'control frame > 125 bytes (126-byte ping)', bytes: frame({ opcode: Opcode.Ping, payload: new Uint8Array(126) }), closeCode: 1002, violation: 'WS_ERR_CONTROL_FRAME_TOO_LONG' },
  { name: 'fragmented control frame (ping, FIN clear)', bytes: frame({ opcode: Opcode.Ping, fin: false }), closeCode: 1002, violation: 'WS_ERR_FRAGMENTED_CONTROL_FRAME' },
  { name: 'continuation without a start', bytes: frame({ opcode: Opcode.Continuation, payload: utf8('orphan') }), closeCode: 1002, violation: 'WS_ERR_UNEXPECTED_CONTINUATION' },
  {
    name: 'new text message inside a fragmented one',
    bytes: concat(frame({ opcode: Opcode.Text, payload: utf8('a'), fin: false }), frame({ opcode: Opcode.Text, payload: utf8('b') })),
    closeCode: 1002, violation: 'WS_ERR_EXPECTED_CONTINUATION',
  },
  { name: 'invalid UTF-8 in a text message', bytes: frame({ opcode: Opcode.Text, payload: new Uint8Array([0x61, 0xc3, 0x28]) }), closeCode: 1007, violation: 'WS_ERR_INVALID_UTF8' },
  { name: 'text message ending mid-character', bytes: frame({ opcode: Opcode.Text, payload: new Uint8Array([0x61, 0xe2, 0x9c]) }), closeCode: 1007, violation: 'WS_ERR_INVALID_UTF8' },
  { name: 'UTF-16 surrogate encoded in UTF-8 (ED A0 80)', bytes: frame({ opcode: Opcode.Text, payload: new Uint8Array([0xed, 0xa0, 0x80]) }), closeCode: 1007, violation: 'WS_ERR_INVALID_UTF8' },
  { name: '1-byte close body', bytes: frame({ opcode: Opcode.Close, payload: new Uint8Array([0x03]) }), closeCode: 1002, violation: 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE' },
  { name: 'close code 1005 on the wire', bytes: frame({ opcode: Opcode.Close, payload: encodeClosePayload(1005) }), closeCode: 1002, violation: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'close code 999', bytes: frame({ opcode: Opcode.Close, payload: encodeClosePayload(999) }), closeCode: 1002, violation: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'close code 5000', bytes: frame({ opcode: Opcode.Close, payload: encodeClosePayload(5000) }), closeCode: 1002, violation: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'invalid UTF-8 in a close reason', bytes: frame({ opcode: Opcode.Close, payload: new Uint8Array([0x03, 0xe8, 0xff]) }), closeCode: 1007, violation: 'WS_ERR_INVALID_CLOSE_REASON' },
  {
    name: '64-bit length with the most significant bit set',
    bytes: new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05, ...MASK]),
    closeCode: 1002, violation: 'WS_ERR_LENGTH_MSB_SET',
  },
  {
    name: 'declared length of 1 TiB (over maxMessageSize, header only)',
    bytes: frame({ opcode: Opcode.Binary, declaredLength: 2 ** 40 }),
    closeCode: 1009, violation: 'WS_ERR_MESSAGE_TOO_BIG',
  },
];

describe('protocol violations after a valid handshake', () => {
  it.each(frameCases)('$name → Close $closeCode, TCP closed, server still echoes', async ({ bytes, closeCode, violation }) => {
    const peer = await rawPeer();
    opens.clear();
    await peer.handshake();
    const conn = await opens.next(5000, 'the server connection');
    peer.write(bytes);
    await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP');
    const frames = parseFrames(peer.received);
    expect(frames.length).toBeGreaterThanOrEqual(1);
    const close = frames.at(-1)!;
    expect(close.opcode).toBe(Opcode.Close);
    expect(close.masked).toBe(false);
    expect(close.payload.length).toBeGreaterThanOrEqual(2);
    expect(close.payload.length).toBeLessThanOrEqual(125);
    expect(close.payload.readUInt16BE(0)).toBe(closeCode);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(close.payload.subarray(2))).not.toThrow();
    // Nothing else was sent: no echo of the bad frame.
    expect(frames.filter((f) => f.opcode !== Opcode.Close)).toEqual([]);
    expect(peer.error).toBeNull();
    await finish(peer);
    const info = await withTimeout(conn.closed(), 5000, 'the server connection to close');
    expect(info.wasClean).toBe(false);
    expect(info.code).toBe(closeCode);
    expect(violations.get(conn.id)).toContain(violation);
    await eventually(() => !server.connections.has(conn.id), 5000, 'the connection to leave server.connections');
    await assertServerEchoes(url);
  });
});

// ------------------------------------------------------------------------------------ HTTP

interface HttpCase {
  name: string;
  request: string;
  status: number;
  headers?: Record<string, string>;
}

const goodHeaders = 'Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

const httpCases: HttpCase[] = [
  { name: 'garbage HTTP head', request: 'this is not HTTP at all\r\n\r\n', status: 400 },
  { name: 'binary garbage head', request: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 \x00\x01\r\n\r\n', status: 400 },
  { name: 'header line without a colon', request: `GET / HTTP/1.1\r\n${goodHeaders}NoColonHere\r\n\r\n`, status: 400 },
  { name: 'oversized head (> 16 KiB, never ends)', request: `GET / HTTP/1.1\r\n${goodHeaders}X-Filler: ${'a'.repeat(17 * 1024)}`, status: 431 },
  { name: 'POST', request: `POST / HTTP/1.1\r\n${goodHeaders}Sec-WebSocket-Version: 13\r\n\r\n`, status: 405, headers: { allow: 'GET' } },
  { name: 'wrong Sec-WebSocket-Version (8)', request: `GET / HTTP/1.1\r\n${goodHeaders}Sec-WebSocket-Version: 8\r\n\r\n`, status: 426, headers: { 'sec-websocket-version': '13' } },
  {
    name: 'plain GET without Upgrade',
    request: 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', status: 426, headers: { upgrade: 'websocket', 'sec-websocket-version': '13' },
  },
  { name: 'HTTP/1.0', request: `GET / HTTP/1.0\r\n${goodHeaders}Sec-WebSocket-Version: 13\r\n\r\n`, status: 505 },
  { name: 'missing Sec-WebSocket-Key', request: 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n', status: 400 },
];

function parseHttpResponse(bytes: Buffer): { status: number; statusLine: string; headers: Record<string, string> } {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end < 0 ? undefined : end).split('\r\n');
  const statusLine = lines[0] ?? '';
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]), statusLine, headers };
}

describe('bad opening handshakes', () => {
  it.each(httpCases)('$name → HTTP $status, TCP closed, server still echoes', async ({ request, status, headers }) => {
    const peer = await rawPeer();
    peer.write(Buffer.from(request, 'latin1'));
    await peer.waitFor(() => peer.ended, 5000, 'the server to close TCP');
    const response = parseHttpResponse(peer.received);
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(response.status).toBe(status);
    for (const [name, value] of Object.entries(headers ?? {})) expect(response.headers[name]).toBe(value);
    expect(response.headers['connection']?.toLowerCase()).toBe('close');
    // The body length matches Content-Length, so a browser or curl can show the explanation.
    const bodyStart = peer.received.indexOf('\r\n\r\n') + 4;
    expect(peer.received.length - bodyStart).toBe(Number(response.headers['content-length']));
    await finish(peer);
    await assertServerEchoes(url);
  });

  it('a refused handshake does not leak its Connection (server.connections drains, closed() resolves)', async () => {
    const before = new Set(server.connections.keys());
    const peer = await rawPeer();
    peer.write(`POST / HTTP/1.1\r\n${goodHeaders}Sec-WebSocket-Version: 13\r\n\r\n`);
    await peer.waitFor(() => peer.ended, 5000, 'the 405 and FIN');
    await finish(peer);
    const added = [...server.connections.values()].filter((c) => !before.has(c.id));
    // Every refused connection must be forgotten once its socket is gone.
    await eventually(() => added.every((c) => !server.connections.has(c.id)), 3000, 'the refused connection to leave server.connections');
    for (const conn of added) await withTimeout(conn.closed(), 1000, 'closed() of a refused connection');
  });

  it(`a client that sends half a head and stalls is dropped after handshakeTimeoutMs (${handshakeTimeoutMs} ms)`, async () => {
    // Timed from before connecting: the server's timer starts when it accepts, which under load may
    // be well before this process gets round to our 'connect' (708 ms from there in a run under load).
    const started = Date.now();
    const peer = await rawPeer();
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await peer.waitFor(() => peer.ended, handshakeTimeoutMs + 4000, 'the server to drop the stalled client');
    expect(Date.now() - started).toBeGreaterThanOrEqual(handshakeTimeoutMs - 50);
    await finish(peer);
    await assertServerEchoes(url);
  });
});

// ------------------------------------------------------------------------------------ vanishing peers

describe('peers that vanish', () => {
  it('a peer that destroys its socket mid-frame leaves the server fine (1006, not clean)', async () => {
    const peer = await rawPeer();
    opens.clear();
    await peer.handshake();
    const conn = await opens.next();
    // Header of a 1000-byte binary frame, then 10 bytes of its payload, then gone.
    const whole = frame({ opcode: Opcode.Binary, payload: new Uint8Array(1000).fill(7) });
    peer.write(whole.subarray(0, 8 + 10));
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    const info = await withTimeout(conn.closed(), 5000, 'the server connection to close');
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false });
    expect(closes.get(conn.id)).toEqual(info);
    await eventually(() => !server.connections.has(conn.id), 5000, 'the connection to leave server.connections');
    await assertServerEchoes(url);
  });

  it('a peer that vanishes inside the frame header leaves the server fine', async () => {
    const peer = await rawPeer();
    opens.clear();
    await peer.handshake();
    const conn = await opens.next();
    peer.write(new Uint8Array([0x82, 0xff, 0x00]));
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    expect((await withTimeout(conn.closed(), 5000, 'close')).code).toBe(1006);
    await assertServerEchoes(url);
  });

  it('a peer that resets the connection (RST) mid-message leaves the server fine', async () => {
    const peer = await rawPeer();
    opens.clear();
    await peer.handshake();
    const conn = await opens.next();
    peer.write(frame({ opcode: Opcode.Text, payload: utf8('first half'), fin: false }));
    await new Promise((r) => setTimeout(r, 50));
    peer.socket.resetAndDestroy();
    const info = await withTimeout(conn.closed(), 5000, 'close');
    expect(info.wasClean).toBe(false);
    expect(info.code).toBe(1006);
    await assertServerEchoes(url);
  });

  it('a peer that vanishes in the middle of the handshake leaves the server fine', async () => {
    const peer = await rawPeer();
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr');
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    await assertServerEchoes(url);
  });

  it('many violating peers in parallel, then the server still echoes', async () => {
    const bad = await Promise.all(frameCases.map(async (c) => {
      const peer = await rawPeer();
      await peer.handshake();
      peer.write(c.bytes);
      return peer;
    }));
    await Promise.all(bad.map((peer) => peer.waitFor(() => peer.ended, 5000, 'FIN')));
    for (const peer of bad) peer.destroy();
    await assertServerEchoes(url);
  });
});

// ------------------------------------------------------------------------------------ odd but legal peers

describe('odd but legal TCP segmentation', () => {
  const head = 'GET /seg HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const textFrame = frame({ opcode: Opcode.Text, payload: utf8('seg ✓') });

  function expectEcho(peer: RawPeer): void {
    const received = peer.received;
    const end = received.indexOf('\r\n\r\n') + 4;
    expect(received.subarray(0, end).toString('latin1')).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const frames = parseFrames(received.subarray(end));
    expect(frames[0]).toMatchObject({ opcode: Opcode.Text, fin: true, masked: false });
    expect(frames[0]!.payload.toString('utf8')).toBe('seg ✓');
  }

  it('handshake and first frame in one TCP write', async () => {
    const peer = await rawPeer();
    peer.write(concat(Buffer.from(head, 'latin1'), textFrame));
    await peer.waitFor(() => { const r = peer.received; const end = r.indexOf('\r\n\r\n'); return end >= 0 && parseFrames(r.subarray(end + 4)).length > 0; }, 5000, 'the echo');
    expectEcho(peer);
    peer.destroy();
  });

  it('handshake and frame dribbled one byte at a time', async () => {
    const peer = await rawPeer();
    const all = concat(Buffer.from(head, 'latin1'), textFrame);
    for (const byte of all) {
      peer.write(new Uint8Array([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await peer.waitFor(() => { const r = peer.received; const end = r.indexOf('\r\n\r\n'); return end >= 0 && parseFrames(r.subarray(end + 4)).length > 0; }, 5000, 'the echo');
    expectEcho(peer);
    peer.destroy();
  });
});

// ------------------------------------------------------------------------------------ client and listen errors

describe('client and listen errors, in plain words', () => {
  it('connecting to a refused port rejects `opened` with a ConnectError that says "refused"', async () => {
    const { connection, opened } = connectClient(`ws://127.0.0.1:${REFUSED_PORT}/`);
    const error = await withTimeout(opened.then(() => null, (e: unknown) => e), 10_000, 'the connect to fail');
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toMatch(/refused/i);
    expect((error as ConnectError).code).toBe('ECONNREFUSED');
    connection.destroy();
  });

  it.each(['http//x', 'ws://h/#frag', 'ftp://x', 'not a url', 'ws://'])('connectClient(%j) throws UrlError', (bad) => {
    expect(() => connectClient(bad)).toThrow(UrlError);
  });

  it('a server that answers 200 instead of 101 rejects `opened` with a ConnectError naming the status', async () => {
    const { createServer } = await import('node:net');
    const fake = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const address = fake.address();
      const fakePort = address && typeof address === 'object' ? address.port : 0;
      const { connection, opened } = connectClient(`ws://127.0.0.1:${fakePort}/`);
      const error = await withTimeout(opened.then(() => null, (e: unknown) => e), 5000, 'the handshake to fail');
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as Error).message).toContain('200');
      connection.destroy();
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('listening twice on the same port rejects with ListenError "already in use"', async () => {
    const second = new WebSocketServer({ host: '127.0.0.1', port, component: echoComponent });
    const error = await second.listen().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as ListenError).message).toMatch(/already in use/);
    expect((error as ListenError).code).toBe('EADDRINUSE');
    await assertServerEchoes(url);
  });
});
