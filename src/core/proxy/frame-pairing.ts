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

/** A frame received on a leg: its id and when it arrived (performance.now(), ms). */
export interface ReceivedFrame {
  frameId: number;
  at: number;
}

/** What the pairing reads from a leg's Connection: its step-mode gate (net/connection.ts). */
export interface PairedLeg {
  readonly id: string;
  /** Set while a held incoming frame is handed to the protocol: when it was held. */
  readonly releasingHeldSince: number | null;
  gateSnapshot(): GateSnapshot | null;
}

/** A copy the gate holds: its original, and the leg that original came from. */
interface HeldCopy {
  fromId: string;
  original: ReceivedFrame;
}

interface LegTrack {
  /**
   * Data frames received and not yet taken, in order. One TCP read can carry several messages:
   * all their frames are traced before the first message is handed out, so each message takes
   * only its own frames from the front.
   */
  dataFrames: ReceivedFrame[];
  /** Control frames received (Ping, Pong, Close) and not yet taken, in order. */
  control: ReceivedFrame[];
  /**
   * While the relay sends a copy on this leg: the originals, matched to outgoing frames in order;
   * heldBefore: how many outgoing frames the leg's gate held when the copy began (null: no gate).
   */
  copying: { fromId: string; originals: ReceivedFrame[]; next: number; heldBefore: number | null } | null;
  /** The leg's Connection, once the relay runs (absent: no step mode to account for). */
  source: PairedLeg | null;
}

/** Frames wait here only until their message (or control frame) is handed out; this guards against a leak if one never is. */
const MAX_TRACKED = 100_000;

const outgoing = (gate: GateSnapshot): GateSnapshot['held'] => gate.held.filter((h) => h.direction === 'out');

export class FramePairing {
  private readonly legs = new Map<string, LegTrack>();
  /** Copies held by a gate, by the bytes the gate holds: marked when traced (released). */
  private readonly heldCopies = new WeakMap<Uint8Array, HeldCopy>();

  private track(connectionId: string): LegTrack {
    let leg = this.legs.get(connectionId);
    if (!leg) {
      leg = { dataFrames: [], control: [], copying: null, source: null };
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
        if (body.direction === 'in') this.received(leg, body.frame.frameId, body.frame.opcode);
        else {
          const relay = this.copyOf(leg, body.frame.edited?.original ?? body.frame.raw);
          if (relay) body.frame.relay = relay;
        }
      }
      sink(body);
    };
    if (sink.rows) wrapped.rows = new PairedRows(sink.rows, (direction, frameId, raw) => {
      if (direction === 'in') {
        this.received(leg, frameId, raw[0]! & 0x0f);
        return undefined;
      }
      return this.copyOf(leg, raw);
    });
    return wrapped;
  }

  /** A frame received on the leg: noted with when it arrived (or was held, in step mode). */
  private received(leg: LegTrack, frameId: number, opcode: number): void {
    const list = opcode <= Opcode.Binary ? leg.dataFrames : leg.control;
    if (list.length < MAX_TRACKED) list.push({ frameId, at: leg.source?.releasingHeldSince ?? performance.now() });
  }

  /**
   * A frame sent on the leg: a copy being made (the next original of the copy under way), a copy
   * the gate held, released now (`bytes`: as the gate held it), or none.
   */
  private copyOf(leg: LegTrack, bytes: Uint8Array): TracedRelay | undefined {
    const copying = leg.copying;
    if (copying && copying.next < copying.originals.length) return relayOf(copying.fromId, copying.originals[copying.next++]!);
    const held = this.heldCopies.get(bytes);
    if (!held) return undefined;
    this.heldCopies.delete(bytes);
    return relayOf(held.fromId, held.original);
  }

  /** A Tracer whose per-connection sinks are wrapped (for a leg opened by connectClient, which takes a Tracer). */
  wrapTracer(base: Tracer): Tracer {
    return new WrappingTracer(base, (connectionId, sink) => this.wrap(connectionId, sink));
  }

  /** The frames of the message handed out now on this leg: the oldest `count` data frames not taken yet. */
  takeMessageFrames(connectionId: string, count: number): ReceivedFrame[] {
    return this.track(connectionId).dataFrames.splice(0, count);
  }

  /** The control frame handed out now on this leg: the oldest not taken yet. */
  takeControlFrame(connectionId: string): ReceivedFrame[] {
    return this.track(connectionId).control.splice(0, 1);
  }

  /** The leg's Connection: how its step-mode gate holds frames (the relay attaches both legs). */
  attach(leg: PairedLeg): void {
    this.track(leg.id).source = leg;
  }

  /** Frames traced as sent on `toId` until endCopy are copies of these originals from `fromId`. */
  beginCopy(toId: string, fromId: string, originals: ReceivedFrame[]): void {
    const leg = this.track(toId);
    const gate = leg.source?.gateSnapshot();
    leg.copying = { fromId, originals, next: 0, heldBefore: gate ? outgoing(gate).length : null };
  }

  /**
   * The copy is written, or held: the originals not matched to a frame traced meanwhile went into
   * the gate (once a frame is held, the ones after it queue behind it: the gate keeps order), so
   * the frames it took since beginCopy are their copies, in order.
   */
  endCopy(toId: string): void {
    const leg = this.track(toId);
    const copying = leg.copying;
    leg.copying = null;
    if (!copying || copying.heldBefore === null || !leg.source || copying.next >= copying.originals.length) return;
    const gate = leg.source.gateSnapshot();
    const taken = gate ? outgoing(gate).slice(copying.heldBefore) : [];
    const left = copying.originals.slice(copying.next);
    for (let i = 0; i < Math.min(taken.length, left.length); i++) this.heldCopies.set(taken[i]!.original, { fromId: copying.fromId, original: left[i]! });
  }

  /** Forget a leg (its connection is closed). */
  forget(connectionId: string): void {
    this.legs.delete(connectionId);
  }
}

/** The copy names its original; its delay runs from the original's arrival to now (holds included). */
function relayOf(fromId: string, original: ReceivedFrame): TracedRelay {
  return { from: { connectionId: fromId, frameId: original.frameId }, delayUs: Math.max(0, Math.round((performance.now() - original.at) * 1000)) };
}

/** A leg's row emitters with the pairing in between: a received frame noted, a copy given its relay. */
class PairedRows implements TraceRows {
  constructor(
    private readonly base: TraceRows,
    private readonly pair: (direction: Direction, frameId: number, raw: Uint8Array) => TracedRelay | undefined,
  ) {}

  get ready(): boolean {
    return this.base.ready;
  }

  frame(direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array): void {
    this.base.frame(direction, frameId, raw, payload, this.pair(direction, frameId, raw));
  }

  message(direction: Direction, opcode: number, firstFrameId: number, frameCount: number, text: string | undefined, data: Uint8Array, payloadsOfFrames = false): void {
    this.base.message(direction, opcode, firstFrameId, frameCount, text, data, payloadsOfFrames);
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
