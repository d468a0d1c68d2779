import {
  type ChatWrapper,
  JinjaTemplateChatWrapper,
  type Llama,
  type LlamaContextSequence,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { EngineError, type TGenerateInput, type TGenerateResult, type TGenerateSink } from './engine-types';
import { createTextDeltas } from './text-deltas';

/**
 * The chat wrapper of each loaded model: the model's own Jinja chat template when it has one, so a served prompt is
 * exactly what Transformers' apply_chat_template renders — and what the model was trained on. node-llama-cpp's
 * resolveChatWrapper recognises Qwen's template as its generic ChatML wrapper, which drops the template's default
 * system prompt ("You are Qwen, created by Alibaba Cloud...") and adds a BOS token Qwen does not use: a fine-tuned
 * model then saw a prompt it was never trained on (the first-run demo answered off-topic; issue 13). Models without
 * a template fall back to resolveChatWrapper. Built once per model (resolving renders sample chats, ~400 ms).
 */
const wrappers = new WeakMap<LlamaModel, ChatWrapper | null>();

export function wrapperOf(model: LlamaModel): ChatWrapper | null {
  if (wrappers.has(model)) return wrappers.get(model) ?? null;
  const template = (model.fileInfo.metadata as { tokenizer?: { chat_template?: string } })?.tokenizer?.chat_template;
  let wrapper: ChatWrapper | null = null;
  if (template) {
    try {
      wrapper = new JinjaTemplateChatWrapper({ template });
    } catch {
      wrapper = null; // a template the Jinja engine cannot run: let node-llama-cpp pick a wrapper
    }
  }
  wrapper ??= resolveChatWrapper(model);
  wrappers.set(model, wrapper);
  return wrapper;
}

/**
 * The longest token of each model's vocabulary, in bytes (GGUF byte-level tokens: one character per byte, so a
 * conservative 256 when the vocabulary is not in the metadata). A prompt of C characters is at least C / this many
 * tokens, which rejects a prompt far over the context without tokenising it (issue 11, finding 6: a 50 MB chat
 * took 55 s of tokenising and stopped the worker's heartbeat).
 */
const longestToken = new WeakMap<LlamaModel, number>();

function longestTokenOf(model: LlamaModel): number {
  let n = longestToken.get(model);
  if (n === undefined) {
    const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly string[] } } })?.tokenizer
      ?.ggml?.tokens;
    n = tokens?.length ? 1 : 256;
    for (const t of tokens ?? []) if (t.length > n) n = t.length; // a loop: 151k arguments overflow a spread
    longestToken.set(model, n);
  }
  return n;
}

/** The prompt's own text, piece by piece (the template only adds to it). */
function promptTexts(input: TGenerateInput): string[] {
  return input.kind === 'completion' ? [input.prompt ?? ''] : (input.messages ?? []).map((m) => m.content);
}

/** Prompts longer than this are counted in slices, yielding to the event loop between them, before tokenising. */
const SLICE_CHARS = 16_384;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Whether the prompt's text alone is over `limit` tokens, found without holding the event loop: the text is
 * tokenised in slices cut at line ends, with a turn of the event loop between slices (heartbeats, other requests'
 * tokens), stopping as soon as the count passes the limit. Cutting can change a count by a token or two per cut, so
 * the answer errs towards "not over"; the real tokenisation that follows is then bounded by the context size, not by
 * what the client sent (issue 11, finding 6).
 */
async function overLimit(model: LlamaModel, texts: string[], limit: number): Promise<number | null> {
  let count = 0;
  let cuts = 0;
  for (const text of texts) {
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + SLICE_CHARS);
      if (end < text.length) {
        const nl = text.lastIndexOf('\n', end);
        if (nl > at) end = nl + 1;
      }
      count += model.tokenize(text.slice(at, end), false).length;
      cuts += 1;
      at = end;
      if (count - 2 * cuts > limit) return count;
      await nextTurn();
    }
  }
  return null;
}

