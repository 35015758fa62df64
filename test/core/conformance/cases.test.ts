/**
 * The case catalogue: enough cases, in every category, each complete and well-formed.
 */
import { describe, expect, it } from 'vitest';
import { categories, conformanceCases, matchesFilter, parseCaseFilter, selectCases, type Step } from '../../../src/core/conformance/index.ts';

describe('conformance case catalogue', () => {
  it('has at least 150 cases with unique ids in every category', () => {
    expect(conformanceCases.length).toBeGreaterThanOrEqual(150);
    const ids = conformanceCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const perCategory = new Map<number, number>();
    for (const c of conformanceCases) perCategory.set(c.category, (perCategory.get(c.category) ?? 0) + 1);
    for (const cat of categories) expect(perCategory.get(cat.id) ?? 0, `category ${cat.id} ${cat.name}`).toBeGreaterThan(0);
    // the heavy categories of Autobahn are heavy here too
    expect(perCategory.get(6)).toBeGreaterThanOrEqual(100);
    expect(perCategory.get(7)).toBeGreaterThanOrEqual(30);
  });

  it.each(conformanceCases.map((c) => [c.id, c] as const))('%s is well-formed', (_id, c) => {
    expect(c.id).toMatch(/^\d+(\.\d+)+$/);
    expect(Number(c.id.split('.')[0])).toBe(c.category);
    expect(c.description.length).toBeGreaterThan(5);
    expect(c.rfcSection).toMatch(/§\d/);
    expect(c.peers.length).toBeGreaterThan(0);
    expect(c.expectation.pass && c.expectation.nonStrict && c.expectation.fail).toBeTruthy();
    // Big payloads are built lazily; building them here is fine once.
    const steps: Step[] = c.steps();
    const last = steps[steps.length - 1]!;
    expect(['expect-close', 'expect-fail']).toContain(last.kind);
    // exactly one closing step, and it is the last
    expect(steps.filter((s) => s.kind === 'expect-close' || s.kind === 'expect-fail')).toHaveLength(1);
    for (const s of steps) {
      if (s.kind === 'send') expect(s.frames.length).toBeGreaterThan(0);
      if (s.kind === 'send' && s.withHandshake) expect(c.peers).toEqual(['client']);
    }
  });

  it('covers the framing sizes whole and chopped, in text and binary', () => {
    for (const size of ['0 bytes', '125 bytes', '126 bytes', '127 bytes', '128 bytes', '65535 bytes', '64 KiB']) {
      for (const kind of ['text', 'binary']) {
        const matching = conformanceCases.filter((c) => /^1\.[12]\./.test(c.id) && c.description.startsWith(`${kind} message, ${size} (`));
        expect(matching.map((c) => /chopped/.test(c.description)).sort(), `${kind} ${size}`).toEqual([false, true]);
      }
    }
  });

  it('expects 1002 for every invalid close code and an echo for every valid one', () => {
    const invalid = conformanceCases.filter((c) => c.id.startsWith('7.9.'));
    // Autobahn's 7.9.1-7.9.9 in its order, then ours
    expect(invalid.map((c) => Number(/code (\d+)/.exec(c.description)![1]))).toEqual([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015]);
    // Autobahn's 7.13.1 and 7.13.2: codes above 4999, informational
    expect(conformanceCases.filter((c) => c.id.startsWith('7.13.')).map((c) => [c.id, /code (\d+)/.exec(c.description)![1], Boolean(c.informational)])).toEqual([['7.13.1', '5000', true], ['7.13.2', '65535', true]]);
    for (const c of invalid) expect(c.steps().at(-1)).toMatchObject({ kind: 'expect-fail', codes: [1002] });
    const valid = conformanceCases.filter((c) => c.id.startsWith('7.7.'));
    // Autobahn's 7.7.1-7.7.13 in its order, then ours (1012-1014, registered with IANA after RFC 6455)
    expect(valid.map((c) => Number(/code (\d+)/.exec(c.description)![1]))).toEqual([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014]);
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      const c = valid.find((v) => v.description.includes(`code ${code} `));
      expect(c, String(code)).toBeDefined();
      expect(c!.steps().at(-1)).toMatchObject({ kind: 'expect-close', code });
    }
  });

  it("carries Autobahn's UTF-8 ids: 6.5-6.23 in its group sizes, one frame each, echo exactly when the bytes are UTF-8", () => {
    // Autobahn's case6_x_x: Kuhn's sequences in 19 groups (6.5-6.23) of these sizes; ours follow in 6.24-6.26.
    const sizes = [5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7];
    sizes.forEach((n, i) => expect(conformanceCases.filter((c) => c.id.startsWith(`6.${i + 5}.`)).map((c) => c.id), `6.${i + 5}`).toEqual(Array.from({ length: n }, (_, j) => `6.${i + 5}.${j + 1}`)));
    // Spot checks of Autobahn's payloads: its first, last and mixed groups.
    const payload = (id: string): string => {
      const first = conformanceCases.find((c) => c.id === id)!.steps()[0]!;
      if (first.kind !== 'send') throw new Error(`${id} does not start by sending`);
      return Buffer.from(first.frames.flatMap((f) => [...(f.payload ?? [])])).toString('hex');
    };
    expect(payload('6.5.1')).toBe(Buffer.from('hello$world').toString('hex'));
    expect(payload('6.6.11')).toBe('cebae1bdb9cf83cebcceb5');
    expect(payload('6.11.5')).toBe('f4908080');
    expect(payload('6.12.8')).toBe(Buffer.from(Array.from({ length: 63 }, (_, i) => 0x80 + i)).toString('hex'));
    expect(payload('6.13.5')).toBe('fc20');
    expect(payload('6.21.8')).toBe('edafbfedbfbf');
    expect(payload('6.22.3')).toBe('f09fbfbe');
    expect(payload('6.22.34')).toBe('f48fbfbf');
    expect(payload('6.23.1')).toBe('efbfb9');
    // Node's strict UTF-8 decoder (not our validator) decides which are valid.
    const strict = new TextDecoder('utf-8', { fatal: true });
    const oneFrame = conformanceCases.filter((c) => /^6\.(\d+)\./.test(c.id) && Number(c.id.split('.')[1]) >= 5 && Number(c.id.split('.')[1]) <= 24);
    expect(oneFrame.length).toBeGreaterThan(140);
    for (const c of oneFrame) {
      const steps = c.steps();
      expect(steps[0]!.kind === 'send' && steps[0]!.frames.length, c.id).toBe(1);
      let decodes = true;
      try { strict.decode(Buffer.from(payload(c.id), 'hex')); } catch { decodes = false; }
      expect(steps.at(-1)!.kind, `${c.id} ${c.description}`).toBe(decodes ? 'expect-close' : 'expect-fail');
    }
  });

  it('filters by id prefix without matching 10.x for 1', () => {
    expect(matchesFilter('1.1.1', ['1'])).toBe(true);
    expect(matchesFilter('10.1.1', ['1'])).toBe(false);
    expect(matchesFilter('10.1.1', ['1.'])).toBe(false);
    expect(matchesFilter('6.8.1', ['6.8.1'])).toBe(true);
    expect(matchesFilter('6.8.10', ['6.8.1'])).toBe(false);
    expect(matchesFilter('5.3', ['5.', '6.'])).toBe(true);
    expect(parseCaseFilter('5., 6.')).toEqual(['5.', '6.']);
    expect(parseCaseFilter(['5.', '6.1,7'])).toEqual(['5.', '6.1', '7']);
    expect(parseCaseFilter('')).toBeUndefined();
    expect(selectCases('server', ['2.']).every((c) => c.id.startsWith('2.'))).toBe(true);
    // role-specific cases
    expect(selectCases('server', ['10.3'])).toHaveLength(0);
    expect(selectCases('client', ['10.3']).length).toBeGreaterThan(0);
  });
});
