/**
 * bf16 frozen weights (createModel frozenDtype 'bf16', LLaMA-Factory `bf16: true` with LoRA): the frozen projection
 * weights are held as bf16 and used through matmulBf16W (activation rounded to bf16, products accumulated without
 * further rounding); LoRA A/B, norms, biases, embedding / LM head stay fp32.
 *
 * Oracles and tolerances (|got - want| <= ATOL + RTOL * |want|, elementwise, or on the scalar loss):
 * - EXACT: an fp32 model on the weights rounded to bf16, on a reference backend wrapper that rounds the left operand
 *   to bf16 in exactly the matmuls whose right operand is a frozen projection weight (forward x W^T and input
 *   gradient dY W). The reference backend's matmul and matmulBf16W both sum the same exact double products in the
 *   same order, so the two models must agree to the last bit; 1e-6 relative only absorbs a future reordering.
 *   This pins the wiring: which matmuls go bf16, their transposes and accumulation, and that LoRA reads unrounded x.
 * - ROUNDED: the plain fp32 model on the bf16-rounded weights (activations not rounded). The only difference is the
 *   rounding of each frozen matmul's input to 8 significant bits (relative error <= 2^-9 = 0.2% per element), which
 *   compounds through two layers, the norms and the backward pass into a few bf16 ulps of a tensor's scale.
 *   Measured here: logits 0.41% of max|logit|, loss 6e-5 relative, LoRA gradients 0.95% of the tensor's largest
 *   gradient. Tolerances (about 2.5x): logits 1% of max|logit| (absolute), loss 1e-3 relative, gradients 3% of
 *   the tensor's largest gradient.
 * - UNROUNDED: the fp32 model on the original weights: the weights' own bf16 rounding adds a perturbation of the
 *   same kind and size. Measured: logits 0.73%, loss 3e-5, gradients 1.9%; tolerances 2%, 1e-3, 5%.
 * - cpu vs reference, both bf16: the cpu kernel (vdpbf16ps) rounds the same activations to bf16 but accumulates in
 *   fp32 in another order, so the difference is fp32 summation noise (about 1e-7 * K relative) carried through the
 *   model (measured 4e-7 on logits of scale 2): logits 1e-4 + 1e-3 relative, loss 1e-5 relative, gradients 1e-3 of
 *   the tensor's largest gradient.
 */
import {
  type Backend,
  bf16Round,
  cpuAvailable as cpuLoaded,
  createBackend,
  hostData,
  loadBf16Ops,
} from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { frozenDtypeOf, parseTrainConfig } from '../src/config';
import {
  type Batch,
  createModel,
  createRng,
  type Model,
  type ModelConfig,
  randomWeights,
  type Tensor,
  type Weights,
} from '../src/model/index';
import { createAdamW } from '../src/train/optimizer';
import { host } from './host';

const ref = createBackend('reference');
const cpuAvailable = cpuLoaded();
/** Whether this CPU (and OS) runs the AMX kernel; the kernel choice goes back to auto after asking. */
const hasAmx =
  cpuAvailable &&
  (() => {
    const ops = loadBf16Ops();
    const ok = ops.setBf16Kernel('amx');
    ops.setBf16Kernel('auto');
    return ok;
  })();

const config: ModelConfig = {
  arch: 'qwen2',
  vocabSize: 64,
  hiddenSize: 32,
  intermediateSize: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: true,
  attentionBias: true,
  maxPositionEmbeddings: 64,
};
const PROJ = /\.(q|k|v|o|gate|up|down)_proj\.weight$/;
const lora = { r: 4, alpha: 8, dropout: 0, targets: ['all'] };

/** std 0.1 so that activations and logits are far from zero and rounding shows up where it should. */
const baseWeights = (): Weights => randomWeights(config, { seed: 11, std: 0.1, normNoise: 0.1 });

/** The same weights with every frozen projection rounded to bf16 (others untouched). */
function roundedProjections(w: Weights): Weights {
  const out: Weights = new Map();
  for (const [k, t] of w) out.set(k, { shape: t.shape, data: PROJ.test(k) ? t.data.map(bf16Round) : t.data });
  return out;
}

