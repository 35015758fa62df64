/**
 * The one typed interface between the renderer and the inspector service. Electron's preload
 * implements it over IPC (one channel per function); the web host's bridge implements it over
 * HTTP and server-sent events. The renderer cannot tell which one it talks to.
 */

import type { ByteStepOptions, ByteStepSnapshot } from '../core/byte-step-types.ts';
import type { Breakpoint, GateSnapshot } from '../core/frame-gate.ts';
import type { ConnectionState, Role, TraceEvent } from '../core/trace.ts';
import type { TlsCertificateInfo } from '../core/tls-types.ts';
import type { SavedStep, SavedWork } from './saved-work.ts';
import type { ProxyCaAction, ProxyLeg, ProxyStatus, StartProxyRequest } from './proxy-api.ts';
import type { RawCarriers, RawCarriersRequest } from './raw-chunks-api.ts';
import type { FrameFold } from './frame-fold.ts';
import type { EncodedEvents } from './trace-batch.ts';

export type { Breakpoint, ByteStepOptions, ByteStepSnapshot, GateSnapshot };
export type { ProxyLeg, ProxyStatus, StartProxyRequest };
export type { RawCarriers, RawCarriersRequest };
export type ViolationPolicy = 'strict' | 'observe';

export type AppName = 'echo' | 'chat' | 'manual';
export const appNames: readonly AppName[] = ['echo', 'chat', 'manual'];

export interface ServerStatus {
  running: boolean;
  host: string;
  port: number;
  url: string | null;
  app: AppName;
  /** Why the last start failed, in plain words (e.g. the port is in use). */
  error: string | null;
  /** Shown while bound to an address other machines can reach. */
  warning: string | null;
  /** wss:// (RFC 6455 §10.6): the certificate the server presents; null for ws://. */
  tls: ServerTlsStatus | null;
  /** Subprotocols the server speaks (§4.2.2 item 4, /subprotocol/, and 5.5): it picks the first one a client offers. Absent: none. */
  subprotocols?: string[];
}

/** The embedded server's TLS: its certificate and where it is kept. */
export interface ServerTlsStatus {
  certificate: TlsCertificateInfo;
  /** The certificate file (the generated one in the config directory, or the one given). */
  certPath: string;
  /** Made on first use (or renewed) in the config directory rather than given as files. */
  generated: boolean;
}

export interface ConnectionSummary {
  id: string;
  role: Role;
  /** Peer address, "127.0.0.1:53422". */
  remote: string;
  /** Client connections: the URL asked for. */
  url?: string;
  state: ConnectionState;
  subprotocol: string | null;
  /** Why it failed or closed, if it did. */
  detail?: string;
  openedAt: number;
  policy: ViolationPolicy;
  /** Step mode: held frames and breakpoints (null until step mode is first used). */
  gate: GateSnapshot | null;
  /** Proxy mode (issue 12): this connection is one leg of a proxied conversation. */
  proxyLeg?: ProxyLeg;
  /** A peer of the embedded server opened by this app's conformance battery (listed apart from the person's own). */
  conformance?: true;
}

export interface InspectorStatus {
  server: ServerStatus;
  connections: ConnectionSummary[];
  /** Proxy mode (issue 12): the reverse proxy the service runs. */
  proxy?: ProxyStatus;
  /** Recordings open read-only (issue 13); their connections are in `connections`, ids prefixed. */
  recordings?: RecordingInfo[];
  /** The Record button's session recorder. */
  recorder?: RecorderStatus;
  /**
   * A recording file being opened: bytes read of its size ('reading': each connection is replayed
   * as it ends in the file), then the connections still open at its end replayed ('replaying':
   * `replayed` of `toReplay`); `frames` loaded so far; `prefix`: the recording's (closing it stops).
   */
  opening?: { name: string; bytesRead: number; totalBytes: number; phase?: 'reading' | 'replaying'; replayed?: number; toReplay?: number; frames?: number; prefix?: string } | null;
}

/** A recording file open read-only: its connections' ids start with `prefix` ("rec1:"). */
export interface RecordingInfo {
  prefix: string;
  /** The file's name as the page gave it. */
  name: string;
  kind: 'session' | 'json' | 'har' | 'capture';
  connections: number;
  frames: number;
  /** Why the file was read only in part (everything before it is shown), or null. */
  error: string | null;
}

