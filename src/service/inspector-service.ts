/**
 * The inspector service: everything the main process does, without importing electron.
 * It owns the embedded server and any number of client connections, forwards their trace in
 * batches (at most one push per animation frame, whatever the traffic), and takes commands.
 * Electron's main process and the plain Node web host both run this same class.
 */

import { components } from '../core/apps/index.ts';
import { fromHex, utf8Encode } from '../core/bytes.ts';
import { Defaults, isValidWireCloseCode, Opcode } from '../core/constants.ts';
import { sendForbiddenClose } from './forbidden-close.ts';
import { craftedWritesNote } from './crafted-writes.ts';
import { runClientBattery, runServerBattery, type BatteryOptions, type ConformanceReport } from '../core/conformance/index.ts';
import { parseHeaderLines } from '../core/http-tokens.ts';
import { connectClient, ConnectError, parseWebSocketUrl, UrlError } from '../core/net/client.ts';
import type { Connection } from '../core/net/connection.ts';
import { hostProblem, portProblem, unbracket } from '../core/net/listen-address.ts';
import { isLoopbackHost, ListenError, WebSocketServer } from '../core/net/server.ts';
import { configDirectory, localCertificate } from '../core/net/certificates.ts';
import { loadCaCertificates, loadServerCredentials, TlsConfigError, type ServerCredentials } from '../core/net/transport.ts';
import { ByteStepLimits, ByteStepper, maxByteStepHexChars, type ByteStepOptions } from '../core/byte-stepper.ts';
import { compressCraftedFrame, compressForCraft, CRAFTED_RESTART_REASON, type CompressedCraft } from './crafted-compression.ts';
import { ConfirmationTokens, describeAction, type Confirmer, type DangerousAction } from './confirmation.ts';
import { capForDisplay, DISPLAY_CAP, FullFrameStore, searchFullFrames } from './display-cap.ts';
import { TraceBatchBuilder } from '../shared/trace-batch-encode.ts';
import { frameFromWire } from '../core/trace-log.ts';
import { RawChunkStore } from './raw-chunks.ts';
import type { RawCarriers, RawCarriersRequest } from '../shared/raw-chunks-api.ts';
import { SearchError } from '../shared/payload-search.ts';
import { serverLimitsProblem, serverSubprotocolsProblem } from './validation.ts';
import { BATTERY_USER_AGENT, isBatteryRequest } from './battery-peers.ts';
import { OneAtATime } from '../shared/one-at-a-time.ts';
import { ProxyMode } from './proxy-mode.ts';
import type { ProxyCaAction, StartProxyRequest } from '../shared/proxy-api.ts';
import { SessionWork } from './session-work.ts';
import { loadSavedWork, readSavedWorkText, savedWorkPath, storeSavedWork } from './saved-work-file.ts';
import { mergeSavedWork, parseSavedWork, type SavedStep, type SavedWork } from '../shared/saved-work.ts';
import { faultPresets, findPreset } from '../core/faults.ts';
import type { Breakpoint } from '../core/frame-gate.ts';
import { encodeFrame } from '../core/frame-codec.ts';
import { fireFault } from '../core/net/fault-runner.ts';
import { randomMaskKey } from '../core/protocol.ts';
import { toHex } from '../core/bytes.ts';
import { messageFromRow, SERVICE_TRACE_ID, Tracer, type Direction, type Role, type TraceEvent, type TracedRelay } from '../core/trace.ts';
import type {
  AppName, CompressedPayload, ConformanceProgress, ExportRequest, RecorderStatus, RecordingInfo, ConformanceRequest, ConnectClientRequest, ConnectionSummary, CraftRequest, FaultOutcome, FrameFields, InspectorStatus, PresetInfo, Result,
  SendRequest, ServiceBatch, StartServerRequest, StatusPatch, StepAction, ViolationPolicy,
} from '../shared/inspector-api.ts';
import { appNames } from '../shared/inspector-api.ts';

/** Events of an opening recording per batch at most (a big recording never makes one huge batch). */
const RECORDING_BATCH_EVENTS = 1000;
/** How often the status (with the opening's progress and the recording's connections) goes out while a recording opens. */
const STATUS_WHILE_OPENING_MS = 100;

export interface InspectorServiceOptions {
  /** Milliseconds between pushes (one animation frame by default). */
  batchIntervalMs?: number;
  host?: string;
  port?: number;
  app?: AppName;
  /** Bytes of full large frames kept for "load all" (FullFrameStore; default 256 MiB). */
  fullFrameBudgetBytes?: number;
  /**
   * Closed connections kept in the list, newest first (default 100): a client that reconnects
   * all day must not grow the list, and every status push with it, without bound.
   */
  keepClosedConnections?: number;
  /**
   * Asks a person before a dangerous action (Electron: a main-process dialog). Without it, the
   * service answers such a request with a confirmation prompt whose single-use token the page
   * must echo (the web host's flow; src/service/confirmation.ts).
   */
  confirm?: Confirmer;
  /** Where the generated wss:// certificate is kept (default: the user's config directory, certificates.ts). */
  configDir?: string;
}


