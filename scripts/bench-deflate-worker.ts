/**
 * The client half of scripts/bench-deflate.ts's "client in a worker" cells: opens a client of the
 * given implementation to the server in the main thread, warms up, measures with drive(), and
 * posts { messages, seconds } (or { error }).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { drive } from './bench.ts';
import { jsonText, openEchoClient } from './bench-deflate.ts';

const { impl, url, size, window, warmupMs, cellMs } = workerData as { impl: 'ours' | 'ws'; url: string; size: number; window: number; warmupMs: number; cellMs: number };

try {
  const texts = Array.from({ length: 16 }, (_, v) => jsonText(size, v));
  const link = await openEchoClient(impl, url, texts);
  const payloadOfSize = new Uint8Array(size);
  await drive(link, payloadOfSize, window, warmupMs);
  const result = await drive(link, payloadOfSize, window, cellMs);
  await link.close();
  parentPort!.postMessage(result);
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.stack ?? error.message : String(error) });
}
