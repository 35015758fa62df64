/**
 * The RFC 7692 fault presets fired at real peers that agreed permessage-deflate, both ways: our
 * own server and client, ws with perMessageDeflate (server and client), and python-websockets
 * (Debian's python3-websockets, compression on by default; server and client). Each reaction is
 * asserted, and so is the judge's verdict on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { findPreset, presetsFor } from '../../../src/core/faults.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { faultContext, fireFault, type FaultResult } from '../../../src/core/net/fault-runner.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer } from '../../../src/core/trace.ts';
import { withTimeout } from './helpers.ts';
import { FIXTURES, PYTHON, pythonEnv, requirePythonWebsockets, startPythonServer, type PythonServer } from './python-peer.ts';

const tracer = new Tracer();
tracer.subscribe(() => {});

const deflatePresets = presetsFor({ extension: 'permessage-deflate' }).filter((p) => p.needs === 'permessage-deflate');
const WINDOW_MS = 1500;

/** What each peer answers, preset by preset (all of them the RFC's reaction). */
type Expected = Record<string, RegExp>;
const strict: Expected = {
  'deflate-rsv1-continuation': /^Close 1002/,
  'deflate-rsv1-control': /^Close 1002/,
  'deflate-corrupt': /^Close 1007/,
  'deflate-bomb': /^Close 1009/,
};
// python-websockets raises its ProtocolError for data that does not inflate: 1002, not 1007.
const python: Expected = { ...strict, 'deflate-corrupt': /^Close 1002/ };

function summary(r: FaultResult): { id: string; asExpected: boolean; actual: string } {
  return { id: r.presetId, asExpected: r.asExpected, actual: r.actualText };
}

function expectReactions(results: FaultResult[], expected: Expected): void {
  expect(results.map((r) => r.presetId).sort()).toEqual(Object.keys(expected).sort());
  for (const r of results) {
    expect(summary(r)).toEqual({ id: r.presetId, asExpected: true, actual: expect.stringMatching(expected[r.presetId]!) });
  }
}

/** Our client, with permessage-deflate on (the default), to a server URL. */
async function ourClient(url: string): Promise<Connection> {
  const { opened } = connectClient(url, {}, { tracer });
  const conn = await opened;
  expect(faultContext(conn)).toEqual({ extension: 'permessage-deflate' });
  return conn;
}

/** Fires every RFC 7692 preset, each on a fresh connection from `open`. */
async function fireEach(open: () => Promise<{ conn: Connection; done: () => void }>): Promise<FaultResult[]> {
  const results: FaultResult[] = [];
  for (const preset of deflatePresets) {
    const { conn, done } = await open();
    try {
      results.push(await fireFault(conn, preset, tracer, { windowMs: WINDOW_MS }));
    } finally {
      done();
    }
  }
  return results;
}

/** Our server: hands each connection that opens to whoever waits for the next one. */
class FiringServer {
  server = new WebSocketServer({ port: 0, tracer, component: { name: 'fire', onOpen: (c) => this.waiters.shift()?.(c) } });
  private waiters: Array<(c: Connection) => void> = [];
  url = '';
  async start(): Promise<void> {
    this.url = (await this.server.listen()).url;
  }
  /** The server side of the next connection, once open. */
  next(): Promise<Connection> {
    return withTimeout(new Promise<Connection>((resolve) => this.waiters.push(resolve)), 15_000, 'a client to connect');
  }
}

const firing = new FiringServer();
let ours: WebSocketServer;
let wss: WsServer;
let wsUrl: string;
let py: PythonServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  requirePythonWebsockets();
  await firing.start();
  ours = new WebSocketServer({ port: 0, component: echoComponent, tracer });
  await ours.listen();
  wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (s) => {
    s.on('error', () => {}); // ws reports each injected violation as an error: that is the point
    s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
  });
  wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  py = await startPythonServer([join(FIXTURES, 'deflate_peer.py'), 'server', 'websockets']);
}, 30_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await py?.stop();
  await ours?.close();
  await firing.server.close();
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
});

