/**
 * Captures made here by Debian's tcpdump (pcap; on lo: Ethernet, on "any": Linux cooked v2) and
 * Wireshark's dumpcap (pcapng) of a python-websockets client talking to a python-websockets server
 * (neither is ours), with and without permessage-deflate, then opened by our reader, TCP
 * reassembly, WebSocket discovery and replay: every message each peer sent must come out equal.
 * Needs root (CI runs as root); without a capture tool or the right to capture, each case says why
 * it skips.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { CaptureDissector } from '../../../../src/core/capture/capture-dissector.ts';
import { CaptureReader } from '../../../../src/core/capture/pcap/reader.ts';
import type { CapturedPacket } from '../../../../src/core/capture/pcap/types.ts';
import { recordingCollector, replayCaptured } from '../../../../src/core/capture/pcap/to-recording.ts';
import type { TraceEvent } from '../../../../src/core/trace.ts';
import { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from '../../net/python-peer.ts';
import { pcapFile } from '../../../support/capture-synth.ts';
import { prng } from '../../../support/prng.ts';
import { captureUnavailable, startLiveCapture, type CaptureTool } from '../../../support/live-capture.ts';

type Described = { type: 'text'; text: string } | { type: 'binary'; hex: string };

function describeMessage(e: Extract<TraceEvent, { type: 'message' }>): Described {
  return e.opcode === 1 ? { type: 'text', text: e.text ?? '' } : { type: 'binary', hex: Buffer.from(e.data ?? new Uint8Array(0)).toString('hex') };
}

/** twice: the same packets captured on two interfaces (a pcapng with two IDBs, each packet twice, one interface's in batches). */
const cases: Array<{ tool: CaptureTool; iface: string; deflate: boolean; format: string; linkType: string; nano?: boolean; twice?: boolean }> = [
  { tool: 'tcpdump', iface: 'lo', deflate: false, format: 'pcap', linkType: 'Ethernet (1)' },
  { tool: 'tcpdump', iface: 'lo', deflate: false, format: 'pcap', linkType: 'Ethernet (1)', nano: true },
  { tool: 'tcpdump', iface: 'lo', deflate: true, format: 'pcap', linkType: 'Ethernet (1)' },
  { tool: 'dumpcap', iface: 'lo', deflate: true, format: 'pcapng', linkType: 'Ethernet (1)' },
  { tool: 'tcpdump', iface: 'any', deflate: true, format: 'pcap', linkType: 'Linux cooked' },
  { tool: 'dumpcap', iface: 'lo+any', deflate: false, format: 'pcapng', linkType: 'Linux cooked', twice: true },
];

