/**
 * Checkpoints that resume exactly: `output_dir/checkpoint-N/` holds the user-facing adapter/weights (written by the
 * caller) plus `train_state.bin` (every trainable parameter, AdamW m and v, all float32, streamed) and
 * `trainer_state.json` (step, scheduler position, dropout stream, data order and position, log accumulators, and a
 * hash of the training-relevant config). Parameters are restored from train_state.bin, not from the adapter, so
 * resuming never depends on an export format's round trip.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import { PREDICT_KEYS } from '../config/schema';
import type { Param } from '../model/types';
import { TrainError } from './errors';

export type LoopPosition = {
  globalStep: number;
  /** Epoch index and next update index inside it. */
  epoch: number;
  updateInEpoch: number;
  /** The sample order of the current epoch (saved so a resumed run can check it draws the same one). */
  order: number[];
};

export type TrainerState = LoopPosition & {
  version: 2;
  configHash: string;
  totalSteps: number;
  optimizerStep: number;
  /** The LoRA dropout stream: its seed and the next counter (Backend.dropoutForward). */
  dropoutSeed: number;
  dropoutOffset: number;
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
  // Best-model tracking under Transformers' own names and meanings (its TrainerState): the best value of
  // metric_for_best_model so far, the step it was seen at (when a save strategy is set), and the checkpoint folder of
  // that step once it exists. Absent in checkpoints of runs that tracked no metric.
  best_metric?: number | null;
  best_global_step?: number | null;
  best_model_checkpoint?: string | null;
  /** Transformers' TrainerState.stateful_callbacks: EarlyStoppingCallback's patience counter, for resume. */
  stateful_callbacks?: {
    EarlyStoppingCallback?: {
      args: { early_stopping_patience: number; early_stopping_threshold: number };
      attributes: { early_stopping_patience_counter: number };
    };
  };
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
  // Checkpointing recomputes exactly what was kept: a run may resume with it switched.
  'gradient_checkpointing',
  'disable_gradient_checkpointing',
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
  // Generation for do_predict runs after training and changes nothing the training computes.
  ...PREDICT_KEYS,
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
  // preprocessing_batch_size chooses which examples sft packing bins together (data/packing.ts); otherwise it
  // changes nothing, and configs that carry it keep the hash they had before packing existed.
  const packsSft = cfg.stage === 'sft' && cfg.packing === true;
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (HASH_EXCLUDED.has(k) && !(packsSft && k === 'preprocessing_batch_size')) continue;
    kept[k] = v;
  }
  return createHash('sha256').update(stable(kept)).digest('hex');
}

export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `checkpoint-${step}`);
}

/** Bytes per read/write call: well under the 2 GiB a single fs call moves, large enough to stream at disk speed. */
const IO_CHUNK = 64 << 20;

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off));
}

function readAll(fd: number, bytes: Uint8Array, position: number, file: string): void {
  for (let off = 0; off < bytes.length; ) {
    const n = readSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off), position + off);
    if (n <= 0) throw new TrainError('CHECKPOINT_CORRUPT', `${file} ends before its tensors do.`);
    off += n;
  }
}

/**
 * Writes train_state.bin (every trainable parameter, then its AdamW m and v, float32, in params order) streamed:
 * one tensor is downloaded and written at a time, so the file may be any size (a 0.5B full fine-tune writes ~6 GB)
 * and memory holds at most one tensor's host copy.
 */
