/**
 * TLS interception (opt-in): a CONNECT tunnel's TLS is terminated here with a certificate the
 * local CA mints for the name the client asks for (SNI, RFC 6066 §3; the CONNECT host when there is
 * none), and a TLS connection of our own goes to the real origin, whose certificate is verified as
 * any client would (the system's CAs plus --ca; --insecure to skip). Inside, one HTTP request is
 * read: a WebSocket handshake goes to the relay like ws:// (with a wss:// upstream), anything else
 * is carried as an HTTPS exchange and listed.
 */

import type { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { Defaults } from '../constants.ts';
import { HandshakeError } from '../errors.ts';
import { formatRequestHead, HttpHeadParser, type HttpHead } from '../http.ts';
import type { LeafMinter } from '../net/certificate-authority.ts';
import type { CertificatePair } from '../net/certificates.ts';
import { hostProblem } from '../net/listen-address.ts';
import { ALPN_PROTOCOLS, sniFor } from '../net/tls-info.ts';
import { trustContext, type ClientTlsOptions } from '../net/transport.ts';
import type { ConnectInterceptor, ForwardProxy } from './forward-proxy.ts';
import type { OriginOpener } from './http-exchange.ts';
import { withBytesInFront } from './replay-stream.ts';
import { connectOrigin, OriginError, printable, proxyResponse } from './origin.ts';
import { forwardedHeaders, hostHeaderFor, isWebSocketUpgrade, ProxyRequestError, requestBodyFraming, type ProxyRequest, type ProxyTarget } from './proxy-request.ts';

export interface InterceptionEvent {
  id: string;
  /** host:port from CONNECT. */
  target: string;
  /** The name the client asked for, or null (then the certificate names the CONNECT host). */
  serverName: string | null;
  /** Why the client's TLS or its request did not go through. */
  error?: string;
}

export interface InterceptionOptions {
  minter: LeafMinter;
  /** How the origin's certificate is checked (--ca, --insecure). */
  upstream: ClientTlsOptions;
  onIntercepted?: (event: InterceptionEvent) => void;
  /** The client's TLS handshake and request head must be done by then (default Defaults.handshakeTimeoutMs). */
  timeoutMs?: number;
  maxHeadSize?: number;
}

/** Opens TCP then TLS to the origin, verifying its certificate unless told not to. */
export function tlsOriginOpener(proxy: ForwardProxy, target: ProxyTarget, upstream: ClientTlsOptions): OriginOpener {
  return (onReady, onFail) => connectOrigin(target, proxy.policy, (tcp) => {
    const servername = sniFor(target.host);
    const tls = tlsConnect({
      socket: tcp, host: target.host, ...(servername ? { servername } : {}), ALPNProtocols: ALPN_PROTOCOLS,
      secureContext: trustContext(upstream.ca ?? []), rejectUnauthorized: !upstream.insecure,
    });
    let ready = false;
    tls.once('secureConnect', () => {
      ready = true;
      onReady(tls);
    });
    tls.on('error', (error: NodeJS.ErrnoException) => {
      if (ready) return; // the exchange's own handler reports it
      tls.destroy();
      onFail(new OriginError(502, `TLS with the origin ${target.authority} failed: ${error.code ?? ''} ${error.message}`.replace(/ +/g, ' ').trim() + (upstream.insecure ? '' : ' (give its CA with --ca, or --insecure to skip the check)'), error.code));
    });
  }, onFail);
}

export function createInterceptor(proxy: ForwardProxy, options: InterceptionOptions): ConnectInterceptor {
  return (client, target, rest, id) => new InterceptedTunnel(proxy, options, client, target, rest, id);
}

/** One CONNECT whose TLS is terminated here. */
class InterceptedTunnel {
  private tls: TLSSocket | null = null;
  private serverName: string | null = null;
  private reported = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly proxy: ForwardProxy, private readonly options: InterceptionOptions, private readonly client: Socket,
    private readonly target: ProxyTarget, rest: Uint8Array, private readonly id: string) {
    const timeoutMs = options.timeoutMs ?? Defaults.handshakeTimeoutMs;
    this.timer = setTimeout(() => this.fail(`no TLS handshake and request within ${timeoutMs} ms`), timeoutMs);
    this.timer.unref();
    client.on('error', () => this.fail('the client went away'));
    // The CONNECT host's certificate first (used when the client sends no SNI); the client stays
    // paused meanwhile, its ClientHello waiting in the kernel.
    options.minter.leafFor(target.host).then((leaf) => {
      if (client.destroyed) return;
      // The bytes already read (the ClientHello) go first: TLS over a socket would miss them.
      const tls = new TLSSocket(rest.length ? withBytesInFront(client, rest) : client, {
        isServer: true,
        ALPNProtocols: ALPN_PROTOCOLS,
        secureContext: this.context(leaf),
        // A certificate for the name the client asks for (RFC 6066 §3), minted on first use.
        SNICallback: (name, done) => {
          this.serverName = printable(name);
          // A name that is no host name gets no certificate (and costs no key generation).
          const problem = hostProblem(name);
          if (problem) return done(new Error(`SNI ${JSON.stringify(this.serverName)}: ${problem}`));
          options.minter.leafFor(name).then((named) => done(null, this.context(named)), (error: Error) => done(error));
        },
      });
      this.tls = tls;
      tls.on('error', (error: NodeJS.ErrnoException) => this.fail(`the client's TLS failed: ${error.code ?? error.message}`));
      // A client that does not trust the certificate usually sends an alert and hangs up: no 'error' here.
      const hungUp = () => this.fail('the client closed the connection during the TLS handshake (does it trust the proxy CA?)');
      tls.once('end', hungUp);
      tls.once('close', hungUp);
      tls.once('secure', () => {
        tls.removeListener('end', hungUp);
        tls.removeListener('close', hungUp);
        this.report();
        this.readRequest(tls);
      });
      client.resume();
    }, (error: Error) => this.fail(`cannot mint a certificate for ${target.host}: ${error.message}`));
  }

  /**
   * The leaf and the CA after it: a client that trusts the CA needs only the leaf, but Chromium's
   * --ignore-certificate-errors-spki-list matches a key anywhere in the chain presented, so the
   * CA's key (one value for every host) works there too.
   */
  private context(leaf: CertificatePair): SecureContext {
    return createSecureContext({ cert: leaf.cert + this.options.minter.authorityCert, key: leaf.key, minVersion: 'TLSv1.2' });
  }

  private report(error?: string): void {
    if (this.reported) return;
    this.reported = true;
    try {
      this.options.onIntercepted?.({ id: this.id, target: this.target.authority, serverName: this.serverName, ...(error ? { error: printable(error) } : {}) });
    } catch {
      // a listener's bug must not break a socket callback
    }
  }

  private fail(why: string): void {
    clearTimeout(this.timer);
    this.report(why);
    this.tls?.destroy();
    this.client.destroy();
  }

  /** One request inside the tunnel, in origin-form (RFC 9112 §3.2.1). */
  private readRequest(tls: TLSSocket): void {
    const parser = new HttpHeadParser({ kind: 'request', maxSize: this.options.maxHeadSize ?? Defaults.maxHeadSize });
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = parser.feed(chunk);
      } catch (error) {
        this.answer(tls, error instanceof HandshakeError ? error.status : 400, (error as Error).message);
        return;
      }
      if (!result.done) return;
      clearTimeout(this.timer);
      tls.removeListener('data', onData);
      tls.pause();
      this.dispatch(tls, result.head, result.rest);
    };
    tls.on('data', onData);
  }

  private dispatch(tls: TLSSocket, head: HttpHead, rest: Uint8Array): void {
    const { target } = this;
    let request: Extract<ProxyRequest, { kind: 'http' }>;
    try {
      if (!head.target.startsWith('/')) throw new ProxyRequestError(400, `Inside the tunnel the request target is a path (origin-form, RFC 9112 §3.2.1), not ${JSON.stringify(head.target.slice(0, 100))}.`);
      if (head.versionMajor !== 1) throw new ProxyRequestError(505, `${head.version} is not HTTP/1.x.`);
      const url = `https://${hostHeaderFor(target, 443)}${head.target}`;
      request = { kind: 'http', target, url, path: head.target, webSocket: isWebSocketUpgrade(head), body: requestBodyFraming(head) };
    } catch (error) {
      this.answer(tls, error instanceof ProxyRequestError ? error.status : 400, (error as Error).message);
      return;
    }
    const openOrigin = tlsOriginOpener(this.proxy, target, this.options.upstream);
    if (request.webSocket) {
      const forwarded = formatRequestHead(head.method, request.path, forwardedHeaders(head.headers, hostHeaderFor(target, 443), { keepUpgrade: true }));
      this.proxy.handOver({ id: this.id, downstream: tls, url: `wss://${request.url.slice('https://'.length)}`, head, forwardedHead: forwarded, intercepted: true, tls: this.options.upstream }, rest, target, openOrigin);
    } else {
      this.proxy.exchange(tls, this.id, head, request, rest, openOrigin, 443);
    }
  }

  /** The proxy's own answer inside the tunnel; then the connection is closed. */
  private answer(tls: TLSSocket, status: number, message: string): void {
    clearTimeout(this.timer);
    tls.removeAllListeners('data');
    tls.on('data', () => {});
    tls.once('finish', () => tls.destroy());
    tls.end(proxyResponse(status, printable(message)));
  }
}
