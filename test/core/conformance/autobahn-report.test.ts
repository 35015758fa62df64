/**
 * Reports in Autobahn's layout: index.json rows, per-case files, and an index.html where every
 * piece of peer-controlled text is escaped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AutobahnReports, esc } from '../../../src/core/conformance/autobahn-report.ts';
import type { CaseResult } from '../../../src/core/conformance/report.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsinspect-autobahn-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hostile = '<script>alert(1)</script>"\'&';

function result(id: string, more: Partial<CaseResult> = {}): CaseResult {
  return {
    id, category: Number(id.split('.')[0]), categoryName: 'x', description: `case ${id} ${hostile}`, rfcSection: '§5.2',
    expectation: { pass: 'p', nonStrict: 'n', fail: 'f' }, outcome: 'pass', reason: '', behavior: 'OK', behaviorClose: 'OK', remoteCloseCode: 1000,
    durationMs: 12.6, wire: [{ type: 'frame', direction: 'in', seq: 1, time: 1000, connectionId: 'c', frame: {
      frameId: 1, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true, maskKey: new Uint8Array(4), lengthField: 20, payloadLength: 20,
      headerLength: 6, raw: new Uint8Array(0), payload: new TextEncoder().encode('<img src=x onerror=1>'),
    } }],
    ...more,
  };
}

describe('AutobahnReports', () => {
  it('writes index.json in Autobahn\'s shape, one JSON per case, and an escaped, script-free index.html', async () => {
    const reports = new AutobahnReports(dir, 'client');
    const agent = `evil ${hostile}`;
    await reports.record(agent, 2, result('1.1.10'), new Date());
    await reports.record(agent, 1, result('1.1.2', { outcome: 'fail', reason: `echo differs ${hostile}`, behavior: 'FAILED', behaviorClose: 'FAILED', remoteCloseCode: null }), new Date());
    const paths = await reports.writeIndex(`report ${hostile}`);
    const index = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(Object.keys(index)).toEqual([agent]);
    expect(Object.keys(index[agent])).toEqual(['1.1.2', '1.1.10']);
    expect(index[agent]['1.1.10']).toEqual({ behavior: 'OK', behaviorClose: 'OK', duration: 13, remoteCloseCode: 1000, reportfile: 'evil__script_alert_1___script_case_1_1_10.json' });
    expect(index[agent]['1.1.2']).toMatchObject({ behavior: 'FAILED', remoteCloseCode: null });
    const perCase = JSON.parse(readFileSync(join(dir, 'evil__script_alert_1___script_case_1_1_2.json'), 'utf8'));
    expect(perCase).toMatchObject({ agent, case: 1, id: '1.1.2', behavior: 'FAILED', result: `echo differs ${hostile}`, isServer: true });
    expect(perCase.wirelog[0].frame.payload).toEqual({ hex: '3c696d67207372633d78206f6e6572726f723d313e' });
    const html = readFileSync(paths.html, 'utf8');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain(esc(hostile));
    expect(html).toContain('&lt;img src=x onerror=1&gt;');
    expect(html).toMatch(/class="b-failed"><a href="#a0-case-1-1-2">FAILED<\/a>/);
    expect(reports.totals(agent)).toMatchObject({ total: 2, passed: 1, failed: 1, behaviors: { OK: 1, FAILED: 1 } });
  });

  it('refuses an agent past the limit and agents whose report names collide', async () => {
    const reports = new AutobahnReports(join(dir, 'many'), 'server', 2);
    await reports.record('a', 1, result('1.1.1'), new Date());
    expect(reports.agentRefusal('A')).toMatch(/would share report files/);
    await reports.record('b', 1, result('1.1.1'), new Date());
    expect(reports.agentRefusal('c')).toMatch(/already keeps results for 2 agents/);
    await expect(reports.record('c', 1, result('1.1.1'), new Date())).rejects.toThrow(/2 agents/);
    expect(reports.agentRefusal('a')).toBeNull();
  });
});
