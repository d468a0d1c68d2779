import { defaultHyperparameters, readWorkerHeartbeats } from '@crucible/jobs';
import { parseModelConfig } from '@crucible/trainer/model/config';
import { estimateTrainingMemory, parameterCount } from '@crucible/trainer/model/memory';

/**
 * The curated base-model catalog (issue 14): the open models people fine-tune, with what a user weighs before a
 * download of gigabytes — parameters, license, context length, and the memory a LoRA or full fine-tune of each needs
 * in this training core (`estimateTrainingMemory`, from the architecture's dimensions as in each repo's config.json).
 * Static: nothing here reaches the network; "Add" starts the hub download (`addBaseModel`).
 */

type THfDims = {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim?: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
};

type TFamily = {
  family: string;
  /** config.json's class: what the training core detects the architecture by. */
  architecture: string;
  license: string;
  /** Whether Hugging Face asks the user to accept the license first (an access token is then needed). */
  gated: boolean;
  contextLength: number;
  /** The LLaMA-Factory template the model's chats are rendered with. */
  template: string;
  /** config.json keys every size of the family shares (RoPE, soft-caps, windows). */
  extra: Record<string, unknown>;
};

export type TCatalogEntry = {
  id: string;
  name: string;
  family: string;
  architecture: string;
  /** Hugging Face repo id; ModelScope's where the same organisation publishes it there under the same id. */
  huggingface: string;
  modelscope: string | null;
  instruct: boolean;
  license: string;
  gated: boolean;
  contextLength: number;
  template: string;
  /** Null when the training core trains it; else why not (the checkpoint is shown, not offered). */
  unsupported: string | null;
  /** The config.json keys the estimate reads. */
  config: Record<string, unknown>;
};

