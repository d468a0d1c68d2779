import { defineConfig } from 'vitest/config';

// One run over every workspace package; each package keeps its own vitest config (or the defaults) as a project.
// The browser tests have their own config (apps/console/vitest.e2e.config.ts) and run after these.
export default defineConfig({
  test: {
    projects: ['packages/*', 'workers/*', 'apps/console'],
  },
});
