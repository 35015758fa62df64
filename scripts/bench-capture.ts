/**
 * npm run bench:capture — how fast a large capture opens, and in how much memory.
 *
 * Synthesises a pcapng of WebSocket conversations (test/support/capture-synth.ts: Ethernet, IPv4,
 * TCP with true sequence numbers, an RFC 6455 handshake, then masked client text frames and
 * unmasked server echoes of about 1 KB, one frame per segment): 200k frames, about 218 MB, in 100
 * conversations of 2000 frames. The size: well past what a streaming reader holds at once (a 1 MiB
 * read buffer, one conversation at a time), so peak memory shows whether it streams, while the file
 * still writes in a few seconds on CI's disk; the issue's 1 GB would take five times as long and
 * tell nothing more about a reader that streams.
 *
 * Three measurements, each in a fresh node process (so that its peak RSS is its own):
 *   read     the pcapng reader alone (blocks → packets)
 *   dissect  reader + link/IP/TCP decoding + reassembly + WebSocket discovery + the Recording model
 *   open     dissect + the replay of every conversation through our parser into TraceEvents
 *            (what `wsinspect open` does, without printing)
 *   service  the app's way: InspectorService.openRecording (streaming: each conversation replayed
 *            as it ends in the file, in slices, its events out in batches at once, up to the app's
 *            event cap with its note), with the event loop's longest pause and 99th percentile
 *            (perf_hooks monitorEventLoopDelay) beside an idle process's (the scheduler's share),
 *            the first frame's time, and the progress the status showed meanwhile
 * Each reads the file in 1 MiB chunks with the progress callback on, and reports MB/s (10^6
 * bytes per second of wall time) and peak RSS (process.resourceUsage().maxRSS).
 *
 * Writes bench-capture-results.json and the "Opening captures" section of BENCHMARKS.md.
 * Environment: BENCH_QUICK=1 (8k frames, about 9 MB), BENCH_CAPTURE_FRAMES, BENCH_OUT_DIR, BENCH_NO_MD.
 */

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureReader } from '../src/core/capture/pcap/reader.ts';
import { dissectCaptureFile } from '../src/core/capture/pcap/read-file.ts';
import { CaptureRecordingBuilder, replayCaptured } from '../src/core/capture/pcap/to-recording.ts';
import { handshakeBytes, linkFrame, PcapngWriter, tcpConversation, wsFrame } from '../test/support/capture-synth.ts';
import { machineInfo, writeSection, type Machine } from './bench.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const modes = ['read', 'dissect', 'open', 'service'] as const;
type Mode = (typeof modes)[number];

export interface CaptureMeasurement {
  mode: Mode;
  seconds: number;
  mbPerSecond: number;
  maxRssMiB: number;
  progressCalls: number;
  packets: number;
  conversations: number;
  frames: number;
  messages: number;
  /** service mode: the longest event-loop pause while opening (ms, perf_hooks monitorEventLoopDelay). */
  maxEventLoopPauseMs?: number;
  /** service mode: the 99th percentile of the event loop's delay while opening (ms). */
  p99EventLoopPauseMs?: number;
  /**
   * service mode: the longest pause of an idle node process watching its own event loop meanwhile:
   * what the machine's scheduling alone does to a process (on a loaded machine, far from zero).
   */
  idleProcessMaxPauseMs?: number;
  /** service mode: the same for a process doing only 8 ms slices of busy work with a turn between them. */
  slicingProcessMaxPauseMs?: number;
  /** service mode: bytes of the file read (the open stops reading at the app's event cap). */
  bytesRead?: number;
  /**
   * service mode: the most CPU time this process used between two ticks of a 5 ms interval (ms,
   * process.cpuUsage): how long our own work ran without a turn of the event loop, which the
   * scheduler's descheduling does not inflate (GC helper threads and file reads count in it too).
   */
  maxCpuBetweenTicksMs?: number;
  /**
   * service mode: the longest wall-clock gap between two ticks of that 5 ms interval (ms) and the
   * CPU time the process used within it: far less CPU than wall time means the process was
   * waiting for a core (the scheduler), not working.
   */
  longestTickGapMs?: number;
  cpuInLongestTickGapMs?: number;
  /**
   * service mode: garbage collection while opening (perf_hooks 'gc' entries): how many, their
   * total and the longest (ms), and the longest young-generation collection (a scavenge).
   */
  gc?: { count: number; totalMs: number; maxMs: number; maxScavengeMs: number };
  /** service mode: seconds from the open's start to the first frame out in a batch. */
  firstFrameSeconds?: number;
  /** service mode: status answers that showed frames loaded while the file was still being read. */
  framesWhileReading?: number;
  /** service mode: the distinct phases the status showed while opening. */
  phases?: string[];
  /** service mode: how many times a 10 ms interval asked the service its status while it opened the file. */
  statusAnswers?: number;
  /** service mode: events the app loaded (its cap) and the note that says where it cut. */
  eventsLoaded?: number;
  cutNote?: string | null;
}

