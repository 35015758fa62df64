/**
 * The renderer's state: one zustand store built from slices (connections, trace, selection,
 * filters). Trace batches arrive outside React and are applied at most once per animation
 * frame. Frames live in a bounded array that is mutated in place; `frameVersion` is the
 * value components subscribe to, so 100k frames never get copied per batch.
 */
import { create, type StateCreator } from 'zustand';
import type { FieldId } from '../../../core/fields.ts';
import { SERVICE_TRACE_ID, type Direction, type Role, type TraceEvent, type TracedFrame, type TracedHead } from '../../../core/trace.ts';
import type {
  ConformanceCaseSummary, ConformanceProgress, ConformanceRequest, ConnectionSummary, FaultOutcome, InspectorStatus, PresetInfo, ServiceBatch,
} from '../../../shared/inspector-api.ts';
import { frameSubject, lifecycleRow, MAX_LIFECYCLE_ROWS, type LifecycleRow, type SearchMatcher, type TimelineMode, type TimeMode } from '../lib/timeline.ts';
import { prepareWireLog, type WireNote } from '../lib/wire-log.ts';
import { addFold, type ConnectionFolds } from '../lib/fold-rows.ts';
import { applyStatusPatch, latestStatus } from '../../../shared/status-patch.ts';
import { FrameIndex } from './frame-index.ts';
import { FrameRow, MessageOpcodeTracker } from './frame-row.ts';

/** The message each continuation frame belongs to (a binary message's continuations are binary). */
const messageOpcodes = new MessageOpcodeTracker();

export { FrameRow };

/** The sizes the frame ring can be set to (frames kept, all connections together). */
export const frameRingChoices = [10_000, 50_000, 150_000, 500_000, 1_000_000] as const;
const defaultMaxFrames = 150_000;
const maxFramesKey = 'websocket-inspector.maxFrames';
/** The browser's localStorage where there is one (not in unit tests under node). */
type KeyValueStorage = { getItem(key: string): string | null; setItem(key: string, value: string): void };
const browserStorage = () => (globalThis as { localStorage?: KeyValueStorage }).localStorage;

/** The ring size this browser last chose (localStorage), else the default. */
function storedMaxFrames(): number {
  try {
    const stored = Number(browserStorage()?.getItem(maxFramesKey));
    return (frameRingChoices as readonly number[]).includes(stored) ? stored : defaultMaxFrames;
  } catch {
    return defaultMaxFrames;
  }
}

/** Messages kept per connection in its details (the frames keep theirs through messageByFrame). */
const RECENT_MESSAGES = 100;

export type HandshakeTrace = Extract<TraceEvent, { type: 'handshake' }>;
export type MessageTrace = Extract<TraceEvent, { type: 'message' }>;
export type ViolationTrace = Extract<TraceEvent, { type: 'violation' }>;
export type ClosedTrace = Extract<TraceEvent, { type: 'connection-closed' }>;
export type TlsTrace = Extract<TraceEvent, { type: 'tls' }>;

export interface ConnectionDetail {
  id: string;
  requestHead?: TracedHead;
  responseHead?: TracedHead;
  handshake?: HandshakeTrace;
  /** wss:// (RFC 6455 §10.6): the TLS handshake's outcome. */
  tls?: TlsTrace;
  messages: MessageTrace[];
  violations: ViolationTrace[];
  closed?: ClosedTrace;
  notes: Array<{ time: number; text: string; error: boolean }>;
  /** TCP connected, handshake, open, close, TCP closed, errors: rows of the timeline (bounded). */
  lifecycle?: LifecycleRow[];
  /** Frames the service folded for this window (it could not show them in time): rows with exact counts. */
  folds?: ConnectionFolds;
}

export type DirectionFilter = 'all' | 'in' | 'out';
export type TypeFilter = 'all' | 'data' | 'control' | 'text' | 'binary' | 'continuation' | 'close' | 'ping' | 'pong' | 'violations' | 'compressed';

// ------------------------------------------------------------------ slices

