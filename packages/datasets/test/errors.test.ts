import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHashSet, rowHash } from '../src/hashset';
import { PROBLEMS, type TProblemCode, type TValidateOptions, VALIDATION_DEFAULTS, validateStream } from '../src/index';
import type { TSource } from '../src/parse/records';
import { codes, jsonl, run } from './helpers';

const user = { role: 'user', content: 'Hi' };
const bot = { role: 'assistant', content: 'Hello!' };
const ok = { messages: [user, bot] };

type TCase = { source: TSource; opts?: TValidateOptions; line: number; field?: string; also?: TProblemCode[] };

// One file per code, with the line and field the problem must carry. `also` names codes that legitimately come
// with it (for example the partial last row of a file cut at maxBytes).
const CASES: Record<TProblemCode, TCase> = {
  empty_file: { source: '\n  \n', line: 1 },
  file_too_large: {
    source: jsonl(ok, ok, ok),
    opts: { maxBytes: JSON.stringify(ok).length + 10 },
    line: 2,
    also: ['invalid_json'],
  },
  too_many_rows: {
    source: jsonl(ok, { messages: [user, { ...bot, content: 'x' }] }, ok),
    opts: { maxRows: 2 },
    line: 3,
  },
  unreadable_file: { source: Buffer.from('PK\u0003\u0004 not really a zip'), line: 1 },
  not_utf8: {
    source: Buffer.concat([
      Buffer.from(`${JSON.stringify(ok)}\n{"text": "`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n'),
    ]),
    line: 2,
  },
  invalid_json: { source: `${JSON.stringify(ok)}\n{"messages": [}\n`, line: 2 },
  row_too_large: { source: jsonl(ok, { text: 'x'.repeat(200) }), opts: { maxRowBytes: 100 }, line: 2 },
  unknown_format: { source: jsonl({ foo: 1 }), line: 1 },
  too_deeply_nested: {
    source: `${JSON.stringify(ok)}\n{"text": ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`,
    line: 2,
  },
  unreadable_row: {
    source: jsonl(ok),
    // A tokenizer that fails on a row must not end the upload; it becomes that row's problem.
    opts: {
      tokenize: () => {
        throw new Error('tokenizer failed');
      },
    },
    line: 1,
  },
  ambiguous_format: { source: jsonl({ text: 'a', instruction: 'b', output: 'c' }), line: 1 },
  mixed_formats: { source: jsonl(ok, { text: 'plain' }), line: 2 },
  data_type: { source: `${JSON.stringify(ok)}\n[1, 2]\n`, line: 2 },
  missing_messages_list: { source: jsonl(ok, { messages: 'Hi' }), line: 2, field: 'messages' },
  message_missing_key: { source: jsonl({ messages: [{ content: 'Hi' }, bot] }), line: 1, field: 'messages[0].role' },
  message_unrecognized_key: {
    source: jsonl({ messages: [{ ...user, mood: 'happy' }, bot] }),
    line: 1,
    field: 'messages[0].mood',
  },
  unrecognized_role: {
    source: jsonl({ messages: [{ role: 'narrator', content: 'x' }, bot] }),
    line: 1,
    field: 'messages[0].role',
  },
  missing_content: {
    source: jsonl({ messages: [user, { role: 'assistant', content: '' }] }),
    line: 1,
    field: 'messages[1].content',
  },
  example_missing_assistant_message: { source: jsonl({ messages: [user] }), line: 1, field: 'messages' },
  identical_preference_outputs: {
    source: jsonl(
      { input: { messages: [user] }, preferred_output: [bot], non_preferred_output: [{ ...bot, content: 'Go away.' }] },
      { input: { messages: [user] }, preferred_output: [bot], non_preferred_output: [bot] },
    ),
    line: 2,
    field: 'non_preferred_output',
  },
  invalid_weight: {
    source: jsonl({ messages: [user, { ...bot, weight: 0.5 }] }),
    line: 1,
    field: 'messages[1].weight',
  },
  invalid_role_order: {
    source: jsonl({
      conversations: [
        { from: 'human', value: 'a' },
        { from: 'human', value: 'b' },
      ],
    }),
    line: 1,
    field: 'conversations[1].from',
  },
  invalid_tool_call: {
    source: jsonl({
      conversations: [
        { from: 'human', value: 'a' },
        { from: 'function_call', value: 'weather(Paris)' },
      ],
    }),
    line: 1,
    field: 'conversations[1].value',
  },
  invalid_tools: { source: jsonl({ ...ok, tools: '[{"description": "no name"}]' }), line: 1, field: 'tools[0]' },
  missing_field: { source: jsonl({ prompt: 'Q', response: null }), line: 1, field: 'response' },
  invalid_field_type: { source: jsonl({ messages: [user, bot], label: 'yes' }), line: 1, field: 'label' },
  too_many_tokens: {
    source: jsonl(ok, { messages: [user, { role: 'assistant', content: 'word '.repeat(50) }] }),
    // A whitespace tokenizer: enough to test the limit; the real tokenizer is used in stats.test.ts.
    opts: {
      tokenize: (t) =>
        t
          .split(/\s+/)
          .filter(Boolean)
          .map((w) => w.length),
      maxTokensPerRow: 20,
    },
    line: 2,
  },
  duplicate_row: { source: jsonl(ok, { messages: [user, { ...bot, content: 'x' }] }, ok), line: 3 },
  unreplaced_placeholder: { source: jsonl({ messages: [user, { ...bot, content: 'I am {{name}}' }] }), line: 1 },
};

describe('every problem code', () => {
  it('has a case here, a severity and a sentence that says what to do', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(PROBLEMS).sort());
    for (const p of Object.values(PROBLEMS)) expect(p.message).toMatch(/\.\s*$/);
  });

  for (const [code, c] of Object.entries(CASES) as [TProblemCode, TCase][]) {
    it(`${code}: reported with line${c.field ? ' and field' : ''}, never thrown`, async () => {
      const { report } = await run(c.source, c.opts);
      expect(Object.keys(codes(report)).sort()).toEqual([code, ...(c.also ?? [])].sort());
      const group = report.problems.find((p) => p.code === code)!;
      expect(group.message).toBe(PROBLEMS[code].message);
      expect(group.severity).toBe(PROBLEMS[code].severity);
      expect(group.examples[0].line).toBe(c.line);
      if (c.field) expect(group.examples[0].field).toBe(c.field);
      expect(report.ok).toBe(PROBLEMS[code].severity === 'warning');
      expect(report.errorCount + report.warningCount).toBe(report.problems.reduce((n, p) => n + p.count, 0));
    });
  }
});

