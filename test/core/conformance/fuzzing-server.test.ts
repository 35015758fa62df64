/**
 * The fuzzingserver in-process, driven by a ws client: the endpoints a harness uses besides
 * runCase (getCaseInfo, getCaseStatus), exclude-agent-cases, and the subprotocol and extra
 * header given on the command line (libwebsockets' test clients insist on a subprotocol).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AutobahnReports } from '../../../src/core/conformance/autobahn-report.ts';
import { selectSpecCases } from '../../../src/core/conformance/autobahn-spec.ts';
import { FuzzingServer } from '../../../src/core/conformance/fuzzing-server.ts';
import { refusal } from '../../support/ws-refusal.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsinspect-fuzzing-server-'));
const servers: FuzzingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(cases: string[], more: { subprotocols?: string[]; headers?: Array<{ name: string; value: string }>; exclude?: Record<string, string[]>; maxRunningCases?: number; slotWaitMs?: number } = {}) {
  const selection = { cases, ...(more.exclude ? { 'exclude-agent-cases': more.exclude } : {}) };
  const reports = new AutobahnReports(join(dir, String(servers.length)), 'client');
  const lines: string[] = [];
  const server = new FuzzingServer({
    cases: selectSpecCases(selection, 'client').cases, selection, reports, onLine: (l) => lines.push(l),
    ...(more.maxRunningCases ? { maxRunningCases: more.maxRunningCases } : {}),
    ...(more.slotWaitMs !== undefined ? { slotWaitMs: more.slotWaitMs } : {}),
    battery: { ...(more.subprotocols ? { subprotocols: more.subprotocols } : {}), ...(more.headers ? { headers: more.headers } : {}) },
  });
  servers.push(server);
  const port = await server.listen('127.0.0.1', 0);
  return { base: `ws://127.0.0.1:${port}`, reports, lines };
}

/** Opens a WebSocket, collects its messages until it closes; echoes them when asked. */
function session(url: string, options: { echo?: boolean; protocols?: string[] } = {}): Promise<{ messages: string[]; protocol: string; headers: Record<string, string | string[] | undefined>; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? []);
    const messages: string[] = [];
    let headers: Record<string, string | string[] | undefined> = {};
    ws.on('upgrade', (res) => (headers = res.headers));
    ws.on('message', (data, isBinary) => {
      messages.push(data.toString());
      if (options.echo) ws.send(data as Buffer, { binary: isBinary });
    });
    ws.on('error', reject);
    ws.on('close', (code) => resolve({ messages, protocol: ws.protocol, headers, code }));
  });
}

describe('FuzzingServer', () => {
  it('answers getCaseCount, getCaseInfo and getCaseStatus as Autobahn does', async () => {
    const { base } = await start(['2.1', '2.2']);
    expect((await session(`${base}/getCaseCount`)).messages).toEqual(['2']);
    const info = await session(`${base}/getCaseInfo?case=2`);
    expect(JSON.parse(info.messages[0]!)).toEqual({ id: '2.2', description: 'ping with a small text payload' });
    expect(info.code).toBe(1000);
    const run = await session(`${base}/runCase?case=1&agent=probe`, { echo: true });
    expect(run.code).toBe(1000);
    expect(JSON.parse((await session(`${base}/getCaseStatus?case=1&agent=probe`)).messages[0]!)).toEqual({ behavior: 'OK' });
  });

  it('skips a case "exclude-agent-cases" names for that agent (a handshake, then Close)', async () => {
    const { base, reports, lines } = await start(['1.1.1'], { exclude: { 'skip*': ['1.1.*'] } });
    const skipped = await session(`${base}/runCase?case=1&agent=skipper`);
    expect(skipped).toMatchObject({ messages: [], code: 1000 });
    expect(lines).toContain('skipper: case 1.1.1 skipped ("exclude-agent-cases")');
    expect(reports.agentNames()).toEqual([]);
    await session(`${base}/runCase?case=1&agent=other`, { echo: true });
    // getCaseStatus waits for the verdict, which is recorded just after the client sees the close
    expect(JSON.parse((await session(`${base}/getCaseStatus?case=1&agent=other`)).messages[0]!)).toEqual({ behavior: 'OK' });
    expect(reports.status('other', '1.1.1')?.behavior).toBe('OK');
  });

  it('chooses the subprotocol it was given when the client offers it, and adds extra response headers', async () => {
    const { base, reports } = await start(['1.1.2'], { subprotocols: ['dumb-increment-protocol'], headers: [{ name: 'X-Fuzzing', value: 'wsinspect' }] });
    const count = await session(`${base}/getCaseCount`, { protocols: ['dumb-increment-protocol'] });
    expect(count).toMatchObject({ protocol: 'dumb-increment-protocol', messages: ['1'] });
    expect(count.headers['x-fuzzing']).toBe('wsinspect');
    const run = await session(`${base}/runCase?case=1&agent=lws`, { echo: true, protocols: ['dumb-increment-protocol'] });
    expect(run.protocol).toBe('dumb-increment-protocol');
    expect(run.headers['x-fuzzing']).toBe('wsinspect');
    expect(JSON.parse((await session(`${base}/getCaseStatus?case=1&agent=lws`, { protocols: ['dumb-increment-protocol'] })).messages[0]!)).toEqual({ behavior: 'OK' });
    expect(reports.status('lws', '1.1.2')?.remoteCloseCode).toBe(1000);
  });

  it('runs a bounded number of cases at once: one more waits for a slot, then gets 503 and a line saying why', async () => {
    const { base } = await start(['1.1.2', '2.1'], { maxRunningCases: 1, slotWaitMs: 300 });
    const first = new WebSocket(`${base}/runCase?case=1&agent=slow`); // never echoes: the case waits
    first.on('error', () => {});
    await new Promise<void>((resolve) => first.once('open', () => resolve()));
    const second = await refusal(`${base}/runCase?case=2&agent=slow`);
    expect(second).toBe('503 wsinspect fuzzingserver: busy: 1 cases are running (at most 1 at a time); try again when one ends');
    first.terminate();
  });
});
