import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingToHar } from '../../src/core/capture/export-har.ts';
import { recordingToPcapng } from '../../src/core/capture/export-pcapng.ts';
import { readSessionFile } from '../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { DISPLAY_CAP, FullFrameStore } from '../../src/service/display-cap.ts';
import { loadRecordingSource } from '../../src/service/recording-source.ts';
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
