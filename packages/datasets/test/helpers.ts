import { type TCanonicalRow, type TValidateOptions, type TValidationReport, validateStream } from '../src/index';
import type { TSource } from '../src/parse/records';

/** Validates and collects the emitted canonical rows. */
export async function run(
  source: TSource,
  opts: TValidateOptions = {},
): Promise<{ report: TValidationReport; rows: TCanonicalRow[] }> {
  const rows: TCanonicalRow[] = [];
  const report = await validateStream(source, { ...opts, onRow: (r) => void rows.push(r) });
  return { report, rows };
}

export const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The problem groups of a report as {code: count}. */
export const codes = (r: TValidationReport) => Object.fromEntries(r.problems.map((p) => [p.code, p.count]));
