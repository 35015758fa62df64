/**
 * Reads the first bytes a client sends into a CONNECT tunnel and, if they are a TLS ClientHello,
 * finds the name it asks for (server_name, RFC 6066 §3) and the protocols it offers (ALPN,
 * RFC 7301 §3.1). Nothing is decrypted: the ClientHello is sent in the clear (RFC 8446 §4.1.2).
 *
 * Hostile input: every length is checked against what is left before it is used, the bytes kept
 * are bounded (MAX_HELLO_BYTES), and nothing throws: the answer is a hello, "need more", or
 * "not a ClientHello" with the reason.
 *
 * Layout (RFC 8446 §5.1 record layer, §4.1.2 ClientHello; the same in TLS 1.2, RFC 5246 §7.4.1.2):
 *   record:    content_type(1)=22 handshake, legacy_record_version(2), length(2), fragment
 *   handshake: msg_type(1)=1 client_hello, length(3), body (may span several records)
 *   body:      legacy_version(2), random(32), legacy_session_id<0..32>, cipher_suites<2..2^16-2>,
 *              legacy_compression_methods<1..2^8-1>, extensions<8..2^16-1>
 *   extension: extension_type(2), extension_data<0..2^16-1>
 */

import { concatBytes } from '../bytes.ts';

/** RFC 8446 §5.1: a record's fragment is at most 2^14 bytes (plus expansion; we accept up to 2^14 + 2048). */
const MAX_RECORD_LENGTH = 16_384 + 2048;
/** A ClientHello is a few hundred bytes to a few KiB (post-quantum key shares); more is not one we read. */
export const MAX_HELLO_BYTES = 64 * 1024;
/** Real clients send it in one or two records; many tiny ones would make reassembly quadratic. */
const MAX_RECORDS = 16;

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const NAME_TYPE_HOST = 0;

export interface ClientHelloInfo {
  /** server_name host_name (RFC 6066 §3), as sent (ASCII; odd bytes shown as \xNN), or null if absent. */
  serverName: string | null;
  /** Set when the name is not a valid DNS host name (RFC 6066 §3: "fully qualified DNS hostname"). */
  serverNameProblem?: string;
  /** ALPN protocol names offered, in order (RFC 7301 §3.1). */
  alpn: string[];
  /** Highest version offered: "TLS 1.3" from supported_versions (RFC 8446 §4.2.1), else from legacy_version. */
  version: string;
}

export type ClientHelloResult =
  /** atLeast: the total byte count before anything new can be learnt. */
  | { kind: 'need-more'; atLeast: number }
  | { kind: 'hello'; hello: ClientHelloInfo }
  | { kind: 'not-client-hello'; reason: string };

/** Collects a tunnel's first bytes until the ClientHello is whole (or is clearly not one). */
export class ClientHelloReader {
  /** Growable buffer (bytes may arrive one at a time: appends stay cheap). */
  private buffer = new Uint8Array(512);
  private size = 0;
  private result: ClientHelloResult = { kind: 'need-more', atLeast: 5 };

  /** Bytes looked at so far. */
  get received(): number {
    return this.size;
  }

  feed(data: Uint8Array): ClientHelloResult {
    if (this.result.kind !== 'need-more') return this.result;
    const piece = data.subarray(0, Math.max(0, MAX_HELLO_BYTES + 5 - this.size));
    if (this.size + piece.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.size + piece.length));
      grown.set(this.buffer.subarray(0, this.size));
      this.buffer = grown;
    }
    this.buffer.set(piece, this.size);
    this.size += piece.length;
    // Parse again only once the bytes the last parse asked for are here: linear, not quadratic.
    if (this.size >= this.result.atLeast) this.result = readClientHello(this.buffer.subarray(0, this.size));
    if (this.result.kind === 'need-more' && this.size >= MAX_HELLO_BYTES + 5) {
      this.result = { kind: 'not-client-hello', reason: `no complete ClientHello in the first ${MAX_HELLO_BYTES} bytes` };
    }
    if (this.result.kind !== 'need-more') this.buffer = new Uint8Array(0);
    return this.result;
  }
}

/**
 * Reads records from the start of `bytes`, gathering the handshake layer until the ClientHello
 * message is whole, then parses it.
 */
