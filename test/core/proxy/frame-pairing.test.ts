/**
 * Frame pairing with the debugger on the proxy (issue 12): a frame held by step mode and released
 * later, edited, dropped, or with an injected frame beside it is still paired with its counterpart
 * on the other leg, and the delay the proxy added counts the time it was held. Real peers: a `ws`
 * client through our reverse proxy to a `ws` echo server.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/core/frame-codec.ts';
import type { ProxyConversation } from '../../../src/core/proxy/conversation.ts';
import { FramePairing } from '../../../src/core/proxy/frame-pairing.ts';
import type { TracedRelay, TraceRows, TraceSink } from '../../../src/core/trace.ts';
import { eventually, openWs, wsMessages } from '../net/helpers.ts';
import { clientLegId, closeAll, frames, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
});

const HOLD_MS = 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (f: { frame: { payload: Uint8Array } }) => Buffer.from(f.frame.payload).toString('utf8');

async function relaying(): Promise<ProxyConversation> {
  await eventually(() => proxy!.proxy.conversations.size === 1 && [...proxy!.proxy.conversations][0]!.relay !== null, 5000, 'the relay');
  return [...proxy!.proxy.conversations][0]!;
}

/** The client leg's incoming data frame carrying this text, and the upstream leg's outgoing one. */
function pairOf(body: string) {
  const client = clientLegId(proxy!.events);
  const original = frames(proxy!.events, client, 'in').find((f) => text(f) === body);
  return { client, original };
}

describe.each(['objects', 'rows'] as const)('frame pairing with step mode on the proxy (trace kept as %s)', (keep) => {
  it('a copy held on its way to the server is paired when released, its delay counting the hold', async () => {
    upstream = await wsUpstream({ silent: true });
    proxy = await startProxy({ target: upstream.url, keep });
    const ws = await openWs(proxy.url);
    const conversation = await relaying();
    const upstreamLeg = conversation.upstream!;
    upstreamLeg.setStepMode(true);
    ws.send('held on the way out');
    await eventually(() => (upstreamLeg.gateSnapshot()?.held.length ?? 0) === 1, 5000, 'the copy to be held');
    await sleep(HOLD_MS);
    upstreamLeg.resume();
    await eventually(() => upstream!.messages.length === 1, 5000, 'the copy upstream');
    const { client, original } = pairOf('held on the way out');
    const copy = frames(proxy.events, `${client}-upstream`, 'out').find((f) => text(f) === 'held on the way out');
    expect(original).toBeDefined();
    expect(copy?.frame.relay?.from).toEqual({ connectionId: client, frameId: original!.frame.frameId });
    expect(copy!.frame.relay!.delayUs).toBeGreaterThanOrEqual(HOLD_MS * 1000 * 0.9);
    ws.close();
    await proxy.allFreed();
  });

  it('a frame held as it arrives from the client is paired with its copy, the delay running from its arrival', async () => {
    upstream = await wsUpstream({ silent: true });
    proxy = await startProxy({ target: upstream.url, keep });
    const ws = await openWs(proxy.url);
    const clientLeg = (await relaying()).client!;
    clientLeg.setStepMode(true);
    ws.send('held on the way in');
    await eventually(() => (clientLeg.gateSnapshot()?.held.length ?? 0) === 1, 5000, 'the frame to be held');
    await sleep(HOLD_MS);
    expect(upstream.messages).toHaveLength(0);
    clientLeg.step('in');
    await eventually(() => upstream!.messages.length === 1, 5000, 'the copy upstream');
    const { client, original } = pairOf('held on the way in');
    const copy = frames(proxy.events, `${client}-upstream`, 'out').find((f) => text(f) === 'held on the way in');
    expect(copy?.frame.relay?.from).toEqual({ connectionId: client, frameId: original!.frame.frameId });
    expect(copy!.frame.relay!.delayUs).toBeGreaterThanOrEqual(HOLD_MS * 1000 * 0.9);
    clientLeg.resume();
    ws.close();
    await proxy.allFreed();
  });

  it('an edited copy, a dropped copy and an injected frame: the edit is paired, the dropped one has no copy, the injected one no original', async () => {
    upstream = await wsUpstream({ silent: true });
    proxy = await startProxy({ target: upstream.url, keep });
    const ws = await openWs(proxy.url);
    const upstreamLeg = (await relaying()).upstream!;
    upstreamLeg.setStepMode(true);
    ws.send('edit me');
    ws.send('drop me');
    await eventually(() => (upstreamLeg.gateSnapshot()?.held.length ?? 0) === 2, 5000, 'both copies to be held');
    upstreamLeg.sendText('injected'); // queued behind the held copies
    const [edit, drop] = upstreamLeg.gateSnapshot()!.held;
    // The upstream leg is a client: its frames are masked (§5.3).
    expect(upstreamLeg.editHeld(edit!.holdId, encodeFrame({ opcode: 1, payload: Buffer.from('edited') }, Uint8Array.of(1, 2, 3, 4)))).toBe(true);
    expect(upstreamLeg.dropHeld(drop!.holdId)).toBe(true);
    ws.send('after');
    await sleep(20);
    upstreamLeg.resume();
    await eventually(() => upstream!.messages.length === 3, 5000, 'three messages upstream');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['edited', 'injected', 'after']);

    const client = clientLegId(proxy.events);
    const clientIn = frames(proxy.events, client, 'in');
    const idOf = (body: string) => clientIn.find((f) => text(f) === body)!.frame.frameId;
    const upOut = frames(proxy.events, `${client}-upstream`, 'out').filter((f) => f.frame.opcode === 1);
    expect(upOut.map((f) => [text(f), f.frame.relay?.from.frameId ?? null])).toEqual([
      ['edited', idOf('edit me')],
      ['injected', null],
      ['after', idOf('after')],
    ]);
    expect(upOut[0]!.frame.edited).toBeDefined();
    expect(upOut.some((f) => f.frame.relay?.from.frameId === idOf('drop me'))).toBe(false);
    ws.close();
    await proxy.allFreed();
  });

  it('the server\'s echo held on its way to the client is paired with the server\'s frame', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url, keep });
    const ws = await openWs(proxy.url);
    const messages = wsMessages(ws);
    const clientLeg = (await relaying()).client!;
    clientLeg.setBreakpoints([{ id: 'texts out', direction: 'out', opcodes: [1], enabled: true }]);
    ws.send('echo me');
    await eventually(() => (clientLeg.gateSnapshot()?.held.length ?? 0) === 1, 5000, 'the echo to be held');
    await sleep(HOLD_MS);
    clientLeg.resume();
    expect((await messages.next(5000)).data.toString()).toBe('echo me');
    const client = clientLegId(proxy.events);
    const echoIn = frames(proxy.events, `${client}-upstream`, 'in').find((f) => text(f) === 'echo me')!;
    const echoOut = frames(proxy.events, client, 'out').find((f) => text(f) === 'echo me')!;
    expect(echoOut.frame.relay?.from).toEqual({ connectionId: `${client}-upstream`, frameId: echoIn.frame.frameId });
    expect(echoOut.frame.relay!.delayUs).toBeGreaterThanOrEqual(HOLD_MS * 1000 * 0.9);
    ws.close();
    await proxy.allFreed();
  });
});

