/**
 * The sans-I/O WebSocket connection (after python-websockets' Protocol): bytes go in through
 * receiveData()/receiveEof(); application events come out of events(), bytes to write out
 * of dataToSend(), and transportAction says when to close TCP. It never touches a socket,
 * so a socket, a test and a "step one byte" button all drive the same object.
 *
 * Every rule is checked here, at the earliest byte that can prove it broken; every
 * violation fails the connection in one place (fail()), with the close code from errors.ts.
 */

import { applyMask, concatBytes, utf8DecodeLenient, utf8Encode } from './bytes.ts';
import { CloseCode, Defaults, describeOpcode, FRAGMENT_COST, isControlOpcode, isKnownOpcode, isValidWireCloseCode, Opcode } from './constants.ts';
import { HandshakeError, ProtocolViolation } from './errors.ts';
import { frameAnatomy } from './fields.ts';
import { encodeClosePayload, encodeFrame, encodeFrameHeader, formatPayloadLength, FrameParser, type Frame, type FrameHeader, type FramePrefix, type FrameSpec } from './frame-codec.ts';
import type { Extension, ServerExtensionNegotiator, ClientExtensionNegotiator, DecodedChunk, EncodedMessage } from './extensions/extension.ts';
import { formatExtensionHeader } from './extensions/extension-header.ts';
import { clientDeflateNegotiator, disabledServerDeflateNegotiator, serverDeflateNegotiator, type DeflateSetting } from './extensions/permessage-deflate.ts';
import { answerClientHandshake, buildClientRequest, checkServerResponse, errorResponse } from './handshake.ts';
import { headerValue, HttpHeadParser, parseHead, type HttpHead, type HttpHeader } from './http.ts';
import { messageBody, type TraceRows, type TraceSink, type ConnectionState, type Direction, type Role, type TraceBody, type TracedFrame, type TracedFrameDeflate, type TracedHead, type TracedMessageCompression, type TracedViolation } from './trace.ts';
import { Utf8Validator } from './utf8.ts';

/** A chunk of output, tagged with what it is (the frame gate holds only frames). */
export interface OutputChunk {
  bytes: Uint8Array;
  kind: 'head' | 'frame' | 'raw';
  /**
   * Set on a large unmasked frame sent with no trace and no step gate: bytes is then the frame's
   * header only and this payload follows it on the wire as it is (written with writev, never
   * copied behind the header). The writer must not change it.
   */
  payload?: Uint8Array;
}

export type ProtocolEvent =
  | { type: 'open'; subprotocol: string | null; request: HttpHead; response: HttpHead | null; /** The agreed Sec-WebSocket-Extensions (null: none). */ extensions?: string | null }
  | { type: 'handshake-failed'; error: HandshakeError }
  /**
   * frameSizes: a fragmented message's plain bytes per frame, in order (absent for a single frame); a relay keeps the fragmentation with them.
   * wire: a message of one unmasked, uncompressed frame, when tracing kept its bytes: that frame as received (a relay may send it on as it is, sendFrameAsReceived).
   */
  | { type: 'message'; opcode: number; data: Uint8Array; text?: string; frameSizes?: number[]; wire?: Uint8Array }
  | { type: 'ping'; payload: Uint8Array }
  | { type: 'pong'; payload: Uint8Array }
  | { type: 'close-received'; code: number | null; reason: string }
  | { type: 'violation'; violation: ProtocolViolation }
  | { type: 'closed'; code: number; reason: string; wasClean: boolean };

/** What the transport should do now. */
export type TransportAction =
  /** Keep reading and writing. */
  | 'none'
  /** Flush what is queued, then close TCP (half-close; the peer's FIN or a timeout ends it). */
  | 'close'
  /** Client after the closing handshake: wait for the server to close TCP, then give up after a timeout (§7.1.1). */
  | 'await-server-close';

/**
 * What to do when the peer breaks a rule. "strict" is the RFC's behaviour: _Fail the WebSocket
 * Connection_. "observe" flags the violation on its frame and keeps the connection open, so a
 * person can keep looking; violations that make going on unsafe (too big, unrepresentable
 * lengths) still fail.
 */
export type ViolationPolicy = 'strict' | 'observe';

export interface ProtocolOptions {
  role: Role;
  /** Default "strict". */
  policy?: ViolationPolicy;
  /** Start in OPEN, without an opening handshake (byte stepping, tests of framing alone). */
  startOpen?: boolean;
  /**
   * With startOpen: an extension in force from the start, as if the handshake had agreed it
   * (the byte stepper's "permessage-deflate agreed", see extensions/default-agreement.ts).
   */
  startOpenExtension?: Extension;
  /** Messages larger than this fail with 1009. */
  maxMessageSize?: number;
  /** A single frame longer than this fails with 1009 as soon as its header is read (default: only maxMessageSize applies). */
  maxFrameSize?: number;
  /** A fragmented message with more frames than this fails with 1008 (default Defaults.maxFragments). */
  maxFragments?: number;
  /** Larger HTTP heads are answered with 431 (server) or fail (client). */
  maxHeadSize?: number;
  /** Server: subprotocols it speaks. Client: subprotocols it offers. */
  subprotocols?: readonly string[];
  /** Server: accepted Origin values (others get 403). */
  allowedOrigins?: readonly string[];
  /** Server: more headers for the 101 response (a proxy's pass-through; the caller checks them, http-tokens.ts). */
  responseHeaders?: readonly HttpHeader[];
  /**
   * permessage-deflate (RFC 7692), on by default in both roles as in browsers and ws: a client
   * offers it ("permessage-deflate; client_max_window_bits"), a server accepts the first offer it
   * can. false: no offer, every offer declined. A list (client): several offers, in order of
   * preference. Has no effect with startOpen (no handshake, so nothing is negotiated).
   */
  deflate?: DeflateSetting;
  /**
   * Where trace bodies go; omit for no tracing (cheapest). A Tracer's sink (forConnection) also
   * carries row emitters: while every listener keeps rows (a TraceLog), plain frames and messages
   * go as rows, with no event object built.
   */
  trace?: TraceSink;
  /** Also trace every chunk of raw bytes (default true when tracing). */
  traceBytes?: boolean;
  /** Client masking keys (default: fresh random bytes per frame, §5.3). Tests inject fixed ones. */
  maskKeyGenerator?: () => Uint8Array;
  /** Client handshake: Host header value, request target, extra headers, a fixed key for tests. */
  host?: string;
  path?: string;
  headers?: readonly HttpHeader[];
  key?: string;
}

/**
 * From this payload size on, a server frame's payload is written behind its header rather than
 * copied there (queueFrame): below it, a copy into Buffer's pooled memory costs less than one
 * more socket write.
 */
const WRITEV_MIN_PAYLOAD = 4096;

/** Why a message sent in step mode starts from an empty window (encodeOutgoing), as its trace says. */
const STEP_MODE_WINDOW = 'Step mode: a held frame may be dropped or sent edited, its bytes then in our window but never in the peer\'s, so each message is compressed from an empty window (RFC 7692 §7.2.1 lets a sender always start empty).';

/** What takeOutput() and events() return when there is nothing (shared, so frozen). */
const NO_OUTPUT: OutputChunk[] = Object.freeze([]) as unknown as OutputChunk[];
const NO_EVENTS: ProtocolEvent[] = Object.freeze([]) as unknown as ProtocolEvent[];
const NONE: readonly never[] = Object.freeze([]);

/** Thrown from the parser's handler to stop reading (after a Close frame). */
const stopParsing = Symbol('stop parsing');

const randomPool = new Uint8Array(4096);
let randomPoolOffset = randomPool.length;
/** §5.3: "the masking key MUST be derived from a strong source of entropy". Drawn in batches for speed, into `key`. */
function drawMaskKey(key: Uint8Array): Uint8Array {
  if (randomPoolOffset + 4 > randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool);
    randomPoolOffset = 0;
  }
  key[0] = randomPool[randomPoolOffset]!;
  key[1] = randomPool[randomPoolOffset + 1]!;
  key[2] = randomPool[randomPoolOffset + 2]!;
  key[3] = randomPool[randomPoolOffset + 3]!;
  randomPoolOffset += 4;
  return key;
}

/** A fresh masking key of its own (§5.3). */
export function randomMaskKey(): Uint8Array {
  return drawMaskKey(new Uint8Array(4));
}

/**
 * Our own frames' keys (the default maskKeyGenerator): each drawn fresh into this one array, which
 * encodeFrame copies into the frame at once; no 4-byte array per frame (a client masks every frame).
 */
const frameMaskKey = new Uint8Array(4);
const nextFrameMaskKey = (): Uint8Array => drawMaskKey(frameMaskKey);

export function tracedHead(head: HttpHead): TracedHead {
  const startLine = head.kind === 'request' ? `${head.method} ${head.target} ${head.version}` : `${head.version} ${head.status} ${head.reason}`.trimEnd();
  return { kind: head.kind, startLine, headers: head.headers, raw: head.raw };
}

/**
 * Empties an array kept for reuse. `array.length = 0` is a call into V8's runtime every time (even on
 * an empty array) and drops the backing store, so the next push allocates it again; at five per
 * message that was ~6 % of an echo server's CPU at 64 B (perf, issue 17). pop() of the one element a
 * single-frame message leaves stays in the builtin's fast path and keeps the store.
 */
function emptyInPlace(array: unknown[]): void {
  if (array.length === 1) array.pop();
  else if (array.length > 1) array.length = 0;
}

function tracedViolation(v: ProtocolViolation): TracedViolation {
  return { code: v.code, closeCode: v.closeCode, message: v.message, rfcSection: v.rfcSection, rule: v.rule };
}

/** §5.5.1: parse a close body into code and reason, validating both. */
export function parseClosePayload(payload: Uint8Array): { code: number | null; reason: string } {
  if (payload.length === 0) return { code: null, reason: '' };
  if (payload.length === 1) {
    throw new ProtocolViolation('WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', 'The Close frame has a 1-byte body; a status code needs 2 bytes.');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidWireCloseCode(code)) {
    throw new ProtocolViolation('WS_ERR_INVALID_CLOSE_CODE', `Close code ${code} may not be sent on the wire.`);
  }
  const reasonBytes = payload.subarray(2);
  const validator = new Utf8Validator();
  if (!validator.push(reasonBytes) || !validator.complete) {
    throw new ProtocolViolation('WS_ERR_INVALID_CLOSE_REASON', `The close reason is not valid UTF-8 (byte ${validator.failedAt < 0 ? reasonBytes.length : validator.failedAt} of the reason).`);
  }
  return { code, reason: utf8DecodeLenient(reasonBytes) };
}

