/**
 * From the WebSocket conversations found in a capture to the app's recorded-session model
 * (../recording.ts): one RecordedConnection per conversation, observed (neither end was us),
 * its two byte streams as timestamped chunks in capture order, the reader's remarks as notes.
 *
 * Where the capture lost bytes of a direction (a gap), the discovery resynchronises at the next
 * plausible frame boundary: the gap is marked in the chunks (markGap: the bytes lost and skipped),
 * said in a note, and the replay reads on from there with a fresh receiver; no stand-in bytes are
 * ever fed. A conversation whose handshake is not in the capture starts each direction
 * at the frame boundary found by resynchronisation and is replayed by ../midstream-replay.ts.
 */

import { headerValue } from '../../http.ts';
import { addNote, appendChunk, markGap, createConnection, createRecording, endConnection, type RecordedConnection, type RecordedEndpoint, type Recording, type StreamDirection } from '../recording.ts';
import { replayMidstream } from '../midstream-replay.ts';
import { replayConnection } from '../replay.ts';
import type { TcpEndpoint } from '../tcp-reassembly.ts';
import type { TraceEvent } from '../../trace.ts';
import type { WebSocketCaptureEvent, WebSocketConversationInfo, WireDirection } from '../websocket-discovery.ts';

export interface CapturedConnection {
  connection: RecordedConnection;
  info: WebSocketConversationInfo;
  /** Handshake missing: the directions whose resynchronised frames were compressed. */
  compressed: Partial<Record<StreamDirection, boolean>>;
}

interface Building extends CapturedConnection {
  /** Directions cut by a memory limit: bytes left out since. */
  stopped: Partial<Record<StreamDirection, number>>;
  /** Directions after a gap, until their next frame boundary: the bytes lost so far, and why. */
  afterGap: Partial<Record<StreamDirection, { lost: number; reason: string }>>;
  lastTime: number;
  /** Bytes held. */
  bytes: number;
  /** Some chunks came after later ones (mid-stream resynchronisation): sorted by time at the end. */
  unordered?: boolean;
}

const toStream: Record<WireDirection, StreamDirection> = { 'client-to-server': 'c2s', 'server-to-client': 's2c' };
const words: Record<StreamDirection, string> = { c2s: 'client → server', s2c: 'server → client' };

function endpoint(e: TcpEndpoint, ipVersion: 4 | 6): RecordedEndpoint {
  return { address: e.address, port: e.port, family: ipVersion === 6 ? 'IPv6' : 'IPv4' };
}

/** ws://host/path from the request (a capture of wss:// is encrypted and never gets here). */
function urlOf(info: WebSocketConversationInfo): string | undefined {
  const request = info.request;
  if (!request) return undefined;
  const host = headerValue(request, 'host') ?? (info.ipVersion === 6 ? `[${info.server.address}]:${info.server.port}` : `${info.server.address}:${info.server.port}`);
  return /^[\x21-\x7e]+$/.test(host) && request.target.startsWith('/') ? `ws://${host}${request.target}` : undefined;
}

/**
 * Collects conversations as the discovery events come. onConnection is called when one ends (TCP
 * closed or the capture ended), so a caller can show and drop it: memory then holds only the
 * conversations still open.
 */
/** What the conversations being built may hold: a capture's conversation is kept whole until it ends. */
export interface RecordingBuilderLimits {
  /** Bytes one conversation may hold (both directions). */
  maxConversationBytes: number;
  /** Bytes all conversations still open may hold together. */
  maxTotalBytes: number;
}

export const defaultRecordingBuilderLimits: RecordingBuilderLimits = { maxConversationBytes: 512 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 };

export class CaptureRecordingBuilder {
  private readonly open = new Map<number, Building>();
  private held = 0;

  constructor(private readonly onConnection: (captured: CapturedConnection) => void, private readonly limits: RecordingBuilderLimits = defaultRecordingBuilderLimits) {}

