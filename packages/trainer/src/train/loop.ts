/**
 * The training loop of the HF Trainer, for one process: per-epoch random order from the seed, micro-batches of
 * per_device_train_batch_size, gradient accumulation with the loss normalised over ALL labelled tokens of the
 * accumulated batch (Transformers' num_items_in_batch), global-norm clipping, AdamW, the lr schedule, logging every
 * logging_steps (mean step loss over the logged steps), eval every eval_steps, checkpoints every save_steps, exact
 * resume, and cancellation between optimizer steps.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, readScalar, SCALAR_SIZE } from '@crucible/tensor';
import { type Example, type ExampleSource, labelledOf } from '../data/store';
import type { AccumulateOptions, Batch, DropoutCursor, LossResult, Param } from '../model/types';
import { collate, planSteps, updateBatches } from './batches';
import {
  checkpointDir,
  loadTrainState,
  pruneAllButBest,
  readTrainerState,
  rotateCheckpoints,
  saveTrainState,
  type TrainerState,
} from './checkpoint';
import { TrainError } from './errors';
import { appendLog, createProgress, makeLogRecord, type TrainerLogRecord } from './logging';
import { createAdamW, normFromSquares } from './optimizer';
import type { PreferenceObjective } from './preference';
import { epochPermutation } from './rng';
import { lrAt, type ScheduleOptions, type TScheduleType, warmupStepsFor } from './schedule';

/** What the loop needs from a model (src/model's Model satisfies it). */
export type TrainableModel = {
  trainableParams(): Param[];
  accumulateGrad(batch: Batch, gradScale: number, o: AccumulateOptions): { nTokens: number };
  loss(batch: Batch): LossResult;
};

export type TrainArgs = {
  perDeviceTrainBatchSize: number;
  perDeviceEvalBatchSize: number;
  gradientAccumulationSteps: number;
  numTrainEpochs: number;
  /** > 0 overrides num_train_epochs. */
  maxSteps: number;
  learningRate: number;
  lrSchedulerType: TScheduleType;
  /** Transformers' lr_scheduler_kwargs (checked by the config parser). */
  lrSchedulerKwargs?: Record<string, unknown>;
  warmupRatio: number;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Values below 1 are a ratio of the total steps, as in HF. */
  loggingSteps: number;
  evalStrategy: 'no' | 'steps' | 'epoch';
  evalSteps?: number;
  saveStrategy: 'no' | 'steps' | 'epoch';
  saveSteps: number;
  /** HF save_total_limit: keep only the newest N checkpoint folders, and the best one (unset: keep all). */
  saveTotalLimit?: number;
  seed: number;
  /**
   * The eval metric whose best value is tracked ('eval_loss', Transformers' metric_for_best_model resolved), or
   * null/absent: no best model. With greaterIsBetter, higher is better.
   */
  metricForBestModel?: string | null;
  greaterIsBetter?: boolean;
  /** At the end, load the parameters of best_model_checkpoint before the final outputs are written. */
  loadBestModelAtEnd?: boolean;
  /** EarlyStoppingCallback(early_stopping_patience): stop after this many evaluations without improvement. */
  earlyStoppingPatience?: number | null;
};

export type TrainEvent =
  | {
      type: 'metrics';
      step: number;
      totalSteps: number;
      loss: number;
      gradNorm: number;
      lr: number;
      epoch: number;
      tokens: number;
      tokensPerS: number;
      etaS: number;
      /** Preference training: the step's rewards/... and logps/... (TRL's names), averaged over its micro-batches. */
      metrics?: Record<string, number>;
    }
  | { type: 'eval'; step: number; evalLoss: number; epoch: number; metrics?: Record<string, number> }
  | { type: 'log'; record: TrainerLogRecord }
  | { type: 'checkpoint'; step: number; dir: string }
  /** save_total_limit deleted this older checkpoint folder (the platform removes its stored copy too). */
  | { type: 'checkpoint-pruned'; step: number; dir: string };

