/**
 * Replays a recorded connection through our own parser and yields the TraceEvents the live app
 * shows: 'bytes' for every chunk, the two HTTP heads, the handshake judged from both sides, then
 * every frame and message, each direction read by a WebSocketProtocol in the role of its
 * receiver ('observe' violation policy, so one broken rule does not hide the rest of the session).
 *
 * Nothing is invented. The two receivers answer what they read (pongs, Close replies, a failing
 * Close): those answers never crossed the wire, so they are dropped with their state changes and
 * notes; the states and the closing summary here are derived from the frames both sides really
 * sent. The handshake is judged from the real request and response (RFC 6455 §4.2.1 for the
 * request, §4.1 for the response); the agreed permessage-deflate settings come from the response
 * and drive both receivers' inflaters (RFC 7692 §7.1).
 *
 * Elided bytes (a payload cut by the recording cap) are replaced, for the parser only, by stand-in
 * bytes so that framing stays in step; the frame they belong to is traced cut (truncated, raw and
 * payload only as recorded), violations found in the stand-in bytes are dropped, and a note says so.
 * A capture gap (a chunk with `lost`) is never stood in for: the direction's receiver is replaced
 * by a fresh one at the frame boundary that follows, as ./gap-resume.ts explains.
 */

import { utf8DecodeLenient, utf8Encode } from '../bytes.ts';
import { CloseCode, Opcode } from '../constants.ts';
import { HandshakeError } from '../errors.ts';
import type { Extension } from '../extensions/extension.ts';
import { clientDeflateNegotiator, PerMessageDeflate } from '../extensions/permessage-deflate.ts';
import { answerClientHandshake, checkServerResponse } from '../handshake.ts';
import { headerValue, HttpHeadParser, splitList, type HttpHead } from '../http.ts';
import { WebSocketProtocol } from '../protocol.ts';
import type { ConnectionState, Direction, TraceBody, TraceEvent, TracedFrame, TracedHead } from '../trace.ts';
import { formatEndpoint, traceDirection, type RecordedConnection, type Recording, type StreamDirection } from './recording.ts';
import { contextLostTrace, deflateSurvivesGap } from './gap-resume.ts';

export interface ReplayOptions {
  /** A message larger than this fails in the replay (default 1 GiB: the recording bounds memory already). */
  maxMessageSize?: number;
  /** The largest HTTP head read (default 64 KiB). */
  maxHeadSize?: number;
  /** Stand-in bytes fed for elided payload, at most this many per connection (default 256 MiB). */
  maxStandIn?: number;
  /** First sequence number (default 1). */
  startSeq?: number;
}

const ZEROS = new Uint8Array(64 * 1024);

/** A head as the trace carries it (the same fields the live protocol traces). */
function headOf(head: HttpHead): TracedHead {
  const startLine = head.kind === 'request' ? `${head.method} ${head.target} ${head.version}` : `${head.version} ${head.status} ${head.reason}`.trimEnd();
  return { kind: head.kind, startLine, headers: head.headers, raw: head.raw };
}

/** Every connection of a recording, one after the other, numbered in one sequence. */
export function* replayRecording(recording: Recording, options: ReplayOptions = {}): Generator<TraceEvent> {
  let seq = options.startSeq ?? 1;
  for (const conn of recording.connections) {
    for (const event of replayConnection(conn, { ...options, startSeq: seq })) {
      seq = event.seq + 1;
      yield event;
    }
  }
}

interface StreamState {
  readonly dir: StreamDirection;
  readonly traceDir: Direction;
  head: HttpHeadParser | null;
  /** Bytes after the head, waiting for the handshake to be judged (a number: a capture gap of that many bytes). */
  waiting: Array<Uint8Array | number>;
  receiver: WebSocketProtocol | null;
  /** No more parsing in this direction (unreadable head, refused handshake, stand-in limit). */
  dead: boolean;
  /** A frame of this direction has elided bytes and is not traced yet: how much of it was recorded. */
  cutPending: { keptRaw: number } | null;
  /** Local frame ids (the receiver's) → the connection's frame ids. */
  ids: Map<number, number>;
  /** Local ids of cut frames → payload bytes kept. */
  cutFrames: Map<number, number>;
  /** Local ids of frames with their payload length (for cutting messages). */
  payloadLengths: Map<number, number>;
  /** The Close this direction carried. */
  close: { code: number | null; reason: string } | null;
}

/** Replays one connection: TraceEvents in wire order, stamped with the recorded times. */
export function* replayConnection(conn: RecordedConnection, options: ReplayOptions = {}): Generator<TraceEvent> {
  const r = new Replay(conn, options);
  yield* r.run();
}

