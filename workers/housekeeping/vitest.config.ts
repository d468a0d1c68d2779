import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Child processes, real Redis and Postgres: generous limits, files one after another (2 shared cores).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
