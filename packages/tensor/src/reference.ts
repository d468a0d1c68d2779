/**
 * The reference kernels: plain TypeScript, one obvious loop per formula, no blocking, no threads. They are the oracle
 * the cpu kernels are tested against, so clarity wins over speed everywhere. `referenceBackend` is the handle-level
 * Backend over them (src/host.ts).
 *
 * Every scalar is a JS number (float64) while it is being computed; only stores round to the output array's type.
 * The code only indexes its arrays, so the tests also run it on Float64Array (cast to F32) to check gradients by
 * finite differences far more tightly than float32 storage would allow.
 */
import type { AdamWOptions, Backend, F32, Kernels, MatmulBf16Options, MatmulOptions } from './backend';
import { bf16Round, bf16ToF32 } from './bf16';
import { checkDropoutOffset, dropoutBits, dropThreshold } from './dropout';
import { createHostBackend } from './host';

/** Rows of the LM head computed at once; the cross-entropy never holds more than [1, CE_CHUNK] logits. */
const CE_CHUNK = 1024;

/** HF computes inv_freq, the angle and cos/sin in float32; reproduce those roundings so golden values match. */
export function ropeInvFreq(D: number, theta: number): Float64Array {
  const half = D / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    inv[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / D)));
  }
  return inv;
}

/**
 * Apply the rotate_half rotation (sign = +1) or its transpose (sign = -1) in place on x[N,H,D].
 * Forward: y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin (x1 = first half, x2 = second half).
 */
function rope(
  x: F32,
  pos: Int32Array,
  N: number,
  H: number,
  D: number,
  theta: number,
  sign: 1 | -1,
  invFreq?: F32 | null,
): void {
  const half = D / 2;
  if (invFreq && invFreq.length < half) {
    throw new RangeError(`invFreq has ${invFreq.length} elements, the shape needs ${half}`);
  }
  const inv = invFreq ? Float64Array.from(invFreq.subarray(0, half)) : ropeInvFreq(D, theta);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(inv[i] * pos[n]);
      const c = Math.fround(Math.cos(angle));
      const s = sign * Math.fround(Math.sin(angle));
      for (let h = 0; h < H; h++) {
        const o = (n * H + h) * D;
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** Keys visible to query row i of batch b: j <= i (causal) and j < keyLen[b] (right padding). */
/** Query i of row b sees keys j in [first, end): causal, before keyLen[b], and from segStart[b*T+i] on. */
function visibleKeys(
  i: number,
  b: number,
  T: number,
  keyLen?: Int32Array,
  segStart?: Int32Array,
): { first: number; end: number } {
  const limit = keyLen ? Math.min(keyLen[b], T) : T;
  return { first: segStart ? segStart[b * T + i] : 0, end: Math.min(i + 1, limit) };
}

function matmul(c: F32, a: F32, b: F32, M: number, N: number, K: number, opts: MatmulOptions = {}): void {
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        // op(A)[i,k] and op(B)[k,j], reading the stored layout each flag describes.
        const av = opts.transA ? a[k * M + i] : a[i * K + k];
        const bv = opts.transB ? b[j * K + k] : b[k * N + j];
        acc += av * bv;
      }
      // beta = 0 overwrites (like BLAS/torch: old C, even NaN, is ignored).
      c[i * N + j] = beta === 0 ? alpha * acc : alpha * acc + beta * c[i * N + j];
    }
  }
}

/** C[M,N] = alpha bf16(A)[M,K] op(W)[K,N] + beta C; W holds bf16 bits, [N,K] when transB else [K,N]. */
function matmulBf16W(
  c: F32,
  a: F32,
  w: Uint16Array,
  M: number,
  N: number,
  K: number,
  opts: MatmulBf16Options = {},
): void {
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += bf16Round(a[i * K + k]) * bf16ToF32(opts.transB ? w[j * K + k] : w[k * N + j]);
      c[i * N + j] = beta === 0 ? alpha * acc : alpha * acc + beta * c[i * N + j];
    }
  }
}

function rmsnormForward(out: F32, rstd: F32, x: F32, w: F32, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let j = 0; j < C; j++) ss += x[n * C + j] * x[n * C + j];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let j = 0; j < C; j++) out[n * C + j] = x[n * C + j] * r * w[j];
  }
}

/**
 * y_j = x_j r w_j with r = (mean(x^2) + eps)^-1/2, so dr/dx_k = -r^3 x_k / C and
 * dx_k = r w_k dy_k - (r^3 / C) x_k sum_j(dy_j w_j x_j);  dw_j += dy_j x_j r.
 */
