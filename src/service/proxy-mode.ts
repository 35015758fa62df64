/**
 * The app's Proxy mode (issue 12): the inspector service runs a reverse proxy (core/proxy) whose
 * two legs per client trace into the service's tracer like any connection, each tagged with the
 * conversation it belongs to. The debugger works on a leg as on any connection: step mode,
 * breakpoints, held frames, injected frames and fault presets all go through the leg's own
 * Connection (findLeg), towards the client or towards the server.
 */

import { parseWebSocketUrl, UrlError } from '../core/net/client.ts';
import type { Connection } from '../core/net/connection.ts';
import { hostProblem, portProblem } from '../core/net/listen-address.ts';
import { isLoopbackHost, ListenError } from '../core/net/server.ts';
import { ReverseProxy } from '../core/proxy/reverse-proxy.ts';
import { WrappingTracer } from '../core/proxy/frame-pairing.ts';
import type { Tracer } from '../core/trace.ts';
import type { DangerousAction, Result } from '../shared/inspector-api.ts';
import { idleProxyStatus, UPSTREAM_LEG_SUFFIX, type ProxyLeg, type ProxyStatus, type StartProxyRequest } from '../shared/proxy-api.ts';

/** Asks a person before a dangerous action; null when they said yes (InspectorService.confirmAction). */
export type ConfirmAction = (action: DangerousAction, token: string | undefined) => Promise<Result | null>;

/** Leg ids seen and not yet claimed by the connection list: a guard against growth if one never is. */
const MAX_PENDING_LEGS = 10_000;

export class ProxyMode {
  private proxy: ReverseProxy | null = null;
  private state: ProxyStatus = { ...idleProxyStatus };
  /** Connection ids of legs whose trace has started, until the connection list claims them. */
  private readonly pendingLegs = new Set<string>();

  constructor(private readonly tracer: Tracer, private readonly onChange: () => void, private readonly confirm: ConfirmAction) {}

  status(): ProxyStatus {
    return { ...this.state, conversations: this.proxy?.conversations.size ?? 0 };
  }

  async start(request: StartProxyRequest): Promise<Result<{ url: string }>> {
    let listen;
    let target;
    for (const [what, url] of [['listen', request.listen], ['target', request.target]] as const) {
      if (!/^wss?:\/\//i.test(url.trim())) return this.failed(`Proxy: the ${what} URL starts with ws:// or wss:// (got "${url.trim().slice(0, 80)}").`);
    }
    try {
      listen = parseWebSocketUrl(request.listen);
      target = parseWebSocketUrl(request.target);
    } catch (error) {
      return this.failed(error instanceof UrlError ? error.message : `Proxy: ${(error as Error).message}`);
    }
    if (listen.secure) return this.failed('Proxy mode in the app listens on ws:// (wss:// listening is in the CLI: wsinspect proxy --listen wss://… --tls).');
    const invalid = hostProblem(listen.host) ?? portProblem(listen.port);
    if (invalid) return this.failed(invalid);
    if (!isLoopbackHost(listen.host)) {
      const refused = await this.confirm({ kind: 'bind-address', host: listen.host, port: listen.port, service: 'proxy' }, request.confirmToken);
      if (refused) return refused as Result<{ url: string }>;
    }
    await this.stop();
    const host = request.host?.trim() || undefined;
    const rewrite = { ...(host ? { host } : {}), ...(request.origin !== undefined ? { origin: request.origin } : {}) };
    let proxy: ReverseProxy;
    try {
      proxy = new ReverseProxy({
        host: listen.host, port: listen.port, target: target.url, listenPath: listen.path,
        // Each leg's id is noted as its trace starts, so the connection list can tag it.
        tracer: new WrappingTracer(this.tracer, (id, sink) => {
          this.legStarted(id);
          return sink;
        }),
        // Frames and heads carry their own bytes (as the embedded server's trace).
        traceBytes: false,
        rewrite,
        ...(request.clientDeflate === false ? { clientDeflate: false as const } : {}),
        ...(request.upstreamDeflate === false ? { upstreamDeflate: false as const } : {}),
        ...(request.insecure ? { upstreamTls: { insecure: true } } : {}),
        onGateChange: () => this.onChange(),
      });
    } catch (error) {
      return this.failed(`Proxy: ${(error as Error).message}`);
    }
    try {
      const { url } = await proxy.listen();
      const shown = `${url.replace(/\/$/, '')}${listen.path}`;
      this.proxy = proxy;
      this.state = {
        running: true, url: shown, target: target.url, conversations: 0, error: null,
        rewrite: describeRewrite(target.hostHeader, rewrite),
        clientDeflate: request.clientDeflate !== false, upstreamDeflate: request.upstreamDeflate !== false,
        warning: isLoopbackHost(listen.host) ? null : `Bound to ${listen.host}: other machines on your network can connect through this proxy.`,
      };
      this.onChange();
      return { ok: true, url: shown };
    } catch (error) {
      return this.failed(error instanceof ListenError ? error.message : `Cannot start the proxy: ${(error as Error).message}`);
    }
  }

  /** Stops listening; open conversations get 1001 Going Away on both legs. */
  async stop(): Promise<Result> {
    const proxy = this.proxy;
    this.proxy = null;
    if (proxy) await proxy.close();
    this.state = { ...this.state, running: false, url: null, warning: null };
    this.onChange();
    return { ok: true };
  }

  /** The Connection of a proxy leg (either side) by its id, while its conversation lives. */
  findLeg(id: string): Connection | undefined {
    if (!this.proxy) return undefined;
    for (const c of this.proxy.conversations) {
      if (c.client?.id === id) return c.client;
      if (c.upstream?.id === id) return c.upstream;
    }
    return undefined;
  }

  /** For a connection whose trace just opened: which conversation and side it is (once per id). */
  claimLeg(id: string): ProxyLeg | null {
    if (!this.pendingLegs.delete(id)) return null;
    return id.endsWith(UPSTREAM_LEG_SUFFIX)
      ? { conversationId: id.slice(0, -UPSTREAM_LEG_SUFFIX.length), side: 'upstream' }
      : { conversationId: id, side: 'client' };
  }

  private legStarted(id: string): void {
    if (this.pendingLegs.size >= MAX_PENDING_LEGS) this.pendingLegs.delete(this.pendingLegs.values().next().value!);
    this.pendingLegs.add(id);
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