/** A handshake head as kept: parsed, or its bytes once the handshake is over (parsed again here; they parsed before). */
function readHead(kept: HttpHead | Uint8Array | null, kind: 'request' | 'response'): HttpHead | null {
  return kept instanceof Uint8Array ? parseHead(kept, kind) : kept;
}

export class WebSocketProtocol {
  readonly role: Role;
  private _state: ConnectionState = 'CONNECTING';
  private readonly maxMessageSize: number;
  private readonly maxFrameSize: number;
  private readonly maxFragments: number;
  private readonly options: ProtocolOptions;
  private readonly trace: ((body: TraceBody) => void) | undefined;
  /** The trace's row emitters (TraceSink.rows), used while they are ready. */
  private readonly traceRows: TraceRows | undefined;
  private readonly traceBytes: boolean;
  private readonly maskKey: () => Uint8Array;

  private headParser: HttpHeadParser | null;
  private readonly parser: FrameParser;
  private output: OutputChunk[] = [];
  policy: ViolationPolicy;
  /** Observe policy: the violation the frame being read committed, and whether to ignore it. */
  private frameViolation: ProtocolViolation | null = null;
  private skipFrame = false;
  private utf8Reported = false;
  private pendingEvents: ProtocolEvent[] = [];
  private _transportAction: TransportAction = 'none';

  // Handshake results. Once open, each head is kept as its bytes only and parsed again when asked
  // for: a parsed head is about 1 KB of small objects, which 10,000 open connections feel (issue 17).
  private requestHead: HttpHead | Uint8Array | null = null;
  private responseHead: HttpHead | Uint8Array | null = null;
  get request(): HttpHead | null {
    return readHead(this.requestHead, 'request');
  }
  set request(head: HttpHead | null) {
    this.requestHead = head;
  }
  get response(): HttpHead | null {
    return readHead(this.responseHead, 'response');
  }
  set response(head: HttpHead | null) {
    this.responseHead = head;
  }
  /** The handshake is over (101 sent or accepted): keep the heads as bytes. */
  private compactHeads(): void {
    if (this.requestHead && !(this.requestHead instanceof Uint8Array)) this.requestHead = this.requestHead.raw;
    if (this.responseHead && !(this.responseHead instanceof Uint8Array)) this.responseHead = this.responseHead.raw;
  }
  subprotocol: string | null = null;
  private clientKey: string | null = null;
  private offeredSubprotocols: readonly string[] = [];
  /** The Sec-WebSocket-Extensions the client actually sent (null: none). */
  private offeredExtensions: string | null = null;
  /** The agreed extension (permessage-deflate), once open; null: none (RSV bits must stay 0). */
  private extension: Extension | null = null;

  // Message assembly (§5.4).
  private fragmentOpcode: number | null = null;
  /** Non-empty payloads only: an empty fragment adds nothing to hold. */
  private messageChunks: Uint8Array[] = [];
  private messageSize = 0;
  /** Frames of the message so far (the fragment limit counts these). */
  private messageFrames = 0;
  /** The plain bytes each of its frames gave (at most maxFragments numbers). */
  private messageFrameSizes: number[] = [];
  /** messageSize when the frame being read began. */
  private messageSizeAtFrame = 0;
  /** Their frame ids, for the trace only (kept only when tracing; at most maxFragments). */
  private messageFrameIds: number[] = [];
  /** The message being read is compressed (RSV1 on its first frame, RFC 7692 §6). */
  private messageCompressed = false;
  /** Its wire (compressed) bytes so far: the limit bounds these too. */
  private messageWireSize = 0;
  /** Step mode: a frame of the message being read was dropped by the user; the application never gets it. */
  private messageDropped = false;
  /** Raw chunks of ours waiting to be traced behind a crafted frame (holdOutgoingChunkTraces). */
  private chunkTracesWaiting: Uint8Array[] | null = null;
  /** Step mode: the frame being read is one the user dropped (receiveDroppedFrame). */
  private readingDropped = false;
  /** Trace only: its compressed payloads, and the plain bytes of the frame being read. */
  private compressedParts: Uint8Array[] = [];
  private frameInflated: Uint8Array[] = [];
  /** Step mode traces frames when written: their deflate details wait here, keyed by the frame's bytes. */
  private pendingDeflateTrace: WeakMap<Uint8Array, TracedFrameDeflate> | null = null; // made when first needed (step mode with deflate)
  /**
   * Step mode (deferOutgoingTrace): a message sent waits here, under each of its frames' bytes, until
   * those frames are traced as they are written (numbered then), so that it names its own frames.
   */
  private pendingOutgoingMessages: WeakMap<Uint8Array, PendingOutgoingMessage> | null = null;
  private readonly utf8 = new Utf8Validator();
  private frameId = 0;
  private currentFrameId = 0;
  /** Originals of frames edited in the debugger, for the next frame traced in each direction. */
  private readonly editedOriginal: { in?: Uint8Array | undefined; out?: Uint8Array | undefined } = {};

  // Closing handshake (§7.1).
  closeSent: { code: number | null; reason: string } | null = null;
  closeReceived: { code: number | null; reason: string } | null = null;
  /**
   * The peer's Close came after messages the application has not seen yet: its reply waits
   * ('waiting') until events() has handed them out, then ('due') goes out on the next call for
   * output, after whatever the application sent in answer to them (§5.5.1, "MAY delay").
   */
  private closeReply: 'waiting' | 'due' | null = null;
  /**
   * Outgoing data messages an I/O adapter has accepted but not yet handed over (compressed off
   * the event loop first: net/offload-outbox.ts). A Close reply or a fail Close held back as above
   * waits for them as well; the adapter sends each (or gives up on it) and lowers the count.
   */
  heldOutgoing = 0;
  /**
   * The same for failing (§7.1.7): a bad frame came after messages the application has not seen
   * yet (one TCP read may carry both). Input stops at once; our Close waits until the application
   * has seen them and sent what it answers (an echo), as Autobahn's strict grade expects.
   */
  private failClose: 'waiting' | 'due' | null = null;
  private failed: ProtocolViolation | HandshakeError | null = null;
  private closedReported = false;

  constructor(options: ProtocolOptions) {
    this.options = options;
    this.role = options.role;
    this.maxMessageSize = options.maxMessageSize ?? Defaults.maxMessageSize;
    this.maxFrameSize = options.maxFrameSize ?? Number.POSITIVE_INFINITY;
    this.maxFragments = options.maxFragments ?? Defaults.maxFragments;
    this.trace = options.trace;
    this.traceRows = options.trace?.rows;
    // Raw chunks are traced only when there is a trace at all: no closure per chunk otherwise.
    this.traceBytes = this.trace !== undefined && (options.traceBytes ?? true);
    this.maskKey = options.maskKeyGenerator ?? nextFrameMaskKey;
    this.headParser = new HttpHeadParser({ kind: this.role === 'server' ? 'request' : 'response', maxSize: options.maxHeadSize ?? Defaults.maxHeadSize });
    // A frame that arrives whole in one chunk (untraced: a writable one) is read in one go (receiveWholeFrame).
    this.parser = new FrameParser({ keepRaw: this.trace !== undefined, wholeFrames: true });
    this.policy = options.policy ?? 'strict';
    // Bad deflate options fail here, before any socket is involved.
    if (this.role === 'server') this.serverNegotiators();
    else this.clientNegotiators();
    if (options.startOpen) {
      this.headParser = null;
      this._state = 'OPEN';
      this.extension = options.startOpenExtension ?? null;
    }
  }

  get state(): ConnectionState {
    return this._state;
  }

  get transportAction(): TransportAction {
    return this._transportAction;
  }

  /**
   * We started the closing handshake (§7.1.2) and the peer has not answered with its Close yet.
   * The transport bounds this wait: a peer that never answers is closed on (§7.1.1).
   */
  get awaitingCloseReply(): boolean {
    return this._state === 'CLOSING' && this.closeSent !== null && this.closeReceived === null && this._transportAction === 'none';
  }

  /** The frame parser's state in words, e.g. "waiting for 2 more bytes of 16-bit extended length". */
  describeParser(): string {
    if (this._state === 'CONNECTING') return 'waiting for the end of the HTTP head (CRLF CRLF)';
    return this.parser.describe();
  }

  get parserState() {
    return this.parser.state;
  }

  /**
   * Bytes still to come before the current frame ends: 0 at a frame boundary, null while a
   * header is incomplete (its length is not known yet). The frame gate aligns on this.
   */
  bytesUntilFrameBoundary(): number | null {
    if (this._state === 'CONNECTING') return null;
    if (this.parser.state === 'payload') return this.parser.bytesNeeded;
    return this.parser.partialBytes().length === 0 ? 0 : null;
  }

  /**
   * Step mode holds frames after they are encoded: then they are traced when the transport
   * really writes them (traceOutgoingFrameBytes), not when encoded.
   */
  deferOutgoingTrace = false;

  /**
   * The fragmented message being reassembled (§5.4), or null between messages: its frames so far,
   * its payload bytes, and what is held for it (non-empty payloads; frame ids only when tracing).
   */
  messageInProgress(): { frames: number; bytes: number; heldChunks: number; heldFrameIds: number } | null {
    if (this.fragmentOpcode === null) return null;
    return { frames: this.messageFrames, bytes: this.messageSize, heldChunks: this.messageChunks.length, heldFrameIds: this.messageFrameIds.length };
  }

  /** Wire bytes of the frame in progress, for byte stepping. */
  partialFrameBytes(): Uint8Array {
    return this.parser.partialBytes();
  }

  /** Drains the bytes to write. */
  dataToSend(): Uint8Array[] {
    return this.takeOutput().map((c) => (c.payload ? concatBytes([c.bytes, c.payload]) : c.bytes));
  }

