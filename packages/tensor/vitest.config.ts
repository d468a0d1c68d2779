import { defineConfig } from 'vitest/config';

// Own config so `npm test` here does not pick up the root multi-project config. Native ops are single-process safe.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
