/**
 * What does a client speak inside its CONNECT tunnel? Read (not consumed: every byte is handed
 * back) until it is clear:
 *  - TLS: the first byte is 0x16, a handshake record (RFC 8446 §5.1);
 *  - HTTP: a request head, read whole with our parser. Browsers send ws:// through a proxy this
 *    way (RFC 6455 §4.1: "the client SHOULD ... ask it to connect to host /host/ ... using CONNECT"),
 *    so an opening handshake here is a ws:// conversation to inspect;
 *  - anything else, or nothing within waitMs (a protocol where the server speaks first): opaque.
 */

import type { Duplex } from 'node:stream';
import { concatBytes } from '../bytes.ts';
import { HttpHeadParser, isToken, type HttpHead } from '../http.ts';

export type TunnelStart =
  | { kind: 'tls'; bytes: Uint8Array }
  | { kind: 'http'; head: HttpHead; rest: Uint8Array; bytes: Uint8Array }
  | { kind: 'opaque'; bytes: Uint8Array; reason: string };

/** How long a silent client is waited for before the tunnel is opened as it is. */
export const SNIFF_WAIT_MS = 1000;

/** Reads from `client` (paused afterwards) until its protocol is known; `done` is called once. */
export function sniffTunnel(client: Duplex, first: Uint8Array, maxHeadSize: number, done: (start: TunnelStart) => void, waitMs = SNIFF_WAIT_MS): void {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let settled = false;
  const parser = new HttpHeadParser({ kind: 'request', maxSize: maxHeadSize });
  const finish = (start: TunnelStart) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    client.removeListener('data', onData);
    client.removeListener('end', onEnd);
    client.pause();
    done(start);
  };
  const all = () => concatBytes(chunks, total);
  const look = (data: Uint8Array) => {
    if (data.length === 0) return;
    chunks.push(data);
    total += data.length;
    const bytes = all();
    if (bytes[0] === 0x16) return finish({ kind: 'tls', bytes });
    // A request line starts with a method token and a space (RFC 9112 §3).
    const space = bytes.indexOf(0x20);
    const method = new TextDecoder('latin1').decode(bytes.subarray(0, space === -1 ? Math.min(bytes.length, 32) : space));
    if ((space === -1 && (bytes.length > 32 || !isToken(method))) || (space !== -1 && !isToken(method))) {
      return finish({ kind: 'opaque', bytes, reason: 'neither TLS nor an HTTP request' });
    }
    let result;
    try {
      result = parser.feed(data);
    } catch (error) {
      return finish({ kind: 'opaque', bytes, reason: `not a readable HTTP request (${(error as Error).message})` });
    }
    if (result.done) finish({ kind: 'http', head: result.head, rest: result.rest, bytes });
  };
  const onData = (chunk: Buffer) => look(chunk);
  const onEnd = () => finish({ kind: 'opaque', bytes: all(), reason: 'the client closed its side' });
  const timer = setTimeout(() => finish({ kind: 'opaque', bytes: all(), reason: `the client sent nothing for ${waitMs} ms` }), waitMs);
  timer.unref();
  client.on('data', onData);
  client.once('end', onEnd);
  look(first);
  if (!settled) client.resume();
}
