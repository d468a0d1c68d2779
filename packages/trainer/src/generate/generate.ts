import { ModelError } from '../model/errors';
import { createRng } from '../model/rng';
import type { Model } from '../model/types';
import { sampleToken } from './sample';

export type GenerateOptions = {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
  /** 0 or absent = off. */
  topK?: number;
  seed: number;
  /** Generation ends at the first of these; the stop id itself is not returned. */
  stopIds: number[];
};

/**
 * Yields new token ids one at a time (for streaming chat) from the core's own forward with a KV cache:
 * the prompt is prefilled in one batched pass, then each token is one cached step. Returns the stop id that ended
 * generation, or undefined when maxNewTokens ran out.
 */
export function* generateTokens(
  model: Model,
  promptIds: number[],
  opts: GenerateOptions,
): Generator<number, number | undefined, undefined> {
  if (promptIds.length === 0) throw new ModelError('INPUT_INVALID', 'generate needs a non-empty prompt.');
  if (!(opts.maxNewTokens >= 0))
    throw new ModelError('INPUT_INVALID', `maxNewTokens must be >= 0, got ${opts.maxNewTokens}.`);
  if (opts.maxNewTokens === 0) return undefined;
  const rng = createRng(opts.seed);
  const stop = new Set(opts.stopIds);
  const cache = model.createKvCache(promptIds.length + opts.maxNewTokens);
  const sample = { temperature: opts.temperature, topP: opts.topP, topK: opts.topK };
  let logits = model.forwardStep(promptIds, cache);
  for (let i = 0; i < opts.maxNewTokens; i++) {
    const id = sampleToken(logits, sample, rng);
    if (stop.has(id)) return id;
    yield id;
    if (i + 1 < opts.maxNewTokens) logits = model.forwardStep([id], cache);
  }
  return undefined;
}

/** The new tokens (without the prompt and without the stop id). */
export function generate(model: Model, promptIds: number[], opts: GenerateOptions): number[] {
  return [...generateTokens(model, promptIds, opts)];
}
