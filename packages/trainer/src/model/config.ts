import { z } from 'zod';
import { ModelError } from './errors';
import type { ModelConfig } from './types';

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

/** The keys of a Hugging Face config.json (Qwen2Config / LlamaConfig) that the core reads; others pass through. */
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

const ARCH_BY_CLASS: Record<string, ModelConfig['arch']> = {
  Qwen2ForCausalLM: 'qwen2',
  LlamaForCausalLM: 'llama',
};

function detectArch(cfg: THfConfig): ModelConfig['arch'] {
  for (const a of cfg.architectures ?? []) {
    const arch = ARCH_BY_CLASS[a];
    if (arch) return arch;
  }
  if (cfg.model_type === 'qwen2' || cfg.model_type === 'llama') return cfg.model_type;
  const seen = cfg.architectures?.join(', ') ?? cfg.model_type ?? 'nothing';
  throw new ModelError(
    'CONFIG_UNSUPPORTED',
    `config.json "architectures" is ${seen}; the training core supports Qwen2ForCausalLM and LlamaForCausalLM.`,
  );
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
  if (cfg.use_sliding_window === true) {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      'config.json key "use_sliding_window" is true; sliding-window attention is not supported.',
    );
  }
  if (cfg.mlp_bias === true) {
    throw new ModelError('CONFIG_UNSUPPORTED', 'config.json key "mlp_bias" is true; MLP biases are not supported.');
  }
  // Llama 3.1-style frequency rescaling changes RoPE itself; running without it would silently give another model.
  const scaling = cfg.rope_scaling as { rope_type?: string; type?: string } | null | undefined;
  if (scaling != null) {
    const kind = scaling.rope_type ?? scaling.type;
    if (kind !== 'default') {
      throw new ModelError(
        'CONFIG_UNSUPPORTED',
        `config.json key "rope_scaling" (${String(kind)}) is not supported; only plain RoPE.`,
      );
    }
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

  const out: ModelConfig = {
    arch,
    vocabSize: cfg.vocab_size,
    hiddenSize: cfg.hidden_size,
    intermediateSize: cfg.intermediate_size,
    numLayers: cfg.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    // Defaults are those of the Transformers config classes.
    rmsNormEps: cfg.rms_norm_eps ?? (arch === 'qwen2' ? 1e-6 : 1e-6),
    ropeTheta: cfg.rope_theta ?? 10000,
    tieWordEmbeddings: cfg.tie_word_embeddings ?? false,
    // Qwen2Attention always has q/k/v bias (and none on o_proj); Llama follows attention_bias for q/k/v/o.
    attentionBias: arch === 'qwen2' ? true : (cfg.attention_bias ?? false),
    maxPositionEmbeddings: cfg.max_position_embeddings ?? (arch === 'qwen2' ? 32768 : 2048),
  };
  if (cfg.bos_token_id != null) out.bosTokenId = cfg.bos_token_id;
  if (cfg.eos_token_id != null) out.eosTokenId = cfg.eos_token_id;
  return out;
}

/** The inverse, for writing model directories (init-model, merge): a config.json that Transformers loads. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
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
    rope_scaling: null,
    tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    torch_dtype: 'float32',
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== undefined ? { eos_token_id: c.eosTokenId } : {}),
  };
  return c.arch === 'qwen2'
    ? { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: false, ...common }
    : {
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        attention_bias: c.attentionBias,
        mlp_bias: false,
        ...common,
      };
}
