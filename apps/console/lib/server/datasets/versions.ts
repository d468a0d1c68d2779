import {
  invalidRowCount,
  invalidRowsKey,
  openInvalidRows,
  openRows,
  type TKeepInvalid,
  type TStoredInvalidRow,
  validationOptions,
  writeVersion,
} from '@crucible/dataset-store';
import {
  diffVersions,
  lossSegments,
  PROBLEMS,
  replacePlaceholders,
  searchRows,
  severityOf,
  type TCanonicalRow,
  type TProblem,
  type TValidationReport,
  validateStream,
} from '@crucible/datasets';
import { getPrisma } from '@crucible/db';
import { getStorage } from '@crucible/storage';
import { AppError } from '../errors';

// Operations on stored versions: preview, search, invalid rows, edit (→ a new version), placeholders (→ a new
// version), diff, publish, delete, download. Versions are never changed in place, and a new version made from
// another keeps every row of it that the user did not delete — invalid rows included (issue 13, item 6).

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

const MISSING_CONTENT = 'The stored file of this version is missing from storage; its rows cannot be shown.';

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

const INVALID_ROWS_NOT_KEPT = (n: number, number: number) =>
  `Version ${number} was imported before invalid rows were kept: its ${n} invalid row(s) are not stored and cannot be shown or carried into a new version.`;

/** A problem as shown with an invalid row: the code, where (field), what (detail) and the sentence with the fix. */
const explained = (p: TProblem) => ({ ...p, severity: severityOf(p.code), message: PROBLEMS[p.code].message });

/**
 * A page of the version's rows that have errors, in file order: `index` (what edits name), the line it was read
 * from, `before` (valid rows ahead of it), its text (null when it could not be kept) and its problems.
 */
export async function invalidRows(v: TVersionRow, opts: { offset: number; limit: number }) {
  const total = invalidRowCount(v.validationReport);
  const page = { total, offset: opts.offset, limit: opts.limit };
  if (total === 0) return { ...page, data: [] };
  const rows = await openInvalidRows(v.objectKey, v.workspaceId);
  if (!rows) return { ...page, data: [], unavailable: INVALID_ROWS_NOT_KEPT(total, v.number) };
  const data = [];
  let index = 0;
  for await (const r of rows) {
    if (index >= opts.offset + opts.limit) {
      await rows.return(undefined);
      break;
    }
    if (index >= opts.offset) data.push({ index, ...r, problems: r.problems.map(explained) });
    index++;
  }
  return { ...page, data };
}

type TCtx = { workspaceId: string; userId: string | null };

export type TEdit = {
  update: { index: number; row: Record<string, unknown> }[];
  delete: number[];
  add: Record<string, unknown>[];
  /** Invalid rows (their `index` in invalidRows) replaced by a corrected row, which goes back where it was. */
  fixInvalid?: { index: number; row: Record<string, unknown> }[];
  deleteInvalid?: number[];
  /** A version imported before invalid rows were kept: the number of its (unstored) invalid rows, to confirm. */
  confirmDroppedRows?: number;
};

/** What an edit did, row by row counts: returned with the new version so nothing leaves unsaid. */
type TEditSummary = {
  updated: number;
  deleted: number;
  added: number;
  fixed: number;
  invalidDeleted: number;
  /** Invalid rows carried into the new version as they were (still reported, still to fix). */
  invalidKept: number;
  /** Invalid rows of a version imported before they were kept, not in the new version (confirmed). */
  dropped: number;
};

/** A submitted row that is itself invalid: the edit is refused, naming the row and its problems. */
export class EditRefused extends AppError {
  constructor(
    message: string,
    param: string,
    readonly problems: ReturnType<typeof explained>[],
  ) {
    super('invalid_request', message, param);
  }
}

/**
 * Checks one submitted row on its own and returns it in canonical form (so a fix may be written in the row's
 * original format, alpaca say, and still join a chat version). Refuses it with its problems when it has errors.
 */
async function canonical(row: Record<string, unknown>, param: string, what: string): Promise<TCanonicalRow> {
  let out: TCanonicalRow | undefined;
  const problems: TProblem[] = [];
  await validateStream(JSON.stringify(row), {
    ...validationOptions(),
    fileName: 'row.jsonl',
    onRow: (r) => {
      out = r;
    },
    onInvalidRow: (r) => {
      problems.push(...r.problems);
    },
  });
  if (!out || problems.length > 0) {
    const p = problems.find((x) => severityOf(x.code) === 'error') ?? problems[0];
    const where = p?.field ? ` (${p.field})` : '';
    const detail = p?.detail ? `: ${p.detail}` : '';
    throw new EditRefused(
      `${what} is not valid — ${p?.code ?? 'invalid'}${where}${detail}. ${p ? PROBLEMS[p.code].message : ''}`.trim(),
      param,
      problems.map(explained),
    );
  }
  return out;
}

