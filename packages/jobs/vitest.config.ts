import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real Redis, real workers and child processes: generous limits, files one after another (2 shared cores).
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
