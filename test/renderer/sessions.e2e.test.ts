/**
 * Issue 13 in the app, end to end in Chromium through the web host: open a session file and a
 * pcapng (our own export) as read-only recordings in which the frame views work; a file that is
 * not a recording, a cut one and one over the upload cap each get one sentence; Record + Save
 * downloads a session file that our reader opens with the live messages; Export downloads a
 * pcapng that opens again with the same frames; "copy as" puts the payload and the replay line
 * on the clipboard.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingToPcapng } from '../../src/core/capture/export-pcapng.ts';
import { RECORDING_UPLOAD_PATH } from '../../src/shared/inspector-api.ts';
import { readSessionFile } from '../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { FullFrameStore } from '../../src/service/display-cap.ts';
import { loadRecordingSource } from '../../src/service/recording-source.ts';
import { recordEveryFrameType } from '../core/capture/session-fixture.ts';
import { holdFirstRequest } from '../support/hold-request.ts';
import { openWs, startInspector, type Inspector } from '../support/inspector-harness.ts';
import { captureUnavailable, startLiveCapture } from '../support/live-capture.ts';

declare const navigator: { clipboard: { readText(): Promise<string> } };

const UPLOAD_LIMIT = 4 * 1024 * 1024;
let inspector: Inspector;
let page: Page;
let dir = '';
let sessionFile = '';
let liveFrames = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-sessions-e2e-'));
  const fixture = await recordEveryFrameType(dir);
  sessionFile = fixture.file;
  liveFrames = fixture.serverEvents.filter((e: TraceEvent) => e.type === 'frame').length;
  inspector = await startInspector({ uploadLimitBytes: UPLOAD_LIMIT, service: { configDir: join(dir, 'config') } });
  page = inspector.page;
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(inspector.host.url).origin });
}, 60_000);

afterAll(async () => {
  expect(inspector?.pageErrors ?? []).toEqual([]);
  await inspector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openFile(path: string): Promise<void> {
  await page.getByTestId('open-recording-input').setInputFiles(path);
}

const notice = () => page.locator('.notice span').first().textContent();

/** Holds the page's first save (setSavedWork) until released: a slow answer. */
const holdFirstSave = () => holdFirstRequest(page, '/api/setSavedWork');

