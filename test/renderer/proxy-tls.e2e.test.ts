/**
 * The debugger on the proxy and the proxy's TLS, end to end in Debian's Chromium against the web
 * host (issue 12): what RFC 6455 expects shown next to what each side did (a Ping answered, the
 * closing handshake on both legs, an unmasked client frame with the RFC's own words); a frame held
 * by step mode and released later still paired with its copy, the delay counting the hold; the
 * forward proxy with TLS interception on, a second Chromium through --proxy-server trusting the
 * local CA by its key (--ignore-certificate-errors-spki-list), its wss:// conversation inspected on
 * both legs; the reverse proxy listening on wss://. Screenshots at 1440x900 and 1024x700 in
 * .test-output/screenshots/7x-….
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCertificate } from '../../src/core/net/certificates.ts';
import { launchChromium } from '../support/chromium.ts';
import { openRawClient, startInspector, type Inspector } from '../support/inspector-harness.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';

let inspector: Inspector;
let upstream: Upstream;
let page: Page;
let peer: Page;
let configDir: string;

const service = () => inspector.host.service;
const status = () => service().getStatus();
const newLegs = (before: Set<string>) => status().connections.filter((c) => c.proxyLeg && !before.has(c.id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openTab(id: string, tab: 'Frames' | 'Ladder'): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: tab, exact: false }).first().click();
}

/** A wss:// echo server with a self-signed certificate for localhost. */
async function secureUpstream(): Promise<Upstream> {
  return wsUpstream({ tls: await createCertificate({ commonName: 'localhost', names: ['localhost'] }) });
}

/** The Proxy bar as a forward proxy on a free port, not started yet. */
async function forwardForm(): Promise<void> {
  await openProxyBar();
  await page.getByLabel('Proxy kind').selectOption('forward', { timeout: 5000 });
  await page.getByLabel('Forward proxy address').fill('http://127.0.0.1:0');
}

/** The Proxy bar, opened if it is folded (each describe may run alone). */
async function openProxyBar(): Promise<void> {
  if (await page.getByTestId('proxy-mode-toggle').count()) await page.getByTestId('proxy-mode-toggle').click();
  await page.getByTestId('proxy-bar').waitFor({ timeout: 5000 });
}

async function shots(name: string): Promise<void> {
  for (const [width, height] of [[1440, 900], [1024, 700]] as const) {
    await page.setViewportSize({ width, height });
    await inspector.shot(`${name}-${width}x${height}`);
  }
}

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'wsinspect-proxy-e2e-'));
  upstream = await wsUpstream();
  inspector = await startInspector({ service: { batchIntervalMs: 10, configDir } });
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
  peer = await inspector.browser.newPage();
  await peer.goto(inspector.peerPageUrl);
  // The inspector's page in front: a page in the background acknowledges its batches late, and
  // the service then folds frames for it (service/frame-folding.ts), which would hide the pings.
  await page.bringToFront();
}, 60_000);

