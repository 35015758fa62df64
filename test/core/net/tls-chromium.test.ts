/**
 * Chromium's own WebSocket (Debian's chromium) against `wsinspect serve --tls` over wss:// on
 * 127.0.0.1: trusted through --ignore-certificate-errors-spki-list with our certificate's SPKI
 * hash (what the app and `serve --tls` tell a person to use), and refused without it, with the
 * server's trace explaining what the browser did.
 */

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../support/chromium.ts';
import { killRunning, runCli, waitFor, type Run } from '../../support/cli.ts';

let dir: string;
let serve: Run;
let url: string;
let spki: string;
let page: HttpServer;
let pageUrl: string;
const browsers: Browser[] = [];

/** The server's jsonl trace so far, parsed. */
function trace(): Array<Record<string, any>> {
  return serve.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
}

/** Opens a page on a plain 127.0.0.1 origin (a developer's own page) in a fresh Chromium. */
async function chromiumPage(args: string[]): Promise<Page> {
  const browser = await launchChromium(args);
  browsers.push(browser);
  const tab = await browser.newPage();
  await tab.goto(pageUrl);
  return tab;
}

/** Chromium's WebSocket, in the page: opens, sends, resolves with the echo or how it failed. */
function exchange(tab: Page, target: string, text: string): Promise<{ echoed?: string; error?: string; code?: number }> {
  // Browser-side code as a string: nothing of the test's own scope leaks into it.
  return tab.evaluate(`new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(target)});
    ws.onopen = () => ws.send(${JSON.stringify(text)});
    ws.onmessage = (e) => { resolve({ echoed: String(e.data) }); ws.close(1000); };
    ws.onclose = (e) => resolve({ error: 'closed', code: e.code });
  })`) as Promise<{ echoed?: string; error?: string; code?: number }>;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-chromium-tls-'));
  serve = runCli(['serve', '--tls', '--port', '0', '--trace', 'jsonl'], { XDG_CONFIG_HOME: dir });
  const tlsLine = await waitFor(() => trace().find((e) => e['type'] === 'cli' && e['event'] === 'tls'), `serve --tls to start (stderr: ${serve.stderr()})`);
  url = trace().find((e) => e['event'] === 'listening')!['url'] as string;
  spki = tlsLine['certificate']['spkiSha256'] as string;
  page = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>a page with a wss:// WebSocket</title>');
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
}, 30_000);

afterAll(async () => {
  for (const browser of browsers) await browser.close();
  page?.close();
  killRunning();
  rmSync(dir, { recursive: true, force: true });
});

describe('Chromium → wsinspect serve --tls', () => {
  it('trusted by its SPKI hash: the echo comes back, over TLS 1.3 with ALPN http/1.1 and SNI localhost', async () => {
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    expect(spki).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const tab = await chromiumPage([`--ignore-certificate-errors-spki-list=${spki}`]);
    const named = url.replace('127.0.0.1', 'localhost');
    expect(await exchange(tab, named, 'Hello from Chromium over TLS ✓')).toEqual({ echoed: 'Hello from Chromium over TLS ✓' });
    const tls = await waitFor(() => trace().find((e) => e['type'] === 'tls' && e['tls']['ok']), 'the server tls event');
    expect(tls['tls']).toMatchObject({ role: 'server', protocol: 'TLSv1.3', alpn: 'http/1.1', sni: 'localhost', verified: null });
    // Then the opening handshake, inside TLS: Chromium's request with our page's Origin.
    const head = trace().find((e) => e['type'] === 'http-head' && e['connectionId'] === tls['connectionId'] && e['direction'] === 'in');
    const headers = head!['head']['headers'] as Array<{ name: string; value: string }>;
    expect(headers.find((h) => h.name.toLowerCase() === 'origin')?.value).toBe(pageUrl.slice(0, -1));
    expect(trace().some((e) => e['type'] === 'message' && e['connectionId'] === tls['connectionId'] && e['text'] === 'Hello from Chromium over TLS ✓')).toBe(true);
  });

  it('by IP address: no SNI is sent (RFC 6066 §3), and it still works', async () => {
    const tab = await chromiumPage([`--ignore-certificate-errors-spki-list=${spki}`]);
    const before = trace().length;
    expect(await exchange(tab, url, 'by IP')).toEqual({ echoed: 'by IP' });
    const tls = trace().slice(before).find((e) => e['type'] === 'tls');
    expect(tls!['tls']).toMatchObject({ ok: true, sni: null, alpn: 'http/1.1' });
  });

  it('without the flag Chromium refuses our self-signed certificate; the server trace says the client refused it and how to trust it', async () => {
    const tab = await chromiumPage([]);
    const before = trace().length;
    const result = await exchange(tab, url, 'never sent');
    expect(result).toEqual({ error: 'closed', code: 1006 });
    const failed = await waitFor(() => trace().slice(before).find((e) => e['type'] === 'tls' && !e['tls']['ok']), 'the refusal in the server trace');
    const failure = failed['tls']['failure'];
    // BoringSSL sends a fatal certificate_unknown alert rather than hanging up.
    expect(failure).toMatchObject({ kind: 'peer-rejected-certificate', code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', summary: 'The client refused our certificate: it does not trust it.' });
    expect(failure['advice'][0]).toContain(`--ignore-certificate-errors-spki-list=${spki}`);
    expect(failure['advice'][0]).toContain(`open ${url.replace('wss:', 'https:')} once`);
    expect(trace().slice(before).some((e) => e['type'] === 'http-head')).toBe(false);
  });
});
