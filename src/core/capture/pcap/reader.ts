/**
 * Reads a capture file as it streams in, pcap or pcapng (told apart by their first four bytes).
 * Sans I/O: chunks in (any sizes), packets out through a callback. A file that is damaged or cut
 * short stops the reading with one line saying what and where; every packet before that point has
 * already been handed on.
 *
 * Why our own reader: the npm registry's pcap readers are libpcap bindings for live capture
 * ("pcap") or read only classic pcap and are no longer maintained ("pcap-parser" 0.2.1); none
 * reads pcapng, streams, and bounds what a hostile file can make it allocate. Both formats are
 * small (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng).
 */

import { CaptureByteQueue } from './byte-queue.ts';
import { isPcapng, PcapngParser } from './pcapng.ts';
import { PcapParser, pcapMagic } from './pcap.ts';
import { CaptureFormatError, defaultCaptureReaderLimits, type CaptureFormat, type CaptureFormatParser, type CaptureReaderLimits, type CapturedPacket } from './types.ts';

export interface CaptureReadSummary {
  format: CaptureFormat | null;
  packets: number;
  bytes: number;
  /** Why the reading stopped early (damaged or truncated file, not a capture), or null. */
  error: string | null;
  notes: string[];
}

export class CaptureReader {
  private readonly queue = new CaptureByteQueue();
  private parser: CaptureFormatParser | null = null;
  private error: string | null = null;
  private packets = 0;
  private ended = false;

  constructor(private readonly onPacket: (packet: CapturedPacket) => void, private readonly limits: CaptureReaderLimits = defaultCaptureReaderLimits) {}

  get format(): CaptureFormat | null {
    return this.parser?.format ?? null;
  }

  /** Reading has stopped (an error); further chunks are ignored. */
  get failed(): boolean {
    return this.error !== null;
  }

  push(chunk: Uint8Array): void {
    if (this.error || this.ended) return;
    this.queue.push(chunk);
    this.run();
  }

  end(): CaptureReadSummary {
    if (!this.ended && !this.error) {
      this.ended = true;
      if (!this.parser) {
        this.error = this.queue.length === 0 ? 'the file is empty' : `the file is too short to be a capture (${this.queue.length} bytes)`;
      } else {
        const leftover = this.parser.describeLeftover();
        if (leftover) this.error = `truncated: ${leftover}`;
      }
    }
    return { format: this.format, packets: this.packets, bytes: this.queue.consumed + this.queue.length, error: this.error, notes: this.parser?.notes.slice() ?? [] };
  }

  private run(): void {
    try {
      if (!this.parser) {
        const magic = this.queue.peek(4);
        if (!magic) return;
        if (isPcapng(magic)) this.parser = new PcapngParser(this.queue, this.limits);
        else if (pcapMagic(magic)) this.parser = new PcapParser(this.queue, this.limits);
        else {
          const hex = Array.from(magic, (b) => b.toString(16).padStart(2, '0')).join(' ');
          throw new CaptureFormatError(`not a pcap or pcapng file: it starts with ${hex} (pcap starts with a1 b2 c3 d4 or d4 c3 b2 a1, pcapng with 0a 0d 0d 0a)`, 0);
        }
      }
      this.parser.drain((packet) => {
        this.packets++;
        this.onPacket(packet);
      });
    } catch (error) {
      if (!(error instanceof CaptureFormatError)) throw error;
      this.error = error.message;
    }
  }
}
