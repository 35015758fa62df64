/**
 * WebSocket discovery and replay on synthetic captures: conversations on any port found by their
 * HTTP Upgrade, others counted and dropped, a refused upgrade shown as refused, mid-stream
 * captures resynchronised (client told by the mask bit), compressed mid-stream frames not blamed
 * on the peers, a gap skipped and the direction read again from the next frame boundary, IPv6 over
 * Linux cooked v2.
 */

import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureDissector } from '../../../src/core/capture/capture-dissector.ts';
import { recordingCollector, replayCaptured } from '../../../src/core/capture/pcap/to-recording.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { handshakeBytes, linkFrame, PcapngWriter, pcapFile, sampleExchanges, tcpConversation, wsFrame, type PacketRecord } from '../../support/capture-synth.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const client = { address: '192.0.2.10', port: 50123 };
const server = { address: '198.51.100.7', port: 4444 };

function open(file: Uint8Array) {
  const collector = recordingCollector();
  const dissector = new CaptureDissector(collector.handle);
  dissector.push(file);
  const summary = dissector.end();
  const traces = collector.captured.map((c) => [...replayCaptured(c)]);
  return { summary, captured: collector.captured, traces };
}

function pcapOf(packets: PacketRecord[], linkType = 1): Uint8Array {
  return pcapFile(linkType, packets.map((p) => ({ ...p, data: linkFrame(linkType, p.data) })));
}

const messages = (trace: TraceEvent[]) => trace.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message').map((m) => [m.direction, m.text ?? Buffer.from(m.data ?? []).toString('hex')]);
const notes = (trace: TraceEvent[]) => trace.filter((e): e is Extract<TraceEvent, { type: 'note' }> => e.type === 'note').map((e) => e.text).join('\n');
const violations = (trace: TraceEvent[]) => trace.filter((e): e is Extract<TraceEvent, { type: 'violation' }> => e.type === 'violation').map((e) => [e.direction, e.violation.code]);

const hs = handshakeBytes();
const conversation = sampleExchanges(hs);

