/**
 * wsinspect's limit and security flags, spawned as a user runs them: --max-frame,
 * --max-fragments, --max-head, --handshake-timeout, --allow-origin on serve (and the limits on
 * connect); the 127.0.0.1 default and the warning for any other address. Real `ws` peers.
 */
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { RawPeer, withTimeout } from '../core/net/helpers.ts';
import { killRunning, runCli as run, waitFor, type Run } from '../support/cli.ts';

const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
  killRunning();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(extra: string[]): Promise<{ run: Run; url: string; port: number }> {
  const r = run(['serve', '--port', '0', '--trace', 'none', ...extra]);
  const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(r.stdout())?.[1], `the listening line (stdout: ${r.stdout()} stderr: ${r.stderr()})`);
  return { run: r, url, port: Number(new URL(url).port) };
}

/** Opens a `ws` client; resolves with it once open, or with the HTTP status and body of a refusal. */
function tryOpen(url: string, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket } | { status: number; contentType: string; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  }), 10_000, `ws to open ${url}`);
}

async function open(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const result = await tryOpen(url, options);
  if (!('ws' in result)) throw new Error(`refused with ${result.status}: ${result.body}`);
  cleanups.push(() => result.ws.terminate());
  return result.ws;
}

const closeOf = (ws: WebSocket) => withTimeout(new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 5000, 'the close');

describe('wsinspect serve: limit flags', () => {
  it('--help lists every limit and security flag', async () => {
    const r = run(['--help']);
    expect(await r.exit).toBe(0);
    for (const flag of ['--max-message BYTES', '--max-frame BYTES', '--max-fragments N', '--max-head BYTES', '--handshake-timeout MS', '--allow-origin ORIGIN', '--max-connections N', '--idle-timeout MS']) {
      expect(r.stdout()).toContain(flag);
    }
  });

  it('--max-frame 100: a 101-byte message is refused with 1009, a 100-byte one is echoed', async () => {
    const { url } = await serve(['--max-frame', '100']);
    const ok = await open(url);
    const echoed = new Promise<Buffer>((resolve) => ok.once('message', (d: Buffer) => resolve(d)));
    ok.send('a'.repeat(100));
    expect((await withTimeout(echoed, 5000, 'the echo')).length).toBe(100);
    const big = await open(url);
    const closed = closeOf(big);
    big.send('a'.repeat(101));
    expect(await closed).toMatchObject({ code: 1009 });
  });

  it('--max-fragments 2: a message in 3 frames is refused with 1008', async () => {
    const { url } = await serve(['--max-fragments', '2']);
    const ws = await open(url);
    const closed = closeOf(ws);
    ws.send('ab', { fin: false });
    ws.send('cd', { fin: false });
    ws.send('ef', { fin: true });
    expect(await closed).toMatchObject({ code: 1008 });
  });

  it('--max-head 300: a longer head gets 431', async () => {
    const { url } = await serve(['--max-head', '300']);
    const result = await tryOpen(url, { headers: { 'X-Pad': 'p'.repeat(400) } });
    expect(result).toMatchObject({ status: 431, contentType: 'text/plain; charset=utf-8' });
    await open(url); // a normal head still fits
  });

  it('--handshake-timeout 500: a client that stalls mid-head is dropped after about 500 ms', async () => {
    const { port } = await serve(['--handshake-timeout', '500']);
    const peer = await RawPeer.open(port);
    cleanups.push(() => peer.destroy());
    const started = Date.now();
    peer.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await peer.waitFor(() => peer.closed || peer.ended, 5000, 'the server to drop the stalled client');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it.each([
    [['--max-frame', 'big'], /--max-frame must be a whole number/],
    [['--max-fragments', '0'], /--max-fragments must be between 1 and/],
    [['--max-head', '1.5'], /--max-head must be a whole number/],
    [['--handshake-timeout=-1'], /--handshake-timeout must be a whole number/],
    [['--max-connections', '0'], /^wsinspect: --max-connections must be between 1 and 1000000 \(got 0\)\n$/],
    [['--max-connections', 'many'], /^wsinspect: --max-connections must be a whole number \(got "many"\)\n$/],
    [['--idle-timeout', '0'], /^wsinspect: --idle-timeout must be between 1 and 86400000 \(got 0\)\n$/],
    [['--idle-timeout', '2.5'], /^wsinspect: --idle-timeout must be a whole number \(got "2\.5"\)\n$/],
  ])('rejects %j with exit code 2 and one line', async (args, message) => {
    const r = run(['serve', '--port', '0', ...args]);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(message);
    expect(r.stderr().trim().split('\n')).toHaveLength(1);
  });
});

describe('wsinspect: connection cap and idle timeout', () => {
  it('serve --max-connections 1: a second client gets 503 with a plain reason; once the first leaves, a new one connects', async () => {
    const { url } = await serve(['--max-connections', '1']);
    const first = await open(url);
    const refused = await tryOpen(url);
    expect(refused).toMatchObject({ status: 503, contentType: 'text/plain; charset=utf-8' });
    expect((refused as { body: string }).body).toMatch(/at most 1 connection at a time \(maxConnections\)/);
    const closed = closeOf(first);
    first.close(1000, 'make room');
    await closed;
    // The slot frees once the server has closed TCP: retry a few times, bounded.
    let result = await tryOpen(url);
    for (let i = 0; i < 20 && !('ws' in result); i++) {
      await new Promise((r) => setTimeout(r, 50));
      result = await tryOpen(url);
    }
    expect('ws' in result).toBe(true);
    if ('ws' in result) result.ws.terminate();
  });

  it('serve --idle-timeout 300: a silent client is closed with 1001 and a reason', async () => {
    const { url } = await serve(['--idle-timeout', '300']);
    const ws = await open(url);
    expect(await withTimeout(closeOf(ws), 10_000, 'the idle close')).toEqual({ code: 1001, reason: 'idle for 300 ms' });
  });

  it('connect --idle-timeout 300 against a silent peer: the client closes with 1001 and exits 0', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const closes: Array<{ code: number; reason: string }> = [];
    wss.on('connection', (ws) => ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() })));
    const r = run(['connect', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, '--echo', '--idle-timeout', '300', '--trace', 'none']);
    // --echo waits for the peer; the idle timeout ends the wait with a clean closing handshake.
    expect(await withTimeout(r.exit, 10_000, 'connect to exit')).toBe(0);
    expect(closes).toEqual([{ code: 1001, reason: 'idle for 300 ms' }]);
  });

  it('connect --idle-timeout rejects a bad value with exit code 2 and one line', async () => {
    const r = run(['connect', 'ws://127.0.0.1:9/', '--idle-timeout', 'soon']);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toBe('wsinspect: --idle-timeout must be a whole number (got "soon")\n');
  });
});

