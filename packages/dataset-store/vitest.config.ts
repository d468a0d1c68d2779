import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real Postgres and storage, and the Qwen tokenizer load: seconds on the shared 2-core machines.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
