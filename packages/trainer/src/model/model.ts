import type { Backend } from '@crucible/tensor';
import { fromBf16 } from '@crucible/tensor';
import { type Acts, buildActs, createActsPool } from './acts';
import { buildModel, type FrozenDtype } from './build';
import { ModelError } from './errors';
import { createDecoder } from './kvcache';
import { type Dims, layerBackward, layerForward, type StepShape } from './layers';
import { createRng } from './rng';
import type { Batch, Finetuning, LoraSpec, LossResult, Model, ModelConfig, Tensor, Weights } from './types';

/**
 * A Qwen2/Llama causal LM on a compute backend, for LoRA or full fine-tuning. Every bit of arithmetic goes through
 * `backend`; this file holds the graph of a step: embedding, decoder layers, final norm, fused LM head + loss, and
 * the same in reverse.
 */
export function createModel(opts: {
  config: ModelConfig;
  weights: Weights;
  backend: Backend;
  /** 'none': a frozen model for inference (chat, export checks): no trainable parameters, no gradient buffers. */
  finetuning: Finetuning;
  lora?: LoraSpec;
  seed: number;
  /**
   * 'bf16' ("bf16 frozen weights, fp32 LoRA", the mixed precision of PEFT training on a bf16 base): the frozen
   * q/k/v/o/gate/up/down weights of a LoRA (or 'none') model are stored once as bf16 and multiplied through the
   * backend's matmulBf16W (activations rounded to bf16, fp32 accumulation) in the forward pass and the input
   * gradient; LoRA A/B, biases, norms, the embedding / LM head, gradients and optimizer state stay fp32. Halves the
   * frozen weights' memory and runs those matmuls on AVX-512 BF16 where the CPU has it. Default 'f32'.
   * With 'bf16' the model takes the converted tensors out of `weights` (each fp32 projection is deleted from the
   * map once its bf16 copy exists), so that they can be freed during the conversion; pass a copy to keep them.
   */
  frozenDtype?: FrozenDtype;
  /** One-line notes for people (a requested bf16 that cannot apply). Default: stderr. */
  warn?: (message: string) => void;
}): Model {
  // No closure below may capture opts: it holds the caller's fp32 weights, which a bf16 model must not keep alive.
  const { config: c, backend: be, finetuning } = opts;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  let frozenDtype: FrozenDtype = opts.frozenDtype ?? 'f32';
  if (frozenDtype === 'bf16' && opts.finetuning === 'full') {
    warn('bf16 frozen weights apply to a frozen base (LoRA); full fine-tuning trains every weight in float32.');
    frozenDtype = 'f32';
  } else if (frozenDtype === 'bf16' && !be.matmulBf16W) {
    warn(`backend ${be.name} has no bf16-weight matmul; the frozen weights stay float32.`);
    frozenDtype = 'f32';
  }
  const built = buildModel({ ...opts, frozenDtype });
  const { layers, embed, lmHead, finalNorm } = built;
  const d: Dims = {
    C: c.hiddenSize,
    I: c.intermediateSize,
    Hq: c.numHeads,
    Hkv: c.numKvHeads,
    D: c.headDim,
    eps: c.rmsNormEps,
    theta: c.ropeTheta,
  };
  const V = c.vocabSize;
  const { C } = d;
  const ownRng = createRng((opts.seed ^ 0x5bd1e995) >>> 0);

  // Two pools: training keeps backward scratch and dropout buffers. Evaluation during training (loss) reuses the
  // training pool so a run holds one set of activations; logits and generation (chat, tests) use the lean one.
  const trainPool = createActsPool((N, alloc) => buildActs(N, d, layers, true, alloc));
  const evalPool = createActsPool((N, alloc) => buildActs(N, d, layers, false, alloc));
  const keyLenOne = new Int32Array(1);

  const checkIds = (ids: ArrayLike<number>, what: string): void => {
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!(t >= 0 && t < V) || !Number.isInteger(t)) {
        throw new ModelError('INPUT_INVALID', `${what}[${i}] = ${t} is not a token id of this model (vocab ${V}).`);
      }
    }
  };

  const checkBatch = (b: Batch): void => {
    const N = b.B * b.T;
    if (!(b.B > 0 && b.T > 0) || b.inputIds.length !== N || b.labels.length !== N || b.keyLen.length !== b.B) {
      throw new ModelError(
        'INPUT_INVALID',
        `Batch of B=${b.B}, T=${b.T} needs inputIds and labels of ${N} and keyLen of ${b.B}; got ${b.inputIds.length}, ${b.labels.length}, ${b.keyLen.length}.`,
      );
    }
    checkIds(b.inputIds, 'inputIds');
    for (let i = 0; i < b.B; i++) {
      if (!(b.keyLen[i] >= 1 && b.keyLen[i] <= b.T)) {
        throw new ModelError('INPUT_INVALID', `keyLen[${i}] = ${b.keyLen[i]} must be between 1 and T=${b.T}.`);
      }
    }
  };

  /** Positions 0..T-1 per row; labels shifted left by one within each row (HF ForCausalLMLoss). */
  const prepare = (a: Acts, B: number, T: number, labels: Int32Array | null): number => {
    let n = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        a.pos[i] = t;
        if (!labels) continue;
        const y = t + 1 < T ? labels[i + 1] : -100;
        a.labels[i] = y;
        if (y !== -100) {
          if (!(y >= 0 && y < V))
            throw new ModelError('INPUT_INVALID', `labels[${i + 1}] = ${y} is neither -100 nor a token id.`);
          n++;
        }
      }
    }
    return n;
  };

  const forward = (a: Acts, ids: Int32Array, s: StepShape, rng: (() => number) | null): void => {
    be.embeddingForward(a.res[0], embed.w, ids, s.N, C);
    for (let l = 0; l < layers.length; l++) layerForward(be, d, layers[l], a.layers[l], s, rng);
    be.rmsnormForward(a.hN, a.rstdF, a.res[layers.length], finalNorm.w, s.N, C, d.eps);
  };

  const lossAndGrad = (batch: Batch, gradScale: number, rng?: () => number): LossResult => {
    checkBatch(batch);
    const { B, T } = batch;
    const N = B * T;
    const a = trainPool(N);
    const nTokens = prepare(a, B, T, batch.labels);
    const s: StepShape = { B, T, N, pos: a.pos, keyLen: batch.keyLen };
    forward(a, batch.inputIds, s, rng ?? ownRng);
    const lossSum = be.crossEntropyLmHead(a.dhN, lmHead.dw, a.hN, lmHead.w, a.labels, N, C, V, gradScale);
    be.rmsnormBackward(a.dres, finalNorm.dw, a.dhN, a.res[layers.length], finalNorm.w, a.rstdF, N, C);
    for (let l = layers.length - 1; l >= 0; l--)
      layerBackward(be, d, layers[l], a.layers[l], s, a, l > 0 || embed.dw !== null);
    if (embed.dw) be.embeddingBackward(embed.dw, a.dres, batch.inputIds, N, C);
    return { lossSum, nTokens };
  };

  const loss = (batch: Batch): LossResult => {
    checkBatch(batch);
    const { B, T } = batch;
    const N = B * T;
    const a = trainPool(N);
    const nTokens = prepare(a, B, T, batch.labels);
    forward(a, batch.inputIds, { B, T, N, pos: a.pos, keyLen: batch.keyLen }, null);
    const lossSum = be.crossEntropyLmHead(null, null, a.hN, lmHead.w, a.labels, N, C, V, 1);
    return { lossSum, nTokens };
  };

  /** Runs one unpadded sequence and leaves its activations in the eval pool (used by logits and prefill). */
  const forwardSequence = (ids: Int32Array): Acts => {
    const T = ids.length;
    if (T === 0) throw new ModelError('INPUT_INVALID', 'Cannot run the model on an empty sequence.');
    checkIds(ids, 'ids');
    const a = evalPool(T);
    prepare(a, 1, T, null);
    keyLenOne[0] = T;
    forward(a, ids, { B: 1, T, N: T, pos: a.pos, keyLen: keyLenOne }, null);
    return a;
  };

  const logits = (ids: Int32Array): Float32Array => {
    const a = forwardSequence(ids);
    const T = ids.length;
    const out = new Float32Array(T * V);
    be.matmul(out, a.hN, lmHead.w, T, V, C, { transB: true });
    return out;
  };

  const decoder = createDecoder({
    be,
    d,
    V,
    layers,
    embed: embed.w,
    finalNorm: finalNorm.w,
    lmHead: lmHead.w,
    forwardSequence,
    checkIds,
  });

  const loraState = (): Map<string, Tensor> => {
    const out = new Map<string, Tensor>();
    for (const [k, p] of built.lora) out.set(k, { shape: [...p.shape], data: p.data });
    return out;
  };

  const loadLoraState = (state: Map<string, Tensor>): void => {
    if (finetuning !== 'lora') {
      throw new ModelError(
        'LORA_INVALID',
        `This model is set up for finetuning "${finetuning}"; it has no LoRA parameters to load.`,
      );
    }
    for (const key of state.keys()) {
      if (!built.lora.has(key)) {
        throw new ModelError(
          'LORA_INVALID',
          `Adapter tensor "${key}" has no counterpart here (check lora_target against the adapter's target_modules).`,
        );
      }
    }
    for (const [key, p] of built.lora) {
      const t = state.get(key);
      if (!t)
        throw new ModelError(
          'LORA_INVALID',
          `The adapter lacks "${key}" (check lora_target and lora_rank against the adapter).`,
        );
      if (t.data.length !== p.data.length || t.shape.some((v, i) => v !== p.shape[i])) {
        throw new ModelError(
          'LORA_INVALID',
          `Adapter tensor "${key}" has shape [${t.shape.join(', ')}]; expected [${p.shape.join(', ')}].`,
        );
      }
    }
    for (const [key, p] of built.lora) p.data.set((state.get(key) as Tensor).data);
  };

  return {
    config: c,
    trainableParams: () => built.params,
    lossAndGrad,
    loss,
    logits,
    loraState,
    loadLoraState,
    // bf16-held weights are widened on request (exactly: bf16 -> fp32 is lossless), in HF order.
    fullState: () =>
      new Map(
        [...built.weights].map(([k, t]): [string, Tensor] => {
          const h = built.frozenBf16.get(k);
          return h ? [k, { shape: [...h.shape], data: fromBf16(h.bits) }] : [k, t];
        }),
      ),
    createKvCache: decoder.createKvCache,
    forwardStep: decoder.forwardStep,
  };
}
