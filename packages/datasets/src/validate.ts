import { Readable } from 'node:stream';
import { detail } from './details';
import { convertRow, detectRowFormat } from './formats/detect';
import { isObj, type TIssue } from './formats/issues';
import type { TDatasetAttr } from './formats/llamafactory';
import { createHashSet, rowHash } from './hashset';
import { jsonRecords, openSource, type TRecord, type TSource } from './parse/records';
import { csvRecords, xlsxRecords } from './parse/table';
import { findPlaceholders, replacePlaceholders } from './placeholders';
import { PROBLEMS, severityOf, type TProblem, type TProblemCode, type TProblemGroup } from './problems';
import { renderChatML } from './render';
import {
  canonicalKind,
  type TCanonicalKind,
  type TCanonicalRow,
  type TContainer,
  type TPreferenceRow,
  type TSourceFormat,
} from './types';

// Streaming validation: reads an upload once, with memory bounded by the limits below (one row at a time, a
// bounded set of row hashes, the first few examples per problem code), converts every readable row to the
// canonical form, and never throws on bad input: every problem is a code with a line, a field and a sentence.

export type TValidationLimits = {
  /** Bytes read at most; the rest of the file is not read and `file_too_large` is reported. */
  maxBytes: number;
  /** Rows read at most; then `too_many_rows`. */
  maxRows: number;
  /** One row's bytes at most (a JSONL line, a JSON array element, a CSV record); then `row_too_large`. */
  maxRowBytes: number;
  /** Tokens of one row (ChatML-rendered, see renderChatML) at most; checked only when a tokenizer is given. */
  maxTokensPerRow: number;
  /** Examples kept per problem code in the report. */
  maxExamplesPerCode: number;
  /**
   * Distinct rows remembered for duplicate_row (8-16 bytes each: the default costs at most 16 MB); past it,
   * duplicates are no longer looked for and the report says so.
   */
  maxDuplicateHashes: number;
  /** Lists/objects nested inside one row at most (real rows need a handful; JSON schemas of tools a few more). */
  maxNesting: number;
  /** XLSX files are read whole (a zip's directory is at its end), so they have their own, smaller size limit. */
  maxXlsxBytes: number;
};

export const VALIDATION_DEFAULTS: Readonly<TValidationLimits> = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  maxRows: 5_000_000,
  maxRowBytes: 8 * 1024 * 1024,
  maxTokensPerRow: 32_768,
  maxExamplesPerCode: 5,
  maxDuplicateHashes: 1_000_000,
  maxNesting: 64,
  maxXlsxBytes: 32 * 1024 * 1024,
} satisfies TValidationLimits);

export type TRowInfo = { line: number; index: number };

/** A row that was not emitted because it has errors: where it was, what it held, and every problem found in it. */
export type TInvalidRow = {
  /** 1-based line the row starts on; `index`: 0-based among all rows read (valid or not). */
  line: number;
  index: number;
  /** Valid rows before it: where it sits among the emitted rows (a fixed row goes back there). */
  before: number;
  /**
   * The row as read, as JSON text of the parsed value (before placeholders were replaced) or the raw text of a row
   * that is not JSON; null when it could not be kept (not UTF-8, or over the per-row byte limit).
   */
  text: string | null;
  problems: TProblem[];
};

