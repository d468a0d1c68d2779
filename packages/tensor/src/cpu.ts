/**
 * The native cpu backend: Kernels over build/Release/crucible_tensor.node (native/*.cc), built by node-gyp at
 * `npm ci`, wrapped into a handle-level Backend by src/host.ts. Arrays go to C++ in place (zero-copy); the wrapper
 * only flattens option objects into numbers so a call allocates nothing. Shapes and index ranges are validated
 * natively (TypeError / RangeError) before any work.
 *
 * A few kernels are the shared TypeScript ones (memory-bound and small beside the GEMMs: softmax rows of a decoding
 * step, the label shift, the bf16 embedding gather on row-major bits). Frozen bf16 weights are packed once by the
 * backend (native/bf16w.cc: AMX tiles, AVX-512 BF16 or widened fp32, picked at run time and reported by info()).
 */
import { createRequire } from 'node:module';
import type { Backend, F32, Kernels } from './backend';
import { checkDropoutOffset, dropThreshold } from './dropout';
import { createHostBackend, type PackedBf16 } from './host';
import { referenceKernels } from './reference';

/**
 * The kernel of the packed bf16 GEMMs: AMX tiles, AVX-512 BF16 (vdpbf16ps), AVX-512F fp32 FMAs on the weight widened
 * per cache block, or the fp32 SGEMM on widened weights.
 */
export type TBf16Kernel = 'amx' | 'avx512bf16' | 'avx512fma' | 'widened';

/**
 * threads in the pool, the SGEMM micro-kernel in use, whether matmulBf16W runs on AVX-512 BF16 instructions, the
 * kernel of the packed bf16 GEMMs, and why AMX is or is not usable ('ok', or the reason: no AMX in cpuid, the
 * arch_prctl permission refused, ...).
 */
export type TCpuInfo = { threads: number; kernel: string; bf16: boolean; bf16Kernel: TBf16Kernel; amx: string };

/**
 * A frozen weight W[N, K] (torch Linear [out, in]) packed once into native memory as bf16 tiles (about 2 bytes a
 * parameter; `bytes` is the exact size). Opaque: only the functions below read it. The memory is freed by the GC or
 * at once by releaseBf16Weight.
 */
export type TPackedBf16Weight = {
  readonly N: number;
  readonly K: number;
  readonly bytes: number;
  readonly layout: 'tiles16x32';
};

/** The addon's raw exports (see native/addon.cc); positional arguments mirror Kernels with flattened options. */
export type TCpuAddon = {
  info(): TCpuInfo;
  /** 'avx512' | 'avx2' | 'scalar' | 'auto'; false when this CPU lacks the instructions. For tests and benchmarks. */
  setKernel(name: string): boolean;
  /** GFLOPS of an FMA-only loop on every pool thread for `seconds`: this machine's practical fp32 peak. */
  fmaPeak(seconds: number): number;
  matmul(
    c: F32,
    a: F32,
    b: F32,
    M: number,
    N: number,
    K: number,
    ta: boolean,
    tb: boolean,
    alpha: number,
    beta: number,
  ): void;
  matmulBf16W(
    c: F32,
    a: F32,
    w: Uint16Array,
    M: number,
    N: number,
    K: number,
    tb: boolean,
    alpha: number,
    beta: number,
  ): void;
  adamw(
    p: F32,
    g: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    step: number,
  ): void;
  /** Packs w [N, K] (bf16 bits, row-major) once; serves both y = x W^T and dX = dY W. */
  packBf16Weight(w: Uint16Array, N: number, K: number): TPackedBf16Weight;
  /** The original bf16 bits [N, K]. */
  unpackBf16Weight(w: TPackedBf16Weight): Uint16Array;
  /** Frees the native memory now; later use of w throws. */
  releaseBf16Weight(w: TPackedBf16Weight): void;
  /**
   * transW false: c[M, N] = alpha bf16(a)[M, K] W^T + beta c (forward); true: c[M, K] = alpha bf16(a)[M, N] W + beta c
   * (input gradient). a is rounded to bf16 (nearest even), products accumulate in fp32 (the semantics of matmulBf16W).
   */
  matmulBf16Packed(c: F32, a: F32, w: TPackedBf16Weight, M: number, transW: boolean, alpha: number, beta: number): void;
  /**
   * crossEntropyLmHead with the packed bf16 LM head W [V, C]: hidden rounded to bf16 for the logits, softmax and loss
   * in fp32/float64, dhidden (when not null) through the same bf16 weight; no dW (frozen). Returns the summed loss.
   */
  crossEntropyLmHeadBf16(
    dhidden: F32 | null,
    hidden: F32,
    w: TPackedBf16Weight,
    labels: Int32Array,
    N: number,
    C: number,
    V: number,
    gradScale: number,
  ): number;
  /** out[N, C] = W[ids[n], :] widened to fp32 (the tied embedding read from the packed LM head). */
  embeddingForwardBf16(out: F32, w: TPackedBf16Weight, ids: Int32Array, N: number, C: number): void;
  /**
   * 'amx' | 'avx512bf16' | 'avx512fma' | 'widened' | 'auto'; false when this CPU (or OS, for AMX) lacks it. Tests and
   * benchmarks.
   */
  setBf16Kernel(name: TBf16Kernel | 'auto'): boolean;
  /** GFLOPS of a TDPBF16PS-only loop on every pool thread for `seconds` (0 without AMX): the AMX bf16 peak. */
  amxPeak(seconds: number): number;
  /** GFLOPS of a vdpbf16ps-only loop on every pool thread (0 without AVX-512 BF16): compare with fmaPeak. */
  dpbf16Peak(seconds: number): number;
  /** dropout with the counter split into (hi, lo) 32-bit words and the threshold floor(p * 2^32) precomputed. */
  dropoutForward(out: F32, x: F32, n: number, thr: number, keep: number, seed: number, hi: number, lo: number): void;
  dropoutBackward(dx: F32, dout: F32, n: number, thr: number, keep: number, seed: number, hi: number, lo: number): void;
} & Pick<
  Kernels,
  | 'rmsnormForward'
  | 'rmsnormBackward'
  | 'ropeForward'
  | 'ropeBackward'
  | 'attentionForward'
  | 'attentionBackward'
  | 'swigluForward'
  | 'swigluBackward'
  | 'embeddingForward'
  | 'embeddingBackward'
  | 'crossEntropyLmHead'
  | 'addBias'
  | 'biasBackward'
  | 'sumSquares'
  | 'scale'
  | 'axpy'