async function tokensFor(model: LlamaModel, input: TGenerateInput): Promise<Token[]> {
  if (input.kind === 'completion') return model.tokenize(input.prompt ?? '', false) as Token[];
  const wrapper = wrapperOf(model);
  if (!wrapper) throw new EngineError('invalid_request', 'This model has no chat template: use /v1/completions.');
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

/** Whether `text` is one whole JSON object or array (checked only when it ends like one). */
function jsonComplete(text: string): boolean {
  const end = text.trimEnd().at(-1);
  if (end !== '}' && end !== ']') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * One request on one sequence: the prompt (chat messages through the model's own chat template, or raw text), then
 * tokens until end of generation, max_tokens, a stop sequence or the caller going away. Text is handed to `sink.text`
 * as it forms, holding back what could still turn into a stop sequence or half a UTF-8 character.
 */
export async function generateOn(
  llama: Llama,
  sequence: LlamaContextSequence,
  input: TGenerateInput,
  sink: Partial<TGenerateSink>,
  signal?: AbortSignal,
): Promise<TGenerateResult> {
  const model = sequence.model;
  const texts = promptTexts(input);
  const chars = texts.reduce((n, t) => n + t.length, 0);
  // Cheapest first: C characters are at least C / (longest token) tokens.
  const atLeast = Math.ceil(chars / longestTokenOf(model));
  const tooLong = (n: number) =>
    new EngineError(
      'context_length_exceeded',
      `The prompt is at least ${n} tokens; this model's context holds ${sequence.contextSize}.`,
    );
  if (atLeast >= sequence.contextSize) throw tooLong(atLeast);
  if (chars > SLICE_CHARS) {
    const counted = await overLimit(model, texts, sequence.contextSize);
    if (counted !== null) throw tooLong(counted);
  }
  const prompt = await tokensFor(model, input);
  const room = sequence.contextSize - prompt.length;
  if (room <= 0) {
    throw new EngineError(
      'context_length_exceeded',
      `The prompt is ${prompt.length} tokens; this model's context holds ${sequence.contextSize}.`,
    );
  }
  sink.start?.(prompt.length);
  const maxTokens = Math.min(input.maxTokens ?? 256, room);
  const stops = (input.stop ?? []).filter((s) => s.length > 0);
  const hold = stops.reduce((m, s) => Math.max(m, s.length - 1), 0);
  let grammarState: LlamaGrammarEvaluationState | undefined;
  if (input.jsonSchema) {
    try {
      const grammar = await llama.createGrammarForJsonSchema(input.jsonSchema as never);
      grammarState = new LlamaGrammarEvaluationState({ model, grammar });
    } catch (e) {
      throw new EngineError('invalid_request', `response_format.json_schema is not usable: ${(e as Error).message}`);
    }
  }
  await sequence.clearHistory();
  const out: Token[] = [];
  const deltas = createTextDeltas(hold);
  let finishReason: 'stop' | 'length' = 'length';
  if (maxTokens > 0) {
    for await (const token of sequence.evaluate(prompt, {
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
      const full = model.detokenize(out);
      const at = stops.length
        ? Math.min(...stops.map((s) => full.indexOf(s, Math.max(0, deltas.sent - hold))).filter((i) => i >= 0))
        : Number.POSITIVE_INFINITY;
      if (Number.isFinite(at)) {
        deltas.cut(full, at);
        finishReason = 'stop';
        break;
      }
      const delta = deltas.update(full);
      if (delta) sink.text?.(delta, out.length);
      if (out.length >= maxTokens) break;
      // A schema-held answer is done once its JSON value is: the grammar would still allow trailing whitespace, and
      // a model that does not end with an end-of-generation token then fills max_tokens with newlines.
      if (grammarState && jsonComplete(full)) {
        finishReason = 'stop';
        break;
      }
    }
  }
  const rest = deltas.rest();
  if (rest) sink.text?.(rest, out.length);
  const text = deltas.text;
  return { text, promptTokens: prompt.length, completionTokens: out.length, finishReason };
}