class Replay {
  private seq: number;
  private out: TraceEvent[] = [];
  private time: number;
  private frameCounter = 0;
  private state: ConnectionState = 'CONNECTING';
  private request: HttpHead | null = null;
  private response: HttpHead | null = null;
  private standIn = 0;
  private readonly streams: Record<StreamDirection, StreamState>;
  private readonly maxMessageSize: number;
  private readonly maxHeadSize: number;
  private readonly maxStandIn: number;

  constructor(private readonly conn: RecordedConnection, options: ReplayOptions) {
    this.seq = options.startSeq ?? 1;
    this.time = conn.startTime;
    this.maxMessageSize = options.maxMessageSize ?? 1024 * 1024 * 1024;
    this.maxHeadSize = options.maxHeadSize ?? 64 * 1024;
    this.maxStandIn = options.maxStandIn ?? 256 * 1024 * 1024;
    const stream = (dir: StreamDirection): StreamState => ({
      dir, traceDir: traceDirection(conn, dir),
      head: new HttpHeadParser({ kind: dir === 'c2s' ? 'request' : 'response', maxSize: this.maxHeadSize }),
      waiting: [], receiver: null, dead: false, cutPending: null, ids: new Map(), cutFrames: new Map(), payloadLengths: new Map(), close: null,
    });
    this.streams = { c2s: stream('c2s'), s2c: stream('s2c') };
  }

  private emit(body: TraceBody): void {
    const event = body as TraceEvent;
    event.seq = this.seq++;
    event.time = this.time;
    event.connectionId = this.conn.id;
    this.out.push(event);
  }

  private *flush(): Generator<TraceEvent> {
    const events = this.out;
    this.out = [];
    yield* events;
  }

  *run(): Generator<TraceEvent> {
    const conn = this.conn;
    const we = conn.ourRole === 'server' ? 'server' : 'client';
    const local = we === 'server' ? conn.server : conn.client;
    const remote = we === 'server' ? conn.client : conn.server;
    this.emit({ type: 'connection-opened', role: we, local: formatEndpoint(local), remote: formatEndpoint(remote), ...(conn.url ? { url: conn.url } : {}) });
    if (conn.reconstructed) {
      this.emit({ type: 'note', text: 'Reconstructed, not captured: this connection was rebuilt from the messages of a HAR file. Its frames, masking keys and handshake bytes were made up from them; fragmentation, compression and timing below a message are unknown.' });
    }
    if (conn.ourRole === 'observed') this.emit({ type: 'note', text: 'Observed connection (neither end was this inspector): shown from the client\'s side, → client to server, ← server to client; both sides are checked.' });
    if (conn.tls) this.emit({ type: 'tls', tls: conn.tls });
    yield* this.flush();
    const notes = [...conn.notes].sort((a, b) => a.time - b.time);
    let n = 0;
    for (const chunk of conn.chunks) {
      while (n < notes.length && notes[n]!.time <= chunk.time) this.note(notes[n++]!);
      this.time = chunk.time;
      const s = this.streams[chunk.direction];
      if (chunk.lost !== undefined) this.resume(s, chunk.lost);
      if (chunk.bytes.length > 0) {
        this.emit({ type: 'bytes', direction: s.traceDir, bytes: chunk.bytes });
        this.feed(s, chunk.bytes);
      }
      if (chunk.elided) this.elide(s, chunk.elided);
      yield* this.flush();
    }
    while (n < notes.length) this.note(notes[n++]!);
    this.finish();
    yield* this.flush();
  }

  private note(note: { time: number; text: string }): void {
    const saved = this.time;
    this.time = Math.max(this.time, note.time);
    this.emit({ type: 'note', text: note.text });
    this.time = Math.max(saved, this.time);
  }

  // ---------------------------------------------------------------- bytes

  private feed(s: StreamState, bytes: Uint8Array): void {
    if (s.dead) return;
    if (s.head) {
      let result;
      try {
        result = s.head.feed(bytes);
      } catch (error) {
        if (!(error instanceof HandshakeError)) throw error;
        s.head = null;
        s.dead = true;
        this.emit({ type: 'error', message: `The ${s.dir === 'c2s' ? 'request' : 'response'} head cannot be read: ${error.message} (${error.rfcSection})` });
        return;
      }
      if (!result.done) return;
      s.head = null;
      this.emit({ type: 'http-head', direction: s.traceDir, head: headOf(result.head) });
      if (s.dir === 'c2s') this.request = result.head;
      else this.response = result.head;
      if (result.rest.length > 0) s.waiting.push(result.rest);
      if (s.dir === 'c2s') this.judgeRequest(result.head);
      if (this.request && this.response && this.state === 'CONNECTING') this.judgeResponse();
      return;
    }
    if (s.receiver) this.feedReceiver(s, bytes);
    else s.waiting.push(bytes);
  }

