/**
 * The Learn area in Chromium (issue 15): every lesson walked through on live traffic the way the
 * page itself tells the learner: the console lines it shows run in another page's console (its own
 * WebSocket), the command lines it shows run in a shell with `wsinspect` on the PATH. Each step
 * must be checked off from the trace the inspector page receives, and explained with the bytes
 * produced; the check question is answered; progress survives a reload. A "Why?" box opens on its
 * verbatim quote.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LESSONS } from '../../src/core/lessons/lessons.ts';
import { WHYS } from '../../src/core/whys.ts';
import { bin, killRunning, runCli } from '../support/cli.ts';
import { startInspector, type Inspector } from '../support/inspector-harness.ts';

let inspector: Inspector;
let page: Page;
/** A page on a 127.0.0.1 origin: the "browser console" the lessons ask to paste into. */
let consolePage: Page;
let shim: string;

beforeAll(async () => {
  inspector = await startInspector();
  page = inspector.page;
  await page.setViewportSize({ width: 1440, height: 900 });
  consolePage = await inspector.browser.newPage();
  await consolePage.goto(inspector.peerPageUrl);
  shim = mkdtempSync(join(tmpdir(), 'wsinspect-learn-e2e-'));
  writeFileSync(join(shim, 'wsinspect'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  chmodSync(join(shim, 'wsinspect'), 0o755);
  await page.getByTestId('learn-tab').click();
});

afterAll(async () => {
  expect(inspector?.pageErrors).toEqual([]);
  await inspector?.close();
  if (shim) rmSync(shim, { recursive: true, force: true });
});
afterEach(killRunning);

async function runCommandLine(line: string): Promise<void> {
  const cli = runCli(['-c', `cd "${shim}" && ${line}`], { PATH: `${shim}:${process.env['PATH'] ?? ''}` }, '/bin/sh', []);
  await cli.exit;
}

/** Skipped to test the skip button (the step is also done by the CLI's lesson test). */
const skipped = new Set(['masking/fresh-key']);

describe('Learn area', () => {
  it.each(LESSONS.map((l) => [l.id, l] as const))('walks the lesson "%s" on live traffic', async (_id, lesson) => {
    await page.getByTestId(`open-lesson-${lesson.id}`).click();
    const view = page.getByTestId(`lesson-${lesson.id}`);
    await view.waitFor();
    if (await view.getByTestId('restart-lesson').isVisible()) await view.getByTestId('restart-lesson').click();
    if (lesson.server) {
      // The lesson's server settings, through the app's own startServer.
      const dismiss = page.getByRole('button', { name: 'Dismiss' });
      if (await dismiss.isVisible()) await dismiss.click();
      await view.getByTestId('lesson-server-restart').click();
      await page.getByText(/The embedded server runs at ws:\/\/127\.0\.0\.1:\d+\/? with permessage-deflate/).waitFor();
      if (lesson.server.maxMessageSize) await page.getByText(`and a ${lesson.server.maxMessageSize.toLocaleString('en')}-byte message limit`).waitFor();
      await consolePage.reload(); // the restart closed the page's sockets
    }
    for (const [index, step] of lesson.steps.entries()) {
      const block = view.getByTestId(`step-${step.id}`);
      // One action can do several steps (a close is answered at once): then it is checked off already.
      const state = await block.getAttribute('data-state');
      if (state === 'detected' && index > 0) continue;
      expect(state).toBe('current');
      if (skipped.has(`${lesson.id}/${step.id}`)) {
        await block.getByTestId('skip-step').click();
        await expect.poll(() => block.getAttribute('data-state')).toBe('skipped');
        continue;
      }
      const consoleLine = block.getByTestId('try-console');
      if (await consoleLine.count()) {
        const text = (await consoleLine.textContent())!;
        if (text.includes('new WebSocket')) expect(text).toContain(inspector.serverUrl.replace(/\/$/, ''));
        await consolePage.evaluate(text);
      } else {
        const cli = (await block.getByTestId('try-cli').textContent())!;
        expect(cli).toContain('wsinspect');
        await runCommandLine(cli);
      }
      await expect.poll(() => block.getAttribute('data-state'), { timeout: 10_000, message: `${lesson.id}/${step.id} (step ${index + 1}) detected` }).toBe('detected');
      const evidence = (await block.getByTestId('step-evidence').textContent())!;
      expect(evidence.length).toBeGreaterThan(40);
    }
    // The check question: a wrong answer is told so, the right one explained.
    const check = view.getByTestId('check-question');
    const wrong = lesson.check.answer === 0 ? 1 : 0;
    await check.getByRole('radio').nth(wrong).check();
    expect(await check.getByTestId('check-feedback').textContent()).toMatch(/^Not that one/);
    await check.getByRole('radio').nth(lesson.check.answer).check();
    expect(await check.getByTestId('check-feedback').textContent()).toBe(`Right. ${lesson.check.why}`);
    expect(await page.getByTestId(`lesson-progress-${lesson.id}`).textContent()).toBe('✓');
    if (lesson.id === 'masking') await inspector.shot('learn-masking-done-1440x900');
    if (lesson.id === 'closing') {
      // The closing handshake is drawn by the Ladder view: one click away from the lesson.
      await view.getByTestId('show-ladder').first().click();
      await expect.poll(() => page.getByRole('tab', { name: 'Ladder', exact: true }).getAttribute('aria-selected')).toBe('true');
      await page.getByTestId('learn-tab').click();
    }
  });

  it('walks fragmentation and ping-pong with the app\'s own client and composer', async () => {
    for (const [lessonId, send] of [
      ['fragmentation', async () => {
        await page.getByLabel('Message text').fill('Hello, fragments');
        await page.getByLabel('Fragment sizes').fill('5, 5');
        await page.getByTestId('send').click();
      }],
      ['ping-pong', async () => {
        await page.getByRole('tab', { name: 'Ping', exact: true }).click();
        await page.getByTestId('send').click();
      }],
    ] as const) {
      await page.getByTestId(`open-lesson-${lessonId}`).click();
      const view = page.getByTestId(`lesson-${lessonId}`);
      await view.getByTestId('restart-lesson').click();
      await view.getByTestId('try-app-connect').click();
      const id = await inspector.newConnectionId('client');
      await page.getByTestId(`connection-${id}`).click();
      await expect.poll(() => inspector.host.service.getStatus().connections.find((c) => c.id === id)?.state).toBe('OPEN');
      await send();
      for (const step of LESSONS.find((l) => l.id === lessonId)!.steps) {
        await expect.poll(() => view.getByTestId(`step-${step.id}`).getAttribute('data-state'), { timeout: 10_000, message: `${lessonId}/${step.id}` }).toBe('detected');
      }
      if (lessonId === 'fragmentation') expect(await view.getByTestId('step-fragmented').textContent()).toContain('in 3 frames');
      if (lessonId === 'ping-pong') expect(await view.getByTestId('step-pong').textContent()).toContain('identical to the ping\'s');
      const lesson = LESSONS.find((l) => l.id === lessonId)!;
      await view.getByTestId('check-question').getByRole('radio').nth(lesson.check.answer).check();
    }
  }, 60_000);

  it('explains with the learner\'s own bytes and links to the frame in the main views', async () => {
    await page.getByTestId('open-lesson-masking').click();
    const view = page.getByTestId('lesson-masking');
    await view.getByTestId('restart-lesson').click();
    await consolePage.evaluate(`ws = new WebSocket('${inspector.serverUrl}'); ws.onopen = () => ws.send('Hello')`);
    const block = view.getByTestId('step-masked');
    await expect.poll(() => block.getAttribute('data-state'), { timeout: 10_000 }).toBe('detected');
    // The unmasking of the learner's own first byte: wire XOR key = 'H'.
    expect(await block.getByTestId('step-evidence').textContent()).toMatch(/XOR key\[0\] 0x[0-9a-f]{2} = 0x48 \('H'\)/);
    await inspector.shot('learn-mid-lesson-1440x900');
    await page.setViewportSize({ width: 1024, height: 700 });
    await inspector.shot('learn-mid-lesson-1024x700');
    await page.setViewportSize({ width: 1440, height: 900 });
    await block.getByTestId('show-evidence').click();
    await expect.poll(() => page.getByRole('tab', { name: 'Frames', exact: true }).getAttribute('aria-selected')).toBe('true');
    // The learner's masked frame is the one selected: its unmasking table is on screen.
    await page.getByTestId('xor-table').waitFor({ timeout: 5000 });
    await page.getByTestId('learn-tab').click();
  });

  it('remembers progress across a reload, and reads tampered storage safely', async () => {
    await page.reload();
    await page.getByTestId('learn-tab').click();
    for (const lesson of LESSONS) {
      if (lesson.id === 'masking') continue; // started again above
      expect(await page.getByTestId(`lesson-progress-${lesson.id}`).textContent(), lesson.id).toBe('✓');
    }
    expect(await page.getByTestId('lesson-progress-masking').textContent()).toBe('1/3');
    // The open lesson is the one left open.
    await page.getByTestId('lesson-masking').waitFor();
    await page.evaluate(`localStorage.setItem('wsinspect.learn.progress', '{"masking": {"stepsDone": 99}, "handshake": "yes", "__proto__": {"stepsDone": 1}}')`);
    await page.reload();
    await page.getByTestId('learn-tab').click();
    expect(await page.getByTestId('lesson-progress-masking').textContent()).toBe('3/3');
    expect(await page.getByTestId('lesson-progress-handshake').textContent()).toBe('0/2');
  });

  it('a Why? box opens on its paraphrase and its verbatim quote', async () => {
    await page.getByTestId('open-lesson-security').click();
    // The Origin header's doc in the handshake view carries the Origin why; the lesson list does not.
    const id = await openConsoleConnection();
    await page.getByTestId(`connection-${id}`).click();
    await page.getByRole('tab', { name: 'Handshake', exact: true }).click();
    const why = page.getByTestId('why-origin').first();
    await why.locator('summary').click();
    const text = (await why.textContent())!;
    expect(text).toContain(WHYS.origin.explanation);
    expect(text).toContain(`“${WHYS.origin.quotes[0]!.text}”`);
    expect(text).toContain('RFC 6455 §10.2');
    await why.scrollIntoViewIfNeeded();
    await inspector.shot('why-origin-1440x900');
  });

  it('a line copied twice in a row says "Copied" for the second copy\'s full time', async () => {
    // "Copied" goes back to "Copy" 1.5 s after a copy. Those timers are held here: the first
    // copy's comes due after the second copy (a second click within 1.5 s, or a late timer on a
    // loaded machine), and must not take the word away from the second copy.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(inspector.host.url).origin });
    await page.getByTestId('learn-tab').click();
    await page.getByTestId('open-lesson-masking').click();
    const view = page.getByTestId('lesson-masking');
    await view.waitFor();
    if (await view.getByTestId('restart-lesson').isVisible()) await view.getByTestId('restart-lesson').click();
    const line = view.getByTestId('step-masked').getByTestId('try-console');
    const copy = view.getByTestId('step-masked').getByRole('button', { name: /^Copy: Paste into your browser's console/ });
    // After React has applied what a timer did (its updates render in a task of their own).
    const settled = () => page.evaluate('new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))');
    await page.evaluate(`(() => {
      window.heldResets = [];
      window.realSetTimeout = window.setTimeout;
      window.realClearTimeout = window.clearTimeout;
      window.setTimeout = (callback, ms, ...rest) => {
        if (ms !== 1500) return window.realSetTimeout(callback, ms, ...rest);
        window.heldResets.push({ callback, cancelled: false });
        return -window.heldResets.length;
      };
      window.clearTimeout = (id) => {
        if (typeof id === 'number' && id < 0 && window.heldResets[-id - 1]) window.heldResets[-id - 1].cancelled = true;
        else window.realClearTimeout(id);
      };
    })()`);
    try {
      await copy.click();
      await expect.poll(() => copy.textContent()).toBe('Copied');
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(await line.textContent());
      await copy.click();
      await expect.poll(() => page.evaluate('window.heldResets.length')).toBe(2);
      // The first copy's time is up (just after the second copy): the second copy's word stays.
      await page.evaluate('window.heldResets[0].cancelled || window.heldResets[0].callback()');
      await settled();
      expect(await copy.textContent()).toBe('Copied');
      // The second copy's time is up: the word goes back.
      await page.evaluate('window.heldResets[1].cancelled || window.heldResets[1].callback()');
      await expect.poll(() => copy.textContent()).toBe('Copy');
    } finally {
      await page.evaluate('window.setTimeout = window.realSetTimeout; window.clearTimeout = window.realClearTimeout');
    }
  });
});

async function openConsoleConnection(): Promise<string> {
  const known = new Set(inspector.host.service.getStatus().connections.map((c) => c.id));
  await consolePage.evaluate(`window.whyWs = new WebSocket('${inspector.serverUrl}')`);
  for (let i = 0; i < 200; i++) {
    const fresh = inspector.host.service.getStatus().connections.find((c) => c.role === 'server' && !known.has(c.id) && c.state === 'OPEN');
    if (fresh) return fresh.id;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no connection from the console page');
}
