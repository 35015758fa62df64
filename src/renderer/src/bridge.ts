/**
 * Which InspectorApi the renderer talks to: Electron's preload exposes window.inspector;
 * in a plain browser (the web host) the HTTP bridge stands in for it.
 *
 * The web host obeys only this page: every call and the event stream carry the run's token
 * (from a meta tag the host writes into index.html) in a custom header, as JSON. A dangerous
 * request (a launch command, a non-loopback bind) is answered with a confirmation prompt; the
 * page shows it, and only a person's yes repeats the request with the prompt's token.
 */
import type { ConfirmationPrompt, InspectorApi, PreloadApi, ServiceBatch } from '../../shared/inspector-api.ts';
import { decodeWireJson } from '../../shared/wire-json.ts';
import { BatchRecordReader, decodeBatch } from '../../shared/trace-batch.ts';

declare global {
  interface Window {
    inspector?: PreloadApi;
  }
}

export const TOKEN_HEADER = 'X-Inspector-Token';

/** This run's bridge token, read once from the page the web host served (and then removed from the DOM). */
function readToken(): string {
  type Meta = { getAttribute(name: string): string | null; remove(): void };
  const doc = (globalThis as { document?: { querySelector(selector: string): Meta | null } }).document;
  const meta = doc?.querySelector('meta[name="inspector-token"]');
  const token = meta?.getAttribute('content') ?? '';
  meta?.remove();
  return token;
}

/** Asks the person; resolves true only on an explicit yes. The app installs its dialog here. */
export type ConfirmHandler = (prompt: ConfirmationPrompt) => Promise<boolean>;
let confirmHandler: ConfirmHandler = async () => false;
export function setConfirmHandler(handler: ConfirmHandler): void {
  confirmHandler = handler;
}

type Reply = { ok?: boolean; confirm?: ConfirmationPrompt };

/** A request the person confirmed goes again with the prompt's token; a no leaves the refusal as it is. */
async function withConfirmation<T>(send: (arg: unknown) => Promise<T>, arg: unknown): Promise<T> {
  const first = await send(arg);
  const reply = first as Reply;
  if (reply?.ok !== false || !reply.confirm || typeof arg !== 'object' || arg === null) return first;
  if (!(await confirmHandler(reply.confirm))) return { ok: false, error: 'Cancelled: you did not confirm it.' } as T;
  return send({ ...arg, confirmToken: reply.confirm.token });
}

/** The web host's token, for the upload of a recording file (upload-recording.ts). */
export let webBridgeToken = '';

