/**
 * The reference backend against (a) central finite differences of its own forward, run in float64 so the check is
 * tight, and (b) small hand-computed cases or independently written naive formulas (full softmax attention with an
 * explicit mask, full-logit log-softmax, torch's AdamW as torch writes it).
 *
 * Tolerances: the FD checks run on float64 data with h = 1e-5, so truncation error is O(h^2) ~ 1e-10 and round-off
 * ~ 1e-16 * |L| / h ~ 1e-10; atol 1e-7 + rtol 1e-6 leaves three orders of margin yet still catches any wrong term
 * (a missing factor is an O(1) error). Forward checks against independent float64 formulas use 1e-12 relative;
 * checks that go through Float32Array storage use 1e-6 relative (float32 epsilon is 6e-8, a few roundings).
 */
import { describe, expect, it } from 'vitest';
import type { MatmulOptions } from '../src/backend';
import { bf16Round, f32ToBf16, fromBf16, toBf16 } from '../src/bf16';
import { createBackend, referenceKernels as ref } from '../src/index';
import { ropeInvFreq } from '../src/reference';
import { f32, gradCheck, randArray, rng, type TInputs } from './helpers';

const FD = { atol: 1e-7, rtol: 1e-6 };
const F64_REL = 1e-12;

const r0 = rng(1234);
const rand = (n: number, scale = 1): Float64Array => randArray(Float64Array, n, r0, scale);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = abs + rel * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

function expectGrad(c: Parameters<typeof gradCheck>[0], seed: number, maxPerInput?: number): void {
  const rep = gradCheck(c, seed, { ...FD, maxPerInput });
  expect(rep.checked).toBeGreaterThan(0);
  expect(rep.worst, rep.where).toBeLessThanOrEqual(1);
}

describe('backend selection', () => {
  it('returns the reference backend by name and some backend for auto', () => {
    expect(createBackend('reference').name).toBe('reference');
    expect(['reference', 'cpu']).toContain(createBackend('auto').name);
  });
});

describe('matmul', () => {
  it('matches a hand-computed 2x2 product, with alpha and beta', () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8]);
    const c = new Float32Array([1, 1, 1, 1]);
    ref.matmul(c, a, b, 2, 2, 2);
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
    c.fill(1);
    ref.matmul(c, a, b, 2, 2, 2, { alpha: 2, beta: 3 });
    expect(Array.from(c)).toEqual([41, 47, 89, 103]);
    // transA: A stored [K,M] = [[1,3],[2,4]] is the same op(A); transB: B stored [N,K] = [[5,7],[6,8]].
    ref.matmul(c, new Float32Array([1, 3, 2, 4]), new Float32Array([5, 7, 6, 8]), 2, 2, 2, {
      transA: true,
      transB: true,
    });
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
  });

  it('beta = 0 ignores NaN already in C', () => {
    const c = new Float32Array([Number.NaN]);
    ref.matmul(c, new Float32Array([2]), new Float32Array([3]), 1, 1, 1);
    expect(c[0]).toBe(6);
  });

  // The backward of C = alpha op(A) op(B) + beta C0 is itself three matmuls; this is exactly how the trainer must
  // call them, so the flags used here are checked against finite differences.
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`gradients via matmul flags, transA=${transA} transB=${transB}`, () => {
        const M = 3,
          N = 5,
          K = 4,
          alpha = 0.7,
          beta = 0.3;
        const opts: MatmulOptions = { transA, transB, alpha, beta };
        expectGrad(
          {
            inputs: { a: rand(M * K), b: rand(K * N), c0: rand(M * N) },
            forward: (x) => {
              const c = Float64Array.from(x.c0);
              ref.matmul(f32(c), f32(x.a), f32(x.b), M, N, K, opts);
              return c;
            },
            backward: (x, dc) => {
              const da = new Float64Array(M * K);
              const db = new Float64Array(K * N);
              // dop(A)[M,K] = alpha dC op(B)^T; stored A^T when transA, so compute (dA^T)[K,M] = alpha op(B) dC^T.
              if (!transA) ref.matmul(f32(da), f32(dc), f32(x.b), M, K, N, { transB: !transB, alpha });
              else ref.matmul(f32(da), f32(x.b), f32(dc), K, M, N, { transA: transB, transB: true, alpha });
              // dop(B)[K,N] = alpha op(A)^T dC; stored B^T [N,K] when transB: (dB^T) = alpha dC^T op(A).
              if (!transB) ref.matmul(f32(db), f32(x.a), f32(dc), K, N, M, { transA: !transA, alpha });
              else ref.matmul(f32(db), f32(dc), f32(x.a), N, K, M, { transA: true, transB: transA, alpha });
              return { a: da, b: db, c0: dc.map((v) => v * beta) };
            },
          },
          11,
        );
      });
    }
  }
});

