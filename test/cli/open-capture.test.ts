/**
 * wsinspect open on capture files (src/cli/open-capture.ts): the annotated trace, each side's
 * verdict with the rule's section, the capture summary; JSON lines; a truncated file prints what
 * it read and one line on stderr (exit 1); a file that is no capture is one line (exit 2).
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { looksLikeCapture, openCapture } from '../../src/cli/open-capture.ts';
import { runCli } from '../support/cli.ts';
import { handshakeBytes, linkFrame, pcapFile, PcapngWriter, tcpConversation, wsFrame } from '../support/capture-synth.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-open-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

const hs = handshakeBytes('chat.example', '/room');
const packets = tcpConversation({
  client: { address: '10.0.0.1', port: 40001 }, server: { address: '10.0.0.2', port: 9000 },
  exchanges: [
    { from: 'c', bytes: hs.request }, { from: 's', bytes: hs.response },
    { from: 'c', bytes: wsFrame(1, enc('good morning'), { masked: true }) },
    { from: 's', bytes: wsFrame(1, enc('morning!'), { masked: false }) },
    { from: 'c', bytes: wsFrame(1, enc('forgot to mask'), { masked: false }) },
    { from: 'c', bytes: wsFrame(8, Uint8Array.from([3, 232]), { masked: true }) },
    { from: 's', bytes: wsFrame(8, Uint8Array.from([3, 232]), { masked: false }) },
  ],
});
const pcap = pcapFile(1, packets.map((p) => ({ ...p, data: linkFrame(1, p.data) })));

async function run(name: string, bytes: Uint8Array, trace: 'pretty' | 'jsonl' = 'pretty') {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  let out = '';
  let err = '';
  const code = await openCapture(file, { trace, write: (t) => (out += t), error: (t) => (err += t), progress: () => {} });
  return { code, out, err, file };
}

describe('wsinspect open CAPTURE', () => {
  it('prints the annotated trace, each side judged with the rule and its section, and the capture summary', async () => {
    const { code, out, err } = await run('chat.pcap', pcap);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('WebSocket conversation 1: client 10.0.0.1:40001 → server 10.0.0.2:9000 (ws://chat.example/room), opening handshake in the capture');
    expect(out).toContain('"good morning"');
    expect(out).toContain('"morning!"');
    expect(out).toMatch(/client: 3 frames, \d messages?; 1 violation:\n\s+1 × WS_ERR_UNMASKED_CLIENT_FRAME \(§5\.1\)/);
    expect(out).toMatch(/server: 2 frames, 1 message; no rule broken/);
    expect(out).toMatch(/chat\.pcap: pcap, \d+ packets, \d+ bytes, link type Ethernet \(1\)/);
    expect(out).toContain('1 TCP conversation, 1 WebSocket');
  });

  it('--trace jsonl: one JSON event per line, then the capture summary', async () => {
    const { code, out } = await run('chat-jsonl.pcap', pcap, 'jsonl');
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.some((l) => l['type'] === 'message' && l['text'] === 'good morning' && l['direction'] === 'out')).toBe(true);
    expect(lines.some((l) => l['type'] === 'violation' && l['violation']['code'] === 'WS_ERR_UNMASKED_CLIENT_FRAME')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'capture-summary', format: 'pcap', error: null, websocketConversations: 1 });
  });

  it('a truncated pcapng prints what it read and says where it ends (exit 1)', async () => {
    const w = new PcapngWriter().section().iface(1);
    for (const p of packets) w.epb({ ...p, data: linkFrame(1, p.data) });
    const bytes = w.bytes();
    const { code, out, err } = await run('cut.pcapng', bytes.subarray(0, bytes.length - 30));
    expect(code).toBe(1);
    expect(out).toContain('"good morning"');
    expect(err).toMatch(/^wsinspect: .*cut\.pcapng: truncated: the file ends inside a block \(\d+ bytes of it were there, after packet \d+\) \(the \d+ packets before it were read and are shown above\)\n$/);
  });

  it('a file that is no capture, and a missing file: one line each (exit 2)', async () => {
    const notCapture = await run('notes.txt', enc('hello, this is text'));
    expect(notCapture.code).toBe(2);
    expect(notCapture.err).toMatch(/^wsinspect: .*notes\.txt: not a pcap or pcapng file: it starts with 68 65 6c 6c/);
    let err = '';
    expect(await openCapture(join(dir, 'missing.pcap'), { trace: 'pretty', write: () => {}, error: (t) => (err += t) })).toBe(2);
    expect(err).toMatch(/cannot read ".*missing\.pcap": ENOENT/);
  });

  it('looksLikeCapture tells captures from session files by their first bytes', () => {
    expect(looksLikeCapture(pcap.subarray(0, 4))).toBe(true);
    expect(looksLikeCapture(new PcapngWriter(false).section().bytes().subarray(0, 4))).toBe(true);
    expect(looksLikeCapture(enc('{"kind"'))).toBe(false);
  });

  it('through the CLI: wsinspect open chooses the capture reader by the first bytes; export reads captures too', async () => {
    const file = join(dir, 'cli.capture'); // no extension: the magic number decides
    writeFileSync(file, pcap);
    const opened = runCli(['open', file]);
    expect(await opened.exit, opened.stderr()).toBe(0);
    expect(opened.stdout()).toContain('1 × WS_ERR_UNMASKED_CLIENT_FRAME (§5.1)');
    expect(opened.stdout()).toContain('"good morning"');
    const har = join(dir, 'out.har');
    const exported = runCli(['export', file, '--format', 'har', '-o', har]);
    expect(await exported.exit, exported.stderr()).toBe(0);
    const log = JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: Array<{ request: { url: string }; _webSocketMessages: Array<{ type: string; data: string }> }> } };
    expect(log.log.entries[0]!.request.url).toBe('ws://chat.example/room');
    expect(log.log.entries[0]!._webSocketMessages.filter((m) => m.type === 'send').map((m) => m.data)).toContain('good morning');
  }, 30_000);
});
