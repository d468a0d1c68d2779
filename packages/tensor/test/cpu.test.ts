/**
 * The native cpu backend against the reference backend (itself checked against finite differences and independent
 * formulas in reference.test.ts), every op forward and backward, from one seed. Shapes are odd on purpose: M, N, K
 * off the micro-kernel tiles (12x32, 6x16, 4x8) and across the cache blocks, attention
 * across the 64-row query block and the cache blocks (K > 384, N > 320), cross-entropy across the 4096-row vocab chunk. Every array is a view at a non-zero,
 * unaligned offset inside a larger buffer whose guard cells must come back untouched (no out-of-bounds writes).
 *
 * Tolerances (|cpu - ref| <= atol + rtol |ref|), in the style of tinygrad's helper_test_op:
 * - values: atol 1e-5, rtol 1e-4. The cpu backend computes in float32 with a different summation order (blocked
 *   GEMM, threads) than the reference's float64; for inputs of magnitude ~1 and sums of up to a few hundred terms the
 *   float32 error is ~ sqrt(K) * 6e-8 * |terms| ~ 1e-6, so this is a ten-fold margin, yet far below any real bug.
 * - gradients: atol 1e-4, rtol 1e-3. Backward ops chain several float32 reductions (softmax, dS, rmsnorm dot) and
 *   differences of nearly equal terms (P (dP - delta)), which amplifies float32 rounding by ~10x.
 * - scalar float64 results (losses, sumSquares): rtol 1e-5 (the logits themselves are float32 in the cpu backend).
 * - GEMM outputs also get the float32 summation bound for their terms: 4 sqrt(K) u (|alpha| |A||B| + |beta C|)_ij,
 *   u = 2^-24 (the probabilistic form of Higham's gamma_K |A||B|). An entry that is a small difference of large
 *   terms (0.025 out of terms summing to ~100 in absolute value at K = 400) is off by ~2e-5 in any float32 order of
 *   summation, which atol/rtol alone called a failure once the blocking changed; a wrong term is still off by ~1.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../src/backend';
import { cpuAvailable, cpuInfo, loadCpuAddon, loadCpuKernels } from '../src/cpu';
import { createBackend, fromBf16, referenceKernels as ref, toBf16 } from '../src/index';
import { rng } from './helpers';

const VAL = { atol: 1e-5, rtol: 1e-4 };
const GRAD = { atol: 1e-4, rtol: 1e-3 };
const SCALAR_RTOL = 1e-5;

const r = rng(20261129);
const GUARD = 5;
const GUARD_VALUE = 12345.5;

type TView<T extends Float32Array | Int32Array> = { v: T; guards: () => boolean };

/**
 * A view of n elements at an odd offset inside a buffer with guard cells on both sides. g: the random stream (a
 * test added later takes its own, so the inputs of the tests after it stay what they were).
 */
function view(n: number, fill?: (i: number) => number, g: () => number = r): TView<Float32Array> {
  fill ??= () => g() * 2 - 1;
  const off = 1 + Math.floor(g() * 3); // odd byte offsets of 4..12: never 64-byte aligned
  const buf = new Float32Array(off + n + GUARD).fill(GUARD_VALUE);
  const v = buf.subarray(off, off + n);
  for (let i = 0; i < n; i++) v[i] = fill(i);
  const guards = () =>
    buf.subarray(0, off).every((x) => x === GUARD_VALUE) && buf.subarray(off + n).every((x) => x === GUARD_VALUE);
  return { v, guards };
}

function ints(values: number[]): Int32Array {
  const buf = new Int32Array(values.length + 2);
  buf.set(values, 1);
  return buf.subarray(1, 1 + values.length);
}

const copy = (x: Float32Array): Float32Array => Float32Array.from(x);
const abs = (x: Float32Array): Float32Array => x.map(Math.abs);

