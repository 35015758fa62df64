/**
 * Pairs each frame the relay sends with the frame it copies on the other leg ("this frame from
 * the client became that frame to the server"), and the delay the proxy added, by watching each
 * leg's trace on its way to the tracer: frames received are noted with the time they were
 * traced; frames sent while the relay copies something get `relay: { from, delayUs }`
 * (TracedFrame.relay). Only when tracing: without a tracer there is nothing to pair.
 *
 * Not yet: a leg in step mode traces its outgoing frames when the gate releases them, after the
 * copy was made, so such a copy is not marked (the debugger knows which held frame it is).
 */

import { Opcode } from '../constants.ts';
import { Tracer, type TraceBody } from '../trace.ts';

export type TraceSink = (body: TraceBody) => void;

/** A frame received on a leg: its id and when it was traced (performance.now(), ms). */
export interface ReceivedFrame {
  frameId: number;
  at: number;
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
  /** While the relay sends a copy on this leg: the originals, matched to outgoing frames in order. */
  copying: { fromId: string; originals: ReceivedFrame[]; next: number } | null;
}

/** Frames wait here only until their message (or control frame) is handed out; this guards against a leak if one never is. */
const MAX_TRACKED = 100_000;

export class FramePairing {
  private readonly legs = new Map<string, LegTrack>();

  private track(connectionId: string): LegTrack {
    let leg = this.legs.get(connectionId);
    if (!leg) {
      leg = { dataFrames: [], control: [], copying: null };
      this.legs.set(connectionId, leg);
    }
    return leg;
  }

  /** A trace sink for one leg that notes received frames and marks copies, then passes events on. */
  wrap(connectionId: string, sink: TraceSink): TraceSink {
    const leg = this.track(connectionId);
    return (body) => {
      if (body.type === 'frame') {
        if (body.direction === 'in') {
          const received = { frameId: body.frame.frameId, at: performance.now() };
          const list = body.frame.opcode <= Opcode.Binary ? leg.dataFrames : leg.control;
          if (list.length < MAX_TRACKED) list.push(received);
        } else if (leg.copying) {
          const original = leg.copying.originals[leg.copying.next++];
          if (original) {
            body.frame.relay = { from: { connectionId: leg.copying.fromId, frameId: original.frameId }, delayUs: Math.max(0, Math.round((performance.now() - original.at) * 1000)) };
          }
        }
      }
      sink(body);
    };
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

  /** Frames traced as sent on `toId` until endCopy are copies of these originals from `fromId`. */
  beginCopy(toId: string, fromId: string, originals: ReceivedFrame[]): void {
    this.track(toId).copying = { fromId, originals, next: 0 };
  }

  endCopy(toId: string): void {
    this.track(toId).copying = null;
  }

  /** Forget a leg (its connection is closed). */
  forget(connectionId: string): void {
    this.legs.delete(connectionId);
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
