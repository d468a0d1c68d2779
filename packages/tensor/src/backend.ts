/**
 * The one compute interface of the training core. Every op is coarse and fused; the TS side holds shapes and the
 * graph of a step. All tensors are row-major Float32Array views (zero-copy into the native addon; views at offsets
 * are fine). Shapes are written in each signature's comment: N = tokens (B*T), C = channels, V = vocab,
 * H = heads, D = head dim. "accumulate" means the op adds into the output (+=) instead of overwriting it.
 *
 * Semantics are those of PyTorch / Hugging Face Transformers (Qwen2/Llama): RMSNorm computes in fp32
 * (x * rsqrt(mean(x^2) + eps) * w), RoPE is the non-interleaved rotate_half form, attention is causal with scale
 * 1/sqrt(D) and GQA (query head h reads kv head floor(h / (Hq/Hkv))), SwiGLU is silu(gate) * up, AdamW is torch's.
 *
 * This file is the contract between packages/tensor and packages/trainer: extend it, never change a signature.
 */
export type F32 = Float32Array;

export type MatmulOptions = {
  /** A is stored [K, M] instead of [M, K]. */
  transA?: boolean;
  /** B is stored [N, K] instead of [K, N] (a torch Linear weight [out, in] used as x @ W^T). */
  transB?: boolean;
  /** C = alpha * op(A) op(B) + beta * C. Defaults alpha 1, beta 0 (beta 1 accumulates). */
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

export type Backend = {
  readonly name: string;

  /** C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C. */
  matmul(c: F32, a: F32, b: F32, M: number, N: number, K: number, opts?: MatmulOptions): void;

  /**
   * Optional (added for frozen bf16 base weights): C[M,N] = alpha * bf16(A)[M,K] @ op(W)[K,N] + beta * C, where W
   * holds bf16 bit patterns (the upper half of float32, see toBf16) and A is rounded to bf16 (nearest even) before
   * the products, which accumulate in fp32 - the numbers of torch's bf16 matmul with fp32 accumulation.
   * No transA: the weight is always the right operand (x @ W^T forward, dY @ W for the input gradient).
   */
  matmulBf16W?(c: F32, a: F32, w: Uint16Array, M: number, N: number, K: number, opts?: MatmulBf16Options): void;

  /** out[N,C] = x * rstd * w; rstd[N] = 1/sqrt(mean(x^2) + eps) saved for backward. */
  rmsnormForward(out: F32, rstd: F32, x: F32, w: F32, N: number, C: number, eps: number): void;
  /** dx[N,C] written; dw[C] accumulated when not null (frozen weight: pass null). */
  rmsnormBackward(dx: F32, dw: F32 | null, dout: F32, x: F32, w: F32, rstd: F32, N: number, C: number): void;

  /** In place on x[N,H,D] (N tokens, positions pos[N]); HF rotate_half RoPE with base theta. */
  ropeForward(x: F32, pos: Int32Array, N: number, H: number, D: number, theta: number): void;
  /** In place on dx[N,H,D]: the transpose (inverse rotation) of ropeForward. */
  ropeBackward(dx: F32, pos: Int32Array, N: number, H: number, D: number, theta: number): void;

  /**
   * Causal GQA attention. q[B,T,Hq,D], k/v[B,T,Hkv,D] -> out[B,T,Hq,D]; lse[B,Hq,T] (log-sum-exp of the scaled
   * scores per query row) saved for backward. keyLen[b] (optional) masks keys at positions >= keyLen[b] (right
   * padding); rows of padded queries still produce finite output.
   */
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
  ): void;
  /** dq, dk, dv written (not accumulated), same shapes as q, k, v. */
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
  ): void;

  /** out[n] = silu(gate) * up. */
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  /** dgate, dup written. */
  swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;

  /** out[N,C] = table[ids[n], :]. */
  embeddingForward(out: F32, table: F32, ids: Int32Array, N: number, C: number): void;
  /** dtable[V,C] accumulated at rows ids[n]. */
  embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, N: number, C: number): void;

  /**
   * Fused LM head + softmax cross-entropy, computed over vocab chunks so [N,V] logits never exist whole.
   * hidden[N,C], W[V,C] (torch lm_head / tied embedding layout), labels[N] with -100 = ignored.
   * Returns the SUM of -log p(label) over labelled rows (float64). When dhidden is not null it is written with
   * gradScale * d(sum)/d(hidden); when dW is not null, gradScale * d(sum)/dW is accumulated into it.
   */
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
  ): number;

  /** x[N,C] += b[C] per row. */
  addBias(x: F32, b: F32, N: number, C: number): void;
  /** db[C] += sum over rows of dout[N,C]. */
  biasBackward(db: F32, dout: F32, N: number, C: number): void;

  /** torch.optim.AdamW (decoupled weight decay: p -= lr*wd*p before the Adam step), in place on p, m, v. */
  adamw(p: F32, g: F32, m: F32, v: F32, n: number, opts: AdamWOptions): void;

  /** sum(x^2) accumulated in float64 (global grad norm). */
  sumSquares(x: F32, n: number): number;
  /** x *= s. */
  scale(x: F32, s: number, n: number): void;
  /** y += a * x. */
  axpy(y: F32, a: number, x: F32, n: number): void;
};
