import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // WebGPU tests share one Dawn instance per worker; two cores on CI machines.
    pool: 'forks',
    maxWorkers: 2,
  },
});
