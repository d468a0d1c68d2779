import { Template as JinjaTemplate } from '@huggingface/jinja';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';

// LLaMA-Factory's chat templates (src/llamafactory/data/template.py) and its supervised label rule
// (data/processor/supervised.py): each message is formatted from slots and tokenised on its own; turns are
// (prompt, response) pairs; response tokens carry labels, prompt tokens are -100.

export const IGNORE_INDEX = -100;

export type TRole = 'system' | 'user' | 'assistant' | 'function' | 'observation';
export type TChatMessage = { role: TRole; content: string };
export type TEncoded = { inputIds: number[]; labels: number[] };
export type TEncodeOptions = {
  /** Extra system text; `undefined` means the template's default system prompt. */
  system?: string;
  /** JSON text of a tool list (sharegpt `tools` column). */
  tools?: string;
  cutoffLen?: number;
  trainOnPrompt?: boolean;
  maskHistory?: boolean;
};

export type Template = {
  name: string;
  /** Input ids and labels of a whole conversation (system?, then user/assistant pairs). */
  encodeChat(messages: TChatMessage[], opts?: TEncodeOptions): TEncoded;
  /** Ids of the prompt for the next assistant reply: ends with the assistant header. */
  promptForGeneration(messages: TChatMessage[], opts?: { system?: string; tools?: string }): number[];
  /** (prompt, response) id pairs as LLaMA-Factory's `encode_multiturn`. */
  encodeMultiturn(messages: TChatMessage[], system?: string, tools?: string): [number[], number[]][];
  /**
   * LLaMA-Factory's `encode_oneturn` (its unsupervised processor, used for generation): everything before the last
   * message as the prompt, the last message (a reply) as the response.
   */
  encodeOneTurn(messages: TChatMessage[], system?: string, tools?: string): [number[], number[]];
  stopTokenIds: number[];
  /** The EOS text LLaMA-Factory uses for this template (stop_words[0] when it replaces EOS). */
  eosToken: string;
  efficientEos: boolean;
};

type TSlot = string | { bos: true } | { eos: true } | { token: string };

type TTemplateSpec = {
  user: TSlot[];
  assistant: TSlot[];
  system: TSlot[];
  observation?: TSlot[];
  function?: TSlot[];
  prefix?: TSlot[];
  defaultSystem?: string;
  stopWords?: string[];
  replaceEos?: boolean;
  efficientEos?: boolean;
  toolFormat?: 'qwen';
  /**
   * LLaMA-Factory's ReasoningTemplate (qwen3): thought_words wrap a reply's thinking; a reply without them gets the
   * empty block, labelled under enable_thinking (default true) and part of the prompt when it is false.
   */
  thoughtWords?: [string, string];
  /** LLaMA-Factory's Llama2Template (mistral): the system text goes inside the first user message. */
  systemInFirstUser?: boolean;
};

export type TTemplateOptions = {
  /** LLaMA-Factory's `enable_thinking` (default true); only reasoning templates (qwen3) and `auto` read it. */
  enableThinking?: boolean;
};

