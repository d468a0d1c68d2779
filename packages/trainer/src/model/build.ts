import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import { toBf16 } from '@crucible/tensor';
import { ModelError } from './errors';
import type { Layer, Norm } from './layers';
import type { Linear } from './linear';
import { createRng } from './rng';
import { oProjBias } from './shapes';
import {
  type Finetuning,
  LORA_TARGETS,
  type LoraSpec,
  type LoraTarget,
  type ModelConfig,
  type ModelLayout,
  type Param,
  type StoredTensor,
  type StoredWeights,
  type Tensor,
  type Weights,
} from './types';

/** A frozen or trainable matrix as the model holds it. dw is null when frozen. */
export type Matrix = { w: DT; dw: DT | null };

/** The model's parameters arranged for the forward pass, plus the flat list the optimizer sees. */
export type Built = {
  embed: Matrix;
  lmHead: Matrix;
  finalNorm: Norm;
  layers: Layer[];
  /** Trainable parameters in a stable order (HF named_parameters order for full fine-tuning). */
  params: Param[];
  /** PEFT key -> LoRA parameter. */
  lora: Map<string, Param>;
  /**
   * Every base weight by HF name, in HF order (the order of the calls below), as the backend holds it. offset: the
   * backend tensor holds offset + the HF value (a trainable Gemma norm, held as 1 + w); fullState subtracts it.
   */
  weights: Map<string, { shape: number[]; t: DT; offset?: number }>;
  layout: ModelLayout;
};

/**
 * How frozen fp32 matrices are held: 'bf16' converts them once at load (activations are then rounded to bf16 in
 * their matmuls, fp32 accumulation). Weights stored as bf16 or f16 in their file are bf16 whatever this says: a
 * frozen weight never gets an fp32 copy.
 */
export type FrozenDtype = 'f32' | 'bf16';

const MODULE_GROUP: Record<LoraTarget, 'self_attn' | 'mlp'> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

/** `all` (LLaMA-Factory) expands to every decoder linear; anything else must name one. */
export function resolveLoraTargets(targets: string[]): LoraTarget[] {
  const list = targets
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.includes('all')) return [...LORA_TARGETS];
  const out = new Set<LoraTarget>();
  for (const t of list) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new ModelError(
        'LORA_INVALID',
        `LoRA target "${t}" is not a module of this model; use all or ${LORA_TARGETS.join(', ')}.`,
      );
    }
    out.add(t as LoraTarget);
  }
  if (out.size === 0) throw new ModelError('LORA_INVALID', 'LoRA needs at least one target module.');
  return LORA_TARGETS.filter((t) => out.has(t));
}

export function peftKey(moduleName: string, which: 'A' | 'B'): string {
  return `base_model.model.${moduleName}.lora_${which}.weight`;
}

function shapeStr(s: number[]): string {
  return `[${s.join(', ')}]`;
}

const isStored = (t: Tensor | StoredTensor): t is StoredTensor => typeof (t as StoredTensor).read === 'function';

