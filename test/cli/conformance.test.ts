/**
 * wsinspect conformance, spawned as a user runs it: against our server in this process, against
 * `wsinspect connect --echo` launched per case, and the exit codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoComponent, manualComponent } from '../../src/core/apps/index.ts';
import { selectCases } from '../../src/core/conformance/index.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/wsinspect.mjs', import.meta.url));
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'wsinspect-conformance-'));

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'conformance', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wsinspect conformance ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const lastLine = (s: string) => s.trim().split('\n').at(-1);

describe('wsinspect conformance server', () => {
  let echo: WebSocketServer;
  let manual: WebSocketServer;
  let echoUrl = '';
  let manualUrl = '';
  beforeAll(async () => {
    echo = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent });
    manual = new WebSocketServer({ host: '127.0.0.1', port: 0, component: manualComponent });
    echoUrl = (await echo.listen()).url;
    manualUrl = (await manual.listen()).url;
  });
  afterAll(async () => {
    await echo.close();
    await manual.close();
  });

  it('passes our echo server, prints the report grouped by category and writes the JSON', async () => {
    const file = join(dir, 'server.json');
    const filters = ['1.', '2.', '5.3', '7.']; // not 5.15: our engine is non-strict there (battery-ours.test.ts)
    const r = await run(['server', echoUrl, '--cases', filters.join(','), '--json', file]);
    const expected = selectCases('server', filters).length;
    expect(r.stderr).toContain(`written to ${file}`);
    expect(lastLine(r.stdout)).toBe(`${expected} passed, 0 failed, 0 non-strict`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 Framing and lengths: \d+ passed$/m);
    expect(r.stdout).toMatch(/^7 Close handling: \d+ passed$/m);
    expect(r.stdout).toMatch(/✓ 7\.9\.3 +Close with the invalid code 1004/);
    expect(r.stdout).not.toMatch(/^3 Reserved bits/m);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { mode: string; target: string; totals: { total: number; passed: number }; cases: Array<{ id: string; outcome: string; rfcSection: string; durationMs: number; wire: Array<{ type: string; direction?: string; time: number; bytes?: { hex: string } }> }> };
    expect(report.mode).toBe('server');
    expect(report.target).toBe(echoUrl);
    expect(report.totals).toMatchObject({ total: expected, passed: expected });
    const c = report.cases.find((x) => x.id === '2.2')!;
    expect(c).toMatchObject({ outcome: 'pass', rfcSection: '§5.5.2' });
    expect(c.wire.some((e) => e.type === 'bytes' && e.direction === 'in' && typeof e.bytes?.hex === 'string')).toBe(true);
  }, 60_000);

  it('runs the compressed cases: passes where permessage-deflate is agreed, unimplemented (non-strict, exit 0) where it is declined', async () => {
    const agreed = await run(['server', echoUrl, '--cases', '12.1.1,13.2.5']);
    expect(lastLine(agreed.stdout)).toBe('2 passed, 0 failed, 0 non-strict');
    expect(agreed.stdout).toMatch(/^12 Compression: message sizes \(permessage-deflate\): 1 passed$/m);
    expect(agreed.stdout).toMatch(/✓ 13\.2\.5 +256 compressed text messages of 4 KiB .*server_no_context_takeover/);
    const plain = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, deflate: false });
    const plainUrl = (await plain.listen()).url;
    try {
      const declined = await run(['server', plainUrl, '--cases', '12.1.1,13.2.5']);
      expect(lastLine(declined.stdout)).toBe('0 passed, 0 failed, 2 non-strict');
      expect(declined.stdout).toMatch(/~ 12\.1\.1 .*\n +non-strict: unimplemented \(Autobahn's UNIMPLEMENTED\): the server declined every permessage-deflate offer/);
      expect(declined.code).toBe(0);
    } finally {
      await plain.close();
    }
  }, 60_000);

  it('exits 1 when a case fails, with the failure in the report', async () => {
    const r = await run(['server', manualUrl, '--cases', '1.1.1,2.1', '--step-timeout', '300', '--brief']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe('1 passed, 1 failed, 0 non-strict');
    expect(r.stdout).toMatch(/✗ 1\.1\.1 .*\n\s+fail: expected an echo of the text message \(0 bytes\); nothing came within 30\d ms/);
    expect(r.stdout).not.toMatch(/✓ 2\.1/); // --brief lists only problems
  }, 30_000);

  it('explains bad usage (exit 2) and an unreachable server (exit 1) in one line', async () => {
    const noUrl = await run(['server']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/needs exactly one URL/);
    const badUrl = await run(['server', 'http//nope']);
    expect(badUrl.code).toBe(2);
    const noCase = await run(['server', echoUrl, '--cases', '42.']);
    expect(noCase.code).toBe(2);
    expect(noCase.stderr).toMatch(/no case matches/);
    const closed = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent });
    const { url } = await closed.listen();
    await closed.close();
    const refused = await run(['server', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^wsinspect conformance: connection refused/);
    const noLaunch = await run(['client', '--launch', 'node client.js']);
    expect(noLaunch.code).toBe(2);
    expect(noLaunch.stderr).toMatch(/must contain \{url\}/);
  }, 60_000);
});

describe('wsinspect conformance client', () => {
  it('passes `wsinspect connect {url} --echo` launched per case (a subset, to keep time down)', async () => {
    const ids = ['1.1.2', '1.2.8', '2.2', '2.10', '3.1.1', '4.2.1', '5.9', '6.8.1', '7.3.1', '7.7.10', '7.9.3', '10.3.1'];
    const launch = `"${process.execPath}" "${bin}" connect {url} --echo --trace none`;
    const r = await run(['client', '--launch', launch, '--cases', ids.join(','), '--concurrency', '3']);
    expect(lastLine(r.stdout)).toBe(`${ids.length} passed, 0 failed, 0 non-strict`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('client launched by:');
  }, 60_000);

  it('lists the cases', async () => {
    const r = await run(['list', '--cases', '7.9']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^10 cases for a server under test$/m);
    expect(r.stdout).toMatch(/7\.9\.1 +Close with the invalid code 0/);
  });
});
