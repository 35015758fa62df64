/**
 * Stepping and fault injection end to end (issue 4), in Debian's Chromium against the web host:
 * step mode on real traffic from the ws package, an edited frame reaching the peer, the byte
 * stepper on a captured frame, the crafter's TCP split, fault presets fired at ws and at
 * Chromium's own WebSocket, and the observe policy on a raw TCP client.
 * Screenshots go to .test-output/screenshots/ (20-…).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { findPreset, reactionMatches, type Reaction } from '../../src/core/faults.ts';
import type { WebHost } from '../../src/host/web-host.ts';
import { openRawClient, openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let host: WebHost;
let browser: Browser;
let page: Page;
let serverUrl: string;
let peerPageUrl: string;
const shot = (name: string) => inspector.shot(name);
const newConnectionId = (role?: 'server' | 'client') => inspector.newConnectionId(role);

function summary(id: string) {
  return host.service.getStatus().connections.find((c) => c.id === id);
}

async function openTab(id: string, tab: 'Frames' | 'Debugger' | 'Byte stepper' | 'Crafter' | 'Faults'): Promise<void> {
  await page.getByTestId(`connection-${id}`).click();
  await page.getByRole('tab', { name: tab, exact: false }).first().click();
}

const hexBytes = async (testId: string) => (await page.getByTestId(testId).locator('.hex-byte').allTextContents()).map((t) => parseInt(t, 16));
/** The verdict the RFC judge gives a reaction as the UI words it ("Close 1002 …", "TCP closed …"). */
function judged(presetId: string, actual: string): string {
  const close = /^Close (\d+)/.exec(actual);
  const reaction: Reaction | null = close ? { kind: 'close', code: Number(close[1]), reason: '' } : actual.startsWith('TCP closed') ? { kind: 'drop' } : null;
  return reaction && reactionMatches(findPreset(presetId)!, reaction) ? '✓' : '✗';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  inspector = await startInspector();
  ({ host, browser, page, serverUrl, peerPageUrl } = inspector);
});

afterAll(async () => {
  expect(inspector.pageErrors).toEqual([]);
  await inspector?.close();
});