interface ConnectionsSlice {
  status: InspectorStatus | null;
  details: Record<string, ConnectionDetail>;
  selectedConnectionId: string | null;
  selectConnection: (id: string | null) => void;
}

interface TraceSlice {
  /**
   * The retained frames, oldest first; mutated in place (read it together with frameVersion).
   * A ring: beyond maxFrames the oldest go, so a long session stays bounded.
   */
  frames: FrameRow[];
  /** Changes whenever frames are added, evicted or replaced. */
  frameVersion: number;
  maxFrames: number;
  /** Sets the ring's size (remembered by this browser); frames beyond it go at once. */
  setMaxFrames: (maxFrames: number) => void;
  /** Frames dropped from the front of the ring so far. */
  evictedFrames: number;
  /** The same, per connection (the list says how many older frames it no longer holds). */
  droppedByConnection: Map<string, number>;
  /** Replaces a frame shown cut (frame.truncated) with its full bytes. */
  replaceFrame: (key: string, frame: TracedFrame) => void;
  /** The retained frames by key (connectionId:frameId), paged so that growing it never stalls. */
  framesByKey: FrameIndex;
  /**
   * frame key → the fragmented message it belongs to (§5.4), or the compressed message
   * (permessage-deflate) for its ratio and window. Any other message of one frame is that
   * frame's payload, so it is not kept here: one object fewer per retained frame.
   */
  messageByFrame: Map<string, MessageTrace>;
  /**
   * frame key → the violations the observe policy flagged on it (the connection stayed open).
   * Mutated in place like framesByKey; the frame's own event comes after its violations.
   */
  observedByFrame: Map<string, ViolationTrace[]>;
  applyBatch: (batch: ServiceBatch) => void;
  clearTrace: () => void;
}

export type View = 'frames' | 'handshake' | 'ladder' | 'debugger' | 'stepper' | 'crafter' | 'faults' | 'conformance' | 'learn' | 'pipeline';

interface SelectionSlice {
  selectedFrameKey: string | null;
  hoverField: FieldId | null;
  hoverByte: number | null;
  view: View;
  selectFrame: (key: string | null) => void;
  setHover: (field: FieldId | null, byte: number | null) => void;
  setView: (view: View) => void;
}

/** What the byte stepper steps through, when it comes from a captured frame. */
export interface ByteStepSource {
  hex: string;
  /** The endpoint receiving the bytes: a server expects masked frames, a client unmasked. */
  role: Role;
  label: string;
  /** Step it with permessage-deflate agreed (a frame of a compressed message). */
  deflate?: boolean;
  /** Changes on every request, so asking for the same frame twice starts over. */
  nonce: number;
}

export interface FaultResultEntry {
  outcome: FaultOutcome;
  time: number;
  /** The preset's group heading, for the results list. */
  group: string;
}

/** Step mode, byte stepping, crafting and fault injection (issue 4). */
interface ToolsSlice {
  /** Fired presets per connection, newest first. */
  faultResults: Record<string, FaultResultEntry[]>;
  addFaultResult: (connectionId: string, entry: FaultResultEntry) => void;
  presets: PresetInfo[] | null;
  setPresets: (presets: PresetInfo[]) => void;
  byteStepSource: ByteStepSource | null;
  /** Opens the byte stepper on these bytes. */
  byteStep: (source: Omit<ByteStepSource, 'nonce'>) => void;
}

/** A conformance case's wire log, opened as a read-only pseudo-connection. */
export interface RecordingInfo {
  caseId: string;
  outcome: ConformanceCaseSummary['outcome'];
  reason: string;
  description: string;
  rfcSection: string;
  categoryName: string;
  /** What was tested: the server URL or the client's launch command. */
  target: string;
  /** The case's narrative from its wire log: steps, expectations, verdict. */
  notes: WireNote[];
}

/** Shaped like the service's ConnectionSummary, so the views can treat it like a connection. */
export type RecordingSummary = ConnectionSummary & { recording: RecordingInfo };

export type ConformanceMode = ConformanceRequest['mode'];

