#!/usr/bin/env node
// Runs the Prisma 6.19 CLI of this package offline: `node scripts/prisma.mjs <prisma args>`.
// The adapter workarounds live in ../prisma.config.ts; this file only sets the environment the CLI reads at start.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(pkgDir, 'package.json'));
// Resolve the CLI through this package, so another `prisma` version elsewhere in the tree cannot shadow it.
const cli = path.join(path.dirname(require.resolve('prisma/package.json')), 'build/index.js');

const env = { ...process.env };
// The CLI downloads native engines unless these point at existing files. With engine "js" (schema) and
// engineType "client" (query) neither file is ever executed or loaded, so any existing file will do.
const placeholder = path.join(pkgDir, 'scripts/no-native-engine.txt');
env.PRISMA_SCHEMA_ENGINE_BINARY ||= placeholder;
env.PRISMA_QUERY_ENGINE_LIBRARY ||= placeholder;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
env.CHECKPOINT_DISABLE = '1'; // no update check over the network
env.PRISMA_SKIP_POSTINSTALL_GENERATE = '1';
env.DATABASE_URL ||= 'postgresql://postgres@127.0.0.1:5432/crucible';

const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { cwd: pkgDir, env, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
