/**
 * EventStreams.untilCaughtUp (issue 13): a recording being opened waits between slices while a
 * page that acknowledges its batches is behind, so the recording's frames reach it paced; it goes
 * on as the page acknowledges again. A page that never acknowledged is not waited for.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesiseCapture } from '../../scripts/bench-capture.ts';
import { EventStreams } from '../../src/host/event-streams.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import type { ServiceBatch } from '../../src/shared/inspector-api.ts';
import { BatchRecordReader, decodeBatch } from '../../src/shared/trace-batch.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-event-streams-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A page's event stream: the batches written to it, and whether it acknowledges each as it comes. */
function fakePage() {
  const records = new BatchRecordReader();
  const res = Object.assign(new EventEmitter(), {
    destroyed: false, writableEnded: false, writableLength: 0, batches: [] as ServiceBatch[],
    writeHead() {},
    write(data: Uint8Array) {
      for (const batch of records.push(data)) res.batches.push(decodeBatch(batch));
      return true;
    },
    end() {},
  });
  return res;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A service whose recording opens are paced to one (fake) page's stream, as the web host does. */
function pacedService(stalledMs: number) {
  const service = new InspectorService({ batchIntervalMs: 5 });
  const streams = new EventStreams(service, 64 * 1024 * 1024);
  service.setRecordingPace(() => streams.untilCaughtUp(40, stalledMs));
  const page = fakePage();
  streams.add(page as unknown as ServerResponse, {});
  return {
    service, streams, page,
    close: async () => {
      streams.close();
      await service.dispose();
    },
  };
}

describe('pacing an opening recording to the pages', () => {
  it('the open waits while an acknowledging page is behind, and goes on once it acknowledges', async () => {
    const path = join(dir, 'paced.pcapng');
    synthesiseCapture(path, 12_000);
    const { service, streams, page, close } = pacedService(5000);
    const stream = page.batches[0]!.stream!;
    try {
      const opening = service.openRecording(path, 'paced.pcapng');
      // The page acknowledges the first batch, then nothing: it is behind from 40 ms on.
      for (let i = 0; i < 200 && !page.batches.some((b) => b.seq !== undefined); i++) await sleep(5);
      expect(streams.ack({ stream, seq: page.batches.find((b) => b.seq !== undefined)!.seq })).toEqual({ ok: true });
      await sleep(300);
      const framesAt = () => service.getStatus().opening?.frames ?? -1;
      const stalled = framesAt();
      await sleep(400);
      // Held: no frame loaded for 400 ms while the page did not acknowledge (the whole file takes about a second).
      expect(framesAt()).toBe(stalled);
      expect(stalled).toBeLessThan(12_000);
      // The page acknowledges every batch from now on: the open goes on to the end.
      const acking = setInterval(() => streams.ack({ stream, seq: page.batches.at(-1)!.seq }), 5);
      const result = await opening;
      clearInterval(acking);
      expect(result).toMatchObject({ ok: true, recording: { frames: 12_000 } });
      // None of the recording's frames were folded on the way.
      expect(streams.stats()[0]!.foldedFrames).toBe(0);
    } finally {
      await close();
    }
  }, 60_000);

  it('a page that never acknowledged is not waited for', async () => {
    const path = join(dir, 'unpaced.pcapng');
    synthesiseCapture(path, 4000);
    const { service, close } = pacedService(60_000);
    try {
      expect(await service.openRecording(path, 'unpaced.pcapng')).toMatchObject({ ok: true, recording: { frames: 4000 } });
    } finally {
      await close();
    }
  }, 60_000);
});