describe('RFC 7692 presets against servers that agreed permessage-deflate (our client fires)', () => {
  it('our server: 1002 for RSV1 out of place, 1007 for a corrupt stream, 1009 for a zip bomb', async () => {
    const results = await fireEach(async () => {
      const conn = await ourClient(ours.url);
      return { conn, done: () => conn.destroy() };
    });
    expectReactions(results, strict);
  }, 30_000);

  it('ws with perMessageDeflate: the same, each verdict ✓', async () => {
    const results = await fireEach(async () => {
      const conn = await ourClient(wsUrl);
      return { conn, done: () => conn.destroy() };
    });
    console.log(`[deflate presets vs ws server]\n${results.map((r) => `  ${r.presetId}: ${r.actualText}`).join('\n')}`);
    expectReactions(results, strict);
  }, 30_000);

  it('python-websockets (compression on by default): 1002 for a corrupt stream, which the judge accepts too', async () => {
    const results = await fireEach(async () => {
      const conn = await ourClient(`ws://127.0.0.1:${py.port}/`);
      return { conn, done: () => conn.destroy() };
    });
    console.log(`[deflate presets vs python-websockets server]\n${results.map((r) => `  ${r.presetId}: ${r.actualText}`).join('\n')}`);
    expectReactions(results, python);
  }, 30_000);

  it('a server without a message limit inflates the bomb and echoes it: judged not as the RFC requires', async () => {
    const lax = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true, maxPayload: 0 });
    await new Promise((r) => lax.once('listening', r));
    lax.on('connection', (s) => {
      s.on('error', () => {});
      s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
    });
    try {
      const conn = await ourClient(`ws://127.0.0.1:${(lax.address() as AddressInfo).port}/`);
      const r = await fireFault(conn, findPreset('deflate-bomb')!, tracer, { windowMs: 10_000 });
      conn.destroy();
      // ws's echo inflates past our own 64 MiB limit: we failed the connection, not the peer.
      expect(summary(r)).toEqual({ id: 'deflate-bomb', asExpected: false, actual: expect.stringMatching(/^a frame that broke a rule before any answer \(WS_ERR_INFLATED_TOO_BIG: .*we failed the connection with 1009$/) });
    } finally {
      for (const c of lax.clients) c.terminate();
      lax.close();
    }
  }, 30_000);

  it('a peer slow to answer the bomb (it inflates up to its limit first) is waited for: its 1009 counts, not "nothing"', async () => {
    // Found under load (two test runs at once, load 13): ws took over 1.5 s, the default window, to
    // inflate 100 MiB and answer, and the judge said it stayed silent. Here ws reads nothing for 2.5 s.
    const slow = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
    await new Promise((r) => slow.once('listening', r));
    slow.on('connection', (s, request) => {
      s.on('error', () => {});
      request.socket.pause();
      setTimeout(() => request.socket.resume(), 2500).unref();
    });
    try {
      const conn = await ourClient(`ws://127.0.0.1:${(slow.address() as AddressInfo).port}/`);
      const r = await fireFault(conn, findPreset('deflate-bomb')!, tracer, { windowMs: WINDOW_MS });
      conn.destroy();
      expect(summary(r)).toEqual({ id: 'deflate-bomb', asExpected: true, actual: expect.stringMatching(/^Close 1009/) });
    } finally {
      for (const c of slow.clients) c.terminate();
      slow.close();
    }
  }, 30_000);

  it('refuses rsv1-set where permessage-deflate was agreed (RSV1 means "compressed" there), saying why', async () => {
    const conn = await ourClient(ours.url);
    await expect(fireFault(conn, findPreset('rsv1-set')!, tracer)).rejects.toThrow(/agreed permessage-deflate.*RFC 7692 §6/);
    expect(conn.state).toBe('OPEN'); // nothing was sent
    conn.destroy();
  });
});

describe('RFC 7692 presets against clients that agreed permessage-deflate (our server fires)', () => {
  it('our client: 1002, 1002, 1007, 1009', async () => {
    const results = await fireEach(async () => {
      const side = firing.next();
      const { connection } = connectClient(firing.url, {
        onMessage: (c, m) => {
          if (c.state === 'OPEN') m.text !== undefined ? c.sendText(m.text) : c.sendBinary(m.data);
        },
      }, { tracer });
      const conn = await side;
      expect(faultContext(conn)).toEqual({ extension: 'permessage-deflate' });
      return { conn, done: () => connection.destroy() };
    });
    expectReactions(results, strict);
  }, 30_000);

  it('ws client (perMessageDeflate on by default): the same', async () => {
    const results = await fireEach(async () => {
      const side = firing.next();
      const client = new WebSocket(firing.url);
      client.on('error', () => {});
      client.on('message', (d, isBinary) => client.readyState === WebSocket.OPEN && client.send(d, { binary: isBinary }));
      const conn = await side;
      expect(faultContext(conn)).toEqual({ extension: 'permessage-deflate' });
      return { conn, done: () => client.terminate() };
    });
    console.log(`[deflate presets vs ws client]\n${results.map((r) => `  ${r.presetId}: ${r.actualText}`).join('\n')}`);
    expectReactions(results, strict);
  }, 30_000);

  it('python-websockets client (its default 1 MiB limit): 1002 for the corrupt stream, 1009 for the bomb', async () => {
    const results = await fireEach(async () => {
      const side = firing.next();
      const child = spawn(PYTHON, [join(FIXTURES, 'echo_client.py'), firing.url], { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const conn = await side;
      expect(faultContext(conn)).toEqual({ extension: 'permessage-deflate' });
      return { conn, done: () => child.kill('SIGKILL') };
    });
    console.log(`[deflate presets vs python-websockets client]\n${results.map((r) => `  ${r.presetId}: ${r.actualText}`).join('\n')}`);
    expectReactions(results, python);
  }, 60_000);
});
