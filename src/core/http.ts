/**
 * An incremental HTTP/1.1 head parser (RFC 9112 §2-§5) for the opening handshake.
 * Bytes may arrive one at a time; the head ends at the first empty line (CRLF CRLF).
 * The raw bytes are kept byte-exact for display, and anything after the head (frames the
 * peer sent right behind its handshake) is handed back untouched.
 */

import { HandshakeError } from './errors.ts';

export interface HttpHeader {
  name: string;
  value: string;
}

export interface HttpHead {
  kind: 'request' | 'response';
  /** Request: method and target. */
  method: string;
  target: string;
  /** Response: status code and reason phrase. */
  status: number;
  reason: string;
  /** "HTTP/1.1" */
  version: string;
  versionMajor: number;
  versionMinor: number;
  /** Headers in the order received, names as sent. */
  headers: HttpHeader[];
  /** The exact bytes of the head, up to and including the empty line. */
  raw: Uint8Array;
}

/** All values of a header, case-insensitively, in order. */
export function headerValues(head: Pick<HttpHead, 'headers'>, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}

/** A header's value; repeated headers are joined with ", " (RFC 9110 §5.3). */
export function headerValue(head: Pick<HttpHead, 'headers'>, name: string): string | undefined {
  const values = headerValues(head, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/** Splits a comma-separated header into trimmed, non-empty elements (RFC 9110 §5.6.1). */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** RFC 9110 §5.6.2 token characters. */
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export function isToken(s: string): boolean {
  return tokenPattern.test(s);
}

export type HeadParseResult =
  | { done: false }
  | { done: true; head: HttpHead; rest: Uint8Array };

export interface HeadParserOptions {
  kind: 'request' | 'response';
  /** Largest head accepted (bytes, including the empty line). Beyond it: 431. */
  maxSize: number;
}

export class HttpHeadParser {
  /** Growable buffer: bytes may arrive one at a time, so appends must stay cheap. */
  private buffer = new Uint8Array(256);
  private size = 0;
  /** Where to resume looking for CRLF CRLF. */
  private scanFrom = 0;

  constructor(private readonly options: HeadParserOptions) {}

  /** Bytes held so far (for byte-stepping displays). */
  get received(): number {
    return this.size;
  }

  feed(data: Uint8Array): HeadParseResult {
    if (this.size + data.length > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < this.size + data.length) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(0, this.size));
      this.buffer = grown;
    }
    this.buffer.set(data, this.size);
    this.size += data.length;
    const buf = this.buffer;
    for (let i = Math.max(0, this.scanFrom - 3); i + 3 < this.size; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        const end = i + 4;
        if (end > this.options.maxSize) break;
        const head = parseHead(buf.subarray(0, end), this.options.kind);
        return { done: true, head, rest: buf.slice(end, this.size) };
      }
    }
    this.scanFrom = this.size;
    if (this.size >= this.options.maxSize) {
      throw new HandshakeError('HTTP_HEAD_TOO_LARGE', 431, `The HTTP head exceeds ${this.options.maxSize} bytes without ending.`, 'RFC 6585 §5');
    }
    return { done: false };
  }
}

function bad(message: string): HandshakeError {
  return new HandshakeError('HTTP_MALFORMED', 400, message, 'RFC 9112 §2');
}

const latin1 = new TextDecoder('latin1');

export function parseHead(raw: Uint8Array, kind: 'request' | 'response'): HttpHead {
  // Header field values are octets; latin1 keeps every byte visible.
  const text = latin1.decode(raw);
  const lines = text.slice(0, -4).split('\r\n');
  const startLine = lines[0] ?? '';
  if (/[\r\n]/.test(lines.join(''))) throw bad('A bare CR or LF appears inside the head; lines must end with CRLF.');
  const head: HttpHead = {
    kind, method: '', target: '', status: 0, reason: '', version: '', versionMajor: 0, versionMinor: 0,
    headers: [], raw: raw.slice(),
  };
  let version: string;
  if (kind === 'request') {
    const parts = startLine.split(' ');
    if (parts.length !== 3) throw bad(`The request line "${startLine}" is not "METHOD target HTTP/x.y".`);
    [head.method, head.target, version] = parts as [string, string, string];
    if (!isToken(head.method)) throw bad(`"${head.method}" is not a valid method token.`);
  } else {
    const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
    if (!match) throw bad(`The status line "${startLine}" is not "HTTP/x.y code reason".`);
    version = match[1]!;
    head.status = Number(match[2]);
    head.reason = match[3] ?? '';
  }
  const v = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!v) throw bad(`"${version}" is not an HTTP version.`);
  head.version = version;
  head.versionMajor = Number(v[1]);
  head.versionMinor = Number(v[2]);
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw bad('Obsolete line folding is not allowed (RFC 9112 §5.2).');
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(`The header line "${line}" has no name.`);
    const name = line.slice(0, colon);
    if (!isToken(name)) throw bad(`"${name}" is not a valid header name (no spaces before the colon, RFC 9112 §5.1).`);
    head.headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  return head;
}

export function formatRequestHead(method: string, target: string, headers: HttpHeader[]): Uint8Array {
  const lines = [`${method} ${target} HTTP/1.1`, ...headers.map((h) => `${h.name}: ${h.value}`), '', ''];
  return new TextEncoder().encode(lines.join('\r\n'));
}

export function formatResponseHead(status: number, reason: string, headers: HttpHeader[]): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...headers.map((h) => `${h.name}: ${h.value}`), '', ''];
  return new TextEncoder().encode(lines.join('\r\n'));
}

export const statusReasons: Record<number, string> = {
  101: 'Switching Protocols',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};
