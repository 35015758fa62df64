/**
 * Dropping a held incoming frame in step mode (src/core/frame-gate.ts drop, Connection.dropHeld,
 * WebSocketProtocol.receiveDroppedFrame), against a real peer (ws). The application never gets the
 * message a dropped frame belongs to, but the peer's stream after it is still read as the peer sent
 * it: the next fragments of a fragmented message (§5.4), and with permessage-deflate the shared
 * decompression window the peer's next messages refer back to (RFC 7692 §7.2.2). Before, a dropped
 * frame never reached the protocol, and what came after it was failed as the peer's violation
 * (1002 for a fragment, 1007 "invalid distance too far back" for deflate) though the peer was right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../../src/core/trace.ts';
import { eventually } from './helpers.ts';

const TEXT = 'the same sentence, long enough for LZ77 to find it again. ';

let server: WebSocketServer;
let url: string;
const traced: TraceEvent[] = [];
const received: string[] = [];
beforeAll(async () => {
  const tracer = new Tracer();
  tracer.subscribe((e) => traced.push(e));
  server = new WebSocketServer({
    port: 0, host: '127.0.0.1', tracer,
    component: { name: 'collect', onMessage: (_c, m) => void received.push(m.text ?? `binary ${m.data.length}`) },
  });
  url = (await server.listen()).url;
});
afterAll(() => server.close());

const until = (what: () => boolean, label: string) => eventually(what, 5000, label);

/** A ws client on our server in step mode, its connection, and how ws saw the close. */
async function openInStepMode(deflate: boolean) {
  const before = new Set(server.openConnections());
  const ws = new WebSocket(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
  const closed: { code: number | null } = { code: null };
  ws.on('close', (code) => (closed.code = code));
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  let conn: Connection | undefined;
  await until(() => (conn = server.openConnections().find((c) => !before.has(c))) !== undefined, 'the connection');
  expect(conn!.protocol.agreedExtension?.name ?? null).toBe(deflate ? 'permessage-deflate' : null);
  conn!.setStepMode(true);
  return { ws, conn: conn!, closed };
}

const heldIn = (conn: Connection) => conn.gateSnapshot()?.held.filter((h) => h.direction === 'in') ?? [];
const violationsOf = (conn: Connection) => traced.filter((e) => e.type === 'violation' && e.connectionId === conn.id);
const notesOf = (conn: Connection) => traced.flatMap((e) => (e.type === 'note' && e.connectionId === conn.id ? [e.text] : []));

describe('dropping a held incoming frame', () => {
  it('with permessage-deflate: the message is not delivered, and the ones after it inflate as the peer sent them', async () => {
    received.length = 0;
    const { ws, conn, closed } = await openInStepMode(true);
    ws.send(`${TEXT}one`);
    ws.send(`${TEXT}two`); // refers back into "one" (context takeover)
    await until(() => heldIn(conn).length === 2, 'two held frames');
    expect(conn.dropHeld(heldIn(conn)[0]!.holdId)).toBe(true);
    conn.resume();
    ws.send(`${TEXT}three`);
    await until(() => received.length === 2 || closed.code !== null, 'two messages');
    expect({ received, closed: closed.code, violations: violationsOf(conn) }).toEqual({ received: [`${TEXT}two`, `${TEXT}three`], closed: null, violations: [] });
    expect(notesOf(conn)).toContain('A text message (1 frame) was read and not delivered: a frame of it was dropped in step mode.');
    ws.terminate();
  });

  it('with permessage-deflate: a frame dropped behind one still held goes in its turn', async () => {
    received.length = 0;
    const { ws, conn, closed } = await openInStepMode(true);
    for (const n of ['one', 'two', 'three']) ws.send(`${TEXT}${n}`);
    await until(() => heldIn(conn).length === 3, 'three held frames');
    const [one, two, three] = heldIn(conn);
    expect(conn.dropHeld(two!.holdId)).toBe(true);
    // Hidden from the held list at once, read only after "one".
    expect(heldIn(conn).map((h) => h.holdId)).toEqual([one!.holdId, three!.holdId]);
    expect(received).toEqual([]);
    conn.step('in');
    await until(() => received.length === 1, 'the first message');
    expect(heldIn(conn).map((h) => h.holdId)).toEqual([three!.holdId]);
    conn.step('in');
    await until(() => received.length === 2 || closed.code !== null, 'the third message');
    expect({ received, closed: closed.code, violations: violationsOf(conn) }).toEqual({ received: [`${TEXT}one`, `${TEXT}three`], closed: null, violations: [] });
    ws.terminate();
  });

  it('a fragment of a fragmented message: that message is not delivered, the next one is, no violation', async () => {
    received.length = 0;
    const { ws, conn, closed } = await openInStepMode(false);
    ws.send('frag-', { fin: false });
    ws.send('ment', { fin: true });
    ws.send('next');
    await until(() => heldIn(conn).length === 3, 'three held frames');
    // The continuation, behind the first fragment: before, the first fragment then "next" failed as 1002.
    expect(conn.dropHeld(heldIn(conn)[1]!.holdId)).toBe(true);
    conn.resume();
    await until(() => received.length === 1 || closed.code !== null, 'the next message');
    await new Promise((r) => setTimeout(r, 50));
    expect({ received, closed: closed.code, violations: violationsOf(conn) }).toEqual({ received: ['next'], closed: null, violations: [] });
    expect(notesOf(conn)).toContain('A text message (2 frames) was read and not delivered: a frame of it was dropped in step mode.');
    // Still open both ways: an echo of sorts.
    conn.sendText('still here');
    const reply = await new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    expect(reply).toBe('still here');
    ws.terminate();
  });

  it('a dropped Ping gets no Pong, and a dropped outgoing frame never goes on the wire', async () => {
    received.length = 0;
    const { ws, conn } = await openInStepMode(false);
    const pongs: string[] = [];
    ws.on('pong', (d) => pongs.push(String(d)));
    ws.ping('dropped');
    await until(() => heldIn(conn).length === 1, 'the held ping');
    expect(conn.dropHeld(heldIn(conn)[0]!.holdId)).toBe(true);
    conn.sendText('never');
    const out = conn.gateSnapshot()!.held.filter((h) => h.direction === 'out');
    expect(out).toHaveLength(1);
    expect(conn.dropHeld(out[0]!.holdId)).toBe(true);
    conn.resume();
    ws.ping('kept');
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(String(d)));
    await until(() => pongs.length === 1, 'a pong');
    await new Promise((r) => setTimeout(r, 50));
    expect({ pongs, messages }).toEqual({ pongs: ['kept'], messages: [] });
    expect(notesOf(conn)).toEqual(expect.arrayContaining([expect.stringMatching(/^Held frame \d+ dropped: it never goes on the wire\.$/)]));
    ws.terminate();
  });
});