describe('captures of python-websockets peers made by tcpdump and dumpcap, opened', () => {
  const servers: PythonServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  for (const c of cases) {
    const why = captureUnavailable(c.tool, c.iface);
    if (why) console.log(`[real captures] ${c.tool} -i ${c.iface}: not run: ${why}`);
    it.skipIf(why !== null)(`${c.tool} -i ${c.iface} (${c.format}${c.nano ? ', nanosecond timestamps' : ''}), ${c.deflate ? 'permessage-deflate' : 'no compression'}: every message equals what the peers sent`, async (ctx) => {
      requirePythonWebsockets();
      const server = await startPythonServer([`${FIXTURES}capture_peer.py`, 'server', ...(c.deflate ? ['--deflate'] : [])]);
      servers.push(server);
      let capture;
      try {
        capture = await startLiveCapture(c.tool, c.iface, server.port, c.nano ? ['--time-stamp-precision=nano'] : []);
      } catch (error) {
        const reason = `${c.tool} cannot capture here: ${(error as Error).message}`;
        console.log(`[real captures] not run: ${reason}`);
        ctx.skip(reason);
        return;
      }
      let file: Buffer;
      let peer: Record<string, any>;
      try {
        const run = await runPython([`${FIXTURES}capture_peer.py`, 'client', `ws://127.0.0.1:${server.port}/captured?x=1`, ...(c.deflate ? ['--deflate'] : [])], 30_000);
        expect(run.code, run.stderr).toBe(0);
        peer = parseLastJsonLine(run.stdout, run.stderr);
        await capture.flush();
      } finally {
        file = await capture.stop();
      }
      expect(Boolean(peer!['extensions']), 'python agreed compression as asked').toBe(c.deflate);

      // Open it: in odd-sized chunks, as a file read would give them.
      const collector = recordingCollector();
      const dissector = new CaptureDissector(collector.handle);
      for (let i = 0; i < file.length; i += 4093) dissector.push(file.subarray(i, i + 4093));
      const summary = dissector.end();
      expect(summary.error).toBeNull();
      expect(summary.format).toBe(c.format);
      expect(summary.linkTypes.join()).toContain(c.linkType);
      // Each packet twice: one conversation all the same, the second copies dropped as retransmissions (first wins).
      if (c.twice) {
        expect(summary.linkTypes.join()).toContain('Ethernet (1)');
        expect(summary.tcp.retransmittedBytes).toBeGreaterThan(70_000);
      }
      // pcap's magic says the resolution: a1b23c4d for nanoseconds (in the writer's byte order).
      expect(file.readUInt32LE(0) === 0xa1b23c4d || file.readUInt32BE(0) === 0xa1b23c4d).toBe(c.nano === true);
      // The probe connection: 'not HTTP', or, when the tool started capturing after its SYN, no frames found mid-stream.
      const probe = (summary.discovery.ignored['not HTTP'] ?? 0) + (summary.discovery.ignored['no WebSocket frames found in a connection whose start is not in the capture'] ?? 0);
      expect(probe, JSON.stringify(summary.discovery.ignored)).toBeGreaterThanOrEqual(1);
      expect(collector.captured).toHaveLength(1);
      const [captured] = collector.captured;
      expect(captured!.info.handshake).toBe('seen');
      expect(captured!.connection.url).toBe(`ws://127.0.0.1:${server.port}/captured?x=1`);
      expect(captured!.connection.server.port).toBe(server.port);

      const events = [...replayCaptured(captured!)];
      // Timestamps read in the file's resolution: the conversation happened during this test.
      expect(Math.abs(captured!.connection.startTime - Date.now())).toBeLessThan(120_000);
      const messages = events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
      const sentByClient = messages.filter((m) => m.direction === 'out').map(describeMessage);
      const sentByServer = messages.filter((m) => m.direction === 'in').map(describeMessage);
      expect(sentByClient).toEqual(peer!['sent']);
      expect(sentByServer).toEqual(peer!['received']);
      expect(events.filter((e) => e.type === 'violation')).toEqual([]);
      const handshake = events.filter((e): e is Extract<TraceEvent, { type: 'handshake' }> => e.type === 'handshake' && e.side === 'client')[0]!;
      expect(handshake.ok).toBe(true);
      expect(handshake.extensions?.agreed?.name ?? null).toBe(c.deflate ? 'permessage-deflate' : null);
      const frames = events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
      expect(frames.some((f) => f.frame.rsv1)).toBe(c.deflate);
      expect(frames.some((f) => f.frame.lengthField === 127)).toBe(!c.deflate); // 70000 x's compress below 64 KiB
      // The ping and its pong, and both Close frames with the client's code and reason.
      expect(frames.filter((f) => f.frame.opcode === 0x9).map((f) => Buffer.from(f.frame.payload).toString())).toEqual(['are you there']);
      expect(frames.filter((f) => f.frame.opcode === 0xa)).toHaveLength(1);
      expect(frames.filter((f) => f.frame.opcode === 0x8).map((f) => [f.direction, f.frame.close?.code, f.frame.close?.reason])).toEqual([['out', 4001, 'done ✓'], ['in', 4001, 'done ✓']]);
      const closed = events.find((e) => e.type === 'connection-closed') as Extract<TraceEvent, { type: 'connection-closed' }>;
      expect(closed.wasClean).toBe(true);

      // Random truncations and byte flips of this real capture: never a throw, always a summary,
      // a cut file says so in one line and keeps the packets before the cut.
      const next = prng(server.port);
      for (let i = 0; i < 25; i++) {
        const cutAt = Math.floor(next() * file.length);
        const cutDissector = new CaptureDissector(() => {});
        cutDissector.push(file.subarray(0, cutAt));
        const cutSummary = cutDissector.end();
        expect(cutSummary.packets).toBeLessThanOrEqual(summary.packets);
        if (cutSummary.error) expect(cutSummary.error.split('\n')).toHaveLength(1);
        const flipped = Buffer.from(file);
        for (let j = 0; j < 4; j++) flipped[Math.floor(next() * flipped.length)] = Math.floor(next() * 256);
        const flipCollector = recordingCollector();
        const flipDissector = new CaptureDissector(flipCollector.handle);
        flipDissector.push(flipped);
        expect(flipDissector.end()).toBeDefined();
        for (const conv of flipCollector.captured) for (const _e of replayCaptured(conv)) { /* replays without throwing */ }
      }

      if (c.twice) return; // cut anywhere, the other interface's batch still holds the handshake

      // The same capture as if it had started mid-connection: every packet up to the one that
      // carries the server's echo of the second message is dropped.
      const packets: CapturedPacket[] = [];
      const reader = new CaptureReader((p) => packets.push({ ...p, data: p.data.slice() }));
      reader.push(file);
      expect(reader.end().error).toBeNull();
      const echoFrame = frames.filter((f) => f.direction === 'in' && f.frame.opcode !== 0xa)[1]!.frame.raw;
      const marker = Buffer.from(echoFrame.subarray(0, Math.min(24, echoFrame.length)));
      const cut = packets.findIndex((p) => Buffer.from(p.data).includes(marker));
      expect(cut).toBeGreaterThan(0);
      const tail = packets.slice(cut + 1);
      const mid = recordingCollector();
      const midDissector = new CaptureDissector(mid.handle);
      midDissector.push(pcapFile(tail[0]!.linkType, tail.map((p) => ({ time: p.time!, data: p.data }))));
      expect(midDissector.end().error).toBeNull();
      const ws = mid.captured.filter((x) => x.connection.server.port === server.port);
      expect(ws).toHaveLength(1);
      expect(ws[0]!.info.handshake).toBe('missing');
      expect(ws[0]!.connection.client.port).toBe(captured!.connection.client.port); // told by the mask bit
      const midEvents = [...replayCaptured(ws[0]!)];
      const midNotes = midEvents.filter((e) => e.type === 'note').map((e) => (e as { text: string }).text).join('\n');
      expect(midNotes).toContain('the opening handshake is not in the capture');
      expect(midEvents.filter((e) => e.type === 'violation').map((e) => JSON.stringify(e).slice(0, 300))).toEqual([]);
      const midFrames = midEvents.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
      expect(midFrames.filter((f) => f.frame.opcode === 0x8).map((f) => f.frame.close?.code)).toEqual([4001, 4001]);
      if (c.deflate) {
        expect(midNotes).toMatch(/compressed \(RSV1 set\) but the permessage-deflate context is missing/);
      } else {
        // Every message from the resynchronisation point on, as the peers sent them.
        const midMessages = midEvents.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
        const clientTail = midMessages.filter((m) => m.direction === 'out').map(describeMessage);
        const serverTail = midMessages.filter((m) => m.direction === 'in').map(describeMessage);
        expect(clientTail.length).toBeGreaterThanOrEqual(peer!['sent'].length - 3);
        expect(clientTail).toEqual(peer!['sent'].slice(-clientTail.length));
        expect(serverTail.length).toBeGreaterThanOrEqual(peer!['received'].length - 3);
        expect(serverTail).toEqual(peer!['received'].slice(-serverTail.length));
      }
    }, 60_000);
  }
});
