/**
 * wsinspect: the headless face of the engine.
 *   wsinspect serve   [--host 127.0.0.1] [--port 9001] [--app echo|chat|manual] [--tls [--cert FILE --key FILE]] [--trace pretty|jsonl|none]
 *   wsinspect connect <ws://url | wss://url> [--send TEXT | --send-file PATH | --send-binary HEX|@PATH | --ping[=TEXT] | --close CODE]... [options]
 *   wsinspect examples [ID]
 * Errors are one plain line on stderr and a non-zero exit code; nothing here throws at the user.
 */

import { parseArgs } from 'node:util';
import { components, isComponentName } from '../core/apps/index.ts';
import { Defaults, isValidWireCloseCode } from '../core/constants.ts';
import { HandshakeOptionError, parseHeaderLine, subprotocolProblem } from '../core/http-tokens.ts';
import { connectClient, ConnectError, UrlError } from '../core/net/client.ts';
import { hostProblem } from '../core/net/listen-address.ts';
import type { Connection } from '../core/net/connection.ts';
import { isLoopbackHost, ListenError, WebSocketServer } from '../core/net/server.ts';
import { loadCaCertificates, loadServerCredentials, TlsConfigError, type ServerCredentials } from '../core/net/transport.ts';
import { Tracer } from '../core/trace.ts';
import { fromHex } from '../core/bytes.ts';
import type { ViolationPolicy } from '../core/protocol.ts';
import type { ProtocolViolation } from '../core/errors.ts';
import { checkPresetIds, firePresets, parseSizes, presetCatalogue, sendHex } from './faults.ts';
import { traceWriter, type TraceMode } from './trace-output.ts';
import { RecordOptionError, recordArgs, recordUsage, startRecording } from './record.ts';
// Subcommands other than serve and connect, and the certificate maker (@peculiar/x509 and its
// CommonJS dependencies), are imported when used: loading them costs most of a bare start (issue 17).
import { exampleDetail, examplesGallery } from './examples.ts';
import { readFileSync, statSync } from 'node:fs';

