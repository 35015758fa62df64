/**
 * Autobahn TestSuite's spec files (fuzzingserver.json, fuzzingclient.json) and case selection,
 * so a harness written for Autobahn runs against this battery unchanged.
 *
 * - Case patterns behave as Autobahn's: a pattern with "*" is a regular expression anchored at the
 *   start only ("*" any run of characters, "." a dot), so "9.*" is every 9.x case and "*" all of
 *   them; a pattern without "*" names one case exactly. The selection is the cases minus
 *   "exclude-cases", in numeric id order (1.1.2 before 1.1.10): /runCase's 1-based index counts
 *   in that order. "exclude-agent-cases" maps agent patterns to case patterns, both anchored.
 * - Exact ids this battery does not have (an Autobahn case we lack) are reported, not fatal.
 * - Every field is validated and bounded: a spec file is input like any other.
 */

import { conformanceCases, type ConformanceCase, type PeerKind } from './cases.ts';

export class SpecError extends Error {}

/** The most a spec may list (Autobahn has about 520 cases; patterns repeat little). */
const MAX_PATTERNS = 5000;
const MAX_PATTERN_LENGTH = 200;
const MAX_SERVERS = 100;
export const MAX_AGENT_LENGTH = 200;
const MAX_OUTDIR_LENGTH = 4096;
export const MAX_SPEC_BYTES = 1024 * 1024;

export interface CaseSelection {
  cases?: readonly string[];
  'exclude-cases'?: readonly string[];
  /** agent pattern → case patterns not run for matching agents */
  'exclude-agent-cases'?: Readonly<Record<string, readonly string[]>>;
}

export interface FuzzingServerSpec extends CaseSelection {
  url: string;
  outdir: string;
}

export interface FuzzingClientServer {
  agent: string;
  url: string;
  /** Autobahn's per-server options ({"version": 18}, ...); kept for the report, not acted on. */
  options?: Record<string, unknown>;
}

export interface FuzzingClientSpec extends CaseSelection {
  outdir: string;
  servers: FuzzingClientServer[];
}

// ------------------------------------------------------------------------------------ patterns

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
}

/** Autobahn's wildcard: "*" any characters, matched from the start (Python's re.match). */
function wildcard(pattern: string, anchoredEnd: boolean): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}${anchoredEnd ? '$' : ''}`);
}

/** "6.4.10" → [6, 4, 10], for numeric ordering. */
export function compareCaseIds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** The ids the patterns name among `ids`, and exact ids that are not there. */
export function resolveCasePatterns(patterns: readonly string[], ids: readonly string[]): { ids: Set<string>; unknown: string[] } {
  const known = new Set(ids);
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.trim();
    if (pattern.includes('*')) {
      const re = wildcard(pattern, false);
      for (const id of ids) if (re.test(id)) out.add(id);
    } else if (known.has(pattern)) {
      out.add(pattern);
    } else {
      unknown.push(pattern);
    }
  }
  return { ids: out, unknown };
}

export interface Selected {
  /** The cases in Autobahn's order; runCase?case=N is cases[N - 1]. */
  cases: ConformanceCase[];
  /** Exact ids in "cases" this battery lacks (an Autobahn case we do not have). */
  unknown: string[];
}

/** The cases a spec selects for a peer under test (its server or client role), in numeric id order. */
export function selectSpecCases(spec: CaseSelection, peer: PeerKind): Selected {
  const applicable = conformanceCases.filter((c) => c.peers.includes(peer));
  const ids = applicable.map((c) => c.id);
  const included = resolveCasePatterns(spec.cases ?? ['*'], ids);
  const excluded = resolveCasePatterns(spec['exclude-cases'] ?? [], ids);
  // An exact id that exists only for the other role (10.3.x: client under test) is not "unknown".
  const everywhere = new Set(conformanceCases.map((c) => c.id));
  const cases = applicable.filter((c) => included.ids.has(c.id) && !excluded.ids.has(c.id)).sort((a, b) => compareCaseIds(a.id, b.id));
  return { cases, unknown: included.unknown.filter((id) => !everywhere.has(id)) };
}

/** Is this case excluded for this agent by "exclude-agent-cases"? */
export function excludedForAgent(spec: CaseSelection, agent: string, caseId: string): boolean {
  for (const [agentPattern, casePatterns] of Object.entries(spec['exclude-agent-cases'] ?? {})) {
    if (!wildcard(agentPattern, true).test(agent)) continue;
    if (casePatterns.some((p) => wildcard(p, true).test(caseId))) return true;
  }
  return false;
}

// ------------------------------------------------------------------------------------ file names

/**
 * An agent name as a file name prefix, Autobahn's way: lower case, every character other than
 * a-z and 0-9 a space, trimmed, spaces as underscores ("AutobahnPython 0.6" → "autobahnpython_0_6").
 * Nothing else survives, so no agent name can leave the output directory.
 */
export function cleanForFilename(text: string): string {
  return text.trim().toLowerCase().replace(/[^a-z0-9]/g, ' ').trim().replace(/ /g, '_');
}

/** Autobahn's per-case report name: "<agent>_case_<id with underscores>.json". */
export function caseReportFilename(agent: string, caseId: string, ext = 'json'): string {
  return `${cleanForFilename(agent)}_case_${caseId.replace(/\./g, '_')}.${ext}`;
}

// ------------------------------------------------------------------------------------ validation

/** An agent name from a spec or a query string: 1-200 characters, no control characters. */
export function agentProblem(agent: string): string | null {
  if (agent.length === 0) return 'the agent name is empty';
  if (agent.length > MAX_AGENT_LENGTH) return `the agent name is longer than ${MAX_AGENT_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(agent)) return 'the agent name contains control characters';
  if (cleanForFilename(agent) === '') return `the agent name "${agent}" has no letter or digit (reports are named after it)`;
  return null;
}

