/**
 * The web host: static files from a renderer directory (a temporary stand-in, so no build is
 * needed), the HTTP bridge (POST /api/<function>) and the server-sent event stream, against a
 * real `ws` client of the embedded server.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { TraceEvent } from '../../src/core/trace.ts';
import { startWebHost, TOKEN_HEADER, type WebHost } from '../../src/host/web-host.ts';
import type { InspectorStatus, ServiceBatch } from '../../src/shared/inspector-api.ts';
import { decodeWireJson } from '../../src/shared/wire-json.ts';
import { BatchRecordReader, decodeBatch } from '../../src/shared/trace-batch.ts';
import { AsyncQueue, openWs, withTimeout, wsMessages } from '../core/net/helpers.ts';

const INDEX_HTML = '<!doctype html><html><head><title>stand-in renderer</title></head><body><div id="root"></div></body></html>';
const APP_JS = 'console.log("stand-in renderer");\n';
const SECRET = 'outside the renderer directory';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let root = '';
let rendererDir = '';
let host: WebHost;
let port = 0;
const sockets: WebSocket[] = [];
const openRequests: ClientRequest[] = [];

/**
 * One raw HTTP request: the path goes on the wire exactly as given (no URL normalisation). With a
 * body it is a call as the app's page makes it (JSON, with the run's token) unless `headers` says otherwise.
 */
function http(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<Reply> {
  const asThePage = body === undefined ? {} : { 'Content-Type': 'application/json', [TOKEN_HEADER]: host.token };
  return withTimeout(new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: headers ?? asThePage }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  }), 5000, `${method} ${path}`);
}

async function api<T>(name: string, arg?: unknown, rawBody?: string): Promise<T> {
  const reply = await http('POST', `/api/${name}`, rawBody ?? (arg === undefined ? '' : JSON.stringify(arg)));
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  return decodeWireJson<T>(reply.body);
}

/** Opens /api/events and queues every decoded batch. */
function openEvents(): Promise<{ headers: IncomingHttpHeaders; status: number; batches: AsyncQueue<ServiceBatch>; req: ClientRequest }> {
  return withTimeout(new Promise((resolve, reject) => {
    const batches = new AsyncQueue<ServiceBatch>();
    const req = request({ host: '127.0.0.1', port, path: '/api/events', method: 'GET', headers: { [TOKEN_HEADER]: host.token } }, (res) => {
      const records = new BatchRecordReader();
      res.on('data', (chunk: Buffer) => {
        for (const data of records.push(chunk)) batches.push(decodeBatch(data));
      });
      res.on('error', () => {});
      resolve({ headers: res.headers, status: res.statusCode ?? 0, batches, req });
    });
    req.on('error', reject);
    openRequests.push(req);
    req.end();
  }), 5000, 'the event stream');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsi-web-host-'));
  rendererDir = join(root, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), INDEX_HTML);
  writeFileSync(join(rendererDir, 'assets', 'app.js'), APP_JS);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ secret: SECRET }));
  writeFileSync(join(root, 'secret.txt'), SECRET);
  // A sibling whose name starts with the renderer directory's name.
  mkdirSync(join(root, 'renderer-secret'));
  writeFileSync(join(root, 'renderer-secret', 'x.txt'), SECRET);
  host = await startWebHost({ rendererDir });
  port = Number(new URL(host.url).port);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  for (const req of openRequests) req.destroy();
  await host?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('web host: static files', () => {
  it('listens on 127.0.0.1 with a port of its own', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(port).toBeGreaterThan(0);
  });

  it('GET / serves index.html as text/html', async () => {
    const reply = await http('GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    // index.html carries this run's token for the page's bridge, and nothing else changed.
    expect(reply.body).toBe(INDEX_HTML.replace('<head>', `<head>\n    <meta name="inspector-token" content="${host.token}" />`));
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const again = await http('GET', '/index.html?x=1');
    expect(again.body).toBe(reply.body);
    expect(reply.headers['x-frame-options']).toBe('DENY');
    expect(reply.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
  });

  it('GET /assets/app.js serves JavaScript', async () => {
    const reply = await http('GET', '/assets/app.js');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(reply.body).toBe(APP_JS);
  });

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/..%2fpackage.json',
    '/%2e%2e%2fsecret.txt',
    '/assets/../../secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..%5csecret.txt',
    '/../renderer-secret/x.txt',
    '/..%2frenderer-secret%2fx.txt',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/assets',
    '/missing.html',
  ])('GET %s is 404 and leaks nothing', async (path) => {
    const reply = await http('GET', path);
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain(SECRET);
    expect(reply.body).not.toContain('root:');
  });

  it.each(['/%E0%A4%A', '/%', '/assets/%zz'])('GET %s (malformed percent-encoding) is refused and the host keeps serving', async (path) => {
    const reply = await http('GET', path);
    expect([400, 404]).toContain(reply.status);
    expect((await http('GET', '/')).status).toBe(200);
  });
});

