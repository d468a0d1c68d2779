import { weightShapes } from './shapes';
import { LORA_TARGETS, type LoraTarget, type ModelConfig } from './types';

/**
 * How much memory a training run of this core needs, before anything is downloaded (issue 14: the catalog says
 * which workers can train a model). It follows what the core holds, not a rule of thumb from another framework:
 * - frozen matrices (LoRA) stay in their file dtype, bf16 for every hub checkpoint of the catalog: 2 bytes a
 *   parameter (`frozenBytesPerParam`); 1-D tensors (norms, biases) are held as fp32;
 * - every trainable parameter costs 16 bytes: the fp32 weight, its fp32 gradient and AdamW's two fp32 moments
 *   (LoRA: A and B of r x (in + out) on each targeted linear; full fine-tuning: every parameter);
 * - activations with gradient checkpointing (the default; LLaMA-Factory's too): each layer's input is kept
 *   (layers x tokens x hidden fp32), one layer is recomputed at a time with its gradients (q, k, v, attention
 *   output, MLP gate/up/act, norms: twice for forward and backward), attention keeps only the log-sum-exp per query
 *   (no T x T scores), and the LM head's logits of the micro-batch (tokens x vocab fp32);
 * - a fixed 0.5 GiB for the process itself (Node.js, the tokenizer, pooled buffers).
 * `tokens` = per_device_train_batch_size x cutoff_len: the micro-batch, whatever the gradient accumulation.
 */

export type TMemoryMethod = 'lora' | 'full';

export type TMemoryOptions = {
  method: TMemoryMethod;
  batchSize: number;
  cutoffLen: number;
  loraRank: number;
  /** The linears LoRA adapts; default every decoder linear (`lora_target: all`, the platform's default). */
  loraTargets?: readonly LoraTarget[];
  /** Bytes of a frozen matrix parameter: 2 for bf16/f16 checkpoints (default), 4 for fp32 ones. */
  frozenBytesPerParam?: number;
};

export type TMemoryEstimate = {
  parameters: number;
  trainableParameters: number;
  /** Model weights as held (frozen in their dtype, trainable as fp32). */
  weightsBytes: number;
  /** Gradients and AdamW moments of the trainable parameters. */
  optimizerBytes: number;
  activationBytes: number;
  overheadBytes: number;
  totalBytes: number;
};

const PROCESS_OVERHEAD_BYTES = 512 * 1024 ** 2;

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Every parameter of the model the config describes (the tensors `weightShapes` names, i.e. what a checkpoint holds). */
export function parameterCount(c: ModelConfig): number {
  let n = 0;
  for (const shape of weightShapes(c).values()) n += count(shape);
  return n;
}

/** LoRA parameters: r x (in + out) for each targeted linear of every layer, as PEFT makes them. */
function loraParameters(c: ModelConfig, r: number, targets: readonly LoraTarget[]): number {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const h = c.hiddenSize;
  const I = c.intermediateSize;
  const dims: Record<LoraTarget, [number, number]> = {
    q_proj: [h, q],
    k_proj: [h, kv],
    v_proj: [h, kv],
    o_proj: [q, h],
    gate_proj: [h, I],
    up_proj: [h, I],
    down_proj: [I, h],
  };
  let perLayer = 0;
  for (const t of targets) perLayer += r * (dims[t][0] + dims[t][1]);
  return perLayer * c.numLayers;
}

export function estimateTrainingMemory(c: ModelConfig, o: TMemoryOptions): TMemoryEstimate {
  const frozenBytes = o.frozenBytesPerParam ?? 2;
  let matrices = 0;
  let vectors = 0;
  for (const shape of weightShapes(c).values()) {
    if (shape.length > 1) matrices += count(shape);
    else vectors += count(shape);
  }
  const parameters = matrices + vectors;
  const full = o.method === 'full';
  const trainableParameters = full ? parameters : loraParameters(c, o.loraRank, o.loraTargets ?? LORA_TARGETS);
  const weightsBytes = full ? parameters * 4 : matrices * frozenBytes + vectors * 4 + trainableParameters * 4;
  const optimizerBytes = trainableParameters * 12;
  const tokens = o.batchSize * o.cutoffLen;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const h = c.hiddenSize;
  const checkpoints = c.numLayers * tokens * h * 4;
  const oneLayer = 2 * tokens * (4 * h + 2 * q + 2 * kv + 3 * c.intermediateSize) * 4;
  const logits = tokens * c.vocabSize * 4;
  const activationBytes = checkpoints + oneLayer + logits;
  return {
    parameters,
    trainableParameters,
    weightsBytes,
    optimizerBytes,
    activationBytes,
    overheadBytes: PROCESS_OVERHEAD_BYTES,
    totalBytes: weightsBytes + optimizerBytes + activationBytes + PROCESS_OVERHEAD_BYTES,
  };
}