  private feedReceiver(s: StreamState, bytes: Uint8Array): void {
    s.receiver!.receiveData(bytes);
    s.receiver!.takeOutput(); // its answers never crossed the wire
    s.receiver!.events();
  }

  /** Stand-in bytes for `count` elided payload bytes, so the parser stays in step. */
  private elide(s: StreamState, count: number): void {
    if (s.dead) return;
    const receiver = s.receiver;
    if (!receiver) {
      s.dead = true;
      this.emit({ type: 'note', text: `${count} bytes were left out of the recording before the handshake finished: the rest of this direction cannot be read.` });
      return;
    }
    if (this.standIn + count > this.maxStandIn) {
      s.dead = true;
      this.emit({ type: 'note', text: `${count} bytes left out of the recording here are past the replay's limit of ${this.maxStandIn} stand-in bytes: the rest of this direction is not read.` });
      return;
    }
    this.standIn += count;
    s.cutPending ??= { keptRaw: receiver.partialFrameBytes().length };
    this.emit({ type: 'note', text: `${count} bytes of this frame's payload were not recorded (the recording's size cap): the frame is shown cut, and rules that need those bytes are not checked.` });
    if (receiver.inflatedSoFar() !== null) {
      this.emit({ type: 'note', text: 'The cut frame is compressed (permessage-deflate): its missing bytes cannot be inflated, and the parser stops reading this direction where inflating fails.' });
    }
    for (let left = count; left > 0 && !s.dead;) {
      const n = Math.min(left, ZEROS.length);
      this.feedReceiver(s, ZEROS.subarray(0, n));
      left -= n;
    }
  }

  // ---------------------------------------------------------------- handshake

  /** RFC 6455 §4.2.1: the request as the server must check it (its answer is the recorded response, not ours). */
  private judgeRequest(request: HttpHead): void {
    const answer = answerClientHandshake(request, {});
    // Subprotocol and extension choices are the server's: the recorded response says what they were,
    // and the client-side judgement of it checks them (an answer of ours would be made up).
    const checks = answer.checks.filter((c) => c.rule !== 'subprotocol' && c.rule !== 'extensions');
    this.emit({
      type: 'handshake', side: 'server', ok: !answer.error, status: this.response?.status ?? answer.status, checks,
      accept: answer.accept ?? null, subprotocol: null,
      ...(answer.error ? { error: { code: answer.error.code, status: answer.error.status, message: answer.error.message, rfcSection: answer.error.rfcSection } } : {}),
    });
  }

  /** RFC 6455 §4.1: the recorded response checked against the recorded request; on 101 the frames begin. */
  private judgeResponse(): void {
    const request = this.request!, response = this.response!;
    const key = headerValue(request, 'Sec-WebSocket-Key') ?? '';
    const offered = request.headers.filter((h) => h.name.toLowerCase() === 'sec-websocket-extensions').map((h) => h.value).join(', ') || null;
    const result = checkServerResponse(response, key, splitList(headerValue(request, 'Sec-WebSocket-Protocol')), { offered, negotiators: [clientDeflateNegotiator({})] });
    const acceptOnWire = headerValue(response, 'Sec-WebSocket-Accept');
    this.emit({
      type: 'handshake', side: 'client', ok: !result.error, status: response.status, checks: result.checks, accept: result.accept,
      subprotocol: result.subprotocol,
      ...(result.extensions ? { extensions: result.extensions.trace } : {}),
      ...(acceptOnWire !== undefined ? { acceptOnWire } : {}),
      ...(result.error ? { error: { code: result.error.code, status: result.error.status, message: result.error.message, rfcSection: result.error.rfcSection } } : {}),
    });
    if (response.status !== 101) {
      this.setState('CLOSED', `the server answered ${response.status}: no WebSocket connection`);
      this.streams.c2s.dead = this.streams.s2c.dead = true;
      return;
    }
    if (result.error) this.emit({ type: 'note', text: 'The server answered 101 although the handshake fails a check; both sides went on, so the frames are read all the same.' });
    const agreed = result.extensions?.ok ? result.extensions.trace.agreed : null;
    const extension = (role: 'server' | 'client'): Extension | undefined => {
      if (!agreed?.deflate) return undefined;
      return new PerMessageDeflate({ role, settings: agreed.deflate, options: {}, agreed });
    };
    this.setState('OPEN', 'the server accepted the handshake (101)');
    this.extensionFor = extension;
    for (const s of [this.streams.c2s, this.streams.s2c]) {
      s.receiver = this.newReceiver(s, extension(s.dir === 'c2s' ? 'server' : 'client'), (body) => this.fromReceiver(s, body));
      const waiting = s.waiting;
      s.waiting = [];
      for (const item of waiting) {
        if (typeof item === 'number') this.resume(s, item);
        else this.feedReceiver(s, item);
      }
    }
  }

