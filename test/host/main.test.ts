/**
 * The web host as `npm run web` runs it (src/host/main.ts in its own process), attacked with the
 * inputs that used to end it (issue 10 §2): a subprotocol "a b" or "", a header name "Bad Name",
 * CR/LF/NUL in a header value, a bad host for startServer. Each gets a plain error JSON, the
 * process stays up, and the app still works afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_HEADER } from '../../src/host/web-host.ts';
import { withTimeout } from '../core/net/helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../out/renderer/index.html', import.meta.url)));
if (!built) console.log('test/host/main.test.ts skipped: no built renderer in out/renderer (run `npm run build`); the web host refuses to start without it.');

let child: ChildProcess;
let stdout = '';
let stderr = '';
let pageUrl = '';
let serverUrl = '';
let token = '';

function http(method: string, url: string, body?: string): Promise<{ status: number; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json', [TOKEN_HEADER]: token };
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  }), 5000, `${method} ${url}`);
}

async function call(name: string, arg: unknown): Promise<{ ok: boolean; error?: string; [k: string]: unknown }> {
  const reply = await http('POST', `${pageUrl}api/${name}`, JSON.stringify(arg));
  expect(reply.status, reply.body).toBe(200);
  return JSON.parse(reply.body) as { ok: boolean; error?: string };
}

describe.skipIf(!built)('the web host process (src/host/main.ts)', () => {
  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/host/main.ts'], { cwd: root, env: { ...process.env, WEB_PORT: '0', WS_PORT: '0' } });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await withTimeout((async () => {
      while (!/embedded/.test(stdout)) {
        if (child.exitCode !== null) throw new Error(`the web host exited: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })(), 20_000, `the web host to start (stdout: ${stdout} stderr: ${stderr})`);
    pageUrl = /open (http:\/\/\S+) in a browser/.exec(stdout)![1]!;
    serverUrl = /listening on (ws:\/\/\S+)/.exec(stdout)?.[1] ?? '';
    // The page gets this run's token inside index.html (web-host.ts); so do we.
    const index = await http('GET', pageUrl);
    token = /<meta name="inspector-token" content="([^"]+)"/.exec(index.body)?.[1] ?? '';
    expect(token, 'the token in index.html').not.toBe('');
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it.each([
    ['subprotocol "a b"', { subprotocols: ['a b'] }, /not a valid subprotocol/],
    ['subprotocol ""', { subprotocols: [''] }, /cannot be empty/],
    ['header name "Bad Name"', { headers: ['Bad Name: x'] }, /not a valid header name/],
    ['CR/LF in a header value', { headers: ['X-Evil: a\r\n\r\nGET /smuggled HTTP/1.1'] }, /contains a CR/],
    ['NUL in a header value', { headers: ['X-Evil: a\0b'] }, /contains a NUL/],
  ])('connectClient with %s: a plain error JSON, and the host is still up', async (_what, extra, message) => {
    const result = await call('connectClient', { url: serverUrl || 'ws://127.0.0.1:9/', ...extra });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(message) });
    expect(child.exitCode).toBeNull();
    const status = await call('getStatus', null);
    expect(status).toHaveProperty('server');
  });

  it('startServer with host "bad host": a plain error, and the embedded server keeps running at its address', async () => {
    const result = await call('startServer', { host: 'bad host' });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/not an IP address or a hostname/) });
    const status = await call('getStatus', null) as unknown as { server: { running: boolean; url: string; host: string } };
    expect(status.server).toMatchObject({ running: true, url: serverUrl, host: '127.0.0.1' });
  });

  it('after all that, a good connection still opens, and nothing reached stderr as a stack', async () => {
    const result = await call('connectClient', { url: serverUrl, subprotocols: ['chat'], headers: ['X-Fine: yes'] });
    expect(result).toMatchObject({ ok: true });
    expect(child.exitCode).toBeNull();
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