/**
 * A new version from `v` with rows replaced, deleted and appended, and invalid rows fixed or deleted. Every row
 * not deleted is in the new version: invalid rows nobody touched are carried over as they were (and still reported).
 * Submitted rows (updates, additions, fixes) must be valid on their own; the edit is refused otherwise.
 */
export async function editRows(ctx: TCtx, v: TVersionRow, edit: TEdit) {
  const fixInvalid = edit.fixInvalid ?? [];
  const deleteInvalid = edit.deleteInvalid ?? [];
  for (const i of [...edit.delete, ...edit.update.map((u) => u.index)]) {
    if (i >= v.rowCount) {
      throw new AppError('invalid_request', `Row ${i} does not exist: the version has ${v.rowCount} rows.`, 'index');
    }
  }
  const invalidCount = invalidRowCount(v.validationReport);
  for (const i of [...deleteInvalid, ...fixInvalid.map((f) => f.index)]) {
    if (i >= invalidCount) {
      throw new AppError(
        'invalid_request',
        `Invalid row ${i} does not exist: the version has ${invalidCount} invalid rows.`,
        'index',
      );
    }
  }
  if (edit.update.length + edit.delete.length + edit.add.length + fixInvalid.length + deleteInvalid.length === 0) {
    throw new AppError('invalid_request', 'Nothing to change: give rows to update, delete, add or fix.');
  }
  const fixedInvalid = new Set(fixInvalid.map((f) => f.index));
  for (const i of deleteInvalid) {
    if (fixedInvalid.has(i)) throw new AppError('invalid_request', `Invalid row ${i} is both fixed and deleted.`);
  }
  const updated = new Map<number, TCanonicalRow>();
  for (const [k, u] of edit.update.entries())
    updated.set(u.index, await canonical(u.row, `update.${k}.row`, `Row ${u.index + 1}`));
  const fixed = new Map<number, TCanonicalRow>();
  for (const [k, f] of fixInvalid.entries())
    fixed.set(f.index, await canonical(f.row, `fixInvalid.${k}.row`, `The fix of invalid row ${f.index + 1}`));
  const added: TCanonicalRow[] = [];
  for (const [k, row] of edit.add.entries()) added.push(await canonical(row, `add.${k}`, `Added row ${k + 1}`));

  // Opened only once the submitted rows are known to be valid: a refusal above leaves no stream open.
  const invalid = invalidCount > 0 ? await openInvalidRows(v.objectKey, v.workspaceId) : null;
  let dropped = 0;
  if (invalidCount > 0 && !invalid) {
    // Never drop rows without saying so: the caller must confirm, knowing how many.
    if (edit.confirmDroppedRows !== invalidCount) {
      throw new AppError(
        'conflict',
        `${INVALID_ROWS_NOT_KEPT(invalidCount, v.number)} Send confirmDroppedRows: ${invalidCount} to make the new version without them, or upload a corrected file.`,
        'confirmDroppedRows',
      );
    }
    dropped = invalidCount;
  }
  if (!invalid && (fixInvalid.length > 0 || deleteInvalid.length > 0)) {
    throw new AppError('conflict', INVALID_ROWS_NOT_KEPT(invalidCount, v.number));
  }

  const rows = await requireRows(v).catch(async (error) => {
    await invalid?.return(undefined);
    throw error;
  });
  const deleted = new Set(edit.delete);
  const invalidDeleted = new Set(deleteInvalid);
  const summary: TEditSummary = {
    updated: updated.size,
    deleted: deleted.size,
    added: added.length,
    fixed: fixed.size,
    invalidDeleted: invalidDeleted.size,
    invalidKept: invalidCount - dropped - fixed.size - invalidDeleted.size,
    dropped,
  };
  // Submitted rows were valid alone; in the version they can still clash (a preference row in a chat version).
  const submitted = new Map<number, string>();
  const source = (keep: TKeepInvalid) =>
    (async function* lines() {
      let line = 0;
      const emit = (row: TCanonicalRow, what?: string) => {
        line++;
        if (what) submitted.set(line, what);
        return `${JSON.stringify(row)}\n`;
      };
      let k = 0;
      let next = invalid ? await invalid.next() : null;
      // The invalid rows that sat before valid row `index` in the parent go back there.
      async function* invalidUpTo(index: number) {
        while (next && !next.done && next.value.before <= index) {
          const r: TStoredInvalidRow = next.value;
          const at = k++;
          if (fixed.has(at)) yield emit(fixed.get(at)!, `fixInvalid:${at}`);
          else if (!invalidDeleted.has(at)) keep({ line: r.line, text: r.text, problems: r.problems }, line);
          next = invalid ? await invalid.next() : null;
        }
      }
      let i = 0;
      for await (const row of rows) {
        yield* invalidUpTo(i);
        const index = i++;
        if (deleted.has(index)) continue;
        const u = updated.get(index);
        yield u ? emit(u, `update:${index}`) : emit(row);
      }
      yield* invalidUpTo(Number.POSITIVE_INFINITY);
      for (const [j, row] of added.entries()) yield emit(row, `add:${j}`);
    })();
  const clashes: { what: string; problems: TProblem[] }[] = [];
  const created = await writeVersion(
    { source, fileName: 'edited.jsonl' },
    {
      ...ctx,
      datasetId: v.datasetId,
      parentVersionId: v.id,
      onInvalidRow: (r) => {
        const what = submitted.get(r.line);
        if (what && clashes.length < 10) clashes.push({ what, problems: r.problems });
      },
      beforeStore: () => {
        if (clashes.length === 0) return;
        const [what, n] = clashes[0].what.split(':');
        const p = clashes[0].problems[0];
        throw new EditRefused(
          `${what === 'add' ? `Added row ${Number(n) + 1}` : what === 'update' ? `Row ${Number(n) + 1}` : `The fix of invalid row ${Number(n) + 1}`} does not fit this version — ${p.code}${p.detail ? `: ${p.detail}` : ''}. ${PROBLEMS[p.code].message}`,
          what === 'add' ? `add.${n}` : what,
          clashes[0].problems.map(explained),
        );
      },
    },
  );
  return { ...created, edit: summary };
}