/** B=2, T=7, row 1 right-padded to 5, one label masked. */
function batch(seed: number): Batch {
  const rng = createRng(seed);
  const B = 2;
  const T = 7;
  const keyLen = Int32Array.of(7, 5);
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const pad = t >= keyLen[b];
      inputIds[i] = pad ? 0 : Math.floor(rng() * config.vocabSize);
      labels[i] = pad || (b === 0 && t === 2) ? -100 : inputIds[i];
    }
  }
  return { B, T, inputIds, labels, keyLen };
}

/** Non-zero A and B (B starts at zero in PEFT, which would leave dA = 0 and test nothing). */
function loraState(m: Model): Map<string, Tensor> {
  const rng = createRng(5);
  const out = new Map<string, Tensor>();
  for (const [k, t] of m.loraState()) {
    out.set(k, { shape: t.shape, data: t.data.map(() => (2 * rng() - 1) * 0.2) });
  }
  return out;
}

/** The EXACT oracle's backend: fp32 reference, with bf16-rounded left operands against the frozen weights. */
function emulatingBackend(frozen: Set<Float32Array>): Backend {
  return {
    ...ref,
    name: 'reference-bf16-emulated',
    bf16: false,
    matmul(c, a, b, M, N, K, opts) {
      // The reference backend adopts a frozen weight's array, so the tensor's storage is the map's own array.
      if (!frozen.has(hostData(b) as Float32Array)) return ref.matmul(c, a, b, M, N, K, opts);
      if (opts?.transA) throw new Error('a frozen weight never takes a transposed left operand');
      const rounded = ref.alloc(a.shape);
      ref.upload(rounded, (ref.download(a) as Float32Array).map(bf16Round));
      ref.matmul(c, rounded, b, M, N, K, opts);
    },
  };
}

type Run = { logits: Float32Array; loss: number; grads: Map<string, Float32Array> };

