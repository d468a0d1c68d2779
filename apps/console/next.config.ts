import type { NextConfig } from 'next';

// Telemetry would try to reach the network on every build; these machines only reach the npm registry.
process.env.NEXT_TELEMETRY_DISABLED = '1';

const nextConfig: NextConfig = {
  // The browser tests build and serve their own copy (.next-e2e, see e2e/global-setup.ts) so that `npm test` never
  // rebuilds the .next folder a running `npm start` serves from.
  distDir: process.env.CRUCIBLE_NEXT_DIST_DIR || '.next',
  // tsc runs in `npm run typecheck`; the browser-test build skips it to save ~30 s on 2 cores.
  typescript: { ignoreBuildErrors: process.env.CRUCIBLE_SKIP_TYPECHECK === '1' },
  // Internal packages export TypeScript source directly (no dist build), so Next must compile them.
  transpilePackages: [
    '@crucible/auth',
    '@crucible/billing',
    '@crucible/dataset-store',
    '@crucible/datasets',
    '@crucible/db',
    '@crucible/jobs',
    '@crucible/metrics',
    '@crucible/services',
    '@crucible/storage',
    '@crucible/trainer',
  ],
  // Native / engine-carrying packages must be required at run time, not bundled.
  serverExternalPackages: [
    'pg',
    'pg-native',
    '@prisma/client',
    '.prisma/client',
    '@prisma/adapter-pg',
    'prisma',
    'bullmq',
    'ioredis',
    'minio',
    'node-llama-cpp',
    '@crucible/tensor',
    // @crucible/metrics' word segmenter: it reads its .wasm next to its own file at run time.
    'jieba-wasm',
  ],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
