/**
 * The model on the native 'cpu' backend: it must agree with the reference backend on the demo model's shape (real
 * Qwen vocabulary, so the fused LM head runs over many vocab chunks). Speed is measured in bench/train.ts, not
 * asserted here. Skipped where the addon is not built (the golden and gradient tests still run on the reference
 * backend).
 *
 * Tolerance cpu vs reference (both fp32, different summation order and blocking): loss RTOL 1e-5; LoRA gradients
 * |cpu - ref| <= 1e-4 * max|ref| + 1e-3 * |ref| per element.
 */
import { type Backend, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { type Batch, createModel, createRng, type ModelConfig, randomWeights } from '../src/model/index';
import { edit, host } from './host';

let cpu: Backend | null = null;
try {
  cpu = createBackend('cpu');
} catch {
  cpu = null;
}

// `crucible init-model --arch qwen2 --layers 2 --hidden 64` (intermediate defaults to 192)
const demo: ModelConfig = {
  arch: 'qwen2',
  vocabSize: 151936,
  hiddenSize: 64,
  intermediateSize: 192,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  rmsNormEps: 1e-6,
  ropeTheta: 1e6,
  tieWordEmbeddings: true,
  attentionBias: true,
  maxPositionEmbeddings: 32768,
};

function batch(T: number, seed: number): Batch {
  const rng = createRng(seed);
  const ids = Int32Array.from({ length: T }, () => Math.floor(rng() * demo.vocabSize));
  return { B: 1, T, inputIds: ids, labels: ids.slice(), keyLen: Int32Array.of(T) };
}

describe.skipIf(!cpu)('model on the cpu backend', () => {
  const weights = randomWeights(demo, { seed: 1, std: 0.05, normNoise: 0.1 });
  const lora = { r: 8, alpha: 16, dropout: 0, targets: ['all'] };

  it('agrees with the reference backend (loss and LoRA gradients, real Qwen vocab)', () => {
    const mk = (be: Backend) => {
      const m = createModel({ config: demo, weights, backend: be, finetuning: 'lora', lora, seed: 2 });
      const rng = createRng(3);
      for (const p of m.trainableParams())
        if (p.name.includes('lora_B'))
          edit(be, p.data, (d) => {
            for (let i = 0; i < d.length; i++) d[i] = 0.1 * (rng() - 0.5);
          });
      return m;
    };
    const b = batch(8, 4);
    const ref = mk(createBackend('reference'));
    const fast = mk(cpu as Backend);
    const r1 = ref.lossAndGrad(b, 1);
    const r2 = fast.lossAndGrad(b, 1);
    expect(Math.abs(r2.lossSum - r1.lossSum)).toBeLessThanOrEqual(1e-5 * Math.abs(r1.lossSum));
    const pr = ref.trainableParams();
    fast.trainableParams().forEach((p, k) => {
      const g = host(ref.backend, pr[k].grad);
      const pg = host(fast.backend, p.grad);
      const scale = g.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      for (let i = 0; i < g.length; i++) {
        if (!(Math.abs(pg[i] - g[i]) <= 1e-4 * scale + 1e-3 * Math.abs(g[i])))
          throw new Error(`${p.name}[${i}]: cpu ${pg[i]}, reference ${g[i]}`);
      }
    });
  });
});
