/**
 * A Backend over host Kernels: every tensor wraps a typed array (a view of its parent's for Backend.view), so the
 * kernels run in place on the handles' storage with no copies. Dtypes are checked here (a TypeError naming the
 * argument); sizes are checked by the kernels (the native bindings validate every length) and, for the reference
 * kernels, by the views' lengths.
 *
 * A backend may store a frozen bf16 weight packed for its GEMM (opts.pack): the handle then carries the packed form
 * instead of the row-major bits, and matmul / crossEntropyLmHead / embeddingForward / download dispatch on it.
 */
import type {
  Backend,
  BackendInfo,
  DropoutOptions,
  DType,
  F32,
  HostArray,
  Kernels,
  MatmulOptions,
  Tensor,
} from './backend';
import { SCALAR_SIZE, splitScalar } from './backend';

/** A frozen bf16 weight in a backend's own GEMM layout (cpu: native memory packed once for the bf16 kernels). */
export type PackedBf16 = {
  /** forward c[M,N] = bf16(a)[M,K] W^T when !transW; input gradient c[M,K] = bf16(a)[M,N] W when transW. */
  matmul(c: F32, a: F32, M: number, transW: boolean, alpha: number, beta: number): void;
  /** The fused LM head on the packed weight (Kernels.crossEntropyLmHeadBf16 semantics). */
  crossEntropy(
    dhidden: F32 | null,
    hidden: F32,
    labels: Int32Array,
    N: number,
    C: number,
    V: number,
    gradScale: number,
  ): number;
  /** Rows ids[n] widened to fp32. */
  embedding(out: F32, ids: Int32Array, N: number, C: number): void;
  /** The row-major bits back. */
  unpack(): Uint16Array;
};

export type HostTensor = Tensor & {
  /** The elements; empty for a packed weight. */
  readonly data: F32 | Uint16Array | Int32Array;
  readonly packed: PackedBf16 | null;
  /** A frozen weight: never written, so download may hand out its storage instead of a copy. */
  readonly frozen: boolean;
};

const ARRAY: Record<DType, { new (n: number): F32 | Uint16Array | Int32Array }> = {
  f32: Float32Array,
  bf16: Uint16Array,
  i32: Int32Array,
};

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!(Number.isInteger(d) && d >= 0)) throw new RangeError(`shape [${shape.join(', ')}] must hold integers >= 0`);
    n *= d;
  }
  return n;
}

function make(
  shape: readonly number[],
  dtype: DType,
  data: F32 | Uint16Array | Int32Array,
  packed: PackedBf16 | null = null,
  frozen = false,
): HostTensor {
  return { shape: Object.freeze([...shape]), dtype, device: 'cpu', size: sizeOf(shape), data, packed, frozen };
}

function host(t: Tensor, what: string): HostTensor {
  const h = t as HostTensor;
  if (h?.device !== 'cpu' || h.data === undefined) {
    throw new TypeError(`${what} is not a tensor of this host backend (device ${t?.device})`);
  }
  return h;
}

function writable(t: Tensor, what: string): HostTensor {
  const h = host(t, what);
  if (h.frozen) throw new TypeError(`${what} is a frozen weight, which is never written`);
  return h;
}

function f32(t: Tensor, what: string): F32 {
  const h = host(t, what);
  if (h.dtype !== 'f32') throw new TypeError(`${what} must be an f32 tensor, got ${h.dtype}`);
  return h.data as F32;
}
function f32OrNull(t: Tensor | null, what: string): F32 | null {
  return t === null ? null : f32(t, what);
}
function i32(t: Tensor, what: string): Int32Array {
  const h = host(t, what);
  if (h.dtype !== 'i32') throw new TypeError(`${what} must be an i32 tensor, got ${h.dtype}`);
  return h.data as Int32Array;
}
function i32OrUndef(t: Tensor | null, what: string): Int32Array | undefined {
  return t === null ? undefined : i32(t, what);
}

