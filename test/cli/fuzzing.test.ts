/**
 * wsinspect fuzzingserver and fuzzingclient as Autobahn drop-ins, driven the way libraries drive
 * Autobahn: a ws (npm) client loop and a python-websockets client loop (asyncio, as websockets'
 * own compliance client) against `wsinspect fuzzingserver`, and `wsinspect fuzzingclient` against
 * a ws echo server and a python-websockets echo server. Reports are read back as Autobahn's
 * readers read them: OUTDIR/index.json, each case's reportfile, index.html.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { selectSpecCases } from '../../src/core/conformance/autobahn-spec.ts';
import { FIXTURES, PYTHON, pythonEnv, requirePythonWebsockets } from '../core/net/python-peer.ts';
import { killRunning, runCli, waitFor } from '../support/cli.ts';
import { refusal } from '../support/ws-refusal.ts';

const loops = fileURLToPath(new URL('../fixtures/autobahn/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wsinspect-fuzzing-'));
const children: ChildProcess[] = [];
const pythonVersion = requirePythonWebsockets();
const wsVersion = (JSON.parse(readFileSync(new URL('../../node_modules/ws/package.json', import.meta.url), 'utf8')) as { version: string }).version;

afterEach(() => {
  killRunning();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SUBSET = ['1.*', '2.*', '5.*', '7.*', '12.1.*'];
const lastLine = (s: string) => s.trim().split('\n').at(-1);

type Index = Record<string, Record<string, { behavior: string; behaviorClose: string; duration: number; remoteCloseCode: number | null; reportfile: string }>>;

function readIndex(outdir: string): Index {
  return JSON.parse(readFileSync(join(outdir, 'index.json'), 'utf8')) as Index;
}

/** Runs a harness loop to its end (it exits by itself after /updateReports). */
function runLoop(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

/** Autobahn's shutdown: /updateReports with shutdownOnComplete=true. */
function shutdown(base: string, agent: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}/updateReports?agent=${encodeURIComponent(agent)}&shutdownOnComplete=true`);
    ws.on('error', () => resolve());
    ws.on('close', () => resolve());
  });
}

/**
 * The cases that are not plain OK, but for Autobahn's "echo first" 5.15 (a valid message, a bad
 * frame and a ping in one write): python-websockets closes before echoing the message, which
 * Autobahn grades NON-STRICT and its compliance notes name; it may also win the race. Either is
 * checked: NON-STRICT only for that reason.
 */
function notOkBut515(outdir: string, index: Index, agent: string): string[] {
  const r515 = index[agent]!['5.15'];
  if (r515 && r515.behavior === 'NON-STRICT') {
    const report = JSON.parse(readFileSync(join(outdir, r515.reportfile), 'utf8')) as { result: string };
    expect(report.result).toMatch(/without sending an echo of the text message \(18 bytes\) first: .*its echo was due first/);
  }
  return Object.entries(index[agent]!)
    .filter(([id, r]) => (r.behavior !== 'OK' || r.behaviorClose !== 'OK') && !(id === '5.15' && r.behavior === 'NON-STRICT'))
    .map(([id, r]) => `${id} ${r.behavior}/${r.behaviorClose}`);
}

/** "N passed, 0 failed, N non-strict" as the index counts it (NON-STRICT and UNIMPLEMENTED are non-strict). */
function expectedLine(index: Index, agents: string[]): string {
  let passed = 0;
  let nonStrict = 0;
  for (const agent of agents) {
    for (const r of Object.values(index[agent]!)) {
      if (r.behavior === 'NON-STRICT' || r.behavior === 'UNIMPLEMENTED') nonStrict++;
      else if (r.behavior !== 'FAILED') passed++;
    }
  }
  return `${passed} passed, 0 failed, ${nonStrict} non-strict`;
}

/** Every selected case is in the index under the agent, in Autobahn's row shape, with its report file. */
function expectIndexLayout(outdir: string, index: Index, agent: string, ids: string[], reportPrefix: string, serverLog = ''): void {
  const notable = serverLog.split('\n').filter((l) => l && !/ OK$/.test(l)).join('\n');
  expect(ids.filter((id) => !(id in index[agent]!)), `${agent}: cases missing from index.json; the server said:\n${notable}`).toEqual([]);
  expect(Object.keys(index[agent]!)).toEqual(ids);
  for (const id of ids) {
    const row = index[agent]![id]!;
    expect(Object.keys(row).sort()).toEqual(['behavior', 'behaviorClose', 'duration', 'remoteCloseCode', 'reportfile']);
    expect(row.reportfile).toBe(`${reportPrefix}_case_${id.replace(/\./g, '_')}.json`);
    expect(Number.isInteger(row.duration)).toBe(true);
    const report = JSON.parse(readFileSync(join(outdir, row.reportfile), 'utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({ agent, id, behavior: row.behavior, behaviorClose: row.behaviorClose, remoteCloseCode: row.remoteCloseCode });
    expect(Array.isArray(report['wirelog'])).toBe(true);
  }
}

describe('wsinspect fuzzingserver, driven by harness loops as libraries write them', () => {
  it(`a ws ${wsVersion} client loop and a python-websockets ${pythonVersion} client loop run a subset unchanged`, async () => {
    const outdir = join(dir, 'clients');
    const specFile = join(dir, 'fuzzingserver.json');
    writeFileSync(specFile, JSON.stringify({ url: 'ws://127.0.0.1:9001', outdir, cases: SUBSET, 'exclude-cases': [] }));
    const server = runCli(['fuzzingserver', '--spec', specFile, '--port', '0']);
    const port = Number((await waitFor(() => /on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(server.stdout()), 'the fuzzingserver to listen'))[1]);
    const base = `ws://127.0.0.1:${port}`;
    const ids = selectSpecCases({ cases: SUBSET }, 'client').cases.map((c) => c.id);
    expect(server.stdout()).toContain(`${ids.length} cases on`);

    const ws = await runLoop(process.execPath, [join(loops, 'ws_client_loop.mjs'), base, `ws ${wsVersion}`]);
    expect(ws.out).toContain(`ran ${ids.length} cases`);
    const py = await runLoop(PYTHON, [join(loops, 'python_client_loop.py'), base, 'python-websockets'], pythonEnv());
    expect(py.out).toContain(`ran ${ids.length} cases`);

    await shutdown(base, 'python-websockets');
    const code = await server.exit;
    const index = readIndex(outdir);
    expectIndexLayout(outdir, index, `ws ${wsVersion}`, ids, `ws_${wsVersion.replace(/\./g, '_')}`, server.stdout() + server.stderr());
    expectIndexLayout(outdir, index, 'python-websockets', ids, 'python_websockets', server.stdout() + server.stderr() + py.out);
    // Both clients echo, fail, close and compress as the cases expect. 7.1.6 and 7.13.x are
    // informational (Autobahn's too); every other case is OK, close behaviour included (but 5.15).
    for (const agent of [`ws ${wsVersion}`, 'python-websockets']) {
      expect(notOkBut515(outdir, index, agent), agent).toEqual(['7.1.6 INFORMATIONAL/INFORMATIONAL', '7.13.1 INFORMATIONAL/INFORMATIONAL', '7.13.2 INFORMATIONAL/INFORMATIONAL']);
      // they answer our Close with 1000, and fail a bad frame with 1002 or invalid UTF-8 with 1007
      expect(index[agent]!['1.1.1']!.remoteCloseCode).toBe(1000);
      expect(index[agent]!['2.5']!.remoteCloseCode).toBe(1002);
      // the compressed cases ran compressed (both clients offer permessage-deflate)
      const report = readFileSync(join(outdir, index[agent]!['12.1.1']!.reportfile), 'utf8');
      expect(report).toMatch(/permessage-deflate agreed/);
    }
    expect(code).toBe(0);
    expect(lastLine(server.stdout())).toBe(expectedLine(index, [`ws ${wsVersion}`, 'python-websockets']));
    expect(index[`ws ${wsVersion}`]!['5.15']!.behavior).toBe('OK'); // ws echoes before it fails
    const html = readFileSync(join(outdir, 'index.html'), 'utf8');
    expect(html).toContain('<h2 id="category-12">12 Compression');
    expect(html).not.toMatch(/<script/i);
  }, 60_000);

  it('answers a broken request with one line and keeps serving; bad specs and options exit 2 with one line', async () => {
    const outdir = join(dir, 'hostile');
    const specFile = join(dir, 'hostile.json');
    writeFileSync(specFile, JSON.stringify({ outdir, cases: ['2.1', '9.9.9'] }));
    const server = runCli(['fuzzingserver', '--spec', specFile, '--port', '0']);
    const port = Number((await waitFor(() => /on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(server.stdout()), 'the fuzzingserver to listen'))[1]);
    expect(server.stderr()).toMatch(/1 case id is not in this battery and skipped: 9\.9\.9/);
    const refused = (path: string) => refusal(`ws://127.0.0.1:${port}${path}`);
    expect(await refused('/runCase?case=2&agent=x')).toMatch(/^400 .*case 2 is out of range: this server runs cases 1 to 1/);
    expect(await refused('/runCase?case=1&agent=x&agent=y')).toMatch(/^400 .*"agent" is given 2 times/);
    expect(await refused('/runCase?case=1')).toMatch(/^400 .*"agent" is missing/);
    expect(await refused('/runCase?case=-1&agent=x')).toMatch(/^400 .*case must be a number/);
    expect(await refused('/runCase?case=1&agent=%01evil')).toMatch(/^400 .*control characters/);
    expect(await refused('/nope')).toMatch(/^404 /);
    // still serving: the count
    const count = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/getCaseCount`);
      ws.on('message', (d) => resolve(d.toString()));
      ws.on('error', (e) => resolve(e.message));
    });
    expect(count).toBe('1');
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(lastLine(server.stdout())).toBe('0 passed, 0 failed, 0 non-strict');

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"cases": "1.*"}');
    const r1 = runCli(['fuzzingserver', '--spec', bad]);
    expect(await r1.exit).toBe(2);
    expect(r1.stderr().trim()).toBe('wsinspect fuzzingserver: "cases" must be a list of case ids or patterns, e.g. ["1.*", "9.*"]');
    const r2 = runCli(['fuzzingclient', '--spec', join(dir, 'missing.json')]);
    expect(await r2.exit).toBe(2);
    expect(r2.stderr().trim()).toMatch(/^wsinspect fuzzingclient: cannot read the spec .*missing\.json: no such file$/);
    const r3 = runCli(['fuzzingserver', '--header', 'no colon']);
    expect(await r3.exit).toBe(2);
    expect(r3.stderr().trim()).toMatch(/^wsinspect fuzzingserver: --header: A header must look like "Name: value"/);
  }, 30_000);
});

describe('wsinspect fuzzingclient against ws and python-websockets echo servers', () => {
  it('runs a subset against both, each as its agent, with reports in Autobahn\'s layout', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    const py = spawn(PYTHON, [join(FIXTURES, 'echo_server.py')], { env: pythonEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(py);
    let pyOut = '';
    py.stdout!.on('data', (d: Buffer) => (pyOut += d.toString()));
    try {
      const pyPort = Number((await waitFor(() => /"port": (\d+)/.exec(pyOut), 'the python echo server'))[1]);
      const outdir = join(dir, 'servers');
      const specFile = join(dir, 'fuzzingclient.json');
      const cases = ['1.1.*', '2.*', '5.*', '7.7.*', '12.1.1'];
      writeFileSync(specFile, JSON.stringify({
        outdir, cases, 'exclude-cases': ['2.11'],
        servers: [
          { agent: `ws ${wsVersion}`, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` },
          { agent: `python-websockets ${pythonVersion}`, url: `ws://127.0.0.1:${pyPort}`, options: { version: 18 } },
        ],
      }));
      const run = runCli(['fuzzingclient', '--spec', specFile]);
      const code = await run.exit;
      const ids = selectSpecCases({ cases, 'exclude-cases': ['2.11'] }, 'server').cases.map((c) => c.id);
      expect(ids).not.toContain('2.11');
      const index = readIndex(outdir);
      expectIndexLayout(outdir, index, `ws ${wsVersion}`, ids, `ws_${wsVersion.replace(/\./g, '_')}`);
      expectIndexLayout(outdir, index, `python-websockets ${pythonVersion}`, ids, `python_websockets_${pythonVersion.replace(/\./g, '_')}`);
      for (const agent of Object.keys(index)) {
        const notOk = notOkBut515(outdir, index, agent);
        // The python fixture serves with compression=None: it declines permessage-deflate, which
        // RFC 7692 §5 allows; Autobahn calls that UNIMPLEMENTED, and so do we (never failed).
        expect(notOk, agent).toEqual(agent.startsWith('python') ? ['12.1.1 UNIMPLEMENTED/OK'] : []);
        // Close 3000 is echoed (7.7.10), 1012 too (7.7.14): both servers know the IANA registry's codes
        expect(index[agent]!['7.7.10']!.remoteCloseCode).toBe(3000);
        expect(index[agent]!['7.7.14']!.remoteCloseCode).toBe(1012);
      }
      expect(code).toBe(0);
      expect(run.stdout()).toContain(`ws ${wsVersion}: ${ids.length} passed, 0 failed, 0 non-strict (${ids.length} OK)`);
      expect(run.stdout()).toMatch(new RegExp(`^python-websockets ${pythonVersion.replace(/\./g, '\\.')}: ${expectedLine(index, [`python-websockets ${pythonVersion}`])} \\(\\d+ OK, (1 NON-STRICT, )?1 UNIMPLEMENTED\\)$`, 'm'));
      expect(lastLine(run.stdout())).toBe(expectedLine(index, Object.keys(index)));
      expect(existsSync(join(outdir, 'index.html'))).toBe(true);
    } finally {
      py.stdin!.end();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  }, 60_000);

  it('--subprotocol and --header reach a server that demands them', async () => {
    // As some test servers do: refuse a handshake without the token, and speak only "chat".
    const wss = new WsServer({
      host: '127.0.0.1', port: 0,
      verifyClient: (info: { req: { headers: Record<string, string | string[] | undefined> } }) => info.req.headers['x-token'] === 'secret',
      handleProtocols: (offered: Set<string>) => (offered.has('chat') ? 'chat' : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const protocols: string[] = [];
    wss.on('connection', (ws) => {
      protocols.push(ws.protocol);
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    try {
      const specFile = join(dir, 'demanding.json');
      writeFileSync(specFile, JSON.stringify({ outdir: join(dir, 'demanding'), cases: ['1.1.2', '2.1'], servers: [{ agent: 'demanding', url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` }] }));
      const without = runCli(['fuzzingclient', '--spec', specFile]);
      expect(await without.exit).toBe(1);
      expect(lastLine(without.stdout())).toBe('0 passed, 2 failed, 0 non-strict');
      expect(without.stdout()).toMatch(/✗ 1\.1\.2 opening handshake refused or invalid: The server answered 401/);
      const withThem = runCli(['fuzzingclient', '--spec', specFile, '--subprotocol', 'chat', '--header', 'X-Token: secret']);
      expect(await withThem.exit).toBe(0);
      expect(lastLine(withThem.stdout())).toBe('2 passed, 0 failed, 0 non-strict');
      expect(protocols).toEqual(['chat', 'chat']);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  }, 30_000);

  it('exits 1 with one line for an unreachable server', async () => {
    const specFile = join(dir, 'unreachable.json');
    writeFileSync(specFile, JSON.stringify({ outdir: join(dir, 'none'), cases: ['1.1.1'], servers: [{ agent: 'gone', url: 'ws://127.0.0.1:1' }] }));
    const run = runCli(['fuzzingclient', '--spec', specFile]);
    expect(await run.exit).toBe(1);
    expect(run.stderr().trim()).toBe('wsinspect fuzzingclient: gone: connection refused: nothing is listening on 127.0.0.1:1 (skipped)');
  }, 30_000);
});
