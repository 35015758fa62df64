/**
 * npm run bench:ui — the inspector's UI under a flood of frames.
 *
 * Starts the web host (the same inspector service Electron runs) with the built renderer, opens it
 * in Debian's Chromium through playwright-core, and has a `ws` client send small text messages to
 * the embedded echo server at a paced rate (default 25,000 messages/s for 10 s, issue 17; the echoes
 * double the frames: 50,000 frames/s). Where the page cannot show every frame in time, the web host
 * folds them (src/service/frame-folding.ts): the list's count (data-total) includes folded frames,
 * and the run records how many were folded, in how many rows, and whether the count at the end is
 * exactly the wire's. Measured in the page:
 *
 *   long tasks     PerformanceObserver 'longtask' (and 'long-animation-frame' where supported)
 *   click latency  the Handshake and Frames tabs are clicked (real input events through CDP) every
 *                  second during the flood: from the event's timeStamp to the next paint after the
 *                  DOM changed (requestAnimationFrame, then a task after it), plus Event Timing's duration
 *   lag            every change of [data-testid=frame-count] (its data-total attribute) is recorded (MutationObserver) and
 *                  compared with when each frame crossed the wire (the service's own trace times):
 *                  the lag at any moment is how long ago the oldest frame not yet counted crossed it
 *   heap           CDP Runtime.getHeapUsage (JS heap, and ArrayBuffer backing stores) every 500 ms,
 *                  and after a forced GC once the flood is over
 *   scrolling      with the frames the list holds (its ring keeps the newest 150k), .frame-scroll is scrolled in steps,
 *                  one step per animation frame, and the frame intervals are recorded
 *
 * Writes ui-flood-results.json and the "UI under flood" section of BENCHMARKS.md.
 * `--large-ring` (npm run bench:ui:large): one run with the list keeping up to 1M frames, into
 * ui-flood-large-ring-results.json and its own section.
 *
 * UI_TRACE=1 records a Chrome trace of the flood and prints, per renderer task over 50 ms, its
 * time by kind of work (script, garbage collection, style, layout, paint; scripts/trace-summary.ts).
 * UI_PROFILE=1 also records a CPU profile of the renderer from the flood's start until the list
 * caught up (.test-output/profiles/ui-flood-renderer.cpuprofile) and prints its top functions.
 *
 * The whole measurement runs UI_RUNS times (default 3, each with a fresh web host and browser);
 * each target is judged on the median of the runs' figures, and every run's figure is shown.
 *
 * Environment: UI_FLOOD_RATE (messages sent per second, default 25000), UI_FLOOD_SECONDS (10),
 * UI_RENDERER_DIR (default out/renderer; run `npx electron-vite build` first), UI_OUT_DIR (where
 * the JSON and BENCHMARKS.md go, default the repository root), UI_NO_MD=1, UI_RENDER_ONLY=1 (measure
 * nothing: rewrite the BENCHMARKS.md section from ui-flood-results.json), UI_KEEP_FRAMES (the
 * list's ring, as its "keep" menu sets it; default the app's).
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Browser, CDPSession, Page } from 'playwright-core';
import WebSocket from 'ws';
import { startWebHost, type WebHost } from '../src/host/web-host.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { machineInfo, writeSection, type Machine } from './bench.ts';
import { formatSummary, summariseProfile } from './cpuprofile-summary.ts';
import { formatLongTasks, summariseLongTasks } from './trace-summary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const rate = Number(process.env['UI_FLOOD_RATE'] ?? 25_000);
const seconds = Number(process.env['UI_FLOOD_SECONDS'] ?? 10);
const rendererDir = resolve(process.env['UI_RENDERER_DIR'] ?? join(root, 'out/renderer'));
const outDir = resolve(process.env['UI_OUT_DIR'] ?? root);
const catchUpLimitMs = 60_000;
/** `npm run bench:ui:large`: one run with the frame list's largest ring, into its own section and file. */
const largeRing = process.argv.includes('--large-ring');
const runs = Math.max(1, Math.floor(Number(process.env['UI_RUNS'] ?? (largeRing ? 1 : 3))));
const resultsFile = largeRing ? 'ui-flood-large-ring-results.json' : 'ui-flood-results.json';
const section = largeRing ? 'uiLargeRing' : 'ui';
/** The last run goes on flooding this long past the measured flood, to see whether the heap stops growing. */
const soakSeconds = Number(process.env['UI_SOAK_SECONDS'] ?? 45);
/** The frame list's ring (its "keep" menu); unset: the app's default. */
const keepFrames = process.env['UI_KEEP_FRAMES'] ? Number(process.env['UI_KEEP_FRAMES']) : largeRing ? 1_000_000 : null;
/** Heap growth per frame on the wire, beyond what the retained frames account for, that still counts as flat. */
const leakLimitBytes = 16;

const targets = {
  longTaskMs: 100,
  clickMs: 100,
  lagMs: 250,
  /** At most one dropped frame at the 95th percentile (60 Hz). */
  scrollP95Ms: 25,
  /** No frame longer than three frame intervals (3 × 16.7 ms, plus 1 ms for timer jitter). */
  scrollMaxMs: 51,
};

const now = () => performance.timeOrigin + performance.now();
const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ in-page instrumentation

interface PageRecord {
  longtasks: Array<{ start: number; duration: number }>;
  loafs: Array<{ start: number; duration: number; blocking: number }>;
  counts: Array<{ t: number; count: number | null }>;
  events: Array<{ name: string; start: number; duration: number; interactionId: number }>;
  clicks: Array<{ label: string; eventAt: number; handlerAt: number; rafAt: number | null; paintAt: number | null; selectedAtRaf: string | null }>;
}

/**
 * The little of the DOM the in-page functions use. This project's node tsconfig has no DOM lib,
 * so the functions that run in the page reach the page's globals through this shape.
 */
interface PageElement {
  textContent: string | null;
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  closest?(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
}
interface PageEntry {
  name: string;
  startTime: number;
  duration: number;
  blockingDuration?: number;
  interactionId?: number;
}
interface PageGlobals {
  __flood: PageRecord;
  document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): { length: number };
    addEventListener(type: 'click', listener: (e: { target: PageElement | null; timeStamp: number }) => void, capture: boolean): void;
  };
  requestAnimationFrame(callback: (time: number) => void): number;
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, unknown>): void };
  PerformanceObserver: new (callback: (list: { getEntries(): PageEntry[] }) => void) => { observe(options: Record<string, unknown>): void };
}

