import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The first createTestDatabase() after a migration change runs `prisma migrate deploy` into the template (~2-5 s
    // on a busy 2-core machine); later ones clone it in milliseconds.
    hookTimeout: 60_000,
    testTimeout: 60_000,
  },
});
