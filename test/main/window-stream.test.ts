/**
 * The window's batches over IPC (src/main/window-stream.ts on src/service/page-streams.ts): a
 * fake webContents stands in for the window (Electron's binary cannot run here). The window
 * acknowledges what it applied; when it stops, a flood is folded; a recording being opened
 * waits while the window is behind and goes on when it acknowledges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { synthesiseCapture } from '../../scripts/bench-capture.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { RECORDING_PACE } from '../../src/service/page-streams.ts';
import type { TraceEvent, TracedFrame } from '../../src/core/trace.ts';
import type { BatchSource } from '../../src/service/page-streams.ts';
import type { InspectorStatus, ServiceBatch } from '../../src/shared/inspector-api.ts';
import { channels } from '../../src/shared/inspector-api.ts';
import { decodeBatch } from '../../src/shared/trace-batch.ts';
import { WindowStream, type BatchTarget } from '../../src/main/window-stream.ts';

/** A text frame from the peer, as the protocol traces one. */
function frameEvent(seq: number, frameId: number): TraceEvent {
  const frame: TracedFrame = {
    frameId, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true, maskKey: new Uint8Array(4),
    lengthField: 3, payloadLength: 3, headerLength: 6, raw: new Uint8Array(9), payload: new Uint8Array(3),
  };
  return { type: 'frame', seq, time: 1000 + seq, connectionId: 'c1', direction: 'in', frame } as TraceEvent;
}

/** The service's side: push batches by hand. */
function fakeService() {
  const listeners = new Set<(batch: ServiceBatch) => void>();
  let seq = 0;
  let frameId = 0;
  const service: BatchSource = {
    onBatch: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    getStatus: () => ({ connections: [] }) as unknown as InspectorStatus,
  };
  const push = (frames: number) => {
    const events = Array.from({ length: frames }, () => frameEvent(++seq, ++frameId));
    for (const l of listeners) l({ events });
  };
  return { service, push, listeners };
}

/** The window's webContents: what it was sent over the batch channel, decoded as the page does. */
function fakeWindow(id: number) {
  const received: ServiceBatch[] = [];
  const contents: BatchTarget & { destroyed: boolean } = {
    id, destroyed: false,
    isDestroyed: () => contents.destroyed,
    send: (channel, batch) => {
      expect(channel).toBe(channels.batch);
      received.push(decodeBatch(batch));
    },
  };
  return { contents, received };
}