/** Runs in the page before the app: every time is epoch milliseconds (timeOrigin + now). */
function instrument(): void {
  const page = globalThis as unknown as PageGlobals;
  const document = page.document;
  const origin = performance.timeOrigin;
  const rec: PageRecord = { longtasks: [], loafs: [], counts: [], events: [], clicks: [] };
  page.__flood = rec;
  const observe = (type: string, fn: (e: PageEntry) => void, extra: Record<string, unknown> = {}) => {
    try {
      new page.PerformanceObserver((list) => list.getEntries().forEach(fn)).observe({ type, buffered: true, ...extra });
    } catch {
      // not supported by this browser
    }
  };
  observe('longtask', (e) => rec.longtasks.push({ start: origin + e.startTime, duration: e.duration }));
  observe('long-animation-frame', (e) => rec.loafs.push({ start: origin + e.startTime, duration: e.duration, blocking: e.blockingDuration ?? 0 }));
  observe('event', (e) => {
    if (['click', 'pointerdown', 'pointerup', 'mousedown', 'mouseup'].includes(e.name)) {
      rec.events.push({ name: e.name, start: origin + e.startTime, duration: e.duration, interactionId: e.interactionId ?? 0 });
    }
  }, { durationThreshold: 16 });
  let last: number | null | undefined;
  const sample = () => {
    const el = document.querySelector('[data-testid=frame-count]');
    // data-total counts frames the ring has dropped too (the text shows those still held).
    const total = el?.getAttribute('data-total');
    const m = el?.textContent?.match(/^(\d+)/);
    const count = total ? Number(total) : m ? Number(m[1]) : null;
    if (count !== last) {
      last = count;
      rec.counts.push({ t: origin + performance.now(), count });
    }
  };
  // Only data-total's changes queue a record: watching every text and child change of the
  // document would make the measurement itself allocate a record per row the list re-renders.
  // A tab switch (the list leaves or comes back) is sampled from the click handler below.
  new page.MutationObserver(sample).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-total'] });
  document.addEventListener('click', (e) => {
    const tab = e.target?.closest?.('[role=tab]');
    if (!tab) return;
    const click: PageRecord['clicks'][number] = {
      label: tab.textContent ?? '', eventAt: origin + e.timeStamp, handlerAt: origin + performance.now(), rafAt: null, paintAt: null, selectedAtRaf: null,
    };
    rec.clicks.push(click);
    page.requestAnimationFrame(() => {
      click.rafAt = origin + performance.now();
      // The tab switch took the list off screen or brought it back (no data-total change says so).
      sample();
      click.selectedAtRaf = tab.getAttribute('aria-selected');
      // A task queued from requestAnimationFrame runs once that frame has been produced.
      setTimeout(() => {
        click.paintAt = origin + performance.now();
      }, 0);
    });
  }, true);
}

/** Scrolls .frame-scroll one step per animation frame; returns the frame intervals. */
async function scrollTest(opts: { steps: number; px: number; jumps: number }): Promise<{ intervals: number[]; jumpIntervals: number[]; rowsMin: number; scrollHeight: number }> {
  const page = globalThis as unknown as PageGlobals;
  const document = page.document;
  const el = document.querySelector('.frame-scroll');
  if (!el) throw new Error('no .frame-scroll');
  const frame = () => new Promise<number>((r) => page.requestAnimationFrame((t) => r(t)));
  const rows = () => document.querySelectorAll('[data-testid=frame-row]').length;
  el.scrollTop = 0;
  await frame();
  await frame();
  let last = await frame();
  let rowsMin = Infinity;
  const intervals: number[] = [];
  for (let i = 0; i < opts.steps; i++) {
    el.scrollTop += opts.px;
    const t = await frame();
    intervals.push(t - last);
    last = t;
    rowsMin = Math.min(rowsMin, rows());
  }
  // Deterministic "random" jumps anywhere in the list.
  let seed = 12345;
  const jumpIntervals: number[] = [];
  for (let i = 0; i < opts.jumps; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    el.scrollTop = (seed / 0x7fffffff) * (el.scrollHeight - el.clientHeight);
    const t = await frame();
    jumpIntervals.push(t - last);
    last = t;
    rowsMin = Math.min(rowsMin, rows());
  }
  return { intervals, jumpIntervals, rowsMin, scrollHeight: el.scrollHeight };
}

// ------------------------------------------------------------------ helpers

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

interface HeapSample {
  t: number;
  jsUsedMB: number;
  jsTotalMB: number;
  backingStoreMB: number | null;
  /** The frames the list counts: those it holds plus those its ring dropped (data-total). */
  framesShown: number | null;
  /** The frames the list holds (its ring keeps the newest). */
  framesHeld: number | null;
}

async function heapSample(cdp: CDPSession, t: number, list: { shown: number | null; held: number | null }): Promise<HeapSample> {
  const h = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; backingStorageSize?: number };
  const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  return { t, jsUsedMB: mb(h.usedSize), jsTotalMB: mb(h.totalSize), backingStoreMB: h.backingStorageSize !== undefined ? mb(h.backingStorageSize) : null, framesShown: list.shown, framesHeld: list.held };
}

/** Offset to add to a node epoch time to get the page's epoch time (min round trip of 7). */
async function clockOffset(page: Page): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 7; i++) {
    const t0 = now();
    const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now());
    const t1 = now();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: pageTime - (t0 + t1) / 2 };
  }
  return best.offset;
}

/**
 * The most the shown count lagged the wire: while the page showed c frames (from its sample time
 * until the next sample), frame c+1 had crossed the wire at wire[c]; just before the next sample
 * the lag is that sample's time minus wire[c]. Intervals with no list on screen (another tab) are
 * skipped; when the list comes back, any backlog in the store counts again.
 */
export function maxLag(counts: ReadonlyArray<{ t: number; count: number | null }>, wire: readonly number[], end: number): { maxMs: number; at: number | null } {
  let maxMs = 0;
  let at: number | null = null;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!.count;
    if (c === null) continue;
    const until = i + 1 < counts.length ? counts[i + 1]!.t : end;
    const firstUnshown = wire[c];
    if (firstUnshown === undefined || firstUnshown >= until) continue;
    if (until - firstUnshown > maxMs) {
      maxMs = until - firstUnshown;
      at = until;
    }
  }
  return { maxMs, at };
}

/** The lag just before each update of the shown count (the local maxima of the lag). */
function lagEpisodes(counts: ReadonlyArray<{ t: number; count: number | null }>, wire: readonly number[], end: number): Array<{ at: number; lagMs: number }> {
  const out: Array<{ at: number; lagMs: number }> = [];
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!.count;
    if (c === null) continue;
    const until = i + 1 < counts.length ? counts[i + 1]!.t : end;
    const firstUnshown = wire[c];
    if (firstUnshown !== undefined && firstUnshown < until) out.push({ at: until, lagMs: until - firstUnshown });
  }
  return out;
}

// ------------------------------------------------------------------ the run

export interface TargetCheck {
  id: 'long-task' | 'click' | 'lag' | 'heap' | 'scroll';
  name: string;
  target: string;
  actual: string;
  /** The figure compared with the limit (lower is better); heap: 1 if it kept growing, 0 if it plateaued. */
  value: number | null;
  met: boolean;
  note: string;
}

