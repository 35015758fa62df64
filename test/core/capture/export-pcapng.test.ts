/**
 * Our pcapng export read back by our own capture reader (TCP reassembly, WebSocket discovery):
 * each direction's bytes come back whole and equal, for IPv4 and IPv6, and bytes elided by the
 * recording cap are a gap of the same length, not invented bytes. (tshark's reading of the same
 * export is export-pcapng.tshark.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingToPcapng } from '../../../src/core/capture/export-pcapng.ts';
import { dissectCaptureFileSync } from '../../../src/core/capture/pcap/read-file.ts';
import { recordingCollector } from '../../../src/core/capture/pcap/to-recording.ts';
import { appendChunk, createConnection, createRecording, endConnection, type RecordedConnection, type Recording } from '../../../src/core/capture/recording.ts';
import { readSessionFile } from '../../../src/core/capture/session-file.ts';
import { recordEveryFrameType } from './session-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-export-pcapng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readBack(recording: Recording): Recording {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.pcapng`);
  writeFileSync(file, recordingToPcapng(recording));
  const collector = recordingCollector();
  dissectCaptureFileSync(file, collector.handle);
  return collector.recording();
}

const stream = (c: RecordedConnection, d: 'c2s' | 's2c') => Buffer.concat(c.chunks.filter((k) => k.direction === d).map((k) => k.bytes)).toString('hex');

describe('pcapng export read back by our capture reader', () => {
  it('a live session: both directions byte for byte, the endpoints as they were', async () => {
    const { file } = await recordEveryFrameType(dir);
    const original = readSessionFile(file).recording;
    const back = readBack(original);
    expect(back.connections).toHaveLength(1);
    const [a, b] = [original.connections[0]!, back.connections[0]!];
    expect([b.client, b.server]).toEqual([a.client, a.server]);
    expect(stream(b, 'c2s')).toBe(stream(a, 'c2s'));
    expect(stream(b, 's2c')).toBe(stream(a, 's2c'));
    // Microsecond timestamps: every chunk's time within a microsecond of the recorded one.
    expect(Math.abs(b.chunks[0]!.time - a.chunks[0]!.time)).toBeLessThan(0.001);
  }, 30_000);

  it('IPv6 addresses and a payload longer than one segment (65,495 bytes) come back whole', () => {
    const conn = createConnection({ id: 'v6', ourRole: 'client', source: 'live', client: { address: '::1', port: 40000, family: 'IPv6' }, server: { address: 'fe80::1:2', port: 8080, family: 'IPv6' }, startTime: 1_795_860_000_000 });
    const big = Uint8Array.from({ length: 150_000 }, (_v, i) => (i * 7) & 0xff);
    appendChunk(conn, 'c2s', 1_795_860_000_001, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    appendChunk(conn, 's2c', 1_795_860_000_002, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'));
    appendChunk(conn, 's2c', 1_795_860_000_003, Uint8Array.from([0x82, 0x7f, 0, 0, 0, 0, 0, 0x02, 0x49, 0xf0, ...big]));
    endConnection(conn, 1_795_860_000_004);
    const back = readBack(createRecording([conn], 'test')).connections[0]!;
    expect(back.client).toEqual(conn.client);
    expect(back.server).toEqual(conn.server);
    expect(stream(back, 's2c')).toBe(stream(conn, 's2c'));
  });

  it('bytes elided by the recording cap are packets cut short: the reader reports a gap of exactly that many bytes', () => {
    const conn = createConnection({ id: 'e', ourRole: 'client', source: 'live', client: { address: '127.0.0.1', port: 40000, family: 'IPv4' }, server: { address: '127.0.0.1', port: 8080, family: 'IPv4' }, startTime: 1_795_860_000_000 });
    appendChunk(conn, 'c2s', 1_795_860_000_001, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    appendChunk(conn, 's2c', 1_795_860_000_002, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'));
    appendChunk(conn, 's2c', 1_795_860_000_003, Uint8Array.from([0x82, 0x7e, 0x03, 0xe8, 1, 2, 3]), 997); // a 1000-byte frame, 3 bytes kept
    const back = readBack(createRecording([conn], 'test')).connections[0]!;
    expect(stream(back, 's2c')).toBe(stream(conn, 's2c')); // what was recorded, and nothing made up for the rest
    expect(back.notes.some((n) => n.text.startsWith('997 bytes of the server → client stream are not in the capture'))).toBe(true);
  });

  it('a frame that breaks a rule carries the violation and its RFC section in its packet comment', () => {
    const conn = createConnection({ id: 'v', ourRole: 'observed', source: 'pcap', client: { address: '10.0.0.1', port: 40000, family: 'IPv4' }, server: { address: '10.0.0.2', port: 80, family: 'IPv4' }, startTime: 1_795_860_000_000 });
    appendChunk(conn, 'c2s', 1_795_860_000_001, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    appendChunk(conn, 's2c', 1_795_860_000_002, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'));
    appendChunk(conn, 'c2s', 1_795_860_000_003, Uint8Array.from([0x81, 0x02, 0x68, 0x69])); // unmasked, from the client
    const pcapng = recordingToPcapng(createRecording([conn], 'test'));
    expect(pcapng.includes(Buffer.from('wsinspect: frame #1 TEXT FIN=1 len=2: violation WS_ERR_UNMASKED_CLIENT_FRAME (RFC 6455 §5.1): The client sent an unmasked frame; client frames must be masked.'))).toBe(true);
  });

  it('a conversation of 200,000 frames is written whole (no call-stack limit on the number of packets)', () => {
    const conn = createConnection({ id: 'long', ourRole: 'server', source: 'live', client: { address: '127.0.0.1', port: 40000, family: 'IPv4' }, server: { address: '127.0.0.1', port: 8080, family: 'IPv4' }, startTime: 1_795_860_000_000 });
    for (let i = 0; i < 200_000; i++) appendChunk(conn, 's2c', 1_795_860_000_001 + i, Uint8Array.from([0x82, 0x01, i & 0xff]));
    const pcapng = recordingToPcapng(createRecording([conn], 'test'));
    // Each frame is one Enhanced Packet Block (type 6) at least; count them.
    let packets = 0;
    for (let at = 0; at + 8 <= pcapng.length; at += pcapng.readUInt32LE(at + 4)) if (pcapng.readUInt32LE(at) === 6) packets++;
    expect(packets).toBeGreaterThanOrEqual(200_000);
  }, 60_000);
});

