import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run from the TypeScript sources: the "parcnet-source" condition of every package's exports
// (processes the tests start, such as the `parcnet` command, run the compiled dist/ instead).
const sourceConditions = ['parcnet-source'];

export default defineConfig({
  resolve: { conditions: [...sourceConditions, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [...sourceConditions, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Gradient checks over many random shapes take seconds each; the machine has two cores.
    testTimeout: 120_000,
    pool: 'forks',
    // Every suite runs with the WASM kernels registered (float32 goes through them, float64 through
    // the reference), so the gradient-check and golden suites cover both backends.
    setupFiles: ['packages/wasm/src/index.ts'],
    // One temporary folder for the run, removed at its end (tests and the processes they start
    // write hundreds of MB under os.tmpdir()).
    globalSetup: ['vitest.global-setup.ts'],
  },
});
