/**
 * The relay's two ways of copying a message (src/core/proxy/relay.ts): a frame from the upstream
 * that nothing changes goes to the client as the bytes it came in (Connection.sendFrameAsReceived);
 * anything held, edited or compressed on the way is framed again. Either way the client gets the
 * same bytes and the trace reads the same: header, payload, message and pairing.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../../src/core/trace.ts';
import { eventually, openWs, wsMessages } from '../net/helpers.ts';
import { clientLegId, closeAll, frames, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
});

type FrameEvent = Extract<TraceEvent, { type: 'frame' }>;
type MessageEvent = Extract<TraceEvent, { type: 'message' }>;

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** What the trace says of a frame, all but its id, time and relay: header fields, wire bytes, payload. */
function anatomy(f: FrameEvent['frame']) {
  return {
    fin: f.fin, rsv: [f.rsv1, f.rsv2, f.rsv3], opcode: f.opcode, masked: f.masked, maskKey: f.maskKey, lengthField: f.lengthField,
    payloadLength: f.payloadLength, headerLength: f.headerLength, raw: hex(f.raw), payload: hex(f.payload),
  };
}

function messages(events: readonly TraceEvent[], connectionId: string, direction: 'in' | 'out'): MessageEvent[] {
  return events.filter((e): e is MessageEvent => e.type === 'message' && e.connectionId === connectionId && e.direction === direction);
}

/** The echoes' frames on both legs of the first conversation: the upstream's (in) and the client's copies (out). */
function echoes(p: StartedProxy) {
  const client = clientLegId(p.events);
  const up = `${client}-upstream`;
  return { client, up, upIn: frames(p.events, up, 'in'), clientOut: frames(p.events, client, 'out') };
}

