/**
 * A recorded session, in memory: for each TCP connection, who was who, and the raw bytes each
 * direction carried, as timestamped chunks (for wss://, the plaintext inside TLS). Nothing else
 * is stored as fact: frames, messages, handshake checks and violations are derived again by
 * replaying the bytes through our own parser (replayConnection, in ./replay.ts), so an opened
 * recording is judged exactly as a live connection is, and cannot claim what the bytes do not say.
 *
 * Sources: the live recorder (./recorder.ts, `--record`), session files (./session-file.ts),
 * pcap/pcapng captures (./pcap/, TCP reassembly) and HAR files (./import-har.ts, message level
 * only: those connections carry `reconstructed` and their frames were rebuilt, not captured).
 *
 * ---- Building a Recording from two reassembled byte streams (pcap import) ----
 *
 *   const conn = createConnection({
 *     id: 'c1', ourRole: 'observed', source: 'pcap',
 *     client: { address: '10.0.0.1', port: 51514, family: 'IPv4' },   // the side that sent SYN
 *     server: { address: '10.0.0.2', port: 80, family: 'IPv4' },
 *     startTime: firstPacketMs,                                         // ms since the epoch
 *   });
 *   appendChunk(conn, 'c2s', timeMs, bytes);   // every in-order payload, both directions interleaved
 *   appendChunk(conn, 's2c', timeMs, bytes);   //   in capture order (kept as given, not copied)
 *   addNote(conn, timeMs, 'Capture starts mid-stream: resynchronised at the next frame boundary.');
 *   endConnection(conn, lastPacketMs);         // FIN/RST seen, or the capture ended
 *   const recording = createRecording([conn], 'pcap');
 *   for (const event of replayConnection(conn)) print(event);        // TraceEvents, as live
 *
 * Rules: chunks are in the order they crossed the wire (array order is replay order; times
 * should not go backwards); `bytes` of one chunk belong to one direction; the first bytes of
 * c2s must be the HTTP request and of s2c the response, frames following them. A stretch of a
 * stream you do not have cannot be fed as bytes: start each direction at a boundary you know
 * (an HTTP head or a frame header) and say what happened with addNote. `elided` is only for
 * bytes left out of one frame's payload by a size cap (the recorder's --record-cap), never for
 * capture gaps: the replay keeps the parser in step by feeding stand-in bytes for them and marks
 * that frame as cut. A capture gap is markGap(conn, dir, time, lostBytes) followed by bytes that
 * start at a frame boundary: the replay reads on from there with a fresh receiver.
 */

import type { TlsInfo } from '../tls-types.ts';

export const RECORDING_FORMAT_VERSION = 1;

/**
 * What we were on this connection: its server, its client, or neither (a capture of two other
 * peers, or a HAR file: "observed", read from the client's point of view: out = client to server).
 */
export type OurRole = 'server' | 'client' | 'observed';

/** Which way bytes went: client to server (the side that opened TCP) or back. */
export type StreamDirection = 'c2s' | 's2c';

