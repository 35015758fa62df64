/**
 * The battery's report: JSON (every case with its verdict, reason, timing and wire log as trace
 * events, so the inspector can open it later) and a readable text grouped by category, ending
 * with the line "N passed, N failed, N non-strict".
 */

import { toHex } from '../bytes.ts';
import { categories, type Expectation } from './cases.ts';
import type { Behavior, CloseBehavior, Outcome } from './execute.ts';
import type { WireLogEvent } from './wire-log.ts';

export interface CaseResult {
  id: string;
  category: number;
  categoryName: string;
  description: string;
  rfcSection: string;
  expectation: Expectation;
  outcome: Outcome;
  reason: string;
  /** Autobahn's words for the outcome and for how the connection ended, and the peer's close code. */
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  remoteCloseCode: number | null;
  durationMs: number;
  /** Every byte sent and received (up to the per-case log limit), frames, notes: trace events. */
  wire: WireLogEvent[];
}

export interface CategorySummary {
  id: number;
  name: string;
  total: number;
  passed: number;
  failed: number;
  nonStrict: number;
}

export interface ConformanceReport {
  tool: 'wsinspect conformance';
  formatVersion: 1;
  /** What was tested: a server (we were its client) or a client (we were its server). */
  mode: 'server' | 'client';
  /** The server's URL or the client's launch command. */
  target: string;
  startedAt: string;
  durationMs: number;
  totals: { total: number; passed: number; failed: number; nonStrict: number };
  categories: CategorySummary[];
  cases: CaseResult[];
}

export function buildReport(mode: 'server' | 'client', target: string, startedAt: Date, durationMs: number, cases: CaseResult[]): ConformanceReport {
  const count = (list: CaseResult[], outcome: Outcome) => list.filter((c) => c.outcome === outcome).length;
  const cats: CategorySummary[] = categories
    .map((cat) => {
      const list = cases.filter((c) => c.category === cat.id);
      return { id: cat.id, name: cat.name, total: list.length, passed: count(list, 'pass'), failed: count(list, 'fail'), nonStrict: count(list, 'non-strict') };
    })
    .filter((c) => c.total > 0);
  return {
    tool: 'wsinspect conformance', formatVersion: 1, mode, target, startedAt: startedAt.toISOString(), durationMs: Math.round(durationMs),
    totals: { total: cases.length, passed: count(cases, 'pass'), failed: count(cases, 'fail'), nonStrict: count(cases, 'non-strict') },
    categories: cats, cases,
  };
}

/** "148 passed, 0 failed, 2 non-strict" */
export function summaryLine(report: Pick<ConformanceReport, 'totals'>): string {
  const t = report.totals;
  return `${t.passed} passed, ${t.failed} failed, ${t.nonStrict} non-strict`;
}

const marks: Record<Outcome, string> = { pass: '✓', 'non-strict': '~', fail: '✗' };

export interface FormatOptions {
  /** List passing cases too (default true); false lists only non-strict and failed ones. */
  showPassing?: boolean;
}

/** The readable report: one section per category, one line per case, the summary last. */
export function formatReport(report: ConformanceReport, options: FormatOptions = {}): string {
  const showPassing = options.showPassing ?? true;
  const lines: string[] = [];
  const what = report.mode === 'server' ? `server at ${report.target}` : `client launched by: ${report.target}`;
  lines.push(`WebSocket conformance (RFC 6455), ${what}`);
  lines.push(`${report.totals.total} cases in ${(report.durationMs / 1000).toFixed(1)} s`);
  const idWidth = Math.max(6, ...report.cases.map((c) => c.id.length));
  for (const cat of report.categories) {
    lines.push('');
    const parts = [`${cat.passed} passed`];
    if (cat.failed) parts.push(`${cat.failed} failed`);
    if (cat.nonStrict) parts.push(`${cat.nonStrict} non-strict`);
    lines.push(`${cat.id} ${cat.name}: ${parts.join(', ')}`);
    for (const c of report.cases.filter((r) => r.category === cat.id)) {
      if (!showPassing && c.outcome === 'pass') continue;
      lines.push(`  ${marks[c.outcome]} ${c.id.padEnd(idWidth)} ${c.description} [${c.rfcSection}] ${formatMs(c.durationMs)}`);
      if (c.outcome !== 'pass') lines.push(`      ${c.outcome}: ${c.reason}`);
      else if (c.reason) lines.push(`      note: ${c.reason}`);
    }
  }
  lines.push('');
  lines.push(summaryLine(report));
  return lines.join('\n');
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** JSON with bytes as {"hex": "..."} (the same convention as the CLI's jsonl trace); compact unless space is given. */
export function reportToJson(report: ConformanceReport, space?: number): string {
  return jsonWithHex(report, space);
}

/** Any value as JSON, Uint8Array as {"hex": "..."}. */
export function jsonWithHex(value: unknown, space?: number): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    if (original instanceof Uint8Array) return { hex: toHex(original) };
    return v;
  }, space);
}
