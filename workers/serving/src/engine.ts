import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { getPrisma } from '@crucible/db';
import { isLoraMethod } from '@crucible/jobs';
import { downloadObject, downloadPrefix, ModelFilesError, modelDir, type Storage } from '@crucible/storage';
import { writeGgufLora, writeGgufModel } from '@crucible/trainer';
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import { EngineError, type TGenerateInput, type TGenerateSink, type TTarget } from './engine-types';
import { generateOn } from './generation';
import { createSequencePool, type TPoolSize, type TSequencePool } from './sequence-pool';

/**
 * The model host: llama.cpp through node-llama-cpp. Each base model is converted to GGUF once (cached on disk,
 * keyed by model id + a checksum of its files) and loaded once; every fine-tuned model on it is its LoRA GGUF
 * applied to a context of that one loaded base, so many fine-tuned models share the base's weights in memory. A
 * checkpoint of a training job (evaluations) is served the same way: its PEFT adapter converted to a LoRA GGUF (as the
 * trainer converts the final one), or its full weights converted like a full fine-tune's, each cached on disk.
 *
 * A "slot" is what serves one thing — a base as is, base + adapter, or a full fine-tune — as a pool of sequences of
 * one context (sequence-pool.ts): one sequence for a model called on demand, one per replica for a deployment.
 * Adapter slots are created on first use and kept in an LRU; when more than `maxAdapters` are idle, the least
 * recently used idle, unpinned one is disposed. Deployments pin their slot (with their replica count and context
 * size) so it is never evicted.
 */

export type TEngineOptions = {
  storage: Storage;
  cacheDir: string;
  maxAdapters: number;
  contextSize: number;
  gpu: 'auto' | false;
  ggufType: 'F32' | 'F16' | 'Q8_0';
  threads?: number;
  /**
   * Backpressure (issue 11, finding 8): requests that may wait per sequence of a model here before new ones are
   * refused as `overloaded` at once (default 16), and how long one may wait for a sequence (default 60 s).
   */
  queuePerSequence?: number;
  queueTimeoutMs?: number;
  log?: (message: string) => void;
};

export {
  EngineError,
  type TGenerateInput,
  type TGenerateResult,
  type TGenerateSink,
  type TTarget,
} from './engine-types';

type TWeightsRef = { kind: 'base' | 'fine-tuned' | 'checkpoint'; id: string };
const weightsKey = (ref: TWeightsRef) =>
  ref.kind === 'base' ? ref.id : ref.kind === 'checkpoint' ? `ckpt:${ref.id}` : `ft:${ref.id}`;

/** An adapter to apply: a fine-tuned model's (its id) or a training checkpoint's (`ckpt:` + the checkpoint row id). */
const CHECKPOINT_ADAPTER = 'ckpt:';

/** The files of a PEFT adapter in a checkpoint folder (which also holds the optimizer state, not downloaded). */
const PEFT_FILE = /^adapter_(model\.safetensors|config\.json)$/;

/** A stored checkpoint's row, or model_not_found (pruned by save_total_limit, or its job deleted). */
async function storedCheckpoint(where: { id: string } | { jobId_step: { jobId: string; step: number } }) {
  const c = await getPrisma().checkpoint.findUnique({ where, include: { job: { select: { method: true } } } });
  if (!c || c.prunedAt) {
    const what = 'id' in where ? where.id : `of step ${where.jobId_step.step} of job ${where.jobId_step.jobId}`;
    throw new EngineError('model_not_found', `Checkpoint ${what} is not stored (pruned, or its job deleted).`);
  }
  return c;
}

type TBase = { id: string; hfDir: string; model: LlamaModel };
/** What a deployment asks of a slot: replicas (sequences) and context size per sequence. */
export type TPin = { sequences: number; contextSize: number };

type TSlot = {
  key: string;
  baseId: string;
  adapterId: string | null;
  /** the model's own context limit, which no request can exceed */
  trainContextSize: number;
  pool: TSequencePool;
  lastUsed: number;
  pins: Map<string, TPin>;
  /** When a request last made progress here: took a sequence, finished its prompt, or produced text. */
  lastProgress: number;
};

