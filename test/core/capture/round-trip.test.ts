/**
 * Round trips: a live session recorded → exported as JSON or HAR → imported → equal to the original,
 * byte for byte through JSON, message for message through HAR (which keeps only messages).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingToHar } from '../../../src/core/capture/export-har.ts';
import { readSessionJson, recordingToJson } from '../../../src/core/capture/export-json.ts';
import { importHar } from '../../../src/core/capture/import-har.ts';
import { replayConnection, type RecordedConnection, type Recording } from '../../../src/core/capture/recording.ts';
import { readSessionFile, SessionFileWriter } from '../../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { recordEveryFrameType } from './session-fixture.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What a browser's DevTools would list: who sent it (the client or the server), opcode, content. */
function messagesOf(conn: RecordedConnection) {
  const we = conn.ourRole === 'server' ? 'server' : 'client';
  return [...replayConnection(conn)].flatMap((e: TraceEvent) => {
    const from = (d: 'in' | 'out') => ((d === 'out') === (we === 'client') ? 'client' : 'server');
    if (e.type === 'message') return [{ from: from(e.direction), opcode: e.opcode, content: e.text ?? hex(e.data!) }];
    if (e.type === 'frame' && e.frame.opcode >= 8) return [{ from: from(e.direction), opcode: e.frame.opcode, content: e.frame.opcode === 8 ? `${e.frame.close?.code} ${e.frame.close?.reason}` : hex(e.frame.payload) }];
    return [];
  });
}

function chunksOf(recording: Recording) {
  return recording.connections.map((c) => c.chunks.map((k) => ({ direction: k.direction, time: k.time, bytes: hex(k.bytes), elided: k.elided ?? 0 })));
}

describe('round trips of a recorded session', () => {
  let dir: string;
  let original: Recording;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-roundtrip-'));
    const { file } = await recordEveryFrameType(dir, { recordClient: true });
    const read = readSessionFile(file);
    expect(read.error).toBeNull();
    original = read.recording;
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recorded both ends of one connection: the server\'s and the client\'s views hold the same bytes', () => {
    expect(original.connections.map((c) => c.ourRole).sort()).toEqual(['client', 'server']);
    const [a, b] = original.connections as [RecordedConnection, RecordedConnection];
    for (const dir of ['c2s', 's2c'] as const) {
      const bytes = (c: RecordedConnection) => hex(Buffer.concat(c.chunks.filter((k) => k.direction === dir).map((k) => k.bytes)));
      expect(bytes(a)).toBe(bytes(b));
    }
    expect(messagesOf(a)).toEqual(messagesOf(b));
  });

  it('JSON export → import: every chunk equal, byte for byte and time for time; the session file written again reads the same', () => {
    const file = join(dir, 'export.json');
    writeFileSync(file, recordingToJson(original));
    const back = readSessionJson(file);
    expect(back.error).toBeNull();
    expect(chunksOf(back.recording)).toEqual(chunksOf(original));
    expect(back.recording.connections.map(({ chunks: _c, ...meta }) => meta)).toEqual(original.connections.map(({ chunks: _c, ...meta }) => meta));
    const again = join(dir, 'again.wsi');
    SessionFileWriter.write(again, back.recording);
    expect(chunksOf(readSessionFile(again).recording)).toEqual(chunksOf(original));
    // Read whole, so bounded by its size: past the limit, one sentence and nothing parsed.
    const tooBig = readSessionJson(file, { maxFileBytes: 1000 });
    expect(tooBig.error).toMatch(/^the file is \d+ bytes; a JSON export is read whole, at most 1000 bytes/);
    expect(tooBig.recording.connections).toEqual([]);
  });

  it('HAR export → import: the same messages, pings, pongs and closes, marked reconstructed', () => {
    const har = recordingToHar(original);
    const entry = har.log.entries[0]!;
    expect(entry['_resourceType']).toBe('websocket');
    expect((entry['response'] as { status: number }).status).toBe(101);
    const types = new Set(entry._webSocketMessages.map((m) => m.type));
    expect([...types].sort()).toEqual(['receive', 'send']);
    const imported = importHar(JSON.stringify(har));
    expect(imported.error).toBeNull();
    expect(imported.recording.connections).toHaveLength(2);
    original.connections.forEach((conn, i) => {
      const back = imported.recording.connections[i]!;
      expect(back.reconstructed).toBe(true);
      expect(messagesOf(back)).toEqual(messagesOf(conn));
      const replayed = [...replayConnection(back)];
      expect(replayed.filter((e) => e.type === 'violation')).toEqual([]);
      expect(replayed.some((e) => e.type === 'note' && e.text.startsWith('Reconstructed, not captured'))).toBe(true);
      // Rebuilt client frames are masked with fresh keys (§5.3), server frames are not.
      for (const e of replayed) if (e.type === 'frame') expect(e.frame.masked).toBe(e.direction === 'out');
    });
  });
});
