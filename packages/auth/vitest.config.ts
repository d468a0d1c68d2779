import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Password hashing (scrypt) and a fresh test database make these slower than unit tests on a busy 2-core machine.
    hookTimeout: 60_000,
    testTimeout: 30_000,
  },
});
