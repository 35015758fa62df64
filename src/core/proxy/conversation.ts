/**
 * One proxied conversation: a client's socket accepted by the proxy, and an upstream target.
 *
 *   1. Read the client's request head (bounded by maxHeadSize, within handshakeTimeoutMs). A
 *      request that is not a valid opening handshake is answered by our own server leg, with the
 *      RFC's status, and goes no further.
 *   2. Open the upstream leg with our client (client.ts over transport.ts): the client's headers
 *      forwarded (handshake-forwarding.ts), its subprotocols offered, extensions negotiated for
 *      this leg alone.
 *   3. Upstream open: only now the client's handshake is answered (our server leg, with the
 *      upstream's subprotocol and this leg's own extensions), and the relay (relay.ts) runs.
 *      Upstream refused (403 with a body, 401 with WWW-Authenticate, 404…): the client gets that
 *      status, its headers and body. Upstream unreachable (refused, no such host, TLS failure):
 *      502 Bad Gateway with one plain line; no answer in time: 504 Gateway Timeout.
 * The client vanishing at any point drops the upstream; every socket is freed.
 *
 * Reusable: the forward proxy hands over a socket whose request head it has read (start()).
 */

import type { Socket } from 'node:net';
import { CloseCode, Defaults } from '../constants.ts';
import { HandshakeError } from '../errors.ts';
import { answerClientHandshake } from '../handshake.ts';
import { HttpHeadParser, type HttpHead, type HttpHeader } from '../http.ts';
import type { DeflateSetting } from '../extensions/permessage-deflate.ts';
import { tracedHead } from '../protocol.ts';
import type { Tracer, TraceBody, TraceSink } from '../trace.ts';
import { connectClient, parseWebSocketUrl, type ClientConnection, type ParsedWebSocketUrl } from '../net/client.ts';
import { Connection } from '../net/connection.ts';
import type { ClientTlsOptions } from '../net/transport.ts';
import { FramePairing } from './frame-pairing.ts';
import {
  describeChanges, plainResponse, forwardRequestHeaders, passOnResponseHeaders, refusalBodyComplete, refusalForClient, upstreamRequestTarget, type HandshakeRewrite,
} from './handshake-forwarding.ts';
import { Relay, type RelayOptions } from './relay.ts';

/** At most this much of an upstream refusal's body is passed on (a refusal page, not a download). */
export const MAX_REFUSAL_BODY = 64 * 1024;
/** Bytes a client may send after its request head before the upstream answers (it should wait, §4.1). */
const MAX_EARLY_BYTES = 64 * 1024;

export interface ConversationOptions {
  /** ws:// or wss:// URL of the upstream server. */
  target: string;
  /** The path the proxy listens on: the client's path below it is appended to the target's (default "/"). */
  listenPath?: string;
  /** For the upstream leg's trace (the client leg's sink is given to the constructor). */
  tracer?: Tracer;
  traceBytes?: boolean;
  /** wss:// upstream: extra CAs, --insecure. */
  upstreamTls?: ClientTlsOptions;
  /** permessage-deflate on the client leg (our server) and on the upstream leg (our client); default on both. */
  clientDeflate?: DeflateSetting;
  upstreamDeflate?: DeflateSetting;
  rewrite?: HandshakeRewrite;
  maxMessageSize?: number;
  maxFrameSize?: number;
  maxFragments?: number;
  maxHeadSize?: number;
  closeTimeoutMs?: number;
  /** The client's request and the upstream's handshake must both be done by then (default Defaults.handshakeTimeoutMs). */
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** The debugger's hook on every relayed item (relay.ts). */
  forward?: RelayOptions['forward'];
  /** A leg's step-mode gate changed (relay.ts). */
  onGateChange?: RelayOptions['onGateChange'];
}

export type ConversationState = 'reading-request' | 'connecting-upstream' | 'relaying' | 'refused' | 'closed';

export class ProxyConversation {
  state: ConversationState = 'reading-request';
  /** The client's leg, once the upstream opened (or once our server answers a bad request itself). */
  client: Connection | null = null;
  upstream: Connection | null = null;
  relay: Relay | null = null;
  readonly upstreamId: string;
  private readonly target: ParsedWebSocketUrl;
  private readonly pairing: FramePairing | null;
  private readonly clientTrace: TraceSink | undefined;
  /** Everything the client sent so far (its request head and anything behind it), handed to the server leg. */
  private readonly received: Buffer[] = [];
  private receivedBytes = 0;
  private readonly parser: HttpHeadParser;
  private request: HttpHead | null = null;
  /** The request head is in the client leg's trace already. */
  private requestTraced = false;
  private deadline: NodeJS.Timeout | null = null;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly onData = (chunk: Buffer) => this.clientData(chunk);
  private readonly onGone = () => this.clientVanished();