export type TValidateOptions = Partial<TValidationLimits> & {
  /** The upload's file name: its extension helps tell CSV from JSONL. */
  fileName?: string;
  /** Skip sniffing and read the bytes as this container. */
  container?: TContainer;
  /** Read every row as this format instead of detecting it. */
  format?: Exclude<TSourceFormat, 'llamafactory'>;
  /** Read rows as LLaMA-Factory does through this dataset_info.json entry (see parseDatasetInfo). */
  datasetAttr?: TDatasetAttr;
  /** `{{key}}` placeholders to replace in every row before it is converted (identity.json's name/author). */
  placeholders?: Readonly<Record<string, string>>;
  /** Token ids of a text, for too_many_tokens (e.g. a Hugging Face tokenizer's encode). */
  tokenize?: (text: string) => ArrayLike<number>;
  /** Called with each valid canonical row, in file order; awaited (backpressure for a writer). */
  onRow?: (row: TCanonicalRow, info: TRowInfo) => void | Promise<void>;
  /** Called with each row that has errors (and so is not emitted), in file order; awaited. */
  onInvalidRow?: (row: TInvalidRow) => void | Promise<void>;
  /** Called about every 1000 rows and at the end. */
  onProgress?: (p: { bytes: number; rows: number }) => void;
  /** Stops reading: validateStream rejects with the signal's reason (a cancelled upload is not a bad file). */
  signal?: AbortSignal;
};

export type TValidationReport = {
  /** No error-severity problems: the file can be published as is (warnings allowed). */
  ok: boolean;
  container: TContainer;
  /** The source format (the first clearly recognised row's), or null when no row was recognised. */
  format: TSourceFormat | null;
  /** What the canonical rows are: chat (SFT/KTO), preference (DPO) or text (pre-training). */
  kind: TCanonicalKind | null;
  bytes: number;
  /** Rows read: parsed values plus rows that could not be parsed. */
  rows: number;
  /** Rows converted without error (these are the rows emitted). */
  validRows: number;
  errorCount: number;
  warningCount: number;
  /** Grouped by code, errors first, then by count. */
  problems: TProblemGroup[];
  /** Placeholders found in the file before replacement, with counts (offer these for replacement). */
  placeholders: Record<string, number>;
  /** Placeholders still in the converted rows (no value given). */
  unreplacedPlaceholders: Record<string, number>;
  /** Reading stopped at a limit (file_too_large, too_many_rows). */
  truncated: boolean;
  /** False when there were more distinct rows than maxDuplicateHashes, so later duplicates went unnoticed. */
  duplicateCheckComplete: boolean;
  limits: TValidationLimits;
};

/**
 * A preference pair teaches something only when both answers have text and differ (issue 15): a blank answer
 * (whitespace only; an empty string is already `missing_content`) and a rejected answer equal to the chosen one are
 * refused at import, naming the field, rather than when a job runs.
 */
function checkPair(row: TPreferenceRow, problem: (i: TIssue) => void): boolean {
  let ok = true;
  for (const field of ['preferred_output', 'non_preferred_output'] as const) {
    for (const [i, m] of row[field].entries()) {
      if (m.role === 'assistant' && typeof m.content === 'string' && !m.content.trim() && !m.tool_calls?.length) {
        problem({ code: 'missing_content', field: `${field}[${i}].content`, detail: JSON.stringify(m.content) });
        ok = false;
      }
    }
  }
  if (ok && JSON.stringify(row.preferred_output) === JSON.stringify(row.non_preferred_output)) {
    problem({ code: 'identical_preference_outputs', field: 'non_preferred_output' });
    ok = false;
  }
  return ok;
}

/** Whether a JSON value nests lists/objects deeper than `max` (iterative: the check itself must not overflow). */
function nestedDeeper(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) return true;
    for (const y of Array.isArray(x) ? x : Object.values(x))
      if (y !== null && typeof y === 'object') stack.push([y, d + 1]);
  }
  return false;
}

function safeStringify(v: unknown): string | null {
  try {
    return JSON.stringify(v) ?? null;
  } catch {
    return null;
  }
}

/** Problems grouped by code: counts, and the first `maxExamples` of each in file order. */
function problemLog(maxExamples: number) {
  const groups = new Map<TProblemCode, TProblemGroup>();
  return {
    has: (code: TProblemCode) => groups.has(code),
    /** `example: false` counts the problem without keeping it as an example. */
    add(p: TProblem, example = true) {
      let g = groups.get(p.code);
      if (!g) {
        g = { code: p.code, severity: severityOf(p.code), count: 0, message: PROBLEMS[p.code].message, examples: [] };
        groups.set(p.code, g);
      }
      g.count++;
      if (example && g.examples.length < maxExamples) g.examples.push(p);
    },
    count(sev: 'error' | 'warning') {
      let n = 0;
      for (const g of groups.values()) if (g.severity === sev) n += g.count;
      return n;
    },
    /** Errors first, then by count. */
    list: (): TProblemGroup[] =>
      [...groups.values()].sort((a, b) =>
        a.severity === b.severity ? b.count - a.count : a.severity === 'error' ? -1 : 1,
      ),
  };
}

