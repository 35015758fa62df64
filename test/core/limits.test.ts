/**
 * The configurable limits (RFC 6455 §10.4 and the HTTP head), at each layer that carries them:
 * ProtocolOptions (sans-I/O), ServerOptions (embedded server, raw TCP peers), ClientOptions
 * (our client against the `ws` package). 127.0.0.1 and port 0 only.
 */

import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../src/core/apps/index.ts';
import { concatBytes, fromHex } from '../../src/core/bytes.ts';
import { CloseCode, Defaults, FRAGMENT_COST, Opcode } from '../../src/core/constants.ts';
import { violationTable } from '../../src/core/errors.ts';
import { encodeFrame, type FrameSpec } from '../../src/core/frame-codec.ts';
import { connectClient, ConnectError } from '../../src/core/net/client.ts';
import type { CloseInfo } from '../../src/core/net/connection.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import type { ProtocolOptions } from '../../src/core/protocol.ts';
import { eventsOf, openProtocol } from './fuzz/generators.ts';
import { parseFrames, RawPeer, withTimeout } from './net/helpers.ts';

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const clientFrame = (spec: FrameSpec) => encodeFrame({ maskKey: KEY, ...spec });
const bytesOf = (n: number) => new Uint8Array(n).fill(0x61);

/** Feeds client frames to an open server protocol; returns the violation codes and the messages. */
function run(options: Partial<ProtocolOptions>, frames: Uint8Array[]) {
  const p = openProtocol('server', options);
  p.receiveData(concatBytes(frames));
  const events = p.events();
  return {
    violations: eventsOf(events, 'violation').map((e) => [e.violation.code, e.violation.closeCode] as const),
    messages: eventsOf(events, 'message').map((e) => e.data.length),
    p,
  };
}

describe('violation table entries for the limits', () => {
  it.each([
    ['WS_ERR_FRAME_TOO_BIG', 1009, '§10.4'],
    ['WS_ERR_MESSAGE_TOO_BIG', 1009, '§7.4.1'],
    ['WS_ERR_TOO_MANY_FRAGMENTS', 1008, '§10.4'],
  ] as const)('%s → %i (%s)', (code, closeCode, section) => {
    expect(violationTable[code].closeCode).toBe(closeCode);
    expect(violationTable[code].rfcSection).toBe(section);
    expect(violationTable[code].rule.length).toBeGreaterThan(20);
  });

  it('defaults: 4,096 fragments, 16 KiB head, 10 s handshake, no separate frame limit', () => {
    expect(Defaults.maxFragments).toBe(4096);
    expect(Defaults.maxHeadSize).toBe(16 * 1024);
    expect(Defaults.handshakeTimeoutMs).toBe(10_000);
  });
});

