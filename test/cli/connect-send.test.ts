/**
 * wsinspect connect: what the send options put on the wire, as a `ws` server on 127.0.0.1 sees it
 * (issue 14, CLI): --send-file, --send-binary, --ping, --close, --fragment in the order given;
 * --wait honoured; a Close sent with --send-hex registered; jsonl payloads cut; pretty lists folded.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import { killRunning, runCli as run, waitFor } from '../support/cli.ts';

afterEach(() => killRunning());

const dir = mkdtempSync(join(tmpdir(), 'wsinspect-send-'));

type Seen = { kind: 'text' | 'binary' | 'ping' | 'close'; data: Buffer; code?: number };

/** A ws server (no deflate) recording what arrives, in order; `onOpen` may talk to each client. */
async function recorder(onOpen?: (s: WebSocket) => void): Promise<{ url: string; seen: Seen[]; close: () => void }> {
  const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => wss.once('listening', r));
  const seen: Seen[] = [];
  wss.on('connection', (s) => {
    s.on('message', (d, isBinary) => seen.push({ kind: isBinary ? 'binary' : 'text', data: Buffer.from(d as Buffer) }));
    s.on('ping', (d) => seen.push({ kind: 'ping', data: Buffer.from(d) }));
    s.on('close', (code, reason) => seen.push({ kind: 'close', data: Buffer.from(reason), code }));
    onOpen?.(s);
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, seen, close: () => wss.close() };
}

/**
 * ws reports a close when its TCP connection has closed, which can come after the CLI has
 * exited: wait for it before reading what the peer recorded.
 */
async function closeRecorded(peer: { seen: Seen[] }): Promise<void> {
  await waitFor(() => peer.seen.some((s) => s.kind === 'close'), 'the peer to record the close');
}

function jsonl(out: string): Array<Record<string, any>> {
  return out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
}