export class InspectorService {
  readonly tracer = new Tracer();
  private server: WebSocketServer | null = null;
  /** The embedded server's starts and stops, one after another in the order asked. */
  private readonly serverTurns = new OneAtATime();
  private serverState: InspectorStatus['server'];
  private readonly clients = new Map<string, Connection>();
  private readonly summaries = new Map<string, ConnectionSummary>();
  /** Closed connections still listed, oldest first: the person's, and the conformance battery's (own budget each). */
  private readonly closedOrder: string[] = [];
  private readonly closedBatteryOrder: string[] = [];
  private readonly keepClosed: number;
  private readonly listeners = new Set<(batch: ServiceBatch) => void>();
  /**
   * The events of the next batch, encoded as they are traced (frames and messages as rows, with
   * no event object held until the batch goes), the rest kept as objects in their place.
   */
  private readonly pending = new TraceBatchBuilder();
  /** Full bytes of recent large frames (the renderer gets them cut to DISPLAY_CAP). */
  readonly fullFrames: FullFrameStore;
  /** Each connection's raw socket writes and reads, bounded, for the Pipeline view (issue 15). */
  readonly rawChunks = new RawChunkStore();
  private statusDirty = false;
  /** Listed connections whose summary changed (or that left the list) since the last push. */
  private readonly changedConnections = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly batchIntervalMs: number;
  private readonly confirm: Confirmer | undefined;
  private readonly confirmations = new ConfirmationTokens();
  private readonly configDir: string | undefined;
  /** Proxy mode (issue 12): the reverse proxy and its legs. */
  readonly proxyMode: ProxyMode;
  /** Recordings open read-only, the Record button's recorder, export (issue 13). */
  private readonly sessions: SessionWork;
  /** A recording file being read (its progress goes out with the status). */
  private openingRecording: InspectorStatus['opening'] = null;
  private recordingPace: (() => Promise<void>) | null = null;