export interface RecorderStatus {
  recording: boolean;
  /** Payload bytes kept per frame. */
  cap: number | null;
  startedAt: number | null;
  /** The session file's size so far. */
  bytes: number;
}

export type ExportFormat = 'pcapng' | 'har' | 'json';
export const exportFormats: readonly ExportFormat[] = ['pcapng', 'har', 'json'];

/** Export open recordings and the session recording: everything, or these connections. */
export interface ExportRequest {
  format: ExportFormat;
  connectionIds?: string[];
  /** Only these frames of one connection (with its opening handshake). */
  frames?: { connectionId: string; frameIds: number[] };
}

/** The web host's upload endpoint for a recording file (raw bytes, this run's token, a size cap). */
export const RECORDING_UPLOAD_PATH = '/upload/recording';

/**
 * Actions a request alone must not trigger (src/service/confirmation.ts): running a command on
 * this machine, and binding the embedded server where other machines can reach it.
 */
export type DangerousAction =
  | { kind: 'launch-command'; command: string }
  | { kind: 'bind-address'; host: string; port: number; service?: 'proxy' };

/** The web host's answer to a dangerous request: ask the person, then repeat it with `confirmToken`. */
export interface ConfirmationPrompt {
  token: string;
  action: DangerousAction;
  /** The question, in plain words, naming exactly what will happen. */
  prompt: string;
  /** Milliseconds since the epoch after which the token is refused. */
  expiresAt: number;
}

export type Result<T = object> = ({ ok: true } & T) | { ok: false; error: string; confirm?: ConfirmationPrompt };

export interface StartServerRequest {
  host?: string;
  port?: number;
  app?: AppName;
  policy?: ViolationPolicy;
  /** Accept only these Origin values; other browsers get 403 (RFC 6455 §10.2). Omitted: any origin. */
  allowedOrigins?: string[];
  /** At most this many connections at a time (1-1,000,000); one more is answered 503 Service Unavailable. Omitted: no cap. */
  maxConnections?: number;
  /** Close an open connection with no bytes either way for this long (1-86,400,000 ms) with 1001 Going Away. Omitted: off. */
  idleTimeoutMs?: number;
  /** permessage-deflate (RFC 7692): false declines every offer. Omitted: on. */
  deflate?: boolean;
  /** The largest message (and frame) the server takes (1-2^31 bytes); a longer one fails with 1009 (RFC 6455 §7.4.1, §10.4). Omitted: the default, 64 MiB. */
  maxMessageSize?: number;
  /** Serve wss:// (RFC 6455 §10.6): with certPath and keyPath, or else the self-signed localhost certificate. */
  tls?: boolean;
  /** PEM certificate (chain after it) and private key files; both or neither. They imply tls. */
  certPath?: string;
  keyPath?: string;
  /** The token of a confirmation prompt the person accepted (binding a non-loopback address). */
  confirmToken?: string;
  /** Subprotocols the server speaks, in order of preference (§4.2.2 item 4, /subprotocol/, and 5.5); each a token (§4.1 (10)). */
  subprotocols?: string[];
}

export interface ConnectClientRequest {
  url: string;
  subprotocols?: string[];
  /** Extra handshake headers as "Name: value" lines. */
  headers?: string[];
  policy?: ViolationPolicy;
  /** wss://: extra CAs to trust on top of the system's, each a file name or PEM text. */
  ca?: string[];
  /** wss://: do not insist on a verified certificate (the connection is flagged insecure). */
  insecure?: boolean;
  /** permessage-deflate (RFC 7692): false offers none. Omitted: on. */
  deflate?: boolean;
}

/** A frame described field by field, valid or not (the crafter and the held-frame editor). */
export interface FrameFields {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  /** 0-15, reserved ones included. */
  opcode: number;
  /** Set the MASK bit and mask the payload. */
  masked: boolean;
  /** 4 bytes as hex; empty: a fresh random key. */
  maskKeyHex?: string;
  payloadHex: string;
  lengthEncoding?: 'minimal' | '7-bit' | '16-bit' | '64-bit';
  /** Put this in the length field instead of the real payload length. */
  declaredLength?: number;
  /**
   * Crafter: payloadHex is the plain payload; deflate it with the connection's agreed
   * permessage-deflate window size, on its own (a fresh compressor, none of the connection's
   * window), and strip the 00 00 ff ff tail (RFC 7692 §7.2.1). RSV1 stays as given.
   */
  compress?: boolean;
}