export interface ConformanceForm {
  mode: ConformanceMode;
  /** Server URL; empty: the embedded server's own URL. */
  url: string;
  /** A command with {url}, run once per case. */
  launch: string;
  /** "1., 6.4": ids or prefixes, comma separated; empty: every case. */
  filter: string;
  /** Show only failed and non-strict cases. */
  problemsOnly: boolean;
}

/** The conformance battery (issue 5): the run's progress, and the wire logs opened from it. */
interface ConformanceSlice {
  /** The latest progress pushed by the service (null before any run). */
  conformance: ConformanceProgress | null;
  /** What the last run from this window asked for (to list the cases still to come). */
  conformanceRun: { peer: 'server' | 'client'; filters: string[] } | null;
  conformanceForm: ConformanceForm;
  /** Category id → expanded (absent: the default, expanded when it has problems). */
  expandedCategories: Record<number, boolean>;
  recordings: RecordingSummary[];
  setConformanceForm: (patch: Partial<ConformanceForm>) => void;
  startedConformance: (progress: ConformanceProgress, run: NonNullable<ConformanceSlice['conformanceRun']>) => void;
  toggleCategory: (category: number, expanded: boolean) => void;
  /** Adds a case's wire log as a pseudo-connection, selects it and shows its frames. */
  openRecording: (summary: ConformanceCaseSummary, events: TraceEvent[], target: string) => void;
  /** Forgets every opened wire log (their frames too). */
  closeRecordings: () => void;
}

interface FilterSlice {
  direction: DirectionFilter;
  type: TypeFilter;
  search: string;
  /** The display-filter language (lib/display-filter.ts). */
  displayFilter: string;
  /** One row per frame, or per message with its frames folded in. */
  timelineMode: TimelineMode;
  timeMode: TimeMode;
  autoScroll: boolean;
  setFilter: (patch: Partial<Pick<FilterSlice, 'direction' | 'type' | 'search' | 'displayFilter' | 'timelineMode' | 'timeMode' | 'autoScroll'>>) => void;
}

interface NoticeSlice {
  notice: { kind: 'error' | 'info'; text: string } | null;
  setNotice: (notice: NoticeSlice['notice']) => void;
}

export type InspectorStore = ConnectionsSlice & TraceSlice & SelectionSlice & FilterSlice & NoticeSlice & ToolsSlice & ConformanceSlice;

/** Wire logs of conformance cases live under this connection id prefix. */
export const recordingPrefix = 'conformance:';

export function isRecordingId(id: string | null | undefined): boolean {
  return !!id && id.startsWith(recordingPrefix);
}

/** A live connection from the service's status, or an opened wire log. */
export function findConnection(s: Pick<InspectorStore, 'status' | 'recordings'>, id: string | null): ConnectionSummary | RecordingSummary | undefined {
  if (id === null) return undefined;
  return s.status?.connections.find((c) => c.id === id) ?? s.recordings.find((r) => r.id === id);
}

/** The selected connection if it is live (the composer and the tools act only on those). */
export function selectLiveConnection(s: InspectorStore): ConnectionSummary | undefined {
  return s.status?.connections.find((c) => c.id === s.selectedConnectionId);
}

/** Removes every frame of these connections from the ring and its lookups (in place). */
function dropFramesOf(state: InspectorStore, ids: ReadonlySet<string>): void {
  if (ids.size === 0) return;
  let write = 0;
  for (const row of state.frames) {
    if (ids.has(row.connectionId)) {
      forgetRow(state, row);
    } else {
      state.frames[write++] = row;
    }
  }
  state.frames.length = write;
}

/** At most this many frames go in one eviction, so that dropping them never takes long. */
const EVICT_CHUNK = 10_000;

/**
 * The ring: once over maxFrames, the oldest frames go in one chunk, a tenth of the ring but at
 * most EVICT_CHUNK (so evictions are rare, and none takes long even with a million frames
 * kept), with the lookups and the per-connection dropped counts in step. Returns how many went.
 */
