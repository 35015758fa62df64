/**
 * wsinspect proxy --forward: the forward proxy (src/core/forward-proxy/) from the command line.
 *   wsinspect proxy --forward [--listen 127.0.0.1:8080] [--intercept-tls [--ca FILE] [--insecure]]
 * WebSocket conversations through it are relayed and traced on both legs (the reverse proxy's
 * conversation, src/core/proxy/); other HTTP requests and CONNECT tunnels are listed, one line each.
 */

import { Defaults } from '../core/constants.ts';
import { ForwardProxy, type ForwardProxyEvent, type WebSocketUpgrade } from '../core/forward-proxy/forward-proxy.ts';
import type { HttpExchangeSummary } from '../core/forward-proxy/http-exchange.ts';
import { createInterceptor, type InterceptionEvent } from '../core/forward-proxy/tls-interception.ts';
import type { TunnelSummary } from '../core/forward-proxy/tunnel.ts';
import { authorityFiles, createAuthority, describeAuthority, LeafMinter, loadAuthority, riskStatement, trustSteps } from '../core/net/certificate-authority.ts';
import { hostProblem, portProblem, unbracket } from '../core/net/listen-address.ts';
import { isLoopbackHost, ListenError } from '../core/net/server.ts';
import { TlsConfigError, type ClientTlsOptions } from '../core/net/transport.ts';
import type { ProxyConversation } from '../core/proxy/conversation.ts';
import { relayUpgrade } from '../core/forward-proxy/relay-upgrade.ts';
import { Tracer } from '../core/trace.ts';
import { traceWriter, type TraceMode } from './trace-output.ts';
import { announce, CliError, clientTls, parseIntOption, parseLimits, parseTraceMode, runUntilStopped, watchForStop } from './wsinspect.ts';
import { recordProxy, type ProxyValues } from './proxy.ts';

export const forwardProxyUsage = `  wsinspect proxy --forward [--listen 127.0.0.1:8080] [options]
                                     forward proxy: point a browser or tool at it (--proxy-server=http://127.0.0.1:8080);
                                     ws:// through it is relayed and traced on both legs, other HTTP requests are passed
                                     on untouched and listed (one line: method, URL, status, bytes), CONNECT is a tunnel
                                     passed through and shown with its TLS server name (SNI)
      --listen HOST:PORT             where clients connect (default 127.0.0.1:8080)
      --allow-remote                 listen on an address other machines can reach (then targets on this
                                     machine are refused: the proxy must not open its loopback services to others)
      --intercept-tls                terminate CONNECT's TLS with certificates from the local CA (wsinspect ca),
                                     so wss:// inside is traced too; the client must trust the CA
      --ca FILE, --insecure          with --intercept-tls: trust this CA for the origins too / do not verify them
      --max-connections N            client connections at a time (default 512; one more is answered 503)
      --record FILE, --trace, the limits and --no-deflate-*: as for the reverse proxy, on every relayed conversation`;

/** The forward mode's own options, added to the proxy command's table. */
export const forwardProxyArgs = {
  forward: { type: 'boolean' }, 'intercept-tls': { type: 'boolean' }, 'allow-remote': { type: 'boolean' },
} as const;

