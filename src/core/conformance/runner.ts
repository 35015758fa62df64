/**
 * Runs the battery over real TCP (node:net), in both directions:
 *
 * - runServerBattery(url): we are the client. Per case: connect, send our own opening handshake
 *   (buildClientRequest), check the answer (checkServerResponse), then run the case with masked
 *   frames and judge what the server sends back.
 * - runClientBattery(launch): we are the server. Per case: listen on 127.0.0.1:0, launch the
 *   client (a shell command with {url}, or an in-process function), answer its handshake
 *   (answerClientHandshake), run the case with unmasked frames, then kill the client.
 *
 * Everything is bounded: connect, handshake, every expected answer and the whole case have
 * timeouts, cases run in a small pool, and every socket and process is closed after its case.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { ALPN_PROTOCOLS, sniFor } from '../net/tls-info.ts';
import { HandshakeError } from '../errors.ts';
import type { Extension } from '../extensions/extension.ts';
import { formatExtensionHeader } from '../extensions/extension-header.ts';
import { clientDeflateNegotiator } from '../extensions/permessage-deflate.ts';
import type { Frame } from '../frame-codec.ts';
import { answerClientHandshake, buildClientRequest, checkServerResponse } from '../handshake.ts';
import { formatResponseHead, HttpHeadParser, statusReasons, type HttpHead, type HttpHeader } from '../http.ts';
import { parseWebSocketUrl } from '../net/client.ts';
import { selectCases, type ConformanceCase, type PeerKind } from './cases.ts';
import { caseServerNegotiator } from './deflate.ts';
import { autobahnBehavior, executeCase, type Verdict, type Wire } from './execute.ts';
import { PeerObserver, type PeerEvent } from './observer.ts';
import { buildReport, type CaseResult, type ConformanceReport } from './report.ts';
import { headerOfEncoded, WireLog } from './wire-log.ts';

/** An in-process client under test: connect to url and echo; may return a cleanup function. */
export type ClientFactory = (url: string) => void | (() => void) | Promise<void | (() => void)>;

export interface BatteryOptions {
  /** Case id prefixes ("5.", "6.8"); all cases when empty. */
  cases?: readonly string[];
  /** Called as each case finishes (in completion order). */
  onCase?: (result: CaseResult, done: number, total: number) => void;
  /** Cases run at the same time (default 4). */
  concurrency?: number;
  /** Wait for each expected answer (default 3000 ms). */
  stepTimeoutMs?: number;
  /** Wait for TCP to close after the closing handshake (default 2000 ms). */
  closeTimeoutMs?: number;
  /** Wait for the TCP connection (server battery) or for the launched client to connect (default 5000 ms, 15000 ms for a command). */
  connectTimeoutMs?: number;
  /** Multiplies every wait (case limit, step and close timeouts, fail-fast waits) for slow peers or machines. Default 1. */
  timeScale?: number;
  /** Keep a wire log per case (default true) and how many bytes of it per case (default 256 KiB). */
  wireLog?: boolean;
  wireLogMaxBytes?: number;
  /** Run exactly these cases in this order (Autobahn's selection), instead of selecting by `cases`. */
  selected?: readonly ConformanceCase[];
  /** Server under test: subprotocols we offer. Client under test: subprotocols we speak (the first the client offers is chosen). */
  subprotocols?: readonly string[];
  /** Extra handshake headers: in our request (server under test) or in our 101 response (client under test). */
  headers?: readonly HttpHeader[];
}

const defaults = { concurrency: 4, stepTimeoutMs: 3000, closeTimeoutMs: 2000 };

// ------------------------------------------------------------------------------------ socket wire

/** Wire over a node:net socket: reads the HTTP head first, then frames through the observer. */
export class SocketWire implements Wire {
  private queue: PeerEvent[] = [];
  private waiter: ((event: PeerEvent | null) => void) | null = null;
  private headParser: HttpHeadParser | null;
  private headResult: { head?: HttpHead; error?: Error } | null = null;
  private headWaiter: (() => void) | null = null;
  private readonly observer: PeerObserver;
  private gone = false;
  private readonly pendingWrites = new Set<() => void>();

