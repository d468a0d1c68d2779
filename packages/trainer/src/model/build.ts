import { toBf16 } from '@crucible/tensor';
import { ModelError } from './errors';
import type { Layer, Norm } from './layers';
import type { Linear } from './linear';
import { createRng } from './rng';
import {
  type Finetuning,
  LORA_TARGETS,
  type LoraSpec,
  type LoraTarget,
  type ModelConfig,
  type Param,
  type Weights,
} from './types';

type F32 = Float32Array;

/** The model's parameters arranged for the forward pass, plus the flat list the optimizer sees. */
export type Built = {
  embed: { w: F32; dw: F32 | null };
  lmHead: { w: F32; dw: F32 | null };
  finalNorm: Norm;
  layers: Layer[];
  /** Trainable parameters in a stable order (HF named_parameters order for full fine-tuning). */
  params: Param[];
  /** PEFT key -> LoRA parameter. */
  lora: Map<string, Param>;
  /**
   * The base weights by HF name, sharing storage with the layers (updated in place by full fine-tuning). A weight
   * held as bf16 (see frozenBf16) appears here with an empty data array, keeping the HF order.
   */
  weights: Weights;
  /** Frozen projection weights held only as bf16 bits (frozenDtype 'bf16'), by HF name. */
  frozenBf16: Map<string, { shape: number[]; bits: Uint16Array }>;
};

/** How frozen projection weights are stored: 'bf16' only applies to a frozen base (LoRA or inference). */
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

export function buildModel(opts: {
  config: ModelConfig;
  weights: Weights;
  finetuning: Finetuning;
  lora?: LoraSpec;
  seed: number;
  frozenDtype?: FrozenDtype;
}): Built {
  const { config: c, weights: src, finetuning } = opts;
  const full = finetuning === 'full';
  const bf16 = !full && opts.frozenDtype === 'bf16';
  const frozenBf16: Built['frozenBf16'] = new Map();
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const qOut = c.numHeads * c.headDim;
  const kvOut = c.numKvHeads * c.headDim;
  const weights: Weights = new Map();
  const params: Param[] = [];
  const lora = new Map<string, Param>();

  const need = (name: string, shape: number[], decay: boolean): { w: F32; dw: F32 | null } => {
    const t = src.get(name);
    if (!t)
      throw new ModelError(
        'WEIGHT_MISSING',
        `The model weights have no tensor "${name}" (expected shape ${shapeStr(shape)}).`,
      );
    const n = shape.reduce((a, b) => a * b, 1);
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i]) || t.data.length !== n) {
      throw new ModelError(
        'WEIGHT_SHAPE',
        `Tensor "${name}" has shape ${shapeStr(t.shape)}; the config implies ${shapeStr(shape)}.`,
      );
    }
    weights.set(name, { shape: [...shape], data: t.data });
    if (!full) return { w: t.data, dw: null };
    const grad = new Float32Array(n);
    params.push({ name, shape: [...shape], data: t.data, grad, decay });
    return { w: t.data, dw: grad };
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

  const embed = need('model.embed_tokens.weight', [c.vocabSize, C], true);
  const o = c.arch === 'llama' && c.attentionBias; // Llama's attention_bias also covers o_proj; Qwen2's never does
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
      const W = need(`${name}.weight`, [outF, inF], true);
      const b = hasBias ? need(`${name}.bias`, [outF], false) : null;
      let Wf = W.w;
      let Wbf16: Uint16Array | null = null;
      if (bf16) {
        // Converted once; neither the model nor the source map keeps the fp32 copy (see createModel frozenDtype).
        Wbf16 = toBf16(W.w);
        src.delete(`${name}.weight`);
        Wf = new Float32Array(0);
        frozenBf16.set(`${name}.weight`, { shape: [outF, inF], bits: Wbf16 });
        weights.set(`${name}.weight`, { shape: [outF, inF], data: Wf });
      }
      lin[t] = { name, inF, outF, W: Wf, Wbf16, dW: W.dw, b: b?.w ?? null, db: b?.dw ?? null, lora: null };
    }
    const inNorm = need(`${p}.input_layernorm.weight`, [C], false);
    const postNorm = need(`${p}.post_attention_layernorm.weight`, [C], false);
    layers.push({
      index: l,
      inNorm: { w: inNorm.w, dw: inNorm.dw },
      postNorm: { w: postNorm.w, dw: postNorm.dw },
      lin,
    });
  }
  const finalNorm = need('model.norm.weight', [C], false);
  const lmHead = c.tieWordEmbeddings ? embed : need('lm_head.weight', [c.vocabSize, C], true);

  // LoRA after the base so that params hold only adapters; A ~ U(-1/sqrt(in), 1/sqrt(in)) is PEFT's
  // kaiming_uniform_(a=sqrt(5)) on [r, in]; B = 0 so the adapted model starts equal to the base.
  for (const layer of layers) {
    for (const t of targets) {
      const lin = layer.lin[t];
      const bound = 1 / Math.sqrt(lin.inF);
      const A = new Float32Array(r * lin.inF);
      for (let i = 0; i < A.length; i++) A[i] = (2 * rng() - 1) * bound;
      const pa: Param = {
        name: peftKey(lin.name, 'A'),
        shape: [r, lin.inF],
        data: A,
        grad: new Float32Array(A.length),
        decay: true,
      };
      const pb: Param = {
        name: peftKey(lin.name, 'B'),
        shape: [lin.outF, r],
        data: new Float32Array(lin.outF * r),
        grad: new Float32Array(lin.outF * r),
        decay: true,
      };
      lin.lora = { A: pa, B: pb, r, scale, dropout };
      params.push(pa, pb);
      lora.set(pa.name, pa);
      lora.set(pb.name, pb);
    }
  }

  return {
    embed,
    lmHead,
    finalNorm: { w: finalNorm.w, dw: finalNorm.dw },
    layers,
    params: full ? sortHfOrder(params) : params,
    lora,
    weights,
    frozenBf16,
  };
}

/** torch's named_parameters order: embed, per layer (attn q,k,v,o; mlp; norms), final norm, lm_head. */
function sortHfOrder(params: Param[]): Param[] {
  const rank = (name: string): number[] => {
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
      'mlp.gate_proj.weight',
      'mlp.up_proj.weight',
      'mlp.down_proj.weight',
      'input_layernorm.weight',
      'post_attention_layernorm.weight',
    ];
    return [1, Number(m[1]), order.indexOf(m[2])];
  };
  const cmp = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? -1) - (b[i] ?? -1);
      if (d) return d;
    }
    return 0;
  };
  return [...params].sort((x, y) => cmp(rank(x.name), rank(y.name)));
}
