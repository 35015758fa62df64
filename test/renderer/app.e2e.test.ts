/**
 * The desktop inspector end to end: the web host runs the same inspector service Electron
 * runs, serving the built renderer to Debian's Chromium. Real peers talk to the embedded
 * server: Chromium's own `new WebSocket` in a second page, the `ws` package, and raw TCP for
 * a rejected handshake. Screenshots of each view go to .test-output/screenshots/.
 */
import { createHash } from 'node:crypto';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import type { WebHost } from '../../src/host/web-host.ts';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

let inspector: Inspector;
let host: WebHost;
let browser: Browser;
let page: Page;
let serverUrl: string;
let peerPageUrl: string;
const shot = (name: string) => inspector.shot(name);
const newConnectionId = (role?: 'server' | 'client') => inspector.newConnectionId(role);

async function selectConnection(id: string): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: 'Frames' }).click();
}

function frameRow(text: string) {
  return page.locator('[data-testid=frame-row]', { hasText: text });
}

async function wireBytes(): Promise<number[]> {
  const texts = await page.locator('.hex-dump .hex-byte').allTextContents();
  return texts.map((t) => parseInt(t, 16));
}

beforeAll(async () => {
  // This suite's 100,000-frame burst is about a list that holds and scrolls every frame: never
  // folded here (a page that falls behind gets folded rows: frame-folding.e2e.test.ts).
  inspector = await startInspector({ foldPolicy: { foldAfterMs: Infinity, resumeBelowMs: 0, minFoldMs: 0, minFramesBehind: 0 } });
  ({ host, browser, page, serverUrl, peerPageUrl } = inspector);
  expect(inspector.pageErrors).toEqual([]);
});

afterAll(async () => {
  await inspector?.close();
});