export function readClientHello(bytes: Uint8Array): ClientHelloResult {
  const handshake: Uint8Array[] = [];
  let handshakeLength = 0;
  let at = 0;
  for (;;) {
    if (bytes.length - at < 5) return { kind: 'need-more', atLeast: at + 5 };
    if (handshake.length >= MAX_RECORDS) return { kind: 'not-client-hello', reason: `the ClientHello is not whole after ${MAX_RECORDS} records` };
    const type = bytes[at]!;
    if (type !== CONTENT_HANDSHAKE) {
      return { kind: 'not-client-hello', reason: at === 0 ? `the first byte is 0x${hex2(type)}, not 0x16 (a TLS handshake record)` : `record type 0x${hex2(type)} before the ClientHello was whole` };
    }
    const major = bytes[at + 1]!;
    if (major !== 3) return { kind: 'not-client-hello', reason: `record version ${major}.${bytes[at + 2]} is not TLS (3.x)` };
    const length = readU16(bytes, at + 3);
    if (length === 0 || length > MAX_RECORD_LENGTH) return { kind: 'not-client-hello', reason: `a record length of ${length} bytes is out of range` };
    if (bytes.length - at - 5 < length) return { kind: 'need-more', atLeast: at + 5 + length };
    handshake.push(bytes.subarray(at + 5, at + 5 + length));
    handshakeLength += length;
    at += 5 + length;
    const message = concatBytes(handshake, handshakeLength);
    if (message[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'not-client-hello', reason: `handshake message type ${message[0]} is not ClientHello (1)` };
    if (message.length < 4) continue;
    const bodyLength = (message[1]! << 16) | (message[2]! << 8) | message[3]!;
    if (bodyLength > MAX_HELLO_BYTES) return { kind: 'not-client-hello', reason: `a ClientHello of ${bodyLength} bytes is larger than ${MAX_HELLO_BYTES}` };
    if (message.length - 4 < bodyLength) continue;
    return parseClientHelloBody(message.subarray(4, 4 + bodyLength));
  }
}

/** A cursor that never reads past its end: each read says whether the bytes were there. */
class Cursor {
  constructor(private readonly bytes: Uint8Array, public at = 0, private readonly end = bytes.length) {}
  get left(): number {
    return this.end - this.at;
  }
  u8(): number | null {
    return this.left >= 1 ? this.bytes[this.at++]! : null;
  }
  u16(): number | null {
    if (this.left < 2) return null;
    const v = readU16(this.bytes, this.at);
    this.at += 2;
    return v;
  }
  take(n: number): Uint8Array | null {
    if (n < 0 || this.left < n) return null;
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  /** A vector with a 1- or 2-byte length prefix. */
  vector(prefix: 1 | 2): Uint8Array | null {
    const n = prefix === 1 ? this.u8() : this.u16();
    return n === null ? null : this.take(n);
  }
}

function truncated(what: string): ClientHelloResult {
  return { kind: 'not-client-hello', reason: `the ClientHello ends inside its ${what}` };
}

/** Parses a ClientHello body (after the 4-byte handshake header). */
export function parseClientHelloBody(body: Uint8Array): ClientHelloResult {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  if (legacyVersion === null || c.take(32) === null) return truncated('version and random');
  const sessionId = c.vector(1);
  if (sessionId === null) return truncated('session id');
  if (sessionId.length > 32) return { kind: 'not-client-hello', reason: `a session id of ${sessionId.length} bytes (at most 32)` };
  const suites = c.vector(2);
  if (suites === null) return truncated('cipher suites');
  if (suites.length < 2 || suites.length % 2 !== 0) return { kind: 'not-client-hello', reason: `a cipher suite list of ${suites.length} bytes (a non-empty list of 2-byte values)` };
  if (c.vector(1) === null) return truncated('compression methods');
  const hello: ClientHelloInfo = { serverName: null, alpn: [], version: versionName(legacyVersion) };
  // TLS 1.2 and earlier may end here: no extensions at all.
  if (c.left === 0) return { kind: 'hello', hello };
  const extensions = c.vector(2);
  if (extensions === null) return truncated('extensions');
  const e = new Cursor(extensions);
  const seen = new Set<number>();
  while (e.left > 0) {
    const type = e.u16();
    const data = e.vector(2);
    if (type === null || data === null) return truncated('extensions');
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given extension block."
    if (seen.has(type)) return { kind: 'not-client-hello', reason: `extension ${type} appears twice (RFC 8446 §4.2)` };
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const problem = readServerName(data, hello);
      if (problem) return { kind: 'not-client-hello', reason: problem };
    } else if (type === EXT_ALPN) {
      const problem = readAlpn(data, hello);
      if (problem) return { kind: 'not-client-hello', reason: problem };
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      const list = new Cursor(data).vector(1);
      if (list === null || list.length % 2 !== 0) return { kind: 'not-client-hello', reason: 'a malformed supported_versions extension' };
      let best = 0;
      for (let i = 0; i + 1 < list.length; i += 2) {
        const v = readU16(list, i);
        // GREASE values (RFC 8701: 0x?a?a) are ignored.
        if ((v & 0x0f0f) !== 0x0a0a && v > best && v <= 0x0304) best = v;
      }
      if (best) hello.version = versionName(best);
    }
  }
  return { kind: 'hello', hello };
}

/** RFC 6066 §3: struct { NameType name_type; select (name_type) { case host_name: HostName; } } ServerName; ServerNameList<1..2^16-1>. */
function readServerName(data: Uint8Array, hello: ClientHelloInfo): string | null {
  const outer = new Cursor(data);
  const list = outer.vector(2);
  if (list === null || outer.left !== 0) return 'a malformed server_name extension (RFC 6066 §3)';
  const c = new Cursor(list);
  while (c.left > 0) {
    const nameType = c.u8();
    const name = c.vector(2);
    if (nameType === null || name === null) return 'a malformed server_name list (RFC 6066 §3)';
    // "The ServerNameList MUST NOT contain more than one name of the same name_type."
    if (nameType === NAME_TYPE_HOST) {
      if (hello.serverName !== null) return 'two host names in server_name (RFC 6066 §3)';
      hello.serverName = shownAscii(name);
      const problem = hostNameProblem(name);
      if (problem) hello.serverNameProblem = problem;
    }
  }
  return null;
}

/** RFC 7301 §3.1: ProtocolName<1..2^8-1>; ProtocolNameList protocol_name_list<2..2^16-1>. */
function readAlpn(data: Uint8Array, hello: ClientHelloInfo): string | null {
  const outer = new Cursor(data);
  const list = outer.vector(2);
  if (list === null || outer.left !== 0 || list.length < 2) return 'a malformed ALPN extension (RFC 7301 §3.1)';
  const c = new Cursor(list);
  while (c.left > 0) {
    const name = c.vector(1);
    if (name === null || name.length === 0) return 'a malformed ALPN protocol name (RFC 7301 §3.1)';
    if (hello.alpn.length < 32) hello.alpn.push(shownAscii(name));
  }
  return null;
}

/** RFC 6066 §3: "HostName" is an ASCII DNS host name, "without a trailing dot"; IP literals are not permitted. */
function hostNameProblem(name: Uint8Array): string | null {
  if (name.length === 0) return 'the host name is empty';
  if (name.length > 253) return `the host name is ${name.length} bytes (a DNS name is at most 253)`;
  const text = String.fromCharCode(...name);
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/.test(text)) {
    return 'the host name is not letters, digits, hyphens and dots (RFC 6066 §3: an ASCII DNS host name)';
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) return 'an IP address, which RFC 6066 §3 does not permit in server_name';
  return null;
}

/** Printable ASCII as it is, anything else as \xNN: a hostile name cannot write control characters to a terminal. */
function shownAscii(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes.subarray(0, 300)) out += b >= 0x21 && b <= 0x7e && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex2(b)}`;
  return bytes.length > 300 ? `${out}…` : out;
}

function versionName(v: number): string {
  switch (v) {
    case 0x0304: return 'TLS 1.3';
    case 0x0303: return 'TLS 1.2';
    case 0x0302: return 'TLS 1.1';
    case 0x0301: return 'TLS 1.0';
    case 0x0300: return 'SSL 3.0';
    default: return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

function readU16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
