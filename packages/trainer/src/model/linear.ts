import type { Backend } from '@crucible/tensor';
import type { Param } from './types';

type F32 = Float32Array;

/** PEFT LoRA on one linear: y += scale * B A dropout(x), scale = alpha / r. */
export type LoraAdapter = { A: Param; B: Param; r: number; scale: number; dropout: number };

/**
 * A torch nn.Linear (weight [out, in]) with optional bias and LoRA. dW/db are null when the base is frozen.
 *
 * Wbf16 (frozenDtype 'bf16', LoRA only): the frozen weight is held once as bf16 bits and W is empty. Both uses of
 * the frozen weight - the forward x W^T and the input gradient dY W - then run through the backend's matmulBf16W:
 * the activation (x or dY) is rounded to bf16 and the products accumulate in fp32, as torch's bf16 matmul does when
 * a PEFT model is loaded in bf16. Everything trainable stays fp32: the LoRA path reads the unrounded x, A/B, their
 * gradients and AdamW state are fp32, and so are biases and norms. There is no dW for a frozen weight, so the bf16
 * copy is never written.
 */
export type Linear = {
  /** HF module path, e.g. model.layers.0.self_attn.q_proj */
  name: string;
  inF: number;
  outF: number;
  W: F32;
  Wbf16: Uint16Array | null;
  b: F32 | null;
  dW: F32 | null;
  db: F32 | null;
  lora: LoraAdapter | null;
};

/** What one LoRA call site saves for backward: h = dropout(x) A^T [N, r]; the dropped input and mask when used. */
export type LoraSlot = { h: F32; xd: F32 | null; mask: Uint8Array | null; dropped: boolean };

/** Backward scratch shared by every linear of a step: dh [N, rMax], dxd [N, maxIn]. */
export type LinearScratch = { dh: F32; dxd: F32 };

/** The backend's bf16-weight matmul; the model only sets Wbf16 after checking that the backend has one. */
function bf16W(be: Backend): NonNullable<Backend['matmulBf16W']> {
  const f = be.matmulBf16W;
  if (!f) throw new Error(`backend ${be.name} has no matmulBf16W but a linear holds bf16 weights`);
  return f.bind(be);
}

/**
 * y[N,out] (= or +=) x[N,in] W^T + b + scale * B A dropout(x). rng is non-null only in training (dropout on).
 */
export function linearForward(
  be: Backend,
  lin: Linear,
  y: F32,
  x: F32,
  N: number,
  accumulate: boolean,
  slot: LoraSlot | null,
  rng: (() => number) | null,
): void {
  if (lin.Wbf16) bf16W(be)(y, x, lin.Wbf16, N, lin.outF, lin.inF, { transB: true, beta: accumulate ? 1 : 0 });
  else be.matmul(y, x, lin.W, N, lin.outF, lin.inF, { transB: true, beta: accumulate ? 1 : 0 });
  if (lin.b) be.addBias(y, lin.b, N, lin.outF);
  const L = lin.lora;
  if (!L || !slot) return;
  let xin = x;
  slot.dropped = false;
  if (rng && L.dropout > 0) {
    // torch nn.Dropout: zero with probability p, scale survivors by 1/(1-p). An elementwise mask has no backend op
    // and costs O(N*in), far below the matmuls around it.
    const xd = slot.xd as F32;
    const mask = slot.mask as Uint8Array;
    const p = L.dropout;
    const keep = 1 / (1 - p);
    const n = N * lin.inF;
    for (let i = 0; i < n; i++) {
      if (rng() >= p) {
        mask[i] = 1;
        xd[i] = x[i] * keep;
      } else {
        mask[i] = 0;
        xd[i] = 0;
      }
    }
    xin = xd;
    slot.dropped = true;
  }
  be.matmul(slot.h, xin, L.A.data, N, L.r, lin.inF, { transB: true });
  be.matmul(y, slot.h, L.B.data, N, lin.outF, L.r, { transB: true, alpha: L.scale, beta: 1 });
}

/**
 * Backward of linearForward for dy[N,out]: dx (= or +=) dy W + LoRA path (skipped when dx is null);
 * dW, db, lora A/B grads accumulated.
 */
export function linearBackward(
  be: Backend,
  lin: Linear,
  dx: F32 | null,
  dy: F32,
  x: F32,
  N: number,
  accumulateDx: boolean,
  slot: LoraSlot | null,
  scratch: LinearScratch,
): void {
  const { inF, outF } = lin;
  // W [out, in] is the [K, N] right operand of dX[N, in] = dY[N, out] W, so no transpose here.
  if (dx && lin.Wbf16) bf16W(be)(dx, dy, lin.Wbf16, N, inF, outF, { beta: accumulateDx ? 1 : 0 });
  else if (dx) be.matmul(dx, dy, lin.W, N, inF, outF, { beta: accumulateDx ? 1 : 0 });
  if (lin.dW) be.matmul(lin.dW, dy, x, outF, inF, N, { transA: true, beta: 1 });
  if (lin.db) be.biasBackward(lin.db, dy, N, outF);
  const L = lin.lora;
  if (!L || !slot) return;
  const xin = slot.dropped ? (slot.xd as F32) : x;
  const dh = scratch.dh.subarray(0, N * L.r);
  // dB[out,r] += scale * dy^T h ; dh[N,r] = scale * dy B ; dA[r,in] += dh^T xin ; dxin = dh A
  be.matmul(L.B.grad, dy, slot.h, outF, L.r, N, { transA: true, alpha: L.scale, beta: 1 });
  be.matmul(dh, dy, L.B.data, N, L.r, outF, { alpha: L.scale });
  be.matmul(L.A.grad, dh, xin, L.r, inF, N, { transA: true, beta: 1 });
  if (!dx) return;
  if (!slot.dropped) {
    be.matmul(dx, dh, L.A.data, N, inF, L.r, { beta: 1 });
    return;
  }
  const dxd = scratch.dxd.subarray(0, N * inF);
  be.matmul(dxd, dh, L.A.data, N, inF, L.r);
  const mask = slot.mask as Uint8Array;
  const keep = 1 / (1 - L.dropout);
  const n = N * inF;
  for (let i = 0; i < n; i++) if (mask[i]) dx[i] += dxd[i] * keep;
}
