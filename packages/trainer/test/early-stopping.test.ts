/**
 * Best model and early stopping as Transformers 5 defines them (issue 17): EarlyStoppingCallback (LLaMA-Factory's
 * early_stopping_steps is its patience, counted in evaluations; threshold 0), Trainer._determine_best_metric /
 * _save_checkpoint (best_metric, best_global_step, best_model_checkpoint), rotate_checkpoints (the newest and the
 * best checkpoint protected), and _finalize_training (load the best checkpoint; with save_total_limit 1 delete the
 * rest). The loop runs the bigram model of train-bigram.ts; a scripted eval loss pins the exact counting.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '@crucible/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../src/config';
import { initModel, readSafetensorsSync } from '../src/io';
import type { Batch } from '../src/model/types';
import { listCheckpoints, loadTrainState, readTrainerState } from '../src/train/checkpoint';
import { type TrainArgs, trainLoop } from '../src/train/loop';
import { runTraining } from '../src/train/run';
import { host } from './host';
import { createBigram, patternData } from './train-bigram';

const V = 11;
const backend = createBackend('reference');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'crucible-early-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const args: TrainArgs = {
  perDeviceTrainBatchSize: 2,
  perDeviceEvalBatchSize: 8,
  gradientAccumulationSteps: 1,
  numTrainEpochs: 10,
  maxSteps: -1,
  learningRate: 0.2,
  lrSchedulerType: 'constant',
  warmupRatio: 0,
  warmupSteps: 0,
  weightDecay: 0,
  maxGradNorm: 1,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  loggingSteps: 1,
  evalStrategy: 'steps',
  evalSteps: 1,
  saveStrategy: 'steps',
  saveSteps: 1,
  seed: 42,
  metricForBestModel: 'eval_loss',
  greaterIsBetter: false,
  loadBestModelAtEnd: true,
  earlyStoppingPatience: 2,
};

/** The bigram, with evaluation returning the next scripted value (one eval batch: evaluate() returns it as is). */
function scripted(values: number[], seed = 1) {
  const m = createBigram(V, seed);
  let k = 0;
  return { ...m, loss: (_: Batch) => ({ lossSum: values[k++] ?? Number.NaN, nTokens: 1 }) };
}

/** A checkpoint's trainable parameters, read from its train_state.bin into a fresh bigram. */
function savedParams(dir: string): Float32Array[] {
  const m = createBigram(V, 77);
  const params = m.trainableParams();
  const moments = () => params.map((p) => backend.alloc([...p.shape]));
  loadTrainState(backend, dir, readTrainerState(dir), params, moments(), moments());
  return params.map((p) => host(backend, p.data).slice());
}

