/**
 * wsinspect fuzzingserver / fuzzingclient: drop-ins for the Autobahn TestSuite's two modes, so a
 * library's existing harness (its client loop, its fuzzingclient.json) runs unchanged against
 * this battery, and reports land in Autobahn's layout (index.json, one JSON per case, index.html).
 *
 *   wsinspect fuzzingserver [--spec fuzzingserver.json] [--port 9001]    until Ctrl-C or
 *                                                                         /updateReports?shutdownOnComplete=true
 *   wsinspect fuzzingclient --spec fuzzingclient.json
 *
 * The last line is "N passed, N failed, N non-strict" (over every agent); exit code 0 when no case
 * failed, 1 when some did or a server was unreachable, 2 for bad usage or a bad spec.
 */

import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AutobahnReports, type AgentTotals } from '../core/conformance/autobahn-report.ts';
import { MAX_SPEC_BYTES, parseFuzzingClientSpec, parseFuzzingServerSpec, selectSpecCases, SpecError } from '../core/conformance/autobahn-spec.ts';
import { runFuzzingClient } from '../core/conformance/fuzzing-client.ts';
import { FuzzingServer } from '../core/conformance/fuzzing-server.ts';
import type { BatteryOptions } from '../core/conformance/runner.ts';
import type { HttpHeader } from '../core/http.ts';
import { parseHeaderLine, subprotocolProblem } from '../core/http-tokens.ts';
import { isLoopbackHost } from '../core/net/server.ts';
import { probe } from './conformance.ts';

export const fuzzingUsage = `wsinspect fuzzingserver / fuzzingclient — drop-ins for the Autobahn TestSuite's modes

Usage:
  wsinspect fuzzingserver [--spec fuzzingserver.json] [--port 9001]
        serve the battery to clients that drive it (Autobahn's protocol): open WebSockets to
        /getCaseCount, /runCase?case=N&agent=NAME (echo every message), /getCaseInfo?case=N,
        /getCaseStatus?case=N&agent=NAME, /updateReports?agent=NAME[&shutdownOnComplete=true].
        Runs until Ctrl-C or shutdownOnComplete. Spec: {"url": "ws://127.0.0.1:9001",
        "outdir": "./reports/clients", "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {}}
  wsinspect fuzzingclient --spec fuzzingclient.json
        run the battery against every server listed (each must echo every message). Spec:
        {"outdir": "./reports/servers", "servers": [{"agent": "NAME", "url": "ws://127.0.0.1:9001"}],
         "cases": ["*"], "exclude-cases": ["12.*", "13.*"]}
Cases: "*" all, "9.*" a category, "12.1.*", or exact ids ("1.1.1"); ids we lack are listed and skipped.
Reports in OUTDIR: index.json (agent → case → behavior, behaviorClose, duration, remoteCloseCode,
reportfile), <agent>_case_<id>.json per case, index.html to read.
Options:
  --spec FILE               the spec (fuzzingserver: optional; defaults as above)
  --port N                  fuzzingserver: listen on this port (default: the spec url's, else 9001; 0: any free one)
  --subprotocol NAME        fuzzingserver: a subprotocol we speak (chosen when the client offers it);
                            fuzzingclient: a subprotocol we offer (repeatable)
  --header "Name: value"    extra header in our 101 response (fuzzingserver) or request (fuzzingclient)
  --concurrency N           fuzzingclient: cases at the same time per server (default 4)
  --step-timeout MS         wait for each expected answer (default 3000; grows with the bytes)
  --time-scale X            multiply every wait and time limit (slow peers; default 1)
Exit code: 0 when no case failed (non-strict, informational and unimplemented are allowed), 1
otherwise, 2 for bad usage or a bad spec.`;

class UsageError extends Error {}

const commonOptions = {
  spec: { type: 'string' }, subprotocol: { type: 'string', multiple: true }, header: { type: 'string', multiple: true },
  'step-timeout': { type: 'string' }, 'time-scale': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

function positive(name: string, value: string | undefined, integer: boolean, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) throw new UsageError(`${name} must be a positive ${integer ? 'whole ' : ''}number up to ${max} (got "${value}")`);
  return n;
}

