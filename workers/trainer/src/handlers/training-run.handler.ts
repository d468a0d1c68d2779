import { getPrisma } from '@crucible/db';
import { JobError, type TJobContext, type TTrainingJobPayload } from '@crucible/jobs';

/**
 * `training.run`: takes a TrainingJob row from queued to its end state.
 *
 * What it does today: loads the row by id, skips rows already finished, honours a cancel request, claims the row
 * (status running, workerId, attempt, startedAt, an event), and then FAILS the job with the typed code
 * `not_supported_yet`, because running the training core from the queue (dataset from storage -> trainer child
 * process -> metrics, checkpoints, adapter upload, FineTunedModel row) is a later issue. The row ends `failed`
 * with that code and a sentence, so the console shows why instead of a job stuck in `queued`.
 */

const OPEN_STATES = ['validating_files', 'queued', 'running'] as const;

export const NOT_SUPPORTED_MESSAGE =
  'Running fine-tuning jobs on the worker is not supported yet in this version of Crucible; the job was received and recorded, but no training was done.';

export default async function runTrainingJob(payload: TTrainingJobPayload, ctx: TJobContext) {
  const db = getPrisma();
  const row = await db.trainingJob.findUnique({
    where: { id: payload.jobId },
    select: { id: true, workspaceId: true, status: true, cancelRequestedAt: true, startedAt: true },
  });
  if (!row)
    throw new JobError('not_found', `Training job ${payload.jobId} does not exist (deleted before a worker took it).`);

  if (!(OPEN_STATES as readonly string[]).includes(row.status)) {
    ctx.log(`training job ${row.id} is already ${row.status}; nothing to do`);
    return { skipped: row.status };
  }

  const event = (level: 'info' | 'warn' | 'error', message: string) =>
    db.jobEvent.create({ data: { workspaceId: row.workspaceId, jobId: row.id, level, message } });

  if (row.cancelRequestedAt) {
    await db.$transaction([
      db.trainingJob.updateMany({
        where: { id: row.id, status: { in: [...OPEN_STATES] } },
        data: { status: 'cancelled', finishedAt: new Date() },
      }),
      event('info', 'Cancelled before training started.'),
    ]);
    return { cancelled: true };
  }

  // Claim only while still open: a cancel or a second delivery that finished it first wins.
  const [claimed] = await db.$transaction([
    db.trainingJob.updateMany({
      where: { id: row.id, status: { in: [...OPEN_STATES] }, cancelRequestedAt: null },
      data: {
        status: 'running',
        workerId: ctx.workerId,
        queueJobId: ctx.jobId,
        attempt: { increment: 1 },
        startedAt: row.startedAt ?? new Date(),
      },
    }),
    event('info', `Worker ${ctx.workerId} started attempt ${ctx.attempt}.`),
  ]);
  if (claimed.count === 0) {
    ctx.log(`training job ${row.id} changed state before it could be claimed; leaving it`);
    return { skipped: 'changed' };
  }

  await db.$transaction([
    db.trainingJob.update({
      where: { id: row.id },
      data: {
        status: 'failed',
        errorCode: 'not_supported_yet',
        errorMessage: NOT_SUPPORTED_MESSAGE,
        finishedAt: new Date(),
      },
    }),
    event('error', NOT_SUPPORTED_MESSAGE),
  ]);
  throw new JobError('not_supported_yet', NOT_SUPPORTED_MESSAGE);
}
