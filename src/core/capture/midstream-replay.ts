/**
 * Replays a captured connection whose opening handshake is not in the capture: each direction's
 * bytes, from the frame boundary the capture reader resynchronised at, go to a WebSocketProtocol
 * started OPEN in the role of its receiver (a server reads the client's frames, a client the
 * server's), 'observe' policy, so that framing rules (masking §5.1, reserved bits and opcodes
 * §5.2, control frames §5.5, fragmentation §5.4, UTF-8 §8.1, Close §5.5.1) are judged as live.
 *
 * What cannot be judged without the handshake is not blamed on the peers: no subprotocol or
 * extension is known, so on a direction whose frames carry RSV1 (permessage-deflate, most likely:
 * its agreement and sliding window are not in the capture) the reserved-bit and UTF-8 violations
 * of compressed frames are dropped and their messages shown as the compressed bytes they are.
 * The receivers' own answers (pongs, Close replies) never crossed the wire and are dropped.
 */

import { concatBytes } from '../bytes.ts';
import { Opcode } from '../constants.ts';
import { WebSocketProtocol } from '../protocol.ts';
import type { Direction, TraceBody, TraceEvent } from '../trace.ts';
import { formatEndpoint, traceDirection, type RecordedConnection, type StreamDirection } from './recording.ts';

export interface MidstreamReplayOptions {
  /** Directions whose frames were found compressed (RSV1) when resynchronising. */
  compressed?: Partial<Record<StreamDirection, boolean>>;
  maxMessageSize?: number;
  startSeq?: number;
}

interface Receiver {
  dir: StreamDirection;
  traceDir: Direction;
  protocol: WebSocketProtocol;
  ids: Map<number, number>;
  /** Local ids of the frames of compressed messages (RSV1 on the first, §6 of RFC 7692), with their payloads until the message is traced. */
  compressedFrames: Set<number>;
  compressedPayloads: Map<number, Uint8Array>;
  /** A compressed message is being read (its continuations belong to it). */
  inCompressedMessage: boolean;
  /** Local ids of frames traced so far. */
  traced: Set<number>;
  /** Violations read before their frame was traced: decided when it is. */
  pendingViolations: Array<Extract<TraceBody, { type: 'violation' }>>;
  compressedNoted: boolean;
}

/** What a compressed payload read without its deflate context trips over: not the peers' fault. */
const CONTEXT_VIOLATIONS = new Set(['WS_ERR_RESERVED_BITS', 'WS_ERR_INVALID_UTF8']);

