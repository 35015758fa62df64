/**
 * The app's Proxy mode (issue 12): the inspector service runs a reverse proxy (core/proxy) whose
 * two legs per client trace into the service's tracer like any connection, each tagged with the
 * conversation it belongs to. The debugger works on a leg as on any connection: step mode,
 * breakpoints, held frames, injected frames and fault presets all go through the leg's own
 * Connection (findLeg), towards the client or towards the server.
 *
 * TLS, as the CLI has it: the reverse proxy listens on wss:// with the generated localhost
 * certificate or one the person chose; the forward proxy intercepts CONNECT's TLS with the local
 * CA (proxy-ca.ts) when asked, and otherwise lists each tunnel as opaque with its SNI.
 */

import { ForwardProxy, type ForwardProxyEvent } from '../core/forward-proxy/forward-proxy.ts';
import { relayUpgrade } from '../core/forward-proxy/relay-upgrade.ts';
import { createInterceptor, type InterceptionEvent } from '../core/forward-proxy/tls-interception.ts';
import type { LeafMinter } from '../core/net/certificate-authority.ts';
import { TlsConfigError, type ServerCredentials } from '../core/net/transport.ts';
import { parseWebSocketUrl, UrlError, type ParsedWebSocketUrl } from '../core/net/client.ts';
import type { Connection } from '../core/net/connection.ts';
import { hostProblem, portProblem } from '../core/net/listen-address.ts';
import { isLoopbackHost, ListenError } from '../core/net/server.ts';
import type { ProxyConversation } from '../core/proxy/conversation.ts';
import { ReverseProxy } from '../core/proxy/reverse-proxy.ts';
import { WrappingTracer } from '../core/proxy/frame-pairing.ts';
import type { ProxyLeg as RecordedProxyLeg } from '../core/capture/recording.ts';
import type { Tracer } from '../core/trace.ts';
import type { DangerousAction, Result } from '../shared/inspector-api.ts';
import {
  idleProxyStatus, UPSTREAM_LEG_SUFFIX, type ProxyCaAction, type ProxyKind, type ProxyLeg, type ProxyStatus, type ProxyTunnel, type StartProxyRequest,
} from '../shared/proxy-api.ts';
import { visibleText } from '../shared/visible-text.ts';
import { OneAtATime } from '../shared/one-at-a-time.ts';
import { interceptionMinter, proxyCaAction, proxyCaStatus } from './proxy-ca.ts';

/** Asks a person before a dangerous action; null when they said yes (InspectorService.confirmAction). */
export type ConfirmAction = (action: DangerousAction, token: string | undefined) => Promise<Result | null>;

/** Lines of a forward proxy's other traffic kept for the status. */
const MAX_RECENT = 20;
/** CONNECT tunnels kept for the status. */
const MAX_TUNNELS = 20;

/** Where the CA lives, and the certificate a wss:// listener presents (InspectorService's, as for its server). */
export interface ProxyTlsEnv {
  configDir: string;
  /** Both paths: those files; neither: the generated localhost certificate. */
  credentials(paths: { certPath?: string; keyPath?: string }): Promise<ServerCredentials & { certPath: string; generated: boolean }>;
}

/** A reverse or forward proxy while it runs: its conversations, and how to stop it. */
interface RunningProxy {
  conversations: ReadonlySet<ProxyConversation>;
  listen(): Promise<{ url: string }>;
  close(): Promise<void>;
}

/** Leg ids remembered (pending until the connection list claims them): bounded, the oldest forgotten first. */
const MAX_KNOWN_LEGS = 10_000;

export class ProxyMode {
  private running: RunningProxy | null = null;
  /** Starts and stops, one after another in the order asked. */
  private readonly turns = new OneAtATime();
  private state: ProxyStatus = { ...idleProxyStatus };
  /** Connection ids of legs whose trace has started: pending until the connection list claims them (once). */
  private readonly knownLegs = new Map<string, 'pending' | 'claimed'>();

