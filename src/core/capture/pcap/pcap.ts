/**
 * The classic libpcap file format (draft-ietf-opsawg-pcap): a 24-byte file header, then records of
 * a 16-byte header and the captured bytes. The magic number tells the byte order of the machine
 * that wrote it and the timestamp resolution: 0xA1B2C3D4 microseconds, 0xA1B23C4D nanoseconds,
 * each in either byte order.
 */

import type { CaptureByteQueue } from './byte-queue.ts';
import { CaptureFormatError, type CaptureFormatParser, type CaptureReaderLimits, type CapturedPacket } from './types.ts';

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Reads the magic in both byte orders; null when it is not a pcap file. */
export function pcapMagic(bytes: Uint8Array): { littleEndian: boolean; nano: boolean } | null {
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic === MAGIC_MICRO) return { littleEndian, nano: false };
    if (magic === MAGIC_NANO) return { littleEndian, nano: true };
  }
  return null;
}

export class PcapParser implements CaptureFormatParser {
  readonly format = 'pcap' as const;
  readonly notes: string[] = [];
  private header: { littleEndian: boolean; nano: boolean; snaplen: number; linkType: number } | null = null;
  private count = 0;

  constructor(private readonly queue: CaptureByteQueue, private readonly limits: CaptureReaderLimits) {}

  drain(emit: (packet: CapturedPacket) => void): void {
    if (!this.header) {
      const bytes = this.queue.peek(FILE_HEADER);
      if (!bytes) return;
      const magic = pcapMagic(bytes);
      if (!magic) throw new CaptureFormatError('not a pcap file header', this.queue.consumed);
      const view = new DataView(bytes.buffer, bytes.byteOffset, FILE_HEADER);
      const major = view.getUint16(4, magic.littleEndian);
      if (major !== 2) this.notes.push(`pcap version ${major}.${view.getUint16(6, magic.littleEndian)} (expected 2.4); read as 2.4`);
      const network = view.getUint32(20, magic.littleEndian);
      // The top bits of the LinkType field may say that frames carry an FCS (draft §4 "FCS len").
      if (network & 0x10000000) this.notes.push(`the file says its frames end with a ${(network >>> 29) * 2}-byte FCS`);
      this.header = { ...magic, snaplen: view.getUint32(16, magic.littleEndian), linkType: network & 0x0fffffff };
      this.queue.skip(FILE_HEADER);
    }
    const h = this.header;
    for (;;) {
      const recordHeader = this.queue.peek(RECORD_HEADER);
      if (!recordHeader) return;
      const view = new DataView(recordHeader.buffer, recordHeader.byteOffset, RECORD_HEADER);
      const seconds = view.getUint32(0, h.littleEndian);
      const fraction = view.getUint32(4, h.littleEndian);
      const capturedLength = view.getUint32(8, h.littleEndian);
      const originalLength = view.getUint32(12, h.littleEndian);
      if (capturedLength > this.limits.maxRecordLength) {
        throw new CaptureFormatError(`packet ${this.count + 1} claims ${capturedLength} captured bytes, more than the ${this.limits.maxRecordLength}-byte limit: the file is damaged`, this.queue.consumed);
      }
      const record = this.queue.peek(RECORD_HEADER + capturedLength);
      if (!record) return;
      // A view, not a copy: whoever keeps packet bytes (the TCP reassembly) copies what it keeps.
      const data = record.subarray(RECORD_HEADER);
      this.queue.skip(RECORD_HEADER + capturedLength);
      this.count++;
      const time = seconds * 1000 + (h.nano ? fraction / 1e6 : fraction / 1e3);
      emit({ number: this.count, linkType: h.linkType, time, data, originalLength, interfaceId: 0 });
    }
  }

  describeLeftover(): string | null {
    if (this.queue.length === 0) return null;
    if (!this.header) return `the file ends inside the ${FILE_HEADER}-byte pcap header (${this.queue.length} bytes)`;
    return `the file ends inside packet ${this.count + 1} (${this.queue.length} bytes of it were there)`;
  }
}
