/**
 * The native cpu backend: Kernels over build/Release/crucible_tensor.node (native/*.cc), built by node-gyp at
 * `npm ci`, wrapped into a handle-level Backend by src/host.ts. Arrays go to C++ in place (zero-copy); the wrapper
 * only flattens option objects into numbers so a call allocates nothing. Shapes and index ranges are validated
 * natively (TypeError / RangeError) before any work.
 *
 * A few kernels are the shared TypeScript ones (memory-bound and small beside the GEMMs: softmax rows of a decoding
 * step, the label shift, the bf16 embedding gather); the bf16 LM head is composed from the bf16 GEMM here until the
 * addon has a fused one.
 */
import { createRequire } from 'node:module';
import type { Backend, F32, Kernels } from './backend';
import { checkDropoutOffset, dropThreshold } from './dropout';
import { createHostBackend } from './host';
import { referenceKernels } from './reference';

/** threads in the pool, the SGEMM micro-kernel in use, whether matmulBf16W runs on AVX-512 BF16 instructions. */
export type TCpuInfo = { threads: number; kernel: string; bf16: boolean };

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

/** Rows of W per GEMM in the composed bf16 LM head: [N, 4096] fp32 logits at a time. */
const CE_BF16_CHUNK = 4096;

/**
 * The bf16-weight LM head from the bf16 GEMM, two passes over vocab chunks: logits chunk by chunk for each row's
 * log-sum-exp, then the chunks again for dz = gradScale (softmax - onehot) and dhidden += bf16(dz) W.
 */
function crossEntropyLmHeadBf16Composed(a: TCpuAddon): Kernels['crossEntropyLmHeadBf16'] {
  let z = new Float32Array(0);
  return (dhidden, hidden, W, labels, N, C, V, gradScale) => {
    for (let n = 0; n < N; n++) {
      const y = labels[n];
      if (y !== -100 && !(y >= 0 && y < V)) throw new RangeError(`labels[${n}] = ${y} is outside [0, ${V})`);
    }
    const chunk = Math.min(CE_BF16_CHUNK, V);
    if (z.length < N * chunk) z = new Float32Array(N * chunk);
    const max = new Float64Array(N).fill(-Infinity);
    const sum = new Float64Array(N);
    const zLabel = new Float64Array(N);
    for (let v0 = 0; v0 < V; v0 += chunk) {
      const len = Math.min(chunk, V - v0);
      a.matmulBf16W(z, hidden, W.subarray(v0 * C, (v0 + len) * C), N, len, C, true, 1, 0);
      for (let n = 0; n < N; n++) {
        const y = labels[n];
        if (y === -100) continue;
        let m = max[n];
        let s = sum[n];
        const o = n * len;
        for (let t = 0; t < len; t++) {
          const v = z[o + t];
          if (v > m) {
            s *= Math.exp(m - v);
            m = v;
          }
          s += Math.exp(v - m);
        }
        max[n] = m;
        sum[n] = s;
        if (y >= v0 && y < v0 + len) zLabel[n] = z[o + y - v0];
      }
    }
    let total = 0;
    const lse = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      if (labels[n] === -100) continue;
      lse[n] = max[n] + Math.log(sum[n]);
      total += lse[n] - zLabel[n];
    }
    if (!dhidden) return total;
    dhidden.fill(0, 0, N * C);
    for (let v0 = 0; v0 < V; v0 += chunk) {
      const len = Math.min(chunk, V - v0);
      const Wc = W.subarray(v0 * C, (v0 + len) * C);
      a.matmulBf16W(z, hidden, Wc, N, len, C, true, 1, 0);
      for (let n = 0; n < N; n++) {
        const y = labels[n];
        const o = n * len;
        if (y === -100) {
          z.fill(0, o, o + len);
          continue;
        }
        const l = lse[n];
        for (let t = 0; t < len; t++) z[o + t] = gradScale * (Math.exp(z[o + t] - l) - (v0 + t === y ? 1 : 0));
      }
      a.matmulBf16W(dhidden, z, Wc, N, C, len, false, 1, 1);
    }
    return total;
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
    crossEntropyLmHeadBf16: crossEntropyLmHeadBf16Composed(a),
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
    info: () => {
      const i = a.info();
      const bf16Kernel = i.bf16 ? 'avx512bf16' : 'widened';
      return { summary: `cpu: ${i.threads} threads, sgemm ${i.kernel}, bf16 ${bf16Kernel}`, bf16Kernel };
    },
  });
  return backend;
}