export function buildModel(opts: {
  backend: Backend;
  config: ModelConfig;
  weights: Weights | StoredWeights;
  finetuning: Finetuning;
  lora?: LoraSpec;
  seed: number;
  /** Frozen q/k/v/o/gate/up/down held as bf16 (when given as fp32). */
  frozenDtype?: FrozenDtype;
  /** Frozen embedding / LM head held as bf16 (when given as fp32). */
  embeddingDtype?: FrozenDtype;
}): Built {
  const { backend: be, config: c, finetuning } = opts;
  const src = opts.weights as Map<string, Tensor | StoredTensor>;
  const full = finetuning === 'full';
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const qOut = c.numHeads * c.headDim;
  const kvOut = c.numKvHeads * c.headDim;
  const weights: Built['weights'] = new Map();
  const params: Param[] = [];
  const lora = new Map<string, Param>();
  const seen = { proj: 'f32' as 'f32' | 'bf16', embed: 'f32' as 'f32' | 'bf16', head: 'f32' as 'f32' | 'bf16' };

  const lookup = (name: string, shape: number[]): Tensor | StoredTensor => {
    const t = src.get(name);
    if (!t)
      throw new ModelError(
        'WEIGHT_MISSING',
        `The model weights have no tensor "${name}" (expected shape ${shapeStr(shape)}).`,
      );
    const n = shape.reduce((a, b) => a * b, 1);
    const len = isStored(t) ? t.shape.reduce((a, b) => a * b, 1) : t.data.length;
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i]) || len !== n) {
      throw new ModelError(
        'WEIGHT_SHAPE',
        `Tensor "${name}" has shape ${shapeStr(t.shape)}; the config implies ${shapeStr(shape)}.`,
      );
    }
    return t;
  };

  /** A trainable fp32 copy on the backend (full fine-tuning, and the norms / biases of every model). */
  const trainable = (name: string, shape: number[], decay: boolean): Matrix => {
    const t = lookup(name, shape);
    const host = isStored(t) ? (t.read('f32') as Float32Array) : t.data;
    const w = be.alloc(shape);
    be.upload(w, host);
    weights.set(name, { shape: [...shape], t: w });
    const grad = be.alloc(shape);
    params.push({ name, shape: [...shape], data: w, grad, decay });
    return { w, dw: grad };
  };

  /**
   * A frozen matrix: bf16 when stored as bf16/f16 or when `wantBf16` converts an fp32 one (an in-memory fp32
   * tensor is then taken out of the caller's map, so its fp32 storage can be collected); fp32 otherwise.
   */
  // One scratch buffer for every stored bf16 weight: the backend copies or packs it (transient), so loading never
  // leaves a tensor-sized garbage buffer per weight for the collector (a 7B model would pile up gigabytes).
  let scratch = new Uint16Array(0);
  const frozen = (name: string, shape: number[], wantBf16: boolean): { m: Matrix; dtype: 'f32' | 'bf16' } => {
    const t = lookup(name, shape);
    let w: DT;
    if (isStored(t)) {
      const bf16 = be.bf16 && (t.dtype !== 'F32' || wantBf16);
      if (bf16 && t.dtype === 'BF16') {
        const n = shape.reduce((a, b) => a * b, 1);
        if (scratch.length < n) scratch = new Uint16Array(n);
        w = be.frozen(shape, 'bf16', t.read('bf16', scratch), { transient: true });
      } else {
        w = bf16 ? be.frozen(shape, 'bf16', t.read('bf16')) : be.frozen(shape, 'f32', t.read('f32'));
      }
    } else if (wantBf16 && be.bf16) {
      w = be.frozen(shape, 'bf16', toBf16(t.data));
      src.delete(name);
    } else {
      w = be.frozen(shape, 'f32', t.data);
    }
    weights.set(name, { shape: [...shape], t: w });
    return { m: { w, dw: null }, dtype: w.dtype === 'bf16' ? 'bf16' : 'f32' };
  };

  /**
   * Gemma's RMSNorms scale by (1 + w): the backend holds 1 + w (rounded to float32, as Transformers' `1.0 +
   * weight.float()`), so the ordinary RMSNorm op computes them and d/dw = d/d(1 + w). A frozen norm keeps its HF
   * value for fullState in a second tensor; a trainable one is held as 1 + w throughout (optimizer, checkpoints) and
   * fullState subtracts the 1.
   */
  const gemmaNorm = (name: string, shape: number[]): Matrix => {
    const t = lookup(name, shape);
    const hf = isStored(t) ? (t.read('f32') as Float32Array) : t.data;
    const held = new Float32Array(hf.length);
    for (let i = 0; i < hf.length; i++) held[i] = 1 + hf[i];
    if (full) {
      const w = be.alloc(shape);
      be.upload(w, held);
      weights.set(name, { shape: [...shape], t: w, offset: 1 });
      const grad = be.alloc(shape);
      params.push({ name, shape: [...shape], data: w, grad, decay: false });
      return { w, dw: grad };
    }
    weights.set(name, { shape: [...shape], t: be.frozen(shape, 'f32', hf) });
    return { w: be.frozen(shape, 'f32', held), dw: null };
  };
  const gemma = c.gemma !== undefined;
  const norm = (name: string, shape: number[]): Matrix => (gemma ? gemmaNorm(name, shape) : vector(name, shape));

  /** Norms and biases: small, fp32 always; trainable only in full fine-tuning. */
  const vector = (name: string, shape: number[]): Matrix => {
    if (full) return trainable(name, shape, false);
    const t = lookup(name, shape);
    const w = be.frozen(shape, 'f32', isStored(t) ? (t.read('f32') as Float32Array) : t.data);
    weights.set(name, { shape: [...shape], t: w });
    return { w, dw: null };
  };

  const matrix = (name: string, shape: number[], wantBf16: boolean, kind: keyof typeof seen): Matrix => {
    if (full) return trainable(name, shape, true);
    const { m, dtype } = frozen(name, shape, wantBf16);
    seen[kind] = dtype;
    return m;
  };

  let targets: LoraTarget[] = [];
  let r = 0;
  let scale = 0;
  let dropout = 0;
  if (finetuning === 'lora') {
    const spec = opts.lora;
    if (!spec)
      throw new ModelError('LORA_INVALID', 'finetuning "lora" needs a LoRA spec (r, alpha, dropout, targets).');
    if (!Number.isInteger(spec.r) || spec.r <= 0)
      throw new ModelError('LORA_INVALID', `lora_rank must be a positive integer, got ${spec.r}.`);
    if (!(spec.alpha > 0)) throw new ModelError('LORA_INVALID', `lora_alpha must be positive, got ${spec.alpha}.`);
    if (!(spec.dropout >= 0 && spec.dropout < 1))
      throw new ModelError('LORA_INVALID', `lora_dropout must be in [0, 1), got ${spec.dropout}.`);
    targets = resolveLoraTargets(spec.targets);
    r = spec.r;
    scale = spec.alpha / spec.r;
    dropout = spec.dropout;
  }
  const rng = createRng(opts.seed);
  const projBf16 = opts.frozenDtype === 'bf16';
  const embBf16 = opts.embeddingDtype === 'bf16';

  const embed = matrix('model.embed_tokens.weight', [c.vocabSize, C], embBf16, 'embed');
  const o = oProjBias(c);
  const shapes: Record<LoraTarget, [number, number, boolean]> = {
    q_proj: [qOut, C, c.attentionBias],
    k_proj: [kvOut, C, c.attentionBias],
    v_proj: [kvOut, C, c.attentionBias],
    o_proj: [C, qOut, o],
    gate_proj: [I, C, false],
    up_proj: [I, C, false],
    down_proj: [C, I, false],
  };

  const layers: Layer[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const lin = {} as Record<LoraTarget, Linear>;
    for (const t of LORA_TARGETS) {
      const [outF, inF, hasBias] = shapes[t];
      const name = `${p}.${MODULE_GROUP[t]}.${t}`;
      const W = matrix(`${name}.weight`, [outF, inF], projBf16, 'proj');
      const b = hasBias ? vector(`${name}.bias`, [outF]) : null;
      lin[t] = { name, inF, outF, W: W.w, dW: W.dw, b: b?.w ?? null, db: b?.dw ?? null, lora: null };
    }
    // Qwen3Attention / Gemma3Attention register q_norm / k_norm after o_proj (named_parameters order).
    const qNorm = c.qkNorm ? norm(`${p}.self_attn.q_norm.weight`, [c.headDim]) : null;
    const kNorm = c.qkNorm ? norm(`${p}.self_attn.k_norm.weight`, [c.headDim]) : null;
    const inNorm = norm(`${p}.input_layernorm.weight`, [C]);
    // Gemma: post_attention_layernorm normalises the attention output; pre_feedforward_layernorm is the MLP's input
    // norm (the others' post_attention_layernorm); post_feedforward_layernorm normalises the MLP output.
    const attnOutNorm = gemma ? norm(`${p}.post_attention_layernorm.weight`, [C]) : null;
    const postNorm = norm(`${p}.${gemma ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`, [C]);
    const mlpOutNorm = gemma ? norm(`${p}.post_feedforward_layernorm.weight`, [C]) : null;
    const sliding = c.gemma ? c.gemma.slidingLayers[l] : c.slidingWindow !== undefined;
    const localTheta = c.gemma?.localRopeTheta;
    layers.push({
      index: l,
      inNorm: { w: inNorm.w, dw: inNorm.dw },
      postNorm: { w: postNorm.w, dw: postNorm.dw },
      qNorm: qNorm && { w: qNorm.w, dw: qNorm.dw },
      kNorm: kNorm && { w: kNorm.w, dw: kNorm.dw },
      attnOutNorm: attnOutNorm && { w: attnOutNorm.w, dw: attnOutNorm.dw },
      mlpOutNorm: mlpOutNorm && { w: mlpOutNorm.w, dw: mlpOutNorm.dw },
      sliding,
      // Gemma 3's local layers: plain RoPE with rope_local_base_freq (the global ones keep theta and its scaling).
      rope: sliding && localTheta !== undefined ? { theta: localTheta, invFreq: null } : null,
      lin,
    });
  }
  const finalNorm = norm('model.norm.weight', [C]);
  const lmHead = c.tieWordEmbeddings ? embed : matrix('lm_head.weight', [c.vocabSize, C], embBf16, 'head');

  // LoRA after the base so that params hold only adapters; A ~ U(-1/sqrt(in), 1/sqrt(in)) is PEFT's
  // kaiming_uniform_(a=sqrt(5)) on [r, in]; B = 0 so the adapted model starts equal to the base.
  for (const layer of layers) {
    for (const t of targets) {
      const lin = layer.lin[t];
      const bound = 1 / Math.sqrt(lin.inF);
      const A = new Float32Array(r * lin.inF);
      for (let i = 0; i < A.length; i++) A[i] = (2 * rng() - 1) * bound;
      const aT = be.alloc([r, lin.inF]);
      be.upload(aT, A);
      const pa: Param = {
        name: peftKey(lin.name, 'A'),
        shape: [r, lin.inF],
        data: aT,
        grad: be.alloc([r, lin.inF]),
        decay: true,
      };
      const pb: Param = {
        name: peftKey(lin.name, 'B'),
        shape: [lin.outF, r],
        data: be.alloc([lin.outF, r]),
        grad: be.alloc([lin.outF, r]),
        decay: true,
      };
      lin.lora = { A: pa, B: pb, r, scale, dropout };
      params.push(pa, pb);
      lora.set(pa.name, pa);
      lora.set(pb.name, pb);
    }
  }

  const kind = (k: keyof typeof seen) => (full ? 'trainable' : seen[k]);
  return {
    embed,
    lmHead,
    finalNorm: { w: finalNorm.w, dw: finalNorm.dw },
    layers,
    params: full ? sortHfOrder(params) : params,
    lora,
    weights,
    layout: {
      projections: kind('proj'),
      embedding: kind('embed'),
      lmHead: c.tieWordEmbeddings ? 'tied' : kind('head'),
      gradientCheckpointing: false,
    },
  };
}

