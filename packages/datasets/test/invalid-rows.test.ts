import { describe, expect, it } from 'vitest';
import {
  diffVersions,
  fieldChanges,
  type TCanonicalRow,
  type TInvalidRow,
  validateStream,
  withCarriedRows,
} from '../src/index';
import { jsonl } from './helpers';

const chat = (q: string, a: string): TCanonicalRow => ({
  messages: [
    { role: 'user', content: q },
    { role: 'assistant', content: a },
  ],
});

// Issue 13, item 6: invalid rows were only counted, so an edit made from the stored (valid) rows lost them.
describe('rows with errors are handed to onInvalidRow with what they held', () => {
  it('gives the line, the position among valid rows, the text and the problems of each invalid row', async () => {
    const noReply = { messages: [{ role: 'user', content: 'only a question' }] };
    const source = `${jsonl(chat('a', 'b'))}{"messages": [}\n${jsonl(noReply, chat('c', 'd'))}`;
    const invalid: TInvalidRow[] = [];
    const report = await validateStream(source, { onInvalidRow: (r) => void invalid.push(r) });
    expect(report.rows).toBe(4);
    expect(report.validRows).toBe(2);
    expect(invalid.map((r) => [r.line, r.index, r.before])).toEqual([
      [2, 1, 1],
      [3, 2, 1],
    ]);
    expect(invalid[0].text).toBe('{"messages": [}');
    expect(invalid[0].problems.map((p) => p.code)).toEqual(['invalid_json']);
    expect(JSON.parse(invalid[1].text ?? '')).toEqual(noReply);
    expect(invalid[1].problems.map((p) => p.code)).toEqual(['example_missing_assistant_message']);
  });

  it('withCarriedRows counts carried problems so the version still reports them', async () => {
    const report = await validateStream(jsonl(chat('a', 'b')));
    expect(report.ok).toBe(true);
    const merged = withCarriedRows(report, [{ problems: [{ code: 'missing_content', line: 7, field: 'x' }] }]);
    expect(merged).toMatchObject({ ok: false, errorCount: 1, rows: 2 });
    expect(merged.problems[0]).toMatchObject({ code: 'missing_content', count: 1, examples: [{ line: 7 }] });
  });
});

// Issue 13, item 7: the diff listed every changed row as whole JSON, unpaged.
describe('diffVersions pages its lists and names the fields that changed', () => {
  const a = Array.from({ length: 45 }, (_, i) => chat(`q${i}`, `a${i}`));
  const b = a.map((r, i) => (i % 2 === 0 ? chat(`q${i}`, `A${i}`) : r));

  it('returns the requested page of changed rows with totals', async () => {
    const page = await diffVersions(a, b, { offset: 20, maxListed: 20 });
    expect(page.counts).toEqual({ added: 0, removed: 0, changed: 23 });
    expect(page.changed.map((c) => c.indexB)).toEqual(Array.from({ length: 3 }, (_, k) => (20 + k) * 2));
    expect(page.changed[0].fields).toEqual([{ path: 'messages[1].content', before: 'a40', after: 'A40' }]);
    const first = await diffVersions(a, b, { maxListed: 20 });
    expect(first.changed).toHaveLength(20);
    expect(first.changed[0].indexB).toBe(0);
  });

  it('pages removed rows in row order', async () => {
    const page = await diffVersions(a, a.slice(0, 5), { offset: 10, maxListed: 5 });
    expect(page.counts.removed).toBe(40);
    expect(page.removed.map((r) => r.index)).toEqual([15, 16, 17, 18, 19]);
  });

  it('fieldChanges shows an added turn as one change and a role change as one leaf', () => {
    const before = chat('q', 'a');
    const after = {
      messages: [
        { role: 'system', content: 'q' },
        { role: 'assistant', content: 'a' },
        { role: 'user', content: 'more' },
      ],
    };
    expect(fieldChanges(before, after)).toEqual([
      { path: 'messages[0].role', before: 'user', after: 'system' },
      { path: 'messages[2]', after: { role: 'user', content: 'more' } },
    ]);
  });
});