  /**
   * `socket`: the accepted client socket (TLS done); `id` its connection id; `trace` the sink for
   * the client leg's trace (undefined: not tracing).
   */
  constructor(readonly socket: Socket, readonly id: string, trace: ((body: TraceBody) => void) | undefined, private readonly options: ConversationOptions) {
    this.target = parseWebSocketUrl(options.target);
    this.upstreamId = `${id}-upstream`;
    this.pairing = trace && options.tracer?.active ? new FramePairing() : null;
    this.clientTrace = trace && this.pairing ? this.pairing.wrap(id, trace) : trace;
    this.parser = new HttpHeadParser({ kind: 'request', maxSize: options.maxHeadSize ?? Defaults.maxHeadSize });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Resolves once every socket of the conversation is closed. */
  closed(): Promise<void> {
    return this.done;
  }

  /** Starts reading the request; `initial`: bytes already read from the socket (a forward proxy's). */
  start(initial?: Uint8Array): void {
    const socket = this.socket;
    socket.on('error', () => {}); // reported through 'close'; a reset must not throw
    socket.on('data', this.onData);
    socket.once('end', this.onGone);
    socket.once('close', this.onGone);
    const limit = this.options.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs;
    this.deadline = setTimeout(() => this.timedOut(limit), limit);
    this.deadline.unref?.();
    if (initial && initial.length > 0) this.clientData(Buffer.from(initial));
  }

  /**
   * Answers the client with this HTTP response at once, without reading its request or opening an
   * upstream (e.g. 503 at the proxy's connection cap), and frees the socket once it is flushed.
   */
  refuse(status: number, response: Uint8Array, detail: string): void {
    this.socket.on('error', () => {});
    this.answerDirectly(status, response, detail);
  }

  /** The proxy stops: open legs get 1001 Going Away, the rest is dropped. */
  stop(): void {
    if (this.relay) this.relay.stop();
    else {
      this.upstream?.destroy();
      this.client?.destroy();
      this.socket.destroy();
    }
  }

  // ------------------------------------------------------------ 1. the client's request

  private clientData(chunk: Buffer): void {
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    if (this.state !== 'reading-request') {
      // Frames sent before our answer (§4.1: the client waits for it); kept for the server leg, bounded.
      if (this.receivedBytes - (this.request?.raw.length ?? 0) > MAX_EARLY_BYTES) this.socket.pause();
      return;
    }
    let result;
    try {
      result = this.parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      this.answerWithOurServer(); // 431 / 400, answered and traced by the server leg
      return;
    }
    if (!result.done) return;
    this.request = result.head;
    // §4.2.1: a request that is not an opening handshake is refused by us, not sent on.
    if (answerClientHandshake(result.head).error) {
      this.answerWithOurServer();
      return;
    }
    // Traced as it arrives (before the upstream leg opens), so the trace reads in the order things
    // happened; the server leg, which reads it again once the upstream answered, does not trace it twice.
    this.clientTrace?.({ type: 'http-head', direction: 'in', head: tracedHead(result.head) });
    this.requestTraced = true;
    this.connectUpstream(result.head);
  }

  /** Hands the socket, with what it sent so far, to a server leg of ours (the request's answer is ours). */
  private takeOverSocket(options: { subprotocols: readonly string[]; responseHeaders?: readonly HttpHeader[] }): Connection {
    const socket = this.socket;
    socket.pause();
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onGone);
    socket.removeListener('close', this.onGone);
    const o = this.options;
    const conn = new Connection(socket, {
      id: this.id, role: 'server',
      ...(this.clientTrace ? { trace: this.requestTraced ? withoutFirstRequestHead(this.clientTrace) : this.clientTrace } : {}),
      traceBytes: o.traceBytes ?? true,
      subprotocols: options.subprotocols,
      ...(options.responseHeaders?.length ? { responseHeaders: options.responseHeaders } : {}),
      ...(o.clientDeflate !== undefined ? { deflate: o.clientDeflate } : {}),
      ...legLimits(o),
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
    }, {});
    this.client = conn;
    if (this.received.length > 0) socket.unshift(Buffer.concat(this.received));
    this.received.length = 0;
    socket.resume();
    return conn;
  }

  private answerWithOurServer(): void {
    this.state = 'refused';
    this.clearDeadline();
    const conn = this.takeOverSocket({ subprotocols: [] });
    void conn.closed().then(() => this.finish());
  }

  // ------------------------------------------------------------ 2. the upstream leg

