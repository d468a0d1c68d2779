import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chargeTraining, isBillingError, resolvePrice } from '@crucible/billing';
import { metricRowJson, upsertTrainingMetric } from '@crucible/db';
import {
  buildTrainConfig,
  createRedisConnection,
  datasetInfo,
  epochsFor,
  FINE_TUNING_METHODS,
  isLoraMethod,
  JobError,
  jobControlChannel,
  prepareJobDataFile,
  QUEUE_DEFAULTS,
  resolveHyperparameters,
  type TFineTuningMethod,
  type TJobContext,
  type TResolvedHyperparameters,
  type TTrainingJobPayload,
} from '@crucible/jobs';
import { formatLoss, formatLr, jobEvent, trainerLogEvent } from '@crucible/jobs/events';
import { downloadObject, downloadPrefix, uploadDir, workspaceKey } from '@crucible/storage';
import type { TrainEvent } from '@crucible/trainer';
import { startTrainingChild } from '../training/child-process';
import { jobServices, type TJobServices } from '../training/context';
import { type TUserError, userErrorFrom } from '../training/errors';
import { storeHeldOut } from '../training/held-out';
import { createOutbox } from '../training/outbox';
import { CHILD_FILES, type TChildMessage, type TChildOptions } from '../training/protocol';

/**
 * `training.run`: takes a TrainingJob row (the truth; the queue entry holds only its id) to its end state.
 *
 * validating_files -> queued -> running -> succeeded | failed | cancelled. The worker downloads the base model
 * and dataset versions into a job folder, resumes from the newest checkpoint in storage when an earlier attempt
 * left one, and runs the training core in a child process (a long native step never blocks this event loop, so
 * BullMQ keeps renewing its lock; a cancel or crash kills only the child). Metrics, events and checkpoints come
 * back over IPC and are written as they happen.
 */

const OPEN_STATES = ['validating_files', 'queued', 'running'] as const;
/** Training tokens are charged per window of this many optimizer steps (idempotency key per window). */
export const USAGE_WINDOW_STEPS = 10;
const CANCEL_POLL_MS = 1_000;

const scratchRoot = () => process.env.TRAINER_SCRATCH_DIR || join(tmpdir(), 'crucible-trainer');

async function loadJob(id: string, svc: Pick<TJobServices, 'db'>) {
  return svc.db.trainingJob.findUnique({
    where: { id },
    include: { baseModel: true, trainingFile: true, validationFile: true, workspace: true, parentModel: true },
  });
}
type TJobRow = NonNullable<Awaited<ReturnType<typeof loadJob>>>;

/** The job's method (a row from an older version, or one written by hand, trains as sft_lora). */
const methodOfJob = (job: { method: string }): TFineTuningMethod =>
  (FINE_TUNING_METHODS as readonly string[]).includes(job.method) ? (job.method as TFineTuningMethod) : 'sft_lora';

async function fail(job: TJobRow, svc: TJobServices, err: TUserError): Promise<never> {
  await svc.db.trainingJob.update({
    where: { id: job.id },
    data: {
      status: 'failed',
      errorCode: err.code,
      errorMessage: err.message,
      errorParam: err.param,
      finishedAt: new Date(),
    },
  });
  await svc.event('error', jobEvent('job_failed', { errorCode: err.code, message: err.message }), {
    code: err.code,
    param: err.param,
  });
  await svc.status('failed');
  throw new JobError('handler_failed', `${err.code}: ${err.message}`);
}

/**
 * Downloads model and data into the job folder; a missing object is the user's error, not a crash. Answers the data
 * files the run trains and evaluates on.
 */