  /** The local CA as last read (re-read after every CA action and interception start). */
  private ca: ProxyStatus['ca'] | undefined;

  constructor(private readonly tracer: Tracer, private readonly onChange: () => void, private readonly confirm: ConfirmAction, private readonly tlsEnv?: ProxyTlsEnv) {}

  status(): ProxyStatus {
    if (this.ca === undefined) this.ca = this.tlsEnv ? proxyCaStatus(this.tlsEnv.configDir) : null;
    return { ...this.state, recent: [...this.state.recent], tunnels: this.state.tunnels.map((t) => ({ ...t })), ca: this.ca, conversations: this.running?.conversations.size ?? 0 };
  }

  /** Create, regenerate or remove the local CA; not while the forward proxy intercepts with it. */
  async caAction(action: ProxyCaAction): Promise<Result> {
    if (!this.tlsEnv) return { ok: false, error: 'Proxy CA: this service has no config directory.' };
    if (action !== 'create' && this.running && this.state.interceptTls) {
      return { ok: false, error: `Stop the proxy first: it intercepts TLS with this CA (${action === 'remove' ? 'removing' : 'regenerating'} it now would leave it signing with a key that is gone).` };
    }
    const result = await proxyCaAction(this.tlsEnv.configDir, action);
    this.ca = proxyCaStatus(this.tlsEnv.configDir);
    this.onChange();
    return result;
  }

  start(request: StartProxyRequest): Promise<Result<{ url: string }>> {
    return this.turns.run(() => (request.kind === 'forward' ? this.startForward(request) : this.startReverse(request)));
  }

