/**
 * Reports in Autobahn TestSuite's layout, so scripts that read Autobahn's reports read ours:
 *
 * - OUTDIR/index.json: agent → case id → {behavior, behaviorClose, duration, remoteCloseCode, reportfile}
 * - OUTDIR/<agent>_case_<id with underscores>.json: one case, with its description, expectation,
 *   verdict in Autobahn's words and ours, and its whole wire log (bytes as {"hex": ...})
 * - OUTDIR/index.html: for a person: one table per category (a column per agent, colour-coded),
 *   then every case's description, expectation, result and wire log. Static: no script, every
 *   piece of text escaped (agent names, reasons and wire data come from the peer).
 *
 * Memory stays bounded: a case's wire log is written to its JSON file as the case ends and read
 * back one case at a time when index.html is written.
 */

import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { categories, type Expectation } from './cases.ts';
import { agentProblem, caseReportFilename, cleanForFilename, compareCaseIds } from './autobahn-spec.ts';
import type { Behavior, CloseBehavior, Outcome } from './execute.ts';
import { jsonWithHex, type CaseResult } from './report.ts';
import { wireLogLines } from './wire-log-text.ts';

/** One row of index.json, as Autobahn writes it. */
export interface IndexEntry {
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  /** Milliseconds. */
  duration: number;
  remoteCloseCode: number | null;
  reportfile: string;
}

interface StoredCase extends IndexEntry {
  id: string;
  index: number;
  category: number;
  description: string;
  rfcSection: string;
  expectation: Expectation;
  outcome: Outcome;
  reason: string;
}

export interface AgentTotals {
  total: number;
  passed: number;
  failed: number;
  nonStrict: number;
  behaviors: Record<Behavior, number>;
}