const usage = `wsinspect — a from-scratch RFC 6455 WebSocket server and client with a wire trace

Usage:
  wsinspect serve [options]          run the embedded server
      --host HOST                    address to bind (default ${Defaults.host})
      --port PORT                    port (default ${Defaults.port}; 0 picks a free one)
      --app echo|chat|manual         application: echo back, broadcast to others, or nothing (default echo)
      --subprotocol NAME             a subprotocol the server speaks (repeatable)
      --allow-origin ORIGIN          accept only browsers from this Origin, others get 403 (repeatable; default any)
      --preset ID                    fire this fault preset at every client once it connects (repeatable)
      --max-connections N            at most N connections at a time; one more is answered 503 Service Unavailable
                                     with Retry-After, then closed (default: no cap)
      --tls                          serve wss:// (RFC 6455 §10.6) with a self-signed certificate for localhost,
                                     127.0.0.1 and ::1, made on first use and kept in the config directory
                                     ($XDG_CONFIG_HOME or ~/.config/websocket-inspector/tls/, key mode 0600)
      --cert FILE --key FILE         serve wss:// with this certificate (PEM, chain after it) and its key instead
  wsinspect connect <ws://url | wss://url> [options]
      --send TEXT                    send a text message once open (repeatable)
      --send-file PATH               send a file's contents as one text message (UTF-8; at most --max-message bytes)
      --send-binary HEX|@PATH        send a binary message: these bytes ("00 ff 10"), or a file's (@PATH)
      --ping | --ping=TEXT           send a Ping, empty or with TEXT (at most 125 bytes); the peer's Pong is traced
      --close CODE [--reason TEXT]   start the closing handshake with this status code (and reason)
      --fragment SIZES               send each --send/--send-file/--send-binary message in frames of these payload
                                     sizes ("3,2": frames of 3 and 2 bytes, the rest in one last frame; §5.4)
                                     --send, --send-file, --send-binary, --send-hex, --ping and --close go out in
                                     the order given
      --echo                         send back every message received; exit 0 when the peer closes
      --subprotocol NAME             offer a subprotocol (repeatable)
      --header "Name: value"         extra handshake header (repeatable); one naming a generated header
                                     (Host, Sec-WebSocket-Key, Sec-WebSocket-Version, ...) replaces it
      --wait MS                      without --echo: listen MS after sending, then close; without --wait: until one
                                     reply per message sent, at most 2000 ms (2000 ms when nothing is sent)
      --send-hex HEX                 send these bytes as they are, valid or not (repeatable), e.g. "81 85 37 fa 21 3d 7f 9f 4d 51 58"
      --split SIZES --delay MS       send --send-hex in TCP writes of these sizes ("1,1,2"), MS apart
      --preset ID                    fire a fault preset and compare the peer's reaction with the RFC's (repeatable);
                                     exit 1 if a reaction differs. List them with: wsinspect presets
      --ca FILE                      wss://: also trust this CA or certificate (PEM or DER; repeatable), on top of
                                     the system's certificate authorities
      --insecure                     wss://: do not verify the server's certificate (encrypted, but to a server whose
                                     identity is unproven); the trace says so in red
  wsinspect proxy --target <ws://url | wss://url> [--listen ws://127.0.0.1:9002/] [options]
                                     reverse proxy: trace both legs of every conversation (see: wsinspect proxy --help)
  wsinspect proxy --forward [--listen 127.0.0.1:8080] [--intercept-tls]
                                     forward proxy for browsers and tools: ws:// through it traced on both legs, other
                                     requests and CONNECT tunnels listed (see: wsinspect proxy --help)
  wsinspect ca create|show|path|remove   the local CA for --intercept-tls: make it, how to trust it, delete it
  wsinspect open FILE [--trace pretty|jsonl]   print a recorded session (--record), a JSON export, a HAR file or a
                                     pcap/pcapng capture, replayed through our parser
  wsinspect export FILE --format pcapng|har|json -o OUT   write a recording as pcapng (Wireshark), HAR 1.2 or JSON
  wsinspect presets                  list the fault presets, grouped by RFC section
  wsinspect examples [ID]            the RFC 6455 / RFC 7692 examples, byte-exact; with ID, one decoded field by field
  wsinspect why [ID]                 the reasons behind the rules (masking, the GUID, Origin, limits...), as the app's Why? boxes
  wsinspect learn [LESSON]           guided lessons on live traffic, checked off from the trace (see: wsinspect learn --help)
  wsinspect conformance server <url> | client --launch "<cmd {url}>"   Autobahn-style battery (see: wsinspect conformance --help)
  wsinspect fuzzingserver [--spec FILE] [--port 9001] | fuzzingclient --spec FILE
                                     drop-ins for Autobahn's fuzzingserver/fuzzingclient (see: wsinspect fuzzingserver --help)
  Common:
      --trace pretty|jsonl|none      how to print the wire trace (default pretty); jsonl cuts each payload to
                                     64 KiB as the app does ("truncated" gives the real length)
      --full-payloads                --trace jsonl with every payload byte
${recordUsage}
      --max-message BYTES            largest message accepted before failing with 1009 (default ${Defaults.maxMessageSize})
      --max-frame BYTES              largest single frame accepted before failing with 1009 (default: --max-message)
      --max-fragments N              most frames in one fragmented message before failing with 1008 (default ${Defaults.maxFragments})
      --max-head BYTES               largest HTTP head accepted (serve answers 431; default ${Defaults.maxHeadSize})
      --policy strict|observe        strict (the RFC): a violation fails the connection; observe: flag it, stay open
      --handshake-timeout MS         serve: drop a client whose handshake is not done by then; connect: give up
                                     if connecting and the handshake take longer (default ${Defaults.handshakeTimeoutMs})
      --idle-timeout MS              close an open connection with 1001 Going Away after MS with no bytes in
                                     either direction (default: off)
      --no-deflate                   no permessage-deflate (RFC 7692): connect offers none, serve declines every
                                     offer (default: on, as in browsers; the trace shows both wire and plain bytes)
      -h, --help                     this help

Examples:
  wsinspect serve --port 9001 --app echo
  wsinspect connect ws://127.0.0.1:9001/ --send "Hello"
  wsinspect connect ws://127.0.0.1:9001/ --echo --trace jsonl
  wsinspect serve --tls --port 9443
  wsinspect connect wss://localhost:9443/ --ca ~/.config/websocket-inspector/tls/localhost-cert.pem --send "Hello"`;

function parsePolicy(value: string | undefined): ViolationPolicy {
  const policy = value ?? 'strict';
  if (policy !== 'strict' && policy !== 'observe') throw new CliError(`--policy must be strict or observe (got "${policy}")`, 2);
  return policy;
}

/** A failure to report as one line. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function parseTraceMode(value: string | undefined): TraceMode {
  const mode = value ?? 'pretty';
  if (mode !== 'pretty' && mode !== 'jsonl' && mode !== 'none') throw new CliError(`--trace must be pretty, jsonl or none (got "${mode}")`, 2);
  return mode;
}

export function parseIntOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliError(`${name} must be a whole number (got "${value}")`, 2);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`${name} must be between ${min} and ${max} (got ${n})`, 2);
  return n;
}

/** RFC 6455 §4.1 item 10 and §11.3.4: each --subprotocol is a token (http-tokens.ts). */
function checkSubprotocols(names: readonly string[] | undefined): void {
  for (const name of names ?? []) {
    const problem = subprotocolProblem(name);
    if (problem) throw new CliError(`--subprotocol: ${problem}`, 2);
  }
}