describe('wsinspect connect: send options', () => {
  it('sends a 200,000-byte file, binary from hex and from a file, a ping and a close, in the order given', async () => {
    const big = 'x'.repeat(199_999) + '✓'.slice(0, 1);
    const textFile = join(dir, 'big.txt');
    writeFileSync(textFile, big);
    const binFile = join(dir, 'blob.bin');
    writeFileSync(binFile, Buffer.from([0, 1, 2, 0xff, 0xfe]));
    const peer = await recorder();
    try {
      const r = run(['connect', peer.url, '--trace', 'none', '--send', 'first', '--send-file', textFile, '--send-binary', '00 ff 10',
        '--ping=hi', '--send-binary', `@${binFile}`, '--ping', '--close', '4000', '--reason', 'bye']);
      expect(await r.exit).toBe(0);
      expect(r.stderr()).toBe('');
      await closeRecorded(peer);
      expect(peer.seen.map((s) => s.kind)).toEqual(['text', 'text', 'binary', 'ping', 'binary', 'ping', 'close']);
      expect(peer.seen[0]!.data.toString()).toBe('first');
      expect(peer.seen[1]!.data.length).toBe(Buffer.byteLength(big));
      expect(peer.seen[1]!.data.toString()).toBe(big);
      expect(peer.seen[2]!.data).toEqual(Buffer.from([0, 0xff, 0x10]));
      expect(peer.seen[3]!.data.toString()).toBe('hi');
      expect(peer.seen[4]!.data).toEqual(Buffer.from([0, 1, 2, 0xff, 0xfe]));
      expect(peer.seen[5]!.data.length).toBe(0);
      expect(peer.seen[6]).toMatchObject({ code: 4000 });
      expect(peer.seen[6]!.data.toString()).toBe('bye');
    } finally {
      peer.close();
    }
  });

  it('--send-file sends a file that starts with a BOM as it is: EF BB BF is data of the text message (§5.6), fragmented or not', async () => {
    const bomFile = join(dir, 'bom.txt');
    writeFileSync(bomFile, Buffer.from([0xef, 0xbb, 0xbf, 0x68, 0x69]));
    const peer = await recorder();
    try {
      const r = run(['connect', peer.url, '--trace', 'none', '--send-file', bomFile, '--close', '1000']);
      expect(await r.exit).toBe(0);
      const fragmented = run(['connect', peer.url, '--trace', 'none', '--fragment', '2', '--send-file', bomFile, '--close', '1000']);
      expect(await fragmented.exit).toBe(0);
      await waitFor(() => peer.seen.filter((s) => s.kind === 'close').length === 2, 'the peer to record both closes');
      expect(peer.seen.filter((s) => s.kind === 'text').map((s) => s.data.toString('hex'))).toEqual(['efbbbf6869', 'efbbbf6869']);
    } finally {
      peer.close();
    }
  });

  it('--fragment splits each message into frames of those sizes; the peer gets the message whole', async () => {
    const peer = await recorder();
    try {
      const r = run(['connect', peer.url, '--trace', 'jsonl', '--fragment', '3,2', '--send', 'Hello world', '--send-binary', '01 02 03 04 05 06']);
      expect(await r.exit).toBe(0);
      expect(peer.seen.filter((s) => s.kind !== 'close').map((s) => s.data.toString('hex'))).toEqual([Buffer.from('Hello world').toString('hex'), '010203040506']);
      const out = jsonl(r.stdout()).filter((e) => e['type'] === 'frame' && e['direction'] === 'out' && e['frame'].opcode !== 8);
      expect(out.map((e) => [e['frame'].opcode, e['frame'].fin, e['frame'].payloadLength])).toEqual([
        [1, false, 3], [0, false, 2], [0, true, 6],
        [2, false, 3], [0, false, 2], [0, true, 1],
      ]);
    } finally {
      peer.close();
    }
  });

  it('--fragment: a message shorter than the sizes ends early, with no empty frames', async () => {
    const peer = await recorder();
    try {
      const r = run(['connect', peer.url, '--trace', 'jsonl', '--fragment', '3,2,4', '--send', 'Hi', '--send', 'Hello']);
      expect(await r.exit).toBe(0);
      const out = jsonl(r.stdout()).filter((e) => e['type'] === 'frame' && e['direction'] === 'out' && e['frame'].opcode !== 8);
      expect(out.map((e) => [e['frame'].opcode, e['frame'].fin, e['frame'].payloadLength])).toEqual([[1, true, 2], [1, false, 3], [0, true, 2]]);
    } finally {
      peer.close();
    }
  });

  it('after --close, sends nothing more and says so', async () => {
    const peer = await recorder();
    try {
      const r = run(['connect', peer.url, '--trace', 'none', '--send', 'before', '--close', '1000', '--send', 'after', '--ping']);
      expect(await r.exit).toBe(0);
      await closeRecorded(peer);
      expect(peer.seen.map((s) => s.kind === 'text' ? s.data.toString() : s.kind)).toEqual(['before', 'close']);
      expect(r.stderr()).toMatch(/^wsinspect: 2 messages not sent: the connection was already (closing|closed)/);
    } finally {
      peer.close();
    }
  });

  it('folds a long fragment list in the pretty trace', async () => {
    const peer = await recorder();
    try {
      const sizes = Array.from({ length: 499 }, () => '1').join(',');
      const r = run(['connect', peer.url, '--fragment', sizes, '--send', 'y'.repeat(500)]);
      expect(await r.exit).toBe(0);
      expect(peer.seen[0]!.data.toString()).toBe('y'.repeat(500));
      const line = r.stdout().split('\n').find((l) => l.includes('→ message text 500 bytes'))!;
      expect(line).toContain('from 500 frames (#1, #2, #3, … 494 more …, #498, #499, #500)');
      expect(line.length).toBeLessThan(250);
    } finally {
      peer.close();
    }
  });

  it('rejects a bad file, an oversized file, a bad close code or a long ping with one line and exit 2, before connecting', async () => {
    const small = join(dir, 'eleven.txt');
    writeFileSync(small, 'hello world');
    const latin1 = join(dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const cases: Array<[string[], RegExp]> = [
      [['--send-file', join(dir, 'missing.txt')], /--send-file: cannot read .*missing\.txt: no such file/],
      [['--send-file', dir], /is not a regular file/],
      [['--send-file', small, '--max-message', '10'], /11 bytes, more than the 10/],
      [['--send-binary', '@' + small, '--max-message', '10'], /--send-binary: .*11 bytes/],
      [['--send-file', latin1], /not UTF-8 text.*--send-binary @/],
      [['--send-binary', 'zz'], /--send-binary: .*hex/i],
      [['--close', '1005'], /--close 1005: this code may not be sent/],
      [['--close', 'abc'], /--close takes a status code/],
      [['--reason', 'x'], /--reason goes with --close/],
      [['--ping=' + 'p'.repeat(126)], /at most 125 bytes/],
      [['--fragment', '0,1', '--send', 'x'], /--fragment takes/],
    ];
    for (const [args, message] of cases) {
      const r = run(['connect', 'ws://127.0.0.1:1/', ...args]);
      expect(await r.exit, args.join(' ')).toBe(2);
      const lines = r.stderr().trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });
});

describe('wsinspect connect: --wait', () => {
  it('without --send, listens for the whole --wait instead of closing after the first message', async () => {
    const peer = await recorder((s) => {
      s.send('one');
      setTimeout(() => s.send('two'), 300);
      setTimeout(() => s.send('three'), 600);
      setTimeout(() => s.close(1000, 'done'), 900);
    });
    try {
      const r = run(['connect', peer.url, '--trace', 'none', '--wait', '60000']);
      expect(await r.exit).toBe(0);
      expect(r.stdout().trim().split('\n')).toEqual(['one', 'two', 'three']);
    } finally {
      peer.close();
    }
  });
});

describe('wsinspect connect: a Close sent with --send-hex', () => {
  it('is registered: the peer\'s answer ends the handshake, and we send no second Close', async () => {
    const peer = await recorder();
    try {
      // 88 82 + key 37 fa 21 3d + 03 e8 (1000) masked
      const close = Buffer.from([0x03 ^ 0x37, 0xe8 ^ 0xfa]).toString('hex');
      const r = run(['connect', peer.url, '--trace', 'jsonl', '--send-hex', `88 82 37 fa 21 3d ${close}`]);
      expect(await r.exit).toBe(0);
      const events = jsonl(r.stdout());
      const closesOut = events.filter((e) => e['type'] === 'frame' && e['direction'] === 'out' && e['frame'].opcode === 8);
      expect(closesOut).toHaveLength(1);
      expect(events.some((e) => e['type'] === 'frame' && e['direction'] === 'in' && e['frame'].opcode === 8)).toBe(true);
      expect(events.find((e) => e['type'] === 'connection-closed')).toMatchObject({ wasClean: true, code: 1000 });
      await closeRecorded(peer);
      expect(peer.seen).toEqual([{ kind: 'close', data: Buffer.alloc(0), code: 1000 }]);
    } finally {
      peer.close();
    }
  });
});

describe('wsinspect --trace jsonl: payloads cut like the app', () => {
  it('cuts a 4 MiB echo to 64 KiB per payload unless --full-payloads', async () => {
    const blob = join(dir, 'four-mib.bin');
    writeFileSync(blob, Buffer.alloc(4 * 1024 * 1024, 0xab));
    const peer = await recorder((s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
    try {
      const cut = run(['connect', peer.url, '--trace', 'jsonl', '--send-binary', `@${blob}`]);
      expect(await cut.exit).toBe(0);
      expect(cut.stdout().length).toBeLessThan(2 * 1024 * 1024);
      const events = jsonl(cut.stdout());
      const inFrame = events.find((e) => e['type'] === 'frame' && e['direction'] === 'in' && e['frame'].opcode === 2)!;
      expect(inFrame['frame'].payloadLength).toBe(4 * 1024 * 1024);
      expect(inFrame['frame'].truncated).toMatchObject({ payloadLength: 4 * 1024 * 1024 });
      expect(inFrame['frame'].payload.hex.length).toBe(2 * 64 * 1024);
      const inMessage = events.find((e) => e['type'] === 'message' && e['direction'] === 'in')!;
      expect(inMessage['size']).toBe(4 * 1024 * 1024);
      expect(inMessage['truncated']).toBe(true);

      const full = run(['connect', peer.url, '--trace', 'jsonl', '--full-payloads', '--send-binary', `@${blob}`]);
      expect(await full.exit).toBe(0);
      expect(full.stdout().length).toBeGreaterThan(4 * 2 * 4 * 1024 * 1024);
    } finally {
      peer.close();
    }
  });
});

describe('README: the CLI synopsis', () => {
  it('names every option wsinspect --help lists', async () => {
    const { readFileSync } = await import('node:fs');
    const { root } = await import('../support/cli.ts');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const synopsis = /## The command-line tool\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const r = run(['--help']);
    expect(await r.exit).toBe(0);
    const options = new Set(r.stdout().match(/--[a-z][a-z-]+/g) ?? []);
    options.delete('--help');
    expect(options.size).toBeGreaterThan(30);
    expect([...options].filter((o) => !synopsis.includes(o))).toEqual([]);
  });
});
