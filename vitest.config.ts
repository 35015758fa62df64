import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits this long by default (vitest's own default is 1 s): on a loaded machine a
    // page can go over a second without painting a frame, and the service's pushes reach it then.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '.test-output/vitest.json' }]],
  },
});
