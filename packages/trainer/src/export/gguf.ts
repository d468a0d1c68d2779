import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TrainerError } from '../io/errors';
import { loadWeightsSync, type Tensor, type Weights } from '../io/safetensors';
import { type ModelConfig, parseModelConfig, ropeInvFreq } from '../model';
import { type TGgmlTypeName, type TGgufTensor, type TGgufValue, writeGguf } from './gguf-format';
import { loraPairs, readPeftAdapter } from './peft';

// Hugging Face model directory -> GGUF as llama.cpp's convert_hf_to_gguf.py (Qwen2Model, Qwen3Model, LlamaModel,
// which also converts MistralForCausalLM, Gemma2Model, Gemma3Model: norms stored as 1 + w, soft-capping and window
// keys) and convert_lora_to_gguf.py write it: tensor names, hyper-parameters, the vocabulary (byte-level BPE, or a
// SentencePiece-style one as llama.cpp's SPM vocabulary), for llama the Q/K row permutation that turns HF's
// rotate-half RoPE layout into llama.cpp's interleaved one, and for Llama 3.1 RoPE scaling the `rope_freqs` tensor.
// Mistral's sliding_window has no place in a llama GGUF (the converter drops it too): llama.cpp attends over the
// whole context, which differs from the core only for sequences longer than the window.

const LAYER_MAP: Record<string, string> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  input_layernorm: 'attn_norm',
  post_attention_layernorm: 'ffn_norm',
  'self_attn.q_norm': 'attn_q_norm',
  'self_attn.k_norm': 'attn_k_norm',
};

// Gemma's norms after the layer's attention and MLP (llama.cpp names; post_attention_layernorm means another thing).
const GEMMA_LAYER_MAP: Record<string, string> = {
  ...LAYER_MAP,
  post_attention_layernorm: 'post_attention_norm',
  pre_feedforward_layernorm: 'ffn_norm',
  post_feedforward_layernorm: 'post_ffw_norm',
};

const isGemma = (c: ModelConfig): boolean => c.arch === 'gemma2' || c.arch === 'gemma3';

/** llama.cpp's architecture name: Mistral is converted as llama. */
export function ggufArch(config: ModelConfig): 'qwen2' | 'qwen3' | 'llama' | 'gemma2' | 'gemma3' {
  return config.arch === 'mistral' ? 'llama' : config.arch;
}

/**
 * llama.cpp hard-codes parts of the Gemma architectures that Transformers reads from config.json: the query scale
 * (head_dim^-0.5, hidden/heads for the 27B models), the local/global pattern (every 2nd layer global for Gemma 2,
 * every 6th for Gemma 3) and Gemma 3's local RoPE base (10000). A model that differs would run as another model
 * there: refused, naming the key.
 */
function checkGemmaForLlamaCpp(c: ModelConfig): void {
  const g = c.gemma;
  if (!g) return;
  const refuse = (what: string) => {
    throw new TrainerError(
      'EXPORT_UNSUPPORTED',
      `GGUF export of ${c.arch}: ${what}; llama.cpp would run another model.`,
    );
  };
  const is27B = c.numLayers === (c.arch === 'gemma2' ? 46 : 62);
  const scalar = is27B ? c.hiddenSize / c.numHeads : c.headDim;
  if (g.queryPreAttnScalar !== scalar) {
    refuse(`config.json "query_pre_attn_scalar" is ${g.queryPreAttnScalar}, llama.cpp assumes ${scalar}`);
  }
  const pattern = c.arch === 'gemma2' ? 2 : 6;
  const want = Array.from({ length: c.numLayers }, (_, i) => (i + 1) % pattern !== 0 && c.slidingWindow !== undefined);
  if (g.slidingLayers.some((s, i) => (s && c.slidingWindow !== undefined) !== want[i])) {
    refuse(`config.json "layer_types" is not llama.cpp's pattern (every ${pattern}th layer global)`);
  }
  if (c.arch === 'gemma3' && c.slidingWindow !== undefined && (g.localRopeTheta ?? c.ropeTheta) !== 10000) {
    refuse(`the sliding layers' RoPE base is ${g.localRopeTheta ?? c.ropeTheta}, llama.cpp assumes 10000`);
  }
}

/**
 * convert_hf_to_gguf's LlamaModel rope_freqs for rope_type llama3: per frequency the divisor llama.cpp applies to
 * theta^(-2i/D) (1 for short wavelengths, `factor` for long ones, smoothed between), i.e. plain / rescaled.
 */
