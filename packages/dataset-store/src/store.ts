import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  createStatsCollector,
  parseDatasetInfo,
  readCanonicalJsonl,
  type TCanonicalRow,
  type TInvalidRow,
  type TProblem,
  type TSource,
  type TValidateOptions,
  type TValidationReport,
  validateLlamaFactory,
  validateStream,
  withCarriedRows,
} from '@crucible/datasets';
import { getPrisma, isUniqueViolation, type TDb } from '@crucible/db';
import { getStorage, isStorageError, workspaceKey } from '@crucible/storage';
import { DatasetStoreError } from './errors';
import { readDatasetLimits } from './limits';
import { qwenEncode, TOKENIZER_NAME } from './tokenizer';

// Writing and reading stored versions. A version is written once: the source is validated in one streaming pass
// that converts each valid row to canonical JSONL (into a temp file, hashed and counted on the way), the file goes
// to storage, and only then is the DatasetVersion row created — so a version row always points at stored content.
//
// Rows with errors are kept too (issue 13, item 6: they used to exist only as a count, so every edit made from the
// stored rows lost them silently): each goes, with its line, its text and its problems, into a second object beside
// the canonical JSONL (invalidRowsKey). A version has `report.rows - report.validRows` of them; they are shown,
// fixed or deleted through the edit API, and a version that still has any cannot be published.

export const CANONICAL_FORMAT = { chat: 'chatml', preference: 'preference', text: 'text' } as const;

/**
 * A row with errors as stored beside a version. `line`: where it was read when it was first imported (a row carried
 * from version to version keeps it); `before`: the valid rows of this version before it.
 */
export type TStoredInvalidRow = { line: number; before: number; text: string | null; problems: TProblem[] };

/** Carries a parent's invalid row into the version being written, untouched, after the source's line `afterLine`. */
export type TKeepInvalid = (row: Omit<TStoredInvalidRow, 'before'>, afterLine: number) => void;

export type TWriteSource = {
  /** The rows; a function gets `keep` to carry invalid rows of a parent version over without reading them again. */
  source: TSource | ((keep: TKeepInvalid) => TSource);
  fileName: string;
  placeholders?: Record<string, string>;
  /** LLaMA-Factory dataset_info.json (text or parsed) + the entry name: rows are read as LLaMA-Factory reads them. */
  datasetInfo?: string | Record<string, unknown>;
  datasetInfoName?: string;
};

export type TWriteTarget = {
  workspaceId: string;
  datasetId: string;
  userId: string | null;
  originalObjectKey?: string | null;
  originalFilename?: string | null;
  parentVersionId?: string | null;
  onProgress?: (p: { bytes: number; rows: number }) => void;
  /** Each row of the source that has errors (edits use it to refuse a submitted row that is invalid). */
  onInvalidRow?: (row: TInvalidRow) => void;
  /** Called after validation, before anything is stored: throwing here stores nothing. */
  beforeStore?: (report: TValidationReport) => void;
  /**
   * Stops the write while the source is read, before it is stored and before the version row is created:
   * DatasetStoreError('cancelled') (or the signal's reason, when the caller gave an Error of its own).
   */
  signal?: AbortSignal;
  /**
   * The file name of the stored version (default a random `v_….jsonl`). An import names it after itself, so a re-run
   * overwrites the same objects instead of leaving a first attempt's behind.
   */
  objectName?: string;
  /**
   * Runs in the transaction that creates the version row: throwing rolls the row back (an import claims its
   * version here, once, so a re-run of the same import cannot make a second one).
   */
  inTransaction?: (tx: TDb, version: { id: string; number: number }) => Promise<void>;
};

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  // A reason of the caller's own (a worker shutting down) is theirs to recognise; a plain abort() is a cancel.
  const own = signal.reason instanceof Error && signal.reason.name !== 'AbortError';
  throw own ? signal.reason : new DatasetStoreError('cancelled', 'The import was cancelled.');
}

/** The source, stopping at the next chunk once `signal` is aborted. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const chunk of source) {
    throwIfAborted(signal);
    yield chunk;
  }
}

/** The object holding a version's invalid rows (JSONL of TStoredInvalidRow), beside its canonical rows. */
export const invalidRowsKey = (objectKey: string) => objectKey.replace(/\.jsonl$/, '.invalid.jsonl');

/** How many rows of a version have errors (and are kept in its invalid-rows object, when it has one). */
export function invalidRowCount(report: unknown): number {
  const r = report as Partial<TValidationReport> | null;
  return r && typeof r.rows === 'number' && typeof r.validRows === 'number' ? Math.max(0, r.rows - r.validRows) : 0;
}