function rmsnormBackward(dx: F32, dw: F32 | null, dout: F32, x: F32, w: F32, rstd: F32, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const r = rstd[n];
    let dot = 0;
    for (let j = 0; j < C; j++) dot += dout[n * C + j] * w[j] * x[n * C + j];
    const k = (r * r * r * dot) / C;
    for (let j = 0; j < C; j++) {
      dx[n * C + j] = r * w[j] * dout[n * C + j] - k * x[n * C + j];
      if (dw) dw[j] += dout[n * C + j] * x[n * C + j] * r;
    }
  }
}

/**
 * out[b,i,h,:] = sum_j softmax_j(scale q_i.k_j) v_j over visible keys; lse[b,h,i] = logsumexp_j(scale q_i.k_j).
 * Visible: segStart[b*T+i] <= j <= i and j < keyLen[b] (each bound only when given). A query with no visible key
 * (keyLen[b] = 0, or a segment starting after keyLen) gets out = 0, lse = 0 so everything stays finite.
 */
function attentionForward(
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
): void {
  const scale = 1 / Math.sqrt(D);
  const cap = softcap ?? 0;
  const group = Hq / Hkv;
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const qo = ((b * T + i) * Hq + h) * D;
        const oo = qo;
        const { first, end } = visibleKeys(i, b, T, keyLen, segStart);
        const seen = end > first;
        let max = -Infinity;
        for (let j = first; j < end; j++) {
          const ko = ((b * T + j) * Hkv + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          s[j] = cap > 0 ? cap * Math.tanh((dot * scale) / cap) : dot * scale;
          if (s[j] > max) max = s[j];
        }
        let sum = 0;
        for (let j = first; j < end; j++) sum += Math.exp(s[j] - max);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = first; j < end; j++) acc += (Math.exp(s[j] - max) / sum) * v[((b * T + j) * Hkv + g) * D + d];
          out[oo + d] = seen ? acc : 0;
        }
        lse[(b * Hq + h) * T + i] = seen ? max + Math.log(sum) : 0;
      }
    }
  }
}

/**
 * With P_ij = exp(scale q_i.k_j - lse_i): dv_j = sum_i P_ij do_i; dP_ij = do_i.v_j; delta_i = do_i.out_i;
 * dS_ij = P_ij (dP_ij - delta_i); dq_i = scale sum_j dS_ij k_j; dk_j = scale sum_i dS_ij q_i.
 * GQA: the Hq/Hkv query heads of a group all add into their shared kv head. With softcap the scores are
 * cap tanh(scale q.k / cap) and dS is multiplied by the tanh's derivative 1 - tanh^2.
 */
function attentionBackward(
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
): void {
  const scale = 1 / Math.sqrt(D);
  const cap = softcap ?? 0;
  const group = Hq / Hkv;
  dq.fill(0, 0, B * T * Hq * D);
  dk.fill(0, 0, B * T * Hkv * D);
  dv.fill(0, 0, B * T * Hkv * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const qo = ((b * T + i) * Hq + h) * D;
        const { first, end } = visibleKeys(i, b, T, keyLen, segStart);
        const l = lse[(b * Hq + h) * T + i];
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
        for (let j = first; j < end; j++) {
          const ko = ((b * T + j) * Hkv + g) * D;
          let dot = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qo + d] * k[ko + d];
            dp += dout[qo + d] * v[ko + d];
          }
          const th = cap > 0 ? Math.tanh((dot * scale) / cap) : 0;
          const p = Math.exp((cap > 0 ? cap * th : dot * scale) - l);
          const ds = p * (dp - delta) * (cap > 0 ? 1 - th * th : 1);
          for (let d = 0; d < D; d++) {
            dv[ko + d] += p * dout[qo + d];
            dq[qo + d] += scale * ds * k[ko + d];
            dk[ko + d] += scale * ds * q[qo + d];
          }
        }
      }
    }
  }
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function swigluForward(out: F32, gate: F32, up: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** d silu(g)/dg = s (1 + g (1 - s)) with s = sigmoid(g). */
function swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    const d = dout[i];
    dgate[i] = d * up[i] * s * (1 + g * (1 - s));
    dup[i] = d * g * s;
  }
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** torch's gelu(approximate='tanh'): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(GELU_K * (x + 0.044715 * x * x * x)));

function gegluForward(out: F32, gate: F32, up: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = geluTanh(gate[i]) * up[i];
}

