/**
 * A recording as pcapng that Wireshark and tshark open and dissect as HTTP + WebSocket: one
 * synthesized TCP/IP conversation per connection, addresses and ports as they were (IPv4 or
 * IPv6), a three-way handshake, every recorded chunk as data segments of at most 65,495 bytes
 * with correct sequence and acknowledgement numbers and checksums, the FIN exchange when the
 * connection ended, and the recorded times at microsecond resolution. A wss:// connection is
 * written as its plaintext (the TLS records are not recorded; the first packet's comment says so).
 *
 * Each packet that ends a WebSocket frame carries an opt_comment per frame with our verdict:
 * "ok", or each violation with its RFC section, as the replay through our parser found them.
 * Bytes elided by the recording cap are written as packets cut short (captured length below the
 * original length, as a capture with a snap length would have them) so sequence numbers stay true.
 *
 * Written here, not with a library: the npm registry has no maintained pcapng writer (only the
 * readers pcap-parser and the libpcap binding pcap), and the three blocks needed (Section Header,
 * Interface Description, Enhanced Packet; pcapng spec draft-ietf-opsawg-pcapng) are a few lines each.
 */

import { isIPv4, isIPv6 } from 'node:net';
import { describeOpcode } from '../constants.ts';
import type { TraceEvent, TracedViolation } from '../trace.ts';
import type { RecordedConnection, RecordedEndpoint, Recording, StreamDirection } from './recording.ts';
import { replayConnection } from './replay.ts';

/** LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header. */
const LINKTYPE_RAW = 101;
/** TCP payload per segment: 65,535 (the IPv4 total length field) minus 20 IP and 20 TCP header bytes. */
export const MAX_SEGMENT = 65_495;
const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10;

// ------------------------------------------------------------------ pcapng blocks

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function optionsBytes(options: Array<{ code: number; value: Uint8Array }>): Buffer {
  if (options.length === 0) return Buffer.alloc(0);
  const size = options.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4;
  const out = Buffer.alloc(size);
  let at = 0;
  for (const o of options) {
    out.writeUInt16LE(o.code, at);
    out.writeUInt16LE(o.value.length, at + 2);
    out.set(o.value, at + 4);
    at += 4 + pad4(o.value.length);
  }
  return out; // ends with opt_endofopt (0, 0): the zeroed last 4 bytes
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
/** An option value is at most 65,535 bytes (its length field is 16 bits). */
const comment = (text: string) => ({ code: 1, value: utf8(text).subarray(0, 65_535) });

function sectionHeader(): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
  head.writeUInt16LE(1, 4);
  head.writeUInt16LE(0, 6);
  head.writeBigInt64LE(-1n, 8); // section length not given
  return block(0x0a0d0d0a, Buffer.concat([head, optionsBytes([{ code: 4, value: utf8('wsinspect (WebSocket Inspector)') }, comment('Synthesized from a wsinspect recording: TCP/IP headers are made up around the recorded bytes.')])]));
}

function interfaceDescription(): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(LINKTYPE_RAW, 0);
  head.writeUInt32LE(0, 4); // no snap length
  // if_tsresol 6: microseconds (the default, stated).
  return block(0x00000001, Buffer.concat([head, optionsBytes([{ code: 9, value: Uint8Array.of(6) }])]));
}

function enhancedPacket(timeMs: number, data: Uint8Array, originalLength: number, comments: string[]): Buffer {
  const micros = BigInt(Math.round(timeMs * 1000));
  const head = Buffer.alloc(20);
  head.writeUInt32LE(0, 0);
  head.writeUInt32LE(Number(micros >> 32n), 4);
  head.writeUInt32LE(Number(micros & 0xffffffffn), 8);
  head.writeUInt32LE(data.length, 12);
  head.writeUInt32LE(originalLength, 16);
  const padded = Buffer.alloc(pad4(data.length));
  padded.set(data);
  return block(0x00000006, Buffer.concat([head, padded, optionsBytes(comments.map(comment))]));
}

// ------------------------------------------------------------------ IP and TCP