/**
 * Validates (and converts) an upload. Never throws for anything in the bytes; a throwing `onRow` or a failing
 * source stream does propagate (those are the caller's).
 */
export async function validateStream(source: TSource, opts: TValidateOptions = {}): Promise<TValidationReport> {
  const limits: TValidationLimits = {
    maxBytes: opts.maxBytes ?? VALIDATION_DEFAULTS.maxBytes,
    maxRows: opts.maxRows ?? VALIDATION_DEFAULTS.maxRows,
    maxRowBytes: opts.maxRowBytes ?? VALIDATION_DEFAULTS.maxRowBytes,
    maxTokensPerRow: opts.maxTokensPerRow ?? VALIDATION_DEFAULTS.maxTokensPerRow,
    maxExamplesPerCode: opts.maxExamplesPerCode ?? VALIDATION_DEFAULTS.maxExamplesPerCode,
    maxDuplicateHashes: opts.maxDuplicateHashes ?? VALIDATION_DEFAULTS.maxDuplicateHashes,
    maxNesting: opts.maxNesting ?? VALIDATION_DEFAULTS.maxNesting,
    maxXlsxBytes: opts.maxXlsxBytes ?? VALIDATION_DEFAULTS.maxXlsxBytes,
  };
  const log = problemLog(limits.maxExamplesPerCode);
  const { container, chunks, state } = await openSource(source, limits, opts);

  const records: AsyncIterable<TRecord> =
    container === 'csv'
      ? csvRecords(chunks, limits.maxRowBytes)
      : container === 'xlsx'
        ? xlsxRecords(chunks, Math.min(limits.maxXlsxBytes, limits.maxBytes), state)
        : jsonRecords(container, chunks, limits.maxRowBytes);

  const placeholders = new Map<string, number>();
  const unreplaced = new Map<string, number>();
  const hashes = createHashSet();
  let duplicateCheckComplete = true;
  let fileFormat: TSourceFormat | null = opts.datasetAttr ? 'llamafactory' : (opts.format ?? null);
  let kind: TCanonicalKind | null = null;
  let rows = 0;
  let validRows = 0;
  let truncated = false;
  let lastLine = 1;

  /** Checks and converts one parsed row; problems go to `problem`, the canonical row comes back if valid. */
  const checkRow = (raw: unknown, problem: (i: TIssue) => void): TCanonicalRow | undefined => {
    if (!isObj(raw)) {
      problem({
        code: 'data_type',
        ...detail('row_not_object', { kind: Array.isArray(raw) ? 'list' : raw === null ? 'null' : typeof raw }),
      });
      return undefined;
    }
    // Everything below walks rows recursively: a bound on nesting keeps a hostile row from overflowing the stack.
    if (nestedDeeper(raw, limits.maxNesting)) {
      problem({ code: 'too_deeply_nested', ...detail('more_levels', { n: limits.maxNesting }) });
      return undefined;
    }
    findPlaceholders(raw, placeholders);
    const value = opts.placeholders ? replacePlaceholders(raw, opts.placeholders) : raw;

    // Which format: fixed by the caller, else detected; the first clear row fixes the file's format.
    let format: TSourceFormat;
    if (opts.datasetAttr) format = 'llamafactory';
    else if (opts.format) format = opts.format;
    else {
      const d = detectRowFormat(value);
      if (d.formats.length > 1) {
        problem({ code: 'ambiguous_format', detail: d.reason });
        return undefined;
      }
      if (d.formats.length === 0) {
        if (!fileFormat) {
          problem({ code: 'unknown_format', detail: d.reason });
          return undefined;
        }
        format = fileFormat; // read it as the file's format, to name what is missing
      } else format = d.formats[0];
      if (!fileFormat) fileFormat = format;
      else if (format !== fileFormat) {
        problem({ code: 'mixed_formats', ...detail('format_differs', { row: format, file: fileFormat }) });
        return undefined;
      }
    }

    const converted = convertRow(value, format, opts.datasetAttr);
    for (const i of converted.issues) problem(i);
    const row = converted.row;
    if (!row || converted.issues.some((i) => severityOf(i.code) === 'error')) return undefined;

    const k = canonicalKind(row);
    if (!kind) kind = k;
    else if (k !== kind) {
      problem({ code: 'mixed_formats', ...detail('kind_differs', { row: k, file: kind }) });
      return undefined;
    }
    if (k === 'preference' && !checkPair(row as TPreferenceRow, problem)) return undefined;
    if (opts.tokenize) {
      const n = opts.tokenize(renderChatML(row)).length;
      if (n > limits.maxTokensPerRow) {
        problem({ code: 'too_many_tokens', ...detail('tokens_over', { n, limit: limits.maxTokensPerRow }) });
        return undefined;
      }
    }
    const json = JSON.stringify(row);
    const h = rowHash(json);
    if (hashes.has(h)) problem({ code: 'duplicate_row' });
    else if (hashes.size < limits.maxDuplicateHashes) hashes.add(h);
    else duplicateCheckComplete = false;
    if (json.includes('{{')) {
      const left = findPlaceholders(row);
      if (left.size > 0) {
        for (const [n, c] of left) unreplaced.set(n, (unreplaced.get(n) ?? 0) + c);
        problem({ code: 'unreplaced_placeholder', detail: [...left.keys()].map((n) => `{{${n}}}`).join(', ') });
      }
    }
    return row;
  };

  for await (const rec of records) {
    opts.signal?.throwIfAborted();
    lastLine = rec.line;
    if (rec.kind === 'problem' && rec.fileLevel) {
      log.add({ code: rec.code, line: rec.line, detail: rec.detail, detailCode: rec.detailCode, params: rec.params });
      continue;
    }
    if (rows >= limits.maxRows) {
      truncated = true;
      log.add({ code: 'too_many_rows', line: rec.line, ...detail('more_rows', { n: limits.maxRows }) });
      break;
    }
    const index = rows++;
    if (rows % 1000 === 0) opts.onProgress?.({ bytes: state.bytes, rows });
    const invalid = (text: string | null, problems: TProblem[]) =>
      opts.onInvalidRow?.({ line: rec.line, index, before: validRows, text, problems });
    if (rec.kind === 'problem') {
      const p: TProblem = {
        code: rec.code,
        line: rec.line,
        row: index,
        detail: rec.detail,
        detailCode: rec.detailCode,
        params: rec.params,
      };
      log.add(p);
      await invalid(rec.text ?? null, [p]);
      continue;
    }
    const found: TProblem[] = [];
    const problem = (i: TIssue) => {
      const p: TProblem = { ...i, line: rec.line, row: index };
      found.push(p);
      log.add(p);
    };
    let row: TCanonicalRow | undefined;
    try {
      row = checkRow(rec.value, problem);
    } catch (e) {
      // A safety net: nothing in a row may crash the upload. Known causes are checked above; anything else is
      // reported with its message so it can be fixed (and becomes a regression test).
      problem({ code: 'unreadable_row', detail: (e as Error)?.message?.slice(0, 200) });
    }
    if (!row) {
      await invalid(safeStringify(rec.value), found);
      continue;
    }
    validRows++;
    if (opts.onRow) await opts.onRow(row, { line: rec.line, index });
  }

  if (state.tooLarge) {
    truncated = true;
    log.add({
      code: 'file_too_large',
      line: lastLine,
      ...detail('more_bytes', {
        n: container === 'xlsx' ? Math.min(limits.maxXlsxBytes, limits.maxBytes) : limits.maxBytes,
      }),
    });
  }
  if (rows === 0 && !state.tooLarge && !log.has('not_utf8') && !log.has('unreadable_file')) {
    log.add({ code: 'empty_file', line: 1 });
  }
  opts.onProgress?.({ bytes: state.bytes, rows });
  const errorCount = log.count('error');
  return {
    ok: errorCount === 0,
    container,
    format: fileFormat,
    kind,
    bytes: state.bytes,
    rows,
    validRows,
    errorCount,
    warningCount: log.count('warning'),
    problems: log.list(),
    placeholders: Object.fromEntries(placeholders),
    unreplacedPlaceholders: Object.fromEntries(unreplaced),
    truncated,
    duplicateCheckComplete,
    limits,
  };
}

