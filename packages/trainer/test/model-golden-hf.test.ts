/**
 * Qwen3, Llama 3.2 (llama3 RoPE scaling, tied embeddings), Mistral (sliding window), Gemma 2 (soft-capping, local and
 * global layers, (1 + w) norms, GeGLU, query_pre_attn_scalar) and Gemma 3 text (plus (1 + w) q/k norms, a local RoPE
 * base, linear RoPE scaling on the global layers) against Hugging Face
 * Transformers and PEFT themselves: test/golden/make_golden_hf.py builds a tiny random model of each with the
 * Transformers config class, writes it with `save_pretrained` (test/golden/<case>/), reloads it in float64 with eager
 * attention and records logits, the summed loss, every LoRA gradient (adapter on, B non-zero) and every full
 * fine-tuning gradient. Here the model directory goes through the core's own loaders (config.json parser,
 * safetensors reader), then the same numbers are computed on each backend.
 *
 * Tolerance: |ours - ref| <= ATOL + RTOL * |ref| per element (reference float64, ours float32), as the Qwen2/Llama
 * goldens (model-golden.test.ts): logits ATOL 1e-4, RTOL 1e-4; loss RTOL 1e-5; gradients ATOL 1e-4, RTOL 1e-3.
 * RoPE inverse frequencies (Transformers computes them in float32, also for a float64 model): RTOL 1e-6.
 *
 * Each case also runs with its new features switched off (q/k norms, llama3 scaling, sliding window, soft-capping,
 * query scaling, local RoPE base), one at a time, and must then miss the golden logits: the fixture really exercises
 * each feature.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { openWeights } from '../src/io/safetensors';
import {
  type Batch,
  createModel,
  type GemmaSpec,
  type LoraSpec,
  type ModelConfig,
  parseModelConfig,
  ropeInvFreq,
  toHfConfig,
  type Weights,
} from '../src/model/index';
import { host } from './host';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'golden');

const TOL = {
  logits: { atol: 1e-4, rtol: 1e-4 },
  loss: { atol: 0, rtol: 1e-5 },
  grad: { atol: 1e-4, rtol: 1e-3 },
  invFreq: { atol: 0, rtol: 1e-6 },
};

type Manifest = {
  modelDir: string;
  lora: LoraSpec;
  batch: { B: number; T: number; inputIds: number[]; labels: number[]; keyLen: number[] };
  lossSum: number;
  lossSumBase: number;
  nTokens: number;
  tensors: Record<string, { shape: number[]; offset: number }>;
};

function loadFixture(name: string) {
  const m = JSON.parse(readFileSync(join(HERE, `${name}.json`), 'utf8')) as Manifest;
  const bin = readFileSync(join(HERE, `${name}.bin`));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const get = (key: string) => {
    const t = m.tensors[key];
    if (!t) throw new Error(`fixture ${name} has no ${key}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    return { shape: t.shape, data: new Float32Array(buf, t.offset, n).slice() };
  };
  const group = (prefix: string): Weights => {
    const out: Weights = new Map();
    for (const k of Object.keys(m.tensors)) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), get(k));
    return out;
  };
  const dir = join(HERE, m.modelDir);
  const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const batch: Batch = {
    B: m.batch.B,
    T: m.batch.T,
    inputIds: Int32Array.from(m.batch.inputIds),
    labels: Int32Array.from(m.batch.labels),
    keyLen: Int32Array.from(m.batch.keyLen),
  };
  return { m, get, group, batch, config, weights: () => openWeights(dir) };
}

/** Worst |ours - ref| / (atol + rtol |ref|) over all elements; <= 1 passes. */
function worstRatio(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: { atol: number; rtol: number }): number {
  expect(ours.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(ours[i] - ref[i]) / (tol.atol + tol.rtol * Math.abs(ref[i]));
    if (!(r <= worst)) worst = r; // NaN propagates as a failure
  }
  return worst;
}

