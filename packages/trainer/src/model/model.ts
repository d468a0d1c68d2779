import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import { fromBf16, readScalar, SCALAR_SIZE } from '@crucible/tensor';
import { type Acts, buildActs, createActsPool } from './acts';
import { buildModel, type FrozenDtype } from './build';
import { ModelError } from './errors';
import { createDecoder } from './kvcache';
import { type Dims, layerBackward, layerForward, type StepShape } from './layers';
import type { DropoutMode } from './linear';
import { ropeInvFreq } from './rope';
import type {
  AccumulateOptions,
  Batch,
  DropoutCursor,
  Finetuning,
  LoraSpec,
  LossResult,
  Model,
  ModelConfig,
  RowLogps,
  StoredWeights,
  Tensor,
  Weights,
} from './types';

/**
 * A Qwen2/Llama/Qwen3/Mistral/Gemma 2/Gemma 3 causal LM on a compute backend, for LoRA or full fine-tuning. Every bit of arithmetic goes through
 * `backend` on backend-owned tensors; this file holds the graph of a step: embedding, decoder layers, final norm,
 * fused LM head + loss, and the same in reverse. Host transfers happen only at the edges: the batch is uploaded at
 * the start of a step, and nothing is downloaded unless a caller asks for a number (loss, logits, states).
 */
