/**
 * A drop-in for Autobahn TestSuite's fuzzingserver: the battery served to WebSocket clients that
 * drive it themselves, the way library harnesses do. Every endpoint is a WebSocket URL:
 *
 *   /getCaseCount                      a text message with the number of selected cases, then Close
 *   /runCase?case=N&agent=NAME         runs case N (1-based, in the spec's order); the client echoes
 *   /getCaseInfo?case=N                {"id": "1.1.1", "description": "..."}, then Close
 *   /getCaseStatus?case=N&agent=NAME   {"behavior": "OK"} once the case has a verdict, then Close
 *   /updateReports?agent=NAME          writes index.json, index.html (and the per-case reports are
 *                                      written as cases end), then Close; &shutdownOnComplete=true
 *                                      stops the server afterwards, as Autobahn's does
 *
 * A plain HTTP request (no Upgrade) gets a one-line text answer. Hostile input: the request head
 * is bounded (16 KiB) and must arrive within 10 s; parameters must appear once, case must be a
 * number in range, agent 1-200 characters without control characters; at most maxConnections at
 * a time (more are closed at once), 4 cases running (a 5th waits up to 8 s, then 503) and results for at most 64
 * agents; every case is bounded in
 * time, and every socket is destroyed when its case or answer is done.
 */

import { createServer, type Server, type Socket } from 'node:net';
import { encodeClosePayload, encodeFrame } from '../frame-codec.ts';
import { Opcode } from '../constants.ts';
import type { Extension } from '../extensions/extension.ts';
import { answerClientHandshake } from '../handshake.ts';
import { formatResponseHead, headerValue, statusReasons, type HttpHead } from '../http.ts';
import type { ConformanceCase } from './cases.ts';
import { excludedForAgent, type CaseSelection } from './autobahn-spec.ts';
import type { AutobahnReports } from './autobahn-report.ts';
import { bounded, limitsOf, resultOf, serveCase, SocketWire, type BatteryOptions, type Limits } from './runner.ts';
import { WireLog } from './wire-log.ts';

export interface FuzzingServerOptions {
  /** The selected cases in order: runCase?case=N runs cases[N - 1]. */
  cases: readonly ConformanceCase[];
  /** For "exclude-agent-cases". */
  selection: CaseSelection;
  reports: AutobahnReports;
  /** Waits, time scale, subprotocols and extra response headers. */
  battery?: BatteryOptions;
  /** Connections served at the same time (default 32). */
  maxConnections?: number;
  /** Cases run at the same time (default 4; a 16 MiB case holds several copies of its message). */
  maxRunningCases?: number;
  /**
   * How long a /runCase waits for a free slot before 503 (default 8000 ms): a harness that runs
   * cases one by one can be a moment ahead of the server, which closes each case's connection and
   * then still waits for the peer's TCP close (§7.1.1).
   */
  slotWaitMs?: number;
  /** One line per event worth telling (a case run, reports written, a refused request). */
  onLine?: (line: string) => void;
  /** Called after /updateReports?shutdownOnComplete=true has written the reports. */
  onShutdown?: () => void;
  /** The title of index.html. */
  title?: string;
}

const HEAD_TIMEOUT_MS = 10_000;
const STATUS_WAIT_MS = 30_000;
const CLOSE_WAIT_MS = 3000;
const SETTLE_MS = 15_000;

/** A request answered with a plain HTTP response (an error, or 200 for the one-line description at /). */
class BadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

