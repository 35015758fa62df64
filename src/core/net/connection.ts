/**
 * A live WebSocket connection: a node:net socket pumping bytes through the sans-I/O
 * WebSocketProtocol. The socket layer does only I/O and timers; every decision is the
 * protocol's. Server and client connections are the same class with a different role.
 */

import type { Socket } from 'node:net';
import { CloseCode, Defaults } from '../constants.ts';
import type { ProtocolViolation, HandshakeError } from '../errors.ts';
import { setByteAllocator, type FrameSpec } from '../frame-codec.ts';
import { setWideMasker } from '../bytes.ts';
import { createSimdMasker } from '../mask-simd.ts';
import { FrameGate, type Breakpoint, type GateSnapshot, type Released } from '../frame-gate.ts';
import { WebSocketProtocol, type OutputChunk, type ProtocolOptions } from '../protocol.ts';
import type { ConnectionState, Role, TraceBody, TraceSink } from '../trace.ts';
import { OffloadOutbox, type OutboxEntry } from './offload-outbox.ts';

// Frames built on this side of node:net come from Buffer's pooled slabs (cheaper than a fresh
// ArrayBuffer per small frame); encodeFrame writes every byte, so uninitialised memory never leaks.
setByteAllocator((size) => Buffer.allocUnsafe(size));
// Large payloads are (un)masked 64 bytes per turn with WebAssembly SIMD where it runs (mask-simd.ts).
setWideMasker(createSimdMasker());

/**
 * After we closed our side of TCP, what the peer sends is discarded (§7.1.7: "MUST NOT continue to
 * attempt to process data ... from the remote endpoint"). A peer still finishing a frame stops soon;
 * one that keeps sending past this many bytes is flooding, and is dropped (§7.1.1: an endpoint "MAY
 * close the connection via any means available when necessary, such as when under attack").
 */
const MAX_BYTES_AFTER_END = 1024 * 1024;

/** Output chunks from this size on are written as they are, not joined with their neighbours (a copy would cost more than the write it saves). */
const BATCH_MAX_PART = 4096;

/** What pumpOnce writes while a crafted frame is going out: nothing (shared, so frozen). */
const NOTHING_TO_WRITE: readonly OutputChunk[] = Object.freeze([]);

