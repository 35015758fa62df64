/**
 * npm run bench:ui:connections — the inspector's connection list with many concurrent
 * connections (issue 17: 10,000 connections, "the connection list in the UI stays responsive
 * (virtualised)").
 *
 * The web host (the service Electron runs) with the built renderer in Debian's Chromium; a child
 * process opens UI_CONNECTIONS `ws` clients (default 10,000) to the embedded echo server, 500 at
 * a time (its own process: each side holds one socket per connection). Measured in the page:
 *
 *   listing     from the first client opening to the list's heading counting them all
 *   long tasks  PerformanceObserver 'longtask' while they open, while the list is used, and while
 *               2,000 of them close
 *   clicks      a connection row clicked (real input through CDP) at 10 places in the list: from
 *               the event to the next animation frame after it was handled (Event Timing's
 *               duration when it has an entry), and whether that row was selected by then
 *   scrolling   the list's scroll box moved 300 px per animation frame: the frame intervals
 *   DOM         connection rows in the DOM (a virtualised list holds a screenful)
 *   heap        CDP Runtime.getHeapUsage after a forced GC with every connection listed
 * and, from the child, a fresh client's open + echo round trip with all the others open.
 *
 * Writes ui-connections-results.json and the "UI with many connections" section of BENCHMARKS.md.
 * Environment: UI_CONNECTIONS (10000), UI_RENDERER_DIR (out/renderer), UI_OUT_DIR, UI_NO_MD=1,
 * UI_PROFILE=1 (a CPU profile of the page from the first client to the end of the scroll test,
 * .test-output/profiles/ui-connections.cpuprofile, and its top functions printed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { startWebHost } from '../src/host/web-host.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { machineInfo, writeSection, type Machine } from './bench.ts';
import { formatSummary, summariseProfile } from './cpuprofile-summary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const count = Math.max(100, Math.floor(Number(process.env['UI_CONNECTIONS'] ?? 10_000)));
const closing = Math.min(2000, Math.floor(count / 5));
const rendererDir = resolve(process.env['UI_RENDERER_DIR'] ?? join(root, 'out/renderer'));
const outDir = resolve(process.env['UI_OUT_DIR'] ?? root);
/** The service lists this many closed connections (InspectorService's keepClosedConnections default). */
const keptClosed = 100;
const targets = { longTaskMs: 100, clickMs: 100, scrollP95Ms: 25, scrollMaxMs: 51 };

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// ------------------------------------------------------------------ the child: many clients

/** `--clients URL N`: opens N clients, says "open N", then obeys "close K" / "fresh" / "exit" on stdin. */
async function clientsProcess(url: string, n: number): Promise<void> {
  const clients: WebSocket[] = [];
  const open = () => new Promise<WebSocket>((res, rej) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
  for (let i = 0; i < n; i += 500) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(500, n - i) }, open))));
    console.log(`progress ${clients.length}`);
  }
  console.log(`open ${clients.length}`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(' ');
    if (cmd === 'close') {
      for (const ws of clients.splice(0, Number(arg))) ws.close(1000, 'bench');
      console.log('closed');
    } else if (cmd === 'fresh') {
      // A fresh client with all the others open: opening handshake, then one message echoed.
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const ws = await open();
        await new Promise<void>((r) => {
          ws.once('message', () => r());
          ws.send('fresh');
        });
        times.push(performance.now() - t0);
        ws.close();
        await sleep(50);
      }
      console.log(`fresh ${JSON.stringify(times)}`);
    } else if (cmd === 'exit') {
      for (const ws of clients) ws.terminate();
      process.exit(0);
    }
  }
}

// ------------------------------------------------------------------ in the page

const pageInstrumentation = `
(() => {
  const origin = performance.timeOrigin;
  const rec = { longtasks: [], events: [], clicks: [] };
  globalThis.__conns = rec;
  try {
    new PerformanceObserver((l) => l.getEntries().forEach((e) => rec.longtasks.push({ start: origin + e.startTime, duration: e.duration }))).observe({ type: 'longtask', buffered: true });
  } catch {}
  try {
    new PerformanceObserver((l) => l.getEntries().forEach((e) => {
      if (['click', 'pointerdown', 'pointerup'].includes(e.name)) rec.events.push({ name: e.name, start: origin + e.startTime, duration: e.duration, interactionId: e.interactionId || 0 });
    })).observe({ type: 'event', buffered: true, durationThreshold: 16 });
  } catch {}
  document.addEventListener('click', (e) => {
    const button = e.target && e.target.closest && e.target.closest('button.connection');
    if (!button) return;
    const click = { id: button.getAttribute('data-testid'), eventAt: origin + e.timeStamp, rafAt: null, selected: null };
    rec.clicks.push(click);
    requestAnimationFrame(() => {
      click.rafAt = origin + performance.now();
      const el = document.querySelector('[data-testid="' + click.id + '"]');
      click.selected = !!el && el.classList.contains('selected');
    });
  }, true);
})();
`;