  private connectUpstream(request: HttpHead): void {
    this.state = 'connecting-upstream';
    const o = this.options;
    const forwarded = forwardRequestHeaders(request, this.target.hostHeader, o.rewrite ?? {});
    let url: string;
    try {
      url = `${this.target.secure ? 'wss' : 'ws'}://${this.target.hostHeader}${upstreamRequestTarget(this.target.path, o.listenPath ?? '/', request.target)}`;
      parseWebSocketUrl(url);
    } catch (error) {
      this.answerDirectly(400, plainResponse(400, `The request target cannot be forwarded: ${(error as Error).message}`), `request target ${JSON.stringify(request.target.slice(0, 200))} cannot be forwarded`);
      return;
    }
    this.note(`Proxy: forwarding the handshake to ${url} (${describeChanges(forwarded.changes)}); this handshake is answered once the upstream's is done.`);
    let client: ClientConnection;
    const upstreamBytes: Buffer[] = [];
    let upstreamLength = 0;
    try {
      client = connectClient(url, { onOpen: (c) => this.upstreamOpened(c) }, {
        id: this.upstreamId,
        ...(o.tracer ? { tracer: this.pairing ? this.pairing.wrapTracer(o.tracer) : o.tracer } : {}),
        traceBytes: o.traceBytes ?? true,
        headers: forwarded.headers,
        ...(o.upstreamDeflate !== undefined ? { deflate: o.upstreamDeflate } : {}),
        ...(o.upstreamTls ? { tls: o.upstreamTls } : {}),
        ...legLimits(o),
        connectTimeoutMs: o.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
      });
    } catch (error) {
      // A header of the client's that cannot be written (HandshakeOptionError): the client's fault.
      this.answerDirectly(400, plainResponse(400, `The handshake cannot be forwarded: ${(error as Error).message}`), 'handshake cannot be forwarded');
      return;
    }
    this.upstream = client.connection;
    // The upstream's bytes until it answers: a refusal's head and body are passed back from these.
    const keep = (chunk: Buffer) => {
      if (upstreamLength < (o.maxHeadSize ?? Defaults.maxHeadSize) + MAX_REFUSAL_BODY) {
        upstreamBytes.push(chunk);
        upstreamLength += chunk.length;
      }
    };
    client.connection.socket.on('data', keep);
    client.opened.then(
      () => client.connection.socket.removeListener('data', keep),
      () => void this.upstreamFailed(client, () => Buffer.concat(upstreamBytes)),
    );
  }

  // ------------------------------------------------------------ 3. upstream open: answer the client, relay

  private upstreamOpened(upstream: Connection): void {
    if (this.state !== 'connecting-upstream') {
      upstream.close(CloseCode.GoingAway, 'client went away');
      return;
    }
    this.state = 'relaying';
    this.clearDeadline();
    const subprotocol = upstream.protocol.subprotocol;
    const passed = upstream.protocol.response ? passOnResponseHeaders(upstream.protocol.response) : [];
    const client = this.takeOverSocket({ subprotocols: subprotocol ? [subprotocol] : [], responseHeaders: passed });
    const headersNote = passed.length ? `; its ${passed.map((h) => h.name).join(', ')} passed on` : '';
    this.note(`Proxy: the upstream accepted (101${subprotocol ? `, subprotocol ${subprotocol}` : ''}${headersNote}); answering this client now.`);
    const sinks = new Map<string, (text: string) => void>();
    const upstreamTrace = this.pairing && this.options.tracer ? this.options.tracer.forConnection(this.upstreamId) : undefined;
    if (this.clientTrace) sinks.set(this.id, (text) => this.clientTrace!({ type: 'note', text }));
    if (upstreamTrace) sinks.set(this.upstreamId, (text) => upstreamTrace({ type: 'note', text }));
    this.relay = new Relay(client, upstream, {
      pairing: this.pairing,
      note: (connectionId, text) => sinks.get(connectionId)?.(text),
      ...(this.options.forward ? { forward: this.options.forward } : {}),
      ...(this.options.onGateChange ? { onGateChange: this.options.onGateChange } : {}),
      onClosed: () => this.finish(),
    });
  }

  // ------------------------------------------------------------ refusals