function backends(): { name: string; be: Backend | null }[] {
  let cpu: Backend | null = null;
  try {
    cpu = createBackend('cpu');
  } catch {
    cpu = null; // the native addon is not built on this machine: its case is skipped, not passed
  }
  return [
    { name: 'reference', be: createBackend('reference') },
    { name: 'cpu', be: cpu },
  ];
}

/** Logits of each row's real tokens, worst ratio against the fixture's. */
function logitsRatio(model: ReturnType<typeof createModel>, batch: Batch, ref: Float32Array, V: number): number {
  let worst = 0;
  for (let b = 0; b < batch.B; b++) {
    const len = batch.keyLen[b];
    const ours = model.logits(batch.inputIds.subarray(b * batch.T, b * batch.T + len));
    worst = Math.max(worst, worstRatio(ours, ref.subarray(b * batch.T * V, (b * batch.T + len) * V), TOL.logits));
  }
  return worst;
}

type Variant = (c: ModelConfig) => ModelConfig;
const gemmaOf = (c: ModelConfig): GemmaSpec => c.gemma as GemmaSpec;

/** without: the case's feature off; more: further features off, one at a time (each must miss as well). */
const CASES: { name: string; arch: ModelConfig['arch']; without: Variant; more?: Variant[] }[] = [
  { name: 'qwen3_qknorm_tied', arch: 'qwen3', without: (c) => ({ ...c, qkNorm: false }) },
  { name: 'llama32_rope_llama3_tied', arch: 'llama', without: (c) => ({ ...c, ropeScaling: undefined }) },
  { name: 'mistral_window4', arch: 'mistral', without: (c) => ({ ...c, slidingWindow: undefined }) },
  // Gemma 2 without attention soft-capping; then without the final logit cap, without the local layers' window,
  // with head_dim^-0.5 query scaling.
  {
    name: 'gemma2_softcap_window4',
    arch: 'gemma2',
    without: (c) => ({ ...c, gemma: { ...gemmaOf(c), attnLogitSoftcap: undefined } }),
    more: [
      (c) => ({ ...c, gemma: { ...gemmaOf(c), finalLogitSoftcap: undefined } }),
      (c) => ({ ...c, slidingWindow: undefined }),
      (c) => ({ ...c, gemma: { ...gemmaOf(c), queryPreAttnScalar: c.headDim } }),
    ],
  },
  // Gemma 3 with its local layers on the global RoPE base; then without q/k norms, without linear RoPE scaling.
  {
    name: 'gemma3_text_local_global',
    arch: 'gemma3',
    without: (c) => ({ ...c, gemma: { ...gemmaOf(c), localRopeTheta: undefined } }),
    more: [(c) => ({ ...c, qkNorm: false }), (c) => ({ ...c, ropeScaling: undefined })],
  },
];

