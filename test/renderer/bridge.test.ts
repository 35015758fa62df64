/**
 * Electron's path for pushed batches: the main process sends binary batches (src/main/ipc.ts, src/shared/trace-batch.ts),
 * the preload passes it through, and the page decodes it (fromPreload). Driven here by the real
 * inspector service and a real `ws` client; only Electron's IPC transport is left out.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { fromPreload } from '../../src/renderer/src/bridge.ts';
import type { PreloadApi, ServiceBatch } from '../../src/shared/inspector-api.ts';
import { encodeBatch } from '../../src/shared/trace-batch-encode.ts';
import { channels } from '../../src/shared/inspector-api.ts';
import { WindowStream } from '../../src/main/window-stream.ts';

/** The bytes of every byte array in a value (frames, heads, message data). */
function byteArrayLengths(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  if (value === null || typeof value !== 'object') return 0;
  return Object.values(value).reduce((n: number, v) => n + byteArrayLengths(v), 0);
}

describe('fromPreload', () => {
  it('decodes each batch into one buffer holding only the frames\' own bytes, not the socket reads they were views into', async () => {
    const service = new InspectorService({ batchIntervalMs: 5 });
    const started = await service.startServer({ port: 0 });
    if (!started.ok) throw new Error(started.error);
    // As src/main/ipc.ts sends them, and src/preload/index.ts hands them on.
    const jsonListeners: Array<(batch: Uint8Array) => void> = [];
    let encodedInMain = 0;
    const sent: number[] = [];
    service.onBatch((batch) => {
      // The service encodes its frames as they are traced: the batch holds rows, not frame objects.
      if (batch.trace && batch.trace.frames > 0 && !batch.events.some((e) => e.type === 'frame')) encodedInMain++;
      const bytes = encodeBatch(batch);
      sent.push(bytes.length);
      for (const l of jsonListeners) l(bytes);
    });
    const preload = { onBatchJson: (l: (batch: Uint8Array) => void) => (jsonListeners.push(l), () => undefined) } as unknown as PreloadApi;
    const batches: ServiceBatch[] = [];
    fromPreload(preload).onBatch((b) => batches.push(b));
    const ws = new WebSocket(started.url, { perMessageDeflate: false }); // payloads as sent: this is about buffers
    try {
      await new Promise((r) => ws.once('open', r));
      const count = 200;
      let echoed = 0;
      const done = new Promise<void>((r) => ws.on('message', () => ++echoed === count && r()));
      for (let i = 0; i < count; i++) ws.send(`message ${i}`);
      await done;
      await new Promise((r) => setTimeout(r, 50));
      const frames = batches.flatMap((b) => b.events.flatMap((e) => (e.type === 'frame' ? [e] : [])));
      expect(frames).toHaveLength(2 * count);
      const received = frames.filter((f) => f.direction === 'in').map((f) => new TextDecoder().decode(f.frame.payload));
      expect(received).toEqual(Array.from({ length: count }, (_, i) => `message ${i}`));
      // In the main process no frame object (with its views of socket reads) waited for the batch.
      expect(encodedInMain).toBeGreaterThan(0);
      // In the page: the batch's own buffer (rows and bytes, as sent) and at most one more for the
      // masked frames' wire bytes rebuilt from their payloads; no socket read came along.
      expect(batches).toHaveLength(sent.length);
      batches.forEach((batch, i) => {
        const buffers = new Set(batch.events.flatMap((e) => (e.type === 'frame' ? [e.frame.raw.buffer, e.frame.payload.buffer] : [])));
        if (buffers.size === 0) return;
        expect(buffers.size).toBeLessThanOrEqual(2);
                const held = [...buffers].reduce((n, b) => n + b.byteLength, 0);
        for (const b of buffers) expect(b.byteLength).toBeLessThanOrEqual(sent[i]!);
        expect(held).toBeLessThanOrEqual(sent[i]! + byteArrayLengths(batch));
      });
    } finally {
      ws.close();
      await service.dispose();
    }
  });

  it('acknowledges the batches it applied to the main process\'s window stream (src/main/window-stream.ts)', async () => {
    const service = new InspectorService({ batchIntervalMs: 5 });
    // The window's webContents and the preload, joined as IPC joins them (sender id 3).
    const jsonListeners: Array<(batch: Uint8Array) => void> = [];
    const acks: Array<{ arg: unknown; result: unknown }> = [];
    const contents = { id: 3, isDestroyed: () => false, send: (_channel: string, batch: Uint8Array) => jsonListeners.forEach((l) => l(batch)) };
    const stream = new WindowStream(service, () => contents, channels.batch);
    const preload = {
      onBatchJson: (l: (batch: Uint8Array) => void) => (jsonListeners.push(l), () => undefined),
      ackEvents: async (arg: unknown) => {
        const result = stream.ack(3, arg);
        acks.push({ arg, result });
        return result;
      },
    } as unknown as PreloadApi;
    const batches: ServiceBatch[] = [];
    fromPreload(preload).onBatch((b) => batches.push(b));
    try {
      const started = await service.startServer({ port: 0 });
      if (!started.ok) throw new Error(started.error);
      await new Promise((r) => setTimeout(r, 200));
      expect(batches.length).toBeGreaterThan(0);
      expect(acks.length).toBeGreaterThan(0);
      expect(acks.every((a) => (a.result as { ok: boolean }).ok)).toBe(true);
      // The last acknowledgement names the last batch applied, of this window's stream.
      expect(acks.at(-1)!.arg).toEqual({ stream: batches.at(-1)!.stream, seq: batches.at(-1)!.seq });
    } finally {
      stream.close();
      await service.dispose();
    }
  });

  it('skips a cut or garbled batch with one line on the console, and applies the next one', () => {
    const listeners: Array<(batch: Uint8Array) => void> = [];
    const acked: unknown[] = [];
    const preload = {
      onBatchJson: (l: (batch: Uint8Array) => void) => (listeners.push(l), () => undefined),
      ackEvents: async (arg: unknown) => (acked.push(arg), { ok: true }),
    } as unknown as PreloadApi;
    const batches: ServiceBatch[] = [];
    fromPreload(preload).onBatch((b) => batches.push(b));
    const good = encodeBatch({ events: [], stream: 1, seq: 1 });
    const errors: string[] = [];
    const original = console.error;
    console.error = (message: string) => errors.push(message);
    try {
      expect(() => listeners[0]!(good.subarray(0, good.length - 3))).not.toThrow();
      const garbled = new Uint8Array(good);
      garbled[0] = 99;
      expect(() => listeners[0]!(garbled)).not.toThrow();
      listeners[0]!(good);
    } finally {
      console.error = original;
    }
    expect(errors).toEqual([expect.stringMatching(/^Unreadable event batch: cut short/), 'Unreadable event batch: version 99, this page reads 1']);
    expect(batches).toEqual([{ events: [], stream: 1, seq: 1 }]);
  });
});
