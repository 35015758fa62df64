/**
 * The relay: two WebSocket connections of our own, one per leg (the client's connection to us,
 * server role; ours to the upstream, client role), and what crosses between them. Each leg keeps
 * its own protocol object, its own handshake, extensions, masking and closing handshake; the relay
 * moves what one leg delivers to the other.
 *
 * Messages, not raw frames. A message is passed on once its leg has received and checked it whole
 * (§5.4 reassembly, §8.1 UTF-8 of the whole text, RFC 7692 inflation): a message that turns out
 * invalid in its last fragment fails its own leg and never reaches the other one half-sent, and a
 * leg that vanishes mid-message leaves the other leg between messages, where a Close is clean.
 * Each leg encodes for itself (deflate on one leg and not the other works; each leg's trace shows
 * its own bytes). The sender's fragmentation is kept: the copy is cut into frames carrying the same
 * plain bytes as the original's frames (IncomingMessage.frameSizes), so a message sent in three
 * frames arrives in three. A message of one frame from the upstream that nothing changes goes to
 * the client as the bytes it came in (IncomingMessage.wire): unmasked on both legs (§5.1), so when
 * no extension and no step mode is involved those are the very bytes framing it again would make. The price: a message waits until its last frame arrived (bounded by
 * maxMessageSize, which the leg enforces).
 *
 * Pings and pongs. Each leg is a WebSocket connection with the proxy as its endpoint, so each
 * answers its Pings itself, as §5.5.2 requires of an endpoint ("Upon receipt of a Ping frame, an
 * endpoint MUST send a Pong frame in response"): the protocol does that on each leg. The Ping is
 * also passed on, so the far end sees it (and the trace pairs it); the far end's Pong comes back
 * and is passed on too, reaching the sender as a second Pong, which §5.5.3 allows: "A Pong frame
 * MAY be sent unsolicited." and "A response to an unsolicited Pong frame is not expected."
 *
 * Closing and failures: close-mapping.ts. Backpressure: a leg whose output is past its mark
 * (Connection.writableNeedsDrain) pauses reading from the other leg until it drains.
 *
 * For the debugger: every item passes through `forward` (an option), which may replace or drop
 * it; each leg is a plain Connection, so a FrameGate (step mode) can be switched on per leg.
 */

import type { ProtocolViolation } from '../errors.ts';
import type { CloseInfo, Connection, ConnectionHandler, IncomingMessage } from '../net/connection.ts';
import { mapClose, type LegEnding, type LegSide, type MappedClose } from './close-mapping.ts';
import type { FramePairing, LegPairing, ReceivedFrames } from './frame-pairing.ts';

/** What crosses from one leg to the other. */
export type RelayItem =
  | { kind: 'message'; message: IncomingMessage }
  | { kind: 'ping'; payload: Uint8Array }
  | { kind: 'pong'; payload: Uint8Array };

export interface RelayOptions {
  /** Pairs copies with originals in the trace (absent: not tracing). */
  pairing?: FramePairing | null;
  /** Notes for a leg's trace, by connection id (absent: not tracing). */
  note?: (connectionId: string, text: string) => void;
  /**
   * Called for every item before it goes to the other leg: return the item (or another one) to
   * send, or null to drop it. The debugger's hook; default: passed on as it is.
   */
  forward?: (item: RelayItem, from: LegSide, to: Connection) => RelayItem | null;
  /** A leg ended and the other was told (or was closed already): what happened, for the trace and the UI. */
  onLegEnded?: (side: LegSide, ending: LegEnding, mapped: MappedClose | null) => void;
  /** Both legs are closed. */
  onClosed?: () => void;
  /** A leg's step-mode gate changed (a frame held or released): the debugger's view refreshes. */
  onGateChange?: (conn: Connection) => void;
}

/** A message of one frame: no sizes to cut it at. */
const NO_SIZES: readonly number[] = Object.freeze([]);
/** Not tracing: no originals to pair copies with. */
const NO_ORIGINALS: ReceivedFrames = Object.freeze([]) as unknown as ReceivedFrames;

/**
 * What one read from a leg makes the relay send on the other (many small messages arrive in one
 * TCP read) leaves in one socket write, not one per message: Connection.batchUntilNextTick.
 */