describe('early stopping on a real evaluation', () => {
  it('a run whose eval loss rises stops after `patience` evaluations without improvement and ends with the best weights', async () => {
    // trained on x -> 3x + 1, evaluated on x -> 3x + 2: the better it learns, the worse the evaluation
    const train = patternData(12, V);
    const evalRows = train.map((r) => {
      const ids = [r.inputIds[0]];
      while (ids.length < r.inputIds.length) ids.push((ids[ids.length - 1] * 3 + 2) % V);
      return { inputIds: ids, labels: ids.map((x, i) => (i === 0 ? -100 : x)) };
    });
    const out = tmp();
    const model = createBigram(V);
    const res = await trainLoop({
      model,
      backend,
      train,
      eval: evalRows,
      padId: 0,
      configHash: 'x',
      outputDir: out,
      args: { ...args, earlyStoppingPatience: 3 },
    });
    const evals = res.evalHistory.map((e) => e.loss);
    expect(evals.length).toBe(4); // the first evaluation is the best, then three without improvement
    for (let i = 1; i < evals.length; i++) expect(evals[i]).toBeGreaterThan(evals[i - 1]);
    expect([res.status, res.stoppedEarly, res.globalStep]).toEqual(['completed', true, 4]);
    expect(res.totalSteps).toBe(60);
    expect(res.bestMetric).toBe(evals[0]);
    expect(res.bestModelCheckpoint).toBe(join(out, 'checkpoint-1'));
    expect(res.loadedBestModel).toBe(true);
    // the final weights are checkpoint-1's bit for bit, not the last step's
    const now = model.trainableParams().map((p) => host(backend, p.data));
    const best = savedParams(join(out, 'checkpoint-1'));
    for (const [i, t] of now.entries()) expect(t).toEqual(best[i]);
    const last = savedParams(join(out, 'checkpoint-4'));
    expect(now[0]).not.toEqual(last[0]);
    // the log stops where training did
    const log = readFileSync(join(out, 'trainer_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((l) => 'eval_loss' in l).map((l) => l.current_steps)).toEqual([1, 2, 3, 4]);
  });
});

describe('the EarlyStoppingCallback counter and the best checkpoint (scripted eval loss)', () => {
  // eval:     1  2  3  4    5  6    7    8
  const losses = [5, 4, 4, 4.5, 3, 3.5, 3.2, 3.1];
  // counter:  0  0  1  2    0  1    2    3  -> patience 3 stops at eval 8; an equal loss is no improvement

  it('counts evaluations without strict improvement, resets on a new best, and stops at the patience', async () => {
    const out = tmp();
    const res = await trainLoop({
      model: scripted(losses),
      backend,
      train: patternData(40, V),
      eval: patternData(2, V, 9),
      padId: 0,
      configHash: 'x',
      outputDir: out,
      args: { ...args, earlyStoppingPatience: 3, loadBestModelAtEnd: false },
    });
    expect([res.globalStep, res.stoppedEarly, res.bestMetric]).toEqual([8, true, 3]);
    expect(res.bestModelCheckpoint).toBe(join(out, 'checkpoint-5'));
    expect(res.loadedBestModel).toBe(false); // load_best_model_at_end off: the last weights stay
    // Transformers' TrainerState fields in every checkpoint, and the callback's counter for resume
    const st = readTrainerState(join(out, 'checkpoint-7'));
    expect([st.best_metric, st.best_global_step, st.best_model_checkpoint]).toEqual([3, 5, join(out, 'checkpoint-5')]);
    expect(st.stateful_callbacks?.EarlyStoppingCallback).toEqual({
      args: { early_stopping_patience: 3, early_stopping_threshold: 0 },
      attributes: { early_stopping_patience_counter: 2 },
    });
    expect(readTrainerState(join(out, 'checkpoint-4')).best_model_checkpoint).toBe(join(out, 'checkpoint-2'));
  });

  it('greater_is_better reverses the comparison', async () => {
    const res = await trainLoop({
      model: scripted([1, 2, 2, 1.5]),
      backend,
      train: patternData(40, V),
      eval: patternData(2, V, 9),
      padId: 0,
      configHash: 'x',
      outputDir: tmp(),
      args: { ...args, greaterIsBetter: true, earlyStoppingPatience: 2 },
    });
    expect([res.globalStep, res.bestMetric, res.bestModelCheckpoint?.endsWith('checkpoint-2')]).toEqual([4, 2, true]);
  });

  it('a resumed run goes on counting from the checkpoint and stops where the straight run did', async () => {
    const out = tmp();
    const data = { train: patternData(40, V), eval: patternData(2, V, 9) };
    const run = (model: ReturnType<typeof scripted>, resumeFrom?: string) =>
      trainLoop({
        model,
        backend,
        ...data,
        padId: 0,
        configHash: 'x',
        outputDir: out,
        resumeFrom,
        args: { ...args, earlyStoppingPatience: 3 },
      });
    const straight = await run(scripted(losses));
    const resumed = await run(scripted(losses.slice(6)), join(out, 'checkpoint-6'));
    expect(resumed.globalStep).toBe(straight.globalStep);
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    expect(resumed.bestModelCheckpoint).toBe(join(out, 'checkpoint-5'));
    expect(resumed.loadedBestModel).toBe(true);
  });

  it('save_total_limit keeps the best checkpoint besides the newest; with 1, only the best stays at the end', async () => {
    const run = async (limit: number) => {
      const out = tmp();
      const pruned: number[] = [];
      await trainLoop({
        model: scripted(losses),
        backend,
        train: patternData(40, V),
        eval: patternData(2, V, 9),
        padId: 0,
        configHash: 'x',
        outputDir: out,
        onEvent: (e) => e.type === 'checkpoint-pruned' && pruned.push(e.step),
        args: { ...args, earlyStoppingPatience: 3, saveTotalLimit: limit },
      });
      return { left: listCheckpoints(out).map((c) => c.step), pruned };
    };
    // Transformers' rotate_checkpoints: protect the newest and the best, keep max(limit, protected)
    expect(await run(2)).toEqual({ left: [5, 8], pruned: [1, 3, 2, 4, 6, 7] });
    // limit 1 keeps two while the best is not the newest; _finalize_training then deletes all but the best
    expect(await run(1)).toEqual({ left: [5], pruned: [1, 3, 2, 4, 6, 7, 8] });
  });

  it('without a tracked metric nothing is tracked and rotation keeps the newest N', async () => {
    const out = tmp();
    const res = await trainLoop({
      model: scripted(losses),
      backend,
      train: patternData(16, V),
      eval: patternData(2, V, 9),
      padId: 0,
      configHash: 'x',
      outputDir: out,
      args: {
        ...args,
        metricForBestModel: null,
        loadBestModelAtEnd: false,
        earlyStoppingPatience: null,
        numTrainEpochs: 1,
        saveTotalLimit: 2,
      },
    });
    expect([res.globalStep, res.stoppedEarly, res.bestMetric, res.bestModelCheckpoint]).toEqual([8, false, null, null]);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([7, 8]);
  });
});

describe('a LLaMA-Factory config end to end (runTraining)', () => {
  it("early_stopping_steps + load_best_model_at_end: the adapter written is the best checkpoint's, and trainer_state.json says which", async () => {
    const root = tmp();
    const modelDir = join(root, 'model');
    await initModel(
      { arch: 'qwen2', layers: 1, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 3 },
      modelDir,
    );
    const data = join(root, 'data');
    const rows = (answer: (c: string) => string) =>
      ['red', 'green', 'blue', 'cyan', 'pink', 'gold'].map((c) => ({
        instruction: `Name a colour like ${c}.`,
        input: '',
        output: answer(c),
      }));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    writeFileSync(
      join(data, 'dataset_info.json'),
      JSON.stringify({ train: { file_name: 'train.json' }, held: { file_name: 'held.json' } }),
    );
    // the evaluation wants the opposite answers: eval loss rises as the adapter learns
    writeFileSync(join(data, 'train.json'), JSON.stringify(rows((c) => `${c} is a colour.`)));
    writeFileSync(join(data, 'held.json'), JSON.stringify(rows((c) => `No, ${c} never was one!`)));
    const out = join(root, 'out');
    const cfg = parseTrainConfig(
      {
        model_name_or_path: modelDir,
        output_dir: out,
        dataset: 'train',
        eval_dataset: 'held',
        dataset_dir: data,
        template: 'qwen',
        cutoff_len: 64,
        lora_rank: 4,
        learning_rate: 0.05,
        num_train_epochs: 20,
        per_device_train_batch_size: 2,
        per_device_eval_batch_size: 6,
        logging_steps: 1,
        eval_strategy: 'steps',
        eval_steps: 1,
        save_steps: 1,
        save_total_limit: 2,
        load_best_model_at_end: true,
        early_stopping_steps: 2,
        neat_packing: true,
      },
      'c.yaml',
      () => {},
    );
    const res = await runTraining(cfg, { backend: 'auto', progress: false, log: () => {} });
    expect(res.stoppedEarly).toBe(true);
    expect(res.globalStep).toBeLessThan(res.totalSteps);
    const best = res.bestModelCheckpoint as string;
    expect(listCheckpoints(out).map((c) => c.dir)).toContain(best);
    const finalA = readSafetensorsSync(join(out, 'adapter_model.safetensors'));
    const bestA = readSafetensorsSync(join(best, 'adapter_model.safetensors'));
    expect([...finalA.keys()]).toEqual([...bestA.keys()]);
    for (const [k, t] of finalA) expect(t.data).toEqual(bestA.get(k)?.data);
    // and not the last step's: patience 2 means the best is two evaluations back
    expect(res.bestGlobalStep).toBe(res.globalStep - 2);
    const lastA = readSafetensorsSync(join(out, `checkpoint-${res.globalStep}`, 'adapter_model.safetensors'));
    expect([...finalA].some(([k, t]) => !lastA.get(k)?.data.every((x, i) => x === t.data[i]))).toBe(true);
    const state = JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({
      best_model_checkpoint: best,
      best_metric: res.bestMetric,
      global_step: res.globalStep,
    });
    const evalResults = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
    expect(evalResults.eval_loss).toBe(res.bestMetric);
    expect(existsSync(join(out, 'checkpoint-1'))).toBe(best.endsWith('checkpoint-1'));
  });
});
