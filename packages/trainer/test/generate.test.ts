/**
 * Generation on the core: KV-cache logits against the no-cache forward, greedy against argmax of full forwards,
 * and the top-p sampler against its definition.
 *
 * KV-cache tolerance: |cached - full| <= 1e-4 + 1e-4 * |full| per logit. Both run fp32 on the same backend but the
 * cached step computes single-query attention as matmul + a float64 softmax instead of the fused attention op, so
 * only summation order differs (observed differences are around 1e-6).
 */
import { createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { argmax, generate, nucleus, sampleToken } from '../src/generate/index';
import { createModel, createRng, type ModelConfig, randomWeights } from '../src/model/index';
import { edit } from './host';

const be = createBackend('reference');
const ATOL = 1e-4;
const RTOL = 1e-4;

function config(arch: 'qwen2' | 'llama', tied: boolean): ModelConfig {
  return {
    arch,
    vocabSize: 61,
    hiddenSize: 24,
    intermediateSize: 40,
    numLayers: 2,
    numHeads: 6,
    numKvHeads: 2,
    headDim: 4,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    tieWordEmbeddings: tied,
    attentionBias: arch === 'qwen2',
    maxPositionEmbeddings: 64,
  };
}

function loraModel(arch: 'qwen2' | 'llama', tied: boolean, seed: number) {
  const c = config(arch, tied);
  const m = createModel({
    config: c,
    weights: randomWeights(c, { seed, std: 0.4 }),
    backend: be,
    finetuning: 'lora',
    lora: { r: 2, alpha: 4, dropout: 0.1, targets: ['all'] },
    seed,
  });
  // a trained adapter: B non-zero so the LoRA path is part of what the cache must reproduce
  const rng = createRng(seed + 1);
  for (const p of m.trainableParams())
    if (p.name.includes('lora_B'))
      edit(be, p.data, (d) => {
        for (let i = 0; i < d.length; i++) d[i] = rng() - 0.5;
      });
  return m;
}

function expectClose(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= ATOL + RTOL * Math.abs(b[i]))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

describe('KV cache', () => {
  for (const [arch, tied] of [
    ['qwen2', true],
    ['llama', false],
  ] as const) {
    it(`${arch}: cached logits equal the no-cache forward at every position`, () => {
      const m = loraModel(arch, tied, 3);
      const ids = Int32Array.from([5, 17, 3, 60, 0, 22, 9, 41, 41, 8, 13, 2]);
      const T = ids.length;
      const full = m.logits(ids);
      const V = m.config.vocabSize;
      // token by token from an empty cache
      const c1 = m.createKvCache(T);
      for (let t = 0; t < T; t++)
        expectClose(m.forwardStep([ids[t]], c1), full.subarray(t * V, (t + 1) * V), `step ${t}`);
      expect(c1.len).toBe(T);
      // batched prefill of 5, then steps
      const c2 = m.createKvCache(T);
      expectClose(m.forwardStep(ids.subarray(0, 5), c2).slice(), full.subarray(4 * V, 5 * V), 'prefill');
      for (let t = 5; t < T; t++)
        expectClose(m.forwardStep([ids[t]], c2), full.subarray(t * V, (t + 1) * V), `after prefill ${t}`);
      expect(() => m.forwardStep([1], c2)).toThrow(/KV cache holds 12/);
    });
  }
});

describe('generate', () => {
  it('greedy is deterministic and equals argmax of the no-cache forward at each step', () => {
    const m = loraModel('qwen2', true, 5);
    const prompt = [1, 2, 3, 4];
    const opts = { maxNewTokens: 10, temperature: 0, topP: 1, seed: 1, stopIds: [] };
    const a = generate(m, prompt, opts);
    const b = generate(m, prompt, { ...opts, seed: 99 });
    expect(a).toHaveLength(10);
    expect(b).toEqual(a);
    const seq = [...prompt];
    const V = m.config.vocabSize;
    for (const id of a) {
      const lg = m.logits(Int32Array.from(seq));
      expect(id).toBe(argmax(lg.subarray((seq.length - 1) * V)));
      seq.push(id);
    }
  });

  it('stops at a stop id (not returned) and honours maxNewTokens', () => {
    const m = loraModel('llama', false, 6);
    const free = generate(m, [7, 8], { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, stopIds: [] });
    const stopAt = free[3];
    const firstIdx = free.indexOf(stopAt);
    const stopped = generate(m, [7, 8], { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, stopIds: [stopAt] });
    expect(stopped).toEqual(free.slice(0, firstIdx));
    expect(generate(m, [7, 8], { maxNewTokens: 0, temperature: 0, topP: 1, seed: 0, stopIds: [] })).toEqual([]);
  });

  it('sampling is repeatable for a seed and differs across seeds', () => {
    const m = loraModel('qwen2', true, 7);
    const opts = { maxNewTokens: 12, temperature: 1.5, topP: 0.95, seed: 3, stopIds: [] };
    const a = generate(m, [1, 2], opts);
    expect(generate(m, [1, 2], opts)).toEqual(a);
    const others = [4, 5, 6].map((seed) => generate(m, [1, 2], { ...opts, seed }));
    expect(others.some((o) => o.join() !== a.join())).toBe(true);
  });
});

describe('top-p sampling', () => {
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log)); // probabilities at temperature 1

  it('keeps the smallest most-likely set reaching top_p, renormalised', () => {
    const n = nucleus(logits, { temperature: 1, topP: 0.7 });
    expect([...n.ids]).toEqual([0, 1]); // 0.5 < 0.7 <= 0.5 + 0.3
    expect(n.probs[0]).toBeCloseTo(0.5 / 0.8, 6);
    expect([...nucleus(logits, { temperature: 1, topP: 0.9 }).ids]).toEqual([0, 1, 2]);
    expect([...nucleus(logits, { temperature: 1, topP: 0.4 }).ids]).toEqual([0]); // at least one token
    expect(nucleus(logits, { temperature: 1, topP: 1 }).ids.length).toBe(4);
    expect([...nucleus(logits, { temperature: 1, topP: 1, topK: 3 }).ids]).toEqual([0, 1, 2]);
  });

  it('draws only from the nucleus, with the renormalised frequencies', () => {
    const rng = createRng(123);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1, topP: 0.7 }, rng)]++;
    expect(counts[2] + counts[3]).toBe(0);
    // binomial standard deviation sqrt(p(1-p)/n) = 0.0034; 5 sigma
    expect(Math.abs(counts[0] / n - 0.625)).toBeLessThan(0.017);
  });

  it('temperature sharpens the distribution before the nucleus is cut', () => {
    // at T = 0.5 the probabilities are proportional to p^2: 0.25, 0.09, 0.0225, 0.0025 -> 0.68, 0.245, ...
    const n = nucleus(logits, { temperature: 0.5, topP: 0.6 });
    expect([...n.ids]).toEqual([0]);
    expect(sampleToken(logits, { temperature: 0, topP: 0.1 }, () => 0.99)).toBe(0);
  });

  it('finds the nucleus in a large vocabulary without sorting it all (same answer as a full sort)', () => {
    const rng = createRng(5);
    const V = 151936;
    const big = new Float32Array(V);
    for (let i = 0; i < V; i++) big[i] = 4 * (rng() - 0.5);
    for (const topP of [0.05, 0.5, 0.9]) {
      const fast = nucleus(big, { temperature: 1, topP });
      // the definition, by full sort
      let max = -Infinity;
      for (const x of big) max = Math.max(max, x);
      const p = Array.from(big, (x) => Math.exp(x - max));
      const s = p.reduce((a, b) => a + b, 0);
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
      let cum = 0;
      let keep = 0;
      while (cum < topP) cum += p[order[keep++]] / s;
      expect(fast.ids.length).toBe(keep);
      expect(new Set(fast.ids)).toEqual(new Set(order.slice(0, keep)));
    }
  });
});