describe('maxFrameSize (ProtocolOptions)', () => {
  it('a frame of exactly the limit passes; one byte more fails with 1009 at its header', () => {
    expect(run({ maxFrameSize: 100 }, [clientFrame({ opcode: Opcode.Binary, payload: bytesOf(100) })])).toMatchObject({ violations: [], messages: [100] });
    const over = clientFrame({ opcode: Opcode.Binary, payload: bytesOf(101) });
    // Header only (2 + 4 bytes): no payload byte needed to refuse it.
    const { violations, p } = run({ maxFrameSize: 100 }, [over.subarray(0, 6)]);
    expect(violations).toEqual([['WS_ERR_FRAME_TOO_BIG', 1009]]);
    expect(p.closeSent?.code).toBe(1009);
  });

  it('limits single frames, not messages: fragments each under it may add up to more', () => {
    const frames = [
      clientFrame({ opcode: Opcode.Binary, payload: bytesOf(100), fin: false }),
      clientFrame({ opcode: Opcode.Continuation, payload: bytesOf(100), fin: false }),
      clientFrame({ opcode: Opcode.Continuation, payload: bytesOf(100) }),
    ];
    expect(run({ maxFrameSize: 100 }, frames)).toMatchObject({ violations: [], messages: [300] });
  });

  it('applies to control frames too', () => {
    expect(run({ maxFrameSize: 10 }, [clientFrame({ opcode: Opcode.Ping, payload: bytesOf(11) })]).violations).toEqual([['WS_ERR_FRAME_TOO_BIG', 1009]]);
  });

  it('with a frame limit above the message limit, the message limit still applies (1009 WS_ERR_MESSAGE_TOO_BIG)', () => {
    expect(run({ maxFrameSize: 1000, maxMessageSize: 50 }, [clientFrame({ opcode: Opcode.Text, payload: bytesOf(51) })]).violations).toEqual([['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
  });
});

describe('maxFragments (ProtocolOptions)', () => {
  const fragmented = (n: number, pingEvery = 0) => {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      frames.push(clientFrame({ opcode: i === 0 ? Opcode.Text : Opcode.Continuation, payload: bytesOf(1), fin: i === n - 1 }));
      if (pingEvery && i % pingEvery === 0 && i < n - 1) frames.push(clientFrame({ opcode: Opcode.Ping }));
    }
    return frames;
  };

  it('a message of exactly the limit passes; one frame more fails with 1008 when that frame\'s header arrives', () => {
    expect(run({ maxFragments: 5 }, fragmented(5))).toMatchObject({ violations: [], messages: [5] });
    const { violations, p } = run({ maxFragments: 5 }, fragmented(6));
    expect(violations).toEqual([['WS_ERR_TOO_MANY_FRAGMENTS', 1008]]);
    expect(p.closeSent?.code).toBe(CloseCode.PolicyViolation);
  });

  it('control frames between fragments do not count, and the count starts again with each message', () => {
    expect(run({ maxFragments: 5 }, [...fragmented(5, 1), ...fragmented(5), ...fragmented(1)])).toMatchObject({ violations: [], messages: [5, 5, 1] });
  });

  it('the default stops an endless stream of empty fragments at 4,096, holding nothing for them', () => {
    const first = clientFrame({ opcode: Opcode.Binary, fin: false });
    const empty = clientFrame({ opcode: Opcode.Continuation, fin: false });
    const p = openProtocol('server');
    p.receiveData(first);
    p.receiveData(concatBytes(Array.from({ length: 4095 }, () => empty))); // 4,096 frames
    expect(eventsOf(p.events(), 'violation')).toEqual([]);
    // Nothing is held for an empty fragment, and without a trace no frame id either.
    expect(p.messageInProgress()).toEqual({ frames: 4096, bytes: 0, heldChunks: 0, heldFrameIds: 0 });
    p.receiveData(empty); // frame 4,097 is refused
    const [violation] = eventsOf(p.events(), 'violation');
    expect([violation?.violation.code, violation?.violation.closeCode]).toEqual(['WS_ERR_TOO_MANY_FRAGMENTS', 1008]);
    expect(p.closeSent?.code).toBe(CloseCode.PolicyViolation);
  });

  it('the issue\'s message of 99,999 empty fragments (586 KiB on the wire) fails at frame 4,097 and keeps nothing more', () => {
    const frames = [clientFrame({ opcode: Opcode.Text, fin: false })];
    for (let i = 1; i < 99_999; i++) frames.push(clientFrame({ opcode: Opcode.Continuation, fin: i === 99_998 }));
    const wire = concatBytes(frames);
    expect(wire.length).toBe(99_999 * 6);
    const p = openProtocol('server', { trace: () => {} });
    p.receiveData(wire);
    const events = p.events();
    expect(eventsOf(events, 'violation').map((e) => [e.violation.code, e.violation.closeCode])).toEqual([['WS_ERR_TOO_MANY_FRAGMENTS', 1008]]);
    expect(eventsOf(events, 'message')).toEqual([]);
    // With a trace, frame ids are kept for the message trace, but never more than the limit allows.
    const held = p.messageInProgress();
    expect(held?.heldChunks).toBe(0);
    expect(held?.heldFrameIds).toBeLessThanOrEqual(Defaults.maxFragments);
    expect(p.state).toBe('CLOSING');
  });
});

describe('lengths from 2^53 on are told exactly (§5.2: 64-bit lengths up to 2^63 - 1)', () => {
  const header = (lengthHex: string) => fromHex(`82 ff ${lengthHex} 37 fa 21 3d`);

  it.each([
    ['00 20 00 00 00 00 00 00', '9007199254740992'],
    ['00 20 00 00 00 00 00 01', '9007199254740993'],
    ['7f ff ff ff ff ff ff ff', '9223372036854775807'],
  ])('a header declaring %s fails with 1009 naming %s bytes, not 9007199254740991', (lengthHex, exact) => {
    const p = openProtocol('server');
    p.receiveData(header(lengthHex));
    const [v] = eventsOf(p.events(), 'violation');
    expect([v?.violation.code, v?.violation.closeCode]).toEqual(['WS_ERR_MESSAGE_TOO_BIG', 1009]);
    expect(v?.violation.message).toBe(`The frame alone declares ${exact} (more than 2^53) bytes; the message limit is ${Defaults.maxMessageSize}.`);
    expect(p.closeSent?.reason).toContain(exact);
  });

  it('the frame limit says it the same way', () => {
    const p = openProtocol('server', { maxFrameSize: 1000 });
    p.receiveData(header('00 20 00 00 00 00 00 01'));
    const [v] = eventsOf(p.events(), 'violation');
    expect([v?.violation.code, v?.violation.message]).toEqual(['WS_ERR_FRAME_TOO_BIG', 'The frame declares 9007199254740993 (more than 2^53) payload bytes; the frame limit is 1000.']);
  });
});

describe('fragments cost toward maxMessageSize (§10.4)', () => {
  const ones = (n: number) => Array.from({ length: n }, (_, i) => clientFrame({ opcode: i === 0 ? Opcode.Binary : Opcode.Continuation, payload: bytesOf(1), fin: i === n - 1 }));

  it(`every frame after the first costs ${FRAGMENT_COST} bytes: 16 one-byte fragments fit in 1000 (16 + 15 × ${FRAGMENT_COST} = 976), the 17th fails with 1009`, () => {
    expect(run({ maxMessageSize: 1000 }, ones(16))).toMatchObject({ violations: [], messages: [16] });
    const { violations, p } = run({ maxMessageSize: 1000 }, ones(17));
    expect(violations).toEqual([['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
    expect(p.closeSent?.code).toBe(CloseCode.MessageTooBig);
  });

  it('says what the message would cost, payload and fragments apart', () => {
    const p = openProtocol('server', { maxMessageSize: 1000 });
    p.receiveData(concatBytes(ones(17)));
    const [v] = eventsOf(p.events(), 'violation');
    expect(v?.violation.message).toBe(`The message would be ${17 + 16 * FRAGMENT_COST} bytes (17 payload bytes + ${FRAGMENT_COST} for each of 16 fragments after the first); the limit is 1000.`);
  });

  it('empty fragments cost too: a stream of them runs into the message limit, not only the fragment limit', () => {
    const frames = [clientFrame({ opcode: Opcode.Binary, fin: false }), ...Array.from({ length: 100 }, () => clientFrame({ opcode: Opcode.Continuation, fin: false }))];
    const { violations, p } = run({ maxMessageSize: 10 * FRAGMENT_COST, maxFragments: 1000 }, frames);
    expect(violations).toEqual([['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
    expect(p.messageInProgress()?.frames).toBe(11);
  });

  it('an unfragmented message of exactly the limit still passes (one frame costs only its payload)', () => {
    expect(run({ maxMessageSize: 100 }, [clientFrame({ opcode: Opcode.Binary, payload: bytesOf(100) })])).toMatchObject({ violations: [], messages: [100] });
    expect(run({ maxMessageSize: 100 }, [clientFrame({ opcode: Opcode.Binary, payload: bytesOf(101) })]).violations).toEqual([['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
  });
});

// ------------------------------------------------------------------ the embedded server

const opened: string[] = [];
const closes = new Map<string, CloseInfo>();
const server = new WebSocketServer({
  port: 0, // host: the default, 127.0.0.1
  component: { ...echoComponent, name: 'echo-limits', onOpen: (c) => void opened.push(c.id), onClose: (c, info) => void closes.set(c.id, info) },
  maxFrameSize: 1000, maxMessageSize: 4000, maxFragments: 3, maxHeadSize: 512, handshakeTimeoutMs: 600, closeTimeoutMs: 500,
});
let port = 0;
const peers: RawPeer[] = [];

beforeAll(async () => {
  ({ port } = await server.listen());
});
afterAll(async () => {
  for (const peer of peers) peer.destroy();
  await server.close();
});

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.open(port);
  peers.push(p);
  return p;
}

/** Sends bytes after a handshake and returns the close code the server answered with. */
async function closeCodeFor(bytes: Uint8Array): Promise<number> {
  const p = await peer();
  await p.handshake();
  p.write(bytes);
  await p.waitFor(() => parseFrames(p.received).some((f) => f.opcode === Opcode.Close), 5000, 'the server\'s Close');
  const close = parseFrames(p.received).find((f) => f.opcode === Opcode.Close)!;
  await p.waitFor(() => p.ended, 5000, 'the server to close TCP');
  return close.payload.readUInt16BE(0);
}

describe('ServerOptions carry the limits to every connection', () => {
  it('binds 127.0.0.1 when no host is given', () => {
    expect(server.address?.host).toBe('127.0.0.1');
  });

  it('maxFrameSize: a 1001-byte frame gets Close 1009; a 1000-byte one is echoed', async () => {
    expect(await closeCodeFor(clientFrame({ opcode: Opcode.Binary, payload: bytesOf(1001) }))).toBe(1009);
    const p = await peer();
    await p.handshake();
    p.write(clientFrame({ opcode: Opcode.Binary, payload: bytesOf(1000) }));
    await p.waitFor(() => parseFrames(p.received).length === 1, 5000, 'the echo');
    expect(parseFrames(p.received)[0]!.payload.length).toBe(1000);
  });

  it('maxFragments: a fourth fragment gets Close 1008', async () => {
    const frames = [0, 1, 2, 3].map((i) => clientFrame({ opcode: i === 0 ? Opcode.Text : Opcode.Continuation, payload: bytesOf(2), fin: i === 3 }));
    expect(await closeCodeFor(concatBytes(frames))).toBe(1008);
  });

  it('maxHeadSize: a 600-byte head gets 431 with a plain-text body', async () => {
    const p = await peer();
    p.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(600)}\r\n\r\n`);
    await p.waitFor(() => p.ended, 5000, 'the server to close TCP');
    const text = p.received.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(text).toMatch(/\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  });

  it('handshakeTimeoutMs: a client that sends half a head is dropped after ~600 ms', async () => {
    const p = await peer();
    const started = Date.now();
    p.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await p.waitFor(() => p.closed || p.ended, 5000, 'the server to drop the connection');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(3000);
    expect(p.received.length).toBe(0);
  });
});

// ------------------------------------------------------------------ our client

describe('ClientOptions carry the limits', () => {
  let wss: WsServer;
  let wsUrl = '';
  let silent: NetServer;
  let silentPort = 0;
  const silentSockets: Socket[] = [];

  beforeAll(async () => {
    wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    // The ws server sends whatever the path asks for once the client connects.
    wss.on('headers', (headers, request) => {
      if (request.url === '/big-head') headers.push(`X-Pad: ${'b'.repeat(3000)}`);
    });
    wss.on('connection', (ws, request) => {
      ws.on('error', () => {});
      const url = request.url ?? '/';
      if (url === '/big-frame') ws.send(Buffer.alloc(2000, 1));
      if (url === '/many-fragments') {
        for (let i = 0; i < 5; i++) ws.send(Buffer.from([i]), { fin: i === 4, binary: true });
      }
    });
    silent = createNetServer((s) => {
      silentSockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const s of silentSockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
  });

  function connectAndClose(path: string, options: Parameters<typeof connectClient>[2]) {
    const violations: string[] = [];
    const client = connectClient(wsUrl + path.slice(1), { onViolation: (_c, v) => void violations.push(v.code) }, { closeTimeoutMs: 500, ...options });
    return { client, violations };
  }

  it('maxFrameSize: a 2000-byte frame from ws fails the client with 1009', async () => {
    const { client, violations } = connectAndClose('/big-frame', { maxFrameSize: 1000 });
    await client.opened;
    const info = await withTimeout(client.connection.closed(), 5000, 'the client to close');
    expect(violations).toEqual(['WS_ERR_FRAME_TOO_BIG']);
    expect(info.code).toBe(1009);
  });

  it('maxFragments: a 5-frame message from ws fails the client with 1008', async () => {
    const { client, violations } = connectAndClose('/many-fragments', { maxFragments: 4 });
    await client.opened;
    const info = await withTimeout(client.connection.closed(), 5000, 'the client to close');
    expect(violations).toEqual(['WS_ERR_TOO_MANY_FRAGMENTS']);
    expect(info.code).toBe(1008);
  });

  it('maxHeadSize: a 3 kB response head fails the handshake', async () => {
    const { client } = connectAndClose('/big-head', { maxHeadSize: 1024 });
    await expect(client.opened).rejects.toThrow(ConnectError);
    await expect(client.opened).rejects.toThrow(/exceeds 1024 bytes/);
  });

  it('connectTimeoutMs: a server that accepts TCP but never answers the handshake is given up on', async () => {
    const started = Date.now();
    const client = connectClient(`ws://127.0.0.1:${silentPort}/`, {}, { connectTimeoutMs: 400 });
    await expect(client.opened).rejects.toThrow(/No answer from 127\.0\.0\.1:\d+ in time \(ETIMEDOUT\)/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
