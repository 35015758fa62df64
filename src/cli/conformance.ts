/**
 * wsinspect conformance: the Autobahn-style battery from the command line.
 *   wsinspect conformance server <ws://url | wss://url> [--cases 5.,6.] [--json FILE]
 *   wsinspect conformance client --launch "<command with {url}>" [--cases …] [--json FILE]
 *   wsinspect conformance list [--cases …]
 * Prints the readable report; its last line is "N passed, N failed, N non-strict". Exit code 0
 * only when no case failed (non-strict is allowed), 1 when some failed or the peer is
 * unreachable, 2 for bad usage.
 */

import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { parseArgs } from 'node:util';
import {
  formatReport, parseCaseFilter, reportToJson, runClientBattery, runServerBattery, selectCases,
  type BatteryOptions, type CaseResult, type ConformanceReport,
} from '../core/conformance/index.ts';
import { parseWebSocketUrl, UrlError } from '../core/net/client.ts';

export const conformanceUsage = `wsinspect conformance — an Autobahn-style RFC 6455 battery against an echo peer

Usage:
  wsinspect conformance server <ws://url | wss://url>    test a server that echoes every message (wss://: the
                                                         cases run inside TLS; the certificate is not verified)
  wsinspect conformance client --launch "<cmd {url}>"    test a client that echoes every message; {url}
                                                         becomes ws://127.0.0.1:PORT/ (one process per case)
  wsinspect conformance list [--cases …]                 list the cases
Options:
  --cases 5.,6.1            only cases whose id starts with these (comma-separated or repeated;
                            "1" and "1." both mean 1.x, never 10.x); 12. and 13. are the compressed
                            cases (permessage-deflate, RFC 7692: a peer that declines it is
                            unimplemented, counted non-strict)
  --json FILE               also write the JSON report (every case with its wire log as trace events)
  --concurrency N           cases run at the same time (default 4; 2 for --launch)
  --step-timeout MS         wait for each expected answer (default 3000)
  --time-scale X            multiply every wait and time limit (slow peers or machines; default 1)
  --brief                   list only the cases that are not a plain pass
Exit code: 0 when no case failed (non-strict is allowed), 1 otherwise, 2 for bad usage.

Examples:
  wsinspect conformance server ws://127.0.0.1:9001/ --cases 5.,6. --json report.json
  wsinspect conformance client --launch "wsinspect connect {url} --echo --trace none" --cases 1.,2.`;

class UsageError extends Error {}

function positiveNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${name} must be a positive ${integer ? 'whole ' : ''}number (got "${value}")`);
  return n;
}

/** Can we open a TCP connection at all? One plain line instead of a battery of identical failures. */
export function probe(host: string, port: number, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no answer from ${host}:${port} within ${timeoutMs} ms`);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' ? `connection refused: nothing is listening on ${host}:${port}` : `cannot connect to ${host}:${port}: ${error.message}`);
    });
  });
}

function progress(total: number): (result: CaseResult, done: number) => void {
  if (!process.stderr.isTTY) return () => {};
  let failed = 0;
  return (result, done) => {
    if (result.outcome === 'fail') failed++;
    process.stderr.write(`\r\x1b[2K[${done}/${total}] ${result.id} ${result.outcome}${failed ? ` (${failed} failed so far)` : ''}`);
    if (done === total) process.stderr.write('\r\x1b[2K');
  };
}