export class Relay {
  /** Items from a leg waiting for the other leg to open (it is still in its handshake). */
  private readonly waiting: Record<LegSide, Array<{ item: RelayItem; originals: ReceivedFrames }>> = { client: [], upstream: [] };
  private readonly waitingPause: Record<LegSide, (() => void) | null> = { client: null, upstream: null };
  /** Reading from this leg is paused until the other drains. */
  private readonly drainPause: Record<LegSide, boolean> = { client: false, upstream: false };
  /** The ending already handled for each leg (a leg ends once). */
  private readonly ended: Record<LegSide, boolean> = { client: false, upstream: false };
  /** Each leg's pairing (null: not tracing). */
  private readonly pairs: Record<LegSide, LegPairing> | null;
  private closedCount = 0;
  private readonly allClosed: Promise<void>;
  private resolveClosed!: () => void;

  /**
   * `client`: the client's connection to us (it may still be in its opening handshake: what the
   * upstream sends meanwhile waits). `upstream`: our connection to the upstream, open.
   */
  constructor(readonly client: Connection, readonly upstream: Connection, private readonly options: RelayOptions = {}) {
    this.allClosed = new Promise((resolve) => (this.resolveClosed = resolve));
    client.setHandler(this.handlerFor('client'));
    upstream.setHandler(this.handlerFor('upstream'));
    // Step mode on either leg: the pairing reads when held frames were held, and which copies a gate took.
    const pairing = options.pairing;
    this.pairs = pairing ? { client: pairing.attach(client), upstream: pairing.attach(upstream) } : null;
    for (const conn of [client, upstream]) {
      if (conn.state === 'CLOSED') this.legClosed(conn === client ? 'client' : 'upstream', { code: 1006, reason: '', wasClean: false });
    }
  }

  /** Resolves once both legs are closed. */
  closed(): Promise<void> {
    return this.allClosed;
  }

  /** The proxy stops: both legs get 1001 Going Away (§7.4.1). */
  stop(): void {
    for (const side of ['client', 'upstream'] as const) {
      const conn = this.leg(side);
      this.ended[side] = true;
      if (conn.state === 'OPEN') conn.close(mapClose(side, { kind: 'proxy-stopping' }).code, 'proxy stopping');
      else if (conn.state === 'CONNECTING') conn.destroy();
    }
  }

  private leg(side: LegSide): Connection {
    return side === 'client' ? this.client : this.upstream;
  }

  private other(side: LegSide): LegSide {
    return side === 'client' ? 'upstream' : 'client';
  }

  private handlerFor(side: LegSide): ConnectionHandler {
    // Nothing may throw out of a socket callback: a failure in the relay closes both legs.
    const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => {
      try {
        fn(...args);
      } catch (error) {
        this.internalError(side, error);
      }
    };
    return {
      onOpen: guard(() => this.flushWaiting(this.other(side))),
      onMessage: guard((_c: Connection, message: IncomingMessage) => this.pass(side, { kind: 'message', message })),
      onPing: guard((_c: Connection, payload: Uint8Array) => this.pass(side, { kind: 'ping', payload })),
      onPong: guard((_c: Connection, payload: Uint8Array) => this.pass(side, { kind: 'pong', payload })),
      onCloseReceived: guard((_c: Connection, code: number | null, reason: string) => this.legEnded(side, { kind: 'close-frame', code, reason })),
      onViolation: guard((c: Connection, violation: ProtocolViolation) => {
        // The observe policy keeps a leg open after a violation: nothing to pass on then.
        if (c.state !== 'OPEN') this.legEnded(side, { kind: 'violation', closeCode: violation.closeCode, message: violation.message });
      }),
      onClose: guard((_c: Connection, info: CloseInfo) => this.legClosed(side, info)),
      onGateChange: guard((c: Connection) => this.options.onGateChange?.(c)),
    };
  }

  /** One item from `side` to the other leg (or into the waiting queue while that leg is in its handshake). */
  private pass(side: LegSide, item: RelayItem): void {
    const toSide = this.other(side);
    const to = this.leg(toSide);
    const from = this.leg(side);
    const originals = this.takeOriginals(side, item);
    if (to.state === 'CONNECTING') {
      this.waiting[side].push({ item, originals });
      // Hold the sender until the other leg is open: what waits is at most one read's worth.
      this.waitingPause[side] ??= from.pauseReading();
      return;
    }
    this.send(side, item, originals);
  }

  private takeOriginals(side: LegSide, item: RelayItem): ReceivedFrames {
    const from = this.pairs?.[side];
    if (!from) return NO_ORIGINALS;
    return item.kind === 'message' ? from.takeMessageFrames(item.message.frameSizes?.length ?? 1) : from.takeControlFrame();
  }