const policy = { foldAfterMs: 30, resumeBelowMs: 10, minFoldMs: 50, minFramesBehind: 20 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup() {
  const { service, push, listeners } = fakeService();
  const win = fakeWindow(7);
  let target: BatchTarget | null = win.contents;
  const stream = new WindowStream(service, () => target, channels.batch, policy);
  return { stream, push, listeners, win, setTarget: (t: BatchTarget | null) => (target = t) };
}

/**
 * A window that applied the first batch (5 frames), then nothing while a batch of 50 frames came,
 * and 40 ms later `bursts` more: it is folded from the first of those on.
 */
async function floodUnacknowledged(bursts: number) {
  const setupResult = setup();
  const { stream, push, win } = setupResult;
  push(5);
  const id = win.received.at(-1)!.stream!;
  expect(stream.ack(7, { stream: id, seq: win.received.at(-1)!.seq })).toEqual({ ok: true });
  push(50);
  await sleep(40);
  expect(stream.stats().folding).toBe(false);
  for (let i = 0; i < bursts; i++) push(50);
  expect(stream.stats().folding).toBe(true);
  return { ...setupResult, id };
}

describe('WindowStream', () => {
  it('numbers every batch and names the stream on each, so a reloaded page acknowledges at once', () => {
    const { stream, push, win } = setup();
    push(1);
    push(1);
    const numbered = win.received.filter((b) => b.seq !== undefined);
    expect(numbered.map((b) => b.seq)).toEqual([1, 2]);
    const id = win.received[0]!.stream;
    expect(typeof id).toBe('number');
    expect(numbered.every((b) => b.stream === id)).toBe(true);
    expect(stream.ack(7, { stream: id, seq: 2 })).toEqual({ ok: true });
    stream.close();
  });

  it('refuses acknowledgements from another webContents, of another stream, or of a batch never sent', () => {
    const { stream, push, win, setTarget } = setup();
    push(1);
    const id = win.received.at(-1)!.stream!;
    expect(stream.ack(8, { stream: id, seq: 1 })).toMatchObject({ ok: false });
    expect(stream.ack(7, { stream: id + 1, seq: 1 })).toMatchObject({ ok: false, error: expect.stringContaining('no such event stream') });
    for (const seq of [0, 2, -1, 1.5, '1', Number.NaN, Number.MAX_SAFE_INTEGER + 2, null]) {
      expect(stream.ack(7, { stream: id, seq })).toMatchObject({ ok: false, error: expect.stringContaining('seq must be') });
    }
    for (const arg of [null, undefined, 1, 'x', [id, 1], { seq: 1 }]) expect(stream.ack(7, arg)).toMatchObject({ ok: false });
    // Once the window is gone, nobody acknowledges its stream.
    win.contents.destroyed = true;
    expect(stream.ack(7, { stream: id, seq: 1 })).toMatchObject({ ok: false });
    setTarget(null);
    expect(stream.ack(7, { stream: id, seq: 1 })).toMatchObject({ ok: false });
    stream.close();
  });

  it('folds a flood once the window stops acknowledging, with every frame counted, and resumes when it catches up', async () => {
    const { stream, push, win, id } = await floodUnacknowledged(5);
    const sentFrames = win.received.flatMap((b) => b.events).filter((e) => e.type === 'frame').length;
    const lastFolds = new Map<number, number>();
    for (const b of win.received) for (const f of b.folds ?? []) lastFolds.set(f.id, f.frames);
    const folded = [...lastFolds.values()].reduce((a, n) => a + n, 0);
    expect(folded).toBe(250);
    expect(sentFrames + folded).toBe(5 + 300);
    expect(stream.stats().foldedFrames).toBe(250);
    // The window catches up: after the fold's minimum, frames flow again and the fold closes.
    await sleep(60);
    expect(stream.ack(7, { stream: id, seq: win.received.at(-1)!.seq })).toEqual({ ok: true });
    push(3);
    expect(stream.stats().folding).toBe(false);
    const last = win.received.at(-1)!;
    expect(last.events.filter((e) => e.type === 'frame')).toHaveLength(3);
    expect(last.folds?.every((f) => !f.open)).toBe(true);
    stream.close();
  });

  it('closes the folds of a window that caught up after the flood ended, with no batch coming from the service', async () => {
    const { stream, win, id } = await floodUnacknowledged(3);
    // The flood is over; the window applies everything it got, once, and the service stays quiet.
    expect(stream.ack(7, { stream: id, seq: win.received.at(-1)!.seq })).toEqual({ ok: true });
    const count = win.received.length;
    await vi.waitFor(() => expect(stream.stats().folding).toBe(false), { timeout: 2000, interval: 10 });
    const closing = win.received.slice(count);
    expect(closing.length).toBeGreaterThan(0);
    expect(closing.every((b) => b.events.length === 0 && b.stream === id)).toBe(true);
    const folds = closing.flatMap((b) => b.folds ?? []);
    expect(folds.length).toBeGreaterThan(0);
    expect(folds.every((f) => !f.open)).toBe(true);
    expect(folds.reduce((n, f) => n + f.frames, 0)).toBe(150);
    stream.close();
  });

  it('never folds nor waits for a window that never acknowledged, and sends nothing while there is none', async () => {
    const { stream, push, win, setTarget } = setup();
    push(50);
    await sleep(40);
    for (let i = 0; i < 3; i++) push(50);
    expect(stream.stats().folding).toBe(false);
    const started = performance.now();
    await stream.untilCaughtUp(5, 1000);
    expect(performance.now() - started).toBeLessThan(500);
    setTarget(null);
    const count = win.received.length;
    push(1);
    expect(win.received).toHaveLength(count);
    stream.close();
  });

  it('pacing: an open waits while the window is behind, and is released when it acknowledges', async () => {
    const { stream, push, win } = setup();
    push(1);
    const id = win.received.at(-1)!.stream!;
    expect(stream.ack(7, { stream: id, seq: 1 })).toEqual({ ok: true });
    push(1);
    await sleep(20);
    let released = false;
    const waiting = stream.untilCaughtUp(10, 2000).then(() => (released = true));
    await sleep(150);
    expect(released).toBe(false);
    expect(stream.ack(7, { stream: id, seq: win.received.at(-1)!.seq })).toEqual({ ok: true });
    await waiting;
    expect(released).toBe(true);
    stream.close();
  });

  it('pacing: a window stalled past the limit is not waited for', async () => {
    const { stream, push, win } = setup();
    push(1);
    expect(stream.ack(7, { stream: win.received.at(-1)!.stream, seq: 1 })).toEqual({ ok: true });
    push(1);
    await sleep(120);
    const started = performance.now();
    await stream.untilCaughtUp(10, 100);
    expect(performance.now() - started).toBeLessThan(50);
    stream.close();
  });

  it('close stops the stream: the service loses its listener', () => {
    const { stream, listeners } = setup();
    expect(listeners.size).toBe(1);
    stream.close();
    expect(listeners.size).toBe(0);
  });
});

describe('a recording opened in the app is paced to the window (as src/main/ipc.ts wires it)', () => {
  it('the open holds while the window does not acknowledge, and ends once it does, nothing folded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-window-stream-'));
    const path = join(dir, 'paced.pcapng');
    synthesiseCapture(path, 12_000);
    const service = new InspectorService({ batchIntervalMs: 5 });
    const win = fakeWindow(7);
    const stream = new WindowStream(service, () => win.contents, channels.batch);
    service.setRecordingPace(() => stream.untilCaughtUp(RECORDING_PACE.lagMs, 5000));
    try {
      const opening = service.openRecording(path, 'paced.pcapng');
      const firstNumbered = () => win.received.find((b) => b.seq !== undefined);
      for (let i = 0; i < 200 && !firstNumbered(); i++) await sleep(5);
      const id = firstNumbered()!.stream!;
      expect(stream.ack(7, { stream: id, seq: firstNumbered()!.seq })).toEqual({ ok: true });
      await sleep(300);
      const framesAt = () => service.getStatus().opening?.frames ?? -1;
      const held = framesAt();
      await sleep(400);
      expect(framesAt()).toBe(held);
      expect(held).toBeLessThan(12_000);
      const acking = setInterval(() => stream.ack(7, { stream: id, seq: win.received.at(-1)!.seq }), 5);
      const result = await opening;
      clearInterval(acking);
      expect(result).toMatchObject({ ok: true, recording: { frames: 12_000 } });
      expect(stream.stats().foldedFrames).toBe(0);
    } finally {
      service.setRecordingPace(null);
      stream.close();
      await service.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
