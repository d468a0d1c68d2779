import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// A 50 MB upload validates in bounded memory. The validation runs in a child process with a forced GC before
// each measurement, so the number is live memory, not garbage waiting to be collected, and with an old-space
// cap below what holding the file as a JS string would need (~100 MB of UTF-16 for 50 MB of text).
//
// Written bound: live memory may grow by at most 16 MB while validating a 50 MB file (one row at a time, a
// chunk of 256 KB, a Set of ~50k row hashes; all well under 16 MB; loading the file whole would be >= 50 MB).

const MB = 1024 * 1024;
const BOUND = 16 * MB;
const dir = mkdtempSync(join(tmpdir(), 'crucible-datasets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes ~`size` bytes of unique chat rows; every 1000th row is broken JSON (in an array, one whose quotes and
 * brackets still balance: an unbalanced quote turns the rest of an array into one runaway element, which the
 * scanner can only report, capped at maxRowBytes; see errors.test.ts). Returns the counts written.
 */
async function writeFile(path: string, size: number, asArray: boolean): Promise<{ rows: number; broken: number }> {
  const out = createWriteStream(path);
  const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(16);
  let bytes = 0;
  let rows = 0;
  let broken = 0;
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  if (asArray) await write('[\n');
  while (bytes < size) {
    const row =
      rows % 1000 === 999
        ? asArray
          ? '{"messages": oops}'
          : '{"messages": [{"role": "user", "content": "cut short'
        : JSON.stringify({
            messages: [
              { role: 'user', content: `Question ${rows}: ${filler}` },
              { role: 'assistant', content: `Answer ${rows}.` },
            ],
          });
    if (rows % 1000 === 999) broken++;
    const line = (asArray && rows > 0 ? ',\n' : '') + row + (asArray ? '' : '\n');
    await write(line);
    bytes += line.length;
    rows++;
  }
  if (asArray) await write('\n]\n');
  await new Promise<void>((r) => out.end(() => r()));
  return { rows, broken };
}

function measure(file: string) {
  const script = join(import.meta.dirname, 'fixtures/measure-memory.ts');
  const stdout = execFileSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=96', '--import', 'tsx', script, file],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
  console.info(
    `${file}: ${(r.bytes / MB).toFixed(1)} MB, ${r.rows} rows in ${r.ms} ms; live memory grew ${(r.peakGrowth / MB).toFixed(2)} MB`,
  );
  return r;
}

describe('50 MB uploads in bounded memory', () => {
  it('JSONL, line by line', async () => {
    const file = join(dir, 'big.jsonl');
    const { rows, broken } = await writeFile(file, 50 * MB, false);
    const r = measure(file);
    expect(r.bytes).toBeGreaterThanOrEqual(50 * MB);
    expect(r).toMatchObject({
      rows,
      validRows: rows - broken,
      emitted: rows - broken,
      codes: { invalid_json: broken },
    });
    expect(r.peakGrowth).toBeLessThan(BOUND);
  });

  it('a .json array, element by element', async () => {
    const file = join(dir, 'big.json');
    const { rows, broken } = await writeFile(file, 50 * MB, true);
    const r = measure(file);
    expect(r.bytes).toBeGreaterThanOrEqual(50 * MB);
    expect(r).toMatchObject({
      rows,
      validRows: rows - broken,
      emitted: rows - broken,
      codes: { invalid_json: broken },
    });
    expect(r.peakGrowth).toBeLessThan(BOUND);
  });
});
