import { getPrisma } from '@crucible/db';
import { closeQueues, closeRedisConnection, FINE_TUNING_METHODS, type TFineTuningMethod } from '@crucible/jobs';
import { cancelJob, createJob, isServiceError, ZCreateFineTuningJob } from '@crucible/services';
import { parseFlags, Refused, required, UsageError } from '../admin/args';
import { processIo, type TIo } from '../admin/io';
import { modelsImport, modelsSeedDemo } from '../models/import';

/**
 * `crucible jobs list|get|create|cancel|events` and `crucible models import`: the fine-tuning jobs of a workspace
 * from a terminal on the server (DATABASE_URL, REDIS_URL, storage env like the console). Create and cancel are the
 * console's own operations (@crucible/services createJob / cancelJob: budget, base model ready, published versions
 * of datasets not deleted, the demo preset, a failed enqueue marks the job failed; a job no worker has started ends
 * at once, a running one is told over Redis and stops within one optimizer step); a refusal is printed as
 * `crucible jobs create: <sentence>` with exit code 1.
 */

export const JOBS_USAGE = `usage:
  crucible jobs list --workspace S
  crucible jobs get ID --workspace S
  crucible jobs create --workspace S --model NAME --training-version ID [--validation-version ID]
                       [--method sft_lora|sft_full|dpo_lora|dpo_full|kto_lora|kto_full] [--suffix X] [--epochs N|auto] [--learning-rate X]
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
  // The validation split is a field of the job, not of its hyper-parameters, in the operation's input.
  const { valSplit, ...hyperparameters }: Record<string, unknown> = {
    ...(extra as Record<string, unknown>),
    ...(f.epochs ? { epochs: f.epochs === 'auto' ? 'auto' : num('epochs', f.epochs) } : {}),
    ...(f['learning-rate'] ? { learningRate: num('learning-rate', f['learning-rate']) } : {}),
    ...(f['batch-size'] ? { batchSize: num('batch-size', f['batch-size']) } : {}),
  };
  const modelRef = required(f, 'model');
  // --model takes an id or a name; the workspace's own model before an instance-wide one of the same name.
  const base = await getPrisma().baseModel.findFirst({
    where: {
      OR: [{ id: modelRef }, { name: modelRef }],
      AND: [{ OR: [{ workspaceId: ws.id }, { workspaceId: null }] }],
    },
    orderBy: { workspaceId: { sort: 'asc', nulls: 'last' } },
  });
  // A fine-tuned model's id or name continues it (SFT -> DPO).
  const parent = base
    ? null
    : await getPrisma().fineTunedModel.findFirst({
        where: { OR: [{ id: modelRef }, { name: modelRef }], workspaceId: ws.id, deletedAt: null },
      });
  if (!base && !parent) {
    throw new Refused(`no base or fine-tuned model "${modelRef}" in workspace ${ws.slug} (crucible models import)`);
  }
  const input = ZCreateFineTuningJob.safeParse({
    ...(base ? { baseModelId: base.id } : { fromModelId: parent?.id }),
    trainingVersionId: required(f, 'training-version'),
    ...(f['validation-version'] ? { validationVersionId: f['validation-version'] } : {}),
    ...(valSplit === undefined ? {} : { valSplit }),
    method,
    ...(f.suffix ? { suffix: f.suffix } : {}),
    hyperparameters,
  });
  if (!input.success) {
    const i = input.error.issues[0];
    throw new UsageError(`${i?.path.join('.')}: ${i?.message}`);
  }
  const job = await createJob(ws.id, input.data, { via: 'cli' });
  io.out(`${job.id}\n`);
  return 0;
}

async function cancel(args: string[], io: TIo) {
  const { id, slug } = idAndWorkspace(args);
  const ws = await workspaceOf(slug);
  const job = await cancelJob(ws.id, id, { via: 'cli' });
  io.out(
    job.status === 'cancelled' ? `cancelled ${job.id}\n` : `cancel requested for ${job.id}; it stops within one step\n`,
  );
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
    // A refusal of the command itself, or of the platform operation it called (the console answers the same one).
    if (error instanceof Refused || isServiceError(error)) {
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
