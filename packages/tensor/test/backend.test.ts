/**
 * The handle layer (Backend) of both host backends: memory (alloc, views, upload/download, frozen weights), the
 * data-movement ops, dtype checks with clear errors, device scalars, and that each compute op reaches the kernel it
 * wraps (a bf16 right operand goes to the bf16 GEMM). The kernels' numbers are tested in reference.test.ts and
 * cpu.test.ts; here equality with the kernel called directly is exact, since the handle layer adds no arithmetic.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Kernels } from '../src/backend';
import { cpuAvailable, loadCpuKernels } from '../src/cpu';
import { createBackend, readScalar, referenceKernels, toBf16 } from '../src/index';
import { rng } from './helpers';

const r = rng(7);
const randF32 = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);

const cases: [string, () => Backend, () => Kernels][] = [
  ['reference', () => createBackend('reference'), () => referenceKernels],
];
if (cpuAvailable()) cases.push(['cpu', () => createBackend('cpu'), loadCpuKernels]);

describe.each(cases)('%s backend handles', (_name, mkBackend, mkKernels) => {
  const be = mkBackend();
  const k = mkKernels();

  it('allocates zeroed tensors of each dtype, and round-trips host data', () => {
    const t = be.alloc([2, 3]);
    expect([t.shape, t.dtype, t.device, t.size]).toEqual([[2, 3], 'f32', 'cpu', 6]);
    expect(Array.from(be.download(t))).toEqual([0, 0, 0, 0, 0, 0]);
    const x = randF32(6);
    be.upload(t, x);
    expect(be.download(t)).toEqual(x);
    const ids = be.alloc([3], 'i32');
    be.upload(ids, Int32Array.of(4, -100, 7));
    expect(Array.from(be.download(ids))).toEqual([4, -100, 7]);
    const bits = be.alloc([2], 'bf16');
    expect(be.download(bits)).toBeInstanceOf(Uint16Array);
    expect(() => be.upload(t, new Float32Array(5))).toThrow(RangeError);
    expect(() => be.upload(t, new Int32Array(6))).toThrow(TypeError);
    expect(() => be.alloc([2, -1])).toThrow(RangeError);
  });

  it('views share storage; writes through a view land in the parent', () => {
    const t = be.alloc([10]);
    const v = be.view(t, 4, [2, 2]);
    be.upload(v, Float32Array.of(1, 2, 3, 4));
    expect(Array.from(be.download(t))).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 0, 0]);
    be.fill(be.view(t, 0, [3]), 9);
    expect(Array.from(be.download(t)).slice(0, 4)).toEqual([9, 9, 9, 0]);
    expect(() => be.view(t, 8, [3])).toThrow(RangeError);
  });

  it('copy, copy2d, fill and shiftLabels move exactly what they say', () => {
    const a = be.alloc([6]);
    const b = be.alloc([6]);
    be.upload(a, Float32Array.of(1, 2, 3, 4, 5, 6));
    be.copy(b, a, 4);
    expect(Array.from(be.download(b))).toEqual([1, 2, 3, 4, 0, 0]);
    const c = be.alloc([8]);
    be.copy2d(c, a, 2, 2, 4, 3); // rows of 2 from stride 3 into stride 4
    expect(Array.from(be.download(c))).toEqual([1, 2, 0, 0, 4, 5, 0, 0]);
    be.fill(c, -1, 3);
    expect(Array.from(be.download(c))).toEqual([-1, -1, -1, 0, 4, 5, 0, 0]);
    expect(() => be.copy(be.alloc([6], 'i32'), a)).toThrow(TypeError);
    const lab = be.alloc([4], 'i32');
    be.upload(lab, Int32Array.of(5, 6, 7, 8));
    const sh = be.alloc([4], 'i32');
    be.shiftLabels(sh, lab, 2, 2);
    expect(Array.from(be.download(sh))).toEqual([6, -100, 8, -100]);
  });

  it('frozen weights: f32 and bf16, refused as write targets, downloaded as stored', () => {
    const w = randF32(12);
    const f = be.frozen([3, 4], 'f32', w);
    expect(be.download(f)).toEqual(w);
    const bits = toBf16(w);
    const h = be.frozen([3, 4], 'bf16', bits);
    expect(h.dtype).toBe('bf16');
    expect(be.download(h)).toEqual(bits);
    expect(() => be.frozen([3, 4], 'bf16', w as unknown as Uint16Array)).toThrow(TypeError);
    // transient: the caller reuses its buffer, the tensor must not change with it.
    const scratch = bits.slice();
    const t = be.frozen([3, 4], 'bf16', scratch, { transient: true });
    const tf = be.frozen([3, 4], 'f32', w.slice(), { transient: true });
    scratch.fill(7);
    expect(be.download(t)).toEqual(bits);
    expect(be.download(tf)).toEqual(w);
    expect(() => be.frozen([3, 5], 'f32', w)).toThrow(RangeError);
  });

  it('matmul dispatches on the right operand: f32 to SGEMM, bf16 to the bf16 GEMM (both transposes)', () => {
    const M = 5,
      N = 7,
      K = 9;
    const x = randF32(M * K);
    const w = randF32(N * K);
    const bits = toBf16(w);
    const a = be.alloc([M, K]);
    be.upload(a, x);
    const c = be.alloc([M, N]);
    be.matmul(c, a, be.frozen([N, K], 'bf16', bits.slice()), M, N, K, { transB: true });
    const want = new Float32Array(M * N);
    k.matmulBf16W(want, x, bits, M, N, K, { transB: true });
    expect(be.download(c)).toEqual(want);
    // input gradient: dX[M,K] = dY[M,N] W
    const dy = be.alloc([M, N]);
    const dyHost = randF32(M * N);
    be.upload(dy, dyHost);
    const dx = be.alloc([M, K]);
    be.matmul(dx, dy, be.frozen([N, K], 'bf16', bits.slice()), M, K, N, { alpha: 0.5 });
    const wantDx = new Float32Array(M * K);
    k.matmulBf16W(wantDx, dyHost, bits, M, K, N, { alpha: 0.5 });
    expect(be.download(dx)).toEqual(wantDx);
    const wf = be.frozen([N, K], 'f32', w.slice());
    be.matmul(c, a, wf, M, N, K, { transB: true });
    k.matmul(want, x, w, M, N, K, { transB: true });
    expect(be.download(c)).toEqual(want);
    expect(() => be.matmul(c, a, be.frozen([N, K], 'bf16', bits.slice()), M, N, K, { transA: true })).toThrow(
      TypeError,
    );
    expect(() => be.matmul(c, be.alloc([M, K], 'i32'), wf, M, N, K, { transB: true })).toThrow(/a must be an f32/);
  });

  it('reductions write device scalars: the LM-head loss sum and sumSquares', () => {
    const N = 4,
      C = 6,
      V = 11;
    const hidden = randF32(N * C);
    const W = randF32(V * C);
    const labels = Int32Array.of(1, -100, 10, 0);
    const metrics = be.alloc([6]);
    const ht = be.alloc([N, C]);
    be.upload(ht, hidden);
    const lt = be.alloc([N], 'i32');
    be.upload(lt, labels);
    const dh = be.alloc([N, C]);
    be.crossEntropyLmHead(be.view(metrics, 2, [2]), dh, null, ht, be.frozen([V, C], 'f32', W), lt, N, C, V, 0.5);
    const wantDh = new Float32Array(N * C);
    const loss = k.crossEntropyLmHead(wantDh, null, hidden, W, labels, N, C, V, 0.5);
    expect(be.download(dh)).toEqual(wantDh);
    be.sumSquares(be.view(metrics, 4, [2]), ht, N * C);
    const m = be.download(metrics);
    expect(readScalar(m, 0)).toBe(0);
    // A device scalar keeps the float64 result to about 48 bits (hi + lo f32 pair), not just an f32's 24.
    expect(Math.abs(readScalar(m, 2) - loss)).toBeLessThanOrEqual(1e-13 * loss);
    expect(m[2]).toBe(Math.fround(loss));
    expect(Math.abs(readScalar(m, 4) - k.sumSquares(hidden, N * C))).toBeLessThanOrEqual(1e-13 * loss);
    expect(() => be.sumSquares(be.view(metrics, 5, [1]), ht, 1)).toThrow(/device scalar/);
    // A bf16 LM head is frozen: asking for dW is an error, the loss still lands in its slot.
    const W16 = be.frozen([V, C], 'bf16', toBf16(W));
    expect(() => be.crossEntropyLmHead(metrics, null, be.alloc([V, C]), ht, W16, lt, N, C, V, 1)).toThrow(/frozen/);
    be.crossEntropyLmHead(metrics, null, null, ht, W16, lt, N, C, V, 1);
    expect(readScalar(be.download(metrics))).toBeCloseTo(
      k.crossEntropyLmHeadBf16(null, hidden, toBf16(W), labels, N, C, V, 1),
      12,
    );
  });

  it('embedding from a bf16 table, dropout with options, and bad ids', () => {
    const table = toBf16(randF32(5 * 3));
    const t = be.frozen([5, 3], 'bf16', table);
    const ids = be.alloc([2], 'i32');
    be.upload(ids, Int32Array.of(4, 1));
    const out = be.alloc([2, 3]);
    be.embeddingForward(out, t, ids, 2, 3);
    const want = new Float32Array(6);
    k.embeddingForwardBf16(want, table, Int32Array.of(4, 1), 2, 3);
    expect(be.download(out)).toEqual(want);
    be.upload(ids, Int32Array.of(4, 5));
    expect(() => be.embeddingForward(out, t, ids, 2, 3)).toThrow(RangeError);

    const x = be.alloc([100]);
    const xh = randF32(100);
    be.upload(x, xh);
    const d = be.alloc([100]);
    be.dropoutForward(d, x, 100, { p: 0.5, seed: 1, offset: 40 });
    const wantD = new Float32Array(100);
    k.dropoutForward(wantD, xh, 100, 0.5, 1, 40);
    expect(be.download(d)).toEqual(wantD);
  });
});
