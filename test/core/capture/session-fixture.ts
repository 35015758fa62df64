/**
 * A real session between our server and our client with every kind of frame, recorded from the
 * server's side (and, optionally, the client's): text, binary, a fragmented message, ping and its
 * pong, a message over 65,535 bytes (64-bit length), compressed messages (permessage-deflate, the
 * threshold keeps small ones plain) and a close with a reason. Returns the live trace of the
 * server for comparison.
 */

import { join } from 'node:path';
import { Opcode } from '../../../src/core/constants.ts';
import { SessionRecorder } from '../../../src/core/capture/recorder.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { IncomingMessage } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { prng } from '../../support/prng.ts';
import { AsyncQueue, eventually, MiB, utf8, withTimeout } from '../net/helpers.ts';

export interface RecordedFixture {
  file: string;
  /** The server's live trace. */
  serverEvents: TraceEvent[];
  clientEvents: TraceEvent[];
  port: number;
}

const FRAGMENT_ME = 'fragment me: ';

/** Random bytes: DEFLATE cannot shrink them, so a 70,000-byte message keeps a 64-bit length. */
export function noise(n: number, seed: number): Uint8Array {
  const next = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

export async function recordEveryFrameType(dir: string, options: { cap?: number; recordClient?: boolean; deflate?: false } = {}): Promise<RecordedFixture> {
  const serverTracer = new Tracer();
  const clientTracer = new Tracer();
  const serverEvents: TraceEvent[] = [];
  const clientEvents: TraceEvent[] = [];
  serverTracer.subscribe((e) => serverEvents.push(e));
  clientTracer.subscribe((e) => clientEvents.push(e));
  const file = join(dir, 'session.wsi');
  const recorder = new SessionRecorder(file, { createdBy: 'test', ...(options.cap !== undefined ? { cap: options.cap } : {}) }).attach(serverTracer);
  if (options.recordClient) recorder.attach(clientTracer);
  const component: ServerComponent = {
    name: 'echo-scripted',
    onMessage(conn, message) {
      if (message.text?.startsWith(FRAGMENT_ME)) conn.sendFragmented(Opcode.Text, utf8(message.text), [5, 7]);
      else if (message.opcode === Opcode.Text) conn.sendText(message.text ?? '');
      else conn.sendBinary(message.data);
    },
  };
  // Below 200 bytes a message goes uncompressed: both kinds are in the session.
  const deflate = options.deflate ?? { threshold: 200 };
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, tracer: serverTracer, maxMessageSize: 64 * MiB, deflate });
  const { url, port } = await server.listen();
  try {
    const received = new AsyncQueue<IncomingMessage>();
    const pongs = new AsyncQueue<Uint8Array>();
    const { opened } = connectClient(url, { onMessage: (_c, m) => received.push(m), onPong: (_c, p) => pongs.push(p) }, { maxMessageSize: 64 * MiB, deflate, tracer: clientTracer });
    const conn = await withTimeout(opened, 10_000, 'our client to open');
    conn.sendText('Hello ✓');
    await received.next(10_000, 'the echo');
    conn.sendBinary(Uint8Array.from([0, 1, 2, 3, 0xfe, 0xff]));
    await received.next(10_000, 'the binary echo');
    conn.sendFragmented(Opcode.Text, utf8('fragmented from the client'), [4, 10]);
    await received.next(10_000, 'the echo of the fragmented text');
    conn.sendText(`${FRAGMENT_ME}in three frames`);
    await received.next(10_000, 'the fragmented answer');
    conn.sendText('compress me, '.repeat(40));
    await received.next(10_000, 'the compressed echo');
    conn.sendBinary(noise(70_000, 7));
    await received.next(10_000, 'the 70,000-byte echo');
    conn.ping(utf8('ping ✓'));
    await pongs.next(10_000, 'the pong');
    conn.close(1000, 'bye ✓');
    await withTimeout(conn.closed(), 10_000, 'the close');
    await eventually(() => serverEvents.some((e) => e.type === 'connection-closed'), 10_000, 'the server to close');
  } finally {
    await server.close();
    recorder.close();
  }
  return { file, serverEvents, clientEvents, port };
}