  private send(side: LegSide, original: RelayItem, originals: ReceivedFrames): void {
    const toSide = this.other(side);
    const to = this.leg(toSide);
    const from = this.leg(side);
    if (to.state !== 'OPEN') {
      this.options.note?.(from.id, `Not passed on to ${to.id}: that leg is ${to.state.toLowerCase()} (nothing may be sent after a Close, §5.5.1).`);
      return;
    }
    const item = this.options.forward ? this.options.forward(original, side, to) : original;
    if (!item) return;
    const pairing = this.pairs?.[toSide];
    pairing?.beginCopy(from.id, originals);
    to.batchUntilNextTick();
    try {
      if (item.kind === 'message') {
        const m = item.message;
        // The upstream's frame, passed on unchanged (no hook replaced it, no step mode on either leg):
        // the client gets the bytes it came in, which are the frame we would encode (unmasked both
        // ways, §5.1; sendFrameAsReceived checks), without framing and copying it again.
        const asReceived = m.wire !== undefined && item === original && !from.protocol.deferOutgoingTrace && to.sendFrameAsReceived(m.opcode, m.data, m.wire);
        // Otherwise the same plain bytes per frame as the original: all sizes but the last (it takes the rest).
        if (!asReceived) to.sendFragmented(m.opcode, m.data, m.frameSizes ? m.frameSizes.slice(0, -1) : NO_SIZES);
      } else if (item.kind === 'ping') {
        to.ping(item.payload);
      } else {
        to.pong(item.payload);
      }
    } finally {
      pairing?.endCopy();
    }
    this.backpressure(side);
  }

  /** The other leg's output is past its mark: stop reading from `side` until it drains. */
  private backpressure(side: LegSide): void {
    const to = this.leg(this.other(side));
    if (this.drainPause[side] || !to.writableNeedsDrain) return;
    const from = this.leg(side);
    this.drainPause[side] = true;
    const resume = from.pauseReading();
    this.options.note?.(from.id, `Backpressure: ${to.bufferedAmount} bytes wait to be written to ${to.id}; reading from this leg paused until they drain.`);
    void to.drained().then(() => {
      this.drainPause[side] = false;
      resume();
    });
  }

  private flushWaiting(side: LegSide): void {
    const items = this.waiting[side].splice(0);
    for (const { item, originals } of items) this.send(side, item, originals);
    this.waitingPause[side]?.();
    this.waitingPause[side] = null;
  }

  /** A leg ended (Close received, failed, or lost): close the other with the mapped code. */
  private legEnded(side: LegSide, ending: LegEnding): void {
    if (this.ended[side]) return;
    this.ended[side] = true;
    const from = this.leg(side);
    const to = this.leg(this.other(side));
    let mapped: MappedClose | null = null;
    if (to.state === 'OPEN') {
      mapped = mapClose(side, ending);
      this.options.note?.(to.id, `${mapped.why} (from ${from.id})`);
      const pairing = this.pairs?.[this.other(side)];
      if (ending.kind === 'close-frame' && pairing) pairing.beginCopy(from.id, this.pairs![side].takeControlFrame());
      try {
        to.close(mapped.code, mapped.reason);
      } finally {
        pairing?.endCopy();
      }
    } else if (to.state === 'CONNECTING') {
      // The client's handshake has not finished: it never became a WebSocket, so there is no Close to send.
      this.options.note?.(to.id, `${from.id} ended before this leg's handshake finished: dropping it.`);
      to.destroy();
    }
    this.options.onLegEnded?.(side, ending, mapped);
  }

  private legClosed(side: LegSide, info: CloseInfo): void {
    const conn = this.leg(side);
    if (!this.ended[side]) {
      const detail = info.code === 1006 ? 'TCP closed without a closing handshake (1006)' : `closed (${info.code})`;
      this.legEnded(side, { kind: 'lost', detail });
    }
    // A paused reader waiting on this leg must not wait forever.
    this.waitingPause[this.other(side)]?.();
    this.waitingPause[this.other(side)] = null;
    this.waiting[this.other(side)] = [];
    this.options.pairing?.forget(conn.id);
    if (++this.closedCount === 2) {
      this.options.onClosed?.();
      this.resolveClosed();
    }
  }

  private internalError(side: LegSide, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.options.note?.(this.leg(side).id, `relay error: ${message}; closing both legs`);
    for (const s of ['client', 'upstream'] as const) {
      const conn = this.leg(s);
      this.ended[s] = true;
      try {
        if (conn.state === 'OPEN') conn.close(s === 'client' ? 1014 : 1001, 'proxy error');
        else conn.destroy();
      } catch {
        conn.destroy();
      }
    }
  }
}
