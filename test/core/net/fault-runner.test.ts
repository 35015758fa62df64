/**
 * Every fault preset fired at real peers: our own server and client, and the `ws` package.
 * Our engine must react exactly as the RFC requires; ws is recorded as a reference.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { faultPresets, presetsFor } from '../../../src/core/faults.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { fireFault, watchReaction } from '../../../src/core/net/fault-runner.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { encodeFrame } from '../../../src/core/frame-codec.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';

const tracer = new Tracer();
tracer.subscribe(() => {});
let ours: WebSocketServer;
let ws: WsServer;
let wsUrl: string;

beforeAll(async () => {
  // These connections agree no extension, so the presets fired here are those for such a connection
  // (rsv1-set among them: with permessage-deflate agreed, RSV1 means "compressed"). The RFC 7692
  // presets are fired at compressing peers in fault-runner-deflate.test.ts.
  ours = new WebSocketServer({ port: 0, component: echoComponent, tracer, deflate: false });
  await ours.listen();
  ws = new WsServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => ws.once('listening', r));
  ws.on('connection', (s) => {
    s.on('error', () => {}); // ws reports each injected violation as an error: that is the point
    s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
  });
  wsUrl = `ws://127.0.0.1:${(ws.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await ours.close();
  ws.close();
});

async function openClient(url: string): Promise<Connection> {
  const { opened } = connectClient(url, {}, { tracer, deflate: false });
  return opened;
}

/** Every preset that can be fired where no extension was agreed. */
const plainPresets = presetsFor({ extension: null });

describe('fault presets', () => {
  it('has at least 20 presets, each with an explanation, an RFC section and an expected reaction', () => {
    expect(faultPresets.length).toBeGreaterThanOrEqual(20);
    expect(new Set(faultPresets.map((p) => p.id)).size).toBe(faultPresets.length);
    for (const p of faultPresets) {
      expect(p.rfcSection).toMatch(/^(§|RFC 7692 §)\d/);
      expect(p.explanation.length).toBeGreaterThan(20);
      expect(p.expected.length).toBeGreaterThan(0);
    }
  });

  it('without an extension agreed, every preset but the RFC 7692 ones can be fired', () => {
    expect(plainPresets.map((p) => p.id)).toEqual(faultPresets.filter((p) => p.needs !== 'permessage-deflate').map((p) => p.id));
    expect(plainPresets.map((p) => p.id)).toContain('rsv1-set');
  });

  it.each(plainPresets.map((p) => [p.id, p] as const))('our server reacts to "%s" as the RFC requires', async (_id, preset) => {
    const conn = await openClient(ours.url);
    const result = await fireFault(conn, preset, tracer, { windowMs: 800 });
    expect({ id: preset.id, actual: result.actualText, asExpected: result.asExpected }).toEqual({ id: preset.id, actual: result.actualText, asExpected: true });
    conn.destroy();
  });

  it.each(plainPresets.map((p) => [p.id, p] as const))('our client reacts to "%s" from the server side as the RFC requires', async (_id, preset) => {
    // Our server fires the preset at our own client (echoing), so the client role is judged.
    let serverSide!: Connection;
    const gotServerSide = new Promise<void>((resolve) => {
      const server = new WebSocketServer({ port: 0, tracer, deflate: false, component: { name: 'fire', onOpen: (c) => { serverSide = c; resolve(); } } });
      void server.listen().then(({ url }) => {
        connectClient(url, { onMessage: (c, m) => { if (c.state === 'OPEN') m.text !== undefined ? c.sendText(m.text) : c.sendBinary(m.data); } }, { tracer, deflate: false });
      });
      cleanups.push(() => server.close());
    });
    await gotServerSide;
    const result = await fireFault(serverSide, preset, tracer, { windowMs: 800 });
    expect({ id: preset.id, actual: result.actualText, asExpected: result.asExpected }).toEqual({ id: preset.id, actual: result.actualText, asExpected: true });
  });

  it('records how ws reacts to each preset (reference)', async () => {
    const outcomes: string[] = [];
    let matching = 0;
    for (const preset of plainPresets) {
      const conn = await openClient(wsUrl);
      const result = await fireFault(conn, preset, tracer, { windowMs: 600 });
      outcomes.push(`${result.asExpected ? '✓' : '✗'} ${preset.id}: ${result.actualText}`);
      if (result.asExpected) matching++;
      conn.destroy();
    }
    console.log(`[faults vs ws] ${matching}/${plainPresets.length} as the RFC requires\n${outcomes.join('\n')}`);
    // ws is strict about framing: the 1002 cases must all come back as 1002 or a drop.
    expect(matching).toBeGreaterThanOrEqual(plainPresets.length - 4);
  }, 60_000);
});

