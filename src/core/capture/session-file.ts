/**
 * The session file: JSON lines, one record each, so it can be written as a session runs and read
 * back a line at a time.
 *
 *   {"format":"wsinspect-session","version":1,"createdAt":…,"createdBy":"wsinspect serve","recordCap":16777216}
 *   {"t":"conn","id":"c1","ourRole":"server","source":"live","client":{"address":"127.0.0.1","port":50412,"family":"IPv4"},"server":{…},"startTime":…}
 *   {"t":"tls","id":"c1","tls":{…TlsInfo…}}
 *   {"t":"data","id":"c1","dir":"c2s","time":1764345600123.456,"b64":"R0VUIC8g…","elided":0}
 *   ("lost":N on a data record: a capture gap of N bytes before its bytes, RecordedChunk.lost)
 *   {"t":"note","id":"c1","time":…,"text":"…"}
 *   {"t":"end","id":"c1","time":…}
 *
 * A file is hostile input: reading is bounded (line length, number of connections, notes and
 * chunks, total bytes), and every field is checked. A bad line stops reading with one sentence
 * naming the line, and everything read before it is kept.
 */

import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { TlsInfo } from '../tls-types.ts';
import {
  RECORDING_FORMAT_VERSION, type RecordedChunk, type RecordedConnection, type RecordedEndpoint, type Recording,
} from './recording.ts';

export const SESSION_FORMAT = 'wsinspect-session';
/** What a session file starts with (for dispatching on file magic). */
export const SESSION_MAGIC = `{"format":"${SESSION_FORMAT}"`;
/** The writer splits larger chunks into several lines, so every line stays well under the reader's cap. */
export const MAX_CHUNK_PER_LINE = 1024 * 1024;
/** --record-cap's default: per frame, payload bytes past this are left out (elided). */
export const DEFAULT_RECORD_CAP = 16 * 1024 * 1024;

export interface SessionReadLimits {
  /** Longest line, in bytes (default 4 MiB: a 1 MiB chunk in base64 is 1.4 MiB). */
  maxLineBytes?: number;
  /** Most recorded bytes held in memory, all chunks together (default 1 GiB). */
  maxTotalBytes?: number;
  maxConnections?: number;
  /** Most chunks and notes, all connections together (default 10 million). */
  maxRecords?: number;
}

export interface SessionReadResult {
  recording: Recording;
  /** Why reading stopped early (null: the whole file was read). Everything before it is in `recording`. */
  error: string | null;
  /** Lines read. */
  lines: number;
}

class SessionFormatError extends Error {}

// ------------------------------------------------------------------ writing

/** Appends session records to a file, buffered and written synchronously (no unbounded queue). */
export class SessionFileWriter {
  private fd: number | null;
  private buffer: string[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(path: string, header: { createdBy: string; recordCap?: number; createdAt?: number }) {
    this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    this.line({ format: SESSION_FORMAT, version: RECORDING_FORMAT_VERSION, createdAt: header.createdAt ?? Date.now(), createdBy: header.createdBy, ...(header.recordCap !== undefined ? { recordCap: header.recordCap } : {}) });
    this.flush();
  }

  connection(conn: Omit<RecordedConnection, 'chunks' | 'notes'>): void {
    const { tls, ...rest } = conn;
    this.line({ t: 'conn', ...rest });
    if (tls) this.tls(conn.id, tls);
  }

  tls(id: string, tls: TlsInfo): void {
    this.line({ t: 'tls', id, tls });
  }

  data(id: string, chunk: RecordedChunk): void {
    // The hot path while recording: the line is written out directly (the same JSON that
    // dataRecords' objects stringify to), without building and scanning an object per chunk.
    const { bytes } = chunk;
    const head = `{"t":"data","id":${JSON.stringify(id)},"dir":"${chunk.direction}","time":${JSON.stringify(chunk.time)},"b64":"`;
    for (let at = 0; at < bytes.length || at === 0; at += MAX_CHUNK_PER_LINE) {
      const piece = bytes.subarray(at, at + MAX_CHUNK_PER_LINE);
      const last = at + MAX_CHUNK_PER_LINE >= bytes.length;
      const b64 = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('base64');
      this.text(`${head}${b64}"${at === 0 && chunk.lost ? `,"lost":${chunk.lost}` : ''}${last && chunk.elided ? `,"elided":${chunk.elided}` : ''}}\n`);
      if (bytes.length === 0) break;
    }
  }

  note(id: string, time: number, text: string): void {
    this.line({ t: 'note', id, time, text });
  }

  end(id: string, time: number): void {
    this.line({ t: 'end', id, time });
    this.scheduleFlush();
  }

  /** Writes a whole recording (an imported HAR or capture saved as a session). */
  static write(path: string, recording: Recording): void {
    const writer = new SessionFileWriter(path, { createdBy: recording.createdBy, createdAt: recording.createdAt, ...(recording.recordCap !== undefined ? { recordCap: recording.recordCap } : {}) });
    for (const record of sessionRecords(recording).slice(1)) writer.line(record);
    writer.close();
  }

  private line(record: object): void {
    this.text(JSON.stringify(record) + '\n');
  }

  private text(text: string): void {
    if (this.fd === null) return;
    this.buffer.push(text);
    this.buffered += text.length;
    if (this.buffered >= 1024 * 1024) this.flush();
    else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.timer || this.fd === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, 200);
    this.timer.unref?.();
  }

