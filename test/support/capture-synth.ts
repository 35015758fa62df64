/**
 * Builds capture files byte by byte for the capture reader's tests and benchmark: TCP segments in
 * IPv4 or IPv6 (with options and extension headers), wrapped in each link type, written as pcap
 * (either byte order, micro- or nanosecond) or pcapng (either byte order, any if_tsresol, EPB or
 * SPB, several sections and interfaces). Independent of the reader (written from the formats'
 * drafts), so a test of one against the other can fail.
 */

export interface SegmentSpec {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean; psh?: boolean };
  payload?: Uint8Array;
  /** IPv4 options bytes (multiple of 4). */
  ipOptions?: Uint8Array;
  /** IPv6 extension headers to put before TCP: [next-header value, body incl. its own 2 first bytes are filled]. */
  ipv6Extensions?: Array<{ type: number; length8: number }>;
  /** TCP options bytes (multiple of 4). */
  tcpOptions?: Uint8Array;
}

function parseIpv4(a: string): number[] {
  return a.split('.').map(Number);
}

function parseIpv6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') as [string, string] : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => { const v = parseInt(g || '0', 16); return [v >> 8, v & 0xff]; });
}

export function tcpBytes(s: SegmentSpec): Uint8Array {
  const options = s.tcpOptions ?? new Uint8Array(0);
  const payload = s.payload ?? new Uint8Array(0);
  const header = 20 + options.length;
  const out = new Uint8Array(header + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, s.srcPort);
  v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, (s.ack ?? 0) >>> 0);
  out[12] = (header / 4) << 4;
  const f = s.flags ?? { ack: true };
  out[13] = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
  v.setUint16(14, 65535);
  out.set(options, 20);
  out.set(payload, header);
  return out;
}

export function ipPacket(s: SegmentSpec): Uint8Array {
  const tcp = tcpBytes(s);
  if (s.src.includes(':')) {
    const exts = s.ipv6Extensions ?? [];
    const extBytes = exts.reduce((n, e) => n + (e.type === 44 ? 8 : e.type === 51 ? (e.length8 + 2) * 4 : (e.length8 + 1) * 8), 0);
    const out = new Uint8Array(40 + extBytes + tcp.length);
    const v = new DataView(out.buffer);
    out[0] = 0x60;
    v.setUint16(4, extBytes + tcp.length);
    out[6] = exts[0]?.type ?? 6;
    out[7] = 64;
    out.set(parseIpv6(s.src), 8);
    out.set(parseIpv6(s.dst), 24);
    let at = 40;
    exts.forEach((e, i) => {
      out[at] = exts[i + 1]?.type ?? 6;
      const len = e.type === 44 ? 8 : e.type === 51 ? (e.length8 + 2) * 4 : (e.length8 + 1) * 8;
      out[at + 1] = e.type === 44 ? 0 : e.length8;
      at += len;
    });
    out.set(tcp, at);
    return out;
  }
  const options = s.ipOptions ?? new Uint8Array(0);
  const header = 20 + options.length;
  const out = new Uint8Array(header + tcp.length);
  const v = new DataView(out.buffer);
  out[0] = 0x40 | (header / 4);
  v.setUint16(2, out.length);
  v.setUint16(6, 0x4000); // don't fragment
  out[8] = 64;
  out[9] = 6;
  out.set(parseIpv4(s.src), 12);
  out.set(parseIpv4(s.dst), 16);
  out.set(options, 20);
  out.set(tcp, header);
  return out;
}