export type LoopOptions = {
  model: TrainableModel;
  backend: Backend;
  /** Examples: an array, or a list over a tokenised store (data/store.ts). */
  train: ExampleSource;
  eval?: ExampleSource;
  padId: number;
  args: TrainArgs;
  outputDir: string;
  configHash: string;
  /** A checkpoint-N directory to continue from (already resolved). */
  resumeFrom?: string | null;
  /** Writes the user-facing adapter/weights of the current parameters into a directory. */
  saveArtifacts?: (dir: string) => void | Promise<void>;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  /** Also checkpoint at every epoch end when saving by steps (the platform keeps both; LLaMA-Factory picks one). */
  saveAtEpochEnd?: boolean;
  /** Checkpoint the current step before returning `cancelled` (a worker handing its job back resumes there). */
  checkpointOnAbort?: boolean | (() => boolean);
  progress?: boolean;
  /** Clock for elapsed/throughput (tests pin it to make logs comparable). */
  now?: () => number;
  /**
   * Packed examples (examples with segments) attend only inside their own sequences: LLaMA-Factory's
   * neat_packing (block_diag_attn). Without it packed sequences attend across each other, as with plain packing.
   */
  blockDiagAttn?: boolean;
  /** One-line messages for people (a missing best checkpoint). Default: stderr. */
  log?: (message: string) => void;
  /**
   * Preference training (stage dpo): its pairs are the rows (train and eval are then unused) and each micro-batch
   * goes through its step: the loss is the mean over pairs, each micro-batch's gradient is scaled by 1 / the number
   * of micro-batches of the step (Transformers without num_items_in_batch), and the TRL metrics are logged as
   * LLaMA-Factory's CustomDPOTrainer.log does: averaged over every micro-batch since the last log.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the loop only passes rows from train/eval back to the same objective
  preference?: PreferenceObjective<any>;
};

export type LoopResult = {
  status: 'completed' | 'cancelled';
  globalStep: number;
  totalSteps: number;
  epoch: number;
  trainLoss: number;
  evalLoss?: number;
  runtimeS: number;
  tokensSeen: number;
  samplesSeen: number;
  lossHistory: { step: number; loss: number }[];
  evalHistory: { step: number; loss: number }[];
  /** EarlyStoppingCallback ended the run before its planned steps. */
  stoppedEarly: boolean;
  /** Transformers' TrainerState fields (null when no metric is tracked or nothing beat it). */
  bestMetric: number | null;
  bestGlobalStep: number | null;
  bestModelCheckpoint: string | null;
  /** The parameters at the end are best_model_checkpoint's (load_best_model_at_end). */
  loadedBestModel: boolean;
};

const everyN = (v: number, total: number) => (v < 1 ? Math.max(1, Math.ceil(total * v)) : Math.round(v));