  handle(event: WebSocketCaptureEvent): void {
    if (event.type === 'open') {
      const info = event.conversation;
      const time = info.time ?? 0;
      const connection = createConnection({
        id: `capture-${info.id}`, ourRole: 'observed', source: 'pcap',
        client: endpoint(info.client, info.ipVersion), server: endpoint(info.server, info.ipVersion), startTime: time,
        ...(urlOf(info) ? { url: urlOf(info)! } : {}),
      });
      this.open.set(info.id, { connection, info, compressed: {}, stopped: {}, afterGap: {}, lastTime: time, bytes: 0 });
      return;
    }
    const b = this.open.get(event.id);
    if (!b) return;
    // Packets without a timestamp (pcapng simple packet blocks) take the last time seen. Bytes held back
    // while a direction resynchronised come late but keep their own time, and are put in place at the end.
    const time = event.time ?? b.lastTime;
    if (event.type === 'bytes' && time < b.lastTime) b.unordered = true;
    b.lastTime = Math.max(b.lastTime, time);
    const conn = b.connection;
    switch (event.type) {
      case 'bytes': {
        const dir = toStream[event.direction];
        const n = event.bytes.length;
        if (b.stopped[dir] === undefined && (b.bytes + n > this.limits.maxConversationBytes || this.held + n > this.limits.maxTotalBytes)) {
          const which = b.bytes + n > this.limits.maxConversationBytes ? `the ${this.limits.maxConversationBytes} bytes one conversation may hold` : `the ${this.limits.maxTotalBytes} bytes the conversations still open may hold together`;
          b.stopped[dir] = 0;
          addNote(conn, time, `The ${words[dir]} stream is not read past this point: it would exceed ${which} while the capture is read (a conversation is kept whole until it ends).`);
        }
        if (b.stopped[dir] !== undefined) b.stopped[dir] += n;
        else {
          appendChunk(conn, dir, time, event.bytes.slice()); // a copy: the event's bytes are a view into the file's buffer
          b.bytes += n;
          this.held += n;
        }
        return;
      }
      case 'gap': {
        const dir = toStream[event.direction];
        if (b.stopped[dir] !== undefined) return;
        // Said where the direction resumes (the note then comes just before the bytes after the gap).
        const gap = (b.afterGap[dir] ??= { lost: 0, reason: event.reason });
        gap.lost += event.length;
        return;
      }
      case 'resync': {
        const dir = toStream[event.direction];
        const gap = b.afterGap[dir];
        if (gap !== undefined && b.stopped[dir] === undefined) {
          // After a gap: the bytes that follow start at a frame boundary (the replay starts a fresh receiver there).
          delete b.afterGap[dir];
          if (event.compressed && b.info.handshake === 'missing') b.compressed[dir] = true;
          if (time < b.lastTime) b.unordered = true;
          const how = event.exact ? 'known exactly: the frame the gap fell in had given its length (RFC 6455 §5.2)' : 'found by the heuristic: a well-formed header with this direction\'s mask bit, confirmed by the frame after it';
          addNote(conn, time, `${gap.lost} bytes of the ${words[dir]} stream are not in the capture (${gap.reason}). The stream resumes at the next frame boundary, ${event.skipped} bytes after the gap (${how}): ${gap.lost + event.skipped} bytes not read in all.`);
          markGap(conn, dir, time, gap.lost + event.skipped);
        } else if (b.info.handshake === 'missing' && b.stopped[dir] === undefined) {
          if (event.compressed) b.compressed[dir] = true;
          if (event.skipped > 0) addNote(conn, time, `The ${words[dir]} stream is read from its first plausible frame boundary: the ${event.skipped} bytes before it were skipped.`);
        }
        return;
      }
      case 'note':
        addNote(conn, time, event.text);
        return;
      case 'end': {
        for (const dir of ['c2s', 's2c'] as const) {
          const gap = b.afterGap[dir];
          if (gap) addNote(conn, time, `${gap.lost} bytes of the ${words[dir]} stream are not in the capture (${gap.reason}), and no frame boundary was found after them: that direction is not read past the gap.`);
          const left = b.stopped[dir];
          if (left) addNote(conn, time, `${left} bytes of the ${words[dir]} stream were left out from there on.`);
        }
        // Mid-stream, the client is known only once a direction's mask bit has shown it.
        conn.client = endpoint(b.info.client, b.info.ipVersion);
        conn.server = endpoint(b.info.server, b.info.ipVersion);
        // A stable sort: each direction's chunks keep their order, the two directions interleave as captured.
        if (b.unordered) conn.chunks.sort((x, y) => x.time - y.time);
        endConnection(conn, b.lastTime);
        this.open.delete(event.id);
        this.held -= b.bytes;
        this.onConnection({ connection: conn, info: b.info, compressed: b.compressed });
        return;
      }
    }
  }
}

/** Collects every conversation into one Recording (for files that fit in memory: the app, tests). */
export function recordingCollector(): { handle: (event: WebSocketCaptureEvent) => void; recording: () => Recording; captured: CapturedConnection[] } {
  const captured: CapturedConnection[] = [];
  const builder = new CaptureRecordingBuilder((c) => captured.push(c));
  return {
    handle: (event) => builder.handle(event),
    captured,
    recording: () => createRecording(captured.map((c) => c.connection), 'pcap import'),
  };
}

/** A captured connection's TraceEvents: the replay of its bytes through our parser, as live. */
export function* replayCaptured(captured: CapturedConnection, options: { startSeq?: number; maxMessageSize?: number } = {}): Generator<TraceEvent> {
  if (captured.info.handshake === 'missing') yield* replayMidstream(captured.connection, { ...options, compressed: captured.compressed });
  else yield* replayConnection(captured.connection, options);
}
