/**
 * Watches what the peer under test sends: parses its frames, checks every rule a sender must
 * follow, reassembles messages, and reports plain events for the judge. It never answers
 * anything itself: the case executor decides what to send.
 *
 * A peer that breaks a rule (a masked frame from a server, an invalid UTF-8 echo, a frame after
 * its Close, ...) produces one 'violation' event; everything after it is ignored.
 *
 * With permessage-deflate agreed (useExtension), a message whose first frame has RSV1 set is
 * compressed: it is inflated as its frames arrive (RFC 7692 §7.2.2), and the message event
 * carries the plain bytes. RSV1 on a control frame or a continuation frame is a violation (RFC
 * 7692 §6.1), and so is data that does not inflate.
 */

import { concatBytes } from '../bytes.ts';
import { describeOpcode, isControlOpcode, isKnownOpcode, Opcode } from '../constants.ts';
import { ProtocolViolation } from '../errors.ts';
import type { Extension } from '../extensions/extension.ts';
import { FrameParser, type Frame } from '../frame-codec.ts';
import { parseClosePayload } from '../protocol.ts';
import { Utf8Validator } from '../utf8.ts';

export type PeerEvent =
  /** compressed: it came with RSV1 (permessage-deflate); data is then the inflated bytes. */
  | { type: 'message'; opcode: number; data: Uint8Array; frames: number; compressed?: boolean }
  | { type: 'ping'; payload: Uint8Array }
  | { type: 'pong'; payload: Uint8Array }
  /** payload: the raw close body (code and reason), to echo it as it came. */
  | { type: 'close'; code: number | null; reason: string; payload: Uint8Array }
  | { type: 'violation'; message: string; rfcSection: string }
  | { type: 'eof'; detail: string };

class PeerViolation extends Error {
  constructor(message: string, readonly rfcSection: string) {
    super(message);
  }
}

export class PeerObserver {
  private readonly parser = new FrameParser({ keepRaw: true });
  private fragmentOpcode: number | null = null;
  private chunks: Uint8Array[] = [];
  private size = 0;
  private frames = 0;
  private readonly utf8 = new Utf8Validator();
  /** The peer has sent its Close frame. */
  private closeSeen = false;
  private broken = false;
  private ended = false;
  /** The agreed extension (permessage-deflate), null: none, so every RSV bit must be 0. */
  private extension: Extension | null = null;
  /** The message in progress came compressed. */
  private compressed = false;

  /**
   * peerRole: what the peer under test is ('server' frames must be unmasked, 'client' frames masked, §5.1).
   * onFrame: sees every complete frame as it arrived (for the wire log).
   */
  constructor(private readonly peerRole: 'server' | 'client', private readonly onFrame?: (frame: Frame) => void) {}

  /** The extension the opening handshake agreed (before any frame arrives). */
  useExtension(extension: Extension | null): void {
    this.extension = extension;
  }

  /** Feeds bytes from the peer; returns the events they complete. */
  feed(data: Uint8Array): PeerEvent[] {
    const out: PeerEvent[] = [];
    if (this.broken || this.ended || data.length === 0) return out;
    try {
      this.parser.feed(data, (event) => {
        if (event.kind === 'frame') this.frame(event.frame, out);
      });
    } catch (error) {
      if (error instanceof PeerViolation) this.violate(out, error.message, error.rfcSection);
      else if (error instanceof ProtocolViolation) this.violate(out, error.message, error.rfcSection);
      else throw error;
    }
    return out;
  }

