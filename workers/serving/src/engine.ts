import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { getPrisma } from '@crucible/db';
import { downloadObject, downloadPrefix, type Storage } from '@crucible/storage';
import { writeGgufLora, writeGgufModel } from '@crucible/trainer';
import {
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaGrammarEvaluationState,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { ModelFilesError, modelDir } from './model-files';

/**
 * The model host: llama.cpp through node-llama-cpp. Each base model is converted to GGUF once (cached on disk,
 * keyed by model id + a checksum of its files) and loaded once; every fine-tuned model on it is its LoRA GGUF
 * applied to a context of that one loaded base, so many fine-tuned models share the base's weights in memory.
 *
 * A "slot" is one context (with one sequence) for one served thing: a base as is, or base + adapter. Adapter slots
 * are created on first use and kept in an LRU; when more than `maxAdapters` are idle, the least recently used idle,
 * unpinned one is disposed. Deployments pin their slot so it is never evicted. Requests on one slot run one after
 * another (a sequence holds one conversation at a time).
 */

export type TEngineOptions = {
  storage: Storage;
  cacheDir: string;
  maxAdapters: number;
  contextSize: number;
  gpu: 'auto' | false;
  ggufType: 'F32' | 'F16' | 'Q8_0';
  threads?: number;
  log?: (message: string) => void;
};

export type TTarget = { baseModelId: string; fineTunedModelId?: string | null };

export type TGenerateInput = {
  kind: 'chat' | 'completion';
  messages?: { role: string; content: string }[];
  prompt?: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  jsonSchema?: unknown;
};

export type TGenerateResult = {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
};

export class EngineError extends Error {
  constructor(
    readonly code: 'model_not_found' | 'model_unavailable' | 'context_length_exceeded' | 'invalid_request',
    message: string,
  ) {
    super(message);
  }
}

type TWeightsRef = { kind: 'base' | 'fine-tuned'; id: string };
const weightsKey = (ref: TWeightsRef) => (ref.kind === 'base' ? ref.id : `ft:${ref.id}`);

type TBase = { id: string; hfDir: string; model: LlamaModel };
type TSlot = {
  key: string;
  baseId: string;
  adapterId: string | null;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  queue: Promise<unknown>;
  busy: number;
  lastUsed: number;
  pins: Set<string>;
};

export type TEngine = ReturnType<typeof createEngine>;

export function createEngine(options: TEngineOptions) {
  const log = options.log ?? (() => {});
  let llamaP: Promise<Llama> | null = null;
  const bases = new Map<string, Promise<TBase>>();
  const slots = new Map<string, Promise<TSlot>>();
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

  async function prepareAdapterFile(ftId: string, base: TBase): Promise<string> {
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

  /** A LoRA fine-tune runs on its base with its adapter; a full fine-tune is its own weights. */
  async function planOf(target: TTarget): Promise<{ weights: TWeightsRef; adapterId: string | null }> {
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
    const trainCtx = base.model.trainContextSize || options.contextSize;
    const context = await base.model.createContext({
      contextSize: Math.min(options.contextSize, trainCtx),
      sequences: 1,
      ...(lora ? { lora } : {}),
    });
    log(`opened ${key}${lora ? ' (adapter loaded)' : ''}`);
    return {
      key,
      baseId: base.id,
      adapterId: plan.adapterId,
      context,
      sequence: context.getSequence(),
      queue: Promise.resolve(),
      busy: 0,
      lastUsed: Date.now(),
      pins: new Set(),
    };
  }

  const keyOf = (t: TTarget) => (t.fineTunedModelId ? `ft:${t.fineTunedModelId}` : `base:${t.baseModelId}`);

  async function evictIdle(): Promise<void> {
    const ready: TSlot[] = [];
    for (const p of slots.values()) {
      const s = await p.catch(() => null);
      if (s?.adapterId) ready.push(s);
    }
    let excess = ready.length - options.maxAdapters;
    const idle = ready.filter((s) => s.busy === 0 && s.pins.size === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of idle) {
      if (excess <= 0) break;
      slots.delete(s.key);
      await s.context.dispose().catch(() => {});
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
      slot.busy += 1; // keep the new slot from being the one evicted to make room for itself
      try {
        await evictIdle();
      } finally {
        slot.busy -= 1;
      }
    }
    return p;
  }

  async function tokensFor(slot: TSlot, input: TGenerateInput): Promise<Token[]> {
    const model = slot.context.model;
    if (input.kind === 'completion') return model.tokenize(input.prompt ?? '', false) as Token[];
    const wrapper = resolveChatWrapper(model);
    const history = (input.messages ?? []).map((m) =>
      m.role === 'assistant'
        ? { type: 'model' as const, response: [m.content] }
        : m.role === 'system' || m.role === 'developer'
          ? { type: 'system' as const, text: m.content }
          : { type: 'user' as const, text: m.content },
    );
    const state = wrapper.generateContextState({ chatHistory: [...history, { type: 'model', response: [] }] });
    return state.contextText.tokenize(model.tokenizer) as Token[];
  }

  async function run(
    slot: TSlot,
    input: TGenerateInput,
    onText: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<TGenerateResult> {
    const model = slot.context.model;
    const prompt = await tokensFor(slot, input);
    const room = slot.context.contextSize - prompt.length;
    if (room <= 0) {
      throw new EngineError(
        'context_length_exceeded',
        `The prompt is ${prompt.length} tokens; this model's context holds ${slot.context.contextSize}.`,
      );
    }
    const maxTokens = Math.min(input.maxTokens ?? 256, room);
    const stops = (input.stop ?? []).filter((s) => s.length > 0);
    const hold = stops.reduce((m, s) => Math.max(m, s.length - 1), 0);
    let grammarState: LlamaGrammarEvaluationState | undefined;
    if (input.jsonSchema) {
      try {
        const grammar = await (await llama()).createGrammarForJsonSchema(input.jsonSchema as never);
        grammarState = new LlamaGrammarEvaluationState({ model, grammar });
      } catch (e) {
        throw new EngineError('invalid_request', `response_format.json_schema is not usable: ${(e as Error).message}`);
      }
    }
    await slot.sequence.clearHistory();
    const out: Token[] = [];
    let text = '';
    let sent = 0;
    let finishReason: 'stop' | 'length' = 'length';
    const flush = (upTo: number) => {
      // Hold back a trailing replacement char (a multi-byte character split across tokens).
      let end = upTo;
      while (end > sent && text.charCodeAt(end - 1) === 0xfffd) end -= 1;
      if (end > sent) {
        onText(text.slice(sent, end));
        sent = end;
      }
    };
    if (maxTokens > 0) {
      for await (const token of slot.sequence.evaluate(prompt, {
        temperature: input.temperature ?? 1,
        topP: input.topP,
        seed: input.seed,
        grammarEvaluationState: grammarState,
      })) {
        if (signal?.aborted) {
          finishReason = 'stop';
          break;
        }
        if (model.isEogToken(token)) {
          finishReason = 'stop';
          break;
        }
        out.push(token);
        text = model.detokenize(out);
        const at = stops.length
          ? Math.min(...stops.map((s) => text.indexOf(s, Math.max(0, sent - hold))).filter((i) => i >= 0))
          : Infinity;
        if (Number.isFinite(at)) {
          text = text.slice(0, at);
          finishReason = 'stop';
          break;
        }
        flush(text.length - hold);
        if (out.length >= maxTokens) break;
      }
    }
    if (sent < text.length) {
      onText(text.slice(sent));
      sent = text.length;
    }
    return { text, promptTokens: prompt.length, completionTokens: out.length, finishReason };
  }

  return {
    /** Where model files come from and are cached (exports use the same cache). */
    storage: options.storage,
    cacheDir: options.cacheDir,
    /** Loads (or finds) what `target` needs and generates; requests on one slot queue behind each other. */
    async generate(
      target: TTarget,
      input: TGenerateInput,
      onText: (t: string) => void = () => {},
      signal?: AbortSignal,
    ) {
      const slot = await getSlot(target);
      slot.busy += 1;
      slot.lastUsed = Date.now();
      const job = slot.queue.then(() => run(slot, input, onText, signal));
      slot.queue = job.catch(() => {});
      try {
        return await job;
      } finally {
        slot.busy -= 1;
        slot.lastUsed = Date.now();
        // Other adapters may have been kept past the limit while this one was busy.
        void evictIdle();
      }
    },
    /** Loads `target` and keeps it loaded (a deployment) until unpinned. */
    async pin(target: TTarget, by: string) {
      const slot = await getSlot(target);
      slot.pins.add(by);
      return slot;
    },
    async unpin(by: string) {
      for (const p of slots.values()) {
        const s = await p.catch(() => null);
        s?.pins.delete(by);
      }
      await evictIdle();
    },
    /** What this worker holds now (for the Redis registry). */
    async holdings() {
      const held = { bases: [...bases.keys()], adapters: [] as string[], pinned: [] as string[] };
      for (const p of slots.values()) {
        const s = await p.catch(() => null);
        if (!s) continue;
        if (s.adapterId) held.adapters.push(s.adapterId);
        held.pinned.push(...s.pins);
      }
      return held;
    },
    async dispose() {
      for (const p of slots.values()) await (await p.catch(() => null))?.context.dispose().catch(() => {});
      slots.clear();
      for (const p of bases.values()) await (await p.catch(() => null))?.model.dispose().catch(() => {});
      bases.clear();
      if (llamaP) await (await llamaP).dispose().catch(() => {});
    },
  };
}