function trimRing(state: InspectorStore, maxFrames: number): number {
  if (state.frames.length <= maxFrames) return 0;
  const evicted = Math.max(state.frames.length - maxFrames, Math.min(Math.ceil(maxFrames * 0.1), EVICT_CHUNK));
  for (const row of state.frames.splice(0, evicted)) {
    state.droppedByConnection.set(row.connectionId, (state.droppedByConnection.get(row.connectionId) ?? 0) + 1);
    forgetRow(state, row);
  }
  return evicted;
}

/** Drops a row from the lookups (the side maps are small: fragmented messages, observed violations). */
function forgetRow(state: InspectorStore, row: FrameRow): void {
  state.framesByKey.delete(row);
  if (state.messageByFrame.size > 0) state.messageByFrame.delete(row.key);
  if (state.observedByFrame.size > 0) state.observedByFrame.delete(row.key);
}

/** Connections with details here that a whole status no longer lists (opened wire logs stay). */
function goneConnections(status: InspectorStatus, details: Record<string, ConnectionDetail>, touched: ReadonlySet<string>): Set<string> {
  const listed = new Set(status.connections.map((c) => c.id));
  return new Set(Object.keys(details).filter((id) => !listed.has(id) && !isRecordingId(id) && !touched.has(id)));
}

function detailFor(details: Record<string, ConnectionDetail>, id: string): ConnectionDetail {
  let detail = details[id];
  if (!detail) {
    detail = { id, messages: [], violations: [], notes: [] };
    details[id] = detail;
  }
  return detail;
}

const createConnectionsSlice: StateCreator<InspectorStore, [], [], ConnectionsSlice> = (set) => ({
  status: null,
  details: {},
  selectedConnectionId: null,
  // Picking a connection while the conformance view is up means "show me this connection".
  selectConnection: (id) => set((s) => ({ selectedConnectionId: id, selectedFrameKey: null, ...(s.view === 'conformance' && id !== null ? { view: 'frames' as const } : {}) })),
});

