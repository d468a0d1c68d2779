/**
 * Whole-model gradients against central finite differences of the model's own loss, on the reference backend.
 *
 * Tolerance: |analytic - fd| <= ATOL + RTOL * |fd| with ATOL = 3e-3, RTOL = 3e-2. Why: the forward runs in fp32, so
 * the summed loss (about 40 over 10 tokens) carries rounding noise around 1e-5; a central difference with step
 * EPS = 1e-2 turns that into about 1e-3 of absolute noise, and its truncation error (EPS^2 * f''') is smaller still.
 * Gradients that are checked are picked with |g| large enough that a sign or factor error cannot hide in ATOL.
 */
import { createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import {
  type Batch,
  createModel,
  createRng,
  type Model,
  type ModelConfig,
  type Param,
  parseModelConfig,
  randomWeights,
  toHfConfig,
} from '../src/model/index';
import { dropoutAt, edit, host } from './host';

const EPS = 1e-2;
const ATOL = 3e-3;
const RTOL = 3e-2;

const be = createBackend('reference');

function tinyConfig(arch: 'qwen2' | 'llama', tied: boolean, bias: boolean): ModelConfig {
  return {
    arch,
    vocabSize: 50,
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    tieWordEmbeddings: tied,
    attentionBias: bias,
    maxPositionEmbeddings: 64,
  };
}

/** B=2, T=6; row 1 is right-padded to length 4; a few labels masked. */
function tinyBatch(seed: number): Batch {
  const rng = createRng(seed);
  const B = 2;
  const T = 6;
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  const keyLen = Int32Array.of(6, 4);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const pad = t >= keyLen[b];
      inputIds[i] = pad ? 0 : Math.floor(rng() * 50);
      labels[i] = pad || (b === 0 && t === 1) ? -100 : inputIds[i];
    }
  }
  return { B, T, inputIds, labels, keyLen };
}

function zeroGrads(m: Model): void {
  for (const p of m.trainableParams()) be.fill(p.grad, 0);
}

/**
 * Checks K + 1 coordinates of every trainable tensor: the largest analytic gradient, K - 1 spread through the top
 * half by magnitude (so one big entry is not all we test), and one drawn at random (seeded).
 */
function checkGradients(m: Model, f: () => number, K = 3): { checked: number; worst: number } {
  let checked = 0;
  let worst = 0;
  const rng = createRng(2024);
  for (const p of m.trainableParams()) {
    const grad = host(be, p.grad);
    const order = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]));
    const picks = [
      order[0],
      ...Array.from({ length: K - 1 }, (_, j) => order[Math.floor(((j + 1) * order.length) / (2 * K))]),
      Math.floor(rng() * grad.length),
    ];
    for (const i of picks) {
      const fd = centralDiff(p, i, f);
      const g = grad[i];
      const err = Math.abs(g - fd);
      worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(fd)));
      if (err > ATOL + RTOL * Math.abs(fd)) {
        throw new Error(`${p.name}[${i}]: analytic ${g}, finite difference ${fd}`);
      }
      checked++;
    }
  }
  return { checked, worst };
}

function centralDiff(p: Param, i: number, f: () => number): number {
  const x0 = host(be, p.data)[i];
  edit(be, p.data, (d) => {
    d[i] = x0 + EPS;
  });
  const fp = f();
  edit(be, p.data, (d) => {
    d[i] = x0 - EPS;
  });
  const fm = f();
  edit(be, p.data, (d) => {
    d[i] = x0;
  });
  return (fp - fm) / (2 * EPS);
}

const variants = [
  { arch: 'qwen2' as const, tied: true, bias: true },
  { arch: 'qwen2' as const, tied: false, bias: true },
  { arch: 'llama' as const, tied: false, bias: false },
  { arch: 'llama' as const, tied: true, bias: true }, // Llama attention_bias: q/k/v and o_proj biases
];