  /** Drains the bytes to write, each chunk tagged head, frame or raw. */
  takeOutput(): OutputChunk[] {
    if (this.closeReply === 'due') this.sendDeferredCloseReply();
    if (this.failClose === 'due' && this.heldOutgoing === 0) this.sendFailClose();
    const out = this.output;
    if (out.length === 0) return NO_OUTPUT; // the pump asks again and again: no array per empty answer
    this.output = [];
    return out;
  }

  /** Is anything waiting in dataToSend() or events()? */
  dataToSendPending(): boolean {
    if (this.closeReply === 'due') this.sendDeferredCloseReply();
    if (this.failClose === 'due' && this.heldOutgoing === 0) this.sendFailClose();
    return this.output.length > 0 || this.pendingEvents.length > 0;
  }

  /**
   * Drains the events for the application. A Close reply held back for earlier messages becomes
   * due: it goes out with the next output, after what the application sends on seeing them.
   */
  events(): ProtocolEvent[] {
    if (this.closeReply === 'due') this.sendDeferredCloseReply();
    else if (this.closeReply === 'waiting') this.closeReply = 'due';
    if (this.failClose === 'due' && this.heldOutgoing === 0) this.sendFailClose();
    else if (this.failClose === 'waiting') this.failClose = 'due';
    const out = this.pendingEvents;
    if (out.length === 0) return NO_EVENTS;
    this.pendingEvents = [];
    return out;
  }

  // ---------------------------------------------------------------- input

  /** Client: start the opening handshake (§4.1). */
  connect(): void {
    if (this.role !== 'client') throw new Error('connect() is for clients');
    // A user header may replace the generated key or subprotocol list (handshake.ts): the
    // response is checked against what was actually sent (§4.1 (4) and (6)).
    const negotiator = this.clientNegotiators()[0];
    const { bytes, key, subprotocols, extensions } = buildClientRequest({
      host: this.options.host ?? 'localhost',
      path: this.options.path ?? '/',
      subprotocols: this.options.subprotocols ?? [],
      headers: this.options.headers ?? [],
      ...(this.options.key ? { key: this.options.key } : {}),
      ...(negotiator ? { extensions: formatExtensionHeader(negotiator.offers()) } : {}),
    });
    this.clientKey = key;
    this.offeredSubprotocols = subprotocols;
    this.offeredExtensions = extensions;
    // Parse our own request back so the trace shows exactly what was sent.
    const parsed = new HttpHeadParser({ kind: 'request', maxSize: bytes.length + 1 }).feed(bytes);
    if (parsed.done) this.request = parsed.head;
    this.emitTrace(() => ({ type: 'http-head', direction: 'out', head: tracedHead(this.request!) }));
    this.write(bytes);
  }

  /**
   * `writable`: the caller gives data away (a socket chunk nobody else holds: no step gate, no
   * other reader). With no trace either (a trace or recorder keeps the bytes as received), masked
   * payloads are then unmasked in place in data (FrameParser.feed): no copy for a frame that
   * arrived whole in it.
   */
  receiveData(data: Uint8Array, writable = false): void {
    if (data.length === 0) return;
    if (this.traceBytes) this.traceChunk('in', data);
    if (this._state === 'CLOSED' || this.failed) return; // §7.1.7: after failing, discard input
    if (this._state === 'CONNECTING') {
      this.receiveHandshakeBytes(data, writable);
      return;
    }
    this.receiveFrameBytes(data, writable);
  }

  /** What TCP closing cut off, for the close's detail: a frame part-read, a fragmented message unfinished (§5.4). */
  private describeCutOff(): string {
    const parts: string[] = [];
    const parser = this.parser.describe();
    if (parser !== 'waiting for a new frame') parts.push(`it cut a frame off (the parser was ${parser})`);
    if (this.fragmentOpcode !== null && this.messageFrames > 0) {
      parts.push(`it left a fragmented ${describeOpcode(this.fragmentOpcode).name} message unfinished after ${this.messageFrames} frame${this.messageFrames === 1 ? '' : 's'} (§5.4)`);
    }
    return parts.length === 0 ? '' : `; ${parts.join('; ')}`;
  }

  /** The peer closed its side of TCP (or the socket is gone). */
  receiveEof(): void {
    if (this._state === 'CLOSED') {
      // A refused handshake went CLOSED before TCP closed (so its error response could still be
      // written); report the close to the application now, once.
      if (this.failed instanceof HandshakeError && !this.closedReported) {
        this.closedReported = true;
        this.pendingEvents.push({ type: 'closed', code: CloseCode.AbnormalClosure, reason: '', wasClean: false });
      }
      return;
    }
    this.closedReported = true;
    const wasClean = this.closeSent !== null && this.closeReceived !== null;
    let code: number = CloseCode.AbnormalClosure;
    let reason = '';
    let detail: string;
    if (this.closeReceived) {
      code = this.closeReceived.code ?? CloseCode.NoStatusReceived;
      reason = this.closeReceived.reason;
      detail = wasClean ? 'closing handshake completed, then TCP closed' : 'the peer sent Close, then TCP closed before our Close went out';
    } else if (this.failed instanceof ProtocolViolation) {
      code = this.failed.closeCode;
      detail = `connection failed: ${this.failed.message}`;
    } else if (this.failed instanceof HandshakeError) {
      detail = `handshake failed: ${this.failed.message}`;
    } else if (this._state === 'CONNECTING') {
      detail = 'TCP closed during the opening handshake';
    } else {
      detail = this.closeSent ? 'TCP closed before the peer answered our Close' : 'TCP closed without a closing handshake (abnormal closure, 1006)';
      detail += this.describeCutOff();
    }
    this.setState('CLOSED', detail);
    this._transportAction = 'close';
    this.emitTrace(() => ({ type: 'connection-closed', wasClean, code, reason, detail }));
    this.pendingEvents.push({ type: 'closed', code, reason, wasClean });
  }

  private receiveHandshakeBytes(data: Uint8Array, writable: boolean): void {
    let result;
    try {
      result = this.headParser!.feed(data);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      this.failHandshake(error);
      return;
    }
    if (!result.done) return;
    this.headParser = null;
    if (this.role === 'server') this.answerRequest(result.head);
    else this.checkResponse(result.head);
    if (this._state === 'OPEN' && result.rest.length > 0) this.receiveFrameBytes(result.rest, writable);
  }

  private answerRequest(request: HttpHead): void {
    this.request = request;
    this.emitTrace(() => ({ type: 'http-head', direction: 'in', head: tracedHead(request) }));
    const answer = answerClientHandshake(request, {
      ...(this.options.subprotocols ? { subprotocols: this.options.subprotocols } : {}),
      ...(this.options.allowedOrigins ? { allowedOrigins: this.options.allowedOrigins } : {}),
      ...(this.options.responseHeaders ? { responseHeaders: this.options.responseHeaders } : {}),
      extensions: this.serverNegotiators(),
    });
    const extensionsTrace = this.options.deflate !== false || answer.extensions.trace.offered !== null ? { extensions: answer.extensions.trace } : {};
    const responseHead = new HttpHeadParser({ kind: 'response', maxSize: answer.response.length + 1 }).feed(answer.response);
    if (responseHead.done) this.response = responseHead.head;
    this.emitTrace(() => ({
      type: 'handshake', side: 'server', ok: !answer.error, status: answer.status, checks: answer.checks,
      accept: answer.accept ?? null, subprotocol: answer.subprotocol, ...extensionsTrace,
      ...(answer.error ? { error: { code: answer.error.code, status: answer.error.status, message: answer.error.message, rfcSection: answer.error.rfcSection } } : {}),
    }));
    if (this.response) {
      const head = tracedHead(this.response);
      head.raw = answer.response; // include the body of an error response
      this.emitTrace(() => ({ type: 'http-head', direction: 'out', head }));
    }
    this.write(answer.response);
    if (answer.error) {
      this.failed = answer.error;
      this.pendingEvents.push({ type: 'handshake-failed', error: answer.error });
      this.setState('CLOSED', `handshake refused with ${answer.status}`);
      this._transportAction = 'close';
      this.emitTrace(() => ({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: `handshake refused: ${answer.status} ${answer.error!.message}` }));
      return;
    }
    this.subprotocol = answer.subprotocol;
    this.extension = answer.extensions.create?.() ?? null;
    this.setState('OPEN', 'handshake accepted (101)');
    this.pendingEvents.push({ type: 'open', subprotocol: this.subprotocol, request, response: this.response, extensions: answer.extensions.responseHeader });
    this.compactHeads();
  }

  private checkResponse(response: HttpHead): void {
    this.response = response;
    this.emitTrace(() => ({ type: 'http-head', direction: 'in', head: tracedHead(response) }));
    const result = checkServerResponse(response, this.clientKey!, this.offeredSubprotocols, { offered: this.offeredExtensions, negotiators: this.clientNegotiators() });
    const acceptOnWire = headerValue(response, 'Sec-WebSocket-Accept');
    this.emitTrace(() => ({
      type: 'handshake', side: 'client', ok: !result.error, status: response.status, checks: result.checks,
      accept: result.accept, subprotocol: result.subprotocol,
      ...(result.extensions && (this.offeredExtensions !== null || result.extensions.trace.response !== null) ? { extensions: result.extensions.trace } : {}),
      ...(acceptOnWire !== undefined ? { acceptOnWire } : {}),
      ...(result.error ? { error: { code: result.error.code, status: result.error.status, message: result.error.message, rfcSection: result.error.rfcSection } } : {}),
    }));
    if (result.error) {
      this.failHandshake(result.error);
      return;
    }
    this.subprotocol = result.subprotocol;
    this.extension = result.extensions?.ok ? result.extensions.create?.() ?? null : null;
    this.setState('OPEN', 'server accepted the handshake (101)');
    this.pendingEvents.push({ type: 'open', subprotocol: this.subprotocol, request: this.request!, response, extensions: this.extension ? result.extensions?.trace.response ?? null : null });
    this.compactHeads();
  }