interface PageRecord {
  longtasks: Array<{ start: number; duration: number }>;
  events: Array<{ name: string; start: number; duration: number; interactionId: number }>;
  clicks: Array<{ id: string; eventAt: number; rafAt: number | null; selected: boolean | null }>;
}

interface ScrollBox {
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
}
interface PageGlobals {
  __conns: PageRecord;
  document: { querySelector(s: string): ScrollBox | null; querySelectorAll(s: string): { length: number } };
  requestAnimationFrame(cb: (t: number) => void): number;
}

async function pageRecord(page: Page): Promise<PageRecord> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).__conns);
}

const peersHeading = (page: Page) => page.locator('h2', { hasText: 'Server peers' }).locator('.count');

async function waitForListed(page: Page, expected: number, limitMs: number): Promise<number | null> {
  const deadline = now() + limitMs;
  while (now() < deadline) {
    if (Number(await peersHeading(page).textContent().catch(() => '0')) === expected) return now();
    await sleep(50);
  }
  return null;
}

// ------------------------------------------------------------------ the run

export interface UiConnectionsResults {
  kind: 'websocket-inspector-ui-connections';
  date: string;
  machine: Machine;
  connections: number;
  loadAverage: { start: number; end: number };
  chromium: string;
  openMs: number;
  listedMs: number | null;
  longTasks: { opening: { count: number; maxMs: number }; using: { count: number; maxMs: number }; closing: { count: number; maxMs: number } };
  clicks: Array<{ latencyMs: number; selected: boolean }>;
  clickMaxMs: number | null;
  scroll: { frames: number; p50: number; p95: number; max: number };
  rowsInDom: number;
  heapAfterGcMB: number;
  closing: { closed: number; listedAfterMs: number | null };
  freshClientMs: { median: number; max: number; samples: number[] };
  targets: Array<{ name: string; target: string; actual: string; met: boolean }>;
}