export function createWebBridge(token = readToken()): InspectorApi {
  webBridgeToken = token;
  async function call<T>(name: string, arg?: unknown): Promise<T> {
    const response = await fetch(`/api/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: token },
      body: arg === undefined ? '' : JSON.stringify(arg),
    });
    const text = await response.text();
    if (!response.headers.get('content-type')?.startsWith('application/json')) {
      return { ok: false, error: `The inspector refused the call (${response.status}): ${text}` } as T;
    }
    return decodeWireJson<T>(text);
  }
  const confirmed = <T>(name: string) => (arg: unknown) => withConfirmation((a) => call<T>(name, a), arg);

  return {
    getStatus: () => call('getStatus'),
    startServer: (request) => confirmed<Awaited<ReturnType<InspectorApi['startServer']>>>('startServer')(request),
    stopServer: () => call('stopServer'),
    setServerApp: (app) => call('setServerApp', app),
    connectClient: (request) => call('connectClient', request),
    send: (request) => call('send', request),
    dropConnection: (id) => call('dropConnection', id),
    removeClosed: (ids) => call('removeClosed', ids),
    startProxy: (request) => confirmed<Awaited<ReturnType<InspectorApi['startProxy']>>>('startProxy')(request),
    stopProxy: () => call('stopProxy'),
    proxyCa: (action) => call('proxyCa', action),
    setStepMode: (id, on) => call('setStepMode', { connectionId: id, on }),
    setBreakpoints: (id, breakpoints) => call('setBreakpoints', { connectionId: id, breakpoints }),
    stepControl: (id, action) => call('stepControl', { connectionId: id, action }),
    editHeld: (id, holdId, frame) => call('editHeld', { connectionId: id, holdId, frame }),
    dropHeld: (id, holdId) => call('dropHeld', { connectionId: id, holdId }),
    setPolicy: (id, policy) => call('setPolicy', { connectionId: id, policy }),
    craft: (request) => call('craft', request),
    listPresets: () => call('listPresets'),
    firePreset: (id, presetId) => call('firePreset', { connectionId: id, presetId }),
    compressPayload: (connectionId, payloadHex) => call('compressPayload', { connectionId, payloadHex }),
    byteStepStart: (hex, receiverRole, options) => call('byteStepStart', { hex, receiverRole, ...options }),
    byteStepFeed: (sessionId, count) => call('byteStepFeed', { sessionId, count }),
    frameBytes: (connectionId, frameId) => call('frameBytes', { connectionId, frameId }),
    searchCutFrames: (connectionId, search) => call('searchCutFrames', { connectionId, search }),
    rawCarriers: (request) => call('rawCarriers', request),
    runConformance: (request) => confirmed<Awaited<ReturnType<InspectorApi['runConformance']>>>('runConformance')(request),
    conformanceWire: (caseId) => call('conformanceWire', caseId),
    openRecording: (path) => call('openRecording', path),
    closeRecording: (prefix) => call('closeRecording', prefix),
    startRecording: (cap) => call('startRecording', cap),
    stopRecording: () => call('stopRecording'),
    saveSession: () => call('saveSession'),
    exportSession: (request) => call('exportSession', request),
    getSavedWork: () => call('getSavedWork'),
    setSavedWork: (work) => call('setSavedWork', work),
    importSavedWork: (text) => call('importSavedWork', text),
    runSequence: (connectionId, steps) => call('runSequence', { connectionId, steps }),
    onBatch: (listener) => streamBatches(token, listener, (arg) => call('ackEvents', arg)),
  };
}

/**
 * At the next animation frame (after the store applied what had come: its frame callback was
 * asked for first), `atFrame` runs; then `callback`, in a task after that frame was produced.
 */
function afterNextFrame<T>(atFrame: () => T, callback: (value: T) => void): void {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame;
  const run = () => {
    const value = atFrame();
    setTimeout(() => callback(value), 0);
  };
  if (raf) raf(run);
  else setTimeout(run, 16);
}

/** At most one acknowledgement per this many ms: each is a fetch on the page's main thread. */
const ACK_INTERVAL_MS = 40;

/**
 * Tells the web host (or Electron's main process) which batches this page has applied (the store applies them once per
 * animation frame), at most one acknowledgement in flight: a page that falls behind the wire,
 * or is hidden and paints nothing, acknowledges late, and the host folds its frames
 * (src/service/frame-folding.ts) instead of queueing them.
 */
class BatchAcknowledger {
  private stream: number | null = null;
  private received = 0;
  private acked = 0;
  private inFlight = false;
  private scheduled = false;
  private lastSentAt = -Infinity;

  constructor(private readonly send: (arg: { stream: number; seq: number }) => Promise<unknown>) {}

  saw(batch: ServiceBatch): void {
    if (typeof batch.stream === 'number' && batch.stream !== this.stream) {
      // A new stream (the first batch, or after a reconnect): its numbers start again.
      this.stream = batch.stream;
      this.received = 0;
      this.acked = 0;
    }
    if (typeof batch.seq !== 'number' || this.stream === null) return;
    this.received = Math.max(this.received, batch.seq);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // What had come by the frame is what the frame applied: that is the number acknowledged.
    const ack = () => afterNextFrame(() => ({ stream: this.stream, seq: this.received }), ({ stream, seq }) => {
      this.scheduled = false;
      if (stream === null || stream !== this.stream || seq <= this.acked) return;
      this.inFlight = true;
      this.lastSentAt = performance.now();
      void this.send({ stream, seq }).catch(() => undefined).finally(() => {
        this.inFlight = false;
        if (stream === this.stream) this.acked = Math.max(this.acked, seq);
        if (this.received > this.acked) this.schedule();
      });
    });
    const wait = ACK_INTERVAL_MS - (performance.now() - this.lastSentAt);
    if (wait > 0) setTimeout(ack, wait);
    else ack();
  }
}

/**
 * The event stream, read with fetch so the token travels in a header (EventSource cannot send
 * one). Binary batches, each a length-prefixed record (BatchRecordReader). Reconnects
 * after a dropped stream, a little later each time. Applied batches are acknowledged (ack).
 */
function streamBatches(token: string, listener: (batch: ServiceBatch) => void, ack: (arg: { stream: number; seq: number }) => Promise<unknown>): () => void {
  const abort = new AbortController();
  const acknowledger = new BatchAcknowledger(ack);
  let retryMs = 250;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const response = await fetch('/api/events', { headers: { [TOKEN_HEADER]: token }, signal: abort.signal });
        if (!response.ok || !response.body) throw new Error(`event stream refused (${response.status})`);
        retryMs = 250;
        const reader = response.body.getReader();
        const records = new BatchRecordReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          // A record claiming more than a batch may hold throws: the stream starts again.
          for (const data of records.push(value)) {
            const batch = readBatch(data);
            if (!batch) continue;
            listener(batch);
            acknowledger.saw(batch);
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 5000);
    }
  };
  void run();
  return () => abort.abort();
}

/**
 * A pushed batch (src/shared/trace-batch.ts) as the store applies it; null, with one line on the
 * console, for one the page cannot read (cut or garbled): the page skips it, leaves it
 * unacknowledged and keeps going; the stream's next full status puts the lists right.
 */
export function readBatch(bytes: Uint8Array): ServiceBatch | null {
  try {
    return decodeBatch(bytes);
  } catch (error) {
    console.error((error as Error).message);
    return null;
  }
}

/**
 * Electron's preload API, with its batches (binary batches) decoded here in the page and
 * acknowledged as the web host's are (the main process folds and paces by them).
 */
export function fromPreload(preload: PreloadApi): InspectorApi {
  const { onBatchJson, ackEvents, ...calls } = preload;
  return {
    ...calls,
    onBatch: (listener) => {
      const acknowledger = new BatchAcknowledger((arg) => ackEvents(arg));
      return onBatchJson((bytes) => {
        const batch = readBatch(bytes);
        if (!batch) return;
        listener(batch);
        acknowledger.saw(batch);
      });
    },
  };
}

const preload = (globalThis as { inspector?: PreloadApi }).inspector;
export const api: InspectorApi = preload ? fromPreload(preload) : createWebBridge();
