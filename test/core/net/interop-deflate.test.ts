/**
 * permessage-deflate (RFC 7692) against peers nobody here wrote, both directions, over real
 * sockets on 127.0.0.1: ws with perMessageDeflate, Debian's python3-websockets (compression on by
 * default) and python3-aiohttp, and Chromium's own WebSocket. Each exchange checks the payloads
 * end to end and, in our trace, that frames went compressed (RSV1) both ways with their plain
 * bytes, so a silent fallback to no compression fails.
 */

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import type { DeflateOptions } from '../../../src/core/extensions/permessage-deflate.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { IncomingMessage } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { launchChromium } from '../../support/chromium.ts';
import { AsyncQueue, MiB, sha256, withTimeout, wsMessages } from './helpers.ts';
import { FIXTURES, PYTHON, pythonEnv, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from './python-peer.ts';

const DEFLATE_PEER = `${FIXTURES}deflate_peer.py`;

/** JSON-like text of exactly n bytes (ASCII), as chat and API traffic look. */
function jsonText(n: number): string {
  let out = '';
  for (let i = 0; out.length < n; i++) out += JSON.stringify({ id: i, user: `user${i % 97}`, text: `message number ${i}`, tags: ['a', 'b'], ok: i % 3 === 0 }) + ',';
  return out.slice(0, n);
}

const SIZES = [64, 1024, 16 * 1024, 256 * 1024, MiB];

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;

function recorder() {
  const tracer = new Tracer();
  const events: TraceEvent[] = [];
  tracer.subscribe((e) => events.push(e));
  return {
    tracer, events,
    frames: (id: string, direction: 'in' | 'out') => events.filter((e): e is Frame => e.type === 'frame' && e.connectionId === id && e.direction === direction && e.frame.opcode <= 2),
    messages: (id: string, direction: 'in' | 'out') => events.filter((e): e is Message => e.type === 'message' && e.connectionId === id && e.direction === direction),
    agreed: (id: string) => events.find((e) => e.type === 'handshake' && e.connectionId === id && e.type === 'handshake') as Extract<TraceEvent, { type: 'handshake' }> | undefined,
  };
}

/**
 * What our trace must show for a connection that compressed every message both ways: each
 * message's first frame has RSV1, its plain bytes equal the message, and the message says both
 * forms. `minCompressed` messages each way at least (a peer may send tiny ones uncompressed).
 */
function expectCompressedBothWays(rec: ReturnType<typeof recorder>, id: string, minCompressed: number): void {
  for (const direction of ['in', 'out'] as const) {
    const messages = rec.messages(id, direction);
    const compressed = messages.filter((m) => m.compression);
    expect(compressed.length, `${direction}: compressed messages`).toBeGreaterThanOrEqual(minCompressed);
    for (const m of compressed) {
      const firstFrame = rec.frames(id, direction).find((f) => f.frame.frameId === m.frameIds[0]);
      expect(firstFrame?.frame.rsv1, `${direction}: RSV1 on the first frame`).toBe(true);
      expect(firstFrame?.frame.deflate?.first).toBe(true);
      expect(m.compression!.compressedSize).toBeGreaterThan(0);
    }
    // A JSON-like message of 16 KiB shrinks on the wire several times over.
    const big = compressed.find((m) => m.size === 16 * 1024);
    if (big) expect(big.compression!.ratio!).toBeGreaterThan(3);
  }
}

async function ourClientExchange(url: string, deflate?: DeflateOptions) {
  const rec = recorder();
  const received = new AsyncQueue<IncomingMessage>();
  const { opened } = connectClient(url, { onMessage: (_c, m) => received.push(m) }, { tracer: rec.tracer, maxMessageSize: 64 * MiB, ...(deflate ? { deflate } : {}) });
  const conn = await withTimeout(opened, 10_000, `our client to open ${url}`);
  for (const n of SIZES) {
    const text = jsonText(n);
    conn.sendText(text);
    const back = await received.next(20_000, `the echo of ${n} bytes`);
    expect(back.text?.length).toBe(n);
    expect(back.text === text).toBe(true);
  }
  const random = randomBytes(64 * 1024);
  conn.sendBinary(random);
  expect(sha256((await received.next(20_000, 'the binary echo')).data)).toBe(sha256(random));
  conn.sendFragmented(1, new TextEncoder().encode(jsonText(3000)), [1000, 1000]);
  expect((await received.next(20_000, 'the fragmented echo')).text).toBe(jsonText(3000));
  conn.close(1000, 'done');
  await withTimeout(conn.closed(), 10_000, 'close');
  return { rec, id: conn.id };
}

// ====================================================================================== ws

describe('ws with perMessageDeflate', () => {
  const variants: Array<[string, DeflateOptions | undefined, object]> = [
    ['context takeover (defaults)', undefined, { threshold: 0 }],
    ['no context takeover either way', { serverNoContextTakeover: true, clientNoContextTakeover: true }, { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 }],
  ];

  describe.each(variants)('%s', (_name, ours, theirs) => {
    it('our client → ws server: every size both ways compressed, payloads equal', async () => {
      const ws = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: theirs, maxPayload: 64 * MiB });
      await new Promise((r) => ws.once('listening', r));
      ws.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
      try {
        const { rec, id } = await ourClientExchange(`ws://127.0.0.1:${(ws.address() as AddressInfo).port}/`, ours);
        const handshake = rec.agreed(id)!;
        expect(handshake.extensions?.agreed?.name).toBe('permessage-deflate');
        if (ours) expect(handshake.extensions?.response).toMatch(/server_no_context_takeover/);
        expectCompressedBothWays(rec, id, SIZES.length + 2);
        const inbound = rec.messages(id, 'in').map((m) => m.compression!.contextTakeover);
        expect(inbound.slice(1).every((carried) => carried === !ours)).toBe(true);
      } finally {
        ws.close();
      }
    });

    it('ws client → our server: every size both ways compressed, payloads equal', async () => {
      const rec = recorder();
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer: rec.tracer, maxMessageSize: 64 * MiB, ...(ours ? { deflate: ours } : {}) });
      const { url } = await server.listen();
      try {
        const client = new WebSocket(url, { perMessageDeflate: theirs, maxPayload: 64 * MiB });
        await withTimeout(new Promise((r) => client.once('open', r)), 10_000, 'ws to open');
        expect(client.extensions).toMatch(/^permessage-deflate/);
        const queue = wsMessages(client);
        for (const n of SIZES) {
          const text = jsonText(n);
          client.send(text);
          const back = await queue.next(20_000, `echo of ${n}`);
          expect(back.data.toString('utf8') === text).toBe(true);
        }
        const random = randomBytes(64 * 1024);
        client.send(random);
        expect(sha256((await queue.next(20_000, 'binary echo')).data)).toBe(sha256(random));
        client.close(1000);
        await withTimeout(new Promise((r) => client.once('close', r)), 10_000, 'ws close');
        const id = [...new Set(rec.events.filter((e) => e.type === 'frame').map((e) => e.connectionId))][0]!;
        expectCompressedBothWays(rec, id, SIZES.length + 1);
      } finally {
        await server.close();
      }
    });
  });
});