describe('desktop inspector in Chromium', () => {
  it('shows a new user what to do first', async () => {
    await expect(page.getByText(`new WebSocket('${serverUrl}')`)).toBeTruthy();
    expect(await page.locator('.empty-state').textContent()).toContain(`new WebSocket('${serverUrl}')`);
    await shot('01-empty-state');
  });

  it("shows Chromium's own WebSocket: the handshake, the Accept computation and a masked text frame byte by byte", async () => {
    // The peer page comes from a plain 127.0.0.1 origin, like a developer's own page.
    const peer = await browser.newPage();
    await peer.goto(peerPageUrl);
    // Browser-side code as a string: the test's own `WebSocket` import must not leak into it.
    await peer.evaluate(`(async () => {
      const ws = new WebSocket(${JSON.stringify(serverUrl)});
      window.ws = ws;
      await new Promise((resolve) => ws.addEventListener('open', resolve));
      ws.send('Hello from Chromium');
    })()`);
    const id = await newConnectionId();
    await selectConnection(id);
    await frameRow('Hello from Chromium').first().click();

    // The anatomy: FIN=1 opcode=1, MASK=1 with a 19-byte length, a 4-byte key, then the masked payload.
    const bytes = await wireBytes();
    expect(bytes[0]).toBe(0x81);
    expect(bytes[1]).toBe(0x80 | 19);
    expect(bytes).toHaveLength(2 + 4 + 19);
    const key = bytes.slice(2, 6);
    const unmasked = bytes.slice(6).map((b, i) => b ^ key[i % 4]!);
    expect(Buffer.from(unmasked).toString()).toBe('Hello from Chromium');
    const keyHex = key.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    expect(await page.locator('[data-field-row=masking-key]').textContent()).toContain(keyHex);
    expect(await page.getByTestId('payload-text').textContent()).toBe('Hello from Chromium');
    // The XOR walk-through shows masked ⊕ key = byte for the first bytes.
    const firstColumn = await page.getByTestId('xor-table').locator('.xor-col').nth(1).locator('span').allTextContents();
    expect(firstColumn).toEqual(['0', bytes[6]!.toString(16).padStart(2, '0'), key[0]!.toString(16).padStart(2, '0'), '48', 'H']);
    // Hovering a field lights up its bytes in the hex dump, and hovering a byte lights up its field.
    await page.locator('.bit-cell.f-masking-key').first().hover();
    expect(await page.locator('.hex-byte.active').count()).toBe(4);
    await page.locator('.hex-byte[data-byte="1"]').hover();
    expect(await page.locator('.bit-cell.active').count()).toBeGreaterThanOrEqual(2); // MASK and payload len share byte 1
    await shot('02-frame-anatomy-masked-text');

    // The handshake: every required check passes, and the Accept value is base64(SHA-1(key + GUID)).
    await page.getByRole('tab', { name: 'Handshake' }).click();
    const wsKey = (await page.getByTestId('accept-key').textContent())!;
    const expected = createHash('sha1').update(wsKey + GUID).digest();
    expect(await page.getByTestId('accept-value').textContent()).toBe(expected.toString('base64'));
    expect(await page.getByTestId('accept-sha1').textContent()).toBe(expected.toString('hex').match(/../g)!.join(' '));
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('Handshake accepted');
    const checks = page.getByTestId('checklist').locator('li');
    expect(await checks.count()).toBeGreaterThanOrEqual(7);
    expect(await page.getByTestId('checklist').locator('li.bad').count()).toBe(0);
    expect(await page.getByTestId('checklist').locator('li.ok .mark.ok').count()).toBe(7);
    expect(await page.getByTestId('head-request').textContent()).toContain(`Origin: ${peerPageUrl.slice(0, -1)}`);
    await shot('03-handshake');
    await page.getByRole('tab', { name: 'Frames' }).click();

    // The composer answers from the server; Chromium receives it.
    await page.getByLabel('Message text').fill('Hi Chromium, from the inspector');
    const received = peer.evaluate(`new Promise((resolve) => window.ws.addEventListener('message', (e) => resolve(String(e.data)), { once: true }))`) as Promise<string>;
    await page.getByTestId('send').click();
    expect(await received).toBe('Hi Chromium, from the inspector');
    await frameRow('Hi Chromium, from the inspector').first().click();
    const sent = await wireBytes();
    expect(sent.slice(0, 2)).toEqual([0x81, 31]); // server frames are unmasked (§5.1)
    await peer.close();
  });

  it('reassembles a fragmented message from ws and links its frames', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    ws.send('Hel', { fin: false });
    ws.send('lo, fragments', { fin: true });
    await selectConnection(id);
    await frameRow('lo, fragments').first().click();
    const info = page.getByTestId('fragment-info');
    expect(await info.textContent()).toContain('Fragment 2 of 2 of a text message (16 bytes)');
    expect(await page.getByTestId('reassembled').textContent()).toBe('Hello, fragments');
    // The FIN and MASK columns read 0/1 (a client's frames are masked).
    const firstRow = page.locator('[data-testid=frame-row]').filter({ has: page.locator('.c-preview', { hasText: /^Hel$/ }) });
    expect(await firstRow.locator('.c-flag[title=FIN]').textContent()).toBe('0');
    expect(await frameRow('lo, fragments').first().locator('.c-flag[title=FIN]').textContent()).toBe('1');
    expect(await firstRow.locator('.c-flag[title=MASK]').textContent()).toBe('1');
    expect(await firstRow.locator('.c-flag[title=FIN]').getAttribute('aria-label')).toBe('FIN 0: more fragments follow');
    // The first fragment: FIN clear, opcode text; the second: continuation.
    await info.getByRole('button', { name: /#\d+/ }).first().click();
    const first = await wireBytes();
    expect(first[0]).toBe(0x01);
    await shot('04-fragmented-message');
    ws.close();
  });

  it('links a ping to its pong and shows a close with code 1000 and a reason', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    await new Promise<void>((resolve) => {
      ws.once('pong', () => resolve());
      ws.ping('heartbeat');
    });
    await selectConnection(id);
    await page.locator('[data-testid=frame-row]', { hasText: 'heartbeat' }).filter({ has: page.locator('.c-op', { hasText: 'ping' }) }).click();
    expect(await page.getByTestId('ping-pong').textContent()).toContain('Answered by pong');
    await shot('05-ping-pong');

    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    ws.close(1000, 'done for today');
    expect(await closed).toEqual([1000, 'done for today']);
    await page.locator('[data-testid=frame-row]', { hasText: 'done for today' }).first().click();
    const closeInfo = await page.getByTestId('close-info').textContent();
    expect(closeInfo).toContain('1000 Normal Closure');
    expect(closeInfo).toContain('done for today');
    await page.getByTestId(`connection-${id}`).locator('.state', { hasText: 'CLOSED' }).waitFor();
    await shot('06-close');
  });

  it('shows a rejected handshake with the status and the reason', async () => {
    const { port } = new URL(serverUrl);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    const id = await newConnectionId();
    await page.getByTestId(`connection-${id}`).click();
    await page.getByRole('tab', { name: 'Handshake' }).click();
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('refused with 426');
    expect(await page.locator('[data-rule=version]').getAttribute('class')).toBe('bad');
    expect(await page.locator('.head-line.bad[data-header=sec-websocket-version]').count()).toBe(1);
    expect(await page.getByTestId('head-response').textContent()).toContain('Sec-WebSocket-Version: 13');
    await shot('07-rejected-handshake');
  });

  it('opens a client from the app, masks its frames, and reports bad URLs plainly', async () => {
    const echo = new WsServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => echo.once('listening', r));
    echo.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
    try {
      await page.getByLabel('Client URL').fill('not a url');
      await page.getByRole('button', { name: 'Connect client' }).click();
      await page.getByRole('alert').getByText('is not a URL').waitFor();

      await page.getByLabel('Client URL').fill(`ws://127.0.0.1:${(echo.address() as AddressInfo).port}/echo`);
      await page.getByRole('button', { name: 'Connect client' }).click();
      const id = await newConnectionId('client');
      await page.getByTestId(`connection-${id}`).locator('.state', { hasText: 'OPEN' }).waitFor();
      await page.getByTestId(`connection-${id}`).click();
      await page.getByRole('tab', { name: 'Frames' }).click();
      await page.getByRole('tab', { name: 'Binary' }).click();
      await page.getByLabel('Binary payload (hex)').fill('00 01 fe ff');
      await page.getByTestId('send').click();
      await expect.poll(() => frameRow('00 01 fe ff').count()).toBe(2);
      await frameRow('00 01 fe ff').first().click();
      const bytes = await wireBytes();
      expect(bytes.slice(0, 2)).toEqual([0x82, 0x84]); // client frames are masked (§5.3)
      const key = bytes.slice(2, 6);
      expect(bytes.slice(6).map((b, i) => b ^ key[i % 4]!)).toEqual([0x00, 0x01, 0xfe, 0xff]);
      await shot('08-client-binary');
    } finally {
      echo.close();
    }
  });

  it('keeps 100,000 frames in a virtualised list that scrolls to any of them', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const count = 50_000; // echoed: 100,000 frames on this connection
    let echoed = 0;
    const allEchoed = new Promise<void>((resolve) => ws.on('message', () => ++echoed === count && resolve()));
    const started = Date.now();
    for (let i = 0; i < count; i++) ws.send(`message ${i}`);
    await allEchoed;
    await selectConnection(id);
    await page.getByTestId('frame-count').getByText('100000 frames').waitFor({ timeout: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    console.log(`[100k frames] 50,000 echoes = 100,000 frames reached the list in ${seconds.toFixed(1)} s`);
    // Virtualised: only the visible rows exist in the DOM.
    expect(await page.locator('[data-testid=frame-row]').count()).toBeLessThan(80);
    // Following new frames, the list sits at the end: the last echo is on screen.
    await frameRow(`message ${count - 1}`).last().waitFor();
    // Scroll to the top and to the middle: the rows there render.
    await page.locator('.frame-scroll').evaluate((el) => el.scrollTo({ top: 0 }));
    await frameRow('message 0').first().waitFor();
    expect(await page.getByLabel('follow new frames').isChecked()).toBe(false); // scrolling away pauses following
    await page.locator('.frame-scroll').evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
    const firstVisibleId = async () => Number((await page.locator('[data-testid=frame-row] .c-id').first().textContent())!.slice(1));
    await expect.poll(firstVisibleId).toBeGreaterThan(45_000);
    expect(await firstVisibleId()).toBeLessThan(55_000);
    await shot('10-hundred-thousand-frames');
    // A smaller ring drops the oldest frames at once, and the list says how many went.
    await page.getByLabel('Frames kept').selectOption('50000');
    await page.getByTestId('frame-count').getByText('50000 frames').waitFor();
    expect(await page.getByTestId('frames-dropped').textContent()).toBe('(+50,000 older dropped)');
    expect(await page.getByTestId('frame-count').getAttribute('data-total')).toBe('100000');
    await page.getByLabel('Frames kept').selectOption('150000');
    ws.close();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('frame-count').getByText('0 frames').waitFor();
    await page.getByLabel('follow new frames').check();
  }, 120_000);

  it('follows a live stream at the bottom, giving the rows that scroll away to the rows that arrive', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    await selectConnection(id);
    expect(await page.getByLabel('follow new frames').isChecked()).toBe(true);
    const scroller = page.locator('.frame-scroll');
    const distanceFromBottom = () => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    const lastRowText = () => page.locator('[data-testid=frame-row]').last().locator('.c-preview').textContent();
    const send = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) ws.send(`live ${i}`);
      await page.getByTestId('frame-count').getByText(`${2 * (from + count)} frames`).waitFor({ timeout: 30_000 });
    };
    try {
      await send(0, 1000);
      await expect.poll(lastRowText).toBe('live 999');
      expect(await distanceFromBottom()).toBeLessThan(1);
      // A shorter window, no new frame: the list still ends at the newest one, and every row in view is drawn.
      const listHeight = () => scroller.evaluate((el) => el.clientHeight);
      const tall = await listHeight();
      const rowCount = () => page.locator('[data-testid=frame-row]').count();
      const tallRows = await rowCount();
      await page.setViewportSize({ width: 1600, height: 640 });
      await expect.poll(listHeight).toBeLessThan(tall);
      await expect.poll(distanceFromBottom).toBeLessThan(1);
      const drawn = await scroller.evaluate(`(() => {
        const el = document.querySelector('.frame-scroll');
        const box = el.getBoundingClientRect();
        const rows = [...el.querySelectorAll('[data-testid=frame-row]')].map((r) => r.getBoundingClientRect()).filter((r) => r.bottom > box.top && r.top < box.bottom);
        return { top: Math.min(...rows.map((r) => r.top)) - box.top, bottom: box.bottom - Math.max(...rows.map((r) => r.bottom)) };
      })()`) as { top: number; bottom: number };
      expect(drawn.top).toBeLessThanOrEqual(0);
      expect(Math.abs(drawn.bottom)).toBeLessThan(1);
      expect(await lastRowText()).toBe('live 999');
      await page.setViewportSize({ width: 1600, height: 1000 });
      await expect.poll(distanceFromBottom).toBeLessThan(1);
      // Back to the tall list once the virtualizer has seen the new height (its ResizeObserver).
      await expect.poll(rowCount).toBe(tallRows);
      // Remember the row elements on screen, then let the stream move on.
      const before = await page.locator('[data-testid=frame-row]').evaluateAll((rows) => {
        (globalThis as unknown as { __rows: unknown[] }).__rows = rows;
        return rows.map((r) => r.getAttribute('data-frame-key'));
      });
      await send(1000, 500);
      await expect.poll(lastRowText).toBe('live 1499');
      expect(await distanceFromBottom()).toBeLessThan(1);
      const after = await page.evaluate(`(() => {
        const old = globalThis.__rows;
        const now = [...document.querySelectorAll('[data-testid=frame-row]')];
        return { reused: now.filter((r) => old.includes(r)).length, shown: now.length, keys: now.map((r) => r.getAttribute('data-frame-key')) };
      })()`) as { reused: number; shown: number; keys: string[] };
      // The same elements now show other frames: none were built anew while following.
      expect(after.shown).toBe(before.length);
      expect(after.reused).toBe(after.shown);
      expect(after.keys.filter((k) => before.includes(k))).toEqual([]);
      // In order, ending with the newest frame.
      const ids = after.keys.map((k) => Number(k!.split(':').pop()));
      expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
      expect(ids.at(-1)).toBe(3000);

      // Scrolling up stops following; the stream no longer moves the list, and a click selects.
      await scroller.evaluate((el) => el.scrollBy({ top: -600 }));
      await expect.poll(() => page.getByLabel('follow new frames').isChecked()).toBe(false);
      const topRow = page.locator('[data-testid=frame-row]').nth(3);
      const key = await topRow.getAttribute('data-frame-key');
      await topRow.click();
      const scrollTop = await scroller.evaluate((el) => el.scrollTop);
      await send(1500, 200);
      expect(await scroller.evaluate((el) => el.scrollTop)).toBe(scrollTop);
      await expect(page.locator('[data-testid=frame-row][aria-selected=true]').getAttribute('data-frame-key')).resolves.toBe(key);
      expect(await page.locator('[data-testid=frame-row][aria-selected=true]').count()).toBe(1);
      expect(await page.getByTestId('anatomy').locator('h2').textContent()).toContain(`Frame #${key!.split(':').pop()} `);
      await shot('12-live-stream-paused');
    } finally {
      ws.close();
      await page.getByLabel('follow new frames').check();
    }
  }, 120_000);

  it('refuses browsers from origins not on the allow-list with 403 and shows why', async () => {
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByTestId('server-status').getByText('stopped').waitFor();
    await page.getByLabel('Server port').fill('0');
    await page.getByLabel('Allowed origins').fill('http://trusted.example');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText('listening on').waitFor();
    const url = host.service.getStatus().server.url!;
    // Chromium's own WebSocket from a page whose origin is not on the list.
    const peer = await browser.newPage();
    await peer.goto(peerPageUrl);
    const outcome = await peer.evaluate(`new Promise((resolve) => {
      const ws = new WebSocket(${JSON.stringify(url)});
      ws.onopen = () => resolve('open');
      ws.onclose = (e) => resolve('closed ' + e.code);
    })`);
    expect(outcome).toBe('closed 1006');
    const id = await newConnectionId();
    await page.getByTestId(`connection-${id}`).click();
    await page.getByRole('tab', { name: 'Handshake' }).click();
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('refused with 403');
    expect(await page.locator('[data-rule=origin]').getAttribute('class')).toBe('bad');
    await shot('11-origin-refused');
    await peer.close();
    // Back to any origin for the tests that follow.
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByLabel('Allowed origins').fill('');
    await page.getByLabel('Server port').fill('0');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText('listening on').waitFor();
  });

  it('reports a port in use in the UI, not as a crash, and recovers', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busyPort = (blocker.address() as AddressInfo).port;
    try {
      await page.getByRole('button', { name: 'Stop server' }).click();
      await page.getByTestId('server-status').getByText('stopped').waitFor();
      await page.getByLabel('Server port').fill(String(busyPort));
      await page.getByRole('button', { name: 'Start server' }).click();
      await page.getByRole('alert').getByText('already in use').waitFor();
      await page.getByTestId('server-status').getByText(`Port ${busyPort} on 127.0.0.1 is already in use`).waitFor();
      await shot('09-port-in-use');
      await page.getByLabel('Server port').fill('0');
      await page.getByRole('button', { name: 'Start server' }).click();
      await page.getByTestId('server-status').getByText('listening on').waitFor();
      const url = host.service.getStatus().server.url!;
      const ws = await openWs(url);
      const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send('still alive');
      expect(await reply).toBe('still alive');
      ws.close();
    } finally {
      blocker.close();
    }
  });

  it('the server bar sets a connection cap (503 past it) and an idle timeout (1001), and says when a value is not a number', async () => {
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByTestId('server-status').getByText('stopped').waitFor();
    await page.getByLabel('Server port').fill('0');
    await page.getByLabel('Maximum connections').fill('many');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByRole('alert').getByText('Max connections must be a whole number').waitFor();
    expect(host.service.getStatus().server.running).toBe(false);
    await page.getByLabel('Maximum connections').fill('1');
    await page.getByLabel('Idle timeout in milliseconds').fill('400');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText('listening on').waitFor();
    const url = host.service.getStatus().server.url!;
    const first = await openWs(url);
    const closed = new Promise<string>((resolve) => first.once('close', (code, reason) => resolve(`${code} ${reason.toString()}`)));
    const second = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('error', () => {});
      ws.once('open', () => resolve(101));
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
    });
    expect(second).toBe(503);
    expect(await closed).toBe('1001 idle for 400 ms');
    // Back to no cap and no idle timeout for anything that follows.
    await page.getByRole('button', { name: 'Stop server' }).click();
    await page.getByLabel('Maximum connections').fill('');
    await page.getByLabel('Idle timeout in milliseconds').fill('');
    await page.getByRole('button', { name: 'Start server' }).click();
    await page.getByTestId('server-status').getByText('listening on').waitFor();
  });
});
