/**
 * Proxy mode in the inspector service (issue 12): a ws client through the service's reverse
 * proxy to a ws echo server; both legs in the status list as one conversation, frames paired,
 * and the debugger on a leg: a frame held on the upstream leg, edited, arrives edited at the
 * real server; a frame injected towards the client; a non-loopback listen needs a yes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../src/core/bytes.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { acceptsTcp, eventually, openWs, wsMessages } from '../core/net/helpers.ts';
import { wsUpstream, type Upstream } from '../core/proxy/proxy-peers.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

let service: InspectorService | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await service?.dispose();
  await upstream?.close();
  [service, upstream] = [null, null];
});

function started(): { service: InspectorService; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  service = new InspectorService({ batchIntervalMs: 5 });
  service.onBatch((batch) => events.push(...eventsOf(batch)));
  return { service, events };
}

describe('service: proxy mode', () => {
  it('starts and stops one after another in the order asked: nothing is left listening behind the last stop', async () => {
    // Start, start again (other settings), stop: the later ones asked before the earlier ones have
    // finished (two clicks, two pages). The starts' ends must not undo the stop, nor leave a proxy
    // listening unseen (a relay nobody can stop).
    upstream = await wsUpstream();
    const { service } = started();
    const asked = [
      service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url }),
      service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url, origin: 'http://second.test' }),
      service.stopProxy(),
    ] as const;
    const [first, second, stopped] = await Promise.all(asked);
    expect(stopped).toEqual({ ok: true });
    expect(service.getStatus().proxy).toMatchObject({ running: false, url: null });
    for (const result of [first, second]) {
      if (!result.ok) throw new Error(result.error);
      expect(await acceptsTcp(result.url), result.url).toBe(false);
    }
    // A start asked while a stop is under way comes after it, and stays.
    const [, again] = await Promise.all([service.stopProxy(), service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url })]);
    if (!again.ok) throw new Error(again.error);
    expect(service.getStatus().proxy).toMatchObject({ running: true, url: again.url });
    expect(await acceptsTcp(again.url)).toBe(true);
  });

  it('relays a ws client to a ws server; both legs are one conversation; each copy names its original and the delay', async () => {
    upstream = await wsUpstream();
    const { service, events } = started();
    const result = await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url, origin: 'http://rewritten.test' });
    expect(result.ok).toBe(true);
    const url = (result as { url: string }).url;
    expect(service.getStatus().proxy).toMatchObject({ running: true, target: upstream.url, rewrite: expect.stringContaining('Origin → http://rewritten.test') });
    const ws = await openWs(url, { headers: { Origin: 'http://client.test' } });
    const messages = wsMessages(ws);
    ws.send('hello through');
    expect((await messages.next(5000)).data.toString()).toBe('hello through');
    expect(upstream.requests[0]!.headers.origin).toBe('http://rewritten.test');
    const legs = service.getStatus().connections.filter((c) => c.proxyLeg);
    expect(legs.map((c) => c.proxyLeg!.side).sort()).toEqual(['client', 'upstream']);
    const client = legs.find((c) => c.proxyLeg!.side === 'client')!;
    const up = legs.find((c) => c.proxyLeg!.side === 'upstream')!;
    expect(up.proxyLeg!.conversationId).toBe(client.id);
    expect(up.id).toBe(`${client.id}-upstream`);
    service.flush();
    const frame = (id: string, direction: 'in' | 'out') => events.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.connectionId === id && e.direction === direction && e.frame.opcode === 1)!;
    // client → server: the upstream leg's outgoing copy names the client leg's incoming original.
    const fromClient = frame(client.id, 'in');
    const toServer = frame(up.id, 'out');
    expect(toServer.frame.relay?.from).toEqual({ connectionId: client.id, frameId: fromClient.frame.frameId });
    expect(toServer.frame.relay!.delayUs).toBeGreaterThanOrEqual(0);
    // and back: the echo from the server becomes the client leg's outgoing copy.
    expect(frame(client.id, 'out').frame.relay?.from).toEqual({ connectionId: up.id, frameId: frame(up.id, 'in').frame.frameId });
    ws.close();
    await eventually(() => service.getStatus().connections.filter((c) => c.proxyLeg).every((c) => c.state === 'CLOSED'), 5000, 'both legs closed');
  });

  it('a frame held on the upstream leg and edited arrives edited at the server; a frame injected towards the client arrives', async () => {
    upstream = await wsUpstream({ silent: true });
    const { service } = started();
    const { url } = (await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url, upstreamDeflate: false })) as { url: string };
    const ws = await openWs(url);
    const messages = wsMessages(ws);
    await eventually(() => service.getStatus().connections.filter((c) => c.proxyLeg && c.state === 'OPEN').length === 2, 5000, 'both legs open');
    const up = service.getStatus().connections.find((c) => c.proxyLeg?.side === 'upstream')!;
    expect(service.setStepMode(up.id, true).ok).toBe(true);
    ws.send('original');
    await eventually(() => (service.getStatus().connections.find((c) => c.id === up.id)?.gate?.held.length ?? 0) === 1, 5000, 'the copy to be held');
    const held = service.getStatus().connections.find((c) => c.id === up.id)!.gate!.held[0]!;
    expect(held.direction).toBe('out');
    const edit = service.editHeld(up.id, held.holdId, { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true, payloadHex: toHex(utf8Encode('edited in flight')) });
    expect(edit.ok).toBe(true);
    expect(service.stepControl(up.id, 'resume').ok).toBe(true);
    await eventually(() => upstream!.messages.length === 1, 5000, 'the server to get the message');
    expect(upstream.messages[0]!.data.toString()).toBe('edited in flight');
    // Inject towards the client: a send on the client leg.
    const clientLeg = up.proxyLeg!.conversationId;
    expect(service.send({ connectionId: clientLeg, kind: 'text', text: 'injected' }).ok).toBe(true);
    expect((await messages.next(5000)).data.toString()).toBe('injected');
    ws.close();
  });

  it('fires fault presets at either side: the server and the client each answer as RFC 6455 expects; a fragmented message is injected towards the server', async () => {
    upstream = await wsUpstream({ silent: true });
    const { service } = started();
    const { url } = (await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: upstream.url })) as { url: string };
    const ws = await openWs(url);
    ws.on('error', () => {});
    await eventually(() => service.getStatus().connections.filter((c) => c.proxyLeg && c.state === 'OPEN').length === 2, 5000, 'both legs open');
    const up = service.getStatus().connections.find((c) => c.proxyLeg?.side === 'upstream')!;
    // A whole message in three frames, towards the server.
    expect(service.send({ connectionId: up.id, kind: 'text', text: 'one message, three frames', fragments: [4, 8] }).ok).toBe(true);
    await eventually(() => upstream!.messages.length === 1, 5000, 'the injected message');
    expect(upstream.messages[0]!.data.toString()).toBe('one message, three frames');
    // §5.5: a Ping with a 126-byte payload, at the server (ws) and at the client (ws): each fails it with 1002.
    const atServer = await service.firePreset(up.id, 'control-frame-too-long');
    expect(atServer).toMatchObject({ ok: true, outcome: { asExpected: true } });
    // The server's failure closed that conversation's client leg too (close-mapping.ts): a second client.
    const second = await openWs(url);
    second.on('error', () => {});
    await eventually(() => service.getStatus().connections.filter((c) => c.proxyLeg?.side === 'client' && c.state === 'OPEN').length === 1, 5000, 'the second conversation');
    const clientLeg = service.getStatus().connections.find((c) => c.proxyLeg?.side === 'client' && c.state === 'OPEN')!;
    expect(clientLeg.id).not.toBe(up.proxyLeg!.conversationId);
    const atClient = await service.firePreset(clientLeg.id, 'control-frame-too-long');
    expect(atClient).toMatchObject({ ok: true, outcome: { asExpected: true } });
    expect((atClient as { outcome: { actualText: string } }).outcome.actualText).toMatch(/1002/);
  });

  it('answers bad requests in one line and asks before listening where other machines can connect', async () => {
    const { service } = started();
    expect(await service.startProxy({ listen: 'http://x', target: 'ws://127.0.0.1:1/' })).toMatchObject({ ok: false, error: expect.stringMatching(/ws:\/\//) });
    expect(await service.startProxy({ listen: 'ws://127.0.0.1:0/', target: 'nonsense' })).toMatchObject({ ok: false });
    const refused = await service.startProxy({ listen: 'ws://0.0.0.0:0/', target: 'ws://127.0.0.1:1/' });
    expect(refused.ok).toBe(false);
    expect((refused as { confirm?: { prompt: string } }).confirm?.prompt).toMatch(/reverse proxy to 0\.0\.0\.0/);
    expect(service.getStatus().proxy?.running).toBe(false);
  });
});
