import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readSessionFile, SessionReader } from '../../src/core/capture/session-file.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { FullFrameStore } from '../../src/service/display-cap.ts';
import { loadRecordingSource, openRecordingStream, type OpeningProgress } from '../../src/service/recording-source.ts';
import { recordingToPcapng } from '../../src/core/capture/export-pcapng.ts';
import { createHandlers } from '../../src/service/handlers.ts';
import type { ServiceBatch } from '../../src/shared/inspector-api.ts';
import { recordEveryFrameType } from '../core/capture/session-fixture.ts';
import { eventually, openWs, wsMessages } from '../core/net/helpers.ts';
import { wsUpstream } from '../core/proxy/proxy-peers.ts';
import { synthesiseCapture } from '../../scripts/bench-capture.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-session-work-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Frame = Extract<TraceEvent, { type: 'frame' }>;
function loadedEvents(path: string): TraceEvent[] {
  const result = loadRecordingSource(path, { fullFrames: new FullFrameStore() });
  if (!result.ok) throw new Error(result.error);
  return result.events;
}
const services: InspectorService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.dispose();
});

function serviceWithEvents(): { service: InspectorService; events: TraceEvent[]; batches: ServiceBatch[] } {
  const service = new InspectorService({ batchIntervalMs: 5 });
  services.push(service);
  const events: TraceEvent[] = [];
  const batches: ServiceBatch[] = [];
  service.onBatch((b) => {
    batches.push(b);
    events.push(...eventsOf(b));
  });
  return { service, events, batches };
}

