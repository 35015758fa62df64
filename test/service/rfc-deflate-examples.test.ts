/**
 * The RFC 7692 §7.2.3 examples sent to a live peer, as the gallery's Send crafts them
 * (renderer lib/rfc-example-send.ts through the service's craft): the ws package, with
 * permessage-deflate agreed, reads each example's DEFLATE bytes as the message it carries; and
 * our own next message still inflates right on its side, because craft empties our compressor's
 * window after DEFLATE bytes it did not make (without that, the back-reference into a window the
 * peer has and we lack would garble it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RFC_EXAMPLES } from '../../src/core/rfc-examples.ts';
import { rfcExampleSendFrames } from '../../src/renderer/src/lib/rfc-example-send.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { waitFor as until } from '../support/cli.ts';

let service: InspectorService;
let url: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  service = new InspectorService({ batchIntervalMs: 5 });
  const started = await service.startServer({ port: 0, app: 'manual', deflate: true });
  if (!started.ok) throw new Error(started.error);
  url = started.url;
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await service.stopServer();
});

async function peer(): Promise<{ id: string; messages: string[]; errors: string[] }> {
  const before = new Set(service.getStatus().connections.map((c) => c.id));
  const ws = new WebSocket(url); // permessage-deflate offered, as ws does by default
  sockets.push(ws);
  const messages: string[] = [];
  const errors: string[] = [];
  ws.on('message', (d) => messages.push(String(d)));
  ws.on('error', (e) => errors.push(e.message));
  await new Promise((r) => ws.once('open', r));
  const id = await until(() => service.getStatus().connections.find((c) => !before.has(c.id) && c.state === 'OPEN')?.id, 'the server connection');
  return { id, messages, errors };
}

// §7.2.3.4 ends the DEFLATE stream (BFINAL): a receiver must then start a new one for the next
// message, which is the peer's part; the ws package's inflater is asked the same as for the others.
describe.each(RFC_EXAMPLES.filter((e) => e.deflate).map((e) => [e.id, e] as const))('%s sent to the ws package', (_id, example) => {
  it('arrives as what it carries, and our next compressed message after it inflates right', async () => {
    const p = await peer();
    const ours = 'our own message, before and after the example';
    expect((await service.send({ connectionId: p.id, kind: 'text', text: ours })).ok).toBe(true);
    await until(() => p.messages.length === 1 || undefined, 'our first message at the peer');
    for (const frame of rfcExampleSendFrames(example, 'server')) {
      const r = await service.craft({ connectionId: p.id, frame });
      expect(r.ok).toBe(true);
    }
    const carried = example.carries.split(', ');
    await until(() => p.messages.length >= 1 + carried.length || p.errors.length > 0 || undefined, 'the example at the peer');
    expect(p.errors).toEqual([]);
    expect(p.messages).toEqual([ours, ...carried]);
    // The same message again from our compressor: with its window kept, it would be a back-reference
    // to our first copy, at a distance that lands in the example's bytes in the peer's window.
    expect((await service.send({ connectionId: p.id, kind: 'text', text: ours })).ok).toBe(true);
    await until(() => p.messages.length > 1 + carried.length || p.errors.length > 0 || undefined, 'our message again at the peer');
    expect(p.errors).toEqual([]);
    expect(p.messages.at(-1)).toBe(ours);
  });
});