describe('report shape', () => {
  it('groups by code with counts and keeps only the first N examples', async () => {
    const bad = Array.from({ length: 12 }, () => '{oops').join('\n');
    const { report } = await run(`${JSON.stringify(ok)}\n${bad}\n`, { maxExamplesPerCode: 3 });
    expect(report).toMatchObject({ rows: 13, validRows: 1, errorCount: 12, ok: false });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0].count).toBe(12);
    expect(report.problems[0].examples.map((e) => e.line)).toEqual([2, 3, 4]);
  });

  it('limits come from one frozen defaults object and are echoed in the report', async () => {
    expect(Object.isFrozen(VALIDATION_DEFAULTS)).toBe(true);
    const { report } = await run(jsonl(ok), { maxRows: 7 });
    expect(report.limits).toEqual({ ...VALIDATION_DEFAULTS, maxRows: 7 });
  });

  it('a broken .json array: each bad element is one problem, the scan goes on, the missing ] is reported', async () => {
    const src = `[\n${JSON.stringify(ok)},\n{"messages": oops},\n${JSON.stringify({ messages: [user, { ...bot, content: 'x' }] })}\n`;
    const { report, rows } = await run(src);
    expect(rows).toHaveLength(2);
    expect(report.rows).toBe(3);
    const inv = report.problems.find((p) => p.code === 'invalid_json')!;
    expect(inv.count).toBe(2);
    expect(inv.examples[0].line).toBe(3);
    expect(inv.examples[1].detail).toContain('closing ]');
  });

  it('an unbalanced quote in a .json array: the rest is one runaway element, reported and capped, never buffered', async () => {
    const good = JSON.stringify(ok);
    const src = `[${good},\n{"text": "cut short},\n${Array.from({ length: 50 }, () => good).join(',\n')}]`;
    const { report, rows } = await run(src, { maxRowBytes: 1000 });
    expect(rows).toHaveLength(1);
    expect(codes(report)).toEqual({ row_too_large: 1, invalid_json: 1 });
    expect(report.problems.find((p) => p.code === 'row_too_large')!.examples[0].line).toBe(2);
  });

  it('a file that matches two formats names both in the reason', async () => {
    const { report } = await run(jsonl({ messages: [user, bot], conversations: [] }));
    const ex = report.problems[0].examples[0];
    expect(report.problems[0].code).toBe('ambiguous_format');
    expect(ex.detail).toContain('openai_chat');
    expect(ex.detail).toContain('sharegpt');
    expect(report.ok).toBe(false);
  });

  it('a row with no keys of any format, after the format is known, is read as that format', async () => {
    const { report } = await run(jsonl(ok, { id: 7 }));
    expect(codes(report)).toEqual({ missing_messages_list: 1 });
  });
});

