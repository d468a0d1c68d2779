import {
  diffVersions,
  lossSegments,
  replacePlaceholders,
  searchRows,
  type TCanonicalRow,
  type TValidationReport,
  validateStream,
} from '@crucible/datasets';
import { getPrisma } from '@crucible/db';
import { getStorage } from '@crucible/storage';
import { AppError } from '../errors';
import { openRows, validationOptions, writeVersion } from './store';

// Operations on stored versions: preview, search, edit (→ a new version), placeholders (→ a new version), diff,
// publish, delete, download. Versions are never changed in place.

type TVersionRow = {
  id: string;
  workspaceId: string;
  datasetId: string;
  number: number;
  objectKey: string;
  originalObjectKey: string | null;
  originalFilename: string | null;
  status: string;
  rowCount: number;
  errorCount: number;
  parentVersionId: string | null;
  validationReport: unknown;
};

export const MISSING_CONTENT = 'The stored file of this version is missing from storage; its rows cannot be shown.';

async function rowsOf(v: TVersionRow) {
  return openRows(v.objectKey, v.workspaceId);
}

async function requireRows(v: TVersionRow) {
  const rows = await rowsOf(v);
  if (!rows) throw new AppError('conflict', MISSING_CONTENT);
  return rows;
}

export type TPreviewRow = { index: number; row: TCanonicalRow; segments: ReturnType<typeof lossSegments> };

/**
 * A page of rows, each with its loss-carrying segments as the qwen template lays it out; with `q`, only rows that
 * contain it. `unavailable` (instead of rows) when the version's object is gone from storage.
 */
export async function previewRows(
  v: TVersionRow,
  opts: { offset: number; limit: number; q?: string },
): Promise<{ total: number; offset: number; limit: number; data: TPreviewRow[]; unavailable?: string }> {
  const rows = await rowsOf(v);
  if (!rows)
    return { total: v.rowCount, offset: opts.offset, limit: opts.limit, data: [], unavailable: MISSING_CONTENT };
  const withSegments = (index: number, row: TCanonicalRow) => ({ index, row, segments: lossSegments(row) });
  if (opts.q) {
    const found = await searchRows(rows, opts.q, { offset: opts.offset, limit: opts.limit });
    return {
      total: found.total,
      offset: opts.offset,
      limit: opts.limit,
      data: found.matches.map((m) => ({ ...withSegments(m.index, m.row), hits: m.hits })),
    };
  }
  const data: TPreviewRow[] = [];
  let index = 0;
  for await (const row of rows) {
    if (index >= opts.offset + opts.limit) {
      await rows.return(undefined);
      break;
    }
    if (index >= opts.offset) data.push(withSegments(index, row));
    index++;
  }
  return { total: v.rowCount, offset: opts.offset, limit: opts.limit, data };
}

type TCtx = { workspaceId: string; userId: string | null };

/** A new version from `v` with rows replaced, deleted and appended (added rows may be in any supported format). */
export async function editRows(
  ctx: TCtx,
  v: TVersionRow,
  edit: { update: { index: number; row: Record<string, unknown> }[]; delete: number[]; add: Record<string, unknown>[] },
) {
  for (const i of [...edit.delete, ...edit.update.map((u) => u.index)]) {
    if (i >= v.rowCount) {
      throw new AppError('invalid_request', `Row ${i} does not exist: the version has ${v.rowCount} rows.`, 'index');
    }
  }
  if (edit.update.length + edit.delete.length + edit.add.length === 0) {
    throw new AppError('invalid_request', 'Nothing to change: give rows to update, delete or add.');
  }
  const rows = await requireRows(v);
  const deleted = new Set(edit.delete);
  const updated = new Map(edit.update.map((u) => [u.index, u.row]));
  async function* lines() {
    let i = 0;
    for await (const row of rows) {
      const index = i++;
      if (deleted.has(index)) continue;
      yield `${JSON.stringify(updated.get(index) ?? row)}\n`;
    }
    for (const row of edit.add) yield `${JSON.stringify(row)}\n`;
  }
  return writeVersion(
    { source: lines(), fileName: 'edited.jsonl' },
    { ...ctx, datasetId: v.datasetId, parentVersionId: v.id },
  );
}

/** A new version from `v` with `{{key}}` placeholders replaced (identity.json's name and author). */
export async function replaceVersionPlaceholders(ctx: TCtx, v: TVersionRow, values: Record<string, string>) {
  if (Object.keys(values).length === 0)
    throw new AppError('invalid_request', 'Give a value for at least one placeholder.', 'values');
  const rows = await requireRows(v);
  async function* lines() {
    for await (const row of rows) yield `${JSON.stringify(replacePlaceholders(row, values))}\n`;
  }
  return writeVersion(
    { source: lines(), fileName: 'placeholders.jsonl' },
    { ...ctx, datasetId: v.datasetId, parentVersionId: v.id },
  );
}