const QWEN25: TFamily = {
  family: 'Qwen2.5',
  architecture: 'Qwen2ForCausalLM',
  license: 'apache-2.0',
  gated: false,
  contextLength: 32768,
  template: 'qwen',
  extra: { rope_theta: 1000000 },
};
const QWEN3: TFamily = {
  family: 'Qwen3',
  architecture: 'Qwen3ForCausalLM',
  license: 'apache-2.0',
  gated: false,
  contextLength: 32768,
  template: 'qwen3',
  extra: { rope_theta: 1000000, max_position_embeddings: 40960 },
};
const llama3 = (family: string, license: string, factor: number): TFamily => ({
  family,
  architecture: 'LlamaForCausalLM',
  license,
  gated: true,
  contextLength: 131072,
  template: 'llama3',
  extra: {
    rope_theta: 500000,
    max_position_embeddings: 131072,
    rope_scaling: {
      rope_type: 'llama3',
      factor,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  },
});
const MISTRAL: TFamily = {
  family: 'Mistral',
  architecture: 'MistralForCausalLM',
  license: 'apache-2.0',
  gated: true,
  contextLength: 32768,
  template: 'mistral',
  extra: { rope_theta: 1000000, max_position_embeddings: 32768, sliding_window: null },
};
const GEMMA2: TFamily = {
  family: 'Gemma 2',
  architecture: 'Gemma2ForCausalLM',
  license: 'gemma',
  gated: true,
  contextLength: 8192,
  template: 'gemma',
  extra: {
    max_position_embeddings: 8192,
    attn_logit_softcapping: 50,
    final_logit_softcapping: 30,
    sliding_window: 4096,
    hidden_activation: 'gelu_pytorch_tanh',
  },
};
const GEMMA3: TFamily = {
  family: 'Gemma 3',
  architecture: 'Gemma3ForCausalLM',
  license: 'gemma',
  gated: true,
  contextLength: 131072,
  template: 'gemma',
  extra: {
    max_position_embeddings: 131072,
    sliding_window: 512,
    sliding_window_pattern: 6,
    rope_local_base_freq: 10000,
    rope_theta: 1000000,
    hidden_activation: 'gelu_pytorch_tanh',
  },
};

/** Gemma 3 4B and larger are published as vision + text checkpoints only. */
const GEMMA3_MULTIMODAL =
  'Published as a vision-and-text checkpoint (Gemma3ForConditionalGeneration); the training core trains the text-only Gemma3ForCausalLM (Gemma 3 1B).';

const dims = (
  h: number,
  i: number,
  layers: number,
  heads: number,
  kv: number,
  vocab: number,
  tie: boolean,
  headDim?: number,
): THfDims => ({
  hidden_size: h,
  intermediate_size: i,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: kv,
  vocab_size: vocab,
  tie_word_embeddings: tie,
  ...(headDim ? { head_dim: headDim } : {}),
});

type TSize = {
  size: string;
  dims: THfDims;
  /** Repo ids: the base model and its instruction-tuned sibling (null: none published). */
  base: string | null;
  instruct: string | null;
  /** Per-size overrides of the family (license, context, config keys). */
  over?: Partial<Omit<TFamily, 'extra'>> & { extra?: Record<string, unknown>; unsupported?: string };
  modelscope?: boolean;
};

// Dimensions as in each repo's config.json.
const SIZES: [TFamily, TSize[]][] = [
  [
    QWEN25,
    [
      {
        size: '0.5B',
        dims: dims(896, 4864, 24, 14, 2, 151936, true),
        base: 'Qwen/Qwen2.5-0.5B',
        instruct: 'Qwen/Qwen2.5-0.5B-Instruct',
        modelscope: true,
      },
      {
        size: '1.5B',
        dims: dims(1536, 8960, 28, 12, 2, 151936, true),
        base: 'Qwen/Qwen2.5-1.5B',
        instruct: 'Qwen/Qwen2.5-1.5B-Instruct',
        modelscope: true,
      },
      {
        size: '3B',
        dims: dims(2048, 11008, 36, 16, 2, 151936, true),
        base: 'Qwen/Qwen2.5-3B',
        instruct: 'Qwen/Qwen2.5-3B-Instruct',
        modelscope: true,
        over: { license: 'qwen-research' },
      },
      {
        size: '7B',
        dims: dims(3584, 18944, 28, 28, 4, 152064, false),
        base: 'Qwen/Qwen2.5-7B',
        instruct: 'Qwen/Qwen2.5-7B-Instruct',
        modelscope: true,
        over: { contextLength: 131072 },
      },
      {
        size: '14B',
        dims: dims(5120, 13824, 48, 40, 8, 152064, false),
        base: 'Qwen/Qwen2.5-14B',
        instruct: 'Qwen/Qwen2.5-14B-Instruct',
        modelscope: true,
        over: { contextLength: 131072 },
      },
      {
        size: '32B',
        dims: dims(5120, 27648, 64, 40, 8, 152064, false),
        base: 'Qwen/Qwen2.5-32B',
        instruct: 'Qwen/Qwen2.5-32B-Instruct',
        modelscope: true,
        over: { contextLength: 131072 },
      },
      {
        size: '72B',
        dims: dims(8192, 29568, 80, 64, 8, 152064, false),
        base: 'Qwen/Qwen2.5-72B',
        instruct: 'Qwen/Qwen2.5-72B-Instruct',
        modelscope: true,
        over: { contextLength: 131072, license: 'qwen' },
      },
    ],
  ],
  [
    QWEN3,
    [
      // Qwen3's post-trained models (thinking and non-thinking in one) carry the bare name; the base models "-Base".
      {
        size: '0.6B',
        dims: dims(1024, 3072, 28, 16, 8, 151936, true, 128),
        base: 'Qwen/Qwen3-0.6B-Base',
        instruct: 'Qwen/Qwen3-0.6B',
        modelscope: true,
      },
      {
        size: '1.7B',
        dims: dims(2048, 6144, 28, 16, 8, 151936, true, 128),
        base: 'Qwen/Qwen3-1.7B-Base',
        instruct: 'Qwen/Qwen3-1.7B',
        modelscope: true,
      },
      {
        size: '4B',
        dims: dims(2560, 9728, 36, 32, 8, 151936, true, 128),
        base: 'Qwen/Qwen3-4B-Base',
        instruct: 'Qwen/Qwen3-4B',
        modelscope: true,
      },
      {
        size: '8B',
        dims: dims(4096, 12288, 36, 32, 8, 151936, false, 128),
        base: 'Qwen/Qwen3-8B-Base',
        instruct: 'Qwen/Qwen3-8B',
        modelscope: true,
      },
      {
        size: '14B',
        dims: dims(5120, 17408, 40, 40, 8, 151936, false, 128),
        base: 'Qwen/Qwen3-14B-Base',
        instruct: 'Qwen/Qwen3-14B',
        modelscope: true,
      },
      {
        size: '32B',
        dims: dims(5120, 25600, 64, 64, 8, 151936, false, 128),
        base: null,
        instruct: 'Qwen/Qwen3-32B',
        modelscope: true,
      },
    ],
  ],
  [
    llama3('Llama 3.1', 'llama3.1', 8),
    [
      {
        size: '8B',
        dims: dims(4096, 14336, 32, 32, 8, 128256, false),
        base: 'meta-llama/Llama-3.1-8B',
        instruct: 'meta-llama/Llama-3.1-8B-Instruct',
      },
      {
        size: '70B',
        dims: dims(8192, 28672, 80, 64, 8, 128256, false),
        base: 'meta-llama/Llama-3.1-70B',
        instruct: 'meta-llama/Llama-3.1-70B-Instruct',
      },
    ],
  ],
  [
    llama3('Llama 3.2', 'llama3.2', 32),
    [
      {
        size: '1B',
        dims: dims(2048, 8192, 16, 32, 8, 128256, true, 64),
        base: 'meta-llama/Llama-3.2-1B',
        instruct: 'meta-llama/Llama-3.2-1B-Instruct',
      },
      {
        size: '3B',
        dims: dims(3072, 8192, 28, 24, 8, 128256, true, 128),
        base: 'meta-llama/Llama-3.2-3B',
        instruct: 'meta-llama/Llama-3.2-3B-Instruct',
      },
    ],
  ],
  [
    MISTRAL,
    [
      {
        size: '7B',
        dims: dims(4096, 14336, 32, 32, 8, 32768, false),
        base: 'mistralai/Mistral-7B-v0.3',
        instruct: 'mistralai/Mistral-7B-Instruct-v0.3',
      },
    ],
  ],
  [
    GEMMA2,
    [
      {
        size: '2B',
        dims: dims(2304, 9216, 26, 8, 4, 256000, true, 256),
        base: 'google/gemma-2-2b',
        instruct: 'google/gemma-2-2b-it',
        over: { extra: { query_pre_attn_scalar: 256 } },
      },
      {
        size: '9B',
        dims: dims(3584, 14336, 42, 16, 8, 256000, true, 256),
        base: 'google/gemma-2-9b',
        instruct: 'google/gemma-2-9b-it',
        over: { extra: { query_pre_attn_scalar: 256 } },
      },
      {
        size: '27B',
        dims: dims(4608, 36864, 46, 32, 16, 256000, true, 128),
        base: 'google/gemma-2-27b',
        instruct: 'google/gemma-2-27b-it',
        over: { extra: { query_pre_attn_scalar: 144 } },
      },
    ],
  ],
  [
    GEMMA3,
    [
      {
        size: '1B',
        dims: dims(1152, 6912, 26, 4, 1, 262144, true, 256),
        base: 'google/gemma-3-1b-pt',
        instruct: 'google/gemma-3-1b-it',
        over: { contextLength: 32768, extra: { query_pre_attn_scalar: 256, max_position_embeddings: 32768 } },
      },
      {
        size: '4B',
        dims: dims(2560, 10240, 34, 8, 4, 262208, true, 256),
        base: 'google/gemma-3-4b-pt',
        instruct: 'google/gemma-3-4b-it',
        over: {
          unsupported: GEMMA3_MULTIMODAL,
          extra: { query_pre_attn_scalar: 256, rope_scaling: { rope_type: 'linear', factor: 8 } },
        },
      },
      {
        size: '12B',
        dims: dims(3840, 15360, 48, 16, 8, 262208, true, 256),
        base: 'google/gemma-3-12b-pt',
        instruct: 'google/gemma-3-12b-it',
        over: {
          unsupported: GEMMA3_MULTIMODAL,
          extra: { query_pre_attn_scalar: 256, rope_scaling: { rope_type: 'linear', factor: 8 } },
        },
      },
      {
        size: '27B',
        dims: dims(5376, 21504, 62, 32, 16, 262208, true, 128),
        base: 'google/gemma-3-27b-pt',
        instruct: 'google/gemma-3-27b-it',
        over: {
          unsupported: GEMMA3_MULTIMODAL,
          extra: { query_pre_attn_scalar: 168, rope_scaling: { rope_type: 'linear', factor: 8 } },
        },
      },
    ],
  ],
];

function entriesOf(f: TFamily, s: TSize): TCatalogEntry[] {
  const family = { ...f, ...s.over, extra: { ...f.extra, ...s.over?.extra } };
  const config = { architectures: [f.architecture], ...s.dims, ...family.extra };
  const out: TCatalogEntry[] = [];
  for (const [repo, instruct] of [
    [s.base, false],
    [s.instruct, true],
  ] as const) {
    if (!repo) continue;
    out.push({
      id: repo.split('/')[1].toLowerCase(),
      name: `${f.family} ${s.size}${instruct ? ' Instruct' : ''}`,
      family: f.family,
      architecture: f.architecture,
      huggingface: repo,
      modelscope: s.modelscope ? repo : null,
      instruct,
      license: family.license,
      gated: family.gated,
      contextLength: family.contextLength,
      template: family.template,
      unsupported: s.over?.unsupported ?? null,
      config,
    });
  }
  return out;
}

export const MODEL_CATALOG: readonly TCatalogEntry[] = Object.freeze(
  SIZES.flatMap(([f, sizes]) => sizes.flatMap((s) => entriesOf(f, s))),
);

/** The worker class every trainer worker is today (the training core runs on CPU; a CUDA backend would add one). */
export const TRAINER_WORKER_CLASS = 'cpu';

export type TTrainingNeeds = {
  /** Null when the training core trains it; else its reason (an architecture or feature it does not implement). */
  unsupported: string | null;
  parameters: number | null;
  /** Bytes of a run with the platform's default hyper-parameters (batch 1, cutoff 2048, LoRA r 8 on every linear). */
  lora: number | null;
  full: number | null;
  settings: { batchSize: number; cutoffLen: number; loraRank: number };
};

/** What training a model of this config.json takes, or why the training core cannot. */
export function trainingNeeds(configJson: unknown): TTrainingNeeds {
  const lora = defaultHyperparameters('sft_lora');
  const settings = { batchSize: lora.batchSize, cutoffLen: lora.cutoffLen, loraRank: lora.loraRank };
  let config: ReturnType<typeof parseModelConfig>;
  try {
    config = parseModelConfig(configJson);
  } catch (error) {
    return { unsupported: (error as Error).message, parameters: null, lora: null, full: null, settings };
  }
  // Weights stored as fp32 stay fp32 when frozen; bf16/f16 checkpoints (every hub model here) are held as bf16.
  const dtype = (configJson as { torch_dtype?: unknown; dtype?: unknown }) ?? {};
  const stored = String(dtype.dtype ?? dtype.torch_dtype ?? 'bfloat16');
  const frozenBytesPerParam = stored === 'float32' ? 4 : 2;
  return {
    unsupported: null,
    parameters: parameterCount(config),
    lora: estimateTrainingMemory(config, { method: 'lora', ...settings, frozenBytesPerParam }).totalBytes,
    full: estimateTrainingMemory(config, { method: 'full', ...settings }).totalBytes,
    settings,
  };
}

export type TTrainerWorker = { workerId: string; hostname: string; memoryBytes: number | null; workerClass: string };

/** The trainer workers alive now, with the memory each may use (from their heartbeats); [] when Redis is away. */
export async function trainerWorkers(): Promise<TTrainerWorker[]> {
  const beats = await readWorkerHeartbeats({ kind: 'trainer' }).catch(() => []);
  return beats
    .filter((b) => b.state !== 'unresponsive')
    .map((b) => ({
      workerId: b.workerId,
      hostname: b.hostname,
      memoryBytes: b.memoryBytes ?? null,
      workerClass: TRAINER_WORKER_CLASS,
    }));
}

/** Per method, how many of these workers have the memory a run needs. */
export function workersThatFit(needs: TTrainingNeeds, workers: TTrainerWorker[]) {
  const fit = (bytes: number | null) =>
    bytes === null ? 0 : workers.filter((w) => w.memoryBytes !== null && w.memoryBytes >= bytes).length;
  return { sft_lora: fit(needs.lora), sft_full: fit(needs.full), of: workers.length };
}
