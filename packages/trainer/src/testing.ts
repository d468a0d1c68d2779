import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Small servable models for the platform's tests and benchmarks (the serving worker, the gateway, exports): a random
 * Qwen2 with the real Qwen tokenizer, and a hand-made PEFT LoRA adapter for it with its GGUF twin. Nothing here is
 * used by training itself.
 */

/** A tiny Qwen2 model whose weights are large enough that greedy decoding does not collapse to one token. */
export async function tinyBase(dir: string): Promise<void> {
  const { initModel, loadWeights, writeSafetensors } = await import('./index');
  await initModel({ arch: 'qwen2', layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 5 }, dir);
  const w = await loadWeights(dir);
  const rng = lcg(11);
  for (const [k, t] of w) {
    if (k.endsWith('norm.weight')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + rng();
    else if (k.endsWith('.bias')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.2 * (rng() - 0.5);
    else for (let i = 0; i < t.data.length; i++) t.data[i] *= 12.5;
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), w);
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A hand-made PEFT LoRA adapter (non-zero A and B on q/v/up/down), converted to a GGUF adapter. */
export async function tinyAdapter(baseDir: string, dir: string, seed: number): Promise<string> {
  const { writeGgufLora, writePeftAdapter } = await import('./index');
  const cfg = JSON.parse(readFileSync(path.join(baseDir, 'config.json'), 'utf8')) as {
    hidden_size: number;
    intermediate_size: number;
    num_attention_heads: number;
    num_key_value_heads: number;
    num_hidden_layers: number;
  };
  const head = cfg.hidden_size / cfg.num_attention_heads;
  const shapes: Record<string, [number, number, string]> = {
    q_proj: [cfg.num_attention_heads * head, cfg.hidden_size, 'self_attn'],
    v_proj: [cfg.num_key_value_heads * head, cfg.hidden_size, 'self_attn'],
    up_proj: [cfg.intermediate_size, cfg.hidden_size, 'mlp'],
    down_proj: [cfg.hidden_size, cfg.intermediate_size, 'mlp'],
  };
  const rng = lcg(seed);
  const r = 4;
  const lora = new Map<string, { shape: number[]; data: Float32Array }>();
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const [t, [out, inF, block]] of Object.entries(shapes)) {
      const mod = `base_model.model.model.layers.${l}.${block}.${t}`;
      lora.set(`${mod}.lora_A.weight`, {
        shape: [r, inF],
        data: Float32Array.from({ length: r * inF }, () => (rng() - 0.5) * 0.8),
      });
      lora.set(`${mod}.lora_B.weight`, {
        shape: [out, r],
        data: Float32Array.from({ length: out * r }, () => (rng() - 0.5) * 0.8),
      });
    }
  }
  writePeftAdapter(
    dir,
    lora as never,
    { r, alpha: 8, dropout: 0, targets: Object.keys(shapes), baseModel: baseDir } as never,
  );
  const out = path.join(dir, 'adapter.gguf');
  await writeGgufLora(dir, baseDir, out);
  return out;
}
