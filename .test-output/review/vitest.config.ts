// Review tests outside the suite: npx vitest run --config .test-output/review/vitest.config.ts --root . <file>
import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { include: ['.test-output/review/**/*.test.ts'], testTimeout: 600_000, pool: 'forks', reporters: ['default'] } });
