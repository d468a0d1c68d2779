import { getPrisma } from '@crucible/db';
import type { z } from 'zod';
import type { ZAddLogsToDataset } from '../../schemas';
import { addChatsToDataset } from '../datasets/feedback';
import { AppError } from '../errors';
import { messagesOf } from './logs';

// "Add to dataset" from the Logs page (issue 16): the selected kept requests (logs, rated playground turns), each
// with its answer as generated or as the member corrected it, go through datasets/feedback.ts (addChatsToDataset),
// the one path that turns chats into a new draft version of a ChatML dataset.

type TCtx = { workspaceId: string; userId: string | null };

export async function addLogsToDataset(ctx: TCtx, body: z.infer<typeof ZAddLogsToDataset>) {
  const ids = [...new Set(body.logIds)];
  const logs = await getPrisma().requestLogContent.findMany({
    where: { workspaceId: ctx.workspaceId, requestId: { in: ids } },
  });
  const byId = new Map(logs.map((l) => [l.requestId, l]));
  const missing = ids.find((id) => !byId.has(id));
  if (missing) throw new AppError('not_found', `No kept request ${missing} in this workspace.`, 'logIds');
  for (const id of Object.keys(body.answers)) {
    if (!byId.has(id)) throw new AppError('invalid_request', `${id} is not one of the selected logs.`, 'answers');
  }
  // In the order the member selected them.
  const chats = ids.map((id) => {
    const log = byId.get(id)!;
    return {
      messages: messagesOf(log),
      answer: body.answers[id] ?? log.answer,
      what: `log ${id}`,
      answerParam: `answers.${id}`,
    };
  });
  return addChatsToDataset(ctx, body, chats, { param: 'logIds', fileName: 'request-logs.jsonl' });
}
