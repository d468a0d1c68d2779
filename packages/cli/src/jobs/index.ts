import { getPrisma } from '@crucible/db';
import {
  closeQueues,
  closeRedisConnection,
  enqueue,
  epochsFor,
  FINE_TUNING_METHODS,
  getRedisConnection,
  jobChannel,
  jobControlChannel,
  loadJobsEnv,
  resolveHyperparameters,
  type TFineTuningMethod,
  trainingRunJob,
  ZHyperparameters,
} from '@crucible/jobs';
import { jobEvent } from '@crucible/jobs/events';
import { parseFlags, Refused, required, UsageError } from '../admin/args';
import { processIo, type TIo } from '../admin/io';
import { modelsImport, modelsSeedDemo } from '../models/import';

/**
 * `crucible jobs list|get|create|cancel|events` and `crucible models import`: the fine-tuning jobs of a workspace
 * from a terminal on the server (DATABASE_URL, REDIS_URL, storage env like the console). Create and cancel follow
 * the console's rules: published dataset versions only; a job no worker has started ends at once, a running one
 * is told over Redis and stops within one optimizer step.
 */

export const JOBS_USAGE = `usage:
  crucible jobs list --workspace S
  crucible jobs get ID --workspace S
  crucible jobs create --workspace S --model NAME --training-version ID [--validation-version ID]
                       [--method sft_lora|sft_full] [--suffix X] [--epochs N|auto] [--learning-rate X]
                       [--batch-size N] [--hyperparameters JSON]
  crucible jobs cancel ID --workspace S
  crucible jobs events ID --workspace S
  crucible models import DIR (--workspace S | --instance) --name N [--display-name D]
  crucible models seed-demo
`;

async function workspaceOf(slug: string) {
  const ws = await getPrisma().workspace.findUnique({ where: { slug } });
  if (!ws) throw new Refused(`no workspace "${slug}"`);
  process.stderr.write(`crucible: workspace ${ws.slug} (${ws.name})\n`);
  return ws;
}

/** `ID --workspace S` after the verb. */
function idAndWorkspace(args: string[]) {
  const [id, ...rest] = args;
  if (!id || id.startsWith('--')) throw new UsageError('the job id is required');
  return { id: id.replace(/^ftjob-/, ''), slug: required(parseFlags(rest, ['workspace']), 'workspace') };
}

async function findJob(workspaceId: string, id: string) {
  const job = await getPrisma().trainingJob.findFirst({
    where: { id, workspaceId },
    include: {
      baseModel: { select: { name: true } },
      trainingFile: { select: { number: true, dataset: { select: { name: true } } } },
      fineTunedModel: { select: { name: true } },
    },
  });
  if (!job) throw new Refused(`no fine-tuning job ${id} in this workspace`);
  return job;
}

async function list(args: string[], io: TIo) {
  const ws = await workspaceOf(required(parseFlags(args, ['workspace']), 'workspace'));
  const rows = await getPrisma().trainingJob.findMany({
    where: { workspaceId: ws.id },
    orderBy: { createdAt: 'desc' },
    take: 100,
    include: { baseModel: { select: { name: true } }, trainingFile: { select: { number: true, dataset: true } } },
  });
  for (const j of rows) {
    const progress = j.totalSteps ? `${j.currentStep}/${j.totalSteps}` : '-';
    io.out(
      `${j.id}\t${j.status}\t${j.baseModel.name}\t${j.trainingFile.dataset.name} v${j.trainingFile.number}\t${progress}\t${j.createdAt.toISOString()}\n`,
    );
  }
  if (rows.length === 0) io.out('no fine-tuning jobs\n');
  return 0;
}