export interface RecordedEndpoint {
  /** IP address as text ("127.0.0.1", "::1"); for a HAR import, whatever the file said (may be ""). */
  address: string;
  /** TCP port, 0..65535 (0: unknown). */
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface RecordedChunk {
  direction: StreamDirection;
  /** When the bytes were read or written: milliseconds since the epoch, sub-millisecond allowed. */
  time: number;
  /** The bytes as they crossed TCP (plaintext of TLS). */
  bytes: Uint8Array;
  /**
   * This many bytes that followed `bytes` on the wire were left out (a frame's payload past the
   * size cap). They all belong to the payload of the frame `bytes` ends inside.
   */
  elided?: number;
  /**
   * This many bytes of this direction before `bytes` are not in the recording (a capture lost them,
   * and the reader skipped on to the next frame boundary): `bytes` start at a frame boundary, and
   * the replay reads them with a fresh receiver (./gap-resume.ts). Added with markGap.
   */
  lost?: number;
}

/** A remark of the recorder or importer, shown in the trace at its time ('note' events). */
export interface RecordedNote {
  time: number;
  text: string;
}

/** One leg of a proxy: the connection to the client (we are its server) or to the upstream server. */
export interface ProxyLeg {
  leg: 'client-facing' | 'server-facing';
  /** The id of the other leg of the same proxied connection, when known. */
  pairedWith?: string;
}

export interface RecordedConnection {
  id: string;
  ourRole: OurRole;
  /** Set when this connection is one leg of a proxy (ourRole then says which end we were on it). */
  proxyLeg?: ProxyLeg;
  /** Where the recording came from. */
  source: 'live' | 'pcap' | 'har' | 'file';
  client: RecordedEndpoint;
  server: RecordedEndpoint;
  /** The ws:// or wss:// URL, when known. */
  url?: string;
  /** wss://: the TLS handshake's outcome as traced live; the chunks are then the plaintext. */
  tls?: TlsInfo;
  /** When TCP opened (ms since the epoch). */
  startTime: number;
  /** When TCP closed, if it did before the recording ended. */
  endTime?: number;
  chunks: RecordedChunk[];
  notes: RecordedNote[];
  /**
   * HAR import: the file held messages, not bytes; every frame was rebuilt from them
   * ("reconstructed, not captured": masking keys are fresh, fragmentation and compression unknown).
   */
  reconstructed?: boolean;
}

export interface Recording {
  version: number;
  /** When the recording was made or imported (ms since the epoch). */
  createdAt: number;
  /** What made it, e.g. "wsinspect serve", "pcap import". */
  createdBy: string;
  connections: RecordedConnection[];
  /** The per-frame cap in force while recording (bytes), when one was. */
  recordCap?: number;
}

export interface ConnectionInit {
  id: string;
  ourRole: OurRole;
  source: RecordedConnection['source'];
  client: RecordedEndpoint;
  server: RecordedEndpoint;
  startTime: number;
  url?: string;
  tls?: TlsInfo;
  proxyLeg?: ProxyLeg;
  reconstructed?: boolean;
}

export function createConnection(init: ConnectionInit): RecordedConnection {
  return { ...init, chunks: [], notes: [] };
}

/** Adds bytes that crossed the wire (kept as given: do not reuse the buffer afterwards). */
export function appendChunk(conn: RecordedConnection, direction: StreamDirection, time: number, bytes: Uint8Array, elided = 0): void {
  if (bytes.length === 0 && elided <= 0) return;
  conn.chunks.push(elided > 0 ? { direction, time, bytes, elided } : { direction, time, bytes });
}

/** A capture gap in one direction: the bytes appended after it start at a frame boundary (see RecordedChunk.lost). */
export function markGap(conn: RecordedConnection, direction: StreamDirection, time: number, lost: number): void {
  conn.chunks.push({ direction, time, bytes: new Uint8Array(0), lost });
}

export function addNote(conn: RecordedConnection, time: number, text: string): void {
  conn.notes.push({ time, text });
}

export function endConnection(conn: RecordedConnection, time: number): void {
  conn.endTime = time;
}

export function createRecording(connections: RecordedConnection[], createdBy: string, recordCap?: number): Recording {
  return { version: RECORDING_FORMAT_VERSION, createdAt: Date.now(), createdBy, connections, ...(recordCap !== undefined ? { recordCap } : {}) };
}

/** "127.0.0.1:8080" or "[::1]:8080". */
export function formatEndpoint(e: RecordedEndpoint): string {
  return e.family === 'IPv6' ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Parses what net.Socket gives (address, port) into an endpoint; unknown parts become ""/0. */
export function endpointOf(address: string | undefined, port: number | undefined): RecordedEndpoint {
  const a = address ?? '';
  // IPv4-mapped IPv6 ("::ffff:127.0.0.1") is IPv4 on the wire as node reports it for a dual-stack socket.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return { address: mapped[1]!, port: port ?? 0, family: 'IPv4' };
  return { address: a, port: port ?? 0, family: a.includes(':') ? 'IPv6' : 'IPv4' };
}

/** In the trace's words: is a chunk of this direction 'in' or 'out' for the side we show? */
export function traceDirection(conn: Pick<RecordedConnection, 'ourRole'>, direction: StreamDirection): 'in' | 'out' {
  const we = conn.ourRole === 'server' ? 'server' : 'client';
  return (direction === 'c2s') === (we === 'client') ? 'out' : 'in';
}

export { replayConnection, replayRecording, type ReplayOptions } from './replay.ts';