function parseJson(text: string, file: string): Record<string, unknown> {
  if (text.length > MAX_SPEC_BYTES) throw new SpecError(`${file} is larger than ${MAX_SPEC_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SpecError(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new SpecError(`"${field}" must be a list of case ids or patterns, e.g. ["1.*", "9.*"]`);
  if (value.length > MAX_PATTERNS) throw new SpecError(`"${field}" lists more than ${MAX_PATTERNS} entries`);
  return value.map((v, i) => {
    if (typeof v !== 'string') throw new SpecError(`"${field}"[${i}] must be a string`);
    if (v.length > MAX_PATTERN_LENGTH) throw new SpecError(`"${field}"[${i}] is longer than ${MAX_PATTERN_LENGTH} characters`);
    if (!/^[0-9.*]+$/.test(v.trim())) throw new SpecError(`"${field}"[${i}] ("${v}") is not a case id or pattern (digits, dots and *)`);
    return v;
  });
}

function selectionOf(raw: Record<string, unknown>): CaseSelection {
  const cases = stringList(raw.cases, 'cases');
  const exclude = stringList(raw['exclude-cases'], 'exclude-cases');
  let perAgent: Record<string, string[]> | undefined;
  const rawPerAgent = raw['exclude-agent-cases'];
  if (rawPerAgent !== undefined) {
    if (typeof rawPerAgent !== 'object' || rawPerAgent === null || Array.isArray(rawPerAgent)) throw new SpecError('"exclude-agent-cases" must be an object: {"agent pattern": ["case pattern", ...]}');
    const entries = Object.entries(rawPerAgent as Record<string, unknown>);
    if (entries.length > MAX_SERVERS) throw new SpecError(`"exclude-agent-cases" names more than ${MAX_SERVERS} agent patterns`);
    perAgent = {};
    for (const [agent, list] of entries) {
      if (agent.length > MAX_AGENT_LENGTH) throw new SpecError(`an "exclude-agent-cases" agent pattern is longer than ${MAX_AGENT_LENGTH} characters`);
      perAgent[agent] = stringList(list, `exclude-agent-cases.${agent}`) ?? [];
    }
  }
  return { ...(cases ? { cases } : {}), ...(exclude ? { 'exclude-cases': exclude } : {}), ...(perAgent ? { 'exclude-agent-cases': perAgent } : {}) };
}

function outdirOf(raw: Record<string, unknown>, fallback: string): string {
  const outdir = raw.outdir ?? fallback;
  if (typeof outdir !== 'string' || outdir.trim() === '') throw new SpecError('"outdir" must be a directory name');
  if (outdir.length > MAX_OUTDIR_LENGTH || outdir.includes('\0')) throw new SpecError('"outdir" is not a usable directory name');
  return outdir;
}

function wsUrlOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 2048) throw new SpecError(`"${field}" must be a ws:// or wss:// URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SpecError(`"${field}" ("${value}") is not a URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new SpecError(`"${field}" ("${value}") must start with ws:// or wss://`);
  return value;
}

/** fuzzingserver.json: {"url": "ws://127.0.0.1:9001", "outdir": "./reports/clients", "cases": ["*"], "exclude-cases": []}. */
export function parseFuzzingServerSpec(text: string, file = 'the spec'): FuzzingServerSpec {
  const raw = parseJson(text, file);
  return { url: wsUrlOf(raw.url ?? 'ws://127.0.0.1:9001', 'url'), outdir: outdirOf(raw, './reports/clients'), ...selectionOf(raw) };
}

/** fuzzingclient.json: {"outdir": "./reports/servers", "servers": [{"agent": "...", "url": "ws://..."}], "cases": ["*"], ...}. */
export function parseFuzzingClientSpec(text: string, file = 'the spec'): FuzzingClientSpec {
  const raw = parseJson(text, file);
  const servers = raw.servers;
  if (!Array.isArray(servers) || servers.length === 0) throw new SpecError('"servers" must list at least one server: [{"agent": "name", "url": "ws://127.0.0.1:9001"}]');
  if (servers.length > MAX_SERVERS) throw new SpecError(`"servers" lists more than ${MAX_SERVERS} servers`);
  const seen = new Map<string, string>();
  const parsed = servers.map((s, i): FuzzingClientServer => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new SpecError(`"servers"[${i}] must be an object with "agent" and "url"`);
    const { agent, url, options } = s as Record<string, unknown>;
    if (typeof agent !== 'string') throw new SpecError(`"servers"[${i}].agent must be a string`);
    const problem = agentProblem(agent);
    if (problem) throw new SpecError(`"servers"[${i}]: ${problem}`);
    const clean = cleanForFilename(agent);
    const other = seen.get(clean);
    if (other !== undefined) throw new SpecError(`"servers"[${i}]: the agents "${other}" and "${agent}" would share report files (both are "${clean}")`);
    seen.set(clean, agent);
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) throw new SpecError(`"servers"[${i}].options must be an object`);
    return { agent, url: wsUrlOf(url, `servers[${i}].url`), ...(options ? { options: options as Record<string, unknown> } : {}) };
  });
  return { outdir: outdirOf(raw, './reports/servers'), servers: parsed, ...selectionOf(raw) };
}
