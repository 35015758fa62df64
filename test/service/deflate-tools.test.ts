/**
 * The tools with permessage-deflate, through the service and its handlers: the byte stepper's
 * "permessage-deflate agreed" switch (an optional field of byteStepStart, validated), and the
 * crafter's "compress this payload" (compressed on its own; our compressor forgets its window
 * afterwards, so the peer keeps reading our messages right). Against the real `ws` package.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { toHex, utf8Encode } from '../../src/core/bytes.ts';
import { createHandlers } from '../../src/service/handlers.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { waitFor as until } from '../support/cli.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

let service: InspectorService;
let url: string;
const open: WebSocket[] = [];
const events: TraceEvent[] = [];

/** A ws client (permessage-deflate on, as by default) connected to the embedded server. */
async function peer(options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; id: string; messages: string[] }> {
  const before = new Set(service.getStatus().connections.map((c) => c.id));
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  open.push(ws);
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  await new Promise((r) => ws.once('open', r));
  const id = await until(() => service.getStatus().connections.find((c) => !before.has(c.id) && c.state === 'OPEN')?.id, 'the server connection');
  return { ws, id, messages };
}

const plainFrame = (payload: string) => ({ fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: 1, masked: false, payloadHex: toHex(utf8Encode(payload)) });

beforeAll(async () => {
  service = new InspectorService({ batchIntervalMs: 5 });
  service.onBatch((batch) => events.push(...eventsOf(batch)));
  const started = await service.startServer({ port: 0, app: 'manual' });
  if (!started.ok) throw new Error(started.error);
  url = started.url;
});
afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
});
afterAll(() => service.dispose());

describe('the byte stepper\'s "permessage-deflate agreed" switch, through the handlers', () => {
  const handlers = () => createHandlers(service);
  type Started = { ok: true; sessionId: number; snapshot: { deflate: boolean; violation: { code: string } | null; frames: Array<{ deflate?: { inflated: Uint8Array } }> } };

  it('steps the RFC 7692 §7.2.3.1 "Hello" with the switch on, and fails it with the switch off or left out (the old request shape)', () => {
    const hex = 'c1 07 f2 48 cd c9 c9 07 00';
    const on = handlers().byteStepStart({ hex, receiverRole: 'client', deflate: true }) as Started;
    expect(on.snapshot.deflate).toBe(true);
    const fed = service.byteStepFeed(on.sessionId, 100);
    if (!fed.ok) throw new Error(fed.error);
    expect(fed.snapshot.violation).toBeNull();
    expect(new TextDecoder().decode(fed.snapshot.frames[0]!.deflate!.inflated)).toBe('Hello');
    for (const request of [{ hex, receiverRole: 'client', deflate: false }, { hex, receiverRole: 'client' }]) {
      const off = handlers().byteStepStart(request) as Started;
      expect(off.snapshot.deflate).toBe(false);
      const end = service.byteStepFeed(off.sessionId, 100);
      expect(end.ok && end.snapshot.violation?.code).toBe('WS_ERR_RESERVED_BITS');
    }
  });

  it('refuses a deflate field that is not true or false before the service sees it', () => {
    expect(() => handlers().byteStepStart({ hex: '81 00', receiverRole: 'client', deflate: 'yes' })).toThrow(/deflate must be true or false/);
  });
});

describe('the crafter\'s "compress this payload"', () => {
  it('previews and sends the same compressed bytes, RSV1 set, tail stripped; ws reads the plain text', async () => {
    const { id, messages } = await peer();
    const preview = service.compressPayload(id, toHex(utf8Encode('Hello')));
    expect(preview).toEqual({ ok: true, compressedHex: 'f248cdc9c90700', windowBits: 15, zlibWindowBits: 15 });
    const sent = await service.craft({ connectionId: id, frame: { ...plainFrame('Hello'), compress: true } });
    expect(sent).toEqual({ ok: true, hex: 'c107f248cdc9c90700' });
    await until(() => messages.length === 1, 'the crafted message');
    expect(messages).toEqual(['Hello']);
    // The trace carries the plain side of the crafted frame.
    const frame = await until(() => events.find((e) => e.type === 'frame' && e.connectionId === id && e.direction === 'out' && e.frame.rsv1), 'the traced frame');
    expect(frame.type === 'frame' && frame.frame.deflate).toMatchObject({ first: true, inflatedLength: 5, tail: 'stripped' });
  });

  it('keeps the peer in step: after a crafted compressed frame, our next message refers to nothing before it', async () => {
    const { id, messages } = await peer();
    expect(service.send({ connectionId: id, kind: 'text', text: 'Hello' }).ok).toBe(true);
    await service.craft({ connectionId: id, frame: { ...plainFrame('World'), compress: true } });
    // With context takeover, a second "Hello" would be a back-reference 5 bytes back: into
    // "World" in the peer's window, had our compressor not forgotten its own.
    expect(service.send({ connectionId: id, kind: 'text', text: 'Hello' }).ok).toBe(true);
    await until(() => messages.length === 3, 'three messages');
    expect(messages).toEqual(['Hello', 'World', 'Hello']);
    const last = await until(() => events.filter((e) => e.type === 'message' && e.connectionId === id && e.direction === 'out').at(1), 'the second traced message');
    expect(last.type === 'message' && last.compression).toMatchObject({ contextTakeover: false, windowMessages: 0 });
    expect(last.type === 'message' && last.compression?.windowReason).toMatch(/crafted frame was compressed on its own/);
  });

  it('a compressed crafted frame queued behind one going out in timed pieces changes the window in force when it goes', async () => {
    const { id, messages } = await peer();
    const hello = 'hello world, hello world, hello world';
    const slow = service.craft({ connectionId: id, frame: { ...plainFrame('slow one'), rsv1: false }, writes: [3], delayMs: 300 });
    await new Promise((r) => setTimeout(r, 20));
    const queued = service.craft({ connectionId: id, frame: { ...plainFrame('XYZXYZXYZXYZ crafted'), compress: true } });
    // Sent while the slow one goes out: it waits behind it, and goes before the queued one.
    expect(service.send({ connectionId: id, kind: 'text', text: hello }).ok).toBe(true);
    expect((await slow).ok && (await queued).ok).toBe(true);
    // Refers back into the first hello, had our window not been emptied after it (where the crafted frame went).
    expect(service.send({ connectionId: id, kind: 'text', text: hello }).ok).toBe(true);
    await until(() => messages.length === 4, 'four messages');
    expect(messages).toEqual(['slow one', hello, 'XYZXYZXYZXYZ crafted', hello]);
  });

  it('says why it cannot compress on a connection without permessage-deflate', async () => {
    const { id } = await peer({ perMessageDeflate: false });
    expect(service.compressPayload(id, '48656c6c6f')).toEqual({ ok: false, error: expect.stringMatching(/permessage-deflate is not agreed on this connection/) });
    expect(await service.craft({ connectionId: id, frame: { ...plainFrame('Hello'), compress: true } })).toEqual({ ok: false, error: expect.stringMatching(/not agreed/) });
  });

  it('validates compress and compressPayload\'s request before the service sees them', () => {
    const handlers = createHandlers(service);
    expect(() => handlers.craft({ connectionId: 'x', frame: { ...plainFrame('a'), compress: 'yes' } })).toThrow(/frame.compress must be true or false/);
    expect(() => handlers.compressPayload({ connectionId: 'x' })).toThrow(/payloadHex must be a string/);
  });
});