export interface UiFloodRun {
  loadAverage: { start: number; end: number };
  chromium: string;
  flood: {
    sent: number; echoed: number; wireFrames: number; achievedRate: number; nodeCpuPercent: number; catchUpMs: number | null; shownAtEnd: number; heldAtEnd: number;
    /** Folded by the web host for the page (it fell behind), as the host and as the page count them; exact: the page's count is the wire's. */
    folded: { frames: number; rows: number; pageFrames: number; exact: boolean };
    /** Event-loop delay of the Node process (web host, service, embedded server, ws client) during the flood. */
    nodeLoopDelayMs: { p50: number; p99: number; max: number };
  };
  longTasks: {
    count: number; maxMs: number; totalMs: number; over100: number; duringScroll: { count: number; maxMs: number };
    /** For information: the soak's flood (ring full, evicting), leaving out the garbage collections the measurement forced. */
    duringSoak?: { count: number; maxMs: number; seconds: number } | null;
    /** The longest ones: start in ms after the flood started, and the click (if any) in the 200 ms before. */
    longest: Array<{ atMs: number; durationMs: number; afterClick: string | null }>;
  };
  longAnimationFrames: { count: number; maxMs: number; maxBlockingMs: number } | null;
  /**
   * latencyMs: Event Timing's duration for the interaction (from the input event to the next paint
   * after it was handled; reported from 16 ms), else the time to the next animation frame.
   * toTaskAfterFrameMs: to a task queued from that frame (an upper bound: other queued tasks, such as
   * trace batches, run before it). cdpMs: until CDP acknowledged the press and release.
   */
  clicks: Array<{ label: string; latencyMs: number | null; eventTimingMs: number | null; toFrameMs: number | null; toTaskAfterFrameMs: number | null; cdpMs: number; switched: boolean }>;
  clickMaxMs: number | null;
  /** atMs: when the maximum was reached, in ms after the flood started. */
  lag: { maxMs: number; atMs: number | null; samples: number; p50: number; p95: number; over250: Array<{ atMs: number; lagMs: number }> };
  heap: {
    samples: HeapSample[]; afterGc: HeapSample; afterIdle: HeapSample; bytesPerFrame: number; growthMBPerSecondDuringFlood: number; minutesTo4GiB: number | null; plateau: boolean;
    /** The flood goes on for `seconds` more at the same rate, past any retention cap. */
    soak: {
      seconds: number; sent: number; samples: HeapSample[];
      /** After a forced GC: a third and two thirds into the soak, and once the list settled after it. */
      gc: Array<HeapSample & { wireFrames: number }>;
      maxShown: number; maxHeld: number; evictionSeen: boolean; bounded: boolean | null;
      /** Heap growth after GC from the first soak sample to the last, and the part of it no retained frame explains, per wire frame. */
      growthLastPhaseMB: number | null; leakBytesPerWireFrame: number | null;
    };
  };
  scroll: { frames: number; retainedFrames: number; p50: number; p95: number; p99: number; max: number; overThreeFrames: number; jumpP95: number; jumpMax: number; rowsMin: number; intervals: number[]; jumpIntervals: number[] };
  targets: TargetCheck[];
  elapsedSeconds: number;
}

export interface UiFloodResults {
  kind: 'websocket-inspector-ui-flood';
  date: string;
  machine: Machine;
  config: { rate: number; seconds: number; messageBytes: number; runs: number; rendererDir: string; keepFrames?: number | null };
  runs: UiFloodRun[];
  /** Per target: every run's figure, the median, and met/missed on the median. */
  summary: Array<{ id: TargetCheck['id']; name: string; target: string; values: Array<number | null>; median: number | null; met: boolean; note: string }>;
  elapsedSeconds: number;
}

const messageBytes = Buffer.byteLength(`flood ${'0'.repeat(7)} ${'x'.repeat(16)}`);

