import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type TCanonicalRow, type TMessage, type TValidationReport, validateLlamaFactory } from '../src/index';
import { codes, run } from './helpers';

// The LLaMA-Factory demo files people already use must import as they are. Expected counts are computed here
// from the files with JSON.parse, independently of the streaming parser under test.

// The shared LLaMA-Factory fixtures (see their README); CRUCIBLE_LF_FIXTURES points elsewhere if they live elsewhere.
const DIR =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const INFO = readFileSync(join(DIR, 'dataset_info.json'), 'utf8');

function parsed(file: string): Record<string, unknown>[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  if (file.endsWith('.jsonl'))
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  return JSON.parse(text);
}

/** Exact duplicate rows by value (keys sorted), the first occurrence not counted. */
function duplicates(rows: unknown[]): number {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort()
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  const seen = new Set<string>();
  let n = 0;
  for (const r of rows) {
    const k = JSON.stringify(sorted(r));
    if (seen.has(k)) n++;
    else seen.add(k);
  }
  return n;
}

const FILES: { file: string; format: string; kind: string }[] = [
  { file: 'identity.json', format: 'alpaca', kind: 'chat' },
  { file: 'alpaca_en_demo.json', format: 'alpaca', kind: 'chat' },
  { file: 'alpaca_zh_demo.json', format: 'alpaca', kind: 'chat' },
  { file: 'glaive_toolcall_en_demo.json', format: 'sharegpt', kind: 'chat' },
  { file: 'dpo_en_demo.json', format: 'sharegpt_preference', kind: 'preference' },
  { file: 'kto_en_demo.json', format: 'kto', kind: 'chat' },
  { file: 'c4_demo.jsonl', format: 'text', kind: 'text' },
];

describe.each(FILES)('$file', ({ file, format, kind }) => {
  const source = parsed(file);

  const check = (report: TValidationReport, rows: TCanonicalRow[]) => {
    expect(report.rows).toBe(source.length);
    expect(report.validRows).toBe(source.length);
    expect(rows).toHaveLength(source.length);
    expect(report.errorCount).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.kind).toBe(kind);
    expect(codes(report).duplicate_row ?? 0).toBe(duplicates(source));
  };

  it('imports by detection, every row, with duplicates counted', async () => {
    const { report, rows } = await run(createReadStream(join(DIR, file)), { fileName: file });
    expect(report.format).toBe(format);
    check(report, rows);
  });

  it('imports through dataset_info.json as LLaMA-Factory reads it, to the same rows', async () => {
    const rows: TCanonicalRow[] = [];
    const report = await validateLlamaFactory(
      { datasetInfo: INFO, fileName: file },
      createReadStream(join(DIR, file)),
      {
        onRow: (r) => void rows.push(r),
      },
    );
    if ('error' in report) throw new Error(report.error.message);
    expect(report.format).toBe('llamafactory');
    check(report, rows);
    const detected = await run(createReadStream(join(DIR, file)), { fileName: file });
    expect(rows).toEqual(detected.rows);
  });
});

describe('content of the converted fixtures', () => {
  it('identity.json: placeholders found, replaced at import, none left', async () => {
    const text = readFileSync(join(DIR, 'identity.json'), 'utf8');
    const count = (name: string) => text.split(`{{${name}}}`).length - 1;
    const { report, rows } = await run(createReadStream(join(DIR, 'identity.json')), {
      placeholders: { name: 'Crux', author: 'the Crucible team' },
    });
    expect(report.placeholders).toEqual({ name: count('name'), author: count('author') });
    expect(report.unreplacedPlaceholders).toEqual({});
    expect(report.warningCount).toBe(0);
    expect(JSON.stringify(rows)).not.toContain('{{');
    expect(rows[0]).toEqual({
      messages: [
        { role: 'user', content: 'hi' },
        {
          role: 'assistant',
          content: 'Hello! I am Crux, an AI assistant developed by the Crucible team. How can I assist you today?',
        },
      ],
    });
  });

  it('alpaca: the user turn is instruction + "\\n" + input when input is set', async () => {
    const src = parsed('alpaca_en_demo.json');
    const { rows } = await run(createReadStream(join(DIR, 'alpaca_en_demo.json')));
    src.forEach((r, i) => {
      const ms = (rows[i] as { messages: TMessage[] }).messages;
      expect(ms.at(-2)!.content).toBe(r.input ? `${r.instruction}\n${r.input}` : r.instruction);
      expect(ms.at(-1)!.content).toBe(r.output);
    });
  });

  it('glaive: every function_call is a tool call, every observation a tool turn, every row has tools', async () => {
    const src = parsed('glaive_toolcall_en_demo.json') as {
      conversations: { from: string; value: string }[];
      tools: string;
    }[];
    const { rows } = await run(createReadStream(join(DIR, 'glaive_toolcall_en_demo.json')));
    const calls = src.flatMap((r) => r.conversations.filter((m) => m.from === 'function_call'));
    const obs = src.flatMap((r) => r.conversations.filter((m) => m.from === 'observation'));
    const ms = rows.flatMap((r) => (r as { messages: TMessage[] }).messages);
    expect(ms.filter((m) => m.tool_calls).length).toBe(calls.length);
    expect(ms.filter((m) => m.role === 'tool').length).toBe(obs.length);
    expect(ms.filter((m) => m.tool_calls).map((m) => JSON.parse(m.tool_calls![0].function.arguments))).toEqual(
      calls.map((c) => JSON.parse(c.value).arguments),
    );
    rows.forEach((r, i) => {
      const names = JSON.parse(src[i].tools).map((t: { name: string }) => t.name);
      expect((r as { tools?: { function: { name: string } }[] }).tools?.map((t) => t.function.name) ?? []).toEqual(
        names,
      );
    });
  });

  it('kto: labels kept', async () => {
    const src = parsed('kto_en_demo.json');
    const { rows } = await run(createReadStream(join(DIR, 'kto_en_demo.json')));
    expect(rows.map((r) => (r as { label: boolean }).label)).toEqual(src.map((r) => r.label));
  });

  it('dpo: the system turn of 80 rows is kept as a system message', async () => {
    const src = parsed('dpo_en_demo.json') as { conversations: { from: string }[] }[];
    const { rows } = await run(createReadStream(join(DIR, 'dpo_en_demo.json')));
    const withSystem = rows.filter(
      (r) => (r as { input: { messages: TMessage[] } }).input.messages[0].role === 'system',
    );
    expect(withSystem.length).toBe(src.filter((r) => r.conversations[0].from === 'system').length);
  });
});
