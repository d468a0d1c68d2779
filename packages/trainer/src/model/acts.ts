import { type Backend, type DeviceTensor as DT, type DType, SCALAR_SIZE } from '@crucible/tensor';
import type { Layer } from './layers';
import type { LinearScratch, LoraSlot } from './linear';
import { LORA_TARGETS, type LoraTarget } from './types';

/** Activations one decoder layer saves for backward; every buffer is [N, ...] with N = B*T tokens. */
export type LayerActs = {
  x: DT; // input residual [N,C] (= res[l])
  ln1: DT; // input_layernorm output [N,C]
  rstd1: DT; // [N]
  q: DT; // [N,Hq*D] after bias, LoRA, q norm and RoPE
  k: DT; // [N,Hkv*D] after q norm and RoPE
  qRaw: DT; // q/k norms only (else empty): q_proj output [N,Hq*D], k_proj output [N,Hkv*D]
  kRaw: DT;
  rstdQ: DT; // q/k norms only: [N*Hq], [N*Hkv]
  rstdK: DT;
  v: DT; // [N,Hkv*D]
  att: DT; // attention output [N,Hq*D]
  lse: DT; // [B,Hq,T]
  x2: DT; // residual after attention [N,C]
  ao: DT; // Gemma only (else empty): o_proj output before post_attention_layernorm [N,C], its rstd [N]
  rstdA: DT;
  mo: DT; // Gemma only: down_proj output before post_feedforward_layernorm [N,C], its rstd [N]
  rstdM: DT;
  ln2: DT; // post_attention_layernorm output [N,C]
  rstd2: DT; // [N]
  gate: DT; // [N,I]
  up: DT; // [N,I]
  act: DT; // silu(gate)*up [N,I]
  out: DT; // output residual [N,C] (= res[l+1])
  slots: Partial<Record<LoraTarget, LoraSlot>>;
};

export type Acts = {
  N: number;
  ids: DT; // input ids [N] (i32)
  pos: DT; // RoPE positions [N] (i32)
  rawLabels: DT; // labels as the batch gives them [N] (i32)
  labels: DT; // shifted labels [N] (i32)
  keyLenBuf: DT; // real row lengths, B <= N of them used (i32)
  segStart: DT; // packed rows with neat_packing: where each token's sequence starts [N] (i32)
  segStartLocal: DT; // the same with the sliding window applied, for sliding layers [N] (i32)
  loss: DT; // a device scalar (SCALAR_SIZE f32) for losses read back at once (eval, convenience calls)
  res: DT[]; // residual stream, numLayers + 1 buffers of [N,C]
  /**
   * Per layer. With gradient checkpointing every layer's buffers except x / out (its residuals) are ONE shared set
   * that the forward overwrites layer by layer and the backward refills by recomputing the layer; the slots are
   * per-layer objects (their dropout counters differ) over shared h buffers.
   */
  layers: LayerActs[];
  hN: DT; // final norm output [N,C]
  rstdF: DT; // [N]
  // backward scratch, shared across layers
  dres: DT; // d loss / d residual [N,C]
  dtmp: DT; // [N,C]
  dln: DT; // [N,C]
  dhN: DT; // [N,C]
  datt: DT; // [N,Hq*D]
  dq: DT;
  dk: DT;
  dv: DT;
  dqRaw: DT; // q/k norms only: [N,Hq*D], [N,Hkv*D]
  dkRaw: DT;
  dact: DT; // [N,I]
  dgate: DT;
  dup: DT;
  scratch: LinearScratch;
};

/** Hands out buffers of perToken * N elements (or a fixed count). */
export type Alloc = { perToken(perToken: number, dtype?: DType): DT; fixed(n: number, dtype?: DType): DT };

/**
 * qkNorm: the layers have Qwen3's / Gemma 3's q/k norms (their inputs and rstd are kept too). outNorms: Gemma's
 * norms of the attention and MLP outputs (their inputs and rstd are kept).
 */
export type ActDims = {
  C: number;
  I: number;
  Hq: number;
  Hkv: number;
  D: number;
  qkNorm?: boolean;
  outNorms?: boolean;
};