// ====================================================================================== python

function requireAiohttp(): string {
  const probe = spawnSync(PYTHON, ['-c', 'import aiohttp; print(aiohttp.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 15_000 });
  if (probe.status !== 0) throw new Error(`${PYTHON} cannot import aiohttp: ${probe.stderr.trim()}. Install it with: apt-get install -y python3-aiohttp`);
  return probe.stdout.trim();
}

describe.each([['python3-websockets', 'websockets'], ['python3-aiohttp', 'aiohttp']] as const)('%s with compression on', (_pkg, lib) => {
  beforeAll(() => {
    if (lib === 'websockets') requirePythonWebsockets();
    else requireAiohttp();
  });

  // aiohttp's client cannot ask for no context takeover; python-websockets can.
  const clientCases: Array<readonly [string, boolean]> = lib === 'websockets' ? [['context takeover', false], ['no context takeover, asked by python', true]] : [['context takeover', false]];
  it.each(clientCases)('python client → our server (%s): every message echoed, compressed both ways', async (_name, noTakeover) => {
    const rec = recorder();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer: rec.tracer, maxMessageSize: 64 * MiB });
    const { url } = await server.listen();
    try {
      const run = await runPython([DEFLATE_PEER, 'client', lib, url, ...(noTakeover ? ['--no-context-takeover'] : [])], 60_000);
      const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { ok: boolean; extensions: string; results: Array<{ name: string; ok: boolean }> };
      expect(run.code, run.stderr).toBe(0);
      expect(result.results.filter((r) => !r.ok)).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.extensions).toMatch(/^permessage-deflate/);
      if (noTakeover) expect(result.extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
      const id = [...new Set(rec.events.filter((e) => e.type === 'frame').map((e) => e.connectionId))][0]!;
      expectCompressedBothWays(rec, id, 5);
      if (lib === 'websockets') {
        // python sent 3 fragments (websockets 10 adds an empty final frame): RSV1 on the first only,
        // the tail appended after the last, and the plain bytes of each frame adding up.
        const fragmented = rec.messages(id, 'in').find((m) => m.size === 350);
        expect(fragmented?.compression).toBeDefined();
        expect(fragmented!.frameIds.length).toBeGreaterThanOrEqual(3);
        const fragments = rec.frames(id, 'in').filter((f) => fragmented!.frameIds.includes(f.frame.frameId));
        expect(fragments.map((f) => f.frame.rsv1)).toEqual(fragments.map((_f, i) => i === 0));
        expect(fragments.map((f) => f.frame.deflate?.tail ?? null)).toEqual(fragments.map((_f, i) => (i === fragments.length - 1 ? 'appended' : null)));
        expect(fragments.reduce((n, f) => n + f.frame.deflate!.inflatedLength, 0)).toBe(350);
      }
    } finally {
      await server.close();
    }
  });

  // python-websockets' server can impose no context takeover unasked (RFC 7692 §7.1.1.1 and §7.1.1.2 allow it).
  const serverCases: Array<readonly [string, boolean]> = lib === 'websockets' ? [['its defaults', false], ['imposing no context takeover', true]] : [['its defaults', false]];
  it.each(serverCases)('our client → python server (%s): every size both ways compressed, payloads equal', async (_name, noTakeover) => {
    let peer: PythonServer | null = null;
    try {
      peer = await startPythonServer([DEFLATE_PEER, 'server', lib, ...(noTakeover ? ['--no-context-takeover'] : [])]);
      const { rec, id } = await ourClientExchange(`ws://127.0.0.1:${peer.port}/`);
      expect(rec.agreed(id)?.extensions?.agreed?.name).toBe('permessage-deflate');
      expectCompressedBothWays(rec, id, SIZES.length + 2);
      const open = peer.events.find((e) => e['event'] === 'open');
      expect(open?.['extensions']).toMatch(/^permessage-deflate/);
      if (noTakeover) {
        expect(rec.agreed(id)?.extensions?.agreed?.deflate).toMatchObject({ serverNoContextTakeover: true, clientNoContextTakeover: true });
        // Neither direction carries its window over: every message starts fresh.
        for (const direction of ['in', 'out'] as const) expect(rec.messages(id, direction).every((m) => m.compression?.contextTakeover === false)).toBe(true);
      }
    } finally {
      await peer?.stop();
    }
  });
});

