/**
 * Printing the wire trace: pretty (annotated blocks) or JSON lines, for live runs (serve,
 * connect) and for opened recordings (open) alike.
 */

import { traceEventToJson, type TraceEvent } from '../core/trace.ts';
import { capForDisplay, DISPLAY_CAP, FullFrameStore } from '../service/display-cap.ts';
import { createPrettyPrinter } from './pretty.ts';

export type TraceMode = 'pretty' | 'jsonl' | 'none';

/** The printer for a trace mode (null for none); `write` defaults to stdout (colour only on a terminal). */
export function traceWriter(mode: TraceMode, fullPayloads = false, write?: (text: string) => void): ((event: TraceEvent) => void) | null {
  if (mode === 'none') return null;
  const out = write ?? ((text: string) => process.stdout.write(text));
  if (mode === 'jsonl') {
    if (fullPayloads) return (event) => out(traceEventToJson(event) + '\n');
    // Payloads cut to DISPLAY_CAP as in the app (truncated says how long they were); no store
    // keeps the full bytes (budget 0): --full-payloads writes them.
    const store = new FullFrameStore({ budgetBytes: 0 });
    const cut = capForTrace(store);
    return (event) => out(traceEventToJson(cut(event)) + '\n');
  }
  const color = write === undefined && Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];
  const print = createPrettyPrinter({ color });
  return (event) => {
    const text = print(event);
    if (text !== null) out(text + '\n');
  };
}

/**
 * capForDisplay for frames and messages; the raw TCP reads and writes (--trace jsonl carries them)
 * get DISPLAY_CAP bytes between two frames of a connection's direction, shared by the reads or
 * writes in between (a 16 MiB frame arrives in hundreds of reads); a cut one keeps its real
 * length in `truncated`, and the reads past the cap show no bytes.
 */
function capForTrace(store: FullFrameStore): (event: TraceEvent) => TraceEvent {
  const shown = new Map<string, number>();
  return (event) => {
    if (event.type === 'frame') shown.delete(`${event.connectionId} ${event.direction}`);
    if (event.type !== 'bytes') return capForDisplay(event, store);
    const key = `${event.connectionId} ${event.direction}`;
    const before = shown.get(key) ?? 0;
    const room = Math.max(0, DISPLAY_CAP - before);
    shown.set(key, before + Math.min(room, event.bytes.length));
    if (event.bytes.length <= room) return event;
    return { ...event, bytes: event.bytes.subarray(0, room), truncated: { length: event.bytes.length } } as TraceEvent;
  };
}