describe('sessions in the service (issue 13)', () => {
  it('openRecording: the recording joins the list read-only, its frames arrive in batches, commands on it are refused', async () => {
    const { file, serverEvents } = await recordEveryFrameType(dir);
    const { service, events } = serviceWithEvents();
    const result = await service.openRecording(file, 'every-frame.wsi');
    if (!result.ok) throw new Error(result.error);
    expect(result.recording).toMatchObject({ prefix: 'rec1:', name: 'every-frame.wsi', kind: 'session', connections: 1, error: null });
    const status = service.getStatus();
    const summary = status.connections.find((c) => c.id.startsWith('rec1:'))!;
    expect(summary.detail).toMatch(/^recording \(read-only\)/);
    expect(status.recordings).toEqual([result.recording]);
    const liveFrames = serverEvents.filter((e): e is Frame => e.type === 'frame').length;
    expect(result.recording.frames).toBe(liveFrames);
    await eventually(() => events.filter((e) => e.type === 'frame' && e.connectionId === summary.id).length === liveFrames, 5000, 'every frame in a batch');
    expect(service.send({ connectionId: summary.id, kind: 'text', text: 'x' })).toMatchObject({ ok: false });
    expect(service.closeRecording('rec1:')).toEqual({ ok: true });
    expect(service.getStatus().connections.some((c) => c.id.startsWith('rec1:'))).toBe(false);
  }, 30_000);

  it('a cut file: one sentence and everything before the cut; an unknown file: one sentence', async () => {
    const { file } = await recordEveryFrameType(dir);
    const bytes = readFileSync(file);
    const cut = join(dir, 'cut.wsi');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const { service } = serviceWithEvents();
    const partial = await service.openRecording(cut, 'cut.wsi');
    if (!partial.ok) throw new Error(partial.error);
    expect(partial.warning).toMatch(/^cut\.wsi was read only in part: .+\. Everything before that is shown\.$/);
    expect(partial.recording.frames).toBeGreaterThan(0);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'not a recording at all');
    const refused = await service.openRecording(junk, 'junk.bin');
    expect(refused).toEqual({ ok: false, error: expect.stringMatching(/^"junk\.bin" is not a wsinspect session/) });
    expect(refused.ok === false && refused.error.includes(dir)).toBe(false); // the temporary path is not shown
    // An upload's folder goes with a refused file, which was never listed as a recording.
    const owned = mkdtempSync(join(tmpdir(), 'wsi-owned-junk-'));
    writeFileSync(join(owned, 'recording'), 'still not a recording');
    const refusing = service.openRecording(join(owned, 'recording'), 'junk2.bin', { ownedDir: owned });
    expect(service.getStatus().recordings!.map((r) => r.name)).toEqual(['cut.wsi']); // while it is being opened
    expect(await refusing).toMatchObject({ ok: false });
    expect(existsSync(owned)).toBe(false);
  }, 30_000);

  it('a capture is read in chunks, reporting bytes read of its size to the end', async () => {
    const { file } = await recordEveryFrameType(dir);
    const pcap = join(dir, 'progress.pcapng');
    const bytes = recordingToPcapng(readSessionFile(file).recording);
    writeFileSync(pcap, bytes);
    const seen: OpeningProgress[] = [];
    const events: TraceEvent[] = [];
    const source = await openRecordingStream(pcap, { fullFrames: new FullFrameStore(), onEvent: (e) => events.push(e), onProgress: (p) => seen.push(p) });
    expect(source.ok).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ bytesRead: bytes.length, totalBytes: bytes.length });
    expect(seen.map((p) => p.bytesRead)).toEqual([...seen.map((p) => p.bytesRead)].sort((a, b) => a - b));
    // The frames loaded count up to all of them, and the events streamed out are those loadRecordingSource makes at once.
    expect(seen.at(-1)!.frames).toBe(events.filter((e) => e.type === 'frame').length);
    expect(events.map((e) => [e.type, e.seq])).toEqual(loadedEvents(pcap).map((e) => [e.type, e.seq]));
  }, 30_000);

  it('export of an open recording as pcapng, HAR and JSON: each opens again with the same messages', async () => {
    const { file } = await recordEveryFrameType(dir);
    const { service } = serviceWithEvents();
    const opened = await service.openRecording(file, 'a.wsi');
    if (!opened.ok) throw new Error(opened.error);
    const original = await service.exportSession({ format: 'json' });
    if (!original.ok) throw new Error(original.error);
    for (const format of ['pcapng', 'har', 'json'] as const) {
      const exported = await service.exportSession({ format, connectionIds: [service.getStatus().connections[0]!.id] });
      if (!exported.ok) throw new Error(exported.error);
      expect(exported.name.endsWith(`.${format}`)).toBe(true);
      const path = join(dir, exported.name);
      writeFileSync(path, exported.bytes);
      const again = await service.openRecording(path, exported.name);
      if (!again.ok) throw new Error(again.error);
      expect(again.recording.error).toBeNull();
      expect(again.recording.connections).toBe(1);
      // HAR keeps messages, not frames; the rest keep every frame.
      if (format !== 'har') expect(again.recording.frames).toBe(opened.recording.frames);
      else expect(again.recording.frames).toBeGreaterThan(0);
    }
    // The selected frames only: the handshake and those frames, the same bytes.
    const id = service.getStatus().connections[0]!.id;
    const framesOf = (evs: TraceEvent[]) => evs.filter((e): e is Frame => e.type === 'frame');
    const all = framesOf(loadedEvents(file));
    const picked = await service.exportSession({ format: 'pcapng', frames: { connectionId: id, frameIds: [1, 3] } });
    if (!picked.ok) throw new Error(picked.error);
    expect(picked.name).toBe(`${id.replace(/[^\w.-]+/g, '_')}-frames.pcapng`);
    const pickedPath = join(dir, 'picked.pcapng');
    writeFileSync(pickedPath, picked.bytes);
    const reread = framesOf(loadedEvents(pickedPath));
    expect(reread.map((e) => Buffer.from(e.frame.raw).toString('hex'))).toEqual([all[0]!, all[2]!].map((e) => Buffer.from(e.frame.raw).toString('hex')));
    expect(await service.exportSession({ format: 'json', frames: { connectionId: id, frameIds: [9999] } })).toMatchObject({ ok: false, error: expect.stringMatching(/^None of the selected frames/) });
    expect(await service.exportSession({ format: 'json', connectionIds: ['nope'] })).toMatchObject({ ok: false, error: expect.stringMatching(/not in an open recording/) });
  }, 30_000);

  it('Record, then Save: the session file has the live messages, each frame cut to the cap', async () => {
    const { service } = serviceWithEvents();
    const handlers = createHandlers(service);
    expect(() => handlers.startRecording(-1)).toThrow(/per-frame cap/);
    const started = service.startRecording(8);
    expect(started).toMatchObject({ ok: true, recorder: { recording: true, cap: 8 } });
    expect(service.startRecording(8)).toMatchObject({ ok: false, error: 'Already recording.' });
    const server = await service.startServer({ host: '127.0.0.1', port: 0, app: 'echo' });
    if (!server.ok) throw new Error(server.error);
    const ws = new WebSocket(server.url, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    const echoed = new Promise((r) => ws.once('message', r));
    ws.send('hello recorder, a long message');
    await echoed;
    ws.close(1000, 'bye');
    await new Promise((r) => ws.once('close', r));
    await eventually(() => service.getStatus().connections.some((c) => c.state === 'CLOSED'), 5000, 'closed');
    expect(service.stopRecording()).toMatchObject({ ok: true, recorder: { recording: false } });
    const saved = service.saveSession();
    if (!saved.ok) throw new Error(saved.error);
    expect(saved.name).toMatch(/^session-.*\.wsi$/);
    const reader = new SessionReader();
    reader.push(saved.bytes);
    const { recording, error } = reader.end();
    expect(error).toBeNull();
    expect(recording.recordCap).toBe(8);
    expect(recording.connections).toHaveLength(1);
    const path = join(dir, saved.name);
    writeFileSync(path, saved.bytes);
    expect(readSessionFile(path).recording.connections[0]!.chunks.some((c) => (c.elided ?? 0) > 0)).toBe(true);
    // The saved session opens in the app: the client's text, cut to 8 bytes, is a frame there.
    const { service: other, events } = serviceWithEvents();
    const opened = await other.openRecording(path, saved.name);
    if (!opened.ok) throw new Error(opened.error);
    await eventually(() => events.some((e) => e.type === 'frame' && e.direction === 'in' && new TextDecoder().decode(e.frame.payload).startsWith('hello re')), 5000, 'the recorded text');
    // A live connection recorded is exported from the session file.
    const exported = await service.exportSession({ format: 'har' });
    if (!exported.ok) throw new Error(exported.error);
    expect(JSON.parse(Buffer.from(exported.bytes).toString('utf8')).log.entries).toHaveLength(1);
  }, 30_000);
});

