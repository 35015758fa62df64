/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and aggregates self time by function + file,
 * and by file. Usage: node --import tsx scripts/cpuprofile-summary.ts <file.cpuprofile> [top=25]
 */

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeEntry {
  name: string;
  file: string;
  line: number;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: SelfTimeEntry[];
  byFile: Array<{ file: string; selfMs: number; percent: number }>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

function shortFile(url: string): string {
  if (!url) return '(native)';
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(root)) path = path.slice(root.length);
  return path.replace(/^node_modules\//, 'nm/');
}

const sources = new Map<string, string[]>();

/**
 * tsx hands V8 transformed code, so profile line numbers of our own .ts files are useless
 * (all 1): find the function's declaration in the source instead.
 */
function sourceLine(file: string, name: string, line: number): number {
  if (line > 1 || !/\.(ts|tsx)$/.test(file) || name.startsWith('(')) return line;
  let text = sources.get(file);
  if (!text) {
    const path = join(root, file);
    text = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
    sources.set(file, text);
  }
  const escaped = name.replace(/[$]/g, '\\$');
  const decl = new RegExp(`^\\s*(export\\s+)?(async\\s+)?(function\\s+|(private|public|protected|static|get|set|readonly)\\s+)*${escaped}\\s*[(<]`);
  const arrow = new RegExp(`^\\s*(export\\s+)?(const|let)\\s+${escaped}\\s*=`);
  const i = text.findIndex((l) => decl.test(l) || arrow.test(l));
  return i >= 0 ? i + 1 : 0;
}

/** Self time per profile node: each sample lasts until the next one. */
export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const duration = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, duration));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byKey = new Map<string, SelfTimeEntry>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    const file = shortFile(cf.url);
    const name = cf.functionName || '(anonymous)';
    // Line numbers in the profile are 0-based.
    const line = cf.url ? sourceLine(file, name, cf.lineNumber + 1) : 0;
    const key = `${name}|${file}|${line}`;
    const entry = byKey.get(key) ?? { name, file, line, selfMs: 0, percent: 0 };
    entry.selfMs += us / 1000;
    byKey.set(key, entry);
    byFile.set(file, (byFile.get(file) ?? 0) + us / 1000);
  }
  const totalMs = total / 1000;
  const byFunction = [...byKey.values()].map((e) => ({ ...e, percent: (e.selfMs / totalMs) * 100 })).sort((a, b) => b.selfMs - a.selfMs);
  return {
    totalMs,
    byFunction,
    byFile: [...byFile.entries()].map(([file, selfMs]) => ({ file, selfMs, percent: (selfMs / totalMs) * 100 })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

export function formatSummary(s: ProfileSummary, top = 25): string {
  const lines: string[] = [];
  lines.push(`total sampled ${s.totalMs.toFixed(0)} ms`);
  lines.push('');
  lines.push('| self ms | % | function | file:line |');
  lines.push('| ---: | ---: | --- | --- |');
  for (const e of s.byFunction.slice(0, top)) lines.push(`| ${e.selfMs.toFixed(0)} | ${e.percent.toFixed(1)} | ${e.name} | ${e.file}${e.line ? `:${e.line}` : ''} |`);
  lines.push('');
  lines.push('| self ms | % | file |');
  lines.push('| ---: | ---: | --- |');
  for (const f of s.byFile.slice(0, 12)) lines.push(`| ${f.selfMs.toFixed(0)} | ${f.percent.toFixed(1)} | ${f.file} |`);
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx scripts/cpuprofile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  console.log(formatSummary(summariseProfile(readProfile(file)), Number.isFinite(top) ? top : 25));
}

export interface BusyStretch {
  /** Milliseconds after the profile started. */
  startMs: number;
  durationMs: number;
  /** What the stretch ran: by entry point (the outermost JS function of each sample) and by self time. */
  entries: Array<{ name: string; ms: number }>;
  self: Array<{ name: string; ms: number }>;
}

/**
 * Contiguous stretches without an idle sample that last at least minMs: in a browser profile these
 * are the long tasks (or back-to-back tasks) and what filled them.
 */
export function busyStretches(profile: CpuProfile, minMs = 50): BusyStretch[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const rootId = profile.nodes[0]?.id;
  const entryOf = new Map<number, string>();
  const entry = (id: number): string => {
    const cached = entryOf.get(id);
    if (cached) return cached;
    let at = id;
    let outer = id;
    while (parent.has(at) && parent.get(at) !== rootId) {
      at = parent.get(at)!;
      outer = at;
    }
    const cf = nodes.get(outer)!.callFrame;
    const name = `${cf.functionName || '(anonymous)'}${cf.url ? ` ${shortFile(cf.url).replace(/^https?:\/\/[^/]+\//, '')}:${cf.lineNumber + 1}` : ''}`;
    entryOf.set(id, name);
    return name;
  };
  const nameOf = (id: number) => {
    const cf = nodes.get(id)!.callFrame;
    return `${cf.functionName || '(anonymous)'}${cf.url ? ` ${shortFile(cf.url).replace(/^https?:\/\/[^/]+\//, '')}:${cf.lineNumber + 1}` : ''}`;
  };
  const out: BusyStretch[] = [];
  let t = 0;
  let start = -1;
  let acc: Array<{ id: number; us: number }> = [];
  const close = (end: number) => {
    if (start >= 0 && (end - start) / 1000 >= minMs) {
      const entries = new Map<string, number>();
      const self = new Map<string, number>();
      for (const { id, us } of acc) {
        entries.set(entry(id), (entries.get(entry(id)) ?? 0) + us / 1000);
        self.set(nameOf(id), (self.get(nameOf(id)) ?? 0) + us / 1000);
      }
      const top = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, ms]) => ({ name, ms: Math.round(ms) }));
      out.push({ startMs: Math.round(start / 1000), durationMs: Math.round((end - start) / 1000), entries: top(entries), self: top(self) });
    }
    start = -1;
    acc = [];
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    t += profile.timeDeltas[i] ?? 0;
    const duration = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    if (nodes.get(id)?.callFrame.functionName === '(idle)') {
      close(t);
      continue;
    }
    if (start < 0) start = t;
    acc.push({ id, us: duration });
  }
  close(t);
  return out;
}