async function run(soakSeconds: number): Promise<UiFloodRun> {
  const started = now();
  const loadStart = os.loadavg()[0]!;
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error(`No built renderer at ${rendererDir}: run \`npx electron-vite build\` first.`);
  let host: WebHost | undefined;
  let browser: Browser | undefined;
  let ws: WebSocket | undefined;
  try {
    host = await startWebHost({ rendererDir, port: 0 });
    const server = await host.service.startServer({ port: 0 });
    if (!server.ok) throw new Error(server.error);
    const serverUrl = server.url;

    // When each frame crossed the wire, per connection (the service's own trace clock).
    const wireByConn = new Map<string, number[]>();
    host.service.tracer.subscribe((e) => {
      if (e.type !== 'frame') return;
      let list = wireByConn.get(e.connectionId);
      if (!list) wireByConn.set(e.connectionId, (list = []));
      list.push(e.time);
    });

    browser = await launchChromium();
    const chromiumVersion = browser.version();
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // tsx (esbuild keepNames) may wrap nested functions in __name(): give the page a no-op one.
    await page.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f);' });
    await page.addInitScript(instrument);
    if (keepFrames !== null) await page.addInitScript({ content: `localStorage.setItem('websocket-inspector.maxFrames', '${keepFrames}');` });
    await page.goto(host.url);
    await page.getByTestId('server-status').getByText(serverUrl).waitFor({ timeout: 30_000 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Runtime.enable');

    ws = new WebSocket(serverUrl, { perMessageDeflate: false });
    await new Promise<void>((r, j) => {
      ws!.once('open', () => r());
      ws!.once('error', j);
    });
    let connId: string | undefined;
    for (let i = 0; i < 200 && !connId; i++) {
      connId = host.service.getStatus().connections.find((c) => c.role === 'server' && c.state === 'OPEN')?.id;
      if (!connId) await sleep(25);
    }
    if (!connId) throw new Error('the flood connection did not appear');
    await page.getByTestId(`connection-${connId}`).click();
    await page.getByRole('tab', { name: 'Frames' }).click();
    await page.getByTestId('frame-count').getByText('0 frames').waitFor();
    const handshakeBox = (await page.getByRole('tab', { name: 'Handshake' }).boundingBox())!;
    const framesBox = (await page.getByRole('tab', { name: 'Frames' }).boundingBox())!;
    const offset = await clockOffset(page);
    const toPage = (t: number) => t + offset;

    // ---------------------------------------------------------------- the flood
    let echoed = 0;
    ws.on('message', () => echoed++);
    const total = Math.round(rate * seconds);
    const pad = 'x'.repeat(16);
    const message = (i: number) => `flood ${String(i).padStart(7, '0')} ${pad}`;
    let sent = 0;
    const heapSamples: HeapSample[] = [];
    const lastShown = async () => page.evaluate(() => {
      const c = (globalThis as unknown as PageGlobals).__flood.counts;
      for (let i = c.length - 1; i >= 0; i--) if (c[i]!.count !== null) return c[i]!.count;
      return null;
    });
    /** What the list counts (shown, with the frames its ring dropped) and what it holds. */
    const listCounts = async () => page.evaluate(() => {
      const el = (globalThis as unknown as PageGlobals).document.querySelector('[data-testid=frame-count]');
      const total = el?.getAttribute('data-total');
      const m = el?.textContent?.match(/^(\d+)/);
      return { shown: total ? Number(total) : null, held: m ? Number(m[1]) : null };
    });
    let flooding = true;
    let sampling = true;
    const heapLoop = (async () => {
      while (sampling) {
        const t = now();
        try {
          heapSamples.push(await heapSample(cdp, toPage(t), await listCounts()));
        } catch {
          // the page is busy or gone; try again
        }
        await sleep(Math.max(0, 500 - (now() - t)));
      }
    })();
    const clicks: Array<{ label: string; nodeAt: number; cdpMs: number }> = [];
    const cpu0 = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const profiling = process.env['UI_PROFILE'] === '1';
    if (profiling) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
      await cdp.send('Profiler.start');
    }
    // UI_TRACE=1: a Chrome trace of the flood, and what each long task was made of.
    const tracing = process.env['UI_TRACE'] === '1';
    if (tracing) {
      await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.execute', 'disabled-by-default-v8.gc', 'blink', 'toplevel'] });
    }
    const floodStart = now();
    const clickLoop = (async () => {
      for (let s = 1; s < seconds; s++) {
        for (const [label, box, at] of [['Handshake', handshakeBox, s * 1000], ['Frames', framesBox, s * 1000 + 400]] as const) {
          const wait = floodStart + at - now();
          if (wait > 0) await sleep(wait);
          if (!flooding) return;
          const t = now();
          await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
          clicks.push({ label, nodeAt: toPage(t), cdpMs: now() - t });
        }
      }
    })();
    /** Sends `count` more messages paced at `rate`/s from now (gives up 2 s after the planned end). */
    const paced = (count: number) => new Promise<void>((resolvePaced) => {
      // Every tick sends what is due by now, at most 50 ms worth at once.
      const maxBurst = Math.max(1, Math.ceil(rate / 20));
      const begin = now();
      const first = sent;
      const tick = () => {
        const elapsed = now() - begin;
        const due = first + Math.min(count, Math.floor((rate * elapsed) / 1000));
        for (let burst = 0; sent < due && burst < maxBurst; burst++) ws!.send(message(sent++));
        if (sent >= first + count || elapsed >= (count / rate) * 1000 + 2000) resolvePaced();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await paced(total);
    const floodEnd = now();
    const floodSent = sent;
    flooding = false;
    await clickLoop;
    const cpu = process.cpuUsage(cpu0);
    loopDelay.disable();
    // Wait for the echoes, then for the list to show every frame.
    for (let i = 0; i < 200 && echoed < sent; i++) await sleep(50);
    const wire = () => wireByConn.get(connId!) ?? [];
    // The last click was Frames: the list is on screen again.
    let caughtUpAt: number | null = null;
    const deadline = now() + catchUpLimitMs;
    while (now() < deadline) {
      const shown = await lastShown();
      if (shown !== null && shown >= wire().length && echoed >= sent) {
        caughtUpAt = now();
        break;
      }
      await sleep(100);
    }
    sampling = false;
    await heapLoop;
    if (tracing) {
      const trace = await browser.stopTracing();
      const dir = join(root, '.test-output', 'profiles');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ui-flood-trace.json'), trace);
      const parsed = JSON.parse(trace.toString('utf8')) as { traceEvents: Parameters<typeof summariseLongTasks>[0] };
      console.log(`renderer tasks over 50 ms (trace: .test-output/profiles/ui-flood-trace.json):\n${formatLongTasks(summariseLongTasks(parsed.traceEvents, 50))}\n`);
    }
    if (profiling) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: Parameters<typeof summariseProfile>[0] };
      const dir = join(root, '.test-output', 'profiles');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ui-flood-renderer.cpuprofile'), JSON.stringify(profile));
      console.log(`renderer profile (flood start → caught up):\n${formatSummary(summariseProfile(profile), 30)}\n`);
    }
    const wireTimes = wire().map(toPage);
    const shownAtEnd = (await lastShown()) ?? 0;
    const heldAtEnd = (await listCounts()).held ?? 0;
    const stream = host.streamStats()[0];
    const pageFolded = await page.evaluate(() => Number((globalThis as unknown as PageGlobals).document.querySelector('[data-testid=frames-folded]')?.getAttribute('data-folded') ?? 0));
    const folded = { frames: stream?.foldedFrames ?? 0, rows: stream?.foldRows ?? 0, pageFrames: pageFolded, exact: shownAtEnd === wireTimes.length && pageFolded === (stream?.foldedFrames ?? 0) };

    // ---------------------------------------------------------------- heap after the flood
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    const afterGc = await heapSample(cdp, toPage(now()), { shown: shownAtEnd, held: heldAtEnd });
    await sleep(3000);
    await cdp.send('HeapProfiler.collectGarbage');
    const afterIdle = await heapSample(cdp, toPage(now()), { shown: shownAtEnd, held: heldAtEnd });

    // ---------------------------------------------------------------- soak: past any retention cap
    // Keep flooding at the same rate: if the frame store has a cap, the shown count stops rising
    // and the heap (after GC) stops growing; without one, both keep growing with every frame.
    // Heap per retained frame: after GC, from the empty page to the end of the flood.
    const before = heapSamples[0];
    const heapMB = (h: HeapSample) => h.jsUsedMB + (h.backingStoreMB ?? 0);
    const bytesPerFrame = before && heldAtEnd > 0 ? ((heapMB(afterGc) - heapMB(before)) * 2 ** 20) / heldAtEnd : NaN;
    /** The soak's flood, and the garbage collections the measurement forced in it (their pauses are not the app's). */
    const soakWindow = { start: 0, end: 0 };
    const forcedGcs: Array<{ start: number; end: number }> = [];
    const soak: UiFloodRun['heap']['soak'] = { seconds: soakSeconds, sent: 0, samples: [], gc: [], maxShown: shownAtEnd, maxHeld: heldAtEnd, evictionSeen: heldAtEnd < shownAtEnd, bounded: null, growthLastPhaseMB: null, leakBytesPerWireFrame: null };
    if (soakSeconds > 0) {
      const soakFrom = sent;
      const countsBefore = (await page.evaluate(() => (globalThis as unknown as PageGlobals).__flood.counts.length));
      soakWindow.start = toPage(now());
      const gcSample = async () => {
        const t0 = toPage(now());
        await cdp.send('HeapProfiler.collectGarbage');
        const h = await heapSample(cdp, toPage(now()), await listCounts());
        soak.gc.push({ ...h, wireFrames: wire().length });
        forcedGcs.push({ start: t0, end: toPage(now()) });
      };
      let soaking = true;
      const soakSampler = (async () => {
        while (soaking) {
          const t = now();
          try {
            soak.samples.push(await heapSample(cdp, toPage(t), await listCounts()));
          } catch {
            // busy; next time
          }
          await sleep(Math.max(0, 1000 - (now() - t)));
        }
      })();
      const thirds = sleep((soakSeconds * 1000) / 3).then(gcSample).then(() => sleep((soakSeconds * 1000) / 3 - 150)).then(gcSample);
      await paced(Math.round(rate * soakSeconds));
      soakWindow.end = toPage(now());
      await thirds;
      soak.sent = sent - soakFrom;
      for (let i = 0; i < 200 && echoed < sent; i++) await sleep(50);
      // Settled: the shown count has not changed for a second (at most 30 s).
      let last = -1;
      for (let i = 0, stable = 0; i < 300 && stable < 10; i++) {
        const shown = (await lastShown()) ?? -1;
        stable = shown === last ? stable + 1 : 0;
        last = shown;
        await sleep(100);
      }
      soaking = false;
      await soakSampler;
      await gcSample();
      const counts = (await page.evaluate((from) => (globalThis as unknown as PageGlobals).__flood.counts.slice(from), countsBefore)).map((c) => c.count).filter((c): c is number => c !== null);
      soak.maxShown = Math.max(shownAtEnd, ...counts);
      const heldCounts = [...soak.samples, ...soak.gc].map((h) => h.framesHeld ?? 0);
      soak.maxHeld = Math.max(heldAtEnd, ...heldCounts);
      // The ring dropped frames: the list holds fewer than it has counted.
      soak.evictionSeen = soak.evictionSeen || [...soak.samples, ...soak.gc].some((h) => h.framesHeld !== null && h.framesShown !== null && h.framesHeld < h.framesShown);
      // From a third into the soak (past any cap) to its end: heap growth after GC beyond what the
      // change in retained frames explains (at the per-frame cost measured after the flood), per
      // frame on the wire. A store with a cap and no leak gives ~0.
      const [first, end] = [soak.gc[0]!, soak.gc[soak.gc.length - 1]!];
      const total = (h: HeapSample) => (h.jsUsedMB + (h.backingStoreMB ?? 0)) * 2 ** 20;
      const explained = ((end.framesHeld ?? 0) - (first.framesHeld ?? 0)) * (Number.isFinite(bytesPerFrame) ? bytesPerFrame : 0);
      soak.growthLastPhaseMB = r1((total(end) - total(first)) / 2 ** 20);
      soak.leakBytesPerWireFrame = end.wireFrames > first.wireFrames ? Math.round((total(end) - total(first) - explained) / (end.wireFrames - first.wireFrames)) : null;
      soak.bounded = soak.leakBytesPerWireFrame !== null && soak.leakBytesPerWireFrame <= leakLimitBytes;
    }

    // ---------------------------------------------------------------- scrolling with every frame retained
    const retained = (await listCounts()).held ?? 0;
    if (profiling) await cdp.send('Profiler.start');
    const scrollStart = toPage(now());
    const scroll = await page.evaluate(scrollTest, { steps: 180, px: 1040, jumps: 60 });
    const scrollEnd = toPage(now());
    if (profiling) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: Parameters<typeof summariseProfile>[0] };
      writeFileSync(join(root, '.test-output', 'profiles', 'ui-scroll-renderer.cpuprofile'), JSON.stringify(profile));
      console.log(`renderer profile (scroll test):\n${formatSummary(summariseProfile(profile), 20)}\n`);
    }

    const rec = await page.evaluate(() => (globalThis as unknown as PageGlobals).__flood);
    if (errors.length) console.warn(`page errors: ${errors.join('; ')}`);

    // ---------------------------------------------------------------- figures
    const windowEnd = toPage(caughtUpAt ?? now());
    const inFlood = (t: number) => t >= toPage(floodStart) && t <= windowEnd;
    const floodTasks = rec.longtasks.filter((l) => inFlood(l.start));
    const scrollTasks = rec.longtasks.filter((l) => l.start >= scrollStart && l.start <= scrollEnd);
    const soakTasks = rec.longtasks.filter((l) => l.start >= soakWindow.start && l.start <= soakWindow.end
      && !forcedGcs.some((g) => l.start <= g.end + 50 && l.start + l.duration >= g.start - 50));
    const floodLoafs = rec.loafs.filter((l) => inFlood(l.start));
    const clickResults = rec.clicks.filter((c) => c.eventAt >= toPage(floodStart)).map((c) => {
      const node = clicks.find((n) => n.label === c.label && Math.abs(n.nodeAt - c.eventAt) < 5000);
      // Event Timing: the click's entry, and every entry of the same interaction (pointerdown,
      // pointerup, click): the interaction's latency is the longest, as for INP.
      const clickEntry = rec.events.find((e) => e.name === 'click' && Math.abs(e.start - c.eventAt) < 1);
      const interaction = clickEntry && clickEntry.interactionId ? rec.events.filter((e) => e.interactionId === clickEntry.interactionId) : clickEntry ? [clickEntry] : [];
      const eventTimingMs = interaction.length ? Math.max(...interaction.map((e) => e.duration)) : null;
      const toFrameMs = c.rafAt !== null ? r1(c.rafAt - c.eventAt) : null;
      return {
        label: c.label.trim(),
        // No Event Timing entry means under 16 ms: then the time to the next animation frame.
        latencyMs: eventTimingMs ?? toFrameMs,
        eventTimingMs,
        toFrameMs,
        toTaskAfterFrameMs: c.paintAt !== null ? r1(c.paintAt - c.eventAt) : null,
        cdpMs: node ? r1(node.cdpMs) : NaN,
        switched: c.selectedAtRaf === 'true',
      };
    });
    const clickMaxMs = clickResults.length ? Math.max(...clickResults.map((c) => c.latencyMs ?? Infinity)) : null;
    const countsInWindow = rec.counts.filter((c) => c.t <= windowEnd);
    const lag = maxLag(countsInWindow, wireTimes, windowEnd);
    const episodes = lagEpisodes(countsInWindow, wireTimes, windowEnd);

    const floodHeap = heapSamples.filter((h) => h.t >= toPage(floodStart) && h.t <= toPage(floodEnd));
    const heapTotal = (h: HeapSample) => h.jsUsedMB + (h.backingStoreMB ?? 0);
    let growth = 0;
    let plateau = false;
    if (floodHeap.length >= 6) {
      const third = Math.floor(floodHeap.length / 3);
      const slope = (a: HeapSample, b: HeapSample) => (heapTotal(b) - heapTotal(a)) / ((b.t - a.t) / 1000);
      const first = slope(floodHeap[0]!, floodHeap[third]!);
      const lastThird = slope(floodHeap[floodHeap.length - 1 - third]!, floodHeap[floodHeap.length - 1]!);
      growth = slope(floodHeap[0]!, floodHeap[floodHeap.length - 1]!);
      plateau = lastThird < 0.25 * Math.max(first, 1e-9) || lastThird < 1;
    }
    const minutesTo4GiB = growth > 0 ? (4096 - heapTotal(afterGc)) / growth / 60 : null;

    const all = [...scroll.intervals];
    const scrollFig = {
      frames: all.length, retainedFrames: retained,
      p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99), max: Math.max(...all),
      overThreeFrames: all.filter((x) => x > targets.scrollMaxMs).length,
      jumpP95: percentile(scroll.jumpIntervals, 95), jumpMax: Math.max(...scroll.jumpIntervals), rowsMin: scroll.rowsMin,
      intervals: scroll.intervals.map(r1), jumpIntervals: scroll.jumpIntervals.map(r1),
    };
    const longMax = floodTasks.length ? Math.max(...floodTasks.map((l) => l.duration)) : 0;
    const targetRows: TargetCheck[] = [
      {
        id: 'long-task', value: longMax, name: 'no long task over 100 ms (flood and catch-up)', target: `≤ ${targets.longTaskMs} ms`, actual: `max ${r1(longMax)} ms (${floodTasks.filter((l) => l.duration > 100).length} over 100 ms of ${floodTasks.length} long tasks)`,
        met: longMax <= targets.longTaskMs, note: longMax <= targets.longTaskMs ? '' : `over by ${r1(longMax - targets.longTaskMs)} ms`,
      },
      {
        id: 'click', value: clickMaxMs, name: 'a click answers within 100 ms (tab switch during the flood)', target: `≤ ${targets.clickMs} ms`, actual: clickMaxMs === null ? 'no click recorded' : `max ${r1(clickMaxMs)} ms over ${clickResults.length} clicks`,
        met: clickMaxMs !== null && clickMaxMs <= targets.clickMs && clickResults.every((c) => c.switched), note: clickMaxMs !== null && clickMaxMs > targets.clickMs ? `over by ${r1(clickMaxMs - targets.clickMs)} ms` : '',
      },
      {
        id: 'lag', value: caughtUpAt === null ? null : lag.maxMs, name: 'the frame list never more than 250 ms behind the wire', target: `≤ ${targets.lagMs} ms`, actual: `max ${r1(lag.maxMs)} ms`,
        met: lag.maxMs <= targets.lagMs && caughtUpAt !== null, note: caughtUpAt === null ? `never caught up within ${catchUpLimitMs / 1000} s` : lag.maxMs > targets.lagMs ? `over by ${r1(lag.maxMs - targets.lagMs)} ms` : '',
      },
      (() => {
        const hb = (h: HeapSample) => h.jsUsedMB + (h.backingStoreMB ?? 0);
        const perFrame = `${Number.isFinite(bytesPerFrame) ? Math.round(bytesPerFrame) : '?'} B per retained frame after the flood (${r1(hb(afterGc))} MB for ${heldAtEnd.toLocaleString('en-US')} frames held)`;
        const name = 'heap bounded (stops growing under a sustained flood)';
        const target = `past any retention cap, ≤ ${leakLimitBytes} B of heap per wire frame beyond the retained frames`;
        if (soak.bounded === null) {
          return {
            id: 'heap' as const, value: null, name, target, actual: `no soak in this run; ${r1(growth)} MB/s during the flood; ${perFrame}`, met: plateau,
            note: plateau ? '' : 'grows with every frame during the flood (no soak in this run to look for a cap)',
          };
        }
        const g = soak.gc;
        const first = g[0]!, end = g[g.length - 1]!;
        const leak = soak.leakBytesPerWireFrame ?? 0;
        const perMinute = (leak * 2 * rate * 60) / 2 ** 20;
        const actual = `${perFrame}; ${soak.seconds} s soak: the list counted ${soak.maxShown.toLocaleString('en-US')} frames and held at most ${soak.maxHeld.toLocaleString('en-US')}${soak.evictionSeen ? ' (its ring dropped the oldest)' : ' (it never dropped any)'}; heap after GC ${g.map((h) => `${r1(hb(h))} MB at ${h.wireFrames.toLocaleString('en-US')} wire / ${(h.framesHeld ?? 0).toLocaleString('en-US')} held`).join(' → ')}: ${leak} B per wire frame beyond the retained frames (${r1(hb(end) - hb(first))} MB over ${(end.wireFrames - first.wireFrames).toLocaleString('en-US')} wire frames)`;
        return {
          id: 'heap' as const, value: leak, name, target, actual, met: soak.bounded,
          note: soak.bounded ? '' : `still growing ~${r1(perMinute)} MB per minute of this flood${perMinute > 0 ? ` (4 GiB in ~${Math.round((4096 - hb(end)) / perMinute)} min)` : ''}`,
        };
      })(),
      {
        // The figure in the table is the worst frame (scrolling or jumping); the p95 is judged too and given in `actual`.
        id: 'scroll', value: Math.max(scrollFig.max, scrollFig.jumpMax), name: '100k+ retained frames scroll smoothly', target: `worst frame ≤ ${targets.scrollMaxMs} ms (3 frames), p95 ≤ ${targets.scrollP95Ms} ms`,
        actual: `${retained.toLocaleString('en-US')} frames: p50 ${r1(scrollFig.p50)} / p95 ${r1(scrollFig.p95)} / max ${r1(scrollFig.max)} ms over ${scrollFig.frames} steps; jumps p95 ${r1(scrollFig.jumpP95)} / max ${r1(scrollFig.jumpMax)} ms`,
        met: retained >= 100_000 && scrollFig.p95 <= targets.scrollP95Ms && scrollFig.max <= targets.scrollMaxMs && scrollFig.jumpMax <= targets.scrollMaxMs && scroll.rowsMin > 0,
        note: retained < 100_000 ? `only ${retained} frames retained`
          : scroll.rowsMin === 0 ? 'a step rendered no rows'
          : [scrollFig.p95 > targets.scrollP95Ms ? `p95 ${r1(scrollFig.p95)} ms` : '', Math.max(scrollFig.max, scrollFig.jumpMax) > targets.scrollMaxMs ? `a ${r1(Math.max(scrollFig.max, scrollFig.jumpMax))} ms frame` : ''].filter(Boolean).join(', '),
      },
    ];
    const floodSeconds = (floodEnd - floodStart) / 1000;
    return {
      loadAverage: { start: r1(loadStart), end: r1(os.loadavg()[0]!) },
      chromium: chromiumVersion,
      flood: {
        sent: floodSent, echoed: Math.min(echoed, floodSent), wireFrames: wireTimes.length, achievedRate: Math.round(floodSent / floodSeconds),
        nodeCpuPercent: Math.round(((cpu.user + cpu.system) / 1e3 / (floodEnd - floodStart)) * 100),
        catchUpMs: caughtUpAt === null ? null : Math.round(caughtUpAt - floodEnd), shownAtEnd, heldAtEnd, folded,
        nodeLoopDelayMs: { p50: r1(loopDelay.percentile(50) / 1e6), p99: r1(loopDelay.percentile(99) / 1e6), max: r1(loopDelay.max / 1e6) },
      },
      longTasks: {
        count: floodTasks.length, maxMs: longMax, totalMs: Math.round(floodTasks.reduce((n, l) => n + l.duration, 0)),
        over100: floodTasks.filter((l) => l.duration > 100).length,
        longest: [...floodTasks].sort((a, b) => b.duration - a.duration).slice(0, 8).map((l) => {
          const click = rec.clicks.find((c) => c.eventAt <= l.start + 1 && c.eventAt >= l.start - 200);
          return { atMs: Math.round(l.start - toPage(floodStart)), durationMs: Math.round(l.duration), afterClick: click ? click.label.trim() : null };
        }),
        duringScroll: { count: scrollTasks.length, maxMs: scrollTasks.length ? Math.max(...scrollTasks.map((l) => l.duration)) : 0 },
        duringSoak: soakWindow.end > 0 ? { count: soakTasks.length, maxMs: soakTasks.length ? Math.max(...soakTasks.map((l) => l.duration)) : 0, seconds: soakSeconds } : null,
      },
      longAnimationFrames: rec.loafs.length || floodLoafs.length
        ? { count: floodLoafs.length, maxMs: floodLoafs.length ? Math.max(...floodLoafs.map((l) => l.duration)) : 0, maxBlockingMs: floodLoafs.length ? Math.max(...floodLoafs.map((l) => l.blocking)) : 0 }
        : null,
      clicks: clickResults, clickMaxMs,
      lag: {
        maxMs: Math.round(lag.maxMs), atMs: lag.at === null ? null : Math.round(lag.at - toPage(floodStart)), samples: countsInWindow.length,
        p50: Math.round(percentile(episodes.map((e) => e.lagMs), 50)), p95: Math.round(percentile(episodes.map((e) => e.lagMs), 95)),
        over250: episodes.filter((e) => e.lagMs > 250).map((e) => ({ atMs: Math.round(e.at - toPage(floodStart)), lagMs: Math.round(e.lagMs) })),
      },
      heap: { samples: heapSamples, afterGc, afterIdle, bytesPerFrame: Math.round(bytesPerFrame), growthMBPerSecondDuringFlood: r1(growth), minutesTo4GiB: minutesTo4GiB === null ? null : r1(minutesTo4GiB), plateau, soak },
      scroll: scrollFig,
      targets: targetRows,
      elapsedSeconds: Math.round(now() - started) / 1000,
    };
  } finally {
    ws?.terminate();
    await browser?.close().catch(() => {});
    await host?.close().catch(() => {});
  }
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((x, y) => x - y);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarise(all: UiFloodRun[]): UiFloodResults['summary'] {
  return all[0]!.targets.map((first) => {
    const checks = all.map((r) => r.targets.find((t) => t.id === first.id)!);
    const values = checks.map((c) => c.value);
    // A run that never caught up counts as the worst figure.
    const m = median(values.map((v) => (v === null ? Number.POSITIVE_INFINITY : v)));
    const metRuns = checks.filter((c) => c.met).length;
    // Heap: judged on the run(s) with a soak when there is one.
    const soaked = checks.filter((c) => c.value !== null);
    const met = first.id === 'heap' ? (soaked.length ? soaked : checks).every((c) => c.met) : metRuns * 2 > checks.length;
    if (first.id === 'heap' && soaked.length) {
      const i = checks.indexOf(soaked[soaked.length - 1]!);
      return { id: first.id, name: first.name, target: first.target, values, median: soaked[soaked.length - 1]!.value, met, note: met ? '' : `run ${i + 1}: ${soaked[soaked.length - 1]!.note}` };
    }
    const note = checks.map((c, i) => (c.met ? '' : `run ${i + 1}: ${c.note || 'missed'}`)).filter(Boolean)[0] ?? '';
    return { id: first.id, name: first.name, target: first.target, values, median: m === null || !Number.isFinite(m) ? null : r1(m), met, note };
  });
}

