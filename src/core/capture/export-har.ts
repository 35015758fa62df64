/**
 * A recording as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) in the shape Chrome's
 * DevTools writes for WebSockets (since Chrome 76): one entry per connection with the opening
 * handshake as its request and its 101 response, `_resourceType: "websocket"`, and the messages
 * in `_webSocketMessages`: { type: "send" | "receive", time: seconds since the epoch, opcode,
 * data: the text, or base64 for binary }. As in DevTools, "send" is what the client sent,
 * whichever side we were. Close, Ping and Pong frames are listed too (opcode 8, 9, 10; a Close's
 * data is its reason and `_closeCode` its status code). Messages are the replay's, so compressed
 * messages appear inflated and fragmented ones whole, as a browser reports them.
 */

import { utf8DecodeLenient } from '../bytes.ts';
import type { HttpHeader } from '../http.ts';
import type { TraceEvent, TracedHead } from '../trace.ts';
import { formatEndpoint, type RecordedConnection, type Recording } from './recording.ts';
import { replayConnection } from './replay.ts';

export interface HarWebSocketMessage {
  type: 'send' | 'receive';
  time: number;
  opcode: number;
  data: string;
  _closeCode?: number;
  /** Set on a Ping or Pong whose payload is not text: data is then base64. */
  _base64?: true;
}

export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    pages: unknown[];
    entries: Array<Record<string, unknown> & { _webSocketMessages: HarWebSocketMessage[] }>;
  };
}

function harHeaders(headers: readonly HttpHeader[]): Array<{ name: string; value: string }> {
  return headers.map((h) => ({ name: h.name, value: h.value }));
}

function urlOf(conn: RecordedConnection, request: TracedHead | null): string {
  if (conn.url) return conn.url;
  const target = request?.startLine.split(' ')[1] ?? '/';
  const host = request?.headers.find((h) => h.name.toLowerCase() === 'host')?.value ?? formatEndpoint(conn.server);
  return `${conn.tls ? 'wss' : 'ws'}://${host}${target.startsWith('/') ? target : '/'}`;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function entryOf(conn: RecordedConnection): Har['log']['entries'][number] {
  const events: TraceEvent[] = [...replayConnection(conn)];
  let request: TracedHead | null = null;
  let response: TracedHead | null = null;
  let opened: number | null = null;
  const messages: HarWebSocketMessage[] = [];
  const we = conn.ourRole === 'server' ? 'server' : 'client';
  // DevTools speaks for the client: "send" is the client's.
  const typeOf = (d: 'in' | 'out'): 'send' | 'receive' => ((d === 'out') === (we === 'client') ? 'send' : 'receive');
  for (const e of events) {
    if (e.type === 'http-head') {
      if (e.head.kind === 'request') request ??= e.head;
      else response ??= e.head;
      if (e.head.kind === 'response') opened ??= e.time;
    } else if (e.type === 'message') {
      messages.push({ type: typeOf(e.direction), time: e.time / 1000, opcode: e.opcode, data: e.text ?? base64(e.data ?? new Uint8Array(0)) });
    } else if (e.type === 'frame' && e.frame.opcode >= 8 && e.frame.opcode <= 10 && !e.frame.partial) {
      const f = e.frame;
      const asText = f.opcode === 8 || isPlainText(f.payload);
      const message: HarWebSocketMessage = { type: typeOf(e.direction), time: e.time / 1000, opcode: f.opcode, data: f.opcode === 8 ? f.close?.reason ?? '' : asText ? utf8DecodeLenient(f.payload) : base64(f.payload) };
      if (!asText) message._base64 = true;
      if (f.opcode === 8 && f.close?.code != null) message._closeCode = f.close.code;
      messages.push(message);
    }
  }
  const end = conn.endTime ?? events.at(-1)?.time ?? conn.startTime;
  const status = response ? Number(response.startLine.split(' ')[1]) || 0 : 0;
  const statusText = response ? response.startLine.split(' ').slice(2).join(' ') : '';
  return {
    startedDateTime: new Date(conn.startTime).toISOString(),
    time: Math.max(0, end - conn.startTime),
    request: {
      method: request?.startLine.split(' ')[0] ?? 'GET', url: urlOf(conn, request), httpVersion: request?.startLine.split(' ')[2] ?? 'HTTP/1.1',
      headers: harHeaders(request?.headers ?? []), queryString: [], cookies: [], headersSize: request?.raw.length ?? -1, bodySize: 0,
    },
    response: {
      status, statusText, httpVersion: response?.startLine.split(' ')[0] ?? 'HTTP/1.1', headers: harHeaders(response?.headers ?? []), cookies: [],
      content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: response?.raw.length ?? -1, bodySize: 0,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: opened !== null ? Math.max(0, opened - conn.startTime) : -1, receive: 0 },
    serverIPAddress: conn.server.address,
    connection: String(conn.client.port),
    _resourceType: 'websocket',
    _webSocketMessages: messages,
    ...(conn.reconstructed ? { comment: 'reconstructed, not captured (imported from a HAR file)' } : {}),
  };
}

/** A control frame's payload reads as text: valid UTF-8 without control bytes. */
function isPlainText(bytes: Uint8Array): boolean {
  const text = utf8DecodeLenient(bytes);
  return !text.includes('\ufffd') && !/[\x00-\x08\x0e-\x1f]/.test(text);
}

export function recordingToHar(recording: Recording, version = '1'): Har {
  return {
    log: {
      version: '1.2',
      creator: { name: 'wsinspect (WebSocket Inspector)', version },
      pages: [],
      entries: recording.connections.map(entryOf),
    },
  };
}
