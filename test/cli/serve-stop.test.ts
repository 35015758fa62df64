/**
 * wsinspect serve stops on Ctrl-C, SIGTERM and SIGHUP (exit 0, port freed), and when the process
 * that started it dies without passing a signal on (npx killed with SIGKILL) (issue 14, CLI).
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bin, killRunning, runCli as run, waitFor } from '../support/cli.ts';

afterEach(() => killRunning());

/** Resolves true when something accepts a TCP connection on the port, false when refused. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('wsinspect serve: stopping', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`exits 0 on ${signal} and frees the port`, async () => {
      const r = run(['serve', '--port', '0', '--trace', 'none']);
      const port = Number(await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(r.stdout())?.[1], `listening line (${r.stderr()})`));
      expect(await accepting(port)).toBe(true);
      r.child.kill(signal);
      const code = await r.exit;
      expect(code, `ended by ${r.signal() ?? 'no signal'}; stderr: ${r.stderr()}; stdout: ${r.stdout()}`).toBe(0);
      expect(await accepting(port)).toBe(false);
    });
  }

  it('stops when its parent dies without passing a signal on (SIGKILL)', async () => {
    // sh plays npm: it starts serve and waits; it is then killed with SIGKILL, which it cannot forward.
    const parent = run(['-c', `"${process.execPath}" "${bin}" serve --port 0 --trace none & echo "pid $!"; wait`], {}, '/bin/sh', []);
    const pid = Number(await waitFor(() => /pid (\d+)/.exec(parent.stdout())?.[1], 'the child pid'));
    const port = Number(await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(parent.stdout())?.[1], `listening line (${parent.stderr()})`));
    expect(await accepting(port)).toBe(true);
    parent.child.kill('SIGKILL');
    await waitFor(() => !alive(pid), 'the orphaned server to exit');
    expect(await accepting(port)).toBe(false);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`run through npx, stops when the npm process gets ${signal}`, async () => {
      const npx = run(['--no-install', 'wsinspect', 'serve', '--port', '0', '--trace', 'none'], {}, 'npx', []);
      const port = Number(await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(npx.stdout())?.[1], `listening line (${npx.stderr()})`, 60_000));
      expect(await accepting(port)).toBe(true);
      npx.child.kill(signal);
      await npx.exit;
      for (let i = 0; await accepting(port); i++) {
        if (i > 200) throw new Error(`the server still listens on ${port} after npm got ${signal}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }, 90_000);
  }
});
