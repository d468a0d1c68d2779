/**
 * Packed bf16 weights and their kernels (native/bf16w.cc, gemm_amx.cc, ce_bf16.cc) against the reference twins in
 * src/bf16-reference.ts, on every bf16 kernel this CPU has (AMX tiles, AVX-512 BF16, AVX-512F fp32 FMAs on blocks
 * widened from the packed weight, widened fp32). Shapes are odd on
 * purpose: M, N, K off the 16/32 tiles and the 12x32 micro-tile, K and N across the cache blocks (512 and 384
 * reduction elements), M = 1, K odd. Arrays are views at unaligned offsets inside buffers whose guard cells must come
 * back untouched.
 *
 * Tolerances (|native - reference| <= atol + rtol |reference|):
 * - GEMM: atol 1e-5, rtol 1e-4, as for matmulBf16W in cpu.test.ts. Both sides multiply the same bf16-rounded
 *   operands, and a product of two bf16 values (8 significant bits each) is exact in fp32, so the only difference is
 *   the summation: fp32 in blocks (native) against float64 (reference), ~ sqrt(K) 6e-8 |terms| ~ 1e-6 for K <= 1000.
 *   The K = 2000 case gets atol 1e-4.
 * - Cross-entropy loss: rtol 1e-5 (fp32 logits of exact bf16 products, float64 softmax sums on both sides).
 * - Cross-entropy dhidden: atol 4e-3 |gradScale| max|W|. The native second GEMM (sum_v p_v W_v) rounds each p_v to bf16
 *   (relative error <= 2^-8), the reference does not; since sum_v p_v = 1 the difference is at most
 *   2^-8 max|W| per element, plus fp32 noise.
 * Results must also be bit-identical with 1, 2 and 3 pool threads: the threads split rows or columns, never the
 * reduction, so every element is summed in the same order.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBf16 } from '../src/bf16';
import {
  crossEntropyLmHeadBf16Reference,
  embeddingForwardBf16Reference,
  matmulBf16PackedReference,
} from '../src/bf16-reference';
import {
  cpuInfo,
  loadBf16Ops,
  loadCpuAddon,
  packBf16Weight,
  packedBytesPerParam,
  type TBf16Kernel,
  type TPackedBf16Weight,
} from '../src/cpu';
import { rng } from './helpers';

const GEMM = { atol: 1e-5, rtol: 1e-4 };
const GEMM_LONG_K = { atol: 1e-4, rtol: 1e-4 };
const LOSS_RTOL = 1e-5;
const CE_GRAD_ATOL = 4e-3; // times |gradScale| max|W|

const r = rng(20261206);
const GUARD = 5;
const GUARD_VALUE = 12345.5;
const ops = loadBf16Ops();

function view(n: number, fill: (i: number) => number = () => r() * 2 - 1): { v: Float32Array; guards: () => boolean } {
  const off = 1 + Math.floor(r() * 3); // 4..12 bytes: never 64-byte aligned
  const buf = new Float32Array(off + n + GUARD).fill(GUARD_VALUE);
  const v = buf.subarray(off, off + n);
  for (let i = 0; i < n; i++) v[i] = fill(i);
  const guards = () =>
    buf.subarray(0, off).every((x) => x === GUARD_VALUE) && buf.subarray(off + n).every((x) => x === GUARD_VALUE);
  return { v, guards };
}

const bf16Weight = (n: number): Uint16Array => toBf16(Float32Array.from({ length: n }, () => r() * 2 - 1));

function expectClose(name: string, got: Float32Array, want: Float32Array, tol: { atol: number; rtol: number }): void {
  expect(got.length, name).toBe(want.length);
  let worst = 0;
  let where = '';
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    const err = diff === 0 ? 0 : diff / (tol.atol + tol.rtol * Math.abs(want[i]));
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      where = `${name}[${i}]: native ${got[i]} reference ${want[i]}`;
    }
  }
  expect(worst, where).toBeLessThanOrEqual(1);
}

const ALL: TBf16Kernel[] = ['amx', 'avx512bf16', 'avx512fma', 'widened'];
const kernels = ALL.filter((k) => ops.setBf16Kernel(k));
ops.setBf16Kernel('auto');
const cpuFlags = (() => {
  try {
    return (
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        .trim()
        .split(/\s+/) ?? []
    );
  } catch {
    return [];
  }
})();

const cpuVendor = (() => {
  try {
    return (
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^vendor_id\s*:(.*)$/m)?.[1]
        .trim() ?? ''
    );
  } catch {
    return '';
  }
})();

describe('kernel choice', () => {
  it('reports the bf16 kernel in use and why AMX is or is not usable', () => {
    const info = cpuInfo();
    expect(ALL).toContain(info?.bf16Kernel);
    expect(typeof info?.amx).toBe('string');
    // AMX is offered exactly when the probe says ok; the widened path always is.
    expect(kernels.includes('amx')).toBe(info?.amx === 'ok');
    expect(kernels).toContain('widened');
    // The auto choice: AMX, else vdpbf16ps on AMD only (Intel cores issue it at half the FMA rate: fp32 FMAs on
    // widened blocks are faster there), else the AVX-512F fp32 kernel, else the widened SGEMM.
    const amd = /AuthenticAMD/.test(cpuVendor);
    const preferred = (
      amd ? ['amx', 'avx512bf16', 'avx512fma', 'widened'] : ['amx', 'avx512fma', 'avx512bf16', 'widened']
    ) as TBf16Kernel[];
    expect(info?.bf16Kernel).toBe(preferred.find((k) => kernels.includes(k)));
    // (a build with -DCT_NO_SIMD has no SIMD kernels at all: the existing setKernel('avx512') tells)
    const simdBuild = loadCpuAddon()?.setKernel('avx512') ?? false;
    loadCpuAddon()?.setKernel('auto');
    if (simdBuild && cpuFlags.includes('avx512_bf16')) expect(kernels).toContain('avx512bf16');
    if (simdBuild && cpuFlags.includes('avx512bw')) expect(kernels).toContain('avx512fma');
    // A CPU that lists AMX-BF16 gets AMX, or a reason that is not "no AMX in cpuid" (the OS refused it).
    if (cpuFlags.includes('amx_bf16') && cpuFlags.includes('amx_tile')) expect(info?.amx).not.toMatch(/cpuid/);
    expect(ops.setBf16Kernel('nonsense' as TBf16Kernel)).toBe(false);
  });

  it('CRUCIBLE_NO_AMX turns AMX off and says so', () => {
    const addonPath = fileURLToPath(new URL('../build/Release/crucible_tensor.node', import.meta.url));
    const out = execFileSync(
      process.execPath,
      ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addonPath)}).info()))`],
      {
        env: { ...process.env, CRUCIBLE_NO_AMX: '1' },
      },
    );
    const info = JSON.parse(out.toString());
    expect(info.bf16Kernel).not.toBe('amx');
    expect(info.amx).toMatch(/CRUCIBLE_NO_AMX|cpuid|not compiled|arch_prctl|XCR0|AVX-512/);
  });
});

describe('packing', () => {
  it('round-trips the bits, holds ~2 bytes a parameter, and frees on release', () => {
    for (const [N, K] of [
      [1, 1],
      [17, 33],
      [16, 32],
      [100, 71],
      [64, 896],
    ]) {
      const w = bf16Weight(N * K);
      const p = packBf16Weight(w, N, K);
      expect([p.N, p.K, p.layout]).toEqual([N, K, 'tiles16x32']);
      expect(p.bytes).toBe(Math.ceil(N / 16) * Math.ceil(K / 32) * 1024);
      expect(ops.unpackBf16Weight(p)).toEqual(w);
      ops.releaseBf16Weight(p);
      expect(() => ops.unpackBf16Weight(p)).toThrow(/released/);
    }
    expect(packedBytesPerParam(packBf16Weight(bf16Weight(64 * 896), 64, 896))).toBe(2);
  });

  it('rejects what is not a packed weight, and shapes that do not match it', () => {
    const p = packBf16Weight(bf16Weight(32 * 40), 32, 40);
    const fake = { N: 32, K: 40, bytes: 2048, layout: 'tiles16x32' } as const;
    const c = new Float32Array(64);
    expect(() => ops.matmulBf16Packed(c, new Float32Array(80), fake, 2, false, 1, 0)).toThrow(TypeError);
    expect(() => ops.matmulBf16Packed(c, new Float32Array(79), p, 2, false, 1, 0)).toThrow(RangeError);
    expect(() => ops.matmulBf16Packed(new Float32Array(63), new Float32Array(80), p, 2, false, 1, 0)).toThrow(
      RangeError,
    );
    expect(() => packBf16Weight(new Uint16Array(10), 4, 3)).toThrow(RangeError);
    expect(() => packBf16Weight(new Uint16Array(0), 0, 3)).toThrow(RangeError);
    const lab = new Int32Array([1, 2]);
    expect(() => ops.crossEntropyLmHeadBf16(null, new Float32Array(80), p, lab, 2, 40, 33, 1)).toThrow(/V = 33/);
    expect(() =>
      ops.crossEntropyLmHeadBf16(null, new Float32Array(80), p, new Int32Array([1, 32]), 2, 40, 32, 1),
    ).toThrow(RangeError);
    expect(() => ops.embeddingForwardBf16(new Float32Array(80), p, new Int32Array([0, 32]), 2, 40)).toThrow(RangeError);
  });
});

type TGemmCase = {
  name: string;
  p: TPackedBf16Weight;
  M: number;
  transW: boolean;
  alpha: number;
  beta: number;
  a: Float32Array;
  c0: Float32Array;
  want: Float32Array;
  tol: { atol: number; rtol: number };
};
let cases: TGemmCase[] | null = null;
/** Inputs and reference results, made once and run on every kernel (the float64 reference is the slow part). */
function gemmCases(): TGemmCase[] {
  if (cases) return cases;
  cases = [];
  const coeffs = [
    { alpha: 1, beta: 0 },
    { alpha: 0.5, beta: 1 },
    { alpha: 1, beta: 1 },
    { alpha: -1.5, beta: 0.25 },
  ];
  let i = 0;
  // [M, N, K] of W [N, K]; the forward is [M, K] x W^T, the input gradient [M, N] x W
  for (const [M, N, K] of [
    [1, 1, 1],
    [1, 300, 70], // decoding: one row
    [3, 45, 1000],
    [13, 37, 29],
    [16, 16, 32],
    [32, 64, 64],
    [12, 32, 384],
    [50, 70, 771],
    [100, 300, 200],
    [40, 1000, 600], // many column tiles, two reduction blocks either way
    [33, 48, 1025], // K one past 1024 = two blocks of 512
    [7, 200, 2000],
  ]) {
    const w = bf16Weight(N * K);
    const p = packBf16Weight(w, N, K);
    for (const transW of [false, true]) {
      for (let t = 0; t < 2; t++) {
        const { alpha, beta } = coeffs[i++ % coeffs.length];
        const [inn, out] = transW ? [N, K] : [K, N];
        const a = Float32Array.from({ length: M * inn }, () => r() * 2 - 1);
        // beta = 0 must ignore whatever is in C, NaN included
        const c0 = Float32Array.from({ length: M * out }, () => (beta === 0 ? Number.NaN : r() * 2 - 1));
        const want = Float32Array.from(c0);
        matmulBf16PackedReference(want, a, w, N, K, M, transW, alpha, beta);
        const tol = Math.max(N, K) > 1200 ? GEMM_LONG_K : GEMM;
        cases.push({
          name: `M=${M} W=[${N},${K}] transW=${transW} a=${alpha} b=${beta}`,
          p,
          M,
          transW,
          alpha,
          beta,
          a,
          c0,
          want,
          tol,
        });
      }
    }
  }
  return cases;
}

