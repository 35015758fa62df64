/**
 * The frame gate: step mode for one connection. It sits between the socket and the protocol,
 * holding whole frames in either direction (incoming before the application sees them,
 * outgoing before they are written) until the user steps, edits or drops them. Sans-I/O:
 * bytes in, bytes out, no timers, no sockets.
 *
 * Order is kept per direction: once a frame is held, later frames in that direction queue
 * behind it, so stepping never reorders the conversation.
 */

import { toHex, utf8DecodeLenient } from './bytes.ts';
import { frameAnatomy } from './fields.ts';
import { FrameParser } from './frame-codec.ts';
import type { Direction } from './trace.ts';

export interface Breakpoint {
  id: string;
  /** Which traffic it watches. */
  direction: Direction | 'both';
  /** Opcodes it stops on; empty means any. */
  opcodes: number[];
  /** Payload size range, inclusive. */
  minSize?: number;
  maxSize?: number;
  /** Substring of the payload, as UTF-8 text or as hex ("hex:de ad"). */
  payloadMatch?: string;
  enabled: boolean;
}

export interface HeldFrame {
  holdId: number;
  direction: Direction;
  /** The bytes as they arrived or were produced. */
  original: Uint8Array;
  /** The bytes that will go on if released (edited or original). */
  bytes: Uint8Array;
  edited: boolean;
  /** Why it is held: "step mode" or the breakpoint's id. */
  reason: string;
  /** When it was held (the gate's clock, ms): the proxy's frame pairing counts the hold in the delay it added. */
  heldAt: number;
  /**
   * Incoming only: dropped while an older incoming frame was still held. It waits, out of sight,
   * to go to the protocol as dropped right after the frames before it (see `drop`).
   */
  dropped?: true;
}

export interface GateSnapshot {
  stepMode: boolean;
  /** Breakpoints fire only while armed (Continue arms them; Resume disarms). */
  armed: boolean;
  breakpoints: Breakpoint[];
  held: HeldFrame[];
}

/** A frame let through, for the caller to deliver or write. */
export interface Released {
  direction: Direction;
  bytes: Uint8Array;
  holdId: number | null;
  edited: boolean;
  /** For an edited frame: the bytes as they arrived or were produced, before the edit. */
  original?: Uint8Array;
  /** A frame that was held: when (the gate's clock, ms). */
  heldAt?: number;
  /**
   * An incoming frame the user dropped: the application must never get the message it belongs to,
   * but the protocol still reads it, in its place in the stream, so that what comes after it parses
   * as the peer sent it (a fragmented message's next frames; RFC 7692's shared decompression window).
   */
  dropped?: true;
}

/** Largest frame the gate will hold; bigger ones pass straight through (never buffered). */
const MAX_HELD_FRAME = 64 * 1024 * 1024;

export function matchesBreakpoint(bp: Breakpoint, direction: Direction, frame: Uint8Array): boolean {
  if (!bp.enabled) return false;
  if (bp.direction !== 'both' && bp.direction !== direction) return false;
  const anatomy = frameAnatomy(frame);
  const opcode = frame[0]! & 0x0f;
  if (bp.opcodes.length > 0 && !bp.opcodes.includes(opcode)) return false;
  const size = anatomy.payloadLength ?? 0;
  if (bp.minSize !== undefined && size < bp.minSize) return false;
  if (bp.maxSize !== undefined && size > bp.maxSize) return false;
  if (bp.payloadMatch) {
    const needle = bp.payloadMatch;
    if (needle.toLowerCase().startsWith('hex:')) {
      const hex = needle.slice(4).replace(/[\s:]/g, '').toLowerCase();
      if (!toHex(anatomy.payload).includes(hex)) return false;
    } else if (!utf8DecodeLenient(anatomy.payload).includes(needle)) {
      return false;
    }
  }
  return true;
}

export class FrameGate {
  private stepMode = false;
  private armed = true;
  private breakpoints: Breakpoint[] = [];
  private held: HeldFrame[] = [];
  private nextHoldId = 1;
  /** Splits incoming bytes into whole frames. */
  private splitter = new FrameParser({ keepRaw: true });
  /** Incoming bytes of an oversized frame still to pass straight through. */
  private passThrough = 0;
  /** The splitter hit bytes it cannot frame: from then on everything passes through. */
  private broken = false;

  /** `now`: the clock held frames are stamped with (ms); the caller's, so the gate stays free of I/O. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Is the gate doing anything at all? (If not, the caller may skip it.) */
  get active(): boolean {
    return this.stepMode || this.held.length > 0 || (this.armed && this.breakpoints.some((b) => b.enabled));
  }

  /** Bytes of every frame held, both directions (the connection stops reading past its high-water mark). */
  get heldBytes(): number {
    let n = 0;
    for (const h of this.held) n += h.bytes.length;
    return n;
  }

  /**
   * Incoming bytes are still in the gate: a frame held (or dropped, waiting behind one), a frame
   * part-split, or an oversized one streaming through. What arrives next must come behind them.
   */
  /** Whole incoming frames held (shown, or dropped and waiting their turn). */
  get holdsIncomingFrames(): boolean {
    return this.held.some((h) => h.direction === 'in');
  }

  get holdsIncoming(): boolean {
    return this.passThrough > 0 || this.held.some((h) => h.direction === 'in') || (!this.broken && this.splitter.describe() !== 'waiting for a new frame');
  }

  snapshot(): GateSnapshot {
    return {
      stepMode: this.stepMode, armed: this.armed,
      breakpoints: this.breakpoints.map((b) => ({ ...b, opcodes: [...b.opcodes] })),
      held: this.held.filter((h) => !h.dropped).map((h) => ({ ...h })),
    };
  }