function plainResponse(status: number, text: string): Uint8Array {
  const body = new TextEncoder().encode(text + '\n');
  const head = formatResponseHead(status, statusReasons[status] ?? 'Error', [
    { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    { name: 'Content-Length', value: String(body.length) },
    { name: 'Connection', value: 'close' },
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The request target's path and its parameters, each allowed once. */
function parseTarget(target: string): { path: string; param: (name: string) => string | undefined } {
  let url: URL;
  try {
    url = new URL(target, 'http://fuzzingserver.invalid');
  } catch {
    throw new BadRequest(`the request target "${target.slice(0, 100)}" is not a valid path`);
  }
  return {
    path: url.pathname,
    param(name) {
      const values = url.searchParams.getAll(name);
      if (values.length > 1) throw new BadRequest(`the parameter "${name}" is given ${values.length} times`);
      return values[0];
    },
  };
}

export class FuzzingServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly limits: Limits;
  private readonly maxConnections: number;
  private readonly maxRunningCases: number;
  private readonly slotWaitMs: number;
  private running = 0;
  /** Cases running or still writing their report: /updateReports and close() wait for them. */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: FuzzingServerOptions) {
    this.limits = limitsOf(options.battery ?? {}, 5000);
    this.maxConnections = options.maxConnections ?? 32;
    this.maxRunningCases = options.maxRunningCases ?? 4;
    this.slotWaitMs = options.slotWaitMs ?? 8000;
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      this.handle(socket).catch((error: unknown) => {
        this.line(`internal error on a connection: ${error instanceof Error ? error.message : String(error)}`);
        socket.destroy();
      });
    });
    this.server.on('error', (error) => this.line(`listener error: ${error.message}`));
  }

  /** Listens; resolves with the port (rejects if the address is in use or not allowed). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops listening, destroys every open connection and waits (bounded) for reports still being written. */
  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.settle();
  }

  /**
   * Waits, at most SETTLE_MS, for the cases in flight: a client sees its case's connection close
   * a moment before the verdict and report are recorded, and may ask for the reports at once.
   */
  private async settle(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)))]);
    clearTimeout(timer);
  }

  private line(text: string): void {
    this.options.onLine?.(text);
  }

  private async handle(socket: Socket): Promise<void> {
    if (this.closed || this.sockets.size >= this.maxConnections) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const log = new WireLog({ connectionId: 'fuzzingserver', enabled: this.limits.wireLog, maxBytes: this.limits.wireLogMaxBytes });
    log.opened('server', `${socket.localAddress}:${socket.localPort}`, `${socket.remoteAddress}:${socket.remotePort}`);
    const wire = new SocketWire(socket, log, 'client', 'request');
    try {
      let head: HttpHead;
      try {
        head = await wire.readHead(HEAD_TIMEOUT_MS);
      } catch (error) {
        throw new BadRequest(`no valid HTTP request: ${(error as Error).message}`);
      }
      await this.route(head, wire, log);
    } catch (error) {
      if (error instanceof BadRequest) {
        if (error.status !== 200) this.line(`refused a request from ${socket.remoteAddress}: ${error.message}`);
        await wire.write(plainResponse(error.status, `wsinspect fuzzingserver: ${error.message}`));
        wire.end();
      } else {
        throw error;
      }
    } finally {
      setTimeout(() => socket.destroy(), 100).unref();
    }
  }

  private caseParam(param: (name: string) => string | undefined): { index: number; c: ConformanceCase } {
    const raw = param('case');
    if (raw === undefined) throw new BadRequest('the parameter "case" is missing (1-based, as in /runCase?case=1&agent=NAME)');
    const count = this.options.cases.length;
    if (!/^[0-9]{1,7}$/.test(raw)) throw new BadRequest(`case must be a number from 1 to ${count} (got "${raw.slice(0, 40)}")`);
    const index = Number(raw);
    const c = this.options.cases[index - 1];
    if (!c) throw new BadRequest(`case ${index} is out of range: this server runs cases 1 to ${count}`);
    return { index, c };
  }

  private agentParam(param: (name: string) => string | undefined): string {
    const agent = param('agent');
    if (agent === undefined) throw new BadRequest('the parameter "agent" is missing (the name reports are filed under)');
    const refusal = this.options.reports.agentRefusal(agent);
    if (refusal) throw new BadRequest(refusal);
    return agent;
  }

  private async route(head: HttpHead, wire: SocketWire, log: WireLog): Promise<void> {
    const { path, param } = parseTarget(head.target);
    const upgrade = (headerValue(head, 'upgrade') ?? '').toLowerCase().includes('websocket');
    if (!upgrade) {
      if (path !== '/' && path !== '') throw new BadRequest(`${path.slice(0, 100)} is a WebSocket endpoint or does not exist`, 404);
      throw new BadRequest(`Autobahn-compatible fuzzing server with ${this.options.cases.length} cases: open a WebSocket to /getCaseCount, /runCase?case=N&agent=NAME, /getCaseInfo?case=N, /getCaseStatus?case=N&agent=NAME or /updateReports?agent=NAME`, 200);
    }
    switch (path) {
      case '/getCaseCount':
        return this.reply(head, wire, JSON.stringify(this.options.cases.length));
      case '/getCaseInfo': {
        const { c } = this.caseParam(param);
        return this.reply(head, wire, JSON.stringify({ id: c.id, description: c.description }));
      }
      case '/getCaseStatus': {
        const { c } = this.caseParam(param);
        const agent = this.agentParam(param);
        const status = await this.waitForStatus(agent, c.id, wire);
        return this.reply(head, wire, JSON.stringify({ behavior: status ?? 'UNKNOWN' }));
      }
      case '/updateReports': {
        const agent = this.agentParam(param);
        const shutdown = (param('shutdownOnComplete') ?? '').toLowerCase();
        await this.updateReports(agent);
        await this.reply(head, wire, null);
        if (shutdown === 'true' || shutdown === 'yes') this.options.onShutdown?.();
        return;
      }
      case '/runCase': {
        const { index, c } = this.caseParam(param);
        const agent = this.agentParam(param);
        if (excludedForAgent(this.options.selection, agent, c.id)) {
          this.line(`${agent}: case ${c.id} skipped ("exclude-agent-cases")`);
          return this.reply(head, wire, null);
        }
        const until = Date.now() + this.slotWaitMs;
        while (this.running >= this.maxRunningCases && Date.now() < until && !wire.socket.destroyed) await new Promise((resolve) => setTimeout(resolve, 20));
        if (this.running >= this.maxRunningCases) throw new BadRequest(`busy: ${this.running} cases are running (at most ${this.maxRunningCases} at a time); try again when one ends`, 503);
        const run = this.runCase(index, c, agent, wire, log);
        this.inFlight.add(run);
        try {
          return await run;
        } finally {
          this.inFlight.delete(run);
        }
      }
      default:
        throw new BadRequest(`unknown endpoint ${path.slice(0, 100)}: use /getCaseCount, /runCase, /getCaseInfo, /getCaseStatus or /updateReports`, 404);
    }
  }

  private async runCase(index: number, c: ConformanceCase, agent: string, wire: SocketWire, log: WireLog): Promise<void> {
    const started = new Date();
    const t0 = performance.now();
    log.note(`case ${c.id} (${index} of ${this.options.cases.length}) for agent ${agent}: ${c.description} (${c.rfcSection})`);
    const held: { extension: Extension | null } = { extension: null };
    const caseMs = c.timeoutMs * this.limits.timeScale;
    // A slot is held while the case runs, not while its report is written.
    this.running++;
    let verdict;
    try {
      verdict = await bounded(caseMs + 2000, () => serveCase(c, wire, log, this.limits, held), () => wire.destroy());
    } finally {
      this.running--;
    }
    wire.destroy();
    held.extension?.close();
    const result = resultOf(c, verdict, t0, log);
    try {
      await this.options.reports.record(agent, index, result, started);
    } catch (error) {
      this.line(`${agent}: case ${c.id}: its report could not be written: ${(error as Error).message}`);
    }
    this.line(`${agent}: case ${c.id} (${index}/${this.options.cases.length}) ${result.behavior}${result.outcome === 'fail' ? `: ${result.reason}` : ''}`);
  }

  private async waitForStatus(agent: string, id: string, wire: SocketWire): Promise<string | undefined> {
    const until = Date.now() + STATUS_WAIT_MS;
    for (;;) {
      const status = this.options.reports.status(agent, id);
      if (status) return status.behavior;
      if (Date.now() > until || wire.socket.destroyed || this.closed) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async updateReports(agent: string): Promise<void> {
    await this.settle();
    try {
      const paths = await this.options.reports.writeIndex(this.options.title ?? 'wsinspect fuzzingserver report');
      const t = this.options.reports.totals(agent);
      this.line(`${agent}: reports written to ${paths.html} and ${paths.json}: ${t.passed} passed, ${t.failed} failed, ${t.nonStrict} non-strict`);
    } catch (error) {
      this.line(`reports could not be written: ${(error as Error).message}`);
    }
  }

  /** Answers the opening handshake, sends message (if any) as text, then closes (Close 1000, then TCP). */
  private async reply(head: HttpHead, wire: SocketWire, message: string | null): Promise<void> {
    const answer = answerClientHandshake(head, this.limits.subprotocols.length ? { subprotocols: this.limits.subprotocols } : {});
    if (answer.error) {
      await wire.write(answer.response);
      wire.end();
      return;
    }
    const response = this.limits.headers.length ? formatResponseHead(101, statusReasons[101]!, [...answer.responseHeaders, ...this.limits.headers]) : answer.response;
    await wire.write(response);
    if (message !== null) await wire.write(encodeFrame({ opcode: Opcode.Text, payload: new TextEncoder().encode(message), fin: true, maskKey: null }));
    await wire.write(encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1000), fin: true, maskKey: null }));
    // Wait (bounded) for the client's Close, then close TCP first as a server should (§7.1.1).
    const until = Date.now() + CLOSE_WAIT_MS;
    for (let i = 0; i < 100 && Date.now() < until; i++) {
      const event = await wire.next(Math.max(1, until - Date.now()));
      if (event === null || event.type === 'close' || event.type === 'eof' || event.type === 'violation') break;
    }
    wire.end();
  }
}
