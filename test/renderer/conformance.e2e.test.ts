/**
 * The conformance battery in the app (issue 5), in Debian's Chromium against the web host:
 * run it from the UI against the embedded server, read the totals and the results per
 * category, open a case's wire log in the frame inspector, and run it against a deliberately
 * lax server (the `ws` package told to skip UTF-8 validation) to see failures with their reasons.
 * Screenshots go to .test-output/screenshots/ (30-…).
 */
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { selectCases } from '../../src/core/conformance/cases.ts';
import type { WebHost } from '../../src/host/web-host.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let host: WebHost;
let page: Page;
let serverUrl: string;
const shot = (name: string) => inspector.shot(name);

const count = async (testId: string) => Number(await page.getByTestId(testId).textContent());

/** Fills the form and runs; resolves once the progress bar says the run finished. */
async function runBattery(filter: string, expected: number, url?: string): Promise<void> {
  await page.getByTestId('conformance-tab').click();
  await page.getByTestId('conformance-mode-server').click();
  await page.getByLabel('Server URL to test').fill(url ?? '');
  await page.getByLabel('Case filter').fill(filter);
  const run = page.getByTestId('conformance-run');
  expect(await run.textContent()).toBe(`Run ${expected} cases`);
  await run.click();
  await page.getByTestId('conformance-progress').getByText(`${expected} of ${expected} cases · finished`).waitFor({ timeout: 30_000 });
}

function caseRow(id: string) {
  return page.locator(`[data-testid=case-row][data-case-id="${id}"]`);
}

/** Expands a category (if collapsed) and opens one case's wire log. */
async function openWireLog(category: number, id: string): Promise<void> {
  await page.getByTestId('conformance-tab').click();
  const head = page.getByTestId(`category-${category}`).locator('.category-head');
  if ((await head.getAttribute('aria-expanded')) !== 'true') await head.click();
  await caseRow(id).getByTestId('open-wire-log').click();
  await page.getByTestId('recording-banner').getByText(`Case ${id}`, { exact: true }).waitFor();
}

function frameRows() {
  return page.locator('[data-testid=frame-row]');
}

async function wireBytes(): Promise<number[]> {
  return (await page.locator('.hex-dump .hex-byte').allTextContents()).map((t) => parseInt(t, 16));
}

beforeAll(async () => {
  inspector = await startInspector();
  ({ host, page, serverUrl } = inspector);
});

afterAll(async () => {
  await inspector?.close();
});