/** The RFC 6455 §10.4 limit flags that serve and connect share. */
export const limitArgs = {
  'max-frame': { type: 'string' }, 'max-fragments': { type: 'string' }, 'max-head': { type: 'string' }, 'handshake-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' }, 'no-deflate': { type: 'boolean' },
} as const;

export function parseLimits(values: { 'max-frame'?: string | undefined; 'max-fragments'?: string | undefined; 'max-head'?: string | undefined; 'idle-timeout'?: string | undefined; 'no-deflate'?: boolean | undefined }) {
  const maxFrame = values['max-frame'];
  const idle = values['idle-timeout'];
  return {
    ...(maxFrame !== undefined ? { maxFrameSize: parseIntOption('--max-frame', maxFrame, 0, 1, 2 ** 31) } : {}),
    ...(idle !== undefined ? { idleTimeoutMs: parseIntOption('--idle-timeout', idle, 0, 1, 86_400_000) } : {}),
    maxFragments: parseIntOption('--max-fragments', values['max-fragments'], Defaults.maxFragments, 1, 2 ** 31),
    maxHeadSize: parseIntOption('--max-head', values['max-head'], Defaults.maxHeadSize, 1, 2 ** 31),
    ...(values['no-deflate'] ? { deflate: false as const } : {}),
  };
}

/** Announces something on stdout; in jsonl mode as a JSON line so the stream stays parseable. */
export function announce(mode: TraceMode, text: string, fields: Record<string, unknown>): void {
  if (mode === 'jsonl') process.stdout.write(JSON.stringify({ type: 'cli', message: text, ...fields }) + '\n');
  else process.stdout.write(text + '\n');
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, allowPositionals: false, strict: true,
    options: {
      host: { type: 'string' }, port: { type: 'string' }, app: { type: 'string' }, trace: { type: 'string' },
      subprotocol: { type: 'string', multiple: true }, 'max-message': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'allow-origin': { type: 'string', multiple: true }, ...limitArgs,
      policy: { type: 'string' }, preset: { type: 'string', multiple: true }, 'max-connections': { type: 'string' },
      tls: { type: 'boolean' }, cert: { type: 'string' }, key: { type: 'string' }, 'full-payloads': { type: 'boolean' },
      ...recordArgs,
    },
  });
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const mode = parseTraceMode(values.trace);
  const maxConnections = values['max-connections'];
  const appName = values.app ?? 'echo';
  if (!isComponentName(appName)) throw new CliError(`--app must be echo, chat or manual (got "${appName}")`, 2);
  const port = parseIntOption('--port', values.port, Defaults.port, 0, 65535);
  const maxMessageSize = parseIntOption('--max-message', values['max-message'], Defaults.maxMessageSize, 1, 2 ** 31);
  const host = values.host ?? Defaults.host;
  const badHost = hostProblem(host);
  if (badHost) throw new CliError(`--host: ${badHost}`, 2);
  checkSubprotocols(values.subprotocol);
  const tracer = new Tracer();
  const write = traceWriter(mode, values['full-payloads']);
  if (write) tracer.subscribe(write);
  const policy = parsePolicy(values.policy);
  const presets = values.preset ?? [];
  const presetError = checkPresetIds(presets);
  if (presetError) throw new CliError(presetError, 2);
  if (presets.length) tracer.subscribe(() => {}); // the reaction judge reads the trace
  const tls = await serverTls(values);
  const recorder = recording(values, 'wsinspect serve', tracer);
  const base = components[appName];
  const component = presets.length === 0 ? base : {
    ...base,
    onOpen: (conn: Connection, srv: WebSocketServer) => {
      base.onOpen?.(conn, srv);
      void firePresets(conn, presets, tracer, (line) => process.stdout.write(`[${conn.id}] ${line}\n`));
    },
  };
  const server = new WebSocketServer({
    host, port, component, tracer, maxMessageSize, traceBytes: mode === 'jsonl' || recorder !== null, policy,
    ...(values.subprotocol ? { subprotocols: values.subprotocol } : {}),
    ...(values['allow-origin'] ? { allowedOrigins: values['allow-origin'] } : {}),
    ...parseLimits(values),
    handshakeTimeoutMs: parseIntOption('--handshake-timeout', values['handshake-timeout'], Defaults.handshakeTimeoutMs, 1, 3_600_000),
    ...(maxConnections !== undefined ? { maxConnections: parseIntOption('--max-connections', maxConnections, 0, 1, 1_000_000) } : {}),
    ...(tls ? { tls } : {}),
  });
  const watch = watchForStop();
  try {
    const { url } = await server.listen();
    announce(mode, `listening on ${url} (app: ${appName})`, { event: 'listening', url, app: appName });
    if (!isLoopbackHost(host)) {
      process.stderr.write(`warning: bound to ${host}, so other machines can reach this server.\n`);
    }
    if (tls) announceTls(mode, tls, url);
    if (mode === 'pretty') {
      const ca = tls?.certPath ? ` --ca ${tls.certPath}` : '';
      process.stdout.write(`try it: in a browser console run  new WebSocket('${url}')  or  wsinspect connect ${url}${ca} --send hello\n`);
    }
  } catch (error) {
    watch.cancel();
    recorder?.close();
    if (error instanceof ListenError) throw new CliError(error.message, 1);
    throw error;
  }
  await runUntilStopped(watch, () => server.close());
  recorder?.close();
  return 0;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A watch for the signals that stop a long-running command (watchForStop). */