/** "127.0.0.1:8080", "[::1]:8080", "localhost:8080", "http://127.0.0.1:8080" → host and port. */
export function parseListenAddress(value: string): { host: string; port: number } {
  const text = value.trim().replace(/^http:\/\//i, '').replace(/\/$/, '');
  const match = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (!match) throw new CliError(`--listen: ${JSON.stringify(value.slice(0, 100))} is not HOST:PORT, e.g. 127.0.0.1:8080`, 2);
  const host = unbracket(match[1]!);
  const port = Number(match[2]);
  const problem = hostProblem(host) ?? portProblem(port);
  if (problem) throw new CliError(`--listen: ${problem}`, 2);
  return { host, port };
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function exchangeLine(e: HttpExchangeSummary): string {
  const status = e.status === null ? 'no answer' : String(e.status);
  return `${e.method} ${e.url} → ${status}, ${size(e.bytesUp)} up, ${size(e.bytesDown)} down, ${duration(e.durationMs)}${e.error ? ` (${e.error})` : ''}`;
}

function helloText(t: TunnelSummary): string {
  if (t.hello) {
    const sni = t.hello.serverName === null ? 'no SNI' : `SNI ${t.hello.serverName}${t.hello.serverNameProblem ? ` (${t.hello.serverNameProblem})` : ''}`;
    return `${t.hello.version}, ${sni}${t.hello.alpn.length ? `, ALPN ${t.hello.alpn.join(',')}` : ''}`;
  }
  return t.notTls ? `not TLS: ${t.notTls}` : 'no bytes from the client';
}

/** One line per proxy event (pretty mode). */
export function proxyEventLine(event: ForwardProxyEvent): string {
  switch (event.type) {
    case 'http':
      return `[${event.id}] ${exchangeLine(event.exchange)}`;
    case 'tunnel-opened':
      return `[${event.id}] CONNECT ${event.tunnel.target}: ${helloText(event.tunnel)}; passed through, not inspected`;
    case 'tunnel':
      return `[${event.id}] tunnel ${event.tunnel.target} closed: ${helloText(event.tunnel)}; ${size(event.tunnel.bytesUp)} up, ${size(event.tunnel.bytesDown)} down, ${duration(event.tunnel.durationMs)}${event.tunnel.error ? ` (${event.tunnel.error})` : ''}`;
    case 'websocket':
      return `[${event.id}] WebSocket ${event.url}: ${event.relayed ? 'relayed, both legs traced' : 'passed through, not inspected'}`;
    case 'refused':
      return `[${event.id}] refused ${event.status} from ${event.remote}: ${event.reason}`;
  }
}

function interceptionLine(e: InterceptionEvent): string {
  const name = e.serverName === null ? 'no SNI' : `SNI ${e.serverName}`;
  return e.error
    ? `[${e.id}] CONNECT ${e.target}: TLS interception failed (${name}): ${e.error}`
    : `[${e.id}] CONNECT ${e.target}: TLS intercepted (${name}), certificate from the local CA`;
}

/** The local CA, made now if there is none (said on stderr with how to trust it). */
async function interceptionAuthority(): Promise<LeafMinter> {
  const files = authorityFiles();
  try {
    let pair = loadAuthority(files);
    if (!pair) {
      pair = await createAuthority(files);
      const d = describeAuthority(pair.cert, files);
      process.stderr.write([`made the proxy CA for --intercept-tls: ${d.certPath} (key mode 0600), SHA-256 ${d.sha256}`, ...trustSteps(d), ...riskStatement(d)].join('\n') + '\n');
    }
    return new LeafMinter(pair);
  } catch (error) {
    if (error instanceof TlsConfigError) throw new CliError(error.message, 1);
    throw error;
  }
}

export async function forwardProxy(values: ProxyValues): Promise<number> {
  for (const [flag, given] of [['--target', values.target], ['--tls', values.tls], ['--cert', values.cert], ['--key', values.key], ['--host', values.host], ['--origin', values.origin], ['--no-origin', values['no-origin']]] as const) {
    if (given !== undefined) throw new CliError(`${flag} is for the reverse proxy; --forward takes the target from each request`, 2);
  }
  const { host, port } = parseListenAddress(values.listen ?? '127.0.0.1:8080');
  const remote = !isLoopbackHost(host);
  if (remote && !values['allow-remote']) {
    throw new CliError(`--listen ${host}: other machines could use this proxy to reach anything this machine can; add --allow-remote if that is meant (loopback: 127.0.0.1, ::1, localhost)`, 2);
  }
  const intercept = values['intercept-tls'] ?? false;
  if (!intercept && (values.ca?.length || values.insecure)) throw new CliError(`${values.ca?.length ? '--ca' : '--insecure'} goes with --intercept-tls (without it, TLS is passed through and the client checks the origin itself)`, 2);
  const upstreamTls: ClientTlsOptions = clientTls('wss://', values.ca, values.insecure) ?? {};
  const mode: TraceMode = parseTraceMode(values.trace);
  const limits = parseLimits(values);
  const handshakeTimeoutMs = parseIntOption('--handshake-timeout', values['handshake-timeout'], Defaults.handshakeTimeoutMs, 1, 3_600_000);
  const maxMessageSize = parseIntOption('--max-message', values['max-message'], Defaults.maxMessageSize, 1, 2 ** 31);
  const maxConnections = parseIntOption('--max-connections', values['max-connections'], 512, 1, 100_000);
  const tracer = new Tracer();
  const write = traceWriter(mode, values['full-payloads']);
  if (write) tracer.subscribe(write);
  // --record FILE: both legs of every relayed conversation, as the reverse proxy records them.
  const recorder = recordProxy(values, tracer);
  /** Pretty: the line; jsonl: {"type":"proxy","event":…, …} (the trace's own events keep their types). */
  const print = (line: string, fields: { type?: string } & Record<string, unknown>) => {
    if (mode === 'pretty') process.stdout.write(line + '\n');
    else if (mode === 'jsonl') {
      const { type, ...rest } = fields;
      process.stdout.write(JSON.stringify({ type: 'proxy', event: type, ...rest }) + '\n');
    }
  };
  const bothOff = limits.deflate === false;
  const relay = (upgrade: WebSocketUpgrade) => {
    const conversation = relayUpgrade(upgrade, {
      tracer, traceBytes: mode === 'jsonl' || recorder !== null,
      ...(bothOff || values['no-deflate-client'] ? { clientDeflate: false as const } : {}),
      ...(bothOff || values['no-deflate-upstream'] ? { upstreamDeflate: false as const } : {}),
      maxMessageSize, maxFragments: limits.maxFragments, maxHeadSize: limits.maxHeadSize, handshakeTimeoutMs,
      ...(limits.maxFrameSize !== undefined ? { maxFrameSize: limits.maxFrameSize } : {}),
      ...(limits.idleTimeoutMs !== undefined ? { idleTimeoutMs: limits.idleTimeoutMs } : {}),
    });
    conversations.add(conversation);
    void conversation.closed().then(() => conversations.delete(conversation));
  };
  const conversations = new Set<ProxyConversation>();
  const minter = intercept ? await interceptionAuthority() : null;
  const proxy = new ForwardProxy({
    host, port, maxHeadSize: limits.maxHeadSize, headTimeoutMs: handshakeTimeoutMs, refuseLoopbackTargets: remote, maxConnections,
    onEvent: (event) => print(proxyEventLine(event), event),
    onWebSocket: relay,
  });
  if (minter) {
    proxy.useInterceptor(createInterceptor(proxy, {
      minter, upstream: upstreamTls, timeoutMs: handshakeTimeoutMs, maxHeadSize: limits.maxHeadSize,
      onIntercepted: (event) => print(interceptionLine(event), { type: 'intercepted', ...event }),
    }));
  }
  const watch = watchForStop();
  try {
    const { url } = await proxy.listen();
    announce(mode, `forward proxy on ${url}${minter ? ' (TLS interception on)' : ''}: e.g. chromium --proxy-server=${url}, curl -x ${url}, HTTPS_PROXY=${url}`, { event: 'listening', url, interceptTls: Boolean(minter) });
    if (remote) process.stderr.write(`warning: bound to ${host}, so other machines can use this proxy (targets on this machine are refused).\n`);
  } catch (error) {
    watch.cancel();
    if (error instanceof ListenError) throw new CliError(error.message, 1);
    throw error;
  }
  await runUntilStopped(watch, async () => {
    for (const c of conversations) c.stop();
    await proxy.close();
  });
  recorder?.close();
  return 0;
}