>;

let addon: TCpuAddon | null = null;
let loadError: Error | null = null;
let kernels: Kernels | null = null;
let backend: Backend | null = null;

/** Loads the addon once; null (with the reason kept for the error message) when it is missing or a stub. */
export function loadCpuAddon(): TCpuAddon | null {
  if (addon || loadError) return addon;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('../build/Release/crucible_tensor.node') as TCpuAddon;
    if (typeof mod.info !== 'function') throw new Error('the addon is a stub without ops (rebuild with node-gyp)');
    if (typeof mod.dropoutForward !== 'function') throw new Error('the addon is out of date (rebuild with node-gyp)');
    addon = mod;
  } catch (e) {
    loadError = e as Error;
  }
  return addon;
}

export function cpuAvailable(): boolean {
  return loadCpuAddon() !== null;
}

export function cpuInfo(): TCpuInfo | null {
  return loadCpuAddon()?.info() ?? null;
}

function requireAddon(): TCpuAddon {
  const a = loadCpuAddon();
  if (!a) {
    throw Object.assign(
      new Error(
        `The cpu backend's native addon did not load (${loadError?.message}); run npm ci or node-gyp rebuild in packages/tensor.`,
      ),
      { code: 'CPU_BACKEND_UNAVAILABLE' },
    );
  }
  return a;
}

/** Packs a frozen bf16 weight [N, K] (torch Linear layout, bf16 bits from toBf16 or a safetensors file) once. */
export function packBf16Weight(w: Uint16Array, N: number, K: number): TPackedBf16Weight {
  return requireAddon().packBf16Weight(w, N, K);
}

/** Bytes per parameter of a packed weight (2 plus the padding of N to 16 and K to 32). */
export function packedBytesPerParam(w: TPackedBf16Weight): number {
  return w.bytes / (w.N * w.K);
}

/** The native bf16 ops on packed weights (the addon's own functions, bound; see TCpuAddon for semantics). */
export function loadBf16Ops(): Pick<
  TCpuAddon,
  | 'packBf16Weight'
  | 'unpackBf16Weight'
  | 'releaseBf16Weight'
  | 'matmulBf16Packed'
  | 'crossEntropyLmHeadBf16'
  | 'embeddingForwardBf16'
  | 'setBf16Kernel'
  | 'amxPeak'
> {
  return requireAddon();
}