const BEHAVIORS: readonly Behavior[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** What each of Autobahn's words means here (shown in the HTML legend). */
const behaviorMeaning: Record<Behavior, string> = {
  OK: 'the strict, expected behaviour',
  'NON-STRICT': 'conformant, but not the strict reading (a SHOULD not followed, another close code, not fail-fast, ...)',
  INFORMATIONAL: 'behaviour RFC 6455 leaves open, or a difference it does not judge; shown, not graded',
  UNIMPLEMENTED: 'an optional feature (permessage-deflate) the peer declined; nothing was tested',
  FAILED: 'a MUST broken, a wrong or missing answer',
};

export class AutobahnReports {
  private readonly agents = new Map<string, Map<string, StoredCase>>();
  private madeDir = false;

  /**
   * testedRole: what the agents are: 'client' (fuzzingserver: we were their server) or 'server'.
   * maxAgents bounds how many distinct agents one run keeps.
   */
  constructor(readonly outdir: string, readonly testedRole: 'client' | 'server', private readonly maxAgents = 64) {}

  /** Why results for this agent cannot be kept (null: they can). */
  agentRefusal(agent: string): string | null {
    const problem = agentProblem(agent);
    if (problem) return problem;
    if (this.agents.has(agent)) return null;
    if (this.agents.size >= this.maxAgents) return `this run already keeps results for ${this.maxAgents} agents`;
    const clean = cleanForFilename(agent);
    for (const other of this.agents.keys()) {
      if (cleanForFilename(other) === clean) return `the agents "${other}" and "${agent}" would share report files (both are "${clean}")`;
    }
    return null;
  }

  agentNames(): string[] {
    return [...this.agents.keys()];
  }

  /** A case's verdict for an agent, once recorded. */
  status(agent: string, caseId: string): IndexEntry | undefined {
    return this.agents.get(agent)?.get(caseId);
  }

  /** Writes the case's JSON report and keeps its row for index.json. Rejects when the file cannot be written. */
  async record(agent: string, index: number, result: CaseResult, started: Date): Promise<IndexEntry> {
    const refusal = this.agentRefusal(agent);
    if (refusal) throw new Error(refusal);
    await this.ensureDir();
    const reportfile = caseReportFilename(agent, result.id);
    const stored: StoredCase = {
      id: result.id, index, category: result.category, description: result.description, rfcSection: result.rfcSection, expectation: result.expectation,
      outcome: result.outcome, reason: result.reason, behavior: result.behavior, behaviorClose: result.behaviorClose,
      duration: Math.round(result.durationMs), remoteCloseCode: result.remoteCloseCode, reportfile,
    };
    const json = {
      tool: 'wsinspect', agent, case: index, id: result.id, description: result.description, rfcSection: result.rfcSection,
      expectation: result.expectation, behavior: result.behavior, behaviorClose: result.behaviorClose, outcome: result.outcome,
      result: result.reason || 'as expected', duration: stored.duration, started: started.toISOString(), remoteCloseCode: result.remoteCloseCode,
      // Autobahn's meaning: isServer is true when the test suite played the server.
      isServer: this.testedRole === 'client',
      wirelogText: wireLogLines(result.wire), wirelog: result.wire,
    };
    await writeFile(join(this.outdir, reportfile), jsonWithHex(json, 1) + '\n');
    let cases = this.agents.get(agent);
    if (!cases) this.agents.set(agent, (cases = new Map()));
    cases.set(result.id, stored);
    return stored;
  }

  totals(agent: string): AgentTotals {
    const list = [...(this.agents.get(agent)?.values() ?? [])];
    const behaviors = Object.fromEntries(BEHAVIORS.map((b) => [b, list.filter((c) => c.behavior === b).length])) as Record<Behavior, number>;
    const count = (o: Outcome) => list.filter((c) => c.outcome === o).length;
    return { total: list.length, passed: count('pass'), failed: count('fail'), nonStrict: count('non-strict'), behaviors };
  }

  /** index.json's content: agent → case id → row, cases in numeric id order. */
  index(): Record<string, Record<string, IndexEntry>> {
    const out: Record<string, Record<string, IndexEntry>> = {};
    for (const [agent, cases] of [...this.agents].sort(([a], [b]) => a.localeCompare(b))) {
      const rows: Record<string, IndexEntry> = {};
      for (const c of [...cases.values()].sort((a, b) => compareCaseIds(a.id, b.id))) {
        rows[c.id] = { behavior: c.behavior, behaviorClose: c.behaviorClose, duration: c.duration, remoteCloseCode: c.remoteCloseCode, reportfile: c.reportfile };
      }
      out[agent] = rows;
    }
    return out;
  }

  /** Writes index.json and index.html for every agent so far; returns their paths. */
  async writeIndex(title: string): Promise<{ json: string; html: string }> {
    await this.ensureDir();
    const json = join(this.outdir, 'index.json');
    await writeFile(json, JSON.stringify(this.index(), null, 2) + '\n');
    const html = join(this.outdir, 'index.html');
    await this.writeHtml(html, title);
    return { json, html };
  }

  private async ensureDir(): Promise<void> {
    if (this.madeDir) return;
    await mkdir(this.outdir, { recursive: true });
    this.madeDir = true;
  }

  private async writeHtml(path: string, title: string): Promise<void> {
    const agents = [...this.agents.keys()].sort((a, b) => a.localeCompare(b));
    const ids = [...new Set(agents.flatMap((a) => [...this.agents.get(a)!.keys()]))].sort(compareCaseIds);
    const anyCase = (id: string) => agents.map((a) => this.agents.get(a)!.get(id)).find((c) => c !== undefined)!;
    const file = await open(path, 'w');
    try {
      await file.write(htmlHead(title));
      await file.write(`<h1>${esc(title)}</h1>\n<p class="meta">Written ${esc(new Date().toISOString())} by wsinspect. ${agents.length} agent${agents.length === 1 ? '' : 's'}, ${ids.length} case${ids.length === 1 ? '' : 's'}. The agents are ${this.testedRole === 'client' ? 'clients (wsinspect was their server)' : 'servers (wsinspect was their client)'}; each must echo every message.</p>\n`);
      await file.write(legend());
      const present = categories.filter((cat) => ids.some((id) => anyCase(id).category === cat.id));
      await file.write(summaryTable(agents.map((a) => ({ agent: a, totals: this.totals(a) })), present));
      for (const cat of categories) {
        const rows = ids.filter((id) => anyCase(id).category === cat.id);
        if (rows.length === 0) continue;
        let table = `<h2 id="category-${cat.id}">${cat.id} ${esc(cat.name)}</h2>\n<table class="cases"><thead><tr><th>Case</th><th>Description</th>${agents.map((a) => `<th>${esc(a)}</th>`).join('')}</tr></thead><tbody>\n`;
        for (const id of rows) {
          const c = anyCase(id);
          table += `<tr><td class="id">${esc(id)}</td><td>${esc(c.description)}</td>`;
          agents.forEach((agent, ai) => {
            const r = this.agents.get(agent)!.get(id);
            table += r
              ? `<td class="${behaviorClass(r.behavior)}"><a href="#${anchor(ai, id)}">${esc(r.behavior)}</a><br><small>${esc(r.behaviorClose)} · ${r.remoteCloseCode ?? '–'} · ${r.duration} ms</small></td>`
              : '<td class="none">–</td>';
          });
          table += '</tr>\n';
        }
        await file.write(table + '</tbody></table>\n');
      }
      await file.write('<h2 id="details">Every case in detail</h2>\n');
      for (const [ai, agent] of agents.entries()) {
        for (const c of [...this.agents.get(agent)!.values()].sort((a, b) => compareCaseIds(a.id, b.id))) {
          await file.write(await this.caseDetail(ai, agent, c));
        }
      }
      await file.write('</body>\n</html>\n');
    } finally {
      await file.close();
    }
  }

  private async caseDetail(ai: number, agent: string, c: StoredCase): Promise<string> {
    let wire: string[];
    try {
      const saved = JSON.parse(await readFile(join(this.outdir, c.reportfile), 'utf8')) as { wirelogText?: unknown };
      wire = Array.isArray(saved.wirelogText) ? saved.wirelogText.filter((l): l is string => typeof l === 'string') : ['(no wire log in the JSON report)'];
    } catch (error) {
      wire = [`(the JSON report could not be read: ${(error as Error).message})`];
    }
    return `<section class="case" id="${anchor(ai, c.id)}">
<h3><span class="${behaviorClass(c.behavior)} badge">${esc(c.behavior)}</span> ${esc(agent)}: case ${esc(c.id)}</h3>
<dl>
<dt>Description</dt><dd>${esc(c.description)} <span class="rfc">(${esc(c.rfcSection)})</span></dd>
<dt>Expectation</dt><dd><b>pass:</b> ${esc(c.expectation.pass)}<br><b>non-strict:</b> ${esc(c.expectation.nonStrict)}<br><b>fail:</b> ${esc(c.expectation.fail)}</dd>
<dt>Result</dt><dd>${esc(c.outcome)}${c.reason ? `: ${esc(c.reason)}` : ''}</dd>
<dt>Close</dt><dd>${esc(c.behaviorClose)}; the peer's close code: ${c.remoteCloseCode ?? 'none'}; ${c.duration} ms</dd>
<dt>Report</dt><dd><a href="${esc(encodeURIComponent(c.reportfile))}">${esc(c.reportfile)}</a></dd>
</dl>
<details><summary>Wire log (${wire.length} lines)</summary><pre>${esc(wire.join('\n'))}</pre></details>
</section>
`;
  }
}

// ------------------------------------------------------------------------------------ html pieces

/** Escapes text for HTML element content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function behaviorClass(b: Behavior): string {
  return `b-${b.toLowerCase().replace(/[^a-z]/g, '')}`;
}

/** Anchors use the agent's position, never its name. */
function anchor(agentIndex: number, id: string): string {
  return `a${agentIndex}-case-${id.replace(/\./g, '-')}`;
}

function legend(): string {
  return `<table class="legend"><tbody>${BEHAVIORS.map((b) => `<tr><td class="${behaviorClass(b)}">${b}</td><td>${esc(behaviorMeaning[b])}</td></tr>`).join('')}</tbody></table>\n`;
}

function summaryTable(rows: Array<{ agent: string; totals: AgentTotals }>, present: ReadonlyArray<{ id: number }>): string {
  const head = `<tr><th>Agent</th><th>Cases</th><th>passed</th><th>failed</th><th>non-strict</th>${BEHAVIORS.map((b) => `<th>${b}</th>`).join('')}</tr>`;
  const body = rows.map(({ agent, totals: t }) => `<tr><td>${esc(agent)}</td><td>${t.total}</td><td>${t.passed}</td><td>${t.failed}</td><td>${t.nonStrict}</td>${BEHAVIORS.map((b) => `<td class="${t.behaviors[b] ? behaviorClass(b) : ''}">${t.behaviors[b]}</td>`).join('')}</tr>`).join('\n');
  return `<h2>Summary</h2>\n<table class="summary"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>\n<p class="meta">Categories: ${present.map((c) => `<a href="#category-${c.id}">${c.id}</a>`).join(' · ')} · <a href="#details">details</a></p>\n`;
}

function htmlHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #c9ccd1; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f3; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
td small { color: #444; }
.meta { color: #555; }
.b-ok { background: #cdeccf; }
.b-nonstrict { background: #fff0b3; }
.b-informational { background: #d7e5ff; }
.b-unimplemented { background: #e4e4e4; }
.b-failed { background: #ffc9c9; }
.badge { padding: 1px 6px; border-radius: 3px; font-size: 12px; }
section.case { border-top: 1px solid #c9ccd1; padding: 0.4em 0; }
section.case h3 { margin: 0.4em 0; font-size: 15px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.rfc { color: #555; }
pre { background: #f6f7f9; padding: 6px; overflow-x: auto; font-size: 12px; }
a { color: #0b57d0; }
</style>
</head>
<body>
`;
}