describe('stepping and fault injection in Chromium', () => {
  it('steps a three-fragment message from ws one frame at a time; the echo waits for the last', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const received: string[] = [];
    ws.on('message', (d) => received.push(d.toString()));
    await openTab(id, 'Debugger');
    await page.getByText('Nothing is held.').waitFor();
    await page.getByTestId('step-mode-switch').click();
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(true);

    ws.send('one', { fin: false });
    ws.send('two', { fin: false });
    ws.send('three', { fin: true });
    const held = page.getByTestId('held-frame');
    await expect.poll(() => held.count()).toBe(3);
    expect(await held.allTextContents()).toEqual([
      expect.stringMatching(/← recv\s*text \(FIN 0\)\s*3 B.*held by step mode/),
      expect.stringMatching(/← recv\s*continuation \(FIN 0\)\s*3 B.*queued behind/),
      expect.stringMatching(/← recv\s*continuation\s*5 B.*queued behind/),
    ]);
    expect(await page.getByTestId('held-badge').textContent()).toBe('3 held');
    // Selecting a held frame shows it.
    await held.nth(1).click();
    expect(await page.getByTestId('held-view').textContent()).toContain('continuation');
    await shot('20-step-mode');

    for (const left of [2, 1]) {
      await page.getByRole('button', { name: 'Step', exact: true }).click();
      await expect.poll(() => held.count()).toBe(left);
      await sleep(80);
      expect(received).toEqual([]); // the application has not seen the whole message yet
    }
    // Releasing the last fragment completes the message; the echo's reply is held on its way out.
    await page.getByRole('button', { name: 'Step', exact: true }).click();
    await expect.poll(() => held.allTextContents()).toEqual([expect.stringMatching(/→ send\s*text\s*11 B/)]);
    await sleep(80);
    expect(received).toEqual([]);
    await page.getByRole('button', { name: 'Step → sent' }).click();
    await expect.poll(() => received).toEqual(['onetwothree']);
    await expect.poll(() => held.count()).toBe(0);
    // Resume: frames flow again.
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(false);
    ws.send('free');
    await expect.poll(() => received).toEqual(['onetwothree', 'free']);
    ws.close();
  });

  it('edits a held outgoing frame: the anatomy shows the edited bytes and the peer receives them', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    await openTab(id, 'Debugger');
    await page.getByTestId('step-mode-switch').click();
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(true);

    await page.getByLabel('Message text').fill('the original text');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('held-frame').count()).toBe(1);
    expect(await hexBytes('held-hex')).toEqual([0x81, 17, ...Buffer.from('the original text')]);

    await page.getByLabel('Payload (text)').fill('EDITED in flight');
    await page.getByTestId('apply-edit').click();
    await page.getByTestId('edited-marker').waitFor();
    // Before release: the anatomy shows the edited bytes, FIN text, unmasked (a server frame), 16 bytes.
    expect(await hexBytes('held-hex')).toEqual([0x81, 16, ...Buffer.from('EDITED in flight')]);
    expect(await page.getByTestId('held-frame').textContent()).toContain('edited');
    expect(await page.getByTestId('payload-text').textContent()).toBe('EDITED in flight');
    expect(await page.getByTestId('original-bytes').textContent()).toContain('text “the original text” (19 bytes)');
    await shot('21-edited-frame');

    const received = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    await page.getByTestId('release-held').click();
    expect(await received).toBe('EDITED in flight');
    // The trace has the bytes that really went out.
    await openTab(id, 'Frames');
    const editedRow = page.locator('[data-testid=frame-row].dir-out', { hasText: 'EDITED in flight' });
    await editedRow.waitFor();
    // Marked edited wherever it appears, the original bytes one click away.
    expect(await editedRow.getByTestId('edited-badge').textContent()).toBe('edited');
    await editedRow.click();
    expect(await page.getByTestId('edited-frame').textContent()).toContain('these bytes are your edit');
    await page.getByTestId('edited-original-toggle').click();
    expect(await hexBytes('edited-original')).toEqual([0x81, 17, ...Buffer.from('the original text')]);
    // Frames that were not edited carry no mark.
    expect(await page.locator('[data-testid=frame-row]').getByTestId('edited-badge').count()).toBe(1);
    await openTab(id, 'Debugger');
    await page.getByRole('button', { name: 'Resume' }).click(); // or the closing handshake would be held too
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(false);
    ws.close();
  });

  it('an incoming frame edited before release is marked edited in the list and the anatomy, the original one click away', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    await openTab(id, 'Debugger');
    await page.getByTestId('step-mode-switch').click();
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(true);
    ws.send('sent by the client');
    await expect.poll(() => page.getByTestId('held-frame').count()).toBe(1);
    await page.getByLabel('Payload (text)').fill('EDITED by the user');
    await page.getByTestId('apply-edit').click();
    await page.getByTestId('edited-marker').waitFor();
    await page.getByTestId('release-held').click();
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => summary(id)?.gate?.stepMode).toBe(false);
    await openTab(id, 'Frames');
    const row = page.locator('[data-testid=frame-row].dir-in', { hasText: 'EDITED by the user' });
    await row.waitFor();
    expect(await row.getByTestId('edited-badge').textContent()).toBe('edited');
    await row.click();
    expect(await page.getByTestId('edited-frame').textContent()).toContain('not the ones that arrived from the peer');
    await page.getByTestId('edited-original-toggle').click();
    const original = await hexBytes('edited-original');
    expect(original.slice(0, 2)).toEqual([0x81, 0x80 | 18]);
    const key = original.slice(2, 6);
    expect(Buffer.from(original.slice(6).map((b, i) => b ^ key[i % 4]!)).toString()).toBe('sent by the client');
    ws.close();
  });

  it('byte-steps a captured masked frame with the parser state after every byte', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send('Hello');
    await echoed;
    await openTab(id, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in', { hasText: 'Hello' }).click();
    await page.getByTestId('byte-step-frame').click();
    const description = page.getByTestId('step-description');
    const state = page.getByTestId('parser-state');
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('0 / 11 bytes fed');
    expect(await description.textContent()).toBe('waiting for a new frame');

    const feed = async (expected: string, parserState: string, fed: number) => {
      await page.getByTestId('feed-1').click();
      await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe(`${fed} / 11 bytes fed`);
      expect(await description.textContent()).toBe(expected);
      expect(await state.textContent()).toBe(parserState);
    };
    await feed('waiting for 1 more byte of frame header (FIN, RSV, opcode, MASK, payload len)', 'header', 1);
    // The bit diagram already shows FIN, RSV and the opcode from the first byte.
    expect(await page.locator('.bit-cell.f-opcode').count()).toBe(1);
    await feed('waiting for 4 more bytes of masking key', 'masking-key', 2);
    await feed('waiting for 3 more bytes of masking key', 'masking-key', 3);
    expect(await page.locator('.bit-cell.f-masking-key.incomplete').count()).toBeGreaterThan(0);
    await feed('waiting for 2 more bytes of masking key', 'masking-key', 4);
    await feed('waiting for 1 more byte of masking key', 'masking-key', 5);
    await feed('waiting for 5 more bytes of payload', 'payload', 6);
    await feed('waiting for 4 more bytes of payload', 'payload', 7);
    // Fed bytes are bright, the rest dimmed.
    expect(await page.getByTestId('stepper-hex').locator('.hex-byte.unfed').count()).toBe(4);
    await shot('22-byte-stepper');

    await page.getByTestId('feed-all').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('11 / 11 bytes fed');
    expect(await description.textContent()).toBe('waiting for a new frame');
    expect(await page.getByTestId('stepped-frames').textContent()).toContain('Hello');
    expect(await page.getByTestId('step-log').textContent()).toContain('message complete: "Hello"');
    // Reset goes back to byte 0.
    await page.getByTestId('feed-reset').click();
    await expect.poll(() => page.getByTestId('step-progress').textContent()).toBe('0 / 11 bytes fed');

    // The same bytes received by a client: a masked frame is a violation (§5.1).
    await page.getByText('a client (expects unmasked)').click();
    await page.getByTestId('byte-step-start').click();
    await page.getByTestId('feed-n').click(); // +4
    await page.getByTestId('step-violation').waitFor();
    expect(await page.getByTestId('step-violation').textContent()).toContain('WS_ERR_MASKED_SERVER_FRAME');
    expect(await page.getByTestId('step-violation').textContent()).toContain('1002');
    ws.close();
  });

  it('crafts a frame split into 1,1,2-byte TCP writes, and an RSV1 frame that ws rejects', async () => {
    const ws = await openWs(serverUrl);
    const id = await newConnectionId();
    await openTab(id, 'Crafter');
    await page.getByRole('button', { name: 'Valid text "Hello"' }).click();
    expect(await hexBytes('craft-preview')).toEqual([0x81, 0x05, ...Buffer.from('Hello')]);
    await page.getByLabel('Write sizes').fill('1,1,2');
    await page.getByLabel('Delay between writes (ms)').fill('30');
    expect(await page.locator('.crafter').textContent()).toContain('4 writes: 1 + 1 + 2 + 3 bytes.');
    const message = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    await page.getByTestId('craft-send').click();
    expect(await message).toBe('Hello');
    expect(await page.getByTestId('craft-result').textContent()).toContain('Sent 7 bytes: 81 05 48 65 6c 6c 6f');

    await page.getByRole('button', { name: 'RSV1 set' }).click();
    expect((await hexBytes('craft-preview'))[0]).toBe(0xc1);
    expect(await page.getByTestId('rule-checks').textContent()).toContain('RSV1 set and no extension negotiated');
    await page.getByLabel('Write sizes').fill('');
    await shot('23-crafter');
    await page.getByTestId('craft-send').click();
    // ws fails the connection with Close 1002 (and stops reading, so its own close event says 1006).
    await openTab(id, 'Frames');
    await page.locator('[data-testid=frame-row].dir-in', { hasText: '1002' }).waitFor();
    ws.terminate();
  });

  it('fires presets at ws and at Chromium and shows expected and actual side by side', async () => {
    const results = page.getByTestId('fault-result');
    const fire = async (presetId: string) => {
      const before = await results.count();
      await page.getByRole('button', { name: `Fire ${presetId}`, exact: true }).click();
      await expect.poll(() => results.count(), { timeout: 5000 }).toBe(before + 1);
      const first = results.first();
      expect(await first.getAttribute('data-preset')).toBe(presetId);
      return {
        verdict: await first.getByTestId('fault-verdict').textContent(),
        actual: (await first.getByTestId('fault-actual').textContent())!,
        closed: await first.getByTestId('fault-closed').count(),
      };
    };

    // ws: a pong for a ping, then Close 1002 for RSV1 (the connection is over after that).
    const ws = await openWs(serverUrl);
    const wsId = await newConnectionId();
    await openTab(wsId, 'Faults');
    await page.getByTestId('preset-rsv1-set').waitFor();
    expect(await fire('ping-payload')).toEqual({ verdict: '✓', actual: 'a pong "are you there?"', closed: 0 });
    const rsv1 = await fire('rsv1-set');
    expect(rsv1).toEqual({ verdict: '✓', actual: expect.stringMatching(/^Close 1002/), closed: 1 });
    await page.getByTestId('faults-closed').waitFor();
    expect(await page.getByRole('button', { name: 'Fire ping-payload', exact: true }).isDisabled()).toBe(true);
    ws.terminate();
    const ws2 = await openWs(serverUrl);
    const ws2Id = await newConnectionId();
    await openTab(ws2Id, 'Faults');
    expect(await fire('invalid-utf8')).toEqual({ verdict: '✓', actual: expect.stringMatching(/^Close 1007/), closed: 1 });
    ws2.terminate();

    // Chromium's own WebSocket, from a page on http://127.0.0.1.
    const peer = await browser.newPage();
    await peer.goto(peerPageUrl);
    const openChromium = async () => {
      await peer.evaluate(`new Promise((resolve) => {
        const ws = new WebSocket(${JSON.stringify(serverUrl)});
        window.ws = ws;
        window.closeInfo = null;
        ws.addEventListener('close', (e) => { window.closeInfo = { code: e.code, wasClean: e.wasClean }; });
        ws.addEventListener('open', resolve);
      })`);
      return newConnectionId();
    };
    const chromiumId = await openChromium();
    await openTab(chromiumId, 'Faults');
    expect(await fire('ping-payload')).toEqual({ verdict: '✓', actual: 'a pong "are you there?"', closed: 0 });
    // A protocol error: Chromium may send Close 1002 or drop TCP without one (allowed, §7.1.7).
    const chromiumRsv1 = await fire('rsv1-set');
    console.log(`[presets] Chromium answered rsv1-set with: ${chromiumRsv1.actual}`);
    expect(chromiumRsv1).toEqual({ verdict: '✓', actual: expect.stringMatching(/^(Close 1002|TCP closed without a Close frame)/), closed: 1 });
    // Chromium saw the connection fail: its close event reports 1006 (failed, §7.1.7) or the code it sent.
    await expect.poll(() => peer.evaluate('window.closeInfo && window.closeInfo.code')).toBeTruthy();
    const chromiumId2 = await openChromium();
    await openTab(chromiumId2, 'Faults');
    const utf8 = await fire('invalid-utf8');
    console.log(`[presets] Chromium answered invalid-utf8 with: ${utf8.actual}`);
    // Chromium fails the connection but says 1002 rather than the 1007 of §7.4.1: the UI shows what the judge says.
    expect(utf8).toEqual({ verdict: judged('invalid-utf8', utf8.actual), actual: expect.stringMatching(/^(Close 100[27]|TCP closed without a Close frame)/), closed: 1 });
    // What the UI shows is what the service judged.
    expect(await page.getByTestId('fault-expected').first().textContent()).toBe('Close 1007 (Invalid Payload Data).');
    await openTab(chromiumId, 'Faults');
    expect(await results.count()).toBe(2);
    await shot('24-presets');
    await peer.close();
  });

  it('observe policy: an unmasked frame from a raw TCP client is flagged and the connection stays open', async () => {
    const raw = await openRawClient(serverUrl);
    const { socket } = raw;
    expect(raw.head).toMatch(/^HTTP\/1\.1 101 /);
    const id = await newConnectionId();
    await openTab(id, 'Debugger');
    await page.getByTestId('policy-observe').click();
    await expect.poll(() => summary(id)?.policy).toBe('observe');

    socket.write(Buffer.from([0x81, 0x05, ...Buffer.from('Hello')])); // unmasked: a client must mask (§5.1)
    // Observe: flagged, processed (echoed), and the connection stays open.
    await expect.poll(() => [...raw.received()]).toEqual([0x81, 0x05, ...Buffer.from('Hello')]);
    await page.getByTestId('observed-list').getByText('WS_ERR_UNMASKED_CLIENT_FRAME').waitFor();
    await openTab(id, 'Frames');
    const row = page.locator('[data-testid=frame-row].dir-in', { hasText: 'Hello' });
    expect(await row.getByTestId('observed-badge').textContent()).toBe('⚑ 1002');
    await row.click();
    const box = page.getByTestId('violation-observed');
    expect(await box.textContent()).toContain('WS_ERR_UNMASKED_CLIENT_FRAME');
    expect(await box.textContent()).toContain('the observe policy kept it open');
    await page.getByTestId(`connection-${id}`).locator('.state', { hasText: 'OPEN' }).waitFor();
    expect(summary(id)?.state).toBe('OPEN');
    await shot('25-observe-policy');

    // Back to strict: the same frame now fails the connection with 1002.
    await openTab(id, 'Debugger');
    await page.getByTestId('policy-strict').click();
    await expect.poll(() => summary(id)?.policy).toBe('strict');
    raw.clear();
    socket.write(Buffer.from([0x81, 0x02, ...Buffer.from('no')]));
    await expect.poll(() => { const b = raw.received(); return b.length >= 4 ? [b[0], b[2], b[3]] : []; }).toEqual([0x88, 0x03, 0xea]); // Close 1002
    socket.destroy();
  });
});
