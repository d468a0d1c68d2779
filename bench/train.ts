/**
 * Training throughput and memory of the core at real model shapes (not a test). A Qwen2.5-shaped model is written
 * once by `crucible init-model --preset` (random weights, cached under --models), opened as stored, and trained
 * LoRA r=16 on all projections with one T-token sequence a step, each configuration in a fresh child process so
 * that its peak RSS is its own. Reports seconds/step, tokens/s (wall and per CPU-second), peak RSS, the CPU model,
 * the load average and the bf16 kernel in use; --profile adds where a step's time goes by op class.
 *
 *   npx tsx bench/train.ts --help
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Backend, createBackend, SCALAR_SIZE, type TBackendName } from '@crucible/tensor';
import { initModel, MODEL_PRESETS, type TModelPreset } from '../packages/trainer/src/io/init-model';
import { openWeights } from '../packages/trainer/src/io/safetensors';
import { createModel, parseModelConfig } from '../packages/trainer/src/model';
import type { Batch, ModelConfig } from '../packages/trainer/src/model/types';
import { createAdamW, normFromSquares } from '../packages/trainer/src/train/optimizer';
import { profiled, type TProfile } from './profile';

const HELP = `bench/train.ts: LoRA training speed and memory at Qwen2.5 shapes

  npx tsx bench/train.ts --preset 0.5b|1.5b|3b|7b [options]

  --preset P        model shapes (qwen2.5-P); the model is written once to --models with init-model
  --layers N        only the first N decoder layers (a slice of the same shapes)
  --precision X     bf16 | fp32 | both (default both; 7b: bf16 only, an fp32 7b needs 30 GB)
  --gc X            gradient checkpointing on | off | both (default on, LLaMA-Factory's default)
  --steps N         timed steps after one warm-up step (default 3)
  --seq T           tokens per sequence (default 512)
  --rank R          LoRA rank on every projection (default 16, alpha 2R)
  --backend B       cpu | reference (default cpu)
  --models DIR      where preset model directories are kept (default /tmp/crucible-models)
  --profile         time every backend op of one step and print the split by op class
  --json            print one JSON line per configuration as well
  --help            this text

Each configuration runs in its own process (peak RSS is per configuration). Check the machine is quiet first: the
report prints the load average before and after, and tokens per CPU-second, which other processes disturb less.`;

const argv = process.argv.slice(2);
const has = (k: string) => argv.includes(`--${k}`);
const opt = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};

/** LoRA step FLOPs per token: frozen matmuls forward + input gradient, LoRA, attention, LM head (see design doc). */
export function loraFlopsPerToken(c: ModelConfig, seq: number, r: number, recompute: boolean): number {
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const shapes: [number, number][] = [
    [C, q],
    [C, kv],
    [C, kv],
    [q, C],
    [C, c.intermediateSize],
    [C, c.intermediateSize],
    [c.intermediateSize, C],
  ];
  const linear = shapes.reduce((a, [i, o]) => a + i * o, 0);
  const loraParams = shapes.reduce((a, [i, o]) => a + r * (i + o), 0);
  // forward 2/weight, input gradient 2/weight, a recompute another forward; attention QK^T and PV over all T keys.
  const fwd = 2 * linear + 2 * loraParams + 2 * 2 * seq * q;
  const perLayer = fwd * (recompute ? 2 : 1) + 2 * linear + 2 * loraParams * 2 + 2 * 4 * seq * q;
  return c.numLayers * perLayer + 2 * c.vocabSize * C * 2;
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

type TConfig = { preset: TModelPreset; layers?: number; precision: 'bf16' | 'fp32'; gc: boolean };

function modelDir(models: string, c: TConfig): string {
  const dtype = c.precision === 'bf16' ? 'bf16' : 'f32';
  return join(models, `${c.preset}${c.layers ? `-L${c.layers}` : ''}-${dtype}`);
}

async function ensureModel(models: string, c: TConfig): Promise<string> {
  const dir = modelDir(models, c);
  if (existsSync(join(dir, 'config.json'))) return dir;
  const p = MODEL_PRESETS[c.preset];
  process.stderr.write(`[bench] writing ${dir} (init-model --preset ${c.preset}) ...\n`);
  await initModel(
    {
      arch: 'qwen2',
      layers: c.layers ?? p.layers,
      hidden: p.hidden,
      intermediate: p.intermediate,
      heads: p.heads,
      kvHeads: p.kvHeads,
      vocab: p.vocab,
      tie: p.tie,
      seed: 1,
      dtype: c.precision === 'bf16' ? 'BF16' : 'F32',
      shards: c.layers ? 1 : p.shards,
    },
    dir,
  );
  return dir;
}

function randomBatch(T: number, vocab: number, seed: number): Batch {
  let s = seed >>> 0;
  const ids = new Int32Array(T);
  for (let i = 0; i < T; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = s % Math.min(vocab, 151643);
  }
  return { B: 1, T, inputIds: ids, labels: Int32Array.from(ids), keyLen: Int32Array.of(T) };
}

export type TResult = {
  config: TConfig;
  backend: string;
  kernel: string;
  loadS: number;
  rssAfterLoadMiB: number;
  stepS: number[];
  medianStepS: number;
  tokensPerS: number;
  tokensPerCpuS: number;
  cpuPerWall: number;
  gflopPerToken: number;
  peakRssMiB: number;
  losses: number[];
  layout: unknown;
  profile?: TProfile;
};

/** One configuration in this process: load, warm up, time `steps` optimizer steps as the training loop runs them. */
async function runOne(c: TConfig, models: string, steps: number, T: number, rank: number, profile: boolean) {
  const dir = modelDir(models, c);
  const base = createBackend(opt('backend', 'cpu') as TBackendName);
  const prof = profile ? profiled(base) : null;
  const be: Backend = prof?.backend ?? base;
  const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const t0 = performance.now();
  const model = createModel({
    config,
    weights: openWeights(dir),
    backend: be,
    finetuning: 'lora',
    lora: { r: rank, alpha: 2 * rank, dropout: 0, targets: ['all'] },
    seed: 1,
    frozenDtype: c.precision === 'bf16' ? 'bf16' : 'f32',
    embeddingDtype: c.precision === 'bf16' ? 'bf16' : 'f32',
    gradientCheckpointing: c.gc,
  });
  const params = model.trainableParams();
  const opt2 = createAdamW(be, params, { maxGradNorm: 1 });
  const loadS = (performance.now() - t0) / 1000;
  const rssAfterLoadMiB = process.memoryUsage().rss / 2 ** 20;
  const batch = randomBatch(T, config.vocabSize, 7);
  const metrics = be.alloc([(1 + params.length) * SCALAR_SIZE]);
  const lossSlot = be.view(metrics, 0, [SCALAR_SIZE]);
  const norms = be.view(metrics, SCALAR_SIZE, [params.length * SCALAR_SIZE]);
  const times: number[] = [];
  const losses: number[] = [];
  let cpuS = 0;
  for (let s = 0; s <= steps; s++) {
    if (prof && s === steps) prof.start();
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    model.accumulateGrad(batch, 1 / (T - 1), { lossOut: lossSlot });
    opt2.gradSquaresInto(norms);
    const host = be.download(metrics) as Float32Array;
    opt2.stepWithNorm(1e-4, normFromSquares(host, params.length, SCALAR_SIZE));
    const dt = (performance.now() - w0) / 1000;
    const cu = process.cpuUsage(c0);
    if (prof && s === steps) prof.stop();
    losses.push((host[0] + host[1]) / (T - 1));
    if (s === 0) continue; // warm-up: pools, page faults, packing caches
    times.push(dt);
    cpuS += (cu.user + cu.system) / 1e6;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)];
  const wall = times.reduce((a, b) => a + b, 0);
  const result: TResult = {
    config: c,
    backend: be.name,
    kernel: be.info().summary,
    loadS,
    rssAfterLoadMiB: Math.round(rssAfterLoadMiB),
    stepS: times,
    medianStepS: med,
    tokensPerS: T / med,
    tokensPerCpuS: (T * times.length) / cpuS,
    cpuPerWall: cpuS / wall,
    gflopPerToken: loraFlopsPerToken(config, T, rank, c.gc) / 1e9,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    losses,
    layout: model.describe(),
    profile: prof?.report(),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

// Sorted and split by CPU time (what an op costs however loaded the machine is); GFLOPS per busy core = FLOPs / CPU s.
function fmtProfile(p: TProfile): string {
  const rows = Object.entries(p.byOp).sort((a, b) => b[1].cpuS - a[1].cpuS);
  const head = `    ${'op'.padEnd(28)} ${'CPU s'.padStart(8)} ${'share'.padStart(6)}  ${'wall s'.padStart(8)}  ${'calls'.padStart(6)}  GFLOPS per busy core`;
  const lines = rows.map(
    ([k, v]) =>
      `    ${k.padEnd(28)} ${v.cpuS.toFixed(3).padStart(8)} ${((100 * v.cpuS) / p.totalCpuS).toFixed(1).padStart(5)}%  ${v.s.toFixed(3).padStart(8)}  ${String(v.calls).padStart(6)}${v.gflop ? `  ${(v.gflop / v.cpuS).toFixed(0)}` : ''}`,
  );
  return [head, ...lines].join('\n');
}

async function main() {
  if (has('help') || argv.length === 0) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const models = opt('models', '/tmp/crucible-models');
  const steps = Number(opt('steps', '3'));
  const T = Number(opt('seq', '512'));
  const rank = Number(opt('rank', '16'));
  const presetArg = opt('preset', '');
  const preset = (presetArg.startsWith('qwen2.5-') ? presetArg : `qwen2.5-${presetArg}`) as TModelPreset;
  if (!(preset in MODEL_PRESETS)) throw new Error(`--preset must be one of 0.5b, 1.5b, 3b, 7b (got "${presetArg}")`);
  const layers = has('layers') ? Number(opt('layers', '0')) : undefined;

  if (has('one')) {
    const c = JSON.parse(opt('one', '{}')) as TConfig;
    await runOne(c, models, steps, T, rank, has('profile'));
    return;
  }
  const precisionArg = opt('precision', preset === 'qwen2.5-7b' && !layers ? 'bf16' : 'both');
  const precisions = precisionArg === 'both' ? (['bf16', 'fp32'] as const) : [precisionArg as 'bf16' | 'fp32'];
  const gcArg = opt('gc', 'on');
  const gcs = gcArg === 'both' ? [true, false] : [gcArg !== 'off'];
  const configs: TConfig[] = [];
  for (const precision of precisions) for (const gc of gcs) configs.push({ preset, layers, precision, gc });
  for (const c of configs) await ensureModel(models, c);

  const cpu = cpuModel();
  const loadBefore = loadavg();
  process.stdout.write(
    `CPU ${cpu}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}; ${preset}${layers ? ` (${layers} layers)` : ''}, LoRA r=${rank} all projections, T=${T}, batch 1\n`,
  );
  const results: TResult[] = [];
  for (const c of configs) {
    const self = fileURLToPath(import.meta.url);
    const args = ['--import', 'tsx', self, ...argv, '--one', JSON.stringify(c)];
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      process.stdout.write(`  ${c.precision} gc=${c.gc}: failed (exit ${r.status}, signal ${r.signal})\n${r.stdout}\n`);
      continue;
    }
    const res = JSON.parse(line.slice(7)) as TResult;
    results.push(res);
    process.stdout.write(
      `  ${c.precision.padEnd(4)} gc ${c.gc ? 'on ' : 'off'}: ${res.medianStepS.toFixed(2)} s/step, ${res.tokensPerS.toFixed(1)} tokens/s ` +
        `(${res.tokensPerCpuS.toFixed(1)} tokens per CPU-s, ${res.cpuPerWall.toFixed(2)} CPU s per wall s), ` +
        `${((res.tokensPerS * res.gflopPerToken) | 0).toString()} GFLOPS, peak RSS ${res.peakRssMiB} MiB ` +
        `(after load ${res.rssAfterLoadMiB}), load ${res.loadS.toFixed(1)} s, loss ${res.losses.map((x) => x.toFixed(3)).join(' ')}; ${res.kernel}\n`,
    );
    if (res.profile)
      process.stdout.write(
        `  profile of one step (${res.profile.totalCpuS.toFixed(2)} CPU s, ${res.profile.totalS.toFixed(2)} s wall in ops):\n${fmtProfile(res.profile)}\n`,
      );
    if (has('json')) process.stdout.write(`${JSON.stringify(res)}\n`);
  }
  const best = (p: string) => Math.max(0, ...results.filter((r) => r.config.precision === p).map((r) => r.tokensPerS));
  if (best('bf16') > 0 && best('fp32') > 0)
    process.stdout.write(`  bf16 / fp32 tokens/s: ${(best('bf16') / best('fp32')).toFixed(2)}x\n`);
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
