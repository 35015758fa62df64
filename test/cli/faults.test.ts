/**
 * wsinspect's fault injection, spawned as a user runs it, against the real `ws` package.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { faultPresets } from '../../src/core/faults.ts';

const bin = fileURLToPath(new URL('../../bin/wsinspect.mjs', import.meta.url));

function run(args: string[], untilStdout?: RegExp): Promise<{ code: number; stdout: string; stderr: string; kill: () => void }> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; stdout: string; stderr: string; kill: () => void }>((resolve) => {
    const kill = () => child.kill('SIGTERM');
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr, kill }));
    if (untilStdout) child.stdout.on('data', () => untilStdout.test(stdout) && resolve({ code: -1, stdout, stderr, kill }));
  });
  return Object.assign(done, { child });
}

let wss: WsServer;
let url: string;
const received: Buffer[] = [];

beforeAll(async () => {
  wss = new WsServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (s) => {
    s.on('error', () => {}); // ws reports the violations we inject as errors
    s.on('message', (d, isBinary) => {
      received.push(d as Buffer);
      s.send(d, { binary: isBinary });
    });
  });
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
});
afterAll(() => wss.close());

describe('wsinspect fault injection', () => {
  it('lists every preset grouped by RFC section', async () => {
    const r = await run(['presets']);
    expect(r.code).toBe(0);
    for (const p of faultPresets) expect(r.stdout).toContain(p.id);
    expect(r.stdout).toContain('§5.2 Base framing');
    expect(r.stdout).toContain(`${faultPresets.length} presets`);
    // The compression presets under their own heading, each saying where it can be fired.
    expect(r.stdout).toMatch(/\nRFC 7692 Compression \(permessage-deflate\)\n {2}deflate-rsv1-continuation/);
    expect(r.stdout).toMatch(/deflate-corrupt +Compressed message that is not valid DEFLATE\n.*expected: .*1007 or Close 1002.*\n +only where permessage-deflate was agreed/);
    expect(r.stdout).toMatch(/rsv1-set +RSV1 set with no extension agreed\n.*\n +only without an extension/);
  });

  it('fires a compression preset where permessage-deflate was agreed, and refuses rsv1-set there (exit 1, the reason said)', async () => {
    const compressing = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
    await new Promise((res) => compressing.once('listening', res));
    compressing.on('connection', (s) => {
      s.on('error', () => {});
      s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
    });
    try {
      const target = `ws://127.0.0.1:${(compressing.address() as AddressInfo).port}/`;
      const r = await run(['connect', target, '--trace', 'none', '--preset', 'rsv1-set', '--preset', 'deflate-corrupt']);
      expect(r.stdout).toMatch(/- rsv1-set: not fired: .*agreed permessage-deflate/);
      expect(r.stdout).toMatch(/✓ deflate-corrupt \(RFC 7692 §7\.2\.2\).*\n.*\n {4}actual: {3}Close 1007/);
      expect(r.code).toBe(1); // one preset could not be judged
    } finally {
      compressing.close();
    }
  });

  it('fires presets at ws and prints expected against actual; exit 0 when ws reacts as the RFC requires', async () => {
    const r = await run(['connect', url, '--trace', 'none', '--preset', 'ping-payload', '--preset', 'invalid-utf8']);
    expect(r.stdout).toContain('✓ ping-payload');
    expect(r.stdout).toContain('actual:   a pong "are you there?"');
    expect(r.stdout).toMatch(/✓ invalid-utf8 .*\n.*\n {4}actual: {3}Close 1007/);
    expect(r.code).toBe(0);
  });

  it('exits 1 when a reaction is not the RFC\'s (a server that ignores the violation)', async () => {
    // `ws` with skipUTF8Validation accepts invalid UTF-8: the preset expects 1007.
    const lax = new WsServer({ host: '127.0.0.1', port: 0, skipUTF8Validation: true });
    await new Promise((res) => lax.once('listening', res));
    lax.on('connection', (s) => {
      s.on('error', () => {});
      s.on('message', (d) => s.send(d));
    });
    try {
      const r = await run(['connect', `ws://127.0.0.1:${(lax.address() as AddressInfo).port}/`, '--trace', 'none', '--preset', 'invalid-utf8']);
      expect(r.stdout).toContain('✗ invalid-utf8');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('did not react as RFC 6455 requires');
    } finally {
      lax.close();
    }
  });

  it('sends crafted hex in timed TCP writes: the RFC masked "Hello" arrives whole', async () => {
    received.length = 0;
    const r = await run(['connect', url, '--trace', 'none', '--send-hex', '81 85 37 fa 21 3d 7f 9f 4d 51 58', '--split', '1,1,1', '--delay', '20']);
    expect(r.code).toBe(0);
    expect(received.map((b) => b.toString())).toEqual(['Hello']);
    expect(r.stdout).toContain('Hello');
  });

  it('serve --preset fires at every client that connects', async () => {
    const serve = run(['serve', '--port', '0', '--trace', 'none', '--preset', 'rsv1-set'], /listening on (ws:\S+)/);
    const started = await serve;
    try {
      const serverUrl = /listening on (ws:\S+)/.exec(started.stdout)![1]!;
      // No permessage-deflate: with it agreed, RSV1 would mean "compressed" (the preset needs no extension).
      const ws = new WebSocket(serverUrl, { perMessageDeflate: false });
      const wsError = new Promise<string>((resolve) => ws.on('error', (e) => resolve(e.message)));
      expect(await wsError).toContain('RSV1 must be clear'); // ws fails the connection on RSV1
      let output = started.stdout;
      serve.child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      // wsinspect prints its verdict on the preset for that connection.
      const judged = () => /\[server\d+:1\] (✓|✗) rsv1-set/.exec(output);
      for (let i = 0; i < 100 && !judged(); i++) await new Promise((res) => setTimeout(res, 30));
      expect(judged()?.[1]).toBe('✓');
    } finally {
      started.kill(); // also when an assertion failed: never leave a server behind
    }
    await new Promise((res) => serve.child.once('exit', res));
    expect(serve.child.exitCode === 0 || serve.child.signalCode !== null).toBe(true);
  });

  it.each([
    [['connect', 'ws://127.0.0.1:1/', '--preset', 'nope'], /unknown preset nope/],
    [['connect', 'ws://127.0.0.1:1/', '--send-hex', 'zz'], /hex/],
    [['connect', 'ws://127.0.0.1:1/', '--split', '0,1', '--send-hex', '00'], /--split/],
    [['serve', '--policy', 'lenient'], /--policy must be strict or observe/],
  ])('rejects bad arguments in one line: %j', async (args, pattern) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  });
});
