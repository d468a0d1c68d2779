import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainerError } from '../io/errors';
import { loadWeightsSync, readSafetensorsSync, type Tensor, type Weights, writeSafetensors } from '../io/safetensors';

// PEFT's on-disk LoRA adapter: adapter_config.json (LoraConfig.to_dict(), json.dump indent 2, sorted keys) and
// adapter_model.safetensors with keys `base_model.model.<module>.lora_A.weight` [r, in] / `lora_B.weight` [out, r].

export const ALL_LORA_TARGETS = ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'];

export type TPeftMeta = {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names; `all` expands to every decoder linear, as LLaMA-Factory does before handing them to PEFT. */
  targets: string[];
  baseModel?: string;
  /** Alias of baseModel (the training loop's name for it). */
  baseModelNameOrPath?: string;
};

export type TPeftAdapterConfig = {
  r: number;
  alpha: number;
  dropout: number;
  targets: string[];
  baseModel: string;
  useRslora: boolean;
  /** The adapter_config.json as written. */
  raw: Record<string, unknown>;
};

export function expandTargets(targets: string[]): string[] {
  const set = new Set<string>();
  for (const t of targets) {
    if (t === 'all') for (const a of ALL_LORA_TARGETS) set.add(a);
    else set.add(t);
  }
  return [...set].sort();
}

/** adapter_config.json as PEFT 0.1x writes it for LoRA on a causal LM. */
export function peftAdapterConfig(meta: TPeftMeta): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: meta.baseModel ?? meta.baseModelNameOrPath ?? '',
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: meta.alpha,
    lora_dropout: meta.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: meta.r,
    rank_pattern: {},
    revision: null,
    target_modules: expandTargets(meta.targets),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
  return cfg;
}

/** Writes adapter_config.json + adapter_model.safetensors (F32). Synchronous; `await` on it is harmless. */
export function writePeftAdapter(dir: string, lora: Weights, meta: TPeftMeta): void {
  for (const k of lora.keys()) {
    if (!/^base_model\.model\..+\.lora_[AB]\.weight$/.test(k)) {
      throw new TrainerError(
        'ADAPTER_INVALID',
        `LoRA tensor "${k}" is not a PEFT key (base_model.model.<module>.lora_A.weight).`,
      );
    }
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), `${JSON.stringify(peftAdapterConfig(meta), null, 2)}\n`);
  writeSafetensors(join(dir, 'adapter_model.safetensors'), lora, { dtype: 'F32' });
}

/** Reads a PEFT LoRA adapter directory (ours or one written by PEFT). `state` and `weights` are the same map. */
export function readPeftAdapter(dir: string): { config: TPeftAdapterConfig; weights: Weights; state: Weights } {
  const cfgPath = join(dir, 'adapter_config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new TrainerError('ADAPTER_INVALID', `${dir} has no readable adapter_config.json (${(e as Error).message}).`);
  }
  if (raw.peft_type !== 'LORA')
    throw new TrainerError('ADAPTER_INVALID', `${cfgPath}: peft_type ${String(raw.peft_type)} is not LORA.`);
  if (raw.use_dora === true) throw new TrainerError('ADAPTER_INVALID', `${cfgPath}: DoRA adapters are not supported.`);
  const r = Number(raw.r);
  const alpha = Number(raw.lora_alpha);
  if (!(r > 0) || !(alpha > 0))
    throw new TrainerError('ADAPTER_INVALID', `${cfgPath}: r and lora_alpha must be positive.`);
  const targets = Array.isArray(raw.target_modules)
    ? (raw.target_modules as string[])
    : typeof raw.target_modules === 'string'
      ? [raw.target_modules]
      : [];
  const file = join(dir, 'adapter_model.safetensors');
  if (!existsSync(file)) throw new TrainerError('ADAPTER_INVALID', `${dir} has no adapter_model.safetensors.`);
  const loaded = readSafetensorsSync(file);
  const weights: Weights = new Map();
  for (const [k, v] of loaded) {
    // Some PEFT versions/tools keep the adapter name (`lora_A.default.weight`); normalise to PEFT's saved form.
    weights.set(k.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), v);
  }
  return {
    config: {
      r,
      alpha,
      dropout: Number(raw.lora_dropout ?? 0),
      targets,
      baseModel: String(raw.base_model_name_or_path ?? ''),
      useRslora: raw.use_rslora === true,
      raw,
    },
    weights,
    state: weights,
  };
}