/**
 * A health check's verdict on a slot, without queueing behind its requests (issue 13, finding 4: checks waited for
 * a free sequence, failed three times during long chats, and busy replicas were reopened): a free sequence is
 * checked with a one-token generation ('probe'); with every sequence busy, the slot is alive when a request made
 * progress within the window, and 'stalled' (a hung replica) when none did.
 */
export function livenessOf(s: { free: number; lastProgress: number; now: number; windowMs: number }) {
  if (s.free > 0) return 'probe' as const;
  return s.now - s.lastProgress <= s.windowMs ? ('alive' as const) : ('stalled' as const);
}

export type TEngine = ReturnType<typeof createEngine>;

export function createEngine(options: TEngineOptions) {
  const log = options.log ?? (() => {});
  let llamaP: Promise<Llama> | null = null;
  const bases = new Map<string, Promise<TBase>>();
  const slots = new Map<string, Promise<TSlot>>();
  /** The slots that have finished opening: what eviction, unpinning and the registry look at (never waiting on a
   * model that is still loading). */
  const opened = new Map<string, TSlot>();
  const adapterFiles = new Map<string, Promise<string>>();

  const llama = () => {
    llamaP ??= getLlama({
      gpu: options.gpu,
      logLevel: LlamaLogLevel.error,
      ...(options.threads ? { maxThreads: options.threads } : {}),
    });
    return llamaP;
  };

  /**
   * Weights to load: a base model, or a full fine-tune (its own complete weights, served like a base). Converted to
   * GGUF once per checksum of the files (or taken from the stored GGUF a base may have), then loaded once.
   */
  async function prepareWeights(ref: TWeightsRef): Promise<TBase> {
    const db = getPrisma();
    let files: Parameters<typeof modelDir>[2];
    let ggufObjectKey: string | null = null;
    if (ref.kind === 'base') {
      const row = await db.baseModel.findUnique({ where: { id: ref.id } });
      if (!row) throw new EngineError('model_not_found', `Base model ${ref.id} does not exist.`);
      files = { kind: 'bases', id: row.id, name: row.name, objectKey: row.objectKey, path: row.path };
      ggufObjectKey = row.ggufObjectKey;
    } else if (ref.kind === 'checkpoint') {
      const c = await storedCheckpoint({ id: ref.id });
      files = { kind: 'checkpoints', id: c.id, name: `checkpoint ${c.step} of job ${c.jobId}`, objectKey: c.objectKey };
    } else {
      const row = await db.fineTunedModel.findUnique({ where: { id: ref.id } });
      if (!row || row.deletedAt) throw new EngineError('model_not_found', `Fine-tuned model ${ref.id} does not exist.`);
      files = { kind: 'fine-tuned', id: row.id, name: row.name, objectKey: row.mergedObjectKey };
    }
    let hf: { dir: string; checksum: string };
    try {
      hf = await modelDir(options.storage, options.cacheDir, files);
    } catch (e) {
      if (e instanceof ModelFilesError) throw new EngineError('model_unavailable', e.message);
      throw e;
    }
    const dir = join(options.cacheDir, files.kind, `${ref.id}-${hf.checksum}`);
    mkdirSync(dir, { recursive: true });
    const gguf = join(dir, `model-${options.ggufType}.gguf`);
    if (!existsSync(gguf)) {
      if (ggufObjectKey) await downloadObject(options.storage, ggufObjectKey, `${gguf}.tmp`);
      else await writeGgufModel(hf.dir, `${gguf}.tmp`, options.ggufType);
      renameSync(`${gguf}.tmp`, gguf);
      log(`converted ${files.name} to ${gguf}`);
    }
    const model = await (await llama()).loadModel({ modelPath: gguf });
    log(`loaded ${files.name} (${ref.kind} ${ref.id})`);
    return { id: weightsKey(ref), hfDir: hf.dir, model };
  }

  function getWeights(ref: TWeightsRef): Promise<TBase> {
    const key = weightsKey(ref);
    let p = bases.get(key);
    if (!p) {
      p = prepareWeights(ref);
      bases.set(key, p);
      p.catch(() => bases.delete(key));
    }
    return p;
  }

  /** A checkpoint's PEFT adapter as a LoRA GGUF, converted against its base once per checkpoint (cached). */
  async function prepareCheckpointAdapter(checkpointId: string, base: TBase): Promise<string> {
    const c = await storedCheckpoint({ id: checkpointId });
    const dir = join(options.cacheDir, 'adapters', `ckpt-${c.id}-${c.createdAt.getTime()}`);
    const file = join(dir, 'adapter.gguf');
    if (existsSync(file)) return file;
    const peft = join(dir, 'peft');
    const n = await downloadPrefix(options.storage, `${c.objectKey}/`, peft, (key) => PEFT_FILE.test(key));
    if (n === 0) {
      throw new EngineError(
        'model_unavailable',
        `Checkpoint ${c.step} of job ${c.jobId} has no adapter stored under ${c.objectKey}/.`,
      );
    }
    await writeGgufLora(peft, base.hfDir, `${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    log(`converted checkpoint ${c.step} of job ${c.jobId} to ${file}`);
    return file;
  }

  async function prepareAdapterFile(ftId: string, base: TBase): Promise<string> {
    if (ftId.startsWith(CHECKPOINT_ADAPTER))
      return prepareCheckpointAdapter(ftId.slice(CHECKPOINT_ADAPTER.length), base);
    const row = await getPrisma().fineTunedModel.findUnique({ where: { id: ftId } });
    if (!row || row.deletedAt) throw new EngineError('model_not_found', `Fine-tuned model ${ftId} does not exist.`);
    const dir = join(options.cacheDir, 'adapters', `${ftId}-${row.updatedAt.getTime()}`);
    const file = join(dir, 'adapter.gguf');
    if (existsSync(file)) return file;
    mkdirSync(dir, { recursive: true });
    if (row.ggufAdapterObjectKey) {
      await downloadObject(options.storage, row.ggufAdapterObjectKey, `${file}.tmp`);
    } else if (row.adapterObjectKey) {
      // Only the PEFT adapter was stored: convert it here, against the base it was trained on.
      const peft = join(dir, 'peft');
      await downloadPrefix(options.storage, row.adapterObjectKey, peft);
      await writeGgufLora(peft, base.hfDir, `${file}.tmp`);
    } else {
      throw new EngineError('model_unavailable', `Model ${row.name} has no LoRA adapter to serve (full fine-tune).`);
    }
    renameSync(`${file}.tmp`, file);
    return file;
  }

  /** A LoRA fine-tune (or checkpoint) runs on its base with its adapter; a full one is its own weights. */
  async function planOf(target: TTarget): Promise<{ weights: TWeightsRef; adapterId: string | null }> {
    if (target.checkpoint) {
      const c = await storedCheckpoint({ jobId_step: target.checkpoint });
      return isLoraMethod(c.job.method)
        ? { weights: { kind: 'base', id: target.baseModelId }, adapterId: `${CHECKPOINT_ADAPTER}${c.id}` }
        : { weights: { kind: 'checkpoint', id: c.id }, adapterId: null };
    }
    if (!target.fineTunedModelId) return { weights: { kind: 'base', id: target.baseModelId }, adapterId: null };
    const row = await getPrisma().fineTunedModel.findUnique({
      where: { id: target.fineTunedModelId },
      select: { id: true, deletedAt: true, adapterObjectKey: true, ggufAdapterObjectKey: true, mergedObjectKey: true },
    });
    if (!row || row.deletedAt)
      throw new EngineError('model_not_found', `Fine-tuned model ${target.fineTunedModelId} does not exist.`);
    if (row.adapterObjectKey || row.ggufAdapterObjectKey)
      return { weights: { kind: 'base', id: target.baseModelId }, adapterId: row.id };
    if (row.mergedObjectKey) return { weights: { kind: 'fine-tuned', id: row.id }, adapterId: null };
    throw new EngineError('model_unavailable', `Fine-tuned model ${row.id} has neither an adapter nor weights stored.`);
  }

  async function openSlot(target: TTarget, key: string): Promise<TSlot> {
    const plan = await planOf(target);
    const base = await getWeights(plan.weights);
    let lora: { adapters: { filePath: string; scale: number }[] } | undefined;
    if (plan.adapterId) {
      const id = plan.adapterId;
      let f = adapterFiles.get(id);
      if (!f) {
        f = prepareAdapterFile(id, base);
        adapterFiles.set(id, f);
        f.catch(() => adapterFiles.delete(id));
      }
      lora = { adapters: [{ filePath: await f, scale: 1 }] };
    }
    const trainContextSize = base.model.trainContextSize || options.contextSize;
    const open = (size: TPoolSize) =>
      base.model.createContext({
        contextSize: size.contextSize,
        sequences: size.sequences,
        ...(lora ? { lora } : {}),
      });
    const pool = await createSequencePool(open, {
      sequences: 1,
      contextSize: Math.min(options.contextSize, trainContextSize),
    });
    log(`opened ${key}${lora ? ' (adapter loaded)' : ''}`);
    return {
      key,
      baseId: base.id,
      adapterId: plan.adapterId,
      trainContextSize,
      pool,
      lastUsed: Date.now(),
      lastProgress: 0,
      pins: new Map(),
    };
  }

  /** One sequence per pinned replica (at least one), the largest context any pin asks for, capped by the model's. */
  const sizeFor = (slot: TSlot): TPoolSize => {
    const pins = [...slot.pins.values()];
    const sequences = Math.max(
      1,
      pins.reduce((n, p) => n + p.sequences, 0),
    );
    const contextSize = pins.length ? Math.max(...pins.map((p) => p.contextSize)) : options.contextSize;
    return { sequences, contextSize: Math.min(contextSize, slot.trainContextSize) };
  };

  const keyOf = (t: TTarget) =>
    t.checkpoint
      ? `ckpt:${t.checkpoint.jobId}:${t.checkpoint.step}`
      : t.fineTunedModelId
        ? `ft:${t.fineTunedModelId}`
        : `base:${t.baseModelId}`;

  async function evictIdle(): Promise<void> {
    const ready = [...opened.values()].filter((s) => s.adapterId);
    let excess = ready.length - options.maxAdapters;
    const idle = ready.filter((s) => s.pool.busy === 0 && s.pins.size === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of idle) {
      if (excess <= 0) break;
      slots.delete(s.key);
      opened.delete(s.key);
      await s.pool.dispose();
      log(`evicted ${s.key} (least recently used)`);
      excess -= 1;
    }
  }

  async function getSlot(target: TTarget): Promise<TSlot> {
    const key = keyOf(target);
    let p = slots.get(key);
    if (!p) {
      p = openSlot(target, key);
      slots.set(key, p);
      p.catch(() => slots.delete(key));
      const slot = await p;
      opened.set(key, slot);
      slot.lastUsed = Number.POSITIVE_INFINITY; // keep the new slot from being the one evicted to make room for itself
      try {
        await evictIdle();
      } finally {
        slot.lastUsed = Date.now();
      }
    }
    return p;
  }

  return {
    /** Where model files come from and are cached (exports use the same cache). */
    storage: options.storage,
    cacheDir: options.cacheDir,
    /** Loads (or finds) what `target` needs and generates on a free sequence (or the next one to free up). */
    async generate(target: TTarget, input: TGenerateInput, sink: Partial<TGenerateSink> = {}, signal?: AbortSignal) {
      const slot = await getSlot(target);
      slot.lastUsed = Date.now();
      const perSequence = options.queuePerSequence ?? 16;
      const room = slot.pool.size.sequences * perSequence;
      if (slot.pool.waiting >= room) {
        throw new EngineError(
          'overloaded',
          `${room} requests are already waiting for this model on this worker; try again shortly.`,
        );
      }
      const waitMs = options.queueTimeoutMs ?? 60_000;
      const waited = AbortSignal.timeout(waitMs);
      const lease = await slot.pool.acquire(signal ? AbortSignal.any([signal, waited]) : waited).catch((error) => {
        if (waited.aborted && !signal?.aborted) {
          throw new EngineError('overloaded', `No sequence of this model became free within ${waitMs} ms.`);
        }
        throw error;
      });
      slot.lastProgress = Date.now();
      const progress: Partial<TGenerateSink> = {
        start: (n) => {
          slot.lastProgress = Date.now();
          sink.start?.(n);
        },
        text: (t, n) => {
          slot.lastProgress = Date.now();
          sink.text?.(t, n);
        },
      };
      try {
        return await generateOn(await llama(), lease.sequence, input, progress, signal);
      } finally {
        lease.release();
        slot.lastUsed = Date.now();
        // Other adapters may have been kept past the limit while this one was busy.
        void evictIdle();
      }
    },
    /**
     * Loads `target` and keeps it loaded (a deployment) until unpinned, with room for `pin.sequences` requests at once
     * (its replicas on this worker). Pinning again under the same name changes the size.
     */
    async pin(target: TTarget, by: string, pin: TPin = { sequences: 1, contextSize: options.contextSize }) {
      const slot = await getSlot(target);
      const before = slot.pins.get(by);
      slot.pins.set(by, pin);
      try {
        await slot.pool.resize(sizeFor(slot));
      } catch (error) {
        if (before) slot.pins.set(by, before);
        else slot.pins.delete(by);
        throw error;
      }
      return { sequences: slot.pool.size.sequences, contextSize: slot.pool.size.contextSize };
    },
    async unpin(by: string) {
      for (const s of opened.values()) {
        if (s.pins.delete(by)) await s.pool.resize(sizeFor(s)).catch(() => {});
      }
      await evictIdle();
    },
    /**
     * A health check of a loaded target (livenessOf): one token within `timeoutMs` on a free sequence; when every
     * sequence is busy, whether a request there made progress within `timeoutMs` — a busy replica producing tokens
     * is healthy and is never queued behind. Throws when it fails or the target is not loaded.
     */
    async probe(target: TTarget, timeoutMs: number) {
      const slot = await slots.get(keyOf(target));
      if (!slot) throw new EngineError('model_unavailable', `${keyOf(target)} is not loaded on this worker.`);
      const verdict = livenessOf({
        free: slot.pool.free,
        lastProgress: slot.lastProgress,
        now: Date.now(),
        windowMs: timeoutMs,
      });
      if (verdict === 'alive') return;
      if (verdict === 'stalled') {
        throw new Error(`every sequence is busy and none made progress for ${timeoutMs} ms`);
      }
      const signal = AbortSignal.timeout(timeoutMs);
      const lease = await slot.pool.acquire(signal).catch(() => {
        throw new Error(`no sequence became free within ${timeoutMs} ms`);
      });
      try {
        const r = await generateOn(
          await llama(),
          lease.sequence,
          { kind: 'completion', prompt: 'Hi', maxTokens: 1, temperature: 0 },
          {},
          signal,
        );
        if (signal.aborted) throw new Error(`no answer within ${timeoutMs} ms`);
        if (r.promptTokens < 1) throw new Error('the health check produced no tokens');
      } finally {
        lease.release();
      }
    },
    /** Opens a fresh context for a loaded target (a replica that kept failing its health checks). */
    async reopen(target: TTarget) {
      const slot = await slots.get(keyOf(target));
      if (!slot) throw new EngineError('model_unavailable', `${keyOf(target)} is not loaded on this worker.`);
      await slot.pool.resize(sizeFor(slot), true);
      log(`reopened ${slot.key}`);
    },
    /** What this worker holds now (for the Redis registry). */
    async holdings() {
      const held = {
        bases: [...bases.keys()],
        adapters: [] as string[],
        pinned: [] as string[],
        /** requests running or waiting, over all slots */
        busy: 0,
        /** sequences per slot key (`ft:<id>` / `base:<id>`) */
        sequences: {} as Record<string, number>,
      };
      for (const s of opened.values()) {
        if (s.adapterId) held.adapters.push(s.adapterId);
        held.pinned.push(...s.pins.keys());
        held.busy += s.pool.busy;
        held.sequences[s.key] = s.pool.size.sequences;
      }
      return held;
    },
    async dispose() {
      for (const p of slots.values()) await (await p.catch(() => null))?.pool.dispose();
      slots.clear();
      opened.clear();
      for (const p of bases.values()) await (await p.catch(() => null))?.model.dispose().catch(() => {});
      bases.clear();
      if (llamaP) await (await llamaP).dispose().catch(() => {});
    },
  };
}