export function ropeFreqFactors(config: ModelConfig): Float32Array | null {
  const scaled = ropeInvFreq(config);
  if (!scaled) return null;
  const D = config.headDim;
  return scaled.map((s, i) => 1 / config.ropeTheta ** ((2 * i) / D) / s);
}

/**
 * HF tensor name -> GGUF tensor name (undefined for tensors llama.cpp does not load, e.g. rotary inv_freq). gemma:
 * Gemma's layer norms (post-attention, pre/post feed-forward) get their own names.
 */
export function ggufTensorName(hf: string, gemma = false): string | undefined {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (!m) return undefined;
  const g = (gemma ? GEMMA_LAYER_MAP : LAYER_MAP)[m[2]];
  return g ? `blk.${m[1]}.${g}.${m[3]}` : undefined;
}

/**
 * convert_hf_to_gguf's LlamaModel.permute for q_proj/k_proj rows (and their biases): view the rows as
 * [heads, 2, headDim/2] and swap the last two axes.
 */
export function permuteRows(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const hd = rows / heads;
  const half = hd / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const src = (h * hd + j * half + i) * cols;
        const dst = (h * hd + i * 2 + j) * cols;
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

function readModelDir(modelDir: string): { config: ModelConfig; hf: Record<string, unknown> } {
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new TrainerError('MODEL_FILES_MISSING', `${modelDir} has no readable config.json (${(e as Error).message}).`);
  }
  return { config: parseModelConfig(hf), hf };
}

/** The permutation a Llama Q/K weight needs (identity for Qwen2, whose GGUF keeps HF's layout). */
function permuteFor(config: ModelConfig, hfName: string): number | undefined {
  if (ggufArch(config) !== 'llama') return undefined;
  if (/\.self_attn\.q_proj\.(weight|bias)$/.test(hfName)) return config.numHeads;
  if (/\.self_attn\.k_proj\.(weight|bias)$/.test(hfName)) return config.numKvHeads;
  return undefined;
}

function permuted(config: ModelConfig, hfName: string, t: Tensor): Float32Array {
  // convert_hf_to_gguf's Gemma models: llama.cpp multiplies by the norm weight itself, so (1 + w) is stored.
  if (isGemma(config) && hfName.endsWith('norm.weight')) return t.data.map((x) => 1 + x);
  const heads = permuteFor(config, hfName);
  if (heads === undefined) return t.data;
  const rows = t.shape[0];
  const cols = t.shape.length > 1 ? t.shape[1] : 1;
  return permuteRows(t.data, rows, cols, heads);
}

type TNormalizer = {
  type: string;
  normalizers?: TNormalizer[];
  pattern?: { String?: string };
  content?: string;
  prepend?: string;
};
type TTokenizerJson = {
  normalizer?: TNormalizer | null;
  pre_tokenizer?: { type: string; replacement?: string; prepend_scheme?: string; split?: boolean } | null;
  model: {
    vocab: Record<string, number>;
    merges: (string | [string, string])[];
    byte_fallback?: boolean;
    unk_token?: string | null;
  };
  added_tokens: { id: number; content: string; special: boolean }[];
};

// llama.cpp's token types (gguf-py TokenType).
const TT = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const specText = (spec: unknown): string | undefined =>
  typeof spec === 'string' ? spec : (spec as { content?: string } | null)?.content;

/**
 * A SentencePiece-style tokenizer.json (BPE with byte fallback) in llama.cpp's SPM tokenizer: spaces must become "▁"
 * (a Replace normalizer or a non-splitting Metaspace pre-tokenizer), as llama.cpp escapes them; a leading "▁" (a
 * Prepend normalizer, Metaspace's prepend scheme) is llama.cpp's add_space_prefix. Anything else would tokenise
 * differently there: refused, naming the part.
 */