/** Attention's packed-sequence starts, checked for every kernel: 0 <= segStart[b*T+i] <= i. */
function segStartOf(t: Tensor | null | undefined, B: number, T: number): Int32Array | undefined {
  if (t === null || t === undefined) return undefined;
  const s = i32(t, 'segStart');
  if (s.length < B * T) throw new RangeError(`segStart has ${s.length} elements, B*T is ${B * T}`);
  for (let n = 0; n < B * T; n++) {
    const i = n % T;
    if (!(s[n] >= 0 && s[n] <= i)) {
      throw new RangeError(`segStart[${n}] = ${s[n]} must lie in [0, ${i}] (the start of its query's sequence)`);
    }
  }
  return s;
}

/** A soft-capping value: absent (or 0) = none, else a positive finite number. */
function capOf(cap: number | undefined): number | undefined {
  if (cap === undefined || cap === 0) return undefined;
  if (!(cap > 0 && Number.isFinite(cap))) throw new RangeError(`softcap must be a positive number, got ${cap}`);
  return cap;
}

export function createHostBackend(o: {
  name: string;
  kernels: Kernels;
  info: () => BackendInfo;
  /** Packs a frozen bf16 weight [N, K] for the GEMM kernels; absent = keep the row-major bits. */
  pack?: (bits: Uint16Array, N: number, K: number) => PackedBf16;
}): Backend {
  const k = o.kernels;
  const packBf16 = o.pack;

  const download = (t: Tensor, dst?: HostArray): HostArray => {
    const h = host(t, 'download source');
    // A frozen weight never changes: hand out its storage (read-only by contract) rather than copy gigabytes.
    if (h.frozen && !dst && !h.packed) return h.data;
    const src = h.packed ? h.packed.unpack() : h.data;
    const out = dst ?? new ARRAY[h.dtype](h.size);
    if (out.length !== h.size)
      throw new RangeError(`download: destination has ${out.length} elements, tensor ${h.size}`);
    if (out.constructor !== src.constructor)
      throw new TypeError(`download: destination must be a ${src.constructor.name}`);
    (out as F32).set(src as F32);
    return out;
  };

  const backend: Backend = {
    name: o.name,
    device: 'cpu',
    bf16: true,
    info: o.info,

    alloc(shape, dtype = 'f32') {
      if (!(dtype in ARRAY)) throw new TypeError(`dtype must be f32, bf16 or i32, got ${dtype}`);
      return make(shape, dtype, new ARRAY[dtype](sizeOf(shape)));
    },
    free(t) {
      // Host storage belongs to the garbage collector; dropping the handle is enough. Kept for the contract (a GPU
      // backend returns device memory here).
      host(t, 'free');
    },
    view(t, offset, shape) {
      const h = host(t, 'view source');
      if (h.packed) throw new TypeError('a packed frozen weight has no views');
      const n = sizeOf(shape);
      if (!(Number.isInteger(offset) && offset >= 0 && offset + n <= h.size)) {
        throw new RangeError(`view [${offset}, ${offset + n}) is outside a tensor of ${h.size} elements`);
      }
      return make(shape, h.dtype, h.data.subarray(offset, offset + n), null, h.frozen);
    },
    upload(t, src) {
      const h = host(t, 'upload target');
      if (h.frozen) throw new TypeError('a frozen weight is never written');
      if (src.length !== h.size) throw new RangeError(`upload: source has ${src.length} elements, tensor ${h.size}`);
      if (src.constructor !== h.data.constructor)
        throw new TypeError(`upload: a ${h.dtype} tensor takes a ${h.data.constructor.name}`);
      (h.data as F32).set(src as F32);
    },
    download: download as Backend['download'],
    frozen(shape, dtype, src, opts) {
      const n = sizeOf(shape);
      const own = <T extends Float32Array | Uint16Array>(a: T): T => (opts?.transient ? (a.slice() as T) : a);
      if (src.length !== n) throw new RangeError(`frozen: ${src.length} elements for shape [${shape.join(', ')}]`);
      if (dtype === 'f32') {
        if (!(src instanceof Float32Array)) throw new TypeError('frozen f32 weight: pass a Float32Array');
        return make(shape, 'f32', own(src), null, true);
      }
      if (!(src instanceof Uint16Array)) throw new TypeError('frozen bf16 weight: pass its bits as a Uint16Array');
      // Packing copies into native memory, so a transient src is never kept either way.
      if (packBf16 && shape.length === 2)
        return make(shape, 'bf16', new Uint16Array(0), packBf16(src, shape[0], shape[1]), true);
      return make(shape, 'bf16', own(src), null, true);
    },

    fill(t, value, n) {
      const h = writable(t, 'fill target');
      if (h.dtype === 'bf16') throw new TypeError('fill: f32 or i32 tensors only');
      h.data.fill(value, 0, n ?? h.size);
    },
    copy(dst, src, n) {
      const d = writable(dst, 'copy target');
      const s = host(src, 'copy source');
      if (d.dtype !== s.dtype) throw new TypeError(`copy: ${s.dtype} into ${d.dtype}`);
      const len = n ?? s.size;
      if (len > d.size || len > s.size) throw new RangeError(`copy of ${len} elements between ${s.size} and ${d.size}`);
      (d.data as F32).set((s.data as F32).subarray(0, len));
    },
    copy2d(dst, src, rows, cols, dstStride, srcStride) {
      const d = writable(dst, 'copy2d target');
      const s = host(src, 'copy2d source');
      if (d.dtype !== s.dtype) throw new TypeError(`copy2d: ${s.dtype} into ${d.dtype}`);
      if (rows > 0 && ((rows - 1) * dstStride + cols > d.size || (rows - 1) * srcStride + cols > s.size)) {
        throw new RangeError('copy2d: the block does not fit the tensors');
      }
      const dd = d.data as F32;
      const sd = s.data as F32;
      for (let r = 0; r < rows; r++) dd.set(sd.subarray(r * srcStride, r * srcStride + cols), r * dstStride);
    },
    shiftLabels(out, labels, B, T) {
      const o2 = i32(out, 'out');
      const l = i32(labels, 'labels');
      if (o2.length < B * T || l.length < B * T) throw new RangeError(`shiftLabels needs ${B * T} elements`);
      k.shiftLabels(o2, l, B, T);
    },

    matmul(c, a, b, M, N, K, opts?: MatmulOptions) {
      const hb = host(b, 'b');
      if (hb.dtype === 'f32') return k.matmul(f32(c, 'c'), f32(a, 'a'), hb.data as F32, M, N, K, opts);
      if (hb.dtype !== 'bf16') throw new TypeError(`b must be an f32 or bf16 tensor, got ${hb.dtype}`);
      if (opts?.transA) throw new TypeError('a bf16 weight is always the right operand: no transA');
      const alpha = opts?.alpha ?? 1;
      const beta = opts?.beta ?? 0;
      const transB = opts?.transB ?? false;
      if (hb.packed) {
        // The packed weight is [N_out, K_in]: x W^T (transB) is its forward use, dY W its transposed use.
        const [wOut, wIn] = hb.shape;
        const fits = transB ? N === wOut && K === wIn : N === wIn && K === wOut;
        if (!fits) throw new RangeError(`matmul: a packed [${wOut}, ${wIn}] weight cannot be op(B) [${K}, ${N}]`);
        return hb.packed.matmul(f32(c, 'c'), f32(a, 'a'), M, !transB, alpha, beta);
      }
      k.matmulBf16W(f32(c, 'c'), f32(a, 'a'), hb.data as Uint16Array, M, N, K, { transB, alpha, beta });
    },
    rmsnormForward: (out, rstd, x, w, N, C, eps) =>
      k.rmsnormForward(f32(out, 'out'), f32(rstd, 'rstd'), f32(x, 'x'), f32(w, 'w'), N, C, eps),
    rmsnormBackward: (dx, dw, dout, x, w, rstd, N, C) =>
      k.rmsnormBackward(
        f32(dx, 'dx'),
        f32OrNull(dw, 'dw'),
        f32(dout, 'dout'),
        f32(x, 'x'),
        f32(w, 'w'),
        f32(rstd, 'rstd'),
        N,
        C,
      ),
    ropeForward: (x, pos, N, H, D, theta, inv) =>
      k.ropeForward(f32(x, 'x'), i32(pos, 'pos'), N, H, D, theta, inv ? f32(inv, 'invFreq') : null),
    ropeBackward: (dx, pos, N, H, D, theta, inv) =>
      k.ropeBackward(f32(dx, 'dx'), i32(pos, 'pos'), N, H, D, theta, inv ? f32(inv, 'invFreq') : null),
    attentionForward: (out, lse, q, kk, v, B, T, Hq, Hkv, D, keyLen, segStart, softcap) =>
      k.attentionForward(
        f32(out, 'out'),
        f32(lse, 'lse'),
        f32(q, 'q'),
        f32(kk, 'k'),
        f32(v, 'v'),
        B,
        T,
        Hq,
        Hkv,
        D,
        i32OrUndef(keyLen, 'keyLen'),
        segStartOf(segStart, B, T),
        capOf(softcap),
      ),
    attentionBackward: (dq, dk, dv, dout, q, kk, v, out, lse, B, T, Hq, Hkv, D, keyLen, segStart, softcap) =>
      k.attentionBackward(
        f32(dq, 'dq'),
        f32(dk, 'dk'),
        f32(dv, 'dv'),
        f32(dout, 'dout'),
        f32(q, 'q'),
        f32(kk, 'k'),
        f32(v, 'v'),
        f32(out, 'out'),
        f32(lse, 'lse'),
        B,
        T,
        Hq,
        Hkv,
        D,
        i32OrUndef(keyLen, 'keyLen'),
        segStartOf(segStart, B, T),
        capOf(softcap),
      ),
    softmaxRows: (x, rows, n) => {
      const d = f32(x, 'x');
      if (d.length < rows * n) throw new RangeError(`softmaxRows needs ${rows * n} elements, x has ${d.length}`);
      k.softmaxRows(d, rows, n);
    },
    swigluForward: (out, gate, up, n) => k.swigluForward(f32(out, 'out'), f32(gate, 'gate'), f32(up, 'up'), n),
    swigluBackward: (dgate, dup, dout, gate, up, n) =>
      k.swigluBackward(f32(dgate, 'dgate'), f32(dup, 'dup'), f32(dout, 'dout'), f32(gate, 'gate'), f32(up, 'up'), n),
    gegluForward: (out, gate, up, n) => k.gegluForward(f32(out, 'out'), f32(gate, 'gate'), f32(up, 'up'), n),
    gegluBackward: (dgate, dup, dout, gate, up, n) =>
      k.gegluBackward(f32(dgate, 'dgate'), f32(dup, 'dup'), f32(dout, 'dout'), f32(gate, 'gate'), f32(up, 'up'), n),
    softcap: (x, cap, n) => {
      const d = f32(x, 'x');
      if (!(cap > 0)) throw new RangeError(`softcap needs a positive cap, got ${cap}`);
      if (d.length < n) throw new RangeError(`softcap needs ${n} elements, x has ${d.length}`);
      k.softcap(d, cap, n);
    },
    embeddingForward(out, table, ids, N, C) {
      const t = host(table, 'table');
      const o2 = f32(out, 'out');
      const idx = i32(ids, 'ids');
      if (t.dtype === 'f32') return k.embeddingForward(o2, t.data as F32, idx, N, C);
      if (t.dtype !== 'bf16') throw new TypeError(`table must be f32 or bf16, got ${t.dtype}`);
      checkIds(idx, N, t.shape[0] ?? t.size / C, 'ids');
      if (t.packed) return t.packed.embedding(o2, idx, N, C);
      k.embeddingForwardBf16(o2, t.data as Uint16Array, idx, N, C);
    },
    embeddingBackward: (dtable, dout, ids, N, C) =>
      k.embeddingBackward(f32(dtable, 'dtable'), f32(dout, 'dout'), i32(ids, 'ids'), N, C),
    crossEntropyLmHead(loss, dhidden, dW, hidden, W, labels, N, C, V, gradScale, softcap) {
      const out = f32(loss, 'loss');
      if (out.length < SCALAR_SIZE) throw new RangeError('loss must be a device scalar (2 elements)');
      const w = host(W, 'W');
      const dh = f32OrNull(dhidden, 'dhidden');
      const hd = f32(hidden, 'hidden');
      const lab = i32(labels, 'labels');
      if (w.dtype === 'f32') {
        const cap = capOf(softcap);
        splitScalar(
          k.crossEntropyLmHead(dh, f32OrNull(dW, 'dW'), hd, w.data as F32, lab, N, C, V, gradScale, cap),
          out,
        );
        return;
      }
      if (w.dtype !== 'bf16') throw new TypeError(`W must be f32 or bf16, got ${w.dtype}`);
      if (softcap) throw new TypeError('logit soft-capping needs an f32 LM head (W is bf16)');
      if (dW !== null) throw new TypeError('a bf16 LM head is frozen: dW must be null');
      splitScalar(
        w.packed
          ? w.packed.crossEntropy(dh, hd, lab, N, C, V, gradScale)
          : k.crossEntropyLmHeadBf16(dh, hd, w.data as Uint16Array, lab, N, C, V, gradScale),
        out,
      );
    },
    addBias: (x, b, N, C) => k.addBias(f32(x, 'x'), f32(b, 'b'), N, C),
    biasBackward: (db, dout, N, C) => k.biasBackward(f32(db, 'db'), f32(dout, 'dout'), N, C),
    dropoutForward: (out, x, n, d: DropoutOptions) =>
      k.dropoutForward(f32(out, 'out'), f32(x, 'x'), n, d.p, d.seed, d.offset),
    dropoutBackward: (dx, dout, n, d: DropoutOptions) =>
      k.dropoutBackward(f32(dx, 'dx'), f32(dout, 'dout'), n, d.p, d.seed, d.offset),
    adamw: (p, g, m, v, n, opts) => k.adamw(f32(p, 'p'), f32(g, 'g'), f32(m, 'm'), f32(v, 'v'), n, opts),
    sumSquares(out, x, n) {
      const o2 = f32(out, 'out');
      if (o2.length < SCALAR_SIZE) throw new RangeError('out must be a device scalar (2 elements)');
      splitScalar(k.sumSquares(f32(x, 'x'), n), o2);
    },
    scale: (x, s, n) => k.scale(f32(x, 'x'), s, n),
    axpy: (y, a, x, n) => k.axpy(f32(y, 'y'), a, f32(x, 'x'), n),
  };
  return backend;
}

function checkIds(ids: Int32Array, N: number, rows: number, what: string): void {
  if (ids.length < N) throw new RangeError(`${what} has ${ids.length} elements, N is ${N}`);
  for (let n = 0; n < N; n++) {
    if (!(ids[n] >= 0 && ids[n] < rows)) throw new RangeError(`${what}[${n}] = ${ids[n]} is outside [0, ${rows})`);
  }
}

/** For tests and benchmarks of host backends: the typed array behind a handle (no copy). */
export function hostData(t: Tensor): F32 | Uint16Array | Int32Array {
  return host(t, 'tensor').data;
}