/** d gelu_tanh(g)/dg = 0.5 (1 + t) + 0.5 g (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 g^2), t = tanh(...). */
function gegluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const t = Math.tanh(GELU_K * (g + 0.044715 * g * g * g));
    const d = dout[i];
    dgate[i] = d * up[i] * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * g * g));
    dup[i] = d * 0.5 * g * (1 + t);
  }
}

/** x = cap tanh(x / cap), in place. */
function softcap(x: F32, cap: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] = cap * Math.tanh(x[i] / cap);
}

function embeddingForward(out: F32, table: F32, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < C; j++) out[n * C + j] = table[ids[n] * C + j];
  }
}

function embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < C; j++) dtable[ids[n] * C + j] += dout[n * C + j];
  }
}

/**
 * loss = sum over labelled rows of lse_n - z[n, label_n] with z = hidden W^T. Two passes over vocab chunks per row:
 * the first builds lse with an online max/sum, the second recomputes each chunk's logits to form
 * dz = gradScale (softmax(z) - onehot(label)), then dhidden_n = dz W and dW += dz^T hidden_n. softcap > 0 caps the
 * logits first (Gemma 2's final_logit_softcapping: z = cap tanh(hidden W^T / cap)), and dz is multiplied by 1 - (z/cap)^2.
 */
function crossEntropyLmHead(
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
): number {
  const cap = softcap ?? 0;
  const z = new Float64Array(Math.min(CE_CHUNK, V));
  const logits = (n: number, v0: number, len: number): void => {
    for (let t = 0; t < len; t++) {
      let dot = 0;
      for (let j = 0; j < C; j++) dot += hidden[n * C + j] * W[(v0 + t) * C + j];
      z[t] = cap > 0 ? cap * Math.tanh(dot / cap) : dot;
    }
  };
  let total = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    if (dhidden) dhidden.fill(0, n * C, (n + 1) * C);
    if (label === -100) continue;
    if (label < 0 || label >= V) throw new RangeError(`label ${label} at row ${n} is outside the vocabulary [0, ${V})`);
    let max = -Infinity;
    let sum = 0;
    let zLabel = 0;
    for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
      const len = Math.min(CE_CHUNK, V - v0);
      logits(n, v0, len);
      for (let t = 0; t < len; t++) {
        if (z[t] > max) {
          sum = sum * Math.exp(max - z[t]);
          max = z[t];
        }
        sum += Math.exp(z[t] - max);
        if (v0 + t === label) zLabel = z[t];
      }
    }
    const lse = max + Math.log(sum);
    total += lse - zLabel;
    if (!dhidden && !dW) continue;
    for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
      const len = Math.min(CE_CHUNK, V - v0);
      logits(n, v0, len);
      for (let t = 0; t < len; t++) {
        const dzCapped = gradScale * (Math.exp(z[t] - lse) - (v0 + t === label ? 1 : 0));
        const dz = cap > 0 ? dzCapped * (1 - (z[t] / cap) ** 2) : dzCapped;
        const wo = (v0 + t) * C;
        for (let j = 0; j < C; j++) {
          if (dhidden) dhidden[n * C + j] += dz * W[wo + j];
          if (dW) dW[wo + j] += dz * hidden[n * C + j];
        }
      }
    }
  }
  return total;
}

function addBias(x: F32, b: F32, N: number, C: number): void {
  for (let n = 0; n < N; n++) for (let j = 0; j < C; j++) x[n * C + j] += b[j];
}

function biasBackward(db: F32, dout: F32, N: number, C: number): void {
  for (let j = 0; j < C; j++) {
    let acc = 0;
    for (let n = 0; n < N; n++) acc += dout[n * C + j];
    db[j] += acc;
  }
}

/** torch.optim.AdamW, single-tensor path: p *= 1 - lr wd; m, v EMAs; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
function adamw(p: F32, g: F32, m: F32, v: F32, n: number, o: AdamWOptions): void {
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const stepSize = o.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    p[i] = p[i] * (1 - o.lr * o.weightDecay);
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    const denom = Math.sqrt(v[i]) / bc2Sqrt + o.eps;
    p[i] = p[i] - (stepSize * m[i]) / denom;
  }
}

function sumSquares(x: F32, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += x[i] * x[i];
  return acc;
}

function scale(x: F32, s: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] *= s;
}

function axpy(y: F32, a: number, x: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] += a * x[i];
}

/**
 * The bf16-weight LM head: as crossEntropyLmHead with z = bf16(hidden) W^T (W widened exactly) and
 * dhidden = bf16(dz) W, the numbers of torch's bf16 matmuls with fp32 accumulation in both directions. The softmax
 * and the loss are computed unrounded.
 */
