import { z } from 'zod';
import { ModelError } from './errors';
import type { ModelArch, ModelConfig, RopeScaling } from './types';

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

/**
 * The keys of a Hugging Face config.json (Qwen2Config / LlamaConfig / Qwen3Config / MistralConfig) that the core
 * reads; others pass through. Transformers 5 writes `rope_parameters` ({rope_type, rope_theta, ...}) where version 4
 * wrote `rope_theta` + `rope_scaling`; both are read.
 */
export const ZHfConfig = z.looseObject({
  architectures: z.array(z.string()).optional(),
  model_type: z.string().optional(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().optional(),
  rope_scaling: z.unknown().optional(),
  rope_parameters: z.unknown().optional(),
  sliding_window: positiveInt.nullish(),
  layer_types: z.array(z.string()).nullish(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  use_sliding_window: z.boolean().optional(),
  max_position_embeddings: positiveInt.optional(),
  bos_token_id: tokenId.nullish(),
  eos_token_id: z.union([tokenId, z.array(tokenId)]).nullish(),
});
export type THfConfig = z.infer<typeof ZHfConfig>;

const ARCH_BY_CLASS: Record<string, ModelArch> = {
  Qwen2ForCausalLM: 'qwen2',
  LlamaForCausalLM: 'llama',
  Qwen3ForCausalLM: 'qwen3',
  MistralForCausalLM: 'mistral',
};
const CLASS_BY_ARCH = Object.fromEntries(Object.entries(ARCH_BY_CLASS).map(([k, v]) => [v, k])) as Record<
  ModelArch,
  string
>;
export const SUPPORTED_ARCHITECTURES = Object.keys(ARCH_BY_CLASS);

function detectArch(cfg: THfConfig): ModelArch {
  for (const a of cfg.architectures ?? []) {
    const arch = ARCH_BY_CLASS[a];
    if (arch) return arch;
  }
  const byType = Object.values(ARCH_BY_CLASS).find((a) => a === cfg.model_type);
  if (byType) return byType;
  const seen = cfg.architectures?.join(', ') ?? cfg.model_type ?? 'nothing';
  throw new ModelError(
    'CONFIG_UNSUPPORTED',
    `config.json "architectures" is ${seen}; the training core supports ${SUPPORTED_ARCHITECTURES.join(', ')}.`,
  );
}

type TRopeDict = {
  rope_type?: string;
  type?: string;
  rope_theta?: number;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
};

/**
 * RoPE base and scaling from `rope_theta` + `rope_scaling` (Transformers 4) or `rope_parameters` (Transformers 5).
 * Plain RoPE and Llama 3.1's `llama3` rescaling are supported; any other type would silently give another model.
 */
function parseRope(cfg: THfConfig, maxPos: number): { theta: number; scaling?: RopeScaling } {
  const params = (cfg.rope_parameters ?? null) as TRopeDict | null;
  const legacy = (cfg.rope_scaling ?? null) as TRopeDict | null;
  const key = params ? 'rope_parameters' : 'rope_scaling';
  const d = params ?? legacy;
  const theta = params?.rope_theta ?? cfg.rope_theta ?? 10000;
  if (!(typeof theta === 'number' && theta > 0)) {
    throw new ModelError('CONFIG_INVALID', `config.json key "${key}.rope_theta" must be a positive number.`);
  }
  const kind = d ? (d.rope_type ?? d.type ?? 'default') : 'default';
  if (kind === 'default') return { theta };
  if (kind !== 'llama3') {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      `config.json key "${key}" has rope_type "${String(kind)}"; only plain RoPE ("default") and Llama 3.1's "llama3" are supported.`,
    );
  }
  const num = (k: keyof TRopeDict, fallback?: number): number => {
    const v = (d as TRopeDict)[k] ?? fallback;
    if (!(typeof v === 'number' && v > 0)) {
      throw new ModelError(
        'CONFIG_INVALID',
        `config.json key "${key}.${k}" must be a positive number for rope_type "llama3".`,
      );
    }
    return v;
  };
  const scaling: RopeScaling = {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    // As Transformers: without the original length the config's own max_position_embeddings is used.
    originalMaxPositionEmbeddings: num('original_max_position_embeddings', maxPos),
  };
  if (scaling.highFreqFactor === scaling.lowFreqFactor) {
    throw new ModelError(
      'CONFIG_INVALID',
      `config.json key "${key}": high_freq_factor must differ from low_freq_factor (Transformers divides by their difference).`,
    );
  }
  return { theta, scaling };
}

/** Reads a Hugging Face config.json (already JSON-parsed) into the core's ModelConfig. */
export function parseModelConfig(configJson: unknown): ModelConfig {
  const parsed = ZHfConfig.safeParse(configJson);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || '(root)';
    throw new ModelError('CONFIG_INVALID', `config.json key "${key}": ${issue.message}.`);
  }
  const cfg = parsed.data;
  const arch = detectArch(cfg);

  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      `config.json key "hidden_act" is "${cfg.hidden_act}"; only "silu" is supported.`,
    );
  }
  // Qwen2/Qwen3 keep a sliding_window value but use it only under use_sliding_window (off in every released model).
  if (cfg.use_sliding_window === true && arch !== 'mistral') {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      'config.json key "use_sliding_window" is true; sliding-window attention is supported for Mistral only.',
    );
  }
  // Transformers 5 configs list each layer's attention; a sliding layer in a Qwen model would need the window too.
  const sliding = (cfg.layer_types ?? []).filter((t) => t !== 'full_attention');
  if (sliding.length > 0 && arch !== 'mistral') {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      `config.json key "layer_types" has "${sliding[0]}" layers; only "full_attention" is supported for ${arch}.`,
    );
  }
  if (cfg.mlp_bias === true) {
    throw new ModelError('CONFIG_UNSUPPORTED', 'config.json key "mlp_bias" is true; MLP biases are not supported.');
  }
  const numHeads = cfg.num_attention_heads;
  const numKvHeads = cfg.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new ModelError(
      'CONFIG_INVALID',
      `config.json key "num_key_value_heads" (${numKvHeads}) must divide "num_attention_heads" (${numHeads}).`,
    );
  }
  let headDim = cfg.head_dim ?? 0;
  if (!headDim) {
    if (cfg.hidden_size % numHeads !== 0) {
      throw new ModelError(
        'CONFIG_INVALID',
        `config.json key "hidden_size" (${cfg.hidden_size}) is not divisible by "num_attention_heads" (${numHeads}) and "head_dim" is not given.`,
      );
    }
    headDim = cfg.hidden_size / numHeads;
  }
  if (headDim % 2 !== 0) {
    throw new ModelError('CONFIG_INVALID', `config.json key "head_dim" (${headDim}) must be even for RoPE.`);
  }

  // Defaults are those of the Transformers config classes.
  const maxPos = cfg.max_position_embeddings ?? (arch === 'llama' ? 2048 : arch === 'mistral' ? 131072 : 32768);
  const rope = parseRope(cfg, maxPos);
  const out: ModelConfig = {
    arch,
    vocabSize: cfg.vocab_size,
    hiddenSize: cfg.hidden_size,
    intermediateSize: cfg.intermediate_size,
    numLayers: cfg.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: cfg.rms_norm_eps ?? 1e-6,
    ropeTheta: rope.theta,
    tieWordEmbeddings: cfg.tie_word_embeddings ?? false,
    // Qwen2Attention always has q/k/v bias (and none on o_proj); Llama and Qwen3 follow attention_bias for q/k/v/o;
    // MistralAttention has no bias at all (MistralConfig has no attention_bias key).
    attentionBias: arch === 'qwen2' ? true : arch === 'mistral' ? false : (cfg.attention_bias ?? false),
    maxPositionEmbeddings: maxPos,
  };
  if (arch === 'qwen3') out.qkNorm = true;
  if (rope.scaling) out.ropeScaling = rope.scaling;
  // MistralModel masks with the sliding window whenever config.sliding_window is set (4096 is MistralConfig's
  // default when the key is absent; v0.2 and later write null).
  if (arch === 'mistral') {
    const w = cfg.sliding_window === undefined ? 4096 : cfg.sliding_window;
    if (w != null) out.slidingWindow = w;
  }
  if (cfg.bos_token_id != null) out.bosTokenId = cfg.bos_token_id;
  if (cfg.eos_token_id != null) out.eosTokenId = cfg.eos_token_id;
  return out;
}

/** The inverse, for writing model directories (init-model, merge): a config.json that Transformers loads. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const r = c.ropeScaling;
  const common = {
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: r
      ? {
          rope_type: 'llama3',
          factor: r.factor,
          low_freq_factor: r.lowFreqFactor,
          high_freq_factor: r.highFreqFactor,
          original_max_position_embeddings: r.originalMaxPositionEmbeddings,
        }
      : null,
    tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    torch_dtype: 'float32',
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== undefined ? { eos_token_id: c.eosTokenId } : {}),
  };
  const head = { architectures: [CLASS_BY_ARCH[c.arch]], model_type: c.arch };
  switch (c.arch) {
    case 'qwen2':
      return { ...head, use_sliding_window: false, ...common };
    case 'qwen3':
      return { ...head, attention_bias: c.attentionBias, use_sliding_window: false, ...common };
    case 'mistral':
      return { ...head, sliding_window: c.slidingWindow ?? null, ...common };
    default:
      return { ...head, attention_bias: c.attentionBias, mlp_bias: false, ...common };
  }
}