  /** The agreed extension for a receiver in this role (set once the handshake is judged). */
  private extensionFor: (role: 'server' | 'client') => Extension | undefined = () => undefined;

  private newReceiver(s: StreamState, ext: Extension | undefined, trace: (body: TraceBody) => void): WebSocketProtocol {
    // The receiver of client bytes is a server, and of server bytes a client.
    return new WebSocketProtocol({
      role: s.dir === 'c2s' ? 'server' : 'client', policy: 'observe', startOpen: true, ...(ext ? { startOpenExtension: ext } : {}),
      maxMessageSize: this.maxMessageSize, maxFragments: Number.MAX_SAFE_INTEGER, deflate: false, trace,
    });
  }

  /**
   * A capture gap of `lost` bytes: the frame and message in progress cannot be finished; a fresh
   * receiver reads on from the frame boundary that follows (gap-resume.ts: permessage-deflate
   * goes on only when the sender starts every message from an empty window).
   */
  private resume(s: StreamState, lost: number): void {
    if (s.dead) return;
    const what = s.dir === 'c2s' ? 'client → server' : 'server → client';
    if (!s.receiver) {
      if (!s.head && this.state === 'CONNECTING') {
        s.waiting.push(lost); // the head was read; the frames wait for the other side's head
        return;
      }
      s.head = null;
      s.dead = true;
      this.emit({ type: 'note', text: `${lost} bytes of the ${what} stream are not in the capture, before its HTTP head was read whole: this direction cannot be read.` });
      return;
    }
    const old = s.receiver;
    const partial = old.partialFrameBytes().length;
    const message = old.messageInProgress();
    const deflate = old.agreedExtension?.deflate;
    old.extensionInForce?.close();
    const survives = deflate ? deflateSurvivesGap(deflate, s.dir) : false;
    const sender = s.dir === 'c2s' ? 'client' : 'server';
    const forward = (body: TraceBody) => this.fromReceiver(s, body);
    const trace = deflate && !survives ? contextLostTrace(forward, sender, (text) => this.emit({ type: 'note', text })) : forward;
    s.receiver = this.newReceiver(s, survives ? this.extensionFor(s.dir === 'c2s' ? 'server' : 'client') : undefined, trace);
    s.ids = new Map();
    s.cutFrames = new Map();
    s.payloadLengths = new Map();
    s.cutPending = null;
    const lostFrame = partial > 0 ? ` The frame being read when they went missing (${partial} bytes of it captured) is lost.` : '';
    const lostMessage = message && message.frames > 0 ? ` So is the fragmented message it belonged to (${message.frames} earlier frame${message.frames === 1 ? '' : 's'} of it read).` : '';
    const compression = !deflate ? '' : survives
      ? ` permessage-deflate goes on: the ${sender} starts every message from an empty window (${sender}_no_context_takeover, RFC 7692 ${s.dir === 'c2s' ? '§7.1.1.2' : '§7.1.1.1'}), so each message inflates on its own.`
      : ` The ${sender}'s permessage-deflate context is broken from here on (context takeover: RFC 7692 §7.2.2).`;
    this.emit({ type: 'note', text: `Gap: ${lost} bytes of the ${what} stream are not read (lost by the capture, or skipped to the next frame boundary).${lostFrame}${lostMessage} A fresh reader takes the ${what} frames from that boundary on.${compression}` });
  }

  // ---------------------------------------------------------------- receivers' trace

  private globalId(s: StreamState, local: number): number {
    let id = s.ids.get(local);
    if (id === undefined) {
      id = ++this.frameCounter;
      s.ids.set(local, id);
    }
    return id;
  }

