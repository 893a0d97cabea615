import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Gradient checks over many random shapes take seconds each; the machine has two cores.
    testTimeout: 120_000,
    pool: 'forks',
  },
});
