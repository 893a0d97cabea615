import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Gradient checks over many random shapes take seconds each; the machine has two cores.
    testTimeout: 120_000,
    pool: 'forks',
    // Every suite runs with the WASM kernels registered (float32 goes through them, float64 through
    // the reference), so the gradient-check and golden suites cover both backends.
    setupFiles: ['packages/wasm/src/index.ts'],
  },
});
