/**
 * What the debugger on the proxy will build on (issue 12, not built here): the relay's forward
 * hook replaces or drops an item in flight, and each leg is a Connection whose frame gate (step
 * mode) holds what the relay sends until it is stepped. Real peers on both sides.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { eventually, openWs, wsMessages } from '../net/helpers.ts';
import { closeAll, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
});

describe('proxy: hooks for the debugger', () => {
  it('the forward hook edits a message in flight and drops another; the far end gets the edit, never the dropped one', async () => {
    upstream = await wsUpstream({ silent: true });
    proxy = await startProxy({
      target: upstream.url,
      forward: (item, from) => {
        if (from !== 'client' || item.kind !== 'message') return item;
        const text = item.message.text;
        if (text === 'drop me') return null;
        if (text === 'secret') return { kind: 'message', message: { opcode: 1, data: new TextEncoder().encode('redacted'), text: 'redacted' } };
        return item;
      },
    });
    const ws = await openWs(proxy.url);
    for (const text of ['hello', 'secret', 'drop me', 'bye']) ws.send(text);
    await eventually(() => upstream!.messages.length === 3, 5000, 'three messages upstream');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['hello', 'redacted', 'bye']);
    ws.close();
    await proxy.allFreed();
  });

  it('step mode on the upstream leg holds the relayed frame until it is stepped', async () => {
    upstream = await wsUpstream();
    proxy = await startProxy({ target: upstream.url });
    const ws = await openWs(proxy.url);
    const messages = wsMessages(ws);
    await eventually(() => proxy!.proxy.conversations.size === 1 && [...proxy!.proxy.conversations][0]!.relay !== null, 5000, 'the relay');
    const upstreamLeg = [...proxy.proxy.conversations][0]!.upstream!;
    upstreamLeg.setStepMode(true);
    ws.send('held');
    await eventually(() => (upstreamLeg.gateSnapshot()?.held.length ?? 0) === 1, 5000, 'the frame to be held');
    await new Promise((r) => setTimeout(r, 100));
    expect(upstream.messages).toHaveLength(0);
    upstreamLeg.resume();
    expect((await messages.next(5000)).data.toString()).toBe('held');
    expect(upstream.messages.map((m) => m.data.toString())).toEqual(['held']);
    ws.close();
    await proxy.allFreed();
  });
});
