import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectRowFormat,
  findPlaceholders,
  readXlsxRows,
  replacePlaceholders,
  SAMPLE_JSONL,
  validateLlamaFactory,
} from '../src/index';
import { codes, jsonl, run } from './helpers';

const sys = { role: 'system', content: 'Be brief.' };
const user = { role: 'user', content: 'Hi' };
const bot = { role: 'assistant', content: 'Hello!' };

describe('OpenAI chat JSONL', () => {
  it('keeps messages, weights and tools; normalises content parts', async () => {
    const tools = [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } }];
    const { report, rows } = await run(
      jsonl(
        { messages: [sys, user, { ...bot, weight: 0 }, user, bot], tools },
        {
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'a' },
                { type: 'text', text: 'b' },
              ],
            },
            bot,
          ],
        },
        {
          messages: [
            user,
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
            },
            { role: 'tool', tool_call_id: 'c1', content: '12:00' },
            bot,
          ],
        },
      ),
    );
    expect(report).toMatchObject({
      ok: true,
      format: 'openai_chat',
      kind: 'chat',
      container: 'jsonl',
      rows: 3,
      validRows: 3,
    });
    expect(rows[0]).toEqual({ messages: [sys, user, { ...bot, weight: 0 }, user, bot], tools });
    expect(rows[1]).toEqual({ messages: [{ role: 'user', content: 'ab' }, bot] });
    expect(rows[2]).toMatchObject({
      messages: [user, { role: 'assistant', content: null }, { role: 'tool', tool_call_id: 'c1' }, bot],
    });
  });

  it('reads a .json array of the same rows', async () => {
    const { report, rows } = await run(
      JSON.stringify([{ messages: [user, bot] }, { messages: [sys, user, bot] }], null, 2),
      {
        fileName: 'x.json',
      },
    );
    expect(report).toMatchObject({ ok: true, container: 'json', rows: 2, validRows: 2 });
    expect(rows[1]).toEqual({ messages: [sys, user, bot] });
  });

  it('reads a web ReadableStream (a Request body in the console)', async () => {
    const body = new Blob([jsonl({ messages: [user, bot] }, { messages: [sys, user, bot] })]).stream();
    const { report, rows } = await run(body);
    expect(report).toMatchObject({ ok: true, rows: 2 });
    expect(rows[1]).toEqual({ messages: [sys, user, bot] });
  });

  it('reads JSONL with CRLF line ends, blank lines and a byte order mark', async () => {
    const text = `\uFEFF${JSON.stringify({ messages: [user, bot] })}\r\n\r\n${JSON.stringify({ messages: [user, bot] })}\r\n`;
    const { report } = await run(text);
    expect(report).toMatchObject({ ok: true, rows: 2, validRows: 2 });
    expect(codes(report)).toEqual({ duplicate_row: 1 });
  });
});

describe('preference pairs', () => {
  it('OpenAI DPO rows pass through', async () => {
    const row = {
      input: { messages: [user] },
      preferred_output: [bot],
      non_preferred_output: [{ role: 'assistant', content: 'Go away.' }],
    };
    const { report, rows } = await run(jsonl(row));
    expect(report).toMatchObject({ ok: true, format: 'openai_preference', kind: 'preference' });
    expect(rows[0]).toEqual(row);
  });

  it('LLaMA-Factory sharegpt chosen/rejected become OpenAI DPO rows', async () => {
    const { report, rows } = await run(
      jsonl({
        conversations: [
          { from: 'system', value: 'S' },
          { from: 'human', value: 'Q' },
        ],
        chosen: { from: 'gpt', value: 'good' },
        rejected: { from: 'gpt', value: 'bad' },
      }),
    );
    expect(report).toMatchObject({ ok: true, format: 'sharegpt_preference', kind: 'preference' });
    expect(rows[0]).toEqual({
      input: {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q' },
        ],
      },
      preferred_output: [{ role: 'assistant', content: 'good' }],
      non_preferred_output: [{ role: 'assistant', content: 'bad' }],
    });
  });

  it('LLaMA-Factory alpaca chosen/rejected strings', async () => {
    const { report, rows } = await run(jsonl({ instruction: 'Q', input: 'ctx', chosen: 'good', rejected: 'bad' }));
    expect(report).toMatchObject({ ok: true, format: 'alpaca_preference' });
    expect(rows[0]).toEqual({
      input: { messages: [{ role: 'user', content: 'Q\nctx' }] },
      preferred_output: [{ role: 'assistant', content: 'good' }],
      non_preferred_output: [{ role: 'assistant', content: 'bad' }],
    });
  });
});