function spmAddSpacePrefix(tj: TTokenizerJson, file: string): boolean {
  const refuse = (what: string): never => {
    throw new TrainerError(
      'EXPORT_UNSUPPORTED',
      `${file}: ${what}; llama.cpp's SentencePiece tokenizer would tokenise differently, so GGUF export cannot write it.`,
    );
  };
  let prefix = false;
  let escapes = false;
  const n = tj.normalizer;
  for (const nz of !n ? [] : n.type === 'Sequence' ? (n.normalizers ?? []) : [n]) {
    if (nz.type === 'Prepend' && nz.prepend === '▁') prefix = true;
    else if (nz.type === 'Replace' && nz.pattern?.String === ' ' && nz.content === '▁') escapes = true;
    else refuse(`normalizer "${nz.type}" is not a "▁" Prepend or a " " -> "▁" Replace`);
  }
  const pt = tj.pre_tokenizer;
  if (pt) {
    if (pt.type !== 'Metaspace' || pt.replacement !== '▁' || pt.split === true) {
      refuse(`pre_tokenizer "${pt.type}" is not a non-splitting "▁" Metaspace`);
    }
    escapes = true;
    if (pt.prepend_scheme !== 'never') prefix = true;
  }
  if (!escapes) refuse('spaces are not replaced by "▁"');
  return prefix;
}

/**
 * Scores for llama.cpp's SPM tokenizer, which merges the adjacent pair whose joined piece scores highest (leftmost on
 * ties) where Hugging Face's BPE merges the pair of lowest merge rank (leftmost on ties): a piece scores minus the rank
 * of the first merge that makes it, so both merge in the same order. (gguf-py's LlamaHfVocab writes -1000 for every
 * token, which makes llama.cpp merge left to right instead.) Pieces no merge makes score below every merge; the
 * special, byte and unused tokens 0, as SentencePiece gives them.
 */
function spmScores(tj: TTokenizerJson, tokens: string[], types: number[]): number[] {
  const idOf = new Map(Object.entries(tj.model.vocab));
  const rank = new Map<number, number>();
  tj.model.merges.forEach((m, r) => {
    let pair = m;
    if (typeof pair === 'string') {
      // "a b": split at the space that leaves two pieces of the vocabulary (pieces of these vocabularies have no spaces).
      const s = pair;
      const at = [...s.matchAll(/ /g)]
        .map((x) => x.index)
        .find((i) => idOf.has(s.slice(0, i)) && idOf.has(s.slice(i + 1)));
      pair = at === undefined ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
    }
    const id = idOf.get(pair[0] + pair[1]);
    if (id !== undefined && !rank.has(id)) rank.set(id, r);
  });
  const unmerged = tj.model.merges.length;
  return tokens.map((_, i) => (types[i] === TT.NORMAL ? -(rank.get(i) ?? unmerged + i) : 0));
}

/**
 * The tokenizer.* key/values, padded to the embedding size: convert_hf_to_gguf's gpt2 (byte-level BPE) vocabulary,
 * or for a SentencePiece-style tokenizer.json (BPE with byte fallback: Gemma's, Mistral's, Llama 2's) its "llama"
 * (SPM) vocabulary as gguf-py's LlamaHfVocab and SpecialVocab write it: pieces, scores, token types (<0xNN> bytes,
 * the unknown token, special added tokens as control, other added tokens user-defined), the special ids and
 * tokenizer_config.json's add_bos_token / add_eos_token.
 */
