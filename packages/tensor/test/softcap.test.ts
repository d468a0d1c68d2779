/**
 * Gemma's ops on the reference kernels (the oracle the cpu backend also runs for them): soft-capped attention and
 * LM-head cross-entropy, GeGLU with tanh GELU and the in-place softcap, each against its formula and finite
 * differences (float64 data through the F32 API, as reference.test.ts). The Transformers goldens of the trainer
 * (test/model-golden-hf.test.ts, gemma2_softcap_window4) check the same ops against torch.
 */
import { describe, expect, it } from 'vitest';
import type { Kernels } from '../src/backend';
import { loadCpuKernels } from '../src/cpu';
import { createBackend, referenceKernels as ref } from '../src/index';
import { f32, gradCheck, randArray, rng } from './helpers';

const FD = { atol: 1e-7, rtol: 1e-6 };
const r0 = rng(77);
const rand = (n: number, scale = 1): Float64Array => randArray(Float64Array, n, r0, scale);
const expectGrad = (c: Parameters<typeof gradCheck>[0], seed: number): void => {
  const rep = gradCheck(c, seed, FD);
  expect(rep.checked).toBeGreaterThan(0);
  expect(rep.worst, rep.where).toBeLessThanOrEqual(1);
};

describe('geglu (gelu_pytorch_tanh)', () => {
  it('matches the tanh formula and its gradient', () => {
    const gate = rand(64, 4);
    const up = rand(64, 2);
    const out = new Float64Array(64);
    ref.gegluForward(f32(out), f32(gate), f32(up), 64);
    const g = gate[5];
    const want = 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3))) * up[5];
    expect(out[5]).toBeCloseTo(want, 12);
    expectGrad(
      {
        inputs: { gate, up },
        forward: (x) => {
          const o = new Float64Array(64);
          ref.gegluForward(f32(o), f32(x.gate), f32(x.up), 64);
          return o;
        },
        backward: (x, dout) => {
          const dgate = new Float64Array(64);
          const dup = new Float64Array(64);
          ref.gegluBackward(f32(dgate), f32(dup), f32(dout), f32(x.gate), f32(x.up), 64);
          return { gate: dgate, up: dup };
        },
      },
      1,
    );
  });
});

describe('attention with softcap', () => {
  const [B, T, Hq, Hkv, D] = [2, 6, 4, 2, 8];
  const keyLen = Int32Array.from([6, 4]);
  const segStart = Int32Array.from({ length: B * T }, (_, i) => Math.max(0, (i % T) - 2)); // a window of 3
  const fwd = (x: Record<string, Float64Array>, cap?: number) => {
    const out = new Float64Array(B * T * Hq * D);
    const lse = new Float64Array(B * Hq * T);
    ref.attentionForward(f32(out), f32(lse), f32(x.q), f32(x.k), f32(x.v), B, T, Hq, Hkv, D, keyLen, segStart, cap);
    return { out, lse };
  };
  const inputs = { q: rand(B * T * Hq * D, 3), k: rand(B * T * Hkv * D, 3), v: rand(B * T * Hkv * D) };

  it('caps the scores: cap tanh(s / cap) before the softmax; a huge cap is plain attention', () => {
    const cap = 1.5;
    const { out, lse } = fwd(inputs, cap);
    // Row b=0, head 1 (kv head 0), query 3: keys 1..3.
    const [i, h, g] = [3, 1, 0];
    const s = [1, 2, 3].map((j) => {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += inputs.q[(i * Hq + h) * D + d] * inputs.k[(j * Hkv + g) * D + d];
      return cap * Math.tanh(dot / Math.sqrt(D) / cap);
    });
    const m = Math.max(...s);
    const want = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
    expect(lse[h * T + i]).toBeCloseTo(want, 12);
    const plain = fwd(inputs);
    const huge = fwd(inputs, 1e9);
    for (let n = 0; n < out.length; n++) expect(huge.out[n]).toBeCloseTo(plain.out[n], 9);
    expect(Math.max(...out.map((x, n) => Math.abs(x - plain.out[n])))).toBeGreaterThan(1e-2);
  });

  it('backward matches finite differences', () => {
    const cap = 2;
    expectGrad(
      {
        inputs,
        forward: (x) => fwd(x, cap).out,
        backward: (x, dout) => {
          const { out, lse } = fwd(x, cap);
          const dq = new Float64Array(x.q.length);
          const dk = new Float64Array(x.k.length);
          const dv = new Float64Array(x.v.length);
          ref.attentionBackward(
            ...([dq, dk, dv, dout, x.q, x.k, x.v, out, lse].map(f32) as [
              never,
              never,
              never,
              never,
              never,
              never,
              never,
              never,
              never,
            ]),
            B,
            T,
            Hq,
            Hkv,
            D,
            keyLen,
            segStart,
            cap,
          );
          return { q: dq, k: dk, v: dv };
        },
      },
      2,
    );
  });
});

