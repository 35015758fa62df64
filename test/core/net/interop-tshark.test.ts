/**
 * A second opinion on our wire from Wireshark's dissector (Debian's tshark): a compressed ws://
 * conversation between our client and our server is captured on the loopback interface with
 * dumpcap, read back with `tshark -T json -x`, and every WebSocket frame tshark found is compared
 * field by field with what our server's trace recorded for the same frame: FIN, RSV, opcode, mask
 * bit, length field and extended length, masking key, masked and unmasked payload, the payload
 * tshark inflated (permessage-deflate; tshark follows the handshake and the LZ77 window), ping
 * and pong payloads, close code and reason.
 *
 * What tshark 4.0 cannot do, found here: it does not inflate a FRAGMENTED compressed message (it
 * reassembles the compressed fragments and shows them as they are) and, having skipped that
 * message's bytes, it cannot inflate any later compressed message in that direction either
 * ("Decompression failed"). Newer Wireshark remembers the first fragment's RSV1. So each side's
 * fragmented message comes last in its direction; for it the test checks the reassembled bytes,
 * and the inflated text if this tshark gives one.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import type { IncomingMessage } from '../../../src/core/net/connection.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { prng } from '../../support/prng.ts';
import { captureUnavailable as liveCaptureUnavailable, startLiveCapture, type LiveCapture } from '../../support/live-capture.ts';
import { AsyncQueue, eventually, MiB, utf8, withTimeout } from './helpers.ts';

type Frame = Extract<TraceEvent, { type: 'frame' }>;
type Message = Extract<TraceEvent, { type: 'message' }>;

/** Why no capture can be made here (checked before any test runs), or null. */
function captureUnavailable(): string | null {
  if (spawnSync('sh', ['-c', 'command -v tshark']).status !== 0) return 'tshark is not installed (apt-get install -y tshark)';
  return liveCaptureUnavailable('dumpcap', 'lo');
}

const unavailable = captureUnavailable();
if (unavailable) console.log(`[tshark capture] not run: ${unavailable}. CI (.ci/run) installs tshark and runs as root.`);

