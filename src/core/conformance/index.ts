/**
 * The conformance battery's programmatic API:
 *
 *   const report = await runServerBattery('ws://127.0.0.1:9001/', { cases: ['5.', '6.'], onCase });
 *   const report = await runClientBattery('node client.js {url}', { concurrency: 2 });
 *   const report = await runClientBattery((url) => { const c = connect(url); return () => c.close(); });
 *   console.log(formatReport(report)); // ... ends with "N passed, N failed, N non-strict"
 */

export { categories, conformanceCases, matchesFilter, parseCaseFilter, selectCases } from './cases.ts';
export type { ConformanceCase, Expectation, FrameDef, PeerKind, Step } from './cases.ts';
export { describeEvent, executeCase } from './execute.ts';
export type { ExecuteOptions, Outcome, Verdict, Wire } from './execute.ts';
export { PeerObserver } from './observer.ts';
export type { PeerEvent } from './observer.ts';
export { buildReport, formatReport, reportToJson, summaryLine } from './report.ts';
export type { CaseResult, CategorySummary, ConformanceReport, FormatOptions } from './report.ts';
export { runClientBattery, runServerBattery } from './runner.ts';
export type { BatteryOptions, ClientFactory } from './runner.ts';
export type { WireLogEvent } from './wire-log.ts';
export { AutobahnReports } from './autobahn-report.ts';
export type { AgentTotals, IndexEntry } from './autobahn-report.ts';
export { caseReportFilename, parseFuzzingClientSpec, parseFuzzingServerSpec, resolveCasePatterns, selectSpecCases, SpecError } from './autobahn-spec.ts';
export type { CaseSelection, FuzzingClientSpec, FuzzingServerSpec } from './autobahn-spec.ts';
export { runFuzzingClient } from './fuzzing-client.ts';
export { FuzzingServer } from './fuzzing-server.ts';
export type { FuzzingServerOptions } from './fuzzing-server.ts';
export type { Behavior, CloseBehavior } from './execute.ts';
