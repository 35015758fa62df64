/**
 * permessage-deflate (RFC 7692) in every view, end to end in Chromium: the embedded server
 * accepts it, and Chromium's own WebSocket offers it (`permessage-deflate;
 * client_max_window_bits`). The handshake view lists each offer with its verdict and the agreed
 * parameters explained; the frame list marks compressed frames and filters them; the anatomy
 * shows both forms, the ratio, the tail and the window; the byte stepper steps a compressed
 * frame with its switch on; the crafter compresses a payload on its own. Screenshots at
 * 1440×900 and 1024×700 go to .test-output/screenshots/deflate-*.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let browser: Browser;
let page: Page;
let peer: Page;
/** The server's connection to Chromium. */
let chromiumId: string;

const sizes = [[1440, 900], [1024, 700]] as const;
const repeated = 'permessage-deflate shrinks repeated text: la la la la la la la la la la la la la!';

/**
 * Screenshots of the current view at both sizes; `scrollTo`: an element to bring into view first
 * (to the top of its scroller, or just into view with block 'nearest').
 */
async function shots(name: string, scrollTo?: string, block: 'start' | 'nearest' = 'start'): Promise<void> {
  for (const [width, height] of sizes) {
    await page.setViewportSize({ width, height });
    if (scrollTo) await page.getByTestId(scrollTo).first().evaluate((el, b) => el.scrollIntoView({ block: b }), block);
    // Two animation frames: the resized, scrolled page is painted before the shot.
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    await inspector.shot(`deflate-${name}-${width}x${height}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

async function openTab(id: string, tab: 'Frames' | 'Handshake' | 'Byte stepper' | 'Crafter'): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: tab, exact: true }).click();
}

async function hexBytes(testId: string): Promise<number[]> {
  return (await page.getByTestId(testId).locator('.hex-byte').allTextContents()).map((t) => parseInt(t, 16));
}

/** Messages Chromium's page received, in order. */
async function chromiumReceived(): Promise<string[]> {
  return peer.evaluate('window.received.slice()') as Promise<string[]>;
}

beforeAll(async () => {
  inspector = await startInspector({ serverDeflate: true });
  ({ browser, page } = inspector);
  await page.setViewportSize({ width: 1440, height: 900 });
  peer = await browser.newPage();
  await peer.goto(inspector.peerPageUrl);
  // Browser-side code as a string: the test's own `WebSocket` import must not leak into it.
  await peer.evaluate(`(async () => {
    const ws = new WebSocket(${JSON.stringify(inspector.serverUrl)});
    window.ws = ws;
    window.received = [];
    ws.addEventListener('message', (e) => window.received.push(String(e.data)));
    await new Promise((resolve) => ws.addEventListener('open', resolve));
    ws.send(${JSON.stringify(repeated)});
    ws.send(${JSON.stringify(repeated)});
  })()`);
  chromiumId = await inspector.newConnectionId('server');
  // Both messages echoed (compressed by our server, inflated by Chromium).
  await peer.waitForFunction('window.received.length === 2');
  expect(await chromiumReceived()).toEqual([repeated, repeated]);
});

afterAll(async () => {
  expect(inspector?.pageErrors).toEqual([]);
  await inspector?.close();
});

describe('permessage-deflate in the app, with Chromium', () => {
  it('the handshake view: Chromium\'s offer accepted, the agreement explained, ✓ on both Sec-WebSocket-Extensions lines', async () => {
    await openTab(chromiumId, 'Handshake');
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('permessage-deflate agreed');
    const offers = page.getByTestId('extension-offer');
    expect(await offers.count()).toBe(1);
    expect(await offers.first().getAttribute('data-verdict')).toBe('accepted');
    const offer = (await offers.first().textContent())!;
    expect(offer).toContain('permessage-deflate; client_max_window_bits');
    expect(offer).toContain('the client can compress with a smaller window if the server asks for one');
    expect(offer).toContain('RFC 7692 §7.1.2.2');
    expect(await page.getByTestId('agreed-extension').textContent()).toContain('The server answered permessage-deflate:');
    expect(await page.getByTestId('agreed-params').textContent()).toContain('Both sides keep their LZ77 window from message to message');
    const inForce = page.getByTestId('deflate-in-force');
    expect(await inForce.locator('[data-sender=server]').textContent()).toMatch(/kept from message to message \(context takeover\).*RFC 7692 §7\.1\.1\.1.*2\^15 = 32,768 bytes.*RFC 7692 §7\.1\.2\.1/);
    expect(await inForce.locator('[data-sender=client]').textContent()).toMatch(/RFC 7692 §7\.1\.1\.2.*RFC 7692 §7\.1\.2\.2/);
    expect(await page.getByTestId('zlib-window-note').count()).toBe(0); // 15 bits: zlib uses what was agreed
    for (const head of ['head-request', 'head-response']) {
      const line = page.getByTestId(head).locator('[data-header=sec-websocket-extensions]');
      expect(await line.locator('.mark.ok').count(), head).toBe(1);
      expect(await line.textContent(), head).toContain('RFC 7692 §5');
    }
    // The sidebar says what was agreed.
    expect(await page.getByTestId(`connection-${chromiumId}`).getByTestId('extension-tag').textContent()).toBe('deflate');
  });

  it('the handshake view: several offers, each with its verdict and reason, and the window bits zlib actually uses', async () => {
    // Our own client, its offers replaced by a header: an invalid one, one with an 8-bit server window, and an unknown extension.
    const offered = 'permessage-deflate; server_max_window_bits=20, permessage-deflate; client_no_context_takeover; server_max_window_bits=8, x-webkit-deflate-frame';
    const connected = await inspector.host.service.connectClient({ url: inspector.serverUrl, headers: [`Sec-WebSocket-Extensions: ${offered}`] });
    if (!connected.ok) throw new Error(connected.error);
    const serverSide = await inspector.newConnectionId('server');
    await inspector.newConnectionId('client');
    await openTab(serverSide, 'Handshake');
    const offers = page.getByTestId('extension-offer');
    await expect.poll(() => offers.count()).toBe(3);
    expect(await offers.evaluateAll((items) => items.map((i) => i.getAttribute('data-verdict')))).toEqual(['declined', 'accepted', 'unsupported']);
    expect(await offers.nth(0).textContent()).toMatch(/server_max_window_bits must be 8 to 15 without leading zeroes, got "20".*RFC 7692 §7\.1\.2\.1/);
    expect(await offers.nth(1).textContent()).toContain('The client announces that it will empty its own window before every message it sends');
    expect(await offers.nth(2).textContent()).toContain('This endpoint implements no extension named "x-webkit-deflate-frame"');
    expect(await page.getByTestId('agreed-extension').textContent()).toContain('permessage-deflate; client_no_context_takeover; server_max_window_bits=8');
    expect(await page.getByTestId('deflate-in-force').locator('[data-sender=client]').textContent()).toContain('emptied before every message (client_no_context_takeover)');
    expect(await page.getByTestId('zlib-window-note').textContent()).toContain('Window bits zlib actually uses here: 9 to compress (agreed 8)');
    // The request's offers are well-formed (✓ with the verdicts); the answer fits offer 2.
    const requestLine = page.getByTestId('head-request').locator('[data-header=sec-websocket-extensions]');
    expect(await requestLine.locator('.mark.ok').getAttribute('title')).toContain('offer 1 (permessage-deflate) declined, offer 2 (permessage-deflate) accepted, offer 3 (x-webkit-deflate-frame) unsupported');
    expect(await page.getByTestId('head-response').locator('[data-header=sec-websocket-extensions] .mark.ok').getAttribute('title')).toContain('Accepts offer 2 of 3');
    await shots('handshake-offers', 'extension-negotiation');
  });

  it('the frame list: a deflate badge, previews from the inflated bytes, and a "compressed" filter', async () => {
    await openTab(chromiumId, 'Frames');
    // Chromium's two messages and our two echoes, all compressed; a ping and its pong are not.
    expect(inspector.host.service.send({ connectionId: chromiumId, kind: 'ping', text: 'are you there?' }).ok).toBe(true);
    const rows = page.getByTestId('frame-row');
    await expect.poll(() => rows.count()).toBe(6);
    const compressedRows = page.locator('[data-testid=frame-row]:has([data-testid=compressed-badge])');
    expect(await compressedRows.count()).toBe(4);
    expect(await compressedRows.first().locator('.c-preview').textContent()).toBe(`deflate${repeated}`);
    await page.getByLabel('Type filter').selectOption('compressed');
    await expect.poll(() => rows.count()).toBe(4);
    expect(await page.getByTestId('frame-count').textContent()).toBe('4 of 6 frames');
    await page.getByLabel('Type filter').selectOption('all');
    await expect.poll(() => rows.count()).toBe(6);
  });

  it('the anatomy of a compressed frame: RSV1 as the compressed bit, both forms, ratio, tail, and the window carried over', async () => {
    await openTab(chromiumId, 'Frames');
    const incoming = page.locator('[data-testid=frame-row].dir-in:has([data-testid=compressed-badge])');
    await incoming.nth(1).click(); // Chromium's second message: its window held the first
    expect(await page.locator('[data-field-row=rsv1]').textContent()).toMatch(/1 = compressed \(permessage-deflate\).*RFC 7692 §6/);
    expect(await page.locator('[data-field-row=rsv1] .note').count()).toBe(0);
    const wire = await hexBytes('anatomy');
    expect(wire[0]).toBe(0xc1); // FIN, RSV1, text
    const view = page.getByTestId('compression-view');
    const inflated = await view.getByTestId('inflated-payload').textContent();
    expect(inflated).toBe(repeated);
    expect(await page.getByTestId('payload-text').textContent()).toBe(repeated);
    const compressedHex = (await view.getByTestId('compressed-payload').textContent())!;
    const compressedLength = compressedHex.split(' ').length;
    // The frame's payload length is the compressed one, and it is smaller than the text.
    expect(compressedLength).toBe(wire[1]! & 0x7f);
    expect(compressedLength).toBeLessThan(repeated.length);
    const facts = view.getByTestId('compression-facts');
    expect(await facts.locator('[data-fact=ratio]').textContent()).toContain(`${repeated.length} plain bytes from ${compressedLength} compressed`);
    expect(await facts.locator('[data-fact=tail]').textContent()).toMatch(/put 00 00 ff ff back after this payload.*RFC 7692 §7\.2\.2/);
    expect(await facts.locator('[data-fact=window]').textContent()).toContain('Carried over. Context takeover: the window still holds the 1 earlier compressed message from the client');
    await shots('anatomy', 'compression-view');

    // Our echo of Chromium's first message: sent, so its tail was stripped; its window started empty.
    await page.locator('[data-testid=frame-row].dir-out:has([data-testid=compressed-badge])').first().click();
    expect(await facts.locator('[data-fact=tail]').textContent()).toMatch(/removed 00 00 ff ff.*RFC 7692 §7\.2\.1/);
    expect(await facts.locator('[data-fact=window]').textContent()).toContain('Started empty. The first compressed message from the server: the window starts empty');
  });

  it('a compressed message in fragments: the reassembly shows the inflated text and the joined DEFLATE bytes', async () => {
    const text = 'fragmented and compressed, fragmented and compressed, fragmented and compressed';
    expect(inspector.host.service.send({ connectionId: chromiumId, kind: 'text', text, fragments: [30, 30] }).ok).toBe(true);
    await expect.poll(chromiumReceived).toContain(text);
    await openTab(chromiumId, 'Frames');
    await page.locator('[data-testid=frame-row].dir-out', { hasText: 'fragmented and' }).first().click();
    expect(await page.getByTestId('fragment-info').textContent()).toContain('Fragment 1 of 3 of a text message');
    expect(await page.getByTestId('reassembled').textContent()).toBe(text);
    expect((await page.getByTestId('reassembled-compressed').textContent())!.split(' ').length).toBeLessThan(text.length);
    // Only the last frame had the tail stripped; RSV1 on the first only.
    expect(await page.getByTestId('compression-facts').locator('[data-fact=tail]').textContent()).toContain('Not the message\'s last frame');
  });

  it('the byte stepper: a compressed frame with "permessage-deflate agreed", the plain bytes growing, and RSV1 failing without it', async () => {
    await openTab(chromiumId, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in:has([data-testid=compressed-badge])').first().click();
    const frameLength = (await hexBytes('anatomy')).length;
    await page.getByTestId('byte-step-frame').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`0 / ${frameLength} bytes fed`);
    expect(await page.getByTestId('stepper-deflate').isChecked()).toBe(true);
    // Header, masking key and the first 20 bytes of DEFLATE data: the message is part inflated.
    await page.getByLabel('Bytes per step').fill('26');
    await page.getByTestId('feed-n').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`26 / ${frameLength} bytes fed`);
    const soFar = (await page.getByTestId('stepper-inflating').locator('pre').textContent())!;
    expect(repeated.startsWith(soFar)).toBe(true);
    expect(soFar.length).toBeGreaterThan(0);
    expect(soFar.length).toBeLessThan(repeated.length);
    expect(await page.locator('.stepper [data-field-row=rsv1]').textContent()).toContain('1 = compressed (permessage-deflate)');
    await shots('byte-stepper', 'stepper-inflating', 'nearest');
    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`${frameLength} / ${frameLength} bytes fed`);
    expect(await page.getByTestId('stepped-frames').textContent()).toContain(`${repeated.length} bytes inflated: ${repeated}`);
    expect(await page.getByTestId('stepper-inflated').locator('pre').textContent()).toBe(repeated);
    expect(await page.getByTestId('step-log').textContent()).toMatch(new RegExp(`message complete: ".*" \\(inflated from ${frameLength - 6} compressed bytes\\)`));
    expect(await page.getByTestId('step-violation').count()).toBe(0);

    // Without the switch nothing is negotiated, and RSV1 is a protocol error once the header is read.
    await page.getByTestId('stepper-deflate').uncheck();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`0 / ${frameLength} bytes fed`);
    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-violation').count()).toBe(1);
    expect(await page.getByTestId('step-violation').textContent()).toContain('WS_ERR_RESERVED_BITS');
  });

  it('the crafter: "compress this payload" previews the compressed bytes, sends them on their own, and the peer keeps reading our messages', async () => {
    await openTab(chromiumId, 'Crafter');
    await page.getByRole('button', { name: 'Valid text "Hello"' }).click();
    expect(await hexBytes('craft-preview')).toEqual([0x81, 0x05, ...Buffer.from('Hello')]);
    await page.getByTestId('craft-compress').check();
    // RFC 7692 §7.2.3.1's "Hello", RSV1 set by the switch.
    await expect.poll(() => page.getByTestId('craft-compressed-bytes').textContent()).toBe('f2 48 cd c9 c9 07 00');
    expect(await page.getByLabel('RSV1', { exact: true }).isChecked()).toBe(true);
    expect(await hexBytes('craft-preview')).toEqual([0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    expect(await page.getByTestId('craft-compressed').textContent()).toContain('5 plain bytes from 7 compressed');
    expect(await page.locator('.compress-switch').textContent()).toContain('Compressed on its own, without the connection\'s window');
    const rules = (await page.getByTestId('rule-checks').textContent())!;
    expect(rules).toContain('RSV1 set: the message is compressed');
    expect(rules).not.toContain('no extension negotiated');
    await shots('crafter', 'craft-compressed', 'nearest');
    await page.getByTestId('craft-send').click();
    await expect.poll(() => page.getByTestId('craft-result').textContent()).toBe('Sent 9 bytes: c1 07 f2 48 cd c9 c9 07 00');
    await expect.poll(async () => (await chromiumReceived()).at(-1)).toBe('Hello');
    // Our echo compressor forgot its window: Chromium reads the next echo right.
    await peer.evaluate(`window.ws.send(${JSON.stringify(repeated)})`);
    await expect.poll(async () => (await chromiumReceived()).at(-1)).toBe(repeated);
    // RSV1 on a control frame is flagged with RFC 7692's section.
    await page.getByRole('button', { name: 'RSV1 on a ping' }).click();
    expect(await page.getByTestId('rule-checks').textContent()).toContain('RSV1 on a control frame: control frames are never compressed');
  });

  it('the debugger: a held compressed frame reads RSV1 as the compressed bit, not as a §5.2 error', async () => {
    expect(inspector.host.service.setStepMode(chromiumId, true).ok).toBe(true);
    await peer.evaluate(`window.ws.send(${JSON.stringify(repeated)})`);
    await page.getByTestId(`connection-${chromiumId}`).click();
    await page.getByRole('tab', { name: /^Debugger/ }).click(); // its name ends with the held badge
    await expect.poll(() => page.getByTestId('held-frame').count()).toBe(1);
    await page.getByTestId('held-frame').first().click();
    const held = page.getByTestId('held-view');
    expect(await held.locator('[data-field-row=rsv1]').first().textContent()).toContain('1 = compressed (permessage-deflate)');
    const rules = (await held.getByTestId('rule-checks').textContent())!;
    expect(rules).not.toContain('no extension negotiated');
    expect(rules).toContain('inflates this payload as DEFLATE data');
    expect(inspector.host.service.stepControl(chromiumId, 'resume').ok).toBe(true);
    expect(inspector.host.service.setStepMode(chromiumId, false).ok).toBe(true);
    await expect.poll(async () => (await chromiumReceived()).length).toBeGreaterThanOrEqual(5);
    expect((await chromiumReceived()).at(-1)).toBe(repeated);
  });

  it('the crafter without permessage-deflate: the switch is off and says why', async () => {
    const ws = new WebSocket(inspector.serverUrl, { perMessageDeflate: false });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const id = await inspector.newConnectionId('server');
    await openTab(id, 'Crafter');
    expect(await page.getByTestId('craft-compress').isDisabled()).toBe(true);
    expect(await page.locator('.compress-switch').textContent()).toContain('permessage-deflate was not agreed on this connection');
    expect(await page.getByTestId(`connection-${id}`).getByTestId('extension-tag').count()).toBe(0);
    ws.terminate();
  });
});