describe('model gradients vs finite differences (reference backend)', () => {
  for (const v of variants) {
    const label = `${v.arch} ${v.tied ? 'tied' : 'untied'} ${v.bias ? 'bias' : 'no bias'}`;

    it(`full fine-tuning: ${label}`, () => {
      const config = tinyConfig(v.arch, v.tied, v.bias);
      const m = createModel({
        config,
        weights: randomWeights(config, { seed: 1, std: 0.3, normNoise: 0.2 }),
        backend: be,
        finetuning: 'full',
        seed: 1,
      });
      const batch = tinyBatch(7);
      zeroGrads(m);
      const r = m.lossAndGrad(batch, 1);
      expect(r.nTokens).toBe(7); // row 0: 5 shifted targets less the masked one; row 1: 3
      expect(r.lossSum).toBeCloseTo(m.loss(batch).lossSum, 9);
      const names = m.trainableParams().map((p) => p.name);
      expect(names.includes('lm_head.weight')).toBe(!v.tied);
      const { checked } = checkGradients(m, () => m.loss(batch).lossSum);
      expect(checked).toBe(m.trainableParams().length * 4);
    });

    it(`LoRA (all targets, B non-zero): ${label}`, () => {
      const config = tinyConfig(v.arch, v.tied, v.bias);
      const m = createModel({
        config,
        weights: randomWeights(config, { seed: 2, std: 0.3, normNoise: 0.2 }),
        backend: be,
        finetuning: 'lora',
        lora: { r: 4, alpha: 8, dropout: 0, targets: ['all'] },
        seed: 3,
      });
      expect(m.trainableParams().length).toBe(2 * 7 * 2);
      const rng = createRng(9);
      for (const p of m.trainableParams())
        if (p.name.includes('lora_B'))
          edit(be, p.data, (d) => {
            for (let i = 0; i < d.length; i++) d[i] = 0.3 * (rng() - 0.5);
          });
      const batch = tinyBatch(8);
      zeroGrads(m);
      m.lossAndGrad(batch, 1);
      checkGradients(m, () => m.loss(batch).lossSum);
    });
  }

  it('LoRA dropout: gradients match finite differences under the same dropout mask', () => {
    const config = tinyConfig('qwen2', true, true);
    const m = createModel({
      config,
      weights: randomWeights(config, { seed: 4, std: 0.3, normNoise: 0.2 }),
      backend: be,
      finetuning: 'lora',
      lora: { r: 2, alpha: 4, dropout: 0.3, targets: ['q_proj', 'v_proj', 'down_proj'] },
      seed: 5,
    });
    const rng = createRng(1);
    for (const p of m.trainableParams())
      if (p.name.includes('lora_B'))
        edit(be, p.data, (d) => {
          for (let i = 0; i < d.length; i++) d[i] = 0.3 * (rng() - 0.5);
        });
    const batch = tinyBatch(3);
    zeroGrads(m);
    const a = m.lossAndGrad(batch, 1, dropoutAt(42));
    const evalLoss = m.loss(batch).lossSum;
    expect(a.lossSum).not.toBeCloseTo(evalLoss, 4); // dropout was active in training...
    const grads = m.trainableParams().map((p) => host(be, p.grad));
    // ...and the loss with the same mask is what the gradient differentiates (gradScale 0 leaves grads alone)
    checkGradients(m, () => m.lossAndGrad(batch, 0, dropoutAt(42)).lossSum);
    m.trainableParams().forEach((p, i) => {
      expect(host(be, p.grad)).toEqual(grads[i]);
    });
  });

  it('accumulates gradScale * grad into param.grad', () => {
    const config = tinyConfig('llama', false, false);
    const m = createModel({
      config,
      weights: randomWeights(config, { seed: 6, std: 0.3 }),
      backend: be,
      finetuning: 'lora',
      lora: { r: 2, alpha: 2, dropout: 0, targets: ['q_proj', 'o_proj'] },
      seed: 1,
    });
    const batch = tinyBatch(2);
    const rng = createRng(3);
    for (const p of m.trainableParams())
      edit(be, p.data, (d) => {
        for (let i = 0; i < d.length; i++) d[i] = rng() - 0.5;
      });
    zeroGrads(m);
    m.lossAndGrad(batch, 1);
    const once = m.trainableParams().map((p) => host(be, p.grad));
    zeroGrads(m);
    m.lossAndGrad(batch, 0.25);
    m.lossAndGrad(batch, 0.75);
    m.trainableParams().forEach((p, k) => {
      const g = host(be, p.grad);
      for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(once[k][i], 5);
    });
  });

  it('a fresh LoRA model (B = 0) computes exactly the base model; A is U(-1/sqrt(in), 1/sqrt(in))', () => {
    const config = tinyConfig('qwen2', true, true);
    const weights = randomWeights(config, { seed: 11, std: 0.3 });
    const base = createModel({ config, weights, backend: be, finetuning: 'full', seed: 0 });
    const lora = createModel({
      config,
      weights,
      backend: be,
      finetuning: 'lora',
      lora: { r: 8, alpha: 16, dropout: 0, targets: ['all'] },
      seed: 0,
    });
    const ids = Int32Array.of(1, 5, 9, 2, 44);
    expect(lora.logits(ids)).toEqual(base.logits(ids));
    for (const p of lora.trainableParams()) {
      const data = host(be, p.data);
      if (p.name.includes('lora_B')) expect(data.every((x) => x === 0)).toBe(true);
      else {
        const bound = 1 / Math.sqrt(p.shape[1]);
        expect(data.every((x) => Math.abs(x) <= bound)).toBe(true);
        const maxAbs = data.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        expect(maxAbs).toBeGreaterThan(0.8 * bound);
      }
    }
    const state = lora.loraState();
    expect([...state.keys()][0]).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(state.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')?.shape).toEqual([16, 8]);
  });

  it('padding does not change the loss of a row; logits of one row equal the batch', () => {
    const config = tinyConfig('llama', false, false);
    const m = createModel({
      config,
      weights: randomWeights(config, { seed: 12, std: 0.3 }),
      backend: be,
      finetuning: 'full',
      seed: 0,
    });
    const ids = [3, 8, 1, 40, 2];
    const alone = m.loss({
      B: 1,
      T: 5,
      inputIds: Int32Array.from(ids),
      labels: Int32Array.from(ids),
      keyLen: Int32Array.of(5),
    });
    const padded = m.loss({
      B: 1,
      T: 8,
      inputIds: Int32Array.from([...ids, 7, 7, 7]),
      labels: Int32Array.from([...ids, -100, -100, -100]),
      keyLen: Int32Array.of(5),
    });
    expect(padded.nTokens).toBe(4);
    expect(padded.lossSum).toBeCloseTo(alone.lossSum, 5);
    // loss from logits, computed here in float64 as an independent check of the fused LM head + shift
    const lg = m.logits(Int32Array.from(ids));
    let sum = 0;
    for (let t = 0; t < 4; t++) {
      const row = lg.subarray(t * 50, (t + 1) * 50);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      sum += lse - row[ids[t + 1]];
    }
    expect(alone.lossSum).toBeCloseTo(sum, 4);
  });

  it("finetuning 'none' is the frozen base: no parameters, same logits, no adapter to load", () => {
    const config = tinyConfig('qwen2', true, true);
    const weights = randomWeights(config, { seed: 15, std: 0.3 });
    const frozen = createModel({ config, weights, backend: be, finetuning: 'none', seed: 0 });
    const full = createModel({ config, weights, backend: be, finetuning: 'full', seed: 0 });
    expect(frozen.trainableParams()).toEqual([]);
    const ids = Int32Array.of(4, 8, 15, 16, 23, 42);
    expect(frozen.logits(ids)).toEqual(full.logits(ids));
    expect(() => frozen.loadLoraState(new Map())).toThrow(/finetuning "none"/);
  });

  it('loads a LoRA state and refuses one that does not fit', () => {
    const config = tinyConfig('qwen2', true, true);
    const weights = randomWeights(config, { seed: 13 });
    const mk = (targets: string[], r = 4) =>
      createModel({
        config,
        weights,
        backend: be,
        finetuning: 'lora',
        lora: { r, alpha: 8, dropout: 0, targets },
        seed: 1,
      });
    const a = mk(['q_proj', 'v_proj']);
    const b = mk(['q_proj', 'v_proj']);
    for (const p of a.trainableParams()) be.fill(p.data, 0.01);
    b.loadLoraState(a.loraState());
    for (const p of b.trainableParams()) expect(host(be, p.data).every((x) => x === Math.fround(0.01))).toBe(true);
    expect(() => mk(['q_proj']).loadLoraState(a.loraState())).toThrow(/no counterpart/);
    expect(() => mk(['q_proj', 'v_proj', 'o_proj']).loadLoraState(a.loraState())).toThrow(/lacks/);
    expect(() => mk(['q_proj', 'v_proj'], 2).loadLoraState(a.loraState())).toThrow(/shape/);
    expect(() => mk(['qkv'])).toThrow(/not a module/);
  });

  it('full fine-tuning: decay off for norms and biases, fullState round-trips HF names', () => {
    const config = tinyConfig('qwen2', true, true);
    const weights = randomWeights(config, { seed: 14 });
    const m = createModel({ config, weights, backend: be, finetuning: 'full', seed: 1 });
    const params = m.trainableParams();
    expect(params[0].name).toBe('model.embed_tokens.weight');
    expect(params.at(-1)?.name).toBe('model.norm.weight');
    for (const p of params) expect(p.decay).toBe(!(p.name.endsWith('.bias') || p.name.endsWith('norm.weight')));
    expect([...m.fullState().keys()].sort()).toEqual([...weights.keys()].sort());
    expect(m.fullState().has('lm_head.weight')).toBe(false);
  });

  it('rejects a weight of the wrong shape and a missing one by name', () => {
    const config = tinyConfig('llama', false, false);
    const w = randomWeights(config, { seed: 1 });
    w.set('model.layers.1.mlp.up_proj.weight', { shape: [16, 24], data: new Float32Array(16 * 24) });
    expect(() => createModel({ config, weights: w, backend: be, finetuning: 'full', seed: 1 })).toThrow(
      /up_proj.weight.*\[16, 24\].*\[24, 16\]/,
    );
    w.delete('lm_head.weight');
    w.set('model.layers.1.mlp.up_proj.weight', { shape: [24, 16], data: new Float32Array(16 * 24) });
    expect(() => createModel({ config, weights: w, backend: be, finetuning: 'full', seed: 1 })).toThrow(
      /lm_head.weight/,
    );
  });
});

describe('parseModelConfig', () => {
  const qwen = {
    architectures: ['Qwen2ForCausalLM'],
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    vocab_size: 151936,
    max_position_embeddings: 32768,
    use_sliding_window: false,
    bos_token_id: 151643,
    eos_token_id: 151643,
    hidden_act: 'silu',
    torch_dtype: 'bfloat16',
  };

  it('reads a Qwen2.5-0.5B config', () => {
    expect(parseModelConfig(qwen)).toEqual({
      arch: 'qwen2',
      vocabSize: 151936,
      hiddenSize: 896,
      intermediateSize: 4864,
      numLayers: 24,
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      rmsNormEps: 1e-6,
      ropeTheta: 1000000,
      tieWordEmbeddings: true,
      attentionBias: true,
      maxPositionEmbeddings: 32768,
      bosTokenId: 151643,
      eosTokenId: 151643,
    });
  });

  it('reads a Llama config: attention_bias flag, explicit head_dim, eos list', () => {
    const c = parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 32,
      vocab_size: 1000,
      rope_theta: 500000,
      eos_token_id: [1, 2],
      rope_scaling: null,
    });
    expect(c).toMatchObject({
      arch: 'llama',
      attentionBias: false,
      headDim: 32,
      numKvHeads: 4,
      eosTokenId: [1, 2],
      tieWordEmbeddings: false,
    });
  });

  it('names the key that is wrong', () => {
    const { num_attention_heads: _, ...noHeads } = qwen;
    expect(() => parseModelConfig(noHeads)).toThrow(/"num_attention_heads"/);
    expect(() => parseModelConfig({ ...qwen, hidden_size: '896' })).toThrow(/"hidden_size"/);
    expect(() => parseModelConfig({ ...qwen, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })).toThrow(
      /GPT2LMHeadModel/,
    );
    expect(() => parseModelConfig({ ...qwen, num_key_value_heads: 3 })).toThrow(/"num_key_value_heads"/);
    expect(() => parseModelConfig({ ...qwen, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(
      /"rope_scaling.low_freq_factor"/,
    );
    expect(() => parseModelConfig({ ...qwen, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(
      /"rope_scaling" has rope_type "yarn"/,
    );
    expect(() => parseModelConfig({ ...qwen, rope_parameters: { rope_type: 'dynamic', rope_theta: 1e4 } })).toThrow(
      /"rope_parameters" has rope_type "dynamic"/,
    );
    expect(() =>
      parseModelConfig({ ...qwen, layer_types: ['full_attention', 'sliding_attention'], num_hidden_layers: 2 }),
    ).toThrow(/"layer_types" has "sliding_attention"/);
  });

  it('reads Qwen3, Mistral and Llama 3.1 configs (Transformers 4 and 5 key spellings)', () => {
    const base = { vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2 };
    const q3 = parseModelConfig({
      ...base,
      architectures: ['Qwen3ForCausalLM'],
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      // Transformers 5 writes the RoPE base here, not in rope_theta.
      rope_parameters: { rope_type: 'default', rope_theta: 1000000 },
      use_sliding_window: false,
      sliding_window: null,
    });
    expect(q3).toMatchObject({ arch: 'qwen3', qkNorm: true, headDim: 32, attentionBias: false, ropeTheta: 1000000 });
    expect(q3.slidingWindow).toBeUndefined();
    const mistral = { ...base, architectures: ['MistralForCausalLM'], num_attention_heads: 4 };
    // MistralConfig's default window is 4096; v0.2 and later write null (no window).
    expect(parseModelConfig(mistral).slidingWindow).toBe(4096);
    expect(parseModelConfig({ ...mistral, sliding_window: null }).slidingWindow).toBeUndefined();
    expect(parseModelConfig({ ...mistral, sliding_window: 512, attention_bias: true })).toMatchObject({
      arch: 'mistral',
      slidingWindow: 512,
      attentionBias: false,
    });
    const scaling = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const llama31 = parseModelConfig({
      ...base,
      architectures: ['LlamaForCausalLM'],
      num_attention_heads: 4,
      rope_theta: 500000,
      rope_scaling: scaling,
    });
    expect(llama31.ropeScaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    // toHfConfig round-trips the new fields.
    for (const c of [q3, llama31, parseModelConfig({ ...mistral, sliding_window: 512 })]) {
      expect(parseModelConfig(toHfConfig(c))).toEqual(c);
    }
  });
});
