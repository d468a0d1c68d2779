import { getPrisma } from '@crucible/db';
import type { TEvaluationRow } from '@crucible/services';
import type { z } from 'zod';
import type { ZAddEvaluationRowsToDataset } from '../../schemas';
import { addChatsToDataset, type TFeedbackChat } from '../datasets/feedback';
import { AppError } from '../errors';

// "Add to dataset" from an evaluation's results (issue 16): each selected row's prompt with the answer the member
// kept — the reference label or one model's answer, edited or not — through datasets/feedback.ts
// (addChatsToDataset), the path request logs take too.

type TCtx = { workspaceId: string; userId: string | null };

export async function addEvaluationRowsToDataset(
  ctx: TCtx,
  ev: TEvaluationRow,
  body: z.infer<typeof ZAddEvaluationRowsToDataset>,
) {
  const db = getPrisma();
  const indexes = body.rows.map((r) => r.index);
  const [rows, outputs] = await Promise.all([
    db.evaluationRow.findMany({ where: { evaluationId: ev.id, index: { in: indexes } } }),
    db.evaluationOutput.findMany({
      where: { evaluationId: ev.id, rowIndex: { in: indexes } },
      select: { modelIndex: true, rowIndex: true, text: true, errorCode: true },
    }),
  ]);
  const rowOf = new Map(rows.map((r) => [r.index, r]));
  // In the order the member selected them.
  const chats = body.rows.map((pick, k): TFeedbackChat => {
    const row = rowOf.get(pick.index);
    if (!row) {
      throw new AppError(
        'invalid_request',
        `Row ${pick.index + 1} is not in this evaluation: it has ${ev.rowCount} rows (index 0 to ${ev.rowCount - 1}).`,
        `rows.${k}.index`,
      );
    }
    let answer = pick.text;
    if (pick.keep === 'label') {
      answer ??= row.label;
    } else {
      const model = ev.models.find((m) => m.index === pick.modelIndex);
      if (!model) {
        throw new AppError(
          'invalid_request',
          `The evaluation has no model ${pick.modelIndex}: its models are ${ev.models.map((m) => `${m.index} (${m.displayName})`).join(', ')}.`,
          `rows.${k}.modelIndex`,
        );
      }
      const out = outputs.find((o) => o.rowIndex === row.index && o.modelIndex === model.index);
      if (answer === undefined && (!out || out.errorCode)) {
        throw new AppError(
          'conflict',
          `${model.displayName} has no answer to row ${row.index + 1}${out?.errorCode ? ` (${out.errorCode})` : ''}: keep the label or another model's answer, or write the answer (text).`,
          `rows.${k}.modelIndex`,
        );
      }
      answer ??= out!.text;
    }
    return {
      messages: row.messages as { role: string; content: string }[],
      answer,
      what: `row ${row.index + 1}`,
      answerParam: `rows.${k}.text`,
    };
  });
  return addChatsToDataset(ctx, body, chats, { param: 'rows', fileName: `evaluation-${ev.id}.jsonl` });
}