export interface CaptureBenchResults {
  kind: 'websocket-inspector-bench-capture';
  date: string;
  machine: Machine;
  file: { bytes: number; frames: number; conversations: number; packets: number; synthesisSeconds: number };
  measurements: CaptureMeasurement[];
}

const FRAMES_PER_CONVERSATION = 2000;

/** Writes the synthetic capture, conversation by conversation (never the whole file in memory). */
export function synthesiseCapture(path: string, frames: number): { bytes: number; conversations: number; packets: number } {
  const fd = openSync(path, 'w');
  let packets = 0;
  const conversations = Math.max(1, Math.ceil(frames / FRAMES_PER_CONVERSATION));
  try {
    writeSync(fd, new PcapngWriter().section().iface(1).bytes());
    const hs = handshakeBytes('bench.example', '/feed');
    let time = 1_764_000_000_000;
    for (let c = 0; c < conversations; c++) {
      const pairs = Math.min(FRAMES_PER_CONVERSATION, frames - c * FRAMES_PER_CONVERSATION) / 2;
      const exchanges: Array<{ from: 'c' | 's'; bytes: Uint8Array }> = [{ from: 'c', bytes: hs.request }, { from: 's', bytes: hs.response }];
      for (let i = 0; i < pairs; i++) {
        const text = new TextEncoder().encode(`{"conversation":${c},"message":${i},"body":"${'lorem ipsum dolor sit amet '.repeat(36)}"}`);
        exchanges.push({ from: 'c', bytes: wsFrame(1, text, { masked: true, key: [i & 0xff, 0x5a, c & 0xff, 0xa5] }) });
        exchanges.push({ from: 's', bytes: wsFrame(1, text, { masked: false }) });
      }
      const list = tcpConversation({ client: { address: '10.1.0.2', port: 40000 + c }, server: { address: '10.1.0.1', port: 8080 }, exchanges, startTime: time, mss: 1448 });
      time = list[list.length - 1]!.time + 1;
      // Written in batches of 1000 packets to keep memory flat.
      for (let i = 0; i < list.length; i += 1000) {
        const w = new PcapngWriter();
        for (const p of list.slice(i, i + 1000)) w.epb({ ...p, data: linkFrame(1, p.data) });
        writeSync(fd, w.bytes());
      }
      packets += list.length;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: statSync(path).size, conversations, packets };
}

/** One measurement, in this process (run by the parent in a child of its own). */
async function measure(mode: Mode, path: string): Promise<CaptureMeasurement> {
  const started = performance.now();
  let progressCalls = 0;
  let packets = 0;
  let conversations = 0;
  let frames = 0;
  let messages = 0;
  if (mode === 'service') return measureServiceOpen(path, started);
  if (mode === 'read') {
    const { open } = await import('node:fs/promises');
    const reader = new CaptureReader(() => packets++);
    const file = await open(path, 'r');
    for (;;) {
      const buffer = new Uint8Array(1024 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      reader.push(buffer.subarray(0, bytesRead));
      progressCalls++;
    }
    await file.close();
    reader.end();
  } else {
    const builder = new CaptureRecordingBuilder((captured) => {
      conversations++;
      if (mode !== 'open') return;
      for (const event of replayCaptured(captured)) {
        if (event.type === 'frame') frames++;
        else if (event.type === 'message') messages++;
      }
    });
    const summary = await dissectCaptureFile(path, (event) => builder.handle(event), { onProgress: () => progressCalls++ });
    packets = summary.packets;
    if (summary.error) throw new Error(summary.error);
  }
  const seconds = (performance.now() - started) / 1000;
  const bytes = statSync(path).size;
  return { mode, seconds, mbPerSecond: bytes / 1e6 / seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, progressCalls, packets, conversations, frames, messages };
}

/**
 * A node process watching its own event loop until told to stop, beside the measured one: idle, or
 * doing nothing but 8 ms slices of busy work with a turn of the event loop between them (the
 * replay's own rhythm, without the replay). What the machine's scheduling alone does to each.
 */
function loopProbe(kind: 'idle' | 'slices'): { stop: () => Promise<number> } {
  const script = `const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }); h.enable();
let running = true;
const keep = setInterval(() => {}, 10);
if (${kind === 'slices'}) (function slice() { const t = performance.now(); while (performance.now() - t < 8); if (running) setImmediate(slice); })();
process.stdin.on('data', () => { running = false; h.disable(); clearInterval(keep); process.stdout.write(String(h.max / 1e6)); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: () => new Promise<number>((resolve) => {
      child.once('exit', () => resolve(Number(out)));
      child.stdin.write('stop\n');
    }),
  };
}

/** Opens the file through the inspector service, as the app does, watching the event loop. */
async function measureServiceOpen(path: string, started: number): Promise<CaptureMeasurement> {
  const { monitorEventLoopDelay, PerformanceObserver, constants } = await import('node:perf_hooks');
  const gc = { count: 0, totalMs: 0, maxMs: 0, maxScavengeMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.maxScavengeMs = Math.max(gc.maxScavengeMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const { InspectorService } = await import('../src/service/inspector-service.ts');
  const service = new InspectorService({ batchIntervalMs: 50 });
  let events = 0;
  let frames = 0;
  let messages = 0;
  let firstFrameSeconds: number | null = null;
  let cutNote: string | null = null;
  let lastEventAt = started;
  service.onBatch((batch) => {
    // Counted as the bridges send them: encoded frames and messages are not read back here.
    const encoded = batch.trace;
    if (batch.events.length > 0 || encoded) lastEventAt = performance.now();
    events += batch.events.length + (encoded?.count ?? 0);
    if (encoded && encoded.frames > 0) firstFrameSeconds ??= (performance.now() - started) / 1000;
    frames += encoded?.frames ?? 0;
    messages += encoded?.messages ?? 0;
    for (const e of batch.events) {
      if (e.type === 'frame') {
        frames++;
        firstFrameSeconds ??= (performance.now() - started) / 1000;
      } else if (e.type === 'message') messages++;
    }
    for (const e of [...batch.events, ...(encoded?.objects ?? [])]) {
      if (e.type === 'note' && e.text.startsWith('The recording is cut here')) cutNote = e.text;
    }
  });
  let progressCalls = 0;
  let lastProgress = '';
  let statusAnswers = 0;
  let framesWhileReading = 0;
  const phases = new Set<string>();
  const idle = loopProbe('idle');
  const slicer = loopProbe('slices');
  let bytesRead = 0;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let maxCpuBetweenTicksMs = 0;
  let lastCpu = process.cpuUsage();
  let lastTick = performance.now();
  let longestTickGapMs = 0;
  let cpuInLongestTickGapMs = 0;
  const cpuTicker = setInterval(() => {
    const now = process.cpuUsage();
    const at = performance.now();
    const cpu = (now.user - lastCpu.user + now.system - lastCpu.system) / 1000;
    maxCpuBetweenTicksMs = Math.max(maxCpuBetweenTicksMs, cpu);
    if (at - lastTick > longestTickGapMs) {
      longestTickGapMs = at - lastTick;
      cpuInLongestTickGapMs = cpu;
    }
    lastCpu = now;
    lastTick = at;
  }, 5);
  const asker = setInterval(() => {
    const opening = service.getStatus().opening;
    statusAnswers++;
    if (!opening) return;
    if (opening.phase) phases.add(opening.phase);
    bytesRead = opening.bytesRead;
    if (opening.bytesRead < opening.totalBytes && (opening.frames ?? 0) > 0) framesWhileReading++;
    const now = `${opening.bytesRead} ${opening.replayed ?? 0} ${opening.frames ?? 0}`;
    if (now !== lastProgress) {
      lastProgress = now;
      progressCalls++;
    }
  }, 10);
  const result = await service.openRecording(path, 'synthetic.pcapng');
  const openEndedAt = performance.now();
  if (!result.ok) throw new Error(result.error);
  // The last batch goes out within one batch interval of the open's end; wait until no more come.
  let seen = -1;
  while (seen !== events) {
    seen = events;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  clearInterval(asker);
  clearInterval(cpuTicker);
  histogram.disable();
  gcObserver.disconnect();
  const idleProcessMaxPauseMs = await idle.stop();
  const slicingProcessMaxPauseMs = await slicer.stop();
  // Until the last event went out (not counting the wait that made sure it was the last).
  const seconds = (Math.max(lastEventAt, openEndedAt) - started) / 1000;
  await service.dispose();
  return {
    mode: 'service', seconds, mbPerSecond: statSync(path).size / 1e6 / seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, progressCalls,
    packets: 0, conversations: result.recording.connections, frames, messages,
    maxEventLoopPauseMs: histogram.max / 1e6, p99EventLoopPauseMs: histogram.percentile(99) / 1e6, idleProcessMaxPauseMs, slicingProcessMaxPauseMs, maxCpuBetweenTicksMs, longestTickGapMs, cpuInLongestTickGapMs, bytesRead,
    statusAnswers, eventsLoaded: events, cutNote, gc, firstFrameSeconds: firstFrameSeconds ?? seconds, framesWhileReading, phases: [...phases],
  };
}

export async function runCaptureBench(): Promise<CaptureBenchResults> {
  const quick = process.env['BENCH_QUICK'] === '1';
  const frames = Number(process.env['BENCH_CAPTURE_FRAMES'] ?? (quick ? 8000 : 200_000));
  const outDir = process.env['BENCH_OUT_DIR'] ?? repoRoot;
  const dir = mkdtempSync(join(tmpdir(), 'bench-capture-'));
  try {
    const path = join(dir, 'synthetic.pcapng');
    const t0 = performance.now();
    const file = synthesiseCapture(path, frames);
    const synthesisSeconds = (performance.now() - t0) / 1000;
    console.log(`bench:capture: ${frames} frames in ${file.conversations} conversations, ${(file.bytes / 1e6).toFixed(1)} MB, written in ${synthesisSeconds.toFixed(1)} s`);
    const measurements: CaptureMeasurement[] = [];
    const only = process.env['BENCH_CAPTURE_MODES']?.split(',');
    for (const mode of modes.filter((x) => !only || only.includes(x))) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', mode, path], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
      if (run.status !== 0) throw new Error(`the ${mode} measurement failed: ${run.stderr.trim().split('\n').slice(-3).join(' ')}`);
      const m = JSON.parse(run.stdout.trim().split('\n').pop()!) as CaptureMeasurement;
      measurements.push(m);
      console.log(`  ${mode.padEnd(8)} ${m.mbPerSecond.toFixed(1)} MB/s, ${m.seconds.toFixed(2)} s, peak RSS ${m.maxRssMiB.toFixed(0)} MiB (${m.packets} packets${m.frames ? `, ${m.frames} frames, ${m.messages} messages` : ''})`);
    }
    const results: CaptureBenchResults = {
      kind: 'websocket-inspector-bench-capture', date: new Date().toISOString(), machine: machineInfo(),
      file: { bytes: file.bytes, frames, conversations: file.conversations, packets: file.packets, synthesisSeconds }, measurements,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'bench-capture-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (process.env['BENCH_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'capture', renderCaptureMarkdown(results));
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const what: Record<Mode, string> = {
  read: 'pcapng reader alone (blocks → packets)',
  dissect: 'reader + link/IP/TCP + reassembly + WebSocket discovery + Recording',
  open: 'all of that + replay through our parser into TraceEvents (`wsinspect open` without printing)',
  service: 'the app: InspectorService.openRecording, streaming, up to its event cap, every batch out',
};

/** What the longest pause says, against the issue's ~100 ms and the slicing probe beside it. */
function pauseVerdict(m: CaptureMeasurement): string {
  const ours = m.maxEventLoopPauseMs ?? 0;
  const probe = m.slicingProcessMaxPauseMs ?? 0;
  if (ours <= 100) return 'Within the issue\'s ~100 ms.';
  if (ours <= 1.5 * probe) return 'Over the issue\'s ~100 ms on this run, but no longer than the slicing probe\'s: the machine\'s scheduling, not our work.';
  return 'Over the issue\'s ~100 ms on this run and longer than the slicing probe\'s, so not the scheduler\'s alone: the rest is ours or the collector\'s (see the collections below).';
}

export function renderCaptureMarkdown(r: CaptureBenchResults): string {
  const m = r.machine;
  const lines = [
    '## Opening captures (pcapng)',
    '',
    `Written by \`npm run bench:capture\` (scripts/bench-capture.ts) on ${r.date}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, code ${m.commit}; load average ${m.loadAverage.start} → ${m.loadAverage.end}.`,
    `A synthetic pcapng of ${(r.file.bytes / 1e6).toFixed(1)} MB: ${r.file.frames} WebSocket frames (masked client texts of about 1 KB and their unmasked echoes, one per TCP segment) in ${r.file.conversations} conversations, ${r.file.packets} packets. Read in 1 MiB chunks with the progress callback on; each row in a fresh process, peak RSS its own.`,
    '',
    '| what is measured | MB/s | seconds | peak RSS |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const x of r.measurements) lines.push(`| ${what[x.mode]} | ${x.mbPerSecond.toFixed(1)} | ${x.seconds.toFixed(2)} | ${x.maxRssMiB.toFixed(0)} MiB |`);
  const open = r.measurements.find((x) => x.mode === 'open');
  lines.push(
    '',
    `Peak memory stays far below the file's size: the reader holds one 1 MiB chunk (and the record crossing it), the reassembly only out-of-order bytes (capped), and a conversation is replayed and dropped when it ends${open ? ` (${open.frames} frames and ${open.messages} messages traced in the open row)` : ''}. ${r.file.bytes >= 1e9 ? 'This is the issue\'s size: a 1 GB pcapng with a million frames.' : ` The issue's 1 GB file is ${(1e9 / r.file.bytes).toFixed(1)} times this one; at these rates it opens in that many times the time, in the same memory.`}`,
  );
  const service = r.measurements.find((x) => x.mode === 'service');
  if (service) {
    const f = (n: number | undefined, digits = 0) => (n ?? 0).toFixed(digits);
    lines.push(
      '',
      `Opened through the service as the app opens it (last row), streaming: the file is read in 1 MiB chunks and dissected in 64 KiB pieces, each conversation is replayed as soon as it ends in the file, in slices of at most 8 ms (the clock checked after each piece and every 256 events) with a turn of the event loop between them, and its events go out in the batches at once; the service keeps no events and drops a conversation's bytes once replayed (Export reads the file again). The first frame went out after ${f(service.firstFrameSeconds, 2)} s; the status showed frames loaded while the file was still being read ${service.framesWhileReading} times, ${service.progressCalls} distinct progress reports in all (phases: ${(service.phases ?? []).join(', ') || 'none seen'}), and a 10 ms interval asking the service its status was answered ${service.statusAnswers} times. The app loaded ${service.eventsLoaded} events (${service.frames} frames, ${service.messages} messages of the file's ${r.file.frames} frames)${service.cutNote ? `, then said so ("${service.cutNote}") and read the file no further (${((service.bytesRead ?? 0) / 1e6).toFixed(0)} MB of it; the row's MB/s counts the whole file's size)` : ', all of them'}; the renderer's frame ring keeps at most its size of them.`,
      '',
      `Event loop while opening (perf_hooks monitorEventLoopDelay): longest pause ${f(service.maxEventLoopPauseMs)} ms, 99th percentile ${f(service.p99EventLoopPauseMs)} ms. Beside it, an idle node process paused for up to ${f(service.idleProcessMaxPauseMs)} ms and one doing nothing but 8 ms slices of busy work with a turn between them (the replay's rhythm without the replay) for up to ${f(service.slicingProcessMaxPauseMs)} ms: the scheduler's share on this machine at this load. In CPU time (process.cpuUsage at each tick of a 5 ms interval) the most this process worked between two ticks was ${f(service.maxCpuBetweenTicksMs)} ms (GC helper threads and file reads included), and in the longest gap between two ticks (${f(service.longestTickGapMs)} ms of wall time) it used ${f(service.cpuInLongestTickGapMs)} ms of CPU${(service.cpuInLongestTickGapMs ?? 0) < 0.5 * (service.longestTickGapMs ?? 0) ? ': the rest of that gap it was waiting for a core' : ' (all threads): that gap was work, not waiting'}. ${pauseVerdict(service)}${service.gc ? ` Garbage collection meanwhile (perf_hooks 'gc' entries): ${service.gc.count} collections, ${f(service.gc.totalMs)} ms in all, the longest ${f(service.gc.maxMs)} ms (the longest scavenge of the young generation ${f(service.gc.maxScavengeMs)} ms).` : ''}`,
      '',
      'Where the long pauses came from (2026-11-28, a 200k-frame file, the same 187 MB read, load average 4.6 to 5.1, three rounds alternating old and new code): timing every dissection and every collection put the pauses over 40 ms on scavenges (median 4 ms, 70 to 330 ms on a loaded machine) and on 1 MiB chunks dissected whole (median 3.4 ms, up to 90 ms), the process using about 30% of those pauses\' wall time in CPU (the rest waiting for a core). Since then a chunk is dissected in 64 KiB pieces with a chance to pause after each, and the replay\'s frames, messages and events are renamed in place rather than copied (sampled allocation 3.3 → 2.9 KB per event, scavenges 115 → 94 per open): longest pause 133, 217, 85 ms before and 45, 36, 35 ms after; 99th percentile 108, 56, 42 ms before and 32, 34, 27 ms after; the open 6, 4, 6 s before and 3, 4, 2 s after. The old code on this 1 GB file just after the run above (load average 4.1): through the service 3.12 s, longest pause 53 ms, 99th percentile 30 ms, at most 66 ms of CPU between two ticks, peak RSS 202 MiB; `wsinspect open` 16.1 s in 193 MiB. At load average 7 to 8 the scheduler alone pauses the probes 100 to 500 ms, and the open\'s pauses follow.',
    );
  }
  lines.push('Raw figures: bench-capture-results.json.');
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--measure');
  if (i >= 0) {
    measure(process.argv[i + 1] as Mode, process.argv[i + 2]!).then(
      (m) => {
        process.stdout.write(`${JSON.stringify(m)}\n`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`measure failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  } else {
    runCaptureBench().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`bench:capture failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  }
}
