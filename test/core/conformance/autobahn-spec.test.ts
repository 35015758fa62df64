/**
 * Autobahn's spec files and case selection: its wildcard syntax, its order, its report names,
 * and bounded validation of hostile spec files.
 */
import { describe, expect, it } from 'vitest';
import {
  agentProblem, caseReportFilename, cleanForFilename, compareCaseIds, excludedForAgent, parseFuzzingClientSpec, parseFuzzingServerSpec,
  resolveCasePatterns, selectSpecCases, SpecError,
} from '../../../src/core/conformance/autobahn-spec.ts';
import { conformanceCases } from '../../../src/core/conformance/cases.ts';

describe('case patterns, as Autobahn resolves them', () => {
  const ids = ['1.1.1', '1.1.2', '1.1.10', '1.2.1', '10.1.1', '12.1.1', '12.1.10', '9.1.1'];

  it('"*" is any run of characters from the start; a pattern without "*" is one exact id', () => {
    expect([...resolveCasePatterns(['1.*'], ids).ids]).toEqual(['1.1.1', '1.1.2', '1.1.10', '1.2.1']);
    expect([...resolveCasePatterns(['12.*'], ids).ids]).toEqual(['12.1.1', '12.1.10']);
    expect([...resolveCasePatterns(['*'], ids).ids]).toHaveLength(ids.length);
    // Autobahn's regex is matched from the start only: "1*" is every id starting with 1.
    expect([...resolveCasePatterns(['1*'], ids).ids]).toEqual(['1.1.1', '1.1.2', '1.1.10', '1.2.1', '10.1.1', '12.1.1', '12.1.10']);
    expect(resolveCasePatterns(['1.1.1', '6.1.1'], ids)).toEqual({ ids: new Set(['1.1.1']), unknown: ['6.1.1'] });
    // the dot is a dot, not any character
    expect([...resolveCasePatterns(['1.1*'], ['1.1.1', '1x1.1']).ids]).toEqual(['1.1.1']);
  });

  it('selects cases minus exclude-cases in numeric id order (runCase?case=N counts in it)', () => {
    const { cases, unknown } = selectSpecCases({ cases: ['7.7.*', '1.1.*'], 'exclude-cases': ['1.1.1*'] }, 'server');
    const got = cases.map((c) => c.id);
    expect(got.slice(0, 9)).toEqual(['1.1.2', '1.1.3', '1.1.4', '1.1.5', '1.1.6', '1.1.7', '1.1.8', '1.1.9', '7.7.1']);
    expect(got).not.toContain('1.1.10');
    expect(got.at(-1)).toBe('7.7.16');
    expect(unknown).toEqual([]);
    expect([...got].sort(compareCaseIds)).toEqual(got);
    // client-only cases (10.3.x) are not offered to a server, and not "unknown" either
    expect(selectSpecCases({ cases: ['10.3.1'] }, 'server')).toEqual({ cases: [], unknown: [] });
    expect(selectSpecCases({ cases: ['10.3.1'] }, 'client').cases.map((c) => c.id)).toEqual(['10.3.1']);
    // "12.*" selects the compressed cases
    expect(selectSpecCases({ cases: ['12.*'] }, 'server').cases.every((c) => c.deflate !== undefined)).toBe(true);
    expect(selectSpecCases({ cases: ['12.*'] }, 'server').cases.length).toBe(conformanceCases.filter((c) => c.category === 12).length);
  });

  it('exclude-agent-cases: agent and case patterns, both anchored', () => {
    const spec = { 'exclude-agent-cases': { 'ws*': ['9.*'], 'exact': ['1.1.1'] } };
    expect(excludedForAgent(spec, 'ws 8', '9.1.1')).toBe(true);
    expect(excludedForAgent(spec, 'ws 8', '1.1.1')).toBe(false);
    expect(excludedForAgent(spec, 'exact', '1.1.1')).toBe(true);
    expect(excludedForAgent(spec, 'exactly', '1.1.1')).toBe(false);
    expect(excludedForAgent(spec, 'exact', '1.1.10')).toBe(false);
  });
});

