/**
 * Shared helpers for the interop and robustness tests (real peers over real sockets, no mocks).
 */

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { TraceEvent } from '../../../src/core/trace.ts';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const MiB = 1024 * 1024;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function expectedAccept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Rejects with a readable message if the promise does not settle in time. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A FIFO of values pushed by callbacks, awaited one at a time by the test. */
export class AsyncQueue<T> {
  private items: T[] = [];
  private waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(ms = 10_000, what = 'the next item'): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    let resolver!: (item: T) => void;
    const promise = new Promise<T>((resolve) => {
      resolver = resolve;
      this.waiters.push(resolve);
    });
    return withTimeout(promise, ms, what).catch((error: unknown) => {
      this.waiters = this.waiters.filter((w) => w !== resolver);
      throw error;
    });
  }

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }
}

/** A `ws` message as the tests compare it. */
export interface WsMessage {
  data: Buffer;
  isBinary: boolean;
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Collects every message a `ws` socket receives, in order. */
export function wsMessages(ws: WebSocket): AsyncQueue<WsMessage> {
  const queue = new AsyncQueue<WsMessage>();
  ws.on('message', (data, isBinary) => queue.push({ data: toBuffer(data), isBinary }));
  return queue;
}

export function wsClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
}

/** Opens a `ws` client and resolves once it is open. */
export async function openWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  await withTimeout(new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  }), 10_000, `ws to open ${url}`);
  return ws;
}

/** A fresh `ws` client sends a text and a binary message and must get both back (the server still works). */
export async function assertServerEchoes(url: string): Promise<void> {
  const ws = await openWs(url);
  try {
    const messages = wsMessages(ws);
    const text = `still alive ✓ ${Math.random()}`;
    ws.send(text);
    const got = await messages.next(5000, 'echo of the liveness text');
    if (got.isBinary || got.data.toString('utf8') !== text) throw new Error(`bad echo: ${got.data.toString('utf8')}`);
    const bytes = randomBytes(300);
    ws.send(bytes);
    const gotBinary = await messages.next(5000, 'echo of the liveness binary');
    if (!gotBinary.isBinary || !gotBinary.data.equals(bytes)) throw new Error('bad binary echo');
    const closed = wsClosed(ws);
    ws.close(1000, 'done');
    const info = await withTimeout(closed, 5000, 'the liveness client to close');
    if (info.code !== 1000) throw new Error(`liveness client closed with ${info.code}`);
  } finally {
    ws.terminate();
  }
}

/** Trace events of one connection, filtered. */
export function framesOf(events: readonly TraceEvent[], connectionId: string, direction?: 'in' | 'out'): Array<Extract<TraceEvent, { type: 'frame' }>> {
  return events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.connectionId === connectionId && (direction === undefined || e.direction === direction));
}

/** Polls until the check passes (for state that settles asynchronously). */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ------------------------------------------------------------------ raw sockets

/** A raw TCP client that records everything the server sends and when it closes. */
export class RawPeer {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  private listeners = new Set<() => void>();
  /** The server sent FIN (or the socket closed). */
  ended = false;
  closed = false;
  error: Error | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    // Keep our side open after the server's FIN so we can see it before closing ourselves.
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
      this.notify();
    });
    socket.on('error', (error) => {
      this.error = error;
      this.notify();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return withTimeout(new Promise<RawPeer>((resolve, reject) => {
      const socket = connect({ port, host, allowHalfOpen: true });
      socket.once('connect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    }), 5000, 'a raw TCP connection');
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves when the check on the state passes. */
  waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    let listener!: () => void;
    const promise = new Promise<void>((resolve) => {
      listener = () => {
        if (check()) resolve();
      };
      this.listeners.add(listener);
    });
    return withTimeout(promise, ms, what).finally(() => this.listeners.delete(listener));
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** Sends a valid client handshake and waits for the 101; returns the bytes after the head. */
  async handshake(path = '/'): Promise<Buffer> {
    const key = randomBytes(16).toString('base64');
    this.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await this.waitFor(() => this.received.includes('\r\n\r\n'), 5000, 'the 101 response');
    const all = this.received;
    const end = all.indexOf('\r\n\r\n') + 4;
    const head = all.subarray(0, end).toString('latin1');
    if (!head.startsWith('HTTP/1.1 101 ')) throw new Error(`handshake refused: ${head}`);
    const accept = /\r\nSec-WebSocket-Accept: *([^\r]+)\r\n/i.exec(head)?.[1];
    if (accept !== expectedAccept(key)) throw new Error(`wrong accept ${accept}`);
    this.chunks = [all.subarray(end)];
    return all.subarray(end);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ParsedServerFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses complete frames from bytes a server sent (unmasked, §5.1). Stops at an incomplete frame. */
export function parseFrames(bytes: Buffer): ParsedServerFrame[] {
  const frames: ParsedServerFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const b0 = bytes[at]!, b1 = bytes[at + 1]!;
    let length = b1 & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (offset + 2 > bytes.length) break;
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (offset + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | null = null;
    if (masked) {
      if (offset + 4 > bytes.length) break;
      key = bytes.subarray(offset, offset + 4);
      offset += 4;
    }
    if (offset + length > bytes.length) break;
    const payload = Buffer.from(bytes.subarray(offset, offset + length));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload });
    at = offset + length;
  }
  return frames;
}

/** Whether something on 127.0.0.1 accepts a TCP connection at this URL's port. */
export function acceptsTcp(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A port of 127.0.0.1 that refuses connections: 1, which nothing here listens on and which no
 * listen(0) is ever given (it lies below the ephemeral range). Not a port found free by listening
 * on 0 and closing: between that close and the connect, a test file running alongside can be
 * given the same port by its own listen(0), and the connect then reaches it.
 */
export const REFUSED_PORT = 1;
