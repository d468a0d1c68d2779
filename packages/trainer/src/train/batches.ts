/**
 * Sampling and collation as the HF Trainer + LLaMA-Factory's SFT collator do it: a fresh random order per epoch,
 * batches of per_device_train_batch_size right-padded to the longest row (labels padded with -100), optimizer
 * updates of gradient_accumulation_steps micro-batches with the last, shorter update of an epoch kept.
 */
import type { Example } from '../data/store';
import type { Batch } from '../model/types';

export type { Example, ExampleSource } from '../data/store';

export const IGNORE_INDEX = -100;

export function collate(rows: Example[], padId: number): Batch {
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
  return { B, T, inputIds, labels, keyLen };
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
