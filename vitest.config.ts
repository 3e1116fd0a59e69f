import { defineConfig } from 'vitest/config';

// Two projects, run one after the other by scripts/test-all.sh:
// - unit: pure cores, golden files, real checkers on rendered files; files run in parallel.
// - integration: real hosts (the lab), real daemons, real kubectl; files run one at a time
//   and share one lab, brought up once by lab/test/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
          testTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'lab/test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          pool: 'forks',
          globalSetup: ['lab/test/global-setup.ts'],
        },
      },
    ],
  },
});
