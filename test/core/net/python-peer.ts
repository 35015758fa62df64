/**
 * Running python-websockets peers (Debian's python3-websockets, run by /usr/bin/python3, not the
 * pyenv python on PATH) for the interop tests. The python side is in test/fixtures/python/.
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually, withTimeout } from './helpers.ts';

export const PYTHON = '/usr/bin/python3';
export const FIXTURES = fileURLToPath(new URL('../../fixtures/python/', import.meta.url));

/** The system python, without pyenv or a virtualenv leaking in through the environment. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8' };
  for (const name of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYENV_VERSION']) delete env[name];
  return env;
}

/** Fails loudly (never skips) when the python side cannot run. Returns the websockets version. */
export function requirePythonWebsockets(): string {
  const hint = 'Install it with: apt-get install -y python3-websockets (the tests run /usr/bin/python3, not the python3 on PATH).';
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} does not exist. ${hint}`);
  const probe = spawnSync(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 15_000 });
  if (probe.status !== 0) {
    throw new Error(`${PYTHON} cannot import websockets (exit ${probe.status}): ${(probe.stderr || String(probe.error ?? '')).trim()}. ${hint}`);
  }
  const version = probe.stdout.trim();
  const major = Number(version.split('.')[0]);
  if (!(major >= 10)) throw new Error(`python websockets ${version} is too old: the fixtures need 10.x or later (legacy asyncio API). ${hint}`);
  return version;
}

/** Runs a python script to completion and returns its stdout (kills it if it overruns). */
export async function runPython(args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(PYTHON, args, { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const code = await withTimeout(new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    }), ms, `python ${args.join(' ')}`);
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export function parseLastJsonLine(stdout: string, stderr: string): Record<string, any> {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    throw new Error(`python printed no JSON result.\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

/** A long-running python server that prints one JSON object per line (its events). */
export interface PythonServer {
  events: Array<Record<string, any>>;
  port: number;
  stderr(): string;
  /** Closes its stdin (the fixtures exit on EOF), then kills it if it lingers. */
  stop(): Promise<void>;
}

/** Spawns a fixture server and waits for its {"event": "listening", "port": N} line. */
export async function startPythonServer(args: string[], ms = 15_000): Promise<PythonServer> {
  const child = spawn(PYTHON, args, { env: pythonEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Array<Record<string, any>> = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) events.push(JSON.parse(line) as Record<string, any>);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`python ${args.join(' ')} exited with ${code}: ${stderr}`))));
  exited.catch(() => {});
  try {
    await Promise.race([eventually(() => events.some((e) => e['event'] === 'listening'), ms, `python ${args.join(' ')} to listen`), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { events, port: events.find((e) => e['event'] === 'listening')!['port'] as number, stderr: () => stderr, stop };
}