async function prepareFolder(job: TJobRow, svc: TJobServices, dir: string, hp: TResolvedHyperparameters) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, CHILD_FILES.data), { recursive: true });
  const modelDir = join(dir, CHILD_FILES.model);
  const base = job.baseModel;
  const parent = job.parentModel;
  let found = 0;
  // A job that continues a fine-tuned model: a full fine-tune's weights are the model (its output is a model
  // folder); a LoRA model's adapter goes to adapter/ on top of the base (adapter_name_or_path).
  if (parent && !isLoraMethod(parent.method) && parent.mergedObjectKey) {
    found = await downloadPrefix(svc.storage, parent.mergedObjectKey, modelDir);
  } else if (base.objectKey) found = await downloadPrefix(svc.storage, base.objectKey, modelDir);
  else if (base.path && existsSync(base.path)) {
    const { cpSync } = await import('node:fs');
    cpSync(base.path, modelDir, { recursive: true });
    found = readdirSync(modelDir).length;
  }
  if (found === 0 || !existsSync(join(modelDir, 'config.json'))) {
    await fail(job, svc, {
      code: 'model_not_found',
      message: `The files of base model "${base.name}" are not in storage (${base.objectKey ?? base.path ?? 'no location recorded'}); import the model again.`,
      param: 'model',
    });
  }
  if (parent && isLoraMethod(parent.method)) {
    const n = parent.adapterObjectKey
      ? await downloadPrefix(svc.storage, parent.adapterObjectKey, join(dir, CHILD_FILES.adapter))
      : 0;
    if (n === 0 || !existsSync(join(dir, CHILD_FILES.adapter, 'adapter_config.json'))) {
      await fail(job, svc, {
        code: 'model_not_found',
        message: `The adapter of ${parent.name}, which this job continues, is not in storage (${parent.adapterObjectKey ?? 'no location recorded'}).`,
        param: 'model',
      });
    }
  }
  const method = methodOfJob(job);
  const files: { train: string; validation?: string } = { train: 'train.jsonl' };
  for (const [name, version, param] of [
    ['train.jsonl', job.trainingFile, 'training_file'],
    ['validation.jsonl', job.validationFile, 'validation_file'],
  ] as const) {
    if (!version) continue;
    if (version.status !== 'published') {
      await fail(job, svc, {
        code: 'invalid_file',
        message: `Dataset version ${version.number} is a draft; publish it before training on it.`,
        param,
      });
    }
    try {
      await downloadObject(svc.storage, version.objectKey, join(dir, CHILD_FILES.data, name));
    } catch (e) {
      await fail(job, svc, {
        code: 'file_not_found',
        message: `The file of dataset version ${version.number} could not be read from storage (${(e as Error).message}).`,
        param,
      });
    }
    if (name === 'train.jsonl' && !job.validationFile && hp.valSplit > 0) await holdOut(job, svc, dir, hp, files);
    try {
      for (const file of name === 'train.jsonl' && files.validation ? [name, files.validation] : [name]) {
        await prepareJobDataFile(join(dir, CHILD_FILES.data, file), method);
      }
    } catch (e) {
      await fail(job, svc, {
        code: 'invalid_file',
        message: `Dataset version ${version.number}: ${(e as Error).message}`,
        param,
      });
    }
    if (name === 'validation.jsonl') files.validation = name;
  }
  writeFileSync(join(dir, CHILD_FILES.data, 'dataset_info.json'), JSON.stringify(datasetInfo(files, method), null, 2));
  return files;
}

/** A job with `valSplit` and no validation version: its held-out rows (training/held-out.ts) become its eval set. */
async function holdOut(
  job: TJobRow,
  svc: TJobServices,
  dir: string,
  hp: TResolvedHyperparameters,
  files: { validation?: string },
) {
  const held = await storeHeldOut(job, svc, join(dir, CHILD_FILES.data), hp);
  if ('error' in held) {
    await fail(job, svc, {
      code: 'invalid_file',
      message: `Dataset version ${job.trainingFile.number}: ${held.error} Lower valSplit.`,
      param: 'hyperparameters.valSplit',
    });
  }
  files.validation = 'validation.jsonl';
}

/** The trainer's own token counters, kept with each checkpoint: tokens seen after step N (usage windows). */
const USAGE_FILE = 'crucible_usage.json';

/**
 * Brings the newest uploaded checkpoint back into output/; returns its path relative to the job folder and the
 * token counters saved with it (so the usage windows of a resumed run come from the trainer's own counts, never
 * from whichever metric rows reached the database).
 */