function crossEntropyLmHeadBf16(
  dhidden: F32 | null,
  hidden: F32,
  W: Uint16Array,
  labels: Int32Array,
  N: number,
  C: number,
  V: number,
  gradScale: number,
): number {
  const z = new Float64Array(Math.min(CE_CHUNK, V));
  const h = new Float64Array(C);
  const logits = (v0: number, len: number): void => {
    for (let t = 0; t < len; t++) {
      let dot = 0;
      for (let j = 0; j < C; j++) dot += h[j] * bf16ToF32(W[(v0 + t) * C + j]);
      z[t] = Math.fround(dot); // the logits GEMM stores fp32
    }
  };
  let total = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    if (dhidden) dhidden.fill(0, n * C, (n + 1) * C);
    if (label === -100) continue;
    if (label < 0 || label >= V) throw new RangeError(`label ${label} at row ${n} is outside the vocabulary [0, ${V})`);
    for (let j = 0; j < C; j++) h[j] = bf16Round(hidden[n * C + j]);
    let max = -Infinity;
    let sum = 0;
    let zLabel = 0;
    for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
      const len = Math.min(CE_CHUNK, V - v0);
      logits(v0, len);
      for (let t = 0; t < len; t++) {
        if (z[t] > max) {
          sum = sum * Math.exp(max - z[t]);
          max = z[t];
        }
        sum += Math.exp(z[t] - max);
        if (v0 + t === label) zLabel = z[t];
      }
    }
    const lse = max + Math.log(sum);
    total += lse - zLabel;
    if (!dhidden) continue;
    const acc = new Float64Array(C);
    for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
      const len = Math.min(CE_CHUNK, V - v0);
      logits(v0, len);
      for (let t = 0; t < len; t++) {
        const dz = bf16Round(Math.fround(gradScale * (Math.exp(z[t] - lse) - (v0 + t === label ? 1 : 0))));
        const wo = (v0 + t) * C;
        for (let j = 0; j < C; j++) acc[j] += dz * bf16ToF32(W[wo + j]);
      }
    }
    for (let j = 0; j < C; j++) dhidden[n * C + j] = acc[j];
  }
  return total;
}

function embeddingForwardBf16(out: F32, table: Uint16Array, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < C; j++) out[n * C + j] = bf16ToF32(table[ids[n] * C + j]);
  }
}

function softmaxRows(x: F32, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (x[o + i] > max) max = x[o + i];
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(x[o + i] - max);
    for (let i = 0; i < n; i++) x[o + i] = Math.exp(x[o + i] - max) / sum;
  }
}

/** out = x / (1 - p) where kept, 0 where dropped (counter-based mask, see dropout.ts). */
function dropoutForward(out: F32, x: F32, n: number, p: number, seed: number, offset: number): void {
  checkDropoutOffset(offset);
  const thr = dropThreshold(p);
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) out[i] = dropoutBits(seed, offset + i) >= thr ? x[i] * keep : 0;
}

function dropoutBackward(dx: F32, dout: F32, n: number, p: number, seed: number, offset: number): void {
  checkDropoutOffset(offset);
  const thr = dropThreshold(p);
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) if (dropoutBits(seed, offset + i) >= thr) dx[i] = dx[i] + dout[i] * keep;
}

function shiftLabels(out: Int32Array, labels: Int32Array, B: number, T: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) out[b * T + t] = t + 1 < T ? labels[b * T + t + 1] : -100;
  }
}

export const referenceKernels: Kernels = {
  matmul,
  matmulBf16W,
  rmsnormForward,
  rmsnormBackward,
  ropeForward: (x, pos, N, H, D, theta, invFreq) => rope(x, pos, N, H, D, theta, 1, invFreq),
  ropeBackward: (dx, pos, N, H, D, theta, invFreq) => rope(dx, pos, N, H, D, theta, -1, invFreq),
  attentionForward,
  attentionBackward,
  softmaxRows,
  swigluForward,
  swigluBackward,
  gegluForward,
  gegluBackward,
  softcap,
  embeddingForward,
  embeddingForwardBf16,
  embeddingBackward,
  crossEntropyLmHead,
  crossEntropyLmHeadBf16,
  addBias,
  biasBackward,
  dropoutForward,
  dropoutBackward,
  shiftLabels,
  adamw,
  sumSquares,
  scale,
  axpy,
};

export const referenceBackend: Backend = createHostBackend({
  name: 'reference',
  kernels: referenceKernels,
  info: () => ({ summary: 'reference (plain TypeScript, float64 scalars)', bf16Kernel: 'reference' }),
});