function tokenizerKv(modelDir: string, config: ModelConfig): [string, TGgufValue][] {
  const file = join(modelDir, 'tokenizer.json');
  const tj: TTokenizerJson = JSON.parse(readFileSync(file, 'utf8'));
  let tc: Record<string, unknown> = {};
  try {
    tc = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8'));
  } catch {
    // optional
  }
  const spm = tj.model.byte_fallback === true;
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(tj.model.vocab)) byId.set(id, tok);
  const added = new Map<number, { content: string; special: boolean }>();
  for (const a of tj.added_tokens) {
    byId.set(a.id, a.content);
    added.set(a.id, a);
  }
  let maxId = 0;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  const n = Math.max(config.vocabSize, maxId + 1);
  const unk = specText(tc.unk_token) ?? tj.model.unk_token ?? undefined;
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = byId.get(i);
    if (t === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TT.UNUSED);
      continue;
    }
    tokens.push(t);
    if (spm && t === unk) types.push(TT.UNKNOWN);
    else if (added.has(i)) {
      const looksSpecial = !spm && /^<\|.*\|>$/.test(t); // convert_hf_to_gguf's does_token_look_special
      types.push(added.get(i)?.special || looksSpecial ? TT.CONTROL : TT.USER_DEFINED);
    } else if (spm && /^<0x[0-9A-Fa-f]{2}>$/.test(t)) types.push(TT.BYTE);
    else types.push(TT.NORMAL);
  }
  const kv: [string, TGgufValue][] = [];
  if (spm) {
    const prefix = spmAddSpacePrefix(tj, file);
    kv.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
      ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.scores', { type: 'f32[]', value: spmScores(tj, tokens, types) }],
      ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
      ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: prefix }],
    );
  } else {
    const merges = tj.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
    kv.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
      // Gemma models get here only with a byte-level BPE vocabulary: init-model's Llama 3 stand-in.
      [
        'tokenizer.ggml.pre',
        { type: 'string', value: ggufArch(config) === 'llama' || isGemma(config) ? 'llama-bpe' : 'qwen2' },
      ],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
      ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    );
  }
  const idOf = (spec: unknown): number | undefined => {
    const s = specText(spec);
    if (s === undefined) return undefined;
    for (const [id, t] of byId) if (t === s) return id;
    return undefined;
  };
  const eos = idOf(tc.eos_token) ?? (Array.isArray(config.eosTokenId) ? config.eosTokenId[0] : config.eosTokenId);
  const bos = idOf(tc.bos_token) ?? config.bosTokenId;
  const pad = idOf(tc.pad_token);
  if (eos !== undefined) kv.push(['tokenizer.ggml.eos_token_id', { type: 'u32', value: eos }]);
  if (bos !== undefined) kv.push(['tokenizer.ggml.bos_token_id', { type: 'u32', value: bos }]);
  if (pad !== undefined) kv.push(['tokenizer.ggml.padding_token_id', { type: 'u32', value: pad }]);
  if (spm) {
    const unkId = idOf(unk);
    if (unkId !== undefined) kv.push(['tokenizer.ggml.unknown_token_id', { type: 'u32', value: unkId }]);
    // SpecialVocab: tokenizer_config.json's flags (SentencePiece tokenizers add BOS unless told not to).
    const addBos = typeof tc.add_bos_token === 'boolean' ? tc.add_bos_token : true;
    kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addBos }]);
    if (typeof tc.add_eos_token === 'boolean')
      kv.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: tc.add_eos_token }]);
  } else {
    // Qwen never adds BOS; Llama 3, Mistral and Gemma do (their tokenizers prepend it).
    kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: ggufArch(config) === 'llama' || isGemma(config) }]);
  }
  if (typeof tc.chat_template === 'string')
    kv.push(['tokenizer.chat_template', { type: 'string', value: tc.chat_template }]);
  return kv;
}