describe.each(kernels)('%s kernel', (kernel) => {
  beforeAll(() => expect(ops.setBf16Kernel(kernel)).toBe(true));
  afterAll(() => ops.setBf16Kernel('auto'));

  it('matmulBf16Packed matches the reference: both uses, odd shapes, alpha/beta, views', () => {
    for (const g of gemmCases()) {
      const a = view(g.a.length, (i) => g.a[i]);
      const c = view(g.c0.length, (i) => g.c0[i]);
      ops.matmulBf16Packed(c.v, a.v, g.p, g.M, g.transW, g.alpha, g.beta);
      expectClose(`${kernel} ${g.name}`, c.v, g.want, g.tol);
      expect(c.guards() && a.guards()).toBe(true);
    }
  });

  it('crossEntropyLmHeadBf16 matches the reference cross-entropy on bf16-rounded operands', () => {
    for (const [N, C, V, ignore] of [
      [1, 8, 3, false],
      [13, 67, 5000, true], // V across the 4096-row chunk and off the 16-row tiles, C odd, some labels ignored
      [40, 96, 700, false],
    ] as const) {
      const w = bf16Weight(V * C);
      const p = packBf16Weight(w, V, C);
      const h = view(N * C, () => (r() * 2 - 1) * 2);
      const labels = Int32Array.from({ length: N }, (_, n) => (ignore && n % 4 === 1 ? -100 : Math.floor(r() * V)));
      const gradScale = 0.37;
      const dh = view(N * C, () => Number.NaN);
      const want = new Float32Array(N * C);
      const lossRef = crossEntropyLmHeadBf16Reference(want, h.v, w, labels, N, C, V, gradScale);
      const loss = ops.crossEntropyLmHeadBf16(dh.v, h.v, p, labels, N, C, V, gradScale);
      expect(Math.abs(loss - lossRef)).toBeLessThanOrEqual(LOSS_RTOL * Math.abs(lossRef));
      expect(ops.crossEntropyLmHeadBf16(null, h.v, p, labels, N, C, V, gradScale)).toBe(loss);
      expectClose(`${kernel} dhidden N=${N} C=${C} V=${V}`, dh.v, want, { atol: CE_GRAD_ATOL * gradScale, rtol: 0 });
      for (let n = 0; n < N; n++)
        if (labels[n] === -100) expect(dh.v.subarray(n * C, (n + 1) * C).every((x) => x === 0)).toBe(true);
      expect(dh.guards() && h.guards()).toBe(true);
    }
  });
});

