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
  type TSource,
  type TValidateOptions,
  type TValidationReport,
  validateLlamaFactory,
  validateStream,
} from '@crucible/datasets';
import { getPrisma, isUniqueViolation } from '@crucible/db';
import { getStorage, isStorageError, workspaceKey } from '@crucible/storage';
import { AppError } from '../errors';
import { readDatasetLimits } from './limits';
import { qwenEncode, TOKENIZER_NAME } from './tokenizer';

// Writing and reading stored versions. A version is written once: the source is validated in one streaming pass
// that converts each valid row to canonical JSONL (into a temp file, hashed and counted on the way), the file goes
// to storage, and only then is the DatasetVersion row created — so a version row always points at stored content.

export const CANONICAL_FORMAT = { chat: 'chatml', preference: 'preference', text: 'text' } as const;

export type TWriteSource = {
  source: TSource;
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
};

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

async function validate(input: TWriteSource, opts: TValidateOptions): Promise<TValidationReport> {
  if (input.datasetInfo === undefined) return validateStream(input.source, opts);
  const info = typeof input.datasetInfo === 'string' ? safeJson(input.datasetInfo) : input.datasetInfo;
  if (info === undefined) throw new AppError('invalid_request', 'dataset_info.json is not valid JSON.', 'datasetInfo');
  if (Object.keys(parseDatasetInfo(info).attrs).length === 0 && parseDatasetInfo(info).errors.length > 0) {
    throw new AppError('invalid_request', parseDatasetInfo(info).errors[0].message, 'datasetInfo');
  }
  const r = await validateLlamaFactory(
    { datasetInfo: info, fileName: input.fileName, name: input.datasetInfoName },
    input.source,
    opts,
  );
  if ('error' in r) throw new AppError('invalid_request', r.error.message, 'datasetInfo');
  return r;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Validates `input`, stores its canonical JSONL and creates the next version of the dataset (a draft). */
export async function writeVersion(input: TWriteSource, target: TWriteTarget) {
  const dir = await mkdtemp(path.join(tmpdir(), 'crucible-ds-'));
  const file = path.join(dir, 'canonical.jsonl');
  try {
    const out = createWriteStream(file);
    const hash = createHash('sha256');
    const encode = qwenEncode();
    const limits = readDatasetLimits();
    const stats = createStatsCollector({ tokenize: encode, cutoffLen: limits.cutoffLen });
    let outError: Error | null = null;
    out.on('error', (e) => {
      outError = e;
    });
    const report = await validate(input, {
      ...validationOptions(),
      fileName: input.fileName,
      placeholders: input.placeholders,
      onProgress: target.onProgress,
      onRow: async (row) => {
        if (outError) throw outError;
        const line = `${JSON.stringify(row)}\n`;
        hash.update(line);
        stats.add(row);
        if (!out.write(line)) await once(out, 'drain');
      },
    });
    out.end();
    await once(out, 'close');
    if (outError) throw outError;
    const result = stats.result();
    const size = (await stat(file)).size;
    const storage = getStorage();
    const objectKey = workspaceKey(
      target.workspaceId,
      'datasets',
      target.datasetId,
      'versions',
      `${newId('v_')}.jsonl`,
    );
    await storage.putObject(objectKey, createReadStream(file), { contentType: 'application/jsonl', size });
    try {
      return await createVersionRow({
        ...target,
        objectKey,
        sha256: hash.digest('hex'),
        sizeBytes: size,
        report,
        stats: result,
      });
    } catch (error) {
      await storage.deleteObject(objectKey).catch(() => undefined);
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
    try {
      return await prisma.datasetVersion.create({
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

export async function collectRows(rows: AsyncIterable<TCanonicalRow>): Promise<TCanonicalRow[]> {
  const out: TCanonicalRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}