function batteryOptions(values: { subprotocol?: string[] | undefined; header?: string[] | undefined; 'step-timeout'?: string | undefined; 'time-scale'?: string | undefined }): BatteryOptions {
  for (const name of values.subprotocol ?? []) {
    const problem = subprotocolProblem(name);
    if (problem) throw new UsageError(`--subprotocol: ${problem}`);
  }
  let headers: HttpHeader[] = [];
  try {
    headers = (values.header ?? []).map(parseHeaderLine);
  } catch (error) {
    throw new UsageError(`--header: ${(error as Error).message}`);
  }
  const step = positive('--step-timeout', values['step-timeout'], true, 600_000);
  const scale = positive('--time-scale', values['time-scale'], false, 100);
  return {
    ...(values.subprotocol?.length ? { subprotocols: values.subprotocol } : {}), ...(headers.length ? { headers } : {}),
    ...(step !== undefined ? { stepTimeoutMs: step } : {}), ...(scale !== undefined ? { timeScale: scale } : {}),
  };
}

function readSpec(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new SpecError(`cannot read the spec ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (size > MAX_SPEC_BYTES) throw new SpecError(`the spec ${file} is larger than ${MAX_SPEC_BYTES} bytes`);
  return readFileSync(file, 'utf8');
}

function warnUnknown(unknown: string[]): void {
  if (unknown.length === 0) return;
  const shown = unknown.slice(0, 20).join(', ');
  process.stderr.write(`note: ${unknown.length} case id${unknown.length === 1 ? ' is' : 's are'} not in this battery and skipped: ${shown}${unknown.length > 20 ? ', …' : ''} (README, "Autobahn drop-in", lists which Autobahn cases we lack and why)\n`);
}

function totalsLine(t: Pick<AgentTotals, 'passed' | 'failed' | 'nonStrict'>): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.nonStrict} non-strict`;
}

function behaviorsLine(t: AgentTotals): string {
  return Object.entries(t.behaviors).filter(([, n]) => n > 0).map(([b, n]) => `${n} ${b}`).join(', ') || 'no cases';
}

/** One line per agent ("NAME: N passed, N failed, N non-strict (N OK, ...)"); returns the sums. */
function printAgentTotals(reports: AutobahnReports, agents: readonly string[]): { passed: number; failed: number; nonStrict: number } {
  const all = { passed: 0, failed: 0, nonStrict: 0 };
  for (const agent of agents) {
    const t = reports.totals(agent);
    process.stdout.write(`${agent}: ${totalsLine(t)} (${behaviorsLine(t)})\n`);
    all.passed += t.passed;
    all.failed += t.failed;
    all.nonStrict += t.nonStrict;
  }
  return all;
}

async function guarded(name: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof UsageError || error instanceof SpecError) {
      process.stderr.write(`wsinspect ${name}: ${error.message}\n`);
      return 2;
    }
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`wsinspect ${name}: ${(error as Error).message} (see wsinspect ${name} --help)\n`);
      return 2;
    }
    throw error;
  }
}

// ------------------------------------------------------------------------------------ fuzzingserver

