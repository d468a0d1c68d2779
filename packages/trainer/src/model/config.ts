import { z } from 'zod';
import { ModelError } from './errors';
import type { GemmaSpec, ModelArch, ModelConfig, RopeScaling } from './types';

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

/**
 * The keys of a Hugging Face config.json (Qwen2Config / LlamaConfig / Qwen3Config / MistralConfig / Gemma2Config /
 * Gemma3TextConfig) that the core reads; others pass through. Transformers 5 writes `rope_parameters` ({rope_type, rope_theta, ...}) where version 4
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
  hidden_activation: z.string().nullish(),
  query_pre_attn_scalar: z.number().positive().nullish(),
  attn_logit_softcapping: z.number().positive().nullish(),
  final_logit_softcapping: z.number().positive().nullish(),
  rope_local_base_freq: z.number().positive().optional(),
  sliding_window_pattern: positiveInt.optional(),
  use_bidirectional_attention: z.boolean().nullish(),
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
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3',
};
/** config.json model_type of each architecture (where it is not the arch's own name). */
const MODEL_TYPE: Partial<Record<ModelArch, string>> = { gemma3: 'gemma3_text' };
const modelType = (a: ModelArch): string => MODEL_TYPE[a] ?? a;
const isGemma = (a: ModelArch): boolean => a === 'gemma2' || a === 'gemma3';
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
  const byType = Object.values(ARCH_BY_CLASS).find((a) => modelType(a) === cfg.model_type);
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
function parseRope(
  cfg: THfConfig,
  maxPos: number,
  o: { params?: TRopeDict | null; key?: string; defaultTheta?: number; linear?: boolean } = {},
): { theta: number; scaling?: RopeScaling } {
  const params = (o.params !== undefined ? o.params : (cfg.rope_parameters ?? null)) as TRopeDict | null;
  const legacy = (cfg.rope_scaling ?? null) as TRopeDict | null;
  const key = params ? (o.key ?? 'rope_parameters') : 'rope_scaling';
  const d = params ?? legacy;
  const theta = params?.rope_theta ?? cfg.rope_theta ?? o.defaultTheta ?? 10000;
  if (!(typeof theta === 'number' && theta > 0)) {
    throw new ModelError('CONFIG_INVALID', `config.json key "${key}.rope_theta" must be a positive number.`);
  }
  const kind = d ? (d.rope_type ?? d.type ?? 'default') : 'default';
  if (kind === 'default') return { theta };
  if (kind === 'linear' && o.linear) {
    const factor = d?.factor;
    if (!(typeof factor === 'number' && factor > 0)) {
      throw new ModelError(
        'CONFIG_INVALID',
        `config.json key "${key}.factor" must be a positive number for rope_type "linear".`,
      );
    }
    return { theta, scaling: { type: 'linear', factor } };
  }
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

/**
 * Gemma 2 / Gemma 3 text: layer types (config.layer_types, else the config class's default pattern: every
 * sliding_window_pattern-th layer global, 2 for Gemma 2 and 6 for Gemma 3), the window, query scaling, soft-capping
 * and RoPE. Gemma 3's RoPE is per layer type: Transformers 5 writes rope_parameters {full_attention: {...},
 * sliding_attention: {...}}, version 4 rope_theta + rope_scaling (global) and rope_local_base_freq (local).
 */
function parseGemma(
  cfg: THfConfig,
  arch: ModelArch,
): { spec: GemmaSpec; window: number | null; rope: { theta: number; scaling?: RopeScaling } } {
  const L = cfg.num_hidden_layers;
  const pattern = cfg.sliding_window_pattern ?? (arch === 'gemma2' ? 2 : 6);
  const types =
    cfg.layer_types ??
    Array.from({ length: L }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
  if (types.length !== L) {
    throw new ModelError(
      'CONFIG_INVALID',
      `config.json key "layer_types" lists ${types.length} layers; "num_hidden_layers" is ${L}.`,
    );
  }
  const bad = types.find((t) => t !== 'full_attention' && t !== 'sliding_attention');
  if (bad !== undefined) {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      `config.json key "layer_types" has "${bad}"; ${arch} layers are "sliding_attention" or "full_attention".`,
    );
  }
  // Absent: the config classes' default 4096; null: no window (every layer attends to the whole context).
  const window = cfg.sliding_window === undefined ? 4096 : cfg.sliding_window;
  const spec: GemmaSpec = {
    queryPreAttnScalar: cfg.query_pre_attn_scalar ?? 256,
    slidingLayers: types.map((t) => t === 'sliding_attention' && window !== null),
  };
  const attnCap =
    cfg.attn_logit_softcapping === undefined ? (arch === 'gemma2' ? 50 : null) : cfg.attn_logit_softcapping;
  const finalCap =
    cfg.final_logit_softcapping === undefined ? (arch === 'gemma2' ? 30 : null) : cfg.final_logit_softcapping;
  if (attnCap != null) spec.attnLogitSoftcap = attnCap;
  if (finalCap != null) spec.finalLogitSoftcap = finalCap;
  if (arch === 'gemma2') return { spec, window, rope: parseRope(cfg, 0) };
  const rp = (cfg.rope_parameters ?? null) as Record<string, TRopeDict | undefined> | null;
  const nested = rp !== null && (rp.full_attention !== undefined || rp.sliding_attention !== undefined);
  const global = nested
    ? parseRope(cfg, 0, {
        params: rp.full_attention ?? {},
        key: 'rope_parameters.full_attention',
        defaultTheta: 1000000,
        linear: true,
      })
    : parseRope(cfg, 0, { defaultTheta: 1000000, linear: true });
  const local = nested
    ? parseRope(cfg, 0, {
        params: rp.sliding_attention ?? {},
        key: 'rope_parameters.sliding_attention',
        defaultTheta: 10000,
      })
    : { theta: cfg.rope_local_base_freq ?? 10000 };
  if (local.scaling) {
    throw new ModelError(
      'CONFIG_UNSUPPORTED',
      'config.json: RoPE scaling of the sliding (local) layers is not supported.',
    );
  }
  spec.localRopeTheta = local.theta;
  return { spec, window, rope: global };
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

  if (isGemma(arch)) {
    // Gemma2MLP / Gemma3MLP read hidden_activation (hidden_act is a leftover some configs also carry).
    const act = cfg.hidden_activation ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh') {
      throw new ModelError(
        'CONFIG_UNSUPPORTED',
        `config.json key "hidden_activation" is "${act}"; only "gelu_pytorch_tanh" is supported for ${arch}.`,
      );
    }
    if (cfg.use_bidirectional_attention === true) {
      throw new ModelError(
        'CONFIG_UNSUPPORTED',
        'config.json key "use_bidirectional_attention" is true; only causal (decoder) Gemma models are supported.',
      );
    }
  } else if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') {
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
  if (sliding.length > 0 && arch !== 'mistral' && !isGemma(arch)) {
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
  const maxPos =
    cfg.max_position_embeddings ??
    (arch === 'llama'
      ? 2048
      : arch === 'mistral'
        ? 131072
        : arch === 'gemma2'
          ? 8192
          : arch === 'gemma3'
            ? 131072
            : 32768);
  const gemma = isGemma(arch) ? parseGemma(cfg, arch) : null;
  const rope = gemma ? gemma.rope : parseRope(cfg, maxPos);
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
    // Gemma2Config / Gemma3TextConfig default to tied embeddings; the others to untied.
    tieWordEmbeddings: cfg.tie_word_embeddings ?? isGemma(arch),
    // Qwen2Attention always has q/k/v bias (and none on o_proj); Llama and Qwen3 follow attention_bias for q/k/v/o;
    // MistralAttention has no bias at all (MistralConfig has no attention_bias key).
    // Gemma follows attention_bias for q/k/v/o as Llama does.
    attentionBias: arch === 'qwen2' ? true : arch === 'mistral' ? false : (cfg.attention_bias ?? false),
    maxPositionEmbeddings: maxPos,
  };
  if (arch === 'qwen3' || arch === 'gemma3') out.qkNorm = true;
  if (gemma) {
    out.gemma = gemma.spec;
    if (gemma.window !== null && gemma.spec.slidingLayers.some(Boolean)) out.slidingWindow = gemma.window;
  }
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
    rope_scaling:
      r?.type === 'linear'
        ? { rope_type: 'linear', factor: r.factor }
        : r
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
  const head = { architectures: [CLASS_BY_ARCH[c.arch]], model_type: modelType(c.arch) };
  const g = c.gemma;
  if (g) {
    const gemma = {
      ...head,
      ...common,
      hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh',
      attention_bias: c.attentionBias,
      query_pre_attn_scalar: g.queryPreAttnScalar,
      attn_logit_softcapping: g.attnLogitSoftcap ?? null,
      final_logit_softcapping: g.finalLogitSoftcap ?? null,
      sliding_window: c.slidingWindow ?? null,
      layer_types: g.slidingLayers.map((s) => (s ? 'sliding_attention' : 'full_attention')),
    };
    if (c.arch === 'gemma2') return gemma;
    const { rope_theta: _t, rope_scaling: _s, ...rest } = gemma;
    return {
      ...rest,
      rope_parameters: {
        full_attention: {
          rope_type: r ? r.type : 'default',
          rope_theta: c.ropeTheta,
          ...(r ? { factor: r.factor } : {}),
        },
        sliding_attention: { rope_type: 'default', rope_theta: g.localRopeTheta ?? c.ropeTheta },
      },
    };
  }
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