describe('opening a large capture (issue 13: "opens streaming, with a progress bar, without freezing the UI")', () => {
  it('streams: frames go out in batches while the file is still being read, the status answers and its progress advances throughout', async () => {
    const path = join(dir, 'large.pcapng');
    synthesiseCapture(path, 12_000);
    const { service, events } = serviceWithEvents();
    // A 5 ms interval asks the service its status while it opens the file, noting what it says.
    const seen: Array<{ bytesRead: number; totalBytes: number; frames: number; eventsOut: number }> = [];
    const timer = setInterval(() => {
      const opening = service.getStatus().opening;
      if (opening) seen.push({ bytesRead: opening.bytesRead, totalBytes: opening.totalBytes, frames: opening.frames ?? 0, eventsOut: events.length });
    }, 5);
    let result;
    try {
      result = await service.openRecording(path, 'large.pcapng');
    } finally {
      clearInterval(timer);
    }
    if (!result.ok) throw new Error(result.error);
    expect(result.recording.frames).toBe(12_000);
    expect(service.getStatus().opening).toBeNull();
    // Streaming: before the file was read to its end, frames were loaded and had gone out in batches
    // (all at once after reading, as before, would show none of them while bytes are still to read).
    const midway = seen.filter((s) => s.totalBytes > 0 && s.bytesRead < s.totalBytes);
    expect(midway.length, `status answered ${midway.length} times while reading`).toBeGreaterThanOrEqual(3);
    expect(midway.some((s) => s.frames > 0 && s.eventsOut > 0)).toBe(true);
    // The progress advances in many steps, never back.
    expect(new Set(seen.map((s) => s.bytesRead)).size).toBeGreaterThanOrEqual(3);
    expect(seen.map((s) => s.frames)).toEqual([...seen.map((s) => s.frames)].sort((a, b) => a - b));
    await eventually(() => events.filter((e) => e.type === 'frame').length === 12_000, 10_000, 'every frame in a batch');
  }, 60_000);

  it('Export reads the file again: the connections loaded, as in the file; a file changed since it was opened is said', async () => {
    const path = join(dir, 'reread.pcapng');
    synthesiseCapture(path, 6000);
    const { service } = serviceWithEvents();
    const opened = await service.openRecording(path, 'reread.pcapng');
    if (!opened.ok) throw new Error(opened.error);
    const ids = service.getStatus().connections.filter((c) => c.id.startsWith(opened.recording.prefix)).map((c) => c.id);
    expect(ids).toHaveLength(3);
    const one = await service.exportSession({ format: 'pcapng', connectionIds: [ids[1]!] });
    if (!one.ok) throw new Error(one.error);
    expect(one.connections).toBe(1);
    const onePath = join(dir, 'one.pcapng');
    writeFileSync(onePath, one.bytes);
    const again = loadRecordingSource(onePath, { fullFrames: new FullFrameStore() });
    if (!again.ok) throw new Error(again.error);
    // The second conversation's 2000 frames, its own (conversation 1's texts).
    const texts = again.events.flatMap((e) => (e.type === 'message' ? [e.text ?? ''] : []));
    expect(texts).toHaveLength(2000);
    expect(texts.every((t) => t.startsWith('{"conversation":1,'))).toBe(true);
    const all = await service.exportSession({ format: 'json' });
    expect(all).toMatchObject({ ok: true, connections: 3 });
    writeFileSync(path, 'changed');
    expect(await service.exportSession({ format: 'json' })).toEqual({ ok: false, error: expect.stringMatching(/^reread\.pcapng cannot be read again for export: the file changed on disk since it was opened/) });
  }, 60_000);

  it('closing a recording while it is being opened stops reading it; its owned folder is removed', async () => {
    const owned = mkdtempSync(join(tmpdir(), 'wsi-owned-'));
    const path = join(owned, 'recording');
    synthesiseCapture(path, 12_000);
    const { service } = serviceWithEvents();
    const opening = service.openRecording(path, 'stopped.pcapng', { ownedDir: owned });
    await eventually(() => (service.getStatus().opening?.frames ?? 0) > 0, 10_000, 'some frames loaded');
    const prefix = service.getStatus().recordings!.find((r) => r.name === 'stopped.pcapng')!.prefix;
    expect(service.closeRecording(prefix)).toEqual({ ok: true });
    const result = await opening;
    expect(result).toEqual({ ok: false, error: 'stopped.pcapng was closed before it was read to the end.' });
    expect(existsSync(owned)).toBe(false);
    expect(service.getStatus().recordings).toEqual([]);
  }, 60_000);
});