/**
 * The report of a version that also keeps `carried` invalid rows of its parent (rows not read again because
 * nobody changed them): their problems are counted as if they had been found, so the version still reports them
 * and cannot be published until they are fixed or deleted.
 */
export function withCarriedRows(
  report: TValidationReport,
  carried: readonly Pick<TInvalidRow, 'problems'>[],
): TValidationReport {
  if (carried.length === 0) return report;
  const log = problemLog(report.limits.maxExamplesPerCode);
  for (const g of report.problems) {
    for (const e of g.examples) log.add(e);
    // the examples above counted once each; the rest of the group's count has no examples kept
    for (let i = g.examples.length; i < g.count; i++) log.add({ code: g.code, line: 0 }, false);
  }
  for (const r of carried) for (const p of r.problems) log.add(p);
  const errorCount = log.count('error');
  return {
    ...report,
    ok: errorCount === 0,
    rows: report.rows + carried.length,
    errorCount,
    warningCount: log.count('warning'),
    problems: log.list(),
  };
}

/**
 * Validates and converts in one pass, as a stream of canonical JSONL (one valid row per line) to store, with the
 * report once the stream has been read to its end. Reading the stream drives the validation (backpressure), so
 * the caller must consume it; `report` rejects if the stream is destroyed early.
 */