describe('web host: API bridge and events', () => {
  it('unknown /api/x is a 404 with a JSON body', async () => {
    const reply = await http('POST', '/api/x', '{}');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual({ ok: false, error: expect.stringContaining('/api/x') });
    // A known function by GET is not a call either; nor is an inherited property name.
    expect((await http('GET', '/api/getStatus')).status).toBe(404);
    expect((await http('POST', '/api/toString', '')).status).toBe(404);
    expect((await http('POST', '/api/constructor', '')).status).toBe(404);
  });

  it('starts the embedded server, streams status and frames (payload as Uint8Array)', async () => {
    const events = await openEvents();
    expect(events.status).toBe(200);
    expect(events.headers['content-type']).toMatch(/^application\/octet-stream/);
    const first = await events.batches.next(5000, 'the first event');
    expect(first.events).toEqual([]);
    expect(first.status?.server).toMatchObject({ running: false });

    const started = await api<{ ok: boolean; url?: string; error?: string }>('startServer', { port: 0, host: '127.0.0.1' });
    expect(started).toEqual({ ok: true, url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/$/) });
    const status = await api<InspectorStatus>('getStatus');
    expect(status.server).toMatchObject({ running: true, url: started.url });

    const ws = await openWs(started.url!);
    sockets.push(ws);
    const echoes = wsMessages(ws);
    ws.send(Buffer.from([0xca, 0xfe, 0x00, 0xff]));
    await echoes.next(5000, 'the echo');

    const seen: TraceEvent[] = [];
    let sawRunning = false;
    await withTimeout((async () => {
      for (;;) {
        const batch = await events.batches.next(5000, 'a batch');
        if (batch.status?.server.running) sawRunning = true;
        seen.push(...batch.events);
        if (seen.some((e) => e.type === 'frame' && e.direction === 'out' && e.frame.opcode === 2)) return;
      }
    })(), 8000, 'the echo frame on the event stream');
    expect(sawRunning).toBe(true);
    const inFrame = seen.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.direction === 'in' && e.frame.opcode === 2)!;
    expect(inFrame.frame.payload).toBeInstanceOf(Uint8Array);
    expect([...inFrame.frame.payload]).toEqual([0xca, 0xfe, 0x00, 0xff]);
    expect(inFrame.frame.raw).toBeInstanceOf(Uint8Array);
    expect(inFrame.frame.maskKey).toBeInstanceOf(Uint8Array);
    const message = seen.find((e) => e.type === 'message' && e.direction === 'in');
    expect(message).toMatchObject({ type: 'message', size: 4 });
    if (message?.type === 'message') expect(message.data).toBeInstanceOf(Uint8Array);

    // The connection can be driven from the bridge: send to it by id.
    const conn = (await api<InspectorStatus>('getStatus')).connections.find((c) => c.role === 'server' && c.state === 'OPEN')!;
    expect(await api('send', { connectionId: conn.id, kind: 'text', text: 'from the bridge' })).toEqual({ ok: true });
    expect((await echoes.next(5000, 'the bridge text')).data.toString('utf8')).toBe('from the bridge');
    expect(await api('setServerApp', 'manual')).toEqual({ ok: true });
    expect(await api('dropConnection', conn.id)).toEqual({ ok: true });
  });

  it.each([
    ['not JSON', '{nope'],
    ['no body', ''],
    ['a string', '"text"'],
    ['no connectionId', JSON.stringify({ kind: 'text', text: 'x' })],
    ['unknown kind', JSON.stringify({ connectionId: 'a', kind: 'shout' })],
    ['fractional fragments', JSON.stringify({ connectionId: 'a', kind: 'text', text: 'x', fragments: [0.5] })],
    ['unknown connection', JSON.stringify({ connectionId: 'no-such', kind: 'text', text: 'x' })],
  ])('POST /api/send with %s answers {ok:false, error}', async (_what, body) => {
    const result = await api<{ ok: boolean; error?: string }>('send', undefined, body);
    expect(result.ok).toBe(false);
    expect(result.error).toEqual(expect.any(String));
  });

  it('other bad requests answer {ok:false} and the host keeps working', async () => {
    expect((await api<{ ok: boolean }>('startServer', { port: 'x' })).ok).toBe(false);
    expect((await api<{ ok: boolean }>('setServerApp', 'ratchet')).ok).toBe(false);
    expect((await api<{ ok: boolean }>('connectClient', { url: 1 })).ok).toBe(false);
    expect((await api<{ ok: boolean; error: string }>('connectClient', { url: 'nope' })).error).toMatch(/not a URL/);
    expect((await api<{ ok: boolean }>('dropConnection', 42)).ok).toBe(false);
    expect((await api<InspectorStatus>('getStatus')).server).toBeDefined();
  });

  it('refuses to start without an index.html, pointing at npm run build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wsi-no-renderer-'));
    try {
      await expect(startWebHost({ rendererDir: empty })).rejects.toThrow(/npm run build/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('web host: the bridge obeys only its own page', () => {
  const json = { 'Content-Type': 'application/json' };
  const call = (headers: Record<string, string>, body = '{}', name = 'getStatus') => http('POST', `/api/${name}`, body, headers);

  it('answers the page: its Host, its token, JSON', async () => {
    const reply = await call({ ...json, [TOKEN_HEADER]: host.token, Host: `localhost:${port}`, Origin: `http://localhost:${port}`, 'Sec-Fetch-Site': 'same-origin' }, '');
    expect(reply.status).toBe(200);
    expect(decodeWireJson<InspectorStatus>(reply.body).server).toBeDefined();
  });

  it.each([
    ['no token', { ...json }],
    ['a wrong token', { ...json, [TOKEN_HEADER]: 'x'.repeat(43) }],
    ['the token with a character changed', { ...json, [TOKEN_HEADER]: 'TOKEN!' }],
    ['text/plain (a no-cors fetch)', { 'Content-Type': 'text/plain', [TOKEN_HEADER]: 'TOKEN' }],
    ['a form post', { 'Content-Type': 'application/x-www-form-urlencoded', [TOKEN_HEADER]: 'TOKEN' }],
    ['multipart', { 'Content-Type': 'multipart/form-data; boundary=x', [TOKEN_HEADER]: 'TOKEN' }],
    ['no Content-Type', { [TOKEN_HEADER]: 'TOKEN' }],
    ['another Origin', { ...json, [TOKEN_HEADER]: 'TOKEN', Origin: 'http://attacker.example' }],
    ['Origin null (a sandboxed frame)', { ...json, [TOKEN_HEADER]: 'TOKEN', Origin: 'null' }],
    ['an Origin on another port', { ...json, [TOKEN_HEADER]: 'TOKEN', Origin: 'http://127.0.0.1:1' }],
    ['a rebound Host name', { ...json, [TOKEN_HEADER]: 'TOKEN', Host: 'attacker.example' }],
    ['a rebound Host name with our port', { ...json, [TOKEN_HEADER]: 'TOKEN', Host: 'attacker.example:PORT' }],
    ['our address on another port', { ...json, [TOKEN_HEADER]: 'TOKEN', Host: '127.0.0.1:1' }],
    ['a cross-site fetch', { ...json, [TOKEN_HEADER]: 'TOKEN', 'Sec-Fetch-Site': 'cross-site' }],
    ['a same-site (other port) fetch', { ...json, [TOKEN_HEADER]: 'TOKEN', 'Sec-Fetch-Site': 'same-site' }],
  ])('refuses a call with %s, runs nothing and reads no body', async (_what, given) => {
    const headers = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, v.replace('TOKEN', host.token).replace('PORT', String(port))]));
    const before = host.refusedRequests();
    const dir = mkdtempSync(join(tmpdir(), 'wsi-attack-'));
    try {
      const marker = join(dir, 'ran');
      const launch = `node -e "require('fs').writeFileSync(process.argv[1], 'x')" ${JSON.stringify(marker)} {url}`;
      const reply = await call(headers, JSON.stringify({ mode: 'client', launch, cases: ['1.1.1'] }), 'runConformance');
      expect([403, 415]).toContain(reply.status);
      expect(reply.body).toMatch(/^Refused/);
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
      expect(host.refusedRequests()).toBe(before + 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['ackEvents', 'rawCarriers', 'proxyCa', 'startProxy', 'upload'])('the newer surface %s goes through the same guard: no token, another Origin or a form type is refused', async (name) => {
    const path = name === 'upload' ? '/upload/recording?name=x.har&maxFrames=5000' : `/api/${name}`;
    const type = name === 'upload' ? 'application/octet-stream' : 'application/json';
    const body = name === 'upload' ? '{"log":{"entries":[]}}' : JSON.stringify(name === 'proxyCa' ? 'remove' : { stream: 1, seq: 1, connectionId: 'c1', firstFrameId: 1, lastFrameId: 1, listen: 'ws://127.0.0.1:0/', target: 'ws://127.0.0.1:1/' });
    const attempts: Record<string, string>[] = [
      { 'Content-Type': type },
      { 'Content-Type': type, [TOKEN_HEADER]: host.token, Origin: 'http://attacker.example' },
      { 'Content-Type': 'text/plain', [TOKEN_HEADER]: host.token },
      { 'Content-Type': type, [TOKEN_HEADER]: host.token, Host: `attacker.example:${port}` },
    ];
    for (const headers of attempts) {
      const before = host.refusedRequests();
      const reply = await http('POST', path, body, headers);
      expect([403, 415]).toContain(reply.status);
      expect(reply.body).toMatch(/^Refused/);
      expect(host.refusedRequests()).toBe(before + 1);
    }
    // With the page's credentials, a made-up stream is answered in one line, not run.
    if (name === 'ackEvents') expect(await api<{ ok: boolean; error: string }>('ackEvents', { stream: 999_999, seq: 1 })).toMatchObject({ ok: false, error: expect.stringMatching(/no such event stream/) });
  });

  it('refuses every CORS preflight, with no CORS headers', async () => {
    const reply = await http('OPTIONS', '/api/startServer', undefined, {
      Origin: 'http://attacker.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-inspector-token',
    });
    expect(reply.status).toBe(403);
    expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('keeps the event stream and index.html (with the token) from a rebound Host', async () => {
    expect((await http('GET', '/api/events', undefined, { Host: `attacker.example:${port}`, [TOKEN_HEADER]: host.token })).status).toBe(403);
    expect((await http('GET', '/api/events', undefined, {})).status).toBe(403);
    const page = await http('GET', '/', undefined, { Host: `attacker.example:${port}` });
    expect(page.status).toBe(403);
    expect(page.body).not.toContain(host.token);
  });

  it('refuses a call from its headers, before reading its (here 8 MiB) body', async () => {
    const reply = await call({ 'Content-Type': 'text/plain', [TOKEN_HEADER]: host.token }, 'x'.repeat(8 * 1024 * 1024), 'send');
    expect(reply.status).toBe(415);
    expect((await call({ ...json, [TOKEN_HEADER]: host.token }, '')).status).toBe(200);
  });

  it('refuses to listen on a non-loopback address', async () => {
    await expect(startWebHost({ rendererDir, host: '0.0.0.0' })).rejects.toThrow(/this machine only/);
  });
});

describe('web host: a slow event-stream subscriber', () => {
  it('is capped: batches past the limit are dropped and counted, then it is told how many it missed', async () => {
    const limit = 256 * 1024;
    const slow = await startWebHost({ rendererDir, streamQueueLimitBytes: limit, service: new (await import('../../src/service/inspector-service.ts')).InspectorService({ batchIntervalMs: 2 }) });
    const slowPort = Number(new URL(slow.url).port);
    const started = await slow.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!started.ok) throw new Error(started.error);
    // A subscriber that reads the first bytes, then stops reading.
    let res!: import('node:http').IncomingMessage;
    await withTimeout(new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: slowPort, path: '/api/events', headers: { [TOKEN_HEADER]: slow.token } }, (r) => {
        res = r;
        r.once('data', () => { r.pause(); resolve(); });
      });
      req.on('error', reject);
      openRequests.push(req);
      req.end();
    }), 5000, 'the slow stream');
    const ws = await openWs(started.url);
    sockets.push(ws);
    const echoes = wsMessages(ws);
    const payload = 'x'.repeat(4000);
    let peak = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) ws.send(payload);
      for (let i = 0; i < 50; i++) await echoes.next(5000, 'an echo');
      await new Promise((r) => setTimeout(r, 5));
      for (const s of slow.streamStats()) peak = Math.max(peak, s.queuedBytes);
    }
    const [stats] = slow.streamStats();
    expect(stats!.droppedEvents).toBeGreaterThan(0);
    // Bounded: the limit plus at most one batch written before the limit was seen.
    expect(peak).toBeLessThan(limit + 2 * 1024 * 1024);
    // The subscriber reads again: it gets a batch saying how many events it missed, with status.
    const missed = stats!.droppedEvents;
    const notice = await withTimeout(new Promise<ServiceBatch>((resolve) => {
      const records = new BatchRecordReader();
      res.on('data', (chunk: Buffer) => {
        for (const data of records.push(chunk)) {
          const batch = decodeBatch(data);
          if (batch.dropped) resolve(batch);
        }
      });
      res.resume();
    }), 10_000, 'the dropped-events notice');
    expect(notice.dropped).toBeGreaterThanOrEqual(missed);
    expect(notice.status?.server.running).toBe(true);
    await slow.close();
  }, 60_000);
});

