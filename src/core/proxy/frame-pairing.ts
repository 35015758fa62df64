/**
 * Pairs each frame the relay sends with the frame it copies on the other leg ("this frame from
 * the client became that frame to the server"), and the delay the proxy added, by watching each
 * leg's trace on its way to the tracer: frames received are noted with the time they arrived;
 * frames sent while the relay copies something get `relay: { from, delayUs }` (TracedFrame.relay).
 * Only when tracing: without a tracer there is nothing to pair.
 *
 * Step mode (the debugger) holds frames, and the delay counts the hold:
 *   - a frame held as it arrives is traced when released: it is noted with the time it was held
 *     (Connection.releasingHeldSince), so its copy's delay runs from its arrival;
 *   - a copy held on its way out is traced when released, after the copy was made: the frames the
 *     gate took during the copy are remembered by their bytes (the gate's `original`, which the
 *     trace carries as `raw`, or as `edited.original` when the user edited it) and marked when
 *     they are traced. A copy dropped in the gate is never traced; its entry goes with its bytes.
 */

import { Opcode } from '../constants.ts';
import type { GateSnapshot } from '../frame-gate.ts';
import { Tracer, type Direction, type TraceBody, type TracedRelay, type TraceRows, type TraceSink } from '../trace.ts';

export type { TraceSink };

/**
 * Frames received on a leg, as the relay takes them: [frameId, at, frameId, at, …], oldest first
 * (at: when the frame arrived, performance.now(), ms). Numbers, not an object per frame.
 */
export type ReceivedFrames = number[];

/** What takeMessageFrames and takeControlFrame give when nothing is paired (shared, so frozen). */
const NO_FRAMES: ReceivedFrames = Object.freeze([]) as unknown as ReceivedFrames;

/** What the pairing reads from a leg's Connection: its step-mode gate (net/connection.ts). */
export interface PairedLeg {
  readonly id: string;
  /** Set while a held incoming frame is handed to the protocol: when it was held. */
  readonly releasingHeldSince: number | null;
  gateSnapshot(): GateSnapshot | null;
}

/** A copy the gate holds: its original (id and arrival), and the leg that original came from. */
interface HeldCopy {
  fromId: string;
  frameId: number;
  at: number;
}

/**
 * The clock arrivals and copies are timed with (two reads per copied frame). In Node the global
 * `performance` is an accessor (a getter call each time it is named): held once, as trace.ts does.
 */
const clock = globalThis.performance;

/** Frames wait here only until their message (or control frame) is handed out; this guards against a leak if one never is. */
const MAX_TRACKED = 100_000;

/**
 * Frames received and not yet taken, in order: ids and arrival times in a ring of numbers that
 * grows by doubling (to MAX_TRACKED frames at most), so noting and taking a frame allocates nothing.
 */
class ReceivedQueue {
  private ids = new Float64Array(16);
  private ats = new Float64Array(16);
  /** Where the oldest frame is; the ring's capacity is a power of two (mask = capacity - 1). */
  private start = 0;
  private mask = 15;
  private size = 0;

  push(frameId: number, at: number): void {
    if (this.size >= MAX_TRACKED) return;
    if (this.size === this.ids.length) this.grow();
    const i = (this.start + this.size) & this.mask;
    this.ids[i] = frameId;
    this.ats[i] = at;
    this.size++;
  }

  /** The oldest `count` (fewer if fewer wait), taken out. */
  take(count: number): ReceivedFrames {
    const n = Math.min(count, this.size);
    if (n === 0) return NO_FRAMES;
    const out: ReceivedFrames = new Array(2 * n);
    for (let k = 0; k < n; k++) {
      const i = (this.start + k) & this.mask;
      out[2 * k] = this.ids[i]!;
      out[2 * k + 1] = this.ats[i]!;
    }
    this.start = (this.start + n) & this.mask;
    this.size -= n;
    return out;
  }