/** 4 sqrt(K) 2^-24 (|alpha| |A||B| + |beta C|): float32 summation error of each GEMM output (see the header). */
function gemmBound(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  N: number,
  K: number,
  o: { transA?: boolean; transB?: boolean; alpha: number; beta: number },
): Float32Array {
  const bound = abs(c).map((x) => (o.beta === 0 ? 0 : Math.abs(o.beta) * x));
  ref.matmul(bound, abs(a), abs(b), M, N, K, { transA: o.transA, transB: o.transB, alpha: Math.abs(o.alpha), beta: 1 });
  return bound.map((x) => 4 * Math.sqrt(K) * 2 ** -24 * x);
}

function expectClose(
  name: string,
  got: Float32Array,
  want: Float32Array,
  tol: { atol: number; rtol: number },
  /** Per element, an extra allowance (the float32 summation bound of a GEMM's terms). */
  extra?: Float32Array,
): void {
  expect(got.length, name).toBe(want.length);
  let worst = 0;
  let where = '';
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    const err = diff === 0 ? 0 : diff / (tol.atol + tol.rtol * Math.abs(want[i]) + (extra?.[i] ?? 0));
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      where = `${name}[${i}]: cpu ${got[i]} reference ${want[i]}`;
    }
  }
  expect(worst, where).toBeLessThanOrEqual(1);
}

it('the native addon loads and reports its pool and kernel', () => {
  expect(cpuAvailable()).toBe(true);
  const info = cpuInfo();
  expect(info?.threads).toBeGreaterThanOrEqual(1);
  expect(['avx512', 'avx2', 'scalar']).toContain(info?.kernel);
  expect(createBackend('auto').name).toBe('cpu');
});

it('sizes its one pool from CRUCIBLE_THREADS', () => {
  const addonPath = fileURLToPath(new URL('../build/Release/crucible_tensor.node', import.meta.url));
  const out = execFileSync(
    process.execPath,
    ['-e', `console.log(require(${JSON.stringify(addonPath)}).info().threads)`],
    {
      env: { ...process.env, CRUCIBLE_THREADS: '3' },
    },
  );
  expect(out.toString().trim()).toBe('3');
});

