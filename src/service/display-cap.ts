/**
 * Bounded memory between the engine and the UI (issue 6): frames and messages go to the
 * renderer with at most DISPLAY_CAP bytes of payload each; the full bytes of recent large frames
 * stay here, in a ring with a byte budget, for "load all" on demand. A long or heavy session
 * therefore never grows without bound on either side of the IPC.
 */
import type { TraceEvent, TracedFrame } from '../core/trace.ts';
import { compilePayloadSearch } from '../shared/payload-search.ts';
import { utf8DecodeLenient } from '../core/bytes.ts';

export const DISPLAY_CAP = 64 * 1024;

export interface FullFrameStoreOptions {
  /** Total bytes of full frames kept (oldest go first). */
  budgetBytes?: number;
}

/** The full bytes of frames that were cut for display, newest kept within a byte budget. */
export class FullFrameStore {
  private readonly frames = new Map<string, { raw: Uint8Array; payload: Uint8Array }>();
  private bytes = 0;
  private readonly budget: number;

  constructor(options: FullFrameStoreOptions = {}) {
    this.budget = options.budgetBytes ?? 256 * 1024 * 1024;
  }

  get size(): number {
    return this.frames.size;
  }

  get storedBytes(): number {
    return this.bytes;
  }

  put(key: string, raw: Uint8Array, payload: Uint8Array): void {
    const cost = raw.length + payload.length;
    if (cost > this.budget) return; // bigger than everything we may keep: not retrievable
    this.frames.set(key, { raw, payload });
    this.bytes += cost;
    for (const [oldest, entry] of this.frames) {
      if (this.bytes <= this.budget) break;
      this.frames.delete(oldest);
      this.bytes -= entry.raw.length + entry.payload.length;
    }
  }

  get(key: string): { raw: Uint8Array; payload: Uint8Array } | undefined {
    return this.frames.get(key);
  }

  /** The kept frames of one connection: [frame id, bytes]. */
  *framesOf(connectionId: string): Generator<[number, { raw: Uint8Array; payload: Uint8Array }]> {
    const prefix = `${connectionId}:`;
    for (const [key, entry] of this.frames) {
      if (!key.startsWith(prefix)) continue;
      const frameId = Number(key.slice(prefix.length));
      if (Number.isInteger(frameId)) yield [frameId, entry];
    }
  }

  clear(): void {
    this.frames.clear();
    this.bytes = 0;
  }
}

/** The event as the renderer gets it: large payloads cut to DISPLAY_CAP (full frames stored). */
export function capForDisplay(event: TraceEvent, store: FullFrameStore, cap = DISPLAY_CAP): TraceEvent {
  if (event.type === 'frame') {
    let f = event.frame;
    // A compressed frame's plain bytes (permessage-deflate) are cut the same way; inflatedLength stays real.
    if (f.deflate && f.deflate.inflated.length > cap) {
      f = { ...f, deflate: { ...f.deflate, inflated: f.deflate.inflated.slice(0, cap) } };
      event = { ...event, frame: f };
    }
    if (f.payload.length <= cap && f.raw.length <= f.headerLength + cap) return event;
    store.put(`${event.connectionId}:${f.frameId}`, f.raw, f.payload);
    const frame: TracedFrame = {
      ...f,
      raw: f.raw.slice(0, Math.min(f.raw.length, f.headerLength + cap)),
      payload: f.payload.slice(0, cap),
      truncated: { rawLength: f.raw.length, payloadLength: f.payload.length },
    };
    return { ...event, frame };
  }
  if (event.type === 'message') {
    // A compressed message's wire form: cut too (compressedSize stays real).
    if (event.compression && event.compression.compressed.length > cap) {
      event = { ...event, compression: { ...event.compression, compressed: event.compression.compressed.slice(0, cap) } };
    }
    if (event.text !== undefined && event.text.length > cap) return { ...event, text: event.text.slice(0, cap), truncated: true };
    if (event.data !== undefined && event.data.length > cap) return { ...event, data: event.data.slice(0, cap), truncated: true };
  }
  return event;
}


/**
 * The ids of a connection's kept full frames whose whole payload matches the search box's text
 * or /regex/ (decoded as UTF-8; regexes run in linear time), or whose payload or wire bytes hold
 * its hex: bytes. Throws SearchError for a search that cannot be read.
 */
export function searchFullFrames(store: FullFrameStore, connectionId: string, search: string): number[] {
  const compiled = compilePayloadSearch(search);
  if (!compiled) return [];
  const ids: number[] = [];
  for (const [frameId, { raw, payload }] of store.framesOf(connectionId)) {
    const hit = compiled.kind === 'bytes' ? compiled.matchBytes(payload) || compiled.matchBytes(raw) : compiled.matchText(utf8DecodeLenient(payload));
    if (hit) ids.push(frameId);
  }
  return ids.sort((a, b) => a - b);
}