describe('conformance battery in the app', () => {
  it('runs a filtered battery against the embedded server: every case passes strictly', async () => {
    const filter = '1.1, 2., 5.1, 6.4';
    const expected = selectCases('server', ['1.1', '2.', '5.1', '6.4']).length;
    expect(expected).toBeGreaterThan(20);
    // The view needs no connection, and says what it would test.
    await page.getByTestId('conformance-tab').click();
    expect(await page.getByLabel('Server URL to test').getAttribute('placeholder')).toBe(serverUrl);
    expect(await page.locator('.conformance-help').textContent()).toContain('dropped TCP instead of sending Close 1002');

    const started = Date.now();
    await runBattery(filter, expected);
    console.log(`[conformance] ${expected} cases against the embedded server in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await count('total-passed')).toBe(expected);
    expect(await count('total-failed')).toBe(0);
    expect(await count('total-non-strict')).toBe(0);

    // Grouped by category, with counts; all collapsed since nothing needs attention.
    for (const [category, prefix] of [[1, '1.1'], [2, '2.'], [5, '5.1'], [6, '6.4']] as const) {
      const n = selectCases('server', [prefix]).length;
      expect(await page.getByTestId(`category-${category}`).getByTestId('category-counts').textContent()).toBe(`${n} passed`);
    }
    expect(await page.locator('[data-testid=case-row]').count()).toBe(0);
    await page.getByTestId('category-2').locator('.category-head').click();
    await page.getByTestId('category-6').locator('.category-head').click();
    expect(await caseRow('2.1').textContent()).toContain('ping without payload');
    expect(await caseRow('2.1').getByTestId('outcome-badge').textContent()).toBe('pass');
    expect(await caseRow('6.4.1').textContent()).toContain('§8.1');

    // Only failed and non-strict: nothing to show for our own server.
    await page.getByLabel('Only failed and non-strict').check();
    await page.getByText('No failed or non-strict case').waitFor();
    await page.getByLabel('Only failed and non-strict').uncheck();
    await shot('30-conformance');
  }, 60_000);

  it("opens a framing case's wire log: the masked text frame sent and its echo", async () => {
    await openWireLog(1, '1.1.2');
    // Listed apart from live connections, selected, on the Frames tab.
    const item = page.getByTestId('connection-conformance:1.1.2');
    expect(await item.textContent()).toContain('case 1.1.2');
    expect(await item.getAttribute('class')).toContain('selected');
    expect(await page.getByRole('tab', { name: 'Frames' }).getAttribute('aria-selected')).toBe('true');
    // A recording: nothing to send, no live-only tools.
    expect(await page.getByLabel('Composer').count()).toBe(0);
    expect(await page.getByTestId('send').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Drop TCP/ }).count()).toBe(0);
    expect(await page.getByRole('tab', { name: 'Debugger' }).count()).toBe(0);
    expect(await page.getByRole('tab', { name: 'Crafter' }).count()).toBe(0);

    // Text 125 bytes out (masked), the same back (unmasked), then the closing handshake.
    await page.getByTestId('frame-count').getByText('4 frames').waitFor();
    const sent = frameRows().filter({ hasText: '→ sent' }).filter({ has: page.locator('.c-op', { hasText: 'text' }) });
    const echoed = frameRows().filter({ hasText: '← recv' }).filter({ has: page.locator('.c-op', { hasText: 'text' }) });
    expect(await sent.count()).toBe(1);
    expect(await echoed.count()).toBe(1);
    expect(await sent.locator('.c-flag[title=MASK]').textContent()).toBe('1');
    expect(await echoed.locator('.c-flag[title=MASK]').textContent()).toBe('0');
    await sent.click();
    const bytes = await wireBytes();
    expect(bytes.slice(0, 2)).toEqual([0x81, 0x80 | 125]); // FIN + text, MASK + 7-bit length 125
    expect(bytes).toHaveLength(2 + 4 + 125);
    const key = bytes.slice(2, 6);
    const unmasked = bytes.slice(6).map((b, i) => b ^ key[i % 4]!);
    await echoed.click();
    const echoBytes = await wireBytes();
    expect(echoBytes.slice(0, 2)).toEqual([0x81, 125]);
    expect(echoBytes.slice(2)).toEqual(unmasked); // the echo carries the same text, unmasked
    // The handshake of the case is there too.
    await page.getByRole('tab', { name: 'Handshake' }).click();
    expect(await page.getByTestId('handshake-verdict').textContent()).toContain('Handshake accepted');
    await page.getByRole('tab', { name: 'Frames' }).click();
  });

  it("opens a 1002 case's wire log: the peer's Close 1002 is in the list, flagged", async () => {
    await openWireLog(5, '5.1');
    await page.getByTestId('frame-count').getByText(/^\d+ frames$/).waitFor();
    // Our fragmented ping (FIN clear), then the server's Close 1002.
    const ping = frameRows().filter({ has: page.locator('.c-op', { hasText: 'ping' }) });
    expect(await ping.locator('.c-flag[title=FIN]').textContent()).toBe('0');
    const close = frameRows().filter({ hasText: '← recv' }).filter({ has: page.locator('.c-op', { hasText: 'close' }) });
    expect(await close.count()).toBe(1);
    expect(await close.locator('.c-preview').textContent()).toMatch(/^1002/);
    expect(await close.getByTestId('failed-close-badge').textContent()).toBe('⚑ 1002');
    expect(await close.getAttribute('class')).toContain('peer-failed');
    await close.click();
    expect(await page.getByTestId('close-info').textContent()).toContain('1002 Protocol Error');
    // The case's own log says what was expected and the verdict.
    await page.getByTestId('recording-banner').getByText(/step by step/).click();
    expect(await page.getByTestId('recording-banner').textContent()).toContain('expecting the connection to fail with Close 1002');
    expect(await page.getByTestId('recording-banner').textContent()).toContain('verdict: pass');
    // Both opened wire logs are listed under their heading.
    expect(await page.getByLabel('Conformance cases').locator('li').count()).toBe(2);
    await shot('31-conformance-wire-log');
  });

  it('shows failures with their reasons against a server that skips UTF-8 validation', async () => {
    const lax = new WebSocketServer({ host: '127.0.0.1', port: 0, skipUTF8Validation: true });
    await new Promise((r) => lax.once('listening', r));
    lax.on('connection', (s) => s.on('message', (data, isBinary) => s.send(data, { binary: isBinary })));
    try {
      const laxUrl = `ws://127.0.0.1:${(lax.address() as AddressInfo).port}/`;
      const expected = selectCases('server', ['6.3']).length;
      await runBattery('6.3', expected, laxUrl);
      expect(await count('total-failed')).toBe(expected);
      expect(await count('total-passed')).toBe(0);
      // The category with failures opens by itself; each case says why it failed and what passing takes.
      const rows = page.locator('[data-testid=case-row]');
      expect(await rows.count()).toBe(expected);
      for (let i = 0; i < expected; i++) {
        const row = rows.nth(i);
        expect(await row.getByTestId('outcome-badge').textContent()).toBe('fail');
        expect(await row.getByTestId('case-reason').textContent()).toContain('not valid UTF-8');
        expect(await row.locator('.case-expected').textContent()).toContain('Close 1007');
      }
      expect(await page.getByTestId('category-6').getByTestId('category-counts').textContent()).toContain(`${expected} failed`);
      await page.getByLabel('Only failed and non-strict').check();
      expect(await rows.count()).toBe(expected);
      await shot('32-conformance-failures');
      await page.getByLabel('Only failed and non-strict').uncheck();

      // The failing case's wire log: the invalid text echoed back.
      await caseRow('6.3.1').getByTestId('open-wire-log').click();
      await page.getByTestId('recording-banner').getByText('Case 6.3.1', { exact: true }).waitFor();
      expect(await page.getByTestId('recording-banner').getByTestId('outcome-badge').textContent()).toBe('fail');
      const echoed = frameRows().filter({ hasText: '← recv' }).filter({ has: page.locator('.c-op', { hasText: 'text' }) });
      expect(await echoed.count()).toBe(1);
      await echoed.click();
      expect(await page.getByTestId('recording-banner').getByTestId('case-reason').textContent()).toContain('not valid UTF-8 (byte 12)');
      await shot('33-conformance-failed-case');
    } finally {
      lax.close();
    }
  }, 60_000);

  it("runs against this app's own client and against a client program launched per case", async () => {
    await page.getByTestId('conformance-tab').click();
    await page.getByTestId('conformance-mode-own-client').click();
    await page.getByLabel('Case filter').fill('1.1.1, 2.1');
    await page.getByTestId('conformance-run').click();
    await page.getByTestId('conformance-progress').getByText('2 of 2 cases · finished').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('conformance-progress').locator('..').textContent()).toContain("this app's own client");
    expect(await count('total-passed')).toBe(2);

    // The default launch command runs this repository's CLI client, once per case.
    await page.getByTestId('conformance-mode-client').click();
    expect(await page.getByLabel('Client launch command').inputValue()).toBe('node bin/wsinspect.mjs connect {url} --echo --trace none');
    await page.getByLabel('Case filter').fill('5.3');
    // Running a command needs a person's yes: the page shows exactly what will run.
    await page.getByTestId('conformance-run').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('pre').textContent()).toBe('node bin/wsinspect.mjs connect {url} --echo --trace none');
    await shot('34-conformance-confirm-launch');
    // Cancel runs nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(inspector.host.service.getStatus()).toBeDefined();
    await page.getByText(/Cancelled: you did not confirm it/).waitFor();
    // Confirmed, it runs.
    await page.getByTestId('conformance-run').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('conformance-progress').getByText('1 of 1 cases · finished').waitFor({ timeout: 20_000 });
    expect(await count('total-passed')).toBe(1);
    expect(await count('total-failed')).toBe(0);
    // A client-side case's wire log: we played the server, so our frames go unmasked.
    await openWireLog(5, '5.3');
    const sent = page.locator('[data-testid=frame-row]', { hasText: '→ sent' }).first();
    expect(await sent.locator('.c-flag[title=MASK]').textContent()).toBe('0');
    await page.getByTestId('conformance-tab').click();
    await page.getByTestId('conformance-mode-server').click();
  }, 60_000);

  it('raised no page error', () => {
    expect(inspector.pageErrors).toEqual([]);
  });
});
