import { type Backend, cpuAvailable, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { createAdamW, decaysByName, type Param } from '../src/train/optimizer';
import { createRng } from '../src/train/rng';
import { host } from './host';

// torch.optim.AdamW (single tensor, foreach=False) and clip_grad_norm_, written out in float64 from the torch docs,
// independently of src/train/optimizer.ts and of the backend kernels.
function torchAdamW(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  step: number,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
) {
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd;
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const mHat = m[i] / (1 - b1 ** step);
    const vHat = v[i] / (1 - b2 ** step);
    p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

function clipGradNorm(grads: Float64Array[], maxNorm: number): number {
  let total = 0;
  for (const g of grads) for (const x of g) total += x * x;
  total = Math.sqrt(total);
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return total;
}

const backends: [string, () => Backend][] = [['reference', () => createBackend('reference')]];
if (cpuAvailable()) backends.push(['cpu', () => createBackend('cpu')]);

describe('HF parameter groups', () => {
  it('biases and norm weights get no weight decay; linear, LoRA and embedding weights do', () => {
    expect(decaysByName('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(decaysByName('model.layers.3.input_layernorm.weight')).toBe(false);
    expect(decaysByName('model.layers.3.post_attention_layernorm.weight')).toBe(false);
    expect(decaysByName('model.norm.weight')).toBe(false);
    expect(decaysByName('model.layers.0.self_attn.q_proj.weight')).toBe(true);
    expect(decaysByName('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')).toBe(true);
    expect(decaysByName('model.embed_tokens.weight')).toBe(true);
  });
});

for (const [bname, mk] of backends) {
  describe(`AdamW + clipping on the ${bname} backend vs a float64 torch formula`, () => {
    const run = (maxGradNorm: number, gradScale: number) => {
      const backend = mk();
      const rng = createRng(7);
      const shapes: [string, number][] = [
        ['a.weight', 37],
        ['a.bias', 5],
        ['model.norm.weight', 11],
        ['b.lora_A.weight', 64],
      ];
      const params: Param[] = shapes.map(([name, n]) => {
        const data = backend.alloc([n]);
        backend.upload(
          data,
          Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
        );
        return { name, shape: [n], data, grad: backend.alloc([n]) };
      });
      const ref = params.map((p) => ({
        p: Float64Array.from(host(backend, p.data)),
        m: new Float64Array(p.data.size),
        v: new Float64Array(p.data.size),
      }));
      const opt = createAdamW(backend, params, { weightDecay: 0.1, maxGradNorm });
      const lrs = [1e-3, 5e-4, 2e-3, 0, 1e-2];
      for (let s = 0; s < lrs.length; s++) {
        const g64 = params.map((p) =>
          Float64Array.from({ length: p.data.size }, () => (rng.next() * 2 - 1) * gradScale),
        );
        params.forEach((p, i) => {
          backend.upload(p.grad, Float32Array.from(g64[i]));
        });
        // The reference sees the float32-rounded grads, as the optimizer does.
        const gr = params.map((p) => Float64Array.from(host(backend, p.grad)));
        const refNorm =
          maxGradNorm > 0
            ? clipGradNorm(gr, maxGradNorm)
            : Math.sqrt(gr.reduce((a, g) => a + g.reduce((x, y) => x + y * y, 0), 0));
        const norm = opt.step(lrs[s]);
        expect(norm).toBeCloseTo(refNorm, 5);
        ref.forEach((r, i) => {
          torchAdamW(r.p, gr[i], r.m, r.v, s + 1, lrs[s], 0.9, 0.999, 1e-8, decaysByName(params[i].name) ? 0.1 : 0);
        });
        for (const p of params) expect(host(backend, p.grad).every((x) => x === 0)).toBe(true);
      }
      // Tolerance: float32 storage of p, m, v vs float64: |diff| <= 1e-5 + 1e-5 |ref| after 5 steps.
      params.forEach((p, i) => {
        const data = host(backend, p.data);
        for (let j = 0; j < data.length; j++) {
          expect(Math.abs(data[j] - ref[i].p[j])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(ref[i].p[j]));
        }
      });
      expect(opt.state.step).toBe(5);
    };
    it('without clipping', () => run(0, 1));
    it('with clipping active (norm far above max_grad_norm)', () => run(1.0, 10));
    it('with clipping configured but inactive (norm below max_grad_norm)', () => run(1e6, 0.01));
  });
}