export function buildActs(
  N: number,
  dims: ActDims,
  layers: Layer[],
  o: { training: boolean; checkpointing: boolean },
  alloc: Alloc,
): Acts {
  const { C, I, Hq, Hkv, D } = dims;
  const f32 = (p: number) => alloc.perToken(p);
  const qk = dims.qkNorm ?? false;
  const on = dims.outNorms ?? false;
  const res: DT[] = [];
  for (let l = 0; l <= layers.length; l++) res.push(f32(C));
  let rMax = 1;
  let dropInMax = 1;
  for (const layer of layers) {
    for (const t of LORA_TARGETS) {
      const L = layer.lin[t].lora;
      if (!L) continue;
      rMax = Math.max(rMax, L.r);
      if (o.training && L.dropout > 0) dropInMax = Math.max(dropInMax, layer.lin[t].inF);
    }
  }
  type Buffers = Omit<LayerActs, 'x' | 'out' | 'slots'> & { h: Partial<Record<LoraTarget, DT>> };
  const buffers = (layer: Layer): Buffers => {
    const h: Partial<Record<LoraTarget, DT>> = {};
    for (const t of LORA_TARGETS) {
      const L = layer.lin[t].lora;
      if (L) h[t] = f32(L.r);
    }
    return {
      ln1: f32(C),
      rstd1: f32(1),
      q: f32(Hq * D),
      k: f32(Hkv * D),
      v: f32(Hkv * D),
      qRaw: qk ? f32(Hq * D) : alloc.fixed(0),
      kRaw: qk ? f32(Hkv * D) : alloc.fixed(0),
      rstdQ: qk ? f32(Hq) : alloc.fixed(0),
      rstdK: qk ? f32(Hkv) : alloc.fixed(0),
      att: f32(Hq * D),
      lse: f32(Hq),
      x2: f32(C),
      ao: on ? f32(C) : alloc.fixed(0),
      rstdA: on ? f32(1) : alloc.fixed(0),
      mo: on ? f32(C) : alloc.fixed(0),
      rstdM: on ? f32(1) : alloc.fixed(0),
      ln2: f32(C),
      rstd2: f32(1),
      gate: f32(I),
      up: f32(I),
      act: f32(I),
      h,
    };
  };
  // Every layer has the same LoRA targets and ranks, so one shared set serves all of them.
  const shared = o.checkpointing && layers.length > 0 ? buffers(layers[0]) : null;
  const layerActs = layers.map((layer, l): LayerActs => {
    const { h, ...b } = shared ?? buffers(layer);
    const slots: Partial<Record<LoraTarget, LoraSlot>> = {};
    for (const t of LORA_TARGETS) if (h[t]) slots[t] = { h: h[t] as DT, offset: null };
    return { ...b, x: res[l], out: res[l + 1], slots };
  });
  const empty = alloc.fixed(0);
  const acts: Acts = {
    N,
    ids: alloc.perToken(1, 'i32'),
    pos: alloc.perToken(1, 'i32'),
    rawLabels: alloc.perToken(1, 'i32'),
    labels: alloc.perToken(1, 'i32'),
    keyLenBuf: alloc.perToken(1, 'i32'),
    segStart: alloc.perToken(1, 'i32'),
    segStartLocal: alloc.perToken(1, 'i32'),
    loss: alloc.fixed(SCALAR_SIZE),
    res,
    layers: layerActs,
    hN: f32(C),
    rstdF: f32(1),
    dres: empty,
    dtmp: empty,
    dln: empty,
    dhN: empty,
    datt: empty,
    dq: empty,
    dk: empty,
    dv: empty,
    dqRaw: empty,
    dkRaw: empty,
    dact: empty,
    dgate: empty,
    dup: empty,
    scratch: { dh: empty, xd: empty, dxd: empty },
  };
  if (o.training) {
    acts.dres = f32(C);
    acts.dtmp = f32(C);
    acts.dln = f32(C);
    acts.dhN = f32(C);
    acts.datt = f32(Hq * D);
    acts.dq = f32(Hq * D);
    acts.dk = f32(Hkv * D);
    acts.dv = f32(Hkv * D);
    if (qk) {
      acts.dqRaw = f32(Hq * D);
      acts.dkRaw = f32(Hkv * D);
    }
    acts.dact = f32(I);
    acts.dgate = f32(I);
    acts.dup = f32(I);
    acts.scratch = { dh: f32(rMax), xd: f32(dropInMax), dxd: f32(dropInMax) };
  }
  return acts;
}

/**
 * Activation buffers reused across steps: backend storage grows to the largest N seen and every smaller batch gets
 * views into it, so a training run allocates once however its padded lengths vary (allocation, not compute, is
 * what costs at small sizes; on a GPU it also avoids allocator churn). Views are rebuilt only when N changes.
 */
export function createActsPool(be: Backend, build: (N: number, alloc: Alloc) => Acts): (N: number) => Acts {
  let cap = 0;
  let store: DT[] = [];
  let last: Acts | null = null;
  return (N: number) => {
    if (N > cap) {
      for (const t of store) be.free(t);
      last = null;
      store = [];
      cap = N;
      build(cap, {
        perToken: (p, dtype = 'f32') => {
          const t = be.alloc([cap * p], dtype);
          store.push(t);
          return t;
        },
        fixed: (n, dtype = 'f32') => {
          const t = be.alloc([n], dtype);
          store.push(t);
          return t;
        },
      });
    }
    if (last && last.N === N) return last;
    let i = 0;
    last = build(N, {
      perToken: (p) => be.view(store[i++], 0, [N * p]),
      fixed: (n) => be.view(store[i++], 0, [n]),
    });
    return last;
  };
}
