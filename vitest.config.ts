import { defineConfig } from 'vitest/config';

// Unit tests run in parallel; tests that touch the lab or real daemons live under
// test/integration and lab/test and are run serially (they share one lab).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'lab/test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: [],
    reporters: ['default'],
  },
});
