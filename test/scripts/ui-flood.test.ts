/**
 * The arithmetic of scripts/ui-flood.ts (the browser run itself is `npm run bench:ui`).
 */
import { describe, expect, it } from 'vitest';
import { maxLag, summarise, type TargetCheck, type UiFloodRun } from '../../scripts/ui-flood.ts';

describe('ui-flood: lag of the shown frame count behind the wire', () => {
  // 20 frames cross the wire at 0, 5, 10, … 95 ms.
  const wire = Array.from({ length: 20 }, (_, i) => i * 5);

  it('is, just before each update, how long the first frame not yet shown has been on the wire', () => {
    const counts = [
      { t: 0, count: 0 },   // shows 0 until 100: frame 1 crossed at 0 → 100 ms
      { t: 100, count: 10 }, // shows 10 until 200: frame 11 crossed at 50 → 150 ms
      { t: 200, count: 20 }, // everything shown
    ];
    expect(maxLag(counts, wire, 1000)).toEqual({ maxMs: 150, at: 200 });
  });

  it('skips the time the list is not on screen and counts a backlog when it comes back', () => {
    const counts = [
      { t: 0, count: 20 },
      { t: 10, count: null }, // another tab: not measured
      { t: 500, count: 20 },
    ];
    expect(maxLag(counts, wire, 1000).maxMs).toBe(0);
    const behind = [{ t: 0, count: null }, { t: 300, count: 5 }, { t: 320, count: 20 }];
    // Back on screen at 300 showing 5: frame 6 crossed at 25 → 295 ms just before the 320 update.
    expect(maxLag(behind, wire, 1000)).toEqual({ maxMs: 295, at: 320 });
  });
});

describe('ui-flood: summary over runs', () => {
  const check = (id: TargetCheck['id'], value: number | null, met: boolean): TargetCheck => ({ id, name: id, target: '', actual: '', value, met, note: met ? '' : 'over' });
  const run = (lag: number | null, lagMet: boolean, heapMet: boolean) => ({ targets: [check('lag', lag, lagMet), check('heap', heapMet ? 0 : 1, heapMet)] }) as unknown as UiFloodRun;

  it('judges on the median run, heap only when every run plateaus, and a run that never caught up counts as the worst', () => {
    const s = summarise([run(100, true, true), run(null, false, true), run(300, false, false)]);
    const lag = s.find((t) => t.id === 'lag')!;
    expect(lag.values).toEqual([100, null, 300]);
    expect(lag.median).toBe(300);
    expect(lag.met).toBe(false);
    expect(s.find((t) => t.id === 'heap')!.met).toBe(false);
    expect(summarise([run(100, true, true), run(200, true, true), run(900, false, true)]).every((t) => t.met)).toBe(true);
  });

  it('judges the heap on the run that soaked past any cap (the others have no figure)', () => {
    const noSoak = { targets: [check('lag', 100, true), { ...check('heap', null, false), note: 'no soak' }] } as unknown as UiFloodRun;
    const soaked = (leak: number, met: boolean) => ({ targets: [check('lag', 100, true), check('heap', leak, met)] }) as unknown as UiFloodRun;
    const ok = summarise([noSoak, noSoak, soaked(3, true)]).find((t) => t.id === 'heap')!;
    expect(ok).toMatchObject({ values: [null, null, 3], median: 3, met: true });
    const leaking = summarise([noSoak, noSoak, soaked(99, false)]).find((t) => t.id === 'heap')!;
    expect(leaking).toMatchObject({ median: 99, met: false });
    expect(leaking.note).toMatch(/^run 3: /);
  });
});
