/**
 * scripts/bench-read-holding.ts: its server, in a process of its own, echoes a burst that arrives in
 * one write byte-exact and in order whether it holds reads (hold-1ms) or not (none), and its report
 * is built from the figures it is given. Checks the script, never the performance (that depends on
 * the machine and is the benchmark's to say).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { holdingEcho, holdServers, holdWorkloads, renderReadHolding, startHoldingServer, summariseReadHolding, type HoldMode, type HoldSample, type ReadHoldingResults } from '../../scripts/bench-read-holding.ts';
import type { RunningServer } from '../../scripts/bench-server-cpu.ts';

const started: RunningServer[] = [];
afterAll(() => {
  for (const s of started) s.child.kill('SIGKILL');
});

/** Sends `payloads` in one corked write and collects as many echoes. */
function burstEcho(url: string, payloads: readonly Buffer[]): Promise<Buffer[]> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const echoes: Buffer[] = [];
    ws.on('error', fail);
    ws.on('open', () => {
      const socket = (ws as unknown as { _socket: Socket })._socket;
      socket.cork();
      for (const p of payloads) ws.send(p, { binary: true });
      socket.uncork();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) fail(new Error('a text echo for a binary message'));
      echoes.push(Buffer.from(data));
      if (echoes.length === payloads.length) {
        ws.close();
        done(echoes);
      }
    });
    ws.on('close', () => {
      if (echoes.length < payloads.length) fail(new Error(`closed after ${echoes.length} of ${payloads.length} echoes`));
    });
  });
}

describe('read-holding server', () => {
  for (const mode of ['hold-1ms', 'none'] as HoldMode[]) {
    it(`${mode}: echoes a burst of 50 messages sent in one write, byte-exact and in order, on two connections in turn`, async () => {
      const server = await startHoldingServer(mode);
      started.push(server);
      expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
      // Sizes from 1 byte to 70 KB: several frames per read, and frames that span reads (a 64 KiB read).
      const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(i === 25 ? 70_000 : 1 + ((i * 37) % 300)));
      for (let pass = 0; pass < 2; pass++) {
        const echoes = await burstEcho(server.url, payloads);
        expect(echoes).toHaveLength(payloads.length);
        echoes.forEach((e, i) => expect(e.equals(payloads[i]!), `message ${i} in pass ${pass}`).toBe(true));
      }
      server.child.kill('SIGKILL');
    }, 30_000);
  }
});

describe('holdingEcho', () => {
  // In this process, to count the holds: the same component the script's server runs.
  for (const [mode, holds] of [['hold-1ms', 'some'], ['hold-next-turn', 'some'], ['none', 'none']] as const) {
    it(`${mode}: ${holds === 'some' ? 'pauses reading after a read of several messages and resumes' : 'never pauses reading'}, losing nothing`, async () => {
      let pauses = 0;
      const component = holdingEcho(mode);
      const server = new WebSocketServer({
        host: '127.0.0.1', port: 0, deflate: false,
        component: {
          ...component,
          onOpen(conn) {
            const pauseReading = conn.pauseReading.bind(conn);
            conn.pauseReading = () => (pauses++, pauseReading());
          },
        },
      });
      const { url } = await server.listen();
      try {
        const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(1 + i));
        const echoes = await burstEcho(url, payloads);
        echoes.forEach((e, i) => expect(e.equals(payloads[i]!), `message ${i}`).toBe(true));
        if (holds === 'some') expect(pauses).toBeGreaterThan(0);
        else expect(pauses).toBe(0);
      } finally {
        await server.close();
      }
    });
  }
});

describe('renderReadHolding', () => {
  // One round, one cell per server and workload: CPU µs per message and msgs/s chosen per server.
  const cpuUs: Record<string, number> = { ours: 6, none: 6.2, 'hold-next-turn': 6.1, 'hold-1ms': 2, ws: 8 };
  const rate: Record<string, number> = { ours: 150_000, none: 160_000, 'hold-next-turn': 158_000, 'hold-1ms': 120_000, ws: 100_000 };
  const samples: HoldSample[] = holdWorkloads.flatMap((w) => holdServers.map((server) => ({
    server, workload: w.id, round: 0, seconds: 0.5, messages: rate[server]! / 2, cpuSeconds: (cpuUs[server]! * rate[server]!) / 2 / 1e6,
  })));
  const results: ReadHoldingResults = {
    date: '2026-11-29T04:00:00.000Z', node: 'v20.0.0', commit: 'abc1234', rounds: 1, cellMs: 500, warmupMs: 150,
    load: { start: 0.5, end: 0.75 }, rows: summariseReadHolding(samples), samples,
  };
  const md = renderReadHolding(results);
  const tableRows = md.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| workload') && !line.startsWith('| ---'));

  it('has a row per workload with every server\'s CPU and rate, and the ratios computed from them', () => {
    expect(tableRows).toHaveLength(holdWorkloads.length);
    const first = tableRows[0]!.split(' | ');
    expect(first[0]).toBe(`| ${holdWorkloads[0]!.description}`);
    // ours, none, hold-next-turn, hold-1ms, ws
    expect(first.slice(1, 6)).toEqual(['6.00 · 150,000', '6.20 · 160,000', '6.10 · 158,000', '2.00 · 120,000', '8.00 · 100,000']);
    expect(first[6]).toBe((2 / 8).toFixed(2)); // hold-1ms / ws CPU
    expect(first[7]).toBe((6 / 8).toFixed(2)); // ours / ws CPU
    expect(first[8]).toBe('−25 % |'); // 120,000 / 160,000 − 1
  });

  it('says what the figures mean, from the figures', () => {
    expect(md).toContain('load average 0.50 → 0.75');
    expect(md).toContain('code abc1234');
    expect(md).toContain('0.25× ws\'s 8.00 (`wsinspect serve`: 0.75×): under issue 17\'s 0.5×, with the client\'s throughput −25 %.');
    expect(md).toContain(`worst here: ${holdWorkloads[0]!.description}, −25 %`);
    expect(md).toContain('1.03–1.03× the CPU per message of the real `wsinspect serve`');
  });
});
