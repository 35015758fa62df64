/**
 * One side of scripts/bench-proxy.ts in a thread of its own: the `ws` echo server, or the reverse
 * proxy with tracing on (every event kept, payloads cut for display as the app does). Posts
 * { url } once listening; answers 'events' with { events } (trace events kept), 'reset' by
 * emptying the trace; on 'stop', closes and posts { events }.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { ReverseProxy } from '../src/core/proxy/reverse-proxy.ts';
import { frameFromWire, TraceLog } from '../src/core/trace-log.ts';
import { Tracer, type Direction, type TraceEvent, type TracedRelay, type TraceRowListener } from '../src/core/trace.ts';
import { capForDisplay, DISPLAY_CAP, FullFrameStore } from '../src/service/display-cap.ts';
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
 * Keeps every event in a TraceLog as the service shows it: capForDisplay's cut (payloads above
 * DISPLAY_CAP cut, the full bytes in the store). Subscribed with subscribeRows, so frames and
 * messages come as rows (no event objects) and pass on as rows while they need no cut; one that
 * does is made the event it stands for and cut as capForDisplay cuts it. Reads back the same.
 */
export class DisplayCappedLog implements TraceRowListener {
  log = new TraceLog();
  store = new FullFrameStore();

  /** An empty trace from here on. */
  reset(): void {
    this.log = new TraceLog();
    this.store = new FullFrameStore();
  }

  push(event: TraceEvent): void {
    this.log.push(capForDisplay(event, this.store));
  }

  frameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    // A row's raw is its header and payload: within the cut when the payload is.
    if (payload.length <= DISPLAY_CAP) this.log.frameRow(seq, time, connectionId, direction, frameId, raw, payload, relay);
    else this.push({ type: 'frame', direction, frame: frameFromWire(frameId, raw, payload, relay), seq, time, connectionId });
  }

  messageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    if ((text ?? data).length <= DISPLAY_CAP) return this.log.messageRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data, payloadsOfFrames);
    const frameIds = Array.from({ length: frameCount }, (_, k) => firstFrameId + k);
    const body = text !== undefined ? { text } : { data };
    this.push({ type: 'message', direction, opcode, size, frameIds, ...body, seq, time, connectionId });
  }
}

/**
 * The reverse proxy to `target`, tracing both legs as the app does (payloads cut for display, full
 * bytes in the service's store); every event kept, in a TraceLog (compact rows read back as the
 * same events, src/core/trace-log.ts; frames and messages reach it as rows, DisplayCappedLog);
 * deflate off on both legs.
 */
export async function startTracedProxy(target: string): Promise<{ url: string; events: () => number; reset: () => void; close: () => Promise<void> }> {
  const tracer = new Tracer();
  const kept = new DisplayCappedLog();
  tracer.subscribeRows(kept);
  const proxy = new ReverseProxy({ host, port: 0, target, tracer, traceBytes: false, clientDeflate: false, upstreamDeflate: false });
  const { url } = await proxy.listen();
  return {
    url, events: () => kept.log.pushed, close: () => proxy.close(),
    // Each cell starts from an empty trace, as bench.ts's traced cells do.
    reset: () => kept.reset(),
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
