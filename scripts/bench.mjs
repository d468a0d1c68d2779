// `npm run bench`: lists the benchmarks in bench/ (the first line of each file's header); `npm run bench -- NAME
// [options]` runs bench/NAME.ts with tsx. Benchmarks measure; they assert nothing (docs/BENCHMARKS.md).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const dir = path.join(ROOT, 'bench');
const [name, ...args] = process.argv.slice(2);
if (!name) {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.includes('setup'))) {
    const first = /\/\*\*\s*\n?\s*\*?\s*([^\n]*)/.exec(readFileSync(path.join(dir, f), 'utf8'))?.[1] ?? '';
    process.stdout.write(`${f.replace(/\.ts$/, '').padEnd(10)} ${first}\n`);
  }
  process.stdout.write('\nrun one: npm run bench -- NAME [options] (NAME --help where it takes options)\n');
  process.exit(0);
}
const file = path.join(dir, `${name}.ts`);
if (!existsSync(file)) {
  process.stderr.write(`no benchmark bench/${name}.ts; npm run bench lists them\n`);
  process.exit(2);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit', cwd: ROOT });
process.exit(res.status ?? 1);
