/**
 * The whole battery against our own engine, over real sockets on 127.0.0.1, in both directions:
 * our WebSocketServer with the echo component, and our connectClient with an echo handler.
 * Every case must pass strictly, Autobahn's "echo first" cases included (echo-first.ts).
 */
import { describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { runClientBattery, runServerBattery, selectCases, summaryLine, type ConformanceReport } from '../../../src/core/conformance/index.ts';
import { connectClient } from '../../../src/core/net/client.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { echoFirstIds, echoFirstOutcomes, problems } from './echo-first.ts';

/** The compressed cases (12, 13) agreed permessage-deflate and the peer's echoes came compressed (RSV1), so a silent fallback to plain frames cannot pass. */
function expectCompressed(report: ConformanceReport): void {
  const compressed = report.cases.filter((c) => c.category === 12 || c.category === 13);
  expect(compressed.length).toBeGreaterThanOrEqual(50);
  for (const c of compressed) {
    expect(c.wire.some((e) => e.type === 'note' && e.text.startsWith('permessage-deflate agreed')), c.id).toBe(true);
    expect(c.wire.some((e) => e.type === 'frame' && e.direction === 'in' && e.frame.rsv1), c.id).toBe(true);
  }
}

describe('conformance battery against our own engine', () => {
  it('our server (echo component) passes every case strictly', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent });
    const { url } = await server.listen();
    try {
      let seen = 0;
      const report = await runServerBattery(url, { concurrency: 4, timeScale: 2, onCase: () => seen++ });
      console.log(`our server: ${summaryLine(report)} in ${report.durationMs} ms`);
      expect(problems(report)).toEqual([]);
      expect(report.totals).toMatchObject({ total: selectCases('server').length, failed: 0 });
      expect(report.totals.passed).toBe(report.totals.total);
      expect(echoFirstOutcomes(report)).toEqual(Object.fromEntries(echoFirstIds.map((id) => [id, 'pass'])));
      expect(report.totals.total).toBeGreaterThanOrEqual(150);
      expect(seen).toBe(report.totals.total);
      expect(report.cases.map((c) => c.id)).toEqual(selectCases('server').map((c) => c.id)); // catalogue order, not completion order
      expectCompressed(report);
    } finally {
      await server.close();
    }
  }, 180_000);

  it('our client (connectClient with an echo handler) passes every case strictly', async () => {
    const report = await runClientBattery((url) => {
      const { connection } = connectClient(url, {
        onMessage(conn, message) {
          if (conn.state !== 'OPEN') return;
          if (message.text !== undefined) conn.sendText(message.text);
          else conn.sendBinary(message.data);
        },
      });
      return () => connection.destroy();
    }, { concurrency: 4, timeScale: 2 });
    console.log(`our client: ${summaryLine(report)} in ${report.durationMs} ms`);
    expect(problems(report)).toEqual([]);
    expectCompressed(report);
    expect(report.totals.failed).toBe(0);
    expect(report.totals.passed).toBe(selectCases('client').length);
  }, 180_000);
});