  /** The peer closed TCP (or the socket is gone). */
  eof(detail: string): PeerEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const partial = this.broken ? 0 : this.parser.partialBytes().length;
    return [{ type: 'eof', detail: partial > 0 ? `${detail} (in the middle of a frame, ${partial} bytes of it received)` : detail }];
  }

  private violate(out: PeerEvent[], message: string, rfcSection: string): void {
    this.broken = true;
    this.parser.reset();
    out.push({ type: 'violation', message, rfcSection });
  }

  private frame(frame: Frame, out: PeerEvent[]): void {
    this.onFrame?.(frame);
    const h = frame.header;
    const name = describeOpcode(h.opcode).name;
    // §5.5.1: "After sending a Close frame, the application MUST NOT send any more data frames."
    // A ping or pong after it is not a data frame: reported as such, for the judge to note.
    if (this.closeSeen && h.opcode !== Opcode.Ping && h.opcode !== Opcode.Pong) throw new PeerViolation(`sent a ${name} frame after its Close frame`, '§5.5.1');
    if (this.peerRole === 'server' && h.masked) throw new PeerViolation(`sent a masked ${name} frame; a server must not mask its frames`, '§5.1');
    if (this.peerRole === 'client' && !h.masked) throw new PeerViolation(`sent an unmasked ${name} frame; a client must mask every frame`, '§5.1, §5.3');
    if (h.rsv1 && this.extension) {
      // RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
      // frames and non-first fragments of a data message."
      if (isControlOpcode(h.opcode)) throw new PeerViolation(`sent a ${name} frame with RSV1 set; the "Per-Message Compressed" bit is never set on control frames`, 'RFC 7692 §6.1');
      if (h.opcode === Opcode.Continuation) throw new PeerViolation('sent a continuation frame with RSV1 set; the "Per-Message Compressed" bit belongs on a message\'s first frame only', 'RFC 7692 §6.1');
    }
    if ((h.rsv1 && !this.extension) || h.rsv2 || h.rsv3) {
      throw new PeerViolation(`sent a ${name} frame with a reserved bit set (${this.extension ? `${this.extension.name} defines RSV1 only` : 'no extension was negotiated'})`, '§5.2');
    }
    if (!isKnownOpcode(h.opcode)) throw new PeerViolation(`sent a frame with the reserved opcode 0x${h.opcode.toString(16)}`, '§5.2');
    if (isControlOpcode(h.opcode)) {
      if (h.payloadLength > 125) throw new PeerViolation(`sent a ${name} frame with ${h.payloadLength} payload bytes; control frames carry at most 125`, '§5.5');
      if (!h.fin) throw new PeerViolation(`sent a fragmented ${name} frame (FIN clear)`, '§5.5');
      if (h.opcode === Opcode.Ping) out.push({ type: 'ping', payload: frame.payload });
      else if (h.opcode === Opcode.Pong) out.push({ type: 'pong', payload: frame.payload });
      else {
        let parsed;
        try {
          parsed = parseClosePayload(frame.payload);
        } catch (error) {
          if (error instanceof ProtocolViolation) throw new PeerViolation(`sent an invalid Close frame: ${error.message}`, error.rfcSection);
          throw error;
        }
        this.closeSeen = true;
        out.push({ type: 'close', code: parsed.code, reason: parsed.reason, payload: frame.payload });
      }
      return;
    }
    if (h.opcode === Opcode.Continuation && this.fragmentOpcode === null) throw new PeerViolation('sent a continuation frame with no message in progress', '§5.4');
    if (h.opcode !== Opcode.Continuation && this.fragmentOpcode !== null) throw new PeerViolation(`started a new ${name} message before finishing its fragmented one`, '§5.4');
    if (h.opcode !== Opcode.Continuation) {
      this.fragmentOpcode = h.opcode;
      this.utf8.reset();
      this.compressed = h.rsv1 && this.extension !== null && this.extension.beginMessage(h);
    }
    // §8.1 applies to the plain bytes: a compressed text message is checked once inflated.
    for (const plain of this.compressed ? this.inflate(frame.payload, h.fin) : [frame.payload]) {
      if (this.fragmentOpcode === Opcode.Text && !this.utf8.push(plain)) {
        throw new PeerViolation(`sent a text message that is not valid UTF-8 (byte ${this.utf8.failedAt}${this.compressed ? ' once inflated' : ''})`, '§8.1');
      }
      this.chunks.push(plain);
      this.size += plain.length;
    }
    this.frames++;
    if (!h.fin) return;
    if (this.fragmentOpcode === Opcode.Text && !this.utf8.complete) throw new PeerViolation('sent a text message that ends inside a UTF-8 character', '§8.1');
    out.push({ type: 'message', opcode: this.fragmentOpcode!, data: concatBytes(this.chunks, this.size), frames: this.frames, ...(this.compressed ? { compressed: true } : {}) });
    this.fragmentOpcode = null;
    this.chunks = [];
    this.size = 0;
    this.frames = 0;
  }

  /** One frame of a compressed message, inflated (the tail appended after the last, RFC 7692 §7.2.2). */
  private inflate(payload: Uint8Array, fin: boolean): Uint8Array[] {
    const extension = this.extension!;
    try {
      const data = extension.decodeChunk(payload, MAX_INFLATED - this.size);
      const end = extension.endFrame(fin, MAX_INFLATED - this.size - data.length);
      return [...data.chunks, ...end.chunks];
    } catch (error) {
      if (error instanceof ProtocolViolation) throw new PeerViolation(`sent a compressed message that cannot be read: ${error.message}`, error.rfcSection);
      throw error;
    }
  }
}

/** The most a compressed message from the peer may inflate to (the battery sends at most 128 KiB per message). */
const MAX_INFLATED = 64 * 1024 * 1024;