describe('limits and cancellation', () => {
  it('an XLSX over maxXlsxBytes is file_too_large without being parsed', async () => {
    const buf = readFileSync(join(import.meta.dirname, 'fixtures/prompts.xlsx'));
    const { report } = await run(buf, { maxXlsxBytes: 1000 });
    expect(codes(report)).toEqual({ file_too_large: 1 });
    expect(report.rows).toBe(0);
    expect((await run(buf, { maxXlsxBytes: buf.length })).report.ok).toBe(true);
  });

  it('past maxDuplicateHashes duplicates are no longer looked for, and the report says so', async () => {
    const rows = ['a', 'b', 'c', 'a', 'c'].map((t) => ({ text: t }));
    const full = await run(jsonl(...rows));
    expect(codes(full.report)).toEqual({ duplicate_row: 2 });
    expect(full.report.duplicateCheckComplete).toBe(true);
    const capped = await run(jsonl(...rows), { maxDuplicateHashes: 2 });
    expect(codes(capped.report)).toEqual({ duplicate_row: 1 });
    expect(capped.report.duplicateCheckComplete).toBe(false);
  });

  it('an aborted signal stops reading and rejects with its reason', async () => {
    const ctl = new AbortController();
    let seen = 0;
    const src = Array.from({ length: 100 }, (_, i) => JSON.stringify({ text: `r${i}` })).join('\n');
    const p = validateStream(src, {
      signal: ctl.signal,
      onRow: () => {
        if (++seen === 10) ctl.abort(new Error('upload cancelled'));
      },
    });
    await expect(p).rejects.toThrow('upload cancelled');
    expect(seen).toBe(10);
  });
});

describe('preference pairs are checked at import (issue 15)', () => {
  const pair = (chosen: string, rejected: string) => ({ instruction: 'Hi', chosen, rejected });
  it('a blank answer is missing_content and a rejected answer equal to the chosen one is refused, naming the field', async () => {
    const { report, rows } = await run(
      jsonl(pair('Hello!', 'Go away.'), pair('Hello!', '  \n'), pair('   ', 'Go away.'), pair('Same', 'Same')),
    );
    expect(rows).toHaveLength(1);
    expect(codes(report)).toEqual({ missing_content: 2, identical_preference_outputs: 1 });
    const where = report.problems.flatMap((p) => p.examples.map((e) => [p.code, e.line, e.field]));
    expect(where).toEqual(
      expect.arrayContaining([
        ['missing_content', 2, 'non_preferred_output[0].content'],
        ['missing_content', 3, 'preferred_output[0].content'],
        ['identical_preference_outputs', 4, 'non_preferred_output'],
      ]),
    );
  });
});

describe('the row-hash set', () => {
  it('agrees with a JS Set over many hashes, through growth', () => {
    const set = createHashSet();
    const ref = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const h = (x % 20_000) * 2 ** 21 + (x % 7); // repeats on purpose; large values like real 52-bit hashes
      expect(set.add(h)).toBe(!ref.has(h));
      ref.add(h);
    }
    expect(set.size).toBe(ref.size);
    for (const h of ref) expect(set.has(h)).toBe(true);
    expect(set.has(2 ** 52 - 1)).toBe(ref.has(2 ** 52 - 1));
    expect(rowHash('x')).toBe(rowHash('x'));
    expect(rowHash('x')).not.toBe(rowHash('y'));
    expect(Number.isSafeInteger(rowHash('x'))).toBe(true);
  });
});