export interface StopWatch {
  /** Resolves on the first stop signal, or when our parent is gone. */
  readonly stopped: Promise<void>;
  /** Removes the signal handlers and the parent watch (a command that failed to start). */
  cancel(): void;
}

/**
 * Runs until `watch` says stop, then `close`; a second signal, or a close that hangs on a peer,
 * does not keep the process alive. The watch is made before the command listens (watchForStop):
 * a signal sent as soon as "listening" is read must find its handler installed, not kill us.
 */
export async function runUntilStopped(watch: StopWatch, close: () => Promise<void>): Promise<void> {
  await watch.stopped;
  const force = () => process.exit(0);
  for (const signal of STOP_SIGNALS) process.once(signal, force);
  setTimeout(force, 3000).unref();
  await close();
}

/** A process's parent, from /proc (Linux); null where there is no /proc or the process is gone. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Watches for Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed), and for the process that
 * started us being gone: `npx wsinspect serve` runs us under npm, and npm killed with SIGKILL cannot
 * pass a signal on; we then find ourselves re-parented (process.ppid changes) and stop too.
 */
export function watchForStop(): StopWatch {
  let done = () => {};
  const stopped = new Promise<void>((resolve) => { done = resolve; });
  const parent = process.ppid;
  // Under npm (npx, npm run) the chain is npm → sh -c → us: npm's death re-parents the shell, not us.
  const underNpm = Boolean(process.env['npm_command'] || process.env['npm_execpath']);
  const grandparent = underNpm ? parentOf(parent) : null;
  const watch = setInterval(() => {
    if (process.ppid !== parent || (grandparent !== null && parentOf(parent) !== grandparent)) stop();
  }, 500);
  const cancel = () => {
    clearInterval(watch);
    for (const signal of STOP_SIGNALS) process.removeListener(signal, stop);
  };
  const stop = () => {
    cancel();
    done();
  };
  for (const signal of STOP_SIGNALS) process.once(signal, stop);
  return { stopped, cancel };
}

/**
 * --fragment sizes for a message of `length` bytes: those that fit, the rest going in one last
 * frame; a message shorter than the sizes ask for ends early, with no empty frames after it.
 */
function fragmentSizes(sizes: readonly number[], length: number): number[] {
  const out: number[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at + size >= length) break;
    out.push(size);
    at += size;
  }
  return out;
}

/** The hidden option --ping=TEXT becomes (parseArgs has no optional values). */
const PING_TEXT = 'ping-payload';

/** `--ping=TEXT` → `--ping-payload TEXT`; a bare `--ping` stays a ping without payload. */
function pingArgs(args: string[]): string[] {
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--ping=')) out.push(`--${PING_TEXT}`, arg.slice('--ping='.length));
    else if (arg === `--${PING_TEXT}` || arg.startsWith(`--${PING_TEXT}=`)) throw new CliError(`unknown option ${arg.split('=')[0]} (use --ping=TEXT)`, 2);
    else out.push(arg);
  }
  return out;
}

type SendStep =
  | { kind: 'text'; text: string; data: Uint8Array }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'hex'; hex: string }
  | { kind: 'ping'; payload: Uint8Array }
  | { kind: 'close'; code: number; reason: string };