async function restoreCheckpoint(
  job: TJobRow,
  svc: TJobServices,
  dir: string,
): Promise<{ rel?: string; tokensAt: Map<number, number> }> {
  const tokensAt = new Map<number, number>([[0, 0]]);
  const last = await svc.db.checkpoint.findFirst({
    where: { jobId: job.id, prunedAt: null },
    orderBy: { step: 'desc' },
  });
  if (!last) return { tokensAt };
  const rel = join(CHILD_FILES.output, `checkpoint-${last.step}`);
  const n = await downloadPrefix(svc.storage, last.objectKey, join(dir, rel));
  if (n === 0) return { tokensAt };
  const counters = join(dir, rel, USAGE_FILE);
  if (existsSync(counters)) {
    const saved = JSON.parse(readFileSync(counters, 'utf8')) as { tokensAt?: [number, number][] };
    for (const [step, tokens] of saved.tokensAt ?? []) tokensAt.set(step, tokens);
  }
  // The trainer log of the steps before the checkpoint travels with it (the loop keeps lines up to its step).
  const log = join(dir, rel, 'trainer_log.jsonl');
  if (existsSync(log)) {
    const { renameSync } = await import('node:fs');
    renameSync(log, join(dir, CHILD_FILES.output, 'trainer_log.jsonl'));
  }
  await svc.event('info', jobEvent('resuming_from_checkpoint', { step: last.step }));
  return { rel, tokensAt };
}