/** A payload compressed on its own, as the crafter's "compress this payload" sends it. */
export interface CompressedPayload {
  /** The frame's payload: DEFLATE data without the 4-octet tail. */
  compressedHex: string;
  /** The LZ77 window the sender agreed to compress with (base-2 log, 8..15). */
  windowBits: number;
  /** The windowBits zlib is given (8 runs as 9). */
  zlibWindowBits: number;
}

export interface CraftRequest {
  connectionId: string;
  frame: FrameFields;
  /** Sizes of the successive TCP writes (empty: one write), and the pause between them. */
  writes?: number[];
  delayMs?: number;
}

export interface PresetInfo {
  id: string;
  title: string;
  group: string;
  rfcSection: string;
  explanation: string;
  expectedText: string;
  /** Only on a connection that agreed this in its handshake (absent: any connection). */
  needs?: 'no-extension' | 'permessage-deflate';
}

export interface FaultOutcome {
  presetId: string;
  title: string;
  rfcSection: string;
  expectedText: string;
  actualText: string;
  asExpected: boolean;
  bytesSent: number;
}

/** Run the conformance battery against a server URL, a client launched per case, or our own client. */
export type ConformanceRequest =
  | { mode: 'server'; url: string; cases?: string[] }
  | { mode: 'client'; launch: string; cases?: string[]; confirmToken?: string }
  | { mode: 'own-client'; cases?: string[] };

/** One case's result without its wire log (fetched on demand with conformanceWire). */
export interface ConformanceCaseSummary {
  id: string;
  category: number;
  categoryName: string;
  description: string;
  rfcSection: string;
  outcome: 'pass' | 'non-strict' | 'fail';
  reason: string;
  durationMs: number;
}

export interface ConformanceProgress {
  running: boolean;
  mode: ConformanceRequest['mode'] | null;
  target: string;
  done: number;
  total: number;
  totals: { passed: number; failed: number; nonStrict: number };
  /** Results so far, in completion order. */
  cases: ConformanceCaseSummary[];
  error: string | null;
}

export type StepAction = 'step-in' | 'step-out' | 'step' | 'continue' | 'resume';

export type SendRequest =
  | { connectionId: string; kind: 'text'; text: string; fragments?: number[] }
  | { connectionId: string; kind: 'binary'; hex: string; fragments?: number[] }
  | { connectionId: string; kind: 'ping' | 'pong'; text?: string }
  /**
   * anyCode: send the code even where the RFC forbids it on the wire (§7.4.1: 1005, 1006, 1015;
   * §7.4.2: 0-999, undefined 1000-2999, 5000 up), to test the peer. Without it such a code is refused.
   */
  | { connectionId: string; kind: 'close'; code?: number | null; reason?: string; anyCode?: boolean };

/** What the service pushes: trace events in batches, and status when it changes. */
export interface ServiceBatch {
  events: TraceEvent[];
  /**
   * In the service's process only (its batches to the bridges): the events traced as rows,
   * encoded as they came (trace-batch.ts), before `events`. eventsOf() reads both; the bridges
   * send them as they are. Readable only while the batch's listeners run (the service lends its
   * own buffers, then writes the next events over them). A batch the page decodes has only `events`.
   */
  trace?: EncodedEvents;
  status?: InspectorStatus;
  /** Present while a conformance run progresses, and once when it ends. */
  conformance?: ConformanceProgress;
  /**
   * Web host only: this many events never reached this subscriber because it read too slowly
   * (its queue passed the limit). The service still has them; this view has a gap, and says so.
   */
  dropped?: number;
  /**
   * This event stream's id (the web host: first batch; Electron: every batch) and each batch's
   * number, which the page acknowledges once it applied the batch (ackEvents: POST on the web
   * host, IPC in Electron): how the service knows the page is
   * behind, and folds its frames (src/service/frame-folding.ts).
   */
  stream?: number;
  seq?: number;
  /** Frames folded for this page instead of sent (it could not show them in time): exact counts. */
  folds?: FrameFold[];
  /**
   * Instead of the whole status, when only connections changed: the summaries of those that did
   * and the ids that left the list, applied to the status the page has (10,000 connections must
   * not cost a 2.5 MB status per push).
   */
  statusPatch?: StatusPatch;
}