function run(weights: Weights, backend: Backend, frozenDtype: 'f32' | 'bf16', state?: Map<string, Tensor>): Run {
  const warnings: string[] = [];
  const m = createModel({
    config,
    weights: new Map(weights), // a bf16 model takes its projections out of the map it is given
    backend,
    finetuning: 'lora',
    lora,
    seed: 3,
    frozenDtype,
    warn: (w) => warnings.push(w),
  });
  expect(warnings).toEqual([]);
  m.loadLoraState(state ?? loraState(m));
  const b = batch(9);
  const r = m.lossAndGrad(b, 1 / 9);
  const grads = new Map(m.trainableParams().map((p) => [p.name, host(backend, p.grad)]));
  return { logits: m.logits(b.inputIds.subarray(0, 7)), loss: r.lossSum / r.nTokens, grads };
}

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** Elementwise |got - want| <= atol + rtol |want|; returns the worst excess ratio for the message. */
function expectClose(got: Float32Array, want: Float32Array, atol: number, rtol: number, what: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  expect(worst, `${what}: worst at ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1);
}

function expectGradsClose(got: Run, want: Run, frac: number, what: string): void {
  expect([...got.grads.keys()]).toEqual([...want.grads.keys()]);
  for (const [k, g] of want.grads) {
    const scale = maxAbs(g);
    expect(scale, `${k} has a gradient worth checking`).toBeGreaterThan(1e-4);
    expectClose(got.grads.get(k) as Float32Array, g, frac * scale, 0, `${what} ${k}`);
  }
}

describe('bf16 frozen weights (LoRA)', () => {
  const w = baseWeights();
  const rounded = roundedProjections(w);
  const probe = createModel({ config, weights: w, backend: ref, finetuning: 'lora', lora, seed: 3 });
  const state = loraState(probe);
  const bf16 = run(w, ref, 'bf16', state);

  it('equals an fp32 model that rounds weights and the frozen matmuls inputs to bf16 (EXACT)', () => {
    const frozen = new Set([...rounded].filter(([k]) => PROJ.test(k)).map(([, t]) => t.data));
    expect(frozen.size).toBe(7 * config.numLayers);
    const oracle = run(rounded, emulatingBackend(frozen), 'f32', state);
    expectClose(bf16.logits, oracle.logits, 0, 1e-6, 'logits');
    expect(Math.abs(bf16.loss - oracle.loss)).toBeLessThanOrEqual(1e-6 * oracle.loss);
    expectGradsClose(bf16, oracle, 1e-6, 'grad');
  });

  it('is close to the fp32 model on bf16-rounded weights (ROUNDED) and on the original weights (UNROUNDED)', () => {
    const r = run(rounded, ref, 'f32', state);
    expectClose(bf16.logits, r.logits, 1e-2 * maxAbs(r.logits), 0, 'logits vs rounded');
    expect(Math.abs(bf16.loss - r.loss)).toBeLessThanOrEqual(1e-3 * r.loss);
    expectGradsClose(bf16, r, 3e-2, 'grad vs rounded');
    // The rounding is visible at all (else the comparisons above would prove nothing about bf16).
    expect(maxAbs(bf16.logits.map((v, i) => v - r.logits[i]))).toBeGreaterThan(1e-4);

    const u = run(w, ref, 'f32', state);
    expectClose(bf16.logits, u.logits, 2e-2 * maxAbs(u.logits), 0, 'logits vs unrounded');
    expect(Math.abs(bf16.loss - u.loss)).toBeLessThanOrEqual(1e-3 * u.loss);
    expectGradsClose(bf16, u, 5e-2, 'grad vs unrounded');
  });

  it.skipIf(!cpuAvailable)('cpu and reference backends agree', () => {
    // The tolerance above models fp32 summation noise of the row-wise vdpbf16ps / fp32-FMA / widened GEMMs (every
    // one this CPU has); the AMX tiles sum in another order, which the next test covers with its own tolerance.
    const ops = loadBf16Ops();
    const rowWise = (['avx512bf16', 'avx512fma', 'widened'] as const).filter((k) => ops.setBf16Kernel(k));
    expect(rowWise).toContain('widened');
    try {
      for (const k of rowWise) {
        ops.setBf16Kernel(k);
        const c = run(w, createBackend('cpu'), 'bf16', state);
        expectClose(c.logits, bf16.logits, 1e-4, 1e-3, `logits cpu (${k}) vs reference`);
        expect(Math.abs(c.loss - bf16.loss)).toBeLessThanOrEqual(1e-5 * bf16.loss);
        expectGradsClose(c, bf16, 1e-3, `grad cpu (${k}) vs reference`);
      }
    } finally {
      ops.setBf16Kernel('auto');
    }
  });

  // AMX (TDPBF16PS) accumulates tile by tile: its fp32 results differ from the reference's by summation noise
  // (~1e-7), and where an activation lies within that noise of a bf16 rounding boundary the next bf16 matmul
  // rounds it one bf16 ulp (2^-8 relative) the other way. Measured on this model: logits 1.5e-3 absolute at a
  // logit of scale 1. That is the ROUNDED kind of perturbation (one bf16 rounding of an activation), so the ROUNDED
  // tolerances apply: logits 1% of max|logit|, loss 1e-3 relative, gradients 3% of the tensor's largest.
  it.skipIf(!hasAmx)('cpu with AMX tiles agrees within one bf16 rounding', () => {
    const ops = loadBf16Ops();
    ops.setBf16Kernel('amx');
    try {
      const c = run(w, createBackend('cpu'), 'bf16', state);
      expectClose(c.logits, bf16.logits, 1e-2 * maxAbs(bf16.logits), 0, 'logits amx vs reference');
      expect(Math.abs(c.loss - bf16.loss)).toBeLessThanOrEqual(1e-3 * bf16.loss);
      expectGradsClose(c, bf16, 3e-2, 'grad amx vs reference');
    } finally {
      ops.setBf16Kernel('auto');
    }
  });

  it('keeps only bf16 copies of the frozen projections; fullState widens them exactly; the rest stays fp32', () => {
    const given = new Map(w);
    const m = createModel({
      config,
      weights: given,
      backend: ref,
      finetuning: 'lora',
      lora,
      seed: 3,
      frozenDtype: 'bf16',
    });
    // The fp32 projections were taken out of the given map (so they can be freed); the rest stays.
    expect([...given.keys()]).toEqual([...w.keys()].filter((k) => !PROJ.test(k)));
    const full = m.fullState();
    expect([...full.keys()]).toEqual([...w.keys()]);
    for (const [k, t] of full) {
      const want = (rounded.get(k) as Tensor).data;
      expect(t.shape).toEqual((w.get(k) as Tensor).shape);
      expect(Array.from(t.data), k).toEqual(Array.from(want));
      // Projections are new (widened) arrays, not the caller's fp32 ones, which the model does not hold on to.
      expect(t.data === (w.get(k) as Tensor).data).toBe(!PROJ.test(k));
    }
    for (const p of m.trainableParams()) expect(p.data.dtype).toBe('f32');
  });

  it('falls back to fp32 with a warning where it cannot apply', () => {
    const noBf16: Backend = { ...ref, name: 'no-bf16', bf16: false };
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const a = createModel({
      config,
      weights: w,
      backend: noBf16,
      finetuning: 'lora',
      lora,
      seed: 3,
      frozenDtype: 'bf16',
      warn,
    });
    expect(warnings.join('\n')).toMatch(/no bf16-weight matmul; the frozen weights stay float32/);
    a.loadLoraState(state);
    const fp32 = run(w, ref, 'f32', state);
    expect(Array.from(a.logits(batch(9).inputIds.subarray(0, 7)))).toEqual(Array.from(fp32.logits));

    warnings.length = 0;
    const full = createModel({
      config,
      weights: w,
      backend: ref,
      finetuning: 'full',
      seed: 3,
      frozenDtype: 'bf16',
      warn,
    });
    expect(warnings.join('\n')).toMatch(/full fine-tuning trains every weight in float32/);
    // Trainable weights are the backend's own copies now; the values are the caller's fp32 ones, unrounded.
    expect(full.fullState().get('model.layers.0.mlp.up_proj.weight')?.data).toEqual(
      w.get('model.layers.0.mlp.up_proj.weight')?.data,
    );
  });

  it('trains: the loss falls with bf16 frozen weights and tracks the fp32 run', () => {
    const be = cpuAvailable ? createBackend('cpu') : ref;
    const losses = (frozenDtype: 'f32' | 'bf16'): number[] => {
      const m = createModel({
        config,
        weights: new Map(w),
        backend: be,
        finetuning: 'lora',
        lora,
        seed: 3,
        frozenDtype,
      });
      const opt = createAdamW(be, m.trainableParams(), { maxGradNorm: 1 });
      const b = batch(21);
      const out: number[] = [];
      for (let s = 0; s < 40; s++) {
        const r = m.lossAndGrad(b, 1 / 12);
        out.push(r.lossSum / r.nTokens);
        opt.step(2e-2);
      }
      return out;
    };
    const l16 = losses('bf16');
    const l32 = losses('f32');
    // Memorising one batch: the loss must fall well below its start (about ln 64 = 4.2 for a random model).
    expect(l16[l16.length - 1]).toBeLessThan(0.5 * l16[0]);
    // bf16 perturbs each step by the ROUNDED-level error; over 40 AdamW steps it must stay on the fp32 path.
    for (let i = 0; i < l16.length; i++)
      expect(Math.abs(l16[i] - l32[i]), `step ${i}`).toBeLessThan(0.05 * l32[i] + 0.02);
  });
});

describe('LLaMA-Factory bf16 key', () => {
  const base = { model_name_or_path: 'm', dataset: 'd', output_dir: 'o' };
  const parse = (extra: Record<string, unknown>) => {
    const warnings: string[] = [];
    const c = parseTrainConfig({ ...base, ...extra }, 'c.yaml', (m) => warnings.push(m));
    return { c, text: warnings.join('\n') };
  };

  it('bf16 with LoRA means bf16 frozen weights, said in one line', () => {
    const { c, text } = parse({ finetuning_type: 'lora', bf16: true });
    expect(frozenDtypeOf(c)).toBe('bf16');
    expect(text).toMatch(/bf16: true keeps the frozen base weights in bf16.*LoRA adapters.*stay float32/);
  });

  it('bf16 with full fine-tuning, fp16, or no flag stay float32', () => {
    const full = parse({ finetuning_type: 'full', bf16: true });
    expect(frozenDtypeOf(full.c)).toBe('f32');
    expect(full.text).toMatch(/bf16: true is declined; training computes in float32/);
    const f16 = parse({ finetuning_type: 'lora', fp16: true });
    expect(frozenDtypeOf(f16.c)).toBe('f32');
    expect(f16.text).toMatch(/fp16: true is declined/);
    const none = parse({});
    expect(frozenDtypeOf(none.c)).toBe('f32');
    expect(none.text).not.toMatch(/bf16|fp16/);
  });
});