describe('alpaca', () => {
  it('instruction + input join with a newline; system and history become turns', async () => {
    const { report, rows } = await run(
      jsonl({
        instruction: 'Translate',
        input: 'chat',
        output: 'gato? no: chat',
        system: 'S',
        history: [['q1', 'a1']],
      }),
    );
    expect(report).toMatchObject({ ok: true, format: 'alpaca', kind: 'chat' });
    expect(rows[0]).toEqual({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: 'Translate\nchat' },
        { role: 'assistant', content: 'gato? no: chat' },
      ],
    });
  });
});

describe('sharegpt', () => {
  it('function_call and observation turns become tool_calls and tool turns; tools JSON string becomes OpenAI tools', async () => {
    const { report, rows } = await run(
      jsonl({
        conversations: [
          { from: 'human', value: 'Weather in Paris?' },
          { from: 'function_call', value: '{"name": "weather", "arguments": {"city": "Paris"}}' },
          { from: 'observation', value: '{"temp": 21}' },
          { from: 'gpt', value: 'It is 21 degrees.' },
        ],
        tools: '[{"name": "weather", "description": "Weather now", "parameters": {"type": "object"}}]',
      }),
    );
    expect(report).toMatchObject({ ok: true, format: 'sharegpt' });
    expect(rows[0]).toEqual({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1_0', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', content: '{"temp": 21}', tool_call_id: 'call_1_0' },
        { role: 'assistant', content: 'It is 21 degrees.' },
      ],
      tools: [
        { type: 'function', function: { name: 'weather', description: 'Weather now', parameters: { type: 'object' } } },
      ],
    });
  });

  it('sharegpt written with role/content keys', async () => {
    const { report, rows } = await run(jsonl({ conversations: [user, bot] }));
    expect(report.ok).toBe(true);
    expect(rows[0]).toEqual({ messages: [user, bot] });
  });

  it('KTO rows keep their label', async () => {
    const { report, rows } = await run(jsonl({ messages: [user, bot], label: false }));
    expect(report).toMatchObject({ ok: true, format: 'kto', kind: 'chat' });
    expect(rows[0]).toEqual({ messages: [user, bot], label: false });
  });
});