async function run(): Promise<UiConnectionsResults> {
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error(`No built renderer at ${rendererDir}: run \`npx electron-vite build\` first.`);
  const loadStart = os.loadavg()[0]!;
  const host = await startWebHost({ rendererDir, port: 0 });
  const browser = await launchChromium();
  let child: ChildProcess | undefined;
  try {
    const server = await host.service.startServer({ port: 0 });
    if (!server.ok) throw new Error(server.error);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // tsx (esbuild keepNames) may wrap nested functions in __name(): give the page a no-op one.
    await page.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f);' });
    await page.addInitScript({ content: pageInstrumentation });
    await page.goto(host.url);
    await page.getByTestId('server-status').getByText(server.url).waitFor({ timeout: 30_000 });
    const cdp = await page.context().newCDPSession(page);

    const profiling = process.env['UI_PROFILE'] === '1';
    if (profiling) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
      await cdp.send('Profiler.start');
    }

    // ---------------------------------------------------------------- opening
    const t0 = now();
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--clients', server.url, String(count)], { stdio: ['pipe', 'pipe', 'inherit'], cwd: root });
    const lines = createInterface({ input: child.stdout! });
    const waiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];
    lines.on('line', (line) => {
      const i = waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(line);
    });
    const expect = (prefix: string) => new Promise<string>((r) => waiters.push({ prefix, resolve: r }));
    const opened = expect('open ');
    child.once('exit', (code) => {
      if (code) waiters.forEach((w) => w.resolve(`failed ${code}`));
    });
    const openLine = await opened;
    if (!openLine.startsWith('open')) throw new Error(`the clients process ${openLine}`);
    const openMs = now() - t0;
    const listedAt = await waitForListed(page, count, 120_000);
    const listedMs = listedAt === null ? null : listedAt - t0;
    const openingEnd = now();
    console.log(`${count} open after ${Math.round(openMs)} ms, listed after ${listedMs === null ? 'never' : Math.round(listedMs)} ms`);
    await sleep(500);

    // ---------------------------------------------------------------- using the list
    const usingStart = now();
    const box = page.getByTestId('connections-scroll').first();
    const rowsInDom = await page.locator('button.connection').count();
    const boxRect = (await box.boundingBox())!;
    for (let i = 0; i < 10; i++) {
      const fraction = [0, 0.5, 0.1, 0.9, 0.3, 1, 0.7, 0.2, 0.6, 0.4][i]!;
      await box.evaluate((el, f) => (el.scrollTop = f * (el.scrollHeight - el.clientHeight)), fraction);
      await sleep(150);
      // The first row wholly inside the box (rows have gaps between them).
      const rows = await box.locator('button.connection').evaluateAll((els) => els.map((el) => el.getBoundingClientRect()).map((r) => ({ top: r.top, bottom: r.bottom })));
      const row = rows.find((r) => r.top >= boxRect.y + 4 && r.bottom <= boxRect.y + boxRect.height - 4) ?? rows[0]!;
      await page.mouse.click(boxRect.x + boxRect.width / 2, (row.top + row.bottom) / 2);
      await sleep(250);
    }
    const scroll = await page.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals;
      const el = g.document.querySelector('[data-testid=connections-scroll]')!;
      const frame = () => new Promise<number>((r) => g.requestAnimationFrame(r));
      el.scrollTop = 0;
      let last = await frame();
      const intervals: number[] = [];
      for (let i = 0; i < 120; i++) {
        el.scrollTop += 300;
        const t = await frame();
        intervals.push(t - last);
        last = t;
      }
      return intervals;
    });
    const usingEnd = now();
    if (profiling) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: Parameters<typeof summariseProfile>[0] };
      mkdirSync(join(root, '.test-output', 'profiles'), { recursive: true });
      writeFileSync(join(root, '.test-output', 'profiles', 'ui-connections.cpuprofile'), JSON.stringify(profile));
      console.log(`page profile (opening → scroll test):\n${formatSummary(summariseProfile(profile), 30)}\n`);
    }
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    const heapAfterGcMB = r1((heap.usedSize + (heap.backingStorageSize ?? 0)) / 2 ** 20);

    // ---------------------------------------------------------------- a fresh client, all the others open
    const fresh = expect('fresh ');
    child.stdin!.write('fresh\n');
    const freshTimes = JSON.parse((await fresh).slice('fresh '.length)) as number[];

    // ---------------------------------------------------------------- closing
    const closeStart = now();
    const closed = expect('closed');
    child.stdin!.write(`close ${closing}\n`);
    await closed;
    const listedAfterClose = await waitForListed(page, count - closing + keptClosed, 60_000);
    const closeEnd = now();
    child.stdin!.write('exit\n');

    const rec = await pageRecord(page);
    if (errors.length) console.warn(`page errors: ${errors.join('; ')}`);
    const tasks = (from: number, to: number) => {
      const l = rec.longtasks.filter((t) => t.start >= from && t.start <= to);
      return { count: l.length, maxMs: l.length ? Math.round(Math.max(...l.map((t) => t.duration))) : 0 };
    };
    const clicks = rec.clicks.filter((c) => c.eventAt >= usingStart && c.eventAt <= usingEnd).map((c) => {
      const entry = rec.events.find((e) => e.name === 'click' && Math.abs(e.start - c.eventAt) < 1);
      const interaction = entry?.interactionId ? rec.events.filter((e) => e.interactionId === entry.interactionId) : entry ? [entry] : [];
      const timing = interaction.length ? Math.max(...interaction.map((e) => e.duration)) : null;
      return { latencyMs: r1(timing ?? (c.rafAt === null ? Infinity : c.rafAt - c.eventAt)), selected: c.selected === true };
    });
    const clickMaxMs = clicks.length ? Math.max(...clicks.map((c) => c.latencyMs)) : null;
    const scrollFig = { frames: scroll.length, p50: r1(percentile(scroll, 50)), p95: r1(percentile(scroll, 95)), max: r1(Math.max(...scroll)) };
    const longTasks = { opening: tasks(t0, openingEnd), using: tasks(usingStart, usingEnd), closing: tasks(closeStart, closeEnd) };
    const worstTask = Math.max(longTasks.opening.maxMs, longTasks.using.maxMs, longTasks.closing.maxMs);
    const freshSorted = [...freshTimes].sort((a, b) => a - b);
    const result: UiConnectionsResults = {
      kind: 'websocket-inspector-ui-connections', date: new Date().toISOString(), machine: machineInfo(), connections: count,
      loadAverage: { start: r1(loadStart), end: r1(os.loadavg()[0]!) }, chromium: browser.version(),
      openMs: Math.round(openMs), listedMs: listedMs === null ? null : Math.round(listedMs), longTasks, clicks, clickMaxMs, scroll: scrollFig, rowsInDom, heapAfterGcMB,
      closing: { closed: closing, listedAfterMs: listedAfterClose === null ? null : Math.round(listedAfterClose - closeStart) },
      freshClientMs: { median: r1(freshSorted[freshSorted.length >> 1]!), max: r1(freshSorted.at(-1)!), samples: freshTimes.map(r1) },
      targets: [],
    };
    result.targets = [
      { name: 'no long task over 100 ms (opening, using, closing)', target: `≤ ${targets.longTaskMs} ms`, actual: `max ${worstTask} ms (opening ${longTasks.opening.count} long tasks, max ${longTasks.opening.maxMs} ms; using ${longTasks.using.count}, max ${longTasks.using.maxMs} ms; closing ${longTasks.closing.count}, max ${longTasks.closing.maxMs} ms)`, met: worstTask <= targets.longTaskMs },
      { name: 'a click on a connection selects it within 100 ms', target: `≤ ${targets.clickMs} ms`, actual: clickMaxMs === null ? 'no click recorded' : `max ${clickMaxMs} ms over ${clicks.length} clicks (${clicks.filter((c) => c.selected).length} selected by the next frame)`, met: clickMaxMs !== null && clickMaxMs <= targets.clickMs && clicks.length >= 10 && clicks.every((c) => c.selected) },
      { name: 'the list scrolls smoothly', target: `p95 frame ≤ ${targets.scrollP95Ms} ms, none over ${targets.scrollMaxMs} ms`, actual: `p50 ${scrollFig.p50} / p95 ${scrollFig.p95} / max ${scrollFig.max} ms over ${scrollFig.frames} frames`, met: scrollFig.p95 <= targets.scrollP95Ms && scrollFig.max <= targets.scrollMaxMs },
      { name: 'virtualised: a screenful of rows in the DOM', target: '< 60 rows', actual: `${rowsInDom} connection rows in the DOM for ${count.toLocaleString('en-US')} listed`, met: rowsInDom < 60 && rowsInDom > 0 },
      { name: 'every connection listed, and the list follows 2,000 closing', target: 'counts exact', actual: `${listedMs === null ? 'never listed all' : `all ${count.toLocaleString('en-US')} listed ${Math.round(listedMs)} ms after the first opened (the clients took ${Math.round(openMs)} ms to open)`}; ${closing.toLocaleString('en-US')} closed: ${listedAfterClose === null ? 'the list never showed it' : `listed as ${(count - closing + keptClosed).toLocaleString('en-US')} (the newest ${keptClosed} closed kept) ${Math.round(listedAfterClose - closeStart)} ms later`}`, met: listedMs !== null && listedAfterClose !== null },
    ];
    return result;
  } finally {
    child?.kill();
    await browser.close().catch(() => {});
    await host.close().catch(() => {});
  }
}

