import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: cedar-wasm keeps preparsed policy sets per wasm instance, and several tests run
    // real child processes and signals.
    pool: 'forks',
    setupFiles: ['test/helpers/setup-engine-flags.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
