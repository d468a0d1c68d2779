/**
 * The model interface of the training core. Other parts of packages/trainer (loop, checkpoints, export, CLI) code
 * against these exact names; extend, never rename.
 */
import type { Backend, DeviceTensor } from '@crucible/tensor';

export type ModelConfig = {
  /**
   * The Transformers class: Qwen2ForCausalLM, LlamaForCausalLM, Qwen3ForCausalLM, MistralForCausalLM,
   * Gemma2ForCausalLM, Gemma3ForCausalLM (gemma3_text).
   */
  arch: ModelArch;
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
  /**
   * q/k/v projections carry a bias (always for Qwen2; Llama's and Qwen3's `attention_bias`, which also biases o_proj;
   * never for Mistral).
   */
  attentionBias: boolean;
  /**
   * Qwen3 and Gemma 3: RMSNorm over each head of q and k (`q_norm` / `k_norm`, weight [headDim], rms_norm_eps) before
   * RoPE (Gemma 3's scale by 1 + w, as all its norms).
   */
  qkNorm?: boolean;
  /**
   * Llama 3.1's RoPE frequency rescaling (`rope_type: llama3`), or linear scaling (Gemma 3's global layers);
   * absent = plain RoPE.
   */
  ropeScaling?: RopeScaling;
  /**
   * Mistral's `sliding_window`: query t attends to keys t - W + 1 .. t (Transformers' sliding-window causal mask);
   * absent = plain causal attention. Every layer of a Mistral model; with `gemma`, the layers it marks local.
   */
  slidingWindow?: number;
  /** Gemma 2 / Gemma 3 text: the Gemma decoder's extras (absent for the other architectures). */
  gemma?: GemmaSpec;
  maxPositionEmbeddings: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
};

export type ModelArch = 'qwen2' | 'llama' | 'qwen3' | 'mistral' | 'gemma2' | 'gemma3';

/**
 * The Gemma decoder (Transformers' Gemma2DecoderLayer / Gemma3DecoderLayer): every RMSNorm scales by (1 + w); the
 * embedding output is multiplied by sqrt(hidden_size) (rounded to float32, as Transformers' embed_scale buffer); the
 * MLP is GeGLU with tanh GELU (gelu_pytorch_tanh); post_attention_layernorm normalises the attention output before
 * its residual add, pre_feedforward_layernorm is the MLP's input norm and post_feedforward_layernorm normalises the
 * MLP output before its residual add.
 */
export type GemmaSpec = {
  /** Attention scores are scaled by query_pre_attn_scalar^-0.5 (not head_dim^-0.5). */
  queryPreAttnScalar: number;
  /** attn_logit_softcapping: scores s -> cap tanh(s / cap) before the softmax (Gemma 2); absent = none. */
  attnLogitSoftcap?: number;
  /** final_logit_softcapping: logits z -> cap tanh(z / cap) (Gemma 2); absent = none. */
  finalLogitSoftcap?: number;
  /** Per layer (layer_types): true = sliding_attention (window `slidingWindow`), false = full_attention. */
  slidingLayers: boolean[];
  /** Gemma 3: the RoPE base of the sliding layers (rope_local_base_freq); absent = ropeTheta for every layer. */
  localRopeTheta?: number;
};

/**
 * RoPE rescaling: Transformers' `_compute_llama3_parameters` inputs (Llama 3.1 / 3.2 config.json `rope_scaling`), or
 * `linear` (every frequency divided by factor).
 */
export type RopeScaling =
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    }
  | { type: 'linear'; factor: number };

/** A host tensor (float32, row-major): the HF weights map, adapters read and written by export code. */
export type Tensor = { shape: number[]; data: Float32Array };

/** Hugging Face parameter names, e.g. `model.layers.0.self_attn.q_proj.weight`. */
export type Weights = Map<string, Tensor>;

/**
 * A weight as a file stores it, read on demand straight into a buffer of the dtype asked for (safetensors are read
 * in place: one pread per tensor, no whole-shard buffer). `read('bf16')` of an F16 or F32 tensor rounds to nearest
 * even; `read('f32')` widens exactly.
 */
export type StoredTensor = {
  shape: number[];
  dtype: 'F32' | 'BF16' | 'F16';
  /** into (optional): a buffer of the asked type to read into when the file's dtype needs no conversion. */
  read(as: 'f32' | 'bf16', into?: Float32Array | Uint16Array): Float32Array | Uint16Array;
};

/** The weights of a model directory, opened but not read (see io/safetensors openWeights). */
export type StoredWeights = Map<string, StoredTensor>;

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

/** A trainable tensor: value and gradient are backend tensors (f32) of the same size. */
export type Param = { name: string; shape: number[]; data: DeviceTensor; grad: DeviceTensor; decay: boolean };

/**
 * The LoRA dropout stream: masks are a function of (seed, counter) (Backend.dropoutForward); a training step takes
 * `offset` as its first counter and advances it by the elements it drew. Saved in checkpoints to resume exactly.
 */
