import type { NextConfig } from 'next';

// Telemetry would try to reach the network on every build; these machines only reach the npm registry.
process.env.NEXT_TELEMETRY_DISABLED = '1';

const nextConfig: NextConfig = {
  // Internal packages export TypeScript source directly (no dist build), so Next must compile them.
  transpilePackages: ['@crucible/auth', '@crucible/db', '@crucible/jobs', '@crucible/storage'],
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
  ],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
