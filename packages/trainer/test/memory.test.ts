import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../src/io/safetensors';
import { parseModelConfig } from '../src/model/config';
import { estimateTrainingMemory, parameterCount } from '../src/model/memory';
import type { LoraTarget } from '../src/model/types';

// The memory estimate (issue 14: the catalog says before a download which workers can train a model) rests on the
// parameter counts a config implies. Two independent references for those: the checkpoints Transformers itself
// wrote for the golden tests (save_pretrained, one per architecture, with the LoRA tensors PEFT made), and the
// parameter counts the model publishers state for released models.

const GOLDEN = join(__dirname, 'golden');
const ARCHS = [
  'qwen3_qknorm_tied',
  'llama32_rope_llama3_tied',
  'mistral_window4',
  'gemma2_softcap_window4',
  'gemma3_text_local_global',
];
const settings = { batchSize: 1, cutoffLen: 2048, loraRank: 8 };

describe('parameter counts', () => {
  it.each(ARCHS)(
    '%s: the count from config.json equals the tensors Transformers saved, and the LoRA count PEFT made',
    (name) => {
      const config = parseModelConfig(JSON.parse(readFileSync(join(GOLDEN, name, 'config.json'), 'utf8')));
      const stored = openSafetensors(join(GOLDEN, name, 'model.safetensors'));
      let saved = 0;
      for (const t of stored.values()) saved += t.shape.reduce((a, b) => a * b, 1);
      expect(parameterCount(config)).toBe(saved);

      const golden = JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), 'utf8')) as {
        lora: { r: number; targets: LoraTarget[] };
        tensors: Record<string, { shape: number[] }>;
      };
      let peft = 0;
      for (const [k, t] of Object.entries(golden.tensors)) {
        if (k.startsWith('lora/') && /lora_[AB]\.weight$/.test(k)) peft += t.shape.reduce((a, b) => a * b, 1);
      }
      const est = estimateTrainingMemory(config, {
        ...settings,
        method: 'lora',
        loraRank: golden.lora.r,
        loraTargets: golden.lora.targets,
      });
      expect(est.trainableParameters).toBe(peft);
    },
  );

  // The publishers' numbers (model cards / safetensors metadata on the hub).
  it.each([
    [
      'Qwen2.5-0.5B',
      494_032_768,
      { h: 896, i: 4864, l: 24, q: 14, kv: 2, v: 151936, tie: true, a: 'Qwen2ForCausalLM' },
    ],
    [
      'Qwen2.5-7B',
      7_615_616_512,
      { h: 3584, i: 18944, l: 28, q: 28, kv: 4, v: 152064, tie: false, a: 'Qwen2ForCausalLM' },
    ],
    [
      'Llama-3.1-8B',
      8_030_261_248,
      { h: 4096, i: 14336, l: 32, q: 32, kv: 8, v: 128256, tie: false, a: 'LlamaForCausalLM' },
    ],
    [
      'Mistral-7B-v0.1',
      7_241_732_096,
      { h: 4096, i: 14336, l: 32, q: 32, kv: 8, v: 32000, tie: false, a: 'MistralForCausalLM' },
    ],
  ] as const)('%s has %i parameters', (_name, published, d) => {
    const config = parseModelConfig({
      architectures: [d.a],
      hidden_size: d.h,
      intermediate_size: d.i,
      num_hidden_layers: d.l,
      num_attention_heads: d.q,
      num_key_value_heads: d.kv,
      vocab_size: d.v,
      tie_word_embeddings: d.tie,
    });
    expect(parameterCount(config)).toBe(published);
  });
});

describe('memory estimate', () => {
  const qwen7b = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    hidden_size: 3584,
    intermediate_size: 18944,
    num_hidden_layers: 28,
    num_attention_heads: 28,
    num_key_value_heads: 4,
    vocab_size: 152064,
    tie_word_embeddings: false,
  });

  it('a 7B LoRA run with the defaults fits in 24 GB (frozen bf16 weights, checkpointed activations); full does not', () => {
    const lora = estimateTrainingMemory(qwen7b, { ...settings, method: 'lora' });
    const full = estimateTrainingMemory(qwen7b, { ...settings, method: 'full' });
    expect(lora.totalBytes).toBeLessThan(24e9);
    // frozen weights at 2 bytes each dominate a LoRA run
    expect(lora.weightsBytes).toBeGreaterThan(2 * 7.6e9);
    // full: 16 bytes a parameter (fp32 weight, gradient, two AdamW moments) before activations
    expect(full.weightsBytes + full.optimizerBytes).toBe(16 * parameterCount(qwen7b));
    expect(full.totalBytes).toBeGreaterThan(16 * 7.6e9);
  });

  it('grows with the micro-batch tokens and the rank, and fp32 checkpoints double the frozen weights', () => {
    const base = estimateTrainingMemory(qwen7b, { ...settings, method: 'lora' });
    const longer = estimateTrainingMemory(qwen7b, { ...settings, method: 'lora', cutoffLen: 4096 });
    const rank = estimateTrainingMemory(qwen7b, { ...settings, method: 'lora', loraRank: 64 });
    const fp32 = estimateTrainingMemory(qwen7b, { ...settings, method: 'lora', frozenBytesPerParam: 4 });
    expect(longer.activationBytes).toBeCloseTo(2 * base.activationBytes, -3);
    expect(rank.trainableParameters).toBe(8 * base.trainableParameters);
    expect(fp32.weightsBytes - base.weightsBytes).toBeGreaterThan(2 * 7.5e9);
  });
});
