/**
 * The compute contract of the training core, in two layers.
 *
 * 1. `Backend` (what the model, LoRA, optimizer, loop, generation and export code against): tensors are opaque
 *    handles ({shape, dtype, device}) that the backend allocates, frees and owns; every op takes handles; host memory
 *    is reached only through `upload` / `download` (and `frozen`, which hands a weight over once at load time). The
 *    trainer calls those at step boundaries only: the batch in, the loss / grad norm out (one download per optimizer
 *    step), checkpoints, exports and sampled logits. A CUDA backend implements this type directly (device memory,
 *    streams, kernels) and the model code does not change.
 *
 * 2. `Kernels` (how a host backend computes): the same ops on row-major typed arrays. `reference` (plain TS, the
 *    oracle) and `cpu` (the N-API addon) implement Kernels, and `createHostBackend` turns a Kernels object into a
 *    Backend whose handles wrap typed arrays. The op tests (test/reference.test.ts: finite differences; cpu.test.ts:
 *    cpu vs reference on every SIMD level) run at this layer; test/backend.test.ts runs the handle layer.
 *
 * Shapes are written in each signature's comment: N = tokens (B*T), C = channels, V = vocab, H = heads, D = head dim.
 * Sizes are passed explicitly (M, N, K, n, ...) and must fit the tensors (views included): a backend checks them and
 * throws a TypeError (wrong dtype / array type) or RangeError (too small, index out of range) before any work.
 * "accumulate" means the op adds into the output (+=) instead of overwriting it.
 *
 * Semantics are those of PyTorch / Hugging Face Transformers (Qwen2/Llama): RMSNorm computes in fp32
 * (x * rsqrt(mean(x^2) + eps) * w), RoPE is the non-interleaved rotate_half form, attention is causal with scale
 * 1/sqrt(D) and GQA (query head h reads kv head floor(h / (Hq/Hkv))), SwiGLU is silu(gate) * up, AdamW is torch's.
 * bf16 operands: a bf16 tensor holds bfloat16 values (the upper half of a float32). Wherever a bf16 weight is the
 * right operand of a product (matmul, the LM head), the left operand is rounded to bf16 (nearest even) and products
 * accumulate in fp32: torch's bf16 matmul with fp32 accumulation, as a PEFT model on a bf16 base computes.
 */
export type F32 = Float32Array;

export type DType = 'f32' | 'bf16' | 'i32';

/** The host array of each dtype: bf16 travels as its bit patterns. */
export type HostArray<D extends DType = DType> = D extends 'f32'
  ? Float32Array
  : D extends 'bf16'
    ? Uint16Array
    : D extends 'i32'
      ? Int32Array
      : Float32Array | Uint16Array | Int32Array;

/**
 * A tensor owned by a backend. Only these fields are public; a backend keeps its storage (typed array, device
 * pointer, packed weight) behind them. Row-major and contiguous; a view (Backend.view) shares its parent's storage.
 */
export type Tensor = {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** 'cpu' for host backends; e.g. 'cuda:0' for a GPU backend. */
  readonly device: string;
  /** Element count (product of shape). */
  readonly size: number;
};
/** The same type under the name the trainer uses, where `Tensor` means a host tensor of the HF weights map. */
export type DeviceTensor = Tensor;

export type MatmulOptions = {
  /** A is stored [K, M] instead of [M, K]. Not with a bf16 B. */
  transA?: boolean;
  /** B is stored [N, K] instead of [K, N] (a torch Linear weight [out, in] used as x @ W^T). */
  transB?: boolean;
  /** C = alpha * op(A) op(B) + beta * C. Defaults alpha 1, beta 0 (beta 1 accumulates; beta 0 ignores old C). */
  alpha?: number;
  beta?: number;
};

export type MatmulBf16Options = {
  /** W is stored [N, K] (a torch Linear weight used as x @ W^T) instead of [K, N]. */
  transB?: boolean;
  alpha?: number;
  beta?: number;
};

