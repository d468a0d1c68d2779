/**
 * The model interface of the training core. Other parts of packages/trainer (loop, checkpoints, export, CLI) code
 * against these exact names; extend, never rename.
 */

export type ModelConfig = {
  arch: 'qwen2' | 'llama';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (always for Qwen2; Llama's `attention_bias`, which also biases o_proj). */
  attentionBias: boolean;
  maxPositionEmbeddings: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
};

export type Tensor = { shape: number[]; data: Float32Array };

/** Hugging Face parameter names, e.g. `model.layers.0.self_attn.q_proj.weight`. */
export type Weights = Map<string, Tensor>;

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export type LoraSpec = {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names (q_proj, k_proj, ...); `all` expands to every linear of the decoder as LLaMA-Factory does. */
  targets: string[];
};

/** 'lora' (PEFT adapters on a frozen base), 'full' (every weight), 'none' (frozen, inference only). */
export type Finetuning = 'lora' | 'full' | 'none';

export type Param = { name: string; shape: number[]; data: Float32Array; grad: Float32Array; decay: boolean };

/**
 * A right-padded batch. labels are UNSHIFTED as in HF (labels[t] is the target of position t; the model shifts so
 * that the logits at t predict labels[t+1]); -100 = ignored. keyLen[b] = real (unpadded) length of row b.
 */
export type Batch = { B: number; T: number; inputIds: Int32Array; labels: Int32Array; keyLen: Int32Array };

export type LossResult = { lossSum: number; nTokens: number };

/** Keys and values of every layer for incremental decoding; head-major [layer][Hkv, maxLen, D]. */
export type KvCache = {
  readonly maxLen: number;
  /** Number of positions already in the cache. */
  len: number;
  k: Float32Array[];
  v: Float32Array[];
  /** Scratch for attention probabilities, [Hq, maxLen]. */
  scores: Float32Array;
};

export type Model = {
  config: ModelConfig;
  /** LoRA A/B (PEFT names) for LoRA, or every weight (HF names) for full fine-tuning. */
  trainableParams(): Param[];
  /**
   * Forward + backward. ACCUMULATES gradScale * d(lossSum)/d(param) into param.grad; returns the summed token loss
   * and the number of labelled tokens. rng (uniform [0,1)) drives LoRA dropout; the model's own seeded stream is
   * used when it is absent.
   */
  lossAndGrad(batch: Batch, gradScale: number, rng?: () => number): LossResult;
  /** Evaluation: no dropout, no gradients. */
  loss(batch: Batch): LossResult;
  /** Full forward without a cache for one sequence: logits [T, V] (tests, scoring). */
  logits(ids: Int32Array): Float32Array;
  /** PEFT keys: base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in], ...lora_B.weight [out, r]. */
  loraState(): Map<string, Tensor>;
  /** Copies an existing adapter (same keys and shapes) into the model's LoRA parameters. */
  loadLoraState(state: Map<string, Tensor>): void;
  /** HF names (the full fine-tuning output; the base weights for a LoRA model). */
  fullState(): Weights;
  /** An empty KV cache for up to maxLen positions. */
  createKvCache(maxLen: number): KvCache;
  /**
   * Appends ids at positions cache.len.. and returns the logits of the last one [V] (a view into a reused buffer:
   * copy it to keep it).
   */
  forwardStep(ids: ArrayLike<number>, cache: KvCache): Float32Array;
};
