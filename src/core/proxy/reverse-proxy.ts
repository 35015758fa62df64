/**
 * The reverse proxy: listens (ws:// or wss://, through our server's listener) and runs one
 * ProxyConversation per client, each with its own upstream connection to the target.
 *   wsinspect proxy --listen ws://127.0.0.1:9002/ --target wss://example.com/socket
 */

import type { Socket } from 'node:net';
import { Defaults } from '../constants.ts';
import { Tracer, type TraceBody } from '../trace.ts';
import { parseWebSocketUrl } from '../net/client.ts';
import { WebSocketServer } from '../net/server.ts';
import type { ServerCredentials } from '../net/transport.ts';
import { ProxyConversation, type ConversationOptions } from './conversation.ts';
import { plainResponse } from './handshake-forwarding.ts';

/** Default cap on conversations at a time: 512 sockets. */
export const DEFAULT_MAX_CONVERSATIONS = 256;

export interface ReverseProxyOptions extends Omit<ConversationOptions, 'tracer'> {
  host?: string;
  port?: number;
  /** Listen on wss:// with this certificate and key. */
  tls?: ServerCredentials;
  tracer?: Tracer;
  /**
   * At most this many conversations at a time (each holds two sockets and up to maxMessageSize per
   * leg); one more client is answered 503 Service Unavailable with Retry-After. Default 256.
   */
  maxConnections?: number;
}

/** Seconds a client refused at the cap is asked to wait (RFC 9110 §10.2.3), as our server does. */
const RETRY_AFTER_SECONDS = 5;

export class ReverseProxy {
  readonly tracer: Tracer;
  readonly conversations = new Set<ProxyConversation>();
  private readonly server: WebSocketServer;
  private readonly options: ReverseProxyOptions;
  /** Conversations counted against maxConnections (refused ones are not). */
  private active = 0;

  /** Throws UrlError for a target that is not a ws:// or wss:// URL. */
  constructor(options: ReverseProxyOptions) {
    parseWebSocketUrl(options.target);
    if (options.maxConnections !== undefined && !(Number.isSafeInteger(options.maxConnections) && options.maxConnections >= 1)) {
      throw new RangeError(`maxConnections must be a whole number of at least 1 (got ${options.maxConnections}).`);
    }
    this.options = options;
    this.tracer = options.tracer ?? new Tracer();
    this.server = new WebSocketServer({
      host: options.host ?? Defaults.host,
      port: options.port ?? Defaults.port,
      tracer: this.tracer,
      traceBytes: options.traceBytes ?? true,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? Defaults.handshakeTimeoutMs,
      ...(options.tls ? { tls: options.tls } : {}),
      component: { name: 'reverse-proxy' },
      takeSocket: (socket, id, trace) => this.accept(socket, id, trace),
    });
  }

  listen(): Promise<{ host: string; port: number; url: string }> {
    return this.server.listen();
  }

  get url(): string {
    return this.server.url;
  }

  /** Client sockets the listener holds right now. */
  clientSocketCount(): Promise<number> {
    return this.server.socketCount();
  }

  /** Upstream sockets not yet freed. */
  upstreamSocketCount(): number {
    let n = 0;
    for (const c of this.conversations) if (c.upstream && !c.upstream.socket.destroyed) n++;
    return n;
  }

  /** Stops listening; open conversations get 1001 Going Away on both legs, the rest is dropped. */
  async close(): Promise<void> {
    for (const c of this.conversations) c.stop();
    const closing = [...this.conversations].map((c) => c.closed());
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 1000).unref())]);
    for (const c of this.conversations) {
      c.upstream?.destroy();
      c.client?.destroy();
      c.socket.destroy();
    }
    await this.server.close();
  }

  private accept(socket: Socket, id: string, trace: ((body: TraceBody) => void) | undefined): void {
    const conversation = new ProxyConversation(socket, id, trace, { ...this.options, tracer: this.tracer });
    this.conversations.add(conversation);
    const max = this.options.maxConnections ?? DEFAULT_MAX_CONVERSATIONS;
    if (this.active >= max) {
      void conversation.closed().then(() => this.conversations.delete(conversation));
      const reason = `This proxy relays at most ${max} conversation${max === 1 ? '' : 's'} at a time and all are in use. Try again later.`;
      conversation.refuse(503, plainResponse(503, reason, [{ name: 'Retry-After', value: String(RETRY_AFTER_SECONDS) }]), `refused with 503: ${max} conversations already (maxConnections)`);
      return;
    }
    this.active++;
    void conversation.closed().then(() => {
      this.active--;
      this.conversations.delete(conversation);
    });
    try {
      conversation.start();
    } catch (error) {
      trace?.({ type: 'error', message: `proxy: cannot start the conversation: ${(error as Error).message}` });
      socket.destroy();
    }
  }
}
