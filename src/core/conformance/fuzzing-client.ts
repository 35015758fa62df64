/**
 * A drop-in for Autobahn TestSuite's fuzzingclient: the battery run against every server a
 * fuzzingclient.json lists, each as its agent, with reports in Autobahn's layout (index.json,
 * one JSON report per case, index.html). Cases run in the spec's order (numeric ids), a few at a
 * time (concurrency), each on its own connection to the server's URL.
 */

import type { FuzzingClientSpec } from './autobahn-spec.ts';
import { excludedForAgent, selectSpecCases } from './autobahn-spec.ts';
import type { AutobahnReports } from './autobahn-report.ts';
import type { CaseResult, ConformanceReport } from './report.ts';
import { runServerBattery, type BatteryOptions } from './runner.ts';

export interface FuzzingClientOptions extends Omit<BatteryOptions, 'cases' | 'selected' | 'onCase'> {
  /** As each case of each server ends. */
  onCase?: (agent: string, result: CaseResult, done: number, total: number) => void;
  /** Before each server's cases start. */
  onServer?: (agent: string, url: string, caseCount: number) => void;
}

export interface AgentRun {
  agent: string;
  url: string;
  report: ConformanceReport;
}

/** Runs the spec's cases against each server in turn; every case's report is written as it ends. */
export async function runFuzzingClient(spec: FuzzingClientSpec, reports: AutobahnReports, options: FuzzingClientOptions = {}): Promise<AgentRun[]> {
  const { cases } = selectSpecCases(spec, 'server');
  const runs: AgentRun[] = [];
  const { onCase, onServer, ...battery } = options;
  for (const server of spec.servers) {
    const selected = cases.filter((c) => !excludedForAgent(spec, server.agent, c.id));
    const position = new Map(cases.map((c, i) => [c.id, i + 1]));
    onServer?.(server.agent, server.url, selected.length);
    const writes: Array<Promise<unknown>> = [];
    const report = await runServerBattery(server.url, {
      ...battery, selected,
      onCase: (result, done, total) => {
        const started = new Date(Date.now() - result.durationMs);
        writes.push(reports.record(server.agent, position.get(result.id) ?? done, result, started));
        onCase?.(server.agent, result, done, total);
      },
    });
    // A report that cannot be written fails loudly once, after the cases.
    await Promise.all(writes);
    runs.push({ agent: server.agent, url: server.url, report });
  }
  return runs;
}