export function createModel(opts: {
  config: ModelConfig;
  /** Host fp32 tensors (tests, random models), or a model directory's weights opened for reading (openWeights). */
  weights: Weights | StoredWeights;
  backend: Backend;
  /** 'none': a frozen model for inference (chat, export checks): no trainable parameters, no gradient buffers. */
  finetuning: Finetuning;
  lora?: LoraSpec;
  seed: number;
  /**
   * 'bf16' ("bf16 frozen weights, fp32 LoRA", the mixed precision of PEFT training on a bf16 base): frozen fp32
   * q/k/v/o/gate/up/down weights of a LoRA (or 'none') model are converted once to bf16 and multiplied with
   * bf16-rounded activations (fp32 accumulation) in the forward pass and the input gradient; LoRA A/B, biases,
   * norms, gradients and optimizer state stay fp32. Weights stored as bf16/f16 in their files are bf16 anyway.
   * A converted fp32 tensor of an in-memory `weights` map is deleted from it, so that it can be freed; pass a copy
   * to keep it. Default 'f32'.
   */
  frozenDtype?: FrozenDtype;
  /** The same for the frozen embedding and LM head (tied or not). Default 'f32'. */
  embeddingDtype?: FrozenDtype;
  /**
   * Keep only each layer's input in the forward pass and recompute the layer in backward (one more forward's work,
   * activation memory of one layer instead of all). Results are identical to not checkpointing. Default false.
   */
  gradientCheckpointing?: boolean;
  /** One-line notes for people (a requested bf16 that cannot apply). Default: stderr. */
  warn?: (message: string) => void;
}): Model {
  // No closure below may capture opts: it holds the caller's fp32 weights, which a bf16 model must not keep alive.
  const { config: c, backend: be, finetuning } = opts;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  let frozenDtype: FrozenDtype = opts.frozenDtype ?? 'f32';
  let embeddingDtype: FrozenDtype = opts.embeddingDtype ?? 'f32';
  const wantsBf16 = frozenDtype === 'bf16' || embeddingDtype === 'bf16';
  if (wantsBf16 && opts.finetuning === 'full') {
    warn('bf16 frozen weights apply to a frozen base (LoRA); full fine-tuning trains every weight in float32.');
    frozenDtype = 'f32';
    embeddingDtype = 'f32';
  } else if (wantsBf16 && !be.bf16) {
    warn(`backend ${be.name} has no bf16-weight matmul; the frozen weights stay float32.`);
    frozenDtype = 'f32';
    embeddingDtype = 'f32';
  }
  const finalCap = c.gemma?.finalLogitSoftcap ?? 0;
  if (finalCap > 0 && embeddingDtype === 'bf16') {
    warn('final logit soft-capping (Gemma 2) needs a float32 LM head; the embedding and LM head stay float32.');
    embeddingDtype = 'f32';
  }
  const checkpointing = opts.gradientCheckpointing ?? false;
  const built = buildModel({
    backend: be,
    config: c,
    weights: opts.weights,
    finetuning,
    lora: opts.lora,
    seed: opts.seed,
    frozenDtype,
    embeddingDtype,
  });
  built.layout.gradientCheckpointing = checkpointing;
  const { layers, embed, lmHead, finalNorm } = built;
  // Rescaled RoPE (Llama 3.1): the frequencies live on the backend once; plain RoPE passes null (theta only).
  const hostInvFreq = ropeInvFreq(c);
  let invFreq: DT | null = null;
  if (hostInvFreq) {
    invFreq = be.alloc([hostInvFreq.length]);
    be.upload(invFreq, hostInvFreq);
  }
  const d: Dims = {
    C: c.hiddenSize,
    I: c.intermediateSize,
    Hq: c.numHeads,
    Hkv: c.numKvHeads,
    D: c.headDim,
    eps: c.rmsNormEps,
    theta: c.ropeTheta,
    invFreq,
    act: c.gemma ? 'geglu' : 'swiglu',
    // Gemma: scores scaled by query_pre_attn_scalar^-0.5 where the attention op applies head_dim^-0.5.
    qScale: c.gemma ? Math.sqrt(c.headDim / c.gemma.queryPreAttnScalar) : 1,
    attnSoftcap: c.gemma?.attnLogitSoftcap ?? 0,
  };
  // Gemma scales the embedding output by sqrt(hidden_size), a float32 buffer in Transformers (0 = no scaling).
  const embedScale = c.gemma ? Math.fround(Math.sqrt(c.hiddenSize)) : 0;
  const V = c.vocabSize;
  const { C } = d;
  const dims = { C, I: d.I, Hq: d.Hq, Hkv: d.Hkv, D: d.D, qkNorm: c.qkNorm ?? false, outNorms: !!c.gemma };
  const window = c.slidingWindow ?? 0;
  // The model's own dropout stream, for callers that do not keep one (tests, benchmarks).
  const ownDropout: DropoutCursor = { seed: (opts.seed ^ 0x5bd1e995) >>> 0, offset: 0 };

  // Two pools: training keeps backward scratch. Evaluation during training (loss) reuses the training pool so a
  // run holds one set of activations; logits and generation (chat, tests) use the lean one, which never needs more
  // than one layer's buffers (prefill copies each layer's keys and values into the cache as it goes).
  const trainPool = createActsPool(be, (N, alloc) =>
    buildActs(N, dims, layers, { training: true, checkpointing }, alloc),
  );
  const evalPool = createActsPool(be, (N, alloc) =>
    buildActs(N, dims, layers, { training: false, checkpointing: true }, alloc),
  );

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
    if (b.pos) {
      if (b.pos.length !== N) throw new ModelError('INPUT_INVALID', `pos has ${b.pos.length} entries; B*T is ${N}.`);
      for (let i = 0; i < N; i++) {
        if (!(b.pos[i] >= 0 && b.pos[i] <= i % b.T)) {
          throw new ModelError('INPUT_INVALID', `pos[${i}] = ${b.pos[i]} must be between 0 and its row position.`);
        }
      }
    }
    if (b.segStart) {
      if (b.segStart.length !== N) {
        throw new ModelError('INPUT_INVALID', `segStart has ${b.segStart.length} entries; B*T is ${N}.`);
      }
      for (let i = 0; i < N; i++) {
        if (!(b.segStart[i] >= 0 && b.segStart[i] <= i % b.T)) {
          throw new ModelError(
            'INPUT_INVALID',
            `segStart[${i}] = ${b.segStart[i]} must be between 0 and its row position (the start of its sequence).`,
          );
        }
      }
    }
  };

  /** Labelled tokens after the causal shift, checked on the host batch (the device shift happens in the step). */
  const countLabels = (labels: Int32Array, B: number, T: number): number => {
    let n = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 1; t < T; t++) {
        const y = labels[b * T + t];
        if (y === -100) continue;
        if (!(y >= 0 && y < V))
          throw new ModelError('INPUT_INVALID', `labels[${b * T + t}] = ${y} is neither -100 nor a token id.`);
        n++;
      }
    }
    return n;
  };

  const positions = (B: number, T: number): Int32Array => {
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = t;
    return pos;
  };

  /**
   * The sliding window (every Mistral layer, Gemma's local layers) as the attention op's segStart: query t of a row
   * sees keys from t - W + 1 on (Transformers' sliding_window_overlay: kv_idx > q_idx - sliding_window, on row
   * positions), and never before its packed sequence's start (neat_packing). Null when no row is longer than the
   * window and nothing is packed.
   */
  const windowStarts = (b: Batch): Int32Array | null => {
    if (!window || b.T <= window) return b.segStart ?? null;
    const out = new Int32Array(b.B * b.T);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(b.segStart ? b.segStart[i] : 0, (i % b.T) - window + 1);
    return out;
  };

  /**
   * The step boundary: the batch's ids, positions, row lengths and (packed rows, sliding window) sequence starts go
   * up; labels go up and are shifted there.
   */
  const uploadBatch = (a: Acts, b: Batch, withLabels: boolean): StepShape => {
    be.upload(a.ids, b.inputIds);
    be.upload(a.pos, b.pos ?? positions(b.B, b.T));
    const keyLen = be.view(a.keyLenBuf, 0, [b.B]);
    be.upload(keyLen, b.keyLen);
    if (b.segStart) be.upload(a.segStart, b.segStart);
    const local = windowStarts(b);
    if (local && local !== b.segStart) be.upload(a.segStartLocal, local);
    if (withLabels) {
      be.upload(a.rawLabels, b.labels);
      be.shiftLabels(a.labels, a.rawLabels, b.B, b.T);
    }
    return {
      B: b.B,
      T: b.T,
      N: b.B * b.T,
      pos: a.pos,
      keyLen,
      segStart: b.segStart ? a.segStart : null,
      segStartLocal: local ? (local === b.segStart ? a.segStart : a.segStartLocal) : null,
    };
  };

  const forward = (
    a: Acts,
    s: StepShape,
    drop: DropoutMode,
    afterLayer?: (l: number, acts: Acts['layers'][number]) => void,
  ): void => {
    be.embeddingForward(a.res[0], embed.w, a.ids, s.N, C);
    if (embedScale) be.scale(a.res[0], embedScale, s.N * C);
    for (let l = 0; l < layers.length; l++) {
      layerForward(be, d, layers[l], a.layers[l], s, drop, a.scratch);
      afterLayer?.(l, a.layers[l]);
    }
    be.rmsnormForward(a.hN, a.rstdF, a.res[layers.length], finalNorm.w, s.N, C, d.eps);
  };

  const accumulateGrad = (batch: Batch, gradScale: number, o: AccumulateOptions): { nTokens: number } => {
    checkBatch(batch);
    const { B, T } = batch;
    const N = B * T;
    const nTokens = countLabels(batch.labels, B, T);
    const a = trainPool(N);
    const s = uploadBatch(a, batch, true);
    const cursor = o.dropout ?? ownDropout;
    forward(a, s, { cursor, replay: false });
    be.crossEntropyLmHead(
      o.lossOut,
      a.dhN,
      lmHead.dw,
      a.hN,
      lmHead.w,
      a.labels,
      N,
      C,
      V,
      gradScale,
      finalCap || undefined,
    );
    backwardFromHidden(a, s, { cursor, replay: true });
    return { nTokens };
  };

  /** From dhN (the LM head's input gradient) down to every parameter gradient. */
  const backwardFromHidden = (a: Acts, s: StepShape, replay: DropoutMode): void => {
    const { N } = s;
    be.rmsnormBackward(a.dres, finalNorm.dw, a.dhN, a.res[layers.length], finalNorm.w, a.rstdF, N, C);
    for (let l = layers.length - 1; l >= 0; l--) {
      // With checkpointing the shared buffers hold the last layer's activations; every other layer is recomputed
      // from its saved input with the same dropout counters, so backward reads exactly what the forward computed.
      if (checkpointing && l < layers.length - 1) layerForward(be, d, layers[l], a.layers[l], s, replay, a.scratch);
      layerBackward(be, d, layers[l], a.layers[l], s, a, l > 0 || embed.dw !== null, replay?.cursor.seed ?? 0);
    }
    if (embed.dw) {
      if (embedScale) be.scale(a.dres, embedScale, N * C);
      be.embeddingBackward(embed.dw, a.dres, a.ids, N, C);
    }
  };

  const readLoss = (t: DT): number => readScalar(be.download(t));

  const lossAndGrad = (batch: Batch, gradScale: number, dropout?: DropoutCursor): LossResult => {
    const a = trainPool(batch.B * batch.T);
    const { nTokens } = accumulateGrad(batch, gradScale, { dropout, lossOut: a.loss });
    return { lossSum: readLoss(a.loss), nTokens };
  };

  const loss = (batch: Batch): LossResult => {
    checkBatch(batch);
    const { B, T } = batch;
    const N = B * T;
    const nTokens = countLabels(batch.labels, B, T);
    const a = trainPool(N);
    const s = uploadBatch(a, batch, true);
    forward(a, s, null);
    be.crossEntropyLmHead(a.loss, null, null, a.hN, lmHead.w, a.labels, N, C, V, 1, finalCap || undefined);
    return { lossSum: readLoss(a.loss), nTokens };
  };

  /**
   * Row b's cross-entropy sum into rowLoss[b] (and, with scales, scales[b] * its gradient into dhN and the LM head's
   * dW): the fused op on the row's slice of hN and labels, so per-row sums cost no more than one batch call.
   */
  const rowCrossEntropy = (a: Acts, B: number, T: number, rowLoss: DT, scales: Float64Array | null): void => {
    for (let b = 0; b < B; b++) {
      be.crossEntropyLmHead(
        be.view(rowLoss, b * SCALAR_SIZE, [SCALAR_SIZE]),
        scales ? be.view(a.dhN, b * T * C, [T * C]) : null,
        scales ? lmHead.dw : null,
        be.view(a.hN, b * T * C, [T * C]),
        lmHead.w,
        be.view(a.labels, b * T, [T]),
        T,
        C,
        V,
        scales ? scales[b] : 1,
        finalCap || undefined,
      );
    }
  };

  const rowCounts = (batch: Batch): Int32Array => {
    const counts = new Int32Array(batch.B);
    for (let b = 0; b < batch.B; b++)
      counts[b] = countLabels(batch.labels.subarray(b * batch.T, (b + 1) * batch.T), 1, batch.T);
    return counts;
  };

  const downloadRows = (rowLoss: DT, B: number): Float64Array => {
    const host = be.download(rowLoss);
    const out = new Float64Array(B);
    for (let b = 0; b < B; b++) out[b] = -readScalar(host, b * SCALAR_SIZE);
    return out;
  };

  /** PEFT's disable_adapter(): every LoRA call site skipped while fn runs. */
  const withoutAdapters = <R>(fn: () => R): R => {
    const saved = layers.map((l) => Object.entries(l.lin).map(([k, lin]) => [k, lin.lora] as const));
    for (const l of layers) for (const lin of Object.values(l.lin)) lin.lora = null;
    try {
      return fn();
    } finally {
      layers.forEach((l, i) => {
        for (const [k, lora] of saved[i]) (l.lin as Record<string, { lora: unknown }>)[k].lora = lora;
      });
    }
  };

  const sequenceLogps = (batch: Batch, o?: { adapters?: boolean }): RowLogps => {
    checkBatch(batch);
    const { B, T } = batch;
    const counts = rowCounts(batch);
    const a = trainPool(B * T);
    const s = uploadBatch(a, batch, true);
    if (o?.adapters === false) withoutAdapters(() => forward(a, s, null));
    else forward(a, s, null);
    const rowLoss = be.alloc([B * SCALAR_SIZE]);
    rowCrossEntropy(a, B, T, rowLoss, null);
    const logps = downloadRows(rowLoss, B);
    be.free(rowLoss);
    return { logps, counts };
  };

  const accumulateRowGrad = (
    batch: Batch,
    rowGrad: (r: RowLogps) => Float64Array,
    o?: { dropout?: DropoutCursor | null | false },
  ): RowLogps => {
    checkBatch(batch);
    const { B, T } = batch;
    const N = B * T;
    const counts = rowCounts(batch);
    const a = trainPool(N);
    const s = uploadBatch(a, batch, true);
    // dropout false: no dropout at all (LLaMA-Factory's preference trainers disable it in the model).
    const cursor = o?.dropout === false ? null : (o?.dropout ?? ownDropout);
    forward(a, s, cursor ? { cursor, replay: false } : null);
    const rowLoss = be.alloc([B * SCALAR_SIZE]);
    rowCrossEntropy(a, B, T, rowLoss, null);
    const r: RowLogps = { logps: downloadRows(rowLoss, B), counts };
    const g = rowGrad(r);
    // The op differentiates the cross-entropy sum, which is -logp: its weight is -d(objective)/d(logp).
    const scales = new Float64Array(B);
    for (let b = 0; b < B; b++) scales[b] = -g[b];
    rowCrossEntropy(a, B, T, rowLoss, scales);
    be.free(rowLoss);
    backwardFromHidden(a, s, cursor ? { cursor, replay: true } : null);
    return r;
  };

  /** Runs one unpadded sequence through the lean pool; afterLayer sees each layer's activations (prefill). */
  const forwardSequence = (ids: Int32Array, afterLayer?: (l: number, acts: Acts['layers'][number]) => void): Acts => {
    const T = ids.length;
    if (T === 0) throw new ModelError('INPUT_INVALID', 'Cannot run the model on an empty sequence.');
    checkIds(ids, 'ids');
    const a = evalPool(T);
    const s = uploadBatch(a, { B: 1, T, inputIds: ids, labels: ids, keyLen: Int32Array.of(T) }, false);
    forward(a, s, null, afterLayer);
    return a;
  };

  const logits = (ids: Int32Array): Float32Array => {
    const a = forwardSequence(ids);
    const T = ids.length;
    const out = be.alloc([T, V]);
    be.matmul(out, a.hN, lmHead.w, T, V, C, { transB: true });
    if (finalCap) be.softcap(out, finalCap, T * V);
    const host = be.download(out) as Float32Array;
    be.free(out);
    return host;
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
    window,
    embedScale,
    finalCap,
  });

  const loraState = (): Map<string, Tensor> => {
    const out = new Map<string, Tensor>();
    for (const [k, p] of built.lora) out.set(k, { shape: [...p.shape], data: be.download(p.data) as Float32Array });
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
      if (t.data.length !== p.data.size || t.shape.some((v, i) => v !== p.shape[i])) {
        throw new ModelError(
          'LORA_INVALID',
          `Adapter tensor "${key}" has shape [${t.shape.join(', ')}]; expected [${p.shape.join(', ')}].`,
        );
      }
    }
    for (const [key, p] of built.lora) be.upload(p.data, (state.get(key) as Tensor).data);
  };

  return {
    config: c,
    backend: be,
    trainableParams: () => built.params,
    accumulateGrad,
    lossAndGrad,
    loss,
    sequenceLogps,
    accumulateRowGrad,
    logits,
    loraState,
    loadLoraState,
    // bf16-held weights are widened on request (exactly: bf16 -> fp32 is lossless), in HF order.
    fullState: () =>
      new Map(
        [...built.weights].map(([k, w]): [string, Tensor] => {
          const host = be.download(w.t);
          const data = host instanceof Uint16Array ? fromBf16(host) : (host as Float32Array);
          if (!w.offset) return [k, { shape: [...w.shape], data }];
          const hf = Float32Array.from(data, (x) => x - (w.offset as number)); // Gemma norms are held as 1 + w
          return [k, { shape: [...w.shape], data: hf }];
        }),
      ),
    describe: () => ({ ...built.layout }),
    createKvCache: decoder.createKvCache,
    forwardStep: decoder.forwardStep,
  };
}