export function toCanonicalJsonl(
  source: TSource,
  opts: Omit<TValidateOptions, 'onRow'> = {},
): { stream: Readable; report: Promise<TValidationReport> } {
  let resolve!: (r: TValidationReport) => void;
  let reject!: (e: unknown) => void;
  const report = new Promise<TValidationReport>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that awaits only the stream must not see an unhandled rejection from the report.
  report.catch(() => {});
  async function* lines() {
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let pull: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    let closed = false;
    // The validator pushes rows; a row is released only when the consumer asked for more (bounded queue).
    const run = validateStream(source, {
      ...opts,
      onRow: async (row) => {
        if (closed) throw new Error('the canonical stream was closed before the end');
        queue.push(`${JSON.stringify(row)}\n`);
        wake?.();
        if (queue.length >= 64) await new Promise<void>((r) => (pull = r));
      },
    }).then(
      (r) => {
        done = true;
        wake?.();
        return r;
      },
      (e) => {
        done = true;
        failure = e;
        wake?.();
        return undefined;
      },
    );
    try {
      while (true) {
        if (queue.length > 0) {
          const batch = queue.splice(0, queue.length).join('');
          const p = pull;
          pull = undefined;
          p?.();
          yield batch;
          continue;
        }
        if (done) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      const r = await run;
      if (failure !== undefined || !r) throw failure;
      resolve(r);
    } catch (e) {
      // Readable.from throws an AbortError into the generator when the stream is destroyed early.
      reject(done ? e : new Error('the canonical stream was closed before the end'));
      throw e;
    } finally {
      if (!done) {
        closed = true;
        reject(new Error('the canonical stream was closed before the end'));
      }
      pull?.();
    }
  }
  return { stream: Readable.from(lines(), { objectMode: false }), report };
}
