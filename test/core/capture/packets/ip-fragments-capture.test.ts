/**
 * IP fragment reassembly on real captures: tcpdump on lo records a python-websockets conversation
 * (permessage-deflate, IPv4) and one between the ws package's client and server over ::1 (IPv6);
 * every TCP packet is cut into fragments (test/support/ip-fragmenter.ts: IPv4 fragments, or an IPv6
 * Fragment header after the IPv6 header), and `wsinspect open` must print the same trace for the
 * fragmented file as for the whole one, plus its notes about the fragments. tshark (which
 * reassembles IP fragments itself) must see the same WebSocket frames in both files.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { killRunning, runCli } from '../../../support/cli.ts';
import { fragmentPcap } from '../../../support/ip-fragmenter.ts';
import { captureUnavailable, capturePythonConversation, startLiveCapture } from '../../../support/live-capture.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsinspect-frag-'));
const why = captureUnavailable('tcpdump', 'lo');
if (why) console.log(`[fragmented capture] not run: ${why}`);
const tshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0;
if (!why && !tshark) console.log('[fragmented capture] the tshark comparison is not run: tshark is not installed (apt-get install -y tshark)');

/** The trace part of wsinspect open's output, without the notes about IP fragments and the file summary. */
function traceOf(printed: string): string {
  const summary = printed.lastIndexOf('\n━━ ');
  return printed.slice(0, summary).split('\n').filter((line) => !line.includes('IP fragments')).join('\n');
}

/** The WebSocket frames tshark dissects: opcode, payload length and unmasked payload, one line each. */
function tsharkFrames(file: string, port: number): string[] {
  const run = spawnSync('tshark', [
    '-r', file, '-n', '-d', `tcp.port==${port},http`, '-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'ip.defragment:TRUE',
    '-o', 'ipv6.defragment:TRUE', '-Y', 'websocket', '-T', 'fields', '-e', 'websocket.opcode', '-e', 'websocket.payload_length', '-e', 'websocket.mask',
  ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000, env: { ...process.env, WIRESHARK_CONFIG_DIR: join(dir, 'wireshark') } });
  if (run.status !== 0) throw new Error(`tshark failed (${run.status ?? run.error}): ${run.stderr}`);
  return run.stdout.split('\n').filter(Boolean);
}

describe('a real capture cut into IP fragments', () => {
  afterAll(() => {
    killRunning();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(why !== null)('opens with the same trace as the whole capture, says the fragments were reassembled, and tshark agrees', async (ctx) => {
    let captured;
    try {
      captured = await capturePythonConversation({ deflate: true });
    } catch (error) {
      const reason = `cannot capture here: ${(error as Error).message}`;
      console.log(`[fragmented capture] not run: ${reason}`);
      ctx.skip(reason);
      return;
    }
    const whole = join(dir, 'whole.pcap');
    const cut = join(dir, 'fragmented.pcap');
    writeFileSync(whole, captured.file);
    const { file, fragmented, fragments } = fragmentPcap(captured.file, 200, 'shuffled');
    expect(fragmented).toBeGreaterThanOrEqual(6);
    writeFileSync(cut, file);

    const a = runCli(['open', whole]);
    const b = runCli(['open', cut]);
    expect(await a.exit).toBe(0);
    expect(await b.exit, b.stderr()).toBe(0);
    const wholeOut = a.stdout();
    const cutOut = b.stdout();
    expect(wholeOut).toContain('done ✓');
    expect(wholeOut).not.toContain('IP fragments');
    expect(traceOf(cutOut)).toBe(traceOf(wholeOut));
    expect(cutOut).toMatch(/IP fragments reassembled: a \d+-byte TCP segment of this connection came in \d+ IPv4 fragments; it is read whole, as the receiver's IP layer put it together \(RFC 791 §3\.2\)/);
    // Each fragmented packet: its fragments, plus the duplicate of its first (a late copy once it is whole).
    expect(cutOut).toContain(`IP fragments: ${fragments} in all, ${fragmented} datagrams reassembled, ${fragmented} late duplicates dropped`);
    expect(cutOut).toContain(`IP fragments: ${fragmented} IP datagrams of this connection came in ${fragments - fragmented} fragments in all, each reassembled before TCP read it`);

    if (!tshark) return;
    const theirs = tsharkFrames(whole, captured.port);
    expect(theirs.length).toBeGreaterThanOrEqual(20);
    expect(tsharkFrames(cut, captured.port)).toEqual(theirs);
  }, 90_000);

  it.skipIf(why !== null)('IPv6: the ws package over ::1, every packet given a Fragment header, opens the same; tshark agrees', async (ctx) => {
    const server = new WebSocketServer({ host: '::1', port: 0, perMessageDeflate: false });
    server.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    let capture;
    try {
      capture = await startLiveCapture('tcpdump', 'lo', port);
    } catch (error) {
      server.close();
      const reason = `cannot capture here: ${(error as Error).message}`;
      console.log(`[fragmented capture] not run: ${reason}`);
      ctx.skip(reason);
      return;
    }
    let file: Buffer;
    try {
      const client = new WebSocket(`ws://[::1]:${port}/six`, { perMessageDeflate: false });
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      for (const message of ['hello over IPv6 ✓', 'y'.repeat(20_000), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff))]) {
        const echoed = new Promise((r) => client.once('message', r));
        client.send(message);
        await echoed;
      }
      const closed = new Promise((r) => client.once('close', r));
      client.close(1000, 'bye ✓');
      await closed;
      await capture.flush();
    } finally {
      file = await capture.stop();
      server.close();
    }
    const whole = join(dir, 'whole6.pcap');
    const cut = join(dir, 'fragmented6.pcap');
    writeFileSync(whole, file);
    const fragmentedFile = fragmentPcap(file, 600, 'reverse');
    expect(fragmentedFile.fragmented).toBeGreaterThanOrEqual(2);
    writeFileSync(cut, fragmentedFile.file);
    const a = runCli(['open', whole]);
    const b = runCli(['open', cut]);
    expect(await a.exit).toBe(0);
    expect(await b.exit, b.stderr()).toBe(0);
    expect(a.stdout()).toContain(`client [::1]:`);
    expect(a.stdout()).toContain('bye ✓');
    expect(traceOf(b.stdout())).toBe(traceOf(a.stdout()));
    expect(b.stdout()).toMatch(/IP fragments reassembled: a \d+-byte TCP segment of this connection came in \d+ IPv6 fragments; it is read whole, as the receiver's IP layer put it together \(RFC 8200 §4\.5\)/);
    expect(b.stdout()).toContain(`IP fragments: ${fragmentedFile.fragments} in all, ${fragmentedFile.fragmented} datagrams reassembled`);
    if (!tshark) return;
    const theirs = tsharkFrames(whole, port);
    expect(theirs.length).toBeGreaterThanOrEqual(8);
    expect(tsharkFrames(cut, port)).toEqual(theirs);
  }, 90_000);
});
