import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TContainer, type TValidationReport, validateStream } from '../src/index';
import { jsonRecords, openSource } from '../src/parse/records';
import { run } from './helpers';

// The parser must answer every input with a report, never an exception, and the report must not depend on how
// the bytes were cut into chunks (the stream may deliver them any way).

const RUNS = { numRuns: 150 };

function invariants(r: TValidationReport) {
  expect(r.validRows).toBeLessThanOrEqual(r.rows);
  const total = r.problems.reduce((n, p) => n + p.count, 0);
  expect(r.errorCount + r.warningCount).toBe(total);
  expect(r.ok).toBe(r.errorCount === 0);
  for (const p of r.problems) {
    expect(p.examples.length).toBeLessThanOrEqual(Math.min(p.count, r.limits.maxExamplesPerCode));
    for (const e of p.examples) expect(e.line).toBeGreaterThanOrEqual(1);
  }
  if (r.rows === 0 && !r.truncated) expect(r.ok).toBe(false);
}

/** Splits bytes at the given cut points (chunks may be empty). */
function* chunked(bytes: Uint8Array, cuts: number[]) {
  let at = 0;
  for (const c of [...cuts].map((x) => x % (bytes.length + 1)).sort((a, b) => a - b)) {
    yield bytes.subarray(at, Math.max(at, c));
    at = Math.max(at, c);
  }
  yield bytes.subarray(at);
}

const message = fc.record({
  role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'bot', 5),
  content: fc.oneof(fc.string(), fc.constant(''), fc.constant(null), fc.integer()),
});
const chatRow = fc.oneof(
  fc.record({ messages: fc.array(message, { maxLength: 4 }) }),
  fc.record({ instruction: fc.string(), input: fc.string(), output: fc.oneof(fc.string(), fc.constant(null)) }),
  fc.record({ text: fc.oneof(fc.string(), fc.integer()) }),
  fc.record({
    conversations: fc.array(
      fc.record({ from: fc.constantFrom('human', 'gpt', 'function_call', 'observation', 'x'), value: fc.string() }),
      { maxLength: 4 },
    ),
  }),
  fc.jsonValue(),
);

const containers: (TContainer | undefined)[] = [undefined, 'jsonl', 'json', 'csv', 'xlsx'];

describe('never an exception', () => {
  it('arbitrary bytes, read as every container', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(...containers), async (bytes, container) => {
        const { report } = await run(bytes, { container });
        invariants(report);
      }),
      RUNS,
    );
  });

  it('broken JSON: valid-looking rows with characters deleted, inserted or the file cut short', async () => {
    const edit = fc.record({
      at: fc.nat(),
      del: fc.nat({ max: 5 }),
      ins: fc.constantFrom('', '{', '}', '[', ']', '"', ',', '\\', '\n', '\u00e9', ':'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(chatRow, { maxLength: 6 }),
        fc.boolean(),
        fc.array(edit, { maxLength: 4 }),
        async (rows, asArray, edits) => {
          let text = asArray ? JSON.stringify(rows, null, 1) : rows.map((r) => JSON.stringify(r)).join('\n');
          for (const e of edits) {
            const at = e.at % (text.length + 1);
            text = text.slice(0, at) + e.ins + text.slice(at + e.del);
          }
          const { report } = await run(text);
          invariants(report);
        },
      ),
      RUNS,
    );
  });

  it('tiny limits do not break the report', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(chatRow, { maxLength: 5 }),
        fc.record({
          maxBytes: fc.integer({ min: 1, max: 300 }),
          maxRows: fc.integer({ min: 1, max: 4 }),
          maxRowBytes: fc.integer({ min: 1, max: 100 }),
        }),
        async (rows, limits) => {
          const { report } = await run(rows.map((r) => JSON.stringify(r)).join('\n'), limits);
          invariants(report);
          expect(report.bytes).toBeLessThanOrEqual(limits.maxBytes);
          expect(report.rows).toBeLessThanOrEqual(limits.maxRows);
        },
      ),
      RUNS,
    );
  });
});

describe('streaming does not depend on chunk boundaries', () => {
  it('the same bytes in any chunking give the same report and rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(chatRow, { maxLength: 6 }),
        fc.constantFrom('jsonl', 'json', 'csv'),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (rows, container, cuts) => {
          const text =
            container === 'json'
              ? JSON.stringify(rows, null, 1)
              : container === 'csv'
                ? `prompt,response\n${rows.map((r) => `"${JSON.stringify(r).replaceAll('"', '""')}",x`).join('\n')}`
                : rows.map((r) => JSON.stringify(r)).join('\n');
          const bytes = new TextEncoder().encode(text);
          const whole = await run(bytes, { container: container as TContainer });
          const parts = await run(chunked(bytes, cuts), { container: container as TContainer });
          expect(parts.report).toEqual(whole.report);
          expect(parts.rows).toEqual(whole.rows);
        },
      ),
      RUNS,
    );
  });

  it('the JSON array scanner yields exactly what JSON.parse sees, whatever the whitespace and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.nat({ max: 3 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (values, indent, cuts) => {
          const text = JSON.stringify(values, null, indent);
          const bytes = new TextEncoder().encode(text);
          const { chunks } = await openSource(
            chunked(bytes, cuts),
            { maxBytes: 1 << 30, maxRowBytes: 1 << 30 },
            { container: 'json' },
          );
          const got: unknown[] = [];
          for await (const r of jsonRecords('json', chunks, 1 << 30)) {
            expect(r.kind).toBe('value');
            if (r.kind === 'value') got.push(r.value);
          }
          expect(got).toEqual(JSON.parse(text));
        },
      ),
      RUNS,
    );
  });
});

describe('valid rows round-trip', () => {
  const text = fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !s.includes('{{'));
  const validChat = fc.record({
    messages: fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 3 }).map((pairs) =>
      pairs.flatMap(([u, a]) => [
        { role: 'user', content: u },
        { role: 'assistant', content: a },
      ]),
    ),
  });
  it('OpenAI chat rows come back unchanged, from JSONL and from a .json array', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(validChat, { maxLength: 6, selector: (r) => JSON.stringify(r) }),
        fc.boolean(),
        async (rows, asArray) => {
          const src = asArray ? JSON.stringify(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
          const out = await run(src);
          expect(out.rows).toEqual(rows);
          expect(out.report.ok).toBe(rows.length > 0);
          expect(out.report.problems.map((p) => p.code)).toEqual(rows.length > 0 ? [] : ['empty_file']);
        },
      ),
      RUNS,
    );
  });
});

it("a source stream that fails is the caller's error and propagates", async () => {
  async function* failing() {
    yield new TextEncoder().encode('{"text": "a"}\n');
    throw new Error('network gone');
  }
  await expect(validateStream(failing())).rejects.toThrow('network gone');
});
