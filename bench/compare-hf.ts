/**
 * Crucible against Transformers + PEFT on the same model shapes in the same run (not a test): LoRA r=16 on every
 * projection, one T-token sequence a step, 2 threads each. Crucible runs bench/train.ts configurations (bf16 and
 * fp32); the reference runs bench/hf_peft_train.py (fp32, bf16 autocast on fp32 weights, bf16 weights + autocast)
 * in a venv made from the machine image's wheel mirror (created when missing). Runs alternate between the two so
 * that a change of load hits both; each configuration's best of --rounds is kept. Prints the ratio of the best
 * precision of each, the CPU model and the load.
 *
 *   npx tsx bench/compare-hf.ts [--preset 0.5b] [--rounds 2] [--steps 3] [--seq 512] [--gc] [--venv DIR] [--help]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initModel, MODEL_PRESETS, type TModelPreset } from '../packages/trainer/src/io/init-model';

const argv = process.argv.slice(2);
const has = (k: string) => argv.includes(`--${k}`);
const opt = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};
if (has('help')) {
  process.stdout.write(
    'npx tsx bench/compare-hf.ts [--preset 0.5b] [--rounds 2] [--steps 3] [--seq 512] [--gc] [--venv DIR] [--models DIR]\n' +
      '  Crucible (bf16, fp32) vs Transformers+PEFT (fp32, bf16 autocast, bf16 weights) tokens/s, same shapes, same run.\n',
  );
  process.exit(0);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const presetArg = opt('preset', '0.5b');
const preset = (presetArg.startsWith('qwen2.5-') ? presetArg : `qwen2.5-${presetArg}`) as TModelPreset;
const models = opt('models', '/tmp/crucible-models');
const rounds = Number(opt('rounds', '2'));
const steps = opt('steps', '3');
const seq = opt('seq', '512');
const gc = has('gc');
const venv = opt('venv', process.env.CRUCIBLE_BENCH_VENV ?? '/tmp/crucible-bench-venv');
const python = join(venv, 'bin', 'python');

function ensureVenv(): void {
  if (existsSync(python)) return;
  process.stderr.write(`[compare] creating ${venv} from the wheel mirror (torch, transformers, peft) ...\n`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(
    join(venv, 'bin', 'pip'),
    [
      'install',
      '-q',
      '--no-index',
      '--find-links',
      '/opt/pypi/files',
      '--find-links',
      '/opt/wheels',
      'torch',
      'transformers',
      'peft',
    ],
    { stdio: 'inherit' },
  );
}

async function ensureModel(dtype: 'F32' | 'BF16'): Promise<string> {
  const dir = join(models, `${preset}-${dtype === 'BF16' ? 'bf16' : 'f32'}`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  const p = MODEL_PRESETS[preset];
  await initModel(
    {
      arch: 'qwen2',
      layers: p.layers,
      hidden: p.hidden,
      intermediate: p.intermediate,
      heads: p.heads,
      kvHeads: p.kvHeads,
      vocab: p.vocab,
      tie: p.tie,
      seed: 1,
      dtype,
      shards: p.shards,
    },
    dir,
  );
  return dir;
}

type TRun = { name: string; tokensPerS: number; tokensPerCpuS: number; peakRssMiB: number };

function crucible(precision: 'bf16' | 'fp32'): TRun | null {
  const cfg = JSON.stringify({ preset, precision, gc });
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'train.ts'),
      '--preset',
      preset,
      '--steps',
      steps,
      '--seq',
      seq,
      '--models',
      models,
      '--one',
      cfg,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return null;
  const j = JSON.parse(line.slice(7));
  return {
    name: `crucible ${precision}`,
    tokensPerS: j.tokensPerS,
    tokensPerCpuS: j.tokensPerCpuS,
    peakRssMiB: j.peakRssMiB,
  };
}

function hf(precision: 'fp32' | 'bf16' | 'bf16-weights', dir: string): TRun | null {
  const args = [
    join(here, 'hf_peft_train.py'),
    '--model',
    dir,
    '--precision',
    precision,
    '--steps',
    steps,
    '--seq',
    seq,
    '--threads',
    '2',
  ];
  if (gc) args.push('--gc');
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (!line) return null;
  const j = JSON.parse(line);
  return {
    name: `hf+peft ${precision}`,
    tokensPerS: j.tokens_per_s,
    tokensPerCpuS: j.tokens_per_cpu_s,
    peakRssMiB: Math.round(j.peak_rss_mib),
  };
}

async function main() {
  ensureVenv();
  const f32 = await ensureModel('F32');
  await ensureModel('BF16');
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? 'unknown';
  const torch = execFileSync(
    python,
    ['-c', 'import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__)'],
    {
      encoding: 'utf8',
    },
  ).trim();
  process.stdout.write(
    `CPU ${cpu}; torch/transformers/peft ${torch}; ${preset}, LoRA r=16 all projections, T=${seq}, gradient checkpointing ${gc ? 'on' : 'off'} on both\n` +
      `load average before: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
  );
  const best = new Map<string, TRun>();
  const keep = (r: TRun | null) => {
    if (!r) return;
    process.stdout.write(
      `  ${r.name.padEnd(22)} ${r.tokensPerS.toFixed(1).padStart(7)} tokens/s  ${r.tokensPerCpuS.toFixed(1).padStart(7)} tokens/CPU-s  peak RSS ${r.peakRssMiB} MiB\n`,
    );
    const b = best.get(r.name);
    if (!b || r.tokensPerS > b.tokensPerS) best.set(r.name, r);
  };
  for (let i = 0; i < rounds; i++) {
    keep(crucible('fp32'));
    keep(hf('fp32', f32));
    keep(crucible('bf16'));
    keep(hf('bf16', f32));
    keep(hf('bf16-weights', f32));
  }
  const top = (prefix: string) =>
    [...best.values()].filter((r) => r.name.startsWith(prefix)).sort((a, b) => b.tokensPerS - a.tokensPerS)[0];
  const c = top('crucible');
  const h = top('hf+peft');
  process.stdout.write(`best of ${rounds} rounds:\n`);
  for (const r of best.values()) process.stdout.write(`  ${r.name.padEnd(22)} ${r.tokensPerS.toFixed(1)} tokens/s\n`);
  if (c && h) {
    process.stdout.write(
      `Crucible best (${c.name}) / HF+PEFT best (${h.name}): ${(c.tokensPerS / h.tokensPerS).toFixed(2)}x tokens/s, ` +
        `${(c.tokensPerCpuS / h.tokensPerCpuS).toFixed(2)}x tokens per CPU-second\n`,
    );
  }
  const cb = best.get('crucible bf16');
  const cf = best.get('crucible fp32');
  if (cb && cf) process.stdout.write(`Crucible bf16 / fp32: ${(cb.tokensPerS / cf.tokensPerS).toFixed(2)}x\n`);
  process.stdout.write(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