describe('sessions in the app', () => {
  it('a session file opens read-only: listed as a recording, its frames, anatomy and copy-as work; no composer', async () => {
    await openFile(sessionFile);
    await page.getByTestId('recordings-section').waitFor();
    expect(await notice()).toContain(`Opened session.wsi: 1 connection, ${liveFrames} frames, read-only.`);
    const item = page.getByTestId('recordings-section').locator('[data-testid^="connection-rec"]');
    await expect.poll(() => item.count()).toBe(1);
    expect(await item.getByTestId('recording-tag').textContent()).toBe('recording');
    await item.click();
    await page.getByTestId('timeline-mode').selectOption('frames');
    // Counted by the list (its rows are virtual: with the recording's notes as rows, not all fit on screen).
    await expect.poll(() => page.getByTestId('frame-count').textContent()).toBe(`${liveFrames} frames`);
    await page.getByTestId('timeline').evaluate((el) => el.scrollTo({ top: 0 }));
    // Read-only: no composer, no debugger or crafter tabs.
    expect(await page.getByRole('tab', { name: 'Crafter' }).count()).toBe(0);
    expect(await page.getByTestId('send').count()).toBe(0);
    await page.locator('[data-testid=frame-row]', { hasText: 'Hello ✓' }).first().click();
    expect(await page.getByTestId('payload-text').textContent()).toBe('Hello ✓');
    await page.getByTestId('copy-hex').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(Buffer.from('Hello ✓').toString('hex').match(/../g)!.join(' '));
    await page.getByTestId('copy-wsinspect').click();
    const line = await page.evaluate(() => navigator.clipboard.readText());
    expect(line).toMatch(/^wsinspect connect '.*' --send-hex "81 89 [0-9a-f ]+"$/);
    // Export the selected frame: the handshake and that frame only, which our reader opens again.
    await page.getByLabel('Export what').selectOption('frame');
    await page.getByLabel('Export format').selectOption('json');
    const exporting = page.waitForEvent('download');
    await page.getByTestId('export-button').click();
    const one = join(dir, 'one-frame.json');
    await (await exporting).saveAs(one);
    const reopened = loadRecordingSource(one, { fullFrames: new FullFrameStore() });
    if (!reopened.ok) throw new Error(reopened.error);
    expect(reopened.events.flatMap((e) => (e.type === 'frame' ? [Buffer.from(e.frame.payload).toString()] : []))).toEqual(['Hello ✓']);
    await page.getByLabel('Export what').selectOption('all');
    // Search works on the recording.
    await page.getByLabel('Search', { exact: true }).fill('fragmented from');
    await expect.poll(() => page.locator('[data-testid=frame-row]').count()).toBeGreaterThan(0);
    // Export the frames shown (the search's): the handshake and exactly those frames.
    const shownRows = await page.locator('[data-testid=frame-row]').count();
    expect(shownRows).toBeLessThan(liveFrames);
    await page.getByLabel('Export what').selectOption('shown');
    const exportingShown = page.waitForEvent('download');
    await page.getByTestId('export-button').click();
    const shownFile = join(dir, 'shown-frames.json');
    await (await exportingShown).saveAs(shownFile);
    await expect.poll(notice).toMatch(new RegExp(`^Exported the ${shownRows} frames? shown as json: .+-frames\\.json\\.$`));
    const shownAgain = loadRecordingSource(shownFile, { fullFrames: new FullFrameStore() });
    if (!shownAgain.ok) throw new Error(shownAgain.error);
    const shownPayloads = shownAgain.events.flatMap((e) => (e.type === 'frame' ? [Buffer.from(e.frame.payload).toString()] : []));
    expect(shownPayloads).toHaveLength(shownRows);
    expect(shownPayloads.join('')).toContain('fragmented from');
    await page.getByLabel('Export what').selectOption('all');
    await page.getByLabel('Search', { exact: true }).fill('');
    // The ladder draws the recorded conversation, closing handshake included.
    await page.getByRole('tab', { name: 'Ladder' }).click();
    await page.getByTestId('ladder').waitFor();
    await expect.poll(() => page.getByTestId('ladder-row').count()).toBeGreaterThanOrEqual(liveFrames);
    expect(await page.getByTestId('ladder').textContent()).toMatch(/Close/);
    await page.getByRole('tab', { name: 'Frames' }).click();
  }, 60_000);

  it('a pcapng (our export of the session) opens with the same frames', async () => {
    const pcap = join(dir, 'every-frame.pcapng');
    writeFileSync(pcap, recordingToPcapng(readSessionFile(sessionFile).recording));
    await openFile(pcap);
    await expect.poll(notice).toContain(`Opened every-frame.pcapng: 1 connection, ${liveFrames} frames, read-only.`);
    await expect.poll(() => page.getByTestId('recordings-section').textContent()).toContain('pcap/pcapng capture');
  }, 60_000);

  it('a pcap that tcpdump made of the ws package talking to the embedded server opens with the messages they sent', async (ctx) => {
    const why = captureUnavailable('tcpdump', 'lo');
    if (why) {
      console.log(`skipped: ${why}`);
      ctx.skip();
      return;
    }
    const port = Number(new URL(inspector.serverUrl).port);
    const capture = await startLiveCapture('tcpdump', 'lo', port);
    const ws = await openWs(inspector.serverUrl);
    for (const text of ['captured by tcpdump', 'second message']) {
      const echoed = new Promise((r) => ws.once('message', r));
      ws.send(text);
      await echoed;
    }
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000, 'bye');
    await closed;
    await capture.flush();
    const file = join(dir, 'tcpdump.pcap');
    writeFileSync(file, await capture.stop());
    await openFile(file);
    await expect.poll(notice).toMatch(/^Opened tcpdump\.pcap: 1 connection, 6 frames, read-only\.$/);
    const prefix = inspector.host.service.getStatus().recordings!.at(-1)!.prefix;
    const item = page.getByTestId(`recording-${prefix}`).locator('[data-testid^="connection-rec"]');
    await item.click();
    await page.getByTestId('timeline-mode').selectOption('frames');
    await expect.poll(() => page.locator('[data-testid=frame-row] .c-preview').allTextContents())
      .toEqual(['captured by tcpdump', 'captured by tcpdump', 'second message', 'second message', expect.stringContaining('bye'), expect.stringContaining('bye')]);
  }, 60_000);

  it('bad files: one sentence each; a cut file shows what parsed; over the cap refused', async () => {
    const junk = join(dir, 'notes.txt');
    writeFileSync(junk, 'just some notes');
    await openFile(junk);
    await expect.poll(notice).toMatch(/^"notes\.txt" is not a wsinspect session, JSON export, HAR file or pcap\/pcapng capture/);
    const bytes = readFileSync(sessionFile);
    const cut = join(dir, 'cut.wsi');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await openFile(cut);
    await expect.poll(notice).toMatch(/^cut\.wsi was read only in part: .+\. Everything before that is shown\./);
    await expect.poll(() => page.getByTestId('recording-error').count()).toBe(1);
    const big = join(dir, 'big.pcapng');
    writeFileSync(big, Buffer.alloc(UPLOAD_LIMIT + 1));
    await openFile(big);
    await expect.poll(notice).toBe(`The file is larger than the ${UPLOAD_LIMIT} bytes the app accepts; open it with \`wsinspect open FILE\` instead.`);
  }, 60_000);

  it('Record, Save: the downloaded session file has the live messages; Export pcapng opens again with the same frames', async () => {
    await page.getByLabel('Per-frame cap in bytes').fill('1000');
    await page.getByTestId('record-button').click();
    await expect.poll(() => page.getByTestId('record-button').textContent()).toBe('■ Stop');
    const ws = await openWs(inspector.serverUrl);
    const id = await inspector.newConnectionId();
    const echoes = new Promise((r) => ws.once('message', r));
    ws.send('recorded in the app');
    await echoes;
    ws.close(1000, 'done');
    await expect.poll(() => inspector.host.service.getStatus().connections.find((c) => c.id === id)?.state).toBe('CLOSED');
    await page.getByTestId('record-button').click();
    await expect.poll(() => page.getByTestId('record-button').textContent()).toBe('● Record');

    const saving = page.waitForEvent('download');
    await page.getByTestId('save-session').click();
    const saved = join(dir, 'saved.wsi');
    await (await saving).saveAs(saved);
    const recording = readSessionFile(saved);
    expect(recording.error).toBeNull();
    expect(recording.recording.recordCap).toBe(1000);
    const source = loadRecordingSource(saved, { fullFrames: new FullFrameStore() });
    if (!source.ok) throw new Error(source.error);
    const texts = source.events.flatMap((e) => (e.type === 'message' && e.text ? [`${e.direction} ${e.text}`] : []));
    expect(texts).toEqual(['in recorded in the app', 'out recorded in the app']);

    await page.getByLabel('Export format').selectOption('pcapng');
    const exporting = page.waitForEvent('download');
    await page.getByTestId('export-button').click();
    const exported = join(dir, 'exported.pcapng');
    await (await exporting).saveAs(exported);
    const again = loadRecordingSource(exported, { fullFrames: new FullFrameStore() });
    if (!again.ok) throw new Error(again.error);
    expect(again.error).toBeNull();
    // Everything: the recordings opened above and the live connection recorded.
    const framesOf = (events: TraceEvent[]) => events.filter((e) => e.type === 'frame').length;
    expect(again.summaries.length).toBeGreaterThanOrEqual(3);
    expect(framesOf(again.events)).toBeGreaterThanOrEqual(2 * liveFrames + framesOf(source.events));
  }, 60_000);

  it('saved work: a connection saved, opened with one click; a message sequence saved and run in order; exported and imported', async () => {
    const saved = page.getByTestId('saved-work');
    await saved.locator('summary', { hasText: 'Save a connection' }).click();
    await page.getByLabel('Saved connection name').fill('local echo');
    await page.getByLabel('Saved connection URL').fill(inspector.serverUrl);
    await page.getByLabel('Saved connection subprotocols').fill('chat');
    await saved.getByRole('button', { name: 'Save connection' }).click();
    await expect.poll(notice).toBe('Saved the connection local echo.');
    await saved.locator('summary', { hasText: 'Save messages' }).click();
    await page.getByLabel('Sequence name').fill('greet');
    await page.getByLabel('Sequence steps').fill('text first\nwait 200\ntext second');
    await saved.getByRole('button', { name: 'Save messages' }).click();
    await expect.poll(notice).toBe('Saved the messages greet (3 steps).');
    // Kept by the service in its config directory.
    expect(inspector.host.service.getSavedWork()).toMatchObject({ connections: [{ name: 'local echo', url: inspector.serverUrl, subprotocols: ['chat'] }], sequences: [{ name: 'greet' }] });

    await page.getByTestId('saved-connections').getByText('local echo').click();
    const clientId = await inspector.newConnectionId('client');
    await expect.poll(() => inspector.host.service.getStatus().connections.find((c) => c.id === clientId)?.state).toBe('OPEN');
    await expect.poll(() => page.getByTestId('saved-sequences').getByRole('button', { name: '▶' }).isEnabled()).toBe(true);
    await page.getByTestId('saved-sequences').getByRole('button', { name: '▶' }).click();
    await expect.poll(notice).toBe(`Sent greet: 2 messages on ${clientId}.`);
    await page.getByTestId('timeline-mode').selectOption('frames');
    await expect.poll(() => page.locator('[data-testid=frame-row] .c-preview').allTextContents()).toEqual(expect.arrayContaining(['first', 'second']));

    const exporting = page.waitForEvent('download');
    await page.getByTestId('saved-export').click();
    const file = join(dir, 'saved-work.json');
    await (await exporting).saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    expect(exported.sequences[0].steps).toEqual([{ kind: 'text', text: 'first' }, { kind: 'wait', ms: 200 }, { kind: 'text', text: 'second' }]);
    exported.sequences[0].name = 'greet again';
    exported.connections.push({ name: 'bad', url: 'file:///etc/passwd' });
    writeFileSync(file, JSON.stringify(exported));
    await page.getByTestId('saved-import-input').setInputFiles(file);
    await expect.poll(notice).toBe('Imported saved-work.json; 1 entry that did not fit skipped.');
    expect(await page.getByTestId('saved-sequences').locator('li').count()).toBe(2);
  }, 60_000);

  it('a connection selected while a file is being opened stays selected once it is open', async () => {
    // An opened file's first connection is selected once the file is read; a person who selected
    // another connection meanwhile (a large file takes a while) keeps it. The upload is held here
    // until that selection is made, so that the answer comes after it.
    const wss = [await openWs(inspector.serverUrl), await openWs(inspector.serverUrl)];
    const [before, live] = [await inspector.newConnectionId(), await inspector.newConnectionId()];
    await page.getByTestId(`connection-${before}`).click();
    await expect.poll(() => page.getByTestId(`connection-${before}`).getAttribute('class')).toMatch(/\bselected\b/);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let uploading = false;
    const isUpload = (url: URL) => url.pathname === RECORDING_UPLOAD_PATH;
    await page.route(isUpload, async (route) => {
      uploading = true;
      await released;
      await route.continue();
    });
    try {
      await openFile(sessionFile);
      await expect.poll(() => uploading).toBe(true);
      await page.getByTestId(`connection-${live}`).click();
      await expect.poll(() => page.getByTestId(`connection-${live}`).getAttribute('class')).toMatch(/\bselected\b/);
      release();
      await expect.poll(notice).toBe(`Opened session.wsi: 1 connection, ${liveFrames} frames, read-only.`);
      const prefix = inspector.host.service.getStatus().recordings!.at(-1)!.prefix;
      const opened = page.getByTestId(`recording-${prefix}`).locator('[data-testid^="connection-rec"]');
      await opened.waitFor();
      // The opener selects within 20 ms of the connection being listed: give it ample time.
      await page.waitForTimeout(300);
      expect(await opened.getAttribute('class')).not.toMatch(/\bselected\b/);
      expect(await page.getByTestId(`connection-${live}`).getAttribute('class')).toMatch(/\bselected\b/);
    } finally {
      release();
      await page.unroute(isUpload);
      for (const ws of wss) ws.close();
    }
  }, 60_000);

  it("an opened file's first connection is selected even when the page paints its next frame late", async () => {
    // The file's connections are listed by a status push, which the page applies at its next
    // animation frame. Frames are held here for 2.5 s after the file is open (a loaded machine;
    // a background tab paints none): its first connection is selected once they come again.
    const ws = await openWs(inspector.serverUrl);
    const live = await inspector.newConnectionId();
    await page.getByTestId(`connection-${live}`).click();
    await expect.poll(() => page.getByTestId(`connection-${live}`).getAttribute('class')).toMatch(/\bselected\b/);
    await page.evaluate(`(() => {
      window.heldFrames = [];
      window.realRaf = window.requestAnimationFrame;
      window.requestAnimationFrame = (cb) => window.heldFrames.push(cb);
    })()`);
    try {
      await openFile(sessionFile);
      await expect.poll(notice).toBe(`Opened session.wsi: 1 connection, ${liveFrames} frames, read-only.`);
      await page.waitForTimeout(2500);
    } finally {
      await page.evaluate(`(() => {
        window.requestAnimationFrame = window.realRaf;
        for (const cb of window.heldFrames.splice(0)) cb(performance.now());
      })()`);
    }
    const prefix = inspector.host.service.getStatus().recordings!.at(-1)!.prefix;
    const opened = page.getByTestId(`recording-${prefix}`).locator('[data-testid^="connection-rec"]');
    await expect.poll(() => opened.getAttribute('class')).toMatch(/\bselected\b/);
    ws.close();
  }, 60_000);

  it('saved work: what is typed while a save is answered stays in the form', async () => {
    // The form empties once its save is answered, unless it was changed meanwhile.
    const saved = page.getByTestId('saved-work');
    const held = await holdFirstSave();
    try {
      if (!(await page.getByLabel('Saved connection name').isVisible())) await saved.locator('summary', { hasText: 'Save a connection' }).click();
      await page.getByLabel('Saved connection name').fill('saved while typing');
      await page.getByLabel('Saved connection URL').fill(inspector.serverUrl);
      await saved.getByRole('button', { name: 'Save connection' }).click();
      await expect.poll(() => held.counts.asked).toBe(1);
      await page.getByLabel('Saved connection name').fill('the next one');
      held.release();
      await expect.poll(notice).toBe('Saved the connection saved while typing.');
      expect(await page.getByLabel('Saved connection name').inputValue()).toBe('the next one');
      // Untouched meanwhile: emptied as before.
      await page.getByLabel('Saved connection name').fill('saved and emptied');
      await saved.getByRole('button', { name: 'Save connection' }).click();
      await expect.poll(notice).toBe('Saved the connection saved and emptied.');
      await expect.poll(() => page.getByLabel('Saved connection name').inputValue()).toBe('');
    } finally {
      await held.stop();
    }
  }, 60_000);

  it('saved work: a second save asked before the first is answered keeps both', async () => {
    // The first save's request is held (a slow answer); the second is asked meanwhile. It must
    // start from what the first saves, not from the work before it (which would drop the first).
    const saved = page.getByTestId('saved-work');
    const held = await holdFirstSave();
    try {
      if (!(await page.getByLabel('Saved connection name').isVisible())) await saved.locator('summary', { hasText: 'Save a connection' }).click();
      await page.getByLabel('Saved connection name').fill('held first');
      await page.getByLabel('Saved connection URL').fill(inspector.serverUrl);
      await saved.getByRole('button', { name: 'Save connection' }).click();
      await expect.poll(() => held.counts.asked).toBe(1);
      if (!(await page.getByLabel('Sequence name').isVisible())) await saved.locator('summary', { hasText: 'Save messages' }).click();
      await page.getByLabel('Sequence name').fill('asked second');
      await page.getByLabel('Sequence steps').fill('text hello');
      await saved.getByRole('button', { name: 'Save messages' }).click();
      held.release();
      await expect.poll(() => held.counts.answered).toBe(2);
      const work = inspector.host.service.getSavedWork();
      expect(work.connections.map((c) => c.name)).toContain('held first');
      expect(work.sequences.map((q) => q.name)).toContain('asked second');
      await expect.poll(() => page.getByTestId('saved-connections').textContent()).toContain('held first');
      await expect.poll(() => page.getByTestId('saved-sequences').textContent()).toContain('asked second');
    } finally {
      await held.stop();
    }
  }, 60_000);
});
