/**
 * scripts/bench-trace-floor.ts: every variant echoes, the traced ones trace what they say (both
 * ends or one), and the report is computed from the figures it is given. Checks the script, never
 * the performance (that is the benchmark's to say).
 */
import { describe, expect, it } from 'vitest';
import { drive } from '../../scripts/bench.ts';
import { floorVariants, openFloorLink, renderTraceFloor, summariseFloor, type FloorResults, type FloorSample } from '../../scripts/bench-trace-floor.ts';

describe('trace-floor variants', () => {
  for (const variant of floorVariants) {
    it(`${variant}: echoes 64 B messages one at a time${variant.includes('-') ? ' and traces them' : ''}`, async () => {
      const link = await openFloorLink(variant);
      try {
        const payload = new Uint8Array(64).fill(7);
        const { messages } = await drive(link, payload, 1, 150);
        expect(messages).toBeGreaterThan(10);
        const events = link.retained?.().events ?? 0;
        if (variant === 'ours-tracelog') {
          // Kept: each end's frame and message, both ways.
          expect(events / messages).toBeGreaterThanOrEqual(8);
        } else if (variant === 'ours-floor') {
          // Both ends: per round trip 2 frames and 2 messages each way, and the raw chunks.
          expect(events / messages).toBeGreaterThanOrEqual(8);
        } else if (variant === 'server-floor') {
          // Our server only: its frame and message in, its echo out, and their raw chunks.
          expect(events / messages).toBeGreaterThanOrEqual(4);
          expect(events / messages).toBeLessThan(8);
        } else if (variant.endsWith('-service')) {
          // The service batches every 16 ms: the last batch may still be pending.
          expect(events).toBeGreaterThan(0);
        }
      } finally {
        await link.close();
      }
    }, 15_000);
  }
});

describe('trace-floor report', () => {
  const samples: FloorSample[] = [1, 2, 3].flatMap((round) => [
    { round, variant: 'ws' as const, roundTripsPerSecond: 50_000, eventsPerRoundTrip: null },
    { round, variant: 'ours' as const, roundTripsPerSecond: 50_000 + round * 1000, eventsPerRoundTrip: null },
    { round, variant: 'ours-floor' as const, roundTripsPerSecond: 40_000, eventsPerRoundTrip: 12 },
    { round, variant: 'ours-tracelog' as const, roundTripsPerSecond: 32_000, eventsPerRoundTrip: 8 },
    { round, variant: 'ours-service' as const, roundTripsPerSecond: 25_000, eventsPerRoundTrip: 8 },
    { round, variant: 'server' as const, roundTripsPerSecond: 50_000, eventsPerRoundTrip: null },
    { round, variant: 'server-floor' as const, roundTripsPerSecond: 62_500, eventsPerRoundTrip: 6 },
    { round, variant: 'server-service' as const, roundTripsPerSecond: 40_000, eventsPerRoundTrip: 4 },
  ]);
  const rows = summariseFloor(samples);
  const row = (v: string) => rows.find((r) => r.variant === v)!;

  it('takes ratios to ws within a round and tracing as µs above the untraced variant with the same ends', () => {
    expect(row('ours').overWs).toBeCloseTo(1.04, 6);
    expect(row('ours').overWsRange).toEqual([1.02, 1.06]);
    expect(row('ours-floor').overWs).toBeCloseTo(0.8, 6);
    // 25 µs against 1e6 / 52,000 = 19.23 µs in round 2 (the median round).
    expect(row('ours-floor').tracingUs).toBeCloseTo(25 - 1e6 / 52_000, 6);
    expect(row('server-service').tracingUs).toBeCloseTo(25 - 20, 6);
    expect(row('ws').tracingUs).toBeNull();
    expect(row('ours-floor').eventsPerRoundTrip).toBe(12);
  });

  it('says the floor is below ws when it is, and what the service may spend per event when it is not', () => {
    const results: FloorResults = { date: 'D', node: 'v20', commit: 'abc', rounds: 3, cellMs: 1000, warmupMs: 200, load: { start: 1, end: 1 }, rows, samples };
    const md = renderTraceFloor(results);
    expect(md).toContain('## Tracing\'s floor at 64 B sequential (issue 17)');
    expect(md).toMatch(/With both ends ours: untraced 1\.04× ws; .* 0\.80× .*The floor alone is slower than ws/);
    // 31.25 µs against the floor's 25: 6.25 µs for 8 frames and messages.
    expect(md).toMatch(/Keeping the 8 frames and messages of a round trip in a TraceLog .* costs 6\.25 µs above the floor, 781 ns each, and leaves 0\.64× ws/);
    expect(md).toMatch(/With both ends ours the floor leaves 0 ns per event for keeping; TraceLog, the cheapest keeping here, takes 781 ns, more than that/);
    // One end: the floor at 16 µs against ws's 20 µs leaves 4 µs for 6 events.
    expect(md).toMatch(/With a ws client and our server: .* 1\.25× .*keep each event for 667 ns or less/);
  });

  it('says the floor is level with ws when it leaves no time to keep anything', () => {
    const level = samples.map((x) => (x.variant === 'server-floor' ? { ...x, roundTripsPerSecond: 50_000 } : x));
    const md = renderTraceFloor({ date: 'D', node: 'v20', commit: 'abc', rounds: 3, cellMs: 1000, warmupMs: 200, load: { start: 1, end: 1 }, rows: summariseFloor(level), samples: level });
    expect(md).toMatch(/With a ws client and our server: .* 1\.00× .*The floor is level with ws/);
    expect(md).not.toMatch(/keep each event for 0 ns/);
  });
});
