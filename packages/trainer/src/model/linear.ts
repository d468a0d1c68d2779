import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import type { DropoutCursor, Param } from './types';

/** PEFT LoRA on one linear: y += scale * B A dropout(x), scale = alpha / r. */
export type LoraAdapter = { A: Param; B: Param; r: number; scale: number; dropout: number };

/**
 * A torch nn.Linear (weight [out, in]) with optional bias and LoRA. dW/db are null when the base is frozen.
 *
 * W is a backend tensor: f32 (trainable in full fine-tuning, or a frozen fp32 base), or a frozen bf16 weight. The
 * backend's matmul dispatches on it: with bf16 both uses of the frozen weight - the forward x W^T and the input
 * gradient dY W - round the activation (x or dY) to bf16 and accumulate in fp32, as torch's bf16 matmul does when a
 * PEFT model is loaded in bf16. Everything trainable stays fp32: the LoRA path reads the unrounded x, A/B, their
 * gradients and AdamW state are fp32, and so are biases and norms. A bf16 weight has no dW (it is frozen).
 */
export type Linear = {
  /** HF module path, e.g. model.layers.0.self_attn.q_proj */
  name: string;
  inF: number;
  outF: number;
  W: DT;
  b: DT | null;
  dW: DT | null;
  db: DT | null;
  lora: LoraAdapter | null;
};

/**
 * What one LoRA call site keeps for backward: h = dropout(x) A^T [N, r], and the dropout counter its mask was drawn
 * at (null: no dropout). The mask itself is never stored: backward (and a gradient-checkpointing recompute)
 * regenerates it from (seed, offset).
 */
export type LoraSlot = { h: DT; offset: number | null };

/** Scratch shared by every linear of a step: dh [N, rMax], the dropped input xd [N, maxIn] and its gradient. */
export type LinearScratch = { dh: DT; xd: DT; dxd: DT };

/** How a forward pass draws dropout: fresh counters from a cursor, or replaying the counters a slot recorded. */
export type DropoutMode = { cursor: DropoutCursor; replay: boolean } | null;

/**
 * y[N,out] (= or +=) x[N,in] W^T + b + scale * B A dropout(x). drop is non-null only in training (dropout on);
 * with replay the slot's recorded counter is reused (gradient checkpointing recomputes the same forward).
 */
export function linearForward(
  be: Backend,
  lin: Linear,
  y: DT,
  x: DT,
  N: number,
  accumulate: boolean,
  slot: LoraSlot | null,
  drop: DropoutMode,
  scratch: LinearScratch | null,
): void {
  be.matmul(y, x, lin.W, N, lin.outF, lin.inF, { transB: true, beta: accumulate ? 1 : 0 });
  if (lin.b) be.addBias(y, lin.b, N, lin.outF);
  const L = lin.lora;
  if (!L || !slot) return;
  let xin = x;
  if (drop && L.dropout > 0 && scratch) {
    // torch nn.Dropout: zero with probability p, scale survivors by 1/(1-p); the mask comes from the counter.
    const n = N * lin.inF;
    if (!drop.replay) {
      slot.offset = drop.cursor.offset;
      drop.cursor.offset += n;
    }
    xin = scratch.xd;
    be.dropoutForward(xin, x, n, { p: L.dropout, seed: drop.cursor.seed, offset: slot.offset as number });
  } else {
    slot.offset = null;
  }
  be.matmul(slot.h, xin, L.A.data, N, L.r, lin.inF, { transB: true });
  be.matmul(y, slot.h, L.B.data, N, lin.outF, L.r, { transB: true, alpha: L.scale, beta: 1 });
}

/**
 * Backward of linearForward for dy[N,out]: dx (= or +=) dy W + LoRA path (skipped when dx is null);
 * dW, db, lora A/B grads accumulated. seed is the dropout stream's (used when the slot recorded a counter).
 */
export function linearBackward(
  be: Backend,
  lin: Linear,
  dx: DT | null,
  dy: DT,
  x: DT,
  N: number,
  accumulateDx: boolean,
  slot: LoraSlot | null,
  scratch: LinearScratch,
  seed: number,
): void {
  const { inF, outF } = lin;
  // W [out, in] is the [K, N] right operand of dX[N, in] = dY[N, out] W, so no transpose here.
  if (dx) be.matmul(dx, dy, lin.W, N, inF, outF, { beta: accumulateDx ? 1 : 0 });
  if (lin.dW) be.matmul(lin.dW, dy, x, outF, inF, N, { transA: true, beta: 1 });
  if (lin.db) be.biasBackward(lin.db, dy, N, outF);
  const L = lin.lora;
  if (!L || !slot) return;
  const dropped = slot.offset !== null;
  const drop = { p: L.dropout, seed, offset: slot.offset ?? 0 };
  let xin = x;
  if (dropped) {
    xin = scratch.xd;
    be.dropoutForward(xin, x, N * inF, drop);
  }
  const dh = scratch.dh;
  // dB[out,r] += scale * dy^T h ; dh[N,r] = scale * dy B ; dA[r,in] += dh^T xin ; dxin = dh A
  be.matmul(L.B.grad, dy, slot.h, outF, L.r, N, { transA: true, alpha: L.scale, beta: 1 });
  be.matmul(dh, dy, L.B.data, N, L.r, outF, { alpha: L.scale });
  be.matmul(L.A.grad, dh, xin, L.r, inF, N, { transA: true, beta: 1 });
  if (!dx) return;
  if (!dropped) {
    be.matmul(dx, dh, L.A.data, N, inF, L.r, { beta: 1 });
    return;
  }
  be.matmul(scratch.dxd, dh, L.A.data, N, inF, L.r);
  be.dropoutBackward(dx, scratch.dxd, N * inF, drop);
}