function renderMarkdown(r: UiConnectionsResults): string {
  const lines = [
    '## UI with many connections',
    '',
    `Written by \`npm run bench:ui:connections\` (scripts/ui-connections.ts) on ${r.date}: the web host serving the built renderer to Debian's Chromium ${r.chromium} (headless, 1440×900), on ${r.machine.cpu}, ${r.machine.cores} cores, code ${r.machine.commit}.`,
    `A child process opens ${r.connections.toLocaleString('en-US')} \`ws\` clients to the embedded echo server, 500 at a time, and keeps them open; the page lists them as server peers. 1-minute load average: ${r.loadAverage.start} → ${r.loadAverage.end}${Math.max(r.loadAverage.start, r.loadAverage.end) > r.machine.cores + 1 ? ' — **other work was competing for the CPU**' : ''}.`,
    '',
    '| target | limit | measured | status |',
    '| --- | --- | --- | --- |',
    ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${t.actual} | ${t.met ? '✅ met' : '❌ missed'} |`),
    '',
    `- **Clicks**: a row at the middle of the list's scroll box, after scrolling it to 10 places (real input through CDP); latency = Event Timing's duration for the interaction (from 16 ms), else the time to the next animation frame: ${r.clicks.map((c) => c.latencyMs).join(', ')} ms.`,
    `- **Heap** with every connection listed, after a forced GC: ${r.heapAfterGcMB} MB (JS heap + ArrayBuffer backing stores).`,
    `- **A fresh client** with all ${r.connections.toLocaleString('en-US')} open (the inspector tracing every connection; opening handshake + one echoed message, 7 times): median ${r.freshClientMs.median} ms, max ${r.freshClientMs.max} ms.`,
    '- How: only the connections that changed go to the page (status patches), and the list renders the rows in view (@tanstack/react-virtual).',
    '',
    'Raw figures: ui-connections-results.json.',
  ];
  return lines.join('\n');
}

if (process.argv[2] === '--clients') {
  void clientsProcess(process.argv[3]!, Number(process.argv[4]));
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const budget = setTimeout(() => {
    console.error('ui-connections: over its budget (4 min), giving up');
    process.exit(1);
  }, 240_000);
  budget.unref();
  run().then(
    (r) => {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'ui-connections-results.json'), `${JSON.stringify(r, null, 2)}\n`);
      if (process.env['UI_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'uiConnections', renderMarkdown(r));
      for (const t of r.targets) console.log(`${t.met ? '✓' : '✗'} ${t.name}: ${t.actual}`);
      console.log(`fresh client: ${JSON.stringify(r.freshClientMs)}; heap ${r.heapAfterGcMB} MB; load ${r.loadAverage.start} → ${r.loadAverage.end}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`ui-connections failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    },
  );
}