export type DropoutCursor = { seed: number; offset: number };

/**
 * A right-padded batch. labels are UNSHIFTED as in HF (labels[t] is the target of position t; the model shifts so
 * that the logits at t predict labels[t+1]); -100 = ignored. keyLen[b] = real (unpadded) length of row b.
 * Packed rows (sft packing) add pos [B*T], the RoPE position of each token (HF's position_ids, restarting at every
 * packed sequence; default t), and with neat_packing segStart [B*T], the row position where each token's sequence
 * starts: attention then stays inside each sequence (Backend.attentionForward). Both absent = a plain batch.
 */
export type Batch = {
  B: number;
  T: number;
  inputIds: Int32Array;
  labels: Int32Array;
  keyLen: Int32Array;
  pos?: Int32Array;
  segStart?: Int32Array;
};

export type LossResult = { lossSum: number; nTokens: number };

/**
 * Per-row sums of log p(label) over the labelled positions after the causal shift (TRL's get_batch_logps with
 * average_log_prob false), and each row's labelled count. Float64 on the host.
 */
export type RowLogps = { logps: Float64Array; counts: Int32Array };

/** Keys and values of every layer for incremental decoding; head-major [layer][Hkv, maxLen, D], on the backend. */
export type KvCache = {
  readonly maxLen: number;
  /** Number of positions already in the cache. */
  len: number;
  k: DeviceTensor[];
  v: DeviceTensor[];
  /** Scratch for attention probabilities, [Hq, maxLen]. */
  scores: DeviceTensor;
};

export type AccumulateOptions = {
  /** LoRA dropout stream (advanced in place); null or absent = the model's own seeded stream. */
  dropout?: DropoutCursor | null;
  /** A device scalar (SCALAR_SIZE f32, e.g. a view into the loop's metrics tensor) for the summed token loss. */
  lossOut: DeviceTensor;
};

export type Model = {
  config: ModelConfig;
  backend: Backend;
  /** LoRA A/B (PEFT names) for LoRA, or every weight (HF names) for full fine-tuning. */
  trainableParams(): Param[];
  /**
   * Forward + backward without a host read: ACCUMULATES gradScale * d(lossSum)/d(param) into param.grad and writes
   * the summed token loss into o.lossOut. Returns the number of labelled tokens (counted on the host batch).
   */
  accumulateGrad(batch: Batch, gradScale: number, o: AccumulateOptions): { nTokens: number };
  /** accumulateGrad with the loss downloaded (tests, benchmarks). */
  lossAndGrad(batch: Batch, gradScale: number, dropout?: DropoutCursor): LossResult;
  /** Evaluation: no dropout, no gradients. */
  loss(batch: Batch): LossResult;
  /**
   * Per-row log-probabilities without dropout or gradients (preference training's reference). adapters false runs
   * the frozen base with every LoRA adapter switched off (PEFT's disable_adapter()).
   */
  sequenceLogps(batch: Batch, o?: { adapters?: boolean }): RowLogps;
  /**
   * Preference training's step: forward with dropout, the per-row log-probs to the host, then rowGrad(logps)[b] =
   * d(objective)/d(logps[b]) (already scaled for the batch and accumulation) and backward, ACCUMULATING into the
   * gradients: row b's cross-entropy gradient weighted by -rowGrad[b]. One host read between forward and backward.
   */
  accumulateRowGrad(
    batch: Batch,
    rowGrad: (r: RowLogps) => Float64Array,
    /** dropout: the LoRA dropout stream (null/absent: the model's own), or false for no dropout. */
    o?: { dropout?: DropoutCursor | null | false },
  ): RowLogps;
  /** Full forward without a cache for one sequence: logits [T, V] (tests, scoring). */
  logits(ids: Int32Array): Float32Array;
  /** PEFT keys: base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in], ...lora_B.weight [out, r]. */
  loraState(): Map<string, Tensor>;
  /** Copies an existing adapter (same keys and shapes) into the model's LoRA parameters. */
  loadLoraState(state: Map<string, Tensor>): void;
  /** HF names (the full fine-tuning output; the base weights for a LoRA model), downloaded, bf16 widened. */
  fullState(): Weights;
  /** Which dtype each frozen matrix is held in, and whether layers are recomputed in backward. */
  describe(): ModelLayout;
  /** An empty KV cache for up to maxLen positions. */
  createKvCache(maxLen: number): KvCache;
  /**
   * Appends ids at positions cache.len.. and returns the logits of the last one [V] (a view into a reused buffer:
   * copy it to keep it).
   */
  forwardStep(ids: ArrayLike<number>, cache: KvCache): Float32Array;
};

export type ModelLayout = {
  projections: 'f32' | 'bf16' | 'trainable';
  embedding: 'f32' | 'bf16' | 'trainable';
  lmHead: 'f32' | 'bf16' | 'trainable' | 'tied';
  gradientCheckpointing: boolean;
};
