/**
 * A capture file's bytes in, its WebSocket conversations out (sans I/O): the file reader (pcap or
 * pcapng) → the link layer → IP (fragments reassembled) → TCP → reassembly → WebSocket discovery. Feed the file in chunks
 * of any size with push(), then end(); the events come through the callback as soon as they can.
 */

import { decodeIpTcp } from './packets/ip-tcp.ts';
import { defaultIpFragmentLimits, IpFragmentReassembler, type FragmentOutcome, type IpFragmentLimits } from './packets/ip-fragments.ts';
import { decodeLinkLayer, linkTypeNames } from './packets/link-layer.ts';
import { CaptureReader, type CaptureReadSummary } from './pcap/reader.ts';
import { defaultCaptureReaderLimits, type CaptureReaderLimits, type CapturedPacket } from './pcap/types.ts';
import { defaultTcpReassemblyLimits, TcpReassembler, type TcpReassemblyLimits } from './tcp-reassembly.ts';
import { defaultDiscoveryLimits, WebSocketDiscovery, type DiscoveryLimits, type DiscoveryStats, type WebSocketCaptureEvent } from './websocket-discovery.ts';

export interface CaptureDissectorLimits {
  reader: CaptureReaderLimits;
  tcp: TcpReassemblyLimits;
  discovery: DiscoveryLimits;
  /** Optional for callers that built limits before IP fragments were reassembled. */
  ipFragments?: IpFragmentLimits;
}

export const defaultCaptureDissectorLimits: CaptureDissectorLimits = { reader: defaultCaptureReaderLimits, tcp: defaultTcpReassemblyLimits, discovery: defaultDiscoveryLimits, ipFragments: defaultIpFragmentLimits };

export interface CaptureSummary extends CaptureReadSummary {
  /** Link types seen, by name. */
  linkTypes: string[];
  /** Packets not read as TCP, by reason. */
  skipped: Record<string, number>;
  tcp: { segments: number; conversations: number; retransmittedBytes: number; gapBytes: number };
  /** IP fragments: how many came, datagrams rebuilt from them, datagrams given up, fragments dropped on their own. */
  ipFragments: { fragments: number; reassembled: number; givenUp: number; dropped: number; lateDuplicates: number };
  discovery: DiscoveryStats;
}

export class CaptureDissector {
  private readonly reader: CaptureReader;
  private readonly tcp: TcpReassembler;
  private readonly discovery: WebSocketDiscovery;
  private readonly fragments: IpFragmentReassembler;
  private readonly skipped: Record<string, number> = {};
  private readonly linkTypes = new Set<number>();
  private lastTime: number | null = null;
  private summary: CaptureSummary | null = null;

  constructor(onEvent: (event: WebSocketCaptureEvent) => void, limits: CaptureDissectorLimits = defaultCaptureDissectorLimits) {
    this.discovery = new WebSocketDiscovery(onEvent, limits.discovery);
    this.tcp = new TcpReassembler((event) => this.discovery.handle(event), limits.tcp);
    this.reader = new CaptureReader((packet) => this.packet(packet), limits.reader);
    this.fragments = new IpFragmentReassembler((outcome) => this.fragmentOutcome(outcome), limits.ipFragments ?? defaultIpFragmentLimits);
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
    this.fragments.finish(this.lastTime);
    this.tcp.finish(this.lastTime);
    this.summary = {
      ...read,
      linkTypes: [...this.linkTypes].map((t) => `${linkTypeNames[t] ?? 'unknown'} (${t})`),
      skipped: this.skipped,
      tcp: { ...this.tcp.stats },
      ipFragments: { ...this.fragments.stats },
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
    if (decoded.kind === 'fragment') return this.fragments.add(decoded.fragment, time);
    this.tcp.add(decoded.segment, time);
  }

  private fragmentOutcome(outcome: FragmentOutcome): void {
    if (outcome.type === 'dropped') return this.skip(outcome.reason);
    if (outcome.type === 'given-up') {
      const said = outcome.ports !== null && this.tcp.noteFor({ address: outcome.srcAddress, port: outcome.ports.srcPort }, { address: outcome.dstAddress, port: outcome.ports.dstPort }, outcome.time,
        `an IPv${outcome.version} datagram of this connection that came in ${outcome.fragments} fragments was given up: ${outcome.reason}; its bytes never reached TCP (the receiver's IP layer drops it too), so a retransmission or a gap follows`);
      if (!said) this.skip(`IPv${outcome.version} datagram in fragments given up: ${outcome.reason}`);
      return;
    }
    const decoded = decodeIpTcp(outcome.version, outcome.packet);
    if (decoded.kind !== 'tcp') return this.skip(decoded.kind === 'skip' ? `reassembled IP datagram: ${decoded.reason}` : 'reassembled IP datagram still a fragment');
    decoded.segment.ipFragments = { count: outcome.fragments, duplicates: outcome.duplicates, differing: outcome.differing };
    this.tcp.add(decoded.segment, outcome.time);
  }

  private skip(reason: string): void {
    // Reasons carry numbers (EtherTypes, protocols): a hostile file could make thousands of them.
    const key = reason in this.skipped || Object.keys(this.skipped).length < 64 ? reason : 'other reasons';
    this.skipped[key] = (this.skipped[key] ?? 0) + 1;
  }
}
