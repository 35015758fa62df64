/**
 * `wsinspect learn` as a learner uses it: the list, a lesson taken on live traffic from a real
 * client (ws), skipping with "s", the check question answered on stdin, progress kept.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { killRunning, runCli, waitFor } from '../support/cli.ts';

const dirs: string[] = [];
afterEach(() => {
  killRunning();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const savedProgress = (env: Record<string, string>) =>
  JSON.parse(readFileSync(join(env['XDG_CONFIG_HOME']!, 'websocket-inspector', 'learn-progress.json'), 'utf8')) as unknown;

function configHome(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-learn-cli-'));
  dirs.push(dir);
  return { XDG_CONFIG_HOME: dir };
}

describe('wsinspect learn', () => {
  it('lists the ten lessons with their sections', async () => {
    const run = runCli(['learn'], configHome());
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/ 1\. The opening handshake +§1\.3 §4\.1 §4\.2\.2/);
    expect(run.stdout()).toMatch(/10\. Security: Origin, masking and limits/);
  });

  it('refuses a lesson that does not exist or a bad port in one line', async () => {
    const bad = runCli(['learn', 'nope'], configHome());
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toBe('wsinspect: no lesson "nope" (list them with: wsinspect learn)\n');
    const port = runCli(['learn', '1', '--port', '70000'], configHome());
    expect(await port.exit).toBe(2);
    expect(port.stderr()).toMatch(/^wsinspect: --port must be a whole number from 0 to 65535/);
  });

  it('takes the handshake lesson on live traffic, asks the check question and keeps the progress', async () => {
    const env = configHome();
    const run = runCli(['learn', 'handshake'], env);
    const url = await waitFor(() => /Lesson server: (ws:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())?.[1], 'the lesson server');
    expect(run.stdout()).toContain('RFC 6455 §1.3: “The opening handshake is intended to be compatible');
    // Printed after the server's line, with the first step: it may come in a later read of the pipe.
    await waitFor(() => run.stdout().includes(`in a browser console:  ws = new WebSocket('${url}')`), 'the first step\'s browser line');
    const client = new WebSocket(url);
    await waitFor(() => run.stdout().includes('Check:'), 'both steps and the check question');
    client.close();
    expect(run.stdout()).toMatch(/✓ Step 1 done \(connection [^)]+\):\n {4}request line: GET \/ HTTP\/1\.1/);
    expect(run.stdout()).toMatch(/✓ Step 2 done[^\n]*\n {4}status line: HTTP\/1\.1 101 Switching Protocols/);
    run.child.stdin!.end('2\n');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('Right. RFC 6455 §4.2.2 item 5.1');
    expect(run.stdout()).toContain('Next: wsinspect learn accept');
    expect(savedProgress(env)).toEqual({ handshake: { stepsDone: 2, checkPassed: true } });
    const list = runCli(['learn'], env);
    await list.exit;
    expect(list.stdout()).toMatch(/1\. The opening handshake.*✓ done/);
  });

  it('skips steps with "s", and a wrong answer is corrected without passing the check', async () => {
    const env = configHome();
    const run = runCli(['learn', '2'], env);
    await waitFor(() => run.stdout().includes('Step 1 of 2'), 'the first step');
    run.child.stdin!.write('s\n');
    await waitFor(() => run.stdout().includes('Step 2 of 2'), 'the second step');
    run.child.stdin!.write('s\n');
    await waitFor(() => run.stdout().includes('Your answer'), 'the check question');
    run.child.stdin!.end('9\n1\n');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('Type a number from 1 to 4.');
    expect(run.stdout()).toContain('Not quite: it is 2. Nothing: it uses the base64 text as sent');
    expect(savedProgress(env)).toEqual({ accept: { stepsDone: 2, checkPassed: false } });
  });

  it('"q" stops the lesson and keeps what was done', async () => {
    const run = runCli(['learn', 'masking'], configHome());
    await waitFor(() => run.stdout().includes('Step 1 of 3'), 'the first step');
    run.child.stdin!.write('q\n');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('stopped; your progress is saved.');
  });
});