  constructor(readonly socket: Socket, readonly log: WireLog, peerRole: PeerKind, headKind: 'request' | 'response') {
    this.headParser = new HttpHeadParser({ kind: headKind, maxSize: 16 * 1024 });
    this.observer = new PeerObserver(peerRole, (frame: Frame) => log.frame('in', frame.header, frame.payload, frame.raw));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    socket.on('end', () => this.onEof('the peer closed TCP (FIN)'));
    socket.on('error', (error: NodeJS.ErrnoException) => log.error(`socket error: ${error.code ?? ''} ${error.message}`.trim()));
    socket.on('close', (hadError: boolean) => {
      this.gone = true;
      for (const resolve of this.pendingWrites) resolve();
      this.pendingWrites.clear();
      this.onEof(hadError ? 'the connection was reset' : 'the connection closed');
    });
  }

  private onData(chunk: Uint8Array): void {
    this.log.bytes('in', chunk);
    if (this.headParser) {
      let rest: Uint8Array;
      try {
        const result = this.headParser.feed(chunk);
        if (!result.done) return;
        this.headParser = null;
        this.headResult = { head: result.head };
        rest = result.rest;
      } catch (error) {
        this.headParser = null;
        this.headResult = { error: error instanceof Error ? error : new Error(String(error)) };
        rest = new Uint8Array(0);
      }
      this.headWaiter?.();
      if (rest.length > 0) this.deliver(this.observer.feed(rest));
      return;
    }
    this.deliver(this.observer.feed(chunk));
  }

  private onEof(detail: string): void {
    if (this.headParser) {
      this.headParser = null;
      this.headResult = { error: new Error(`the peer closed the connection before its HTTP head was complete (${detail})`) };
      this.headWaiter?.();
    }
    this.deliver(this.observer.eof(detail));
  }

