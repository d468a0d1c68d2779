/**
 * Sampling and collation as the HF Trainer + LLaMA-Factory's SFT collator do it: a fresh random order per epoch,
 * batches of per_device_train_batch_size right-padded to the longest row (labels padded with -100), optimizer
 * updates of gradient_accumulation_steps micro-batches with the last, shorter update of an epoch kept; packed rows
 * carry their position ids and, for neat_packing, their sequences' starts.
 */
import type { Example } from '../data/store';
import type { Batch } from '../model/types';

export type { Example, ExampleSource } from '../data/store';

export const IGNORE_INDEX = -100;

/**
 * Pads rows to the longest. Packed rows (examples with segments) also get LLaMA-Factory's position_ids, restarting
 * at 0 for every packed sequence (PackedSupervisedDatasetProcessor, both packing modes since v0.9.3), and with
 * blockDiagAttn (neat_packing) the start of each token's sequence, so attention stays inside it (its
 * prepare_4d_attention_mask). Padding is never attended by a real token (it comes after them); its own queries see
 * nothing in a neat row. LLaMA-Factory pads every packed row to cutoff_len; padding carries no label and, after
 * every real token under a causal mask, changes no loss or gradient, so rows here are padded only to the batch's
 * longest.
 */
export function collate(rows: Example[], padId: number, blockDiagAttn = false): Batch {
  const B = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.inputIds.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const keyLen = new Int32Array(B);
  rows.forEach((r, b) => {
    inputIds.set(r.inputIds, b * T);
    labels.set(r.labels, b * T);
    keyLen[b] = r.inputIds.length;
  });
  if (!rows.some((r) => r.segments !== undefined)) return { B, T, inputIds, labels, keyLen };
  const pos = new Int32Array(B * T);
  const segStart = blockDiagAttn ? new Int32Array(B * T) : undefined;
  rows.forEach((r, b) => {
    const parts = r.segments ?? [r.inputIds.length];
    let at = 0;
    for (let s = 0; s < parts.length; s++) {
      for (let i = 0; i < parts[s]; i++) {
        pos[b * T + at + i] = i;
        if (segStart) segStart[b * T + at + i] = at;
      }
      at += parts[s];
    }
    // padding: position 0 as LLaMA-Factory pads position_ids; a sequence of its own that starts at the row's end
    if (segStart) for (let t = at; t < T; t++) segStart[b * T + t] = at;
  });
  return { B, T, inputIds, labels, keyLen, pos, ...(segStart ? { segStart } : {}) };
}

/** Tokens that carry a loss after the causal shift (Transformers' num_items_in_batch counts labels[..., 1:]). */
export function labelledTokens(ex: Example): number {
  let n = 0;
  for (let i = 1; i < ex.labels.length; i++) if (ex.labels[i] !== IGNORE_INDEX) n++;
  return n;
}

export type StepPlan = {
  /** Micro-batches per epoch (len(train_dataloader)). */
  batchesPerEpoch: number;
  updatesPerEpoch: number;
  totalSteps: number;
  numEpochs: number;
};

/** Trainer.set_initial_training_values: total optimizer steps from num_train_epochs, or max_steps when > 0. */
export function planSteps(
  nTrain: number,
  batchSize: number,
  accum: number,
  numTrainEpochs: number,
  maxSteps: number,
): StepPlan {
  const batchesPerEpoch = Math.ceil(nTrain / batchSize);
  const updatesPerEpoch = Math.max(Math.floor(batchesPerEpoch / accum) + (batchesPerEpoch % accum > 0 ? 1 : 0), 1);
  if (maxSteps > 0) {
    return { batchesPerEpoch, updatesPerEpoch, totalSteps: maxSteps, numEpochs: Math.ceil(maxSteps / updatesPerEpoch) };
  }
  return {
    batchesPerEpoch,
    updatesPerEpoch,
    totalSteps: Math.ceil(numTrainEpochs * updatesPerEpoch),
    numEpochs: Math.ceil(numTrainEpochs),
  };
}

/**
 * The micro-batches (as lists of example indices) of update `u` in an epoch with sample order `order`. The last update
 * of an epoch takes the remaining batches (Transformers >= 4.46 steps on a partial accumulation).
 */
export function updateBatches(order: number[], batchSize: number, accum: number, u: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < accum; k++) {
    const start = (u * accum + k) * batchSize;
    if (start >= order.length) break;
    out.push(order.slice(start, start + batchSize));
  }
  return out;
}