describe('Record with the app\'s proxy (issue 13: every connection recorded)', () => {
  it('both legs of a proxied conversation are recorded, marked with their leg; the saved session opens with both and their messages', async () => {
    const upstreamServer = await wsUpstream();
    try {
      const { service } = serviceWithEvents();
      expect(service.startRecording(1024)).toMatchObject({ ok: true });
      const proxy = await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstreamServer.url });
      if (!proxy.ok) throw new Error(proxy.error);
      const ws = await openWs(proxy.url);
      const messages = wsMessages(ws);
      ws.send('through the proxy, recorded');
      expect((await messages.next(5000)).data.toString()).toBe('through the proxy, recorded');
      ws.close(1000, 'done');
      await eventually(() => service.getStatus().connections.filter((c) => c.proxyLeg).length === 2 && service.getStatus().connections.filter((c) => c.proxyLeg).every((c) => c.state === 'CLOSED'), 5000, 'both legs closed');
      expect(service.stopRecording()).toMatchObject({ ok: true });
      const saved = service.saveSession();
      if (!saved.ok) throw new Error(saved.error);
      const path = join(dir, 'proxied.wsi');
      writeFileSync(path, saved.bytes);
      const legs = readSessionFile(path).recording.connections;
      expect(legs).toHaveLength(2);
      const clientLeg = legs.find((c) => c.proxyLeg?.leg === 'client-facing')!;
      const serverLeg = legs.find((c) => c.proxyLeg?.leg === 'server-facing')!;
      expect(clientLeg.proxyLeg!.pairedWith).toBe(serverLeg.id);
      expect(serverLeg.proxyLeg!.pairedWith).toBe(clientLeg.id);
      expect([clientLeg.ourRole, serverLeg.ourRole]).toEqual(['server', 'client']);
      // Opened again: both legs, each with the message going out and its echo coming back.
      const { service: other, events } = serviceWithEvents();
      const opened = await other.openRecording(path, 'proxied.wsi');
      if (!opened.ok) throw new Error(opened.error);
      expect(opened.recording.connections).toBe(2);
      for (const leg of [clientLeg, serverLeg]) {
        const id = `${opened.recording.prefix}${leg.id}`;
        await eventually(() => ['in', 'out'].every((direction) => events.some((e) => e.type === 'message' && e.connectionId === id && e.direction === direction && e.text === 'through the proxy, recorded')), 5000, `both directions of ${leg.proxyLeg!.leg}`);
      }
      ws.terminate();
    } finally {
      await upstreamServer.close();
    }
  }, 30_000);
});