export default async function runTrainingJob(payload: TTrainingJobPayload, ctx: TJobContext) {
  const probe = await jobServices('', payload.jobId).db.trainingJob.findUnique({
    where: { id: payload.jobId },
    select: { workspaceId: true },
  });
  if (!probe)
    throw new JobError('not_found', `Training job ${payload.jobId} does not exist (deleted before a worker took it).`);
  const svc = jobServices(probe.workspaceId, payload.jobId);
  const { db } = svc;
  const job = await loadJob(payload.jobId, svc);
  if (!job) throw new JobError('not_found', `Training job ${payload.jobId} does not exist.`);

  if (!(OPEN_STATES as readonly string[]).includes(job.status)) {
    ctx.log(`training job ${job.id} is already ${job.status}; nothing to do`);
    return { skipped: job.status };
  }
  if (job.cancelRequestedAt) {
    await db.trainingJob.updateMany({
      where: { id: job.id, status: { in: [...OPEN_STATES] } },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    await svc.event('info', jobEvent('cancelled_before_start'));
    await svc.status('cancelled');
    return { cancelled: true };
  }

  // Claim only while still open: a cancel or a second delivery that finished it first wins.
  const claimed = await db.trainingJob.updateMany({
    where: { id: job.id, status: { in: [...OPEN_STATES] }, cancelRequestedAt: null },
    data: {
      status: job.status === 'validating_files' ? 'validating_files' : 'queued',
      workerId: ctx.workerId,
      queueJobId: ctx.jobId,
      attempt: { increment: 1 },
    },
  });
  if (claimed.count === 0) return { skipped: 'changed' };
  await svc.event('info', jobEvent('worker_claimed', { worker: ctx.workerId, attempt: ctx.attempt }));

  // A folder per attempt: a handed-back attempt still uploading must not share files with the next one.
  const dir = join(scratchRoot(), `${job.id}.${randomUUID().slice(0, 8)}`);
  const method = methodOfJob(job);
  const hp = resolveHyperparameters(method, job.hyperparameters);
  const files = await prepareFolder(job, svc, dir, hp);
  if (job.status === 'validating_files') {
    await db.trainingJob.update({ where: { id: job.id }, data: { status: 'queued' } });
    await svc.status('queued');
  }
  const restored = await restoreCheckpoint(job, svc, dir);
  const resumeFrom = restored.rel;

  const epochs = epochsFor(hp, job.trainingFile.rowCount);
  const config = buildTrainConfig({
    method,
    hp,
    epochs,
    arch: job.baseModel.arch,
    hasValidation: Boolean(files.validation),
    valSplit: hp.valSplit,
    resumeFrom,
    continuesAdapter: Boolean(job.parentModel && isLoraMethod(job.parentModel.method)),
  });
  writeFileSync(join(dir, CHILD_FILES.config), JSON.stringify(config, null, 2));
  const options: TChildOptions = { saveAtEpochEnd: hp.checkpointEachEpoch };
  writeFileSync(join(dir, CHILD_FILES.options), JSON.stringify(options));

  await db.trainingJob.update({
    where: { id: job.id },
    data: { status: 'running', startedAt: job.startedAt ?? new Date() },
  });
  await svc.status('running');

  const run = await superviseChild(job, svc, ctx, dir, method, restored.tokensAt);
  try {
    return await finish(job, svc, ctx, dir, run);
  } finally {
    // A handed-back or retried job starts from storage on whichever worker takes it next.
    rmSync(dir, { recursive: true, force: true });
  }
}

type TRun = Awaited<ReturnType<typeof superviseChild>>;

/**
 * Runs the child and writes what it reports, in order, through a retrying outbox (training/outbox.ts): a database
 * or storage outage delays the writes, it never drops them. Resolves when the child has exited; the caller drains
 * the outbox before it decides the job's end state.
 */
async function superviseChild(
  job: TJobRow,
  svc: TJobServices,
  ctx: TJobContext,
  dir: string,
  method: string,
  tokensAt: Map<number, number>,
) {
  const { db } = svc;
  // Refused before any work when no price applies to this model and method (packages/billing is the one price
  // code; each window is charged at the price in force when it is reported).
  const priced = { workspaceId: job.workspaceId, baseModel: job.baseModel.name, method };
  await resolvePrice({ ...priced, meter: 'training_tokens', modelRef: priced.baseModel }, db).catch(async (e) => {
    if (!isBillingError(e, 'no_price')) throw e;
    await fail(job, svc, { code: 'no_price', message: e.message, param: 'model' });
  });
  const outbox = createOutbox({ log: (m) => ctx.log(`job ${job.id}: ${m}`) });
  let lastStep = 0;
  let stopReason: 'cancel' | 'handback' | null = null;

  /**
   * Tokens trained through step `step`, from the trainer's own counters (this run's metric events, and those saved
   * with the checkpoint it resumed from). Only a checkpoint written before these counters existed falls back to
   * the metric row in the database.
   */
  const tokensThrough = async (step: number) => {
    const known = tokensAt.get(step);
    if (known !== undefined) return known;
    const row = await db.trainingMetric.findUnique({ where: { jobId_step: { jobId: job.id, step } } });
    if (!row?.tokensSeen) {
      throw new Error(`the token count at step ${step} is unknown (no counter and no metric row)`);
    }
    return Number(row.tokensSeen);
  };
  /** Charges the training tokens of steps (from, to]; the window index names it, so a replay charges nothing. */
  const charge = async (window: number, from: number, to: number) => {
    const tokens = (await tokensThrough(to)) - (await tokensThrough(from));
    if (tokens <= 0) return;
    await chargeTraining(
      {
        ...priced,
        jobId: job.id,
        modelId: job.baseModelId,
        tokens,
        idempotencyKey: `training:${job.id}:tokens:${window}`,
        userId: job.createdById,
        description: `Training tokens, steps ${from + 1}-${to}`,
        metadata: { fromStep: from + 1, toStep: to },
      },
      db,
    );
  };
  const event = (level: 'info' | 'warn' | 'error', e: ReturnType<typeof jobEvent>, data?: Record<string, unknown>) =>
    outbox.add(`event "${e.message.slice(0, 40)}"`, () => svc.event(level, e, data));

  const onEvent = (e: TrainEvent) => {
    if (e.type === 'metrics') {
      lastStep = e.step;
      tokensAt.set(e.step, e.tokens);
      outbox.add(`metrics of step ${e.step}`, async () => {
        const row = await upsertTrainingMetric(
          {
            workspaceId: job.workspaceId,
            jobId: job.id,
            step: e.step,
            epoch: e.epoch,
            loss: e.loss,
            learningRate: e.lr,
            gradNorm: e.gradNorm,
            tokensPerSecond: e.tokensPerS,
            tokensSeen: e.tokens,
            extra: e.metrics,
          },
          db,
        );
        await db.trainingJob.update({
          where: { id: job.id },
          data: {
            currentStep: e.step,
            totalSteps: e.totalSteps,
            trainedTokens: BigInt(e.tokens),
            estimatedFinishAt: new Date(Date.now() + e.etaS * 1000),
          },
        });
        await svc.publish({ type: 'metric', data: metricRowJson(row) });
      });
      if (e.step % USAGE_WINDOW_STEPS === 0) {
        const w = e.step / USAGE_WINDOW_STEPS - 1;
        outbox.add(`usage window ${w}`, () => charge(w, e.step - USAGE_WINDOW_STEPS, e.step));
      }
    } else if (e.type === 'eval') {
      outbox.add(`eval metrics of step ${e.step}`, async () => {
        const row = await upsertTrainingMetric(
          {
            workspaceId: job.workspaceId,
            jobId: job.id,
            step: e.step,
            epoch: e.epoch,
            evalLoss: e.evalLoss,
            extra: e.metrics,
          },
          db,
        );
        await svc.publish({ type: 'metric', data: metricRowJson(row) });
      });
    } else if (e.type === 'log') {
      const r = e.record as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
      const progress = jobEvent('training_progress', {
        step: Number(r.current_steps),
        totalSteps: Number(r.total_steps),
        ...(num(r.loss) !== undefined ? { loss: formatLoss(num(r.loss)) } : {}),
        ...(num(r.eval_loss) !== undefined ? { evalLoss: formatLoss(num(r.eval_loss)) } : {}),
        ...(num(r.lr) !== undefined ? { lr: formatLr(num(r.lr)) } : {}),
      });
      event('info', progress, { type: 'metrics', record: r });
    } else if (e.type === 'checkpoint') {
      const ckptDir = e.dir.startsWith('/') ? e.dir : join(dir, e.dir);
      // The counters travel with the checkpoint (written now: the child does not touch a written checkpoint again).
      const counters = [...tokensAt].filter(([step]) => step === e.step || step % USAGE_WINDOW_STEPS === 0);
      writeFileSync(join(ckptDir, USAGE_FILE), JSON.stringify({ tokensAt: counters }));
      const log = join(dir, CHILD_FILES.output, 'trainer_log.jsonl');
      const logNow = existsSync(log) && statSync(log).isFile() ? readFileSync(log) : null;
      const key = workspaceKey(job.workspaceId, 'jobs', job.id, 'checkpoints', `checkpoint-${e.step}`);
      outbox.add(`checkpoint of step ${e.step}`, async () => {
        try {
          await uploadDir(svc.storage, ckptDir, key);
        } catch (err) {
          // save_total_limit may delete a checkpoint folder before its upload got to it (a small limit, a slow or
          // absent store): a pruned checkpoint is not wanted anyway, so skip it rather than fail the job.
          if (!existsSync(ckptDir)) return;
          throw err;
        }
        if (logNow) await svc.storage.putObject(`${key}/trainer_log.jsonl`, logNow);
        const m = await db.trainingMetric.findUnique({ where: { jobId_step: { jobId: job.id, step: e.step } } });
        await db.checkpoint.upsert({
          where: { jobId_step: { jobId: job.id, step: e.step } },
          create: {
            workspaceId: job.workspaceId,
            jobId: job.id,
            step: e.step,
            epoch: m?.epoch ?? null,
            objectKey: key,
            metrics: m ? { loss: m.loss, evalLoss: m.evalLoss, epoch: m.epoch } : undefined,
          },
          update: { objectKey: key },
        });
      });
      event('info', jobEvent('checkpoint_saved', { step: e.step }));
    } else if (e.type === 'checkpoint-pruned') {
      // save_total_limit: the child deleted its folder; delete the stored copy too and mark the row (queued after
      // that checkpoint's own upload, so nothing is uploaded after it was deleted).
      outbox.add(`pruning the checkpoint of step ${e.step}`, async () => {
        const key = workspaceKey(job.workspaceId, 'jobs', job.id, 'checkpoints', `checkpoint-${e.step}`);
        const objects = await svc.storage.listObjects(`${key}/`);
        if (objects.length > 0) await svc.storage.deleteObjects(objects.map((o) => o.key));
        await db.checkpoint.updateMany({
          where: { jobId: job.id, step: e.step, prunedAt: null },
          data: { prunedAt: new Date() },
        });
      });
    }
  };

  const child = startTrainingChild(job.id, dir, (m: TChildMessage) => {
    if (m.type === 'event') onEvent(m.event);
    else if (m.type === 'log' && !m.message.startsWith('[crucible] done'))
      event(m.message.startsWith('warning') ? 'warn' : 'info', trainerLogEvent(m.message));
  });

  // Cancel: a Redis message reaches the child within one optimizer step; polling the row covers a lost message.
  const sub = createRedisConnection();
  const stop = (reason: 'cancel' | 'handback') => {
    if (stopReason) return;
    stopReason = reason;
    child.stop(reason);
  };
  await sub.subscribe(jobControlChannel(svc.prefix, job.id)).catch(() => {});
  sub.on('message', (_channel, message) => {
    if (message.includes('cancel')) stop('cancel');
  });
  const poll = setInterval(() => {
    db.trainingJob
      .findUnique({ where: { id: job.id }, select: { cancelRequestedAt: true } })
      .then((r) => r?.cancelRequestedAt && stop('cancel'))
      .catch(() => {});
  }, CANCEL_POLL_MS);
  const onAbort = () => stop('handback');
  if (ctx.signal.aborted) onAbort();
  ctx.signal.addEventListener('abort', onAbort);

  const exit = await child.exited;
  clearInterval(poll);
  ctx.signal.removeEventListener('abort', onAbort);
  await sub.quit().catch(() => sub.disconnect());
  return { exit, lastStep, stopReason, outbox, charge, event };
}

/** Charges the last, partial usage window (only at an end state: a resumed run would recompute it otherwise). */
async function chargeTail(run: TRun, lastStep: number) {
  if (lastStep % USAGE_WINDOW_STEPS === 0) return;
  const w = Math.floor(lastStep / USAGE_WINDOW_STEPS);
  await run.charge(w, w * USAGE_WINDOW_STEPS, lastStep);
}

/** How long a finished run waits for the database to take what it reported before the job goes back to the queue. */
export const OUTBOX_DRAIN_MS = Number(process.env.TRAINER_OUTBOX_DRAIN_MS) || 10 * 60_000;

/**
 * Runs `fn` through the run's outbox after everything reported before it, and waits until all of it has landed.
 * When the database does not come back within OUTBOX_DRAIN_MS the attempt gives up and the job goes back to the
 * queue (it resumes from its last checkpoint that reached storage and the database).
 */
async function settle(run: TRun, what: string, fn?: () => Promise<unknown>): Promise<void> {
  if (fn) run.outbox.add(what, fn);
  if (await run.outbox.drain(OUTBOX_DRAIN_MS)) return;
  run.outbox.close();
  throw new JobError(
    'handler_failed',
    `the database did not take this run's ${run.outbox.pending} pending write(s) (${what}) within ${OUTBOX_DRAIN_MS / 1000} s; the job resumes from its last saved checkpoint`,
    { retryable: true },
  );
}

/** Writes the outbox gave up on are said, never swallowed: a warning event and the job's error message. */
async function reportLost(job: TJobRow, svc: TJobServices, run: TRun): Promise<void> {
  const lost = run.outbox.lost();
  if (!lost.length) return;
  const details = lost
    .slice(0, 5)
    .map((l) => `${l.what} (${l.error})`)
    .join('; ');
  const e = jobEvent('records_lost', { count: lost.length, details });
  const message = e.message.slice(0, 1000);
  await svc.event('warn', e, { lost });
  await svc.db.trainingJob.update({ where: { id: job.id }, data: { errorMessage: message } });
}

async function finish(job: TJobRow, svc: TJobServices, ctx: TJobContext, dir: string, run: TRun) {
  const { db } = svc;
  const { exit } = run;
  // Nothing is decided before every metric, checkpoint and usage line the run reported has landed: a job that
  // ended while the database was away waits for it (and goes back to the queue if it does not come back).
  await settle(run, 'the reported metrics, checkpoints and usage');

  if (exit.result?.status === 'completed') return succeed(job, svc, dir, run);

  if (run.stopReason === 'cancel') {
    const step = exit.result?.globalStep ?? run.lastStep;
    await settle(run, 'the cancelled end state', async () => {
      await chargeTail(run, step);
      await db.trainingJob.update({ where: { id: job.id }, data: { status: 'cancelled', finishedAt: new Date() } });
      await svc.event('info', jobEvent('cancelled', { step }));
    });
    await reportLost(job, svc, run);
    await svc.status('cancelled');
    return { cancelled: true, step };
  }
  if (run.stopReason === 'handback' || ctx.signal.aborted) {
    // Only while this worker still holds it: the next worker may already have claimed the job.
    await db.trainingJob.updateMany({
      where: { id: job.id, status: 'running', workerId: ctx.workerId },
      data: { status: 'queued' },
    });
    const step = await lastCheckpointStep(svc, job.id);
    await svc.event(
      'info',
      step === null
        ? jobEvent('handed_back_restart', { worker: ctx.workerId })
        : jobEvent('handed_back', { worker: ctx.workerId, step }),
    );
    await svc.status('queued');
    return { handedBack: true };
  }
  if (exit.error) return fail(job, svc, userErrorFrom(exit.error.code, exit.error.message));

  // The child died without a word (killed, out of memory): retry from the last checkpoint while attempts remain.
  const how = exit.signal ? `was killed (${exit.signal})` : `exited with code ${exit.exitCode}`;
  const lastTry = ctx.attempt >= QUEUE_DEFAULTS.job.attempts;
  if (lastTry) {
    return fail(
      job,
      svc,
      userErrorFrom('CHILD_DIED', `The training process ${how} on every attempt. ${exit.stderrTail.slice(-500)}`),
    );
  }
  await db.trainingJob.update({ where: { id: job.id }, data: { status: 'queued' } });
  await svc.event('warn', retryEvent(exit, await lastCheckpointStep(svc, job.id)));
  await svc.status('queued');
  throw new JobError('handler_failed', `training process ${how}`, { retryable: true });
}

async function succeed(job: TJobRow, svc: TJobServices, dir: string, run: TRun) {
  const { db } = svc;
  const result = run.exit.result!;
  const out = join(dir, CHILD_FILES.output);
  const prefix = workspaceKey(job.workspaceId, 'jobs', job.id, 'output');
  // Top-level outputs only: the checkpoints are already in storage.
  const tmpOut = join(dir, 'upload');
  mkdirSync(tmpOut, { recursive: true });
  const { copyFileSync } = await import('node:fs');
  for (const name of readdirSync(out)) {
    if (statSync(join(out, name)).isFile()) copyFileSync(join(out, name), join(tmpOut, name));
  }
  await settle(run, 'the final outputs and usage', async () => {
    await uploadDir(svc.storage, tmpOut, prefix);
    await chargeTail(run, result.globalStep);
  });

  const lora = isLoraMethod(job.method);
  const suffix = job.suffix ?? '';
  const name = `ft:${job.baseModel.name}:${job.workspace.slug}:${suffix}:${job.id.slice(-8)}`;
  const fields = {
    workspaceId: job.workspaceId,
    name,
    baseModelId: job.baseModelId,
    datasetVersionId: job.trainingFileId,
    method: job.method,
    hyperparameters: job.hyperparameters as object,
    trainLoss: Number.isFinite(result.trainLoss) ? result.trainLoss : null,
    evalLoss: result.evalLoss,
    adapterObjectKey: lora ? prefix : null,
    mergedObjectKey: lora ? null : prefix,
    ggufAdapterObjectKey:
      lora && existsSync(join(out, CHILD_FILES.ggufAdapter)) ? `${prefix}/${CHILD_FILES.ggufAdapter}` : null,
    createdById: job.createdById,
  };
  let modelId = '';
  await settle(run, 'the succeeded end state', async () => {
    const model = await db.fineTunedModel.upsert({
      where: { jobId: job.id },
      create: { ...fields, jobId: job.id },
      update: fields,
    });
    modelId = model.id;
    await db.trainingJob.update({
      where: { id: job.id },
      data: {
        status: 'succeeded',
        finishedAt: new Date(),
        trainedTokens: BigInt(result.tokensSeen),
        currentStep: result.globalStep,
        totalSteps: result.totalSteps,
      },
    });
    await svc.event(
      'info',
      jobEvent('training_finished', { steps: result.globalStep, trainLoss: formatLoss(result.trainLoss), model: name }),
    );
  });
  await reportLost(job, svc, run);
  await svc.status('succeeded');
  return { succeeded: true, modelId, steps: result.globalStep };
}

/** The newest checkpoint of a job that is still stored (not pruned), or null. */
async function lastCheckpointStep(svc: TJobServices, jobId: string): Promise<number | null> {
  const c = await svc.db.checkpoint.findFirst({
    where: { jobId, prunedAt: null },
    orderBy: { step: 'desc' },
    select: { step: true },
  });
  return c?.step ?? null;
}

/**
 * The event of a job the worker sends back to the queue after its training process died: an event promised
 * "resumes from its last checkpoint" when none had been saved (issue 13, item 13), so the code depends on whether
 * one exists.
 */
export function retryEvent(
  exit: { signal?: string | null; exitCode?: number | null },
  lastCheckpoint: number | null,
): ReturnType<typeof jobEvent> {
  if (exit.signal) {
    return lastCheckpoint === null
      ? jobEvent('process_killed_restart', { signal: exit.signal })
      : jobEvent('process_killed_retry', { signal: exit.signal, step: lastCheckpoint });
  }
  const exitCode = exit.exitCode ?? -1;
  return lastCheckpoint === null
    ? jobEvent('process_exited_restart', { exitCode })
    : jobEvent('process_exited_retry', { exitCode, step: lastCheckpoint });
}
