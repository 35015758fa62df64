/**
 * npm run bench:record — what `--record` costs a live server, and how fast a recording opens.
 *
 * In one process, our client sends binary messages to our server (a sink: nothing comes back,
 * permessage-deflate off, so the figures are the recorder's and not zlib's), in rounds that
 * alternate three ways of running the server:
 *   untraced   no trace listener (what serve does with --trace none and no --record)
 *   traced     a listener that only counts events, raw byte chunks traced (the tracing alone)
 *   recording  --record: the session recorder on the tracer, writing to a file in the temp folder
 * Each round reports MB/s of payload (10^6 bytes per second of wall time); the table shows the
 * median of the rounds. Then the recording is opened: the session file read (bounded reader) and
 * replayed through our parser into TraceEvents, as `wsinspect open` does without printing.
 *
 * Writes the "Recording sessions" section of BENCHMARKS.md.
 * Environment: RECORD_MESSAGES (default 4000), RECORD_SIZE (bytes per message, default 16384),
 * RECORD_ROUNDS (default 3), BENCH_OUT_DIR, BENCH_NO_MD=1.
 */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionRecorder } from '../src/core/capture/recorder.ts';
import { replayRecording } from '../src/core/capture/recording.ts';
import { readSessionFile } from '../src/core/capture/session-file.ts';
import { connectClient } from '../src/core/net/client.ts';
import { WebSocketServer } from '../src/core/net/server.ts';
import { Tracer } from '../src/core/trace.ts';
import { envNumber, machineInfo, repoRoot, writeSection } from './bench.ts';

type Mode = 'untraced' | 'traced' | 'recording';
const MODES: Mode[] = ['untraced', 'traced', 'recording'];

async function run(mode: Mode, messages: number, size: number, file: string): Promise<number> {
  const tracer = new Tracer();
  const recorder = mode === 'recording' ? new SessionRecorder(file, { createdBy: 'bench:record' }).attach(tracer) : null;
  let events = 0;
  if (mode === 'traced') tracer.subscribe(() => events++);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = new WebSocketServer({
    host: '127.0.0.1', port: 0, tracer, traceBytes: mode !== 'untraced', deflate: false,
    component: { name: 'sink', onMessage: () => { if (++received === messages) done(); } },
  });
  const { url } = await server.listen();
  const { opened } = connectClient(url, {}, { deflate: false });
  const conn = await opened;
  const payload = new Uint8Array(size).map((_v, i) => i & 0xff);
  const start = performance.now();
  for (let i = 0; i < messages; i++) {
    conn.sendBinary(payload);
    if (conn.writableNeedsDrain) await conn.drained();
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  conn.close(1000, 'done');
  await conn.closed();
  await server.close();
  recorder?.close();
  return (messages * size) / 1e6 / seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const messages = envNumber('RECORD_MESSAGES', 4000);
  const size = envNumber('RECORD_SIZE', 16384);
  const rounds = envNumber('RECORD_ROUNDS', 3);
  const outDir = resolve(process.env['BENCH_OUT_DIR'] ?? repoRoot);
  const dir = mkdtempSync(join(tmpdir(), 'wsi-bench-record-'));
  const file = join(dir, 'bench.wsi');
  try {
    const rates: Record<Mode, number[]> = { untraced: [], traced: [], recording: [] };
    await run('untraced', 200, size, file); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const mode of MODES) {
        rates[mode].push(await run(mode, messages, size, file));
        console.log(`  round ${r + 1} ${mode.padEnd(9)} ${rates[mode].at(-1)!.toFixed(1)} MB/s`);
      }
    }
    const fileBytes = statSync(file).size;
    const t0 = performance.now();
    const { recording, error } = readSessionFile(file);
    const readSeconds = (performance.now() - t0) / 1000;
    if (error) throw new Error(`the recording does not read back: ${error}`);
    const t1 = performance.now();
    let frames = 0;
    for (const e of replayRecording(recording)) if (e.type === 'frame') frames++;
    const replaySeconds = (performance.now() - t1) / 1000;
    const m = machineInfo();
    const row = (mode: Mode, what: string) => `| ${what} | ${median(rates[mode]).toFixed(1)} | ${rates[mode].map((x) => x.toFixed(1)).join(', ')} |`;
    const body = [
      '## Recording sessions (--record)',
      '',
      `Written by \`npm run bench:record\` (scripts/bench-record.ts) on ${new Date().toISOString()}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, code ${m.commit}; load average ${m.loadAverage.start} → ${m.loadAverage.end}.`,
      `Our client sends ${messages} binary messages of ${size} bytes to our server (a sink, permessage-deflate off), in one process over 127.0.0.1; ${rounds} rounds, the three ways alternating.`,
      '',
      '| server | MB/s (median) | each round |',
      '| --- | ---: | --- |',
      row('untraced', 'untraced (no trace listener: serve without --record and --trace none)'),
      row('traced', 'traced, raw byte chunks included, a listener that only counts'),
      row('recording', '--record: the recorder writing the session file'),
      '',
      `Opening the last recording (${(fileBytes / 1e6).toFixed(1)} MB on disk for ${(messages * size / 1e6).toFixed(1)} MB of payload: base64 and JSON lines): reading it ${(fileBytes / 1e6 / readSeconds).toFixed(1)} MB/s of file (${readSeconds.toFixed(2)} s), replaying its ${frames} frames through our parser ${(messages * size / 1e6 / replaySeconds).toFixed(1)} MB/s of payload (${replaySeconds.toFixed(2)} s).`,
      'The untraced path does not change with recording in the code: the recorder is a trace listener, present only with --record.',
    ].join('\n');
    console.log(body);
    if (process.env['BENCH_NO_MD'] !== '1') writeSection(join(outDir, 'BENCHMARKS.md'), 'record', body);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(() => process.exit(0), (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
