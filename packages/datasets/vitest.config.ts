import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The 50 MB streaming test and the tokenizer load take seconds on the shared 2-core machines.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
