import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import type { LayerActs } from './acts';
import { type DropoutMode, type Linear, type LinearScratch, linearBackward, linearForward } from './linear';
import type { LoraTarget } from './types';

/** An RMSNorm weight [C]; dw is null when frozen. */
export type Norm = { w: DT; dw: DT | null };

/**
 * One Qwen2/Llama/Qwen3/Mistral/Gemma decoder layer: pre-norm attention and a gated MLP, each with a residual.
 * postNorm is the MLP's input norm (post_attention_layernorm, Gemma's pre_feedforward_layernorm). qNorm/kNorm:
 * Qwen3's and Gemma 3's per-head RMSNorm of q and k (weight [D]) before RoPE, null for the others. attnOutNorm /
 * mlpOutNorm: Gemma's post_attention_layernorm / post_feedforward_layernorm on each branch's output before its
 * residual add, null for the others. (Gemma norms hold 1 + w: see build.ts.) sliding: attention sees the window's
 * keys only (StepShape.segStartLocal); rope: the layer's own RoPE base and frequencies (Gemma 3's local layers),
 * null = Dims'.
 */
export type Layer = {
  index: number;
  inNorm: Norm;
  postNorm: Norm;
  qNorm: Norm | null;
  kNorm: Norm | null;
  attnOutNorm: Norm | null;
  mlpOutNorm: Norm | null;
  sliding: boolean;
  rope: { theta: number; invFreq: DT | null } | null;
  lin: Record<LoraTarget, Linear>;
};

/**
 * invFreq: RoPE frequencies [D/2] when they are not theta's (Llama 3.1 rescaling), else null. act: the MLP's gate
 * activation (SwiGLU, or Gemma's GeGLU with tanh GELU). qScale: q is multiplied by it after RoPE, so that the
 * attention op's 1/sqrt(D) becomes Gemma's query_pre_attn_scalar^-0.5 (1 elsewhere). attnSoftcap: Gemma 2's
 * attention soft-capping (0 = none).
 */
export type Dims = {
  C: number;
  I: number;
  Hq: number;
  Hkv: number;
  D: number;
  eps: number;
  theta: number;
  invFreq: DT | null;
  act: 'swiglu' | 'geglu';
  qScale: number;
  attnSoftcap: number;
};

/**
 * The shape of one forward call: B rows of T tokens, N = B*T; pos [N] and keyLen [B] are i32 tensors; segStart [N]
 * (i32) keeps attention inside packed sequences (neat_packing), null otherwise; segStartLocal [N] is the same for
 * sliding layers with the window applied too (null when no row is longer than the window and nothing is packed).
 */
export type StepShape = {
  B: number;
  T: number;
  N: number;
  pos: DT;
  keyLen: DT | null;
  segStart: DT | null;
  segStartLocal: DT | null;
};

const ropeOf = (d: Dims, layer: Layer) => layer.rope ?? { theta: d.theta, invFreq: d.invFreq };

/** input_layernorm, q/k/v projections (+bias, +LoRA), Qwen3's per-head q/k RMSNorm, RoPE on q and k. */
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
  // With q/k norms the projections land in qRaw/kRaw (kept for the norms' backward) and the norms write q/k.
  const qOut = layer.qNorm ? a.qRaw : a.q;
  const kOut = layer.kNorm ? a.kRaw : a.k;
  linearForward(be, layer.lin.q_proj, qOut, a.ln1, N, false, a.slots.q_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.k_proj, kOut, a.ln1, N, false, a.slots.k_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.v_proj, a.v, a.ln1, N, false, a.slots.v_proj ?? null, drop, scratch);
  if (layer.qNorm) be.rmsnormForward(a.q, a.rstdQ, a.qRaw, layer.qNorm.w, N * d.Hq, d.D, d.eps);
  if (layer.kNorm) be.rmsnormForward(a.k, a.rstdK, a.kRaw, layer.kNorm.w, N * d.Hkv, d.D, d.eps);
  const r = ropeOf(d, layer);
  be.ropeForward(a.q, pos, N, d.Hq, d.D, r.theta, r.invFreq);
  be.ropeForward(a.k, pos, N, d.Hkv, d.D, r.theta, r.invFreq);
  if (d.qScale !== 1) be.scale(a.q, d.qScale, N * d.Hq * d.D);
}

/**
 * o_proj + residual, post_attention_layernorm, gated MLP + residual: a.att -> a.out. Gemma: o_proj -> a.ao,
 * x2 = x + attnOutNorm(ao); down_proj -> a.mo, out = x2 + mlpOutNorm(mo).
 */