  private async startReverse(request: StartProxyRequest): Promise<Result<{ url: string }>> {
    const target = request.target ?? '';
    for (const [what, url] of [['listen', request.listen], ['target', target]] as const) {
      if (!/^wss?:\/\//i.test(url.trim())) return this.failed(`Proxy: the ${what} URL starts with ws:// or wss:// (got "${url.trim().slice(0, 80)}").`);
    }
    let listen: ParsedWebSocketUrl;
    let upstream: ParsedWebSocketUrl;
    try {
      listen = parseWebSocketUrl(request.listen);
      upstream = parseWebSocketUrl(target);
    } catch (error) {
      return this.failed(error instanceof UrlError ? error.message : `Proxy: ${(error as Error).message}`);
    }
    if (!listen.secure && (request.certPath !== undefined || request.keyPath !== undefined)) {
      return this.failed(`Proxy: a certificate is for a wss:// listen URL (got ${listen.url}).`);
    }
    const refused = await this.checkListen(listen.host, listen.port, request.confirmToken);
    if (refused) return refused;
    let tls: (ServerCredentials & { certPath: string; generated: boolean }) | null = null;
    if (listen.secure) {
      if (!this.tlsEnv) return this.failed('Proxy: wss:// listening needs a config directory for its certificate.');
      try {
        tls = await this.tlsEnv.credentials({ ...(request.certPath !== undefined ? { certPath: request.certPath } : {}), ...(request.keyPath !== undefined ? { keyPath: request.keyPath } : {}) });
      } catch (error) {
        return this.failed(error instanceof TlsConfigError ? `Proxy: ${error.message}` : `Proxy: cannot set up TLS: ${(error as Error).message}`);
      }
    }
    await this.stopNow();
    const host = request.host?.trim() || undefined;
    const rewrite = { ...(host ? { host } : {}), ...(request.origin !== undefined ? { origin: request.origin } : {}) };
    let proxy: ReverseProxy;
    try {
      proxy = new ReverseProxy({
        host: listen.host, port: listen.port, target: upstream.url, listenPath: listen.path, ...this.legOptions(request),
        rewrite, ...(request.insecure ? { upstreamTls: { insecure: true } } : {}), ...(tls ? { tls } : {}),
      });
    } catch (error) {
      return this.failed(`Proxy: ${(error as Error).message}`);
    }
    return this.listening(request, 'reverse', { conversations: proxy.conversations, listen: () => proxy.listen(), close: () => proxy.close() }, (url) => ({
      url: `${url.replace(/\/$/, '')}${listen.path}`, target: upstream.url, rewrite: describeRewrite(upstream.hostHeader, rewrite),
      tls: tls ? { certificate: tls.certificate, certPath: tls.certPath, generated: tls.generated } : null,
    }), listen.host);
  }

  /** The forward proxy: ws:// through it is relayed and traced as a conversation; the rest is listed in a line. */
  private async startForward(request: StartProxyRequest): Promise<Result<{ url: string }>> {
    let address: URL;
    try {
      address = new URL(request.listen.trim());
    } catch {
      return this.failed(`Proxy: "${request.listen.trim().slice(0, 80)}" is not an address; try http://127.0.0.1:8080`);
    }
    if (address.protocol !== 'http:' || (address.pathname !== '/' && address.pathname !== '') || address.search) {
      return this.failed('Proxy: a forward proxy listens on http://HOST:PORT (browsers and tools are pointed at it with --proxy-server or HTTP_PROXY).');
    }
    const host = address.hostname.replace(/^\[|\]$/g, '');
    const port = address.port === '' ? 80 : Number(address.port);
    if (request.certPath !== undefined || request.keyPath !== undefined) return this.failed('Proxy: the forward proxy listens on http://; a certificate is for a reverse proxy on wss://.');
    const refused = await this.checkListen(host, port, request.confirmToken);
    if (refused) return refused;
    let minter: LeafMinter | null = null;
    if (request.interceptTls) {
      if (!this.tlsEnv) return this.failed('Proxy: TLS interception needs a config directory for its certificate authority.');
      try {
        minter = await interceptionMinter(this.tlsEnv.configDir);
      } catch (error) {
        return this.failed(error instanceof TlsConfigError ? `Proxy: ${error.message}` : `Proxy: cannot make the CA: ${(error as Error).message}`);
      } finally {
        this.ca = proxyCaStatus(this.tlsEnv.configDir);
      }
    }
    await this.stopNow();
    const conversations = new Set<ProxyConversation>();
    const legOptions = this.legOptions(request);
    const proxy = new ForwardProxy({
      host, port,
      // Other machines must not reach this one's own services through it.
      refuseLoopbackTargets: !isLoopbackHost(host),
      onEvent: (event) => this.forwardEvent(event),
      onWebSocket: (upgrade) => {
        // The forward proxy accepted this socket as HTTP: its leg opens in the trace here (the
        // reverse proxy's listener does this itself), so the list shows it beside its upstream leg.
        const socket = upgrade.downstream;
        this.legStarted(upgrade.id);
        this.tracer.forConnection(upgrade.id)({
          type: 'connection-opened', role: 'server', url: upgrade.url,
          // Inside an intercepted CONNECT the socket is TLS over the tunnel's bytes, which has no address of its own.
          local: socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : 'this proxy', remote: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'the CONNECT tunnel',
        });
        const conversation = relayUpgrade(upgrade, legOptions);
        conversations.add(conversation);
        void conversation.closed().then(() => conversations.delete(conversation));
      },
    });
    if (minter) {
      proxy.useInterceptor(createInterceptor(proxy, {
        minter, upstream: request.insecure ? { insecure: true } : {},
        onIntercepted: (event) => this.intercepted(event),
      }));
    }
    const close = async () => {
      for (const c of conversations) c.stop();
      await proxy.close();
    };
    return this.listening(request, 'forward', { conversations, listen: () => proxy.listen(), close }, (url) => ({ url, target: null, rewrite: null, tls: null }), host);
  }

  /** Both kinds: a non-loopback address needs a person's yes (confirmation.ts). */
  private async checkListen(host: string, port: number, token: string | undefined): Promise<Result<{ url: string }> | null> {
    const invalid = hostProblem(host) ?? portProblem(port);
    if (invalid) return this.failed(invalid);
    if (isLoopbackHost(host)) return null;
    return (await this.confirm({ kind: 'bind-address', host, port, service: 'proxy' }, token)) as Result<{ url: string }> | null;
  }

  /** Both legs of every conversation: traced into the service (each id noted), gate changes reported, deflate per leg. */
  private legOptions(request: StartProxyRequest) {
    return {
      // Each leg's id is noted as its trace starts, so the connection list can tag it.
      tracer: new WrappingTracer(this.tracer, (id, sink) => {
        this.legStarted(id);
        return sink;
      }),
      // Raw chunks feed the session recorder (Record), both legs, as the embedded server's do;
      // the service's onTrace keeps them off the IPC traffic.
      traceBytes: true,
      ...(request.clientDeflate === false ? { clientDeflate: false as const } : {}),
      ...(request.upstreamDeflate === false ? { upstreamDeflate: false as const } : {}),
      onGateChange: () => this.onChange(),
    };
  }

  private async listening(
    request: StartProxyRequest, kind: ProxyKind, running: RunningProxy, shown: (url: string) => Pick<ProxyStatus, 'url' | 'target' | 'rewrite' | 'tls'>, host: string,
  ): Promise<Result<{ url: string }>> {
    try {
      const { url } = await running.listen();
      this.running = running;
      const view = shown(url);
      this.state = {
        ...view, ca: this.state.ca, running: true, kind, conversations: 0, error: null, recent: [], tunnels: [], interceptTls: kind === 'forward' && request.interceptTls === true,
        clientDeflate: request.clientDeflate !== false, upstreamDeflate: request.upstreamDeflate !== false,
        warning: isLoopbackHost(host) ? null : `Bound to ${host}: other machines on your network can connect through this proxy.`,
      };
      this.onChange();
      return { ok: true, url: view.url! };
    } catch (error) {
      return this.failed(error instanceof ListenError ? error.message : `Cannot start the proxy: ${(error as Error).message}`);
    }
  }

  /** A forward proxy's non-WebSocket traffic, one line each (the WebSocket ones are conversations); tunnels also as data. */
  private forwardEvent(event: ForwardProxyEvent): void {
    if (event.type === 'tunnel-opened' || event.type === 'tunnel') {
      const t = event.tunnel;
      this.tunnel({
        id: event.id, target: visibleText(t.target.slice(0, 300)), sni: t.hello?.serverName ? visibleText(t.hello.serverName.slice(0, 300)) : null, mode: 'opaque',
        state: event.type === 'tunnel' ? 'closed' : 'open',
        ...(event.type === 'tunnel' ? { bytesUp: t.bytesUp, bytesDown: t.bytesDown } : {}),
        ...(t.notTls || t.error ? { error: visibleText((t.error ?? `not TLS: ${t.notTls}`).slice(0, 300)) } : {}),
      });
      if (event.type === 'tunnel-opened') return;
    }
    let line: string | null = null;
    if (event.type === 'http') line = `${event.exchange.method} ${event.exchange.url} → ${event.exchange.status ?? 'no answer'}${event.exchange.error ? ` (${event.exchange.error})` : ''}`;
    else if (event.type === 'tunnel') line = `CONNECT ${event.tunnel.target}${event.tunnel.hello?.serverName ? ` (SNI ${event.tunnel.hello.serverName})` : ''}: passed through opaquely, ${event.tunnel.bytesUp} B up, ${event.tunnel.bytesDown} B down`;
    else if (event.type === 'refused') line = `refused ${event.remote}: ${event.status} ${event.reason}`;
    if (!line) return;
    this.state = { ...this.state, recent: [...this.state.recent.slice(-(MAX_RECENT - 1)), visibleText(line.slice(0, 300))] };
    this.onChange();
  }

  /** A CONNECT whose TLS was intercepted (or failed to be): one entry of the tunnel list. */
  private intercepted(event: InterceptionEvent): void {
    this.tunnel({
      id: event.id, target: visibleText(event.target.slice(0, 300)), sni: event.serverName ? visibleText(event.serverName.slice(0, 300)) : null, mode: 'intercepted', state: 'open',
      ...(event.error ? { error: visibleText(event.error.slice(0, 300)) } : {}),
    });
  }

  /** Adds a tunnel, or updates the one with its id (bounded: the oldest go first). */
  private tunnel(entry: ProxyTunnel): void {
    const others = this.state.tunnels.filter((t) => t.id !== entry.id);
    this.state = { ...this.state, tunnels: [...others.slice(-(MAX_TUNNELS - 1)), entry] };
    this.onChange();
  }

  /** Stops listening; open conversations get 1001 Going Away on both legs. */
  stop(): Promise<Result> {
    return this.turns.run(() => this.stopNow());
  }

  private async stopNow(): Promise<Result> {
    const running = this.running;
    this.running = null;
    if (running) await running.close();
    this.state = { ...this.state, running: false, url: null, warning: null, tls: null };
    this.onChange();
    return { ok: true };
  }

  /** The Connection of a proxy leg (either side) by its id, while its conversation lives. */
  findLeg(id: string): Connection | undefined {
    if (!this.running) return undefined;
    for (const c of this.running.conversations) {
      if (c.client?.id === id) return c.client;
      if (c.upstream?.id === id) return c.upstream;
    }
    return undefined;
  }

  /** For a connection whose trace just opened: which conversation and side it is (once per id). */
  claimLeg(id: string): ProxyLeg | null {
    if (this.knownLegs.get(id) !== 'pending') return null;
    this.knownLegs.set(id, 'claimed');
    return id.endsWith(UPSTREAM_LEG_SUFFIX)
      ? { conversationId: id.slice(0, -UPSTREAM_LEG_SUFFIX.length), side: 'upstream' }
      : { conversationId: id, side: 'client' };
  }

  /**
   * For the session recorder: which leg of a proxied conversation a connection id is, and the
   * other leg's id (as `wsinspect proxy --record` marks them); undefined for any other connection.
   */
  recordedLegOf(id: string): RecordedProxyLeg | undefined {
    if (!this.knownLegs.has(id)) return undefined;
    return id.endsWith(UPSTREAM_LEG_SUFFIX)
      ? { leg: 'server-facing', pairedWith: id.slice(0, -UPSTREAM_LEG_SUFFIX.length) }
      : { leg: 'client-facing', pairedWith: `${id}${UPSTREAM_LEG_SUFFIX}` };
  }

  private legStarted(id: string): void {
    // A leg's sink may be asked for more than once (the conversation's notes): the first time counts.
    if (this.knownLegs.has(id)) return;
    if (this.knownLegs.size >= MAX_KNOWN_LEGS) this.knownLegs.delete(this.knownLegs.keys().next().value!);
    this.knownLegs.set(id, 'pending');
  }

  private failed(message: string): Result<{ url: string }> {
    this.state = { ...this.state, error: message };
    this.onChange();
    return { ok: false, error: message };
  }

  async dispose(): Promise<void> {
    await this.stop();
  }
}

/** "Host → example.com:8080 (the target's); Origin kept" */
export function describeRewrite(targetHost: string, rewrite: { host?: string; origin?: string | null }): string {
  const host = rewrite.host ? `Host → ${rewrite.host}` : `Host → ${targetHost} (the target's)`;
  const origin = rewrite.origin === undefined ? 'Origin kept' : rewrite.origin === null ? 'Origin removed' : `Origin → ${rewrite.origin}`;
  return `${host}; ${origin}`;
}