// ====================================================================================== Chromium

describe("Chromium's WebSocket → our server", () => {
  let browser: Browser;
  let page: HttpServer;
  let pageUrl = '';

  beforeAll(async () => {
    page = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>deflate</title>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    page?.close();
  });

  it('offers permessage-deflate; every message goes compressed both ways (RSV1), payloads equal', async () => {
    const rec = recorder();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer: rec.tracer, maxMessageSize: 64 * MiB });
    const { url } = await server.listen();
    try {
      const tab = await browser.newPage();
      await tab.goto(pageUrl);
      const sizes = [64, 16 * 1024, MiB];
      // Browser-side code as a string: the page sends each JSON-like text and reports the echoes.
      const result = await tab.evaluate(`new Promise((resolve) => {
        const jsonText = ${jsonText.toString()};
        const sizes = ${JSON.stringify(sizes)};
        const ws = new WebSocket(${JSON.stringify(url)});
        const got = [];
        ws.onopen = () => ws.send(jsonText(sizes[0]));
        ws.onmessage = (e) => {
          got.push(e.data === jsonText(sizes[got.length]));
          if (got.length < sizes.length) ws.send(jsonText(sizes[got.length]));
          else { ws.close(1000); resolve({ got, extensions: ws.extensions }); }
        };
        ws.onclose = (e) => resolve({ got, extensions: ws.extensions, code: e.code });
      })`) as { got: boolean[]; extensions: string };
      expect(result.got).toEqual([true, true, true]);
      expect(result.extensions).toBe('permessage-deflate');
      const handshake = rec.events.find((e) => e.type === 'handshake') as Extract<TraceEvent, { type: 'handshake' }>;
      expect(handshake.extensions?.offered).toBe('permessage-deflate; client_max_window_bits');
      expect(handshake.extensions?.offers[0]?.verdict).toBe('accepted');
      const id = handshake.connectionId;
      expectCompressedBothWays(rec, id, 3);
      const inbound = rec.messages(id, 'in');
      expect(inbound.map((m) => m.size)).toEqual(sizes);
      expect(inbound.map((m) => m.text === jsonText(m.size))).toEqual([true, true, true]);
      await tab.close();
    } finally {
      await server.close();
    }
  }, 60_000);
});
