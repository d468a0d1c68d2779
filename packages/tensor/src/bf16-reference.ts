/**
 * Reference twins of the native packed-bf16 ops (native/bf16w.cc, gemm_amx.cc, ce_bf16.cc), written over the plain
 * bf16 bits [N, K] with the reference backend's own loops, so the tests hold every native kernel (AMX, AVX-512 BF16,
 * widened) to the same obvious semantics: operands rounded to bf16 (nearest even), products and sums in float64
 * (the native kernels accumulate in fp32; see the tolerances in test/bf16.test.ts).
 */
import type { F32 } from './backend';
import { bf16Round, fromBf16 } from './bf16';
import { referenceKernels as ref } from './reference';

/**
 * transW false: c[M, N] = alpha bf16(a)[M, K] W^T + beta c; true: c[M, K] = alpha bf16(a)[M, N] W + beta c, where
 * w holds W [N, K] as bf16 bits.
 */
export function matmulBf16PackedReference(
  c: F32,
  a: F32,
  w: Uint16Array,
  N: number,
  K: number,
  M: number,
  transW: boolean,
  alpha: number,
  beta: number,
): void {
  // matmulBf16W takes the weight as op(W)[K_red, N_out]: stored [N, K] with transB for x W^T, as is for dY W.
  if (!transW) ref.matmulBf16W(c, a, w, M, N, K, { transB: true, alpha, beta });
  else ref.matmulBf16W(c, a, w, M, K, N, { transB: false, alpha, beta });
}

/** crossEntropyLmHead on bf16-rounded hidden and the bf16 weight widened; dhidden written when not null, no dW. */
export function crossEntropyLmHeadBf16Reference(
  dhidden: F32 | null,
  hidden: F32,
  w: Uint16Array,
  labels: Int32Array,
  N: number,
  C: number,
  V: number,
  gradScale: number,
): number {
  const h = new Float64Array(N * C);
  for (let i = 0; i < N * C; i++) h[i] = bf16Round(hidden[i]);
  const W = Float64Array.from(fromBf16(w.subarray(0, V * C)));
  // The reference only indexes its arrays: float64 data through the F32-typed API keeps the sums exact-er.
  return ref.crossEntropyLmHead(dhidden, null, h as unknown as F32, W as unknown as F32, labels, N, C, V, gradScale);
}

/** out[N, C] = W[ids[n], :] widened from bf16 bits. */
export function embeddingForwardBf16Reference(out: F32, w: Uint16Array, ids: Int32Array, N: number, C: number): void {
  ref.embeddingForward(out, fromBf16(w), ids, N, C);
}
