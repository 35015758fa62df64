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
import { recordingCollector, replayCaptured } from '../../../../src/core/capture/pcap/to-recording.ts';
import type { TraceEvent } from '../../../../src/core/trace.ts';
import { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from '../../net/python-peer.ts';
import { captureUnavailable, startLiveCapture, type CaptureTool } from '../../../support/live-capture.ts';

type Described = { type: 'text'; text: string } | { type: 'binary'; hex: string };

function describeMessage(e: Extract<TraceEvent, { type: 'message' }>): Described {
  return e.opcode === 1 ? { type: 'text', text: e.text ?? '' } : { type: 'binary', hex: Buffer.from(e.data ?? new Uint8Array(0)).toString('hex') };
}

const cases: Array<{ tool: CaptureTool; iface: string; deflate: boolean; format: string; linkType: string }> = [
  { tool: 'tcpdump', iface: 'lo', deflate: false, format: 'pcap', linkType: 'Ethernet (1)' },
  { tool: 'tcpdump', iface: 'lo', deflate: true, format: 'pcap', linkType: 'Ethernet (1)' },
  { tool: 'dumpcap', iface: 'lo', deflate: true, format: 'pcapng', linkType: 'Ethernet (1)' },
  { tool: 'tcpdump', iface: 'any', deflate: true, format: 'pcap', linkType: 'Linux cooked' },
];

describe('captures of python-websockets peers made by tcpdump and dumpcap, opened', () => {
  const servers: PythonServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  for (const c of cases) {
    const why = captureUnavailable(c.tool, c.iface);
    if (why) console.log(`[real captures] ${c.tool} -i ${c.iface}: not run: ${why}`);
    it.skipIf(why !== null)(`${c.tool} -i ${c.iface} (${c.format}), ${c.deflate ? 'permessage-deflate' : 'no compression'}: every message equals what the peers sent`, async (ctx) => {
      requirePythonWebsockets();
      const server = await startPythonServer([`${FIXTURES}capture_peer.py`, 'server', ...(c.deflate ? ['--deflate'] : [])]);
      servers.push(server);
      let capture;
      try {
        capture = await startLiveCapture(c.tool, c.iface, server.port);
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
      expect(summary.discovery.ignored['not HTTP']).toBeGreaterThanOrEqual(1); // the probe connection
      expect(collector.captured).toHaveLength(1);
      const [captured] = collector.captured;
      expect(captured!.info.handshake).toBe('seen');
      expect(captured!.connection.url).toBe(`ws://127.0.0.1:${server.port}/captured?x=1`);
      expect(captured!.connection.server.port).toBe(server.port);

      const events = [...replayCaptured(captured!)];
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
    }, 60_000);
  }
});