/** Wraps an IP packet in a link-layer header. */
export function linkFrame(linkType: number, ip: Uint8Array, options: { vlan?: number; nullBigEndian?: boolean } = {}): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  const cat = (head: number[]) => { const o = new Uint8Array(head.length + ip.length); o.set(head); o.set(ip, head.length); return o; };
  switch (linkType) {
    case 1: {
      const head = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
      for (let i = 0; i < (options.vlan ?? 0); i++) head.push(0x81, 0x00, 0x00, 0x05 + i);
      head.push(etherType >> 8, etherType & 0xff);
      // Ethernet pads short frames to 60 bytes: the IP total length must trim it.
      const frame = cat(head);
      if (frame.length >= 60) return frame;
      const padded = new Uint8Array(60);
      padded.set(frame);
      padded.fill(0xee, frame.length);
      return padded;
    }
    case 113: return cat([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, etherType >> 8, etherType & 0xff]);
    case 276: return cat([etherType >> 8, etherType & 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    case 0: {
      const family = v6 ? 30 : 2;
      return cat(options.nullBigEndian ? [0, 0, 0, family] : [family, 0, 0, 0]);
    }
    case 108: return cat([0, 0, 0, v6 ? 24 : 2]);
    case 101: case 228: case 229: return ip;
    default: throw new Error(`no synthesiser for link type ${linkType}`);
  }
}

export interface PacketRecord {
  /** Milliseconds since the epoch (integer microseconds survive exactly). */
  time: number;
  data: Uint8Array;
  originalLength?: number;
  interfaceId?: number;
}

export function pcapFile(linkType: number, packets: PacketRecord[], options: { bigEndian?: boolean; nano?: boolean; snaplen?: number } = {}): Uint8Array {
  const le = !options.bigEndian;
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, options.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, options.snaplen ?? 262144, le);
  v.setUint32(20, linkType, le);
  let at = 24;
  for (const p of packets) {
    const seconds = Math.floor(p.time / 1000);
    const fraction = options.nano ? Math.round((p.time - seconds * 1000) * 1e6) : Math.round((p.time - seconds * 1000) * 1e3);
    v.setUint32(at, seconds, le);
    v.setUint32(at + 4, fraction, le);
    v.setUint32(at + 8, p.data.length, le);
    v.setUint32(at + 12, p.originalLength ?? p.data.length, le);
    out.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return out;
}

export class PcapngWriter {
  private parts: Uint8Array[] = [];
  constructor(private readonly le = true) {}

  private block(type: number, body: Uint8Array): this {
    const padded = Math.ceil(body.length / 4) * 4;
    const out = new Uint8Array(12 + padded);
    const v = new DataView(out.buffer);
    v.setUint32(0, type, this.le);
    v.setUint32(4, out.length, this.le);
    out.set(body, 8);
    v.setUint32(out.length - 4, out.length, this.le);
    this.parts.push(out);
    return this;
  }

  section(): this {
    const body = new Uint8Array(16);
    const v = new DataView(body.buffer);
    v.setUint32(0, 0x1a2b3c4d, this.le);
    v.setUint16(4, 1, this.le);
    v.setUint16(6, 0, this.le);
    v.setInt32(8, -1, this.le);
    v.setInt32(12, -1, this.le);
    return this.block(0x0a0d0d0a, body);
  }

  /** tsresol: the if_tsresol byte (6 = microseconds, 9 = nanoseconds, 0x80|n = 2^-n). */
  iface(linkType: number, options: { tsresol?: number; snaplen?: number } = {}): this {
    const opts: number[] = [];
    if (options.tsresol !== undefined) {
      const o = new Uint8Array(8);
      new DataView(o.buffer).setUint16(0, 9, this.le);
      new DataView(o.buffer).setUint16(2, 1, this.le);
      o[4] = options.tsresol;
      opts.push(...o);
      opts.push(0, 0, 0, 0); // opt_endofopt
    }
    const body = new Uint8Array(8 + opts.length);
    const v = new DataView(body.buffer);
    v.setUint16(0, linkType, this.le);
    v.setUint32(4, options.snaplen ?? 262144, this.le);
    body.set(opts, 8);
    return this.block(1, body);
  }

  /** An Enhanced Packet Block; units: the timestamp in the interface's units (default: microseconds from time). */
  epb(p: PacketRecord, unitsPerSecond = 1e6): this {
    const units = BigInt(Math.round((p.time / 1000) * unitsPerSecond));
    const body = new Uint8Array(20 + p.data.length);
    const v = new DataView(body.buffer);
    v.setUint32(0, p.interfaceId ?? 0, this.le);
    v.setUint32(4, Number(units >> 32n), this.le);
    v.setUint32(8, Number(units & 0xffffffffn), this.le);
    v.setUint32(12, p.data.length, this.le);
    v.setUint32(16, p.originalLength ?? p.data.length, this.le);
    body.set(p.data, 20);
    return this.block(6, body);
  }

  spb(data: Uint8Array): this {
    const body = new Uint8Array(4 + data.length);
    new DataView(body.buffer).setUint32(0, data.length, this.le);
    body.set(data, 4);
    return this.block(3, body);
  }

  raw(type: number, body: Uint8Array): this {
    return this.block(type, body);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

/** A masked client frame or an unmasked server frame (no compression), for synthetic conversations. */
export function wsFrame(opcode: number, payload: Uint8Array, options: { masked: boolean; fin?: boolean; rsv1?: boolean; key?: number[] }): Uint8Array {
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | opcode];
  const mask = options.masked ? 0x80 : 0;
  if (payload.length < 126) head.push(mask | payload.length);
  else if (payload.length < 65536) head.push(mask | 126, payload.length >> 8, payload.length & 0xff);
  else {
    head.push(mask | 127, 0, 0);
    const n = payload.length;
    head.push(0, Math.floor(n / 2 ** 32) & 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const key = options.key ?? [0x11, 0x22, 0x33, 0x44];
  if (options.masked) head.push(...key);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) out[head.length + i] = options.masked ? payload[i]! ^ key[i & 3]! : payload[i]!;
  return out;
}

export interface ConversationSpec {
  client: { address: string; port: number };
  server: { address: string; port: number };
  /** What each side sent, in order. */
  exchanges: Array<{ from: 'c' | 's'; bytes: Uint8Array }>;
  /** Include the three-way handshake (default true). */
  syn?: boolean;
  /** End with FIN from both sides (default true). */
  fin?: boolean;
  /** Largest segment payload (default 1400). */
  mss?: number;
  cIsn?: number;
  sIsn?: number;
  startTime?: number;
}

/** The IP packets of one TCP conversation, with correct sequence and acknowledgment numbers, 1 ms apart. */
export function tcpConversation(spec: ConversationSpec): PacketRecord[] {
  const out: PacketRecord[] = [];
  let time = spec.startTime ?? 1_764_000_000_000;
  let cSeq = (spec.cIsn ?? 1000) >>> 0;
  let sSeq = (spec.sIsn ?? 900_000) >>> 0;
  const mss = spec.mss ?? 1400;
  const c = spec.client;
  const s = spec.server;
  const push = (from: 'c' | 's', seq: number, ack: number, flags: SegmentSpec['flags'], payload?: Uint8Array) => {
    const [src, dst] = from === 'c' ? [c, s] : [s, c];
    out.push({ time: (time += 1), data: ipPacket({ src: src.address, dst: dst.address, srcPort: src.port, dstPort: dst.port, seq, ack, flags, ...(payload ? { payload } : {}) }) });
  };
  if (spec.syn ?? true) {
    push('c', cSeq - 1, 0, { syn: true });
    push('s', sSeq - 1, cSeq, { syn: true, ack: true });
    push('c', cSeq, sSeq, { ack: true });
  }
  for (const x of spec.exchanges) {
    for (let i = 0; i < x.bytes.length; i += mss) {
      const piece = x.bytes.subarray(i, i + mss);
      if (x.from === 'c') { push('c', cSeq, sSeq, { ack: true, psh: true }, piece); cSeq = (cSeq + piece.length) >>> 0; }
      else { push('s', sSeq, cSeq, { ack: true, psh: true }, piece); sSeq = (sSeq + piece.length) >>> 0; }
    }
  }
  if (spec.fin ?? true) {
    push('c', cSeq, sSeq, { ack: true, fin: true });
    cSeq = (cSeq + 1) >>> 0;
    push('s', sSeq, cSeq, { ack: true, fin: true });
    push('c', cSeq, (sSeq + 1) >>> 0, { ack: true });
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** An RFC 6455 §1.3 opening handshake (the RFC's key and accept) for host/path. */
export function handshakeBytes(host = 'server.example.com', path = '/chat', extensions?: { request: string; response: string }): { request: Uint8Array; response: Uint8Array } {
  return {
    request: text(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extensions ? `Sec-WebSocket-Extensions: ${extensions.request}\r\n` : ''}\r\n`),
    response: text(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n${extensions ? `Sec-WebSocket-Extensions: ${extensions.response}\r\n` : ''}\r\n`),
  };
}

/**
 * A short WebSocket conversation for the capture tests: the handshake, "Hello" (masked) and
 * "Hello back", 3000 bytes of 0x07 (binary, masked), 200 'x' (text), a Close 1000 each way.
 */
export function sampleExchanges(hs = handshakeBytes()): Array<{ from: 'c' | 's'; bytes: Uint8Array }> {
  return [
    { from: 'c', bytes: hs.request },
    { from: 's', bytes: hs.response },
    { from: 'c', bytes: wsFrame(1, text('Hello'), { masked: true }) },
    { from: 's', bytes: wsFrame(1, text('Hello back'), { masked: false }) },
    { from: 'c', bytes: wsFrame(2, new Uint8Array(3000).fill(7), { masked: true }) },
    { from: 's', bytes: wsFrame(1, text('x'.repeat(200)), { masked: false }) },
    { from: 'c', bytes: wsFrame(8, Uint8Array.from([0x03, 0xe8]), { masked: true }) },
    { from: 's', bytes: wsFrame(8, Uint8Array.from([0x03, 0xe8]), { masked: false }) },
  ];
}
