import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real servers and 20 MB streams: generous per-test limits, files run one after another (2 shared cores).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