describe('text, CSV, XLSX', () => {
  it('raw text rows', async () => {
    const { report, rows } = await run(jsonl({ text: 'Once upon a time' }));
    expect(report).toMatchObject({ ok: true, format: 'text', kind: 'text' });
    expect(rows).toEqual([{ text: 'Once upon a time' }]);
  });

  it('legacy prompt/completion JSONL', async () => {
    const { rows, report } = await run(jsonl({ prompt: 'Q', completion: 'A' }));
    expect(report.format).toBe('openai_prompt_completion');
    expect(rows).toEqual([
      {
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    ]);
  });

  it('CSV with prompt/response columns, quoted commas, quotes and newlines, line numbers of records', async () => {
    const csv = 'Prompt,Response,System\r\n"Hi, there","He said ""yo""\nthen left",S\nQ2,A2,\n';
    const { report, rows } = await run(csv, { fileName: 'data.csv' });
    expect(report).toMatchObject({ ok: true, container: 'csv', format: 'openai_prompt_completion', rows: 2 });
    expect(rows).toEqual([
      {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Hi, there' },
          { role: 'assistant', content: 'He said "yo"\nthen left' },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'Q2' },
          { role: 'assistant', content: 'A2' },
        ],
      },
    ]);
    const bad = await run('prompt,response\nQ,\n', { fileName: 'x.csv' });
    expect(bad.report.problems[0].examples[0]).toMatchObject({ code: 'missing_content', line: 2, field: 'response' });
  });

  it('TSV and question/answer headers', async () => {
    const { rows } = await run('question\tanswer\nQ\tA\n', { fileName: 'x.tsv' });
    expect(rows).toEqual([
      {
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    ]);
  });

  it('XLSX written by another zip implementation (Python zipfile): shared, rich and inline strings', async () => {
    const buf = readFileSync(join(import.meta.dirname, 'fixtures/prompts.xlsx'));
    expect(readXlsxRows(buf, 1 << 20)).toEqual([
      { row: 1, cells: ['Prompt', '', 'Response'] },
      { row: 2, cells: ['What is 2 & 2?', '', 'It is 4 <four>.'] },
      { row: 4, cells: ['Say hi in Chinese', '', '你好 😀'] },
      { row: 5, cells: ['42', '', 'forty-two'] },
    ]);
    const { report, rows } = await run(buf, { fileName: 'prompts.xlsx' });
    expect(report).toMatchObject({ ok: true, container: 'xlsx', rows: 3, validRows: 3 });
    expect(rows[0]).toEqual({
      messages: [
        { role: 'user', content: 'What is 2 & 2?' },
        { role: 'assistant', content: 'It is 4 <four>.' },
      ],
    });
  });
});

describe('detection', () => {
  it('names each format and prefers the more specific rule', () => {
    expect(detectRowFormat({ conversations: [], chosen: {}, rejected: {} }).formats).toEqual(['sharegpt_preference']);
    expect(detectRowFormat({ messages: [], label: true }).formats).toEqual(['kto']);
    expect(detectRowFormat({ instruction: 'a', input: '', output: 'b' }).formats).toEqual(['alpaca']);
    expect(detectRowFormat({ foo: 1 })).toMatchObject({ formats: [] });
    const amb = detectRowFormat({ text: 'x', messages: [] });
    expect(amb.formats.sort()).toEqual(['openai_chat', 'text']);
    expect(amb.reason).toContain('openai_chat');
  });
});

describe('placeholders', () => {
  it('finds {{name}}-style placeholders and replaces only mapped ones', () => {
    const rows = [{ output: 'I am {{name}} by {{ author }}; {{name}} again; {{unknown}}' }];
    expect(Object.fromEntries(findPlaceholders(rows))).toEqual({ name: 2, author: 1, unknown: 1 });
    expect(replacePlaceholders(rows, { name: 'Crux', author: 'ACME' })).toEqual([
      { output: 'I am Crux by ACME; Crux again; {{unknown}}' },
    ]);
  });

  it('replaces at import, before conversion, and reports what was found and what is left', async () => {
    const src = JSON.stringify([{ instruction: 'who?', input: '', output: 'I am {{name}} by {{author}}.' }]);
    const { report, rows } = await run(src, { placeholders: { name: 'Crux' } });
    expect(report.placeholders).toEqual({ name: 1, author: 1 });
    expect(report.unreplacedPlaceholders).toEqual({ author: 1 });
    expect(codes(report)).toEqual({ unreplaced_placeholder: 1 });
    expect(rows[0]).toMatchObject({ messages: [{ content: 'who?' }, { content: 'I am Crux by {{author}}.' }] });
  });
});