const createTraceSlice: StateCreator<InspectorStore, [], [], TraceSlice> = (set, get) => ({
  frames: [],
  frameVersion: 0,
  maxFrames: storedMaxFrames(),
  setMaxFrames: (maxFrames) => {
    try {
      browserStorage()?.setItem(maxFramesKey, String(maxFrames));
    } catch {
      // storage unavailable (private mode, tests): the choice lasts for this session
    }
    const state = get();
    const evicted = trimRing(state, maxFrames);
    set({ maxFrames, ...(evicted ? { evictedFrames: state.evictedFrames + evicted, frameVersion: state.frameVersion + 1 } : {}) });
  },
  evictedFrames: 0,
  droppedByConnection: new Map(),
  framesByKey: new FrameIndex(),
  messageByFrame: new Map(),
  observedByFrame: new Map(),
  applyBatch: (batch) => {
    const state = get();
    // Only the connections that changed (statusPatch) come onto the status this window has.
    const status = batch.status ?? (batch.statusPatch && state.status ? applyStatusPatch(state.status, batch.statusPatch) : undefined);
    const details = { ...state.details };
    const touched = new Set<string>();
    let selected = state.selectedConnectionId;
    let serviceError: string | null = null;
    for (const event of batch.events) {
      const id = event.connectionId;
      const life = id === SERVICE_TRACE_ID ? null : lifecycleRow(event, undefined);
      if (life) {
        const d = detailFor(details, id);
        details[id] = { ...d, lifecycle: [...(d.lifecycle ?? []).slice(-(MAX_LIFECYCLE_ROWS - 1)), life] };
      }
      switch (event.type) {
        case 'frame': {
          const row = FrameRow.fromTrace(event, messageOpcodes.opcodeFor(event));
          state.frames.push(row);
          state.framesByKey.set(row);
          break;
        }
        case 'connection-opened':
          details[id] = { id, messages: [], violations: [], notes: [], lifecycle: details[id]?.lifecycle ?? [] };
          touched.add(id);
          if (!selected) selected = id;
          break;
        case 'http-head': {
          const d = { ...detailFor(details, id) };
          if (event.head.kind === 'request') d.requestHead = event.head;
          else d.responseHead = event.head;
          details[id] = d;
          break;
        }
        case 'handshake':
          details[id] = { ...detailFor(details, id), handshake: event };
          break;
        case 'tls':
          details[id] = { ...detailFor(details, id), tls: event };
          break;
        case 'message': {
          const d = detailFor(details, id);
          if (!touched.has(id)) {
            // Only the most recent messages are kept here (frames link to theirs through
            // messageByFrame, which the ring trims): bounded, and cheap to copy per batch.
            details[id] = { ...d, messages: d.messages.slice(-RECENT_MESSAGES) };
            touched.add(id);
          }
          const messages = details[id]!.messages;
          messages.push(event);
          if (messages.length > 2 * RECENT_MESSAGES) messages.splice(0, messages.length - RECENT_MESSAGES);
          if (event.frameIds.length > 1 || event.compression) for (const frameId of event.frameIds) state.messageByFrame.set(`${id}:${frameId}`, event);
          break;
        }
        case 'violation': {
          const d = detailFor(details, id);
          details[id] = { ...d, violations: [...d.violations, event] };
          if (event.observed && event.frameId !== undefined) {
            const key = `${id}:${event.frameId}`;
            state.observedByFrame.set(key, [...(state.observedByFrame.get(key) ?? []), event]);
          }
          break;
        }
        case 'connection-closed':
          details[id] = { ...detailFor(details, id), closed: event };
          break;
        case 'note':
        case 'error': {
          // The service's own errors (its last resort caught something) belong to no connection: say them.
          if (id === SERVICE_TRACE_ID) {
            if (event.type === 'error') serviceError = event.message;
            break;
          }
          const d = detailFor(details, id);
          const text = event.type === 'note' ? event.text : event.message;
          details[id] = { ...d, notes: [...d.notes.slice(-49), { time: event.time, text, error: event.type === 'error' }] };
          break;
        }
        default:
          break;
      }
    }
    for (const fold of batch.folds ?? []) {
      const d = detailFor(details, fold.connectionId);
      details[fold.connectionId] = { ...d, folds: addFold(d.folds ?? { rows: [], frames: 0 }, fold) };
    }
    const evicted = trimRing(state, state.maxFrames);
    // Connections the service no longer lists (it keeps the newest closed ones) go here too,
    // with their frames: a client that reconnects all day does not grow the window's memory.
    let selectionGone = false;
    if (status) {
      // A patch names the connections that left; a whole status is compared with every detail kept.
      const gone = batch.status ? goneConnections(status, details, touched) : new Set(batch.statusPatch!.removed.filter((id) => details[id] && !touched.has(id)));
      if (gone.size > 0) {
        dropFramesOf(state, gone);
        for (const id of gone) {
          delete details[id];
          state.droppedByConnection.delete(id);
        }
        if (selected !== null && gone.has(selected)) {
          selected = null;
          selectionGone = true;
        }
      }
    }
    set({
      details,
      frameVersion: state.frameVersion + 1,
      ...(evicted ? { evictedFrames: state.evictedFrames + evicted } : {}),
      selectedConnectionId: selected,
      ...(selectionGone ? { selectedFrameKey: null } : {}),
      ...(status ? { status } : {}),
      ...(batch.conformance ? { conformance: batch.conformance } : {}),
      // The web host dropped events this window read too slowly to take: say so, never hide a gap.
      ...(batch.dropped ? { notice: { kind: 'error' as const, text: droppedNotice(batch.dropped) } } : {}),
      ...(serviceError ? { notice: { kind: 'error' as const, text: serviceError } } : {}),
    });
  },
  clearTrace: () => {
    const state = get();
    state.frames.length = 0;
    state.framesByKey.clear();
    state.messageByFrame.clear();
    state.observedByFrame.clear();
    // The folded rows stood for frames of the list: they go with them.
    const details = { ...state.details };
    for (const [id, d] of Object.entries(details)) if (d.folds) details[id] = { ...d, folds: { rows: [], frames: 0 } };
    set({ details, frameVersion: state.frameVersion + 1, selectedFrameKey: null });
  },
  replaceFrame: (key, frame) => {
    const state = get();
    const row = state.framesByKey.get(key);
    if (!row) return;
    const replaced = row.withFrame(frame);
    state.framesByKey.set(replaced);
    const index = state.frames.indexOf(row);
    if (index >= 0) state.frames[index] = replaced;
    set({ frameVersion: state.frameVersion + 1 });
  },
});

