/**
 * wsinspect with inputs that used to print a Node stack trace (issue 10 §2 and §6): each is one
 * plain line on stderr and exit 2 (bad usage), 1 (the peer's fault) or 0 (a reader that stopped
 * reading), and never a line of stack ("    at ...").
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/wsinspect.mjs', import.meta.url));
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wsinspect(args: string[], timeoutMs = 20_000): Promise<Ran> {
  return runCommand(process.execPath, [bin, ...args], timeoutMs);
}

function runCommand(command: string, args: string[], timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} still running after ${timeoutMs} ms (stdout: ${stdout} stderr: ${stderr})`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One plain line on stderr, no stack trace. */
function expectOneLine(stderr: string, message: RegExp): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^wsinspect: /);
  expect(lines[0]).toMatch(message);
}

/** A plain TCP listener that counts connections (so "no socket was opened" can be checked). */
async function listener(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, connections: () => connections };
}

describe('wsinspect connect: subprotocols and headers that cannot be sent (exit 2, one line)', () => {
  // A NUL cannot be passed in argv at all (the OS strings end at it), so the CLI never sees one;
  // the core and service tests cover NUL.
  it.each([
    ['--subprotocol "a b"', ['--subprotocol', 'a b'], /--subprotocol: "a b" is not a valid subprotocol/],
    ['--subprotocol ""', ['--subprotocol', ''], /--subprotocol: A subprotocol name cannot be empty/],
    ['--header "Bad Name: x"', ['--header', 'Bad Name: x'], /--header: "Bad Name" is not a valid header name/],
    ['--header with CR/LF in the value', ['--header', 'X-Evil: a\r\n\r\nGET /smuggled HTTP/1.1'], /--header: .*contains a CR character/],
    ['--header with LF in the value', ['--header', 'X-Evil: a\nInjected: 1'], /--header: .*contains an LF character/],
    ['--header without a colon', ['--header', 'nocolon'], /--header: A header must look like "Name: value"/],
  ])('%s', async (_what, extra, message) => {
    const target = await listener();
    const r = await wsinspect(['connect', target.url, ...extra, '--trace', 'none']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, message);
    expect(target.connections()).toBe(0);
  });
});

describe('wsinspect serve: names and hosts it cannot use (exit 2, one line)', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('--app %s', async (app) => {
    const r = await wsinspect(['serve', '--port', '0', '--app', app]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, new RegExp(`--app must be echo, chat or manual \\(got "${app}"\\)`));
    expect(r.stdout).not.toMatch(/listening/);
  });

  it.each([
    ['--host "bad host"', ['--host', 'bad host'], /--host: "bad host" is not an IP address or a hostname/],
    ['--subprotocol "a b"', ['--subprotocol', 'a b'], /--subprotocol: "a b" is not a valid subprotocol/],
  ])('%s', async (_what, extra, message) => {
    const r = await wsinspect(['serve', '--port', '0', ...extra]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, message);
  });
});

describe('wsinspect connect --header naming a generated header replaces it', () => {
  it('--header "Sec-WebSocket-Key: …": the server gets one key, ours, answers 101, and the Accept is checked against it', async () => {
    const server = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((r) => server.once('listening', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const keys: Array<string | undefined> = [];
    server.on('connection', (ws, req) => {
      keys.push(req.headers['sec-websocket-key']);
      ws.on('message', (d, binary) => ws.send(d, { binary }));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const r = await wsinspect(['connect', url, '--header', `Sec-WebSocket-Key: ${RFC_KEY}`, '--send', 'hi', '--trace', 'none']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('hi');
    // Before, the request carried two keys and the server answered 400.
    expect(keys).toEqual([RFC_KEY]);
  });
});

describe('wsinspect connect --send when the server\'s first frame breaks a rule (§6)', () => {
  it('says the close reason in one line, exit 1, no stack', async () => {
    // A server that sends its 101 and, in the same write, a text frame with RSV1 set although no
    // extension was negotiated (RFC 6455 §5.2): the client fails the connection with 1002.
    const server = createServer((socket) => {
      let head = '';
      socket.on('error', () => {});
      socket.on('data', (d) => {
        if (head.includes('\r\n\r\n')) return;
        head += d.toString('latin1');
        const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1];
        if (!head.includes('\r\n\r\n') || !key) return;
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(Buffer.concat([
          Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`),
          Buffer.from([0xc1, 0x02, 0x68, 0x69]),
        ]));
        socket.on('end', () => socket.end());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const r = await wsinspect(['connect', url, '--send', 'hi', '--trace', 'none', '--wait', '500']);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /the server broke a rule: RSV1 set, but no extension was negotiated \(RFC 6455 §5\.2, WS_ERR_RESERVED_BITS\); we closed with 1002 \(1 message not sent\)$/);
    expect(r.stderr).not.toMatch(/unexpected error/);
  });
});

describe('wsinspect conformance list | head -3 (§6)', () => {
  it('the reader stopping is not an error: exit 0, nothing on stderr', async () => {
    const r = await runCommand('bash', ['-c', `"${process.execPath}" "${bin}" conformance list | head -3; echo "wsinspect exit \${PIPESTATUS[0]}"`]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/cases for a server under test/);
    expect(lines[3]).toBe('wsinspect exit 0');
    expect(r.stderr).toBe('');
  });
});
