import type { Layer } from './layers';
import type { LinearScratch, LoraSlot } from './linear';
import { LORA_TARGETS, type LoraTarget } from './types';

type F32 = Float32Array;

/** Activations one decoder layer saves for backward; every buffer is [N, ...] with N = B*T tokens. */
export type LayerActs = {
  x: F32; // input residual [N,C] (= res[l])
  ln1: F32; // input_layernorm output [N,C]
  rstd1: F32; // [N]
  q: F32; // [N,Hq*D] after bias, LoRA and RoPE
  k: F32; // [N,Hkv*D] after RoPE
  v: F32; // [N,Hkv*D]
  att: F32; // attention output [N,Hq*D]
  lse: F32; // [B,Hq,T]
  x2: F32; // residual after attention [N,C]
  ln2: F32; // post_attention_layernorm output [N,C]
  rstd2: F32; // [N]
  gate: F32; // [N,I]
  up: F32; // [N,I]
  act: F32; // silu(gate)*up [N,I]
  out: F32; // output residual [N,C] (= res[l+1])
  slots: Partial<Record<LoraTarget, LoraSlot>>;
};

export type Acts = {
  N: number;
  pos: Int32Array; // RoPE positions [N]
  labels: Int32Array; // shifted labels [N]
  res: F32[]; // residual stream, numLayers + 1 buffers of [N,C]
  layers: LayerActs[];
  hN: F32; // final norm output [N,C]
  rstdF: F32; // [N]
  // backward scratch, shared across layers
  dres: F32; // d loss / d residual [N,C]
  dtmp: F32; // [N,C]
  dln: F32; // [N,C]
  dhN: F32; // [N,C]
  datt: F32; // [N,Hq*D]
  dq: F32;
  dk: F32;
  dv: F32;
  dact: F32; // [N,I]
  dgate: F32;
  dup: F32;
  scratch: LinearScratch;
};

/** Hands out buffers of perToken * N elements. */
export type Alloc = { f32(perToken: number): F32; u8(perToken: number): Uint8Array; i32(perToken: number): Int32Array };

export type ActDims = { C: number; I: number; Hq: number; Hkv: number; D: number };

export function buildActs(N: number, dims: ActDims, layers: Layer[], training: boolean, alloc: Alloc): Acts {
  const { C, I, Hq, Hkv, D } = dims;
  const res: F32[] = [];
  for (let l = 0; l <= layers.length; l++) res.push(alloc.f32(C));
  let rMax = 1;
  let inMax = 1;
  const layerActs = layers.map((layer, l): LayerActs => {
    const slots: Partial<Record<LoraTarget, LoraSlot>> = {};
    for (const t of LORA_TARGETS) {
      const lin = layer.lin[t];
      if (!lin.lora) continue;
      rMax = Math.max(rMax, lin.lora.r);
      inMax = Math.max(inMax, lin.inF);
      const drop = training && lin.lora.dropout > 0;
      slots[t] = {
        h: alloc.f32(lin.lora.r),
        xd: drop ? alloc.f32(lin.inF) : null,
        mask: drop ? alloc.u8(lin.inF) : null,
        dropped: false,
      };
    }
    return {
      x: res[l],
      ln1: alloc.f32(C),
      rstd1: alloc.f32(1),
      q: alloc.f32(Hq * D),
      k: alloc.f32(Hkv * D),
      v: alloc.f32(Hkv * D),
      att: alloc.f32(Hq * D),
      lse: alloc.f32(Hq),
      x2: alloc.f32(C),
      ln2: alloc.f32(C),
      rstd2: alloc.f32(1),
      gate: alloc.f32(I),
      up: alloc.f32(I),
      act: alloc.f32(I),
      out: res[l + 1],
      slots,
    };
  });
  const acts: Acts = {
    N,
    pos: alloc.i32(1),
    labels: alloc.i32(1),
    res,
    layers: layerActs,
    hN: alloc.f32(C),
    rstdF: alloc.f32(1),
    dres: new Float32Array(0),
    dtmp: new Float32Array(0),
    dln: new Float32Array(0),
    dhN: new Float32Array(0),
    datt: new Float32Array(0),
    dq: new Float32Array(0),
    dk: new Float32Array(0),
    dv: new Float32Array(0),
    dact: new Float32Array(0),
    dgate: new Float32Array(0),
    dup: new Float32Array(0),
    scratch: { dh: new Float32Array(0), dxd: new Float32Array(0) },
  };
  if (training) {
    acts.dres = alloc.f32(C);
    acts.dtmp = alloc.f32(C);
    acts.dln = alloc.f32(C);
    acts.dhN = alloc.f32(C);
    acts.datt = alloc.f32(Hq * D);
    acts.dq = alloc.f32(Hq * D);
    acts.dk = alloc.f32(Hkv * D);
    acts.dv = alloc.f32(Hkv * D);
    acts.dact = alloc.f32(I);
    acts.dgate = alloc.f32(I);
    acts.dup = alloc.f32(I);
    acts.scratch = { dh: alloc.f32(rMax), dxd: alloc.f32(inMax) };
  }
  return acts;
}

/**
 * Activation buffers reused across steps: storage grows to the largest N seen and every smaller batch gets views
 * into it, so a training run allocates once however its padded lengths vary (allocation, not compute, is what
 * costs at small sizes). Views are rebuilt only when N changes.
 */
export function createActsPool(build: (N: number, alloc: Alloc) => Acts): (N: number) => Acts {
  let cap = 0;
  let f: F32[] = [];
  let u: Uint8Array[] = [];
  let i32: Int32Array[] = [];
  let last: Acts | null = null;
  return (N: number) => {
    if (N > cap) {
      last = null;
      f = [];
      u = [];
      i32 = [];
      cap = N;
      const keep = <A>(list: A[], a: A): A => {
        list.push(a);
        return a;
      };
      build(cap, {
        f32: (p) => keep(f, new Float32Array(cap * p)),
        u8: (p) => keep(u, new Uint8Array(cap * p)),
        i32: (p) => keep(i32, new Int32Array(cap * p)),
      });
    }
    if (last && last.N === N) return last;
    let fi = 0;
    let ui = 0;
    let ii = 0;
    last = build(N, {
      f32: (p) => f[fi++].subarray(0, N * p),
      u8: (p) => u[ui++].subarray(0, N * p),
      i32: (p) => i32[ii++].subarray(0, N * p),
    });
    return last;
  };
}