  private failHandshake(error: HandshakeError): void {
    this.failed = error;
    if (this.role === 'server') {
      // Oversized or malformed head: answer with its status (431 / 400).
      const { bytes } = errorResponse(error);
      this.emitTrace(() => ({ type: 'handshake', side: 'server', ok: false, status: error.status, checks: [], accept: null, subprotocol: null, error: { code: error.code, status: error.status, message: error.message, rfcSection: error.rfcSection } }));
      this.write(bytes);
    } else if (!this.response) {
      this.emitTrace(() => ({ type: 'error', message: `handshake failed: ${error.message}` }));
    }
    this.pendingEvents.push({ type: 'handshake-failed', error });
    this.setState('CLOSED', `handshake failed: ${error.message}`);
    this._transportAction = 'close';
    this.emitTrace(() => ({ type: 'connection-closed', wasClean: false, code: CloseCode.AbnormalClosure, reason: '', detail: `handshake failed: ${error.message}` }));
  }

  /** The extensions this server speaks (permessage-deflate unless turned off). */
  private serverNegotiators(): ServerExtensionNegotiator[] {
    const d = this.options.deflate;
    if (d === false) return [disabledServerDeflateNegotiator()];
    return [serverDeflateNegotiator(Array.isArray(d) ? d[0] : (d as Exclude<DeflateSetting, false | readonly unknown[]> | undefined) ?? {})];
  }

  /** The extensions this client offers (permessage-deflate unless turned off). */
  private clientNegotiators(): ClientExtensionNegotiator[] {
    const d = this.options.deflate;
    if (d === false) return [];
    return [clientDeflateNegotiator(d ?? {})];
  }

  /** The agreed extension's parameters, explained (null: none agreed, so RSV bits stay 0). */
  get agreedExtension(): Extension['agreed'] | null {
    return this.extension?.agreed ?? null;
  }

  /** The agreed extension itself, for an I/O adapter that has it prepare messages off the event loop (Extension.prepareMessage). */
  get extensionInForce(): Extension | null {
    return this.extension;
  }

  /**
   * The plain bytes of the compressed message being received, inflated so far (null when no
   * compressed message is in progress). The byte stepper shows them growing byte by byte.
   */
  inflatedSoFar(): Uint8Array | null {
    return this.messageCompressed ? concatBytes(this.messageChunks, this.messageSize) : null;
  }

  /**
   * A frame compressed on its own (the crafter) went to the peer: its plain bytes are now in the
   * peer's window but not in our compressor's, so ours starts over (Extension.restartOutgoingWindow).
   */
  restartOutgoingWindow(reason: string): void {
    this.extension?.restartOutgoingWindow?.(reason);
  }

  private receiveFrameBytes(data: Uint8Array, writable = false): void {
    try {
      this.parser.feed(data, (event) => {
        // §5.5.1: after a Close frame the peer sends nothing more; anything after it is discarded.
        if (this.closeReceived) throw stopParsing;
        if (event.kind === 'whole-frame') this.receiveWholeFrame(event.frame);
        else if (event.kind === 'prefix') this.checkPrefix(event.prefix);
        else if (event.kind === 'header') this.checkHeader(event.header);
        else if (event.kind === 'payload') this.checkPayloadChunk(event.header, event.chunk);
        else this.handleFrame(event.frame);
      }, writable && this.trace === undefined);
    } catch (error) {
      if (error === stopParsing) {
        this.parser.reset();
        return;
      }
      if (!(error instanceof ProtocolViolation)) throw error;
      this.fail(error);
    }
  }

  /**
   * A frame the parser read whole out of one chunk (FrameParser's wholeFrames): the checks its
   * prefix, header, payload and frame events would get, in that order. Only a Close frame sets
   * closeReceived, in handleFrame, so checking it once before (receiveFrameBytes) is as before.
   */
  private receiveWholeFrame(frame: Frame): void {
    const h = frame.header;
    if (frame.raw === null) {
      this.checkPrefix(h);
      this.checkHeader(h);
      if (h.payloadLength > 0) this.checkPayloadChunk(h, frame.payload);
      this.handleFrame(frame);
      return;
    }
    // Traced: the frame is still queued in the parser. A failed check leaves the parser where the
    // event-by-event reading would have stopped, so fail() traces the same bytes as it would then.
    let at: 'prefix' | 'header' | 'payload' = 'prefix';
    try {
      this.checkPrefix(h);
      at = 'header';
      this.checkHeader(h);
      at = 'payload';
      if (h.payloadLength > 0) this.checkPayloadChunk(h, frame.payload);
    } catch (error) {
      this.parser.stopWholeFrameAt(at);
      throw error;
    }
    this.parser.consumeWholeFrame();
    this.handleFrame(frame);
  }

  /**
   * The one place a rule is found broken. Strict: throw, and fail() closes with the violation's
   * code. Observe: flag it on the frame being read and carry on (unless going on is unsafe).
   */
  private violate(violation: ProtocolViolation, recoverable = true): void {
    if (this.policy === 'strict' || !recoverable) throw violation;
    this.frameViolation ??= violation;
    this.emitTrace(() => ({ type: 'violation', direction: 'in', frameId: this.currentFrameId, violation: tracedViolation(violation), observed: true }));
    this.pendingEvents.push({ type: 'violation', violation });
  }

  /** Checks what the first two bytes of a frame say, before anything else of it arrives. */
  private checkPrefix(h: FramePrefix): void {
    this.currentFrameId = ++this.frameId;
    this.frameViolation = null;
    this.skipFrame = false;
    // §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines meanings for
    // non-zero values"; the agreed extension says which bits it defines (permessage-deflate: RSV1).
    const owned = this.extension?.rsv;
    const stray = h.rsv1 || h.rsv2 || h.rsv3 ? [h.rsv1 && !owned?.rsv1 && 'RSV1', h.rsv2 && !owned?.rsv2 && 'RSV2', h.rsv3 && !owned?.rsv3 && 'RSV3'].filter(Boolean) : NONE;
    if (stray.length > 0) {
      this.violate(new ProtocolViolation('WS_ERR_RESERVED_BITS', `${stray.join(', ')} set, but no extension was negotiated${this.extension ? ` that defines ${stray.length === 1 ? 'it' : 'them'} (${this.extension.name} uses RSV1 only)` : ''}.`));
    }
    if (h.rsv1 && owned?.rsv1) {
      // RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames
      // and non-first fragments of a data message."
      if (isControlOpcode(h.opcode)) {
        this.violate(new ProtocolViolation('WS_ERR_RSV1_ON_CONTROL_FRAME', `A ${describeOpcode(h.opcode).name} frame with RSV1 set: control frames are never compressed.`));
      } else if (h.opcode === Opcode.Continuation) {
        this.violate(new ProtocolViolation('WS_ERR_RSV1_ON_CONTINUATION', 'A continuation frame with RSV1 set: only the first frame of a message says whether it is compressed.'));
      }
    }
    if (!isKnownOpcode(h.opcode)) {
      this.violate(new ProtocolViolation('WS_ERR_RESERVED_OPCODE', `Opcode 0x${h.opcode.toString(16).toUpperCase()} is reserved.`));
      this.skipFrame = true; // observe: read it, show it, ignore it
    }
    if (this.role === 'server' && !h.masked) {
      this.violate(new ProtocolViolation('WS_ERR_UNMASKED_CLIENT_FRAME', 'The client sent an unmasked frame; client frames must be masked.'));
    }
    if (this.role === 'client' && h.masked) {
      this.violate(new ProtocolViolation('WS_ERR_MASKED_SERVER_FRAME', 'The server sent a masked frame; server frames must not be masked.'));
    }
    if (isControlOpcode(h.opcode)) {
      if (h.lengthField > 125) {
        this.violate(new ProtocolViolation('WS_ERR_CONTROL_FRAME_TOO_LONG', `A ${describeOpcode(h.opcode).name} frame with an extended length (payload len ${h.lengthField}); control frames carry at most 125 bytes.`));
      }
      if (!h.fin) {
        this.violate(new ProtocolViolation('WS_ERR_FRAGMENTED_CONTROL_FRAME', `A ${describeOpcode(h.opcode).name} frame with FIN clear; control frames cannot be fragmented.`));
      }
    }
  }

  /** Checks a complete frame header (now with its length), before its payload arrives. */
  private checkHeader(h: FrameHeader): void {
    this.checkLimits(h);
    if (isControlOpcode(h.opcode) || this.skipFrame) return;
    if (h.opcode === Opcode.Continuation && this.fragmentOpcode === null) {
      this.violate(new ProtocolViolation('WS_ERR_UNEXPECTED_CONTINUATION', 'A continuation frame arrived, but no fragmented message was in progress.'));
      this.skipFrame = true; // observe: nothing to continue, so it is shown and ignored
      return;
    }
    if (h.opcode !== Opcode.Continuation && this.fragmentOpcode !== null) {
      this.violate(new ProtocolViolation('WS_ERR_EXPECTED_CONTINUATION', `A new ${describeOpcode(h.opcode).name} message started before the fragmented ${describeOpcode(this.fragmentOpcode).name} message finished.`));
      this.resetMessage(); // observe: the unfinished message is abandoned
    }
    // §10.4: every frame after the first also costs FRAGMENT_COST, so that many tiny (or empty)
    // fragments cannot tie up far more memory than the limit says.
    const fragments = h.opcode === Opcode.Continuation ? this.messageFrames : 0;
    // A compressed message's wire bytes count here; its plain bytes are counted while inflating.
    const compressed = h.opcode === Opcode.Continuation ? this.messageCompressed : h.rsv1 && this.extension?.rsv.rsv1 === true;
    const cost = (compressed ? this.messageWireSize : this.messageSize) + h.payloadLength + fragments * FRAGMENT_COST;
    if (cost > this.maxMessageSize) {
      // Never recoverable: going on would mean buffering it.
      const detail = fragments > 0 ? ` (${this.messageSize + h.payloadLength} payload bytes + ${FRAGMENT_COST} for each of ${fragments} fragments after the first)` : '';
      this.violate(new ProtocolViolation('WS_ERR_MESSAGE_TOO_BIG', `The message would be ${cost} bytes${detail}; the limit is ${this.maxMessageSize}.`), false);
    }
    if (h.opcode !== Opcode.Continuation) {
      this.fragmentOpcode = h.opcode;
      this.utf8.reset();
      this.utf8Reported = false;
      // RFC 7692 §6: RSV1 on a message's first frame says the whole message is compressed.
      this.messageCompressed = this.extension !== null && this.extension.beginMessage(h);
    }
    emptyInPlace(this.frameInflated);
  }