/** The rank of an HF parameter name in torch's named_parameters order. */
function hfRank(name: string): number[] {
  if (name === 'model.embed_tokens.weight') return [0];
  if (name === 'model.norm.weight') return [2];
  if (name === 'lm_head.weight') return [3];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) return [4];
  const order = [
    'self_attn.q_proj.weight',
    'self_attn.q_proj.bias',
    'self_attn.k_proj.weight',
    'self_attn.k_proj.bias',
    'self_attn.v_proj.weight',
    'self_attn.v_proj.bias',
    'self_attn.o_proj.weight',
    'self_attn.o_proj.bias',
    'self_attn.q_norm.weight',
    'self_attn.k_norm.weight',
    'mlp.gate_proj.weight',
    'mlp.up_proj.weight',
    'mlp.down_proj.weight',
    'input_layernorm.weight',
    'post_attention_layernorm.weight',
    'pre_feedforward_layernorm.weight',
    'post_feedforward_layernorm.weight',
  ];
  return [1, Number(m[1]), order.indexOf(m[2])];
}

function cmpRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/** torch's named_parameters order: embed, per layer (attn q,k,v,o; mlp; norms), final norm, lm_head. */
function sortHfOrder(params: Param[]): Param[] {
  return [...params].sort((x, y) => cmpRank(hfRank(x.name), hfRank(y.name)));
}