it('is safe to call from several JS threads at once (worker_threads take turns)', async () => {
  const addonPath = fileURLToPath(new URL('../build/Release/crucible_tensor.node', import.meta.url));
  // Each worker runs GEMMs big enough to use the pool and checks them against a naive product of its own data.
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const a = require(workerData.addonPath);
    const n = 96, A = new Float32Array(n * n), B = new Float32Array(n * n), C = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) { A[i] = ((i * 7 + workerData.seed) % 13) - 6; B[i] = ((i * 5 + workerData.seed) % 11) - 5; }
    const want = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += A[i * n + k] * B[k * n + j]; want[i * n + j] = s; }
    let ok = true;
    for (let r = 0; r < 30; r++) { a.matmul(C, A, B, n, n, n, false, false, 1, 0); for (let i = 0; i < n * n; i++) if (C[i] !== want[i]) ok = false; }
    parentPort.postMessage(ok);`;
  const runOne = (seed: number) =>
    new Promise<boolean>((resolve, reject) => {
      const w = new Worker(src, { eval: true, workerData: { addonPath, seed } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  // small integers: every product and partial sum is exact in float32, so any race shows as a mismatch
  expect(await Promise.all([runOne(1), runOne(2), runOne(3)])).toEqual([true, true, true]);
});

const cpu: Kernels = loadCpuKernels();
const addon = loadCpuAddon();
// Every op runs on each SIMD level this CPU has (GEMM micro-kernel and vectorised exp loops switch together).
const kernels = ['avx512', 'avx2', 'scalar'].filter((k) => addon?.setKernel(k));
addon?.setKernel('auto');

describe.each(kernels)('%s kernels', (kernel) => {
  beforeAll(() => expect(addon?.setKernel(kernel)).toBe(true));
  afterAll(() => addon?.setKernel('auto'));
  opSuite();
});

function opSuite(): void {
  describe('matmul', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 300, 70], // M <= 4: the small-M (decoding) path
      [3, 45, 1000],
      [4, 33, 7],
      [13, 37, 29],
      [12, 32, 256],
      [50, 70, 300],
      [150, 33, 17],
      [5, 4200, 8],
      [7, 3, 600],
      [30, 700, 400],
    ];
    const coeffs = [
      { alpha: 1, beta: 0 },
      { alpha: 0.5, beta: 1 },
      { alpha: -1.5, beta: 0.25 },
    ];

    // Every shape with all four transposes, cycling alpha/beta, inputs from the random stream g.
    const checkShapes = (list: [number, number, number][], g: () => number): void => {
      let i = 0;
      for (const [M, N, K] of list) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const { alpha, beta } = coeffs[i++ % coeffs.length];
            const a = view(M * K, undefined, g),
              b = view(K * N, undefined, g);
            // beta = 0 must ignore whatever is in C, NaN included
            const c = view(M * N, () => (beta === 0 ? Number.NaN : g() * 2 - 1), g);
            const want = copy(c.v);
            const bound = gemmBound(a.v, b.v, c.v, M, N, K, { transA, transB, alpha, beta });
            ref.matmul(want, a.v, b.v, M, N, K, { transA, transB, alpha, beta });
            cpu.matmul(c.v, a.v, b.v, M, N, K, { transA, transB, alpha, beta });
            expectClose(`C ${M}x${N}x${K} tA=${transA} tB=${transB}`, c.v, want, VAL, bound);
            expect(c.guards() && a.guards() && b.guards()).toBe(true);
          }
        }
      }
    };

    it('matches the reference on odd shapes, transposes, alpha/beta and views', () => checkShapes(shapes, r));

    // LoRA's skinny products (r = 8..32 columns, or r rows) take their own kernel on AVX-512 (native/gemm.cc): N <= 16
    // and 16 < N <= 32 with ragged row blocks (24 and 12 rows), M <= 32 through the transposed product, K across the
    // 16-row chunks of a transposed A. Same tolerances and bound as above; its own random stream.
    it('matches the reference on skinny (LoRA) shapes, every transpose, alpha/beta and views', () =>
      checkShapes(
        [
          [100, 16, 45],
          [512, 16, 896],
          [77, 8, 300],
          [61, 32, 70],
          [49, 17, 33],
          [16, 300, 128],
          [5, 100, 40],
          [32, 48, 16],
          [24, 70, 200],
          [16, 896, 512],
        ],
        rng(20261207),
      ));

    it('matmulBf16W (bf16 weights) matches the reference', () => {
      let i = 0;
      for (const [M, N, K] of [
        [1, 1, 1],
        [13, 37, 29],
        [12, 32, 384],
        [50, 70, 771],
        [30, 700, 64],
        [2, 6000, 771], // the portable path widens W in column blocks: this crosses one
      ]) {
        for (const transB of [false, true]) {
          const { alpha, beta } = coeffs[i++ % coeffs.length];
          const a = view(M * K),
            w = toBf16(view(K * N).v);
          const c = view(M * N, () => (beta === 0 ? Number.NaN : r() * 2 - 1));
          const want = copy(c.v);
          ref.matmulBf16W(want, a.v, w, M, N, K, { transB, alpha, beta });
          cpu.matmulBf16W(c.v, a.v, w, M, N, K, { transB, alpha, beta });
          expectClose(`C ${M}x${N}x${K} tB=${transB}`, c.v, want, VAL);
          expect(c.guards() && a.guards()).toBe(true);
        }
      }
    });

    it('K = 0 gives beta * C; short arrays, wrong array types and bad sizes throw', () => {
      const c = new Float32Array([2, 4]);
      cpu.matmul(c, new Float32Array(0), new Float32Array(0), 1, 2, 0, { beta: 0.5 });
      expect(Array.from(c)).toEqual([1, 2]);
      expect(() => cpu.matmul(new Float32Array(4), new Float32Array(3), new Float32Array(4), 2, 2, 2)).toThrow(
        RangeError,
      );
      const f64 = new Float64Array(4) as unknown as Float32Array;
      const z = () => new Float32Array(4);
      expect(() => cpu.matmul(z(), f64, z(), 2, 2, 2)).toThrow(TypeError);
      expect(() => cpu.axpy(z(), 1, z(), -1)).toThrow(RangeError);
      expect(() => cpu.axpy(z(), 1, z(), 1.5)).toThrow(RangeError);
      expect(() => cpu.rmsnormBackward(z(), f64, z(), z(), z(), z(), 1, 2)).toThrow(TypeError);
    });
  });

  describe('rmsnorm', () => {
    for (const withDw of [true, false]) {
      it(`forward and backward (dw ${withDw ? 'accumulated' : 'null'})`, () => {
        const N = 7,
          C = 67,
          eps = 1e-6;
        const x = view(N * C),
          w = view(C),
          dout = view(N * C);
        const out = view(N * C),
          rstd = view(N);
        const rOut = new Float32Array(N * C),
          rRstd = new Float32Array(N);
        cpu.rmsnormForward(out.v, rstd.v, x.v, w.v, N, C, eps);
        ref.rmsnormForward(rOut, rRstd, x.v, w.v, N, C, eps);
        expectClose('out', out.v, rOut, VAL);
        expectClose('rstd', rstd.v, rRstd, VAL);
        const dx = view(N * C),
          dw = view(C, () => 0.5);
        const rDx = new Float32Array(N * C),
          rDw = new Float32Array(C).fill(0.5);
        cpu.rmsnormBackward(dx.v, withDw ? dw.v : null, dout.v, x.v, w.v, rRstd, N, C);
        ref.rmsnormBackward(rDx, withDw ? rDw : null, dout.v, x.v, w.v, rRstd, N, C);
        expectClose('dx', dx.v, rDx, GRAD);
        expectClose('dw', dw.v, rDw, GRAD);
        expect([x, w, dout, out, rstd, dx, dw].every((t) => t.guards())).toBe(true);
      });
    }
  });

  describe('rope', () => {
    it('forward and backward at large positions', () => {
      const N = 9,
        H = 3,
        D = 10,
        theta = 1e6;
      const pos = ints([0, 1, 2, 17, 100, 511, 1000, 4000, 32767]);
      const x = view(N * H * D);
      const want = copy(x.v);
      cpu.ropeForward(x.v, pos, N, H, D, theta);
      ref.ropeForward(want, pos, N, H, D, theta);
      expectClose('rope', x.v, want, VAL);
      cpu.ropeBackward(x.v, pos, N, H, D, theta);
      ref.ropeBackward(want, pos, N, H, D, theta);
      expectClose('rope^T', x.v, want, GRAD);
      expect(x.guards()).toBe(true);
    });
    it('with given frequencies (rescaled RoPE, Llama 3.1) equals the reference, and differs from plain theta', () => {
      const N = 5,
        H = 2,
        D = 8,
        theta = 5e5;
      const pos = ints([0, 3, 77, 900, 8191]);
      const inv = view(D / 2);
      inv.v.set([1, 0.1, 0.001, 1e-6]);
      const x = view(N * H * D);
      const want = copy(x.v);
      const plain = copy(x.v);
      cpu.ropeForward(x.v, pos, N, H, D, theta, inv.v);
      ref.ropeForward(want, pos, N, H, D, theta, inv.v);
      ref.ropeForward(plain, pos, N, H, D, theta);
      expectClose('rope(invFreq)', x.v, want, VAL);
      expect(Math.max(...x.v.map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(1e-3);
      cpu.ropeBackward(x.v, pos, N, H, D, theta, inv.v);
      ref.ropeBackward(want, pos, N, H, D, theta, inv.v);
      expectClose('rope(invFreq)^T', x.v, want, GRAD);
      expect(() => cpu.ropeForward(x.v, pos, N, H, D, theta, inv.v.subarray(0, 2))).toThrow(RangeError);
      expect(x.guards() && inv.guards()).toBe(true);
    });
  });

  describe('attention', () => {
    /** segStart of rows packed with sequences of these lengths (the rest of a row: one more sequence). */
    const packed = (T: number, rows: number[][]): number[] =>
      rows.flatMap((lens) => {
        const s: number[] = [];
        for (const n of [...lens, T - lens.reduce((a, c) => a + c, 0)])
          for (let i = 0; i < n; i++) s.push(s.length - i);
        return s;
      });
    const cases: {
      B: number;
      T: number;
      Hq: number;
      Hkv: number;
      D: number;
      keyLen?: number[];
      segStart?: number[];
    }[] = [
      { B: 1, T: 5, Hq: 2, Hkv: 2, D: 8 },
      { B: 2, T: 70, Hq: 6, Hkv: 2, D: 12, keyLen: [70, 33] },
      { B: 3, T: 130, Hq: 4, Hkv: 1, D: 64, keyLen: [0, 129, 65] },
      // neat packing: sequences that cross the 64-row query blocks, one of a single token, padding after keyLen,
      // and a sequence that starts after keyLen (its queries see nothing).
      { B: 1, T: 7, Hq: 2, Hkv: 1, D: 8, segStart: packed(7, [[3, 1]]) },
      {
        B: 3,
        T: 150,
        Hq: 4,
        Hkv: 2,
        D: 16,
        keyLen: [150, 120, 66],
        segStart: packed(150, [
          [40, 30, 1, 60],
          [64, 1, 50],
          [10, 60],
        ]),
      },
    ];
    for (const { B, T, Hq, Hkv, D, keyLen, segStart } of cases) {
      it(`forward and backward B=${B} T=${T} Hq=${Hq} Hkv=${Hkv} D=${D} keyLen=${keyLen ?? 'none'}${segStart ? ' packed' : ''}`, () => {
        const kl = keyLen ? ints(keyLen) : undefined;
        const ss = segStart ? ints(segStart) : undefined;
        const g = segStart ? rng(T) : r;
        const nq = B * T * Hq * D,
          nkv = B * T * Hkv * D;
        const q = view(nq, undefined, g),
          k = view(nkv, undefined, g),
          v = view(nkv, undefined, g),
          dout = view(nq, undefined, g);
        const out = view(nq, undefined, g),
          lse = view(B * Hq * T, undefined, g);
        const rOut = new Float32Array(nq),
          rLse = new Float32Array(B * Hq * T);
        cpu.attentionForward(out.v, lse.v, q.v, k.v, v.v, B, T, Hq, Hkv, D, kl, ss);
        ref.attentionForward(rOut, rLse, q.v, k.v, v.v, B, T, Hq, Hkv, D, kl, ss);
        expectClose('out', out.v, rOut, VAL);
        expectClose('lse', lse.v, rLse, VAL);
        const dq = view(nq, undefined, g),
          dk = view(nkv, undefined, g),
          dv = view(nkv, undefined, g);
        const rDq = new Float32Array(nq),
          rDk = new Float32Array(nkv),
          rDv = new Float32Array(nkv);
        cpu.attentionBackward(dq.v, dk.v, dv.v, dout.v, q.v, k.v, v.v, rOut, rLse, B, T, Hq, Hkv, D, kl, ss);
        ref.attentionBackward(rDq, rDk, rDv, dout.v, q.v, k.v, v.v, rOut, rLse, B, T, Hq, Hkv, D, kl, ss);
        expectClose('dq', dq.v, rDq, GRAD);
        expectClose('dk', dk.v, rDk, GRAD);
        expectClose('dv', dv.v, rDv, GRAD);
        expect([q, k, v, dout, out, lse, dq, dk, dv].every((t) => t.guards())).toBe(true);
      });
    }
  });

  it('attention refuses a segStart outside [0, i] before any work', () => {
    const [B, T, H, D] = [1, 3, 1, 2];
    const z = (n: number) => new Float32Array(n);
    const call = (s: number[]) => () =>
      cpu.attentionForward(
        z(B * T * H * D),
        z(B * H * T),
        z(B * T * H * D),
        z(B * T * H * D),
        z(B * T * H * D),
        B,
        T,
        H,
        H,
        D,
        undefined,
        ints(s),
      );
    expect(call([0, 2, 0])).toThrowError(/segStart\[1\] = 2 must lie in \[0, 1\]/);
    expect(call([0, 0, -1])).toThrow(RangeError);
    expect(call([0, 0])).toThrow(RangeError);
    expect(call([0, 1, 1])).not.toThrow();
  });

  describe('swiglu', () => {
    it('forward and backward', () => {
      const n = 1001;
      const gate = view(n, () => (r() * 2 - 1) * 8),
        up = view(n),
        dout = view(n);
      const out = view(n),
        rOut = new Float32Array(n);
      cpu.swigluForward(out.v, gate.v, up.v, n);
      ref.swigluForward(rOut, gate.v, up.v, n);
      expectClose('out', out.v, rOut, VAL);
      const dg = view(n),
        du = view(n),
        rDg = new Float32Array(n),
        rDu = new Float32Array(n);
      cpu.swigluBackward(dg.v, du.v, dout.v, gate.v, up.v, n);
      ref.swigluBackward(rDg, rDu, dout.v, gate.v, up.v, n);
      expectClose('dgate', dg.v, rDg, GRAD);
      expectClose('dup', du.v, rDu, GRAD);
      expect([gate, up, dout, out, dg, du].every((t) => t.guards())).toBe(true);
    });
  });

  describe('embedding', () => {
    it('forward and backward with repeated ids; ids out of range throw', () => {
      const V = 11,
        C = 37,
        N = 9;
      const ids = ints([3, 0, 10, 3, 3, 7, 0, 1, 10]);
      const table = view(V * C),
        dout = view(N * C),
        out = view(N * C),
        rOut = new Float32Array(N * C);
      cpu.embeddingForward(out.v, table.v, ids, N, C);
      ref.embeddingForward(rOut, table.v, ids, N, C);
      expectClose('out', out.v, rOut, { atol: 0, rtol: 0 }); // a gather is exact
      const dt = view(V * C, () => 0.25),
        rDt = new Float32Array(V * C).fill(0.25);
      cpu.embeddingBackward(dt.v, dout.v, ids, N, C);
      ref.embeddingBackward(rDt, dout.v, ids, N, C);
      expectClose('dtable', dt.v, rDt, GRAD);
      expect([table, dout, out, dt].every((t) => t.guards())).toBe(true);
      expect(() => cpu.embeddingForward(out.v, table.v, ints([0, 11]), 2, C)).toThrow(RangeError);
    });
  });

  describe('crossEntropyLmHead', () => {
    // V crosses the 4096-row vocab chunk; row 2 and 5 are ignored (-100).
    const N = 9,
      C = 24,
      V = 5000;
    const labels = ints([4999, 0, -100, 4096, 4095, -100, 17, 2048, 3]);
    // Rows of W past the first chunk are larger, so the running max grows across chunks (exercises the rescale).
    const hidden = view(N * C),
      W = view(V * C, (i) => (r() * 2 - 1) * (i >= 4096 * C ? 2 : 0.5));
    const gradScale = 0.3;
    const rDh = new Float32Array(N * C),
      rDW = new Float32Array(V * C).fill(0.125);
    const rLoss = ref.crossEntropyLmHead(rDh, rDW, hidden.v, W.v, labels, N, C, V, gradScale);

    for (const [wantDh, wantDW] of [
      [true, true],
      [true, false],
      [false, true],
      [false, false],
    ]) {
      it(`loss and gradients (dhidden ${wantDh ? 'on' : 'null'}, dW ${wantDW ? 'on' : 'null'})`, () => {
        const dh = view(N * C, () => Number.NaN),
          dW = view(V * C, () => 0.125);
        const loss = cpu.crossEntropyLmHead(
          wantDh ? dh.v : null,
          wantDW ? dW.v : null,
          hidden.v,
          W.v,
          labels,
          N,
          C,
          V,
          gradScale,
        );
        expect(Math.abs(loss - rLoss)).toBeLessThanOrEqual(SCALAR_RTOL * rLoss);
        if (wantDh) expectClose('dhidden', dh.v, rDh, GRAD);
        if (wantDW) expectClose('dW', dW.v, rDW, GRAD);
        expect([hidden, W, dh, dW].every((t) => t.guards())).toBe(true);
      });
    }

    it('every row labelled, and every row ignored', () => {
      const all = ints([1, 2, 3]);
      const h = view(3 * C),
        dh = view(3 * C),
        rDh3 = new Float32Array(3 * C);
      const loss = cpu.crossEntropyLmHead(dh.v, null, h.v, W.v, all, 3, C, V, 1);
      const want = ref.crossEntropyLmHead(rDh3, null, h.v, W.v, all, 3, C, V, 1);
      expect(Math.abs(loss - want)).toBeLessThanOrEqual(SCALAR_RTOL * want);
      expectClose('dhidden', dh.v, rDh3, GRAD);
      const none = cpu.crossEntropyLmHead(dh.v, null, h.v, W.v, ints([-100, -100, -100]), 3, C, V, 1);
      expect(none).toBe(0);
      expect(dh.v.every((x) => x === 0)).toBe(true);
      expect(() => cpu.crossEntropyLmHead(null, null, h.v, W.v, ints([V, 0, 0]), 3, C, V, 1)).toThrow(RangeError);
    });
  });

  describe('dropout', () => {
    // Integer hashing on both sides and one rounding of a double product: the cpu mask and values are the
    // reference's bit for bit (no tolerance). Offsets straddle 2^32 so the high counter word changes mid-call.
    for (const offset of [0, 2 ** 32 - 20_000, 2 ** 40 + 3]) {
      it(`forward and backward equal the reference exactly (offset ${offset})`, () => {
        const n = 50_003; // several threads' worth
        const o = { p: 0.15, seed: 4242 };
        const x = view(n),
          dout = view(n);
        const out = view(n, () => Number.NaN),
          rOut = new Float32Array(n);
        cpu.dropoutForward(out.v, x.v, n, o.p, o.seed, offset);
        ref.dropoutForward(rOut, x.v, n, o.p, o.seed, offset);
        expect(Buffer.compare(Buffer.from(out.v.slice().buffer), Buffer.from(rOut.buffer))).toBe(0);
        const dx = view(n, () => 0.5),
          rDx = new Float32Array(n).fill(0.5);
        cpu.dropoutBackward(dx.v, dout.v, n, o.p, o.seed, offset);
        ref.dropoutBackward(rDx, dout.v, n, o.p, o.seed, offset);
        expect(Buffer.compare(Buffer.from(dx.v.slice().buffer), Buffer.from(rDx.buffer))).toBe(0);
        expect([x, dout, out, dx].every((t) => t.guards())).toBe(true);
      });
    }
  });

  describe('bf16 embedding and LM head', () => {
    it('embeddingForwardBf16 equals the reference exactly', () => {
      const V = 9,
        C = 21,
        N = 7;
      const table = toBf16(view(V * C).v);
      const ids = ints([8, 0, 3, 3, 7, 1, 8]);
      const out = view(N * C),
        rOut = new Float32Array(N * C);
      cpu.embeddingForwardBf16(out.v, table, ids, N, C);
      ref.embeddingForwardBf16(rOut, table, ids, N, C);
      expectClose('out', out.v, rOut, { atol: 0, rtol: 0 });
      expect(out.guards()).toBe(true);
    });

    it('crossEntropyLmHeadBf16 loss and dhidden match the reference', () => {
      const N = 9,
        C = 24,
        V = 5000;
      const labels = ints([4999, 0, -100, 4096, 4095, -100, 17, 2048, 3]);
      const hidden = view(N * C),
        W = toBf16(view(V * C, (i) => (r() * 2 - 1) * (i >= 4096 * C ? 2 : 0.5)).v);
      const dh = view(N * C, () => Number.NaN),
        rDh = new Float32Array(N * C);
      const loss = cpu.crossEntropyLmHeadBf16(dh.v, hidden.v, W, labels, N, C, V, 0.3);
      const want = ref.crossEntropyLmHeadBf16(rDh, hidden.v, W, labels, N, C, V, 0.3);
      expect(Math.abs(loss - want)).toBeLessThanOrEqual(SCALAR_RTOL * want);
      // Both sides round to bf16 before the dlogits x W products, differently: the kernel rounds each exp(z - m)
      // (so each p_v) and subtracts W[label] exactly, the reference rounds each dlogit g (p_v - onehot_v). bf16
      // keeps 8 significant bits, so nearest-even rounding moves a value by at most 2^-8 of itself. The kernel's
      // error is then <= 2^-8 g sum_v p_v |W_vc| <= 2^-8 g max|W|, the reference's <= 2^-8 sum_v |dlogit_v| max|W|
      // <= 2^-8 2 g max|W| (|p - onehot| sums to 2 (1 - p_label)): apart by at most 3 2^-8 g max|W| (7e-3 at g = 0.3,
      // max|W| = 2), plus float32 noise (1e-4). (An earlier bound of 2^-8 g max|W| took 2^-9 as the unit roundoff
      // and ignored the reference's own rounding; random data reached 1.2x it, with the kernel within 2e-6 of an
      // exact emulation of its rounding.)
      const maxW = fromBf16(W).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expectClose('dhidden', dh.v, rDh, { atol: 3 * 2 ** -8 * 0.3 * maxW + 1e-4, rtol: 0 });
      expect(cpu.crossEntropyLmHeadBf16(null, hidden.v, W, labels, N, C, V, 1)).toBeCloseTo(want / 1, 3);
      expect([hidden, dh].every((t) => t.guards())).toBe(true);
    });
  });

  describe('bias, adamw, reductions', () => {
    it('addBias and biasBackward', () => {
      const N = 13,
        C = 29;
      const x = view(N * C),
        b = view(C),
        dout = view(N * C);
      const want = copy(x.v);
      cpu.addBias(x.v, b.v, N, C);
      ref.addBias(want, b.v, N, C);
      expectClose('x', x.v, want, VAL);
      const db = view(C, () => 1),
        rDb = new Float32Array(C).fill(1);
      cpu.biasBackward(db.v, dout.v, N, C);
      ref.biasBackward(rDb, dout.v, N, C);
      expectClose('db', db.v, rDb, GRAD);
      expect([x, b, dout, db].every((t) => t.guards())).toBe(true);
    });

    it('adamw over 3 steps', () => {
      const n = 40_001; // above the threading grain
      const o = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
      const p = view(n),
        m = view(n, () => 0),
        v = view(n, () => 0);
      const rp = copy(p.v),
        rm = new Float32Array(n),
        rv = new Float32Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = view(n);
        cpu.adamw(p.v, g.v, m.v, v.v, n, { ...o, step });
        ref.adamw(rp, g.v, rm, rv, n, { ...o, step });
      }
      expectClose('p', p.v, rp, VAL);
      expectClose('m', m.v, rm, VAL);
      expectClose('v', v.v, rv, VAL);
      expect([p, m, v].every((t) => t.guards())).toBe(true);
    });

    it('sumSquares, scale, axpy', () => {
      const n = 100_003;
      const x = view(n),
        y = view(n);
      expect(Math.abs(cpu.sumSquares(x.v, n) - ref.sumSquares(x.v, n))).toBeLessThanOrEqual(
        1e-12 * ref.sumSquares(x.v, n),
      );
      const want = copy(y.v);
      cpu.axpy(y.v, -0.75, x.v, n);
      ref.axpy(want, -0.75, x.v, n);
      expectClose('axpy', y.v, want, VAL);
      cpu.scale(y.v, 1.5, n - 1);
      ref.scale(want, 1.5, n - 1);
      expectClose('scale', y.v, want, VAL);
      expect(x.guards() && y.guards()).toBe(true);
    });
  });
}