export interface IncomingMessage {
  opcode: number;
  data: Uint8Array;
  /** Set for text messages. */
  text?: string;
  /** A fragmented message: the plain bytes each frame carried, in order (absent for one frame). */
  frameSizes?: number[];
  /** A message of one unmasked, uncompressed frame, when traced: that frame's bytes as received (a relay's sendFrameAsReceived). */
  wire?: Uint8Array;
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Callbacks for what happens on a connection (the application component's view). */
export interface ConnectionHandler {
  onOpen?(conn: Connection): void;
  onMessage?(conn: Connection, message: IncomingMessage): void;
  onPing?(conn: Connection, payload: Uint8Array): void;
  onPong?(conn: Connection, payload: Uint8Array): void;
  onCloseReceived?(conn: Connection, code: number | null, reason: string): void;
  /** The peer broke a rule; the connection is failing with the violation's close code. */
  onViolation?(conn: Connection, violation: ProtocolViolation): void;
  onHandshakeFailed?(conn: Connection, error: HandshakeError): void;
  onClose?(conn: Connection, info: CloseInfo): void;
  /** A socket-level error (reset, timeout). */
  onSocketError?(conn: Connection, error: Error): void;
  /** Step mode changed: a frame was held, released, edited or dropped. */
  onGateChange?(conn: Connection): void;
}

/** How to put crafted bytes on the wire: TCP writes of these sizes, this far apart. */
export interface WritePlan {
  /** Sizes of the successive writes; the rest goes in one last write. Empty: one write. */
  chunks?: number[];
  delayMs?: number;
}

export interface ConnectionOptions extends Omit<ProtocolOptions, 'trace'> {
  id: string;
  /** Where trace bodies go (bound to this connection's id by the caller). */
  trace?: TraceSink;
  /** How long to wait for the peer's FIN after we closed, before destroying the socket. */
  closeTimeoutMs?: number;
  /** Server: how long a client may take to complete its handshake. */
  handshakeTimeoutMs?: number;
  /**
   * Once open: no bytes in either direction for this long closes the connection with 1001 Going
   * Away (then closeTimeoutMs applies). Default: off.
   */
  idleTimeoutMs?: number;
  /**
   * Backpressure: stop reading from the peer while more than this many bytes wait to be written
   * to it (default Defaults.writeHighWaterMark; never below the socket's own high-water mark).
   */
  writeHighWaterMark?: number;
}

export class Connection {
  readonly id: string;
  readonly role: Role;
  readonly protocol: WebSocketProtocol;
  readonly socket: Socket;
  private handler: ConnectionHandler;
  private readonly trace: ((body: TraceBody) => void) | undefined;
  private readonly closeTimeoutMs: number;
  private closeTimer: NodeJS.Timeout | null = null;
  /** What the close timer is waiting for (the peer's Close, its FIN): a new wait re-arms it. */
  private closeTimerFor: string | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private readonly idleTimeoutMs: number;
  private ended = false;
  /** Bytes read after we closed our side of TCP (all discarded, §7.1.7). */
  private readAfterEnd = 0;
  private closedInfo: CloseInfo | null = null;
  private closedWaiters: Array<(info: CloseInfo) => void> = [];
  /** Extra per-connection data for applications (e.g. a chat nickname). */
  readonly data: Record<string, unknown> = {};
  /** Step mode; created the first time it is used. */
  private gate: FrameGate | null = null;
  /** Step mode was switched on mid-frame: pass bytes through until the next frame boundary. */
  private aligning = false;
  /** The peer closed TCP while step mode held frames it sent before: read after them (receiveEofInTurn). */
  private eofBehindGate = false;
  // Backpressure: reading stops while the socket's queue is past the mark, and while callers hold a pause.
  private readonly writeHighWaterMark: number;
  private needsDrain = false;
  private readPauses = 0;
  private drainWaiters: Array<() => void> = [];
  /** Step mode holds more than the mark: the pause that ends once the user lets frames go. */
  private gatePause: (() => void) | null = null;
  /** Large messages being compressed off the event loop, and what waits behind them (offload-outbox.ts). */
  private outbox: OffloadOutbox | null = null;
  /** The outbox holds more than the mark: the pause that ends once it has sent enough. */
  private outboxPause: (() => void) | null = null;
  /**
   * A crafted frame going out in timed pieces (writeCrafted): the pieces still to write. Meanwhile
   * nothing else is written, so that no other frame's bytes land inside the crafted one on the wire.
   */
  private craft: { rest: Uint8Array[]; wake: (() => void) | null } | null = null;
  /** Crafted frames go out one after another, each whole (writeCrafted): the last one's end, and how many are asked and not done. */
  private craftQueue: Promise<void> = Promise.resolve();
  private craftsPending = 0;
  /** Frames step mode released while a crafted frame was going out: written right after it. */
  private afterCrafted: Array<{ bytes: Uint8Array; original: Uint8Array | undefined }> = [];
  /** More than the mark waits behind a crafted frame: the pause that ends once it has gone. */
  private craftPause: (() => void) | null = null;
  /**
   * While a held incoming frame is handed to the protocol (released by step mode): when it was
   * held (performance.now(), ms), so the proxy's frame pairing counts the hold in its delay.
   */
  releasingHeldSince: number | null = null;

  constructor(socket: Socket, options: ConnectionOptions, handler: ConnectionHandler) {
    this.id = options.id;
    this.role = options.role;
    this.socket = socket;
    this.handler = handler;
    this.trace = options.trace;
    this.closeTimeoutMs = options.closeTimeoutMs ?? Defaults.closeTimeoutMs;
    this.protocol = new WebSocketProtocol({ ...options, ...(options.trace ? { trace: options.trace } : {}) });
    // 'drain' only comes after a write() returned false, i.e. past the socket's own mark: stay at or above it.
    this.writeHighWaterMark = Math.max(options.writeHighWaterMark ?? Defaults.writeHighWaterMark, socket.writableHighWaterMark);
    socket.setNoDelay(true);
    socket.on('drain', () => this.onDrain());
    socket.on('data', (chunk: Buffer) => {
      if (this.ended && this.tooMuchAfterEnd(chunk.length)) return;
      // Everything this chunk makes us send (echoes, pongs, closes) leaves in one TCP write: small
      // frames wait in the batch until the end (one write() of them, no cork for it), and the socket
      // is corked only if something must be written directly before then (flushBatch).
      this.reading = true;
      try {
        this.receive(chunk);
        this.pump();
      } finally {
        this.reading = false;
        this.endRead();
      }
    });
    socket.on('end', () => this.receiveEofInTurn());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.trace?.({ type: 'error', message: `socket error: ${error.code ?? ''} ${error.message}`.trim() });
      this.handler.onSocketError?.(this, error);
    });
    socket.on('close', () => {
      this.clearTimers();
      this.releaseDrainWaiters();
      this.receiveEofInTurn();
    });
    // A number, not options: the constructor's closures share one context, which would keep options alive per connection.
    const handshakeTimeoutMs = options.handshakeTimeoutMs;
    if (handshakeTimeoutMs && options.role === 'server') {
      this.handshakeTimer = setTimeout(() => {
        if (this.protocol.state === 'CONNECTING') {
          this.protocol.abort(`No complete handshake within ${handshakeTimeoutMs} ms: closing.`);
          this.pump();
        }
      }, handshakeTimeoutMs);
      this.handshakeTimer.unref?.();
    }
    this.idleTimeoutMs = options.idleTimeoutMs ?? 0;
    if (this.idleTimeoutMs > 0) socket.on('timeout', () => this.onIdle());
  }