  private fromReceiver(s: StreamState, body: TraceBody): void {
    switch (body.type) {
      case 'frame': {
        if (body.direction !== 'in') return; // an answer of the receiver's own
        const local = body.frame.frameId;
        // The receiver's traced frame is a fresh literal it keeps no hold of: renamed in place
        // rather than spread into a copy (a spread per frame allocates and takes V8's slow path).
        const frame: TracedFrame = body.frame;
        frame.frameId = this.globalId(s, local);
        s.payloadLengths.set(local, frame.payload.length);
        if (s.cutPending) {
          this.cut(frame, s.cutPending.keptRaw);
          s.cutFrames.set(local, frame.payload.length);
          s.cutPending = null;
        }
        if (frame.opcode === Opcode.Close && frame.close && !s.close) {
          s.close = frame.close;
          if (this.state === 'OPEN') this.setState('CLOSING', `${s.dir === 'c2s' ? 'the client' : 'the server'} sent Close${frame.close.code !== null ? ` ${frame.close.code}` : ''}`);
        }
        this.emit({ type: 'frame', direction: s.traceDir, frame });
        return;
      }
      case 'message': {
        if (body.direction !== 'in') return;
        const localIds = body.frameIds;
        const message = body; // a fresh literal as well (messageBody)
        message.direction = s.traceDir;
        message.frameIds = localIds.map((id) => this.globalId(s, id));
        const keep = this.keptMessageBytes(s, localIds);
        if (keep !== null) {
          message.truncated = true;
          if (message.text !== undefined) message.text = utf8DecodeLenient(utf8Encode(message.text).subarray(0, keep));
          if (message.data) message.data = message.data.subarray(0, keep);
          delete message.compression;
        }
        this.emit(message);
        return;
      }
      case 'violation':
        // A violation found in stand-in bytes says nothing about the wire.
        if (s.cutPending) return;
        this.emit({ ...body, direction: s.traceDir, ...(body.frameId !== undefined ? { frameId: this.globalId(s, body.frameId) } : {}) });
        return;
      default:
        // bytes (traced per chunk above), state, note, connection-closed: the receiver's own story.
        return;
    }
  }

  /** A frame with elided bytes: raw and payload as recorded, the real lengths beside them. */
  private cut(frame: TracedFrame, keptRaw: number): void {
    const rawLength = frame.raw.length;
    const payloadLength = frame.payload.length;
    const keptPayload = Math.max(0, keptRaw - frame.headerLength);
    frame.truncated = { rawLength, payloadLength };
    frame.raw = frame.raw.subarray(0, Math.min(keptRaw, rawLength));
    frame.payload = frame.payload.subarray(0, Math.min(keptPayload, payloadLength));
    delete frame.violation;
    delete frame.deflate;
  }

  /** For a message with a cut frame: how many of its first bytes were recorded (null: all). */
  private keptMessageBytes(s: StreamState, localIds: readonly number[]): number | null {
    let kept = 0;
    for (const id of localIds) {
      const cut = s.cutFrames.get(id);
      if (cut !== undefined) return kept + cut;
      kept += s.payloadLengths.get(id) ?? 0;
    }
    return null;
  }

  // ---------------------------------------------------------------- states

  private setState(to: ConnectionState, reason: string): void {
    if (this.state === to) return;
    const from = this.state;
    this.state = to;
    this.emit({ type: 'state', from, to, reason });
  }

  private finish(): void {
    const conn = this.conn;
    if (conn.endTime !== undefined) this.time = Math.max(this.time, conn.endTime);
    for (const s of [this.streams.c2s, this.streams.s2c]) s.receiver?.receiveEof();
    const inbound = this.streams[this.conn.ourRole === 'server' ? 'c2s' : 's2c'];
    const outbound = inbound === this.streams.c2s ? this.streams.s2c : this.streams.c2s;
    const close = inbound.close ?? outbound.close;
    const wasClean = inbound.close !== null && outbound.close !== null;
    const ended = conn.endTime !== undefined ? 'then TCP closed' : 'and the recording ends with TCP still open';
    const refused = this.state === 'CLOSED' && this.response ? `handshake refused: the server answered ${this.response.status} ${this.response.reason}`.trimEnd() : null;
    const detail = refused ?? (this.state === 'CONNECTING' ? `no complete handshake was recorded, ${ended}`
      : wasClean ? `both sides sent Close, ${ended}`
        : close ? `only ${close === inbound.close ? 'the peer' : 'this side'} sent Close, ${ended}` : `no Close frame was sent, ${ended}`);
    this.setState('CLOSED', detail);
    this.emit({
      type: 'connection-closed', wasClean,
      code: close ? close.code ?? CloseCode.NoStatusReceived : CloseCode.AbnormalClosure, reason: close?.reason ?? '', detail,
    });
  }
}