afterAll(async () => {
  await inspector?.close();
  await upstream?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('the debugger on the proxy', () => {
  let proxyUrl = '';

  it('shows what RFC 6455 expects next to what each side did: a Ping answered, the closing handshake on both legs', async () => {
    await openProxyBar();
    await page.getByLabel('Proxy listen URL').fill('ws://127.0.0.1:0/');
    await page.getByLabel('Proxy target URL').fill(upstream.url);
    await page.getByTestId('proxy-start').click();
    await expect.poll(() => status().proxy!.running).toBe(true);
    proxyUrl = status().proxy!.url!;
    const before = new Set(status().connections.map((c) => c.id));
    await peer.evaluate(`new Promise((resolve, reject) => {
      window.ws = new WebSocket(${JSON.stringify(proxyUrl)});
      window.ws.onerror = () => reject(new Error('failed'));
      window.ws.onopen = () => window.ws.send('first');
      window.ws.onmessage = () => resolve();
    })`);
    await expect.poll(() => newLegs(before).length).toBe(2);
    const client = newLegs(before).find((c) => c.proxyLeg!.side === 'client')!;
    await openTab(client.id, 'Ladder');
    const list = page.getByTestId('rfc-expectations');
    await list.waitFor();
    const items = list.getByTestId('expectation');
    const texts = async () => (await items.allTextContents()).join('\n');
    // The server pings: the proxy answers on its leg and passes the Ping on; Chromium answers it.
    // Under load the service may fold a window's frames for a moment (frame-folding.ts): then the
    // list says so, and the next Ping is judged instead.
    const pongs: string[] = [];
    const server = upstream.sockets.at(-1)!;
    server.on('pong', (d) => pongs.push(d.toString()));
    for (let round = 1; round <= 5 && !/The client answered Ping/.test(await texts()); round++) {
      server.ping(`are you there ${round}`);
      await expect.poll(() => pongs.filter((p) => p === `are you there ${round}`).length).toBe(2); // the proxy's own, then Chromium's passed on
      await sleep(300);
    }
    await expect.poll(texts).toMatch(/The client answered Ping #\d+ with Pong #\d+ after/);
    await peer.evaluate(`new Promise((resolve) => { window.ws.onclose = () => resolve(); window.ws.close(1000, 'done'); })`);
    await expect.poll(() => newLegs(before).every((c) => c.state === 'CLOSED')).toBe(true);
    await expect.poll(texts).toMatch(/The server answered Close #\d+ with Close #\d+ \(1000\)/);
    const all = await texts();
    expect(all).toMatch(/The proxy answered Ping #\d+ itself with Pong #\d+/);
    expect(all).toMatch(/The proxy answered the client's Close #\d+ with Close #\d+/);
    expect(all).toMatch(/The server answered Close #\d+ with Close #\d+ \(1000\)/);
    expect(await list.locator('[data-verdict=broke]').count()).toBe(0);
    // The RFC's words in quotation marks with the section, our paraphrase marked as one.
    expect(await list.getByTestId('rfc-quote').first().textContent()).toMatch(/^“Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response/);
    expect(await list.getByText(/^In other words: /).count()).toBeGreaterThan(0);
    expect(await list.textContent()).toContain('§5.5.1');
    await shots('70-proxy-rfc-expectations');
  });

  it('an unmasked frame from a client: the RFC\'s rule beside it, the leg closed with 1002, and the frame\'s own judgement in the frame view', async () => {
    const before = new Set(status().connections.map((c) => c.id));
    const raw = await openRawClient(proxyUrl);
    expect(raw.head).toMatch(/^HTTP\/1\.1 101 /);
    raw.socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", unmasked (§5.1: a client MUST mask)
    await expect.poll(() => newLegs(before).filter((c) => c.state === 'CLOSED').length).toBe(2);
    raw.socket.destroy();
    const client = newLegs(before).find((c) => c.proxyLeg!.side === 'client')!;
    await openTab(client.id, 'Ladder');
    // Two things the client did not do as RFC 6455 expects: it sent an unmasked frame, and it never answered the proxy's Close.
    const broken = page.getByTestId('rfc-expectations').locator('[data-verdict=broke]');
    const broke = broken.filter({ hasText: 'unmasked' });
    await expect.poll(() => broke.count()).toBe(1);
    // (Judged by an absence, so only when none of the leg's frames were folded for this window.)
    if (await page.getByTestId('expectations-folded').count() === 0) {
      await expect.poll(async () => (await broken.allTextContents()).join('\n')).toMatch(/The client closed TCP without answering Close #\d+ with its own Close/);
    }
    expect(await broke.getAttribute('data-side')).toBe('client');
    expect(await broke.textContent()).toContain('closed this leg with 1002');
    expect(await broke.getByTestId('rfc-quote').textContent()).toBe('“The server MUST close the connection upon receiving a frame that is not masked.” RFC 6455 §5.1');
    await shots('71-proxy-rfc-violation');
    await broke.getByRole('button', { name: /open frame/ }).click();
    await page.getByTestId('frame-expectations').waitFor();
    expect(await page.getByTestId('frame-expectations').textContent()).toContain('The server MUST close the connection upon receiving a frame that is not masked.');
  });

  it('a frame held by step mode on the upstream leg and released later is paired with its original, the delay counting the hold', async () => {
    const before = new Set(status().connections.map((c) => c.id));
    await peer.evaluate(`new Promise((resolve) => { window.ws2 = new WebSocket(${JSON.stringify(proxyUrl)}); window.ws2.onopen = () => resolve(); })`);
    await expect.poll(() => newLegs(before).length).toBe(2);
    const up = newLegs(before).find((c) => c.proxyLeg!.side === 'upstream')!;
    expect((await service().setStepMode(up.id, true)).ok).toBe(true);
    await peer.evaluate(`window.ws2.send('held for a while')`);
    await expect.poll(() => status().connections.find((c) => c.id === up.id)?.gate?.held.length).toBe(1);
    await sleep(400);
    expect((await service().stepControl(up.id, 'resume')).ok).toBe(true);
    await expect.poll(() => upstream.messages.map((m) => m.data.toString())).toContain('held for a while');
    await openTab(up.id, 'Frames');
    await page.locator('[data-testid=frame-row].dir-out', { hasText: 'held for a while' }).click();
    const pairing = page.getByTestId('frame-pairing');
    await expect.poll(() => pairing.textContent()).toMatch(/This frame to the server is the proxy's copy of frame #\d+ from the client, sent .+ after it arrived/);
    const delay = (await page.getByTestId('pairing-delay').textContent())!;
    expect(delay).toMatch(/^\d+\.\d\d ms$/);
    expect(Number.parseFloat(delay)).toBeGreaterThanOrEqual(390);
    await page.getByTestId('pairing-jump').click();
    await expect.poll(() => pairing.textContent()).toMatch(/This frame from the client became frame #\d+ to the server/);
    await peer.evaluate(`window.ws2.close()`);
    await page.getByTestId('proxy-stop').click();
    await expect.poll(() => status().proxy!.running).toBe(false);
  });
});

describe('the proxy\'s TLS in the app', { timeout: 60_000 }, () => {
  it('forward proxy with TLS interception: the CA made and explained, Chromium trusting it by its key, its wss:// conversation inspected on both legs', async () => {
    const secure = await secureUpstream();
    try {
      await forwardForm();
      expect(await page.getByTestId('proxy-ca').locator('summary').textContent()).toContain('none yet');
      await page.getByLabel('Intercept TLS').check();
      await page.getByLabel('insecure origins').check(); // the origin's certificate is self-signed
      await page.getByTestId('proxy-start').click();
      await expect.poll(() => page.getByTestId('proxy-status').textContent()).toContain('TLS interception on');
      const ca = status().proxy!.ca!;
      expect(ca.certPath).toBe(join(configDir, 'tls', 'proxy-ca-cert.pem'));
      expect(readFileSync(ca.certPath, 'latin1')).toMatch(/^-----BEGIN CERTIFICATE-----/);
      // The panel: the exact file, the commands to copy, and no way to pull the CA from under the running proxy.
      const panel = page.getByTestId('proxy-ca');
      await panel.locator('summary').click();
      expect(await page.getByTestId('proxy-ca-path').textContent()).toBe(ca.certPath);
      expect(await page.getByTestId('trust-chromium').textContent()).toBe(`certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "WebSocket Inspector proxy CA" -i ${ca.certPath}`);
      expect(await panel.textContent()).toContain(`--ignore-certificate-errors-spki-list=${ca.spkiSha256}`);
      expect(await panel.textContent()).toContain('Firefox');
      expect(await page.getByTestId('proxy-ca-remove').isDisabled()).toBe(true);

      const forwardUrl = status().proxy!.url!;
      const before = new Set(status().connections.map((c) => c.id));
      const clearText: string[] = [];
      const unsubscribe = service().tracer.subscribe((e) => {
        if (e.type === 'message' && e.direction === 'in' && e.text !== undefined) clearText.push(`${e.connectionId}: ${e.text}`);
      });
      const other = await launchChromium([`--proxy-server=${forwardUrl}`, '--proxy-bypass-list=<-loopback>', `--ignore-certificate-errors-spki-list=${ca.spkiSha256}`]);
      try {
        const tab = await other.newPage();
        await tab.goto(inspector.peerPageUrl);
        const echoed = await tab.evaluate(`new Promise((resolve, reject) => {
          const ws = new WebSocket('wss://localhost:${secure.port}/secure');
          ws.onerror = () => reject(new Error('the wss:// WebSocket failed'));
          ws.onopen = () => ws.send('secret over wss');
          ws.onmessage = (e) => { resolve(String(e.data)); ws.close(1000); };
        })`);
        expect(echoed).toBe('secret over wss');
      } finally {
        await other.close();
        unsubscribe();
      }
      expect(secure.messages.map((m) => m.data.toString())).toEqual(['secret over wss']);
      await expect.poll(() => newLegs(before).length).toBe(2);
      const up = newLegs(before).find((c) => c.proxyLeg!.side === 'upstream')!;
      expect(up.url).toBe(`wss://localhost:${secure.port}/secure`);
      const tunnel = page.getByTestId('proxy-tunnel');
      await expect.poll(() => tunnel.count()).toBeGreaterThanOrEqual(1);
      expect(await tunnel.first().textContent()).toMatch(new RegExp(`localhost:${secure.port} · SNI localhost · intercepted`));
      // The message in the clear on both legs: from Chromium on the client's leg, the echo on the server's.
      const client = newLegs(before).find((c) => c.proxyLeg!.side === 'client')!;
      expect(clearText).toEqual([`${client.id}: secret over wss`, `${up.id}: secret over wss`]);
      await openTab(client.id, 'Ladder');
      await shots('72-proxy-tls-interception');
      await page.getByTestId('proxy-stop').click();
      await expect.poll(() => status().proxy!.running).toBe(false);
      // Stopped: the CA can be regenerated (a new key) and removed.
      await page.getByTestId('proxy-ca-regenerate').click();
      await page.getByTestId('proxy-ca-confirm').click();
      await expect.poll(() => status().proxy!.ca?.spkiSha256).not.toBe(ca.spkiSha256);
      await page.getByTestId('proxy-ca-remove').click();
      await page.getByTestId('proxy-ca-confirm').click();
      await expect.poll(() => status().proxy!.ca).toBeNull();
      await expect.poll(() => page.getByTestId('proxy-ca').locator('summary').textContent()).toContain('none yet');
    } finally {
      await secure.close();
    }
  });

  it('without interception, Chromium\'s wss:// is an opaque tunnel listed with its SNI', async () => {
    const secure = await secureUpstream();
    try {
      await forwardForm();
      await page.getByLabel('Intercept TLS').uncheck();
      await page.getByTestId('proxy-start').click();
      await expect.poll(() => page.getByTestId('proxy-status').textContent()).toContain('opaque tunnel (interception off)');
      const before = new Set(status().connections.map((c) => c.id));
      const other = await launchChromium([`--proxy-server=${status().proxy!.url!}`, '--proxy-bypass-list=<-loopback>', '--ignore-certificate-errors']);
      try {
        const tab = await other.newPage();
        await tab.goto(inspector.peerPageUrl);
        expect(await tab.evaluate(`new Promise((resolve) => { const ws = new WebSocket('wss://localhost:${secure.port}/'); ws.onopen = () => ws.send('opaque'); ws.onmessage = (e) => { resolve(String(e.data)); ws.close(); }; })`)).toBe('opaque');
      } finally {
        await other.close();
      }
      await expect.poll(async () => (await page.getByTestId('proxy-tunnel').allTextContents()).join('\n')).toMatch(new RegExp(`localhost:${secure.port} · SNI localhost · opaque`));
      expect(newLegs(before)).toEqual([]);
      await page.getByTestId('proxy-stop').click();
      await expect.poll(() => status().proxy!.running).toBe(false);
    } finally {
      await secure.close();
    }
  });

  it('reverse proxy listening on wss:// with the generated certificate: a client trusting it is relayed', async () => {
    await openProxyBar();
    await page.getByLabel('Proxy kind').selectOption('reverse', { timeout: 5000 });
    await page.getByLabel('Proxy listen URL').fill('wss://127.0.0.1:0/');
    await page.getByLabel('Proxy target URL').fill(upstream.url);
    expect(await page.getByLabel('Listen certificate').inputValue()).toBe('generated');
    await page.getByTestId('proxy-start').click();
    await page.getByTestId('proxy-listen-tls').waitFor();
    const tls = status().proxy!.tls!;
    expect(await page.getByTestId('proxy-listen-tls').textContent()).toContain(tls.certPath);
    const before = new Set(status().connections.map((c) => c.id));
    const ws = new WebSocket(status().proxy!.url!, { ca: readFileSync(tls.certPath) });
    await once(ws, 'open');
    ws.send('over wss to ws');
    const [reply] = await once(ws, 'message') as [Buffer];
    expect(reply.toString()).toBe('over wss to ws');
    ws.close();
    await expect.poll(() => newLegs(before).filter((c) => c.state === 'CLOSED').length).toBe(2);
    await openTab(newLegs(before).find((c) => c.proxyLeg!.side === 'client')!.id, 'Ladder');
    await page.getByTestId('ladder-lane-proxy').waitFor();
    await shots('73-proxy-wss-listen');
    expect(inspector.pageErrors).toEqual([]);
  });
});
