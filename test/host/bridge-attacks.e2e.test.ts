/**
 * The attacks of issue 10 §1, replayed in Debian's Chromium against the real web host and the
 * built renderer: a page on another origin (fetch in no-cors and cors mode, an auto-submitted
 * text/plain form, EventSource) and a DNS-rebound page (Chromium's host resolver maps
 * attacker.example to 127.0.0.1, so the page's script runs with Host: attacker.example:PORT).
 * None of them may run a command, connect anywhere, start or move the server, or read status or
 * events; the bridge must have seen and refused each (so no test passes because nothing arrived).
 * Then the app itself still works in the same browser.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebHost, type WebHost } from '../../src/host/web-host.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { launchChromium } from '../support/chromium.ts';
import { fileURLToPath } from 'node:url';

/** The page's DOM inside page.evaluate callbacks (this file is type-checked without the DOM library). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));

let host: WebHost;
let bridge = '';
let bridgePort = 0;
let browser: Browser;
let attackerPage: HttpServer;
let attackerOrigin = '';
let tcpTarget: TcpServer;
let tcpTargetPort = 0;
let tcpConnections = 0;
let dir = '';
let marker = '';
let launch = '';
let serverUrlBefore = '';

async function waitFor(check: () => boolean, ms = 1500): Promise<void> {
  for (let waited = 0; waited < ms && !check(); waited += 25) await new Promise((r) => setTimeout(r, 25));
}

/** A fresh page on the attacker's origin (another port of 127.0.0.1: another origin). */
async function attacker(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(attackerOrigin);
  return page;
}

/** The harm each attack aims at, checked after it: nothing ran, connected, moved or started. */
async function expectNoHarm(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  expect(existsSync(marker), 'the launch command ran').toBe(false);
  expect(tcpConnections, 'the app opened TCP to a port of the page\'s choice').toBe(0);
  const status = host.service.getStatus();
  expect(status.server.url).toBe(serverUrlBefore);
  expect(status.connections.filter((c) => c.role === 'client')).toEqual([]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-bridge-attack-'));
  marker = join(dir, 'marker');
  launch = `node -e "require('fs').writeFileSync(process.argv[1], 'pwned')" ${JSON.stringify(marker)} {url}`;
  host = await startWebHost({ rendererDir, service: new InspectorService({ batchIntervalMs: 10 }) });
  bridge = host.url.replace(/\/$/, '');
  bridgePort = Number(new URL(host.url).port);
  const started = await host.service.startServer({ host: '127.0.0.1', port: 0 });
  if (!started.ok) throw new Error(started.error);
  serverUrlBefore = started.url;
  attackerPage = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>an ordinary web page</title><body>hello</body>');
  });
  await new Promise<void>((r) => attackerPage.listen(0, '127.0.0.1', () => r()));
  attackerOrigin = `http://127.0.0.1:${(attackerPage.address() as AddressInfo).port}`;
  tcpTarget = createTcpServer((socket) => {
    tcpConnections++;
    socket.destroy();
  });
  await new Promise<void>((r) => tcpTarget.listen(0, '127.0.0.1', () => r()));
  tcpTargetPort = (tcpTarget.address() as AddressInfo).port;
  browser = await launchChromium(['--host-resolver-rules=MAP attacker.example 127.0.0.1']);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  attackerPage?.close();
  tcpTarget?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a page on another origin', () => {
  it('cannot run a command with a no-cors text/plain fetch (the reported attack)', async () => {
    const page = await attacker();
    const before = host.refusedRequests();
    await page.evaluate(async ({ bridge, launch }) => {
      await fetch(`${bridge}/api/runConformance`, {
        method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ mode: 'client', launch, cases: ['1.1.1'] }),
      }).catch(() => null);
    }, { bridge, launch });
    await waitFor(() => host.refusedRequests() > before);
    expect(host.refusedRequests()).toBe(before + 1);
    await expectNoHarm();
    await page.close();
  });

  it('cannot run a command with an auto-submitted text/plain form whose body parses as JSON', async () => {
    const page = await attacker();
    const before = host.refusedRequests();
    // name=value: {"mode":...,"x":" + = + "}  is one JSON object.
    const name = `${JSON.stringify({ mode: 'client', launch, cases: ['1.1.1'] }).slice(0, -1)},"x":"`;
    await page.evaluate(({ bridge, name }) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = `${bridge}/api/runConformance`;
      form.enctype = 'text/plain';
      const input = document.createElement('input');
      input.name = name;
      input.value = '"}';
      form.append(input);
      document.body.append(form);
      form.submit();
    }, { bridge, name });
    await waitFor(() => host.refusedRequests() > before, 5000);
    expect(host.refusedRequests()).toBeGreaterThan(before);
    await expectNoHarm();
    await page.close();
  });

  it('cannot connect the app to a port of its choice, nor start the server elsewhere', async () => {
    const page = await attacker();
    const before = host.refusedRequests();
    await page.evaluate(async ({ bridge, port }) => {
      // Cross-Origin-Resource-Policy makes even the opaque answer a network error: ignore it, as an attacker would.
      const post = (name: string, arg: unknown) => fetch(`${bridge}/api/${name}`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(arg) }).catch(() => null);
      await post('connectClient', { url: `ws://127.0.0.1:${port}/`, headers: ['X: a\r\n\r\nGET /smuggled HTTP/1.1'] });
      await post('startServer', { host: '0.0.0.0', port: 0 });
      await post('stopServer', {});
    }, { bridge, port: tcpTargetPort });
    await waitFor(() => host.refusedRequests() >= before + 3);
    expect(host.refusedRequests()).toBe(before + 3);
    await expectNoHarm();
    expect(host.service.getStatus().server.running).toBe(true);
    await page.close();
  });

  it('cannot call with the token header either: the preflight is refused, so the call never goes', async () => {
    const page = await attacker();
    const before = host.refusedRequests();
    const outcome = await page.evaluate(async ({ bridge }) => {
      try {
        const r = await fetch(`${bridge}/api/getStatus`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Inspector-Token': 'guess' }, body: '' });
        return `answered ${r.status}: ${await r.text()}`;
      } catch (error) {
        return `failed: ${(error as Error).name}`;
      }
    }, { bridge });
    expect(outcome).toBe('failed: TypeError');
    await waitFor(() => host.refusedRequests() > before);
    expect(host.refusedRequests()).toBe(before + 1); // the OPTIONS preflight
    await page.close();
  });

  it('cannot read status, index.html\'s token, or the event stream', async () => {
    const page = await attacker();
    const outcome = await page.evaluate(async ({ bridge }) => {
      const tries: string[] = [];
      for (const [what, run] of [
        ['status', () => fetch(`${bridge}/api/getStatus`, { method: 'POST' }).then((r) => r.text())],
        ['index.html', () => fetch(`${bridge}/`).then((r) => r.text())],
        ['events', () => fetch(`${bridge}/api/events`).then((r) => r.text())],
      ] as const) {
        try {
          tries.push(`${what}: read ${(await run()).length} chars`);
        } catch {
          tries.push(`${what}: blocked`);
        }
      }
      const events = await new Promise<string>((resolve) => {
        const source = new EventSource(`${bridge}/api/events`);
        source.onmessage = (m) => { source.close(); resolve(`message ${String(m.data).length}`); };
        source.onerror = () => { source.close(); resolve('error'); };
      });
      tries.push(`EventSource: ${events}`);
      return tries;
    }, { bridge });
    expect(outcome).toEqual(['status: blocked', 'index.html: blocked', 'events: blocked', 'EventSource: error']);
    await page.close();
  });

  it('cannot frame the app (clickjacking a confirmation)', async () => {
    const page = await attacker();
    const refusedBefore = host.refusedRequests();
    await page.setContent(`<iframe id="f" src="${bridge}/" width="800" height="600"></iframe>`);
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f.url().startsWith(bridge));
    const rendered = frame ? await frame.evaluate(() => document.querySelector('#root')?.childElementCount ?? 0).catch(() => 0) : 0;
    expect(rendered).toBe(0);
    expect(host.refusedRequests()).toBeGreaterThanOrEqual(refusedBefore);
    await page.close();
  });
});