  get state(): ConnectionState {
    return this.protocol.state;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  get localAddress(): string {
    return `${this.socket.localAddress ?? '?'}:${this.socket.localPort ?? '?'}`;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  /** Resolves once the connection is closed, with how it closed. */
  closed(): Promise<CloseInfo> {
    if (this.closedInfo) return Promise.resolve(this.closedInfo);
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  sendText(text: string): void {
    if (this.queues(text.length, 'a text message')) return this.enqueue({ kind: 'text', text, size: text.length });
    this.protocol.sendText(text);
    this.pump();
  }

  sendBinary(data: Uint8Array): void {
    if (this.queues(data.length, 'a binary message')) return this.enqueue({ kind: 'binary', data, size: data.length });
    this.protocol.sendBinary(data);
    this.pump();
  }

  /** Never compressed off the event loop itself (a relay pairs its frames as they are sent), but waits behind what is. */
  sendFragmented(opcode: number, data: Uint8Array, sizes: readonly number[]): void {
    if (this.queues(0, 'a fragmented message')) return this.enqueue({ kind: 'fragmented', opcode, data, sizes, size: data.length });
    this.protocol.sendFragmented(opcode, data, sizes);
    this.pump();
  }

  /**
   * A relay's copy of a one-frame message from the other leg, sent as the bytes it arrived in
   * (WebSocketProtocol.sendFrameAsReceived says when that is the same frame). false: not possible
   * here (step mode, a message being compressed ahead of it, or the protocol said no); nothing sent.
   */
  sendFrameAsReceived(opcode: number, data: Uint8Array, wire: Uint8Array): boolean {
    if (this.gate || this.outbox?.busy || !this.protocol.sendFrameAsReceived(opcode, data, wire)) return false;
    this.pump();
    return true;
  }

  /**
   * Does this data message go through the outbox: a large one to be compressed off the event
   * loop, or any while the outbox is busy (order)? Not open: the protocol says why it cannot send.
   */
  private queues(size: number, what: string): boolean {
    if (this.protocol.state !== 'OPEN') return false;
    const outbox = this.outbox;
    if (outbox?.closeQueued) throw new Error(`Cannot send ${what}: a Close is queued behind a message being compressed (nothing goes after a Close, §5.5.1).`);
    if (!outbox?.busy && !(size > 0 && OffloadOutbox.worthOffloading(this.protocol, size))) return false;
    this.outbox ??= new OffloadOutbox({
      protocol: this.protocol,
      sendNow: (entry) => this.sendQueued(entry),
      note: (text) => this.trace?.({ type: 'note', text }),
      left: () => this.checkBackpressure(),
    });
    return true;
  }

  private enqueue(entry: OutboxEntry): void {
    this.outbox!.push(entry);
    this.checkBackpressure();
  }

  private sendQueued(entry: OutboxEntry): void {
    if (entry.kind === 'text') this.protocol.sendText(entry.text, entry.utf8);
    else if (entry.kind === 'binary') this.protocol.sendBinary(entry.data);
    else if (entry.kind === 'fragmented') this.protocol.sendFragmented(entry.opcode, entry.data, entry.sizes);
    else this.protocol.close(entry.code, entry.reason);
    this.pump();
  }

  ping(payload?: Uint8Array): void {
    this.protocol.sendPing(payload);
    this.pump();
  }

  pong(payload?: Uint8Array): void {
    this.protocol.sendPong(payload);
    this.pump();
  }

  close(code?: number | null, reason?: string): void {
    // Messages still being compressed go first (a Close is the last frame we send, §5.5.1).
    if (this.outbox?.busy && this.protocol.state === 'OPEN') {
      if (!this.outbox.closeQueued) this.enqueue({ kind: 'close', code, reason, size: 0 });
      return;
    }
    this.protocol.close(code, reason);
    this.pump();
  }

  /** Sends a frame built from fields, valid or not (fault injection). */
  sendFrame(spec: FrameSpec): Uint8Array {
    const bytes = this.protocol.sendFrame(spec);
    this.pump();
    return bytes;
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Uint8Array): void {
    this.protocol.sendRaw(bytes);
    this.pump();
  }

  /** Drops TCP without a closing handshake. */
  destroy(): void {
    this.socket.destroy();
  }

  // ------------------------------------------------------------ flow control

  /** Bytes waiting to be written to the peer (what the browser's WebSocket calls bufferedAmount). */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.batchBytes + (this.outbox?.bytes ?? 0);
  }

  /**
   * More than the high-water mark waits to be written (the peer reads slower than it is fed), or
   * step mode holds that much. Reading from this peer is paused until it drains; a relay feeding
   * this connection from another one should pause that one too (pauseReading) until drained().
   */
  get writableNeedsDrain(): boolean {
    this.checkBackpressure();
    return this.needsDrain || this.gatePause !== null || this.outboxPause !== null || this.craftPause !== null;
  }

  /** Resolves once the queued output has drained (at once if nothing needs to, or once the socket is gone). */
  drained(): Promise<void> {
    if (!this.writableNeedsDrain || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Is reading from the peer paused (backpressure, a held step-mode queue, or a caller's pause)? */
  get readingPaused(): boolean {
    return this.needsDrain || this.readPauses > 0;
  }

  /**
   * Stops reading from the peer (TCP's window then pushes back on it) until the returned function
   * is called; pauses from several callers add up. E.g. a relay: `const go = a.pauseReading();
   * b.drained().then(go)`.
   */
  pauseReading(): () => void {
    this.readPauses++;
    this.socket.pause();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.readPauses--;
      this.resumeIfFree();
    };
  }

  /**
   * Called after every pump: past the mark, stop reading until 'drain'. Step mode counts what the
   * gate holds (it writes nothing while frames are held), so holding cannot grow without bound either.
   */
  private checkBackpressure(): void {
    if (!this.needsDrain && this.socket.writableLength > this.writeHighWaterMark && !this.socket.destroyed) {
      this.needsDrain = true;
      this.socket.pause();
      this.trace?.({ type: 'note', text: `Backpressure: ${this.socket.writableLength} bytes wait to be written to the peer (mark ${this.writeHighWaterMark}): reading paused until they drain.` });
    }
    // Messages waiting to be compressed off the event loop: a pause of their own, which ends as
    // the thread pool works through them (never waiting on the peer, so two peers that both
    // pause cannot wait on each other).
    if (this.outbox) this.outboxPause = this.holdWhile(this.outbox.bytes > this.writeHighWaterMark, this.outboxPause);
    if (this.gate) this.gatePause = this.holdWhile(this.gate.heldBytes > this.writeHighWaterMark, this.gatePause);
    if (this.craft || this.craftPause) {
      this.craftPause = this.holdWhile(this.craft !== null && this.protocol.pendingOutputBytes() > this.writeHighWaterMark, this.craftPause);
    }
  }

  /** A pause of reading taken while `holding` and given back once not (the last one out releases drained() waiters). */
  private holdWhile(holding: boolean, pause: (() => void) | null): (() => void) | null {
    if (holding) return pause ?? this.pauseReading();
    if (!pause) return null;
    pause();
    const others = [this.outboxPause, this.gatePause, this.craftPause].filter((p) => p !== null && p !== pause).length;
    if (!this.needsDrain && others === 0) this.releaseDrainWaiters();
    return null;
  }

  private onDrain(): void {
    if (!this.needsDrain) return;
    this.needsDrain = false;
    const resumed = this.resumeIfFree();
    this.trace?.({ type: 'note', text: `Backpressure: the output drained; ${resumed ? 'reading resumed' : 'reading stays paused (held by step mode or a relay)'}.` });
    if (!this.gatePause && !this.outboxPause && !this.craftPause) this.releaseDrainWaiters();
  }

  private resumeIfFree(): boolean {
    if (this.needsDrain || this.readPauses > 0 || this.socket.destroyed) return false;
    this.socket.resume();
    return true;
  }

  private releaseDrainWaiters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------ step mode

  /** The gate's state, or null when step mode was never used on this connection. */
  gateSnapshot(): GateSnapshot | null {
    return this.gate?.snapshot() ?? null;
  }

  private ensureGate(): FrameGate {
    if (!this.gate) {
      this.gate = new FrameGate();
      this.aligning = true;
      this.protocol.deferOutgoingTrace = true;
    }
    return this.gate;
  }

  setStepMode(on: boolean): void {
    this.ensureGate().setStepMode(on);
    this.handler.onGateChange?.(this);
  }

  setBreakpoints(breakpoints: Breakpoint[]): void {
    this.ensureGate().setBreakpoints(breakpoints);
    this.handler.onGateChange?.(this);
  }

  /** Step: let one held frame go (the oldest in that direction, or of all). */
  step(direction?: 'in' | 'out'): void {
    this.deliver(this.gate?.step(direction) ?? []);
  }

  /** Release everything and run to the next breakpoint. */
  continueRunning(): void {
    this.deliver(this.gate?.continue() ?? []);
  }

  /** Release everything and stop holding. */
  resume(): void {
    this.deliver(this.gate?.resume() ?? []);
  }

  editHeld(holdId: number, bytes: Uint8Array): boolean {
    const ok = this.gate?.edit(holdId, bytes) ?? false;
    if (ok) this.handler.onGateChange?.(this);
    return ok;
  }

  dropHeld(holdId: number): boolean {
    const direction = this.gate?.snapshot().held.find((h) => h.holdId === holdId)?.direction;
    const released = this.gate?.drop(holdId) ?? null;
    if (!released) return false;
    this.protocol.noteGateEvent(direction === 'out'
      ? `Held frame ${holdId} dropped: it never goes on the wire.`
      : `Held frame ${holdId} dropped: the application never gets the message it belongs to. The inspector still reads the frame in its place, so that the frames after it parse as the peer sent them.`);
    this.deliver(released);
    return true;
  }

  /** Incoming bytes: straight to the protocol, or through the gate in step mode. */
  private receive(chunk: Uint8Array): void {
    const gate = this.gate;
    if (!gate) {
      // The chunk is the protocol's to unmask in place unless another reader of the socket holds it
      // too (a proxy keeping an upstream's first bytes); with a trace the protocol copies anyway.
      this.protocol.receiveData(chunk, this.socket.listenerCount('data') === 1);
      return;
    }
    // Not open (the handshake, or closing): straight to the protocol, unless the gate still has
    // incoming bytes these must follow (a frame held before we started closing).
    if (this.protocol.state !== 'OPEN' && !gate.holdsIncoming) {
      this.protocol.receiveData(chunk);
      return;
    }
    let rest = chunk;
    while (this.aligning && rest.length > 0) {
      const until = this.protocol.bytesUntilFrameBoundary();
      if (until === 0) {
        this.aligning = false;
        break;
      }
      // While a header is incomplete its length is unknown: one byte at a time until it is.
      const n = until === null ? 1 : Math.min(until, rest.length);
      this.protocol.receiveData(rest.subarray(0, n));
      rest = rest.subarray(n);
    }
    if (rest.length === 0) return;
    const released = gate.receive(rest);
    for (const r of released) if (r.holdId === null) this.protocol.receiveData(r.bytes);
    if (released.length === 0 || gate.snapshot().held.length > 0) this.handler.onGateChange?.(this);
  }

  /** Hands released frames on: incoming to the protocol, outgoing to the socket. */
  private deliver(released: Released[]): void {
    for (const r of released) {
      if (r.direction === 'in') {
        if (r.edited) this.protocol.noteGateEvent(`Held frame ${r.holdId} released edited: the application sees the edited bytes.`);
        if (r.edited && r.original) this.protocol.markNextFrameEdited('in', r.original);
        this.releasingHeldSince = r.heldAt ?? null;
        try {
          if (r.dropped) this.protocol.receiveDroppedFrame(r.bytes);
          else this.protocol.receiveData(r.bytes);
        } finally {
          this.releasingHeldSince = null;
        }
      } else {
        if (r.edited) this.protocol.noteGateEvent(`Held frame ${r.holdId} released edited: the edited bytes go on the wire.`);
        if (r.edited && r.original && this.protocol.deferOutgoingTrace) this.protocol.markNextFrameEdited('out', r.original);
        this.writeFrame(r.bytes, r.edited ? r.original : undefined);
      }
    }
    this.handler.onGateChange?.(this);
    this.pump();
    if (this.eofBehindGate) this.receiveEofInTurn();
  }

  /**
   * The peer closed TCP: the protocol reads that end of its stream after the frames step mode still
   * holds from before it (they are stepped through, dropped or resumed first), as it reads
   * everything else in order. Without held frames, at once.
   */
  private receiveEofInTurn(): void {
    if (this.gate?.holdsIncomingFrames && this.protocol.state !== 'CLOSED') {
      if (!this.eofBehindGate) {
        this.eofBehindGate = true;
        this.protocol.noteGateEvent('The peer closed TCP. Step mode still holds frames it sent before that: the close is read after them.');
        this.handler.onGateChange?.(this);
      }
      return;
    }
    this.eofBehindGate = false;
    this.protocol.receiveEof();
    this.pump();
  }

  /** `original`: the bytes queued, when the gate let them out edited (their message is found by them). */
  private writeFrame(bytes: Uint8Array, original?: Uint8Array): void {
    if (this.craft) {
      this.afterCrafted.push({ bytes, original });
      return;
    }
    this.flushBatch(); // what was batched goes first
    if (this.protocol.deferOutgoingTrace) this.protocol.traceWrittenFrame(bytes, original);
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /**
   * Writes crafted bytes (valid or not) as they are, split into TCP writes with delays
   * between them, tracing the frame once and each write as it happens. Crafted frames go one after
   * another. While the pieces of one go out, what else is sent (an echo, a Pong, a frame step mode
   * lets go) waits and follows the last piece, and the trace puts its raw chunks there too: the
   * crafted frame stays whole on the wire. Reading goes on (replies queue), paused once more than
   * the mark waits; if the connection closes meanwhile, the rest of the frame goes at once.
   */
  writeCrafted(bytes: Uint8Array, plan: WritePlan = {}, traceAsFrame = true, atTurn?: () => void): Promise<void> {
    const start = () => this.writeCraftedNow(bytes, plan, traceAsFrame, atTurn);
    // None going out: at once (what is sent right after it goes after it); else behind the others.
    const run = this.craftsPending === 0 ? start() : this.craftQueue.then(start);
    this.craftsPending++;
    this.craftQueue = run.catch(() => {}).finally(() => void this.craftsPending--);
    return run;
  }

  /** `atTurn`: what must happen when this frame's turn comes, not when it was asked (its trace, a window restart). */
  private async writeCraftedNow(bytes: Uint8Array, plan: WritePlan, traceAsFrame: boolean, atTurn?: () => void): Promise<void> {
    atTurn?.();
    if (this.socket.destroyed || !this.socket.writable) return;
    if (traceAsFrame) this.protocol.traceOutgoingFrameBytes(bytes);
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const size of plan.chunks ?? []) {
      if (at >= bytes.length) break;
      if (size <= 0) continue;
      pieces.push(bytes.subarray(at, at + size));
      at += size;
    }
    if (at < bytes.length || pieces.length === 0) pieces.push(bytes.subarray(at));
    if (pieces.length === 1 || !plan.delayMs) {
      for (const piece of pieces) this.writeCraftedPiece(piece);
      this.pump();
      return;
    }
    const craft: { rest: Uint8Array[]; wake: (() => void) | null } = { rest: pieces, wake: null };
    this.craft = craft;
    this.protocol.holdOutgoingChunkTraces();
    try {
      this.writeCraftedPiece(craft.rest.shift()!);
      while (craft.rest.length > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, plan.delayMs);
          craft.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        craft.wake = null;
        if (this.craft !== craft) return; // the connection closed meanwhile: finishCraft wrote the rest
        this.writeCraftedPiece(craft.rest.shift()!);
      }
    } finally {
      if (this.craft === craft) this.finishCraft();
    }
    this.pump();
  }

  private writeCraftedPiece(piece: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.flushBatch();
    this.protocol.noteCraftedBytesWritten(piece);
    this.socket.write(piece);
  }

  /** The crafted frame's last pieces (all that are left), then what waited behind it, in order. */
  private finishCraft(): void {
    const craft = this.craft;
    if (!craft) return;
    this.craft = null;
    craft.wake?.();
    for (const piece of craft.rest.splice(0)) this.writeCraftedPiece(piece);
    this.protocol.releaseOutgoingChunkTraces();
    for (const { bytes, original } of this.afterCrafted.splice(0)) this.writeFrame(bytes, original);
  }

  /** Client: begin the opening handshake. */
  start(): void {
    this.protocol.connect();
    this.pump();
  }

  private pumping = false;
  private pumpAgain = false;

  /**
   * Moves bytes, events and transport decisions from the protocol to the socket and handler.
   * Handlers that send (an echo) while events are being handed out do not pump again
   * themselves: the running pump loops until nothing is left.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      this.pumpUntilDone();
      // A Close held back until the application saw the messages before it (§5.5.1, §7.1.7) is
      // queued when asked for output; behind a crafted frame nothing asks, so ask here.
      if (this.craft) this.protocol.dataToSendPending();
      if (this.craft && (this.protocol.transportAction !== 'none' || this.protocol.awaitingCloseReply)) {
        // Closing behind a crafted frame (our Close queued, TCP to close): the rest of it goes now, then
        // what waited (our Close). Not later: the close timer waits for the peer's answer to our Close.
        this.finishCraft();
        this.pumpUntilDone();
      }
    } finally {
      this.pumping = false;
    }
    this.applyTransportAction();
    this.checkBackpressure();
  }

  private pumpUntilDone(): void {
    do {
      this.pumpAgain = false;
      this.pumpOnce();
    } while (this.pumpAgain || (this.craft === null && this.protocol.dataToSendPending()));
  }

  private pumpOnce(): void {
    // Behind a crafted frame going out in pieces, output waits in the protocol (writeCrafted).
    const out = this.craft === null ? this.protocol.takeOutput() : NOTHING_TO_WRITE;
    if (out.length > 0 && !this.socket.destroyed && this.socket.writable) {
      const corked = out.length > 1 || out[0]!.payload !== undefined;
      if (corked) this.socket.cork();
      let gateChanged = false;
      // Indexed loops here and below: this runs once or more per socket read, and an array
      // iterator that escapes optimisation allocates its result objects (~160 B per proxied echo).
      for (let c = 0; c < out.length; c++) {
        const chunk = out[c]!;
        if (chunk.kind === 'frame' && this.gate) {
          this.flushBatch(); // what was batched goes first
          const released = this.gate.send(chunk.bytes);
          if (released.length === 0) gateChanged = true;
          for (const r of released) this.writeFrame(r.bytes);
        } else if (chunk.kind === 'frame' && this.protocol.deferOutgoingTrace) {
          this.flushBatch();
          this.writeFrame(chunk.bytes);
        } else {
          this.batch(chunk.bytes);
          if (chunk.payload) {
            // A large frame's payload, behind its header as it is: the writev takes it from where it lies.
            this.flushBatch();
            this.socket.write(chunk.payload);
          }
        }
      }
      if (!this.batchingUntilNextTick && !this.reading) this.flushBatch();
      if (corked) this.socket.uncork();
      if (gateChanged) this.handler.onGateChange?.(this);
    }
    const events = this.protocol.events();
    // What the protocol wrote before these events (a handshake response, say) goes before the handler runs.
    if (events.length > 0 && this.batchParts.length > 0 && !this.batchingUntilNextTick) this.flushBatch();
    for (let e = 0; e < events.length; e++) {
      const event = events[e]!;
      switch (event.type) {
        case 'open':
          this.clearHandshakeTimer();
          // During the handshake the handshake timeout applies; from here on, the idle timeout.
          if (this.idleTimeoutMs > 0) this.socket.setTimeout(this.idleTimeoutMs);
          this.handler.onOpen?.(this);
          break;
        case 'message': {
          // One literal, the optional fields assigned after it (no spread objects per message).
          const message: IncomingMessage = { opcode: event.opcode, data: event.data };
          if (event.text !== undefined) message.text = event.text;
          if (event.frameSizes) message.frameSizes = event.frameSizes;
          if (event.wire) message.wire = event.wire;
          this.handler.onMessage?.(this, message);
          break;
        }
        case 'ping':
          this.handler.onPing?.(this, event.payload);
          break;
        case 'pong':
          this.handler.onPong?.(this, event.payload);
          break;
        case 'close-received':
          this.handler.onCloseReceived?.(this, event.code, event.reason);
          break;
        case 'violation':
          this.handler.onViolation?.(this, event.violation);
          break;
        case 'handshake-failed':
          this.clearHandshakeTimer();
          this.handler.onHandshakeFailed?.(this, event.error);
          break;
        case 'closed': {
          this.clearTimers();
          this.finishCraft(); // nothing more can be written; what waited is traced, and writeCrafted returns
          this.closedInfo = { code: event.code, reason: event.reason, wasClean: event.wasClean };
          if (!this.socket.destroyed) this.socket.destroy();
          this.handler.onClose?.(this, this.closedInfo);
          for (const resolve of this.closedWaiters.splice(0)) resolve(this.closedInfo);
          break;
        }
      }
    }
  }

  // Batched writes: small output chunks in a row (the echoes of one read, say) are joined into one
  // socket write: one write request instead of one per frame (the kernel gets one writev either way
  // while corked, but each write() costs its own bookkeeping in node's stream).
  private batchParts: Uint8Array[] = [];
  private batchBytes = 0;
  /** batchUntilNextTick is on: small frames wait in the batch until the end of this tick. */
  private batchingUntilNextTick = false;
  /** A 'data' event is being handled: small frames wait in the batch until it ends (endRead). */
  private reading = false;
  /** The socket was corked during this 'data' event (a direct write while the batch waited). */
  private readCorked = false;

  /** The end of a 'data' event: the batch goes in one write (or joins the corked writes), then uncorked. */
  private endRead(): void {
    const waited = this.batchBytes > 0;
    if (!this.batchingUntilNextTick) this.flushBatch();
    if (this.readCorked) {
      this.readCorked = false;
      this.socket.uncork();
    }
    if (waited) this.checkBackpressure();
  }

  /**
   * Small frames this connection sends from now until the end of this tick are joined into one
   * socket write (a relay copying the messages of one read from the other leg: one write per read,
   * not one per message). Larger ones, raw writes and step mode's frames flush the batch first, so
   * the order on the wire is the order sent; closing TCP flushes it too.
   */
  batchUntilNextTick(): void {
    if (this.batchingUntilNextTick) return;
    this.batchingUntilNextTick = true;
    // Corked too: a large frame written meanwhile (header, then its payload) joins the same writev.
    this.socket.cork();
    process.nextTick(() => {
      this.batchingUntilNextTick = false;
      this.flushBatch();
      this.socket.uncork();
    });
  }

  private batch(bytes: Uint8Array): void {
    if (bytes.length >= BATCH_MAX_PART) {
      this.flushBatch();
      this.socket.write(bytes);
      return;
    }
    this.batchParts.push(bytes);
    this.batchBytes += bytes.length;
  }

  private flushBatch(): void {
    if (this.reading && !this.readCorked) {
      // A direct write follows while a 'data' event is handled: cork, so that it and what comes
      // after it in this event still leave in one writev.
      this.readCorked = true;
      this.socket.cork();
    }
    const parts = this.batchParts;
    if (parts.length === 0) return;
    if (this.socket.destroyed || !this.socket.writable) {
      // Gone (or ended) meanwhile: nothing more can be written, as in pumpOnce.
      parts.length = 0;
      this.batchBytes = 0;
      return;
    }
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
    } else {
      const joined = Buffer.allocUnsafe(this.batchBytes);
      let at = 0;
      for (let k = 0; k < parts.length; k++) {
        joined.set(parts[k]!, at);
        at += parts[k]!.length;
      }
      this.socket.write(joined);
    }
    parts.length = 0;
    this.batchBytes = 0;
  }

  private applyTransportAction(): void {
    const action = this.protocol.transportAction;
    if (action === 'close' && !this.ended) {
      this.ended = true;
      // A refused or failed opening handshake is over already (CLOSED): once the error response and
      // our FIN are in the kernel's hands, free the descriptor; nothing the peer sends matters (§7.1.7).
      // A client refused with an HTTP answer (not 101) reads on until the server closes or the close
      // timer fires, so that the answer's body is traced and can be passed on (a proxy): §4.1 (1),
      // "If the status code received from the server is not 101, the client handles the response
      // per HTTP [RFC2616] procedures." What it reads is bounded (MAX_BYTES_AFTER_END).
      const refusedByServer = this.role === 'client' && (this.protocol.response?.status ?? 101) !== 101;
      if (this.protocol.state === 'CLOSED' && !refusedByServer) this.socket.once('finish', () => this.socket.destroy());
      this.flushBatch(); // the last frames (our Close) go before our FIN
      this.socket.end();
      // §7.1.1: wait "a reasonable amount of time" for the peer's FIN, not forever.
      this.armCloseTimer('fin', `The peer did not close TCP within ${this.closeTimeoutMs} ms after we did: dropping the connection (§7.1.1).`);
    } else if (action === 'await-server-close') {
      this.armCloseTimer('server-fin', `The server did not close TCP within ${this.closeTimeoutMs} ms of the closing handshake: closing it ourselves (§7.1.1).`);
    } else if (this.protocol.awaitingCloseReply) {
      // §7.1.2: we started the closing handshake. A peer that never answers must not keep the
      // connection CLOSING forever: after the timeout, close TCP ourselves (§7.1.1, §7.1.7).
      this.armCloseTimer('close-reply', `The peer did not answer our Close within ${this.closeTimeoutMs} ms: closing TCP ourselves (§7.1.1).`);
    }
  }

  /** Arms the close timer for one wait; a different wait (the peer's Close, then its FIN) starts it again. */
  private armCloseTimer(waitingFor: string, detail: string): void {
    if (this.closeTimerFor === waitingFor) return;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimerFor = waitingFor;
    const timer = setTimeout(() => {
      // A process held up past the deadline runs its due timers before it reads its sockets: the
      // peer's answer may be waiting unread. Read it first (the poll phase comes before
      // setImmediate's): if it answered in time, the close completes and this timer is cleared.
      setImmediate(() => {
        if (this.closeTimer !== timer) return; // cleared or re-armed meanwhile
        this.closeTimer = null;
        this.drop(detail);
      });
    }, this.closeTimeoutMs);
    this.closeTimer = timer;
    timer.unref?.();
  }

  /** Gives up on the peer: reports the close (unless it was reported already) and frees the socket. */
  private drop(detail: string): void {
    if (this.protocol.state === 'CLOSED') {
      this.trace?.({ type: 'note', text: detail });
    } else {
      this.protocol.abort(detail);
      this.pump();
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /** Counts bytes read after we closed our side; past MAX_BYTES_AFTER_END the peer is dropped. */
  private tooMuchAfterEnd(bytes: number): boolean {
    this.readAfterEnd += bytes;
    if (this.readAfterEnd <= MAX_BYTES_AFTER_END) return false;
    this.drop(`The peer sent more than ${MAX_BYTES_AFTER_END} bytes after we closed: dropping the connection (§7.1.7).`);
    return true;
  }

  /**
   * No bytes in either direction for idleTimeoutMs. §7.3: "Servers MAY close the WebSocket
   * connection whenever desired"; 1001 Going Away (§7.4.1), then the close timer applies.
   */
  private onIdle(): void {
    this.socket.setTimeout(0);
    if (this.protocol.state !== 'OPEN') return;
    this.trace?.({ type: 'note', text: `No bytes in either direction for ${this.idleTimeoutMs} ms (idle timeout): closing with 1001 Going Away.` });
    this.close(CloseCode.GoingAway, `idle for ${this.idleTimeoutMs} ms`);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private clearTimers(): void {
    this.clearHandshakeTimer();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.closeTimerFor = null;
  }
}