/** A file read for --send-file or --send-binary @FILE: a regular file of at most `limit` bytes, or one plain line. */
function readSendFile(option: string, path: string, limit: number): Uint8Array {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new CliError(`${option}: ${path} is not a regular file`, 2);
    size = stat.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 2);
  }
  if (size > limit) throw new CliError(`${option}: ${path} is ${size} bytes, more than the ${limit} a message may have here (raise --max-message)`, 2);
  try {
    const data = readFileSync(path);
    if (data.length > limit) throw new CliError(`${option}: ${path} grew past ${limit} bytes while being read`, 2);
    return data;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${option}: cannot read ${path}: ${(error as Error).message}`, 2);
  }
}

/**
 * What connect sends, in the order given on the command line (--send, --send-file, --send-binary,
 * --send-hex, --ping, --close), each checked before connecting: a bad one is one line and exit 2.
 */
function sendSteps(
  tokens: ReadonlyArray<{ kind: string; name?: string; value?: string | undefined }>,
  values: { reason?: string | undefined },
  limit: number,
): SendStep[] {
  const steps: SendStep[] = [];
  // ignoreBOM: a file's leading EF BB BF is sent as it is, a character of the text (§5.6), not dropped.
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let closes = 0;
  for (const t of tokens) {
    if (t.kind !== 'option' || !t.name) continue;
    const value = t.value ?? '';
    switch (t.name) {
      case 'send':
        steps.push({ kind: 'text', text: value, data: Buffer.from(value, 'utf8') });
        break;
      case 'send-file': {
        const data = readSendFile('--send-file', value, limit);
        let text: string;
        try {
          text = utf8.decode(data);
        } catch {
          throw new CliError(`--send-file: ${value} is not UTF-8 text, which a text message must be (§5.6); send it with --send-binary @${value}`, 2);
        }
        steps.push({ kind: 'text', text, data });
        break;
      }
      case 'send-binary': {
        if (value.startsWith('@')) steps.push({ kind: 'binary', data: readSendFile('--send-binary', value.slice(1), limit) });
        else {
          try {
            steps.push({ kind: 'binary', data: fromHex(value) });
          } catch (error) {
            throw new CliError(`--send-binary: ${(error as Error).message} (or @FILE for a file's bytes)`, 2);
          }
        }
        break;
      }
      case 'send-hex':
        steps.push({ kind: 'hex', hex: value });
        break;
      case 'ping':
      case PING_TEXT: {
        const payload = Buffer.from(t.name === 'ping' ? '' : value, 'utf8');
        if (payload.length > 125) throw new CliError(`--ping: a ping payload is at most 125 bytes (§5.5); "${value.slice(0, 20)}…" is ${payload.length}`, 2);
        steps.push({ kind: 'ping', payload });
        break;
      }
      case 'close': {
        if (++closes > 1) throw new CliError('--close: one Close per connection (§5.5.1)', 2);
        if (!/^\d{1,5}$/.test(value)) throw new CliError(`--close takes a status code, e.g. --close 1000 (got "${value}")`, 2);
        const code = Number(value);
        // §7.4: 1005, 1006, 1015 and codes below 1000 or in 1016-2999 unassigned may not be sent.
        if (!isValidWireCloseCode(code)) throw new CliError(`--close ${code}: this code may not be sent in a Close frame (RFC 6455 §7.4); use 1000-1003, 1007-1014, 3000-4999, or --send-hex to send it anyway`, 2);
        const reason = values.reason ?? '';
        if (Buffer.byteLength(reason, 'utf8') > 123) throw new CliError(`--reason: a close reason is at most 123 bytes of UTF-8 (§5.5); this one is ${Buffer.byteLength(reason, 'utf8')}`, 2);
        steps.push({ kind: 'close', code, reason });
        break;
      }
    }
  }
  if (values.reason !== undefined && closes === 0) throw new CliError('--reason goes with --close CODE', 2);
  return steps;
}