describe('a DNS-rebound page (attacker.example resolving to 127.0.0.1)', () => {
  it('is refused on every path, even same-origin from its point of view', async () => {
    const page = await browser.newPage();
    const rebound = `http://attacker.example:${bridgePort}`;
    const before = host.refusedRequests();
    const response = await page.goto(`${rebound}/`);
    expect(response?.status()).toBe(403);
    expect(await page.content()).not.toContain(host.token);
    const outcome = await page.evaluate(async ({ launch }) => {
      const statusOf = async (path: string, init: RequestInit = {}) => (await fetch(path, init)).status;
      const json = { 'Content-Type': 'application/json', 'X-Inspector-Token': 'guess' };
      return [
        await statusOf('/api/getStatus', { method: 'POST', headers: json, body: '' }),
        await statusOf('/api/runConformance', { method: 'POST', headers: json, body: JSON.stringify({ mode: 'client', launch, cases: ['1.1.1'] }) }),
        await statusOf('/api/events'),
        await statusOf('/assets/'),
      ];
    }, { launch });
    expect(outcome).toEqual([403, 403, 403, 403]);
    expect(host.refusedRequests()).toBeGreaterThanOrEqual(before + 5);
    await expectNoHarm();
    await page.close();
  });
});

describe('the app itself, in the same browser', () => {
  it('still works: status, events, a client connection through the UI', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(host.url);
    await page.getByTestId('server-status').getByText(serverUrlBefore).waitFor();
    // The token left the DOM once read.
    expect(await page.locator('meta[name="inspector-token"]').count()).toBe(0);
    // Chromium's own WebSocket to the embedded server, from an ordinary page (the app's CSP keeps
    // its own page from opening one), shows up live in the app: the event stream works.
    const peer = await attacker();
    await peer.evaluate((url) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => { ws.send('through the guard'); resolve(); };
      ws.onerror = () => reject(new Error('no WebSocket'));
    }), serverUrlBefore);
    await page.getByTestId('frame-row').filter({ hasText: 'through the guard' }).first().waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await peer.close();
    await page.close();
  });

  it('binding 0.0.0.0 from the app asks first; Cancel binds nothing', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(host.url);
    await page.getByTestId('server-status').getByText(serverUrlBefore).waitFor();
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByTestId('server-status').getByText('stopped').waitFor();
    await page.getByLabel('Server host').fill('0.0.0.0');
    await page.getByRole('button', { name: 'Start server' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('pre').textContent()).toMatch(/^0\.0\.0\.0:\d+$/);
    await page.screenshot({ path: fileURLToPath(new URL('../../.test-output/screenshots/40-confirm-bind.png', import.meta.url)) });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText(/Cancelled: you did not confirm it/).waitFor();
    expect(host.service.getStatus().server.running).toBe(false);
    // Back on loopback: no question asked.
    await page.getByLabel('Server host').fill('127.0.0.1');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText(/listening on/).waitFor();
    expect(await dialog.count()).toBe(0);
    await page.close();
  });
});