const SPECS: Record<string, TTemplateSpec> = {
  qwen: {
    user: ['<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n'],
    assistant: ['{{content}}<|im_end|>\n'],
    system: ['<|im_start|>system\n{{content}}<|im_end|>\n'],
    function: ['{{content}}<|im_end|>\n'],
    observation: [
      '<|im_start|>user\n<tool_response>\n{{content}}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    ],
    defaultSystem: 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.',
    stopWords: ['<|im_end|>'],
    replaceEos: true,
    toolFormat: 'qwen',
  },
  // LLaMA-Factory's qwen3 (ReasoningTemplate): qwen's slots without the default system prompt.
  qwen3: {
    user: ['<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n'],
    assistant: ['{{content}}<|im_end|>\n'],
    system: ['<|im_start|>system\n{{content}}<|im_end|>\n'],
    function: ['{{content}}<|im_end|>\n'],
    observation: [
      '<|im_start|>user\n<tool_response>\n{{content}}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    ],
    stopWords: ['<|im_end|>'],
    replaceEos: true,
    toolFormat: 'qwen',
    thoughtWords: ['<think>\n', '\n</think>\n\n'],
  },
  // LLaMA-Factory's mistral (Llama2Template): BOS, `[INST] {system}\n\n{user}[/INST]`, ` {reply}` + EOS.
  mistral: {
    user: ['[INST] {{content}}[/INST]'],
    assistant: [' {{content}}', { eos: true }],
    system: ['{{content}}\n\n'],
    observation: ['[TOOL_RESULTS] {"content": {{content}}}[/TOOL_RESULTS]'],
    function: ['[TOOL_CALLS] {{content}}', { eos: true }],
    prefix: [{ bos: true }],
    systemInFirstUser: true,
  },
  // LLaMA-Factory's gemma (Llama2Template): BOS, the system text in front of the first user message,
  // `<start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n`, replies end with <end_of_turn> (the EOS).
  gemma: {
    user: ['<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    assistant: ['{{content}}<end_of_turn>\n'],
    system: ['{{content}}\n\n'],
    observation: ['<start_of_turn>tool\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    prefix: [{ bos: true }],
    stopWords: ['<end_of_turn>'],
    replaceEos: true,
    systemInFirstUser: true,
  },
  // LLaMA-Factory's gemma2: gemma's slots with the tokenizer's EOS kept and appended once (efficient_eos).
  gemma2: {
    user: ['<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    assistant: ['{{content}}<end_of_turn>\n'],
    system: ['{{content}}\n\n'],
    observation: ['<start_of_turn>tool\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    prefix: [{ bos: true }],
    stopWords: ['<eos>', '<end_of_turn>'],
    efficientEos: true,
    systemInFirstUser: true,
  },
  // LLaMA-Factory's gemma3 is gemma's text template (its image plugin aside).
  gemma3: {
    user: ['<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    assistant: ['{{content}}<end_of_turn>\n'],
    system: ['{{content}}\n\n'],
    observation: ['<start_of_turn>tool\n{{content}}<end_of_turn>\n<start_of_turn>model\n'],
    prefix: [{ bos: true }],
    stopWords: ['<end_of_turn>'],
    replaceEos: true,
    systemInFirstUser: true,
  },
  llama3: {
    user: [
      '<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    ],
    assistant: ['{{content}}<|eot_id|>'],
    system: ['<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>'],
    observation: [
      '<|start_header_id|>ipython<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    ],
    prefix: [{ bos: true }],
    stopWords: ['<|eot_id|>', '<|eom_id|>'],
    replaceEos: true,
  },
  chatml: {
    user: ['<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n'],
    assistant: ['{{content}}<|im_end|>\n'],
    system: ['<|im_start|>system\n{{content}}<|im_end|>\n'],
    observation: ['<|im_start|>tool\n{{content}}<|im_end|>\n<|im_start|>assistant\n'],
    stopWords: ['<|im_end|>', '<|im_start|>'],
    replaceEos: true,
  },
  empty: {
    user: ['{{content}}'],
    assistant: ['{{content}}'],
    system: ['{{content}}'],
  },
  default: {
    user: ['Human: {{content}}', { eos: true }, '\nAssistant:'],
    assistant: ['{{content}}', { eos: true }, '\n'],
    system: ['System: {{content}}', { eos: true }, '\n'],
  },
};

export const TEMPLATE_NAMES = [...Object.keys(SPECS), 'auto'];

// Python's json.dumps(obj, ensure_ascii=False): ", " and ": " separators, which LLaMA-Factory's tool texts use.
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyJsonDumps(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v);
}

function qwenToolText(tools: string): string {
  let list: unknown[];
  try {
    const parsed = JSON.parse(tools);
    list = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return '';
  }
  let text = '';
  for (const t of list) {
    const wrapped = (t as { type?: string }).type === 'function' ? t : { type: 'function', function: t };
    text += `\n${pyJsonDumps(wrapped)}`;
  }
  return (
    '\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
    `You are provided with function signatures within <tools></tools> XML tags:\n<tools>${text}` +
    '\n</tools>\n\nFor each function call, return a json object with function name and arguments within ' +
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
  );
}

function qwenFunctionText(content: string): string {
  let calls: { name: string; arguments: unknown }[];
  try {
    const parsed = JSON.parse(content);
    calls = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return content; // LLaMA-Factory keeps an unparsable call as plain text
  }
  return calls
    .map((c) => {
      // As LLaMA-Factory: json.loads(json.dumps(arguments)) — a string stays a string.
      return `<tool_call>\n${pyJsonDumps({ name: c.name, arguments: c.arguments })}\n</tool_call>`;
    })
    .join('\n');
}
const safeParse = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

/** LLaMA-Factory's `infer_seqlen`: how many source and target tokens of a turn fit in `cutoffLen`. */
export function inferSeqlen(sourceLen: number, targetLen: number, cutoffLen: number): [number, number] {
  let maxTargetLen: number;
  if (targetLen * 2 < cutoffLen) maxTargetLen = cutoffLen;
  else if (sourceLen * 2 < cutoffLen) maxTargetLen = cutoffLen - sourceLen;
  else maxTargetLen = Math.trunc(cutoffLen * (targetLen / (sourceLen + targetLen)));
  const newTargetLen = Math.min(maxTargetLen, targetLen);
  const maxSourceLen = Math.max(cutoffLen - newTargetLen, 0);
  const newSourceLen = Math.min(maxSourceLen, sourceLen);
  return [newSourceLen, newTargetLen];
}

/** The supervised processor's loop over (prompt, response) pairs, with cutoff and masking. */
export function encodePairs(
  pairs: [number[], number[]][],
  opts: TEncodeOptions,
  eosTokenId: number,
  efficientEos: boolean,
): TEncoded {
  const cutoffLen = opts.cutoffLen ?? Number.POSITIVE_INFINITY;
  let inputIds: number[] = [];
  let labels: number[] = [];
  let totalLength = efficientEos ? 1 : 0;
  const ordered = opts.maskHistory ? [...pairs].reverse() : pairs;
  for (let turn = 0; turn < ordered.length; turn++) {
    if (totalLength >= cutoffLen) break;
    let [source, target] = ordered[turn];
    const [sourceLen, targetLen] = inferSeqlen(source.length, target.length, cutoffLen - totalLength);
    source = source.slice(0, sourceLen);
    target = target.slice(0, targetLen);
    totalLength += sourceLen + targetLen;
    let sourceLabel: number[];
    if (opts.trainOnPrompt) sourceLabel = source;
    else if (efficientEos && turn !== 0)
      sourceLabel = [eosTokenId, ...new Array(Math.max(sourceLen - 1, 0)).fill(IGNORE_INDEX)];
    else sourceLabel = new Array(sourceLen).fill(IGNORE_INDEX);
    const targetLabel = opts.maskHistory && turn !== 0 ? new Array(targetLen).fill(IGNORE_INDEX) : target;
    if (opts.maskHistory) {
      inputIds = [...source, ...target, ...inputIds];
      labels = [...sourceLabel, ...targetLabel, ...labels];
    } else {
      inputIds.push(...source, ...target);
      labels.push(...sourceLabel, ...targetLabel);
    }
  }
  if (efficientEos) {
    inputIds.push(eosTokenId);
    labels.push(eosTokenId);
  }
  return { inputIds, labels };
}

/** encode_oneturn from the turn pairs: every pair but the last reply joined into the prompt. */
function oneTurn(pairs: [number[], number[]][]): [number[], number[]] {
  const prompt: number[] = [];
  pairs.forEach(([source, target], i) => {
    prompt.push(...source);
    if (i < pairs.length - 1) prompt.push(...target);
  });
  return [prompt, pairs.at(-1)?.[1] ?? []];
}

/** Splits a leading system message off, as LLaMA-Factory's converters put it in a separate `system` field. */
function splitSystem(messages: TChatMessage[], system: string | undefined): [TChatMessage[], string | undefined] {
  if (messages.length > 0 && messages[0].role === 'system') return [messages.slice(1), messages[0].content];
  return [messages, system];
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function slotTemplate(name: string, spec: TTemplateSpec, tokenizer: Tokenizer, opts: TTemplateOptions): Template {
  const eosToken = spec.replaceEos && spec.stopWords ? spec.stopWords[0] : tokenizer.eosToken;
  const eosTokenId = tokenizer.tokenToId(eosToken);
  if (eosTokenId === undefined) {
    throw new TrainerError(
      'TEMPLATE_UNKNOWN',
      `Template ${name} needs the token ${eosToken}, which this tokenizer lacks.`,
    );
  }
  const stop = new Set<number>([eosTokenId, tokenizer.eosTokenId]);
  for (const w of spec.stopWords ?? []) {
    const id = tokenizer.tokenToId(w);
    if (id !== undefined) stop.add(id);
  }
  const efficientEos = spec.efficientEos ?? false;

  const toIds = (slots: TSlot[], content: string): number[] => {
    const ids: number[] = [];
    for (const s of slots) {
      if (typeof s === 'string') {
        const text = s.replaceAll('{{content}}', content);
        if (text.length > 0) ids.push(...tokenizer.encode(text));
      } else if ('bos' in s) {
        if (tokenizer.bosTokenId !== undefined) ids.push(tokenizer.bosTokenId);
      } else if ('eos' in s) {
        ids.push(eosTokenId);
      } else {
        const id = tokenizer.tokenToId(s.token);
        if (id !== undefined) ids.push(id);
      }
    }
    return ids;
  };

  // LLaMA-Factory's Template._encode: one id list per message; the first also carries prefix and system.
  const encodeMessages = (
    messages: TChatMessage[],
    systemIn: string | undefined,
    tools: string | undefined,
  ): number[][] => {
    const system = systemIn || spec.defaultSystem || '';
    return messages.map((m, i) => {
      const ids: number[] = [];
      // Llama2Template: the formatted system text becomes the start of the first user message's content.
      let userPrefix = '';
      if (i === 0) {
        if (spec.prefix) ids.push(...toIds(spec.prefix, ''));
        if (system || tools) {
          const toolText = tools && spec.toolFormat === 'qwen' ? qwenToolText(tools) : '';
          if (spec.systemInFirstUser)
            userPrefix = (spec.system[0] as string).replaceAll('{{content}}', system + toolText);
          else ids.push(...toIds(spec.system, system + toolText));
        }
      }
      switch (m.role) {
        case 'user':
          ids.push(...toIds(spec.user, userPrefix + m.content));
          break;
        case 'assistant':
          ids.push(...toIds(spec.assistant, m.content));
          break;
        case 'observation':
          ids.push(...toIds(spec.observation ?? spec.user, m.content));
          break;
        case 'function':
          ids.push(
            ...toIds(
              spec.function ?? spec.assistant,
              spec.toolFormat === 'qwen' ? qwenFunctionText(m.content) : m.content,
            ),
          );
          break;
        default:
          throw new TrainerError('DATASET_INVALID', `Unexpected role ${m.role} inside a conversation.`);
      }
      return ids;
    });
  };

  // ReasoningTemplate (LLaMA-Factory v0.9.5, template.py): enable_thinking unset counts as true, as its default.
  const thought = spec.thoughtWords;
  const thinking = opts.enableThinking !== false;
  const thoughtRe = thought ? new RegExp(`${escapeRe(thought[0])}([\\s\\S]*?)${escapeRe(thought[1])}`, 'g') : null;
  const removeThought = (content: string): string =>
    thoughtRe ? content.replace(thoughtRe, '').replace(/^\n+/, '') : content;
  const hasThought = (content: string): boolean =>
    !!thought && (content.includes(thought[0].trim()) || content.includes(thought[1].trim()));
  const thoughtIds = (): number[] => (thought ? tokenizer.encode(thought[0] + thought[1]) : []);
  const withContent = (m: TChatMessage, content: string): TChatMessage => ({ ...m, content });

  /**
   * discardHistoryCot (LLaMA-Factory's mask_history without preserve_thinking): earlier replies lose their thinking
   * and only the last turn gets the empty block.
   */
  const encodeTurns = (
    messages: TChatMessage[],
    system: string | undefined,
    tools: string | undefined,
    discardHistoryCot: boolean,
  ): [number[], number[]][] => {
    let [msgs, sys] = splitSystem(messages, system);
    if (thought) {
      msgs = msgs.map((m, i) => {
        const reply = i % 2 === 1;
        const drop = reply && (!thinking || (discardHistoryCot && i < msgs.length - 2));
        return drop ? withContent(m, removeThought(m.content)) : m;
      });
    }
    const enc = encodeMessages(msgs, sys, tools);
    if (thought) {
      const turns = discardHistoryCot ? [msgs.length - 2] : Array.from({ length: msgs.length >> 1 }, (_, k) => 2 * k);
      for (const i of turns) {
        if (i < 0 || i + 1 >= msgs.length || hasThought(msgs[i + 1].content)) continue;
        // Without thinking the empty block is prompt (no loss); with it, the reply starts with it (loss).
        if (!thinking) enc[i] = [...enc[i], ...thoughtIds()];
        else enc[i + 1] = [...thoughtIds(), ...enc[i + 1]];
      }
    }
    const pairs: [number[], number[]][] = [];
    for (let i = 0; i + 1 < enc.length; i += 2) pairs.push([enc[i], enc[i + 1]]);
    return pairs;
  };
  const encodeMultiturn = (messages: TChatMessage[], system?: string, tools?: string): [number[], number[]][] =>
    encodeTurns(messages, system, tools, false);

  return {
    name,
    encodeMultiturn,
    // ReasoningTemplate.encode_oneturn drops the thinking of earlier replies and gives the empty block to the last
    // turn only: what encodeTurns does for mask_history (discardHistoryCot).
    encodeOneTurn: (messages, system, tools) => oneTurn(encodeTurns(messages, system, tools, !!thought)),
    encodeChat: (messages, o = {}) =>
      encodePairs(encodeTurns(messages, o.system, o.tools, !!o.maskHistory && !!thought), o, eosTokenId, efficientEos),
    promptForGeneration: (messages, o = {}) => {
      let [msgs, sys] = splitSystem(messages, o.system);
      // As LLaMA-Factory's chat: encode_oneturn(messages + [assistant ""]) and keep the prompt part; a reasoning
      // template strips the thinking of earlier replies and, without thinking, ends the prompt with the empty block.
      if (thought) msgs = msgs.map((m, i) => (i % 2 === 1 ? withContent(m, removeThought(m.content)) : m));
      const enc = encodeMessages([...msgs, { role: 'assistant', content: '' }], sys, o.tools);
      const prompt = enc.slice(0, -1).flat();
      return thought && !thinking ? [...prompt, ...thoughtIds()] : prompt;
    },
    stopTokenIds: [...stop],
    eosToken,
    efficientEos,
  };
}

// `template: auto` — the model's own jinja chat_template. Each assistant turn's text is what rendering the
// conversation up to and including it adds beyond the generation prompt before it; that text carries labels, like
// the `{content}<|im_end|>\n` of LLaMA-Factory's qwen template.
function jinjaTemplate(tokenizer: Tokenizer, opts: TTemplateOptions): Template {
  const source = tokenizer.chatTemplate;
  if (!source)
    throw new TrainerError('TEMPLATE_UNKNOWN', 'template: auto needs a chat_template in tokenizer_config.json.');
  const jt = new JinjaTemplate(source);
  const render = (messages: TChatMessage[], addGenerationPrompt: boolean, tools?: unknown[]): string =>
    jt.render({
      messages: messages.map((m) => ({
        role: m.role === 'observation' ? 'tool' : m.role === 'function' ? 'assistant' : m.role,
        content: m.content,
      })),
      add_generation_prompt: addGenerationPrompt,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken,
      // As apply_chat_template(enable_thinking=...): Qwen3's template reads it for the generation prompt.
      ...(opts.enableThinking !== undefined ? { enable_thinking: opts.enableThinking } : {}),
      ...(tools ? { tools } : {}),
    });
  const withSystem = (messages: TChatMessage[], system?: string): TChatMessage[] =>
    system && messages[0]?.role !== 'system' ? [{ role: 'system', content: system }, ...messages] : messages;
  const parseTools = (tools?: string): unknown[] | undefined => {
    if (!tools) return undefined;
    const t = safeParse(tools);
    return Array.isArray(t) && t.length > 0 ? t : undefined;
  };

  const encodeMultiturn = (messagesIn: TChatMessage[], system?: string, tools?: string): [number[], number[]][] => {
    const messages = withSystem(messagesIn, system);
    const toolList = parseTools(tools);
    // Templates such as Qwen3's render an earlier turn differently once later turns exist (the empty think block
    // goes only on the last reply), so spans are located in the one rendering of the whole conversation.
    const full = render(messages, false, toolList);
    const pairs: [number[], number[]][] = [];
    let prevEnd = 0;
    for (let i = 0; i < messages.length; i++) {
      const role = messages[i].role;
      if (role !== 'assistant' && role !== 'function') continue;
      const prompt = render(messages.slice(0, i), true, toolList);
      let start = 0;
      while (start < prompt.length && start < full.length && prompt[start] === full[start]) start++;
      const content = messages[i].content.trim();
      const cidx = full.indexOf(content, Math.max(start, prevEnd));
      if (start < prevEnd || cidx < 0) {
        throw new TrainerError(
          'TEMPLATE_UNKNOWN',
          "The model's chat_template renders this conversation in a way whose replies cannot be located; use a named template (qwen, llama3, default).",
        );
      }
      // The end-of-turn text the template puts after a reply (e.g. `<|im_end|>\n`) belongs to the reply.
      const alone = render(messages.slice(0, i + 1), false, toolList);
      const suffix = alone.slice(alone.lastIndexOf(content) + content.length);
      let end = cidx + content.length;
      if (suffix.length > 0 && full.startsWith(suffix, end)) end += suffix.length;
      pairs.push([tokenizer.encode(full.slice(prevEnd, start)), tokenizer.encode(full.slice(start, end))]);
      prevEnd = end;
    }
    return pairs;
  };
  const eosTokenId = tokenizer.eosTokenId;
  return {
    name: 'auto',
    encodeMultiturn,
    encodeOneTurn: (messages, system, tools) => oneTurn(encodeMultiturn(messages, system, tools)),
    encodeChat: (messages, opts = {}) =>
      encodePairs(encodeMultiturn(messages, opts.system, opts.tools), opts, eosTokenId, false),
    promptForGeneration: (messages, opts = {}) =>
      tokenizer.encode(render(withSystem(messages, opts.system), true, parseTools(opts.tools))),
    stopTokenIds: [eosTokenId],
    eosToken: tokenizer.eosToken,
    efficientEos: false,
  };
}

/**
 * A chat template by LLaMA-Factory name (`qwen`, `qwen3`, `llama3`, `mistral`, ...) or `auto` for the model's own
 * jinja template. `modelDir` is accepted for callers that pass it; the jinja template comes from the loaded
 * tokenizer config. `enableThinking` is read by qwen3 and auto and ignored by the rest, as LLaMA-Factory does.
 */
export function getTemplate(
  name: string | undefined,
  tokenizer: Tokenizer,
  _modelDir?: string,
  opts: TTemplateOptions = {},
): Template {
  const n = name ?? 'auto';
  if (n === 'auto') return jinjaTemplate(tokenizer, opts);
  const spec = SPECS[n];
  if (!spec) {
    throw new TrainerError('TEMPLATE_UNKNOWN', `Unknown template "${n}"; available: ${TEMPLATE_NAMES.join(', ')}.`);
  }
  return slotTemplate(n, spec, tokenizer, opts);
}