  private grow(): void {
    const capacity = this.ids.length * 2;
    const ids = new Float64Array(capacity);
    const ats = new Float64Array(capacity);
    for (let k = 0; k < this.size; k++) {
      const i = (this.start + k) & this.mask;
      ids[k] = this.ids[i]!;
      ats[k] = this.ats[i]!;
    }
    this.ids = ids;
    this.ats = ats;
    this.start = 0;
    this.mask = capacity - 1;
  }
}

/** The frames a gate holds on their way out. */
const outgoing = (gate: GateSnapshot): GateSnapshot['held'] => gate.held.filter((h) => h.direction === 'out');

/**
 * One leg's pairing: the frames it received and not yet passed on, and the copy the relay is
 * sending on it. The relay keeps one per leg (FramePairing.attach): no look-up by id per message.
 */
export class LegPairing {
  /**
   * Data frames received and not yet taken, in order. One TCP read can carry several messages:
   * all their frames are traced before the first message is handed out, so each message takes
   * only its own frames from the front.
   */
  private readonly dataFrames = new ReceivedQueue();
  /** Control frames received (Ping, Pong, Close) and not yet taken, in order. */
  private readonly control = new ReceivedQueue();
  /** The leg's Connection, once the relay runs (absent: no step mode to account for). */
  source: PairedLeg | null = null;
  /**
   * While the relay sends a copy on this leg (copying): the originals from copyFromId, matched to
   * outgoing frames in order (copyNext: the next one's index in copyOriginals); heldBefore: how many
   * outgoing frames the leg's gate held when the copy began (null: no gate).
   */
  private copying = false;
  private copyFromId = '';
  private copyOriginals: ReceivedFrames = NO_FRAMES;
  private copyNext = 0;
  private heldBefore: number | null = null;

  /** `heldCopies`: the pairing's copies held by a gate, by the bytes the gate holds. */
  constructor(private readonly heldCopies: WeakMap<Uint8Array, HeldCopy>) {}

  /** A frame received on the leg: noted with when it arrived (or was held, in step mode). */
  received(frameId: number, opcode: number): void {
    (opcode <= Opcode.Binary ? this.dataFrames : this.control).push(frameId, this.source?.releasingHeldSince ?? clock.now());
  }

  /**
   * A frame sent on the leg: a copy being made (the next original of the copy under way), a copy
   * the gate held, released now (`bytes`: as the gate held it), or none.
   */
  copyOf(bytes: Uint8Array): TracedRelay | undefined {
    if (this.copying && this.copyNext < this.copyOriginals.length) {
      const at = this.copyNext;
      this.copyNext += 2;
      return relayOf(this.copyFromId, this.copyOriginals[at]!, this.copyOriginals[at + 1]!);
    }
    const held = this.heldCopies.get(bytes);
    if (!held) return undefined;
    this.heldCopies.delete(bytes);
    return relayOf(held.fromId, held.frameId, held.at);
  }

  /** The frames of the message handed out now on this leg: the oldest `count` data frames not taken yet. */
  takeMessageFrames(count: number): ReceivedFrames {
    return this.dataFrames.take(count);
  }

  /** The control frame handed out now on this leg: the oldest not taken yet. */
  takeControlFrame(): ReceivedFrames {
    return this.control.take(1);
  }

  /** Frames traced as sent on this leg until endCopy are copies of these originals from `fromId`. */
  beginCopy(fromId: string, originals: ReceivedFrames): void {
    const gate = this.source?.gateSnapshot();
    this.copying = true;
    this.copyFromId = fromId;
    this.copyOriginals = originals;
    this.copyNext = 0;
    this.heldBefore = gate ? outgoing(gate).length : null;
  }

  /**
   * The copy is written, or held: the originals not matched to a frame traced meanwhile went into
   * the gate (once a frame is held, the ones after it queue behind it: the gate keeps order), so
   * the frames it took since beginCopy are their copies, in order.
   */
  endCopy(): void {
    if (!this.copying) return;
    const { copyFromId: fromId, copyOriginals: originals, copyNext: next, heldBefore, source } = this;
    this.copying = false;
    this.copyOriginals = NO_FRAMES;
    if (heldBefore === null || !source || next >= originals.length) return;
    const gate = source.gateSnapshot();
    const taken = gate ? outgoing(gate).slice(heldBefore) : [];
    for (let i = 0, at = next; i < taken.length && at < originals.length; i++, at += 2) {
      this.heldCopies.set(taken[i]!.original, { fromId, frameId: originals[at]!, at: originals[at + 1]! });
    }
  }
}