describe('WebSocket discovery', () => {
  it('finds a WebSocket conversation on any port by its Upgrade; plain HTTP and TLS are counted and dropped', () => {
    const ws = tcpConversation({ client, server, exchanges: conversation, mss: 1000 });
    const http = tcpConversation({ client: { ...client, port: 50200 }, server: { ...server, port: 80 }, exchanges: [{ from: 'c', bytes: enc('GET / HTTP/1.1\r\nHost: a\r\n\r\n') }, { from: 's', bytes: enc('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') }] });
    const tls = tcpConversation({ client: { ...client, port: 50300 }, server: { ...server, port: 443 }, exchanges: [{ from: 'c', bytes: Uint8Array.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]) }] });
    const { summary, captured, traces } = open(pcapOf([...http, ...ws, ...tls].sort((a, b) => a.time - b.time)));
    expect(summary.error).toBeNull();
    expect(summary.discovery.tcpConversations).toBe(3);
    expect(summary.discovery.ignored).toEqual({ 'HTTP without a WebSocket upgrade': 1, 'TLS (encrypted: wss:// and https:// cannot be read from a capture)': 1 });
    expect(captured).toHaveLength(1);
    expect(captured[0]!.connection.url).toBe('ws://server.example.com/chat');
    expect(captured[0]!.connection.client).toEqual({ ...client, family: 'IPv4' });
    expect(messages(traces[0]!)).toEqual([['out', 'Hello'], ['in', 'Hello back'], ['out', '07'.repeat(3000)], ['in', 'x'.repeat(200)]]);
    expect(violations(traces[0]!)).toEqual([]);
  });

  it('a refused upgrade is shown, refused', () => {
    const refused = tcpConversation({ client, server, exchanges: [{ from: 'c', bytes: hs.request }, { from: 's', bytes: enc('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n') }] });
    const { captured, traces } = open(pcapOf(refused));
    expect(captured).toHaveLength(1);
    const state = traces[0]!.filter((e) => e.type === 'state').map((e) => (e as Extract<TraceEvent, { type: 'state' }>).reason);
    expect(state.join()).toContain('the server answered 403');
  });

  it('reads client frames that break rules and flags them (unmasked client frame, §5.1)', () => {
    const bad = [...conversation.slice(0, 2), { from: 'c' as const, bytes: wsFrame(1, enc('unmasked'), { masked: false }) }];
    const { traces } = open(pcapOf(tcpConversation({ client, server, exchanges: bad })));
    expect(violations(traces[0]!)).toContainEqual(['out', 'WS_ERR_UNMASKED_CLIENT_FRAME']);
  });

  it('a capture that starts mid-stream resynchronises at the next frame boundary, tells the client by its mask, and says so', () => {
    // Both directions start in the middle of a frame: the server's 200-byte text, the client's binary.
    const serverTail = wsFrame(1, enc('y'.repeat(200)), { masked: false }).subarray(50);
    const clientTail = wsFrame(2, new Uint8Array(300).fill(1), { masked: true }).subarray(120);
    const exchanges = [
      { from: 's' as const, bytes: serverTail },
      { from: 'c' as const, bytes: clientTail },
      { from: 'c' as const, bytes: wsFrame(1, enc('after the cut'), { masked: true, key: [1, 2, 3, 4] }) },
      { from: 's' as const, bytes: wsFrame(1, enc('answer'), { masked: false }) },
      { from: 'c' as const, bytes: wsFrame(9, enc('ping?'), { masked: true }) },
      { from: 's' as const, bytes: wsFrame(10, enc('ping?'), { masked: false }) },
      { from: 'c' as const, bytes: wsFrame(8, Uint8Array.from([0x03, 0xe8]), { masked: true }) },
      { from: 's' as const, bytes: wsFrame(8, Uint8Array.from([0x03, 0xe8]), { masked: false }) },
    ];
    const { captured, traces } = open(pcapOf(tcpConversation({ client, server, exchanges, syn: false })));
    expect(captured).toHaveLength(1);
    const c = captured[0]!;
    expect(c.info.handshake).toBe('missing');
    // The first bytes came from the server, yet the masked side is the client.
    expect(c.connection.client.port).toBe(client.port);
    const trace = traces[0]!;
    expect(messages(trace)).toEqual([['out', 'after the cut'], ['in', 'answer']]);
    expect(violations(trace)).toEqual([]);
    const text = notes(trace);
    expect(text).toContain('the opening handshake is not in the capture');
    expect(text).toContain('first plausible frame boundary');
    expect(text).toMatch(/server → client stream is read from its first plausible frame boundary: the 154 bytes before it were skipped/);
    expect(text).toMatch(/client → server stream is read from its first plausible frame boundary: the 188 bytes before it were skipped/);
    expect(trace.find((e) => e.type === 'connection-closed')).toMatchObject({ wasClean: true });
  });

  it('mid-stream on a compressed conversation: the missing deflate context is said, RSV1 is not blamed on the peers', () => {
    const compressed = (s: string) => deflateRawSync(Buffer.from(s)).subarray(0, -0); // a whole raw DEFLATE stream
    const exchanges = [
      { from: 'c' as const, bytes: wsFrame(1, compressed('compressed hello'), { masked: true, rsv1: true }) },
      { from: 's' as const, bytes: wsFrame(1, compressed('compressed answer'), { masked: false, rsv1: true }) },
      { from: 'c' as const, bytes: wsFrame(1, enc('plain'), { masked: true }) },
      { from: 's' as const, bytes: wsFrame(1, enc('plain too'), { masked: false }) },
    ];
    const { traces } = open(pcapOf(tcpConversation({ client, server, exchanges, syn: false })));
    const trace = traces[0]!;
    expect(violations(trace)).toEqual([]);
    expect(notes(trace)).toMatch(/frames are compressed \(RSV1 set\) but the permessage-deflate context is missing/);
    const shown = messages(trace);
    expect(shown).toContainEqual(['out', Buffer.from(compressed('compressed hello')).toString('hex')]);
    expect(shown).toContainEqual(['out', 'plain']);
    expect(shown).toContainEqual(['in', 'plain too']);
  });

  it('a gap in a WebSocket stream: the direction skips the hole, says so, and is read again from the next frame boundary', () => {
    const after = (masked: boolean) => wsFrame(1, enc('after the gap'), { masked });
    const exchanges = [...conversation.slice(0, 5), { from: 'c' as const, bytes: after(true) }, { from: 's' as const, bytes: after(false) }, ...conversation.slice(5)];
    const packets = tcpConversation({ client, server, exchanges, mss: 1000 });
    // Drop the second segment of the client's 3008-byte binary frame (a capture drop); the server's ACK covers it.
    const binaryStart = packets.findIndex((p) => p.data.length === 1000 + 40 && p.data[40] === 0x82);
    expect(binaryStart).toBeGreaterThan(0);
    const dropped = packets.filter((_p, i) => i !== binaryStart + 1);
    const { traces, summary } = open(pcapOf(dropped));
    const trace = traces[0]!;
    expect(summary.tcp.gapBytes).toBe(1000);
    // The rest of the binary frame (1008 bytes) is stepped over to the next frame: its header gave its length.
    expect(notes(trace)).toContain('1000 bytes of the client → server stream are not in the capture (bytes the capture missed (the receiver acknowledged them, so they were sent and will not be sent again)). The stream resumes at the next frame boundary, 1008 bytes after the gap (known exactly: the frame the gap fell in had given its length (RFC 6455 §5.2)): 2008 bytes not read in all.');
    expect(notes(trace)).toContain('Gap: 2008 bytes of the client → server stream are not read (lost by the capture, or skipped to the next frame boundary). The frame being read when they went missing (1000 bytes of it captured) is lost. A fresh reader takes the client → server frames from that boundary on.');
    expect(messages(trace)).toEqual([['out', 'Hello'], ['in', 'Hello back'], ['out', 'after the gap'], ['in', 'after the gap'], ['in', 'x'.repeat(200)]]);
    const closes = trace.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.frame.opcode === 8).map((e) => [e.direction, e.frame.close?.code]);
    expect(closes).toEqual([['out', 1000], ['in', 1000]]);
    expect(violations(trace)).toEqual([]);
    // Frame ids stay unique across the fresh receiver.
    const ids = trace.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame').map((e) => e.frame.frameId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a lost opening request (a gap before anything was read): the conversation is read from its frames, mid-stream', () => {
    const packets = tcpConversation({ client, server, exchanges: conversation });
    const request = packets.findIndex((p) => new TextDecoder('latin1').decode(p.data).includes('GET /chat'));
    const { captured, traces, summary } = open(pcapOf(packets.filter((_p, i) => i !== request)));
    expect(summary.tcp.gapBytes).toBe(hs.request.length);
    expect(captured).toHaveLength(1);
    expect(captured[0]!.info.handshake).toBe('missing');
    expect(notes(traces[0]!)).toContain('the server answers a request the capture does not have');
    expect(messages(traces[0]!)).toEqual([['out', 'Hello'], ['in', 'Hello back'], ['out', '07'.repeat(3000)], ['in', 'x'.repeat(200)]]);
  });

  it('IPv6 in a pcapng of Linux cooked v2 frames', () => {
    const packets = tcpConversation({ client: { address: '2001:db8::10', port: 50123 }, server: { address: '2001:db8::7', port: 8080 }, exchanges: conversation });
    const w = new PcapngWriter().section().iface(276, { tsresol: 9 });
    for (const p of packets) w.epb({ ...p, data: linkFrame(276, p.data) }, 1e9);
    const { captured, traces } = open(w.bytes());
    expect(captured[0]!.connection.client).toEqual({ address: '2001:db8::10', port: 50123, family: 'IPv6' });
    expect(messages(traces[0]!).slice(0, 2)).toEqual([['out', 'Hello'], ['in', 'Hello back']]);
  });
});
