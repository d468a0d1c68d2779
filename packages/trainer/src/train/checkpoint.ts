/**
 * Checkpoints that resume exactly: `output_dir/checkpoint-N/` holds the user-facing adapter/weights (written by the
 * caller) plus `train_state.bin` (every trainable parameter, AdamW m and v, all float32) and `trainer_state.json`
 * (step, scheduler position, RNG state, data order and position, log accumulators, and a hash of the training-relevant
 * config). Parameters are restored from train_state.bin, not from the adapter, so resuming never depends on an
 * export format's round trip.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Param } from '../model/types';
import { TrainError } from './errors';
import type { RngState } from './rng';

export type LoopPosition = {
  globalStep: number;
  /** Epoch index and next update index inside it. */
  epoch: number;
  updateInEpoch: number;
  /** The sample order of the current epoch (saved so a resumed run can check it draws the same one). */
  order: number[];
};

export type TrainerState = LoopPosition & {
  version: 1;
  configHash: string;
  totalSteps: number;
  optimizerStep: number;
  rng: RngState;
  tokensSeen: number;
  elapsedS: number;
  /** Sum of step losses since the last logging step, and how many steps that is. */
  logLossSum: number;
  logSteps: number;
  /** Sum of all step losses (train_loss at the end). */
  totalLossSum: number;
  lossHistory: { step: number; loss: number }[];
  evalHistory: { step: number; loss: number }[];
  params: { name: string; length: number }[];
};

/** Keys that change how a run is logged or saved but not what it computes. */
const HASH_EXCLUDED = new Set([
  'output_dir',
  'overwrite_output_dir',
  'logging_steps',
  'logging_dir',
  'save_steps',
  'save_strategy',
  'save_total_limit',
  'save_only_model',
  'plot_loss',
  'report_to',
  'run_name',
  'resume_from_checkpoint',
  'eval_steps',
  'eval_strategy',
  'evaluation_strategy',
  'per_device_eval_batch_size',
  'do_eval',
  'do_predict',
  'overwrite_cache',
  'preprocessing_num_workers',
  'preprocessing_batch_size',
  'dataloader_num_workers',
  'ddp_timeout',
  'cache_dir',
  'trust_remote_code',
  'tokenized_path',
]);

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** sha256 over the training-relevant keys of a config (sorted, undefined dropped). */
export function configHash(cfg: Record<string, unknown>): string {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) if (!HASH_EXCLUDED.has(k)) kept[k] = v;
  return createHash('sha256').update(stable(kept)).digest('hex');
}

export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `checkpoint-${step}`);
}

export function saveTrainState(
  dir: string,
  state: TrainerState,
  params: Param[],
  m: Float32Array[],
  v: Float32Array[],
): void {
  mkdirSync(dir, { recursive: true });
  const total = params.reduce((a, p) => a + p.data.length * 3, 0);
  const buf = new Float32Array(total);
  let off = 0;
  params.forEach((p, i) => {
    for (const arr of [p.data, m[i], v[i]]) {
      buf.set(arr, off);
      off += arr.length;
    }
  });
  // Write then rename so a crash mid-save never leaves a half checkpoint that looks whole.
  writeFileSync(join(dir, 'train_state.bin.tmp'), new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  renameSync(join(dir, 'train_state.bin.tmp'), join(dir, 'train_state.bin'));
  writeFileSync(join(dir, 'trainer_state.json'), `${JSON.stringify(state, null, 1)}\n`);
}

export function readTrainerState(dir: string): TrainerState {
  const p = join(dir, 'trainer_state.json');
  if (!existsSync(p) || !existsSync(join(dir, 'train_state.bin'))) {
    throw new TrainError(
      'CHECKPOINT_NOT_FOUND',
      `${dir} is not a Crucible checkpoint (no trainer_state.json/train_state.bin).`,
    );
  }
  return JSON.parse(readFileSync(p, 'utf8')) as TrainerState;
}

/** Copies saved parameters and AdamW moments into the live buffers, checking names and sizes one by one. */
export function loadTrainState(
  dir: string,
  state: TrainerState,
  params: Param[],
  m: Float32Array[],
  v: Float32Array[],
): void {
  const bytes = readFileSync(join(dir, 'train_state.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (state.params.length !== params.length) {
    throw new TrainError(
      'CHECKPOINT_CORRUPT',
      `checkpoint has ${state.params.length} trainable tensors, the model ${params.length}.`,
    );
  }
  let off = 0;
  params.forEach((p, i) => {
    const s = state.params[i];
    if (s.name !== p.name || s.length !== p.data.length) {
      throw new TrainError(
        'CHECKPOINT_CORRUPT',
        `checkpoint tensor ${s.name} (${s.length}) does not match the model's ${p.name} (${p.data.length}).`,
      );
    }
    for (const arr of [p.data, m[i], v[i]]) {
      arr.set(all.subarray(off, off + arr.length));
      off += arr.length;
    }
  });
  if (off !== all.length)
    throw new TrainError('CHECKPOINT_CORRUPT', `${dir}/train_state.bin has ${all.length - off} extra values.`);
}

/** `resume_from_checkpoint`: a path, or true/"true"/"latest" for the highest checkpoint-N in output_dir. */
export function resolveResume(outputDir: string, spec: string | boolean | null | undefined): string | null {
  if (spec === undefined || spec === null || spec === false || spec === '' || spec === 'false') return null;
  if (spec === true || spec === 'true' || spec === 'latest') {
    const steps = existsSync(outputDir)
      ? readdirSync(outputDir)
          .map((n) => /^checkpoint-(\d+)$/.exec(n))
          .filter((x) => x !== null)
          .map((x) => Number(x[1]))
      : [];
    if (steps.length === 0)
      throw new TrainError('CHECKPOINT_NOT_FOUND', `resume_from_checkpoint: no checkpoint-N folder in ${outputDir}.`);
    return checkpointDir(outputDir, Math.max(...steps));
  }
  if (!existsSync(spec))
    throw new TrainError('CHECKPOINT_NOT_FOUND', `resume_from_checkpoint: ${spec} does not exist.`);
  return spec;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
