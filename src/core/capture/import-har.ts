/**
 * WebSocket connections from a HAR file, at message level: HAR keeps the handshake's headers and
 * each message, not the bytes. Chrome's DevTools (and tools that follow it: HTTP Toolkit,
 * Proxyman, our own export) write them in `_webSocketMessages` ({ type: send | receive, time in
 * seconds since the epoch, opcode, data: text, or base64 for binary }). Firefox's DevTools HAR
 * export writes the 101 entry but, as far as its exporter goes, no messages: such an entry comes
 * in as a handshake with a note saying the file holds no messages.
 *
 * Every connection is rebuilt and marked `reconstructed` ("reconstructed, not captured"): the
 * heads are written from the recorded headers (Sec-WebSocket-Extensions left out: the messages
 * are the browser's inflated ones, so the rebuilt frames are uncompressed), each message is one
 * frame, client frames are masked with a fresh key (§5.3), server frames are not. The replay then
 * reads them like any recording, so the views work on them; nothing claims they were captured.
 *
 * The file is hostile input: its size is bounded before it is parsed, every field read is
 * checked, and what cannot be used is skipped with a note rather than failing the whole file.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { utf8Encode } from '../bytes.ts';
import { Opcode } from '../constants.ts';
import { encodeClosePayload, encodeFrame } from '../frame-codec.ts';
import { isToken } from '../http.ts';
import { randomMaskKey } from '../protocol.ts';
import { addNote, appendChunk, createConnection, createRecording, endConnection, type RecordedConnection, type RecordedEndpoint, type Recording } from './recording.ts';
import { tooManyContainers } from './json-bounds.ts';

export interface HarImportLimits {
  /** Largest HAR file read (default 256 MiB). */
  maxFileBytes?: number;
  /** Most WebSocket messages, all connections together (default 1,000,000). */
  maxMessages?: number;
  /** Largest single message (default 64 MiB). */
  maxMessageBytes?: number;
  /** Most objects and arrays in the document, which is parsed whole (default MAX_JSON_CONTAINERS: json-bounds.ts). */
  maxContainers?: number;
}

export interface HarImportResult {
  recording: Recording;
  /** Why some or all of the file could not be used (null: all of it was). */
  error: string | null;
  /** HAR entries that were WebSocket connections. */
  webSockets: number;
}

