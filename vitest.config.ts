import { defineConfig } from 'vitest/config';

// Integration and scenario tests start real containers: run files one at a time so two suites
// never fight over the 2 cores, and give them room for container start-up.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