  private deliver(events: PeerEvent[]): void {
    for (const event of events) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(event);
      } else {
        this.queue.push(event);
      }
    }
  }

  /** The peer's HTTP head (request or response), within timeoutMs. */
  readHead(timeoutMs: number): Promise<HttpHead> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.headWaiter = null;
        const r = this.headResult!;
        if (r.head) resolve(r.head);
        else reject(r.error ?? new Error('no HTTP head'));
      };
      const timer = setTimeout(() => {
        this.headWaiter = null;
        reject(new Error(`no complete HTTP head from the peer within ${timeoutMs} ms`));
      }, timeoutMs);
      if (this.headResult) settle();
      else this.headWaiter = settle;
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.gone || this.socket.destroyed || this.socket.writableEnded) {
      this.log.note(`${bytes.length} bytes not sent: the connection is closed`);
      return Promise.resolve();
    }
    this.log.bytes('out', bytes);
    return new Promise<void>((resolve) => {
      const done = () => {
        this.pendingWrites.delete(done);
        resolve();
      };
      this.pendingWrites.add(done);
      this.socket.write(bytes, () => done());
    });
  }

  next(timeoutMs: number): Promise<PeerEvent | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, Math.max(0, timeoutMs));
      this.waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  }

  end(): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) {
      this.log.note('closing our side of TCP (FIN)');
      this.socket.end();
    }
  }

  note(text: string): void {
    this.log.note(text);
  }

  frameOut(bytes: Uint8Array, payload: Uint8Array): void {
    const header = headerOfEncoded(bytes);
    this.log.frame('out', header, payload, bytes);
  }

  /** The extension the handshake agreed: the peer's compressed messages are inflated with it. */
  useExtension(extension: Extension | null): void {
    this.observer.useExtension(extension);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ------------------------------------------------------------------------------------ helpers

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async () => {
    for (;;) {
      const i = nextIndex++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

export function resultOf(c: ConformanceCase, verdict: Verdict, started: number, log: WireLog): CaseResult {
  log.note(`verdict: ${verdict.outcome}${verdict.reason ? ` (${verdict.reason})` : ''}`);
  return {
    id: c.id, category: c.category, categoryName: c.categoryName, description: c.description, rfcSection: c.rfcSection,
    expectation: c.expectation, outcome: verdict.outcome, reason: verdict.reason, ...autobahnBehavior(verdict),
    durationMs: Math.round((performance.now() - started) * 10) / 10, wire: log.events,
  };
}

export interface Limits {
  stepTimeoutMs: number;
  closeTimeoutMs: number;
  connectTimeoutMs: number;
  timeScale: number;
  wireLog: boolean;
  wireLogMaxBytes: number;
  subprotocols: readonly string[];
  headers: readonly HttpHeader[];
}

export function limitsOf(options: BatteryOptions, connectDefault: number): Limits {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error('timeScale must be a positive number');
  return {
    stepTimeoutMs: (options.stepTimeoutMs ?? defaults.stepTimeoutMs) * timeScale,
    closeTimeoutMs: (options.closeTimeoutMs ?? defaults.closeTimeoutMs) * timeScale,
    connectTimeoutMs: options.connectTimeoutMs ?? connectDefault * timeScale,
    timeScale,
    wireLog: options.wireLog ?? true,
    wireLogMaxBytes: options.wireLogMaxBytes ?? 256 * 1024,
    subprotocols: options.subprotocols ?? [],
    headers: options.headers ?? [],
  };
}

/** Runs fn with a hard limit: past it, the case fails and its resources are released. */
export async function bounded(ms: number, fn: () => Promise<Verdict>, onExpire: () => void): Promise<Verdict> {
  try {
    return await withTimeout(fn(), ms, 'the case');
  } catch (error) {
    onExpire();
    return { outcome: 'fail', reason: error instanceof Error ? error.message : String(error) };
  }
}

// ------------------------------------------------------------------------------------ server under test

async function runServerCase(c: ConformanceCase, url: string, limits: Limits): Promise<CaseResult> {
  const target = parseWebSocketUrl(url);
  const log = new WireLog({ connectionId: `conformance:${c.id}`, enabled: limits.wireLog, maxBytes: limits.wireLogMaxBytes });
  const started = performance.now();
  const caseMs = c.timeoutMs * limits.timeScale;
  const deadline = Date.now() + caseMs;
  log.note(`case ${c.id}: ${c.description} (${c.rfcSection})`);
  // wss:// (RFC 6455 §3, §10.6): the cases run inside TLS. The battery tests the WebSocket layer,
  // so the server's certificate is not judged here (wsinspect connect and the app's client do).
  const servername = sniFor(target.host);
  const socket = target.secure
    // allowHalfOpen is honoured by tls.connect (node passes it to the TLSSocket) though its type omits it.
    ? tlsConnect({ host: target.host, port: target.port, allowHalfOpen: true, ALPNProtocols: ALPN_PROTOCOLS, rejectUnauthorized: false, ...(servername ? { servername } : {}) } as ConnectionOptions & { allowHalfOpen: boolean })
    : netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
  if (target.secure) log.note('over TLS (wss://); the server\'s certificate is not verified by the battery');
  const wire = new SocketWire(socket, log, 'server', 'response');
  const agreed: { extension: Extension | null } = { extension: null };
  const verdict = await bounded(caseMs + 1000, async () => {
    try {
      await withTimeout(new Promise<void>((resolve, reject) => {
        socket.once(target.secure ? 'secureConnect' : 'connect', () => resolve());
        socket.once('error', reject);
      }), limits.connectTimeoutMs, `connecting to ${target.host}:${target.port}`);
    } catch (error) {
      return { outcome: 'fail', reason: `cannot connect: ${(error as Error).message}` };
    }
    log.opened('client', `${socket.localAddress}:${socket.localPort}`, `${socket.remoteAddress}:${socket.remotePort}`, target.url);
    // Compressed cases offer permessage-deflate as the case says (RFC 7692 §5); the others offer nothing.
    const negotiator = c.deflate ? clientDeflateNegotiator(c.deflate.offers) : null;
    const offered = negotiator ? formatExtensionHeader(negotiator.offers()) : null;
    const request = buildClientRequest({
      host: target.hostHeader, path: target.path, ...(offered ? { extensions: offered } : {}),
      ...(limits.subprotocols.length ? { subprotocols: limits.subprotocols } : {}), ...(limits.headers.length ? { headers: limits.headers } : {}),
    });
    const parsedRequest = new HttpHeadParser({ kind: 'request', maxSize: request.bytes.length + 1 }).feed(request.bytes);
    if (parsedRequest.done) log.head('out', parsedRequest.head);
    await wire.write(request.bytes);
    let head: HttpHead;
    try {
      head = await wire.readHead(Math.min(limits.stepTimeoutMs * 2, Math.max(1, deadline - Date.now())));
    } catch (error) {
      return { outcome: 'fail', reason: `opening handshake: ${(error as Error).message}` };
    }
    log.head('in', head);
    const check = checkServerResponse(head, request.key, request.subprotocols, { offered, negotiators: negotiator ? [negotiator] : [] });
    log.handshake('client', !check.error, head.status, check.checks, check.accept,
      check.error ? { code: check.error.code, status: check.error.status, message: check.error.message, rfcSection: check.error.rfcSection } : undefined);
    if (check.error) return { outcome: 'fail', reason: `opening handshake refused or invalid: ${check.error.message} (${check.error.rfcSection})` };
    const extension = check.extensions?.ok ? check.extensions.create?.() ?? null : null;
    agreed.extension = extension;
    wire.useExtension(extension);
    if (c.deflate) log.note(extension ? `permessage-deflate agreed: ${check.extensions?.trace.response}` : `offered ${offered}; the server answered without Sec-WebSocket-Extensions`);
    return executeCase(c, wire, {
      role: 'client', stepTimeoutMs: limits.stepTimeoutMs, closeTimeoutMs: limits.closeTimeoutMs, deadline, timeScale: limits.timeScale, extension,
      ...(c.deflate && !extension ? { unimplemented: 'the server declined every permessage-deflate offer (it answered without Sec-WebSocket-Extensions)' } : {}),
    });
  }, () => wire.destroy());
  wire.destroy();
  agreed.extension?.close();
  return resultOf(c, verdict, started, log);
}

/**
 * Runs the battery against a server that echoes every message (text as text, binary as binary).
 * Throws UrlError for a URL that is not ws:// or wss://.
 */
export async function runServerBattery(url: string, options: BatteryOptions = {}): Promise<ConformanceReport> {
  const target = parseWebSocketUrl(url);
  const cases = options.selected ?? selectCases('server', options.cases);
  const limits = limitsOf(options, 5000);
  const startedAt = new Date();
  const t0 = performance.now();
  let done = 0;
  const results = await runPool(cases, options.concurrency ?? defaults.concurrency, async (c) => {
    const result = await runServerCase(c, target.url, limits);
    options.onCase?.(result, ++done, cases.length);
    return result;
  });
  return buildReport('server', target.url, startedAt, performance.now() - t0, results);
}

// ------------------------------------------------------------------------------------ client under test

interface Launched {
  /** Stops the client (kills the process group) and waits for it, bounded. */
  dispose(): Promise<void>;
  /** Why it may not have connected (exit status and the end of its output). */
  describe(): string;
  /** Resolves when a launched process has ended (never for an in-process client). */
  exited: Promise<void>;
}

/** Process groups of launched clients still running: killed if this process exits first. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function launchCommand(template: string, url: string): Launched {
  const command = template.split('{url}').join(url);
  // detached: the client gets its own process group, so the shell and everything it started can be killed together.
  const child: ChildProcess = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  if (child.pid !== undefined) {
    liveGroups.add(child.pid);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const pid of liveGroups) killGroup(pid);
      });
    }
  }
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitInfo: string | null = null;
  let spawnError: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error.message;
      resolve();
    });
  });
  return {
    async dispose() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        // The whole group: the shell and the client it started.
        killGroup(child.pid);
        liveGroups.delete(child.pid);
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
    exited,
    describe() {
      const status = spawnError ? `could not start: ${spawnError}` : exitInfo ? `the client ${exitInfo}` : 'the client is still running';
      const tail = output.trim().split('\n').slice(-3).join(' | ');
      return `${status}${tail ? `; its last output: ${tail}` : ''}`;
    },
  };
}

async function launchFactory(factory: ClientFactory, url: string): Promise<Launched> {
  let cleanup: void | (() => void);
  let error: string | null = null;
  try {
    cleanup = await factory(url);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  return {
    async dispose() {
      try {
        if (typeof cleanup === 'function') cleanup();
      } catch {
        // the client's own cleanup failing does not change the verdict
      }
    },
    describe() {
      return error ? `the client factory threw: ${error}` : 'the in-process client did not connect';
    },
    exited: error ? Promise.resolve() : new Promise<void>(() => {}),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/**
 * Runs one case as the server, over a connection the client under test opened: reads its opening
 * handshake (or takes the one already read), answers it as the case says (permessage-deflate for
 * the compressed cases, the subprotocol and extra headers the limits give) and runs the case.
 * held.extension: the agreed extension, for the caller to close.
 */
export async function serveCase(c: ConformanceCase, w: SocketWire, log: WireLog, limits: Limits, held: { extension: Extension | null }): Promise<Verdict> {
  const deadline = Date.now() + c.timeoutMs * limits.timeScale;
  let head: HttpHead;
  try {
    head = await w.readHead(Math.min(limits.stepTimeoutMs * 2, Math.max(1, deadline - Date.now())));
  } catch (error) {
    if (error instanceof HandshakeError) return { outcome: 'fail', reason: `the client's handshake is not valid HTTP: ${error.message}` };
    return { outcome: 'fail', reason: `opening handshake: ${(error as Error).message}` };
  }
  log.head('in', head);
  // Compressed cases answer a permessage-deflate offer as the case says; the others accept none.
  const answer = answerClientHandshake(head, {
    ...(c.deflate ? { extensions: [caseServerNegotiator(c.deflate.answers)] } : {}),
    ...(limits.subprotocols.length ? { subprotocols: limits.subprotocols } : {}),
  });
  if (!answer.error && limits.headers.length) answer.response = formatResponseHead(101, statusReasons[101]!, [...answer.responseHeaders, ...limits.headers]);
  log.handshake('server', !answer.error, answer.status, answer.checks, answer.accept ?? null,
    answer.error ? { code: answer.error.code, status: answer.error.status, message: answer.error.message, rfcSection: answer.error.rfcSection } : undefined);
  const responseHead = new HttpHeadParser({ kind: 'response', maxSize: answer.response.length + 1 }).feed(answer.response);
  if (responseHead.done) log.head('out', responseHead.head);
  if (answer.error) {
    await w.write(answer.response);
    return { outcome: 'fail', reason: `the client's opening handshake is invalid: ${answer.error.message} (${answer.error.rfcSection})` };
  }
  const steps = c.steps();
  const first = steps[0];
  const coalesce = first?.kind === 'send' && first.withHandshake === true;
  held.extension = answer.extensions.create?.() ?? null;
  w.useExtension(held.extension);
  let unimplemented: string | undefined;
  if (c.deflate) {
    const offers = answer.extensions.trace.offers.filter((o) => o.name.toLowerCase() === 'permessage-deflate');
    if (held.extension) log.note(`permessage-deflate agreed: ${answer.extensions.responseHeader}`);
    else unimplemented = offers.length === 0 ? 'the client offered no permessage-deflate' : `the client's permessage-deflate offers do not fit this case's answer (${offers.map((o) => o.reason).join('; ')})`;
    if (unimplemented) log.note(`${unimplemented}; answering without Sec-WebSocket-Extensions`);
  }
  if (!coalesce) await w.write(answer.response);
  return executeCase(c, w, {
    role: 'server', stepTimeoutMs: limits.stepTimeoutMs, closeTimeoutMs: limits.closeTimeoutMs, deadline, steps, timeScale: limits.timeScale,
    extension: held.extension, ...(unimplemented ? { unimplemented } : {}),
    ...(coalesce ? { handshakePrefix: answer.response } : {}),
  });
}

async function runClientCase(c: ConformanceCase, launch: string | ClientFactory, limits: Limits): Promise<CaseResult> {
  const log = new WireLog({ connectionId: `conformance:${c.id}`, enabled: limits.wireLog, maxBytes: limits.wireLogMaxBytes });
  const started = performance.now();
  const caseMs = c.timeoutMs * limits.timeScale + limits.connectTimeoutMs;
  log.note(`case ${c.id}: ${c.description} (${c.rfcSection})`);
  const server = createServer({ allowHalfOpen: true });
  const state: { wire: SocketWire | null; launched: Launched | null; ready: ((w: SocketWire) => void) | null; extension: Extension | null } = { wire: null, launched: null, ready: null, extension: null };
  const connected = new Promise<SocketWire>((resolve) => (state.ready = resolve));
  server.on('connection', (socket: Socket) => {
    if (state.wire) {
      socket.destroy(); // one connection per case
      return;
    }
    state.wire = new SocketWire(socket, log, 'client', 'request');
    log.opened('server', `${socket.localAddress}:${socket.localPort}`, `${socket.remoteAddress}:${socket.remotePort}`);
    state.ready?.(state.wire);
  });
  server.on('error', (error) => log.error(`listener error: ${error.message}`));
  const verdict = await bounded(caseMs + 2000, async () => {
    let port: number;
    try {
      port = await listen(server);
    } catch (error) {
      return { outcome: 'fail', reason: `cannot listen on 127.0.0.1: ${(error as Error).message}` };
    }
    const url = `ws://127.0.0.1:${port}/`;
    log.note(`listening on ${url}; launching the client`);
    const launched = typeof launch === 'string' ? launchCommand(launch, url) : await launchFactory(launch, url);
    state.launched = launched;
    // A client that ends without connecting fails at once (after a moment for a connection already on its way).
    const gaveUp = launched.exited.then(() => new Promise<null>((resolve) => setTimeout(() => resolve(null), 200)));
    let w: SocketWire | null;
    try {
      w = await withTimeout(Promise.race([connected, gaveUp]), limits.connectTimeoutMs, 'waiting for the client to connect');
    } catch {
      return { outcome: 'fail', reason: `the client did not connect within ${limits.connectTimeoutMs} ms (${launched.describe()})` };
    }
    if (!w) return { outcome: 'fail', reason: `the client did not connect (${launched.describe()})` };
    server.close(); // no further connections; this one stays open
    return serveCase(c, w, log, limits, state);
  }, () => state.wire?.destroy());
  state.wire?.destroy();
  state.extension?.close();
  server.close();
  await state.launched?.dispose();
  return resultOf(c, verdict, started, log);
}

/**
 * Runs the battery against a client that echoes every message. launch is a shell command in
 * which {url} is replaced by ws://127.0.0.1:PORT/ (one process per case, killed after it), or a
 * function that connects an in-process client to the url.
 */
export async function runClientBattery(launch: string | ClientFactory, options: BatteryOptions = {}): Promise<ConformanceReport> {
  if (typeof launch === 'string' && !launch.includes('{url}')) throw new Error('the launch command must contain {url}, e.g. "node client.js {url}"');
  const cases = options.selected ?? selectCases('client', options.cases);
  const limits = limitsOf(options, typeof launch === 'string' ? 15_000 : 5000);
  const startedAt = new Date();
  const t0 = performance.now();
  let done = 0;
  const results = await runPool(cases, options.concurrency ?? defaults.concurrency, async (c) => {
    const result = await runClientCase(c, launch, limits);
    options.onCase?.(result, ++done, cases.length);
    return result;
  });
  return buildReport('client', typeof launch === 'string' ? launch : 'in-process client', startedAt, performance.now() - t0, results);
}