describe('wsinspect serve: binding and origins', () => {
  it('binds 127.0.0.1 by default, without a warning', async () => {
    const { run: r, url } = await serve([]);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    await open(url);
    expect(r.stderr()).toBe('');
  });

  it('--host 0.0.0.0 prints a visible warning on stderr (and is only ever reached through 127.0.0.1 here)', async () => {
    const { run: r, port } = await serve(['--host', '0.0.0.0']);
    await waitFor(() => r.stderr().includes('warning'), 'the warning');
    expect(r.stderr()).toBe('warning: bound to 0.0.0.0, so other machines can reach this server.\n');
    await open(`ws://127.0.0.1:${port}/`);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('--allow-origin (repeatable): listed origins connect; others, and a missing Origin, get 403 with a plain-text reason', async () => {
    const { url } = await serve(['--allow-origin', 'http://good.example', '--allow-origin', 'http://also.example:8080']);
    await open(url, { origin: 'http://good.example' });
    await open(url, { origin: 'http://also.example:8080' });
    const evil = await tryOpen(url, { origin: 'http://evil.example' });
    expect(evil).toMatchObject({ status: 403, contentType: 'text/plain; charset=utf-8' });
    expect((evil as { body: string }).body).toBe('Origin "http://evil.example" is not in the allow-list. (RFC 6455 §4.2.2 (4), §10.2)\n');
    const missing = await tryOpen(url);
    expect(missing).toMatchObject({ status: 403 });
    expect((missing as { body: string }).body).toMatch(/Origin is missing/);
  });
});

describe('wsinspect connect: limit flags', () => {
  it('--max-frame 1000 against a ws server sending 2000 bytes: the client fails the connection with 1009', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanups.push(() => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }));
    const serverSaw = new Promise<number>((resolve) => wss.on('connection', (ws) => {
      ws.on('close', (code) => resolve(code));
      ws.send(Buffer.alloc(2000, 7));
    }));
    const r = run(['connect', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, '--max-frame', '1000', '--trace', 'jsonl', '--wait', '3000']);
    expect(await withTimeout(serverSaw, 10_000, 'the ws server to see the close')).toBe(1009);
    // Failing (§7.1.7) is not a clean close: exit 1 with the reason and the code, in one line.
    expect(await withTimeout(r.exit, 10_000, 'connect to exit')).toBe(1);
    expect(r.stderr()).toBe('wsinspect: the server went past a limit of this client: The frame declares 2000 payload bytes; the frame limit is 1000 (RFC 6455 §10.4, WS_ERR_FRAME_TOO_BIG); we closed with 1009\n');
    const violation = r.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; violation?: { code: string; closeCode: number } }).find((e) => e.type === 'violation');
    expect(violation?.violation).toMatchObject({ code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 });
  });

  it('--handshake-timeout 300 against a server that never answers: exit 1 with one plain line', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((s) => void sockets.push(s.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      silent.close(() => r());
    }));
    const started = Date.now();
    const r = run(['connect', `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, '--handshake-timeout', '300']);
    expect(await withTimeout(r.exit, 10_000, 'connect to give up')).toBe(1);
    expect(r.stderr()).toMatch(/^wsinspect: No answer from 127\.0\.0\.1:\d+ in time \(ETIMEDOUT\)\.\n$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