function renderMarkdown(res: UiFloodResults): string {
  const lines: string[] = [];
  const r = res.runs[res.runs.length - 1]!;
  const f = r.flood;
  const fmt = (id: TargetCheck['id'], v: number | null) => (id === 'heap' ? (v === null ? 'no soak' : `${v} B/wire frame`) : v === null ? 'never caught up' : id === 'long-task' && v === 0 ? 'none (≥ 50 ms)' : `${v.toFixed(0)} ms`);
  if (largeRing) {
    lines.push('## UI under flood, with the largest ring');
    lines.push('');
    lines.push('For information: the same measurement with the frame list keeping up to a million frames (the largest choice of its "keep" menu; the default is 150,000), one run, whose soak fills the ring and keeps it dropping the oldest.');
    lines.push('');
  } else {
    lines.push('## UI under flood');
    lines.push('');
  }
  lines.push(`Written by \`npm run bench:ui${largeRing ? ':large' : ''}\` (scripts/ui-flood.ts) on ${res.date}: the web host serving the built renderer to Debian's Chromium ${r.chromium}`);
  lines.push(`(headless, through playwright-core), on ${res.machine.cpu}, ${res.machine.cores} cores, code ${res.machine.commit}.`);
  lines.push(`A \`ws\` client sends ${res.config.messageBytes}-byte text messages to the embedded echo server, paced at ${res.config.rate.toLocaleString('en-US')}/s for ${res.config.seconds} s;`);
  lines.push(`the echoes double the frames. The frame list keeps ${res.config.keepFrames ? `the newest ${res.config.keepFrames.toLocaleString('en-US')} frames (UI_KEEP_FRAMES)` : 'the newest 150,000 frames (its default ring)'}. Browser, web host, inspector service, embedded server and the \`ws\` client share the 2 cores.`);
  lines.push(`${res.runs.length === 1 ? '1 run, with a fresh web host and browser' : `${res.runs.length} runs, each with a fresh web host and browser`}; 1-minute load average per run: ${res.runs.map((x) => `${x.loadAverage.start} → ${x.loadAverage.end}`).join(', ')}${res.runs.some((x) => Math.max(x.loadAverage.start, x.loadAverage.end) > res.machine.cores + 1) ? ' — **other work was competing for the CPU during some runs**' : ''} (the benchmark itself keeps about 2 threads busy).`);
  lines.push('');
  lines.push(`| target | ${res.runs.map((_, i) => `run ${i + 1}`).join(' | ')} | median | status |`);
  lines.push(`| --- | ${res.runs.map(() => '---:').join(' | ')} | ---: | --- |`);
  for (const t of res.summary) {
    lines.push(`| ${t.name} (${t.target}) | ${t.values.map((v) => fmt(t.id, v)).join(' | ')} | ${t.id === 'heap' ? '' : fmt(t.id, t.median)} | ${t.met ? '✅ met' : `❌ missed${t.note ? ` (${t.note})` : ''}`} |`);
  }
  lines.push('');
  lines.push('Status: met when the median run meets it (heap: judged on the soak of the last run). Per run:');
  lines.push('');
  for (const [i, x] of res.runs.entries()) {
    const fo = x.flood.folded;
    const foldText = fo ? `${fo.frames.toLocaleString('en-US')} folded in ${fo.rows} rows (the page counted ${fo.pageFrames.toLocaleString('en-US')}; its count ${fo.exact ? 'exactly' : '**not**'} the wire's)` : 'folding not recorded';
    lines.push(`- run ${i + 1}: sent ${x.flood.sent.toLocaleString('en-US')} (${x.flood.achievedRate.toLocaleString('en-US')}/s), ${x.flood.shownAtEnd.toLocaleString('en-US')} frames counted (${(x.flood.heldAtEnd ?? x.flood.shownAtEnd).toLocaleString('en-US')} held, ${foldText}), caught up ${x.flood.catchUpMs === null ? 'never' : `${x.flood.catchUpMs} ms`} after the flood; Node ${x.flood.nodeCpuPercent}% of a core, event-loop delay p99 ${x.flood.nodeLoopDelayMs.p99} / max ${x.flood.nodeLoopDelayMs.max} ms; ${x.targets.map((t) => t.actual).join('; ')}.`);
  }
  lines.push('');
  lines.push(`How each figure is taken (details from run ${res.runs.length}):`);
  lines.push('');
  lines.push(`- **Long tasks**: PerformanceObserver \`longtask\` from the first message until the list caught up: ${r.longTasks.count} long tasks, ${r.longTasks.totalMs} ms in total, the longest ${r.longTasks.maxMs.toFixed(0)} ms (${r.longTasks.longest.slice(0, 4).map((l) => `${l.durationMs} ms at ${(l.atMs / 1000).toFixed(1)} s${l.afterClick ? ` after a ${l.afterClick} click` : ''}`).join(', ')}).${r.longAnimationFrames ? ` Long animation frames: ${r.longAnimationFrames.count}, longest ${r.longAnimationFrames.maxMs.toFixed(0)} ms (blocking ${r.longAnimationFrames.maxBlockingMs.toFixed(0)} ms).` : ''} During the scroll test: ${r.longTasks.duringScroll.count} long tasks, longest ${r.longTasks.duringScroll.maxMs.toFixed(0)} ms.${r.longTasks.duringSoak ? ` During the ${r.longTasks.duringSoak.seconds} s soak (the ring full and dropping the oldest; the garbage collections the heap measurement forces left out): ${r.longTasks.duringSoak.count} long tasks, longest ${r.longTasks.duringSoak.maxMs.toFixed(0)} ms.` : ''}`);
  const fmtClicks = (label: string) => r.clicks.filter((c) => c.label === label).map((c) => (c.latencyMs === null ? '?' : c.latencyMs.toFixed(0))).join(', ');
  lines.push(`- **Clicks**: the Handshake tab, then 400 ms later the Frames tab (which re-mounts the frame list), once a second during the flood, as real input events (CDP). Latency = Event Timing's duration for the interaction (pointerdown/pointerup/click: from the input event to the next paint after it was handled, as INP measures it; entries exist from 16 ms), else the time to the next animation frame. Handshake: ${fmtClicks('Handshake')} ms. Frames: ${fmtClicks('Frames')} ms. (To a task queued after that frame, an upper bound that also waits for queued trace batches: max ${Math.max(...r.clicks.map((c) => c.toTaskAfterFrameMs ?? 0)).toFixed(0)} ms.)`);
  lines.push('- **Folding**: the page acknowledges each batch it applied; while its oldest unacknowledged batch is over 120 ms old, the web host sends that page folded rows (exact counts per direction and opcode) instead of frames, until it has caught up (src/service/frame-folding.ts). The list\'s count includes folded frames, so the lag below is to the count, folded or shown one by one; the held figure is what the list shows row by row.');
  lines.push(`- **Lag**: every change of the frame count in the list (${r.lag.samples} changes of its data-total attribute, MutationObserver) against the time each frame crossed the wire (the service's trace): the lag at a moment is how long ago the first frame not yet counted crossed the wire (to the DOM commit, not the pixel). Intervals on the Handshake tab are skipped. Lag just before each update: p50 ${r.lag.p50} ms, p95 ${r.lag.p95} ms, max ${r.lag.maxMs} ms${r.lag.atMs !== null ? ` (at ${(r.lag.atMs / 1000).toFixed(1)} s)` : ''}; ${r.lag.over250.length} update${r.lag.over250.length === 1 ? '' : 's'} came more than 250 ms late.`);
  const hs = r.heap.samples;
  const pick = hs.filter((_, i) => i % Math.max(1, Math.ceil(hs.length / 8)) === 0);
  const so = r.heap.soak;
  const hb = (h: HeapSample) => (h.jsUsedMB + (h.backingStoreMB ?? 0)).toFixed(0);
  lines.push(`- **Heap** (CDP Runtime.getHeapUsage: JS heap + ArrayBuffer backing stores, MB) during the flood: ${pick.map((h) => `${hb(h)} @ ${h.framesHeld === null ? '(list off screen)' : `${h.framesHeld} frames held`}`).join(', ')}; after a forced GC ${hb(r.heap.afterGc)} MB (JS ${r.heap.afterGc.jsUsedMB} MB), ${r.heap.bytesPerFrame} B per retained frame; 3 s later ${hb(r.heap.afterIdle)} MB.${so.bounded === null ? '' : ` Then the soak (last run only): ${so.seconds} s more of the same flood (${so.sent.toLocaleString('en-US')} messages), past any retention cap; the list counted ${so.maxShown.toLocaleString('en-US')} frames and held at most ${(so.maxHeld ?? so.maxShown).toLocaleString('en-US')}${so.evictionSeen ? ', its ring dropping the oldest' : ' and never dropped any'}; heap after GC ${so.gc.map((h) => `${hb(h)} MB at ${h.wireFrames.toLocaleString('en-US')} wire frames`).join(', then ')}.`} "Bounded": from a third into the soak (past any cap) to its end, the heap after GC grows by at most ${leakLimitBytes} B per frame on the wire beyond what the change in retained frames explains.`);
  lines.push(`- **Scrolling** (after the soak): with ${r.scroll.retainedFrames.toLocaleString('en-US')} frames retained, .frame-scroll scrolled 40 rows per animation frame for ${r.scroll.frames} frames, then 60 jumps to anywhere: frame intervals p50 ${r.scroll.p50.toFixed(1)}, p95 ${r.scroll.p95.toFixed(1)}, p99 ${r.scroll.p99.toFixed(1)}, max ${r.scroll.max.toFixed(1)} ms (${r.scroll.overThreeFrames} longer than 3 frames); jumps p95 ${r.scroll.jumpP95.toFixed(1)}, max ${r.scroll.jumpMax.toFixed(1)} ms; rows rendered at every step (min ${r.scroll.rowsMin}).`);
  lines.push('');
  lines.push(`Raw figures: ${resultsFile}.`);
  return lines.join('\n');
}