async function get(args: string[], io: TIo) {
  const { id, slug } = idAndWorkspace(args);
  const job = await findJob((await workspaceOf(slug)).id, id);
  io.out(
    `${JSON.stringify(
      {
        id: job.id,
        status: job.status,
        method: job.method,
        baseModel: job.baseModel.name,
        dataset: `${job.trainingFile.dataset.name} v${job.trainingFile.number}`,
        hyperparameters: job.hyperparameters,
        progress: { step: job.currentStep, totalSteps: job.totalSteps },
        trainedTokens: job.trainedTokens === null ? null : Number(job.trainedTokens),
        error: job.errorCode ? { code: job.errorCode, message: job.errorMessage, param: job.errorParam } : null,
        workerId: job.workerId,
        fineTunedModel: job.fineTunedModel?.name ?? null,
        createdAt: job.createdAt,
        finishedAt: job.finishedAt,
      },
      null,
      2,
    )}\n`,
  );
  return 0;
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number`);
  return n;
}

async function create(args: string[], io: TIo) {
  const f = parseFlags(args, [
    'workspace',
    'model',
    'training-version',
    'validation-version',
    'method',
    'suffix',
    'epochs',
    'learning-rate',
    'batch-size',
    'hyperparameters',
  ]);
  const ws = await workspaceOf(required(f, 'workspace'));
  const method = (f.method ?? 'sft_lora') as TFineTuningMethod;
  if (!FINE_TUNING_METHODS.includes(method)) throw new UsageError(`--method: one of ${FINE_TUNING_METHODS.join(', ')}`);
  let extra: unknown = {};
  if (f.hyperparameters) {
    try {
      extra = JSON.parse(f.hyperparameters);
    } catch {
      throw new UsageError('--hyperparameters must be JSON');
    }
  }
  const hpInput = {
    ...(extra as object),
    ...(f.epochs ? { epochs: f.epochs === 'auto' ? 'auto' : num('epochs', f.epochs) } : {}),
    ...(f['learning-rate'] ? { learningRate: num('learning-rate', f['learning-rate']) } : {}),
    ...(f['batch-size'] ? { batchSize: num('batch-size', f['batch-size']) } : {}),
  };
  const checked = ZHyperparameters.safeParse(hpInput);
  if (!checked.success) {
    const i = checked.error.issues[0];
    throw new UsageError(`hyperparameters.${i?.path.join('.')}: ${i?.message}`);
  }
  const prisma = getPrisma();
  const modelRef = required(f, 'model');
  const base = await prisma.baseModel.findFirst({
    where: {
      OR: [{ id: modelRef }, { name: modelRef }],
      AND: [{ OR: [{ workspaceId: ws.id }, { workspaceId: null }] }],
    },
  });
  if (!base) throw new Refused(`no base model "${modelRef}" in workspace ${ws.slug} (crucible models import)`);
  const version = async (id: string) => {
    const v = await prisma.datasetVersion.findFirst({ where: { id, workspaceId: ws.id }, include: { dataset: true } });
    if (!v) throw new Refused(`no dataset version ${id} in workspace ${ws.slug}`);
    if (v.status !== 'published') {
      throw new Refused(
        `version ${v.number} of dataset "${v.dataset.name}" is a draft: publish it before training on it`,
      );
    }
    return v;
  };
  const training = await version(required(f, 'training-version'));
  const validation = f['validation-version'] ? await version(f['validation-version']) : null;
  const hp = resolveHyperparameters(method, checked.data);
  const job = await prisma.trainingJob.create({
    data: {
      workspaceId: ws.id,
      baseModelId: base.id,
      trainingFileId: training.id,
      validationFileId: validation?.id ?? null,
      method,
      hyperparameters: { ...hp, epochs: epochsFor(hp, training.rowCount), requestedEpochs: hp.epochs },
      status: 'validating_files',
      suffix: f.suffix ?? null,
      seed: hp.seed,
    },
  });
  await prisma.jobEvent.create({ data: { workspaceId: ws.id, jobId: job.id, ...jobEvent('job_created_cli') } });
  const { id } = await enqueue(trainingRunJob, { jobId: job.id });
  await prisma.trainingJob.update({ where: { id: job.id }, data: { queueJobId: id } });
  io.out(`${job.id}\n`);
  return 0;
}

async function cancel(args: string[], io: TIo) {
  const { id, slug } = idAndWorkspace(args);
  const ws = await workspaceOf(slug);
  const job = await findJob(ws.id, id);
  if (!['validating_files', 'queued', 'running'].includes(job.status))
    throw new Refused(`the job is already ${job.status}`);
  const prisma = getPrisma();
  const now = new Date();
  const prefix = loadJobsEnv().REDIS_PREFIX;
  const notStarted = await prisma.trainingJob.updateMany({
    where: { id: job.id, status: { in: ['validating_files', 'queued'] }, workerId: null },
    data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now },
  });
  if (notStarted.count === 0) {
    await prisma.trainingJob.updateMany({
      where: { id: job.id, cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
    await getRedisConnection().publish(jobControlChannel(prefix, job.id), JSON.stringify({ type: 'cancel' }));
  } else {
    await getRedisConnection().publish(
      jobChannel(prefix, job.id),
      JSON.stringify({ type: 'status', data: { id: job.id, status: 'cancelled' } }),
    );
  }
  await prisma.jobEvent.create({ data: { workspaceId: ws.id, jobId: job.id, ...jobEvent('cancel_requested_cli') } });
  io.out(notStarted.count ? `cancelled ${job.id}\n` : `cancel requested for ${job.id}; it stops within one step\n`);
  return 0;
}

async function events(args: string[], io: TIo) {
  const { id, slug } = idAndWorkspace(args);
  const ws = await workspaceOf(slug);
  await findJob(ws.id, id);
  const rows = await getPrisma().jobEvent.findMany({
    where: { workspaceId: ws.id, jobId: id },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  for (const e of rows) io.out(`${e.createdAt.toISOString()} ${e.level.padEnd(5)} ${e.message}\n`);
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: TIo) => Promise<number>> = {
  'jobs list': list,
  'jobs get': get,
  'jobs create': create,
  'jobs cancel': cancel,
  'jobs events': events,
  'models import': modelsImport,
  'models seed-demo': (_args, io) => modelsSeedDemo(io),
};

/** Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage error. */
export async function runJobsCommand(
  argv: string[],
  io: TIo = processIo,
  opts: { close?: boolean } = {},
): Promise<number> {
  const [noun, verb, ...rest] = argv;
  const command = COMMANDS[`${noun} ${verb}`];
  if (!command) {
    io.err(`crucible: unknown command "${[noun, verb].filter(Boolean).join(' ')}"\n${JOBS_USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`crucible ${noun} ${verb}: ${error.message}\n${JOBS_USAGE}`);
      return 2;
    }
    if (error instanceof Refused) {
      io.err(`crucible ${noun} ${verb}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    if (opts.close !== false) {
      const { disconnectAll } = await import('@crucible/db');
      await disconnectAll();
      await closeQueues();
      await closeRedisConnection();
    }
  }
}
