/**
 * IP fragment reassembly on a real capture: tcpdump on lo records a python-websockets conversation
 * (permessage-deflate), every TCP packet of it is cut into IPv4 fragments (test/support/ip-fragmenter.ts:
 * last fragment first, a duplicate of the first after the others), and `wsinspect open` must print
 * the same trace for the fragmented file as for the whole one, plus its notes about the fragments.
 * tshark (which reassembles IPv4 fragments itself) must see the same WebSocket frames in both files.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killRunning, runCli } from '../../../support/cli.ts';
import { fragmentPcap } from '../../../support/ip-fragmenter.ts';
import { captureUnavailable, capturePythonConversation } from '../../../support/live-capture.ts';

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
    '-Y', 'websocket', '-T', 'fields', '-e', 'websocket.opcode', '-e', 'websocket.payload_length', '-e', 'websocket.mask',
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
});