function ipBytes(e: RecordedEndpoint, fallback: string): Uint8Array {
  const address = e.address.replace(/%.*$/, '');
  if (e.family === 'IPv4' && isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (e.family === 'IPv6' && isIPv6(address)) return ipv6Bytes(address);
  return e.family === 'IPv6' ? ipv6Bytes(fallback.includes(':') ? fallback : `::ffff:${fallback}`) : Uint8Array.from(fallback.split('.').map(Number));
}

function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const l = left ? left.split(':') : [];
  const r = right !== null && right ? right.split(':') : [];
  const groups = right === null ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g || '0', 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

function sum16(bytes: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length & 1) sum += bytes[bytes.length - 1]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

interface Segment {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The payload bytes written. */
  payload: Uint8Array;
  /** Payload bytes on the wire but not recorded (elided): counted in lengths, not written. */
  missing: number;
}

/** The IP packet: its captured bytes and its original length. */
function packet(s: Segment, ipId: number): { data: Uint8Array; length: number } {
  const v6 = s.src.length === 16;
  const tcpLength = 20 + s.payload.length + s.missing;
  const ipHeader = v6 ? 40 : 20;
  const data = new Uint8Array(ipHeader + 20 + s.payload.length);
  const view = new DataView(data.buffer);
  if (v6) {
    view.setUint32(0, 0x60000000);
    view.setUint16(4, tcpLength);
    data[6] = 6; // next header: TCP
    data[7] = 64;
    data.set(s.src, 8);
    data.set(s.dst, 24);
  } else {
    data[0] = 0x45;
    view.setUint16(2, ipHeader + tcpLength);
    view.setUint16(4, ipId & 0xffff);
    view.setUint16(6, 0x4000); // don't fragment
    data[8] = 64;
    data[9] = 6;
    data.set(s.src, 12);
    data.set(s.dst, 16);
    view.setUint16(10, fold(sum16(data.subarray(0, 20))));
  }
  const t = ipHeader;
  view.setUint16(t, s.srcPort);
  view.setUint16(t + 2, s.dstPort);
  view.setUint32(t + 4, s.seq >>> 0);
  view.setUint32(t + 8, s.ack >>> 0);
  data[t + 12] = 5 << 4;
  data[t + 13] = s.flags;
  view.setUint16(t + 14, 65_535);
  data.set(s.payload, t + 20);
  if (s.missing === 0) {
    // RFC 9293 §3.1: the checksum covers a pseudo-header (addresses, protocol, TCP length) and the segment.
    let sum = sum16(s.src) + sum16(s.dst) + 6 + tcpLength;
    sum = sum16(data.subarray(t), sum);
    view.setUint16(t + 16, fold(sum));
  }
  return { data, length: ipHeader + tcpLength };
}

// ------------------------------------------------------------------ verdicts

interface FrameEnd {
  /** Stream offset just past the frame's last byte. */
  end: number;
  text: string;
}

function verdictText(frameId: number, opcode: number, fin: boolean, length: number, violations: TracedViolation[], cut: boolean, reconstructed: boolean): string {
  const head = `wsinspect: frame #${frameId} ${describeOpcode(opcode).name.toUpperCase()} FIN=${+fin} len=${length}`;
  const notes = [reconstructed ? 'reconstructed, not captured' : null, cut ? 'payload cut by the recording cap, not fully checked' : null].filter(Boolean);
  const verdict = violations.length === 0 ? 'ok' : violations.map((v) => `violation ${v.code} (RFC 6455 ${v.rfcSection.replace(/^RFC 6455 /, '')}): ${v.message}`.replace('RFC 6455 RFC', 'RFC')).join('; ');
  return `${head}: ${verdict}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
}

/** Where each frame ends in each direction's stream, with its verdict, from the replay. */
function frameEnds(conn: RecordedConnection): Record<StreamDirection, FrameEnd[]> {
  const out: Record<StreamDirection, FrameEnd[]> = { c2s: [], s2c: [] };
  const offset: Record<StreamDirection, number> = { c2s: 0, s2c: 0 };
  const violations = new Map<number, TracedViolation[]>();
  const events: TraceEvent[] = [...replayConnection(conn)];
  for (const e of events) {
    if (e.type === 'violation' && e.frameId !== undefined) violations.set(e.frameId, [...(violations.get(e.frameId) ?? []), e.violation]);
  }
  const we = conn.ourRole === 'server' ? 'server' : 'client';
  const dirOf = (d: 'in' | 'out'): StreamDirection => ((d === 'out') === (we === 'client') ? 'c2s' : 's2c');
  for (const e of events) {
    if (e.type === 'http-head') offset[dirOf(e.direction)] += e.head.raw.length;
    if (e.type !== 'frame') continue;
    const f = e.frame;
    const dir = dirOf(e.direction);
    offset[dir] += f.truncated?.rawLength ?? f.raw.length;
    const seen = violations.get(f.frameId) ?? [];
    const all = f.violation && !seen.some((v) => v.code === f.violation!.code) ? [f.violation, ...seen] : seen;
    out[dir].push({ end: offset[dir], text: verdictText(f.frameId, f.opcode, f.fin, f.payloadLength, all, f.truncated !== undefined, conn.reconstructed === true) });
  }
  return out;
}

// ------------------------------------------------------------------ conversations

/** Writes the pcapng file's bytes for a whole recording. */
export function recordingToPcapng(recording: Recording): Buffer {
  const blocks: Buffer[] = [sectionHeader(), interfaceDescription()];
  // One block at a time: a spread of a long conversation's blocks (150,000 packets) overflows the call stack.
  recording.connections.forEach((conn, index) => {
    for (const block of conversation(conn, index)) blocks.push(block);
  });
  return Buffer.concat(blocks);
}

function conversation(conn: RecordedConnection, index: number): Buffer[] {
  const blocks: Buffer[] = [];
  const client = { ip: ipBytes(conn.client, `192.0.2.${1 + (index % 250)}`), port: conn.client.port || 49152 + (index % 16000) };
  const defaultPort = conn.url?.startsWith('wss:') ? 443 : 80;
  const server = { ip: ipBytes(conn.server, '198.51.100.1'), port: conn.server.port || defaultPort };
  if (client.ip.length !== server.ip.length) {
    // One end IPv4, the other IPv6 (an IPv4-mapped address seen from a dual-stack socket): both as IPv6.
    if (client.ip.length === 4) client.ip = ipv6Bytes(`::ffff:${[...client.ip].join('.')}`);
    if (server.ip.length === 4) server.ip = ipv6Bytes(`::ffff:${[...server.ip].join('.')}`);
  }
  // Initial sequence numbers: fixed per connection, so an export is reproducible.
  const next: Record<StreamDirection, number> = { c2s: (0x1000_0000 + index * 0x0100_0000) >>> 0, s2c: (0x8000_0000 + index * 0x0100_0000) >>> 0 };
  const ends = frameEnds(conn);
  const sent: Record<StreamDirection, number> = { c2s: 0, s2c: 0 };
  let ipId = 1;
  const write = (time: number, dir: StreamDirection, flags: number, payload: Uint8Array, missing: number, comments: string[]) => {
    const [from, to] = dir === 'c2s' ? [client, server] : [server, client];
    const other: StreamDirection = dir === 'c2s' ? 's2c' : 'c2s';
    const ackFlag = flags & TCP_SYN && dir === 'c2s' ? 0 : TCP_ACK;
    const { data, length } = packet({ src: from.ip, dst: to.ip, srcPort: from.port, dstPort: to.port, seq: next[dir], ack: ackFlag ? next[other] : 0, flags: flags | ackFlag, payload, missing }, ipId++);
    blocks.push(enhancedPacket(time, data, length, comments));
    next[dir] = (next[dir] + payload.length + missing + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
  };
  const first: string[] = [`wsinspect connection ${conn.id}${conn.url ? ` (${conn.url})` : ''}: ${conn.ourRole === 'observed' ? 'observed' : `recorded as the ${conn.ourRole}`}`];
  if (conn.tls) first.push(`wss:// exported as its plaintext: the TLS records were not recorded. Decode as HTTP, e.g. tshark -d tcp.port==${server.port},http`);
  if (conn.reconstructed) first.push('Reconstructed, not captured: rebuilt from a HAR file\'s messages; bytes, masking keys and timing below a message are made up.');
  write(conn.startTime, 'c2s', TCP_SYN, new Uint8Array(0), 0, first);
  write(conn.startTime, 's2c', TCP_SYN, new Uint8Array(0), 0, []);
  write(conn.startTime, 'c2s', 0, new Uint8Array(0), 0, []);
  /** Comments for the frames that end within (sent, sent + n]. */
  const commentsUpTo = (dir: StreamDirection, upTo: number): string[] => {
    const list = ends[dir];
    const out: string[] = [];
    while (list.length && list[0]!.end <= upTo) out.push(list.shift()!.text);
    return out;
  };
  let lastTime = conn.startTime;
  for (const chunk of conn.chunks) {
    lastTime = Math.max(lastTime, chunk.time);
    const dir = chunk.direction;
    // A capture gap: its bytes are not written, but the sequence numbers step over them as the original's did.
    if (chunk.lost) next[dir] = (next[dir] + chunk.lost) >>> 0;
    for (let at = 0; at < chunk.bytes.length; at += MAX_SEGMENT) {
      const piece = chunk.bytes.subarray(at, at + MAX_SEGMENT);
      sent[dir] += piece.length;
      write(chunk.time, dir, TCP_PSH, piece, 0, commentsUpTo(dir, sent[dir]));
    }
    for (let left = chunk.elided ?? 0; left > 0;) {
      const n = Math.min(left, MAX_SEGMENT);
      sent[dir] += n;
      left -= n;
      write(chunk.time, dir, TCP_PSH, new Uint8Array(0), n, [`${n} payload bytes not recorded (the recording's size cap): this packet is cut short`, ...commentsUpTo(dir, sent[dir])]);
    }
  }
  if (conn.endTime !== undefined) {
    const t = Math.max(lastTime, conn.endTime);
    write(t, 's2c', TCP_FIN, new Uint8Array(0), 0, []);
    write(t, 'c2s', TCP_FIN, new Uint8Array(0), 0, []);
    write(t, 's2c', 0, new Uint8Array(0), 0, []);
  }
  return blocks;
}