  /**
   * §10.4 limits, on every frame's header (control and ignored frames too: the parser buffers
   * their payload all the same), before any payload arrives. Never recoverable, whatever the
   * policy: going on would mean buffering what they protect against.
   */
  private checkLimits(h: FrameHeader): void {
    if (h.payloadLength > this.maxFrameSize) {
      throw new ProtocolViolation('WS_ERR_FRAME_TOO_BIG', `The frame declares ${formatPayloadLength(h)} payload bytes; the frame limit is ${this.maxFrameSize}.`);
    }
    if (h.payloadLength > this.maxMessageSize) {
      throw new ProtocolViolation('WS_ERR_MESSAGE_TOO_BIG', `The frame alone declares ${formatPayloadLength(h)} bytes; the message limit is ${this.maxMessageSize}.`);
    }
    if (h.opcode === Opcode.Continuation && this.messageFrames >= this.maxFragments) {
      throw new ProtocolViolation('WS_ERR_TOO_MANY_FRAGMENTS', `The fragmented message goes past ${this.maxFragments} frames, the limit.`);
    }
  }

  private resetMessage(): void {
    this.fragmentOpcode = null;
    this.messageDropped = false;
    this.messageCompressed = false;
    this.messageWireSize = 0;
    // Emptied in place (no arrays per message on the hot path), except those handed out: frameIds
    // to a traced message event (handleFrame replaces them first), frameSizes (more than one) to the
    // message event.
    emptyInPlace(this.compressedParts);
    emptyInPlace(this.frameInflated);
    emptyInPlace(this.messageChunks);
    this.messageSize = 0;
    this.messageFrames = 0;
    emptyInPlace(this.messageFrameIds);
    if (this.messageFrameSizes.length > 1) this.messageFrameSizes = [];
    else emptyInPlace(this.messageFrameSizes);
    this.messageSizeAtFrame = 0;
  }

  /** §8.1: validate text as it arrives, so invalid UTF-8 fails even inside an unfinished frame. */
  private checkPayloadChunk(h: FrameHeader, chunk: Uint8Array): void {
    if (isControlOpcode(h.opcode) || this.skipFrame) return;
    if (this.messageCompressed) {
      // Inflated as it arrives: a message that inflates past the limit fails while inflating.
      this.takeInflated(this.extension!.decodeChunk(chunk, this.inflateBudget()));
      return;
    }
    if (this.fragmentOpcode !== Opcode.Text || this.utf8Reported) return;
    if (!this.utf8.push(chunk)) {
      this.utf8Reported = true;
      this.violate(new ProtocolViolation('WS_ERR_INVALID_UTF8', `Invalid UTF-8 at byte ${this.utf8.failedAt} of the text message.`));
    }
  }

  /** Plain bytes a compressed message may still grow by (the limit minus what it holds and its fragments' cost). */
  private inflateBudget(): number {
    return Math.max(0, this.maxMessageSize - this.messageSize - this.messageFrames * FRAGMENT_COST);
  }

  /** Plain bytes of a compressed message: held, counted, and (text) checked as UTF-8 as they come (§8.1). */
  private takeInflated(out: DecodedChunk): void {
    for (const c of out.chunks) {
      this.messageChunks.push(c);
      if (this.trace) this.frameInflated.push(c);
      if (this.fragmentOpcode === Opcode.Text && !this.utf8Reported && !this.utf8.push(c)) {
        this.utf8Reported = true;
        // RFC 7692 §6: "At the receiver, the payload data portion after decompression is subject to
        // the constraints for the original data type again."
        this.violate(new ProtocolViolation('WS_ERR_INVALID_UTF8', `Invalid UTF-8 at byte ${this.utf8.failedAt} of the inflated text message.`));
      }
    }
    this.messageSize += out.length;
  }

  /** Trace: the plain side of an incoming frame of a compressed message (undefined for others). */
  private incomingDeflateTrace(h: FrameHeader): TracedFrameDeflate | undefined {
    if (!this.trace || !this.messageCompressed || isControlOpcode(h.opcode) || this.skipFrame) return undefined;
    const inflated = concatBytes(this.frameInflated);
    return { first: h.opcode !== Opcode.Continuation, inflated, inflatedLength: inflated.length, tail: h.fin ? this.extension!.incomingTail : null };
  }

  private handleFrame(frame: Frame): void {
    const h = frame.header;
    const frameId = this.currentFrameId;
    let close: TracedFrame['close'];
    try {
      if (h.opcode === Opcode.Close) {
        try {
          close = parseClosePayload(frame.payload);
        } catch (error) {
          if (!(error instanceof ProtocolViolation)) throw error;
          this.violate(error);
          close = safeParseClose(frame.payload); // observe: take the code as sent
        }
      }
      // RFC 7692 §7.2.2: the message's last frame ends its compressed data; the tail is appended and inflated.
      if (this.messageCompressed && !isControlOpcode(h.opcode) && !this.skipFrame) {
        this.takeInflated(this.extension!.endFrame(h.fin, this.inflateBudget()));
      }
      // §5.6/§8.1: a text message must end on a character boundary.
      if (h.fin && !this.skipFrame && h.opcode <= Opcode.Text && this.fragmentOpcode === Opcode.Text && !this.utf8.complete && !this.utf8Reported) {
        this.violate(new ProtocolViolation('WS_ERR_INVALID_UTF8', 'The text message ends in the middle of a UTF-8 character.'));
      }
    } catch (error) {
      if (error instanceof ProtocolViolation) this.traceFrame('in', frame, frameId, undefined, false, error, this.incomingDeflateTrace(h));
      throw error;
    }
    this.traceFrame('in', frame, frameId, close, false, this.frameViolation ?? undefined, this.incomingDeflateTrace(h));
    if (this.skipFrame) return;
    switch (h.opcode) {
      case Opcode.Ping:
        this.pendingEvents.push({ type: 'ping', payload: frame.payload });
        // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response,
        // unless it already received a Close frame."
        if (this._state === 'OPEN') this.sendFrame({ opcode: Opcode.Pong, payload: frame.payload });
        return;
      case Opcode.Pong:
        this.pendingEvents.push({ type: 'pong', payload: frame.payload });
        return;
      case Opcode.Close:
        this.receiveClose(close!);
        return;
    }
    if (this.messageCompressed) {
      // The plain bytes were taken as they were inflated; the wire bytes are only counted (and kept for the trace).
      this.messageWireSize += frame.payload.length;
      if (this.trace && frame.payload.length > 0) this.compressedParts.push(frame.payload);
    } else {
      if (frame.payload.length > 0) this.messageChunks.push(frame.payload);
      this.messageSize += frame.payload.length;
    }
    this.messageFrames++;
    this.messageFrameSizes.push(this.messageSize - this.messageSizeAtFrame);
    this.messageSizeAtFrame = this.messageSize;
    if (this.trace) this.messageFrameIds.push(frameId);
    if (this.readingDropped) this.messageDropped = true;
    if (!h.fin) return;
    if (this.messageDropped) {
      const kind = describeOpcode(this.fragmentOpcode!).name, frames = this.messageFrames;
      this.resetMessage();
      this.emitTrace(() => ({ type: 'note', text: `A ${kind} message (${frames} frame${frames === 1 ? '' : 's'}) was read and not delivered: a frame of it was dropped in step mode.` }));
      return;
    }
    const opcode = this.fragmentOpcode!;
    const data = concatBytes(this.messageChunks, this.messageSize);
    const frameIds = this.messageFrameIds;
    const frameSizes = this.messageFrameSizes.length > 1 ? this.messageFrameSizes : undefined;
    const wire = this.messageFrames === 1 && !this.messageCompressed && !h.masked ? frame.raw : undefined;
    const compression = this.trace && this.messageCompressed
      ? this.extension!.describeIncoming(concatBytes(this.compressedParts, this.messageWireSize), this.messageWireSize, data.length)
      : undefined;
    // Traced as a row, the message needs only its first frame id and how many: the ids array stays
    // ours, emptied in place for the next message. An event object takes the array with it.
    const rows = this.traceRows;
    const asRow = this.trace !== undefined && rows !== undefined && compression === undefined && rows.ready && consecutive(frameIds);
    const firstFrameId = frameIds[0]!, frameCount = frameIds.length;
    if (this.trace && !asRow) this.messageFrameIds = [];
    this.resetMessage();
    const text = opcode === Opcode.Text ? utf8DecodeLenient(data) : undefined;
    if (this.trace) {
      // Not compressed: data is its frames' payloads joined (messageChunks).
      if (asRow) rows!.message('in', opcode, firstFrameId, frameCount, text, data, true);
      else this.trace(messageBody('in', opcode, data, frameIds, text, compression));
    }
    // One literal, the optional fields assigned after it (spreads allocate and take V8's slow path per message).
    const message: ProtocolEvent & { type: 'message' } = { type: 'message', opcode, data };
    if (text !== undefined) message.text = text;
    if (frameSizes) message.frameSizes = frameSizes;
    if (wire) message.wire = wire;
    this.pendingEvents.push(message);
  }

  /** §5.5.1 and §7.1.2-§7.1.3: the peer started or answered the closing handshake. */
  private receiveClose(close: { code: number | null; reason: string }): void {
    this.closeReceived = close;
    const unseen = this.pendingEvents.reduce((n, e) => n + (e.type === 'message' ? 1 : 0), 0);
    this.pendingEvents.push({ type: 'close-received', code: close.code, reason: close.reason });
    if (this.closeSent) {
      this.closingHandshakeComplete();
    } else if (unseen > 0 || this.heldOutgoing > 0) {
      // §5.5.1: "An endpoint MAY delay sending a Close frame until its current message is sent"
      // Messages that arrived before the Close (one TCP read may carry both) reach the application
      // first, and what it sends in answer goes out before our Close; after that, nothing more.
      // Messages the I/O adapter holds (heldOutgoing) go out first too.
      this.closeReply = 'waiting';
      const held = this.heldOutgoing;
      this.emitTrace(() => ({
        type: 'note',
        text: unseen > 0
          ? `Peer sent Close after ${unseen} message${unseen === 1 ? '' : 's'} the application has not seen yet: answering once it has (§5.5.1).`
          : `Peer sent Close while ${held} message${held === 1 ? ' is' : 's are'} being compressed to send: answering once ${held === 1 ? 'it has' : 'they have'} gone out (§5.5.1).`,
      }));
    } else {
      this.sendCloseReply();
    }
  }