export function attnOutputAndMlpForward(
  be: Backend,
  d: Dims,
  layer: Layer,
  a: LayerActs,
  N: number,
  drop: DropoutMode,
  scratch: LinearScratch | null,
): void {
  const NC = N * d.C;
  if (layer.attnOutNorm) {
    linearForward(be, layer.lin.o_proj, a.ao, a.att, N, false, a.slots.o_proj ?? null, drop, scratch);
    be.rmsnormForward(a.x2, a.rstdA, a.ao, layer.attnOutNorm.w, N, d.C, d.eps);
    be.axpy(a.x2, 1, a.x, NC);
  } else {
    be.copy(a.x2, a.x, NC);
    linearForward(be, layer.lin.o_proj, a.x2, a.att, N, true, a.slots.o_proj ?? null, drop, scratch);
  }
  be.rmsnormForward(a.ln2, a.rstd2, a.x2, layer.postNorm.w, N, d.C, d.eps);
  linearForward(be, layer.lin.gate_proj, a.gate, a.ln2, N, false, a.slots.gate_proj ?? null, drop, scratch);
  linearForward(be, layer.lin.up_proj, a.up, a.ln2, N, false, a.slots.up_proj ?? null, drop, scratch);
  if (d.act === 'geglu') be.gegluForward(a.act, a.gate, a.up, N * d.I);
  else be.swigluForward(a.act, a.gate, a.up, N * d.I);
  if (layer.mlpOutNorm) {
    linearForward(be, layer.lin.down_proj, a.mo, a.act, N, false, a.slots.down_proj ?? null, drop, scratch);
    be.rmsnormForward(a.out, a.rstdM, a.mo, layer.mlpOutNorm.w, N, d.C, d.eps);
    be.axpy(a.out, 1, a.x2, NC);
  } else {
    be.copy(a.out, a.x2, NC);
    linearForward(be, layer.lin.down_proj, a.out, a.act, N, true, a.slots.down_proj ?? null, drop, scratch);
  }
}

/** The attention op's sequence starts for this layer: the window's on sliding layers. */
const segStartOf = (layer: Layer, s: StepShape): DT | null => (layer.sliding ? s.segStartLocal : s.segStart);

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
  const seg = segStartOf(layer, s);
  be.attentionForward(
    a.att,
    a.lse,
    a.q,
    a.k,
    a.v,
    s.B,
    s.T,
    d.Hq,
    d.Hkv,
    d.D,
    s.keyLen,
    seg,
    d.attnSoftcap || undefined,
  );
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
  dqRaw: DT; // q/k norms only: d loss / d (q_proj, k_proj output)
  dkRaw: DT;
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
  // MLP: out = x2 + down(silu(gate(ln2)) * up(ln2)); Gemma: out = x2 + norm(down(gelu(gate(ln2)) * up(ln2)))
  let dmo = g.dres;
  if (layer.mlpOutNorm) {
    be.rmsnormBackward(g.dtmp, layer.mlpOutNorm.dw, g.dres, a.mo, layer.mlpOutNorm.w, a.rstdM, N, C);
    dmo = g.dtmp;
  }
  linearBackward(be, L.down_proj, g.dact, dmo, a.act, N, false, sl.down_proj ?? null, sc, seed);
  if (d.act === 'geglu') be.gegluBackward(g.dgate, g.dup, g.dact, a.gate, a.up, N * I);
  else be.swigluBackward(g.dgate, g.dup, g.dact, a.gate, a.up, N * I);
  linearBackward(be, L.gate_proj, g.dln, g.dgate, a.ln2, N, false, sl.gate_proj ?? null, sc, seed);
  linearBackward(be, L.up_proj, g.dln, g.dup, a.ln2, N, true, sl.up_proj ?? null, sc, seed);
  be.rmsnormBackward(g.dtmp, layer.postNorm.dw, g.dln, a.x2, layer.postNorm.w, a.rstd2, N, C);
  be.axpy(g.dres, 1, g.dtmp, N * C);
  // Attention: x2 = x + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1))); Gemma: x2 = x + norm(o(...))
  let dao = g.dres;
  if (layer.attnOutNorm) {
    be.rmsnormBackward(g.dtmp, layer.attnOutNorm.dw, g.dres, a.ao, layer.attnOutNorm.w, a.rstdA, N, C);
    dao = g.dtmp;
  }
  linearBackward(be, L.o_proj, g.datt, dao, a.att, N, false, sl.o_proj ?? null, sc, seed);
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
    segStartOf(layer, s),
    d.attnSoftcap || undefined,
  );
  if (d.qScale !== 1) be.scale(g.dq, d.qScale, N * Hq * D);
  const r = ropeOf(d, layer);
  be.ropeBackward(g.dq, s.pos, N, Hq, D, r.theta, r.invFreq);
  be.ropeBackward(g.dk, s.pos, N, Hkv, D, r.theta, r.invFreq);
  let dq = g.dq;
  let dk = g.dk;
  if (layer.qNorm) {
    be.rmsnormBackward(g.dqRaw, layer.qNorm.dw, g.dq, a.qRaw, layer.qNorm.w, a.rstdQ, N * Hq, D);
    dq = g.dqRaw;
  }
  if (layer.kNorm) {
    be.rmsnormBackward(g.dkRaw, layer.kNorm.dw, g.dk, a.kRaw, layer.kNorm.w, a.rstdK, N * Hkv, D);
    dk = g.dkRaw;
  }
  const dln = needInputGrad || layer.inNorm.dw ? g.dln : null;
  linearBackward(be, L.q_proj, dln, dq, a.ln1, N, false, sl.q_proj ?? null, sc, seed);
  linearBackward(be, L.k_proj, dln, dk, a.ln1, N, true, sl.k_proj ?? null, sc, seed);
  linearBackward(be, L.v_proj, dln, g.dv, a.ln1, N, true, sl.v_proj ?? null, sc, seed);
  if (!dln) return;
  be.rmsnormBackward(g.dtmp, layer.inNorm.dw, g.dln, a.x, layer.inNorm.w, a.rstd1, N, C);
  be.axpy(g.dres, 1, g.dtmp, N * C);
}