describe('the reaction window', () => {
  it('ends after what had come by then is read: a reaction that came while this process was held up past it counts', async () => {
    // The peer (ws) runs in another process, so its reaction can arrive while this one is held up
    // (a loaded machine) for longer than the window. Held up, a process runs its due timers before
    // it reads its sockets: the window's end must not call a reaction that is here, unread, "nothing".
    const dir = mkdtempSync(join(tmpdir(), 'wsi-window-'));
    const reacted = join(dir, 'reacted');
    const peer = spawn(process.execPath, ['-e', `
      const { writeFileSync } = require('node:fs');
      const { WebSocketServer } = require('ws');
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      server.on('listening', () => console.log(server.address().port));
      // ws writes its Close 1002 for the RSV1 bit, then reports the error.
      server.on('connection', (s) => s.on('error', () => writeFileSync(${JSON.stringify(reacted)}, 'closed')));
    `], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => peer.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const conn = await openClient(`ws://127.0.0.1:${port}/`);
      const windowMs = 100;
      const watch = watchReaction(tracer, conn.id, windowMs);
      // A masked text frame "hi" with RSV1 set, which no extension agreed gives a meaning (§5.2).
      const key = [1, 2, 3, 4];
      await conn.writeCrafted(Uint8Array.from([0xc1, 0x82, ...key, 'h'.charCodeAt(0) ^ key[0]!, 'i'.charCodeAt(0) ^ key[1]!]));
      watch.stop();
      // Held up (no turn of the event loop) until the peer has reacted, and past the window.
      const until = performance.now() + 2 * windowMs;
      for (const limit = performance.now() + 10_000; (!existsSync(reacted) || performance.now() < until) && performance.now() < limit;) { /* busy */ }
      expect(existsSync(reacted), 'the peer reacted within 10 s').toBe(true);
      expect(await watch.result).toEqual({ kind: 'close', code: 1002, reason: expect.any(String) });
      conn.destroy();
    } finally {
      peer.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('a fault fired while a crafted frame goes out in timed pieces', () => {
  it('waits its turn: announced, watched and traced after that frame, and judged on its own reaction', async () => {
    const events: TraceEvent[] = [];
    const own = new Tracer();
    own.subscribe((e) => events.push(e));
    const { opened } = connectClient(wsUrl, {}, { tracer: own, deflate: false });
    const conn = await opened;
    // An unsolicited Pong: the peer answers nothing (§5.5.3), so whatever it answers is the fault's.
    const slow = encodeFrame({ opcode: 0xa, payload: new TextEncoder().encode('slow pong'), maskKey: Uint8Array.of(1, 2, 3, 4) });
    const crafting = conn.writeCrafted(slow, { chunks: [2, 2], delayMs: 150 });
    const result = await fireFault(conn, faultPresets.find((p) => p.id === 'ping-payload')!, own);
    await crafting;
    expect(result.asExpected).toBe(true);
    const mine = events.filter((e) => e.connectionId === conn.id);
    const lastSlowPiece = mine.findLastIndex((e) => e.type === 'bytes' && e.direction === 'out' && e.bytes.length === slow.length - 4);
    const announced = mine.findIndex((e) => e.type === 'note' && e.text.startsWith('Fault preset "Ping with a payload (valid)" (§5.5.2): expecting'));
    expect(lastSlowPiece).toBeGreaterThan(-1);
    expect(announced).toBeGreaterThan(lastSlowPiece);
    conn.close(1000, 'done');
    await conn.closed();
  });
});