  /** §5.5.1: "the endpoint MUST send a Close frame in response.  (When sending a Close frame in response, the endpoint typically echos the status code it received.)" */
  private sendCloseReply(): void {
    const close = this.closeReceived!;
    this.setState('CLOSING', `peer sent Close${close.code !== null ? ` ${close.code}` : ''}; echoing it`);
    // Observe mode may get here with a code that must not be sent: never echo one back.
    if (close.code !== null && !isValidWireCloseCode(close.code)) this.sendCloseFrame(CloseCode.ProtocolError, `invalid close code ${close.code}`);
    else this.sendCloseFrame(close.code, close.code === null ? '' : close.reason);
  }

  /** The held-back reply, unless the application closed itself meanwhile or the connection is gone. */
  private sendDeferredCloseReply(): void {
    if (this.heldOutgoing > 0) return; // still due: the adapter has messages to hand over first
    this.closeReply = null;
    if (!this.closeSent && this._state === 'OPEN') this.sendCloseReply();
  }

  private closingHandshakeComplete(): void {
    // §7.1.1: "The underlying TCP connection, in most normal cases, SHOULD be closed first by the
    // server"; the client waits for it.
    this._transportAction = this.role === 'server' ? 'close' : 'await-server-close';
    this.emitTrace(() => ({ type: 'note', text: this.role === 'server' ? 'Closing handshake complete: the server closes TCP first (§7.1.1).' : 'Closing handshake complete: waiting for the server to close TCP (§7.1.1).' }));
  }

  /** §7.1.7 _Fail the WebSocket Connection_: send Close with the violation's code, then close TCP. */
  private fail(violation: ProtocolViolation): void {
    this.failed = violation;
    const frameId = this.currentFrameId;
    if (this.trace) {
      const partial = this.parser.partialBytes();
      if (partial.length > 0) {
        const header = this.parser.currentHeader() ?? partialHeaderOf(partial);
        const frameEnd = header.headerLength + header.payloadLength;
        if (this.parser.currentHeader() && partial.length >= frameEnd) {
          // Failed early (bad UTF-8 in its first bytes, say) but every byte of it had arrived:
          // traced whole, with its payload, and not as incomplete.
          const raw = partial.subarray(0, frameEnd);
          const wirePayload = raw.subarray(header.headerLength);
          const payload = header.maskKey ? applyMask(wirePayload, header.maskKey) : wirePayload.slice();
          this.traceFrame('in', { header, payload, raw }, frameId, undefined, false, violation);
        } else {
          // The frame never completed: trace what arrived, so the UI can flag it.
          this.traceFrame('in', { header, payload: new Uint8Array(0), raw: partial }, frameId, undefined, true, violation);
        }
      }
      this.emitTrace(() => ({ type: 'violation', direction: 'in', frameId, violation: tracedViolation(violation) }));
    }
    const unseen = this.pendingEvents.reduce((n, e) => n + (e.type === 'message' ? 1 : 0), 0);
    this.pendingEvents.push({ type: 'violation', violation });
    this.parser.reset();
    if (unseen > 0 && !this.closeSent && this._state === 'OPEN') {
      // Messages parsed whole before the bad frame reach the application first, and what it sends
      // on seeing them goes out before our Close (§7.1.7 fails the connection; nothing requires
      // dropping what was already received complete). Nothing more is read meanwhile (failed is set).
      this.failClose = 'waiting';
      this.emitTrace(() => ({ type: 'note', text: `Failing after ${unseen} message${unseen === 1 ? '' : 's'} the application has not seen yet: they are delivered first, then our Close goes out (§7.1.7).` }));
      return;
    }
    this.sendFailClose();
  }

  /** §7.1.7: the Close with the violation's code (unless one went out already), then close TCP. */
  private sendFailClose(): void {
    this.failClose = null;
    const violation = this.failed;
    if (violation instanceof ProtocolViolation && !this.closeSent && this._state === 'OPEN') {
      this.setState('CLOSING', `failed: ${violation.code}`);
      this.sendCloseFrame(violation.closeCode, truncateUtf8(violation.message, 123));
    }
    this._transportAction = 'close';
  }

  // ---------------------------------------------------------------- output

  private write(bytes: Uint8Array, kind: OutputChunk['kind'] = 'head'): void {
    this.noteBytesWritten(bytes);
    this.output.push({ bytes, kind });
  }

  /** Traces bytes written: ours (frames, heads) as they are queued. */
  noteBytesWritten(bytes: Uint8Array): void {
    if (!this.traceBytes) return;
    if (this.chunkTracesWaiting) this.chunkTracesWaiting.push(bytes);
    else this.traceChunk('out', bytes);
  }

  /** Traces bytes the transport wrote itself (a crafted frame split into timed TCP writes). */
  noteCraftedBytesWritten(bytes: Uint8Array): void {
    if (this.traceBytes) this.traceChunk('out', bytes);
  }

  /**
   * A crafted frame goes out in timed pieces, and what we queue meanwhile is written after it
   * (Connection.writeCrafted): its raw chunks wait too, so the trace has them where they are on
   * the wire (the raw chunk store counts stream positions in trace order).
   */
  holdOutgoingChunkTraces(): void {
    this.chunkTracesWaiting ??= [];
  }

  /** The raw chunks held by holdOutgoingChunkTraces, traced now, in order. */
  releaseOutgoingChunkTraces(): void {
    const waiting = this.chunkTracesWaiting;
    this.chunkTracesWaiting = null;
    if (waiting) for (const bytes of waiting) this.traceChunk('out', bytes);
  }

  /** Bytes queued and not yet taken by the transport (takeOutput). */
  pendingOutputBytes(): number {
    let n = 0;
    for (const chunk of this.output) n += chunk.bytes.length + (chunk.payload?.length ?? 0);
    return n;
  }

  /** A raw chunk read or written: as a row while every listener takes rows, else as its event. */
  private traceChunk(direction: Direction, bytes: Uint8Array): void {
    const rows = this.traceRows;
    if (rows !== undefined && rows.ready) rows.bytes(direction, bytes);
    else this.emitTrace(() => ({ type: 'bytes', direction, bytes }));
  }

  /**
   * Frames and queues one frame. Masking follows the role unless the spec says otherwise (fault
   * injection). `deflate`: the plain side of a compressed frame, for the trace.
   */
  sendFrame(spec: FrameSpec, deflate?: TracedFrameDeflate): Uint8Array {
    const bytes = this.encodeFrameForSending(spec, deflate);
    this.output.push({ bytes, kind: 'frame' });
    return bytes;
  }

  /**
   * Encodes a frame and traces it as sent, without queuing it: the caller writes it (e.g. split
   * into timed TCP writes, reporting each with noteBytesWritten). Masking follows the role
   * unless the spec says otherwise (fault injection).
   */
  encodeFrameForSending(spec: FrameSpec, deflate?: TracedFrameDeflate): Uint8Array {
    const maskKey = spec.maskKey !== undefined ? spec.maskKey : this.role === 'client' ? this.maskKey() : null;
    const bytes = encodeFrame(spec, maskKey);
    if (!this.deferOutgoingTrace && this.trace) {
      // We know the unmasked payload: no need to unmask it again from the wire bytes.
      this.traceOutgoingFrameBytes(bytes, spec.declaredLength === undefined ? spec.payload ?? EMPTY : undefined, deflate);
      this.noteBytesWritten(bytes);
    } else if (deflate && this.trace) {
      (this.pendingDeflateTrace ??= new WeakMap()).set(bytes, deflate); // traced when written (step mode), unless edited
    }
    return bytes;
  }

  /** Traces already-encoded frame bytes as one outgoing frame (decoded from the bytes themselves). */
  traceOutgoingFrameBytes(bytes: Uint8Array, knownPayload?: Uint8Array, deflate?: TracedFrameDeflate): void {
    if (!this.trace) return;
    deflate ??= this.pendingDeflateTrace?.get(bytes);
    const frameId = ++this.frameId;
    // A frame we encoded from this payload, nothing else to say about it: a row, no header object.
    const rows = this.traceRows;
    if (
      rows !== undefined && knownPayload !== undefined && deflate === undefined && this.editedOriginal.out === undefined
      && bytes.length >= 2 && (bytes[0]! & 0x0f) !== Opcode.Close && plainFrameLength(bytes, knownPayload.length) && rows.ready
    ) {
      rows.frame('out', frameId, bytes, knownPayload);
      return;
    }
    let header: FrameHeader;
    let payload: Uint8Array;
    const fast = knownPayload ? decodeHeader(bytes) : null;
    if (fast && knownPayload && fast.payloadLength === knownPayload.length) {
      header = fast;
      payload = knownPayload;
    } else {
      // Crafted bytes, possibly broken: decode them as a receiver would.
      header = headerOf(bytes);
      payload = frameAnatomy(bytes).payload;
    }
    const close = header.opcode === Opcode.Close ? safeParseClose(payload) : undefined;
    this.traceFrame('out', { header, payload, raw: bytes }, frameId, close, false, undefined, deflate);
  }

  /**
   * Queues a message's frame. A server's (§5.1: unmasked) frame with a large payload goes out as
   * its header and then the payload as it is (OutputChunk.payload, one writev) when nothing
   * traces or holds frames: no copy of the payload behind the header. Anything else: sendFrame.
   */
  private queueFrame(spec: FrameSpec, deflate?: TracedFrameDeflate): Uint8Array | null {
    const payload = spec.payload;
    if (payload && payload.length >= WRITEV_MIN_PAYLOAD && this.role === 'server' && spec.maskKey === undefined && !this.trace && !this.deferOutgoingTrace) {
      this.output.push({ bytes: encodeFrameHeader(spec), kind: 'frame', payload });
      return null;
    }
    return this.sendFrame(spec, deflate);
  }

  /** Queues raw bytes as they are (fault injection: anything, even half a frame). */
  sendRaw(bytes: Uint8Array): void {
    this.write(bytes, 'raw');
  }