  setStepMode(on: boolean): void {
    this.stepMode = on;
  }

  setBreakpoints(breakpoints: Breakpoint[]): void {
    this.breakpoints = breakpoints.map((b) => ({ ...b, opcodes: [...b.opcodes] }));
  }

  /** Incoming bytes from the socket: returns whole frames (or pass-through bytes) for the protocol now. */
  receive(bytes: Uint8Array): Released[] {
    if (this.broken) return [{ direction: 'in', bytes, holdId: null, edited: false }];
    const out: Released[] = [];
    let rest = bytes;
    if (this.passThrough > 0) {
      const n = Math.min(this.passThrough, rest.length);
      out.push({ direction: 'in', bytes: rest.subarray(0, n), holdId: null, edited: false });
      this.passThrough -= n;
      rest = rest.subarray(n);
      if (rest.length === 0) return out;
    }
    try {
      this.splitter.feed(rest, (event) => {
        if (event.kind === 'header' && event.header.payloadLength > MAX_HELD_FRAME) {
          // Too big to hold: hand over what we have and let the rest stream through.
          throw new OversizedFrame(event.header.headerLength + event.header.payloadLength);
        }
        if (event.kind === 'frame') out.push(...this.offer('in', event.frame.raw!));
      });
    } catch (error) {
      if (error instanceof OversizedFrame) {
        // What has not arrived yet of this frame streams through later; what has, goes now.
        const remaining = this.splitter.bytesNeeded;
        const buffered = this.splitter.takeAll();
        this.passThrough = Math.max(0, remaining);
        out.push({ direction: 'in', bytes: buffered.subarray(0, buffered.length - Math.max(0, -remaining)), holdId: null, edited: false });
        if (remaining < 0) out.push(...this.receive(buffered.subarray(buffered.length + remaining)));
        return out;
      }
      // A length the splitter cannot represent: stop framing, let the protocol judge it.
      this.broken = true;
      out.push({ direction: 'in', bytes: this.splitter.takeAll(), holdId: null, edited: false });
    }
    return out;
  }

  /** An outgoing frame: returns what may be written now. */
  send(frame: Uint8Array): Released[] {
    return this.offer('out', frame);
  }

  private offer(direction: Direction, frame: Uint8Array): Released[] {
    const queued = this.held.some((h) => h.direction === direction);
    let reason: string | null = null;
    if (queued) reason = 'queued behind a held frame';
    else if (this.stepMode) reason = 'step mode';
    else if (this.armed) reason = this.breakpoints.find((b) => matchesBreakpoint(b, direction, frame))?.id ?? null;
    if (reason === null) return [{ direction, bytes: frame, holdId: null, edited: false }];
    if (!queued && !this.stepMode) this.stepMode = true; // a breakpoint pauses: from here on, step
    this.held.push({ holdId: this.nextHoldId++, direction, original: frame, bytes: frame, edited: false, reason, heldAt: this.now() });
    return [];
  }

  /** Lets the oldest held frame in a direction go (or the oldest of all). */
  step(direction?: Direction): Released[] {
    // A dropped frame is never first in its direction (drop lets it go once it is), so this is the oldest shown.
    const index = this.held.findIndex((h) => direction === undefined || h.direction === direction);
    if (index < 0) return [];
    const [h] = this.held.splice(index, 1);
    return [released(h!), ...this.releaseLeadingDropped()];
  }

  /** Releases everything held and runs until the next breakpoint. */
  continue(): Released[] {
    this.stepMode = false;
    this.armed = true;
    return this.releaseAll();
  }

  /** Releases everything held and stops holding (breakpoints disarmed until Continue). */
  resume(): Released[] {
    this.stepMode = false;
    this.armed = false;
    return this.releaseAll();
  }

  edit(holdId: number, bytes: Uint8Array): boolean {
    const h = this.held.find((x) => x.holdId === holdId && !x.dropped);
    if (!h) return false;
    h.bytes = bytes;
    h.edited = true;
    return true;
  }

  /**
   * Drops a held frame; null if it is not held. An outgoing one is forgotten: it never goes on the
   * wire. An incoming one is handed back marked `dropped` once every incoming frame before it has
   * gone (at once if none is held): the protocol reads it in order, and the application never gets
   * its message.
   */
  drop(holdId: number): Released[] | null {
    const index = this.held.findIndex((x) => x.holdId === holdId && !x.dropped);
    if (index < 0) return null;
    const h = this.held[index]!;
    if (h.direction === 'out') {
      this.held.splice(index, 1);
      return [];
    }
    h.dropped = true;
    return this.releaseLeadingDropped();
  }

  /** Dropped incoming frames with no incoming frame still held before them, in order. */
  private releaseLeadingDropped(): Released[] {
    const out: Released[] = [];
    for (let i = 0; i < this.held.length;) {
      const h = this.held[i]!;
      if (h.direction !== 'in') {
        i++;
        continue;
      }
      if (!h.dropped) break;
      this.held.splice(i, 1);
      out.push(released(h));
    }
    return out;
  }

  private releaseAll(): Released[] {
    const out = this.held.map(released);
    this.held = [];
    return out;
  }
}

function released(h: HeldFrame): Released {
  // A dropped frame goes to the protocol as the peer sent it, whatever edit it had: only the peer's
  // own bytes keep the stream after it in step with the peer.
  if (h.dropped) return { direction: h.direction, bytes: h.original, holdId: h.holdId, edited: false, heldAt: h.heldAt, dropped: true };
  return { direction: h.direction, bytes: h.bytes, holdId: h.holdId, edited: h.edited, heldAt: h.heldAt, ...(h.edited ? { original: h.original } : {}) };
}

class OversizedFrame extends Error {
  constructor(readonly frameLength: number) {
    super('frame too large to hold');
  }
}
