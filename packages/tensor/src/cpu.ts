/**
 * The native cpu backend: a thin wrapper over build/Release/crucible_tensor.node (native/*.cc), built by node-gyp at
 * `npm ci`. Arrays go to C++ in place (zero-copy); the wrapper only flattens option objects into numbers so a call
 * allocates nothing. Shapes and index ranges are validated natively (TypeError / RangeError) before any work.
 */
import { createRequire } from 'node:module';
import type { Backend, F32 } from './backend';

/** threads in the pool, the SGEMM micro-kernel in use, whether matmulBf16W runs on AVX-512 BF16 instructions. */
export type TCpuInfo = { threads: number; kernel: string; bf16: boolean };

/** The addon's raw exports (see native/addon.cc); positional arguments mirror Backend with flattened options. */
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
} & Omit<Backend, 'name' | 'matmul' | 'matmulBf16W' | 'adamw'>;

let addon: TCpuAddon | null = null;
let loadError: Error | null = null;
let backend: Backend | null = null;

/** Loads the addon once; null (with the reason kept for the error message) when it is missing or a stub. */
export function loadCpuAddon(): TCpuAddon | null {
  if (addon || loadError) return addon;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('../build/Release/crucible_tensor.node') as TCpuAddon;
    if (typeof mod.info !== 'function') throw new Error('the addon is a stub without ops (rebuild with node-gyp)');
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

export function loadCpuBackend(): Backend {
  if (backend) return backend;
  const a = loadCpuAddon();
  if (!a) {
    throw Object.assign(
      new Error(
        `The cpu backend's native addon did not load (${loadError?.message}); run npm ci or node-gyp rebuild in packages/tensor.`,
      ),
      { code: 'CPU_BACKEND_UNAVAILABLE' },
    );
  }
  backend = {
    name: 'cpu',
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
    swigluForward: a.swigluForward,
    swigluBackward: a.swigluBackward,
    embeddingForward: a.embeddingForward,
    embeddingBackward: a.embeddingBackward,
    crossEntropyLmHead: a.crossEntropyLmHead,
    addBias: a.addBias,
    biasBackward: a.biasBackward,
    adamw: (p, g, m, v, n, o) => a.adamw(p, g, m, v, n, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step),
    sumSquares: a.sumSquares,
    scale: a.scale,
    axpy: a.axpy,
  };
  return backend;
}
