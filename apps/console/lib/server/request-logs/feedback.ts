import { writeVersion } from '@crucible/dataset-store';
import { PROBLEMS, severityOf, type TInvalidRow } from '@crucible/datasets';
import { getPrisma } from '@crucible/db';
import type { z } from 'zod';
import type { ZAddLogsToDataset } from '../../schemas';
import { findDataset } from '../datasets/imports';
import { editRows } from '../datasets/versions';
import { AppError } from '../errors';
import { messagesOf } from './logs';

// Feedback into data (issue 16): kept requests (logs, rated playground turns) become ChatML rows — the request's
// messages, then the answer (as generated, or as the member corrected it) — appended to a new draft version of a
// dataset: the latest version's rows plus these (datasets/versions.ts editRows, so every row of it is kept), or the
// first version of a new dataset (writeVersion). The version is a draft like any other: publish it, then train.

type TCtx = { workspaceId: string; userId: string | null };

/** A ChatML row from a kept request: OpenAI's `developer` role is the system prompt in a training row. */
function rowOf(messages: { role: string; content: string }[], answer: string) {
  return {
    messages: [
      ...messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: m.content })),
      { role: 'assistant', content: answer },
    ],
  };
}

export async function addLogsToDataset(ctx: TCtx, body: z.infer<typeof ZAddLogsToDataset>) {
  const prisma = getPrisma();
  const ids = [...new Set(body.logIds)];
  const logs = await prisma.requestLogContent.findMany({
    where: { workspaceId: ctx.workspaceId, requestId: { in: ids } },
  });
  const byId = new Map(logs.map((l) => [l.requestId, l]));
  const missing = ids.find((id) => !byId.has(id));
  if (missing) throw new AppError('not_found', `No kept request ${missing} in this workspace.`, 'logIds');
  for (const id of Object.keys(body.answers)) {
    if (!byId.has(id)) throw new AppError('invalid_request', `${id} is not one of the selected logs.`, 'answers');
  }
  // In the order the member selected them.
  const rows = ids.map((id) => {
    const log = byId.get(id)!;
    const answer = body.answers[id] ?? log.answer;
    if (!answer.trim()) {
      throw new AppError(
        'invalid_request',
        `The answer of ${id} is empty: write the answer the model should give.`,
        `answers.${id}`,
      );
    }
    return rowOf(messagesOf(log), answer);
  });

  if (body.datasetId) {
    const dataset = await findDataset(ctx.workspaceId, body.datasetId);
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
      : await writeRows(ctx, dataset.id, rows, ids);
    return { dataset: { id: dataset.id, name: dataset.name }, version, added: rows.length };
  }

  const dataset = await prisma.dataset.create({
    data: { workspaceId: ctx.workspaceId, name: body.datasetName!, createdById: ctx.userId },
  });
  try {
    const version = await writeRows(ctx, dataset.id, rows, ids);
    return { dataset: { id: dataset.id, name: dataset.name }, version, added: rows.length };
  } catch (error) {
    // No empty dataset left behind by a refused write.
    await prisma.dataset.delete({ where: { id: dataset.id } }).catch(() => undefined);
    throw error;
  }
}

/** The first version of a dataset, these rows only; a row that is not valid refuses it, naming its log. */
function writeRows(ctx: TCtx, datasetId: string, rows: ReturnType<typeof rowOf>[], ids: string[]) {
  let bad: TInvalidRow | null = null;
  return writeVersion(
    { source: rows.map((r) => `${JSON.stringify(r)}\n`).join(''), fileName: 'request-logs.jsonl' },
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
          `The chat of ${ids[bad.line - 1] ?? 'a log'} is not a valid row — ${p.code}${p.field ? ` (${p.field})` : ''}. ${PROBLEMS[p.code].message}`,
          'logIds',
        );
      },
    },
  );
}
