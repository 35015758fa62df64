/**
 * A CONNECT tunnel passed through byte for byte (RFC 9110 §9.3.6: "the recipient ... establishes
 * a tunnel ... and, from that point on, blind forwarding of packets in both directions"). The
 * first bytes the client sends are read, not changed, to show the name a TLS client asks for
 * (client-hello.ts); the rest is node's pipe in each direction, with backpressure, and half-close
 * passed on (the client's FIN becomes ours to the origin, and back).
 */

import type { Duplex } from 'node:stream';
import { ClientHelloReader, type ClientHelloInfo } from './client-hello.ts';

export interface TunnelSummary {
  /** host:port asked for in CONNECT. */
  target: string;
  /** What the client's first bytes were: a TLS ClientHello (with its SNI), or why they were not one. */
  hello: ClientHelloInfo | null;
  notTls?: string;
  /** Bytes client → origin and origin → client. */
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  error?: string;
}

export interface TunnelOptions {
  client: Duplex;
  origin: Duplex;
  target: string;
  /** Bytes the client sent right behind its CONNECT head (they belong to the tunnel). */
  rest: Uint8Array;
  /** Why the tunnel was opened before the client said anything (shown until it does). */
  silentReason?: string;
  /** The ClientHello has been read (or found not to be one): the tunnel can be shown at once. */
  onHello?: (summary: TunnelSummary) => void;
  onDone: (summary: TunnelSummary) => void;
}

export function passThroughTunnel(options: TunnelOptions): void {
  const { client, origin } = options;
  const started = performance.now();
  const summary: TunnelSummary = { target: options.target, hello: null, bytesUp: 0, bytesDown: 0, durationMs: 0, ...(options.silentReason ? { notTls: options.silentReason } : {}) };
  const reader = new ClientHelloReader();
  let helloRead = false;
  const look = (data: Uint8Array) => {
    if (helloRead) return;
    const result = reader.feed(data);
    if (result.kind === 'need-more') return;
    helloRead = true;
    if (result.kind === 'hello') summary.hello = result.hello;
    else summary.notTls = result.reason;
    options.onHello?.(summary);
  };
  let done = false;
  let closed = 0;
  const finish = (error?: string) => {
    if (done) return;
    done = true;
    summary.durationMs = Math.round(performance.now() - started);
    if (error) summary.error = error;
    options.onDone(summary);
  };
  for (const [socket, other] of [[client, origin], [origin, client]] as const) {
    socket.on('error', (error: NodeJS.ErrnoException) => {
      other.destroy();
      socket.destroy();
      finish(`${socket === client ? 'client' : 'origin'}: ${error.code ?? error.message}`);
    });
    socket.once('close', () => {
      // Both sides fully closed: done. One side gone while the other still writes: after the
      // other's end has been passed on, pipe ends it; an abrupt close takes the other down.
      if (++closed === 2) finish();
      else if (!socket.readableEnded) {
        other.destroy();
      }
    });
  }
  client.on('data', (d: Buffer) => {
    summary.bytesUp += d.length;
    look(d);
  });
  origin.on('data', (d: Buffer) => (summary.bytesDown += d.length));
  if (options.rest.length) {
    summary.bytesUp += options.rest.length;
    look(options.rest);
    origin.write(options.rest);
  }
  client.pipe(origin);
  origin.pipe(client);
  client.resume();
}
