/**
 * One side of scripts/bench-proxy.ts in a thread of its own: the `ws` echo server, or the reverse
 * proxy with tracing on (every event kept, payloads cut for display as the app does). Posts
 * { url } once listening; answers 'events' with { events } (trace events kept), 'reset' by
 * emptying the trace; on 'stop', closes and posts { events }.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { ReverseProxy } from '../src/core/proxy/reverse-proxy.ts';
import { TraceLog } from '../src/core/trace-log.ts';
import { Tracer } from '../src/core/trace.ts';
import { capForDisplay, FullFrameStore } from '../src/service/display-cap.ts';
import { startEchoServer } from './bench-deflate.ts';

export interface ProxyWorkerData {
  role: 'echo-server' | 'proxy';
  /** proxy: the echo server's URL. */
  target?: string;
}

const host = '127.0.0.1';

/**
 * The `ws` echo server. It would accept permessage-deflate, but no client here offers it (the `ws`
 * client has it off, the proxy's upstream leg too): every leg runs uncompressed.
 */
export function startWsEcho(): Promise<{ url: string; close: () => Promise<void> }> {
  return startEchoServer('ws');
}

/**
 * The reverse proxy to `target`, tracing both legs as the app does (payloads cut for display, full
 * bytes in the service's store); every event kept, in a TraceLog (compact rows read back as the
 * same events, src/core/trace-log.ts); deflate off on both legs.
 */
export async function startTracedProxy(target: string): Promise<{ url: string; events: () => number; reset: () => void; close: () => Promise<void> }> {
  const tracer = new Tracer();
  let store = new FullFrameStore();
  let kept = new TraceLog();
  tracer.subscribe((event) => kept.push(capForDisplay(event, store)));
  const proxy = new ReverseProxy({ host, port: 0, target, tracer, traceBytes: false, clientDeflate: false, upstreamDeflate: false });
  const { url } = await proxy.listen();
  return {
    url, events: () => kept.pushed, close: () => proxy.close(),
    // Each cell starts from an empty trace, as bench.ts's traced cells do.
    reset: () => {
      kept = new TraceLog();
      store = new FullFrameStore();
    },
  };
}

async function main(): Promise<void> {
  const data = workerData as ProxyWorkerData;
  const started = data.role === 'proxy' ? await startTracedProxy(data.target!) : { ...(await startWsEcho()), events: () => 0, reset: () => {} };
  parentPort!.on('message', (message: string) => {
    if (message === 'events') parentPort!.postMessage({ events: started.events() });
    if (message === 'reset') {
      started.reset();
      parentPort!.postMessage({ reset: true });
    }
    if (message === 'stop') void started.close().then(() => {
      parentPort!.postMessage({ stopped: true, events: started.events() });
      parentPort!.close();
    });
  });
  parentPort!.postMessage({ url: started.url });
}

if (parentPort && workerData) {
  main().catch((error: unknown) => parentPort!.postMessage({ error: (error as Error).message }));
}