  flush(): void {
    if (this.fd === null || this.buffer.length === 0) return;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.buffered = 0;
    for (let at = 0; at < data.length;) at += writeSync(this.fd, data, at, data.length - at);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A whole recording as the session file's records, in file order (header first). */
export function sessionRecords(recording: Recording): object[] {
  const out: object[] = [];
  const collect = { line: (record: object) => out.push(record) };
  out.push({ format: SESSION_FORMAT, version: RECORDING_FORMAT_VERSION, createdAt: recording.createdAt, createdBy: recording.createdBy, ...(recording.recordCap !== undefined ? { recordCap: recording.recordCap } : {}) });
  for (const conn of recording.connections) {
    const { chunks, notes, tls, ...meta } = conn;
    collect.line({ t: 'conn', ...meta });
    if (tls) collect.line({ t: 'tls', id: conn.id, tls });
    // Notes and chunks in time order, as a live recording writes them.
    let n = 0;
    const note = () => collect.line({ t: 'note', id: conn.id, time: notes[n]!.time, text: notes[n++]!.text });
    for (const chunk of chunks) {
      while (n < notes.length && notes[n]!.time <= chunk.time) note();
      for (const record of dataRecords(conn.id, chunk)) collect.line(record);
    }
    while (n < notes.length) note();
    if (conn.endTime !== undefined) collect.line({ t: 'end', id: conn.id, time: conn.endTime });
  }
  return out;
}

/** One chunk as data records; long chunks go in pieces, only the last carries the elided count (it follows all the bytes). */
function dataRecords(id: string, chunk: RecordedChunk): object[] {
  const { bytes } = chunk;
  const out: object[] = [];
  for (let at = 0; at < bytes.length || at === 0; at += MAX_CHUNK_PER_LINE) {
    const piece = bytes.subarray(at, at + MAX_CHUNK_PER_LINE);
    const last = at + MAX_CHUNK_PER_LINE >= bytes.length;
    out.push({ t: 'data', id, dir: chunk.direction, time: chunk.time, b64: Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('base64'), ...(at === 0 && chunk.lost ? { lost: chunk.lost } : {}), ...(last && chunk.elided ? { elided: chunk.elided } : {}) });
    if (bytes.length === 0) break;
  }
  return out;
}

// ------------------------------------------------------------------ reading

/** Reads a session file, bounded; never throws for what is in the file (a missing file does throw). */
export function readSessionFile(path: string, limits: SessionReadLimits = {}): SessionReadResult {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file.`);
    const reader = new SessionReader(limits);
    const buffer = Buffer.alloc(1024 * 1024);
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      if (!reader.push(buffer.subarray(0, n))) break;
    }
    return reader.end();
  } finally {
    closeSync(fd);
  }
}

/** Parses session text given in pieces (the file reader, or a renderer given a File). */
export class SessionReader {
  private readonly maxLine: number;
  private readonly maxTotal: number;
  private readonly maxConnections: number;
  private readonly maxRecords: number;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private lineNo = 0;
  private total = 0;
  private records = 0;
  private error: string | null = null;
  private recording: Recording | null = null;
  private readonly byId = new Map<string, RecordedConnection>();
  /** Streaming: connections handed to onEnd (their chunks dropped here since). */
  private readonly handedOver = new Set<string>();

  /**
   * `onEnd` (streaming): each connection is handed over when its end record is read, its notes
   * sorted, and this reader then drops its chunks, so that `maxTotalBytes` bounds the bytes held
   * (of connections not yet ended) rather than the whole file. A record for a connection after its
   * end is then an error. Without it, the whole recording is kept until end().
   */
  constructor(limits: SessionReadLimits = {}, private readonly onEnd?: (conn: RecordedConnection) => void) {
    this.maxLine = limits.maxLineBytes ?? 4 * 1024 * 1024;
    this.maxTotal = limits.maxTotalBytes ?? 1024 * 1024 * 1024;
    this.maxConnections = limits.maxConnections ?? 100_000;
    this.maxRecords = limits.maxRecords ?? 10_000_000;
  }

  /** Feeds bytes; false once reading has stopped (an error or a limit). */
  push(data: Uint8Array): boolean {
    if (this.error) return false;
    let start = 0;
    for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, start)) {
      const piece = Buffer.from(data.buffer, data.byteOffset + start, i - start);
      if (!this.grow(piece.length)) return false;
      const line = this.pending.length ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingLength = 0;
      start = i + 1;
      if (!this.line(line)) return false;
    }
    if (start < data.length) {
      const rest = Buffer.from(data.subarray(start));
      if (!this.grow(rest.length)) return false;
      this.pending.push(rest);
    }
    return true;
  }

  private grow(n: number): boolean {
    this.pendingLength += n;
    if (this.pendingLength > this.maxLine) return this.fail(`line ${this.lineNo + 1} is longer than ${this.maxLine} bytes`);
    return true;
  }

  end(): SessionReadResult {
    if (!this.error && this.pendingLength > 0) this.line(Buffer.concat(this.pending));
    if (!this.error && !this.recording) this.error = 'the file is empty: it holds no session header';
    const recording = this.recording ?? { version: RECORDING_FORMAT_VERSION, createdAt: 0, createdBy: '', connections: [] };
    for (const conn of recording.connections) conn.notes.sort((a, b) => a.time - b.time);
    return { recording, error: this.error, lines: this.lineNo };
  }

  private fail(why: string): false {
    this.error ??= why;
    return false;
  }

  private line(bytes: Buffer): boolean {
    this.lineNo++;
    const text = bytes.toString('utf8').trim();
    if (text === '') return true;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      return this.fail(`line ${this.lineNo} is not JSON`);
    }
    return this.take(record, `line ${this.lineNo}`);
  }

  /** One record already parsed (the JSON export holds them in a list): checked like a line. */
  take(record: unknown, where = `record ${this.lineNo + 1}`): boolean {
    if (this.error) return false;
    if (where.startsWith('record')) this.lineNo++;
    try {
      if (!this.recording) this.header(record);
      else this.record(record);
      return true;
    } catch (error) {
      if (error instanceof SessionFormatError) return this.fail(`${where}: ${error.message}`);
      throw error;
    }
  }

  private header(record: unknown): void {
    const h = object(record, 'the header');
    if (h['format'] !== SESSION_FORMAT) throw new SessionFormatError(`this is not a wsinspect session file (its first line has no "format": "${SESSION_FORMAT}")`);
    const version = integer(h['version'], 'version', 1, 1000);
    if (version > RECORDING_FORMAT_VERSION) throw new SessionFormatError(`the file is format version ${version}; this wsinspect reads version ${RECORDING_FORMAT_VERSION} (update wsinspect)`);
    this.recording = {
      version, createdAt: time(h['createdAt'], 'createdAt'), createdBy: string(h['createdBy'] ?? '', 'createdBy', 200), connections: [],
      ...(h['recordCap'] !== undefined ? { recordCap: integer(h['recordCap'], 'recordCap', 0, Number.MAX_SAFE_INTEGER) } : {}),
    };
  }

  private record(record: unknown): void {
    const r = object(record, 'the record');
    const type = r['t'];
    const id = string(r['id'], 'id', 200);
    if (type === 'conn') {
      if (this.byId.has(id)) throw new SessionFormatError(`connection "${id}" is declared twice`);
      if (this.byId.size >= this.maxConnections) throw new SessionFormatError(`more than ${this.maxConnections} connections`);
      const conn = connectionRecord(r, id);
      this.byId.set(id, conn);
      this.recording!.connections.push(conn);
      return;
    }
    const conn = this.byId.get(id);
    if (!conn) throw new SessionFormatError(`"${id}" is not a connection declared before it`);
    if (this.handedOver.has(id)) throw new SessionFormatError(`connection "${id}" has a record after its end`);
    if (++this.records > this.maxRecords) throw new SessionFormatError(`more than ${this.maxRecords} records`);
    switch (type) {
      case 'tls':
        conn.tls = tlsInfo(r['tls']);
        return;
      case 'data': {
        const direction = oneOf(r['dir'], 'dir', ['c2s', 's2c'] as const);
        const b64 = string(r['b64'], 'b64', this.maxLine);
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new SessionFormatError('b64 is not base64');
        const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
        const elided = r['elided'] === undefined ? 0 : integer(r['elided'], 'elided', 0, Number.MAX_SAFE_INTEGER);
        const lost = r['lost'] === undefined ? 0 : integer(r['lost'], 'lost', 1, Number.MAX_SAFE_INTEGER);
        this.total += bytes.length;
        if (this.total > this.maxTotal) throw new SessionFormatError(`the session holds more than ${this.maxTotal} bytes (the reading limit)`);
        const chunk: RecordedChunk = { direction, time: time(r['time'], 'time'), bytes };
        if (elided > 0) chunk.elided = elided;
        if (lost > 0) chunk.lost = lost;
        conn.chunks.push(chunk);
        return;
      }
      case 'note':
        conn.notes.push({ time: time(r['time'], 'time'), text: string(r['text'], 'text', 4096) });
        return;
      case 'end':
        conn.endTime = time(r['time'], 'time');
        if (this.onEnd) {
          conn.notes.sort((a, b) => a.time - b.time);
          this.handedOver.add(id);
          this.onEnd({ ...conn });
          for (const chunk of conn.chunks) this.total -= chunk.bytes.length;
          conn.chunks = [];
        }
        return;
      default:
        throw new SessionFormatError(`unknown record type ${JSON.stringify(String(type).slice(0, 20))}`);
    }
  }
}

// ------------------------------------------------------------------ field checks

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SessionFormatError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function string(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') throw new SessionFormatError(`${what} is not a string`);
  if (v.length > max) throw new SessionFormatError(`${what} is longer than ${max} characters`);
  return v;
}

function optionalString(v: unknown, what: string, max: number): string | undefined {
  return v === undefined ? undefined : string(v, what, max);
}

function integer(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SessionFormatError(`${what} is not a whole number from ${min} to ${max}`);
  return v;
}

/** Milliseconds since the epoch: from 1970 to the year 10000. */
function time(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 253_402_300_800_000) throw new SessionFormatError(`${what} is not a time (milliseconds since 1970)`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new SessionFormatError(`${what} is not true or false`);
  return v;
}

function oneOf<T extends string>(v: unknown, what: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw new SessionFormatError(`${what} is not one of ${values.join(', ')}`);
  return v as T;
}

function endpoint(v: unknown, what: string): RecordedEndpoint {
  const e = object(v, what);
  return { address: string(e['address'], `${what}.address`, 100), port: integer(e['port'], `${what}.port`, 0, 65535), family: oneOf(e['family'], `${what}.family`, ['IPv4', 'IPv6'] as const) };
}

function connectionRecord(r: Record<string, unknown>, id: string): RecordedConnection {
  const conn: RecordedConnection = {
    id, ourRole: oneOf(r['ourRole'], 'ourRole', ['server', 'client', 'observed'] as const),
    source: oneOf(r['source'], 'source', ['live', 'pcap', 'har', 'file'] as const),
    client: endpoint(r['client'], 'client'), server: endpoint(r['server'], 'server'),
    startTime: time(r['startTime'], 'startTime'), chunks: [], notes: [],
  };
  const url = optionalString(r['url'], 'url', 8192);
  if (url !== undefined) conn.url = url;
  if (r['endTime'] !== undefined) conn.endTime = time(r['endTime'], 'endTime');
  if (r['reconstructed'] !== undefined) conn.reconstructed = bool(r['reconstructed'], 'reconstructed');
  if (r['proxyLeg'] !== undefined) {
    const p = object(r['proxyLeg'], 'proxyLeg');
    const pairedWith = optionalString(p['pairedWith'], 'proxyLeg.pairedWith', 200);
    conn.proxyLeg = { leg: oneOf(p['leg'], 'proxyLeg.leg', ['client-facing', 'server-facing'] as const), ...(pairedWith !== undefined ? { pairedWith } : {}) };
  }
  return conn;
}

// TlsInfo is shown field by field by the printers and the app: each field is checked for its type.

function strings(v: unknown, what: string, max = 1000): string[] {
  if (!Array.isArray(v)) throw new SessionFormatError(`${what} is not a list`);
  if (v.length > max) throw new SessionFormatError(`${what} has more than ${max} entries`);
  return v.map((s, i) => string(s, `${what}[${i}]`, 4096));
}

function nullable<T>(v: unknown, read: (v: unknown) => T): T | null {
  return v === null ? null : read(v);
}

function certificate(v: unknown, what: string) {
  const c = object(v, what);
  const s = (k: string) => string(c[k], `${what}.${k}`, 4096);
  const more = c['moreSubjectAltNames'];
  return {
    subject: s('subject'), issuer: s('issuer'), subjectAltNames: strings(c['subjectAltNames'], `${what}.subjectAltNames`),
    ...(more !== undefined ? { moreSubjectAltNames: integer(more, `${what}.moreSubjectAltNames`, 0, Number.MAX_SAFE_INTEGER) } : {}),
    validFrom: s('validFrom'), validTo: s('validTo'), sha256: s('sha256'), spkiSha256: s('spkiSha256'), serialNumber: s('serialNumber'),
    selfSigned: bool(c['selfSigned'], `${what}.selfSigned`), ca: bool(c['ca'], `${what}.ca`), publicKey: s('publicKey'),
  };
}

function tlsInfo(v: unknown): TlsInfo {
  const t = object(v, 'tls');
  const peers = t['peerCertificates'];
  if (!Array.isArray(peers) || peers.length > 100) throw new SessionFormatError('tls.peerCertificates is not a list of at most 100');
  const info: TlsInfo = {
    role: oneOf(t['role'], 'tls.role', ['client', 'server'] as const), ok: bool(t['ok'], 'tls.ok'),
    verified: nullable(t['verified'], (x) => bool(x, 'tls.verified')), insecure: bool(t['insecure'], 'tls.insecure'),
    protocol: nullable(t['protocol'], (x) => string(x, 'tls.protocol', 100)),
    cipher: nullable(t['cipher'], (x) => {
      const c = object(x, 'tls.cipher');
      return { name: string(c['name'], 'tls.cipher.name', 200), standardName: string(c['standardName'], 'tls.cipher.standardName', 200), version: string(c['version'], 'tls.cipher.version', 100) };
    }),
    alpn: nullable(t['alpn'], (x) => string(x, 'tls.alpn', 255)), alpnOffered: strings(t['alpnOffered'], 'tls.alpnOffered', 100),
    sni: nullable(t['sni'], (x) => string(x, 'tls.sni', 255)),
    peerCertificates: peers.map((c, i) => certificate(c, `tls.peerCertificates[${i}]`)),
    localCertificate: nullable(t['localCertificate'] ?? null, (x) => certificate(x, 'tls.localCertificate')),
  };
  const host = optionalString(t['host'], 'tls.host', 255);
  if (host !== undefined) info.host = host;
  if (t['extraCaCount'] !== undefined) info.extraCaCount = integer(t['extraCaCount'], 'tls.extraCaCount', 0, 1_000_000);
  if (t['failure'] !== undefined) {
    const f = object(t['failure'], 'tls.failure');
    info.failure = {
      code: string(f['code'], 'tls.failure.code', 200), kind: string(f['kind'], 'tls.failure.kind', 100) as NonNullable<TlsInfo['failure']>['kind'],
      summary: string(f['summary'], 'tls.failure.summary', 4096), explanation: string(f['explanation'], 'tls.failure.explanation', 4096),
      advice: strings(f['advice'], 'tls.failure.advice', 100),
    };
  }
  return info;
}