/** A frozen weight packed for the bf16 kernels, as the host backend holds it (src/host.ts PackedBf16). */
function packed(a: TCpuAddon, bits: Uint16Array, N: number, K: number): PackedBf16 {
  const w = a.packBf16Weight(bits, N, K);
  return {
    matmul: (c, x, M, transW, alpha, beta) => a.matmulBf16Packed(c, x, w, M, transW, alpha, beta),
    crossEntropy: (dh, hidden, labels, n, C, V, gradScale) =>
      a.crossEntropyLmHeadBf16(dh, hidden, w, labels, n, C, V, gradScale),
    embedding: (out, ids, n, C) => a.embeddingForwardBf16(out, w, ids, n, C),
    unpack: () => a.unpackBf16Weight(w),
  };
}

/** The typed-array kernels of the cpu backend (tests compare them with referenceKernels on every SIMD level). */
export function loadCpuKernels(): Kernels {
  if (kernels) return kernels;
  const a = requireAddon();
  const dropoutArgs = (p: number, seed: number, offset: number): [number, number, number, number, number] => {
    checkDropoutOffset(offset);
    const hi = Math.floor(offset / 4294967296);
    return [dropThreshold(p), 1 / (1 - p), seed >>> 0, hi, offset - hi * 4294967296];
  };
  kernels = {
    matmul: (c, x, y, M, N, K, o) =>
      a.matmul(c, x, y, M, N, K, o?.transA ?? false, o?.transB ?? false, o?.alpha ?? 1, o?.beta ?? 0),
    matmulBf16W: (c, x, w, M, N, K, o) =>
      a.matmulBf16W(c, x, w, M, N, K, o?.transB ?? false, o?.alpha ?? 1, o?.beta ?? 0),
    rmsnormForward: a.rmsnormForward,
    rmsnormBackward: a.rmsnormBackward,
    ropeForward: a.ropeForward,
    ropeBackward: a.ropeBackward,
    attentionForward: a.attentionForward,
    attentionBackward: a.attentionBackward,
    softmaxRows: referenceKernels.softmaxRows,
    swigluForward: a.swigluForward,
    swigluBackward: a.swigluBackward,
    // GeGLU and the in-place softcap (Gemma) are elementwise and run as TypeScript (the reference kernels).
    gegluForward: referenceKernels.gegluForward,
    gegluBackward: referenceKernels.gegluBackward,
    softcap: referenceKernels.softcap,
    embeddingForward: a.embeddingForward,
    embeddingForwardBf16(out, table, ids, N, C) {
      // bf16 -> fp32 is a 16-bit shift: write the bits straight into the output's storage.
      const bits = new Uint32Array(out.buffer, out.byteOffset, N * C);
      for (let n = 0; n < N; n++) {
        const src = ids[n] * C;
        for (let j = 0; j < C; j++) bits[n * C + j] = table[src + j] << 16;
      }
    },
    embeddingBackward: a.embeddingBackward,
    crossEntropyLmHead: a.crossEntropyLmHead,
    // On row-major bits (tests): pack, run the fused native LM head, release. The backend packs frozen weights once.
    crossEntropyLmHeadBf16(dhidden, hidden, W, labels, N, C, V, gradScale) {
      const w = a.packBf16Weight(W.subarray(0, V * C), V, C);
      try {
        return a.crossEntropyLmHeadBf16(dhidden, hidden, w, labels, N, C, V, gradScale);
      } finally {
        a.releaseBf16Weight(w);
      }
    },
    addBias: a.addBias,
    biasBackward: a.biasBackward,
    dropoutForward: (out, x, n, p, seed, offset) => a.dropoutForward(out, x, n, ...dropoutArgs(p, seed, offset)),
    dropoutBackward: (dx, dout, n, p, seed, offset) => a.dropoutBackward(dx, dout, n, ...dropoutArgs(p, seed, offset)),
    shiftLabels: referenceKernels.shiftLabels,
    adamw: (p, g, m, v, n, o) => a.adamw(p, g, m, v, n, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step),
    sumSquares: a.sumSquares,
    scale: a.scale,
    axpy: a.axpy,
  };
  return kernels;
}

export function loadCpuBackend(): Backend {
  if (backend) return backend;
  const a = requireAddon();
  backend = createHostBackend({
    name: 'cpu',
    kernels: loadCpuKernels(),
    // Frozen bf16 weights are packed once at load into the bf16 kernels' tiles (serving x W^T, dY W, the LM head and
    // the tied embedding from one copy); the row-major bits are not kept.
    pack: (bits, N, K) => packed(a, bits, N, K),
    info: () => {
      const i = a.info();
      const amx = i.bf16Kernel === 'amx' || i.amx === 'ok' ? '' : ` (AMX: ${i.amx})`;
      return {
        summary: `cpu: ${i.threads} threads, sgemm ${i.kernel}, bf16 ${i.bf16Kernel}${amx}`,
        bf16Kernel: i.bf16Kernel,
      };
    },
  });
  return backend;
}