export function* replayMidstream(conn: RecordedConnection, options: MidstreamReplayOptions = {}): Generator<TraceEvent> {
  let seq = options.startSeq ?? 1;
  let time = conn.startTime;
  let frameCounter = 0;
  let out: TraceEvent[] = [];
  const emit = (body: TraceBody): void => {
    const event = body as TraceEvent;
    event.seq = seq++;
    event.time = time;
    event.connectionId = conn.id;
    out.push(event);
  };
  const compressed = (dir: StreamDirection) => options.compressed?.[dir] === true;

  const receivers = {} as Record<StreamDirection, Receiver>;
  const fromReceiver = (r: Receiver, body: TraceBody): void => {
    if (body.type === 'frame' && body.direction === 'in') {
      const local = body.frame.frameId;
      const frame = { ...body.frame, frameId: globalId(r, local) };
      if (compressed(r.dir) && frame.opcode < 8) {
        if (frame.opcode !== 0) r.inCompressedMessage = frame.rsv1;
        if (r.inCompressedMessage) {
          r.compressedFrames.add(local);
          r.compressedPayloads.set(local, frame.payload);
        }
        if (frame.fin) r.inCompressedMessage = false;
      }
      const blameless = r.compressedFrames.has(local);
      if (blameless && frame.violation && CONTEXT_VIOLATIONS.has(frame.violation.code)) delete frame.violation;
      r.traced.add(local);
      emit({ type: 'frame', direction: r.traceDir, frame });
      const pending = r.pendingViolations.filter((v) => v.frameId === local);
      r.pendingViolations = r.pendingViolations.filter((v) => v.frameId !== local);
      for (const v of pending) if (!blameless) emitViolation(r, v);
    } else if (body.type === 'message' && body.direction === 'in') {
      const frameIds = body.frameIds.map((id) => globalId(r, id));
      if (body.frameIds.some((id) => r.compressedFrames.has(id))) {
        // Compressed bytes without their context: shown as the payloads that crossed the wire, never decoded as text.
        const { text: _text, ...rest } = body;
        const data = concatBytes(body.frameIds.map((id) => r.compressedPayloads.get(id) ?? new Uint8Array(0)));
        for (const id of body.frameIds) r.compressedPayloads.delete(id);
        emit({ ...rest, direction: r.traceDir, frameIds, data, size: data.length });
        if (!r.compressedNoted) {
          r.compressedNoted = true;
          emit({ type: 'note', text: `Compressed messages (RSV1) ${r.dir === 'c2s' ? 'from the client' : 'from the server'}: the permessage-deflate agreement and the sliding window of earlier messages (RFC 7692 §7.2.2) are not in the capture, so they are shown as the compressed bytes that crossed the wire, not inflated.` });
        }
      } else {
        emit({ ...body, direction: r.traceDir, frameIds });
      }
    } else if (body.type === 'violation') {
      const local = body.frameId;
      if (compressed(r.dir) && local !== undefined && CONTEXT_VIOLATIONS.has(body.violation.code)) {
        // Found while the frame was read, before it was traced: decided once it is (RSV1 or not).
        if (!r.traced.has(local)) r.pendingViolations.push(body);
        else if (!r.compressedFrames.has(local)) emitViolation(r, body);
        return;
      }
      emitViolation(r, body);
    }
    // bytes, state, notes, connection-closed: the receiver's own story, not the wire's.
  };
  const emitViolation = (r: Receiver, body: Extract<TraceBody, { type: 'violation' }>): void => {
    emit({ ...body, direction: r.traceDir, ...(body.frameId !== undefined ? { frameId: globalId(r, body.frameId) } : {}) });
  };
  const globalId = (r: Receiver, local: number): number => {
    let id = r.ids.get(local);
    if (id === undefined) r.ids.set(local, (id = ++frameCounter));
    return id;
  };
  const startReceiving = (r: Receiver): void => {
    r.protocol = new WebSocketProtocol({
      role: r.dir === 'c2s' ? 'server' : 'client', policy: 'observe', startOpen: true, deflate: false,
      maxMessageSize: options.maxMessageSize ?? 1024 * 1024 * 1024, maxFragments: Number.MAX_SAFE_INTEGER,
      trace: (body) => fromReceiver(r, body),
    });
    // Local frame ids start again with a new receiver (after a gap).
    r.ids = new Map();
    r.traced = new Set();
    r.inCompressedMessage = false;
  };
  for (const dir of ['c2s', 's2c'] as const) {
    const r = { dir, traceDir: traceDirection(conn, dir), compressedFrames: new Set(), compressedPayloads: new Map(), pendingViolations: [], compressedNoted: false } as unknown as Receiver;
    startReceiving(r);
    receivers[dir] = r;
  }

  emit({ type: 'connection-opened', role: 'client', local: formatEndpoint(conn.client), remote: formatEndpoint(conn.server) });
  emit({ type: 'note', text: 'Observed connection whose opening handshake is not in the capture: read from the first frame boundary of each direction, shown from the client\'s side (→ client to server, ← server to client). No subprotocol or extension is known.' });
  emit({ type: 'state', from: 'CONNECTING', to: 'OPEN', reason: 'the capture starts after the opening handshake' });
  const flush = function* (): Generator<TraceEvent> {
    const events = out;
    out = [];
    yield* events;
  };
  yield* flush();
  const notes = [...conn.notes].sort((a, b) => a.time - b.time);
  let n = 0;
  const closes: Partial<Record<StreamDirection, { code: number | null; reason: string }>> = {};
  let firstClose: { code: number | null; reason: string } | undefined;
  for (const chunk of conn.chunks) {
    while (n < notes.length && notes[n]!.time <= chunk.time) {
      time = Math.max(time, notes[n]!.time);
      emit({ type: 'note', text: notes[n++]!.text });
    }
    time = Math.max(time, chunk.time);
    const r = receivers[chunk.direction];
    if (chunk.lost !== undefined) {
      // A capture gap: the bytes that follow start at a frame boundary; what was in progress is lost.
      for (const v of r.pendingViolations) emitViolation(r, v);
      r.pendingViolations = [];
      r.compressedFrames = new Set();
      r.compressedPayloads = new Map();
      startReceiving(r);
      emit({ type: 'note', text: `Gap: ${chunk.lost} bytes of the ${chunk.direction === 'c2s' ? 'client → server' : 'server → client'} stream are not read (lost by the capture, or skipped to the next frame boundary); the frame and message in progress are lost, and a fresh reader takes this direction's frames from that boundary on.` });
      if (chunk.bytes.length === 0) continue;
    }
    emit({ type: 'bytes', direction: r.traceDir, bytes: chunk.bytes });
    const before = out.length;
    r.protocol.receiveData(chunk.bytes);
    r.protocol.takeOutput();
    r.protocol.events();
    for (const e of out.slice(before)) {
      if (e.type !== 'frame' || e.frame.opcode !== Opcode.Close || closes[chunk.direction]) continue;
      closes[chunk.direction] = e.frame.close ?? { code: null, reason: '' };
      firstClose ??= closes[chunk.direction];
    }
    yield* flush();
  }
  while (n < notes.length) emit({ type: 'note', text: notes[n++]!.text });
  // Violations of a frame that never came whole.
  for (const r of Object.values(receivers)) for (const v of r.pendingViolations) emitViolation(r, v);
  if (conn.endTime !== undefined) time = Math.max(time, conn.endTime);
  const wasClean = closes.c2s !== undefined && closes.s2c !== undefined;
  const detail = wasClean ? 'both sides sent Close' : closes.c2s || closes.s2c ? `only the ${closes.c2s ? 'client' : 'server'} sent Close` : 'no Close frame was captured';
  // As live (§7.1.5): the code of the first Close, 1005 when it had none, 1006 when there was none.
  const first = firstClose;
  emit({ type: 'state', from: 'OPEN', to: 'CLOSED', reason: detail });
  emit({
    type: 'connection-closed', wasClean, code: first ? first.code ?? 1005 : 1006, reason: first?.reason ?? '',
    detail: `${detail}${conn.endTime !== undefined ? ', then TCP closed' : ', and the capture ends with TCP still open'}`,
  });
  yield* flush();
}
