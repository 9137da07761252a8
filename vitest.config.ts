import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Container threads run dist/ (compiled JS): build it when sources are newer.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel on both, tests within a file in order.
    pool: 'forks',
    maxWorkers: 2,
  },
});
