/**
 * One HTTP request that is not a WebSocket handshake, carried to its origin and the answer
 * carried back, untouched but for the hop-by-hop fields (RFC 9110 §7.6.1) and Host (RFC 9112
 * §3.2.2). Bodies stream both ways as they come and are never held whole; backpressure is
 * node's pipe (a slow reader pauses the writer's socket). One exchange per connection: the
 * request goes out with Connection: close and so does the response (RFC 9112 §9.6), which keeps
 * the proxy simple and the trace one line per exchange.
 */

import type { Duplex } from 'node:stream';
import { Defaults } from '../constants.ts';
import { HandshakeError } from '../errors.ts';
import { formatRequestHead, formatResponseHead, HttpHeadParser, splitList, type HttpHead } from '../http.ts';
import { BodyFramer, BodyFramingError } from './body-framer.ts';
import { proxyResponse, type OriginError } from './origin.ts';
import { forwardedHeaders, hostHeaderFor, type ProxyRequest } from './proxy-request.ts';

/** What the trace lists for an exchange: one line. */
export interface HttpExchangeSummary {
  method: string;
  url: string;
  /** The origin's status, or the proxy's own (502, 504, ...) when the origin could not answer. */
  status: number | null;
  /** Request body bytes sent to the origin; response bytes (head and body) sent to the client. */
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  /** Why it did not complete normally. */
  error?: string;
}

/** Opens the origin connection (TCP for http://, TLS for an intercepted https://). */
export type OriginOpener = (onReady: (socket: Duplex) => void, onFail: (error: OriginError) => void) => Duplex;

export interface HttpExchangeOptions {
  client: Duplex;
  head: HttpHead;
  request: Extract<ProxyRequest, { kind: 'http' }>;
  /** Bytes that came after the request head (the start of the body). */
  rest: Uint8Array;
  openOrigin: OriginOpener;
  /** 80 for http://, 443 for https:// (the Host header omits it). */
  defaultPort: number;
  maxHeadSize?: number;
  /** No answer head from the origin this long after connecting: 504 (default 60 s). */
  responseTimeoutMs?: number;
  onDone: (summary: HttpExchangeSummary) => void;
}

/** Response hop-by-hop fields (RFC 9110 §7.6.1), replaced by Connection: close. */
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'upgrade', 'proxy-authenticate']);

function responseHead(head: HttpHead): Uint8Array {
  const named = new Set(head.headers.filter((h) => h.name.toLowerCase() === 'connection').flatMap((h) => splitList(h.value)).map((v) => v.toLowerCase()));
  // Transfer-Encoding and Content-Length stay: the body goes on exactly as framed.
  named.delete('transfer-encoding');
  named.delete('content-length');
  const headers = head.headers.filter((h) => !RESPONSE_HOP_BY_HOP.has(h.name.toLowerCase()) && !named.has(h.name.toLowerCase()));
  if (head.status >= 200) headers.push({ name: 'Connection', value: 'close' });
  return formatResponseHead(head.status, head.reason, headers);
}

export function forwardHttpExchange(options: HttpExchangeOptions): void {
  const { client, head, request } = options;
  const started = performance.now();
  const summary: HttpExchangeSummary = { method: head.method, url: request.url, status: null, bytesUp: 0, bytesDown: 0, durationMs: 0 };
  let finished = false;
  let origin: Duplex | null = null;
  const finish = (error?: string) => {
    if (finished) return;
    finished = true;
    summary.durationMs = Math.round(performance.now() - started);
    if (error) summary.error = error;
    options.onDone(summary);
  };
  /** The proxy answers itself (origin unreachable, bad body): only while nothing of the origin's answer was sent. */
  const answer = (status: number, message: string) => {
    origin?.destroy();
    if (summary.status === null && !client.destroyed) {
      summary.status = status;
      client.once('finish', () => client.destroy());
      client.end(proxyResponse(status, message));
    } else {
      client.destroy();
    }
    finish(message);
  };
  client.on('error', () => {
    origin?.destroy();
    finish('the client went away');
  });
  client.once('close', () => {
    origin?.destroy();
    finish(summary.status === null ? 'the client went away before the answer' : undefined);
  });

  const framer = new BodyFramer(request.body);
  /** Forwards a piece of the request body; past its end, the client is not read any more. */
  const sendBody = (data: Uint8Array): void => {
    let piece;
    try {
      piece = framer.feed(data);
    } catch (error) {
      if (error instanceof BodyFramingError) answer(400, `The request body is malformed: ${error.message}.`);
      return;
    }
    if (piece.forward.length > 0) {
      summary.bytesUp += piece.forward.length;
      if (!origin!.write(piece.forward)) {
        client.pause();
        origin!.once('drain', () => client.resume());
      }
    }
    // Bytes after the body would be a next request on this connection: it is one exchange only.
    if (piece.done) client.removeListener('data', sendBody);
  };

  origin = options.openOrigin((socket) => {
    const headers = forwardedHeaders(head.headers, hostHeaderFor(request.target, options.defaultPort));
    socket.write(formatRequestHead(head.method, request.path, headers));
    sendBody(options.rest);
    if (!framer.done) client.on('data', sendBody);
    client.resume();
    readResponse(socket);
  }, (error) => answer(error.status, error.message));

  const readResponse = (socket: Duplex) => {
    // RFC 9110 §15.6.5: 504 when the origin does not answer in time.
    const timeoutMs = options.responseTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      if (summary.status === null) answer(504, `The origin sent no answer within ${timeoutMs} ms.`);
    }, timeoutMs);
    timer.unref();
    client.once('close', () => clearTimeout(timer));
    const parser = new HttpHeadParser({ kind: 'response', maxSize: options.maxHeadSize ?? Defaults.maxHeadSize });
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = parser.feed(chunk);
      } catch (error) {
        const why = error instanceof HandshakeError ? error.message : String(error);
        answer(502, `The origin's answer is not HTTP: ${why}`);
        return;
      }
      if (!result.done) return;
      socket.removeListener('data', onData);
      const out = responseHead(result.head);
      summary.bytesDown += out.length + result.rest.length;
      if (result.head.status < 200) {
        // An interim answer (100 Continue, 103 Early Hints, RFC 9110 §15.2) is passed on; the final one follows.
        client.write(out);
        readResponse(socket);
        socket.emit('data', Buffer.from(result.rest));
        return;
      }
      summary.status = result.head.status;
      clearTimeout(timer);
      client.write(out);
      if (result.rest.length) client.write(result.rest);
      socket.on('data', (d: Buffer) => (summary.bytesDown += d.length));
      // The origin closes after its answer (Connection: close); its end ends ours.
      socket.pipe(client);
      socket.once('end', () => finish());
    };
    socket.on('data', onData);
    socket.once('end', () => {
      if (summary.status === null) answer(502, 'The origin closed the connection without answering.');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (summary.status === null) answer(502, `The origin failed: ${error.code ?? error.message}.`);
      else {
        client.destroy();
        finish(`the origin failed mid-answer (${error.code ?? error.message})`);
      }
    });
  };
}