async function main(): Promise<UiFloodResults> {
  const started = now();
  const all: UiFloodRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await run(i === runs - 1 ? soakSeconds : 0);
    all.push(r);
    console.log(`run ${i + 1}/${runs}: sent ${r.flood.sent} (${r.flood.achievedRate}/s), counted ${r.flood.shownAtEnd} (held ${r.flood.heldAtEnd}, folded ${r.flood.folded.frames} in ${r.flood.folded.rows} rows, exact ${r.flood.folded.exact}), caught up ${r.flood.catchUpMs} ms after; node ${r.flood.nodeCpuPercent}% CPU, loop delay ${JSON.stringify(r.flood.nodeLoopDelayMs)}; load ${r.loadAverage.start} → ${r.loadAverage.end}`);
    for (const t of r.targets) console.log(`  ${t.met ? '✓' : '✗'} ${t.name}: ${t.actual}${t.note ? ` — ${t.note}` : ''}`);
    console.log(`  longest tasks ${JSON.stringify(r.longTasks.longest.slice(0, 4))}; lag p50 ${r.lag.p50} / p95 ${r.lag.p95} / max ${r.lag.maxMs} ms (at ${r.lag.atMs} ms), ${r.lag.over250.length} updates over 250 ms`);
    console.log(`  clicks: ${r.clicks.map((c) => `${c.label} ${c.latencyMs}`).join(', ')}`);
  }
  return {
    kind: 'websocket-inspector-ui-flood', date: new Date().toISOString(), machine: machineInfo(),
    config: { rate, seconds, messageBytes, runs, rendererDir, keepFrames }, runs: all, summary: summarise(all), elapsedSeconds: r1((now() - started) / 1000),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.env['UI_RENDER_ONLY'] === '1') {
  // Measure nothing: rewrite the BENCHMARKS.md section from UI_OUT_DIR/ui-flood-results.json.
  const res = JSON.parse(readFileSync(join(outDir, resultsFile), 'utf8')) as UiFloodResults;
  writeSection(join(outDir, 'BENCHMARKS.md'), section, renderMarkdown(res));
  console.log(`rewrote the UI section of ${join(outDir, 'BENCHMARKS.md')}`);
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const budget = setTimeout(() => {
    console.error('ui-flood: over its budget, giving up');
    process.exit(1);
  }, 120_000 * runs);
  budget.unref();
  main().then(
    (res) => {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, resultsFile), `${JSON.stringify(res, null, 2)}\n`);
      if (process.env['UI_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), section, renderMarkdown(res));
      console.log('');
      for (const t of res.summary) console.log(`${t.met ? '✓' : '✗'} ${t.name}: ${t.values.map((v) => (v === null ? '—' : r1(v))).join(' / ')} (median ${t.median})${t.note ? ` — ${t.note}` : ''}`);
      console.log(`${res.elapsedSeconds} s; results in ${outDir}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`ui-flood failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    },
  );
}