/** Changes to InspectorStatus.connections since the last push (and the proxy's state, which follows them). */
export interface StatusPatch {
  connections: ConnectionSummary[];
  removed: string[];
  proxy: ProxyStatus;
}

export interface InspectorApi {
  getStatus(): Promise<InspectorStatus>;
  startServer(request: StartServerRequest): Promise<Result<{ url: string }>>;
  stopServer(): Promise<Result>;
  setServerApp(app: AppName): Promise<Result>;
  connectClient(request: ConnectClientRequest): Promise<Result<{ id: string }>>;
  send(request: SendRequest): Promise<Result>;
  /** Drop TCP without a closing handshake. */
  dropConnection(connectionId: string): Promise<Result>;
  /** Forgets closed connections (these ids, or every closed one) with their frames; open ones stay. */
  removeClosed(connectionIds?: string[]): Promise<Result<{ removed: number }>>;
  // Proxy mode (issue 12).
  startProxy(request: StartProxyRequest): Promise<Result<{ url: string }>>;
  stopProxy(): Promise<Result>;
  /** The local CA for the forward proxy's TLS interception: create, regenerate or remove (its state is in the status). */
  proxyCa(action: ProxyCaAction): Promise<Result>;
  // Step mode, crafting and faults (issue 4).
  setStepMode(connectionId: string, on: boolean): Promise<Result>;
  setBreakpoints(connectionId: string, breakpoints: Breakpoint[]): Promise<Result>;
  stepControl(connectionId: string, action: StepAction): Promise<Result>;
  editHeld(connectionId: string, holdId: number, frame: FrameFields): Promise<Result<{ hex: string }>>;
  dropHeld(connectionId: string, holdId: number): Promise<Result>;
  setPolicy(connectionId: string, policy: ViolationPolicy): Promise<Result>;
  craft(request: CraftRequest): Promise<Result<{ hex: string }>>;
  listPresets(): Promise<PresetInfo[]>;
  firePreset(connectionId: string, presetId: string): Promise<Result<{ outcome: FaultOutcome }>>;
  /**
   * What the crafter's "compress this payload" puts in the frame (FrameFields.compress): the
   * same compression craft() applies, for the preview. Needs permessage-deflate agreed.
   */
  compressPayload(connectionId: string, payloadHex: string): Promise<Result<CompressedPayload>>;
  /**
   * Byte stepping: start a session on some bytes, as received by a server or a client;
   * options.deflate: with permessage-deflate agreed (default parameters).
   */
  byteStepStart(hex: string, receiverRole: Role, options?: ByteStepOptions): Promise<Result<{ sessionId: number; snapshot: ByteStepSnapshot }>>;
  byteStepFeed(sessionId: number, count: number): Promise<Result<{ snapshot: ByteStepSnapshot }>>;
  /** The full bytes of a frame shown cut (frame.truncated), while the service still keeps them. */
  frameBytes(connectionId: string, frameId: number): Promise<Result<{ raw: Uint8Array; payload: Uint8Array }>>;
  /**
   * The search box over the frames shown cut (frame.truncated) whose full bytes the service
   * still keeps: the ids of those whose whole payload (or wire bytes, for hex:) matches. The
   * renderer searches what it holds itself; this finds a needle past the first 64 KiB.
   */
  searchCutFrames(connectionId: string, search: string): Promise<Result<{ frameIds: number[] }>>;
  /** The socket writes (or reads) that carried the bytes of frames first..last (src/service/raw-chunks.ts), as far as they are still kept. */
  rawCarriers(request: RawCarriersRequest): Promise<Result<RawCarriers>>;
  // Conformance battery (issue 5).
  runConformance(request: ConformanceRequest): Promise<Result<{ progress: ConformanceProgress }>>;
  /** A finished case's wire log: trace events to open in the frame inspector. */
  conformanceWire(caseId: string): Promise<Result<{ events: TraceEvent[] }>>;
  // Sessions (issue 13).
  /** Opens a recording file on this machine by path (Electron's file dialog, tests). The web page uploads instead. */
  openRecording(path: string): Promise<Result<{ recording: RecordingInfo; warning: string | null }>>;
  closeRecording(prefix: string): Promise<Result>;
  /** Starts recording every live connection to a session file, each frame's payload cut to `cap` bytes. */
  startRecording(cap: number): Promise<Result<{ recorder: RecorderStatus }>>;
  stopRecording(): Promise<Result<{ recorder: RecorderStatus }>>;
  /** The session file recorded so far, to download. */
  saveSession(): Promise<Result<{ bytes: Uint8Array; name: string }>>;
  exportSession(request: ExportRequest): Promise<Result<{ bytes: Uint8Array; name: string; connections: number }>>;
  /** Saved connections and messages, kept in the config directory. */
  getSavedWork(): Promise<SavedWork>;
  /** Replaces what is kept (the page edits the whole document). */
  setSavedWork(work: SavedWork): Promise<Result<{ work: SavedWork }>>;
  /** Merges a saved-work file's text into what is kept (same names replaced); entries that do not fit are skipped and counted. */
  importSavedWork(text: string): Promise<Result<{ work: SavedWork; skipped: number }>>;
  /** Sends the steps on a live connection in order, waiting where a step says; stops at the first that fails. */
  runSequence(connectionId: string, steps: SavedStep[]): Promise<Result<{ sent: number }>>;
  /** Subscribe to pushed batches; returns the unsubscribe function. */
  onBatch(listener: (batch: ServiceBatch) => void): () => void;
}

