import { describe, expect, it } from 'vitest';
import { OneAtATime } from '../../src/shared/one-at-a-time.ts';

describe('OneAtATime', () => {
  it('runs each step once the ones asked before it have finished, in the order asked; a failed step does not stop the next', async () => {
    const turns = new OneAtATime();
    const log: string[] = [];
    const step = (name: string, ms: number, fails = false) => () => new Promise<string>((resolve, reject) => {
      log.push(`${name} starts`);
      setTimeout(() => {
        log.push(`${name} ends`);
        if (fails) reject(new Error(name));
        else resolve(name);
      }, ms);
    });
    // The slowest first: on their own the later ones would finish before it.
    const results = await Promise.allSettled([turns.run(step('a', 40)), turns.run(step('b', 0, true)), turns.run(step('c', 10))]);
    expect(log).toEqual(['a starts', 'a ends', 'b starts', 'b ends', 'c starts', 'c ends']);
    expect(results).toEqual([{ status: 'fulfilled', value: 'a' }, { status: 'rejected', reason: new Error('b') }, { status: 'fulfilled', value: 'c' }]);
  });
});
