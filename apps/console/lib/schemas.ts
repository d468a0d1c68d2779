import { z } from 'zod';

/**
 * Input schemas shared by the REST API (apps/console/lib/server) and the
 * console's forms, so a form and the route it posts to can never disagree.
 * Browser-safe: this file imports nothing but zod.
 */

/** Same list and order as @crucible/auth's ROLES (a test holds them together). */
export const WORKSPACE_ROLES = ['viewer', 'developer', 'admin', 'owner'] as const;
const ZWorkspaceRole = z.enum(WORKSPACE_ROLES);
export type TWorkspaceRole = z.infer<typeof ZWorkspaceRole>;

const LOCALES = ['en', 'zh-CN'] as const;
const ZLocale = z.enum(LOCALES);

const ZEmail = z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address.'));
const ZPassword = z
  .string()
  .min(8, 'The password must have at least 8 characters.')
  .max(128, 'The password must have at most 128 characters.');

export const ZSignUp = z.object({
  name: z.string().trim().min(1, 'Enter your name.').max(100),
  email: ZEmail,
  password: ZPassword,
});

export const ZSignIn = z.object({
  email: ZEmail,
  password: z.string().min(1, 'Enter your password.'),
});

/** URL-safe: lower-case letters, digits and inner hyphens, 2–48 characters. */
const ZWorkspaceSlug = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,46}[a-z0-9]$/,
    'Use 2–48 lower-case letters, digits or hyphens, starting and ending with a letter or digit.',
  );

const ZWorkspaceName = z.string().trim().min(1, 'Enter a name.').max(64, 'Use at most 64 characters.');

export const ZCreateWorkspace = z.object({ name: ZWorkspaceName, slug: ZWorkspaceSlug });

export const ZUpdateWorkspace = z.object({ name: ZWorkspaceName });

export const ZUpdateMe = z.object({ locale: ZLocale });

export const ZUpdateMemberRole = z.object({ role: ZWorkspaceRole });

export const ZCreateInvitation = z.object({
  email: ZEmail,
  role: ZWorkspaceRole.default('developer'),
});

export const ZCreateApiKey = z.object({
  name: z.string().trim().min(1, 'Enter a name.').max(64, 'Use at most 64 characters.'),
  /** When the key stops working; absent or null = never. A time that has passed is refused (it was stored as "never"). */
  expiresAt: z.iso
    .datetime({ offset: true, error: 'expiresAt must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z.' })
    .nullish()
    .refine((v) => v == null || Date.parse(v) > Date.now(), 'expiresAt is in the past; give a future time or none.'),
});

// --- Datasets (issue 4) ---

const ZDatasetName = z.string().trim().min(1, 'Enter a name.').max(128, 'Use at most 128 characters.');

export const ZCreateDataset = z.object({
  name: ZDatasetName,
  description: z.string().trim().max(2000).optional(),
});

/** A file name as uploaded: no folders, no control characters. */
const ZUploadFileName = z
  .string()
  .trim()
  .min(1, 'Enter a file name.')
  .max(200, 'Use at most 200 characters.')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses
  .regex(/^[^/\\\u0000-\u001f]+$/, 'A file name cannot contain slashes or control characters.')
  .refine((s) => s !== '.' && s !== '..', 'Not a file name.');

export const ZStartUpload = z.object({
  fileName: ZUploadFileName,
  size: z.number().int().positive('The file is empty.'),
  contentType: z.string().max(200).optional(),
});

/** `{{name}}` placeholder values: names as the placeholder scanner finds them. */
const ZPlaceholderValues = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(10_000));

export const ZCompleteUpload = z.object({
  uploadId: z.string().regex(/^up_[A-Za-z0-9_-]{16,64}$/, 'Not an upload id.'),
  placeholders: ZPlaceholderValues.optional(),
  /** LLaMA-Factory dataset_info.json (its text or parsed JSON), imported with the data file as LLaMA-Factory reads it. */
  datasetInfo: z.union([z.string().max(1_000_000), z.record(z.string(), z.unknown())]).optional(),
  /** The dataset_info.json entry to use; default: the entry whose file_name is the uploaded file. */
  datasetInfoName: z.string().max(200).optional(),
  /** Answer when the import has finished instead of at once. */
  wait: z.boolean().optional(),
});