it('embeddingForwardBf16 gathers rows of the packed weight, widened exactly', () => {
  const [V, C, N] = [70, 45, 9];
  const w = bf16Weight(V * C);
  const p = packBf16Weight(w, V, C);
  const ids = Int32Array.from({ length: N }, (_, n) => (n * 31) % V);
  const out = view(N * C);
  const want = new Float32Array(N * C);
  embeddingForwardBf16Reference(want, w, ids, N, C);
  ops.embeddingForwardBf16(out.v, p, ids, N, C);
  expect(Array.from(out.v)).toEqual(Array.from(want));
  expect(out.guards()).toBe(true);
});

it('gives bit-identical results with 1, 2 and 3 pool threads on every kernel', () => {
  const addonPath = fileURLToPath(new URL('../build/Release/crucible_tensor.node', import.meta.url));
  // Deterministic inputs from a formula, every kernel, both uses and the CE; prints a digest of the result bits.
  const src = `
    const a = require(${JSON.stringify(addonPath)});
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    const bits = (x) => { f[0] = x; return ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) & 0xffff; };
    const val = (i, s) => Math.sin(i * 12.9898 + s) * 0.9;
    let h = 2166136261;
    const mix = (arr) => { const w = new Uint32Array(arr.buffer, arr.byteOffset, arr.length); for (const x of w) h = Math.imul(h ^ x, 16777619) >>> 0; };
    for (const k of ['amx', 'avx512bf16', 'avx512fma', 'widened']) {
      if (!a.setBf16Kernel(k)) continue;
      for (const [M, N, K] of [[1, 70, 45], [77, 150, 600], [256, 96, 1100]]) {
        const w = Uint16Array.from({ length: N * K }, (_, i) => bits(val(i, 1)));
        const p = a.packBf16Weight(w, N, K);
        for (const tw of [false, true]) {
          const inn = tw ? N : K, out = tw ? K : N;
          const A = Float32Array.from({ length: M * inn }, (_, i) => val(i, 2));
          const C = Float32Array.from({ length: M * out }, (_, i) => val(i, 3));
          a.matmulBf16Packed(C, A, p, M, tw, 0.75, 0.5);
          mix(C);
        }
      }
      const V = 4200, Cc = 40, Nn = 20;
      const p = a.packBf16Weight(Uint16Array.from({ length: V * Cc }, (_, i) => bits(val(i, 4))), V, Cc);
      const hid = Float32Array.from({ length: Nn * Cc }, (_, i) => val(i, 5));
      const lab = Int32Array.from({ length: Nn }, (_, n) => (n * 997) % V);
      const dh = new Float32Array(Nn * Cc);
      mix(new Float64Array([a.crossEntropyLmHeadBf16(dh, hid, p, lab, Nn, Cc, V, 0.5)]));
      mix(dh);
    }
    console.log(h);`;
  const run = (threads: string) =>
    execFileSync(process.execPath, ['-e', src], { env: { ...process.env, CRUCIBLE_THREADS: threads } })
      .toString()
      .trim();
  const one = run('1');
  expect(run('2')).toBe(one);
  expect(run('3')).toBe(one);
});
