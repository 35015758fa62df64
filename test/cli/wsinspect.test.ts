/**
 * wsinspect end to end: spawned as a user runs it, talking to the real `ws` package.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { REFUSED_PORT } from '../core/net/helpers.ts';
import { killRunning, runCli as run, waitFor, type Run } from '../support/cli.ts';

afterEach(() => killRunning());

async function startServe(extra: string[] = []): Promise<{ run: Run; url: string }> {
  const r = run(['serve', '--port', '0', ...extra]);
  const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(r.stdout())?.[1] ?? /"url":"(ws:\/\/[^"]+)"/.exec(r.stdout())?.[1], `listening line (stdout: ${r.stdout()} stderr: ${r.stderr()})`);
  return { run: r, url };
}

/** A ws client without permessage-deflate (these tests read plain frames; test/cli/deflate.test.ts reads compressed ones). */
function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: string; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data.toString(), binary: isBinary })));
}

describe('wsinspect serve', () => {
  it('prints a listening line with the URL, echoes for a real ws client, and exits 0 on SIGTERM', async () => {
    const { run: serve, url } = await startServe(['--app', 'echo']);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const ws = await openWs(url);
    const reply = nextMessage(ws);
    ws.send('Hello ✓');
    expect(await reply).toEqual({ data: 'Hello ✓', binary: false });
    const binReply = nextMessage(ws);
    ws.send(Buffer.from([0, 1, 2, 255]));
    expect(await binReply).toEqual({ data: Buffer.from([0, 1, 2, 255]).toString(), binary: true });
    ws.close(1000, 'bye');
    await new Promise((r) => ws.once('close', r));
    // The pretty trace shows the handshake, the Accept computation and annotated frames.
    await waitFor(() => serve.stdout().includes('closed cleanly'), 'clean close in the trace');
    const out = serve.stdout();
    expect(out).toContain('✓ handshake (server side)');
    expect(out).toMatch(/SHA-1 {6}= [0-9a-f]{40}/);
    expect(out).toMatch(/frame #1 TEXT FIN masked key=[0-9a-f]{8} len=9/);
    expect(out).toContain('payload "Hello ✓"');
    expect(out).toContain('1000 Normal Closure reason "bye"');
    serve.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
  });

  it('broadcasts with --app chat', async () => {
    const { run: serve, url } = await startServe(['--app', 'chat', '--trace', 'none']);
    const a = await openWs(url);
    const b = await openWs(url);
    const atB = nextMessage(b);
    a.send('hi from a');
    expect((await atB).data).toBe('hi from a');
    a.close();
    b.close();
    serve.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
  });

  it('reports a port in use in one line and exits 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = run(['serve', '--port', String(port)]);
      expect(await r.exit).toBe(1);
      const lines = r.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Port ${port}`);
      expect(lines[0]).toContain('already in use');
    } finally {
      blocker.close();
    }
  });

  it('emits one JSON object per line with --trace jsonl', async () => {
    const { run: serve, url } = await startServe(['--trace', 'jsonl']);
    const ws = await openWs(url);
    const reply = nextMessage(ws);
    ws.send('json please');
    await reply;
    ws.close(1000);
    await waitFor(() => serve.stdout().includes('"connection-closed"'), 'connection-closed event');
    const events = serve.stdout().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'cli', event: 'listening', url });
    const handshake = events.find((e) => e['type'] === 'handshake') as { ok: boolean; accept: { accept: string } };
    expect(handshake.ok).toBe(true);
    const frames = events.filter((e) => e['type'] === 'frame') as Array<{ direction: string; frame: { masked: boolean; raw: { hex: string } } }>;
    expect(frames.filter((f) => f.direction === 'in').every((f) => f.frame.masked)).toBe(true);
    expect(frames.filter((f) => f.direction === 'out').every((f) => !f.frame.masked)).toBe(true);
    // The echo frame: unmasked text "json please" (11 bytes) is 81 0b + the UTF-8 bytes.
    expect(frames.some((f) => f.direction === 'out' && f.frame.raw.hex === '810b' + Buffer.from('json please').toString('hex'))).toBe(true);
    const seqs = events.filter((e) => typeof e['seq'] === 'number').map((e) => e['seq'] as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    serve.child.kill('SIGTERM');
    await serve.exit;
  });
});

describe('wsinspect connect', () => {
  it('works through npx as the README says, sends --send messages and exits 0 after a clean close', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const got: string[] = [];
    wss.on('connection', (s) => s.on('message', (d) => {
      got.push(d.toString());
      s.send(`re: ${d.toString()}`);
    }));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/path?q=1`;
    try {
      const r = run(['wsinspect', 'connect', url, '--send', 'one', '--send', 'two'], {}, 'npx', ['--no-install']);
      expect(await r.exit).toBe(0);
      expect(got).toEqual(['one', 'two']);
      expect(r.stdout()).toContain('→ GET /path?q=1 HTTP/1.1');
      expect(r.stdout()).toContain('✓ matches the wire');
      expect(r.stdout()).toContain('message text 7 bytes: "re: one"');
      expect(r.stdout()).toContain('closed cleanly 1000');
    } finally {
      wss.close();
    }
  });

  it('with --echo sends back every message and exits 0 when the peer closes', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const echoed: Array<{ data: string; binary: boolean }> = [];
    wss.on('connection', (s) => {
      s.send('first');
      s.send(Buffer.from('second'), { binary: true });
      s.on('message', (d, isBinary) => {
        echoed.push({ data: d.toString(), binary: isBinary });
        if (echoed.length === 2) s.close(4001, 'enough');
      });
    });
    try {
      const r = run(['connect', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, '--echo', '--trace', 'none']);
      expect(await r.exit).toBe(0);
      expect(echoed).toEqual([{ data: 'first', binary: false }, { data: 'second', binary: true }]);
    } finally {
      wss.close();
    }
  });

  it.each([
    ['a URL that is not one', 'not a url', 2, /is not a URL/],
    ['an ftp:// URL', 'ftp://127.0.0.1:1/', 2, /not a WebSocket scheme/],
    ['a URL with a fragment', 'ws://127.0.0.1:1/#x', 2, /fragment/],
  ])('rejects %s with one line and a non-zero exit', async (_name, url, code, pattern) => {
    const r = run(['connect', url]);
    expect(await r.exit).toBe(code);
    const lines = r.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  });

  it('reports a refused connection in one line and exits 1', async () => {
    const r = run(['connect', `ws://127.0.0.1:${REFUSED_PORT}/`, '--trace', 'none']);
    expect(await r.exit).toBe(1);
    expect(r.stderr().trim().split('\n')).toEqual([`wsinspect: Connection refused: nothing is listening on 127.0.0.1:${REFUSED_PORT} (ECONNREFUSED).`]);
  });

  it('reports a refused handshake with the status the server sent', async () => {
    const http = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    try {
      const r = run(['connect', `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, '--trace', 'none']);
      expect(await r.exit).toBe(1);
      expect(r.stderr()).toMatch(/HTTP 403/);
      expect(r.stderr().trim().split('\n')).toHaveLength(1);
    } finally {
      http.close();
    }
  });
});