/** HF evaluation_loop: per-batch mean token loss, weighted by the batch's row count, averaged over rows. */
export function evaluate(
  model: TrainableModel,
  rows: ExampleSource,
  batchSize: number,
  padId: number,
  blockDiagAttn = false,
): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const part: Example[] = [];
    for (let j = i; j < Math.min(rows.length, i + batchSize); j++) part.push(rows.at(j) as Example);
    const r = model.loss(collate(part, padId, blockDiagAttn));
    if (r.nTokens === 0) continue;
    sum += (r.lossSum / r.nTokens) * part.length;
    n += part.length;
  }
  return n > 0 ? sum / n : Number.NaN;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export async function trainLoop(o: LoopOptions): Promise<LoopResult> {
  const { model, backend, args, train } = o;
  const pref = o.preference ?? null;
  const nRows = pref ? pref.train.length : train.length;
  if (nRows === 0)
    throw new TrainError('TRAIN_SET_EMPTY', 'The training set is empty: check dataset, max_samples and val_size.');
  const now = o.now ?? (() => performance.now() / 1000);
  const plan = planSteps(
    nRows,
    args.perDeviceTrainBatchSize,
    args.gradientAccumulationSteps,
    args.numTrainEpochs,
    args.maxSteps,
  );
  const sched: ScheduleOptions = {
    type: args.lrSchedulerType,
    kwargs: args.lrSchedulerKwargs,
    baseLr: args.learningRate,
    totalSteps: plan.totalSteps,
    warmupSteps: warmupStepsFor(plan.totalSteps, args.warmupRatio, args.warmupSteps),
  };
  const logEvery = everyN(args.loggingSteps, plan.totalSteps);
  const evalEvery = everyN(args.evalSteps ?? args.loggingSteps, plan.totalSteps);
  const saveEvery = everyN(args.saveSteps, plan.totalSteps);
  const evalRows: ExampleSource = o.eval ?? [];
  const nEval = pref ? (pref.eval?.length ?? 0) : evalRows.length;
  const doEval = args.evalStrategy !== 'no' && nEval > 0;
  // Preference metrics since the last log: sums over micro-batches and their count.
  let prefSums: Record<string, number> = {};
  let prefCount = 0;
  const runEval = (): { loss: number; metrics?: Record<string, number> } => {
    if (!pref?.eval) return { loss: evaluate(model, evalRows, args.perDeviceEvalBatchSize, o.padId, o.blockDiagAttn) };
    // DPOTrainer.prediction_step per batch; HF weights the loss by the batch's rows, the metrics are batch means.
    let sum = 0;
    const sums: Record<string, number> = {};
    let batches = 0;
    const n = pref.eval.length;
    for (let i = 0; i < n; i += args.perDeviceEvalBatchSize) {
      const part = [];
      for (let j = i; j < Math.min(n, i + args.perDeviceEvalBatchSize); j++) part.push(pref.eval.at(j));
      const r = pref.evaluate(part);
      sum += r.loss * part.length;
      for (const [k, v] of Object.entries(r.sums)) sums[k] = (sums[k] ?? 0) + v;
      batches++;
    }
    const metrics = Object.entries(pref.summarize(sums, batches)).map(([k, v]) => [`eval_${k}`, v]);
    return { loss: sum / n, metrics: Object.fromEntries(metrics) };
  };

  const params = model.trainableParams();
  const opt = createAdamW(backend, params, {
    beta1: args.adamBeta1,
    beta2: args.adamBeta2,
    eps: args.adamEpsilon,
    weightDecay: args.weightDecay,
    maxGradNorm: args.maxGradNorm,
  });
  opt.zeroGrad();
  // One step's numbers on the device: a loss scalar per micro-batch, then a squared-norm scalar per parameter
  // tensor. They come back in one download per optimizer step.
  const accum = args.gradientAccumulationSteps;
  const metrics = backend.alloc([(accum + params.length) * SCALAR_SIZE]);
  const lossSlot = (k: number) => backend.view(metrics, k * SCALAR_SIZE, [SCALAR_SIZE]);
  const normSlots = backend.view(metrics, accum * SCALAR_SIZE, [params.length * SCALAR_SIZE]);
  // The dropout stream: counters from one seed for the whole run; the next counter goes into every checkpoint.
  const dropout: DropoutCursor = { seed: (args.seed ^ 0x5eed) >>> 0, offset: 0 };
  const logPath = join(o.outputDir, 'trainer_log.jsonl');

  let st: TrainerState = {
    version: 2,
    configHash: o.configHash,
    totalSteps: plan.totalSteps,
    globalStep: 0,
    epoch: 0,
    updateInEpoch: 0,
    order: epochPermutation(nRows, args.seed, 0),
    optimizerStep: 0,
    dropoutSeed: dropout.seed,
    dropoutOffset: 0,
    tokensSeen: 0,
    elapsedS: 0,
    logLossSum: 0,
    logSteps: 0,
    totalLossSum: 0,
    lossHistory: [],
    evalHistory: [],
    params: params.map((p) => ({ name: p.name, length: p.data.size })),
  };

  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const tracked = args.metricForBestModel ?? null;
  const patience = args.earlyStoppingPatience ?? null;

  if (o.resumeFrom) {
    const saved = readTrainerState(o.resumeFrom);
    if (saved.configHash !== o.configHash) {
      throw new TrainError(
        'CHECKPOINT_CONFIG_MISMATCH',
        `${o.resumeFrom} was written by a run with a different training config (hash ${saved.configHash.slice(0, 12)} vs ${o.configHash.slice(0, 12)}); resume it with the config it was started with, or start a new run.`,
      );
    }
    loadTrainState(backend, o.resumeFrom, saved, params, opt.state.m, opt.state.v);
    opt.state.step = saved.optimizerStep;
    dropout.offset = saved.dropoutOffset;
    st = { ...saved, totalSteps: plan.totalSteps };
    // Trainer._init_training_state: a best checkpoint that is gone (pruned, or not downloaded) is forgotten.
    if (st.best_model_checkpoint && !existsSync(st.best_model_checkpoint)) {
      log(
        `warning: The best checkpoint ${st.best_model_checkpoint} recorded in the resumed state does not exist anymore. Ignoring it for this run.`,
      );
      st.best_model_checkpoint = null;
    }
    // Keep the log of the steps already done, drop anything a crashed run wrote after the checkpoint.
    if (existsSync(logPath)) {
      const kept = readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .filter((l) => (JSON.parse(l) as TrainerLogRecord).current_steps <= saved.globalStep);
      writeFileSync(logPath, kept.map((l) => `${l}\n`).join(''));
    }
  } else {
    rmSync(logPath, { force: true });
  }

  const startClock = now() - st.elapsedS;
  const elapsed = () => now() - startClock;
  const progress = createProgress(plan.totalSteps, o.progress ?? false, logEvery);
  const emitLog = (rec: TrainerLogRecord) => {
    appendLog(logPath, rec);
    o.onEvent?.({ type: 'log', record: rec });
  };
  const epochFloat = (epoch: number, update: number) =>
    epoch + Math.min(plan.batchesPerEpoch, (update + 1) * args.gradientAccumulationSteps) / plan.batchesPerEpoch;

  // EarlyStoppingCallback's counter lives in the state so a resumed run goes on counting (Transformers saves it
  // under stateful_callbacks).
  let patienceCounter = st.stateful_callbacks?.EarlyStoppingCallback?.attributes.early_stopping_patience_counter ?? 0;

  const save = async () => {
    const dir = checkpointDir(o.outputDir, st.globalStep);
    st.optimizerStep = opt.state.step;
    st.dropoutSeed = dropout.seed;
    st.dropoutOffset = dropout.offset;
    st.elapsedS = elapsed();
    await o.saveArtifacts?.(dir);
    mkdirSync(dir, { recursive: true });
    // Trainer._save_checkpoint: after the model is saved, the best step's folder (if it exists) is the best checkpoint.
    if (st.best_global_step) {
      const bestDir = checkpointDir(o.outputDir, st.best_global_step);
      if (existsSync(bestDir)) st.best_model_checkpoint = bestDir;
    }
    if (patience !== null) {
      st.stateful_callbacks = {
        EarlyStoppingCallback: {
          args: { early_stopping_patience: patience, early_stopping_threshold: 0 },
          attributes: { early_stopping_patience_counter: patienceCounter },
        },
      };
    }
    saveTrainState(backend, dir, st, params, opt.state.m, opt.state.v);
    o.onEvent?.({ type: 'checkpoint', step: st.globalStep, dir });
    for (const p of rotateCheckpoints(o.outputDir, args.saveTotalLimit, st.best_model_checkpoint ?? null))
      o.onEvent?.({ type: 'checkpoint-pruned', step: p.step, dir: p.dir });
  };

  /**
   * After an evaluation, in Transformers' order: EarlyStoppingCallback.on_evaluate compares with the best so far
   * (threshold 0), then Trainer._determine_best_metric records a new best. Returns whether training should stop.
   */
  const afterEval = (value: number): boolean => {
    if (tracked === null) return false;
    const better = (a: number, b: number) => (args.greaterIsBetter ? a > b : a < b);
    let stop = false;
    if (patience !== null) {
      const prev = st.best_metric ?? null;
      patienceCounter = prev === null || (better(value, prev) && Math.abs(value - prev) > 0) ? 0 : patienceCounter + 1;
      stop = patienceCounter >= patience;
    }
    if (st.best_metric === undefined || st.best_metric === null) {
      st.best_metric = args.greaterIsBetter ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (better(value, st.best_metric)) {
      st.best_metric = value;
      if (args.saveStrategy !== 'no') st.best_global_step = st.globalStep;
    }
    return stop;
  };

  let status: LoopResult['status'] = 'completed';
  let stoppedEarly = false;
  let lastEpoch = st.globalStep > 0 ? st.epoch + st.updateInEpoch / plan.updatesPerEpoch : 0;
  let lastEval: number | undefined = st.evalHistory.at(-1)?.loss;

  outer: while (st.globalStep < plan.totalSteps && st.epoch < plan.numEpochs) {
    for (; st.updateInEpoch < plan.updatesPerEpoch; ) {
      if (st.globalStep >= plan.totalSteps) break outer;
      if (o.signal?.aborted) {
        status = 'cancelled';
        const wanted = typeof o.checkpointOnAbort === 'function' ? o.checkpointOnAbort() : o.checkpointOnAbort;
        if (wanted && st.globalStep > 0 && !existsSync(checkpointDir(o.outputDir, st.globalStep))) await save();
        break outer;
      }
      const micro = updateBatches(
        st.order,
        args.perDeviceTrainBatchSize,
        args.gradientAccumulationSteps,
        st.updateInEpoch,
      );
      let stepLoss = 0;
      let stepMetrics: Record<string, number> | undefined;
      if (pref) {
        // Preference training reads each micro-batch's per-row log-probs between forward and backward.
        const stepSums: Record<string, number> = {};
        for (const idx of micro) {
          const rows = idx.map((i) => pref.train.at(i));
          const r = pref.step(rows, 1 / micro.length);
          stepLoss += r.loss / micro.length;
          for (const [k, v] of Object.entries(r.sums)) {
            stepSums[k] = (stepSums[k] ?? 0) + v;
            prefSums[k] = (prefSums[k] ?? 0) + v;
          }
          prefCount++;
          for (const row of rows) st.tokensSeen += pref.tokens(row);
        }
        stepMetrics = pref.summarize(stepSums, micro.length);
      }
      let numItems = 0;
      if (!pref) for (const idx of micro) for (const i of idx) numItems += labelledOf(train, i);
      const scale = 1 / Math.max(1, numItems);
      if (!pref) {
        micro.forEach((idx, k) => {
          const batch = collate(
            idx.map((i) => train.at(i) as Example),
            o.padId,
            o.blockDiagAttn,
          );
          model.accumulateGrad(batch, scale, { dropout, lossOut: lossSlot(k) });
          for (let b = 0; b < batch.B; b++) st.tokensSeen += batch.keyLen[b];
        });
      }
      opt.gradSquaresInto(normSlots);
      // The step's one host read: the micro-batch losses and the per-tensor squared norms.
      const host = backend.download(metrics);
      if (!pref) {
        let lossSum = 0;
        for (let k = 0; k < micro.length; k++) lossSum += readScalar(host, k * SCALAR_SIZE);
        stepLoss = lossSum * scale;
      }
      const gradNorm = normFromSquares(host, params.length, accum * SCALAR_SIZE);
      const lr = lrAt(sched, st.globalStep);
      opt.stepWithNorm(lr, gradNorm);
      st.globalStep += 1;
      const epochF = epochFloat(st.epoch, st.updateInEpoch);
      lastEpoch = epochF;
      st.updateInEpoch += 1;
      st.logLossSum += stepLoss;
      st.logSteps += 1;
      st.totalLossSum += stepLoss;
      st.lossHistory.push({ step: st.globalStep, loss: stepLoss });

      const el = elapsed();
      const etaS = (el / st.globalStep) * (plan.totalSteps - st.globalStep);
      const nextLr = lrAt(sched, st.globalStep); // HF logs the scheduler's lr after its step
      o.onEvent?.({
        type: 'metrics',
        step: st.globalStep,
        totalSteps: plan.totalSteps,
        loss: stepLoss,
        gradNorm,
        lr: nextLr,
        epoch: epochF,
        tokens: st.tokensSeen,
        tokensPerS: el > 0 ? st.tokensSeen / el : 0,
        etaS,
        metrics: stepMetrics,
      });
      progress.update(st.globalStep, stepLoss, el > 0 ? st.tokensSeen / el : 0, etaS);

      if (st.globalStep % logEvery === 0) {
        emitLog(
          makeLogRecord({
            step: st.globalStep,
            totalSteps: plan.totalSteps,
            elapsedS: el,
            tokens: st.tokensSeen,
            loss: st.logLossSum / st.logSteps,
            lr: nextLr,
            epoch: epochF,
            gradNorm,
            metrics: pref ? pref.summarize(prefSums, prefCount) : undefined,
          }),
        );
        st.logLossSum = 0;
        st.logSteps = 0;
        prefSums = {};
        prefCount = 0;
      }
      const endOfEpoch = st.updateInEpoch === plan.updatesPerEpoch;
      if (
        doEval &&
        ((args.evalStrategy === 'steps' && st.globalStep % evalEvery === 0) ||
          (args.evalStrategy === 'epoch' && endOfEpoch))
      ) {
        const ev = runEval();
        lastEval = ev.loss;
        st.evalHistory.push({ step: st.globalStep, loss: lastEval });
        if (afterEval(lastEval)) stoppedEarly = true;
        o.onEvent?.({ type: 'eval', step: st.globalStep, evalLoss: lastEval, epoch: epochF, metrics: ev.metrics });
        emitLog(
          makeLogRecord({
            step: st.globalStep,
            totalSteps: plan.totalSteps,
            elapsedS: elapsed(),
            tokens: st.tokensSeen,
            evalLoss: lastEval,
            epoch: epochF,
            metrics: ev.metrics,
          }),
        );
      }
      if (endOfEpoch) {
        st.epoch += 1;
        st.updateInEpoch = 0;
        st.order = epochPermutation(nRows, args.seed, st.epoch);
      }
      if (
        (args.saveStrategy === 'steps' && st.globalStep % saveEvery === 0) ||
        (args.saveStrategy === 'epoch' && endOfEpoch) ||
        (o.saveAtEpochEnd && args.saveStrategy !== 'no' && endOfEpoch) ||
        // stopping mid-epoch, the HF Trainer still ends the epoch (on_epoch_end), which saves under save_strategy epoch
        (stoppedEarly && args.saveStrategy === 'epoch')
      ) {
        await save();
      }
      if (stoppedEarly) break outer;
      await yieldToEventLoop();
      if (endOfEpoch) continue outer;
    }
  }
  progress.done();

  const runtimeS = elapsed();
  let loadedBestModel = false;
  if (status === 'completed') {
    // HF logs the train summary at the end; LLaMA-Factory's LogCallback turns it into a last line without a loss.
    emitLog(
      makeLogRecord({
        step: st.globalStep,
        totalSteps: plan.totalSteps,
        elapsedS: runtimeS,
        tokens: st.tokensSeen,
        epoch: lastEpoch,
      }),
    );
    // Trainer._finalize_training: load the best checkpoint's weights, then (save_total_limit 1) delete the others.
    const bestDir = st.best_model_checkpoint ?? null;
    if (args.loadBestModelAtEnd && bestDir !== null) {
      if (existsSync(join(bestDir, 'train_state.bin'))) {
        const saved = readTrainerState(bestDir);
        // Parameters bit for bit as saved (train_state.bin is fp32); AdamW moments come along and are unused.
        loadTrainState(backend, bestDir, saved, params, opt.state.m, opt.state.v);
        loadedBestModel = true;
        log(`[crucible] loaded the best model from ${bestDir} (eval metric ${st.best_metric})`);
      } else {
        // Transformers warns "Could not locate the best model at ..." and keeps the last weights too.
        log(
          `warning: Could not locate the best model at ${join(bestDir, 'train_state.bin')}; the outputs hold the last step's weights.`,
        );
      }
    }
    for (const p of pruneAllButBest(o.outputDir, args.saveTotalLimit, bestDir))
      o.onEvent?.({ type: 'checkpoint-pruned', step: p.step, dir: p.dir });
  }
  return {
    status,
    globalStep: st.globalStep,
    totalSteps: plan.totalSteps,
    epoch: lastEpoch,
    trainLoss: st.globalStep > 0 ? st.totalLossSum / st.globalStep : Number.NaN,
    evalLoss: lastEval,
    runtimeS,
    tokensSeen: st.tokensSeen,
    samplesSeen: st.globalStep * args.perDeviceTrainBatchSize * args.gradientAccumulationSteps,
    lossHistory: st.lossHistory,
    evalHistory: st.evalHistory,
    stoppedEarly,
    bestMetric:
      st.best_metric !== undefined && st.best_metric !== null && Number.isFinite(st.best_metric)
        ? st.best_metric
        : null,
    bestGlobalStep: st.best_global_step ?? null,
    bestModelCheckpoint: st.best_model_checkpoint ?? null,
    loadedBestModel,
  };
}