const createSelectionSlice: StateCreator<InspectorStore, [], [], SelectionSlice> = (set) => ({
  selectedFrameKey: null,
  hoverField: null,
  hoverByte: null,
  view: 'frames',
  selectFrame: (key) => set({ selectedFrameKey: key, hoverField: null, hoverByte: null }),
  setHover: (field, byte) => set({ hoverField: field, hoverByte: byte }),
  setView: (view) => set({ view }),
});

const createFilterSlice: StateCreator<InspectorStore, [], [], FilterSlice> = (set) => ({
  direction: 'all',
  type: 'all',
  search: '',
  displayFilter: '',
  timelineMode: 'frames',
  timeMode: 'absolute',
  autoScroll: true,
  setFilter: (patch) => set(patch),
});

const createNoticeSlice: StateCreator<InspectorStore, [], [], NoticeSlice> = (set) => ({
  notice: null,
  setNotice: (notice) => set({ notice }),
});

let byteStepNonce = 0;

const createToolsSlice: StateCreator<InspectorStore, [], [], ToolsSlice> = (set) => ({
  faultResults: {},
  addFaultResult: (connectionId, entry) => set((s) => ({
    faultResults: { ...s.faultResults, [connectionId]: [entry, ...(s.faultResults[connectionId] ?? [])].slice(0, 100) },
  })),
  presets: null,
  setPresets: (presets) => set({ presets }),
  byteStepSource: null,
  byteStep: (source) => set({ byteStepSource: { ...source, nonce: ++byteStepNonce }, view: 'stepper' }),
});

const defaultLaunch = 'node bin/wsinspect.mjs connect {url} --echo --trace none';

const createConformanceSlice: StateCreator<InspectorStore, [], [], ConformanceSlice> = (set, get) => ({
  conformance: null,
  conformanceRun: null,
  conformanceForm: { mode: 'server', url: '', launch: defaultLaunch, filter: '', problemsOnly: false },
  expandedCategories: {},
  recordings: [],
  setConformanceForm: (patch) => set((s) => ({ conformanceForm: { ...s.conformanceForm, ...patch } })),
  startedConformance: (progress, run) => set({ conformance: progress, conformanceRun: run, expandedCategories: {} }),
  toggleCategory: (category, expanded) => set((s) => ({ expandedCategories: { ...s.expandedCategories, [category]: expanded } })),
  openRecording: (summary, events, target) => {
    const id = `${recordingPrefix}${summary.id}`;
    const state = get();
    // Opening the same case again (say, after a new run) replaces its frames.
    dropFramesOf(state, new Set([id]));
    const details = { ...state.details };
    delete details[id];
    set({ details });
    const prepared = prepareWireLog(events, id);
    const opened = prepared.opened;
    const recording: RecordingSummary = {
      id,
      // Our side of the case: the client when a server was tested, the server when a client was.
      role: opened?.role ?? (state.conformance?.mode === 'server' ? 'client' : 'server'),
      remote: opened?.remote ?? '',
      ...(opened?.url ? { url: opened.url } : {}),
      state: 'CLOSED',
      subprotocol: null,
      detail: `${summary.outcome}${summary.reason ? `: ${summary.reason}` : ''}`,
      openedAt: prepared.events[0]?.time ?? Date.now(),
      policy: 'strict',
      gate: null,
      recording: {
        caseId: summary.id, outcome: summary.outcome, reason: summary.reason, description: summary.description,
        rfcSection: summary.rfcSection, categoryName: summary.categoryName, target, notes: prepared.notes,
      },
    };
    get().applyBatch({ events: prepared.events });
    set((s) => ({
      recordings: [recording, ...s.recordings.filter((r) => r.id !== id)],
      selectedConnectionId: id,
      selectedFrameKey: null,
      view: 'frames',
    }));
  },
  closeRecordings: () => {
    const state = get();
    const ids = new Set(state.recordings.map((r) => r.id));
    dropFramesOf(state, ids);
    const details = { ...state.details };
    for (const id of ids) delete details[id];
    const selectedGone = state.selectedConnectionId !== null && ids.has(state.selectedConnectionId);
    set({
      recordings: [],
      details,
      frameVersion: state.frameVersion + 1,
      ...(selectedGone ? { selectedConnectionId: null, selectedFrameKey: null, view: 'conformance' as const } : {}),
    });
  },
});