export type AdamWOptions = {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count after this update (torch's state['step']), used for bias correction. */
  step: number;
};

/**
 * LoRA dropout without stored masks: element i of a call keeps its value iff
 * dropoutBits(seed, offset + i) >= floor(p * 2^32) (see dropout.ts), survivors are scaled by 1/(1-p). The mask is a
 * pure function of (seed, counter), so backward and gradient-checkpointing recomputation regenerate it instead of
 * storing it, a resumed run continues the stream from the counter saved in its checkpoint, and a GPU computes the
 * same mask. offset is an integer below 2^53.
 */
export type DropoutOptions = { p: number; seed: number; offset: number };

/**
 * Device scalars. Reductions the loop reads back (loss sums, squared grad norms) are float64 values; with f32 as
 * the only float dtype they are stored as an unevaluated sum of two f32, out[0] = fround(x), out[1] = fround(x -
 * out[0]), which keeps about 48 bits of the float64 (readScalar adds them back). A device scalar is an f32 tensor (or
 * view) of 2 elements.
 */
export const SCALAR_SIZE = 2;

export function splitScalar(x: number, out: Float32Array = new Float32Array(2), at = 0): Float32Array {
  const hi = Math.fround(x);
  out[at] = hi;
  out[at + 1] = Number.isFinite(hi) ? x - hi : 0;
  return out;
}

export function readScalar(host: ArrayLike<number>, at = 0): number {
  return host[at] + host[at + 1];
}

/** What a backend says about itself (logged at the start of a run). */
export type BackendInfo = {
  /** e.g. 'cpu: 2 threads, sgemm avx512, bf16 amx' */
  summary: string;
  /** The bf16 GEMM path in use: 'amx' | 'avx512bf16' | 'avx512fma' | 'widened' | 'reference' | a GPU's name. */
  bf16Kernel: string;
};

export type Backend = {
  readonly name: string;
  readonly device: string;
  /** Whether bf16 tensors are supported (frozen weights as the right operand of matmul, the LM head, embedding). */
  readonly bf16: boolean;
  info(): BackendInfo;

  // ---- memory -------------------------------------------------------------------------------------------------
  /** A new zero-filled tensor. */
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  /** Releases a tensor's storage (views of it become invalid). Freeing a view is a no-op. */
  free(t: Tensor): void;
  /** A contiguous sub-range [offset, offset + prod(shape)) of t's elements, sharing its storage (activation pools). */
  view(t: Tensor, offset: number, shape: readonly number[]): Tensor;
  /** Host -> device: copies src (src.length === t.size, dtype's host array) into t. */
  upload(t: Tensor, src: HostArray): void;
  /**
   * Device -> host: t's elements (into dst when given). A packed frozen weight is unpacked. Without dst, a host
   * backend may return a frozen weight's own storage instead of a copy: treat the result as read-only.
   */
  download<D extends DType>(t: Tensor & { dtype: D }, dst?: HostArray<D>): HostArray<D>;
  download(t: Tensor, dst?: HostArray): HostArray;
  /**
   * A frozen weight, handed over once at load time and never written again: the backend may adopt `src` as its
   * storage (host backends do: no copy, so the caller must not touch src afterwards), copy it to the device, or pack
   * it for the GEMM kernels of matmul / crossEntropyLmHead / embeddingForward (the cpu backend packs bf16 weights
   * once here instead of on every call). shape is [out, in] for a torch Linear weight, [V, C] for an embedding.
   * With opts.transient the caller keeps src (a scratch buffer it reuses for the next weight): the backend copies or
   * packs it and never holds on to it.
   */
  frozen(
    shape: readonly number[],
    dtype: 'f32' | 'bf16',
    src: Float32Array | Uint16Array,
    opts?: { transient?: boolean },
  ): Tensor;

  // ---- data movement --------------------------------------------------------------------------------------------
  /** t[0..n) = value (n defaults to t.size). f32 and i32. */
  fill(t: Tensor, value: number, n?: number): void;
  /** dst[0..n) = src[0..n), same dtype (n defaults to src.size). */
  copy(dst: Tensor, src: Tensor, n?: number): void;
  /** rows x cols block copy: dst[r * dstStride + c] = src[r * srcStride + c] (the KV cache's layout change). */
  copy2d(dst: Tensor, src: Tensor, rows: number, cols: number, dstStride: number, srcStride: number): void;
  /**
   * The causal-LM shift inside each of B rows of T: out[b,t] = labels[b,t+1], out[b,T-1] = -100 (HF
   * ForCausalLMLoss). i32.
   */
  shiftLabels(out: Tensor, labels: Tensor, B: number, T: number): void;

  // ---- compute --------------------------------------------------------------------------------------------------
  /**
   * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C. B is f32, or a bf16 (frozen) weight: then A is rounded to
   * bf16 and products accumulate in fp32, and transA is not allowed (the weight is always the right operand:
   * x @ W^T forward with transB, dY @ W for the input gradient without).
   */
  matmul(c: Tensor, a: Tensor, b: Tensor, M: number, N: number, K: number, opts?: MatmulOptions): void;

  /** out[N,C] = x * rstd * w; rstd[N] = 1/sqrt(mean(x^2) + eps) saved for backward. */
  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, N: number, C: number, eps: number): void;
  /** dx[N,C] written; dw[C] accumulated when not null (frozen weight: pass null). */
  rmsnormBackward(
    dx: Tensor,
    dw: Tensor | null,
    dout: Tensor,
    x: Tensor,
    w: Tensor,
    rstd: Tensor,
    N: number,
    C: number,
  ): void;

  /**
   * In place on x[N,H,D] (positions pos[N], i32); HF rotate_half RoPE with base theta. invFreq (optional, f32
   * [D/2]) replaces the frequencies theta^(-2i/D) (rescaled RoPE such as Llama 3.1's); theta is then unused.
   */
  ropeForward(x: Tensor, pos: Tensor, N: number, H: number, D: number, theta: number, invFreq?: Tensor | null): void;
  /** In place on dx[N,H,D]: the transpose (inverse rotation) of ropeForward. */
  ropeBackward(dx: Tensor, pos: Tensor, N: number, H: number, D: number, theta: number, invFreq?: Tensor | null): void;

  /**
   * Causal GQA attention. q[B,T,Hq,D], k/v[B,T,Hkv,D] -> out[B,T,Hq,D]; lse[B,Hq,T] (log-sum-exp of the scaled
   * scores per query row) saved for backward. keyLen[B] (i32, optional) masks keys at positions >= keyLen[b] (right
   * padding); rows of padded queries still produce finite output. segStart[B*T] (i32, optional) is where the packed
   * sequence of each query starts in its row: query i of row b sees only keys j >= segStart[b*T+i] (the
   * block-diagonal causal mask of LLaMA-Factory's neat_packing, without a [T, T] mask); 0 <= segStart[b*T+i] <= i,
   * else a RangeError. Absent, the op is plain causal attention and costs what it did before. softcap (> 0,
   * optional; Gemma 2's attn_logit_softcapping) caps each scaled score s to softcap * tanh(s / softcap) before the
   * softmax (lse is then of the capped scores).
   */
  attentionForward(
    out: Tensor,
    lse: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    B: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
    keyLen: Tensor | null,
    segStart?: Tensor | null,
    softcap?: number,
  ): void;
  /** dq, dk, dv written (not accumulated), same shapes as q, k, v; keyLen, segStart and softcap as in the forward. */
  attentionBackward(
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    dout: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    out: Tensor,
    lse: Tensor,
    B: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
    keyLen: Tensor | null,
    segStart?: Tensor | null,
    softcap?: number,
  ): void;
  /** In place on x[rows, n]: each row becomes softmax(row) (single-query attention while decoding). */
  softmaxRows(x: Tensor, rows: number, n: number): void;

  /** out[n] = silu(gate) * up. */
  swigluForward(out: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** dgate, dup written. */
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** out[n] = gelu_tanh(gate) * up (GeGLU with torch's gelu(approximate='tanh'): Gemma's gelu_pytorch_tanh). */
  gegluForward(out: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** dgate, dup written. */
  gegluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** In place: x = cap * tanh(x / cap) (Gemma 2's soft-capping of decode scores and of logits). */
  softcap(x: Tensor, cap: number, n: number): void;

  /** out[N,C] = table[ids[n], :] (table f32 or bf16, widened exactly). */
  embeddingForward(out: Tensor, table: Tensor, ids: Tensor, N: number, C: number): void;
  /** dtable[V,C] (f32) accumulated at rows ids[n]. */
  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor, N: number, C: number): void;

  /**
   * Fused LM head + softmax cross-entropy over vocab chunks, so [N,V] logits never exist whole. hidden[N,C], W[V,C]
   * (torch lm_head / tied embedding layout; f32, or bf16: hidden is then rounded to bf16 for the logits and dlogits
   * for dhidden, fp32 accumulation, softmax in fp32), labels[N] (i32, already shifted) with -100 = ignored.
   * loss (a device scalar, e.g. a view into a metrics tensor) = the SUM of -log p(label) over labelled rows. When
   * dhidden is not null it is written with gradScale * d(sum)/d(hidden); when dW is not null (f32 W only),
   * gradScale * d(sum)/dW is accumulated into it. softcap (> 0, optional; Gemma 2's final_logit_softcapping) caps
   * the logits to softcap * tanh(z / softcap) before the softmax; f32 W only.
   */
  crossEntropyLmHead(
    loss: Tensor,
    dhidden: Tensor | null,
    dW: Tensor | null,
    hidden: Tensor,
    W: Tensor,
    labels: Tensor,
    N: number,
    C: number,
    V: number,
    gradScale: number,
    softcap?: number,
  ): void;

  /** x[N,C] += b[C] per row. */
  addBias(x: Tensor, b: Tensor, N: number, C: number): void;
  /** db[C] += sum over rows of dout[N,C]. */
  biasBackward(db: Tensor, dout: Tensor, N: number, C: number): void;

  /** out[n] = keep_i ? x[n] / (1 - p) : 0 with the counter-based mask of DropoutOptions. */
  dropoutForward(out: Tensor, x: Tensor, n: number, o: DropoutOptions): void;
  /** dx[n] += keep_i ? dout[n] / (1 - p) : 0 (accumulates; same mask as dropoutForward with the same options). */
  dropoutBackward(dx: Tensor, dout: Tensor, n: number, o: DropoutOptions): void;

  /** torch.optim.AdamW (decoupled weight decay: p -= lr*wd*p before the Adam step), in place on p, m, v. */
  adamw(p: Tensor, g: Tensor, m: Tensor, v: Tensor, n: number, opts: AdamWOptions): void;

  /** out (a device scalar) = sum(x[0..n)^2), accumulated in float64 (global grad norm: one scalar per tensor). */
  sumSquares(out: Tensor, x: Tensor, n: number): void;
  /** x *= s. */
  scale(x: Tensor, s: number, n: number): void;
  /** y += a * x. */
  axpy(y: Tensor, a: number, x: Tensor, n: number): void;
};

/**
 * The ops of a host backend on typed arrays (views at any offset are fine). The same semantics as Backend, with the
 * scalar results returned instead of written to a device scalar, and the bf16 variants spelled out.
 */
export type Kernels = {
  matmul(c: F32, a: F32, b: F32, M: number, N: number, K: number, opts?: MatmulOptions): void;
  /** C[M,N] = alpha * bf16(A)[M,K] @ op(W)[K,N] + beta * C; W holds bf16 bits, [N,K] when transB else [K,N]. */
  matmulBf16W(c: F32, a: F32, w: Uint16Array, M: number, N: number, K: number, opts?: MatmulBf16Options): void;
  rmsnormForward(out: F32, rstd: F32, x: F32, w: F32, N: number, C: number, eps: number): void;
  rmsnormBackward(dx: F32, dw: F32 | null, dout: F32, x: F32, w: F32, rstd: F32, N: number, C: number): void;
  ropeForward(x: F32, pos: Int32Array, N: number, H: number, D: number, theta: number, invFreq?: F32 | null): void;
  ropeBackward(dx: F32, pos: Int32Array, N: number, H: number, D: number, theta: number, invFreq?: F32 | null): void;
  attentionForward(
    out: F32,
    lse: F32,
    q: F32,
    k: F32,
    v: F32,
    B: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
    keyLen?: Int32Array,
    segStart?: Int32Array,
    softcap?: number,
  ): void;
  attentionBackward(
    dq: F32,
    dk: F32,
    dv: F32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    out: F32,
    lse: F32,
    B: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
    keyLen?: Int32Array,
    segStart?: Int32Array,
    softcap?: number,
  ): void;
  softmaxRows(x: F32, rows: number, n: number): void;
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;
  gegluForward(out: F32, gate: F32, up: F32, n: number): void;
  gegluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;
  softcap(x: F32, cap: number, n: number): void;
  embeddingForward(out: F32, table: F32, ids: Int32Array, N: number, C: number): void;
  /** out[N,C] = widen(table[ids[n], :]), table of bf16 bits. */
  embeddingForwardBf16(out: F32, table: Uint16Array, ids: Int32Array, N: number, C: number): void;
  embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, N: number, C: number): void;
  /** Returns the loss sum (float64). */
  crossEntropyLmHead(
    dhidden: F32 | null,
    dW: F32 | null,
    hidden: F32,
    W: F32,
    labels: Int32Array,
    N: number,
    C: number,
    V: number,
    gradScale: number,
    softcap?: number,
  ): number;
  /** The bf16-weight LM head (no dW: a bf16 weight is frozen). Returns the loss sum. */
  crossEntropyLmHeadBf16(
    dhidden: F32 | null,
    hidden: F32,
    W: Uint16Array,
    labels: Int32Array,
    N: number,
    C: number,
    V: number,
    gradScale: number,
  ): number;
  addBias(x: F32, b: F32, N: number, C: number): void;
  biasBackward(db: F32, dout: F32, N: number, C: number): void;
  dropoutForward(out: F32, x: F32, n: number, p: number, seed: number, offset: number): void;
  dropoutBackward(dx: F32, dout: F32, n: number, p: number, seed: number, offset: number): void;
  shiftLabels(out: Int32Array, labels: Int32Array, B: number, T: number): void;
  adamw(p: F32, g: F32, m: F32, v: F32, n: number, opts: AdamWOptions): void;
  /** sum(x^2) accumulated in float64. */
  sumSquares(x: F32, n: number): number;
  scale(x: F32, s: number, n: number): void;
  axpy(y: F32, a: number, x: F32, n: number): void;
};
