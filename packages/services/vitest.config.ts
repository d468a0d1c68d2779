import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real Postgres (one fresh database per file): files one after another on 2 shared cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
