/**
 * The pcapng file format (draft-ietf-opsawg-pcapng), the one Wireshark and dumpcap write.
 *
 * A file is a sequence of blocks: type (4 bytes), total length (4), body, total length again (4).
 * A Section Header Block (SHB, type 0x0A0D0D0A) starts each section and its byte-order magic
 * 0x1A2B3C4D says in which byte order the section is written. Interface Description Blocks (IDB)
 * give each interface's link type, snaplen and timestamp resolution (if_tsresol, option 9:
 * 10^-n seconds, or 2^-n when its top bit is set; microseconds when absent) and offset
 * (if_tsoffset, option 14). Packets come in Enhanced Packet Blocks (EPB), Simple Packet Blocks
 * (SPB: no timestamp, interface 0) or the obsolete Packet Block. Other blocks are skipped.
 *
 * Framing errors (a length that is not a multiple of 4, shorter than a block can be, over the
 * limit, or whose trailing copy differs) end the reading: past them no block boundary can be
 * trusted. A block whose framing is fine but whose inside is inconsistent is skipped with a note.
 */

import type { CaptureByteQueue } from './byte-queue.ts';
import { CaptureFormatError, type CaptureFormatParser, type CaptureReaderLimits, type CapturedPacket } from './types.ts';

export const SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB_TYPE = 0x00000001;
const OPB_TYPE = 0x00000002;
const SPB_TYPE = 0x00000003;
const EPB_TYPE = 0x00000006;
/** Blocks that carry nothing we show: Name Resolution, Interface Statistics, Decryption Secrets, journal, custom. */
const QUIETLY_SKIPPED = new Set([0x00000004, 0x00000005, 0x0000000a, 0x00000009, 0x00000bad, 0x40000bad]);

const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
  offsetSeconds: number;
}

/** True when the bytes start with a Section Header Block. */
export function isPcapng(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) === SHB_TYPE;
}

export class PcapngParser implements CaptureFormatParser {
  readonly format = 'pcapng' as const;
  readonly notes: string[] = [];
  private littleEndian = true;
  private inSection = false;
  private interfaces: Interface[] = [];
  private sections = 0;
  private count = 0;
  private blockNumber = 0;

  constructor(private readonly queue: CaptureByteQueue, private readonly limits: CaptureReaderLimits) {}

  private note(text: string): void {
    if (!this.notes.includes(text) && this.notes.length < 50) this.notes.push(text);
  }

  drain(emit: (packet: CapturedPacket) => void): void {
    for (;;) {
      const start = this.queue.peek(12);
      if (!start) return;
      const startView = new DataView(start.buffer, start.byteOffset, 12);
      const type = startView.getUint32(0, this.littleEndian);
      const offset = this.queue.consumed;
      if (type === SHB_TYPE) {
        const magicLE = startView.getUint32(8, true);
        if (magicLE === BYTE_ORDER_MAGIC) this.littleEndian = true;
        else if (startView.getUint32(8, false) === BYTE_ORDER_MAGIC) this.littleEndian = false;
        else throw new CaptureFormatError(`section header block ${this.sections + 1} has no byte-order magic 0x1A2B3C4D`, offset);
      } else if (!this.inSection) {
        throw new CaptureFormatError('a pcapng file must start with a section header block', offset);
      }
      const length = startView.getUint32(4, this.littleEndian);
      if (length < 12 || length % 4 !== 0) {
        throw new CaptureFormatError(`block ${this.blockNumber + 1} (type 0x${type.toString(16)}) has length ${length}: a block length is a multiple of 4 and at least 12`, offset);
      }
      if (length > this.limits.maxRecordLength) {
        throw new CaptureFormatError(`block ${this.blockNumber + 1} (type 0x${type.toString(16)}) claims ${length} bytes, more than the ${this.limits.maxRecordLength}-byte limit: the file is damaged`, offset);
      }
      const block = this.queue.peek(length);
      if (!block) return;
      const view = new DataView(block.buffer, block.byteOffset, length);
      const trailer = view.getUint32(length - 4, this.littleEndian);
      if (trailer !== length) {
        throw new CaptureFormatError(`block ${this.blockNumber + 1} (type 0x${type.toString(16)}) says ${length} bytes at its start and ${trailer} at its end`, offset);
      }
      this.blockNumber++;
      const body = block.subarray(8, length - 4);
      const bodyView = new DataView(body.buffer, body.byteOffset, body.length);
      this.readBlock(type, body, bodyView, emit);
      this.queue.skip(length);
    }
  }