/**
 * A new version from `v` with `{{key}}` placeholders replaced (identity.json's name and author); its invalid rows
 * come along (with the placeholders replaced in their text too).
 */
export async function replaceVersionPlaceholders(ctx: TCtx, v: TVersionRow, values: Record<string, string>) {
  if (Object.keys(values).length === 0)
    throw new AppError('invalid_request', 'Give a value for at least one placeholder.', 'values');
  const rows = await requireRows(v);
  const invalid = invalidRowCount(v.validationReport) > 0 ? await openInvalidRows(v.objectKey, v.workspaceId) : null;
  const source = (keep: TKeepInvalid) =>
    (async function* lines() {
      let line = 0;
      let next = invalid ? await invalid.next() : null;
      const carry = async (index: number) => {
        while (next && !next.done && next.value.before <= index) {
          const r: TStoredInvalidRow = next.value;
          keep({ line: r.line, text: replaceInText(r.text, values), problems: r.problems }, line);
          next = invalid ? await invalid.next() : null;
        }
      };
      let i = 0;
      for await (const row of rows) {
        await carry(i++);
        line++;
        yield `${JSON.stringify(replacePlaceholders(row, values))}\n`;
      }
      await carry(Number.POSITIVE_INFINITY);
    })();
  return writeVersion(
    { source, fileName: 'placeholders.jsonl' },
    { ...ctx, datasetId: v.datasetId, parentVersionId: v.id },
  );
}

function replaceInText(text: string | null, values: Record<string, string>): string | null {
  if (text === null) return null;
  try {
    return JSON.stringify(replacePlaceholders(JSON.parse(text), values));
  } catch {
    return text;
  }
}

export const DIFF_KINDS = ['changed', 'added', 'removed'] as const;
export type TDiffKind = (typeof DIFF_KINDS)[number];

/**
 * One page of the diff: totals for every kind, and the rows [offset, offset + limit) of `kind` (or of every kind
 * when none is named). A changed row comes with only the fields that changed, not both rows whole.
 */
export async function diff(
  v: TVersionRow,
  base: TVersionRow,
  page: { offset: number; limit: number; kind?: TDiffKind } = { offset: 0, limit: 20 },
) {
  const [a, b] = [await rowsOf(base), await rowsOf(v)];
  const head = { base: base.id, version: v.id, offset: page.offset, limit: page.limit, kind: page.kind ?? null };
  if (!a || !b) return { ...head, unavailable: MISSING_CONTENT };
  const d = await diffVersions(a, b, { offset: page.offset, maxListed: page.limit });
  const wanted = (k: TDiffKind) => !page.kind || page.kind === k;
  return {
    ...head,
    counts: d.counts,
    unchanged: d.unchanged,
    invalidRows: { base: invalidRowCount(base.validationReport), version: invalidRowCount(v.validationReport) },
    added: wanted('added') ? d.added : [],
    removed: wanted('removed') ? d.removed : [],
    changed: wanted('changed')
      ? d.changed.map((c) => ({
          key: c.key,
          indexA: c.indexA,
          indexB: c.indexB,
          fields: c.fields,
          fieldsTruncated: c.fieldsTruncated,
        }))
      : [],
  };
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
    const rows = invalidRowCount(v.validationReport);
    throw new PublishRefused(
      `Version ${v.number} has ${v.errorCount} validation error(s) in ${rows} row(s); fix or delete those rows (listed under "Rows with errors") or upload a corrected file, then publish the new version.`,
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
  const keys = [v.objectKey, invalidRowsKey(v.objectKey), v.originalObjectKey].filter(
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
