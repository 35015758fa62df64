/**
 * Running `node bin/wsinspect.mjs` as a user would, for the CLI tests: its output as it comes,
 * its exit code, and the killing of whatever a test leaves running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const bin = fileURLToPath(new URL('../../bin/wsinspect.mjs', import.meta.url));

export interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The exit code; -1 when the process was ended by a signal (signal() says which). */
  exit: Promise<number>;
  signal: () => NodeJS.Signals | null;
}

const running: ChildProcess[] = [];

/** Runs wsinspect with these arguments (NO_COLOR set; env added to the test's own), or another command given. */
export function runCli(args: string[], env: Record<string, string> = {}, command = process.execPath, prefix: string[] = [bin]): Run {
  const child = spawn(command, [...prefix, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env } });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let endedBy: NodeJS.Signals | null = null;
  const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => {
    endedBy = signal;
    resolve(code ?? -1);
  }));
  return { child, stdout: () => out, stderr: () => err, exit, signal: () => endedBy };
}

/** Kills every process runCli started that is still running (afterEach). */
export function killRunning(): void {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/** Polls until get() gives something truthy. */
export async function waitFor<T>(get: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = get();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