/** Does this text start like a HAR file (JSON with a "log")? Checked on the first bytes only. */
export function looksLikeHar(firstBytes: Uint8Array): boolean {
  const text = Buffer.from(firstBytes.subarray(0, 4096)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('{') && /^\{\s*"log"\s*:/.test(text);
}

class HarError extends Error {}

/** Reads and imports a HAR file, bounded. A missing or unreadable file throws (a plain message). */
export function readHarFile(path: string, limits: HarImportLimits = {}): HarImportResult {
  const max = limits.maxFileBytes ?? 256 * 1024 * 1024;
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let text: string;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${path} is not a regular file.`);
    if (stat.size > max) return failed(`the HAR file is ${stat.size} bytes; at most ${max} are read`);
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > max) return failed(`the HAR file is more than ${max} bytes`);
    text = buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
  return importHar(text, limits);
}

function failed(error: string): HarImportResult {
  return { recording: createRecording([], 'HAR import'), error, webSockets: 0 };
}

/** Imports HAR text (already bounded by the caller). */
export function importHar(text: string, limits: HarImportLimits = {}): HarImportResult {
  const tooMany = tooManyContainers(text, limits.maxContainers);
  if (tooMany) return failed(tooMany);
  let har: unknown;
  try {
    har = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return failed(`the file is not JSON (${(error as Error).message.slice(0, 120)})`);
  }
  const log = isObject(har) ? har['log'] : undefined;
  if (!isObject(log) || !Array.isArray(log['entries'])) return failed('the file is not a HAR file: it has no log.entries list');
  const importer = new HarImporter(limits);
  const entries = log['entries'] as unknown[];
  for (let i = 0; i < entries.length; i++) if (!importer.take(entries[i], i)) break;
  return importer.result();
}

/**
 * Imports HAR entries one at a time (a streaming JSON reader hands them over as it parses them,
 * so a large file is never held whole): each WebSocket entry becomes a connection at once.
 */
export class HarImporter {
  private readonly state: { messages: number; maxMessages: number; maxMessageBytes: number };
  private readonly connections: RecordedConnection[] = [];
  private error: string | null = null;

  constructor(limits: HarImportLimits = {}, private readonly onConnection?: (conn: RecordedConnection) => void) {
    this.state = { messages: 0, maxMessages: limits.maxMessages ?? 1_000_000, maxMessageBytes: limits.maxMessageBytes ?? 64 * 1024 * 1024 };
  }

  /** Entry `index` (from 0) of log.entries; false once importing stopped (an entry it could not read). */
  take(entry: unknown, index: number): boolean {
    if (this.error) return false;
    if (!isObject(entry) || !isWebSocketEntry(entry)) return true;
    try {
      const conn = connectionOf(entry, index, this.state);
      if (this.onConnection) this.onConnection(conn);
      else this.connections.push(conn);
      return true;
    } catch (problem) {
      if (!(problem instanceof HarError)) throw problem;
      this.error = `entry ${index + 1}: ${problem.message}`;
      return false;
    }
  }

  /** The connections (those not handed to onConnection) and why importing stopped, if it did. */
  result(): HarImportResult {
    return { recording: createRecording(this.connections, 'HAR import'), error: this.error, webSockets: this.connections.length };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isWebSocketEntry(entry: Record<string, unknown>): boolean {
  if (entry['_resourceType'] === 'websocket' || Array.isArray(entry['_webSocketMessages'])) return true;
  const request = entry['request'];
  const response = entry['response'];
  const url = isObject(request) && typeof request['url'] === 'string' ? request['url'] : '';
  return /^wss?:\/\//i.test(url) || (isObject(response) && response['status'] === 101);
}

/** Headers as name/value pairs we can write into an HTTP/1.1 head (others are dropped). */
function headersOf(v: unknown, notes: string[]): Array<{ name: string; value: string }> {
  if (!Array.isArray(v)) return [];
  const out: Array<{ name: string; value: string }> = [];
  let dropped = 0;
  for (const h of v.slice(0, 500)) {
    if (!isObject(h) || typeof h['name'] !== 'string' || typeof h['value'] !== 'string') {
      dropped++;
      continue;
    }
    const name = h['name'], value = h['value'];
    // HTTP/2 pseudo-headers (":method") and anything that cannot go in an HTTP/1.1 head.
    if (!isToken(name) || /[\r\n\0]/.test(value) || value.length > 8192) {
      dropped++;
      continue;
    }
    if (name.toLowerCase() === 'sec-websocket-extensions') continue;
    out.push({ name, value });
  }
  if (dropped) notes.push(`${dropped} header${dropped === 1 ? '' : 's'} of the HAR could not be written into an HTTP/1.1 head and were left out.`);
  return out;
}

function head(startLine: string, headers: Array<{ name: string; value: string }>): Uint8Array {
  return utf8Encode(`${startLine}\r\n${headers.map((h) => `${h.name}: ${h.value}\r\n`).join('')}\r\n`);
}

function endpointFromUrl(url: URL | null, serverIp: unknown): RecordedEndpoint {
  const address = typeof serverIp === 'string' && serverIp.length <= 100 ? serverIp.replace(/^\[|\]$/g, '') : '';
  const port = url ? Number(url.port) || (url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80) : 0;
  return { address, port, family: address.includes(':') ? 'IPv6' : 'IPv4' };
}

/** Milliseconds since the epoch from a HAR message's time (seconds); null when unusable. */
function messageTime(v: unknown): number | null {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 253_402_300_800) return null;
  return v * 1000;
}

function connectionOf(entry: Record<string, unknown>, index: number, state: { messages: number; maxMessages: number; maxMessageBytes: number }): RecordedConnection {
  const notes: string[] = [];
  const request = isObject(entry['request']) ? entry['request'] : {};
  const response = isObject(entry['response']) ? entry['response'] : {};
  const urlText = typeof request['url'] === 'string' ? request['url'].slice(0, 8192) : '';
  let url: URL | null = null;
  try {
    url = new URL(urlText);
  } catch {
    notes.push('The entry has no usable URL.');
  }
  const started = typeof entry['startedDateTime'] === 'string' ? Date.parse(entry['startedDateTime']) : NaN;
  const rawMessages = Array.isArray(entry['_webSocketMessages']) ? entry['_webSocketMessages'] as unknown[] : null;
  const firstTime = rawMessages?.map((m) => (isObject(m) ? messageTime(m['time']) : null)).find((t) => t !== null) ?? null;
  const startTime = Number.isFinite(started) && started >= 0 ? started : firstTime ?? 0;
  const conn = createConnection({
    id: `har${index + 1}`, ourRole: 'observed', source: 'har', reconstructed: true,
    client: { address: '', port: 0, family: 'IPv4' }, server: endpointFromUrl(url, entry['serverIPAddress']), startTime,
    ...(url && /^wss?:$/.test(url.protocol) ? { url: url.href } : url ? { url: url.href.replace(/^http/, 'ws') } : {}),
  });
  const target = url ? `${url.pathname}${url.search}` : '/';
  const version = typeof request['httpVersion'] === 'string' && /^HTTP\/1\.[01]$/i.test(request['httpVersion']) ? request['httpVersion'].toUpperCase() : 'HTTP/1.1';
  appendChunk(conn, 'c2s', startTime, head(`GET ${target} ${version}`, headersOf(request['headers'], notes)));
  const status = typeof response['status'] === 'number' && Number.isInteger(response['status']) && response['status'] >= 100 && response['status'] <= 999 ? response['status'] : 0;
  const statusText = typeof response['statusText'] === 'string' && !/[\r\n]/.test(response['statusText']) ? response['statusText'].slice(0, 200) : '';
  if (status === 0) notes.push('The HAR entry has no response status; the connection is shown as it was requested only.');
  else appendChunk(conn, 's2c', startTime, head(`HTTP/1.1 ${status} ${statusText || (status === 101 ? 'Switching Protocols' : '')}`.trimEnd(), headersOf(response['headers'], notes)));
  if (status === 101 && rawMessages === null) {
    notes.push('The HAR file holds no messages for this WebSocket (Firefox\'s HAR export writes none; Chrome\'s writes them in _webSocketMessages).');
  }
  let last = startTime;
  let closes = 0;
  for (const [i, m] of (status === 101 ? rawMessages ?? [] : []).entries()) {
    if (++state.messages > state.maxMessages) throw new HarError(`more than ${state.maxMessages} WebSocket messages`);
    const frame = frameOf(m, state.maxMessageBytes);
    if (typeof frame === 'string') {
      notes.push(`Message ${i + 1} left out: ${frame}.`);
      continue;
    }
    const time = Math.max(last, frame.time ?? last);
    last = time;
    if (frame.opcode === Opcode.Close) closes++;
    appendChunk(conn, frame.send ? 'c2s' : 's2c', time, encodeFrame({ opcode: frame.opcode, payload: frame.payload }, frame.send ? randomMaskKey() : null));
  }
  for (const note of notes) addNote(conn, startTime, note);
  if (closes > 0) endConnection(conn, last);
  return conn;
}

interface RebuiltFrame {
  send: boolean;
  time: number | null;
  opcode: number;
  payload: Uint8Array;
}

/** One _webSocketMessages element as a frame to rebuild, or why it cannot be. */
function frameOf(m: unknown, maxBytes: number): RebuiltFrame | string {
  if (!isObject(m)) return 'it is not an object';
  const type = m['type'];
  if (type !== 'send' && type !== 'receive') return 'its type is neither "send" nor "receive"';
  const opcode = m['opcode'];
  if (opcode !== 1 && opcode !== 2 && opcode !== 8 && opcode !== 9 && opcode !== 10) return `opcode ${JSON.stringify(opcode)} is not a text, binary, close, ping or pong`;
  const data = m['data'] ?? '';
  if (typeof data !== 'string') return 'its data is not a string';
  if (data.length > maxBytes * 2) return `it is larger than ${maxBytes} bytes`;
  let payload: Uint8Array;
  if (opcode === 2 || ((opcode === 9 || opcode === 10) && m['_base64'] === true)) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return 'its data is not base64';
    payload = new Uint8Array(Buffer.from(data, 'base64'));
  } else if (opcode === 8) {
    const code = m['_closeCode'] ?? m['code'];
    if (code !== undefined && (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 65535)) return 'its close code is not a number from 0 to 65535';
    // Without a status code a Close has no body (§5.5.1: a reason needs a code before it); with one,
    // encodeClosePayload checks nothing: the replay judges code and reason like any Close.
    payload = code === undefined ? new Uint8Array(0) : encodeClosePayload(code, data);
  } else {
    payload = utf8Encode(data);
  }
  if (payload.length > maxBytes) return `it is larger than ${maxBytes} bytes`;
  return { send: type === 'send', time: messageTime(m['time']), opcode, payload };
}
