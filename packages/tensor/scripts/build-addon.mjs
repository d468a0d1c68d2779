// Builds the native addon with node-gyp (npm runs this as the package's install script, so `npm ci` builds it).
// node-gyp would otherwise download Node's headers from nodejs.org, which these machines cannot reach: point it at
// the headers installed next to the running node (Debian's nodejs puts them in /usr/include/node; official
// tarballs and nvm in <prefix>/include/node) unless a nodedir is configured already.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const action = process.argv[2] === 'build' ? 'build' : 'rebuild';
const args = [action];
const prefix = resolve(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

// npm exposes its bundled node-gyp to lifecycle scripts; outside npm fall back to the copy inside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
const [cmd, cmdArgs] = candidates.length ? [process.execPath, [candidates[0], ...args]] : ['node-gyp', args];
const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: pkgDir });
if (r.error) console.error(`crucible_tensor: could not run node-gyp (${r.error.message})`);
process.exit(r.status ?? 1);