export function saveTrainState(be: Backend, dir: string, state: TrainerState, params: Param[], m: DT[], v: DT[]): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, 'train_state.bin.tmp');
  const fd = openSync(tmp, 'w');
  try {
    params.forEach((p, i) => {
      for (const t of [p.data, m[i], v[i]]) {
        const host = be.download(t) as Float32Array;
        writeAll(fd, new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
      }
    });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // Write then rename so a crash mid-save never leaves a half checkpoint that looks whole.
  renameSync(tmp, join(dir, 'train_state.bin'));
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
  const raw = JSON.parse(readFileSync(p, 'utf8')) as Omit<TrainerState, 'version'> & { version: number };
  // Version 1 drew LoRA dropout from a stored xoshiro state; its parameters and moments load the same way, and the
  // dropout stream continues from counter 0.
  if (raw.version === 1) return { ...raw, version: 2, dropoutSeed: raw.dropoutSeed ?? 0, dropoutOffset: 0 };
  return raw as TrainerState;
}

/**
 * Copies saved parameters and AdamW moments into the live tensors, checking names and sizes one by one, streamed
 * from the file (one tensor's host buffer at a time, no 2 GiB limit).
 */
export function loadTrainState(be: Backend, dir: string, state: TrainerState, params: Param[], m: DT[], v: DT[]): void {
  const file = join(dir, 'train_state.bin');
  if (state.params.length !== params.length) {
    throw new TrainError(
      'CHECKPOINT_CORRUPT',
      `checkpoint has ${state.params.length} trainable tensors, the model ${params.length}.`,
    );
  }
  let total = 0;
  params.forEach((p, i) => {
    const s = state.params[i];
    if (s.name !== p.name || s.length !== p.data.size) {
      throw new TrainError(
        'CHECKPOINT_CORRUPT',
        `checkpoint tensor ${s.name} (${s.length}) does not match the model's ${p.name} (${p.data.size}).`,
      );
    }
    total += 3 * p.data.size;
  });
  const size = statSync(file).size;
  if (size !== total * 4) {
    throw new TrainError(
      'CHECKPOINT_CORRUPT',
      `${file} has ${size} bytes; the ${params.length} tensors with their AdamW moments need ${total * 4}.`,
    );
  }
  const fd = openSync(file, 'r');
  try {
    let pos = 0;
    let buf = new Float32Array(0);
    params.forEach((p, i) => {
      if (buf.length < p.data.size) buf = new Float32Array(p.data.size);
      const host = buf.subarray(0, p.data.size);
      for (const t of [p.data, m[i], v[i]]) {
        readAll(fd, new Uint8Array(host.buffer, host.byteOffset, host.byteLength), pos, file);
        be.upload(t, host);
        pos += host.byteLength;
      }
    });
  } finally {
    closeSync(fd);
  }
}

/** The checkpoint-N folders of an output directory, by step (ascending). */
export function listCheckpoints(outputDir: string): { step: number; dir: string }[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((x) => x !== null)
    .map((x) => ({ step: Number(x[1]), dir: join(outputDir, x[0]) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Transformers' rotate_checkpoints (trainer_utils.py, Transformers 5): with save_total_limit N, after a save the
 * newest checkpoint and the best one (best_model_checkpoint, tracked when metric_for_best_model is set) are
 * protected, and the oldest unprotected folders are deleted until max(N, protected) remain. So N = 1 keeps two
 * while the best is not the newest. The deleted ones are returned (the platform deletes them from storage too).
 */
export function rotateCheckpoints(
  outputDir: string,
  limit: number | undefined,
  bestModelCheckpoint: string | null = null,
): { step: number; dir: string }[] {
  if (limit === undefined || limit <= 0) return [];
  const all = listCheckpoints(outputDir);
  if (all.length <= limit) return [];
  const best = bestModelCheckpoint === null ? null : resolve(bestModelCheckpoint);
  const protectedDirs = new Set([resolve((all.at(-1) as { dir: string }).dir)]);
  if (best !== null) protectedDirs.add(best);
  const keep = Math.max(limit, protectedDirs.size);
  const pruned: { step: number; dir: string }[] = [];
  let remaining = all.length;
  for (const c of all) {
    if (remaining <= keep) break;
    if (protectedDirs.has(resolve(c.dir))) continue;
    rmSync(c.dir, { recursive: true, force: true });
    pruned.push(c);
    remaining--;
  }
  return pruned;
}

/**
 * The end of Trainer._finalize_training: with save_total_limit 1 and a best checkpoint, every other checkpoint
 * folder (the newest included) is deleted; the deleted ones are returned.
 */
export function pruneAllButBest(
  outputDir: string,
  limit: number | undefined,
  bestModelCheckpoint: string | null,
): { step: number; dir: string }[] {
  if (limit !== 1 || bestModelCheckpoint === null) return [];
  const best = resolve(bestModelCheckpoint);
  const pruned = listCheckpoints(outputDir).filter((c) => resolve(c.dir) !== best);
  for (const c of pruned) rmSync(c.dir, { recursive: true, force: true });
  return pruned;
}

/** `resume_from_checkpoint`: a path, or true/"true"/"latest" for the highest checkpoint-N in output_dir. */
export function resolveResume(outputDir: string, spec: string | boolean | null | undefined): string | null {
  if (spec === undefined || spec === null || spec === false || spec === '' || spec === 'false') return null;
  if (spec === true || spec === 'true' || spec === 'latest') {
    const last = listCheckpoints(outputDir).at(-1);
    if (!last)
      throw new TrainError('CHECKPOINT_NOT_FOUND', `resume_from_checkpoint: no checkpoint-N folder in ${outputDir}.`);
    return last.dir;
  }
  if (!existsSync(spec))
    throw new TrainError('CHECKPOINT_NOT_FOUND', `resume_from_checkpoint: ${spec} does not exist.`);
  return spec;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