export const newId = (prefix: string) => `${prefix}${randomBytes(12).toString('base64url')}`;

/** Validation options every import uses: the configured limits and the Qwen tokenizer. */
export function validationOptions(): Omit<TValidateOptions, 'onRow'> {
  const l = readDatasetLimits();
  return {
    maxBytes: l.maxBytes,
    maxRows: l.maxRows,
    maxRowBytes: l.maxRowBytes,
    maxTokensPerRow: l.maxTokensPerRow,
    maxXlsxBytes: l.maxXlsxBytes,
    tokenize: qwenEncode(),
  };
}

async function validate(input: TWriteSource & { source: TSource }, opts: TValidateOptions): Promise<TValidationReport> {
  if (input.datasetInfo === undefined) return validateStream(input.source, opts);
  const info = typeof input.datasetInfo === 'string' ? safeJson(input.datasetInfo) : input.datasetInfo;
  if (info === undefined)
    throw new DatasetStoreError('invalid_request', 'dataset_info.json is not valid JSON.', 'datasetInfo');
  if (Object.keys(parseDatasetInfo(info).attrs).length === 0 && parseDatasetInfo(info).errors.length > 0) {
    throw new DatasetStoreError('invalid_request', parseDatasetInfo(info).errors[0].message, 'datasetInfo');
  }
  const r = await validateLlamaFactory(
    { datasetInfo: info, fileName: input.fileName, name: input.datasetInfoName },
    input.source,
    opts,
  );
  if ('error' in r) throw new DatasetStoreError('invalid_request', r.error.message, 'datasetInfo');
  return r;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Appends JSONL lines to a temp file with backpressure; `close` reports a write error. */
function jsonlWriter(file: string, hash?: ReturnType<typeof createHash>) {
  const out = createWriteStream(file);
  let error: Error | null = null;
  let lines = 0;
  out.on('error', (e) => {
    error = e;
  });
  return {
    get lines() {
      return lines;
    },
    async write(value: unknown) {
      if (error) throw error;
      const line = `${JSON.stringify(value)}\n`;
      hash?.update(line);
      lines++;
      if (!out.write(line)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'close');
      if (error) throw error;
    },
  };
}

/** Validates `input`, stores its canonical JSONL (and its invalid rows) and creates the next version (a draft). */
export async function writeVersion(input: TWriteSource, target: TWriteTarget) {
  const dir = await mkdtemp(path.join(tmpdir(), 'crucible-ds-'));
  const file = path.join(dir, 'canonical.jsonl');
  const invalidFile = path.join(dir, 'invalid.jsonl');
  try {
    const hash = createHash('sha256');
    const out = jsonlWriter(file, hash);
    const invalidOut = jsonlWriter(invalidFile);
    const encode = qwenEncode();
    const limits = readDatasetLimits();
    const stats = createStatsCollector({ tokenize: encode, cutoffLen: limits.cutoffLen });
    // Carried rows wait here until validation has passed the line they follow: only then is it known how many
    // valid rows come before them (the source may be read ahead of validation).
    const pending: { row: Omit<TStoredInvalidRow, 'before'>; afterLine: number }[] = [];
    const carried: Pick<TStoredInvalidRow, 'problems'>[] = [];
    let valid = 0;
    const flushCarried = async (beforeLine: number) => {
      while (pending.length > 0 && pending[0].afterLine < beforeLine) {
        const { row } = pending.shift()!;
        await invalidOut.write({ ...row, before: valid } satisfies TStoredInvalidRow);
      }
    };
    const keep: TKeepInvalid = (row, afterLine) => {
      pending.push({ row, afterLine });
      carried.push({ problems: row.problems });
    };
    const given = typeof input.source === 'function' ? input.source(keep) : input.source;
    const source = target.signal ? untilAborted(given as AsyncIterable<unknown>, target.signal) : given;
    const validated = await validate(
      { ...input, source: source as TSource },
      {
        ...validationOptions(),
        fileName: input.fileName,
        placeholders: input.placeholders,
        onProgress: target.onProgress,
        onRow: async (row, { line }) => {
          await flushCarried(line);
          await out.write(row);
          stats.add(row);
          valid++;
        },
        onInvalidRow: async (row) => {
          await flushCarried(row.line);
          target.onInvalidRow?.(row);
          const stored: TStoredInvalidRow = {
            line: row.line,
            before: row.before,
            text: row.text,
            problems: row.problems,
          };
          await invalidOut.write(stored);
        },
      },
    );
    await flushCarried(Number.POSITIVE_INFINITY);
    await out.close();
    await invalidOut.close();
    const report = withCarriedRows(validated, carried);
    target.beforeStore?.(report);
    throwIfAborted(target.signal);
    const result = stats.result();
    const size = (await stat(file)).size;
    const storage = getStorage();
    const objectKey = workspaceKey(
      target.workspaceId,
      'datasets',
      target.datasetId,
      'versions',
      target.objectName ?? `${newId('v_')}.jsonl`,
    );
    await storage.putObject(objectKey, createReadStream(file), { contentType: 'application/jsonl', size });
    const stored = [objectKey];
    try {
      if (invalidOut.lines > 0) {
        const key = invalidRowsKey(objectKey);
        await storage.putObject(key, createReadStream(invalidFile), {
          contentType: 'application/jsonl',
          size: (await stat(invalidFile)).size,
        });
        stored.push(key);
      }
      throwIfAborted(target.signal);
      return await createVersionRow({
        ...target,
        objectKey,
        sha256: hash.digest('hex'),
        sizeBytes: size,
        report,
        stats: result,
      });
    } catch (error) {
      // A named version's objects are its caller's: another run of the same import may own them by now.
      if (!target.objectName) await storage.deleteObjects(stored).catch(() => undefined);
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The objects a version named `objectName` is stored as (canonical rows, and its invalid rows when it has any). */
export function versionObjectKeys(workspaceId: string, datasetId: string, objectName: string): string[] {
  const objectKey = workspaceKey(workspaceId, 'datasets', datasetId, 'versions', objectName);
  return [objectKey, invalidRowsKey(objectKey)];
}

async function createVersionRow(
  v: TWriteTarget & {
    objectKey: string;
    sha256: string;
    sizeBytes: number;
    report: TValidationReport;
    stats: ReturnType<ReturnType<typeof createStatsCollector>['result']>;
  },
) {
  const prisma = getPrisma();
  // Two imports into one dataset at once race for the next number; the unique (datasetId, number) decides.
  for (let attempt = 0; ; attempt++) {
    const last = await prisma.datasetVersion.findFirst({
      where: { datasetId: v.datasetId },
      orderBy: { number: 'desc' },
      select: { number: true },
    });
    const create = (db: TDb) =>
      db.datasetVersion.create({
        data: {
          workspaceId: v.workspaceId,
          datasetId: v.datasetId,
          number: (last?.number ?? 0) + 1,
          format: v.report.kind ? CANONICAL_FORMAT[v.report.kind] : 'chatml',
          sourceFormat: v.report.format,
          objectKey: v.objectKey,
          originalObjectKey: v.originalObjectKey ?? null,
          originalFilename: v.originalFilename ?? null,
          sizeBytes: BigInt(v.sizeBytes),
          sha256: v.sha256,
          rowCount: v.stats.rows,
          tokenCount: v.stats.tokens ? BigInt(v.stats.tokens.total) : null,
          tokenizer: TOKENIZER_NAME,
          stats: JSON.parse(JSON.stringify(v.stats)),
          validationReport: JSON.parse(JSON.stringify(v.report)),
          errorCount: v.report.errorCount,
          parentVersionId: v.parentVersionId ?? null,
          createdById: v.userId,
        },
      });
    try {
      const claim = v.inTransaction;
      if (!claim) return await create(prisma);
      return await prisma.$transaction(async (tx) => {
        const row = await create(tx);
        await claim(tx, row);
        return row;
      });
    } catch (error) {
      if (attempt < 5 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/** The version's stored canonical rows, or null when its object is missing from storage. */
export async function openRows(objectKey: string, workspaceId: string): Promise<AsyncGenerator<TCanonicalRow> | null> {
  // Defence in depth: a version row can only ever read objects of its own workspace.
  if (!objectKey.startsWith(`workspaces/${workspaceId}/`)) return null;
  let stream: Readable;
  try {
    stream = await getStorage().getObject(objectKey);
  } catch (error) {
    if (isStorageError(error) && error.code === 'not_found') return null;
    throw error;
  }
  return readCanonicalJsonl(stream as AsyncIterable<Uint8Array>);
}

/** The version's stored invalid rows in order, or null when it has none stored (or they are missing). */
export async function openInvalidRows(
  objectKey: string,
  workspaceId: string,
): Promise<AsyncGenerator<TStoredInvalidRow> | null> {
  const rows = await openRows(invalidRowsKey(objectKey), workspaceId);
  return rows as AsyncGenerator<unknown> as AsyncGenerator<TStoredInvalidRow> | null;
}

export async function collectRows(rows: AsyncIterable<TCanonicalRow>): Promise<TCanonicalRow[]> {
  const out: TCanonicalRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}
