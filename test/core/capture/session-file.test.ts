import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendChunk, createConnection, createRecording } from '../../../src/core/capture/recording.ts';
import { MAX_CHUNK_PER_LINE, readSessionFile, SessionFileWriter, SessionReader } from '../../../src/core/capture/session-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = '{"format":"wsinspect-session","version":1,"createdAt":1795860000000,"createdBy":"test"}';
const conn = (id: string, extra = '') => `{"t":"conn","id":"${id}","ourRole":"server","source":"live","client":{"address":"127.0.0.1","port":50000,"family":"IPv4"},"server":{"address":"::1","port":9001,"family":"IPv6"},"startTime":1795860000000${extra}}`;
const data = (id: string, b64: string, extra = '') => `{"t":"data","id":"${id}","dir":"c2s","time":1795860000001,"b64":"${b64}"${extra}}`;

function read(lines: string[], limits = {}) {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.wsi`);
  writeFileSync(file, lines.join('\n') + '\n');
  return readSessionFile(file, limits);
}

describe('session file', () => {
  it('writes and reads back: long chunks split over lines and joined again, elided counts kept', () => {
    const c = createConnection({ id: 'c1', ourRole: 'client', source: 'live', client: { address: '::1', port: 1, family: 'IPv6' }, server: { address: '::1', port: 2, family: 'IPv6' }, startTime: 1 });
    const big = Uint8Array.from({ length: MAX_CHUNK_PER_LINE * 2 + 5 }, (_v, i) => i & 0xff);
    appendChunk(c, 'c2s', 2, big, 77);
    appendChunk(c, 's2c', 3, new Uint8Array(0), 12);
    const file = join(dir, 'rt.wsi');
    SessionFileWriter.write(file, createRecording([c], 'test'));
    const { recording, error, lines } = readSessionFile(file);
    expect(error).toBeNull();
    expect(lines).toBe(6); // header, conn, 3 data lines for the big chunk, 1 for the elision
    const chunks = recording.connections[0]!.chunks;
    expect(Buffer.concat(chunks.filter((k) => k.direction === 'c2s').map((k) => k.bytes)).equals(Buffer.from(big))).toBe(true);
    expect(chunks.map((k) => k.elided ?? 0)).toEqual([0, 0, 77, 12]);
  });

  it('a bad line stops reading with a sentence naming it, and keeps everything before', () => {
    const good = [header, conn('a'), data('a', 'R0VU')];
    const cases: Array<[string, RegExp]> = [
      [data('a', 'not base64!'), /line 4: b64 is not base64/],
      [data('nobody', 'R0VU'), /line 4: "nobody" is not a connection declared before it/],
      [conn('b').replace('50000', '70000'), /line 4: client.port is not a whole number from 0 to 65535/],
      [conn('b').replace('"IPv4"', '"IPv5"'), /line 4: client.family is not one of IPv4, IPv6/],
      [conn('a'), /line 4: connection "a" is declared twice/],
      [data('a', 'R0VU', ',"elided":-1'), /line 4: elided is not a whole number/],
      [data('a', 'R0VU').replace('1795860000001', '1e300'), /line 4: time is not a time/],
      ['{"t":"bogus","id":"a"}', /line 4: unknown record type "bogus"/],
      ['{"t":"tls","id":"a","tls":{"role":"client","peerCertificates":[]}}', /line 4: tls.ok is not true or false/],
      ['{"t":"data"', /line 4 is not JSON/],
      ['[]', /line 4: the record is not an object/],
    ];
    for (const [bad, message] of cases) {
      const { recording, error } = read([...good, bad, data('a', 'R0VU')]);
      expect(error, bad).toMatch(message);
      expect(recording.connections.map((c) => c.id), bad).toEqual(['a']);
      expect(recording.connections[0]!.chunks, bad).toHaveLength(1);
    }
  });

  it('limits: line length, total bytes, connections; a file that is not a session says so', () => {
    expect(read([header, conn('a'), data('a', 'A'.repeat(4000))], { maxLineBytes: 1000 }).error).toBe('line 3 is longer than 1000 bytes');
    expect(read([header, conn('a'), data('a', 'QUFBQQ=='), data('a', 'QUFBQQ==')], { maxTotalBytes: 6 }).error).toMatch(/line 4: the session holds more than 6 bytes/);
    expect(read([header, conn('a'), conn('b')], { maxConnections: 1 }).error).toMatch(/line 3: more than 1 connections/);
    expect(read(['{"format":"something-else"}']).error).toMatch(/not a wsinspect session file/);
    expect(read([header.replace('"version":1', '"version":9')]).error).toMatch(/format version 9; this wsinspect reads version 1/);
    expect(new SessionReader().end().error).toMatch(/empty/);
  });

  it('reads a file fed in pieces of any size the same (a line split across reads)', () => {
    const text = Buffer.from([header, conn('a'), data('a', 'R0VUIC8=')].join('\n') + '\n');
    for (const piece of [1, 7, 1000]) {
      const reader = new SessionReader();
      for (let at = 0; at < text.length; at += piece) reader.push(text.subarray(at, at + piece));
      const { recording, error } = reader.end();
      expect(error).toBeNull();
      expect(Buffer.from(recording.connections[0]!.chunks[0]!.bytes).toString()).toBe('GET /');
    }
  });

  it('streaming (onEnd): each connection handed over at its end record, its bytes then dropped, so maxTotalBytes bounds what is held; a record after the end is an error', () => {
    const end = (id: string) => `{"t":"end","id":"${id}","time":1795860000002}`;
    // Three connections of 6 bytes each, one after the other: 18 bytes in all, never more than 6 held.
    const lines = [header, conn('a'), data('a', 'AAAAAAAA'), end('a'), conn('b'), data('b', 'BBBBBBBB'), end('b'), conn('c'), data('c', 'CCCCCCCC')];
    const handed: Array<{ id: string; bytes: number }> = [];
    const reader = new SessionReader({ maxTotalBytes: 10 }, (c) => handed.push({ id: c.id, bytes: c.chunks.reduce((n, k) => n + k.bytes.length, 0) }));
    expect(reader.push(Buffer.from(lines.join('\n') + '\n'))).toBe(true);
    const result = reader.end();
    expect(result.error).toBeNull();
    expect(handed).toEqual([{ id: 'a', bytes: 6 }, { id: 'b', bytes: 6 }]);
    // The one never ended stays with the reader, whole; the ended ones are there without their bytes.
    expect(result.recording.connections.map((c) => [c.id, c.chunks.length])).toEqual([['a', 0], ['b', 0], ['c', 1]]);
    // Without streaming the same file is over the limit.
    const whole = new SessionReader({ maxTotalBytes: 10 });
    whole.push(Buffer.from(lines.join('\n') + '\n'));
    expect(whole.end().error).toMatch(/more than 10 bytes/);
    const after = new SessionReader({}, () => {});
    after.push(Buffer.from([header, conn('a'), end('a'), data('a', 'AAAA')].join('\n') + '\n'));
    expect(after.end().error).toBe('line 4: connection "a" has a record after its end');
  });
});