function archKv(config: ModelConfig, name: string, fileType: number): [string, TGgufValue][] {
  const a = ggufArch(config);
  const kv: [string, TGgufValue][] = [
    ['general.architecture', { type: 'string', value: a }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', { type: 'u32', value: fileType }],
    [`${a}.block_count`, { type: 'u32', value: config.numLayers }],
    [`${a}.context_length`, { type: 'u32', value: config.maxPositionEmbeddings }],
    [`${a}.embedding_length`, { type: 'u32', value: config.hiddenSize }],
    [`${a}.feed_forward_length`, { type: 'u32', value: config.intermediateSize }],
    [`${a}.attention.head_count`, { type: 'u32', value: config.numHeads }],
    [`${a}.attention.head_count_kv`, { type: 'u32', value: config.numKvHeads }],
    [`${a}.rope.freq_base`, { type: 'f32', value: config.ropeTheta }],
    [`${a}.attention.layer_norm_rms_epsilon`, { type: 'f32', value: config.rmsNormEps }],
  ];
  if (config.headDim !== config.hiddenSize / config.numHeads || isGemma(config)) {
    kv.push([`${a}.attention.key_length`, { type: 'u32', value: config.headDim }]);
    kv.push([`${a}.attention.value_length`, { type: 'u32', value: config.headDim }]);
  }
  if (a === 'llama') {
    kv.push([`${a}.vocab_size`, { type: 'u32', value: config.vocabSize }]);
    kv.push([`${a}.rope.dimension_count`, { type: 'u32', value: config.headDim }]);
  }
  const g = config.gemma;
  if (g) {
    // convert_hf_to_gguf's Gemma2Model / Gemma3Model keys.
    if (g.attnLogitSoftcap) kv.push([`${a}.attn_logit_softcapping`, { type: 'f32', value: g.attnLogitSoftcap }]);
    if (g.finalLogitSoftcap) kv.push([`${a}.final_logit_softcapping`, { type: 'f32', value: g.finalLogitSoftcap }]);
    if (config.slidingWindow !== undefined && g.slidingLayers.some(Boolean))
      kv.push([`${a}.attention.sliding_window`, { type: 'u32', value: config.slidingWindow }]);
    const r = config.ropeScaling;
    if (r?.type === 'linear') {
      kv.push([`${a}.rope.scaling.type`, { type: 'string', value: 'linear' }]);
      kv.push([`${a}.rope.scaling.factor`, { type: 'f32', value: r.factor }]);
    }
  }
  return kv;
}

/** ggml type of one tensor: 1-D tensors (norms, biases) stay F32 as the converter keeps them; Q8_0 needs rows of 32k. */
function tensorType(shape: number[], want: 'F32' | 'F16' | 'Q8_0'): TGgmlTypeName {
  if (shape.length < 2 || want === 'F32') return 'F32';
  if (want === 'Q8_0' && shape[shape.length - 1] % 32 !== 0) return 'F16';
  return want;
}

const FILE_TYPE = { F32: 0, F16: 1, Q8_0: 7 } as const;

/** Writes a model directory as one GGUF file (F32, F16 or Q8_0) for llama.cpp / node-llama-cpp. */
export async function writeGgufModel(modelDir: string, outFile: string, type: 'F32' | 'F16' | 'Q8_0'): Promise<void> {
  const { config } = readModelDir(modelDir);
  checkGemmaForLlamaCpp(config);
  const weights: Weights = loadWeightsSync(modelDir);
  const tensors: TGgufTensor[] = [];
  for (const [hfName, t] of [...weights].sort(([a], [b]) => a.localeCompare(b))) {
    const name = ggufTensorName(hfName, isGemma(config));
    if (!name) continue;
    if (hfName === 'lm_head.weight' && config.tieWordEmbeddings) continue; // llama.cpp reuses token_embd
    tensors.push({ name, shape: t.shape, data: permuted(config, hfName, t), type: tensorType(t.shape, type) });
  }
  const factors = config.ropeScaling?.type === 'llama3' ? ropeFreqFactors(config) : null;
  if (factors) tensors.push({ name: 'rope_freqs.weight', shape: [factors.length], data: factors, type: 'F32' });
  if (!tensors.some((t) => t.name === 'token_embd.weight')) {
    throw new TrainerError('MODEL_FILES_MISSING', `${modelDir} has no model.embed_tokens.weight.`);
  }
  const kv = [...archKv(config, basename(modelDir), FILE_TYPE[type]), ...tokenizerKv(modelDir, config)];
  writeGguf(outFile, kv, tensors);
}

/**
 * Writes a PEFT LoRA adapter as a llama.cpp LoRA GGUF (convert_lora_to_gguf.py): general.type = adapter,
 * adapter.lora.alpha, and `<gguf name>.lora_a` [r, in] / `.lora_b` [out, r] tensors in F32. For Llama the Q/K
 * permutation is applied to lora_b's rows (P·(B·A) = (P·B)·A).
 */
export async function writeGgufLora(adapterDir: string, modelDir: string, outFile: string): Promise<void> {
  const { config } = readModelDir(modelDir);
  checkGemmaForLlamaCpp(config);
  const adapter = readPeftAdapter(adapterDir);
  if (adapter.config.useRslora) {
    throw new TrainerError('EXPORT_UNSUPPORTED', 'rsLoRA adapters have no exact llama.cpp alpha; merge them instead.');
  }
  const tensors: TGgufTensor[] = [];
  for (const [baseName, { A, B }] of [...loraPairs(adapter.weights)].sort(([a], [b]) => a.localeCompare(b))) {
    const name = ggufTensorName(baseName, isGemma(config));
    if (!name) throw new TrainerError('EXPORT_UNSUPPORTED', `LoRA on ${baseName} has no llama.cpp counterpart.`);
    if (A.shape[0] !== adapter.config.r) {
      throw new TrainerError(
        'ADAPTER_INVALID',
        `${baseName}: lora_A has ${A.shape[0]} rows but r is ${adapter.config.r}.`,
      );
    }
    tensors.push({ name: `${name}.lora_a`, shape: A.shape, data: A.data, type: 'F32' });
    tensors.push({ name: `${name}.lora_b`, shape: B.shape, data: permuted(config, baseName, B), type: 'F32' });
  }
  const kv: [string, TGgufValue][] = [
    ['general.architecture', { type: 'string', value: ggufArch(config) }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['general.name', { type: 'string', value: basename(adapterDir) }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'f32', value: adapter.config.alpha }],
  ];
  writeGguf(outFile, kv, tensors);
}
