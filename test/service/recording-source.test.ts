import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingToHar } from '../../src/core/capture/export-har.ts';
import { recordingToPcapng } from '../../src/core/capture/export-pcapng.ts';
import { readSessionFile } from '../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { DISPLAY_CAP, FullFrameStore } from '../../src/service/display-cap.ts';
import { loadRecordingSource, openRecordingStream, type OpeningProgress, type RecordingStreamOptions } from '../../src/service/recording-source.ts';
import { sessionRecords } from '../../src/core/capture/session-file.ts';
import { recordingToJson } from '../../src/core/capture/export-json.ts';
import { synthesiseCapture } from '../../scripts/bench-capture.ts';
import { recordEveryFrameType } from '../core/capture/session-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-recording-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Frame = Extract<TraceEvent, { type: 'frame' }>;

describe('the read-only recording source', () => {
  it('a session, its HAR and its pcapng export load as read-only connections with the live frames, cut for display like live ones', async () => {
    const { file, serverEvents } = await recordEveryFrameType(dir);
    const recording = readSessionFile(file).recording;
    const harFile = join(dir, 'x.har');
    writeFileSync(harFile, JSON.stringify(recordingToHar(recording)));
    const pcapFile = join(dir, 'x.pcapng');
    writeFileSync(pcapFile, recordingToPcapng(recording));
    const liveFrames = serverEvents.filter((e): e is Frame => e.type === 'frame').map((e) => [e.frame.opcode, e.frame.payloadLength]);

    for (const [path, kind] of [[file, 'session'], [pcapFile, 'capture'], [harFile, 'har']] as const) {
      const fullFrames = new FullFrameStore();
      const source = loadRecordingSource(path, { fullFrames, prefix: 'rec1:' });
      if (!source.ok) throw new Error(source.error);
      expect(source.kind).toBe(kind);
      expect(source.error).toBeNull();
      expect(source.summaries).toHaveLength(1);
      const summary = source.summaries[0]!;
      expect(summary.id.startsWith('rec1:')).toBe(true);
      expect(summary.state).toBe('CLOSED');
      expect(summary.detail).toMatch(kind === 'har' ? /^recording \(read-only\): reconstructed from a HAR file, not captured/ : /^recording \(read-only\)/);
      expect(new Set(source.events.map((e) => e.connectionId))).toEqual(new Set([summary.id]));
      const frames = source.events.filter((e): e is Frame => e.type === 'frame');
      if (kind !== 'har') expect(frames.map((e) => [e.frame.opcode, e.frame.payloadLength])).toEqual(liveFrames);
      // The 70,000-byte frames are cut to DISPLAY_CAP and their full bytes kept for "load all".
      const big = frames.filter((e) => e.frame.truncated);
      expect(big.length).toBeGreaterThan(0);
      for (const e of big) {
        expect(e.frame.payload.length).toBeLessThanOrEqual(DISPLAY_CAP);
        expect(fullFrames.get(`${summary.id}:${e.frame.frameId}`)?.payload.length).toBe(e.frame.truncated!.payloadLength);
      }
    }
  }, 30_000);

  it('a file of no kind we know, or none at all: one sentence', () => {
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'plain text');
    const a = loadRecordingSource(other, { fullFrames: new FullFrameStore() });
    expect(a).toEqual({ ok: false, error: expect.stringMatching(/is not a wsinspect session, JSON export, HAR file or pcap\/pcapng capture/) });
    const b = loadRecordingSource(join(dir, 'missing.wsi'), { fullFrames: new FullFrameStore() });
    expect(b).toEqual({ ok: false, error: expect.stringMatching(/^Cannot read .*: no such file\.$/) });
  });

});

/** Opens a file streaming, collecting what comes out. */
async function stream(path: string, options: Partial<RecordingStreamOptions> = {}) {
  const events: TraceEvent[] = [];
  const progress: OpeningProgress[] = [];
  const result = await openRecordingStream(path, { fullFrames: new FullFrameStore(), prefix: 'rec1:', onEvent: (e) => events.push(e), onProgress: (p) => progress.push(p), ...options });
  return { result, events, progress };
}

