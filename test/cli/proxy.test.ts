/**
 * wsinspect proxy, run as a user runs it: a `ws` client through it to a `ws` server, the trace of
 * both legs (pretty and jsonl, each copy paired with its original), wss:// with the generated
 * certificate, a 502 for an unreachable target, stopping on SIGINT with 1001 to the client, and
 * bad arguments answered with one line and exit 2.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configDirectory, localCertificate } from '../../src/core/net/certificates.ts';
import { openWs, withTimeout, wsClosed, wsMessages } from '../core/net/helpers.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';
import { killRunning, runCli, waitFor, type Run } from '../support/cli.ts';

let upstream: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'wsi-cli-proxy-'));
const env = { XDG_CONFIG_HOME: join(dir, 'config') };
beforeAll(async () => {
  upstream = await wsUpstream();
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => killRunning());

async function startProxyCli(args: string[]): Promise<{ run: Run; url: string }> {
  const run = runCli(['proxy', '--listen', 'ws://127.0.0.1:0/', ...args], env);
  const url = await waitFor(() => /proxying (wss?:\/\/\S+) →/.exec(run.stdout())?.[1] ?? /"url":"(wss?:\/\/[^"]+)"/.exec(run.stdout())?.[1], `the listening line (stdout: ${run.stdout()} stderr: ${run.stderr()})`);
  return { run, url };
}

describe('wsinspect proxy', () => {
  it('relays a client to the target, prints both legs with each copy paired, and stops on SIGINT with 1001 to the client', async () => {
    const { run, url } = await startProxyCli(['--target', upstream.url]);
    expect(run.stdout()).toContain(`→ ${upstream.url}`);
    const ws = await openWs(url);
    const messages = wsMessages(ws);
    ws.send('he', { fin: false });
    ws.send('llo', { fin: true });
    expect((await messages.next(5000)).data.toString()).toBe('hello');
    await waitFor(() => /-upstream .*relay {3}copy of server\d+:1 frame #\d+/s.test(run.stdout()) && /server\d+:1 .*relay {3}copy of server\d+:1-upstream frame #\d+/s.test(run.stdout()), 'the relay lines');
    const out = run.stdout();
    expect(out).toContain('Proxy: forwarding the handshake to');
    expect(out).toMatch(/relay {3}copy of server\d+:1 frame #1, [\d.]+ (µs|ms) later/);
    expect(out).toMatch(/relay {3}copy of server\d+:1 frame #2, /);
    const closed = wsClosed(ws);
    run.child.kill('SIGINT');
    expect((await withTimeout(closed, 5000, 'the client close')).code).toBe(1001);
    expect(await run.exit).toBe(0);
  });

  it('--trace jsonl: the listening line and every relayed frame with its pairing', async () => {
    const { run, url } = await startProxyCli(['--target', upstream.url, '--trace', 'jsonl', '--no-deflate']);
    expect(JSON.parse(run.stdout().split('\n')[0]!)).toMatchObject({ type: 'cli', event: 'listening', target: upstream.url });
    const ws = await openWs(url, { perMessageDeflate: true });
    expect(ws.extensions).toBe(''); // --no-deflate: declined on the client leg
    const messages = wsMessages(ws);
    ws.send('x');
    await messages.next(5000);
    ws.close(1000);
    await wsClosed(ws);
    const events = await waitFor(() => {
      const list = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      return list.filter((e) => e['type'] === 'frame' && e['frame']['relay']).length >= 3 ? list : null;
    }, 'three relayed frames (message, echo, close)');
    const relayed = events.filter((e) => e['type'] === 'frame' && e['frame']['relay']);
    for (const e of relayed) {
      expect(e['direction']).toBe('out');
      expect(typeof e['frame']['relay']['delayUs']).toBe('number');
      const original = events.find((o) => o['type'] === 'frame' && o['connectionId'] === e['frame']['relay']['from']['connectionId'] && o['frame']['frameId'] === e['frame']['relay']['from']['frameId']);
      expect(original?.['direction']).toBe('in');
      expect(original?.['frame']['opcode']).toBe(e['frame']['opcode']);
    }
  });

  it('--tls listens on wss:// with the generated certificate; --origin rewrites what goes upstream', async () => {
    const local = await localCertificate(configDirectory(env));
    const tls = runCli(['proxy', '--listen', 'wss://127.0.0.1:0/', '--tls', '--target', upstream.url, '--origin', 'https://rewritten.example'], env);
    const wss = await waitFor(() => /proxying (wss:\/\/\S+) →/.exec(tls.stdout())?.[1], `the wss listening line (${tls.stdout()} ${tls.stderr()})`);
    // The certificate's lines follow the listening line in a write of their own: wait for them too.
    await waitFor(() => tls.stdout().includes(local.certificate.sha256), `the certificate's fingerprint (${tls.stdout()})`);
    expect(tls.stdout()).toContain(local.certificate.sha256);
    const before = upstream.requests.length;
    const ws = await openWs(wss.replace('127.0.0.1', 'localhost'), { ca: local.cert, headers: { Origin: 'http://app.example' } });
    ws.send('over wss');
    expect((await wsMessages(ws).next(5000)).data.toString()).toBe('over wss');
    expect(upstream.requests[before]!.headers.origin).toBe('https://rewritten.example');
    ws.close();
  });

  it('an unreachable target: the client gets 502 with one line', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { url } = await startProxyCli(['--target', `ws://127.0.0.1:${port}/`, '--trace', 'none']);
    const status = await withTimeout(new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => {});
    }), 5000, 'the 502');
    expect(status).toBe(502);
  });

  it('bad arguments: one line and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^wsinspect: proxy needs --target ws:\/\/host:port\/path/],
      [['--target', 'ftp://x/'], /^wsinspect: --target: "ftp:" is not a WebSocket scheme/],
      [['--target', 'ws://x/', '--tls'], /^wsinspect: --tls, --cert and --key are for a wss:\/\/ --listen URL/],
      [['--target', 'ws://x/', '--origin', 'a', '--no-origin'], /^wsinspect: --origin and --no-origin contradict each other/],
      [['--target', 'ws://x/', '--host', ''], /^wsinspect: --host: it is empty/],
    ];
    const runs = cases.map(([args]) => runCli(['proxy', ...args], env));
    for (const [i, [args, message]] of cases.entries()) {
      const run = runs[i]!;
      expect(await run.exit, args.join(' ')).toBe(2);
      expect(run.stderr().trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr(), args.join(' ')).toMatch(message);
    }
  });

  it('a port in use: one line and exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const run = runCli(['proxy', '--listen', `ws://127.0.0.1:${(busy.address() as AddressInfo).port}/`, '--target', upstream.url], env);
      expect(await run.exit).toBe(1);
      expect(run.stderr()).toMatch(/^wsinspect: Port \d+ on 127\.0\.0\.1 is already in use \(EADDRINUSE\)/);
    } finally {
      busy.close();
    }
  });

  it('wsinspect --help lists proxy, and proxy --help explains it', async () => {
    const help = runCli(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toContain('wsinspect proxy --target');
    const proxyHelp = runCli(['proxy', '--help']);
    expect(await proxyHelp.exit).toBe(0);
    expect(proxyHelp.stdout()).toContain('--no-deflate-upstream');
    expect(proxyHelp.stdout()).toContain('1014 Bad Gateway');
  });
});
