/**
 * The conformance battery run through the inspector service: progress in batches, totals,
 * and each case's wire log ready to open in the frame inspector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceProgress } from '../../src/shared/inspector-api.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';

let service: InspectorService;
let url: string;

beforeAll(async () => {
  service = new InspectorService({ batchIntervalMs: 5 });
  const started = await service.startServer({ port: 0 });
  if (!started.ok) throw new Error(started.error);
  url = started.url;
});
afterAll(() => service.dispose());

function finished(): Promise<ConformanceProgress> {
  return new Promise((resolve) => {
    const off = service.onBatch((batch) => {
      if (batch.conformance && !batch.conformance.running) {
        off();
        resolve(batch.conformance);
      }
    });
  });
}

describe('conformance through the service', () => {
  it('runs the battery against our own server and keeps each case\'s wire log', async () => {
    const done = finished();
    const start = await service.runConformance({ mode: 'server', url, cases: ['1.1', '2.', '3.1'] });
    expect(start.ok && start.progress.running).toBe(true);
    expect((await service.runConformance({ mode: 'server', url })).ok).toBe(false); // one run at a time
    const progress = await done;
    expect(progress.error).toBeNull();
    expect(progress.total).toBeGreaterThan(5);
    expect(progress.done).toBe(progress.total);
    expect(progress.totals).toEqual({ passed: progress.total, failed: 0, nonStrict: 0 });
    const first = progress.cases[0]!;
    const wire = service.conformanceWire(first.id);
    expect(wire.ok).toBe(true);
    if (wire.ok) {
      expect(wire.events.every((e) => e.connectionId === `conformance:${first.id}`)).toBe(true);
      expect(wire.events.some((e) => e.type === 'frame')).toBe(true);
    }
    expect(service.conformanceWire('no-such-case').ok).toBe(false);
  }, 60_000);

  it('runs against this app\'s own client', async () => {
    const done = finished();
    expect((await service.runConformance({ mode: 'own-client', cases: ['2.'] })).ok).toBe(true);
    const progress = await done;
    expect(progress.totals.failed).toBe(0);
    expect(progress.totals.passed).toBe(progress.total);
  }, 60_000);

  it.each([
    [{ mode: 'server' as const, url: 'not a url' }, /not a URL/],
    [{ mode: 'client' as const, launch: 'node client.js' }, /\{url\}/],
  ])('refuses %j plainly', async (request, pattern) => {
    const result = await service.runConformance(request);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(pattern);
  });
});
