import { defineConfig } from 'vitest/config';

// Training tests are CPU-bound: run files one at a time so two of them never fight over the machine's 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