export const useInspector = create<InspectorStore>()((...a) => ({
  ...createConnectionsSlice(...a),
  ...createTraceSlice(...a),
  ...createSelectionSlice(...a),
  ...createFilterSlice(...a),
  ...createNoticeSlice(...a),
  ...createToolsSlice(...a),
  ...createConformanceSlice(...a),
}));

/** The browser's frame clock; a timer where there is none (unit tests under node). */
function nextFrame(callback: () => void): void {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame;
  if (raf) raf(callback);
  else setTimeout(callback, 16);
}

/** What the person sees when the web host dropped events for this window. */
export function droppedNotice(count: number): string {
  return `${count.toLocaleString('en')} events dropped: this window read the event stream too slowly (subscriber too slow). The service kept them; this view has a gap there. The connection list is current again.`;
}

/** Applies pushed batches once per animation frame, however many arrive in between. */
export function connectBatches(subscribe: (listener: (batch: ServiceBatch) => void) => () => void): () => void {
  let queued: ServiceBatch[] = [];
  let scheduled = false;
  const apply = () => {
    scheduled = false;
    const batches = queued;
    queued = [];
    const status = latestStatus(batches);
    const conformance = [...batches].reverse().find((b) => b.conformance)?.conformance;
    const events = batches.length === 1 ? batches[0]!.events : batches.flatMap((b) => b.events);
    const dropped = batches.reduce((n, b) => n + (b.dropped ?? 0), 0);
    const folds = batches.flatMap((b) => b.folds ?? []);
    useInspector.getState().applyBatch({ events, ...status, ...(conformance ? { conformance } : {}), ...(dropped > 0 ? { dropped } : {}), ...(folds.length > 0 ? { folds } : {}) });
  };
  return subscribe((batch) => {
    queued.push(batch);
    if (!scheduled) {
      scheduled = true;
      nextFrame(apply);
    }
  });
}

/**
 * Whether the ring still holds a row's frame (by key, not by object: "load all" swaps in a new
 * row for the same frame, and lists built earlier still hold the old one).
 */
export function holdsFrame(s: Pick<InspectorStore, 'framesByKey'>, row: FrameRow): boolean {
  return s.framesByKey.find(row.connectionId, row.frameId) !== undefined;
}

/** The direction and type filters, then the search (compiled by timeline.ts's compileSearch: the full payload as held). */
export function matchesFilters(row: FrameRow, s: Pick<InspectorStore, 'direction' | 'type'>, search: SearchMatcher | null): boolean {
  if (s.direction !== 'all' && row.direction !== s.direction) return false;
  const op = row.opcode;
  switch (s.type) {
    case 'all': break;
    case 'data': if (op >= 8) return false; break;
    case 'control': if (op < 8) return false; break;
    case 'text': if (op !== 1) return false; break;
    case 'binary': if (op !== 2) return false; break;
    case 'continuation': if (op !== 0) return false; break;
    case 'close': if (op !== 8) return false; break;
    case 'ping': if (op !== 9) return false; break;
    case 'pong': if (op !== 10) return false; break;
    case 'violations': if (!row.violation) return false; break;
    case 'compressed': if (!row.compressed) return false; break;
  }
  return search === null || search(frameSubject(row));
}
