/**
 * Reads a Chrome trace (the JSON Browser.startTracing/stopTracing returns) and says what the
 * renderer's long tasks were made of: for every task on the main thread over a threshold,
 * its time by kind of work (script, garbage collection, style and layout, paint, ...).
 * Used by `UI_TRACE=1 npm run bench:ui`; also runnable on a saved trace:
 *   node --import tsx scripts/trace-summary.ts <trace.json> [minMs=50]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface TraceEventJson {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: Record<string, unknown> };
}

export interface LongTaskBreakdown {
  /** Start, ms from the first task of the trace. */
  atMs: number;
  durationMs: number;
  /** ms by kind of work, largest first (nested work counted once, in its innermost kind). */
  kinds: Array<{ kind: string; ms: number }>;
  /** The script entry points inside the task (timer, animation frame, message, ...), with their ms. */
  entries: Array<{ name: string; ms: number }>;
}

/** What a trace event's time counts as. Unlisted events count towards their parent. */
function kindOf(e: TraceEventJson): string | null {
  const n = e.name;
  if (/GC|Scavenge|MarkCompact|MinorMS|Sweep|Finalize.*Marking|V8\.GCIncremental|V8\.GC_/.test(n) && (e.cat.includes('gc') || e.cat.includes('v8'))) return 'garbage collection';
  if (n === 'MajorGC' || n === 'MinorGC') return 'garbage collection';
  if (n === 'V8.ParseFunction' || n === 'V8.CompileLazy' || n === 'V8.CompileCode' || n === 'v8.compile') return 'compile';
  if (n === 'UpdateLayoutTree' || n === 'RecalculateStyles' || n === 'ParseAuthorStyleSheet') return 'style';
  if (n === 'Layout') return 'layout';
  if (n === 'Paint' || n === 'PaintImage' || n === 'UpdateLayer' || n === 'Layerize' || n === 'PrePaint' || n === 'Commit' || n === 'CompositeLayers') return 'paint and composite';
  if (n === 'HitTest') return 'hit test';
  if (n === 'FunctionCall' || n === 'EvaluateScript' || n === 'v8.callFunction' || n === 'v8.run' || n === 'TimerFire' || n === 'FireAnimationFrame' || n === 'EventDispatch' || n === 'v8.evaluateModule') return 'script';
  if (n === 'ParseHTML') return 'parse HTML';
  return null;
}

const entryNames = new Set(['TimerFire', 'FireAnimationFrame', 'EventDispatch', 'FunctionCall', 'v8.callFunction']);

export function summariseLongTasks(traceEvents: TraceEventJson[], minMs = 50): LongTaskBreakdown[] {
  // The renderer main thread: where the page's tasks run.
  const mainThreads = new Set<string>();
  for (const e of traceEvents) if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') mainThreads.add(`${e.pid}:${e.tid}`);
  const onMain = traceEvents.filter((e) => e.ph === 'X' && e.dur !== undefined && mainThreads.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  // Outermost tasks only (a RunTask wraps a ThreadControllerImpl::RunTask of the same work).
  const tasks: TraceEventJson[] = [];
  for (const e of onMain) {
    if (e.name !== 'RunTask' && e.name !== 'ThreadControllerImpl::RunTask') continue;
    const last = tasks[tasks.length - 1];
    if (last && e.ts < last.ts + last.dur!) continue;
    tasks.push(e);
  }
  const first = tasks[0]?.ts ?? 0;
  const long = tasks.filter((t) => t.dur! / 1000 >= minMs);
  const out: LongTaskBreakdown[] = [];
  for (const task of long) {
    const end = task.ts + task.dur!;
    const inside = onMain.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur! <= end);
    // Self time per event: its duration minus its direct children's (events nest properly on one thread).
    const byKind = new Map<string, number>();
    const entries = new Map<string, number>();
    const stack: Array<{ e: TraceEventJson; kind: string; childUs: number }> = [{ e: task, kind: 'other', childUs: 0 }];
    const pop = () => {
      const top = stack.pop()!;
      const self = top.e.dur! - top.childUs;
      byKind.set(top.kind, (byKind.get(top.kind) ?? 0) + self);
    };
    for (const e of inside) {
      while (stack.length > 1 && e.ts >= stack[stack.length - 1]!.e.ts + stack[stack.length - 1]!.e.dur!) pop();
      const parent = stack[stack.length - 1]!;
      parent.childUs += e.dur!;
      stack.push({ e, kind: kindOf(e) ?? parent.kind, childUs: 0 });
      if (entryNames.has(e.name) && !stack.slice(0, -1).some((s) => entryNames.has(s.e.name))) {
        const data = e.args?.data ?? {};
        const label = e.name === 'EventDispatch' ? `EventDispatch ${String(data['type'] ?? '')}` : e.name === 'FunctionCall' ? `FunctionCall ${String(data['functionName'] ?? '') || String(data['url'] ?? '').split('/').pop()}` : e.name;
        entries.set(label, (entries.get(label) ?? 0) + e.dur!);
      }
    }
    while (stack.length > 0) pop();
    const ms = (us: number) => Math.round(us / 100) / 10;
    out.push({
      atMs: ms(task.ts - first),
      durationMs: ms(task.dur!),
      kinds: [...byKind].map(([kind, us]) => ({ kind, ms: ms(us) })).filter((k) => k.ms > 0).sort((a, b) => b.ms - a.ms),
      entries: [...entries].map(([name, us]) => ({ name, ms: ms(us) })).sort((a, b) => b.ms - a.ms).slice(0, 6),
    });
  }
  return out;
}

export function formatLongTasks(tasks: LongTaskBreakdown[]): string {
  if (tasks.length === 0) return '  no long task in the trace';
  return tasks.map((t) => `  ${t.durationMs} ms at ${t.atMs} ms: ${t.kinds.map((k) => `${k.kind} ${k.ms}`).join(', ')}\n      entries: ${t.entries.map((e) => `${e.name} ${e.ms}`).join(', ')}`).join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx scripts/trace-summary.ts <trace.json> [minMs=50]');
    process.exit(2);
  }
  const json = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents?: TraceEventJson[] } | TraceEventJson[];
  const events = Array.isArray(json) ? json : json.traceEvents ?? [];
  console.log(formatLongTasks(summariseLongTasks(events, Number(process.argv[3] ?? 50))));
}
