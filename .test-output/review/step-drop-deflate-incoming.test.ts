/**
 * Review (helper), FAILS on e157a84 (proposed fix in the review report): an incoming held compressed frame dropped in step mode never reaches our
 * inflater's window; the peer's next message refers back to it (context takeover) and our server
 * fails the connection blaming the peer (WS_ERR_INFLATE_FAILED, 1007), though the peer sent valid
 * DEFLATE. Expected: no violation is attributed to the peer for what the user dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../../src/core/net/connection.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';

const TEXT = 'the same sentence, long enough for LZ77 to find it again. '.repeat(4);
let server: WebSocketServer;
let url: string;
const traced: TraceEvent[] = [];
beforeAll(async () => {
  const tracer = new Tracer();
  tracer.subscribe((e) => traced.push(e));
  server = new WebSocketServer({ port: 0, host: '127.0.0.1', component: { name: 'manual' }, tracer });
  url = (await server.listen()).url;
});
afterAll(() => server.close());

describe('step mode, incoming compressed frame dropped', () => {
  it('the next message from the peer is not reported as the peer\'s DEFLATE violation', async () => {
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
    let closed: number | null = null;
    ws.on('close', (code) => (closed = code));
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    let conn: Connection | undefined;
    for (let i = 0; i < 200 && !conn; i++) {
      conn = server.openConnections()[0];
      if (!conn) await new Promise((r) => setTimeout(r, 10));
    }
    conn!.setStepMode(true);
    ws.send(TEXT);
    ws.send(TEXT);
    for (let i = 0; i < 300 && (conn!.gateSnapshot()?.held.length ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const held = conn!.gateSnapshot()!.held;
    expect(held.map((h) => h.direction)).toEqual(['in', 'in']);
    conn!.dropHeld(held[0]!.holdId);
    conn!.resume();
    for (let i = 0; i < 100 && closed === null; i++) await new Promise((r) => setTimeout(r, 10));
    const violations = traced.filter((e) => e.type === 'violation').map((e) => (e.type === 'violation' ? `${e.violation.code} ${e.violation.message}` : ''));
    expect({ violations, closed }).toEqual({ violations: [], closed: null });
    ws.terminate();
  });
});