const tsharkVersion = unavailable ? '' : (spawnSync('tshark', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '').trim().replace(/\.$/, '');

/** n bytes of base64 from a seeded PRNG: text that DEFLATE can shrink only to about 3/4. */
function noisyText(n: number, seed: number): string {
  const next = prng(seed);
  return Buffer.from(Array.from({ length: Math.ceil((n * 3) / 4) }, () => Math.floor(next() * 256))).toString('base64').slice(0, n);
}

function jsonText(n: number): string {
  let out = '';
  for (let i = 0; out.length < n; i++) out += JSON.stringify({ id: i, user: `user${i % 97}`, text: `message number ${i}` }) + ',';
  return out.slice(0, n);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function tsharkJson(file: string, port: number, filter: string, configDir: string): Array<Record<string, any>> {
  const run = spawnSync('tshark', [
    '-r', file, '-n', '-d', `tcp.port==${port},http`, '-o', 'websocket.decompress:TRUE', '-o', 'tcp.desegment_tcp_streams:TRUE',
    '-Y', filter, '-T', 'json', '-x', '--no-duplicate-keys',
  ], { encoding: 'utf8', maxBuffer: 512 * MiB, timeout: 60_000, env: { ...process.env, WIRESHARK_CONFIG_DIR: configDir } });
  if (run.status !== 0) throw new Error(`tshark failed (${run.status ?? run.error}): ${run.stderr}`);
  return JSON.parse(run.stdout || '[]') as Array<Record<string, any>>;
}

/** A value that --no-duplicate-keys made an array when a packet held several. */
function all<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** One WebSocket frame as tshark dissected it. */
interface TsharkFrame {
  packet: number;
  fromClient: boolean;
  ws: Record<string, any>;
  /** The frame's header bytes (websocket_raw), hex. */
  header: string;
  /** The packet's "data" layer (binary payloads, inflated): hex, one per packet here. */
  data: string | null;
  /** The packet's reassembled fragments, hex (websocket.fragments_raw). */
  fragments: string | null;
}

function tsharkFrames(packets: Array<Record<string, any>>, serverPort: number): TsharkFrame[] {
  const frames: TsharkFrame[] = [];
  for (const packet of packets) {
    const layers = packet['_source']['layers'] as Record<string, any>;
    const number = Number(layers['frame']['frame.number']);
    const fromClient = Number(layers['tcp']['tcp.dstport']) === serverPort;
    const ws = all<Record<string, any>>(layers['websocket']);
    // websocket_raw: [hex, offset, length, mask, type], or an array of those for several frames.
    const raws = Array.isArray(layers['websocket_raw']?.[0]) ? (layers['websocket_raw'] as any[][]) : [layers['websocket_raw'] as any[]];
    const data = all<Record<string, any>>(layers['data']).map((d) => (d['data.data_raw'] as any[])[0] as string);
    if (data.length > 1) throw new Error(`packet ${number} holds ${data.length} binary payloads; the conversation should give one at most`);
    const fragments = all<any[]>(layers['websocket.fragments_raw'] ?? ws.map((w) => w['websocket.fragments_raw']).find(Boolean));
    ws.forEach((w, i) => frames.push({
      packet: number, fromClient, ws: w, header: String(raws[i]?.[0] ?? ''), data: data[0] ?? null,
      fragments: fragments.length ? String((Array.isArray(fragments[0]) ? fragments[0] : fragments)[0]) : null,
    }));
  }
  return frames;
}

/** The field's raw bytes as hex (tshark's *_raw is [hex, offset, length, bitmask, type]). */
function rawHex(w: Record<string, any>, field: string): string | null {
  const raw = w[`${field}_raw`] as any[] | undefined;
  return raw ? String(raw[0]).toLowerCase() : null;
}

// ------------------------------------------------------------------ the test

describe.skipIf(unavailable !== null)(`tshark's dissection of a compressed ws:// session (${tsharkVersion})`, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('frame for frame, tshark reads what our trace recorded: header fields, keys, masked and unmasked payloads, inflated messages, ping, close', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-tshark-'));
    dirs.push(dir);
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.subscribe((e) => events.push(e));

    const FRAGMENT_ME = 'fragment me: ';
    const QUIET = 'quiet: ';
    // Echo, except: "fragment me: …" comes back in 3 fragments; "quiet: …" is not answered.
    const component: ServerComponent = {
      name: 'echo-scripted',
      onMessage(conn, message, server) {
        if (message.text?.startsWith(FRAGMENT_ME)) conn.sendFragmented(Opcode.Text, utf8(message.text), [40, 300]);
        else if (!message.text?.startsWith(QUIET)) echoComponent.onMessage!(conn, message, server);
      },
    };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component, tracer, maxMessageSize: 64 * MiB });
    const { url, port } = await server.listen();
    let capture: LiveCapture | undefined;
    try {
      try {
        capture = await startLiveCapture('dumpcap', 'lo', port);
      } catch (error) {
        const reason = `no capture on lo is possible here: ${(error as Error).message}`;
        console.log(`[tshark capture] not run: ${reason}`);
        ctx.skip(reason);
      }

      // --- the conversation: each message waits for its answer, so that packets stay simple
      const received = new AsyncQueue<IncomingMessage>();
      const pongs = new AsyncQueue<Uint8Array>();
      const { opened } = connectClient(url, { onMessage: (_c, m) => received.push(m), onPong: (_c, p) => pongs.push(p) }, { maxMessageSize: 64 * MiB });
      const conn = await withTimeout(opened, 10_000, 'our client to open');
      const texts = [
        'Hello',
        'héllo wörld — ✓ 日本語 😀 '.repeat(12),
        noisyText(2000, 1), // compressed > 125 bytes: the 16-bit length
        jsonText(100 * 1024), // 100 KiB that shrinks a lot
        noisyText(100 * 1024, 2), // compressed > 64 KiB: the 64-bit length, over several TCP segments
      ];
      for (const text of texts) {
        conn.sendText(text);
        expect((await received.next(10_000, 'the echo')).text === text).toBe(true);
      }
      const binary = Uint8Array.from({ length: 1500 }, (_v, i) => (i * 31) & 0xff);
      conn.sendBinary(binary);
      expect(hex((await received.next(10_000, 'the binary echo')).data)).toBe(hex(binary));
      conn.ping(utf8('ping ✓'));
      expect(hex(await pongs.next(10_000, 'the pong'))).toBe(hex(utf8('ping ✓')));
      // Last in the server→client direction: a fragmented compressed message.
      const fragmentMe = `${FRAGMENT_ME}${'fragments of a compressed text, '.repeat(20)}`;
      conn.sendText(fragmentMe);
      expect((await received.next(10_000, 'the fragmented answer')).text).toBe(fragmentMe);
      // Last in the client→server direction: a fragmented compressed message, not answered.
      const quiet = `${QUIET}${'a fragmented text from the client ✓ '.repeat(12)}`;
      conn.sendFragmented(Opcode.Text, utf8(quiet), [100, 200]);
      await eventually(() => events.some((e) => e.type === 'message' && e.direction === 'in' && e.text === quiet), 10_000, 'the server to read the fragmented text');
      conn.close(1000, 'bye ✓');
      await withTimeout(conn.closed(), 10_000, 'the close');
      await eventually(() => events.some((e) => e.type === 'connection-closed'), 10_000, 'the server to close');

      // --- wait until dumpcap has passed on both close frames (their exact bytes), then stop it
      const closeFrames = events.filter((e): e is Frame => e.type === 'frame' && e.frame.opcode === Opcode.Close).map((e) => Buffer.from(e.frame.raw));
      expect(closeFrames.length).toBe(2);
      await eventually(() => closeFrames.every((raw) => capture!.bytes().includes(raw)), 15_000, 'dumpcap to pass on both close frames');
      const file = join(dir, 'session.pcapng');
      writeFileSync(file, await capture!.stop());
      capture = undefined;

      // --- tshark's view
      const packets = tsharkJson(file, port, 'websocket', join(dir, 'wireshark-config'));
      const theirs = tsharkFrames(packets, port);
      const id = events.find((e) => e.type === 'connection-opened')!.connectionId;
      const ours = events.filter((e): e is Frame => e.type === 'frame' && e.connectionId === id);
      const messages = events.filter((e): e is Message => e.type === 'message' && e.connectionId === id);
      const handshake = events.find((e) => e.type === 'handshake' && e.connectionId === id) as Extract<TraceEvent, { type: 'handshake' }>;
      expect(handshake.extensions?.agreed?.name).toBe('permessage-deflate');

      const notes: string[] = [];
      for (const direction of ['in', 'out'] as const) {
        const mine = ours.filter((f) => f.direction === direction);
        const seen = theirs.filter((f) => f.fromClient === (direction === 'in'));
        const side = direction === 'in' ? 'client → server' : 'server → client';
        expect(seen.map((f) => Number(f.ws['websocket.opcode'])), `${side}: the frames tshark found`).toEqual(mine.map((f) => f.frame.opcode));

        mine.forEach(({ frame }, i) => {
          const t = seen[i]!;
          const w = t.ws;
          const what = `${side} frame ${i} (packet ${t.packet}, opcode ${frame.opcode})`;
          const rsv = (frame.rsv1 ? 4 : 0) | (frame.rsv2 ? 2 : 0) | (frame.rsv3 ? 1 : 0);
          expect({
            fin: w['websocket.fin'] === '1', rsv: Number(w['websocket.rsv']), pmc: w['websocket.pmc'] === '1', opcode: Number(w['websocket.opcode']),
            mask: w['websocket.mask'] === '1', lengthField: Number(w['websocket.payload_length']),
          }, what).toEqual({ fin: frame.fin, rsv, pmc: frame.rsv1, opcode: frame.opcode, mask: frame.masked, lengthField: frame.lengthField });
          const extended = frame.lengthField === 126 ? w['websocket.payload_length_ext_16'] : frame.lengthField === 127 ? w['websocket.payload_length_ext_64'] : w['websocket.payload_length'];
          expect(Number(extended), `${what}: payload length`).toBe(frame.payloadLength);
          expect(t.header, `${what}: header bytes`).toBe(hex(frame.raw.subarray(0, frame.headerLength)));
          expect(rawHex(w, 'websocket.masking_key'), `${what}: masking key`).toBe(frame.maskKey ? hex(frame.maskKey) : null);
          if (frame.masked) expect(rawHex(w, 'websocket.masked_payload'), `${what}: masked payload`).toBe(hex(frame.raw.subarray(frame.headerLength)));
          // The unmasked payload: for a compressed frame, the DEFLATE bytes as they crossed the wire.
          expect(rawHex(w, 'websocket.payload') ?? '', `${what}: unmasked payload`).toBe(hex(frame.payload));

          const payload = w['websocket.payload'] as Record<string, any> | string | undefined;
          if (frame.opcode === Opcode.Close) {
            const close = (payload as Record<string, any>)['websocket.payload.close'] as Record<string, any>;
            expect({ code: Number(close['websocket.payload.close.status_code']), reason: close['websocket.payload.close.reason'] ?? '' }, what).toEqual(frame.close);
          } else if (frame.opcode === Opcode.Ping || frame.opcode === Opcode.Pong) {
            const field = frame.opcode === Opcode.Ping ? 'websocket.payload.ping' : 'websocket.payload.pong';
            expect(rawHex(payload as Record<string, any>, field), what).toBe(hex(frame.payload));
            expect(frame.rsv1, `${what}: control frames are never compressed`).toBe(false);
          }

          // The message this frame ends: tshark's inflated payload against ours.
          const message = frame.fin && frame.opcode <= Opcode.Binary ? messages.find((m) => m.direction === direction && m.frameIds.at(-1) === frame.frameId) : undefined;
          if (!message) return;
          expect(message.compression, `${what}: compressed`).toBeDefined();
          const plain = message.opcode === Opcode.Text ? hex(utf8(message.text!)) : hex(message.data!);
          const inflated = message.opcode === Opcode.Text ? rawHex((payload as Record<string, any>) ?? {}, 'websocket.payload.text') : t.data;
          if (message.frameIds.length === 1) {
            expect(inflated, `${what}: the message as tshark inflated it`).toBe(plain);
          } else {
            // Fragmented: tshark reassembles the compressed fragments; it inflates them only if it
            // knows the message was compressed (RSV1 on its first frame, not on the last).
            const wire = hex(Buffer.concat(message.frameIds.map((fid) => ours.find((f) => f.frame.frameId === fid)!.frame.payload)));
            expect(t.fragments, `${what}: reassembled fragments`).toBe(wire);
            if (inflated === plain) notes.push(`${side}: tshark inflated the fragmented message`);
            else {
              expect(inflated, `${what}: tshark shows the compressed bytes or the plain text`).toBe(wire);
              notes.push(`${side}: ${tsharkVersion} does not inflate a fragmented compressed message (it shows the ${message.compression!.compressedSize} compressed bytes reassembled)`);
            }
          }
        });
      }
      // Nothing that tshark could not inflate among the messages it inflates.
      expect(JSON.stringify(packets).includes('Decompression failed')).toBe(false);
      // The 64-bit and 16-bit lengths were really exercised, compressed, both ways.
      for (const direction of ['in', 'out'] as const) {
        const fields = ours.filter((f) => f.direction === direction && f.frame.rsv1).map((f) => f.frame.lengthField);
        expect(fields).toContain(126);
        expect(fields).toContain(127);
      }
      for (const note of notes) console.log(`[tshark capture] ${note}`);
    } finally {
      await capture?.stop();
      await server.close();
    }
  }, 120_000);
});