describe('crossEntropyLmHead with softcap', () => {
  const [N, C, V] = [4, 6, 10];
  const labels = Int32Array.from([3, -100, 9, 0]);
  const inputs = { hidden: rand(N * C, 2), W: rand(V * C, 2) };
  const loss = (x: Record<string, Float64Array>, cap?: number) =>
    ref.crossEntropyLmHead(null, null, f32(x.hidden), f32(x.W), labels, N, C, V, 1, cap);

  it('is the cross-entropy of cap tanh(z / cap)', () => {
    const cap = 3;
    let want = 0;
    for (const n of [0, 2, 3]) {
      const z = Array.from({ length: V }, (_, v) => {
        let dot = 0;
        for (let j = 0; j < C; j++) dot += inputs.hidden[n * C + j] * inputs.W[v * C + j];
        return cap * Math.tanh(dot / cap);
      });
      const m = Math.max(...z);
      want += m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0)) - z[labels[n]];
    }
    expect(loss(inputs, cap)).toBeCloseTo(want, 10);
    expect(Math.abs(loss(inputs, cap) - loss(inputs))).toBeGreaterThan(1e-2);
  });

  it('dhidden and dW match finite differences', () => {
    const cap = 3;
    expectGrad(
      {
        inputs,
        forward: (x) => Float64Array.of(loss(x, cap)),
        backward: (x, dout) => {
          const dh = new Float64Array(N * C);
          const dW = new Float64Array(V * C);
          ref.crossEntropyLmHead(f32(dh), f32(dW), f32(x.hidden), f32(x.W), labels, N, C, V, dout[0], cap);
          return { hidden: dh, W: dW };
        },
      },
      3,
    );
  });
});

describe('backend checks', () => {
  it('softcap op caps in place; a non-positive cap and a bf16 LM head with a cap are refused', () => {
    const be = createBackend('reference');
    const x = be.alloc([3]);
    be.upload(x, Float32Array.of(-100, 0.5, 100));
    be.softcap(x, 2, 3);
    const got = be.download(x) as Float32Array;
    expect(Array.from(got).map((v) => Number(v.toFixed(5)))).toEqual([-2, Number((2 * Math.tanh(0.25)).toFixed(5)), 2]);
    expect(() => be.softcap(x, 0, 3)).toThrow(/positive cap/);
    const loss = be.alloc([2]);
    const h = be.alloc([1, 2]);
    const lab = be.alloc([1], 'i32');
    const W = be.frozen([2, 2], 'bf16', new Uint16Array(4));
    expect(() => be.crossEntropyLmHead(loss, null, null, h, W, lab, 1, 2, 2, 1, 5)).toThrow(/f32 LM head/);
    const Wf = be.alloc([2, 2]);
    expect(() => be.crossEntropyLmHead(loss, null, null, h, Wf, lab, 1, 2, 2, 1, -1)).toThrow(/softcap must be/);
  });
});

describe('cpu kernels with softcap agree with the reference', () => {
  let cpu: ReturnType<typeof loadCpuKernels> | null = null;
  try {
    cpu = loadCpuKernels();
  } catch {
    cpu = null; // no native addon on this machine: skipped, not passed
  }
  const f = (n: number, scale: number) => Float32Array.from(rand(n, scale));
  const close = (a: Float32Array, b: Float32Array, tol: number) => {
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (tol + tol * Math.abs(b[i])));
    expect(worst).toBeLessThanOrEqual(1);
  };

  it.skipIf(!cpu)('attention forward and backward (GQA, keyLen, window segStart, several query blocks)', () => {
    const k = cpu as Kernels;
    const [B, T, Hq, Hkv, D, cap] = [2, 70, 4, 2, 16, 3];
    const keyLen = Int32Array.from([70, 45]);
    const seg = Int32Array.from({ length: B * T }, (_, i) => Math.max(0, (i % T) - 9));
    const q = f(B * T * Hq * D, 2);
    const kk = f(B * T * Hkv * D, 2);
    const v = f(B * T * Hkv * D, 1);
    const dout = f(B * T * Hq * D, 1);
    const run = (kern: Kernels) => {
      const out = new Float32Array(q.length);
      const lse = new Float32Array(B * Hq * T);
      kern.attentionForward(out, lse, q, kk, v, B, T, Hq, Hkv, D, keyLen, seg, cap);
      const dq = new Float32Array(q.length);
      const dk = new Float32Array(kk.length);
      const dv = new Float32Array(v.length);
      kern.attentionBackward(dq, dk, dv, dout, q, kk, v, out, lse, B, T, Hq, Hkv, D, keyLen, seg, cap);
      return [out, lse, dq, dk, dv];
    };
    const want = run(ref);
    const got = run(k);
    for (let i = 0; i < want.length; i++) close(got[i], want[i], 1e-4);
  });

  it.skipIf(!cpu)('LM-head cross-entropy: loss, dhidden (one pass and two), dW, ignored rows', () => {
    const k = cpu as Kernels;
    const [N, C, V, cap] = [9, 32, 5000, 4];
    const labels = Int32Array.from([3, -100, 4999, 17, 4096, -100, 0, 2500, 1]);
    const hidden = f(N * C, 1);
    const W = f(V * C, 0.5);
    for (const withDW of [false, true]) {
      const run = (kern: Kernels) => {
        const dh = new Float32Array(N * C);
        const dW = withDW ? new Float32Array(V * C) : null;
        const loss = kern.crossEntropyLmHead(dh, dW, hidden, W, labels, N, C, V, 0.5, cap);
        return { loss, dh, dW };
      };
      const want = run(ref);
      const got = run(k);
      expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(want.loss));
      close(got.dh, want.dh, 1e-4);
      if (withDW) close(got.dW as Float32Array, want.dW as Float32Array, 1e-4);
    }
    expect(k.crossEntropyLmHead(null, null, hidden, W, labels, N, C, V, 1, cap)).toBeCloseTo(
      ref.crossEntropyLmHead(null, null, hidden, W, labels, N, C, V, 1, cap),
      3,
    );
  });
});
