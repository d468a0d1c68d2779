import type { ModelConfig } from './types';

// The tensors a config implies, apart from the model code (build.ts) and the backends it loads: what the memory
// estimate (memory.ts) reads in the console's bundle, where no native addon may be imported.

/**
 * o_proj has a bias where attention_bias covers it: Llama, Qwen3 and Gemma (Qwen2 biases q/k/v only, Mistral
 * nothing).
 */
export function oProjBias(c: ModelConfig): boolean {
  return c.arch !== 'qwen2' && c.arch !== 'mistral' && c.attentionBias;
}

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