/**
 * What the preload exposes as window.inspector: InspectorApi, except that pushed batches arrive
 * as bytes (one binary batch of src/shared/trace-batch.ts each; the name onBatchJson is from when
 * they were wire JSON), decoded in the page (renderer/src/bridge.ts). A
 * frame's bytes in the main process are views into socket reads of up to 64 KiB, and cloning a
 * view for IPC copies its whole buffer: as text, only the frame's own bytes cross, and the page
 * decodes a batch into one buffer, exactly as it does from the web host.
 */
export interface PreloadApi extends Omit<InspectorApi, 'onBatch'> {
  onBatchJson(listener: (batch: Uint8Array) => void): () => void;
  /** The page applied every batch of `stream` up to `seq` (src/main/window-stream.ts folds and paces by it). */
  ackEvents(arg: { stream: number; seq: number }): Promise<Result>;
}

/** The IPC channel names, one per function (Electron's security guide). */
export const channels = {
  getStatus: 'inspector:get-status',
  startServer: 'inspector:start-server',
  stopServer: 'inspector:stop-server',
  setServerApp: 'inspector:set-server-app',
  connectClient: 'inspector:connect-client',
  send: 'inspector:send',
  dropConnection: 'inspector:drop-connection',
  removeClosed: 'inspector:remove-closed',
  startProxy: 'inspector:start-proxy',
  stopProxy: 'inspector:stop-proxy',
  proxyCa: 'inspector:proxy-ca',
  setStepMode: 'inspector:set-step-mode',
  setBreakpoints: 'inspector:set-breakpoints',
  stepControl: 'inspector:step-control',
  editHeld: 'inspector:edit-held',
  dropHeld: 'inspector:drop-held',
  setPolicy: 'inspector:set-policy',
  craft: 'inspector:craft',
  compressPayload: 'inspector:compress-payload',
  listPresets: 'inspector:list-presets',
  firePreset: 'inspector:fire-preset',
  byteStepStart: 'inspector:byte-step-start',
  byteStepFeed: 'inspector:byte-step-feed',
  frameBytes: 'inspector:frame-bytes',
  searchCutFrames: 'inspector:search-cut-frames',
  rawCarriers: 'inspector:raw-carriers',
  runConformance: 'inspector:run-conformance',
  conformanceWire: 'inspector:conformance-wire',
  openRecording: 'inspector:open-recording',
  closeRecording: 'inspector:close-recording',
  startRecording: 'inspector:start-recording',
  stopRecording: 'inspector:stop-recording',
  saveSession: 'inspector:save-session',
  exportSession: 'inspector:export-session',
  getSavedWork: 'inspector:get-saved-work',
  setSavedWork: 'inspector:set-saved-work',
  importSavedWork: 'inspector:import-saved-work',
  runSequence: 'inspector:run-sequence',
  batch: 'inspector:batch',
  ackEvents: 'inspector:ack-events',
} as const;