export class FramePairing {
  private readonly legs = new Map<string, LegPairing>();
  /** Copies held by a gate, by the bytes the gate holds: marked when traced (released). */
  private readonly heldCopies = new WeakMap<Uint8Array, HeldCopy>();

  private track(connectionId: string): LegPairing {
    let leg = this.legs.get(connectionId);
    if (!leg) {
      leg = new LegPairing(this.heldCopies);
      this.legs.set(connectionId, leg);
    }
    return leg;
  }

  /**
   * A trace sink for one leg that notes received frames and marks copies, then passes events on;
   * its row emitters (TraceSink.rows: frames as rows, no event objects) do the same for rows.
   */
  wrap(connectionId: string, sink: TraceSink): TraceSink {
    const leg = this.track(connectionId);
    const wrapped: TraceSink = (body) => {
      if (body.type === 'frame') {
        if (body.direction === 'in') leg.received(body.frame.frameId, body.frame.opcode);
        else {
          const relay = leg.copyOf(body.frame.edited?.original ?? body.frame.raw);
          if (relay) body.frame.relay = relay;
        }
      }
      sink(body);
    };
    if (sink.rows) wrapped.rows = new PairedRows(sink.rows, leg);
    return wrapped;
  }

  /** A Tracer whose per-connection sinks are wrapped (for a leg opened by connectClient, which takes a Tracer). */
  wrapTracer(base: Tracer): Tracer {
    return new WrappingTracer(base, (connectionId, sink) => this.wrap(connectionId, sink));
  }

  /**
   * The leg's Connection: how its step-mode gate holds frames (the relay attaches both legs). The
   * leg's pairing comes back, for the relay to take originals and mark copies with.
   */
  attach(leg: PairedLeg): LegPairing {
    const track = this.track(leg.id);
    track.source = leg;
    return track;
  }

  /** Forget a leg (its connection is closed). */
  forget(connectionId: string): void {
    this.legs.delete(connectionId);
  }
}

/** The copy names its original; its delay runs from the original's arrival (`at`) to now (holds included). */
function relayOf(fromId: string, frameId: number, at: number): TracedRelay {
  return { from: { connectionId: fromId, frameId }, delayUs: Math.max(0, Math.round((clock.now() - at) * 1000)) };
}

/** A leg's row emitters with the pairing in between: a received frame noted, a copy given its relay. */
class PairedRows implements TraceRows {
  constructor(
    private readonly base: TraceRows,
    private readonly leg: LegPairing,
  ) {}

  get ready(): boolean {
    return this.base.ready;
  }

  frame(direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array): void {
    if (direction === 'in') {
      this.leg.received(frameId, raw[0]! & 0x0f);
      this.base.frame(direction, frameId, raw, payload);
    } else {
      this.base.frame(direction, frameId, raw, payload, this.leg.copyOf(raw));
    }
  }

  message(direction: Direction, opcode: number, firstFrameId: number, frameCount: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    this.base.message(direction, opcode, firstFrameId, frameCount, text, data, payloadsOfFrames);
  }

  bytes(direction: Direction, bytes: Uint8Array): void {
    this.base.bytes(direction, bytes);
  }
}

/** A Tracer that is the base tracer, except that each connection's sink goes through `wrap` first. */
export class WrappingTracer extends Tracer {
  constructor(private readonly base: Tracer, private readonly wrap: (connectionId: string, sink: TraceSink) => TraceSink) {
    super();
  }

  override get active(): boolean {
    return this.base.active;
  }

  override subscribe(listener: Parameters<Tracer['subscribe']>[0]): () => void {
    return this.base.subscribe(listener);
  }

  override emit(connectionId: string, body: TraceBody): void {
    this.base.emit(connectionId, body);
  }

  override forConnection(connectionId: string): TraceSink {
    return this.wrap(connectionId, this.base.forConnection(connectionId));
  }
}