describe.each(CASES)('Transformers golden $name', ({ name, arch, without, more }) => {
  it('reads the config.json Transformers wrote', () => {
    const { config, get } = loadFixture(name);
    expect(config.arch).toBe(arch);
    const inv = ropeInvFreq(config);
    // Gemma 3 keeps one set per layer type; the sliding layers' plain RoPE is the backend op's (theta alone).
    const ref = get(arch === 'gemma3' ? 'inv_freq/full_attention' : 'inv_freq').data;
    if (inv) expect(worstRatio(inv, ref, TOL.invFreq)).toBeLessThanOrEqual(1);
    else expect(config.ropeScaling).toBeUndefined();
    if (arch === 'qwen3') expect([config.qkNorm, config.headDim, config.tieWordEmbeddings]).toEqual([true, 16, true]);
    if (arch === 'llama')
      expect([config.ropeScaling?.type, config.ropeTheta, config.tieWordEmbeddings]).toEqual(['llama3', 500000, true]);
    if (arch === 'mistral') expect(config.slidingWindow).toBe(4);
    if (arch === 'gemma2') {
      expect([config.slidingWindow, config.tieWordEmbeddings, config.qkNorm]).toEqual([4, true, undefined]);
      expect(config.gemma).toEqual({
        queryPreAttnScalar: 24,
        attnLogitSoftcap: 4,
        finalLogitSoftcap: 5,
        slidingLayers: [true, false, true],
      });
    }
    if (arch === 'gemma3') {
      expect([config.slidingWindow, config.tieWordEmbeddings, config.qkNorm]).toEqual([4, false, true]);
      expect([config.ropeTheta, config.ropeScaling]).toEqual([1000000, { type: 'linear', factor: 8 }]);
      expect(config.gemma).toEqual({ queryPreAttnScalar: 20, slidingLayers: [true, false, true], localRopeTheta: 100 });
    }
  });

  for (const { name: beName, be } of backends()) {
    it.skipIf(!be)(`${beName}: logits, loss and LoRA gradients`, () => {
      const { m, get, group, batch, config, weights } = loadFixture(name);
      const backend = be as Backend;
      const model = createModel({ config, weights: weights(), backend, finetuning: 'lora', lora: m.lora, seed: 0 });
      model.loadLoraState(group('lora/'));
      const worstLogits = logitsRatio(model, batch, get('logits').data, config.vocabSize);

      const ev = model.loss(batch);
      expect(ev.nTokens).toBe(m.nTokens);
      expect(worstRatio([ev.lossSum], [m.lossSum], TOL.loss)).toBeLessThanOrEqual(1);
      for (const p of model.trainableParams()) backend.fill(p.grad, 0);
      const tr = model.lossAndGrad(batch, 1);
      expect(worstRatio([tr.lossSum], [m.lossSum], TOL.loss)).toBeLessThanOrEqual(1);
      const refGrads = group('lora_grad/');
      expect(refGrads.size).toBe(model.trainableParams().length);
      let worstGrad = 0;
      let worstName = '';
      for (const p of model.trainableParams()) {
        const ref = refGrads.get(p.name);
        if (!ref) throw new Error(`no reference gradient for ${p.name}`);
        const r = worstRatio(host(backend, p.grad), ref.data, TOL.grad);
        if (r > worstGrad) [worstGrad, worstName] = [r, p.name];
      }
      console.log(
        `${name} ${beName} lora: worst logits ${worstLogits.toFixed(3)}, grads ${worstGrad.toFixed(3)} (${worstName})`,
      );
      expect(worstLogits).toBeLessThanOrEqual(1);
      expect(worstGrad).toBeLessThanOrEqual(1);

      // The same adapter with the feature switched off misses the golden logits by far.
      for (const variant of [without, ...(more ?? [])]) {
        const off = createModel({
          config: variant(config),
          weights: weights(),
          backend,
          finetuning: 'lora',
          lora: m.lora,
          seed: 0,
        });
        off.loadLoraState(group('lora/'));
        expect(logitsRatio(off, batch, get('logits').data, config.vocabSize)).toBeGreaterThan(10);
      }
    });

    it.skipIf(!be)(`${beName}: full fine-tuning loss and every weight gradient`, () => {
      const { m, get, batch, config, weights } = loadFixture(name);
      const backend = be as Backend;
      const model = createModel({ config, weights: weights(), backend, finetuning: 'full', seed: 0 });
      const worstLogits = logitsRatio(model, batch, get('logits_base').data, config.vocabSize);
      for (const p of model.trainableParams()) backend.fill(p.grad, 0);
      const tr = model.lossAndGrad(batch, 1);
      expect(tr.nTokens).toBe(m.nTokens);
      expect(worstRatio([tr.lossSum], [m.lossSumBase], TOL.loss)).toBeLessThanOrEqual(1);
      const refGrads = new Map([...loadFixture(name).group('full_grad/')]);
      expect(model.trainableParams().map((p) => p.name)).toEqual([...refGrads.keys()]); // torch's order
      let worstGrad = 0;
      let worstName = '';
      for (const p of model.trainableParams()) {
        const r = worstRatio(host(backend, p.grad), (refGrads.get(p.name) as { data: Float32Array }).data, TOL.grad);
        if (r > worstGrad) [worstGrad, worstName] = [r, p.name];
      }
      console.log(
        `${name} ${beName} full: worst logits ${worstLogits.toFixed(3)}, grads ${worstGrad.toFixed(3)} (${worstName})`,
      );
      expect(worstLogits).toBeLessThanOrEqual(1);
      expect(worstGrad).toBeLessThanOrEqual(1);
    });

    it.skipIf(!be)(`${beName}: KV-cache decoding gives the full forward's logits`, () => {
      const { batch, config, weights } = loadFixture(name);
      const model = createModel({ config, weights: weights(), backend: be as Backend, finetuning: 'none', seed: 0 });
      const ids = batch.inputIds.subarray(0, batch.T);
      const full = model.logits(ids);
      const V = config.vocabSize;
      const cache = model.createKvCache(batch.T);
      model.forwardStep(ids.subarray(0, 3), cache); // prefill, then one token at a time past the window
      for (let t = 3; t < batch.T; t++) {
        const step = model.forwardStep([ids[t]], cache);
        expect(worstRatio(step, full.subarray(t * V, (t + 1) * V), TOL.logits)).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('Gemma specifics', () => {
  it('fullState gives back the HF norm values (held as 1 + w) for full fine-tuning and LoRA', () => {
    const { weights } = loadFixture('gemma3_text_local_global');
    const { config } = loadFixture('gemma3_text_local_global');
    const be = createBackend('reference');
    const want = weights();
    for (const finetuning of ['full', 'lora'] as const) {
      const model = createModel({
        config,
        weights: weights(),
        backend: be,
        finetuning,
        lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] },
        seed: 0,
      });
      const state = model.fullState();
      for (const name of ['model.norm.weight', 'model.layers.1.post_feedforward_layernorm.weight']) {
        const ref = want.get(name)?.read('f32') as Float32Array;
        const got = state.get(name)?.data as Float32Array;
        // Full fine-tuning holds 1 + w in float32: w comes back within an ulp of 1.
        for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(2.5e-7);
      }
    }
  });

  it("reads Transformers 4's Gemma 3 spelling (rope_theta, rope_scaling, rope_local_base_freq, pattern)", () => {
    const v4 = {
      architectures: ['Gemma3ForCausalLM'],
      model_type: 'gemma3_text',
      vocab_size: 96,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 7,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      head_dim: 16,
      rope_theta: 1000000.0,
      rope_scaling: { rope_type: 'linear', factor: 8.0 },
      rope_local_base_freq: 10000.0,
      sliding_window: 512,
      sliding_window_pattern: 6,
      query_pre_attn_scalar: 256,
      final_logit_softcapping: null,
      attn_logit_softcapping: null,
    };
    const c = parseModelConfig(v4);
    expect([c.ropeTheta, c.ropeScaling, c.slidingWindow, c.tieWordEmbeddings]).toEqual([
      1000000,
      { type: 'linear', factor: 8 },
      512,
      true,
    ]);
    expect(c.gemma).toEqual({
      queryPreAttnScalar: 256,
      slidingLayers: [true, true, true, true, true, false, true],
      localRopeTheta: 10000,
    });
  });

  it('a bf16 LM head under final logit soft-capping stays float32, with a warning', () => {
    let cpu: Backend;
    try {
      cpu = createBackend('cpu');
    } catch {
      return; // no native addon here: nothing to hold in bf16
    }
    const { m, config, weights } = loadFixture('gemma2_softcap_window4');
    const warnings: string[] = [];
    const model = createModel({
      config,
      weights: weights(),
      backend: cpu,
      finetuning: 'lora',
      lora: m.lora,
      seed: 0,
      frozenDtype: 'bf16',
      embeddingDtype: 'bf16',
      warn: (w) => warnings.push(w),
    });
    expect(model.describe()).toMatchObject({ projections: 'bf16', embedding: 'f32', lmHead: 'tied' });
    expect(warnings.join('\n')).toMatch(/final logit soft-capping .* float32 LM head/);
    expect(Number.isFinite(model.loss(loadFixture('gemma2_softcap_window4').batch).lossSum)).toBe(true);
  });

  it('toHfConfig round-trips both configs', () => {
    for (const name of ['gemma2_softcap_window4', 'gemma3_text_local_global']) {
      const { config } = loadFixture(name);
      expect(parseModelConfig(toHfConfig(config))).toEqual(config);
    }
  });

  for (const checkpointing of [false, true]) {
    it(`neat packing (window merged with sequence starts) equals the sequences one by one${checkpointing ? ', gradient checkpointing' : ''}`, () => {
      const { m, config, weights, group } = loadFixture('gemma2_softcap_window4');
      const be = createBackend('reference');
      const make = () => {
        const model = createModel({
          config,
          weights: weights(),
          backend: be,
          finetuning: 'lora',
          lora: m.lora,
          seed: 0,
          gradientCheckpointing: checkpointing,
        });
        model.loadLoraState(group('lora/'));
        return model;
      };
      const a = [5, 9, 12, 40, 7, 33, 21, 8]; // 8 > the window of 4
      const b = [11, 70, 3, 44, 60, 19];
      const one = (ids: number[]): Batch => ({
        B: 1,
        T: ids.length,
        inputIds: Int32Array.from(ids),
        labels: Int32Array.from(ids),
        keyLen: Int32Array.of(ids.length),
      });
      const sep = make();
      const ra = sep.lossAndGrad(one(a), 1);
      const rb = sep.lossAndGrad(one(b), 1);
      const want = new Map(sep.trainableParams().map((p) => [p.name, host(be, p.grad)]));
      const packed = make();
      const T = a.length + b.length;
      const r = packed.lossAndGrad(
        {
          B: 1,
          T,
          inputIds: Int32Array.from([...a, ...b]),
          labels: Int32Array.from([...a, -100, ...b.slice(1)]),
          keyLen: Int32Array.of(T),
          pos: Int32Array.from([...a.keys(), ...b.keys()]),
          segStart: Int32Array.from([...a.map(() => 0), ...b.map(() => a.length)]),
        },
        1,
      );
      expect(r.nTokens).toBe(ra.nTokens + rb.nTokens);
      expect(r.lossSum).toBeCloseTo(ra.lossSum + rb.lossSum, 4);
      for (const p of packed.trainableParams()) {
        expect(worstRatio(host(be, p.grad), want.get(p.name) as Float32Array, TOL.grad)).toBeLessThanOrEqual(1);
      }
    });
  }

  it('refuses what the core would compute wrongly, naming the key', () => {
    const base = JSON.parse(readFileSync(join(HERE, 'gemma2_softcap_window4', 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(() => parseModelConfig({ ...base, hidden_activation: 'gelu' })).toThrow(/"hidden_activation" is "gelu"/);
    expect(() => parseModelConfig({ ...base, layer_types: ['sliding_attention', 'chunked_attention', 'x'] })).toThrow(
      /"layer_types" has "chunked_attention"/,
    );
    expect(() => parseModelConfig({ ...base, layer_types: ['full_attention'] })).toThrow(/lists 1 layers/);
    expect(() => parseModelConfig({ ...base, use_bidirectional_attention: true })).toThrow(
      /use_bidirectional_attention/,
    );
    // Gemma2Config's defaults when keys are absent: caps 50 / 30, window 4096, alternating layers from sliding.
    const { attn_logit_softcapping, final_logit_softcapping, sliding_window, layer_types, ...bare } = base;
    const c = parseModelConfig(bare);
    expect([c.gemma?.attnLogitSoftcap, c.gemma?.finalLogitSoftcap, c.slidingWindow]).toEqual([50, 30, 4096]);
    expect(c.gemma?.slidingLayers).toEqual([true, false, true]);
  });
});