export async function diff(v: TVersionRow, base: TVersionRow) {
  const [a, b] = [await rowsOf(base), await rowsOf(v)];
  if (!a || !b) return { base: base.id, version: v.id, unavailable: MISSING_CONTENT };
  return { base: base.id, version: v.id, ...(await diffVersions(a, b, { maxListed: 200 })) };
}

/** The version this one is compared with by default: its parent, else the previous number. */
export async function defaultBase(v: TVersionRow): Promise<TVersionRow | null> {
  const prisma = getPrisma();
  if (v.parentVersionId) {
    const p = await prisma.datasetVersion.findFirst({ where: { id: v.parentVersionId, workspaceId: v.workspaceId } });
    if (p) return p;
  }
  return prisma.datasetVersion.findFirst({
    where: { datasetId: v.datasetId, workspaceId: v.workspaceId, number: { lt: v.number } },
    orderBy: { number: 'desc' },
  });
}

export class PublishRefused extends AppError {
  constructor(
    message: string,
    readonly report: Pick<TValidationReport, 'errorCount' | 'problems'> | null,
  ) {
    super('conflict', message);
  }
}

/**
 * Publishing runs the full validation again over the stored rows (limits and the token limit included) and refuses
 * a version whose import reported errors: such a version lacks the rows that failed, and training on it would
 * silently drop them.
 */
export async function publish(v: TVersionRow) {
  if (v.status === 'published') throw new AppError('conflict', `Version ${v.number} is already published.`);
  const stored = v.validationReport as TValidationReport | null;
  if (v.errorCount > 0) {
    throw new PublishRefused(
      `Version ${v.number} has ${v.errorCount} validation error(s); fix them (edit the rows or upload a corrected file) and publish the new version.`,
      stored ? { errorCount: stored.errorCount, problems: stored.problems } : null,
    );
  }
  const source = await getStorage()
    .getObject(v.objectKey)
    .catch(() => null);
  if (!source || !v.objectKey.startsWith(`workspaces/${v.workspaceId}/`))
    throw new AppError('conflict', MISSING_CONTENT);
  const report = await validateStream(source as AsyncIterable<Uint8Array>, {
    ...validationOptions(),
    fileName: 'canonical.jsonl',
  });
  if (!report.ok || report.rows !== v.rowCount) {
    throw new PublishRefused(
      `Version ${v.number} fails validation (${report.errorCount} error(s)); it cannot be published.`,
      { errorCount: report.errorCount, problems: report.problems },
    );
  }
  return getPrisma().datasetVersion.update({
    where: { id: v.id },
    data: { status: 'published', publishedAt: new Date() },
  });
}

/** Deletes a version and its stored files; refused while a fine-tuning job uses it. */
export async function deleteVersion(v: TVersionRow) {
  const prisma = getPrisma();
  const jobs = await prisma.trainingJob.findMany({
    where: { OR: [{ trainingFileId: v.id }, { validationFileId: v.id }] },
    select: { id: true },
    take: 5,
  });
  if (jobs.length > 0) {
    throw new AppError(
      'conflict',
      `Version ${v.number} is used by fine-tuning job(s) ${jobs.map((j) => j.id).join(', ')} and cannot be deleted.`,
    );
  }
  try {
    await prisma.datasetVersion.delete({ where: { id: v.id } });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2003') {
      throw new AppError('conflict', `Version ${v.number} is used by a fine-tuning job and cannot be deleted.`);
    }
    throw error;
  }
  const keys = [v.objectKey, v.originalObjectKey].filter(
    (k): k is string => !!k && k.startsWith(`workspaces/${v.workspaceId}/`),
  );
  await getStorage().deleteObjects(keys);
}

/**
 * The file name a version downloads under: `{dataset name}-v{number}.jsonl`. The name keeps its letters, any script
 * (Content-Disposition carries it as UTF-8 next to an ASCII fallback); only what no file system takes is replaced.
 */
export function versionFileName(datasetName: string, number: number): string {
  const safe = [...datasetName].map((c) => (c.charCodeAt(0) < 0x20 || c === '\u007f' ? '_' : c)).join('');
  const base =
    safe
      .replace(/[\\/:*?"<>|]+/g, '_')
      .trim()
      .slice(0, 120) || 'dataset';
  return `${base}-v${number}.jsonl`;
}

/** A short-lived link straight to storage for the canonical JSONL (or the file as uploaded). */
export async function downloadLink(v: TVersionRow, datasetName: string, original: boolean) {
  const key = original ? v.originalObjectKey : v.objectKey;
  if (!key) throw new AppError('not_found', 'This version has no original file (it was made by an edit).');
  const expiresSec = 15 * 60;
  const fileName = original ? (v.originalFilename ?? 'original') : versionFileName(datasetName, v.number);
  // The link downloads under this name (and always as an attachment: a stored file is never a page).
  const url = await getStorage().presignedGet(key, expiresSec, { filename: fileName });
  return { url, fileName, expiresAt: new Date(Date.now() + expiresSec * 1000).toISOString() };
}
