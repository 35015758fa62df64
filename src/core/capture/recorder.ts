/**
 * The live recorder (`--record FILE`): listens to a Tracer and writes every connection's raw bytes
 * per direction, with their times, to a session file as they happen (nothing is held back in
 * memory but one frame header per direction). Only the facts go in: who connected to whom, TLS,
 * the bytes (each frame's payload cut to the cap, the rest counted as elided) and the notes and
 * errors of the live run that no parser can derive (backpressure, timeouts, socket errors).
 * Frames, messages and violations are derived again from the bytes when the file is opened.
 *
 * Cost: nothing unless recording (it is a trace listener); while recording, one base64 encoding
 * per chunk and a buffered synchronous write per megabyte.
 */

import type { TraceEvent, Tracer } from '../trace.ts';
import { FrameCapper } from './frame-capper.ts';
import { endpointOf, type OurRole, type ProxyLeg, type RecordedEndpoint, type StreamDirection } from './recording.ts';
import { DEFAULT_RECORD_CAP, SessionFileWriter } from './session-file.ts';

export interface RecorderOptions {
  /** Per frame, payload bytes kept (default 16 MiB). */
  cap?: number;
  /** e.g. "wsinspect serve". */
  createdBy: string;
  /** Proxy legs: which leg a connection id is (the proxy tells). */
  proxyLegOf?: (connectionId: string) => ProxyLeg | undefined;
}

interface LiveConnection {
  ourRole: OurRole;
  cappers: Record<StreamDirection, FrameCapper>;
  ended: boolean;
}

/** "127.0.0.1:8080", "::1:8080" or "[::1]:8080" (how Connection and sockets print them). */
export function parseAddress(text: string): RecordedEndpoint {
  const bracket = /^\[(.*)\]:(\d+)$/.exec(text);
  if (bracket) return endpointOf(bracket[1], Number(bracket[2]));
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  return endpointOf(at > 0 ? text.slice(0, at) : text, Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0);
}

export class SessionRecorder {
  private readonly writer: SessionFileWriter;
  private readonly cap: number;
  private readonly live = new Map<string, LiveConnection>();
  private readonly unsubscribes: Array<() => void> = [];

  constructor(path: string, private readonly options: RecorderOptions) {
    this.cap = options.cap ?? DEFAULT_RECORD_CAP;
    this.writer = new SessionFileWriter(path, { createdBy: options.createdBy, recordCap: this.cap });
  }

  /** Records everything this tracer reports (several tracers may feed one recorder: a proxy's two sides). */
  attach(tracer: Tracer): this {
    this.unsubscribes.push(tracer.subscribe((event) => this.onEvent(event)));
    return this;
  }

  private onEvent(event: TraceEvent): void {
    try {
      this.handle(event);
    } catch {
      // Never let a recording problem reach a socket callback; the file says what it has.
    }
  }

  private handle(event: TraceEvent): void {
    const id = event.connectionId;
    if (event.type === 'connection-opened') {
      const ours = parseAddress(event.local), theirs = parseAddress(event.remote);
      const [client, server] = event.role === 'server' ? [theirs, ours] : [ours, theirs];
      const proxyLeg = this.options.proxyLegOf?.(id);
      this.live.set(id, { ourRole: event.role, cappers: { c2s: new FrameCapper(this.cap), s2c: new FrameCapper(this.cap) }, ended: false });
      this.writer.connection({ id, ourRole: event.role, source: 'live', client, server, startTime: event.time, ...(event.url ? { url: event.url } : {}), ...(proxyLeg ? { proxyLeg } : {}) });
      return;
    }
    const conn = this.live.get(id);
    if (!conn || conn.ended) return;
    switch (event.type) {
      case 'tls':
        this.writer.tls(id, event.tls);
        return;
      case 'bytes': {
        const dir: StreamDirection = (event.direction === 'out') === (conn.ourRole === 'client') ? 'c2s' : 's2c';
        for (const piece of conn.cappers[dir].push(event.bytes)) {
          if (piece.bytes.length > 0 || piece.elided > 0) this.writer.data(id, { direction: dir, time: event.time, bytes: piece.bytes, ...(piece.elided ? { elided: piece.elided } : {}) });
        }
        return;
      }
      case 'handshake':
        // Refused: what follows the heads is an HTTP body, not frames; nothing of it is cut.
        if (!event.ok) for (const capper of Object.values(conn.cappers)) capper.keepWhole();
        return;
      case 'note':
        this.writer.note(id, event.time, event.text);
        return;
      case 'error':
        this.writer.note(id, event.time, `Live error: ${event.message}`);
        return;
      case 'connection-closed':
        this.writer.note(id, event.time, `Live: the connection closed (${event.code}${event.reason ? ` "${event.reason}"` : ''}): ${event.detail}.`);
        this.writer.end(id, event.time);
        conn.ended = true;
        this.live.delete(id);
        return;
      default:
        return;
    }
  }

  /** Stops listening and closes the file (connections still open end there, without an end record). */
  close(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    this.writer.close();
  }
}