describe('dataset_info.json + data file', () => {
  it('columns and tags mapping (sharegpt with custom tags, system column, kto_tag)', async () => {
    const info = {
      mine: {
        file_name: 'mine.json',
        formatting: 'sharegpt',
        columns: { messages: 'dialog', system: 'sys', kto_tag: 'ok' },
        tags: { role_tag: 'who', content_tag: 'text', user_tag: 'me', assistant_tag: 'ai' },
      },
    };
    const data = JSON.stringify([
      {
        dialog: [
          { who: 'me', text: 'Q' },
          { who: 'ai', text: 'A' },
        ],
        sys: 'S',
        ok: true,
      },
    ]);
    const r = await validateLlamaFactory({ datasetInfo: JSON.stringify(info), fileName: 'uploads/mine.json' }, data);
    expect(r).toMatchObject({ ok: true, format: 'llamafactory', validRows: 1 });
    const rows: unknown[] = [];
    await validateLlamaFactory({ datasetInfo: info, fileName: 'x', name: 'mine' }, data, {
      onRow: (row) => void rows.push(row),
    });
    expect(rows).toEqual([
      {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
        label: true,
      },
    ]);
  });

  it('alpaca with a renamed prompt column and no response reads as pre-training text (c4_demo)', async () => {
    const info = { c4: { file_name: 'c4.jsonl', columns: { prompt: 'body' } } };
    const rows: unknown[] = [];
    const r = await validateLlamaFactory({ datasetInfo: info, fileName: 'c4.jsonl' }, jsonl({ body: 'x' }), {
      onRow: (row) => void rows.push(row),
    });
    expect(r).toMatchObject({ ok: true, kind: 'text' });
    expect(rows).toEqual([{ text: 'x' }]);
  });

  it('a dataset_info that does not describe the file is an error, as is a hub-only entry', async () => {
    const r = await validateLlamaFactory({ datasetInfo: { a: { file_name: 'a.json' } }, fileName: 'b.json' }, '[]');
    expect(r).toMatchObject({ error: { code: 'dataset_not_in_info' } });
    const hub = await validateLlamaFactory(
      { datasetInfo: { h: { hf_hub_url: 'x/y' } }, fileName: 'h', name: 'h' },
      '[]',
    );
    expect(hub).toMatchObject({ error: { code: 'invalid_dataset_info' } });
    expect(await validateLlamaFactory({ datasetInfo: '{not json', fileName: 'a' }, '[]')).toMatchObject({
      error: { code: 'invalid_dataset_info' },
    });
  });
});

/** A zip of stored (uncompressed) entries, enough for the XLSX reader (which does not check CRCs). */
function storedZip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const n = Buffer.from(name);
    const data = Buffer.from(text);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('hostile XLSX', () => {
  it('a column past XFD is cut, an unclosed row ends the sheet, and neither hangs nor allocates without bound', async () => {
    const sheet = `<worksheet><sheetData>
      <row r="1"><c r="A1" t="inlineStr"><is><t>prompt</t></is></c><c r="B1" t="inlineStr"><is><t>response</t></is></c></row>
      <row r="2"><c r="A2" t="inlineStr"><is><t>Q</t></is></c><c r="B2" t="inlineStr"><is><t>A</t></is></c><c r="ZZZZZZZ2"><v>1</v></c></row>
      ${'<row r="3"><c r="A3"><v>x</v></c>'.repeat(20_000)}
    </sheetData></worksheet>`;
    const t = performance.now();
    const { report, rows } = await run(storedZip({ 'xl/worksheets/sheet1.xml': sheet }), { fileName: 'h.xlsx' });
    expect(performance.now() - t).toBeLessThan(5_000);
    expect(rows).toEqual([
      {
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    ]);
    expect(report).toMatchObject({ container: 'xlsx', rows: 1, ok: true });
  });
});

describe('SAMPLE_JSONL', () => {
  it('is valid, problem-free, and round-trips unchanged', async () => {
    const { report, rows } = await run(SAMPLE_JSONL);
    expect(report).toMatchObject({
      ok: true,
      rows: 3,
      validRows: 3,
      errorCount: 0,
      warningCount: 0,
      format: 'openai_chat',
    });
    expect(rows.map((r) => JSON.stringify(r)).join('\n') + '\n').toBe(SAMPLE_JSONL);
  });
});
