/**
 * From discovered conversations to the Recording model (src/core/capture/pcap/to-recording.ts):
 * endpoints, URL, chunks copied in capture order, and the bounds on what it holds.
 */

import { describe, expect, it } from 'vitest';
import { CaptureDissector } from '../../../../src/core/capture/capture-dissector.ts';
import { CaptureRecordingBuilder, recordingCollector, replayCaptured, type CapturedConnection } from '../../../../src/core/capture/pcap/to-recording.ts';
import type { TraceEvent } from '../../../../src/core/trace.ts';
import { handshakeBytes, linkFrame, pcapFile, sampleExchanges, tcpConversation, type PacketRecord } from '../../../support/capture-synth.ts';

const client = { address: '192.0.2.10', port: 50123 };
const server = { address: '198.51.100.7', port: 4444 };
const hs = handshakeBytes('example.org:4444', '/live?q=1');
const conversation = sampleExchanges(hs).slice(0, 5);
const pcapOf = (packets: PacketRecord[]) => pcapFile(1, packets.map((p) => ({ ...p, data: linkFrame(1, p.data) })));
const messages = (trace: TraceEvent[]) => trace.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message').map((m) => [m.direction, m.text ?? m.size]);

describe('capture conversations as Recordings', () => {
  it('one observed pcap connection per conversation: endpoints, ws:// URL from Host and target, times, the bytes of both directions whole', () => {
    const packets = tcpConversation({ client, server, exchanges: conversation, mss: 1000, startTime: 1_700_000_000_000 });
    const collector = recordingCollector();
    const dissector = new CaptureDissector(collector.handle);
    dissector.push(pcapOf(packets));
    dissector.end();
    const recording = collector.recording();
    expect(recording.createdBy).toBe('pcap import');
    const [conn] = recording.connections;
    expect(conn).toMatchObject({ ourRole: 'observed', source: 'pcap', url: 'ws://example.org:4444/live?q=1', client: { ...client, family: 'IPv4' }, server: { ...server, family: 'IPv4' } });
    expect(conn!.startTime).toBeGreaterThan(1_700_000_000_000);
    expect(conn!.endTime).toBe(packets.at(-2)!.time); // the second FIN (the last packet is its ACK)
    const sent = (dir: 'c2s' | 's2c') => Buffer.concat(conn!.chunks.filter((c) => c.direction === dir).map((c) => c.bytes));
    expect(sent('c2s').equals(Buffer.concat(conversation.filter((x) => x.from === 'c').map((x) => x.bytes)))).toBe(true);
    expect(sent('s2c').equals(Buffer.concat(conversation.filter((x) => x.from === 's').map((x) => x.bytes)))).toBe(true);
    expect(conn!.chunks.every((c, i) => i === 0 || c.time >= conn!.chunks[i - 1]!.time)).toBe(true);
    expect(messages([...replayCaptured(collector.captured[0]!)])).toEqual([['out', 'Hello'], ['in', 'Hello back'], ['out', 3000]]);
  });

  it('a conversation over its byte limit stops where it would exceed it, with a note', () => {
    const captured: CapturedConnection[] = [];
    const builder = new CaptureRecordingBuilder((c) => captured.push(c), { maxConversationBytes: 1000, maxTotalBytes: 1 << 30 });
    const dissector = new CaptureDissector((e) => builder.handle(e));
    dissector.push(pcapOf(tcpConversation({ client, server, exchanges: conversation, mss: 1000 })));
    dissector.end();
    const conn = captured[0]!.connection;
    const held = conn.chunks.reduce((n, c) => n + c.bytes.length, 0);
    expect(held).toBeLessThanOrEqual(1000);
    expect(conn.notes.map((n) => n.text).join('\n')).toMatch(/not read past this point: it would exceed the 1000 bytes one conversation may hold/);
    const trace = [...replayCaptured(captured[0]!)];
    expect(messages(trace).slice(0, 2)).toEqual([['out', 'Hello'], ['in', 'Hello back']]);
  });
});
