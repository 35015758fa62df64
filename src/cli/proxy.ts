/**
 * wsinspect proxy: the reverse proxy (src/core/proxy/) from the command line.
 *   wsinspect proxy --listen ws://127.0.0.1:9002/ --target wss://example.com/socket [options]
 * Each client that connects gets its own upstream connection; both legs are traced, each relayed
 * frame paired with its original. Errors are one plain line and a non-zero exit code.
 *
 * The options table (proxyArgs) and the parsed values are shared by the modes: a new mode (the
 * forward proxy) adds its options to the table and a branch in proxy().
 */

import { parseArgs } from 'node:util';
import { Defaults } from '../core/constants.ts';
import { parseWebSocketUrl, UrlError } from '../core/net/client.ts';
import { isLoopbackHost, ListenError } from '../core/net/server.ts';
import { DEFAULT_MAX_CONVERSATIONS, ReverseProxy } from '../core/proxy/reverse-proxy.ts';
import { headerValueProblem } from '../core/http-tokens.ts';
import { Tracer } from '../core/trace.ts';
import { RecordOptionError, recordArgs, startRecording } from './record.ts';
import { traceWriter } from './trace-output.ts';
import { forwardProxy, forwardProxyArgs, forwardProxyUsage } from './forward-proxy.ts';
import {
  announce, announceTls, CliError, clientTls, limitArgs, parseIntOption, parseLimits, parseTraceMode, runUntilStopped, serverTls, watchForStop,
} from './wsinspect.ts';

export const proxyUsage = `wsinspect proxy — a reverse proxy (or, with --forward, a forward proxy) that traces both legs of every conversation

Usage:
  wsinspect proxy --target <ws://url | wss://url> [--listen ws://127.0.0.1:9002/] [options]
      --listen URL                   where clients connect: ws://HOST:PORT/PATH, or wss://… (default
                                     ws://127.0.0.1:9002/); the client's path below PATH is appended to the target's
      --target URL                   the upstream server; each client gets its own connection to it
      --tls                          listen on wss:// with the generated localhost certificate (as serve --tls)
      --cert FILE --key FILE         listen on wss:// with this certificate and key
      --ca FILE                      wss:// target: also trust this CA or certificate (repeatable)
      --insecure                     wss:// target: do not verify its certificate (the trace says so)
      --host VALUE                   Host header sent upstream (default: the target's host[:port])
      --origin VALUE | --no-origin   Origin sent upstream: this value, or none (default: the client's, kept)
      --no-deflate-client            no permessage-deflate between the client and the proxy
      --no-deflate-upstream          no permessage-deflate between the proxy and the target
      --no-deflate                   neither (default: offered/accepted on both legs, each on its own)
      --max-connections N            at most N conversations at a time (2 sockets each); one more client is
                                     answered 503 Service Unavailable with Retry-After (default 256)
      --trace pretty|jsonl|none      how to print the trace of both legs (default pretty)
      --full-payloads                --trace jsonl with every payload byte
      --record FILE [--record-cap BYTES]   save both legs of every conversation to a session file (wsinspect open FILE)
      --max-message BYTES, --max-frame BYTES, --max-fragments N, --max-head BYTES, --handshake-timeout MS,
      --idle-timeout MS              limits, as for serve and connect, on both legs
      -h, --help                     this help
${forwardProxyUsage}
What is forwarded: the client's request headers, except hop-by-hop ones (Connection, Upgrade, Keep-Alive,
TE, …) and per-leg ones (Sec-WebSocket-Key, -Version, -Extensions); Host is the target's unless --host says
otherwise; Origin is kept unless --origin/--no-origin. The client's subprotocols are offered upstream and
the upstream's choice is answered, with its 101's end-to-end headers (Set-Cookie, …). The client's handshake
is answered only once the upstream's succeeded;
an upstream refusal (403, 401, 404…) reaches the client with its status, headers and body; an unreachable
upstream is answered 502 Bad Gateway, one that does not answer in time 504.
Closing: a Close is passed on with its code and reason; the client vanishing or breaking a rule closes the
upstream with 1001 Going Away; the upstream doing so closes the client with 1014 Bad Gateway.

Examples:
  wsinspect proxy --listen ws://127.0.0.1:9002/ --target wss://echo.example.com/socket
  wsinspect proxy --listen wss://127.0.0.1:9443/ --tls --target ws://127.0.0.1:9001/ --no-deflate-upstream
  wsinspect proxy --forward --listen 127.0.0.1:8080    then: chromium --proxy-server=http://127.0.0.1:8080
  wsinspect proxy --forward --intercept-tls            (trust the CA first: wsinspect ca show)`;

/**
 * The options of every proxy mode; a mode adds its own here. A function, not a constant: this
 * module and wsinspect.ts import each other, so their constants are read only once both are loaded.
 */
export const proxyArgs = () => ({
  listen: { type: 'string' }, target: { type: 'string' }, trace: { type: 'string' }, 'full-payloads': { type: 'boolean' },
  tls: { type: 'boolean' }, cert: { type: 'string' }, key: { type: 'string' },
  ca: { type: 'string', multiple: true }, insecure: { type: 'boolean' },
  host: { type: 'string' }, origin: { type: 'string' }, 'no-origin': { type: 'boolean' },
  'no-deflate-client': { type: 'boolean' }, 'no-deflate-upstream': { type: 'boolean' }, 'max-connections': { type: 'string' },
  'max-message': { type: 'string' }, ...limitArgs, ...recordArgs, ...forwardProxyArgs,
  help: { type: 'boolean', short: 'h' },
} as const);

