import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: cedar-wasm keeps preparsed policy sets per wasm instance, and several tests run
    // real child processes and signals.
    pool: 'forks',
    // Two files at a time even on two cores (vitest's default is cores - 1): most integration tests wait on
    // child processes, so a second worker halves the wall time of npm test (9.5 min serial on this machine).
    maxWorkers: 2,
    setupFiles: ['test/helpers/setup-engine-flags.ts'],
    // Ceilings, not waits: tests wait for conditions. Generous so a loaded machine (CI neighbours, two
    // cores) makes a run slower, never red.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    expect: { poll: { timeout: 30_000, interval: 50 } },
  },
});