export const ZReplacePlaceholders = z.object({ values: ZPlaceholderValues });

/**
 * Row edits that make a new version: replace rows by index, delete rows by index, append rows, and fix or delete
 * rows with errors (by their index in GET …/invalid-rows). Rows not named stay, invalid ones included.
 */
export const ZEditRows = z.object({
  update: z
    .array(z.object({ index: z.number().int().min(0), row: z.record(z.string(), z.unknown()) }))
    .max(10_000)
    .default([]),
  delete: z.array(z.number().int().min(0)).max(100_000).default([]),
  add: z.array(z.record(z.string(), z.unknown())).max(10_000).default([]),
  fixInvalid: z
    .array(z.object({ index: z.number().int().min(0), row: z.record(z.string(), z.unknown()) }))
    .max(10_000)
    .default([]),
  deleteInvalid: z.array(z.number().int().min(0)).max(100_000).default([]),
  /** Only for a version imported before invalid rows were kept: how many of its rows the new version lacks. */
  confirmDroppedRows: z.number().int().min(0).optional(),
});

// --- Request logs and feedback into data (issue 16) ---

const ZChatTurn = z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() });

/** Thumbs on a kept request; `turn` keeps a playground turn that was not kept (its messages and answer). */
export const ZRateLog = z.object({
  rating: z.enum(['up', 'down']).nullable(),
  turn: z.object({ messages: z.array(ZChatTurn).min(1).max(500), answer: z.string().max(1_000_000) }).optional(),
});

/** Logs to add as rows (answers edited by log id), into an existing ChatML dataset or a new one of that name. */
export const ZAddLogsToDataset = z
  .object({
    logIds: z.array(z.string().min(1)).min(1, 'Select at least one log.').max(1000),
    answers: z.record(z.string(), z.string().trim().min(1, 'An answer cannot be empty.')).default({}),
    datasetId: z.string().min(1).optional(),
    datasetName: ZDatasetName.optional(),
  })
  .refine((b) => !!b.datasetId !== !!b.datasetName, {
    message: 'Give either datasetId (an existing dataset) or datasetName (a new one).',
    path: ['datasetId'],
  });

/**
 * Evaluation rows into a dataset (issue 16): for each selected row (0-based `index`), the answer to keep — the
 * reference `label` or a `model`'s answer (`modelIndex`) — and, if the member edited it, the `text` to keep instead.
 */
export const ZAddEvaluationRowsToDataset = z
  .object({
    rows: z
      .array(
        z.strictObject({
          index: z.number().int().min(0),
          keep: z.enum(['label', 'model']),
          modelIndex: z.number().int().min(0).optional(),
          text: z.string().trim().min(1, 'An answer cannot be empty.').optional(),
        }),
      )
      .min(1, 'Select at least one row.')
      .max(2000),
    datasetId: z.string().min(1).optional(),
    datasetName: ZDatasetName.optional(),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<number>();
    for (const [k, r] of b.rows.entries()) {
      if (r.keep === 'model' && r.modelIndex === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: "Name the model whose answer to keep (modelIndex), or keep the label (keep: 'label').",
          path: ['rows', k, 'modelIndex'],
        });
      }
      if (seen.has(r.index)) {
        ctx.addIssue({ code: 'custom', message: `Row ${r.index + 1} is selected twice.`, path: ['rows', k, 'index'] });
      }
      seen.add(r.index);
    }
    if (!!b.datasetId === !!b.datasetName) {
      ctx.addIssue({
        code: 'custom',
        message: 'Give either datasetId (an existing dataset) or datasetName (a new one).',
        path: ['datasetId'],
      });
    }
  });

/** A deployment's request-log setting. */
export const ZDeploymentLogging = z.object({
  logRequests: z.boolean().optional(),
  logRetentionDays: z
    .number()
    .int()
    .min(1, 'Keep logs at least 1 day.')
    .max(3650, 'Keep logs at most 3650 days.')
    .optional(),
});
