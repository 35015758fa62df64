/**
 * Large outgoing messages compressed off the event loop, sent in order.
 *
 * The protocol object is synchronous (sans-I/O): compressing a message with permessage-deflate
 * (RFC 7692) inside protocol.sendText() runs zlib on the event loop, about 10 ms per MiB of text
 * at zlib's default level, during which this process serves nothing else. ws hands that work to
 * libuv's thread pool. This outbox does the same at the I/O layer, without making the protocol
 * asynchronous: a message of OFFLOAD_MIN_BYTES or more is first compressed in the thread pool by
 * the agreed extension (Extension.prepareMessage, the same zlib stream, so context takeover stays
 * exact), then sent as usual; the extension's encodeMessage() hands the protocol the prepared
 * result. While one is being compressed, every later data message and a Close wait behind it, so
 * messages leave in the order they were sent (RFC 6455 §5.4: frames of different messages are not
 * interleaved; RFC 7692 §7.2.1: the peer's window must see our messages in our window's order).
 * Pings and Pongs do not wait: control frames may go between messages (§5.4), and none is compressed.
 *
 * What waits here counts as bytes waiting to be written (Connection.bufferedAmount), so reading
 * from the peer pauses while it is past the write high-water mark: memory stays bounded.
 */

import { utf8Encode } from '../bytes.ts';
import { Opcode } from '../constants.ts';
import type { WebSocketProtocol } from '../protocol.ts';

/**
 * Messages at least this long are compressed in the thread pool. Below it the hand-off (a few
 * thread-pool round trips and a promise) costs more than it frees: zlib takes about 0.3 ms for
 * 32 KiB of JSON-like text at the default level (scripts/bench-deflate.ts measures both sides).
 */
export const OFFLOAD_MIN_BYTES = 32 * 1024;

export type OutboxEntry =
  /** utf8: the text's UTF-8, once prepare() has encoded it (the protocol then does not encode it again). */
  | { kind: 'text'; text: string; size: number; utf8?: Uint8Array }
  | { kind: 'binary'; data: Uint8Array; size: number }
  | { kind: 'fragmented'; opcode: number; data: Uint8Array; sizes: readonly number[]; size: number }
  | { kind: 'close'; code: number | null | undefined; reason: string | undefined; size: number };

/** What the outbox needs from its connection. */
export interface OutboxHost {
  readonly protocol: WebSocketProtocol;
  /** Sends one entry now, synchronously (through the protocol, then onto the socket). */
  sendNow(entry: OutboxEntry): void;
  /** A note for the connection's trace. */
  note(text: string): void;
  /** An entry left the outbox (backpressure may ease). */
  left(): void;
}

export class OffloadOutbox {
  private readonly queue: OutboxEntry[] = [];
  private running = false;
  /** Bytes of the messages waiting (plain sizes). */
  bytes = 0;
  /** A Close waits here: nothing may be sent after it (§5.5.1). */
  closeQueued = false;

  constructor(private readonly host: OutboxHost) {}

  /** Something waits or is being compressed: later messages must wait behind it. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /** Would this message be compressed off the event loop (the connection agreed an extension that can)? */
  static worthOffloading(protocol: WebSocketProtocol, size: number): boolean {
    return size >= OFFLOAD_MIN_BYTES && protocol.state === 'OPEN' && protocol.extensionInForce?.prepareMessage !== undefined;
  }

  push(entry: OutboxEntry): void {
    this.queue.push(entry);
    this.bytes += entry.size;
    // The protocol holds a Close reply for the messages we hold (§5.5.1 "MAY delay"; WebSocketProtocol.heldOutgoing).
    if (entry.kind === 'close') this.closeQueued = true;
    else this.host.protocol.heldOutgoing++;
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    let dropped = 0;
    try {
      while (this.queue.length > 0) {
        const entry = this.queue[0]!;
        const preparing = this.prepare(entry);
        if (preparing) await preparing;
        this.queue.shift();
        this.bytes -= entry.size;
        if (entry.kind !== 'close') this.host.protocol.heldOutgoing--;
        if (this.host.protocol.state !== 'OPEN') {
          if (entry.kind !== 'close') dropped++;
        } else {
          try {
            this.host.sendNow(entry);
          } catch (error) {
            this.host.note(`A queued ${entry.kind === 'close' ? 'Close' : 'message'} was not sent: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        this.host.left();
      }
    } catch (error) {
      // Never out of a callback: say it, forget what waits.
      this.host.note(`Compressing a message off the event loop failed: ${error instanceof Error ? error.message : String(error)}; ${this.queue.length} queued message(s) not sent.`);
      this.host.protocol.heldOutgoing -= this.queue.filter((e) => e.kind !== 'close').length;
      this.queue.length = 0;
      this.bytes = 0;
      this.host.left();
    } finally {
      this.running = false;
    }
    if (dropped > 0) this.host.note(`${dropped} queued message${dropped === 1 ? ' was' : 's were'} not sent: the connection stopped being open while ${dropped === 1 ? 'it' : 'they'} waited behind a message being compressed.`);
  }

  /** Starts the compression of a large data message in the thread pool; null: it is sent as it is. */
  private prepare(entry: OutboxEntry): Promise<void> | null {
    const protocol = this.host.protocol;
    if (entry.kind === 'close' || entry.kind === 'fragmented' || !OffloadOutbox.worthOffloading(protocol, entry.size)) return null;
    const extension = protocol.extensionInForce!;
    if (entry.kind === 'binary') return extension.prepareMessage!(Opcode.Binary, [entry.data]);
    // Encoded once: these same bytes are compressed now and handed to the protocol when sent.
    entry.utf8 = utf8Encode(entry.text);
    return extension.prepareMessage!(Opcode.Text, [entry.utf8]);
  }
}