export function parseProxyArgs(args: string[]) {
  return parseArgs({ args, allowPositionals: false, strict: true, options: proxyArgs() }).values;
}

export type ProxyValues = ReturnType<typeof parseProxyArgs>;

export async function proxy(args: string[]): Promise<number> {
  const values = parseProxyArgs(args);
  if (values.help) {
    process.stdout.write(proxyUsage + '\n');
    return 0;
  }
  if (values.forward) return forwardProxy(values);
  return reverseProxy(values);
}

async function reverseProxy(values: ProxyValues): Promise<number> {
  if (values.target === undefined) throw new CliError('proxy needs --target ws://host:port/path (the upstream server)', 2);
  const listen = parseUrlOption('--listen', values.listen ?? 'ws://127.0.0.1:9002/');
  const target = parseUrlOption('--target', values.target);
  if (values.origin !== undefined && values['no-origin']) throw new CliError('--origin and --no-origin contradict each other: give one', 2);
  for (const [flag, value] of [['--host', values.host], ['--origin', values.origin]] as const) {
    const problem = value === undefined ? null : value.trim() === '' ? 'it is empty' : headerValueProblem(flag.slice(2), value);
    if (problem) throw new CliError(`${flag}: ${problem}`, 2);
  }
  if (!listen.secure && (values.tls || values.cert !== undefined || values.key !== undefined)) {
    throw new CliError(`--tls, --cert and --key are for a wss:// --listen URL (got ${listen.url})`, 2);
  }
  const mode = parseTraceMode(values.trace);
  const limits = parseLimits(values);
  const bothOff = limits.deflate === false;
  const upstreamTls = clientTls(values.target, values.ca, values.insecure);
  const tls = listen.secure ? await serverTls({ ...values, tls: values.cert === undefined }) : null;
  const tracer = new Tracer();
  const write = traceWriter(mode, values['full-payloads']);
  if (write) tracer.subscribe(write);
  const recorder = recordProxy(values, tracer);
  let server: ReverseProxy;
  const watch = watchForStop();
  try {
    server = new ReverseProxy({
      host: listen.host, port: listen.port, target: target.url, listenPath: listen.path, tracer, traceBytes: mode === 'jsonl' || recorder !== null,
      ...(tls ? { tls } : {}),
      ...(upstreamTls ? { upstreamTls } : {}),
      ...(bothOff || values['no-deflate-client'] ? { clientDeflate: false as const } : {}),
      ...(bothOff || values['no-deflate-upstream'] ? { upstreamDeflate: false as const } : {}),
      rewrite: {
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(values['no-origin'] ? { origin: null } : values.origin !== undefined ? { origin: values.origin } : {}),
      },
      maxMessageSize: parseIntOption('--max-message', values['max-message'], Defaults.maxMessageSize, 1, 2 ** 31),
      ...(limits.maxFrameSize !== undefined ? { maxFrameSize: limits.maxFrameSize } : {}),
      ...(limits.idleTimeoutMs !== undefined ? { idleTimeoutMs: limits.idleTimeoutMs } : {}),
      maxFragments: limits.maxFragments,
      maxHeadSize: limits.maxHeadSize,
      maxConnections: parseIntOption('--max-connections', values['max-connections'], DEFAULT_MAX_CONVERSATIONS, 1, 100_000),
      handshakeTimeoutMs: parseIntOption('--handshake-timeout', values['handshake-timeout'], Defaults.handshakeTimeoutMs, 1, 3_600_000),
    });
    const { url } = await server.listen();
    const shown = `${url.replace(/\/$/, '')}${listen.path}`;
    announce(mode, `proxying ${shown} → ${target.url}`, { event: 'listening', url: shown, target: target.url });
    if (!isLoopbackHost(listen.host)) process.stderr.write(`warning: bound to ${listen.host}, so other machines can reach this proxy.\n`);
    if (tls) announceTls(mode, tls, url);
  } catch (error) {
    watch.cancel();
    if (error instanceof ListenError) throw new CliError(error.message, 1);
    throw error;
  }
  await runUntilStopped(watch, () => server.close());
  recorder?.close();
  return 0;
}

/**
 * --record FILE: both legs of every conversation, each marked with its leg and the other leg's id
 * (the client leg is the conversation's id, the upstream leg that id + "-upstream").
 */
export function recordProxy(values: ProxyValues, tracer: Tracer) {
  const legOf = (id: string) => id.endsWith('-upstream')
    ? { leg: 'server-facing' as const, pairedWith: id.slice(0, -'-upstream'.length) }
    : { leg: 'client-facing' as const, pairedWith: `${id}-upstream` };
  try {
    const recorder = startRecording(values, 'wsinspect proxy', [tracer], legOf);
    if (recorder) process.once('exit', () => recorder.close());
    return recorder;
  } catch (error) {
    if (error instanceof RecordOptionError) throw new CliError(error.message, 2);
    throw error;
  }
}

function parseUrlOption(flag: string, value: string) {
  try {
    return parseWebSocketUrl(value);
  } catch (error) {
    if (error instanceof UrlError) throw new CliError(`${flag}: ${error.message}`, 2);
    throw error;
  }
}