  /**
   * Bytes written as they are (sendRaw, a crafted write) carried a complete Close frame with this
   * (unmasked) payload: we started, or answered, the closing handshake (§7.1.2), so the peer's
   * Close completes it instead of drawing a second Close from us (§5.5.1: one Close per side).
   * Nothing is sent here; the caller writes the bytes.
   */
  noteRawCloseSent(payload: Uint8Array): void {
    if (this.closeSent || (this._state !== 'OPEN' && this._state !== 'CLOSING')) return;
    this.closeSent = safeParseClose(payload) ?? { code: null, reason: '' };
    if (this._state === 'OPEN') this.setState('CLOSING', `we send Close${this.closeSent.code !== null ? ` ${this.closeSent.code}` : ''} (raw bytes)`);
    if (this.closeReceived) this.closingHandshakeComplete();
  }

  private requireOpen(what: string): void {
    if (this._state !== 'OPEN') throw new Error(`Cannot send ${what}: the connection is ${this._state}.`);
  }

  /** utf8: the text's UTF-8 encoding, if the caller already made it (an I/O adapter that compressed it first). */
  sendText(text: string, utf8?: Uint8Array): void {
    this.requireOpen('a text message');
    this.sendMessage(Opcode.Text, utf8 ?? utf8Encode(text), text);
  }

  sendBinary(data: Uint8Array): void {
    this.requireOpen('a binary message');
    this.sendMessage(Opcode.Binary, data);
  }

  /** Sends a message split into frames of the given sizes (§5.4), e.g. [3, 2] for "Hel" + "lo". */
  sendFragmented(opcode: number, data: Uint8Array, sizes: readonly number[]): void {
    this.requireOpen('a fragmented message');
    if (sizes.length === 0) {
      // One frame (what a relay copies most): no piece arrays, closures or spread spec per message.
      const frameId = this.frameId + 1;
      const encoded = this.encodeOutgoing(opcode, [data]);
      const bytes = encoded
        ? this.queueFrame({ opcode, payload: encoded.payloads[0]!, fin: true, rsv1: encoded.rsv.rsv1, rsv2: encoded.rsv.rsv2, rsv3: encoded.rsv.rsv3 }, encoded.frames?.[0])
        : this.queueFrame({ opcode, payload: data, fin: true });
      if (this.trace && this.deferOutgoingTrace) this.deferMessageTrace(opcode, data, [bytes], encoded?.message);
      else if (this.trace) this.traceOutgoingMessage(opcode, data, [frameId], encoded?.message);
      return;
    }
    let at = 0;
    const pieces: Uint8Array[] = [];
    for (const size of sizes) {
      pieces.push(data.subarray(at, at + size));
      at += size;
    }
    if (at < data.length || pieces.length === 0) pieces.push(data.subarray(at));
    const firstId = this.frameId + 1;
    // RFC 7692 §6.1: the message is compressed as a whole, RSV1 on its first frame only.
    const encoded = this.encodeOutgoing(opcode, pieces);
    const frames = pieces.map((piece, i) => this.queueFrame({
      opcode: i === 0 ? opcode : Opcode.Continuation, payload: encoded ? encoded.payloads[i]! : piece, fin: i === pieces.length - 1,
      ...(encoded && i === 0 ? { rsv1: encoded.rsv.rsv1, rsv2: encoded.rsv.rsv2, rsv3: encoded.rsv.rsv3 } : {}),
    }, encoded?.frames?.[i]));
    if (this.trace && this.deferOutgoingTrace) this.deferMessageTrace(opcode, data, frames, encoded?.message);
    else this.traceOutgoingMessage(opcode, data, Array.from({ length: pieces.length }, (_, i) => firstId + i), encoded?.message);
  }

  /**
   * A relay's copy of a message of one frame received on another connection, sent as the bytes
   * that frame arrived in (`wire`, ProtocolEvent's), traced as sendFragmented traces it: only when
   * those bytes are exactly the frame we would encode (FIN, no RSV bit, this opcode, no mask as
   * §5.1 asks of a server, the minimal length encoding of §5.2), nothing here transforms it (no
   * extension) and no step-mode gate may hold or edit it. false: not so; nothing was sent.
   */
  sendFrameAsReceived(opcode: number, data: Uint8Array, wire: Uint8Array): boolean {
    if (this._state !== 'OPEN' || this.role !== 'server' || this.extension || this.deferOutgoingTrace || !isPlainFrame(wire, opcode, data.length)) return false;
    this.output.push({ bytes: wire, kind: 'frame' });
    if (this.trace) {
      this.traceOutgoingFrameBytes(wire, data);
      this.noteBytesWritten(wire);
      this.traceOutgoingMessage(opcode, data, [this.frameId]);
    }
    return true;
  }

  private sendMessage(opcode: number, data: Uint8Array, text?: string): void {
    const encoded = this.encodeOutgoing(opcode, [data]);
    const bytes = encoded
      ? this.queueFrame({ opcode, payload: encoded.payloads[0]!, rsv1: encoded.rsv.rsv1, rsv2: encoded.rsv.rsv2, rsv3: encoded.rsv.rsv3 }, encoded.frames?.[0])
      : this.queueFrame({ opcode, payload: data });
    if (this.trace && this.deferOutgoingTrace) {
      // Step mode: its frame is traced, and numbered, when the gate lets it out.
      this.deferMessageTrace(opcode, data, [bytes], encoded?.message, text);
    } else if (this.trace) {
      const rows = this.traceRows;
      // No extension: the frame was encoded from data itself.
      if (rows !== undefined && !encoded?.message && rows.ready) rows.message('out', opcode, this.frameId, 1, text, data, encoded === null);
      else this.trace(messageBody('out', opcode, data, [this.frameId], text, encoded?.message));
    }
  }

  /**
   * The agreed extension's form of an outgoing message (null: none agreed). Step mode
   * (deferOutgoingTrace): a held frame may be dropped or go out edited, and then its bytes are in
   * our compressor's LZ77 window but never in the peer's; a message compressed after it could refer
   * back to them (context takeover, RFC 7692 §7.1.1) and not inflate at the peer to what we traced.
   * So each message starts from an empty window while a gate may hold frames.
   */
  private encodeOutgoing(opcode: number, pieces: readonly Uint8Array[]): EncodedMessage | null {
    const extension = this.extension;
    if (!extension) return null;
    if (this.deferOutgoingTrace) extension.restartOutgoingWindow?.(STEP_MODE_WINDOW);
    return extension.encodeMessage(opcode, pieces, this.trace !== undefined);
  }

  private traceOutgoingMessage(opcode: number, data: Uint8Array, frameIds: number[], compression?: TracedMessageCompression): void {
    if (!this.trace) return;
    const text = opcode === Opcode.Text ? utf8DecodeLenient(data) : undefined;
    const rows = this.traceRows;
    if (rows !== undefined && compression === undefined && rows.ready && consecutive(frameIds)) rows.message('out', opcode, frameIds[0]!, frameIds.length, text, data);
    else this.trace(messageBody('out', opcode, data, frameIds, text, compression));
  }

  /**
   * Step mode: the message is traced once the last of its frames (`frames`, the bytes queued for
   * each) has been traced as written (traceWrittenFrame), with the ids they got then. A frame the
   * gate drops is never written: its message is not traced either (the trace notes the drop).
   */
  private deferMessageTrace(opcode: number, data: Uint8Array, frames: readonly (Uint8Array | null)[], compression?: TracedMessageCompression, text?: string): void {
    const pending: PendingOutgoingMessage = { opcode, data, text, compression, frameIds: [], remaining: 0 };
    const map = (this.pendingOutgoingMessages ??= new WeakMap());
    for (const bytes of frames) {
      if (!bytes) continue; // (never in step mode: a header-and-payload writev only goes out untraced and ungated)
      map.set(bytes, pending);
      pending.remaining++;
    }
  }

  /**
   * Step mode: traces a frame as it is written (`bytes`; `original`: the bytes queued, when the gate
   * let it out edited) and its write, then the message it completes, if any (deferMessageTrace):
   * the order the trace has without step mode.
   */
  traceWrittenFrame(bytes: Uint8Array, original?: Uint8Array): void {
    this.traceOutgoingFrameBytes(bytes);
    this.noteBytesWritten(bytes);
    const map = this.pendingOutgoingMessages;
    const pending = map?.get(original ?? bytes);
    if (!map || !pending || !this.trace) return;
    map.delete(original ?? bytes);
    pending.frameIds.push(this.frameId);
    if (--pending.remaining > 0) return;
    // As an object: the message's data is what the application sent, whatever an edit put on the wire.
    const text = pending.text ?? (pending.opcode === Opcode.Text ? utf8DecodeLenient(pending.data) : undefined);
    this.trace(messageBody('out', pending.opcode, pending.data, pending.frameIds, text, pending.compression));
  }

  sendPing(payload: Uint8Array = new Uint8Array(0)): void {
    this.requireOpen('a ping');
    if (payload.length > 125) throw new Error('A ping payload is at most 125 bytes (§5.5).');
    this.sendFrame({ opcode: Opcode.Ping, payload });
  }

  sendPong(payload: Uint8Array = new Uint8Array(0)): void {
    this.requireOpen('a pong');
    if (payload.length > 125) throw new Error('A pong payload is at most 125 bytes (§5.5).');
    this.sendFrame({ opcode: Opcode.Pong, payload });
  }

  /** §7.1.2 _Start the WebSocket Closing Handshake_ with an optional code and reason. */
  close(code: number | null = CloseCode.NormalClosure, reason = ''): void {
    if (this._state !== 'OPEN') return;
    if (code !== null && !isValidWireCloseCode(code)) throw new Error(`Close code ${code} may not be sent (§7.4).`);
    if (code === null && reason) throw new Error('A close reason needs a status code (§5.5.1).');
    if (utf8Encode(reason).length > 123) throw new Error('A close reason is at most 123 bytes of UTF-8 (§5.5).');
    this.setState('CLOSING', `we send Close${code !== null ? ` ${code}` : ''}`);
    this.sendCloseFrame(code, reason);
  }

  private sendCloseFrame(code: number | null, reason: string): void {
    this.closeSent = { code, reason };
    this.sendFrame({ opcode: Opcode.Close, payload: encodeClosePayload(code, reason) });
    if (this.closeReceived) this.closingHandshakeComplete();
  }

  /**
   * Step mode: the next frame traced in this direction is one the user edited in the debugger;
   * its trace carries the original bytes (edited: { original }), so no view reads it as sent so.
   */
  markNextFrameEdited(direction: Direction, original: Uint8Array): void {
    this.editedOriginal[direction] = original;
  }