export async function conformance(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    if (error instanceof UsageError || error instanceof UrlError) {
      process.stderr.write(`wsinspect conformance: ${error.message}\n`);
      return 2;
    }
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`wsinspect conformance: ${(error as Error).message} (see wsinspect conformance --help)\n`);
      return 2;
    }
    throw error;
  }
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      cases: { type: 'string', multiple: true }, json: { type: 'string' }, launch: { type: 'string' },
      concurrency: { type: 'string' }, 'step-timeout': { type: 'string' }, 'time-scale': { type: 'string' },
      brief: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [mode, ...rest] = positionals;
  if (values.help || mode === undefined || mode === 'help') {
    process.stdout.write(conformanceUsage + '\n');
    return values.help || mode === 'help' ? 0 : 2;
  }
  const filters = parseCaseFilter(values.cases);
  if (mode === 'list') {
    for (const kind of ['server', 'client'] as const) {
      const list = selectCases(kind, filters);
      process.stdout.write(`${list.length} cases for a ${kind} under test\n`);
    }
    const seen = new Set<string>();
    for (const c of [...selectCases('server', filters), ...selectCases('client', filters)]) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const only = c.peers.length === 1 ? ` (${c.peers[0]} under test only)` : '';
      process.stdout.write(`${c.id.padEnd(8)} ${c.description} [${c.rfcSection}]${only}\n           pass: ${c.expectation.pass}\n`);
    }
    return 0;
  }
  if (mode !== 'server' && mode !== 'client') throw new UsageError(`unknown mode "${mode}": use server, client or list`);

  const options: BatteryOptions = {
    ...(filters ? { cases: filters } : {}),
    ...(values['step-timeout'] !== undefined ? { stepTimeoutMs: positiveNumber('--step-timeout', values['step-timeout'], true)! } : {}),
    ...(values['time-scale'] !== undefined ? { timeScale: positiveNumber('--time-scale', values['time-scale'], false)! } : {}),
  };
  const concurrency = positiveNumber('--concurrency', values.concurrency, true);

  let report: ConformanceReport;
  if (mode === 'server') {
    if (values.launch !== undefined) throw new UsageError('--launch is for "conformance client"');
    const url = rest[0];
    if (!url || rest.length > 1) throw new UsageError('conformance server needs exactly one URL, e.g. wsinspect conformance server ws://127.0.0.1:9001/');
    const target = parseWebSocketUrl(url);
    const total = selectCases('server', filters).length;
    if (total === 0) throw new UsageError(`no case matches --cases ${values.cases?.join(',')}`);
    const unreachable = await probe(target.host, target.port);
    if (unreachable) {
      process.stderr.write(`wsinspect conformance: ${unreachable}\n`);
      return 1;
    }
    report = await runServerBattery(target.url, { ...options, concurrency: concurrency ?? 4, onCase: progress(total) });
  } else {
    if (rest.length > 0) throw new UsageError(`conformance client takes no URL (got "${rest[0]}"): give --launch "<command with {url}>"`);
    const launch = values.launch;
    if (!launch) throw new UsageError('conformance client needs --launch "<command with {url}>", e.g. --launch "node client.js {url}"');
    if (!launch.includes('{url}')) throw new UsageError('the --launch command must contain {url}, where the server URL goes');
    const total = selectCases('client', filters).length;
    if (total === 0) throw new UsageError(`no case matches --cases ${values.cases?.join(',')}`);
    // Ctrl-C: exit through process.exit so the launched clients (own process groups) are killed too.
    const interrupt = () => process.exit(130);
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      report = await runClientBattery(launch, { ...options, concurrency: concurrency ?? 2, onCase: progress(total) });
    } finally {
      process.removeListener('SIGINT', interrupt);
      process.removeListener('SIGTERM', interrupt);
    }
  }

  if (values.json) {
    try {
      writeFileSync(values.json, reportToJson(report) + '\n');
      process.stderr.write(`JSON report with wire logs written to ${values.json}\n`);
    } catch (error) {
      process.stderr.write(`wsinspect conformance: cannot write ${values.json}: ${(error as Error).message}\n`);
      process.stdout.write(formatReport(report, { showPassing: !values.brief }) + '\n');
      return 1;
    }
  }
  process.stdout.write(formatReport(report, { showPassing: !values.brief }) + '\n');
  return report.totals.failed === 0 ? 0 : 1;
}
