/** What the capture file readers (pcap, pcapng) hand on: packets with their link type and time. */

export interface CapturedPacket {
  /** 1-based packet number in the file, as Wireshark counts them. */
  number: number;
  /** LINKTYPE_* of the interface the packet was captured on (Ethernet 1, SLL 113, ...). */
  linkType: number;
  /** Milliseconds since the epoch (microsecond precision survives; nanoseconds are rounded). null: the block has none (pcapng SPB). */
  time: number | null;
  /** The bytes captured (may be fewer than the packet had: snaplen). */
  data: Uint8Array;
  /** The packet's length on the wire. */
  originalLength: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** A reader's limits: a capture file is hostile input, and no field of it can make us allocate without bound. */
export interface CaptureReaderLimits {
  /** The largest pcapng block or pcap record accepted (bytes). Default 16 MiB. */
  maxRecordLength: number;
}

export const defaultCaptureReaderLimits: CaptureReaderLimits = { maxRecordLength: 16 * 1024 * 1024 };

/** The file cannot be read further: what, where, in one line. Everything before it was handed on. */
export class CaptureFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'CaptureFormatError';
  }
}

/** A format parser: bytes in, packets out (sans I/O). */
export interface CaptureFormatParser {
  readonly format: CaptureFormat;
  /** Parses what it can of the queued bytes; throws CaptureFormatError on bytes it cannot read. */
  drain(emit: (packet: CapturedPacket) => void): void;
  /** Notes about the file (unknown blocks skipped, FCS present...), deduplicated. */
  readonly notes: string[];
  /** Describes the incomplete record left at the end of the file, or null when the file ended on a record boundary. */
  describeLeftover(): string | null;
}