async function connect(args: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: pingArgs(args), allowPositionals: true, strict: true, tokens: true,
    options: {
      echo: { type: 'boolean' }, send: { type: 'string', multiple: true }, trace: { type: 'string' },
      'send-file': { type: 'string', multiple: true }, 'send-binary': { type: 'string', multiple: true },
      ping: { type: 'boolean', multiple: true }, [PING_TEXT]: { type: 'string', multiple: true },
      close: { type: 'string' }, reason: { type: 'string' }, fragment: { type: 'string' },
      'full-payloads': { type: 'boolean' },
      subprotocol: { type: 'string', multiple: true }, header: { type: 'string', multiple: true },
      wait: { type: 'string' }, 'max-message': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      ...limitArgs,
      'send-hex': { type: 'string', multiple: true }, split: { type: 'string' }, delay: { type: 'string' },
      preset: { type: 'string', multiple: true }, policy: { type: 'string' },
      ca: { type: 'string', multiple: true }, insecure: { type: 'boolean' },
      ...recordArgs,
    },
  });
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const url = positionals[0];
  if (!url || positionals.length > 1) throw new CliError('connect needs exactly one URL, e.g. wsinspect connect ws://127.0.0.1:9001/', 2);
  const mode = parseTraceMode(values.trace);
  const waitMs = parseIntOption('--wait', values.wait, 2000, 0, 3_600_000);
  const maxMessageSize = parseIntOption('--max-message', values['max-message'], Defaults.maxMessageSize, 1, 2 ** 31);
  const limits = {
    ...parseLimits(values),
    connectTimeoutMs: parseIntOption('--handshake-timeout', values['handshake-timeout'], Defaults.handshakeTimeoutMs, 1, 3_600_000),
  };
  // A header naming a generated one (Sec-WebSocket-Key, Host, ...) replaces it (handshake.ts).
  const headers = (values.header ?? []).map((h) => {
    try {
      return parseHeaderLine(h);
    } catch (error) {
      throw new CliError(`--header: ${(error as Error).message}`, 2);
    }
  });
  checkSubprotocols(values.subprotocol);
  const policy = parsePolicy(values.policy);
  const presets = values.preset ?? [];
  const presetError = checkPresetIds(presets);
  if (presetError) throw new CliError(presetError, 2);
  const hexSends = values['send-hex'] ?? [];
  let split: number[];
  try {
    split = parseSizes(values.split);
    for (const hex of hexSends) fromHex(hex);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  const delayMs = parseIntOption('--delay', values.delay, 0, 0, 60_000);
  let fragment: number[];
  try {
    fragment = parseSizes(values.fragment);
  } catch {
    throw new CliError(`--fragment takes frame payload sizes like "3,2" (the rest goes in one last frame; got "${values.fragment}")`, 2);
  }
  const tls = clientTls(url, values.ca, values.insecure);
  const steps = sendSteps(tokens ?? [], values, maxMessageSize);
  const messageCount = steps.filter((st) => st.kind === 'text' || st.kind === 'binary').length;
  const tracer = new Tracer();
  const write = traceWriter(mode, values['full-payloads']);
  if (write) tracer.subscribe(write);
  if (presets.length) tracer.subscribe(() => {}); // the reaction judge reads the trace
  const recorder = recording(values, 'wsinspect connect', tracer);
  let received = 0;
  let replyWaiter: (() => void) | null = null;
  /** The peer's violation that made us fail the connection (not one the observe policy let pass). */
  let failure: ProtocolViolation | null = null;
  let client;
  try {
    client = connectClient(url, {
      onMessage(conn: Connection, message) {
        received++;
        if (values.echo && conn.state === 'OPEN') {
          if (message.text !== undefined) conn.sendText(message.text);
          else conn.sendBinary(message.data);
        }
        if (mode === 'none') {
          process.stdout.write((message.text ?? Buffer.from(message.data).toString('hex')) + '\n');
        }
        if (!values.echo && received >= messageCount) replyWaiter?.();
      },
      onViolation(conn: Connection, violation) {
        if (conn.state !== 'OPEN') failure = violation;
      },
    }, {
      tracer, maxMessageSize, traceBytes: mode === 'jsonl' || recorder !== null, policy,
      ...(values.subprotocol ? { subprotocols: values.subprotocol } : {}),
      ...(headers.length ? { headers } : {}),
      ...(tls ? { tls } : {}),
      ...limits,
    });
  } catch (error) {
    if (error instanceof UrlError || error instanceof HandshakeOptionError) throw new CliError(error.message, 2);
    throw error;
  }
  const conn = client.connection;
  try {
    await client.opened;
  } catch (error) {
    if (error instanceof ConnectError) throw new CliError(error.message, 1);
    throw error;
  }
  // The server's first frames may arrive with its 101 and break a rule: then the connection is
  // already failing (§7.1.7) and nothing more may be sent; the reason is reported below.
  let unsent = 0;
  for (const step of steps) {
    if (step.kind === 'hex') {
      await sendHex(conn, step.hex, split, delayMs);
      continue;
    }
    if (conn.state !== 'OPEN') {
      unsent++;
      continue;
    }
    if (step.kind === 'ping') conn.ping(step.payload);
    else if (step.kind === 'close') conn.close(step.code, step.reason);
    else if (step.kind === 'text' || step.kind === 'binary') {
      const opcode = step.kind === 'text' ? 1 : 2;
      const sizes = fragmentSizes(fragment, step.data.length);
      if (sizes.length) conn.sendFragmented(opcode, step.data, sizes);
      else if (step.kind === 'text') conn.sendText(step.text);
      else conn.sendBinary(step.data);
    }
    if (step.kind === 'text' || step.kind === 'binary') await conn.drained();
  }
  let presetsAsExpected = true;
  if (presets.length) {
    presetsAsExpected = await firePresets(conn, presets, tracer, (line) => process.stdout.write(line + '\n'));
  }
  const stop = () => {
    if (conn.state === 'OPEN') conn.close(1000, 'wsinspect done');
    else conn.destroy();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (!values.echo) {
    // --wait MS given: listen that long (or until the connection closes). Otherwise wait for one
    // reply per message sent, at most the default wait; with no message sent, the whole wait.
    // Then close politely.
    const waitGiven = values.wait !== undefined;
    if (waitGiven || messageCount === 0 || received < messageCount) {
      await new Promise<void>((resolve) => {
        if (!waitGiven && messageCount > 0) replyWaiter = resolve;
        setTimeout(resolve, waitMs).unref();
        conn.closed().then(() => resolve());
      });
    }
    if (conn.state === 'OPEN') conn.close(1000, 'wsinspect done');
  }
  const info = await conn.closed();
  recorder?.close();
  if (failure) {
    const v: ProtocolViolation = failure;
    const skipped = unsent ? ` (${unsent} message${unsent === 1 ? '' : 's'} not sent)` : '';
    // 1009 and 1008 come from this client's own limits (§7.4.1, §10.4), not from a rule of the RFC.
    const what = v.closeCode === 1009 || v.closeCode === 1008 ? 'went past a limit of this client' : 'broke a rule';
    process.stderr.write(`wsinspect: the server ${what}: ${v.message.replace(/\.$/, '')} (${v.rfcSection.startsWith('RFC ') ? '' : 'RFC 6455 '}${v.rfcSection}, ${v.code}); we closed with ${v.closeCode}${skipped}\n`);
    if (!presets.length && !hexSends.length) return 1;
  }
  if (unsent && !failure) {
    process.stderr.write(`wsinspect: ${unsent} message${unsent === 1 ? '' : 's'} not sent: the connection was already ${conn.state === 'CLOSED' ? 'closed' : 'closing'} (no data frame may follow a Close, §5.5.1)\n`);
  }
  if (!presetsAsExpected) {
    process.stderr.write('the peer did not react as RFC 6455 requires to every preset (see above)\n');
    return 1;
  }
  if (presets.length || hexSends.length) return 0; // the peer closing on purpose is the point
  if (!info.wasClean && info.code !== 1000) {
    process.stderr.write(`connection closed abnormally (${info.code}${info.reason ? ` ${info.reason}` : ''})\n`);
    return 1;
  }
  return 0;
}

/** --record FILE: the recorder on this tracer, or null; a bad option is one line and exit 2. */
function recording(values: { record?: string | undefined; 'record-cap'?: string | undefined }, createdBy: string, tracer: Tracer) {
  try {
    const recorder = startRecording(values, createdBy, [tracer]);
    // Whatever way the command ends, what was recorded is on disk (close is synchronous and idempotent).
    if (recorder) process.once('exit', () => recorder.close());
    return recorder;
  } catch (error) {
    if (error instanceof RecordOptionError) throw new CliError(error.message, 2);
    throw error;
  }
}

/**
 * serve --tls [--cert FILE --key FILE]: the given certificate and key (read and checked: a bad
 * file is one line and exit 2), or the generated one from the config directory.
 */
export async function serverTls(values: { tls?: boolean | undefined; cert?: string | undefined; key?: string | undefined }): Promise<(ServerCredentials & { certPath?: string }) | null> {
  const { cert, key } = values;
  if ((cert === undefined) !== (key === undefined)) throw new CliError(`${cert === undefined ? '--key' : '--cert'} needs ${cert === undefined ? '--cert FILE' : '--key FILE'} too: the certificate and its private key.`, 2);
  if (cert !== undefined && key !== undefined) {
    try {
      return { ...loadServerCredentials(cert, key), certPath: cert };
    } catch (error) {
      if (error instanceof TlsConfigError) throw new CliError(error.message, 2);
      throw error;
    }
  }
  if (!values.tls) return null;
  try {
    const { localCertificate } = await import('../core/net/certificates.ts');
    const local = await localCertificate();
    if (local.generated) process.stderr.write(`generated a self-signed certificate for localhost, 127.0.0.1 and ::1 (${local.generated}): ${local.certPath}, key ${local.keyPath} (mode 0600)\n`);
    return local;
  } catch (error) {
    if (error instanceof TlsConfigError) throw new CliError(error.message, 1);
    throw error;
  }
}

/** How to trust the server's certificate, printed once it listens (pretty), or one JSON line (jsonl). */
export function announceTls(mode: TraceMode, tls: ServerCredentials & { certPath?: string }, url: string): void {
  const cert = tls.certificate;
  const https = url.replace(/^wss:/, 'https:');
  if (mode === 'jsonl') {
    process.stdout.write(JSON.stringify({ type: 'cli', event: 'tls', certificate: cert, ...(tls.certPath ? { certPath: tls.certPath } : {}) }) + '\n');
    return;
  }
  if (mode === 'none') return;
  process.stdout.write([
    `TLS certificate: ${cert.subject}${cert.selfSigned ? ' (self-signed)' : ''}, for ${cert.subjectAltNames.join(', ')}, valid until ${cert.validTo.slice(0, 10)}`,
    `  SHA-256 fingerprint ${cert.sha256}`,
    ...(tls.certPath ? [`  file ${tls.certPath}`] : []),
    `  trust it: Chromium: open ${https} once and accept, or start it with --ignore-certificate-errors-spki-list=${cert.spkiSha256}`,
    `            Firefox: add an exception for ${https}; wsinspect: connect ${url}${tls.certPath ? ` --ca ${tls.certPath}` : ' --ca CERT'}`,
  ].join('\n') + '\n');
}

/** connect --ca FILE... --insecure: for wss:// only; each CA file read and parsed (a bad one is one line and exit 2). */
export function clientTls(url: string, ca: string[] | undefined, insecure: boolean | undefined): { ca?: string[]; insecure?: boolean } | null {
  if (!ca?.length && !insecure) return null;
  if (!/^\s*(wss|https):/i.test(url)) throw new CliError(`${ca?.length ? '--ca' : '--insecure'} is for wss:// URLs; ${JSON.stringify(url.slice(0, 100))} is not one.`, 2);
  try {
    return { ...(ca?.length ? { ca: loadCaCertificates(ca) } : {}), ...(insecure ? { insecure: true } : {}) };
  } catch (error) {
    if (error instanceof TlsConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'connect':
        return await connect(rest);
      case 'proxy':
        return await (await import('./proxy.ts')).proxy(rest);
      case 'ca':
        return await (await import('./ca.ts')).ca(rest);
      case 'open':
        return await withOpenErrors(async () => (await import('./open.ts')).open(rest));
      case 'export':
        return await withOpenErrors(async () => (await import('./export.ts')).exportCommand(rest));
      case 'presets':
        process.stdout.write(presetCatalogue() + '\n');
        return 0;
      case 'conformance':
        return await (await import('./conformance.ts')).conformance(rest);
      case 'fuzzingserver':
        return await (await import('./fuzzing.ts')).fuzzingserver(rest);
      case 'fuzzingclient':
        return await (await import('./fuzzing.ts')).fuzzingclient(rest);
      case 'learn':
        return await (await import('./learn.ts')).learn(rest);
      case 'examples': {
        if (rest.length > 1) throw new CliError('examples takes at most one ID (list them with: wsinspect examples)', 2);
        const text = rest[0] === undefined ? examplesGallery() : exampleDetail(rest[0]);
        if (text === null) throw new CliError(`no RFC example "${rest[0]}" (list them with: wsinspect examples)`, 2);
        process.stdout.write(text + '\n');
        return 0;
      }
      case 'why': {
        if (rest.length > 1) throw new CliError('why takes at most one ID (list them with: wsinspect why)', 2);
        const { whyDetail, whysList } = await import('./why.ts');
        const text = rest[0] === undefined ? whysList() : whyDetail(rest[0]);
        if (text === null) throw new CliError(`no why "${rest[0]}" (list them with: wsinspect why)`, 2);
        process.stdout.write(text + '\n');
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(usage + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command "${command}" (try: wsinspect serve, wsinspect connect <url>, wsinspect --help)`, 2);
    }
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`wsinspect: ${error.message}\n`);
      return error.exitCode;
    }
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`wsinspect: ${(error as Error).message} (see wsinspect --help)\n`);
      return 2;
    }
    process.stderr.write(`wsinspect: unexpected error: ${describeUnexpected(error)}\n`);
    return 1;
  }
}

/** open and export report problems as OpenError: one line, with its exit code. */
async function withOpenErrors(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const { OpenError } = await import('./open.ts');
    if (error instanceof OpenError) throw new CliError(error.message, error.exitCode);
    throw error;
  }
}

/** One line, never a stack trace, unless WSINSPECT_DEBUG is set. */
function describeUnexpected(error: unknown): string {
  if (process.env['WSINSPECT_DEBUG']) return error instanceof Error ? error.stack ?? error.message : String(error);
  const message = error instanceof Error ? error.message : String(error);
  return `${message.split('\n')[0]} (set WSINSPECT_DEBUG=1 to see where)`;
}

/**
 * For the wsinspect process only (bin/wsinspect.mjs), not for code that imports main():
 * - stdout closed by the reader (`wsinspect conformance list | head -3`): EPIPE is not an error,
 *   the reader has all it wanted, so leave quietly with 0;
 * - the last resort: anything thrown where no one catches it is one plain line and exit 1.
 */
export function installProcessGuards(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    process.stderr.write(`wsinspect: cannot write the output: ${error.message}\n`);
    process.exit(1);
  });
  const lastResort = (error: unknown) => {
    process.stderr.write(`wsinspect: internal error: ${describeUnexpected(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', lastResort);
  process.on('unhandledRejection', lastResort);
}
