import { oProjBias } from './build';
import { createRng } from './rng';
import type { ModelConfig, Weights } from './types';

/** The HF tensor names and shapes a config implies (lm_head only when untied). */
export function weightShapes(c: ModelConfig): Map<string, number[]> {
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const out = new Map<string, number[]>();
  out.set('model.embed_tokens.weight', [c.vocabSize, C]);
  const oBias = oProjBias(c);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    out.set(`${p}.self_attn.q_proj.weight`, [q, C]);
    if (c.attentionBias) out.set(`${p}.self_attn.q_proj.bias`, [q]);
    out.set(`${p}.self_attn.k_proj.weight`, [kv, C]);
    if (c.attentionBias) out.set(`${p}.self_attn.k_proj.bias`, [kv]);
    out.set(`${p}.self_attn.v_proj.weight`, [kv, C]);
    if (c.attentionBias) out.set(`${p}.self_attn.v_proj.bias`, [kv]);
    out.set(`${p}.self_attn.o_proj.weight`, [C, q]);
    if (oBias) out.set(`${p}.self_attn.o_proj.bias`, [C]);
    if (c.qkNorm) {
      out.set(`${p}.self_attn.q_norm.weight`, [c.headDim]);
      out.set(`${p}.self_attn.k_norm.weight`, [c.headDim]);
    }
    out.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, C]);
    out.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, C]);
    out.set(`${p}.mlp.down_proj.weight`, [C, c.intermediateSize]);
    out.set(`${p}.input_layernorm.weight`, [C]);
    out.set(`${p}.post_attention_layernorm.weight`, [C]);
    if (c.gemma) {
      out.set(`${p}.pre_feedforward_layernorm.weight`, [C]);
      out.set(`${p}.post_feedforward_layernorm.weight`, [C]);
    }
  }
  out.set('model.norm.weight', [C]);
  if (!c.tieWordEmbeddings) out.set('lm_head.weight', [c.vocabSize, C]);
  return out;
}

/**
 * Random weights as Transformers initialises them (normal(0, std) for matrices and biases, ones for norms; zeros for
 * Gemma's, which scale by 1 + w), from a seeded stream. normNoise > 0 perturbs the norm weights too (tests want every parameter to matter).
 */
export function randomWeights(c: ModelConfig, opts: { seed: number; std?: number; normNoise?: number }): Weights {
  const rng = createRng(opts.seed);
  const std = opts.std ?? 0.02;
  const noise = opts.normNoise ?? 0;
  const normal = (): number => {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const normOne = c.gemma ? 0 : 1;
  const w: Weights = new Map();
  for (const [name, shape] of weightShapes(c)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith('norm.weight');
    for (let i = 0; i < data.length; i++) data[i] = isNorm ? normOne + noise * normal() : std * normal();
    w.set(name, { shape, data });
  }
  return w;
}
