import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Most test time is spent waiting on real processes (workerd, the Lambda runtime, Chromium,
    // redis-server, dynalite) and sockets, not on this process: vitest's default on a 2-core
    // machine, one file at a time, leaves the CPU half idle.
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