describe('web host: close', () => {
  it('close() stops the HTTP server, the embedded server and ends event streams', async () => {
    const other = await startWebHost({ rendererDir });
    const otherPort = Number(new URL(other.url).port);
    const started = await other.service.startServer({ host: '127.0.0.1', port: 0 });
    if (!started.ok) throw new Error(started.error);
    const ws = await openWs(started.url);
    sockets.push(ws);
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // Wrapped in an object: resolving with a bare promise would wait for the stream to end.
    const stream = await withTimeout(new Promise<{ ended: Promise<void> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: otherPort, path: '/api/events', headers: { [TOKEN_HEADER]: other.token } }, (res) => {
        res.resume();
        resolve({ ended: new Promise<void>((done) => res.on('close', () => done())) });
      });
      req.on('error', reject);
      openRequests.push(req);
      req.end();
    }), 5000, 'the event stream');

    await withTimeout(other.close(), 5000, 'close()');
    await withTimeout(stream.ended, 5000, 'the event stream to end');
    expect(await withTimeout(wsClosed, 5000, 'the ws client to close')).toBe(1001);
    expect(other.service.getStatus().server.running).toBe(false);
    const refused = (port: number) => withTimeout(new Promise<string>((resolve) => {
      // A fresh socket (agent: false): a kept-alive one from the pool would be reset, not refused.
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(`answered ${res.statusCode}`);
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    }), 5000, 'a request after close');
    expect(await refused(otherPort)).toBe('ECONNREFUSED');
    expect(await refused(Number(new URL(started.url.replace('ws:', 'http:')).port))).toBe('ECONNREFUSED');
    // The shared host is unaffected.
    expect((await http('GET', '/')).status).toBe(200);
  });
});