describe('report file names, Autobahn\'s way', () => {
  it('keeps a-z and 0-9 of the agent (lower case), spaces between, and the id with underscores', () => {
    expect(caseReportFilename('AutobahnPython 0.6', '1.1.1')).toBe('autobahnpython_0_6_case_1_1_1.json');
    // each other character becomes one underscore (Autobahn does not merge them)
    expect(cleanForFilename('  ../../etc/passwd  ')).toBe('etc_passwd');
    expect(cleanForFilename('a  b')).toBe('a__b');
    expect(caseReportFilename('a/b\\c', '12.1.10')).toBe('a_b_c_case_12_1_10.json');
  });

  it('refuses agent names that are empty, too long, with control characters or without a letter or digit', () => {
    expect(agentProblem('')).toMatch(/empty/);
    expect(agentProblem('x'.repeat(201))).toMatch(/longer than 200/);
    expect(agentProblem('a\nb')).toMatch(/control characters/);
    expect(agentProblem('../..')).toMatch(/no letter or digit/);
    expect(agentProblem('ws 8.23')).toBeNull();
  });
});

describe('spec files', () => {
  it('reads Autobahn\'s fuzzingserver.json and fuzzingclient.json with their defaults', () => {
    expect(parseFuzzingServerSpec('{}')).toEqual({ url: 'ws://127.0.0.1:9001', outdir: './reports/clients' });
    expect(parseFuzzingServerSpec('{"url": "ws://127.0.0.1:9001", "outdir": "./out", "cases": ["*"], "exclude-cases": ["9.*"], "exclude-agent-cases": {}}'))
      .toEqual({ url: 'ws://127.0.0.1:9001', outdir: './out', cases: ['*'], 'exclude-cases': ['9.*'], 'exclude-agent-cases': {} });
    const client = parseFuzzingClientSpec('{"outdir": "./reports/servers", "servers": [{"agent": "AutobahnServer", "url": "ws://localhost:9001", "options": {"version": 18}}], "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {}}');
    expect(client.servers).toEqual([{ agent: 'AutobahnServer', url: 'ws://localhost:9001', options: { version: 18 } }]);
    expect(client.outdir).toBe('./reports/servers');
  });

  it('refuses bad specs with one line each', () => {
    const bad: Array<[string, RegExp]> = [
      ['not json', /not valid JSON/],
      ['[]', /must hold a JSON object/],
      ['{"cases": "1.*"}', /"cases" must be a list/],
      ['{"cases": [1]}', /"cases"\[0\] must be a string/],
      ['{"cases": ["1.1; rm -rf"]}', /is not a case id or pattern/],
      ['{"url": "http://x"}', /must start with ws:\/\/ or wss:\/\//],
      ['{"outdir": ""}', /"outdir" must be a directory name/],
      [`{"cases": [${'"1.*",'.repeat(5001)}"1"]}`, /more than 5000 entries/],
    ];
    for (const [text, message] of bad) expect(() => parseFuzzingServerSpec(text), text.slice(0, 30)).toThrow(message);
    expect(() => parseFuzzingServerSpec('x'.repeat(1024 * 1024 + 1))).toThrow(SpecError);
    expect(() => parseFuzzingClientSpec('{}')).toThrow(/"servers" must list at least one server/);
    expect(() => parseFuzzingClientSpec('{"servers": [{"agent": "A b", "url": "ws://x"}, {"agent": "a_b", "url": "ws://y"}]}')).toThrow(/would share report files/);
    expect(() => parseFuzzingClientSpec('{"servers": [{"agent": "a", "url": "ftp://x"}]}')).toThrow(/ws:\/\/ or wss:\/\//);
  });
});