describe('relay: copies from the upstream to the client', () => {
  it('a frame nothing changes goes on as the bytes it came in (7-, 16- and 64-bit lengths, text and binary), traced and paired as a copy', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const received = wsMessages(ws);
    const sent: Array<string | Buffer> = ['héllo ✓', Buffer.alloc(64, 7), Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff)), Buffer.alloc(70_000, 9)];
    for (const m of sent) {
      ws.send(m);
      const back = await received.next(5000);
      expect(typeof m === 'string' ? back.data.toString() : back.data.equals(m)).toBe(typeof m === 'string' ? m : true);
    }
    const { client, up, upIn, clientOut } = echoes(proxy);
    await eventually(() => frames(proxy!.events, client, 'out').length >= sent.length, 2000, 'the copies traced');
    expect(upIn).toHaveLength(sent.length);
    expect(clientOut).toHaveLength(sent.length);
    for (let i = 0; i < sent.length; i++) {
      const original = upIn[i]!.frame;
      const copy = clientOut[i]!.frame;
      // The very bytes received: not framed again, not copied.
      expect(copy.raw).toBe(original.raw);
      expect(anatomy(copy)).toEqual(anatomy(original));
      expect(copy.relay?.from).toEqual({ connectionId: up, frameId: original.frameId });
      expect(copy.relay!.delayUs).toBeGreaterThanOrEqual(0);
    }
    // The message events on the client leg: as sendFragmented traces them (one frame each, its id; text decoded).
    const outMessages = messages(proxy.events, client, 'out');
    expect(outMessages.map((m) => [m.opcode, m.size, m.frameIds, m.text ?? hex(m.data!)])).toEqual(
      messages(proxy.events, up, 'in').map((m, i) => [m.opcode, m.size, [clientOut[i]!.frame.frameId], m.text ?? hex(m.data!)]),
    );
    ws.close();
  });

  it('traced as rows (a TraceLog with subscribeRows): every data frame and message is a row, each copy paired with its original in order', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url, keep: 'rows' });
    const ws = await openWs(proxy.url);
    const received = wsMessages(ws);
    const sent = ['a', 'bb', 'héllo ✓', Buffer.alloc(64, 3), Buffer.alloc(5000, 4), Buffer.alloc(70_000, 5)];
    for (const m of sent) ws.send(m); // several in one read
    for (const m of sent) expect((await received.next(5000)).data.equals(Buffer.from(m))).toBe(true);
    await eventually(() => echoes(proxy!).clientOut.length === sent.length, 2000, 'the copies traced');
    const { client, up, upIn, clientOut } = echoes(proxy);
    const clientIn = frames(proxy.events, client, 'in');
    const upOut = frames(proxy.events, up, 'out');
    expect(upOut.map((f) => f.frame.relay?.from)).toEqual(clientIn.map((f) => ({ connectionId: client, frameId: f.frame.frameId })));
    expect(clientOut.map((f) => f.frame.relay?.from)).toEqual(upIn.map((f) => ({ connectionId: up, frameId: f.frame.frameId })));
    for (const f of [...upOut, ...clientOut]) expect(f.frame.relay!.delayUs).toBeGreaterThanOrEqual(0);
    // Same plain bytes on both legs, masked towards the server (§5.1), not towards the client.
    expect(upOut.map((f) => [f.frame.masked, hex(f.frame.payload)])).toEqual(clientIn.map((f) => [true, hex(f.frame.payload)]));
    expect(clientOut.map((f) => [f.frame.masked, hex(f.frame.raw)])).toEqual(upIn.map((f) => [false, hex(f.frame.raw)]));
    // Rows, not objects: only the events that are neither a data frame nor a message were kept as objects.
    const events = proxy.events;
    const other = events.filter((e) => !(e.type === 'message' || (e.type === 'frame' && e.frame.opcode <= 2))).length;
    expect(events.filter((e) => e.type === 'message')).toHaveLength(4 * sent.length);
    expect(proxy.log!.objectCount).toBeLessThanOrEqual(other);
    ws.close();
  });

  it('with a step-mode gate on the client leg the copy is framed again: same bytes, same trace, held and released as before', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const received = wsMessages(ws);
    ws.send(Buffer.alloc(64, 1)); // the relay is running once the first echo is back
    await received.next(5000);
    const clientLeg = [...proxy.proxy.conversations][0]!.client!;
    clientLeg.setStepMode(true);
    ws.send(Buffer.alloc(64, 2));
    await eventually(() => (clientLeg.gateSnapshot()?.held.length ?? 0) === 1, 5000, 'the copy to be held');
    clientLeg.resume();
    expect((await received.next(5000)).data.equals(Buffer.alloc(64, 2))).toBe(true);
    await eventually(() => echoes(proxy!).clientOut.length === 2, 2000, 'the held copy traced');
    const { up, upIn, clientOut } = echoes(proxy);
    const [first, second] = [0, 1].map((i) => ({ original: upIn[i]!.frame, copy: clientOut[i]!.frame }));
    expect(first!.copy.raw).toBe(first!.original.raw);
    // Held on its way out: framed anew by the protocol, so other bytes objects with the same content.
    expect(second!.copy.raw).not.toBe(second!.original.raw);
    expect(anatomy(second!.copy)).toEqual(anatomy(second!.original));
    expect(second!.copy.relay?.from).toEqual({ connectionId: up, frameId: second!.original.frameId });
    ws.close();
  });

  it('a frame edited in step mode on the upstream leg is framed again from its edited payload', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const received = wsMessages(ws);
    ws.send('one');
    await received.next(5000);
    const upLeg = [...proxy.proxy.conversations][0]!.upstream!;
    upLeg.setStepMode(true);
    ws.send('two');
    // Step mode holds both ways: the copy going upstream first, then the echo coming back.
    await eventually(() => (upLeg.gateSnapshot()?.held.some((h) => h.direction === 'out') ?? false), 5000, 'the copy upstream to be held');
    upLeg.step('out');
    await eventually(() => (upLeg.gateSnapshot()?.held.some((h) => h.direction === 'in') ?? false), 5000, 'the echo to be held');
    const held = upLeg.gateSnapshot()!.held.find((h) => h.direction === 'in')!;
    expect(upLeg.editHeld(held.holdId, Uint8Array.from([0x81, 0x03, ...Buffer.from('TWO')]))).toBe(true);
    upLeg.resume();
    expect((await received.next(5000)).data.toString()).toBe('TWO');
    await eventually(() => echoes(proxy!).clientOut.length === 2, 2000, 'the copy traced');
    const { upIn, clientOut } = echoes(proxy);
    const original = upIn[1]!.frame;
    const copy = clientOut[1]!.frame;
    expect(original.edited).toBeDefined();
    expect(copy.raw).not.toBe(original.raw);
    expect(hex(copy.raw)).toBe(hex(Uint8Array.from([0x81, 0x03, ...Buffer.from('TWO')])));
    expect(copy.relay?.from.frameId).toBe(original.frameId);
    ws.close();
  });
});
