/**
 * Wireshark's dissector (Debian's tshark) reads our pcapng export of a real session and finds,
 * frame for frame, what our server traced live: FIN, RSV, opcode, mask bit, masking key, payload
 * length (7-bit field and extended 16/64-bit), the unmasked payload of binary, ping and pong
 * frames, close code and reason, the text of every message and the payload tshark inflated for
 * the compressed ones (permessage-deflate). Every frame's packet carries our verdict as a comment.
 *
 * tshark 4.0 does not inflate a fragmented compressed message (see test/core/net/interop-tshark.test.ts):
 * the session's threshold keeps its fragmented messages small and so uncompressed.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingToPcapng } from '../../../src/core/capture/export-pcapng.ts';
import { readSessionFile } from '../../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { MiB } from '../net/helpers.ts';
import { recordEveryFrameType } from './session-fixture.ts';

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;

const tshark = spawnSync('sh', ['-c', 'command -v tshark'], { encoding: 'utf8' }).status === 0;
if (!tshark) console.log('[export-pcapng tshark] not run: tshark is not installed (apt-get install -y tshark; .ci/run installs it)');

const FIELDS = [
  'frame.number', 'tcp.srcport', 'websocket.fin', 'websocket.rsv', 'websocket.opcode', 'websocket.mask', 'websocket.masking_key',
  'websocket.payload_length', 'websocket.payload_length_ext_16', 'websocket.payload_length_ext_64',
  'websocket.payload.close.status_code', 'websocket.payload.close.reason', 'websocket.payload.ping', 'websocket.payload.pong',
  'websocket.payload.text', 'data.data', 'frame.comment',
] as const;
type Row = Record<(typeof FIELDS)[number], string[]>;

function tsharkRows(file: string, port: number, configDir: string): Row[] {
  const run = spawnSync('tshark', [
    '-r', file, '-n', '-d', `tcp.port==${port},http`, '-o', 'websocket.decompress:TRUE', '-Y', 'websocket',
    '-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=\u001f', '-E', 'occurrence=a', ...FIELDS.flatMap((f) => ['-e', f]),
  ], { encoding: 'utf8', maxBuffer: 64 * MiB, timeout: 60_000, env: { ...process.env, WIRESHARK_CONFIG_DIR: configDir } });
  if (run.status !== 0) throw new Error(`tshark failed (${run.status ?? run.error}): ${run.stderr}`);
  return run.stdout.split('\n').filter(Boolean).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(FIELDS.map((f, i) => [f, cells[i] ? cells[i]!.split('\u001f') : []])) as Row;
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.skipIf(!tshark)('tshark reads our pcapng export of a recorded session', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('every frame type, field for field equal to the live trace, with our verdict in each packet comment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-pcapng-'));
    dirs.push(dir);
    const { file, serverEvents, port } = await recordEveryFrameType(dir);
    const { recording, error } = readSessionFile(file);
    expect(error).toBeNull();
    const out = join(dir, 'session.pcapng');
    writeFileSync(out, recordingToPcapng(recording));
    const rows = tsharkRows(out, port, join(dir, 'wireshark-config'));

    // tshark's frames, in order; the message-level fields (text, inflated data) stay on the packet.
    const theirs = rows.flatMap((row) => row['websocket.opcode'].map((_op, i) => ({ row, i })));
    const ours = serverEvents.filter((e): e is Frame => e.type === 'frame');
    const messages = serverEvents.filter((e): e is Message => e.type === 'message');
    expect(theirs.map(({ row, i }) => [Number(row['tcp.srcport'][0]) === port ? 'out' : 'in', Number(row['websocket.opcode'][i])]))
      .toEqual(ours.map((e) => [e.direction, e.frame.opcode]));

    const kinds = new Set<string>();
    ours.forEach(({ direction, frame: f }, n) => {
      const { row, i } = theirs[n]!;
      const what = `frame #${f.frameId} (${direction}, packet ${row['frame.number'][0]})`;
      const rsv = (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0);
      expect({
        fin: row['websocket.fin'][i], rsv: Number(row['websocket.rsv'][i]), opcode: Number(row['websocket.opcode'][i]), mask: row['websocket.mask'][i],
        lengthField: Number(row['websocket.payload_length'][i]),
      }, what).toEqual({ fin: f.fin ? '1' : '0', rsv, opcode: f.opcode, mask: f.masked ? '1' : '0', lengthField: f.lengthField });
      // A packet's frames are all from one side here: all masked or none, so keys line up.
      expect(row['websocket.masking_key'][i] ?? null, `${what}: masking key`).toBe(f.maskKey ? hex(f.maskKey) : null);
      if (f.lengthField === 126) expect(Number(row['websocket.payload_length_ext_16'][0]), what).toBe(f.payloadLength);
      if (f.lengthField === 127) expect(Number(row['websocket.payload_length_ext_64'][0]), what).toBe(f.payloadLength);
      if (f.lengthField >= 126) kinds.add(`length ${f.lengthField}`);
      if (f.opcode === 8) {
        expect({ code: Number(row['websocket.payload.close.status_code'][0]), reason: row['websocket.payload.close.reason'][0] ?? '' }, what).toEqual(f.close);
        kinds.add('close with reason');
      }
      if (f.opcode === 9) expect(row['websocket.payload.ping'][0], what).toBe(hex(f.payload));
      if (f.opcode === 10) expect(row['websocket.payload.pong'][0], what).toBe(hex(f.payload));
      // The message this frame ends: its text, or its (inflated, unmasked) bytes, as tshark gives them.
      const message = f.fin && f.opcode <= 2 ? messages.find((m) => m.direction === direction && m.frameIds.at(-1) === f.frameId) : undefined;
      if (message) {
        if (message.opcode === 1) expect(row['websocket.payload.text'][0], `${what}: text`).toBe(message.text);
        else expect(row['data.data'][0], `${what}: binary payload`).toBe(hex(message.data!));
        if (message.compression) kinds.add('compressed');
        if (message.frameIds.length > 1) kinds.add('fragmented');
        kinds.add(message.opcode === 1 ? 'text' : 'binary');
      }
      // Our verdict, one comment per frame.
      const comments = row['frame.comment'].filter((c) => c.startsWith(`wsinspect: frame #${f.frameId} `));
      expect(comments, `${what}: comment`).toEqual([expect.stringMatching(/: ok$/)]);
      kinds.add(`opcode ${f.opcode}`);
    });
    expect([...kinds].sort()).toEqual(['binary', 'close with reason', 'compressed', 'fragmented', 'length 127', 'opcode 0', 'opcode 1', 'opcode 10', 'opcode 2', 'opcode 8', 'opcode 9', 'text']);

    // The TCP conversation: handshake, then FIN from the server first (§7.1.1), sequence numbers tshark accepts.
    const tcp = spawnSync('tshark', ['-r', out, '-n', '-Y', 'tcp.analysis.flags && !tcp.analysis.window_update', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    expect(tcp.stdout.trim(), 'tshark\'s TCP analysis finds no lost segment, retransmission or bad ack').toBe('');
  }, 60_000);
});
