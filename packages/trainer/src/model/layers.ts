import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import type { LayerActs } from './acts';
import { type DropoutMode, type Linear, type LinearScratch, linearBackward, linearForward } from './linear';
import type { LoraTarget } from './types';

/** An RMSNorm weight [C]; dw is null when frozen. */
export type Norm = { w: DT; dw: DT | null };

/** One Qwen2/Llama decoder layer: pre-norm attention and SwiGLU MLP, each with a residual. */
export type Layer = { index: number; inNorm: Norm; postNorm: Norm; lin: Record<LoraTarget, Linear> };

export type Dims = { C: number; I: number; Hq: number; Hkv: number; D: number; eps: number; theta: number };

/**
 * The shape of one forward call: B rows of T tokens, N = B*T; pos [N] and keyLen [B] are i32 tensors; segStart [N]
 * (i32) keeps attention inside packed sequences (neat_packing), null otherwise.
 */
export type StepShape = { B: number; T: number; N: number; pos: DT; keyLen: DT | null; segStart: DT | null };

/** input_layernorm, q/k/v projections (+bias, +LoRA), RoPE on q and k. */
export function attnInputForward(
  be: Backend,
  d: Dims,
  layer: Layer,
  a: LayerActs,
  N: number,
  pos: DT,
  drop: DropoutMode,
  scratch: LinearScratch | null,
): void {
  be.rmsnormForward(a.ln1, a.rstd1, a.x, layer.inNorm.w, N, d.C, d.eps);
  linearForward(be, layer.lin.q_proj, a.q, a.ln1, N, false, a.slots.q_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.k_proj, a.k, a.ln1, N, false, a.slots.k_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.v_proj, a.v, a.ln1, N, false, a.slots.v_proj ?? null, drop, scratch);
  be.ropeForward(a.q, pos, N, d.Hq, d.D, d.theta);
  be.ropeForward(a.k, pos, N, d.Hkv, d.D, d.theta);
}

/** o_proj + residual, post_attention_layernorm, SwiGLU MLP + residual: a.att -> a.out. */
export function attnOutputAndMlpForward(
  be: Backend,
  d: Dims,
  layer: Layer,
  a: LayerActs,
  N: number,
  drop: DropoutMode,
  scratch: LinearScratch | null,
): void {
  be.copy(a.x2, a.x, N * d.C);
  linearForward(be, layer.lin.o_proj, a.x2, a.att, N, true, a.slots.o_proj ?? null, drop, scratch);
  be.rmsnormForward(a.ln2, a.rstd2, a.x2, layer.postNorm.w, N, d.C, d.eps);
  linearForward(be, layer.lin.gate_proj, a.gate, a.ln2, N, false, a.slots.gate_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.up_proj, a.up, a.ln2, N, false, a.slots.up_proj ?? null, drop, scratch);
  be.swigluForward(a.act, a.gate, a.up, N * d.I);
  be.copy(a.out, a.x2, N * d.C);
  linearForward(be, layer.lin.down_proj, a.out, a.act, N, true, a.slots.down_proj ?? null, drop, scratch);
}

/** One decoder layer a.x -> a.out, leaving in `a` everything its backward reads. */
export function layerForward(
  be: Backend,
  d: Dims,
  layer: Layer,
  a: LayerActs,
  s: StepShape,
  drop: DropoutMode,
  scratch: LinearScratch | null,
): void {
  attnInputForward(be, d, layer, a, s.N, s.pos, drop, scratch);
  be.attentionForward(a.att, a.lse, a.q, a.k, a.v, s.B, s.T, d.Hq, d.Hkv, d.D, s.keyLen, s.segStart);
  attnOutputAndMlpForward(be, d, layer, a, s.N, drop, scratch);
}

export type BackwardBuffers = {
  dres: DT; // in: d/d a.out; out: d/d a.x
  dtmp: DT;
  dln: DT;
  datt: DT;
  dq: DT;
  dk: DT;
  dv: DT;
  dact: DT;
  dgate: DT;
  dup: DT;
  scratch: LinearScratch;
};

/**
 * Backward of layerForward. On entry g.dres holds d loss / d(layer output); on return d loss / d(layer input),
 * unless needInputGrad is false (the first layer under a frozen embedding): then the q/k/v input gradient and the
 * input norm's backward, which nothing would read, are skipped.
 * Weight gradients (where not frozen) and LoRA gradients are accumulated. seed: the dropout stream's.
 */
export function layerBackward(
  be: Backend,
  d: Dims,
  layer: Layer,
  a: LayerActs,
  s: StepShape,
  g: BackwardBuffers,
  needInputGrad: boolean,
  seed: number,
): void {
  const { N } = s;
  const { C, I, Hq, Hkv, D } = d;
  const L = layer.lin;
  const sl = a.slots;
  const sc = g.scratch;
  // MLP: out = x2 + down(silu(gate(ln2)) * up(ln2))
  linearBackward(be, L.down_proj, g.dact, g.dres, a.act, N, false, sl.down_proj ?? null, sc, seed);
  be.swigluBackward(g.dgate, g.dup, g.dact, a.gate, a.up, N * I);
  linearBackward(be, L.gate_proj, g.dln, g.dgate, a.ln2, N, false, sl.gate_proj ?? null, sc, seed);
  linearBackward(be, L.up_proj, g.dln, g.dup, a.ln2, N, true, sl.up_proj ?? null, sc, seed);
  be.rmsnormBackward(g.dtmp, layer.postNorm.dw, g.dln, a.x2, layer.postNorm.w, a.rstd2, N, C);
  be.axpy(g.dres, 1, g.dtmp, N * C);
  // Attention: x2 = x + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1)))
  linearBackward(be, L.o_proj, g.datt, g.dres, a.att, N, false, sl.o_proj ?? null, sc, seed);
  be.attentionBackward(
    g.dq,
    g.dk,
    g.dv,
    g.datt,
    a.q,
    a.k,
    a.v,
    a.att,
    a.lse,
    s.B,
    s.T,
    Hq,
    Hkv,
    D,
    s.keyLen,
    s.segStart,
  );
  be.ropeBackward(g.dq, s.pos, N, Hq, D, d.theta);
  be.ropeBackward(g.dk, s.pos, N, Hkv, D, d.theta);
  const dln = needInputGrad || layer.inNorm.dw ? g.dln : null;
  linearBackward(be, L.q_proj, dln, g.dq, a.ln1, N, false, sl.q_proj ?? null, sc, seed);
  linearBackward(be, L.k_proj, dln, g.dk, a.ln1, N, true, sl.k_proj ?? null, sc, seed);
  linearBackward(be, L.v_proj, dln, g.dv, a.ln1, N, true, sl.v_proj ?? null, sc, seed);
  if (!dln) return;
  be.rmsnormBackward(g.dtmp, layer.inNorm.dw, g.dln, a.x, layer.inNorm.w, a.rstd1, N, C);
  be.axpy(g.dres, 1, g.dtmp, N * C);
}