  private async upstreamFailed(client: ClientConnection, bytes: () => Buffer): Promise<void> {
    if (this.state !== 'connecting-upstream') return;
    const up = client.connection;
    const response = up.protocol.response;
    let error: Error | null = null;
    await client.opened.catch((e: Error) => (error = e));
    const message = (error as Error | null)?.message ?? 'the upstream handshake failed';
    if (response && response.status !== 101) {
      // The body follows the head: wait for all of it (Content-Length), or for the upstream to close
      // (bounded by its close timer), then pass it back.
      const bodyOf = () => bytes().subarray(response.raw.length, response.raw.length + MAX_REFUSAL_BODY);
      await Promise.race([
        up.closed(),
        new Promise<void>((resolve) => {
          const check = () => {
            if (refusalBodyComplete(response, bodyOf().length)) resolve();
          };
          up.socket.on('data', check);
          check();
        }),
      ]);
      if (this.state !== 'connecting-upstream') return;
      up.destroy();
      this.answerDirectly(response.status, refusalForClient(response, bodyOf()), `refused by the upstream with ${response.status} ${response.reason}: passed back as it came (status, headers, body)`);
      return;
    }
    if (this.state !== 'connecting-upstream') return;
    up.destroy();
    const code = (error as { code?: string } | null)?.code;
    if (code === 'ETIMEDOUT') {
      this.answerDirectly(504, plainResponse(504, `Proxy: ${message}`), `the upstream did not answer in time: ${message}`);
    } else if (response) {
      // It answered 101, but its handshake broke a rule (§4.1): an invalid response from upstream.
      this.answerDirectly(502, plainResponse(502, `Proxy: the upstream's handshake is invalid: ${message}`), `the upstream's handshake is invalid: ${message}`);
    } else {
      this.answerDirectly(502, plainResponse(502, `Proxy: cannot reach the upstream: ${message}`), `the upstream cannot be reached: ${message}`);
    }
  }

  /** Answers the client with these bytes (an HTTP response) and closes, tracing it on the client leg. */
  private answerDirectly(status: number, bytes: Uint8Array, detail: string): void {
    this.state = 'refused';
    this.clearDeadline();
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onGone);
    socket.removeListener('close', this.onGone);
    const trace = this.clientTrace;
    if (trace) {
      trace({ type: 'note', text: `Proxy: ${detail.replace(/\.$/, '')}.` });
      const parsed = new HttpHeadParser({ kind: 'response', maxSize: bytes.length + 1 }).feed(bytes);
      if (parsed.done) trace({ type: 'http-head', direction: 'out', head: { ...tracedHead(parsed.head), raw: bytes } });
      if (this.options.traceBytes ?? true) trace({ type: 'bytes', direction: 'out', bytes });
    }
    // Whatever the client sends now is read and dropped, so closing does not become a reset that
    // could discard the answer; once it and our FIN are flushed, the socket is freed.
    const timer = setTimeout(() => socket.destroy(), this.options.closeTimeoutMs ?? Defaults.closeTimeoutMs);
    timer.unref?.();
    socket.on('data', () => {});
    socket.once('finish', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      trace?.({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: `handshake answered ${status} by the proxy` });
      this.finish();
    });
    if (socket.destroyed) {
      this.finish();
      return;
    }
    socket.end(bytes);
  }

  // ------------------------------------------------------------ the client vanishing, timeouts

  private clientVanished(): void {
    if (this.state !== 'reading-request' && this.state !== 'connecting-upstream') return;
    const wasConnecting = this.state === 'connecting-upstream';
    this.state = 'closed';
    this.clearDeadline();
    this.note(wasConnecting ? 'Proxy: the client went away during the handshake: the upstream leg is dropped.' : 'Proxy: the client went away before its request was complete.');
    this.clientTrace?.({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: 'the client went away during the opening handshake' });
    this.socket.destroy();
    const up = this.upstream;
    if (up) {
      up.destroy();
      void up.closed().then(() => this.finish());
    } else {
      this.finish();
    }
  }

  private timedOut(limit: number): void {
    this.deadline = null;
    if (this.state === 'reading-request') {
      this.note(`Proxy: no complete request within ${limit} ms: closing.`);
      this.clientVanished();
    }
    // connecting-upstream: the upstream leg's own connect timeout answers 504.
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  private note(text: string): void {
    this.clientTrace?.({ type: 'note', text });
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.state !== 'refused') this.state = 'closed';
    this.resolveDone();
  }
}

/** The limits both legs share (each applies them to what its peer sends). */
function legLimits(o: ConversationOptions) {
  const pick = <K extends 'maxMessageSize' | 'maxFrameSize' | 'maxFragments' | 'maxHeadSize' | 'closeTimeoutMs' | 'idleTimeoutMs'>(key: K) =>
    (o[key] !== undefined ? { [key]: o[key] } : {}) as { [P in K]?: number };
  return {
    ...pick('maxMessageSize'), ...pick('maxFrameSize'), ...pick('maxFragments'), ...pick('maxHeadSize'), ...pick('closeTimeoutMs'), ...pick('idleTimeoutMs'),
  };
}

/** A trace sink that drops the first incoming HTTP head (traced already) and passes everything else (its rows too: frames and messages). */
function withoutFirstRequestHead(sink: TraceSink): TraceSink {
  let dropped = false;
  const filtered: TraceSink = (body) => {
    if (!dropped && body.type === 'http-head' && body.direction === 'in') {
      dropped = true;
      return;
    }
    sink(body);
  };
  if (sink.rows) filtered.rows = sink.rows;
  return filtered;
}