  private readBlock(type: number, body: Uint8Array, view: DataView, emit: (packet: CapturedPacket) => void): void {
    const le = this.littleEndian;
    switch (type) {
      case SHB_TYPE: {
        this.inSection = true;
        this.sections++;
        this.interfaces = [];
        if (this.sections === 2) this.note('the file has several sections (each with its own interfaces)');
        const major = body.length >= 6 ? view.getUint16(4, le) : 0;
        if (major !== 1) this.note(`section ${this.sections} has version ${major} (expected 1); read as 1.0`);
        return;
      }
      case IDB_TYPE: {
        if (body.length < 8) return this.note(`an interface description block too short (${body.length} bytes) was skipped`);
        const iface: Interface = { linkType: view.getUint16(0, le), snaplen: view.getUint32(4, le), unitsPerSecond: 1e6, offsetSeconds: 0 };
        this.readOptions(body, 8, (code, value) => {
          if (code === IF_TSRESOL && value.length >= 1) {
            const v = value[0]!;
            const exponent = v & 0x7f;
            iface.unitsPerSecond = v & 0x80 ? 2 ** exponent : 10 ** exponent;
          } else if (code === IF_TSOFFSET && value.length >= 8) {
            const o = new DataView(value.buffer, value.byteOffset, 8);
            iface.offsetSeconds = Number(o.getBigInt64(0, le));
          }
        });
        this.interfaces.push(iface);
        return;
      }
      case EPB_TYPE: {
        if (body.length < 20) return this.note(`an enhanced packet block too short (${body.length} bytes) was skipped`);
        const iface = this.interface(view.getUint32(0, le));
        if (!iface) return;
        const captured = view.getUint32(12, le);
        if (20 + captured > body.length) return this.note(`an enhanced packet block claiming ${captured} bytes in a ${body.length + 12}-byte block was skipped`);
        const time = this.time(iface, view.getUint32(4, le), view.getUint32(8, le));
        return this.emit(emit, iface, view.getUint32(0, le), time, body.subarray(20, 20 + captured), view.getUint32(16, le));
      }
      case SPB_TYPE: {
        if (body.length < 4) return this.note('a simple packet block too short was skipped');
        const iface = this.interface(0);
        if (!iface) return;
        const original = view.getUint32(0, le);
        let captured = Math.min(original, body.length - 4);
        if (iface.snaplen > 0) captured = Math.min(captured, iface.snaplen);
        this.note('simple packet blocks carry no timestamp: their packets have none');
        return this.emit(emit, iface, 0, null, body.subarray(4, 4 + captured), original);
      }
      case OPB_TYPE: {
        if (body.length < 20) return this.note(`a packet block too short (${body.length} bytes) was skipped`);
        const id = view.getUint16(0, le);
        const iface = this.interface(id);
        if (!iface) return;
        const captured = view.getUint32(12, le);
        if (20 + captured > body.length) return this.note(`a packet block claiming ${captured} bytes in a ${body.length + 12}-byte block was skipped`);
        return this.emit(emit, iface, id, this.time(iface, view.getUint32(4, le), view.getUint32(8, le)), body.subarray(20, 20 + captured), view.getUint32(16, le));
      }
      default:
        if (!QUIETLY_SKIPPED.has(type)) this.note(`blocks of type 0x${type.toString(16).padStart(8, '0')} are not read and were skipped`);
    }
  }

  private interface(id: number): Interface | null {
    const iface = this.interfaces[id];
    if (!iface) this.note(`packets of interface ${id}, which no interface description block of their section describes, were skipped`);
    return iface ?? null;
  }

  private time(iface: Interface, high: number, low: number): number {
    const units = high * 4294967296 + low;
    return (units / iface.unitsPerSecond + iface.offsetSeconds) * 1000;
  }

  private emit(emit: (packet: CapturedPacket) => void, iface: Interface, interfaceId: number, time: number | null, data: Uint8Array, originalLength: number): void {
    this.count++;
    emit({ number: this.count, linkType: iface.linkType, time, data, originalLength, interfaceId });
  }

  /** Walks the options from `at` (code, length, value padded to 4 bytes), stopping at opt_endofopt or the end. */
  private readOptions(body: Uint8Array, at: number, visit: (code: number, value: Uint8Array) => void): void {
    const view = new DataView(body.buffer, body.byteOffset, body.length);
    while (at + 4 <= body.length) {
      const code = view.getUint16(at, this.littleEndian);
      const length = view.getUint16(at + 2, this.littleEndian);
      if (code === OPT_ENDOFOPT || at + 4 + length > body.length) return;
      visit(code, body.subarray(at + 4, at + 4 + length));
      at += 4 + Math.ceil(length / 4) * 4;
    }
  }

  describeLeftover(): string | null {
    if (this.queue.length === 0) return null;
    return `the file ends inside a block (${this.queue.length} bytes of it were there, after packet ${this.count})`;
  }
}