describe('bf16', () => {
  it('rounds to nearest even and keeps NaN', () => {
    expect(bf16Round(1 + 2 ** -8)).toBe(1); // halfway, 1.0 is even
    expect(bf16Round(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // halfway, rounds up to the even neighbour
    expect(bf16Round(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7); // above halfway
    expect(bf16Round(-3.5)).toBe(-3.5);
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(Number.isNaN(bf16Round(Number.NaN))).toBe(true);
    expect(bf16Round(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });

  it('matmulBf16W equals matmul on bf16-rounded A and widened W', () => {
    const M = 3,
      N = 5,
      K = 7;
    for (const transB of [false, true]) {
      const a = new Float32Array(rand(M * K)),
        w = toBf16(new Float32Array(rand(K * N)));
      const c0 = new Float32Array(rand(M * N));
      const got = Float32Array.from(c0),
        want = Float32Array.from(c0);
      ref.matmulBf16W?.(got, a, w, M, N, K, { transB, alpha: 0.5, beta: 2 });
      ref.matmul(want, a.map(bf16Round), fromBf16(w), M, N, K, { transB, alpha: 0.5, beta: 2 });
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

describe('rmsnorm', () => {
  it('matches a hand-computed row', () => {
    // x = [3, 4], mean(x^2) = 12.5, eps = 0.5 -> rstd = 1/sqrt(13) ; w = [1, 2].
    const out = new Float32Array(2);
    const rstd = new Float32Array(1);
    ref.rmsnormForward(out, rstd, new Float32Array([3, 4]), new Float32Array([1, 2]), 1, 2, 0.5);
    const r = 1 / Math.sqrt(13);
    expectClose(rstd, [r], 1e-6);
    expectClose(out, [3 * r, 8 * r], 1e-6);
  });

  it('gradients wrt x and w (dw accumulates)', () => {
    const N = 3,
      C = 7,
      eps = 1e-6;
    expectGrad(
      {
        inputs: { x: rand(N * C), w: rand(C) },
        forward: (x) => {
          const out = new Float64Array(N * C);
          ref.rmsnormForward(f32(out), f32(new Float64Array(N)), f32(x.x), f32(x.w), N, C, eps);
          return out;
        },
        backward: (x, dout) => {
          const rstd = new Float64Array(N);
          ref.rmsnormForward(f32(new Float64Array(N * C)), f32(rstd), f32(x.x), f32(x.w), N, C, eps);
          const dx = new Float64Array(N * C);
          const dw = new Float64Array(C).fill(0.25);
          ref.rmsnormBackward(f32(dx), f32(dw), f32(dout), f32(x.x), f32(x.w), f32(rstd), N, C);
          return { x: dx, w: dw.map((v) => v - 0.25) };
        },
      },
      12,
    );
  });
});

describe('rope', () => {
  // Independent HF-style formula: emb = cat(freqs, freqs), out = x * cos(emb) + rotate_half(x) * sin(emb).
  function hfRope(x: Float64Array, pos: Int32Array, N: number, H: number, D: number, theta: number): Float64Array {
    const out = new Float64Array(x.length);
    const half = D / 2;
    for (let n = 0; n < N; n++) {
      const emb: number[] = [];
      for (let i = 0; i < D; i++) {
        const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * (i % half)) / D)));
        emb.push(Math.fround(invFreq * pos[n]));
      }
      for (let h = 0; h < H; h++) {
        const row = Array.from(x.subarray((n * H + h) * D, (n * H + h + 1) * D));
        const rot = [...row.slice(half).map((v) => -v), ...row.slice(0, half)];
        for (let i = 0; i < D; i++) {
          out[(n * H + h) * D + i] = row[i] * Math.fround(Math.cos(emb[i])) + rot[i] * Math.fround(Math.sin(emb[i]));
        }
      }
    }
    return out;
  }

  it('matches the rotate_half formula and is the identity at position 0', () => {
    const N = 4,
      H = 3,
      D = 8,
      theta = 10000;
    const pos = new Int32Array([0, 1, 7, 300]);
    const x = rand(N * H * D);
    const y = Float64Array.from(x);
    ref.ropeForward(f32(y), pos, N, H, D, theta);
    expectClose(y, hfRope(x, pos, N, H, D, theta), F64_REL, 1e-15);
    expectClose(y.subarray(0, H * D), x.subarray(0, H * D), 0, 0);
  });

  it('uses float32 inv_freq like HF', () => {
    expect(ropeInvFreq(4, 10000)[1]).toBe(Math.fround(1 / Math.fround(100)));
  });

  it('backward is the transpose: gradients of x', () => {
    const N = 3,
      H = 2,
      D = 6,
      theta = 1e6;
    const pos = new Int32Array([2, 5, 11]);
    expectGrad(
      {
        inputs: { x: rand(N * H * D) },
        forward: (x) => {
          const y = Float64Array.from(x.x);
          ref.ropeForward(f32(y), pos, N, H, D, theta);
          return y;
        },
        backward: (_x, dout) => {
          const dx = Float64Array.from(dout);
          ref.ropeBackward(f32(dx), pos, N, H, D, theta);
          return { x: dx };
        },
      },
      13,
    );
  });
});

describe('attention', () => {
  /** Naive: repeat kv heads, materialise S = QK^T/sqrt(D) with -inf for masked keys, softmax, P V. */
  function naive(
    q: Float64Array,
    k: Float64Array,
    v: Float64Array,
    B: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
    keyLen?: Int32Array,
    segId?: Int32Array,
  ): { out: Float64Array; lse: Float64Array } {
    const out = new Float64Array(B * T * Hq * D);
    const lse = new Float64Array(B * Hq * T);
    const rep = Hq / Hkv;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / rep);
        const S: number[][] = [];
        for (let i = 0; i < T; i++) {
          S.push([]);
          for (let j = 0; j < T; j++) {
            // segId: LLaMA-Factory's neat_packing attention mask (a sequence index per token), compared as its
            // prepare_4d_attention_mask does: key j is seen only from the same sequence.
            const masked =
              j > i ||
              (keyLen !== undefined && j >= keyLen[b]) ||
              (segId !== undefined && segId[b * T + j] !== segId[b * T + i]);
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[((b * T + i) * Hq + h) * D + d] * k[((b * T + j) * Hkv + kvh) * D + d];
            S[i].push(masked ? -Infinity : dot / Math.sqrt(D));
          }
        }
        for (let i = 0; i < T; i++) {
          const m = Math.max(...S[i]);
          const e = S[i].map((s) => Math.exp(s - m));
          const z = e.reduce((a, c) => a + c, 0);
          lse[(b * Hq + h) * T + i] = m + Math.log(z);
          for (let d = 0; d < D; d++) {
            let acc = 0;
            for (let j = 0; j < T; j++) acc += (e[j] / z) * v[((b * T + j) * Hkv + kvh) * D + d];
            out[((b * T + i) * Hq + h) * D + d] = acc;
          }
        }
      }
    }
    return { out, lse };
  }

  const B = 2,
    T = 5,
    Hq = 4,
    Hkv = 2,
    D = 3;
  const keyLen = new Int32Array([5, 3]);

  for (const kl of [undefined, keyLen]) {
    it(`forward matches naive softmax(QK^T)V, GQA ${Hq}/${Hkv}, keyLen ${kl ? 'set' : 'unset'}`, () => {
      const q = rand(B * T * Hq * D),
        k = rand(B * T * Hkv * D),
        v = rand(B * T * Hkv * D);
      const out = new Float64Array(q.length);
      const lse = new Float64Array(B * Hq * T);
      ref.attentionForward(f32(out), f32(lse), f32(q), f32(k), f32(v), B, T, Hq, Hkv, D, kl);
      const n = naive(q, k, v, B, T, Hq, Hkv, D, kl);
      expectClose(out, n.out, F64_REL, 1e-15);
      expectClose(lse, n.lse, F64_REL, 1e-15);
    });

    it(`gradients of q, k, v, keyLen ${kl ? 'set' : 'unset'}`, () => {
      const fwd = (x: TInputs) => {
        const out = new Float64Array(B * T * Hq * D);
        const lse = new Float64Array(B * Hq * T);
        ref.attentionForward(f32(out), f32(lse), f32(x.q), f32(x.k), f32(x.v), B, T, Hq, Hkv, D, kl);
        return { out, lse };
      };
      expectGrad(
        {
          inputs: { q: rand(B * T * Hq * D), k: rand(B * T * Hkv * D), v: rand(B * T * Hkv * D) },
          forward: (x) => fwd(x).out,
          backward: (x, dout) => {
            const { out, lse } = fwd(x);
            const dq = new Float64Array(x.q.length).fill(9),
              dk = new Float64Array(x.k.length).fill(9);
            const dv = new Float64Array(x.v.length).fill(9); // written, not accumulated: the 9s must vanish
            ref.attentionBackward(
              f32(dq),
              f32(dk),
              f32(dv),
              f32(dout),
              f32(x.q),
              f32(x.k),
              f32(x.v),
              f32(out),
              f32(lse),
              B,
              T,
              Hq,
              Hkv,
              D,
              kl,
            );
            return { q: dq, k: dk, v: dv };
          },
        },
        14,
      );
    });
  }

  // Packed rows (neat_packing): row 0 holds sequences of 2, 2 and 1 tokens, row 1 sequences of 3 and 2 with the
  // keys from 4 on padded away (keyLen 4). segStart is where each token's sequence starts.
  const segId = new Int32Array([1, 1, 2, 2, 3, 1, 1, 1, 2, 2]);
  const segStart = new Int32Array([0, 0, 2, 2, 4, 0, 0, 0, 3, 3]);
  const kl4 = new Int32Array([5, 4]);

  it('forward with segStart matches naive attention under the block-diagonal mask of sequence indices', () => {
    const q = rand(B * T * Hq * D),
      k = rand(B * T * Hkv * D),
      v = rand(B * T * Hkv * D);
    const out = new Float64Array(q.length);
    const lse = new Float64Array(B * Hq * T);
    ref.attentionForward(f32(out), f32(lse), f32(q), f32(k), f32(v), B, T, Hq, Hkv, D, kl4, segStart);
    const n = naive(q, k, v, B, T, Hq, Hkv, D, kl4, segId);
    // The padded query (row 1, position 4: its sequence starts at 3 < keyLen) still sees key 3 in both.
    expectClose(out, n.out, F64_REL, 1e-15);
    expectClose(lse, n.lse, F64_REL, 1e-15);
    // and a packed row is not the plain causal row: the second sequence no longer sees the first
    const plain = new Float64Array(q.length);
    ref.attentionForward(f32(plain), f32(new Float64Array(B * Hq * T)), f32(q), f32(k), f32(v), B, T, Hq, Hkv, D, kl4);
    const at = (2 * Hq + 0) * D; // row 0, position 2, head 0
    expect(Math.abs(plain[at] - out[at])).toBeGreaterThan(1e-6);
  });

  it('gradients of q, k, v with segStart', () => {
    const fwd = (x: TInputs) => {
      const out = new Float64Array(B * T * Hq * D);
      const lse = new Float64Array(B * Hq * T);
      ref.attentionForward(f32(out), f32(lse), f32(x.q), f32(x.k), f32(x.v), B, T, Hq, Hkv, D, kl4, segStart);
      return { out, lse };
    };
    expectGrad(
      {
        inputs: { q: rand(B * T * Hq * D), k: rand(B * T * Hkv * D), v: rand(B * T * Hkv * D) },
        forward: (x) => fwd(x).out,
        backward: (x, dout) => {
          const { out, lse } = fwd(x);
          const dq = new Float64Array(x.q.length).fill(9),
            dk = new Float64Array(x.k.length).fill(9);
          const dv = new Float64Array(x.v.length).fill(9);
          ref.attentionBackward(
            f32(dq),
            f32(dk),
            f32(dv),
            f32(dout),
            f32(x.q),
            f32(x.k),
            f32(x.v),
            f32(out),
            f32(lse),
            B,
            T,
            Hq,
            Hkv,
            D,
            kl4,
            segStart,
          );
          return { q: dq, k: dk, v: dv };
        },
      },
      15,
    );
  });

  it('the backend refuses a segStart past its query', () => {
    const be = createBackend('reference');
    const t = (n: number) => be.alloc([n]);
    const bad = be.alloc([B * T], 'i32');
    be.upload(bad, Int32Array.of(0, 2, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(() =>
      be.attentionForward(
        t(B * T * Hq * D),
        t(B * Hq * T),
        t(B * T * Hq * D),
        t(B * T * Hkv * D),
        t(B * T * Hkv * D),
        B,
        T,
        Hq,
        Hkv,
        D,
        null,
        bad,
      ),
    ).toThrowError(/segStart\[1\] = 2 must lie in \[0, 1\]/);
  });

  it('a batch with keyLen 0 stays finite', () => {
    const q = rand(T * Hq * D),
      k = rand(T * Hkv * D),
      v = rand(T * Hkv * D);
    const out = new Float32Array(q.length),
      lse = new Float32Array(Hq * T);
    ref.attentionForward(
      out,
      lse,
      new Float32Array(q),
      new Float32Array(k),
      new Float32Array(v),
      1,
      T,
      Hq,
      Hkv,
      D,
      new Int32Array([0]),
    );
    expect(out.every(Number.isFinite) && lse.every(Number.isFinite)).toBe(true);
  });
});

describe('swiglu', () => {
  it('matches hand values', () => {
    const out = new Float32Array(3);
    ref.swigluForward(out, new Float32Array([0, 1, -2]), new Float32Array([5, 2, 3]), 3);
    expectClose(out, [0, 2 / (1 + Math.exp(-1)), (3 * -2) / (1 + Math.exp(2))], 1e-6);
  });

  it('gradients of gate and up', () => {
    const n = 17;
    expectGrad(
      {
        inputs: { gate: rand(n, 4), up: rand(n) },
        forward: (x) => {
          const out = new Float64Array(n);
          ref.swigluForward(f32(out), f32(x.gate), f32(x.up), n);
          return out;
        },
        backward: (x, dout) => {
          const dg = new Float64Array(n),
            du = new Float64Array(n);
          ref.swigluBackward(f32(dg), f32(du), f32(dout), f32(x.gate), f32(x.up), n);
          return { gate: dg, up: du };
        },
      },
      15,
    );
  });
});

describe('embedding', () => {
  it('gathers rows and scatters gradients with repeats', () => {
    const V = 5,
      C = 3,
      N = 4;
    const ids = new Int32Array([4, 0, 4, 2]);
    expectGrad(
      {
        inputs: { table: rand(V * C) },
        forward: (x) => {
          const out = new Float64Array(N * C);
          ref.embeddingForward(f32(out), f32(x.table), ids, N, C);
          return out;
        },
        backward: (_x, dout) => {
          const dt = new Float64Array(V * C);
          ref.embeddingBackward(f32(dt), f32(dout), ids, N, C);
          return { table: dt };
        },
      },
      16,
    );
    const out = new Float32Array(N * C);
    ref.embeddingForward(
      out,
      new Float32Array(V * C).map((_, i) => i),
      ids,
      N,
      C,
    );
    expect(Array.from(out)).toEqual([12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8]);
  });
});

describe('crossEntropyLmHead', () => {
  // V > the 1024-row chunk so the online logsumexp crosses a chunk boundary.
  const N = 4,
    C = 3,
    V = 1100;
  const labels = new Int32Array([5, -100, 1099, 1024]);

  it('matches a naive full-logits log-softmax', () => {
    const h = rand(N * C),
      W = rand(V * C, 3);
    let expected = 0;
    for (let n = 0; n < N; n++) {
      if (labels[n] === -100) continue;
      const z: number[] = [];
      for (let v = 0; v < V; v++)
        z.push(h[n * C] * W[v * C] + h[n * C + 1] * W[v * C + 1] + h[n * C + 2] * W[v * C + 2]);
      const m = Math.max(...z);
      expected += -(z[labels[n]] - m - Math.log(z.reduce((a, c) => a + Math.exp(c - m), 0)));
    }
    const loss = ref.crossEntropyLmHead(null, null, f32(h), f32(W), labels, N, C, V, 1);
    expect(Math.abs(loss - expected)).toBeLessThanOrEqual(F64_REL * Math.abs(expected));
  });

  it('gradients of hidden and W (dW accumulates, gradScale applied, ignored rows get zero)', () => {
    const gradScale = 0.37;
    expectGrad(
      {
        inputs: { h: rand(N * C), W: rand(V * C) },
        forward: (x) =>
          new Float64Array([gradScale * ref.crossEntropyLmHead(null, null, f32(x.h), f32(x.W), labels, N, C, V, 1)]),
        backward: (x, dout) => {
          const dh = new Float64Array(N * C).fill(7);
          const dW = new Float64Array(V * C).fill(0.5);
          ref.crossEntropyLmHead(f32(dh), f32(dW), f32(x.h), f32(x.W), labels, N, C, V, gradScale * dout[0]);
          return { h: dh, W: dW.map((v) => v - 0.5) };
        },
      },
      17,
      300,
    );
  });

  it('rejects a label outside the vocabulary', () => {
    expect(() =>
      ref.crossEntropyLmHead(null, null, new Float32Array(3), new Float32Array(6), new Int32Array([2]), 1, 3, 2, 1),
    ).toThrow(RangeError);
  });
});

describe('bias', () => {
  it('addBias gradient via biasBackward (db accumulates)', () => {
    const N = 3,
      C = 4;
    expectGrad(
      {
        inputs: { x: rand(N * C), b: rand(C) },
        forward: (x) => {
          const y = Float64Array.from(x.x);
          ref.addBias(f32(y), f32(x.b), N, C);
          return y;
        },
        backward: (_x, dout) => {
          const db = new Float64Array(C).fill(1);
          ref.biasBackward(f32(db), f32(dout), N, C);
          return { x: dout, b: db.map((v) => v - 1) };
        },
      },
      18,
    );
  });
});

describe('adamw', () => {
  it('matches torch.optim.AdamW written as torch writes it, over 3 steps', () => {
    const n = 9;
    const o = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const p = rand(n),
      m = new Float64Array(n),
      v = new Float64Array(n);
    const tp = Float64Array.from(p),
      tm = new Float64Array(n),
      tv = new Float64Array(n);
    for (let step = 1; step <= 3; step++) {
      const g = rand(n);
      ref.adamw(f32(p), f32(g), f32(m), f32(v), n, { ...o, step });
      for (let i = 0; i < n; i++) {
        // torch/optim/adamw.py _single_tensor_adamw: param.mul_(1 - lr*wd); exp_avg.lerp_(grad, 1-beta1);
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1-beta2); denom = sqrt(v)/sqrt(bc2) + eps;
        // param.addcdiv_(exp_avg, denom, value=-lr/bc1).
        tp[i] *= 1 - o.lr * o.weightDecay;
        tm[i] += (g[i] - tm[i]) * (1 - o.beta1);
        tv[i] = tv[i] * o.beta2 + g[i] * g[i] * (1 - o.beta2);
        const denom = Math.sqrt(tv[i]) / Math.sqrt(1 - o.beta2 ** step) + o.eps;
        tp[i] += (-o.lr / (1 - o.beta1 ** step)) * (tm[i] / denom);
      }
    }
    expectClose(p, tp, 1e-12, 1e-15);
    expectClose(m, tm, 1e-12, 1e-15);
    expectClose(v, tv, 1e-12, 1e-15);
  });
});

describe('reductions and elementwise', () => {
  it('sumSquares, scale, axpy', () => {
    const x = new Float32Array([1, -2, 3, 0.5]);
    expect(ref.sumSquares(x, 4)).toBe(14.25);
    expect(ref.sumSquares(x, 2)).toBe(5);
    const y = new Float32Array([1, 1, 1, 1]);
    ref.axpy(y, 2, x, 4);
    expect(Array.from(y)).toEqual([3, -3, 7, 2]);
    ref.scale(y, 0.5, 3);
    expect(Array.from(y)).toEqual([1.5, -1.5, 3.5, 2]);
  });
});

describe('dropout (counter-based mask)', () => {
  const o = { p: 0.3, seed: 77 };

  it('drops about p of the elements, scales the rest by 1/(1-p), and depends only on (seed, counter)', () => {
    const n = 20000;
    const x = new Float32Array(n).fill(1);
    const out = new Float32Array(n);
    ref.dropoutForward(out, x, n, o.p, o.seed, 5);
    const kept = out.filter((v) => v !== 0);
    // Binomial(20000, 0.7): sd = 65, so +-4 sd = 260 elements.
    expect(Math.abs(kept.length - 0.7 * n)).toBeLessThan(260);
    expect(kept.every((v) => v === Math.fround(1 / 0.7))).toBe(true);
    // Two calls over [5, 105) and [105, 205) are one call over [5, 205): the mask is per counter, not per call.
    const a = new Float32Array(200);
    ref.dropoutForward(a.subarray(0, 100), x, 100, o.p, o.seed, 5);
    ref.dropoutForward(a.subarray(100), x, 100, o.p, o.seed, 105);
    expect(Array.from(a)).toEqual(Array.from(out.subarray(0, 200)));
    // Another seed, another mask; p = 0 keeps everything unscaled.
    const b = new Float32Array(200);
    ref.dropoutForward(b, x, 200, o.p, o.seed + 1, 5);
    expect(Array.from(b)).not.toEqual(Array.from(a));
    ref.dropoutForward(b, x, 200, 0, o.seed, 5);
    expect(b.every((v) => v === 1)).toBe(true);
    expect(() => ref.dropoutForward(b, x, 1, 1, 0, 0)).toThrow(RangeError);
    expect(() => ref.dropoutForward(b, x, 1, 0.1, 0, -1)).toThrow(RangeError);
  });

  it('mixes the high counter word: offsets 2^32 apart give unrelated masks', () => {
    const x = new Float32Array(256).fill(1);
    const lo = new Float32Array(256);
    const hi = new Float32Array(256);
    ref.dropoutForward(lo, x, 256, 0.5, 3, 1000);
    ref.dropoutForward(hi, x, 256, 0.5, 3, 2 ** 32 + 1000);
    let same = 0;
    for (let i = 0; i < 256; i++) if ((lo[i] === 0) === (hi[i] === 0)) same++;
    expect(same).toBeGreaterThan(80); // about half agree by chance
    expect(same).toBeLessThan(176);
  });

  it('backward is the transpose of forward (finite differences), and accumulates', () => {
    const n = 60;
    const x = rand(n);
    expectGrad(
      {
        inputs: { x },
        forward: (i) => {
          const out = new Float64Array(n);
          ref.dropoutForward(f32(out), f32(i.x), n, o.p, o.seed, 11);
          return out;
        },
        backward: (_i, dout) => {
          const dx = new Float64Array(n).fill(0.25);
          ref.dropoutBackward(f32(dx), f32(dout), n, o.p, o.seed, 11);
          return { x: dx.map((v) => v - 0.25) };
        },
      },
      5,
    );
  });
});

describe('label shift, softmax rows, bf16 embedding', () => {
  it('shiftLabels moves each row left by one and ends it with -100', () => {
    const out = new Int32Array(6).fill(9);
    ref.shiftLabels(out, Int32Array.of(1, 2, 3, 4, 5, 6), 2, 3);
    expect(Array.from(out)).toEqual([2, 3, -100, 5, 6, -100]);
  });

  it('softmaxRows matches exp / sum per row (and is shift-invariant)', () => {
    const x = new Float64Array([1, 2, 3, 1000, 1001, 1002]);
    ref.softmaxRows(f32(x), 2, 3);
    const e = [Math.exp(-2), Math.exp(-1), 1];
    const s = e[0] + e[1] + e[2];
    expectClose(x, [...e.map((v) => v / s), ...e.map((v) => v / s)], F64_REL);
  });

  it('embeddingForwardBf16 gathers widened bf16 rows', () => {
    const table = toBf16(new Float32Array([0.1, -2.5, 3.3, 7, 1e-3, -0.75]));
    const out = new Float32Array(6);
    ref.embeddingForwardBf16(out, table, Int32Array.of(2, 0, 2), 3, 2);
    const w = fromBf16(table);
    expect(Array.from(out)).toEqual([w[4], w[5], w[0], w[1], w[4], w[5]]);
  });
});

describe('crossEntropyLmHeadBf16', () => {
  const N = 5,
    C = 12,
    V = 1500; // crosses the 1024-row chunk
  const hidden = Float32Array.from(rand(N * C));
  const Wf = Float32Array.from(rand(V * C, 0.5));
  const W = toBf16(Wf);
  const labels = Int32Array.of(3, -100, 1499, 1024, 0);

  it('equals the fp32 LM head on bf16-rounded hidden and widened W (loss)', () => {
    const h16 = hidden.map(bf16Round);
    const want = ref.crossEntropyLmHead(null, null, h16, fromBf16(W), labels, N, C, V, 1);
    const got = ref.crossEntropyLmHeadBf16(null, hidden, W, labels, N, C, V, 1);
    // The bf16 path stores each logit as fp32 (as the GEMM does): relative 6e-8 per logit.
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * want);
  });

  it('dhidden is bf16(dlogits) W: within bf16 rounding of the unrounded gradient, ignored rows zero', () => {
    const h16 = hidden.map(bf16Round);
    const want = new Float32Array(N * C);
    ref.crossEntropyLmHead(want, null, h16, fromBf16(W), labels, N, C, V, 0.5);
    const got = new Float32Array(N * C).fill(Number.NaN);
    ref.crossEntropyLmHeadBf16(got, hidden, W, labels, N, C, V, 0.5);
    // Each dlogit is rounded to 8 significant bits (relative 2^-9); summed over V rows the error stays within
    // 2^-9 of sum |dz| |W| <= 2^-9 * 2 * 0.5 * max|W| per element: 1e-3 absolute bounds it with margin.
    expectClose(got, want, 0, 1e-3);
    expect(Array.from(got.subarray(C, 2 * C))).toEqual(new Array(C).fill(0));
    expect(() => ref.crossEntropyLmHeadBf16(null, hidden, W, Int32Array.of(0, 0, 0, 0, V), N, C, V, 1)).toThrow(
      RangeError,
    );
  });
});
