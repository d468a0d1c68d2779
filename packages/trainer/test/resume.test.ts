import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '@crucible/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { configHash, resolveResume } from '../src/train/checkpoint';
import { TrainError } from '../src/train/errors';
import { type TrainArgs, trainLoop } from '../src/train/loop';
import { host } from './host';
import { createBigram, patternData } from './train-bigram';

const V = 13;
const backend = createBackend('reference');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'crucible-resume-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const args: TrainArgs = {
  perDeviceTrainBatchSize: 2,
  perDeviceEvalBatchSize: 2,
  gradientAccumulationSteps: 2,
  numTrainEpochs: 3,
  maxSteps: -1,
  learningRate: 0.05,
  lrSchedulerType: 'cosine',
  warmupRatio: 0.1,
  warmupSteps: 0,
  weightDecay: 0.01,
  maxGradNorm: 1,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  loggingSteps: 2,
  evalStrategy: 'steps',
  evalSteps: 4,
  saveStrategy: 'steps',
  saveSteps: 5,
  seed: 42,
};
const data = patternData(26, V); // 13 batches -> 7 updates per epoch (last one partial), 21 steps
const evalRows = patternData(4, V, 99);
const dropout = 0.1; // the model draws from the loop's RNG, so the RNG state must survive the checkpoint
const lines = (dir: string) =>
  readFileSync(join(dir, 'trainer_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { elapsed_time, remaining_time, throughput, ...rest } = JSON.parse(l);
      return rest;
    });

describe('checkpoint and resume', () => {
  it('a run resumed from checkpoint-10 in a fresh model reproduces the uninterrupted run bit for bit', async () => {
    const straightDir = tmp();
    const straight = createBigram(V, 1, dropout);
    const a = await trainLoop({
      model: straight,
      backend,
      train: data,
      eval: evalRows,
      padId: 0,
      configHash: 'h',
      outputDir: straightDir,
      args,
    });
    expect(a.totalSteps).toBe(21);

    // The interrupted run: cancelled after step 12 (past checkpoint-10), then resumed from checkpoint-10.
    const dir = tmp();
    const ac = new AbortController();
    const first = await trainLoop({
      model: createBigram(V, 1, dropout),
      backend,
      train: data,
      eval: evalRows,
      padId: 0,
      configHash: 'h',
      outputDir: dir,
      args,
      signal: ac.signal,
      onEvent: (e) => e.type === 'metrics' && e.step === 12 && ac.abort(),
    });
    expect(first.status).toBe('cancelled');
    expect(existsSync(join(dir, 'checkpoint-10', 'train_state.bin'))).toBe(true);
    // A fresh model with a different initialisation: everything must come from the checkpoint.
    const resumed = createBigram(V, 777, dropout);
    const b = await trainLoop({
      model: resumed,
      backend,
      train: data,
      eval: evalRows,
      padId: 0,
      configHash: 'h',
      outputDir: dir,
      args,
      resumeFrom: resolveResume(dir, true),
    });
    expect(resolveResume(dir, 'true')).toBe(join(dir, 'checkpoint-20'));
    expect(b.status).toBe('completed');
    // Same backend, same order of operations: identical losses and parameters, no tolerance.
    expect(b.lossHistory).toEqual(a.lossHistory);
    expect(b.evalHistory).toEqual(a.evalHistory);
    expect(b.trainLoss).toBe(a.trainLoss);
    straight.trainableParams().forEach((p, i) => {
      expect(host(backend, resumed.trainableParams()[i].data)).toEqual(host(backend, p.data));
    });
    expect(lines(dir)).toEqual(lines(straightDir));
  });

  it('refuses a checkpoint written with a different training config', async () => {
    const dir = tmp();
    await trainLoop({
      model: createBigram(V),
      backend,
      train: data,
      padId: 0,
      configHash: 'h1',
      outputDir: dir,
      args: { ...args, maxSteps: 5 },
    });
    await expect(
      trainLoop({
        model: createBigram(V),
        backend,
        train: data,
        padId: 0,
        configHash: 'h2',
        outputDir: dir,
        args,
        resumeFrom: join(dir, 'checkpoint-5'),
      }),
    ).rejects.toThrow(/different training config/);
    expect(() => resolveResume(join(dir, 'nope'), true)).toThrow(TrainError);
  });

  it('the config hash ignores logging/saving keys and sees everything that changes the computation', () => {
    const c = { learning_rate: 1e-4, seed: 42, output_dir: 'a', logging_steps: 10, lora_rank: 8 };
    expect(configHash(c)).toBe(configHash({ ...c, output_dir: 'b', logging_steps: 5, save_steps: 3 }));
    expect(configHash(c)).not.toBe(configHash({ ...c, learning_rate: 2e-4 }));
    expect(configHash(c)).not.toBe(configHash({ ...c, seed: 1 }));
    expect(configHash({ a: 1, b: [1, 2] })).toBe(configHash({ b: [1, 2], a: 1 }));
  });
});

describe('resume with the real Qwen2 model (LoRA with dropout)', async () => {
  const { createModel } = await import('../src/model');
  const { randomWeights } = await import('../src/model/random');
  const config = {
    arch: 'qwen2' as const,
    vocabSize: 96,
    hiddenSize: 32,
    intermediateSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    tieWordEmbeddings: true,
    attentionBias: true,
    maxPositionEmbeddings: 128,
  };
  const weights = randomWeights(config, { seed: 5 });
  const lora = { r: 4, alpha: 8, dropout: 0.1, targets: ['all'] };
  const mk = (seed: number) => createModel({ config, weights, backend, finetuning: 'lora', lora, seed });
  const rows = Array.from({ length: 10 }, (_, i) => {
    const ids = Array.from({ length: 6 + (i % 5) }, (_, t) => (i * 7 + t * 5) % 96);
    return { inputIds: ids, labels: ids.map((x, t) => (t < 2 ? -100 : x)) };
  });
  const qArgs: TrainArgs = { ...args, learningRate: 5e-3, numTrainEpochs: 2, saveSteps: 3, evalStrategy: 'no' };

  it('checkpoint at step 3, a fresh model resumed from it: identical losses and identical final adapter', async () => {
    const straight = mk(1);
    const a = await trainLoop({
      model: straight,
      backend,
      train: rows,
      padId: 0,
      configHash: 'q',
      outputDir: tmp(),
      args: qArgs,
    });
    expect(a.totalSteps).toBe(6); // 5 batches of 2, accumulation 2 -> 3 updates per epoch, 2 epochs
    const dir = tmp();
    const ac = new AbortController();
    await trainLoop({
      model: mk(1),
      backend,
      train: rows,
      padId: 0,
      configHash: 'q',
      outputDir: dir,
      args: qArgs,
      signal: ac.signal,
      onEvent: (e) => e.type === 'metrics' && e.step === 4 && ac.abort(),
    });
    // A different LoRA init seed: A matrices differ until the checkpoint overwrites them.
    const resumed = mk(99);
    const b = await trainLoop({
      model: resumed,
      backend,
      train: rows,
      padId: 0,
      configHash: 'q',
      outputDir: dir,
      args: qArgs,
      resumeFrom: join(dir, 'checkpoint-3'),
    });
    expect(b.lossHistory).toEqual(a.lossHistory);
    const sa = straight.loraState();
    const sb = resumed.loraState();
    expect([...sb.keys()]).toEqual([...sa.keys()]);
    for (const [k, t] of sa) expect(sb.get(k)?.data).toEqual(t.data);
    expect(a.lossHistory.at(-1)?.loss).toBeLessThan(a.lossHistory[0].loss);
  });
});
