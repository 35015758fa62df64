/**
 * A capture file's bytes in, its WebSocket conversations out (sans I/O): the file reader (pcap or
 * pcapng) → the link layer → IP → TCP → reassembly → WebSocket discovery. Feed the file in chunks
 * of any size with push(), then end(); the events come through the callback as soon as they can.
 */

import { decodeIpTcp } from './packets/ip-tcp.ts';
import { decodeLinkLayer, linkTypeNames } from './packets/link-layer.ts';
import { CaptureReader, type CaptureReadSummary } from './pcap/reader.ts';
import { defaultCaptureReaderLimits, type CaptureReaderLimits, type CapturedPacket } from './pcap/types.ts';
import { defaultTcpReassemblyLimits, TcpReassembler, type TcpReassemblyLimits } from './tcp-reassembly.ts';
import { defaultDiscoveryLimits, WebSocketDiscovery, type DiscoveryLimits, type DiscoveryStats, type WebSocketCaptureEvent } from './websocket-discovery.ts';

export interface CaptureDissectorLimits {
  reader: CaptureReaderLimits;
  tcp: TcpReassemblyLimits;
  discovery: DiscoveryLimits;
}

export const defaultCaptureDissectorLimits: CaptureDissectorLimits = { reader: defaultCaptureReaderLimits, tcp: defaultTcpReassemblyLimits, discovery: defaultDiscoveryLimits };

export interface CaptureSummary extends CaptureReadSummary {
  /** Link types seen, by name. */
  linkTypes: string[];
  /** Packets not read as TCP, by reason. */
  skipped: Record<string, number>;
  tcp: { segments: number; conversations: number; retransmittedBytes: number; gapBytes: number };
  discovery: DiscoveryStats;
}

export class CaptureDissector {
  private readonly reader: CaptureReader;
  private readonly tcp: TcpReassembler;
  private readonly discovery: WebSocketDiscovery;
  private readonly skipped: Record<string, number> = {};
  private readonly linkTypes = new Set<number>();
  private lastTime: number | null = null;
  private summary: CaptureSummary | null = null;

  constructor(onEvent: (event: WebSocketCaptureEvent) => void, limits: CaptureDissectorLimits = defaultCaptureDissectorLimits) {
    this.discovery = new WebSocketDiscovery(onEvent, limits.discovery);
    this.tcp = new TcpReassembler((event) => this.discovery.handle(event), limits.tcp);
    this.reader = new CaptureReader((packet) => this.packet(packet), limits.reader);
  }

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  /** The reader stopped on damaged bytes: more chunks would be ignored. */
  get failed(): boolean {
    return this.reader.failed;
  }

  end(): CaptureSummary {
    if (this.summary) return this.summary;
    const read = this.reader.end();
    this.tcp.finish(this.lastTime);
    this.summary = {
      ...read,
      linkTypes: [...this.linkTypes].map((t) => `${linkTypeNames[t] ?? 'unknown'} (${t})`),
      skipped: this.skipped,
      tcp: { ...this.tcp.stats },
      discovery: this.discovery.stats,
    };
    return this.summary;
  }

  private packet(packet: CapturedPacket): void {
    this.linkTypes.add(packet.linkType);
    const time = packet.time ?? this.lastTime;
    if (packet.time !== null) this.lastTime = packet.time;
    const network = decodeLinkLayer(packet.linkType, packet.data);
    if (network.kind === 'skip') return this.skip(network.reason);
    const decoded = decodeIpTcp(network.version, network.bytes);
    if (decoded.kind === 'skip') return this.skip(decoded.reason);
    this.tcp.add(decoded.segment, time);
  }

  private skip(reason: string): void {
    // Reasons carry numbers (EtherTypes, protocols): a hostile file could make thousands of them.
    const key = reason in this.skipped || Object.keys(this.skipped).length < 64 ? reason : 'other reasons';
    this.skipped[key] = (this.skipped[key] ?? 0) + 1;
  }
}