describe('frame pairing of many waiting frames (the pairing alone, rows in and out)', () => {
  it('each copy names its own original, in order, however many frames wait and however many each message takes; control frames wait apart', () => {
    const pairing = new FramePairing();
    const copies: Array<TracedRelay | undefined> = [];
    const rows: TraceRows = { ready: true, frame: (direction, _id, _raw, _payload, relay) => void (direction === 'out' && copies.push(relay)), message: () => {}, bytes: () => {} };
    const sink: TraceSink = Object.assign(() => {}, { rows });
    const clientRows = pairing.wrap('client', sink).rows!;
    const upstreamRows = pairing.wrap('upstream', sink).rows!;
    const leg = (id: string) => ({ id, releasingHeldSince: null, gateSnapshot: () => null });
    const fromClient = pairing.attach(leg('client'));
    const toUpstream = pairing.attach(leg('upstream'));
    const binary = Uint8Array.of(0x82, 0);
    const ping = Uint8Array.of(0x89, 0);
    let frameId = 0;
    const waiting: number[] = [];
    const pings: number[] = [];
    const copy = (originals: number[], frames: number): Array<TracedRelay | undefined> => {
      copies.length = 0;
      toUpstream.beginCopy('client', originals);
      for (let i = 0; i < frames; i++) upstreamRows.frame('out', 10_000 + i, binary, binary.subarray(2));
      toUpstream.endCopy();
      return [...copies];
    };
    // Enough frames at once to outgrow any small queue, taken while more arrive (the queue wraps around).
    for (const [arriving, takes] of [[10, [1, 2, 3]], [30, [5, 1, 1]], [70, [20, 40, 1]], [3, [3, 4, 2]]] as const) {
      for (let i = 0; i < arriving; i++) {
        const isPing = i % 7 === 3;
        clientRows.frame('in', ++frameId, isPing ? ping : binary, binary.subarray(2));
        (isPing ? pings : waiting).push(frameId);
      }
      for (const count of takes) {
        const expected = waiting.splice(0, count);
        const relays = copy(fromClient.takeMessageFrames(count), count);
        // A message takes only the frames that wait; a copy beyond them has no original.
        expect(relays.map((r) => r?.from.frameId)).toEqual([...expected, ...Array(count - expected.length).fill(undefined)]);
        for (const r of relays.filter((x) => x !== undefined)) {
          expect(r.from.connectionId).toBe('client');
          expect(r.delayUs).toBeGreaterThanOrEqual(0);
        }
      }
    }
    // The rest in one message, and one more frame than wait.
    const rest = [...waiting];
    expect(copy(fromClient.takeMessageFrames(rest.length + 1), rest.length + 1).map((r) => r?.from.frameId)).toEqual([...rest, undefined]);
    for (const id of pings) expect(copy(fromClient.takeControlFrame(), 1)[0]?.from.frameId).toBe(id);
    expect(copy(fromClient.takeControlFrame(), 1)).toEqual([undefined]);
  });
});