  /**
   * Step mode: an incoming frame the user dropped, in its place in the stream. A data frame is read
   * as any other (its checks, its fragment's place in the message, the decompression window of
   * RFC 7692 §7.2.2, which the peer's next messages may refer back to), but the message it belongs
   * to is never delivered. A control frame is not read: nothing after it depends on it (no Pong is
   * sent for a dropped Ping, a dropped Close starts no closing handshake).
   */
  receiveDroppedFrame(bytes: Uint8Array): void {
    if (bytes.length === 0 || isControlOpcode(bytes[0]! & 0x0f)) return;
    this.readingDropped = true;
    try {
      this.receiveData(bytes);
    } finally {
      this.readingDropped = false;
    }
  }

  /** Step mode: a note in the trace about a held frame (released edited, dropped). */
  noteGateEvent(text: string): void {
    this.emitTrace(() => ({ type: 'note', text }));
  }

  /** The transport gave up waiting (client close timeout, or a local abort). */
  abort(detail: string): void {
    if (this._state === 'CLOSED') return;
    this.emitTrace(() => ({ type: 'note', text: detail }));
    this.receiveEof();
  }

  // ---------------------------------------------------------------- tracing

  private emitTrace(make: () => TraceBody): void {
    if (this.trace) this.trace(make());
  }

  private setState(to: ConnectionState, reason: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    if (to === 'CLOSED') this.extension?.close(); // frees the zlib streams
    this.emitTrace(() => ({ type: 'state', from, to, reason }));
  }

  private traceFrame(direction: Direction, frame: Frame, frameId: number, close?: TracedFrame['close'], partial = false, violation?: ProtocolViolation, deflate?: TracedFrameDeflate): void {
    const original = this.editedOriginal[direction];
    if (original) this.editedOriginal[direction] = undefined;
    if (!this.trace) return;
    const h = frame.header;
    const rows = this.traceRows;
    if (
      rows !== undefined && !partial && !violation && !close && !deflate && !original && h.payloadLengthExact === undefined && frame.raw !== null
      && frame.payload.length === h.payloadLength && plainFrameLength(frame.raw, h.payloadLength) && rows.ready
    ) {
      // Every field follows from the wire bytes: a row for the log, no object (TraceRowListener).
      rows.frame(direction, frameId, frame.raw, frame.payload);
      return;
    }
    // Per traced frame: one literal, the rare fields assigned after it (in this order) rather than
    // spread in (a spread allocates and takes V8's slow path for every frame).
    const traced: TracedFrame = {
      frameId, fin: h.fin, rsv1: h.rsv1, rsv2: h.rsv2, rsv3: h.rsv3, opcode: h.opcode, masked: h.masked,
      maskKey: h.maskKey, lengthField: h.lengthField, payloadLength: h.payloadLength, headerLength: h.headerLength,
      raw: frame.raw ?? EMPTY, payload: frame.payload,
    };
    if (h.payloadLengthExact !== undefined) traced.payloadLengthExact = String(h.payloadLengthExact);
    if (partial) traced.partial = true;
    if (violation) traced.violation = tracedViolation(violation);
    if (close) traced.close = close;
    if (deflate) traced.deflate = deflate;
    if (original) traced.edited = { original };
    this.trace({ type: 'frame', direction, frame: traced });
  }
}

const EMPTY = new Uint8Array(0);

/** Are these bytes the frame encodeFrame makes of a message of `length` bytes in one unmasked frame (§5.2)? */
function isPlainFrame(wire: Uint8Array, opcode: number, length: number): boolean {
  if ((opcode !== Opcode.Text && opcode !== Opcode.Binary) || wire.length < 2 || wire[0] !== (0x80 | opcode)) return false;
  const lengthField = wire[1]!; // the MASK bit must be clear
  if (lengthField <= 125) return lengthField === length && wire.length === 2 + length;
  if (lengthField === 126) return length >= 126 && length <= 0xffff && wire.length === 4 + length && ((wire[2]! << 8) | wire[3]!) === length;
  // §5.2: "the minimal number of bytes MUST be used to encode the length"
  return lengthField === 127 && length > 0xffff && wire.length === 10 + length && decodeHeader(wire)?.payloadLength === length;
}

/** Frame ids n, n+1, n+2…: what a message row can hold (a control frame between fragments breaks the run). */
function consecutive(ids: readonly number[]): boolean {
  if (ids.length === 0) return false;
  for (let k = 1; k < ids.length; k++) if (ids[k] !== ids[0]! + k) return false;
  return true;
}

/**
 * Are these whole-frame bytes exactly a header (as its first bytes declare it, §5.2) whose length
 * field says payloadLength, then that many payload bytes? Then every header field can be read back from them (a trace row).
 */
function plainFrameLength(raw: Uint8Array, payloadLength: number): boolean {
  if (raw.length < 2) return false;
  const b1 = raw[1]!;
  const lengthField = b1 & 0x7f;
  let declared = lengthField;
  let headerLength = 2;
  if (lengthField === 126) {
    if (raw.length < 4) return false;
    declared = (raw[2]! << 8) | raw[3]!;
    headerLength = 4;
  } else if (lengthField === 127) {
    if (raw.length < 10) return false;
    const hi = ((raw[2]! << 24) >>> 0) + (raw[3]! << 16) + (raw[4]! << 8) + raw[5]!;
    if (hi > 0x1fffff) return false;
    declared = hi * 2 ** 32 + ((raw[6]! << 24) >>> 0) + (raw[7]! << 16) + (raw[8]! << 8) + raw[9]!;
    headerLength = 10;
  }
  if (b1 & 0x80) headerLength += 4;
  return declared === payloadLength && raw.length === headerLength + payloadLength;
}

/** Reads a frame header straight from bytes we encoded ourselves (null if they are too short). */
function decodeHeader(bytes: Uint8Array): FrameHeader | null {
  if (bytes.length < 2) return null;
  const b0 = bytes[0]!, b1 = bytes[1]!;
  const lengthField = b1 & 0x7f;
  const masked = (b1 & 0x80) !== 0;
  let at = 2;
  let payloadLength = lengthField;
  if (lengthField === 126) {
    if (bytes.length < 4) return null;
    payloadLength = (bytes[2]! << 8) | bytes[3]!;
    at = 4;
  } else if (lengthField === 127) {
    if (bytes.length < 10) return null;
    payloadLength = ((bytes[2]! << 24) >>> 0) * 2 ** 32 + (bytes[3]! << 16) * 2 ** 32 + (bytes[4]! << 8) * 2 ** 32 + bytes[5]! * 2 ** 32
      + ((bytes[6]! << 24) >>> 0) + (bytes[7]! << 16) + (bytes[8]! << 8) + bytes[9]!;
    at = 10;
  }
  // A view of the key in the frame's own bytes (they are not changed once encoded): no copy per frame.
  const maskKey = masked ? bytes.subarray(at, at + 4) : null;
  if (masked) at += 4;
  return {
    fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode: b0 & 0x0f,
    masked, lengthField, payloadLength, maskKey, headerLength: at,
  };
}

/** Decodes the header of complete frame bytes we just encoded (for the outgoing trace). */
function headerOf(bytes: Uint8Array): FrameHeader {
  try {
    const events = new FrameParser({ keepRaw: false }).feedAll(bytes.subarray(0, Math.min(bytes.length, 14)));
    const header = events.find((e) => e.kind === 'header');
    if (header && header.kind === 'header') return header.header;
  } catch {
    // A crafted frame framing cannot represent (64-bit length with its top bit set).
  }
  return partialHeaderOf(bytes);
}

/**
 * Best-effort header of an incomplete frame: the extended length and the masking key when their
 * bytes arrived (a 64-bit length with its top bit set, which the parser refuses under §5.2, is
 * still read, for display); fields not yet received read as the 7-bit field, or null.
 */
export function partialHeaderOf(bytes: Uint8Array): FrameHeader {
  const b0 = bytes[0] ?? 0, b1 = bytes[1] ?? 0;
  const lengthField = b1 & 0x7f;
  const masked = (b1 & 0x80) !== 0;
  const header: FrameHeader = {
    fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f, masked, lengthField, payloadLength: lengthField,
    maskKey: null, headerLength: Math.min(bytes.length, 2),
  };
  if (bytes.length < 2) return header;
  const extLength = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
  if (bytes.length < 2 + extLength) return header;
  if (extLength === 2) {
    header.payloadLength = (bytes[2]! << 8) | bytes[3]!;
  } else if (extLength === 8) {
    const hi = ((bytes[2]! << 24) >>> 0) + (bytes[3]! << 16) + (bytes[4]! << 8) + bytes[5]!;
    const lo = ((bytes[6]! << 24) >>> 0) + (bytes[7]! << 16) + (bytes[8]! << 8) + bytes[9]!;
    if (hi > 0x1fffff) {
      header.payloadLength = Number.MAX_SAFE_INTEGER;
      header.payloadLengthExact = (BigInt(hi) << 32n) + BigInt(lo);
    } else {
      header.payloadLength = hi * 2 ** 32 + lo;
    }
  }
  header.headerLength = 2 + extLength;
  if (masked && bytes.length >= header.headerLength + 4) {
    header.maskKey = bytes.slice(header.headerLength, header.headerLength + 4);
    header.headerLength += 4;
  }
  return header;
}

/** Cuts text to at most maxBytes of UTF-8 without splitting a character (§5.5: reason ≤ 123 bytes). */
function truncateUtf8(text: string, maxBytes: number): string {
  let out = text;
  while (utf8Encode(out).length > maxBytes) out = out.slice(0, -1);
  return out;
}

function safeParseClose(payload: Uint8Array): TracedFrame['close'] {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: (payload[0]! << 8) | payload[1]!, reason: utf8DecodeLenient(payload.subarray(2)) };
}

/** A message sent in step mode, waiting for its frames to be traced as written (deferMessageTrace). */
interface PendingOutgoingMessage {
  opcode: number;
  data: Uint8Array;
  text: string | undefined;
  compression: TracedMessageCompression | undefined;
  /** The ids its frames got, in the order they were written. */
  frameIds: number[];
  remaining: number;
}
