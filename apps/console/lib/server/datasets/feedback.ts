import { writeVersion } from '@crucible/dataset-store';
import { PROBLEMS, severityOf, type TInvalidRow } from '@crucible/datasets';
import { getPrisma } from '@crucible/db';
import { actorOf, audit } from '../audit';
import type { TWorkspaceContext } from '../context';
import { AppError } from '../errors';
import { json } from '../http';
import { findDataset } from './imports';
import { EditRefused, editRows } from './versions';

// Feedback into data (issue 16): chats — kept requests (logs, rated playground turns) or evaluation rows — become
// ChatML rows (the prompt's messages, then the answer as generated, labelled or corrected) appended to a new draft
// version of a dataset: the latest version's rows plus these (versions.ts editRows, so every row of it is kept), or
// the first version of a new dataset (writeVersion). The version is a draft like any other: publish it, then train.
// The one code path for both sources: request-logs/feedback.ts and evaluations/feedback.ts only pick the chats.

type TCtx = { workspaceId: string; userId: string | null };

/** One chat to add: its prompt, the answer to keep, what to call it in an error and the field its answer came in. */
export type TFeedbackChat = {
  messages: { role: string; content: string }[];
  answer: string;
  /** How an error names it, lower case: "log chatcmpl-…", "row 3". */
  what: string;
  /** The request field that holds its answer (named when the answer is empty). */
  answerParam: string;
};

/** Where the chats go: an existing dataset (a new draft version of its latest) or a new dataset by name. */
export type TFeedbackTarget = { datasetId?: string; datasetName?: string };

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A ChatML row: OpenAI's `developer` role is the system prompt in a training row. */
function rowOf(chat: TFeedbackChat) {
  return {
    messages: [
      ...chat.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: m.content })),
      { role: 'assistant', content: chat.answer },
    ],
  };
}

/**
 * Appends `chats` (in their order) to a new draft version of the target dataset; `param` is the request field that
 * selected them (named when a chat is not a valid row). Answers `{ dataset, version, added }`.
 */
export async function addChatsToDataset(
  ctx: TCtx,
  target: TFeedbackTarget,
  chats: TFeedbackChat[],
  o: { param: string; fileName: string },
) {
  const prisma = getPrisma();
  for (const c of chats) {
    if (!c.answer.trim()) {
      throw new AppError(
        'invalid_request',
        `The answer of ${c.what} is empty: write the answer the model should give.`,
        c.answerParam,
      );
    }
  }
  const rows = chats.map(rowOf);

  if (target.datasetId) {
    const dataset = await findDataset(ctx.workspaceId, target.datasetId);
    const latest = await prisma.datasetVersion.findFirst({
      where: { datasetId: dataset.id, workspaceId: ctx.workspaceId },
      orderBy: { number: 'desc' },
    });
    if (latest && latest.format !== 'chatml') {
      throw new AppError(
        'conflict',
        `${dataset.name} holds ${latest.format} rows; chats can only be added to a ChatML dataset. Choose another dataset or a new one.`,
        'datasetId',
      );
    }
    const version = latest
      ? await editRows(ctx, latest, { update: [], delete: [], add: rows })
      : await writeRows(ctx, dataset.id, rows, chats, o);
    return { dataset: { id: dataset.id, name: dataset.name }, version, added: rows.length };
  }

  const dataset = await prisma.dataset.create({
    data: { workspaceId: ctx.workspaceId, name: target.datasetName!, createdById: ctx.userId },
  });
  try {
    const version = await writeRows(ctx, dataset.id, rows, chats, o);
    return { dataset: { id: dataset.id, name: dataset.name }, version, added: rows.length };
  } catch (error) {
    // No empty dataset left behind by a refused write.
    await prisma.dataset.delete({ where: { id: dataset.id } }).catch(() => undefined);
    throw error;
  }
}

/** The first version of a dataset, these rows only; a row that is not valid refuses it, naming its chat. */
function writeRows(
  ctx: TCtx,
  datasetId: string,
  rows: ReturnType<typeof rowOf>[],
  chats: TFeedbackChat[],
  o: { param: string; fileName: string },
) {
  let bad: TInvalidRow | null = null;
  return writeVersion(
    { source: rows.map((r) => `${JSON.stringify(r)}\n`).join(''), fileName: o.fileName },
    {
      ...ctx,
      datasetId,
      onInvalidRow: (row) => {
        bad ??= row;
      },
      beforeStore: () => {
        if (!bad) return;
        const p = bad.problems.find((x) => severityOf(x.code) === 'error') ?? bad.problems[0];
        throw new AppError(
          'invalid_request',
          `${capitalized(chats[bad.line - 1]?.what ?? 'a chat')} is not a valid row — ${p.code}${p.field ? ` (${p.field})` : ''}. ${PROBLEMS[p.code].message}`,
          o.param,
        );
      },
    },
  );
}

/**
 * The answer of an "add to dataset" route: 201 with `{ dataset, version, added }`, audited as `action`; a row the
 * dataset's rules refuse answers its problems, under the field (`param`) that selected it.
 */
export async function addedToDatasetResponse(
  req: Request,
  ctx: TWorkspaceContext,
  action: string,
  param: string,
  add: () => ReturnType<typeof addChatsToDataset>,
): Promise<Response> {
  try {
    const created = await add();
    await audit(
      req,
      actorOf(ctx),
      action,
      { type: 'dataset', id: created.dataset.id },
      { version: created.version.number, rows: created.added },
    );
    return json(created, { status: 201 });
  } catch (error) {
    if (error instanceof EditRefused) {
      return json(
        { error: { code: error.code, message: error.message, param }, problems: error.problems },
        {
          status: error.status,
        },
      );
    }
    throw error;
  }
}