  constructor(options: InspectorServiceOptions = {}) {
    this.configDir = options.configDir;
    this.batchIntervalMs = options.batchIntervalMs ?? 16;
    this.confirm = options.confirm;
    this.keepClosed = Math.max(0, options.keepClosedConnections ?? 100);
    this.fullFrames = new FullFrameStore(options.fullFrameBudgetBytes !== undefined ? { budgetBytes: options.fullFrameBudgetBytes } : {});
    this.sessions = new SessionWork(this.fullFrames);
    this.serverState = {
      running: false, host: options.host ?? Defaults.host, port: options.port ?? Defaults.port,
      url: null, app: options.app ?? 'echo', error: null, warning: null, tls: null,
    };
    this.proxyMode = new ProxyMode(this.tracer, () => this.markStatusChanged(), (action, token) => this.confirmAction(action, token), {
      // wss:// listening and the interception CA live where the server's certificate does.
      configDir: this.configDir ?? configDirectory(),
      credentials: (paths) => this.serverCredentials(paths),
    });
    // As rows: while the service is the tracer's only listener (no Record under way), the
    // protocol's plain frames and messages reach it as values and no event object is built.
    this.tracer.subscribeRows({
      push: (event) => this.onTrace(event),
      frameRow: (seq, time, connectionId, direction, frameId, raw, payload, relay) => this.onFrameRow(seq, time, connectionId, direction, frameId, raw, payload, relay),
      messageRow: (seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data, payloadsOfFrames) =>
        this.onMessageRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data, payloadsOfFrames),
      // Raw chunks are for the raw chunk store only (onTrace keeps them off the page's batches).
      bytesRow: (seq, time, connectionId, direction, bytes) => this.rawChunks.addChunk(connectionId, direction, bytes, seq, time),
    });
  }

  // ------------------------------------------------------------ subscriptions

  onBatch(listener: (batch: ServiceBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getStatus(): InspectorStatus {
    const connections = [...this.summaries.values()].map((s) => this.liveSummary(s));
    return { server: { ...this.serverState }, proxy: this.proxyMode.status(), connections: [...connections, ...this.sessions.summaries()], recordings: this.sessions.recordings(), recorder: this.sessions.recorderStatus(), opening: this.openingRecording ? { ...this.openingRecording } : null };
  }

  /** A listed connection as the page sees it: its policy and step-mode gate as they are now. */
  private liveSummary(s: ConnectionSummary): ConnectionSummary {
    const conn = this.findConnection(s.id);
    return { ...s, policy: conn?.protocol.policy ?? s.policy, gate: conn?.gateSnapshot() ?? null };
  }

  /** The connections that changed since the last push, and those that left the list. */
  private statusPatch(): StatusPatch {
    const connections: ConnectionSummary[] = [];
    const removed: string[] = [];
    for (const id of this.changedConnections) {
      const summary = this.summaries.get(id);
      if (summary) connections.push(this.liveSummary(summary));
      else removed.push(id);
    }
    return { connections, removed, proxy: this.proxyMode.status() };
  }

  private onTrace(event: TraceEvent): void {
    // Raw chunks are for the session recorder (a tracer listener of its own) and the raw chunk
    // store (asked by rawCarriers); frames and heads carry their own bytes, so the page would only
    // get everything twice.
    this.rawChunks.observe(event);
    if (event.type === 'bytes') return;
    this.pending.add(capForDisplay(event, this.fullFrames));
    this.trackConnection(event);
    this.scheduleFlush();
  }

  /** A frame as a row: what onTrace does with its event, without the event (one cut for display is built as one). */
  private onFrameRow(seq: number, time: number, connectionId: string, direction: Direction, frameId: number, raw: Uint8Array, payload: Uint8Array, relay?: TracedRelay): void {
    if (payload.length > DISPLAY_CAP) {
      this.onTrace({ type: 'frame', direction, frame: frameFromWire(frameId, raw, payload, relay), seq, time, connectionId });
      return;
    }
    this.rawChunks.frameAt(connectionId, direction, frameId, raw.length, raw[0]!);
    this.pending.frameRow(seq, time, connectionId, direction, frameId, raw, payload, relay);
    this.scheduleFlush();
  }

  /** A message as a row (see onFrameRow). */
  private onMessageRow(seq: number, time: number, connectionId: string, direction: Direction, opcode: number, firstFrameId: number, frameCount: number, size: number, text: string | undefined, data: Uint8Array, payloadsOfFrames: boolean): void {
    if ((text !== undefined ? text.length : data.length) > DISPLAY_CAP) {
      this.onTrace(messageFromRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data));
      return;
    }
    this.pending.messageRow(seq, time, connectionId, direction, opcode, firstFrameId, frameCount, size, text, data, payloadsOfFrames);
    this.scheduleFlush();
  }

  /** Keeps the connection list in step with the trace. */
  private trackConnection(event: TraceEvent): void {
    const id = event.connectionId;
    if (event.type === 'connection-opened') {
      const proxyLeg = this.proxyMode.claimLeg(id);
      this.summaries.set(id, {
        id, role: event.role, remote: event.remote, state: 'CONNECTING', subprotocol: null, openedAt: event.time, policy: 'strict', gate: null,
        ...(event.url ? { url: event.url } : {}),
        ...(proxyLeg ? { proxyLeg } : {}),
      });
      this.changedConnections.add(id);
      return;
    }
    const summary = this.summaries.get(id);
    if (!summary) return;
    if (event.type === 'state') {
      summary.state = event.to;
      this.changedConnections.add(id);
    } else if (event.type === 'handshake' && event.ok) {
      summary.subprotocol = event.subprotocol;
    } else if (event.type === 'http-head' && summary.role === 'server' && isBatteryRequest(event.head)) {
      // Our own battery testing our own server: listed apart, so it never buries the person's peers.
      summary.conformance = true;
      this.changedConnections.add(id);
    } else if (event.type === 'connection-closed') {
      summary.state = 'CLOSED';
      summary.detail = `${event.code}${event.reason ? ` ${event.reason}` : ''}: ${event.detail}`;
      this.changedConnections.add(id);
      // The oldest closed connections leave the list; the renderer forgets their frames too.
      // A battery run's hundred peers count against their own budget, not the person's.
      const order = summary.conformance ? this.closedBatteryOrder : this.closedOrder;
      if (!order.includes(id)) order.push(id);
      while (order.length > this.keepClosed) {
        const gone = order.shift()!;
        this.summaries.delete(gone);
        this.changedConnections.add(gone);
        this.rawChunks.forget(gone);
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), this.batchIntervalMs);
  }

  private markStatusChanged(): void {
    this.statusDirty = true;
    this.scheduleFlush();
  }

  /** Pushes everything pending as one batch. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.count === 0 && !this.statusDirty && this.changedConnections.size === 0 && !this.conformanceDirty) return;
    const batch: ServiceBatch = this.pending.count > 0 ? { events: [], trace: this.pending.take() } : { events: [] };
    // The whole status when anything but connections changed; else only the connections that did.
    if (this.statusDirty) batch.status = this.getStatus();
    else if (this.changedConnections.size > 0) batch.statusPatch = this.statusPatch();
    this.changedConnections.clear();
    if (this.conformanceDirty) batch.conformance = this.conformanceProgress();
    this.conformanceDirty = false;
    this.statusDirty = false;
    try {
      for (const listener of this.listeners) listener(batch);
    } finally {
      // The batch's events were lent in the builder's buffers for its listeners: written again from now on.
      if (batch.trace) this.pending.reclaim(batch.trace);
    }
  }

  // ------------------------------------------------------------ confirmations

  /**
   * Null when a person said yes to exactly this action; otherwise the answer to send back:
   * cancelled (Electron's dialog), or a prompt with a fresh token (the web host's page asks,
   * then repeats the request with the token). A request alone never gets past here.
   */
  private async confirmAction(action: DangerousAction, token: string | undefined): Promise<{ ok: false; error: string; confirm?: ReturnType<ConfirmationTokens['issue']> } | null> {
    if (this.confirm) {
      let yes = false;
      try {
        yes = await this.confirm(action, describeAction(action));
      } catch {
        yes = false;
      }
      return yes ? null : { ok: false, error: 'Cancelled: you did not confirm it.' };
    }
    if (token !== undefined && this.confirmations.redeem(token, action)) return null;
    return {
      ok: false,
      error: token !== undefined ? 'That confirmation has expired or was for something else; confirm again.' : 'This needs your confirmation first.',
      confirm: this.confirmations.issue(action),
    };
  }

  // ------------------------------------------------------------ server

  startServer(request: StartServerRequest = {}): Promise<Result<{ url: string }>> {
    return this.serverTurns.run(() => this.startServerNow(request));
  }

  private async startServerNow(request: StartServerRequest): Promise<Result<{ url: string }>> {
    // Validate first: a bad request stops nothing, and the remembered host and port stay those
    // of the last good start (a failed "bad host" must not stick for the next call).
    const host = unbracket((request.host ?? this.serverState.host).trim() || Defaults.host);
    const port = request.port ?? this.serverState.port;
    const app = request.app ?? this.serverState.app;
    const invalid = hostProblem(host) ?? portProblem(port) ?? serverLimitsProblem(request) ?? serverSubprotocolsProblem(request.subprotocols) ?? (appNames.includes(app) ? null : `Unknown application "${app}".`);
    if (invalid) return this.serverFailed(invalid);
    if (!isLoopbackHost(host)) {
      const refused = await this.confirmAction({ kind: 'bind-address', host, port }, request.confirmToken);
      if (refused) return refused;
    }
    let tls: (ServerCredentials & { certPath: string; generated: boolean }) | null = null;
    if (request.tls || request.certPath !== undefined || request.keyPath !== undefined) {
      try {
        tls = await this.serverCredentials(request);
      } catch (error) {
        return this.serverFailed(error instanceof TlsConfigError ? error.message : `Cannot set up TLS: ${(error as Error).message}`);
      }
    }
    const server = new WebSocketServer({
      host, port, component: components[app], tracer: this.tracer,
      // Raw chunks feed the session recorder (Record); onTrace keeps them off the IPC traffic.
      traceBytes: true,
      ...(request.allowedOrigins ? { allowedOrigins: [...request.allowedOrigins] } : {}),
      ...(request.subprotocols?.length ? { subprotocols: [...request.subprotocols] } : {}),
      ...(request.policy ? { policy: request.policy } : {}),
      ...(request.maxConnections !== undefined ? { maxConnections: request.maxConnections } : {}),
      ...(request.idleTimeoutMs !== undefined ? { idleTimeoutMs: request.idleTimeoutMs } : {}),
      ...(request.maxMessageSize !== undefined ? { maxMessageSize: request.maxMessageSize } : {}),
      ...(request.deflate === false ? { deflate: false as const } : {}),
      ...(tls ? { tls } : {}),
      onGateChange: () => this.markStatusChanged(),
    });
    try {
      const { url, port: boundPort } = await this.listenInstead(server, port);
      this.server = server;
      this.serverState = {
        running: true, host, port: boundPort, url, app, error: null,
        warning: isLoopbackHost(host) ? null : `Bound to ${host}: other machines on your network can connect to this server.`,
        tls: tls ? { certificate: tls.certificate, certPath: tls.certPath, generated: tls.generated } : null,
        ...(request.subprotocols?.length ? { subprotocols: [...request.subprotocols] } : {}),
      };
      this.markStatusChanged();
      return { ok: true, url };
    } catch (error) {
      return this.serverFailed(error instanceof ListenError ? error.message : `Cannot start the server: ${(error as Error).message}`);
    }
  }

  /**
   * The new server listens while the old one keeps running, and the old one stops only once the
   * new one listens. Only when the old one holds the very port asked for (a restart with other
   * settings) does it make way first; if the new one still cannot listen, the old one comes back.
   */
  private async listenInstead(next: WebSocketServer, port: number): Promise<{ url: string; port: number }> {
    const previous = this.server;
    const bound = await next.listen().catch((error: unknown) => {
      if (!previous || (error as ListenError).code !== 'EADDRINUSE' || previous.address?.port !== port) throw error;
      return null;
    });
    if (bound) {
      await previous?.close();
      return bound;
    }
    await previous!.close();
    try {
      return await next.listen();
    } catch (error) {
      if (!(await previous!.listen().then(() => true, () => false))) this.server = null;
      throw error;
    }
  }

  /**
   * wss://: the given certificate and key files (read, bounded, checked to belong together), or
   * the self-signed localhost certificate from the config directory, made on first use.
   */
  private async serverCredentials(request: StartServerRequest): Promise<ServerCredentials & { certPath: string; generated: boolean }> {
    const { certPath, keyPath } = request;
    if (certPath !== undefined || keyPath !== undefined) {
      if (!certPath?.trim() || !keyPath?.trim()) throw new TlsConfigError('TLS: give both the certificate file and its key file, or neither (then a self-signed certificate for localhost is used).');
      return { ...loadServerCredentials(certPath, keyPath, { cert: 'Certificate', key: 'Key' }), certPath, generated: false };
    }
    const local = await localCertificate(this.configDir ?? configDirectory());
    return { ...local, generated: true };
  }

  /** A start that failed: only the error changes (the server, if one runs, keeps running). */
  private serverFailed(message: string): Result<{ url: string }> {
    const running = this.server?.address ? { running: true, url: this.server.url, port: this.server.address.port } : { running: false, url: null, warning: null, tls: null };
    this.serverState = { ...this.serverState, ...running, error: message };
    this.markStatusChanged();
    return { ok: false, error: message };
  }

  stopServer(): Promise<Result> {
    return this.serverTurns.run(() => this.stopServerNow());
  }

  private async stopServerNow(): Promise<Result> {
    const server = this.server;
    this.server = null;
    if (server) await server.close();
    this.serverState = { ...this.serverState, running: false, url: null, warning: null, tls: null };
    this.markStatusChanged();
    return { ok: true };
  }

  setServerApp(app: AppName): Result {
    if (!appNames.includes(app)) return { ok: false, error: `Unknown application "${app}".` };
    this.serverState = { ...this.serverState, app };
    this.server?.setComponent(components[app]);
    this.markStatusChanged();
    return { ok: true };
  }

  // ------------------------------------------------------------ proxy mode (issue 12)

  startProxy(request: StartProxyRequest): Promise<Result<{ url: string }>> {
    return this.proxyMode.start(request);
  }

  stopProxy(): Promise<Result> {
    return this.proxyMode.stop();
  }

  proxyCa(action: ProxyCaAction): Promise<Result> {
    return this.proxyMode.caAction(action);
  }

  // ------------------------------------------------------------ clients

  async connectClient(request: ConnectClientRequest): Promise<Result<{ id: string }>> {
    let client;
    try {
      // Checked here too, not only in validateConnect: the service may be called directly.
      // A bad subprotocol or header (CR/LF smuggling, RFC 9110 §5.5) is refused before any socket opens.
      const headers = parseHeaderLines(request.headers ?? []);
      // wss://: extra CAs (file names or PEM text), each read, bounded and parsed first.
      const ca = request.ca?.length ? loadCaCertificates(request.ca, 'CA') : [];
      const tls = ca.length || request.insecure ? { ...(ca.length ? { ca } : {}), ...(request.insecure ? { insecure: true } : {}) } : null;
      client = connectClient(request.url, {
        onClose: (conn) => {
          this.clients.delete(conn.id);
        },
        onGateChange: () => this.markStatusChanged(),
      }, {
        tracer: this.tracer,
        traceBytes: true, // for the session recorder only (onTrace)
        ...(request.policy ? { policy: request.policy } : {}),
        ...(request.subprotocols?.length ? { subprotocols: request.subprotocols } : {}),
        ...(headers.length ? { headers } : {}),
        ...(request.deflate === false ? { deflate: false as const } : {}),
        ...(tls ? { tls } : {}),
      });
    } catch (error) {
      return { ok: false, error: error instanceof UrlError || error instanceof Error ? error.message : String(error) };
    }
    const conn = client.connection;
    this.clients.set(conn.id, conn);
    if (!this.summaries.has(conn.id)) {
      this.summaries.set(conn.id, { id: conn.id, role: 'client', remote: '', url: request.url, state: 'CONNECTING', subprotocol: null, openedAt: Date.now(), policy: request.policy ?? 'strict', gate: null });
    }
    this.markStatusChanged();
    try {
      await client.opened;
      return { ok: true, id: conn.id };
    } catch (error) {
      const message = error instanceof ConnectError ? error.message : (error as Error).message;
      const summary = this.summaries.get(conn.id);
      if (summary) {
        summary.state = 'CLOSED';
        summary.detail = message;
      }
      this.markStatusChanged();
      return { ok: false, error: message };
    }
  }

  // ------------------------------------------------------------ sending

  private findConnection(id: string): Connection | undefined {
    return this.clients.get(id) ?? this.server?.connections.get(id) ?? this.proxyMode.findLeg(id);
  }

  send(request: SendRequest): Result {
    const conn = this.findConnection(request.connectionId);
    if (!conn) return { ok: false, error: `Connection ${request.connectionId} is gone.` };
    try {
      switch (request.kind) {
        case 'text': {
          const sizes = request.fragments?.filter((n) => n > 0) ?? [];
          if (sizes.length > 0) conn.sendFragmented(Opcode.Text, utf8Encode(request.text), sizes);
          else conn.sendText(request.text);
          break;
        }
        case 'binary': {
          const data = fromHex(request.hex);
          const sizes = request.fragments?.filter((n) => n > 0) ?? [];
          if (sizes.length > 0) conn.sendFragmented(Opcode.Binary, data, sizes);
          else conn.sendBinary(data);
          break;
        }
        case 'ping':
          conn.ping(utf8Encode(request.text ?? ''));
          break;
        case 'pong':
          conn.pong(utf8Encode(request.text ?? ''));
          break;
        case 'close': {
          const code = request.code === undefined ? 1000 : request.code;
          if (request.anyCode && code !== null && !isValidWireCloseCode(code)) sendForbiddenClose(conn, code, request.reason ?? '');
          else conn.close(code, request.reason ?? '');
          break;
        }
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  /**
   * Forgets closed connections: these ids (open ones among them stay), or every closed one.
   * The next status no longer lists them, and the renderer drops their frames with them.
   */
  removeClosed(ids?: readonly string[]): Result<{ removed: number }> {
    const wanted = ids ? new Set(ids) : null;
    let removed = 0;
    for (const [id, summary] of this.summaries) {
      if (summary.state !== 'CLOSED' || (wanted && !wanted.has(id))) continue;
      this.summaries.delete(id);
      this.rawChunks.forget(id);
      removed++;
    }
    for (const order of [this.closedOrder, this.closedBatteryOrder]) {
      const kept = order.filter((id) => this.summaries.has(id));
      order.splice(0, order.length, ...kept);
    }
    if (removed > 0) this.markStatusChanged();
    return { ok: true, removed };
  }

  dropConnection(id: string): Result {
    const conn = this.findConnection(id);
    if (!conn) return { ok: false, error: `Connection ${id} is gone.` };
    conn.destroy();
    return { ok: true };
  }

  // ------------------------------------------------------------ step mode, crafting, faults

  private withConnection<T extends object>(id: string, fn: (conn: Connection) => Result<T> | void): Result<T> {
    const conn = this.findConnection(id);
    if (!conn) return { ok: false, error: `Connection ${id} is gone.` };
    try {
      const result = fn(conn);
      this.markStatusChanged();
      return result ?? ({ ok: true } as Result<T>);
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  setStepMode(id: string, on: boolean): Result {
    return this.withConnection(id, (conn) => conn.setStepMode(on));
  }

  setBreakpoints(id: string, breakpoints: Breakpoint[]): Result {
    return this.withConnection(id, (conn) => conn.setBreakpoints(breakpoints));
  }

  stepControl(id: string, action: StepAction): Result {
    return this.withConnection(id, (conn) => {
      if (action === 'step-in') conn.step('in');
      else if (action === 'step-out') conn.step('out');
      else if (action === 'step') conn.step();
      else if (action === 'continue') conn.continueRunning();
      else conn.resume();
    });
  }

  editHeld(id: string, holdId: number, frame: FrameFields): Result<{ hex: string }> {
    return this.withConnection<{ hex: string }>(id, (conn): Result<{ hex: string }> => {
      const bytes = encodeFields(frame);
      if (!conn.editHeld(holdId, bytes)) return { ok: false, error: `Frame ${holdId} is no longer held.` };
      return { ok: true, hex: toHex(bytes) };
    });
  }

  dropHeld(id: string, holdId: number): Result {
    return this.withConnection(id, (conn): Result => {
      if (!conn.dropHeld(holdId)) return { ok: false, error: `Frame ${holdId} is no longer held.` };
      return { ok: true };
    });
  }

  setPolicy(id: string, policy: ViolationPolicy): Result {
    return this.withConnection(id, (conn) => {
      conn.protocol.policy = policy;
    });
  }

  /**
   * Sends a frame built from fields (valid or not), split into timed TCP writes. With
   * frame.compress, its payload is compressed on its own first (crafted-compression.ts).
   */
  async craft(request: CraftRequest): Promise<Result<{ hex: string }>> {
    const conn = this.findConnection(request.connectionId);
    if (!conn) return { ok: false, error: `Connection ${request.connectionId} is gone.` };
    if (conn.state === 'CLOSED') return { ok: false, error: 'The connection is closed.' };
    let bytes: Uint8Array;
    let compressed: CompressedCraft | null = null;
    try {
      compressed = request.frame.compress ? compressCraftedFrame(conn.protocol, conn.role, request.frame) : null;
      bytes = encodeFields(compressed?.fields ?? request.frame);
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    const foreignDeflate = !compressed && conn.protocol.agreedExtension?.deflate !== undefined && (request.frame.rsv1 || request.frame.opcode === 0);
    // When its turn comes (a crafted frame going out in timed pieces goes first): the window it
    // changes is the one in force when it goes on the wire, after the messages sent before it.
    const atTurn = () => {
      if (compressed) {
        // Traced with its plain side; and our compressor forgets its window, which the peer's now differs from.
        conn.protocol.traceOutgoingFrameBytes(bytes, undefined, compressed.deflate);
        conn.protocol.restartOutgoingWindow(CRAFTED_RESTART_REASON);
      } else if (foreignDeflate) {
        // DEFLATE bytes made elsewhere (an RFC 7692 example, a hand-made payload) enter the peer's window but not ours.
        conn.protocol.restartOutgoingWindow('A crafted frame carried DEFLATE data our compressor did not make, into the peer\'s window but not ours, so our window was emptied: this message refers to nothing earlier (RFC 7692 §7.2.1 lets a sender always start empty).');
      }
    };
    await conn.writeCrafted(bytes, { chunks: request.writes ?? [], ...(request.delayMs ? { delayMs: request.delayMs } : {}) }, !compressed, atTurn);
    // The writes it went in, in the trace beside the frame (the crafter shows them with the peer's reaction).
    this.tracer.emit(conn.id, { type: 'note', text: craftedWritesNote(bytes.length, request.writes ?? [], request.delayMs ?? 0) });
    return { ok: true, hex: toHex(bytes) };
  }

  /** The crafter's preview of "compress this payload": what craft() will put in the frame. */
  compressPayload(connectionId: string, payloadHex: string): Result<CompressedPayload> {
    return this.withConnection<CompressedPayload>(connectionId, (conn) => ({ ok: true, ...compressForCraft(conn.protocol, conn.role, payloadHex) }));
  }

  listPresets(): PresetInfo[] {
    return faultPresets.map(({ id, title, group, rfcSection, explanation, expectedText, needs }) => ({ id, title, group, rfcSection, explanation, expectedText, ...(needs ? { needs } : {}) }));
  }

  async firePreset(id: string, presetId: string): Promise<Result<{ outcome: FaultOutcome }>> {
    const conn = this.findConnection(id);
    if (!conn) return { ok: false, error: `Connection ${id} is gone.` };
    const preset = findPreset(presetId);
    if (!preset) return { ok: false, error: `No fault preset "${presetId}".` };
    try {
      const r = await fireFault(conn, preset, this.tracer);
      return { ok: true, outcome: { presetId: r.presetId, title: r.title, rfcSection: r.rfcSection, expectedText: r.expectedText, actualText: r.actualText, asExpected: r.asExpected, bytesSent: r.bytesSent } };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  private steppers = new Map<number, ByteStepper>();
  private nextStepper = 1;

  /** Issue 10 §6: at most ByteStepLimits.maxInput bytes, checked before the hex is even parsed. */
  byteStepStart(hex: string, receiverRole: Role, options: ByteStepOptions = {}) {
    const tooMuch = `Bytes: at most ${ByteStepLimits.maxInput} bytes (1 MiB) can be stepped through; step a part of them, a frame at a time.`;
    if (hex.length > maxByteStepHexChars) return { ok: false as const, error: tooMuch };
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex);
    } catch (error) {
      return { ok: false as const, error: `Bytes: ${(error as Error).message}` };
    }
    if (bytes.length === 0) return { ok: false as const, error: 'Give at least one byte to step through.' };
    if (bytes.length > ByteStepLimits.maxInput) return { ok: false as const, error: `${tooMuch} (These are ${bytes.length}.)` };
    if (receiverRole !== 'server' && receiverRole !== 'client') return { ok: false as const, error: 'The receiver is a server or a client.' };
    const sessionId = this.nextStepper++;
    const stepper = new ByteStepper(bytes, receiverRole, options);
    this.steppers.set(sessionId, stepper);
    // Keep a handful of sessions; old ones go.
    for (const key of this.steppers.keys()) if (this.steppers.size > 8) this.steppers.delete(key);
    return { ok: true as const, sessionId, snapshot: stepper.snapshot() };
  }

  byteStepFeed(sessionId: number, count: number) {
    const stepper = this.steppers.get(sessionId);
    if (!stepper) return { ok: false as const, error: 'That byte-stepping session has ended; start again.' };
    if (count < 0) {
      stepper.reset();
      return { ok: true as const, snapshot: stepper.snapshot() };
    }
    return { ok: true as const, snapshot: stepper.feed(count) };
  }

  // ------------------------------------------------------------ conformance battery

  private conformance: ConformanceProgress = {
    running: false, mode: null, target: '', done: 0, total: 0, totals: { passed: 0, failed: 0, nonStrict: 0 }, cases: [], error: null,
  };
  private conformanceWires = new Map<string, TraceEvent[]>();
  private conformanceDirty = false;

  /**
   * Starts the battery in the background; progress arrives in batches. Wire logs are kept for
   * the last run only, to open any case in the frame inspector.
   */
  async runConformance(request: ConformanceRequest): Promise<Result<{ progress: ConformanceProgress }>> {
    if (this.conformance.running) return { ok: false, error: 'A conformance run is already going.' };
    if (request.mode === 'client') {
      if (!request.launch.includes('{url}')) return { ok: false, error: 'The launch command must contain {url}, where the client should connect.' };
      const refused = await this.confirmAction({ kind: 'launch-command', command: request.launch }, request.confirmToken);
      if (refused) return refused;
      if (this.conformance.running) return { ok: false, error: 'A conformance run is already going.' };
    }
    let target: string;
    let run: (options: BatteryOptions) => Promise<ConformanceReport>;
    try {
      if (request.mode === 'server') {
        target = parseWebSocketUrl(request.url).url;
        run = (options) => runServerBattery(target, options);
      } else if (request.mode === 'client') {
        if (!request.launch.includes('{url}')) throw new Error('The launch command must contain {url}, where the client should connect.');
        target = request.launch;
        run = (options) => runClientBattery(request.launch, options);
      } else {
        target = 'this app\'s own client';
        run = (options) => runClientBattery((url) => {
          const { connection } = connectClient(url, { onMessage: (c, m) => { if (c.state === 'OPEN') m.text !== undefined ? c.sendText(m.text) : c.sendBinary(m.data); } });
          return () => connection.destroy();
        }, options);
      }
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    this.conformanceWires.clear();
    this.conformance = { running: true, mode: request.mode, target, done: 0, total: 0, totals: { passed: 0, failed: 0, nonStrict: 0 }, cases: [], error: null };
    this.markConformance();
    void run({
      ...(request.cases?.length ? { cases: request.cases } : {}),
      // Tested against the embedded server, its peers are known by this and listed apart.
      ...(request.mode === 'server' ? { headers: [{ name: 'User-Agent', value: BATTERY_USER_AGENT }] } : {}),
      onCase: (result, done, total) => {
        this.conformanceWires.set(result.id, result.wire.map((e) => ({ ...e, connectionId: `conformance:${result.id}` })));
        const { id, category, categoryName, description, rfcSection, outcome, reason, durationMs } = result;
        this.conformance.cases.push({ id, category, categoryName, description, rfcSection, outcome, reason, durationMs });
        this.conformance.done = done;
        this.conformance.total = total;
        const t = this.conformance.totals;
        if (outcome === 'pass') t.passed++;
        else if (outcome === 'fail') t.failed++;
        else t.nonStrict++;
        this.markConformance();
      },
    }).then(
      () => {
        this.conformance.running = false;
        this.markConformance();
      },
      (error: Error) => {
        this.conformance.running = false;
        this.conformance.error = error.message;
        this.markConformance();
      },
    );
    return { ok: true, progress: this.conformanceProgress() };
  }

  /** The full bytes of a frame that was cut for display (while it is still in the ring). */
  frameBytes(connectionId: string, frameId: number): Result<{ raw: Uint8Array; payload: Uint8Array }> {
    const full = this.fullFrames.get(`${connectionId}:${frameId}`);
    if (!full) return { ok: false, error: 'Those bytes are no longer kept (only the most recent large frames are).' };
    return { ok: true, raw: full.raw, payload: full.payload };
  }

  /** The search box over the full bytes of this connection's frames that were cut for display. */
  searchCutFrames(connectionId: string, search: string): Result<{ frameIds: number[] }> {
    try {
      return { ok: true, frameIds: searchFullFrames(this.fullFrames, connectionId, search) };
    } catch (e) {
      if (e instanceof SearchError) return { ok: false, error: e.message };
      throw e;
    }
  }

  /** The socket writes (or reads) that carried frames first..last of a connection, while they are kept. */
  rawCarriers(request: RawCarriersRequest): Result<RawCarriers> {
    return this.rawChunks.carriers(request);
  }

  // ------------------------------------------------------------ sessions (issue 13)

  /**
   * Opens a recording file read-only, streaming: its connections join the list (ids "recN:…",
   * detail "recording (read-only)…") as they are replayed, and their events go out in the batches
   * as they are made (a batch at most RECORDING_BATCH_EVENTS long); the service keeps none of them.
   * The progress (bytes read, connections replayed, frames loaded) goes out with the status.
   * `name`: how the person knows the file. `ownedDir`: a private folder holding the file (an
   * upload), removed when the recording closes. `maxFrames`: the page's frame ring (no more are loaded).
   */
  async openRecording(path: string, name = path, options: { ownedDir?: string; maxFrames?: number } = {}): Promise<Result<{ recording: RecordingInfo; warning: string | null }>> {
    const opening: NonNullable<InspectorStatus['opening']> = { name: name.slice(0, 200), bytesRead: 0, totalBytes: 0, phase: 'reading', frames: 0 };
    this.openingRecording = opening;
    // The whole status goes out with the progress, so at most every STATUS_WHILE_OPENING_MS.
    let statusSentAt = 0;
    const statusNow = () => {
      const now = performance.now();
      if (now - statusSentAt < STATUS_WHILE_OPENING_MS) return;
      statusSentAt = now;
      this.markStatusChanged();
    };
    try {
      return await this.sessions.openFile(path, name, {
        onEvent: (event) => {
          this.pending.add(event);
          if (this.pending.count >= RECORDING_BATCH_EVENTS) this.flush();
          else this.scheduleFlush();
        },
        onSummary: statusNow,
        onProgress: (progress) => {
          Object.assign(opening, progress);
          statusNow();
        },
        ...(this.recordingPace ? { pace: this.recordingPace } : {}),
        ...(options.ownedDir ? { ownedDir: options.ownedDir } : {}),
        ...(options.maxFrames ? { maxFrames: options.maxFrames } : {}),
      });
    } finally {
      if (this.openingRecording === opening) this.openingRecording = null;
      this.markStatusChanged();
    }
  }

  /**
   * Backpressure for opening recordings: `pace` resolves when the batches' consumers can take more
   * (the web host: no page is behind). An open waits on it between slices.
   */
  setRecordingPace(pace: (() => Promise<void>) | null): void {
    this.recordingPace = pace;
  }

  closeRecording(prefix: string): Result {
    const result = this.sessions.close(prefix);
    if (result.ok) this.markStatusChanged();
    return result;
  }

  startRecording(cap: number): Result<{ recorder: RecorderStatus }> {
    const result = this.sessions.startRecording(this.tracer, cap, (id) => this.proxyMode.recordedLegOf(id));
    this.markStatusChanged();
    return result;
  }

  stopRecording(): Result<{ recorder: RecorderStatus }> {
    const result = this.sessions.stopRecording();
    this.markStatusChanged();
    return result;
  }

  saveSession(): Result<{ bytes: Uint8Array; name: string }> {
    return this.sessions.sessionFileBytes();
  }

  exportSession(request: ExportRequest): Promise<Result<{ bytes: Uint8Array; name: string; connections: number }>> {
    return this.sessions.export(request);
  }

  // ------------------------------------------------------------ saved work (issue 13)

  private savedWorkFile(): string {
    return savedWorkPath(this.configDir ?? configDirectory());
  }

  getSavedWork(): SavedWork {
    return loadSavedWork(this.savedWorkFile());
  }

  setSavedWork(value: unknown): Result<{ work: SavedWork }> {
    const parsed = parseSavedWork(value);
    if (typeof parsed === 'string') return { ok: false, error: `Saved work: ${parsed}.` };
    if (parsed.skipped > 0) return { ok: false, error: `Saved work: ${parsed.skipped} entr${parsed.skipped === 1 ? 'y is' : 'ies are'} not valid; nothing was saved.` };
    const problem = storeSavedWork(parsed.work, this.savedWorkFile());
    return problem ? { ok: false, error: problem } : { ok: true, work: parsed.work };
  }

  importSavedWork(text: string): Result<{ work: SavedWork; skipped: number }> {
    const parsed = readSavedWorkText(text);
    if (typeof parsed === 'string') return { ok: false, error: `That file is ${parsed}.` };
    const work = mergeSavedWork(this.getSavedWork(), parsed.work);
    const problem = storeSavedWork(work, this.savedWorkFile());
    return problem ? { ok: false, error: problem } : { ok: true, work, skipped: parsed.skipped };
  }

  /** Sends saved messages in order on a live connection, waiting where a step says. */
  async runSequence(connectionId: string, steps: SavedStep[]): Promise<Result<{ sent: number }>> {
    if (!this.findConnection(connectionId)) return { ok: false, error: `Connection ${connectionId} is not a live connection (a recording is read-only).` };
    let sent = 0;
    for (const [i, step] of steps.entries()) {
      if (step.kind === 'wait') {
        await new Promise((resolve) => setTimeout(resolve, step.ms));
        continue;
      }
      const request: SendRequest = step.kind === 'text' ? { connectionId, kind: 'text', text: step.text }
        : step.kind === 'binary' ? { connectionId, kind: 'binary', hex: step.hex }
          : step.kind === 'close' ? { connectionId, kind: 'close', code: step.code, reason: step.reason }
            : { connectionId, kind: step.kind, text: step.text };
      const result = this.send(request);
      if (!result.ok) return { ok: false, error: `Step ${i + 1} (${step.kind}) was not sent: ${result.error} ${sent} message${sent === 1 ? ' was' : 's were'} sent before it.` };
      sent++;
    }
    return { ok: true, sent };
  }

  conformanceWire(caseId: string): Result<{ events: TraceEvent[] }> {
    const events = this.conformanceWires.get(caseId);
    if (!events) return { ok: false, error: `No wire log for case ${caseId} (run the battery first).` };
    return { ok: true, events };
  }

  private conformanceProgress(): ConformanceProgress {
    return { ...this.conformance, totals: { ...this.conformance.totals }, cases: [...this.conformance.cases] };
  }

  private markConformance(): void {
    this.conformanceDirty = true;
    this.scheduleFlush();
  }

  /**
   * An error nobody caught (the process-level last resort, last-resort.ts): it goes into the
   * trace under SERVICE_TRACE_ID, so the page shows it, and the service keeps serving.
   */
  reportInternalError(message: string): void {
    this.tracer.emit(SERVICE_TRACE_ID, { type: 'error', message });
  }

  /** Closes everything (app quit, test teardown). */
  async dispose(): Promise<void> {
    for (const conn of this.clients.values()) conn.destroy();
    await this.stopServer();
    await this.proxyMode.dispose();
    this.sessions.dispose();
    this.flush();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.listeners.clear();
  }
}

/** Encodes a frame from its fields, valid or not (§5.2). */
export function encodeFields(f: FrameFields): Uint8Array {
  if (!Number.isInteger(f.opcode) || f.opcode < 0 || f.opcode > 15) throw new Error('The opcode is 4 bits: 0 to 15.');
  if (f.compress) throw new Error('Only the crafter compresses a payload (craft with compress); here the payload goes as given.');
  const payload = fromHex(f.payloadHex);
  let maskKey: Uint8Array | null = null;
  if (f.masked) {
    maskKey = f.maskKeyHex && f.maskKeyHex.trim() ? fromHex(f.maskKeyHex) : randomMaskKey();
    if (maskKey.length !== 4) throw new Error(`The masking key is 4 bytes (got ${maskKey.length}).`);
  }
  if (f.declaredLength !== undefined && (!Number.isInteger(f.declaredLength) || f.declaredLength < 0)) throw new Error('The declared length is a whole number of bytes.');
  return encodeFrame({
    opcode: f.opcode, payload, fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3, maskKey,
    ...(f.lengthEncoding ? { lengthEncoding: f.lengthEncoding } : {}),
    ...(f.declaredLength !== undefined ? { declaredLength: f.declaredLength } : {}),
  });
}