export function fuzzingserver(args: string[]): Promise<number> {
  return guarded('fuzzingserver', async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { ...commonOptions, port: { type: 'string' } } });
    if (values.help) {
      process.stdout.write(fuzzingUsage + '\n');
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`fuzzingserver takes no arguments (got "${positionals[0]}"); give --spec FILE`);
    const spec = parseFuzzingServerSpec(values.spec ? readSpec(values.spec) : '{}', values.spec ?? 'the default spec');
    const battery = batteryOptions(values);
    const url = new URL(spec.url);
    if (url.protocol === 'wss:') throw new UsageError(`the fuzzingserver listens for ws:// only (the spec's url is ${spec.url}); put a TLS proxy in front for wss://`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (values.port !== undefined && !/^[0-9]{1,5}$/.test(values.port)) throw new UsageError(`--port must be a port number from 0 to 65535 (got "${values.port}")`);
    const port = values.port !== undefined ? Number(values.port) : url.port ? Number(url.port) : 9001;
    if (port > 65535) throw new UsageError(`--port must be a port number from 0 to 65535 (got "${values.port}")`);
    const { cases, unknown } = selectSpecCases(spec, 'client');
    warnUnknown(unknown);
    if (cases.length === 0) throw new UsageError('the spec selects no case of this battery (see "cases" and "exclude-cases")');
    const reports = new AutobahnReports(spec.outdir, 'client');
    let shutdown: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (shutdown = resolve));
    const server = new FuzzingServer({
      cases, selection: spec, reports, battery, title: 'wsinspect fuzzingserver report',
      onLine: (line) => process.stdout.write(line + '\n'),
      onShutdown: () => shutdown(),
    });
    let bound: number;
    try {
      bound = await server.listen(host, port);
    } catch (error) {
      process.stderr.write(`wsinspect fuzzingserver: cannot listen on ${host}:${port}: ${(error as Error).message}\n`);
      return 1;
    }
    if (!isLoopbackHost(host)) process.stderr.write(`warning: bound to ${host}, so other machines can reach this server.\n`);
    const shown = host.includes(':') ? `[${host}]` : host;
    process.stdout.write(`wsinspect fuzzingserver: ${cases.length} cases on ws://${shown}:${bound}/ (runCase?case=1..${cases.length}&agent=NAME); reports go to ${spec.outdir}\n`);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const s of signals) process.once(s, shutdown);
    await stopped;
    for (const s of signals) process.removeListener(s, shutdown);
    await server.close();
    const agents = reports.agentNames();
    if (agents.length > 0) {
      try {
        const paths = await reports.writeIndex('wsinspect fuzzingserver report');
        process.stdout.write(`reports: ${paths.html}\n`);
      } catch (error) {
        process.stderr.write(`wsinspect fuzzingserver: reports could not be written: ${(error as Error).message}\n`);
      }
    }
    const all = printAgentTotals(reports, agents);
    process.stdout.write(totalsLine(all) + '\n');
    return all.failed === 0 ? 0 : 1;
  });
}

// ------------------------------------------------------------------------------------ fuzzingclient

export function fuzzingclient(args: string[]): Promise<number> {
  return guarded('fuzzingclient', async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { ...commonOptions, concurrency: { type: 'string' } } });
    if (values.help) {
      process.stdout.write(fuzzingUsage + '\n');
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`fuzzingclient takes no arguments (got "${positionals[0]}"); give --spec FILE`);
    if (!values.spec) throw new UsageError('fuzzingclient needs --spec FILE (a fuzzingclient.json listing the servers)');
    const spec = parseFuzzingClientSpec(readSpec(values.spec), values.spec);
    const battery = batteryOptions(values);
    const concurrency = positive('--concurrency', values.concurrency, true, 64) ?? 4;
    const { cases, unknown } = selectSpecCases(spec, 'server');
    warnUnknown(unknown);
    if (cases.length === 0) throw new UsageError('the spec selects no case of this battery (see "cases" and "exclude-cases")');
    // An unreachable server: one line instead of a column of identical failures.
    let unreachable = 0;
    const reachable = [];
    for (const server of spec.servers) {
      const url = new URL(server.url);
      const problem = await probe(url.hostname.replace(/^\[|\]$/g, ''), url.port ? Number(url.port) : url.protocol === 'wss:' ? 443 : 80);
      if (problem) {
        process.stderr.write(`wsinspect fuzzingclient: ${server.agent}: ${problem} (skipped)\n`);
        unreachable++;
      } else {
        reachable.push(server);
      }
    }
    const reports = new AutobahnReports(spec.outdir, 'server');
    const interrupt = () => process.exit(130);
    process.once('SIGINT', interrupt);
    try {
      await runFuzzingClient({ ...spec, servers: reachable }, reports, {
        ...battery, concurrency,
        onServer: (agent, url, count) => process.stdout.write(`${agent}: ${count} cases against ${url}\n`),
        onCase: (agent, result) => {
          if (result.outcome === 'fail') process.stdout.write(`  ✗ ${result.id} ${result.reason}\n`);
        },
      });
    } catch (error) {
      process.stderr.write(`wsinspect fuzzingclient: ${(error as Error).message}\n`);
      return 1;
    } finally {
      process.removeListener('SIGINT', interrupt);
    }
    const all = printAgentTotals(reports, reachable.map((s) => s.agent));
    if (reachable.length > 0) {
      const paths = await reports.writeIndex('wsinspect fuzzingclient report');
      process.stdout.write(`reports: ${paths.html}\n`);
    }
    process.stdout.write(totalsLine(all) + '\n');
    return all.failed === 0 && unreachable === 0 ? 0 : 1;
  });
}