/** PEFT key of a LoRA tensor -> the base weight it modifies (`model.layers.0.self_attn.q_proj.weight`). */
export function baseKeyOf(peftKey: string): { base: string; which: 'A' | 'B' } | undefined {
  const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(peftKey);
  return m ? { base: `${m[1]}.weight`, which: m[2] as 'A' | 'B' } : undefined;
}

/** The (A, B) pairs of an adapter keyed by base weight name. */
export function loraPairs(weights: Weights): Map<string, { A: Tensor; B: Tensor }> {
  const pairs = new Map<string, { A?: Tensor; B?: Tensor }>();
  for (const [k, t] of weights) {
    const b = baseKeyOf(k);
    if (!b) throw new TrainerError('ADAPTER_INVALID', `Adapter tensor "${k}" is not a LoRA A/B weight.`);
    const p = pairs.get(b.base) ?? {};
    p[b.which] = t;
    pairs.set(b.base, p);
  }
  const out = new Map<string, { A: Tensor; B: Tensor }>();
  for (const [k, p] of pairs) {
    if (!p.A || !p.B) throw new TrainerError('ADAPTER_INVALID', `Adapter has only one of lora_A/lora_B for ${k}.`);
    out.set(k, { A: p.A, B: p.B });
  }
  return out;
}

/** LoRA scaling: alpha / r, or alpha / sqrt(r) for rsLoRA (PEFT's LoraLayer.update_layer). */
export function loraScale(cfg: Pick<TPeftAdapterConfig, 'r' | 'alpha' | 'useRslora'>): number {
  return cfg.useRslora ? cfg.alpha / Math.sqrt(cfg.r) : cfg.alpha / cfg.r;
}

/** W' = W + scale · B A for every adapted weight, in place on `weights` (float32 accumulation, as PEFT merges). */
export function mergeLoraInto(weights: Weights, adapter: Weights, scale: number): void {
  for (const [name, { A, B }] of loraPairs(adapter)) {
    const W = weights.get(name);
    if (!W) throw new TrainerError('ADAPTER_INVALID', `The adapter modifies ${name}, which the base model lacks.`);
    const [out, inF] = W.shape;
    const [r, aIn] = A.shape;
    if (aIn !== inF || B.shape[0] !== out || B.shape[1] !== r) {
      throw new TrainerError(
        'ADAPTER_INVALID',
        `Shapes do not fit for ${name}: W [${W.shape}], A [${A.shape}], B [${B.shape}].`,
      );
    }
    const w = W.data;
    const a = A.data;
    const b = B.data;
    const row = new Float32Array(inF);
    for (let o = 0; o < out; o++) {
      row.fill(0);
      for (let k = 0; k < r; k++) {
        const s = b[o * r + k] * scale;
        if (s === 0) continue;
        const base = k * inF;
        for (let i = 0; i < inF; i++) row[i] += s * a[base + i];
      }
      const wb = o * inF;
      for (let i = 0; i < inF; i++) w[wb + i] += row[i];
    }
  }
}

const MODEL_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
];

/** Merges a PEFT LoRA adapter into its base model and writes a full model directory (F32 safetensors unless asked). */
export async function mergeAdapter(
  modelDir: string,
  adapterDir: string,
  outDir: string,
  opts: { dtype?: 'F32' | 'BF16' | 'F16' } = {},
): Promise<void> {
  const adapter = readPeftAdapter(adapterDir);
  const weights = loadWeightsSync(modelDir);
  mergeLoraInto(weights, adapter.weights, loraScale(adapter.config));
  mkdirSync(outDir, { recursive: true });
  const dtype = opts.dtype ?? 'F32';
  writeSafetensors(join(outDir, 'model.safetensors'), weights, { dtype });
  for (const f of MODEL_FILES) {
    const src = join(modelDir, f);
    if (existsSync(src)) copyFileSync(src, join(outDir, f));
  }
  const cfgPath = join(outDir, 'config.json');
  if (existsSync(cfgPath)) {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.torch_dtype = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' }[dtype];
    writeFileSync(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`);
  }
}