describe('opening a recording streaming (the app)', () => {
  // Three conversations of 2000 frames, as a capture and as the session file and JSON export of what it holds.
  const capture = join(dir, 'three.pcapng');
  synthesiseCapture(capture, 6000);
  const whole = loadRecordingSource(capture, { fullFrames: new FullFrameStore(), prefix: 'rec1:' });
  if (!whole.ok) throw new Error(whole.error);
  const session = join(dir, 'three.wsi');
  writeFileSync(session, sessionRecords(whole.recording).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const json = join(dir, 'three.json');
  writeFileSync(json, recordingToJson(whole.recording));
  const har = join(dir, 'three.har');
  writeFileSync(har, JSON.stringify(recordingToHar(whole.recording)));

  it('a capture, a session file and a JSON export stream out the same events loadRecordingSource makes at once', async () => {
    const shape = (events: TraceEvent[]) => events.map((e) => `${e.seq} ${e.connectionId} ${e.type}${e.type === 'frame' ? ` ${e.frame.payloadLength}` : ''}`);
    for (const path of [capture, session, json]) {
      const { result, events, progress } = await stream(path);
      if (!result.ok) throw new Error(result.error);
      expect(result.error, path).toBeNull();
      expect(result.frames).toBe(6000);
      expect(result.loadedIds).toEqual(whole.recording.connections.map((c) => c.id));
      expect(shape(events), path).toEqual(shape(whole.events));
      expect(progress.at(-1)).toMatchObject({ bytesRead: readFileSync(path).length, totalBytes: readFileSync(path).length, frames: 6000 });
    }
  }, 60_000);

  it('a session file replays each connection at its end record, while the file is still being read', async () => {
    const { events, progress } = await stream(session);
    // Frames were loaded (the first connections replayed) before the last chunk of the file was read.
    const size = readFileSync(session).length;
    expect(progress.some((p) => p.phase === 'reading' && p.bytesRead < size && p.frames > 0)).toBe(true);
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(6000);
  }, 60_000);

  it('connections still open at the end of the file are replayed after it, reported as such', async () => {
    // A session whose recorder stopped before its connections ended: no end records.
    const open = { ...whole.recording, connections: whole.recording.connections.map(({ endTime: _e, ...c }) => c) };
    const unended = join(dir, 'unended.wsi');
    writeFileSync(unended, sessionRecords(open).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { result, progress } = await stream(unended);
    expect(result).toMatchObject({ ok: true, frames: 6000, error: null });
    // Nothing ended while reading; then the three, counted as they are replayed.
    expect(progress.filter((p) => p.phase === 'reading').every((p) => p.frames === 0)).toBe(true);
    const replaying = progress.filter((p) => p.phase === 'replaying');
    expect(replaying[0]).toMatchObject({ replayed: 0, toReplay: 3 });
    expect(replaying.at(-1)).toMatchObject({ replayed: 3, toReplay: 3, frames: 6000 });
  }, 60_000);

  it('past maxEvents: a note says where it is cut, and the file is read no further', async () => {
    const { result, events, progress } = await stream(capture, { maxEvents: 1000 });
    if (!result.ok) throw new Error(result.error);
    expect(result).toMatchObject({ cut: true, error: null, events: 1000 });
    expect(events).toHaveLength(1001);
    expect(events.at(-1)).toMatchObject({ type: 'note', text: 'The recording is cut here: at most 1000 events are loaded.' });
    expect(result.loadedIds).toEqual(['capture-1']);
    expect(progress.at(-1)!.bytesRead).toBeLessThan(readFileSync(capture).length);
  }, 60_000);

  it('past maxFrames (the page\'s frame ring): cut there, with the ring named, and read no further', async () => {
    const { result, events, progress } = await stream(capture, { maxFrames: 2500 });
    if (!result.ok) throw new Error(result.error);
    expect(result).toMatchObject({ cut: true, error: null, frames: 2500 });
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(2500);
    expect(events.at(-1)).toMatchObject({ type: 'note', connectionId: 'rec1:capture-2', text: 'The recording is cut here: at most 2500 frames are loaded (the frame list keeps that many).' });
    expect(result.loadedIds).toEqual(['capture-1', 'capture-2']);
    expect(progress.at(-1)!.bytesRead).toBeLessThan(readFileSync(capture).length);
  }, 60_000);

  it('a truncated file: one sentence and everything before the cut, for each kind', async () => {
    for (const path of [capture, session, json, har]) {
      const bytes = readFileSync(path);
      const cut = `${path}.cut`;
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const { result, events } = await stream(cut);
      if (!result.ok) throw new Error(result.error);
      expect(result.error, path).toMatch(/\S/);
      expect(result.error!.split('\n')).toHaveLength(1);
      // Everything that parsed before the cut: the first connection whole at least.
      expect(result.frames, path).toBeGreaterThanOrEqual(path === har ? 0 : 2000);
      expect(events.filter((e) => e.type === 'frame').length).toBe(result.frames);
    }
  }, 60_000);

  it('a file of no kind we know, or none at all: one sentence', async () => {
    expect((await stream(join(dir, 'other.txt'))).result).toEqual({ ok: false, error: expect.stringMatching(/is not a wsinspect session, JSON export, HAR file or pcap\/pcapng capture/) });
    expect((await stream(join(dir, 'missing.wsi'))).result).toEqual({ ok: false, error: expect.stringMatching(/^Cannot read .*: no such file\.$/) });
  });
});
